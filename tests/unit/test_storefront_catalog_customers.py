"""Storefront catalogue depth and customers, protocol level: the connector's Shopify and WooCommerce clients
and mappings against the simulators, and the simulators' new endpoints driven by the official packages
(``ShopifyAPI``'s GraphQL client, ``woocommerce``'s REST client)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from retail_connector_base_lib.canonical import Address, Customer
from retail_connector_base_lib.http import ChannelValidationError
from retail_connector_marketplace_lib.shopify.client import ShopifyClient
from retail_connector_marketplace_lib.shopify.mapping import (
    customer_input,
    graphql_customer_to_canonical,
)
from retail_connector_marketplace_lib.woocommerce.client import WooCommerceClient
from retail_connector_marketplace_lib.woocommerce.mapping import customer_to_canonical, customer_to_woo
from simulators.shopify import ShopifySimulator
from simulators.woocommerce import WooCommerceSimulator

TOKEN = "shpat_cat_token"
KEY, SECRET = "ck_cat_key", "cs_cat_secret"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
IMAGE = "http://odoo.example/retail/catalog/image/template/7/%s.png" % ("ab" * 20)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shopify(clock):
    with ShopifySimulator(token=TOKEN, clock=clock, seed=5, cost_limit=(2000, 2000), webhook_backoff=0.01) as sim:
        yield sim


@pytest.fixture
def woo(clock):
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, seed=5, clock=clock) as sim:
        yield sim


def _customer(**values):
    base = dict(email="ada@example.com", first_name="Ada", last_name="Lovelace", phone="+32470123456",
                accepts_marketing=True, addresses=[Address(street="Rue Haute 1", city="Bruxelles", zip="1000",
                                                           country_code="BE")])
    base.update(values)
    return Customer(**base)


# --------------------------------------------------------------------------- Shopify: customers


def test_shopify_customers_updated_since_walk_cursor_pages(shopify, clock):
    client = ShopifyClient(shopify.url, TOKEN)
    for i in range(7):
        shopify.save_customer(email="c%d@example.com" % i, first_name="C%d" % i, notify=False)
        clock.advance(minutes=1)
    since = T0 + timedelta(minutes=3)
    found = list(client.iter_customers_updated_since(since, page_size=2))
    assert [n["defaultEmailAddress"]["emailAddress"] for n in found] == ["c%d@example.com" % i for i in range(3, 7)]


def test_shopify_graphql_customer_maps_like_the_webhook_customer(shopify):
    saved = shopify.save_customer(email="Eve@Example.com", first_name="Eve", last_name="Polled", accepts_marketing=True,
                                  address={"address1": "Main St 2", "city": "Gent", "zip": "9000", "country_code": "BE"},
                                  notify=False)
    [node] = ShopifyClient(shopify.url, TOKEN).iter_customers_updated_since(T0 - timedelta(days=1))
    polled = graphql_customer_to_canonical(node)
    assert (polled.external_id, polled.email, polled.first_name, polled.accepts_marketing) == (
        str(saved["id"]), "Eve@example.com", "Eve", True)
    assert (polled.addresses[0].city, polled.addresses[0].country_code) == ("Gent", "BE")


def test_shopify_customer_create_then_update_sends_consent_apart(shopify):
    client = ShopifyClient(shopify.url, TOKEN)
    made = client.save_customer(customer_input(_customer()), accepts_marketing=True)
    assert made["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"
    stored = shopify.customer_by_email("ada@example.com")
    assert (stored["first_name"], stored["address"]["city"], stored["marketing_state"]) == ("Ada", "Bruxelles", "SUBSCRIBED")
    again = customer_input(_customer(external_id=made["legacyResourceId"], first_name="Ada K.", accepts_marketing=False))
    assert "emailMarketingConsent" not in again
    updated = client.save_customer(again, accepts_marketing=False)
    assert updated["firstName"] == "Ada K."
    assert updated["defaultEmailAddress"]["marketingState"] == "UNSUBSCRIBED"
    assert shopify.customer_by_email("ada@example.com")["marketing_state"] == "UNSUBSCRIBED"


def test_shopify_refuses_consent_in_a_customer_update_and_a_taken_email(shopify):
    client = ShopifyClient(shopify.url, TOKEN)
    first = client.save_customer(customer_input(_customer()))
    with pytest.raises(ChannelValidationError, match="customerEmailMarketingConsentUpdate"):
        client.execute("mutation($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { field message } } }",
                       {"input": {"id": first["id"], "emailMarketingConsent": {"marketingState": "SUBSCRIBED"}}})
    with pytest.raises(ChannelValidationError, match="already been taken"):
        client.save_customer(customer_input(_customer(first_name="Other")))


def test_shopify_package_reads_customers_and_creates_one(shopify):
    shopify_pkg = pytest.importorskip("shopify")
    session = shopify_pkg.Session(shopify.shop_domain, shopify.api_version, TOKEN)
    session.protocol, session.url = "http", f"127.0.0.1:{shopify.port}"
    shopify_pkg.ShopifyResource.activate_session(session)
    try:
        gql = shopify_pkg.GraphQL()
        made = json.loads(gql.execute(
            "mutation($input: CustomerInput!) { customerCreate(input: $input) { customer { id email } "
            "userErrors { field message } } }",
            {"input": {"email": "pkg@example.com", "firstName": "Pkg",
                       "emailMarketingConsent": {"marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN"}}}))
        assert made["data"]["customerCreate"]["customer"]["email"] == "pkg@example.com"
        page = json.loads(gql.execute(
            "{ customers(first: 5, query: \"updated_at:>='2000-01-01T00:00:00Z'\", sortKey: UPDATED_AT) "
            "{ pageInfo { hasNextPage } nodes { legacyResourceId defaultEmailAddress { marketingState } } } }"))
        [node] = page["data"]["customers"]["nodes"]
        assert node["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"
    finally:
        shopify_pkg.ShopifyResource.clear_session()


# --------------------------------------------------------------------------- Shopify: images


def test_shopify_product_set_takes_images_as_files(shopify):
    client = ShopifyClient(shopify.url, TOKEN)
    made = client.set_product({"title": "Poster", "status": "ACTIVE", "images": [{"src": IMAGE, "alt": "Poster"}],
                               "variants": [{"sku": "RC-POSTER", "price": "9.00", "weight_kg": 0.3}]})
    assert [m["src"] for m in shopify.product_media("RC-POSTER")] == [IMAGE]
    assert shopify.product_sets[-1]["files"] == [{"originalSource": IMAGE, "contentType": "IMAGE", "alt": "Poster"}]
    # without images the product's media are left as they are
    client.set_product({"id": made["id"].rsplit("/", 1)[-1], "title": "Poster 2",
                        "variants": [{"sku": "RC-POSTER", "weight_kg": 0.3}]})
    assert [m["src"] for m in shopify.product_media("RC-POSTER")] == [IMAGE]


# --------------------------------------------------------------------------- WooCommerce: customers


def test_woo_customers_are_read_page_after_page_and_mapped(woo, clock):
    client = WooCommerceClient(woo.url, KEY, SECRET, timeout=5, per_page=2)
    for i in range(5):
        woo.save_customer(email="w%d@example.com" % i, first_name="W%d" % i, notify=False,
                          meta_data=[{"key": "accepts_marketing", "value": "yes" if i % 2 else "no"}])
        clock.advance(minutes=1)
    found = list(client.iter_customers())
    assert [c["email"] for c in found] == ["w%d@example.com" % i for i in range(5)]
    assert [customer_to_canonical(c).accepts_marketing for c in found] == [False, True, False, True, False]


def test_woo_customers_batch_creates_updates_and_names_refusals(woo):
    client = WooCommerceClient(woo.url, KEY, SECRET, timeout=5)
    done = client.batch_customers([customer_to_woo(_customer())])
    [made] = done["create"]
    assert (made["email"], made["billing"]["city"], made["shipping"]["country"]) == ("ada@example.com", "Bruxelles", "BE")
    assert customer_to_canonical(made).accepts_marketing is True
    update = customer_to_woo(_customer(external_id=str(made["id"]), last_name="King", accepts_marketing=False))
    done = client.batch_customers(updates=[update])
    assert done["update"][0]["last_name"] == "King"
    assert customer_to_canonical(done["update"][0]).accepts_marketing is False
    with pytest.raises(ChannelValidationError, match="already registered") as caught:
        client.batch_customers([customer_to_woo(_customer(first_name="Twin")),
                                customer_to_woo(_customer(email="new@example.com"))])
    assert [bool(r) for r in caught.value.results["create"]] == [False, True]


def test_woo_package_lists_and_batches_customers(woo):
    api = pytest.importorskip("woocommerce").API(url=woo.url, consumer_key=KEY, consumer_secret=SECRET,
                                                    version="wc/v3", timeout=10)
    answer = api.post("customers/batch", {"create": [{"email": "pkg@example.com", "first_name": "Pkg"}]})
    assert answer.status_code == 200 and answer.json()["create"][0]["id"]
    listed = api.get("customers", params={"orderby": "registered_date", "order": "asc", "role": "all"})
    assert listed.headers["X-WP-Total"] == "1" and listed.json()[0]["email"] == "pkg@example.com"
    assert api.get("customers", params={"orderby": "modified"}).status_code == 400


# --------------------------------------------------------------------------- WooCommerce: variable products


def test_woo_variable_product_then_its_variations_with_attributes_and_images(woo):
    client = WooCommerceClient(woo.url, KEY, SECRET, timeout=5)
    [parent] = client.batch_create_products([{
        "name": "Hoodie", "type": "variable", "status": "publish", "images": [{"src": IMAGE, "name": "Hoodie"}],
        "attributes": [{"name": "Size", "options": ["S", "M"], "variation": True, "visible": True},
                       {"name": "Colour", "options": ["Red"], "variation": True, "visible": True}]}])
    assert parent["type"] == "variable" and [i["src"] for i in parent["images"]] == [IMAGE]
    assert [(a["name"], a["options"]) for a in parent["attributes"]] == [("Size", ["S", "M"]), ("Colour", ["Red"])]
    made = client.batch_create_variations(parent["id"], [
        {"sku": "RC-HOOD-S", "regular_price": "30.00", "weight": "0.5", "image": {"src": IMAGE},
         "attributes": [{"name": "Size", "option": "S"}, {"name": "Colour", "option": "Red"}]},
        {"sku": "RC-HOOD-M", "regular_price": "30.00", "attributes": [{"name": "Size", "option": "M"},
                                                                       {"name": "Colour", "option": "Red"}]},
    ])
    assert [v["sku"] for v in made] == ["RC-HOOD-S", "RC-HOOD-M"]
    small = woo.product("RC-HOOD-S")
    assert (small["parent_id"], small["weight"], small["image"]["src"]) == (parent["id"], "0.5", IMAGE)
    assert [a["option"] for a in small["attributes"]] == ["S", "Red"]
    found = client.find_products_by_sku(["RC-HOOD-M"], variations_for=["RC-HOOD-M"])
    assert found["RC-HOOD-M"]["product_id"] == parent["id"]


def test_woo_package_creates_a_variation_in_a_batch(woo):
    api = pytest.importorskip("woocommerce").API(url=woo.url, consumer_key=KEY, consumer_secret=SECRET,
                                                    version="wc/v3", timeout=10)
    parent = api.post("products/batch", {"create": [{"name": "Scarf", "type": "variable",
                                                      "attributes": [{"name": "Colour", "options": ["Blue"]}]}]})
    parent_id = parent.json()["create"][0]["id"]
    answer = api.post("products/%d/variations/batch" % parent_id, {"create": [
        {"sku": "RC-SCARF-B", "regular_price": "12.00", "attributes": [{"name": "Colour", "option": "Blue"}]}]})
    assert answer.status_code == 200 and answer.json()["create"][0]["sku"] == "RC-SCARF-B"
    assert api.get("products/%d" % parent_id).json()["variations"] == [answer.json()["create"][0]["id"]]
    bad = api.post("products/batch", {"create": [{"name": "Bad", "images": [{"src": "not a url"}]}]})
    assert bad.json()["create"][0]["error"]["code"] == "woocommerce_product_image_upload_error"
