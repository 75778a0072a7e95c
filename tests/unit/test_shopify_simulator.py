"""Tests of the Shopify simulator, driven through Shopify's own Python package (ShopifyAPI).

The package's Session and GraphQL client talk to the simulator as they would to a shop, which
shows the simulator speaks the Admin API's protocol; webhooks are received by a small HTTP
server here and their HMAC is checked with the standard library, as Shopify documents it.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from simulators.shopify import ShopifySimulator, gid

API_VERSION = "2025-10"
TOKEN = "shpat_simulator_token"
SECRET = "shpss_app_secret"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
TESTS_DIR = Path(__file__).resolve().parents[1]


class Clock:
    """A settable clock for the simulator (its ``clock`` option)."""

    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


class Receiver:
    """A webhook endpoint that records each POST and answers queued statuses, then 200."""

    def __init__(self):
        self.received = []
        self.statuses = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    # the message object looks header names up case-insensitively, as HTTP wants
                    receiver.received.append((self.headers, body))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/retail/webhook/shopify"

    def topics(self):
        return [headers["X-Shopify-Topic"] for headers, _ in self.received]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def shopify_hmac_ok(headers, body, secret=SECRET):
    """Return whether X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body."""
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers.get("X-Shopify-Hmac-Sha256", ""))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def shop(clock):
    with ShopifySimulator(token=TOKEN, webhook_secret=SECRET, clock=clock, seed=7, webhook_backoff=0.01) as sim:
        yield sim


@pytest.fixture
def gql(shop):
    """Return run(query, variables) -> decoded answer, through ShopifyAPI's GraphQL client."""
    shopify = pytest.importorskip("shopify", reason="ShopifyAPI (see requirements.txt) is not installed")
    session = shopify.Session(shop.shop_domain, API_VERSION, TOKEN)
    # the package builds https://<shop>.myshopify.com; here that shop is the simulator on loopback
    session.protocol, session.url = "http", f"127.0.0.1:{shop.port}"
    shopify.ShopifyResource.activate_session(session)

    def run(query, variables=None, operation_name=None):
        return json.loads(shopify.GraphQL().execute(query, variables, operation_name))

    yield run
    shopify.ShopifyResource.clear_session()


def graphql_url(shop):
    return f"{shop.url}/admin/api/{API_VERSION}/graphql.json"


# --------------------------------------------------------------------------- protocol basics


def test_shopify_package_queries_the_shop_and_gets_cost_extensions(shop, gql):
    answer = gql("query Shop { shop { name currencyCode } }")
    assert answer["data"] == {"shop": {"name": shop.shop_name, "currencyCode": "EUR"}}
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 1000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    call = shop.calls_to("POST", f"/admin/api/{API_VERSION}/graphql.json")[-1]
    assert call.headers["X-Shopify-Access-Token"] == TOKEN and call.status == 200


def test_wrong_token_is_refused_with_shopify_401(shop, gql, capsys):
    shopify = pytest.importorskip("shopify")
    bad = shopify.Session(shop.shop_domain, API_VERSION, "nope")
    bad.protocol, bad.url = "http", f"127.0.0.1:{shop.port}"
    shopify.ShopifyResource.activate_session(bad)
    with pytest.raises(urllib.error.HTTPError) as caught:
        shopify.GraphQL().execute("{ shop { name } }")
    assert caught.value.code == 401
    assert "Invalid API key or access token" in capsys.readouterr().out  # the package prints the body
    missing = requests.post(graphql_url(shop), json={"query": "{ shop { name } }"}, timeout=5)
    assert missing.status_code == 401 and missing.json()["errors"].startswith("[API] Invalid API key")


def test_unknown_fields_and_bad_documents_answer_200_with_errors(shop, gql):
    answer = gql("{ shop { name } bogus }")
    assert answer["errors"][0]["message"] == "Field 'bogus' doesn't exist on type 'QueryRoot'"
    assert answer["errors"][0]["extensions"]["code"] == "undefinedField"
    assert "data" not in answer and "cost" in answer["extensions"]
    nested = gql("{ orders(first: 1) { nodes { id totalPrice } } }")
    assert nested["errors"][0]["message"] == "Field 'totalPrice' doesn't exist on type 'Order'"
    assert "Parse error" in gql("{ shop { name }")["errors"][0]["message"]
    assert gql("{ orders { nodes { id } } }")["errors"][0]["message"] == "you must provide one of first or last"
    assert "cannot exceed 250" in gql("{ orders(first: 251) { nodes { id } } }")["errors"][0]["message"]
    missing = gql("query Q($id: ID!) { order(id: $id) { id } }", {})
    assert missing["errors"][0]["message"] == "Variable $id of type ID! was provided invalid value"


def test_answers_hold_only_the_selected_fields_with_aliases_fragments_and_directives(shop, gql):
    order = shop.place_order(notify=False, discount_codes=[{"code": "SPRING10", "type": "percentage", "value": "10"}])
    query = """
    query One($id: ID!, $withLines: Boolean!) {
      order(id: $id) {
        ...Head
        total: totalPriceSet { shopMoney { amount } }
        lineItems(first: 1) @include(if: $withLines) {
          nodes {
            sku
            discountAllocations { discountApplication { __typename ... on DiscountCodeApplication { code } } }
          }
        }
        customer @skip(if: true) { id }
      }
    }
    fragment Head on Order { id name }
    """
    data = gql(query, {"id": order["admin_graphql_api_id"], "withLines": True})["data"]["order"]
    assert set(data) == {"id", "name", "total", "lineItems"}
    assert float(data["total"]["shopMoney"]["amount"]) == float(order["total_price"])
    application = data["lineItems"]["nodes"][0]["discountAllocations"][0]["discountApplication"]
    assert application == {"__typename": "DiscountCodeApplication", "code": "SPRING10"}
    assert gql("query($id: ID!) { order(id: $id) { id } }", {"id": gid("Order", 1)})["data"] == {"order": None}
    not_a_gid = gql("query($id: ID!) { order(id: $id) { id } }", {"id": str(order["id"])})
    assert not_a_gid["data"] == {"order": None}
    assert not_a_gid["errors"][0]["message"] == f"Invalid global id '{order['id']}'"
    assert not_a_gid["errors"][0]["path"] == ["order"]


# --------------------------------------------------------------------------- orders and pagination


ORDERS_PAGE = """
query Page($after: String, $q: String) {
  orders(first: 2, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { name updatedAt } }
  }
}
"""


def test_orders_updated_since_paginate_by_cursor_over_three_pages(shop, gql, clock):
    placed = []
    for _ in range(7):
        placed.append(shop.place_order(notify=False))
        clock.advance(minutes=1)
    shop.update_order(placed[0]["id"], note="gift wrap", notify=False)  # now the latest change
    since = (T0 + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    names, pages, after = [], 0, None
    while True:
        page = gql(ORDERS_PAGE, {"after": after, "q": f"updated_at:>='{since}'"})["data"]["orders"]
        pages += 1
        names += [edge["node"]["name"] for edge in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert names == ["#1003", "#1004", "#1005", "#1006", "#1007", "#1001"]
    stamps = [gql("query($id: ID!) { order(id: $id) { updatedAt } }", {"id": gid("Order", o["id"])})
              ["data"]["order"]["updatedAt"] for o in placed[2:]]
    assert stamps == sorted(stamps)


def test_order_by_id_has_graphql_shape_and_fulfillment_orders(shop, gql):
    order = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP"}],
                             shipping_address={"province_code": None})
    query = """query($id: ID!) { order(id: $id) {
        legacyResourceId name displayFinancialStatus displayFulfillmentStatus currencyCode
        customer { defaultEmailAddress { emailAddress } }
        shippingAddress { countryCodeV2 city }
        lineItems(first: 5) { nodes { sku quantity originalUnitPriceSet { shopMoney { amount } } } }
        fulfillmentOrders(first: 5) { nodes { status assignedLocation { name }
          lineItems(first: 5) { nodes { sku totalQuantity remainingQuantity } } } } } }"""
    node = gql(query, {"id": gid("Order", order["id"])})["data"]["order"]
    assert node["legacyResourceId"] == str(order["id"]) and node["name"] == order["name"]
    assert node["displayFinancialStatus"] == "PAID" and node["displayFulfillmentStatus"] == "UNFULFILLED"
    assert node["customer"]["defaultEmailAddress"]["emailAddress"] == order["email"]
    assert node["shippingAddress"]["countryCodeV2"] == order["shipping_address"]["country_code"]
    assert [(x["sku"], x["quantity"]) for x in node["lineItems"]["nodes"]] == [("RC-MUG", 2), ("RC-CAP", 1)]
    assert node["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"] == "9.5"
    fo = node["fulfillmentOrders"]["nodes"][0]
    assert fo["status"] == "OPEN" and fo["assignedLocation"]["name"] == "Brussels warehouse"
    assert [(x["sku"], x["remainingQuantity"]) for x in fo["lineItems"]["nodes"]] == [("RC-MUG", 2), ("RC-CAP", 1)]


# --------------------------------------------------------------------------- cost limit


def test_throttled_when_the_query_costs_more_than_available_then_served_after_restore(shop, gql):
    shop.set_cost_limit(100, 50, available=5)
    query = "{ productVariants(first: 10) { nodes { sku } } }"  # 2 + 10 x 1 = 12 points
    refused = gql(query)
    assert refused["errors"][0]["message"] == "Throttled"
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = refused["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12 and cost["actualQueryCost"] is None
    status = cost["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (100.0, 50.0)
    assert 5 <= status["currentlyAvailable"] < 12
    time.sleep((12 - status["currentlyAvailable"]) / 50 + 0.02)
    served = gql(query)
    assert "errors" not in served and len(served["data"]["productVariants"]["nodes"]) == 6
    # charged 12 up front, refunded what the 6 variants did not use: actual 2 + 6
    assert served["extensions"]["cost"]["actualQueryCost"] == 8
    assert shop.throttled_count == 1


def test_a_query_above_the_bucket_size_is_refused_outright(shop, gql):
    answer = gql("{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { sku } } } } }")
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "exceeds the single query max cost limit (1000)" in answer["errors"][0]["message"]


# --------------------------------------------------------------------------- stock, prices


SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange item { id } location { id } } }
    userErrors { field message code }
  }
}
"""


def test_inventory_set_quantities_in_bulk_per_location_all_or_nothing(shop, gql):
    mug, cap = shop.variant("RC-MUG"), shop.variant("RC-CAP")
    brussels, antwerp = (gid("Location", x) for x in shop.locations)
    item = lambda v: gid("InventoryItem", v["inventory_item_id"])  # noqa: E731
    levels = [(mug, brussels, 7), (mug, antwerp, 3), (cap, brussels, 0)]
    answer = gql(SET_QUANTITIES, {"input": {
        "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
        "quantities": [{"inventoryItemId": item(v), "locationId": loc, "quantity": q} for v, loc, q in levels]}})
    result = answer["data"]["inventorySetQuantities"]
    assert result["userErrors"] == []
    assert [(c["delta"], c["quantityAfterChange"]) for c in result["inventoryAdjustmentGroup"]["changes"]] == [
        (7, 7), (3, 3), (0, 0)]
    assert shop.inventory_level("RC-MUG", "Brussels warehouse") == 7
    assert shop.inventory_level("RC-MUG", "Antwerp store") == 3

    unknown = gql(SET_QUANTITIES, {"input": {"name": "available", "reason": "correction", "ignoreCompareQuantity": True,
                                             "quantities": [
                                                 {"inventoryItemId": item(mug), "locationId": brussels, "quantity": 1},
                                                 {"inventoryItemId": gid("InventoryItem", 1), "locationId": brussels,
                                                  "quantity": 1}]}})
    errors = unknown["data"]["inventorySetQuantities"]["userErrors"]
    assert errors == [{"field": ["input", "quantities", "1", "inventoryItemId"],
                       "message": "The specified inventory item could not be found.", "code": "INVALID_INVENTORY_ITEM"}]
    assert shop.inventory_level("RC-MUG", "Brussels warehouse") == 7  # nothing written

    compare = {"name": "available", "reason": "correction",
               "quantities": [{"inventoryItemId": item(mug), "locationId": brussels, "quantity": 5}]}
    codes = lambda a: [e["code"] for e in a["data"]["inventorySetQuantities"]["userErrors"]]  # noqa: E731
    assert codes(gql(SET_QUANTITIES, {"input": compare})) == ["COMPARE_QUANTITY_REQUIRED"]
    compare["quantities"][0]["compareQuantity"] = 6
    assert codes(gql(SET_QUANTITIES, {"input": compare})) == ["COMPARE_QUANTITY_STALE"]
    compare["quantities"][0]["compareQuantity"] = 7
    assert codes(gql(SET_QUANTITIES, {"input": compare})) == []
    assert shop.inventory_level("RC-MUG", "Brussels warehouse") == 5
    assert [w["quantity"] for w in shop.inventory_writes] == [7, 3, 0, 5]


def test_input_arrays_over_250_are_refused(shop, gql):
    mug = gid("InventoryItem", shop.variant("RC-MUG")["inventory_item_id"])
    quantities = [{"inventoryItemId": mug, "locationId": gid("Location", 1), "quantity": 1}] * 251
    answer = gql(SET_QUANTITIES, {"input": {"name": "available", "reason": "correction", "ignoreCompareQuantity": True,
                                            "quantities": quantities}})
    assert answer["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert answer["data"] == {"inventorySetQuantities": None}


def test_variants_found_by_sku_and_prices_updated_in_bulk(shop, gql):
    found = gql("""query($q: String!) { productVariants(first: 10, query: $q) {
                   nodes { id sku price compareAtPrice product { id } inventoryItem { id } } } }""",
                {"q": 'sku:"RC-TSHIRT-S" OR sku:RC-TSHIRT-M OR sku:NOPE'})["data"]["productVariants"]["nodes"]
    assert [v["sku"] for v in found] == ["RC-TSHIRT-S", "RC-TSHIRT-M"]
    assert found[0]["price"] == "19.90" and found[0]["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    product = found[0]["product"]["id"]
    mutation = """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) {
                    productVariantsBulkUpdate(productId: $p, variants: $v) {
                      productVariants { sku price compareAtPrice } userErrors { field message code } } }"""
    done = gql(mutation, {"p": product, "v": [{"id": found[0]["id"], "price": "17.50", "compareAtPrice": "19.90"},
                                              {"id": found[1]["id"], "price": "18"}]})["data"]
    assert done["productVariantsBulkUpdate"]["productVariants"] == [
        {"sku": "RC-TSHIRT-S", "price": "17.50", "compareAtPrice": "19.90"},
        {"sku": "RC-TSHIRT-M", "price": "18.00", "compareAtPrice": None}]
    assert shop.variant("RC-TSHIRT-S")["price"] == "17.50"
    cleared = gql(mutation, {"p": product, "v": [{"id": found[0]["id"], "compareAtPrice": None}]})
    assert cleared["data"]["productVariantsBulkUpdate"]["productVariants"][0]["compareAtPrice"] is None
    mug = gid("ProductVariant", shop.variant("RC-MUG")["id"])
    refused = gql(mutation, {"p": product, "v": [{"id": found[0]["id"], "price": "-1"}, {"id": mug, "price": "1"}]})
    errors = refused["data"]["productVariantsBulkUpdate"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["variants", "0", "price"], "GREATER_THAN_OR_EQUAL_TO"),
                                                         (["variants", "1", "id"], "PRODUCT_VARIANT_DOES_NOT_EXIST")]
    assert shop.variant("RC-TSHIRT-S")["price"] == "17.50"


# --------------------------------------------------------------------------- fulfilment


FULFIL = """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
  fulfillment { name status trackingInfo { number company url } } userErrors { field message } } }"""


def test_fulfillment_create_partial_then_the_rest(clock, receiver):
    with ShopifySimulator(token=TOKEN, webhook_secret=SECRET, webhook_url=receiver.url, clock=clock) as shop:
        order = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP"}])
        fo = shop.fulfillment_orders(order["id"])[0]
        mug_item = gid("FulfillmentOrderLineItem", fo["line_items"][0]["id"])
        body = lambda f: requests.post(graphql_url(shop), json={"query": FULFIL, "variables": {"f": f}},  # noqa: E731
                                       headers={"X-Shopify-Access-Token": TOKEN}, timeout=5).json()
        three = [{"id": mug_item, "quantity": 3}]
        too_many = body({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", fo["id"]),
                                                          "fulfillmentOrderLineItems": three}]})
        assert too_many["data"]["fulfillmentCreate"]["userErrors"][0]["message"] == (
            "Invalid fulfillment order line item quantity requested.")
        first = body({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", fo["id"]),
                                                       "fulfillmentOrderLineItems": [{"id": mug_item, "quantity": 1}]}],
                      "trackingInfo": {"number": "1Z999AA10123456784", "company": "UPS",
                                       "url": "https://ups.example/track/1Z999AA10123456784"},
                      "notifyCustomer": True})["data"]["fulfillmentCreate"]
        assert first["userErrors"] == [] and first["fulfillment"]["name"] == f"{order['name']}.1"
        assert first["fulfillment"]["trackingInfo"] == [{"number": "1Z999AA10123456784", "company": "UPS",
                                                         "url": "https://ups.example/track/1Z999AA10123456784"}]
        assert shop.fulfillment_orders(order["id"])[0]["status"] == "IN_PROGRESS"
        assert shop.get_order(order["id"])["fulfillment_status"] == "partial"
        assert receiver.topics() == ["orders/updated"]
        assert json.loads(receiver.received[0][1])["fulfillment_status"] == "partial"
        rest = body({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", fo["id"])}]})
        assert rest["data"]["fulfillmentCreate"]["userErrors"] == []
        assert shop.fulfillment_orders(order["id"])[0]["status"] == "CLOSED"
        payload = shop.get_order(order["id"])
        assert payload["fulfillment_status"] == "fulfilled" and len(payload["fulfillments"]) == 2
        closed = body({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", fo["id"])}]})
        assert "unfulfillable status" in closed["data"]["fulfillmentCreate"]["userErrors"][0]["message"]
        with pytest.raises(ValueError):
            shop.cancel_order(order["id"])


# --------------------------------------------------------------------------- webhooks


REQUIRED_ORDER_KEYS = {
    "id", "admin_graphql_api_id", "name", "email", "created_at", "updated_at", "cancelled_at", "financial_status",
    "fulfillment_status", "currency", "total_price", "subtotal_price", "total_tax", "taxes_included",
    "total_discounts", "customer", "billing_address", "shipping_address", "line_items", "shipping_lines",
    "discount_codes", "gateway", "payment_gateway_names", "note",
}
ADDRESS_KEYS = {"country_code", "province_code", "zip", "address1", "address2", "city", "phone", "first_name",
                "last_name"}


def test_webhook_is_signed_with_shopify_headers_and_carries_the_rest_order(shop, gql, receiver):
    shopify = pytest.importorskip("shopify")
    shop.webhook_url = receiver.url
    order = shop.place_order(line_items=[{"sku": "RC-HOODIE-M", "quantity": 1}, {"sku": "RC-MUG", "quantity": 2}],
                             discount_codes=[{"code": "WELCOME5", "type": "fixed_amount", "value": "5.00"}],
                             note="leave at the door")
    assert receiver.topics() == ["orders/create", "orders/paid"]
    headers, body = receiver.received[0]
    assert shopify_hmac_ok(headers, body)
    assert headers["X-Shopify-Shop-Domain"] == shop.shop_domain
    assert headers["X-Shopify-API-Version"] == API_VERSION
    uuid.UUID(headers["X-Shopify-Webhook-Id"]) and uuid.UUID(headers["X-Shopify-Event-Id"])
    assert datetime.fromisoformat(headers["X-Shopify-Triggered-At"].replace("Z", "+00:00")).tzinfo is not None
    payload = json.loads(body)
    assert payload == order
    assert REQUIRED_ORDER_KEYS <= set(payload)
    assert ADDRESS_KEYS <= set(payload["shipping_address"]) and ADDRESS_KEYS <= set(payload["billing_address"])
    assert {"id", "email", "phone", "first_name", "last_name"} <= set(payload["customer"])
    line = payload["line_items"][0]
    assert {"id", "variant_id", "sku", "title", "quantity", "price", "total_discount", "tax_lines",
            "discount_allocations"} <= set(line)
    assert set(line["tax_lines"][0]) >= {"title", "rate", "price"} and line["tax_lines"][0]["rate"] == 0.21
    assert {"code", "title", "price", "discounted_price", "tax_lines"} <= set(payload["shipping_lines"][0])
    assert payload["discount_codes"] == [{"code": "WELCOME5", "amount": "5.00", "type": "fixed_amount"}]
    assert sum(float(a["amount"]) for x in payload["line_items"] for a in x["discount_allocations"]) == 5.0
    assert payload["created_at"] == "2025-03-01T13:00:00+01:00"  # the shop's zone, as REST writes it
    # ShopifyAPI's own REST Order resource (the session is the gql fixture's) reads the webhook body
    resource = shopify.Order(payload)
    assert resource.line_items[0].sku == "RC-HOODIE-M" and resource.customer.email == payload["email"]


def test_webhook_retry_and_duplicates_keep_their_ids(shop, receiver):
    shop.webhook_url = receiver.url
    receiver.statuses.extend([500, 503])
    shop.place_order()
    create = [h for h, _ in receiver.received if h["X-Shopify-Topic"] == "orders/create"]
    assert len(create) == 3  # two failures, then accepted
    for name in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Hmac-Sha256"):
        assert len({h[name] for h in create}) == 1
    receiver.received.clear()
    shop.duplicate_webhooks(times=2)
    shop.place_order(financial_status="pending")
    assert receiver.topics() == ["orders/create", "orders/create"]
    assert receiver.received[0][0]["X-Shopify-Event-Id"] == receiver.received[1][0]["X-Shopify-Event-Id"]
    assert receiver.received[0][1] == receiver.received[1][1]


def test_dropped_reordered_and_tampered_webhooks(shop, receiver):
    shop.webhook_url = receiver.url
    shop.drop_webhooks(1)
    first = shop.place_order(financial_status="pending")
    assert receiver.received == [] and shop.webhooks.dropped()[0].payload["id"] == first["id"]
    shop.reorder_webhooks(2)
    a = shop.place_order(financial_status="pending")
    b = shop.place_order(financial_status="pending")
    assert [json.loads(body)["id"] for _, body in receiver.received] == [b["id"], a["id"]]
    receiver.received.clear()
    shop.tamper_webhooks(secret="not-the-app-secret")
    shop.place_order(financial_status="pending")
    shop.tamper_webhooks(unsigned=True)
    shop.place_order(financial_status="pending")
    assert not shopify_hmac_ok(*receiver.received[0])
    assert "X-Shopify-Hmac-Sha256" not in receiver.received[1][0]


def test_cancel_refund_and_payment_send_their_topics(shop, receiver):
    shop.webhook_url = receiver.url
    order = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP"}])
    refund = shop.refund_order(order["id"], line_items=[{"sku": "RC-MUG", "quantity": 1}], note="broken")
    assert receiver.topics() == ["refunds/create", "orders/updated"]
    sent = json.loads(receiver.received[0][1])
    assert sent == refund and sent["order_id"] == order["id"]
    assert sent["refund_line_items"][0]["quantity"] == 1 and sent["transactions"][0]["kind"] == "refund"
    updated = json.loads(receiver.received[1][1])
    assert updated["financial_status"] == "partially_refunded"
    assert float(updated["current_total_price"]) == pytest.approx(
        float(order["total_price"]) - float(sent["transactions"][0]["amount"]))
    receiver.received.clear()
    cancelled = shop.cancel_order(order["id"], reason="customer", refund=True)
    assert receiver.topics() == ["refunds/create", "orders/cancelled", "orders/updated"]
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "customer"
    assert cancelled["financial_status"] == "refunded"
    receiver.received.clear()
    pending = shop.place_order(notify=False, financial_status="authorized")
    shop.mark_paid(pending["id"])
    assert receiver.topics() == ["orders/paid", "orders/updated"]


def test_subscriptions_route_topics_to_their_callback(shop, gql, receiver):
    create = """mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) {
        webhookSubscription { id topic uri format endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }
        userErrors { field message } } }"""
    made = gql(create, {"t": "ORDERS_CREATE", "s": {"uri": receiver.url, "format": "JSON"}})
    sub = made["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
    assert sub["topic"] == "ORDERS_CREATE" and sub["uri"] == receiver.url
    assert sub["endpoint"] == {"callbackUrl": receiver.url}
    again = gql(create, {"t": "ORDERS_CREATE", "s": {"callbackUrl": receiver.url}})
    assert again["data"]["webhookSubscriptionCreate"]["userErrors"] == [
        {"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}]
    listed = gql("{ webhookSubscriptions(first: 10) { nodes { topic uri } } }")["data"]["webhookSubscriptions"]
    assert listed["nodes"] == [{"topic": "ORDERS_CREATE", "uri": receiver.url}]
    shop.place_order()
    assert receiver.topics() == ["orders/create"]  # orders/paid has no subscription and no fallback URL
    assert [d.state for d in shop.webhooks.for_topic("orders/paid")] == ["no_url"]


# --------------------------------------------------------------------------- payouts


def test_payouts_and_their_balance_transactions(shop, gql, clock):
    one = shop.place_order(notify=False, line_items=[{"sku": "RC-HOODIE-M"}])
    two = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG"}])
    shop.refund_order(two["id"], amount="5.00", notify=False)
    clock.advance(days=2)
    payout = shop.add_payout(order_ids=[one["id"], two["id"]],
                             transactions=[{"type": "ADJUSTMENT", "amount": "-1.50", "reason": "chargeback_fee"}])
    query = """query($q: String!) { shopifyPaymentsAccount {
        payouts(first: 5) { nodes { id legacyResourceId issuedAt status transactionType net { amount currencyCode } } }
        balanceTransactions(first: 20, query: $q) { nodes { type amount { amount } fee { amount } net { amount }
          associatedOrder { name } associatedPayout { status } } } } }"""
    account = gql(query, {"q": f"payments_transfer_id:{payout['id']}"})["data"]["shopifyPaymentsAccount"]
    node = account["payouts"]["nodes"][0]
    assert node["legacyResourceId"] == str(payout["id"]) and node["status"] == "PAID"
    assert node["transactionType"] == "DEPOSIT" and node["net"]["currencyCode"] == "EUR"
    txs = account["balanceTransactions"]["nodes"]
    assert [t["type"] for t in txs] == ["CHARGE", "CHARGE", "REFUND", "ADJUSTMENT", "TRANSFER"]
    moved = sum(float(t["net"]["amount"]) for t in txs if t["type"] != "TRANSFER")
    assert moved == pytest.approx(float(node["net"]["amount"]))
    assert float(txs[-1]["amount"]["amount"]) == pytest.approx(-moved)
    assert txs[0]["associatedOrder"]["name"] == one["name"] and txs[0]["associatedPayout"]["status"] == "PAID"
    assert float(txs[0]["fee"]["amount"]) == pytest.approx(round(float(one["total_price"]) * 0.029 + 0.25, 2))
    warned = gql(query, {"q": "payout_id:1"})
    assert warned["extensions"]["search"][0]["warnings"][0]["field"] == "payout_id"


# --------------------------------------------------------------------------- faults, command line


def test_injected_transport_faults_reach_the_client(shop, gql, capsys):
    shop.inject("POST", "/admin/api/", status=503)
    shop.inject("POST", "/admin/api/", status=429, retry_after=2)
    with pytest.raises(urllib.error.HTTPError) as first:
        gql("{ shop { name } }")
    with pytest.raises(urllib.error.HTTPError) as second:
        gql("{ shop { name } }")
    assert (first.value.code, second.value.code) == (503, 429)
    assert second.value.headers["Retry-After"] == "2"
    assert gql("{ shop { name } }")["data"]["shop"]["name"] == shop.shop_name
    assert [c.status for c in shop.calls_to("POST", "/admin/api/")] == [503, 429, 200]
    capsys.readouterr()


def test_command_line_runs_a_shop_that_trickles_signed_orders(receiver):
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    cmd = [sys.executable, "-m", "simulators.shopify", "--port", "0", "--token", TOKEN, "--quiet", "--orders", "2",
           "--webhook-url", receiver.url, "--webhook-secret", SECRET, "--trickle", "0.1"]
    proc = subprocess.Popen(cmd, cwd=TESTS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert "(2 orders;" in banner
        url = banner.split(" on ", 1)[1].split()[0]
        answer = requests.post(url, json={"query": "{ orders(first: 5) { nodes { name } } }"},
                               headers={"X-Shopify-Access-Token": TOKEN}, timeout=5).json()
        assert [n["name"] for n in answer["data"]["orders"]["nodes"]][:2] == ["#1001", "#1002"]
        proc.stdout.readline()  # the trickle announcement
        placed = proc.stdout.readline()
        assert placed.startswith("order #1003") and "webhook sent (200)" in placed
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert shopify_hmac_ok(*receiver.received[0])
