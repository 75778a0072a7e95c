"""Reading a shop's whole catalogue: products page after page, each variable product with its variations.

Plain Python over a WooCommerceClient (``paginate`` and the list reads): the cursor is the next
page number, kept between pages by the onboarding so that a reading interrupted resumes there.
"""

from collections.abc import Mapping

PRODUCTS_PAGE = 50


def read_catalog_page(client, cursor=None, page_size=None) -> tuple[list[dict], str | None, int | None]:
    """Return the variants of one page of products (a simple product is its own variant), the next page's
    cursor (None after the last) and how many products the shop has (``X-WP-Total``)."""
    page = int(cursor or 1)
    per_page = max(1, min(int(page_size or PRODUCTS_PAGE), 100))
    response = client.request("GET", "products", params={"per_page": per_page, "page": page, "orderby": "id",
                                                         "order": "asc"})
    products = response.data if isinstance(response.data, list) else []
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    variants = []
    for product in products:
        if product.get("type") == "variable":
            variants += [catalog_variant(product, v) for v in client.paginate(f"products/{product['id']}/variations")]
        else:
            variants.append(catalog_variant(product, None))
    pages = _int(headers.get("x-wp-totalpages"))
    more = page < pages if pages is not None else len(products) >= per_page
    return variants, (str(page + 1) if products and more else None), _int(headers.get("x-wp-total"))


def catalog_variant(product: Mapping, variation: Mapping | None) -> dict:
    """Return what the connector reads of a simple product, or of a variation of a variable ``product``."""
    item = variation or product
    options = [{"name": a.get("name"), "value": a.get("option")} for a in (variation or {}).get("attributes") or []]
    return {
        "external_id": str(item["id"]), "product_ref": str(product["id"]), "product_name": product.get("name"),
        "name": item.get("name"), "sku": item.get("sku") or None,
        "barcode": item.get("global_unique_id") or None,
        "price": item.get("regular_price") or item.get("price") or None, "options": options,
        "description": product.get("description") or None,
        "active": item.get("status", "publish") == "publish", "channel_ref": None,
    }


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
