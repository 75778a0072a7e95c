"""Reading a shop's whole catalogue: products with their options and variants, page after page by cursor.

Plain Python over a ShopifyClient (``execute``): the onboarding and the catalogue reconciliation
keep the cursor between pages, so a reading interrupted resumes where it stopped.
"""

import html
from collections.abc import Mapping

from .ids import numeric_id

# 6 products x 50 variants (with their options and inventory item) request about 930 points, under
# Shopify's single query maximum of 1000; what a page costs in the end is what it returned
PRODUCTS_PAGE = 6
VARIANTS_PER_PRODUCT = 50

_VARIANT = "id sku barcode price title selectedOptions { name value } inventoryItem { id }"

CATALOG_PAGE = f"""
query CatalogPage($first: Int!, $after: String) {{
  products(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id title status descriptionHtml
      options {{ name values }}
      variants(first: {VARIANTS_PER_PRODUCT}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {_VARIANT} }}
      }}
    }}
  }}
}}
"""

PRODUCT_VARIANTS = f"""
query ProductVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: {VARIANTS_PER_PRODUCT * 2}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_VARIANT} }}
    }}
  }}
}}
"""

ALL_DOCUMENTS = {"CATALOG_PAGE": CATALOG_PAGE, "PRODUCT_VARIANTS": PRODUCT_VARIANTS}


def read_catalog_page(client, cursor=None, page_size=None) -> tuple[list[dict], str | None]:
    """Return the variants of one page of products (``catalog_variant`` dicts) and the cursor of the next
    page (None after the last). A product with more variants than a page holds has the rest read at once."""
    first = max(1, min(int(page_size or PRODUCTS_PAGE), PRODUCTS_PAGE))
    connection = client.execute(CATALOG_PAGE, {"first": first, "after": cursor}).get("products") or {}
    variants = []
    for product in connection.get("nodes") or []:
        nodes = list((product.get("variants") or {}).get("nodes") or [])
        info = (product.get("variants") or {}).get("pageInfo") or {}
        while info.get("hasNextPage") and info.get("endCursor"):
            more = (client.execute(PRODUCT_VARIANTS, {"id": product["id"], "after": info["endCursor"]})
                    .get("product") or {}).get("variants") or {}
            nodes += more.get("nodes") or []
            info = more.get("pageInfo") or {}
        variants += [catalog_variant(product, node) for node in nodes]
    info = connection.get("pageInfo") or {}
    return variants, (info.get("endCursor") if info.get("hasNextPage") else None)


def catalog_variant(product: Mapping, variant: Mapping) -> dict:
    """Return what the connector reads of one of the shop's variants (ids numeric, as bindings keep them)."""
    item = variant.get("inventoryItem") or {}
    return {
        "external_id": numeric_id(variant["id"]), "product_ref": numeric_id(product["id"]),
        "product_name": product.get("title"), "name": variant.get("title"), "sku": variant.get("sku") or None,
        "barcode": variant.get("barcode") or None, "price": variant.get("price"),
        "options": [{"name": o.get("name"), "value": o.get("value")} for o in variant.get("selectedOptions") or []],
        "description": _text(product.get("descriptionHtml")), "active": product.get("status") == "ACTIVE",
        "channel_ref": numeric_id(item["id"]) if item.get("id") else None,
    }


def _text(html_text):
    """Return a description's text without its paragraph markup (the exporter wraps it in one <p>)."""
    if not html_text:
        return None
    text = str(html_text).strip()
    if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1:
        text = text[3:-4]
    return html.unescape(text) or None
