"""Reading a shop's whole catalogue page by page: the simulators' catalogue endpoints read by the channels'
official Python packages (ShopifyAPI, woocommerce) and by the connector's catalogue readers."""

import json

import pytest
import requests

from retail_connector_marketplace_lib.shopify import catalog as shopify_catalog
from retail_connector_marketplace_lib.shopify.client import ShopifyClient
from retail_connector_marketplace_lib.woocommerce import catalog as woo_catalog
from retail_connector_marketplace_lib.woocommerce.client import WooCommerceClient
from simulators.generic import GenericChannel
from simulators.shopify import ShopifySimulator
from simulators.woocommerce import WooCommerceSimulator

API_VERSION = "2025-10"
TOKEN = "shpat_catalog"
KEY, SECRET = "ck_catalog", "cs_catalog"


@pytest.fixture
def shopify_shop():
    with ShopifySimulator(token=TOKEN, catalogue=(), seed=3) as sim:
        for size in ("S", "M", "L"):
            sim.add_variant(f"TEE-{size}", "19.90", product_title="Tee", barcode=f"540000000{size}",
                            options={"Size": size, "Colour": "Blue"})
        for index in range(14):
            sim.add_variant(f"MUG-{index:02d}", "9.50", product_title=f"Mug {index}")
        yield sim


def test_shopify_package_reads_products_with_options_and_variants_by_cursor(shopify_shop):
    shopify = pytest.importorskip("shopify", reason="ShopifyAPI (see requirements.txt) is not installed")
    session = shopify.Session(shopify_shop.shop_domain, API_VERSION, TOKEN)
    session.protocol, session.url = "http", f"127.0.0.1:{shopify_shop.port}"
    shopify.ShopifyResource.activate_session(session)
    try:
        seen, after = [], None
        while True:
            answer = json.loads(shopify.GraphQL().execute(shopify_catalog.CATALOG_PAGE,
                                                          {"first": 4, "after": after}))
            assert "errors" not in answer, answer
            assert answer["extensions"]["cost"]["requestedQueryCost"] <= 1000
            connection = answer["data"]["products"]
            seen += connection["nodes"]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    finally:
        shopify.ShopifyResource.clear_session()
    assert len(seen) == 15, "every product once over four pages"
    tee = next(p for p in seen if p["title"] == "Tee")
    assert tee["options"][0] == {"name": "Size", "values": ["S", "M", "L"]}
    variant = tee["variants"]["nodes"][1]
    assert variant["selectedOptions"] == [{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Blue"}]
    assert (variant["sku"], variant["barcode"], variant["price"]) == ("TEE-M", "540000000M", "19.90")
    mug = next(p for p in seen if p["title"] == "Mug 0")
    assert mug["options"] == [{"name": "Title", "values": ["Default Title"]}]


def test_connector_reads_the_shop_catalogue_and_resumes_from_a_cursor(shopify_shop):
    client = ShopifyClient(shopify_shop.url, TOKEN, api_version=API_VERSION)
    items, cursor = shopify_catalog.read_catalog_page(client, None, 4)
    assert cursor and len(items) == 6, "the tee's three variants and three mugs"
    tee = [i for i in items if i["product_name"] == "Tee"]
    assert {i["product_ref"] for i in tee} == {tee[0]["product_ref"]}
    assert tee[0]["options"] == [{"name": "Size", "value": "S"}, {"name": "Colour", "value": "Blue"}]
    assert tee[0]["channel_ref"].isdigit() and tee[0]["external_id"].isdigit()
    rest = []
    while cursor:
        page, cursor = shopify_catalog.read_catalog_page(client, cursor, 4)
        rest += page
    assert sorted(i["sku"] for i in items + rest) == sorted(
        ["TEE-S", "TEE-M", "TEE-L"] + [f"MUG-{i:02d}" for i in range(14)])


def test_a_product_with_more_variants_than_a_page_is_read_whole():
    with ShopifySimulator(token=TOKEN, catalogue=()) as sim:
        for index in range(shopify_catalog.VARIANTS_PER_PRODUCT + 7):
            sim.add_variant(f"BIG-{index:03d}", "1.00", product_title="Big", options={"Number": str(index)})
        client = ShopifyClient(sim.url, TOKEN, api_version=API_VERSION)
        items, cursor = shopify_catalog.read_catalog_page(client)
    assert cursor is None
    assert len(items) == shopify_catalog.VARIANTS_PER_PRODUCT + 7


@pytest.fixture
def woo_shop():
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, seed=5) as sim:
        sim.add_product("HAT", "15.00", name="Hat", global_unique_id="5400000000059")
        sim.add_product("SOCK", "6.00", name="Socks", attribute="Size",
                        variations=[{"sku": "SOCK-S", "option": "S", "global_unique_id": "5400000000066"},
                                    {"sku": "SOCK-M", "option": "M"}])
        yield sim


def test_woocommerce_package_reads_products_and_variations_page_by_page(woo_shop):
    from woocommerce import API  # the official package; pinned in requirements.txt

    wcapi = API(url=woo_shop.url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=10)
    first = wcapi.get("products", params={"per_page": 2, "page": 1, "orderby": "id", "order": "asc"})
    assert first.status_code == 200
    total_pages = int(first.headers["X-WP-TotalPages"])
    products = list(first.json())
    for page in range(2, total_pages + 1):
        products += wcapi.get("products", params={"per_page": 2, "page": page, "orderby": "id",
                                                  "order": "asc"}).json()
    assert len(products) == int(first.headers["X-WP-Total"])
    sock = next(p for p in products if p["sku"] == "SOCK")
    assert sock["type"] == "variable" and sock["attributes"][0]["options"] == ["S", "M"]
    variations = wcapi.get(f"products/{sock['id']}/variations", params={"per_page": 100}).json()
    assert [(v["sku"], v["attributes"][0]["option"], v["global_unique_id"]) for v in variations] in (
        [("SOCK-S", "S", "5400000000066"), ("SOCK-M", "M", "")], [("SOCK-M", "M", ""), ("SOCK-S", "S", "5400000000066")])
    hat = next(p for p in products if p["sku"] == "HAT")
    assert hat["global_unique_id"] == "5400000000059"


def test_connector_reads_the_woocommerce_catalogue_by_page_number(woo_shop):
    client = WooCommerceClient(woo_shop.url, KEY, SECRET)
    found, cursor = [], None
    while True:
        items, cursor, total = woo_catalog.read_catalog_page(client, cursor, 1)
        found += items
        if not cursor:
            break
    by_sku = {i["sku"]: i for i in found}
    assert {"HAT", "SOCK-S", "SOCK-M"} <= set(by_sku)
    assert "SOCK" not in by_sku, "a variable product is read as its variations"
    assert by_sku["SOCK-S"]["options"] == [{"name": "Size", "value": "S"}]
    assert by_sku["SOCK-S"]["product_ref"] == by_sku["SOCK-M"]["product_ref"]
    assert (by_sku["HAT"]["barcode"], by_sku["SOCK-S"]["barcode"]) == ("5400000000059", "5400000000066")
    assert total == len({i["product_ref"] for i in found})


def test_generic_channel_reads_its_catalogue_in_keyset_pages():
    with GenericChannel(token="cat", catalogue=()) as sim:
        for index in range(5):
            sim.add_product(f"G-{index}", f"Item {index}", barcode=f"54{index:011d}")
        headers = {"Authorization": "Bearer cat"}
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            answer = requests.get(sim.url + "/api/v1/products", params=params, headers=headers, timeout=5)
            assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "5"
            seen += answer.json()["items"]
            cursor = answer.json()["next_cursor"]
            if not cursor:
                break
        assert [p["sku"] for p in seen] == [f"G-{i}" for i in range(5)]
        bad = requests.get(sim.url + "/api/v1/products", params={"limit": 0}, headers=headers, timeout=5)
        assert bad.status_code == 422 or bad.status_code == 400
        everything = requests.get(sim.url + "/api/v1/products", headers=headers, timeout=5).json()
        assert "next_cursor" not in everything and len(everything["items"]) == 5
