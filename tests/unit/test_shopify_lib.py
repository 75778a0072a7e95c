"""Tests of the Shopify protocol layer: the GraphQL client against the simulator, and the mapping
of Shopify orders and payouts to canonical objects (from webhook payloads and from queries)."""

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from retail_connector_base_lib.canonical import CanonicalValidationError
from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelRateLimited,
    ChannelTransportError,
    ChannelValidationError,
)
from retail_connector_marketplace_lib.shopify import (
    ShopifyClient,
    ThrottleStatus,
    graphql_order_to_canonical,
    numeric_id,
    order_to_canonical,
    payment_state,
    payout_to_canonical,
    plan_fulfillment,
    refund_to_canonical,
    to_gid,
)
from retail_connector_marketplace_lib.shopify import queries as Q
from retail_connector_marketplace_lib.shopify.mapping import customer_to_canonical
from retail_connector_marketplace_lib.shopify.webhooks import verify as verify_shopify
from simulators.shopify import ShopifySimulator, _Execution, gid

TOKEN = "shpat_lib_token"
SECRET = "shpss_lib_secret"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(clock):
    # a generous bucket: these tests are about the protocol, throttling has its own tests
    with ShopifySimulator(token=TOKEN, webhook_secret=SECRET, clock=clock, seed=11, cost_limit=(2000, 2000),
                          webhook_backoff=0.01) as sim:
        yield sim


@pytest.fixture
def client(shop):
    return ShopifyClient(shop.url, TOKEN)


class Inbox:
    """A webhook endpoint keeping (headers, raw body) of each POST."""

    def __init__(self):
        self.received = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                inbox.received.append((self.headers, self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/retail/webhook/shopify"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def inbox():
    box = Inbox()
    yield box
    box.stop()


# --------------------------------------------------------------------------- queries and cost


@pytest.mark.parametrize("name", sorted(Q.ALL_DOCUMENTS))
def test_every_document_is_valid_and_fits_the_single_query_cost_limit(name):
    variables = {"first": Q.ORDERS_PAGE, "id": gid("Order", 1), "query": "sku:X", "input": {}, "productId": "x",
                 "variants": [], "fulfillment": {}, "topic": "ORDERS_CREATE", "webhookSubscription": {}}
    execution = _Execution(Q.ALL_DOCUMENTS[name], variables, None)  # raises on an unknown field
    assert execution.requested_cost <= 1000


# --------------------------------------------------------------------------- client: orders


def test_orders_updated_since_paginates_and_completes_long_orders(shop, client, clock):
    old = shop.place_order(notify=False)
    clock.advance(minutes=5)
    placed = [shop.place_order(notify=False) for _ in range(18)]
    big = shop.place_order(notify=False, line_items=[
        {"sku": v["sku"], "quantity": 1} for v in sorted(shop.variants.values(), key=lambda v: v["id"])] + [
        {"sku": "RC-MUG", "quantity": 2, "price": "8.00"}])
    calls_before = len(shop.calls)
    nodes = list(client.iter_orders_updated_since(T0 + timedelta(minutes=5)))
    assert [n["name"] for n in nodes] == [o["name"] for o in placed + [big]]
    assert old["name"] not in {n["name"] for n in nodes}
    assert len(nodes[-1]["lineItems"]["nodes"]) == 7  # 5 in the page, 2 fetched after
    assert len(shop.calls) - calls_before == 3 + 1  # 19 orders in pages of 8, then the long order's lines
    assert client.throttle_status.requested_cost <= 1000
    with pytest.raises(ValueError):
        next(client.iter_orders_updated_since(datetime(2025, 3, 1)))


def test_get_order_and_unknown_order(shop, client):
    order = shop.place_order(notify=False)
    assert client.get_order(order["id"])["name"] == order["name"]
    assert client.get_order(gid("Order", order["id"]))["legacyResourceId"] == str(order["id"])
    assert client.get_order(1) is None
    assert client.shop()["currencyCode"] == "EUR"


# --------------------------------------------------------------------------- client: errors and throttling


def test_throttled_answer_raises_rate_limited_with_retry_after_from_the_bucket(shop, client):
    shop.set_cost_limit(1000, 100, available=10)
    query = "{ productVariants(first: 50) { nodes { id } } }"  # 52 points
    with pytest.raises(ChannelRateLimited) as caught:
        client.execute(query)
    status = client.throttle_status
    assert status.requested_cost == 52 and status.actual_cost is None
    assert caught.value.retryable
    assert caught.value.retry_after == pytest.approx((52 - status.currently_available) / 100)
    assert 0.3 < caught.value.retry_after <= 0.42


def test_outcome_hook_sees_a_throttled_answer_as_rate_limited(shop):
    outcomes = []
    client = ShopifyClient(shop.url, TOKEN, after_response=outcomes.append)
    client.execute("{ shop { name } }")
    shop.set_cost_limit(1000, 100, available=1)
    with pytest.raises(ChannelRateLimited):
        client.execute("{ productVariants(first: 50) { nodes { id } } }")
    with pytest.raises(ChannelAuthError):
        ShopifyClient(shop.url, "wrong", after_response=outcomes.append).execute("{ shop { name } }")
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["ChannelResponse", "ChannelRateLimited", "ChannelAuthError"]
    assert outcomes[1].retry_after > 0


def test_client_can_wait_out_a_throttle_itself(shop):
    slept = []
    client = ShopifyClient(shop.url, TOKEN, max_throttle_wait=1.0, sleep=lambda s: (slept.append(s), time.sleep(s)))
    shop.set_cost_limit(55, 100, available=10)
    data = client.execute("{ productVariants(first: 50) { nodes { id } } }")  # 52 points, 8 used
    assert len(data["productVariants"]["nodes"]) == 6
    assert len(slept) == 1 and shop.throttled_count == 1
    # the cost is now known and the bucket holds ~44: the client waits before sending, unrefused
    client.execute("{ productVariants(first: 50) { nodes { id } } }")
    assert len(slept) == 2 and 0 < slept[1] < 0.2 and shop.throttled_count == 1


def test_throttle_status_tells_how_long_until_a_cost_fits():
    status = ThrottleStatus(maximum_available=1000, currently_available=100, restore_rate=50, observed_at=10.0)
    assert status.wait_for(300, now=10.0) == pytest.approx(4.0)
    assert status.wait_for(300, now=14.0) == 0.0
    assert status.available_now(now=100.0) == 1000


def test_errors_become_channel_errors(shop, client):
    with pytest.raises(ChannelAuthError):
        ShopifyClient(shop.url, "wrong").execute("{ shop { name } }")
    with pytest.raises(ChannelValidationError, match="Field 'nope' doesn't exist on type 'Shop'"):
        client.execute("{ shop { nope } }")
    with pytest.raises(ChannelValidationError, match="exceeds the single query max cost limit"):
        client.execute("{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }")
    shop.inject("POST", "/admin/api/", status=503)
    with pytest.raises(ChannelTransportError):
        client.execute("{ shop { name } }")
    shop.inject("POST", "/admin/api/", status=429, retry_after=3)
    with pytest.raises(ChannelRateLimited) as caught:
        client.execute("{ shop { name } }")
    assert caught.value.retry_after == 3.0
    shop.inject("POST", "/admin/api/", delay=0.6)
    with pytest.raises(ChannelTransportError, match="did not answer in time"):
        ShopifyClient(shop.url, TOKEN, timeout=0.2).execute("{ shop { name } }")
    with pytest.raises(ChannelAuthError):
        ShopifyClient(shop.url, "")


# --------------------------------------------------------------------------- client: stock and prices


def test_set_inventory_in_calls_of_at_most_250(shop, client):
    for n in range(130):
        shop.add_variant(f"BULK-{n:03}", "5.00")
    refs = client.find_variants_by_sku([f"BULK-{n:03}" for n in range(130)] + ["NOT-THERE"])
    assert len(refs) == 130 and "NOT-THERE" not in refs
    locations = [loc["id"] for loc in client.locations()]
    quantities = [{"inventory_item_id": ref["inventory_item_id"], "location_id": loc, "quantity": i % 7}
                  for i, ref in enumerate(refs.values()) for loc in locations]  # 260 levels
    before = len(shop.calls_to("POST"))
    changes = client.set_inventory(quantities, reason="correction")
    assert len(changes) == 260 and len(shop.calls_to("POST")) - before == 2
    assert shop.inventory_level("BULK-006", "Antwerp store") == 6
    assert {w["reason"] for w in shop.inventory_writes} == {"correction"}
    # compare-and-set: the stored value must still be what the caller last saw
    mug = client.find_variants_by_sku(["RC-MUG"])["RC-MUG"]
    level = {"inventory_item_id": mug["inventory_item_id"], "location_id": locations[0], "quantity": 4}
    with pytest.raises(ChannelValidationError, match="compareQuantity"):
        client.set_inventory([{**level, "compare_quantity": 9}])
    client.set_inventory([{**level, "compare_quantity": 0}])
    assert shop.inventory_level("RC-MUG") == 4


def test_set_inventory_user_errors_name_the_item_and_keep_what_was_applied(shop, client):
    for n in range(255):
        shop.add_variant(f"LOT-{n:03}", "1.00")
    refs = client.find_variants_by_sku([f"LOT-{n:03}" for n in range(255)])
    location = client.locations()[0]["id"]
    quantities = [{"inventory_item_id": r["inventory_item_id"], "location_id": location, "quantity": 1}
                  for r in refs.values()]
    quantities.insert(252, {"inventory_item_id": 1, "location_id": location, "quantity": 1})
    with pytest.raises(ChannelValidationError) as caught:
        client.set_inventory(quantities)
    assert "input.quantities.2.inventoryItemId" in str(caught.value)
    assert "INVALID_INVENTORY_ITEM" in str(caught.value)
    assert caught.value.details[0]["item"]["inventoryItemId"] == "gid://shopify/InventoryItem/1"
    assert len(caught.value.applied) == 250
    assert shop.inventory_level("LOT-000") == 1 and shop.inventory_level("LOT-254") == 0


def test_prices_updated_per_product_as_decimal_text(shop, client):
    refs = client.find_variants_by_sku(["RC-TSHIRT-S", "RC-TSHIRT-M", "RC-CAP"])
    shirt = refs["RC-TSHIRT-S"]["product_id"]
    assert refs["RC-TSHIRT-M"]["product_id"] == shirt and refs["RC-CAP"]["compare_at_price"] == "18.00"
    updated = client.update_variant_prices(shirt, [
        {"id": refs["RC-TSHIRT-S"]["variant_id"], "price": Decimal("17.90"), "compare_at_price": "19.90"},
        {"id": refs["RC-TSHIRT-M"]["variant_id"], "price": 18.1}])
    assert [(v["price"], v["compareAtPrice"]) for v in updated] == [("17.90", "19.90"), ("18.10", None)]
    assert shop.variant("RC-TSHIRT-S")["compare_at_price"] == "19.90"
    cap = {"variant_id": refs["RC-CAP"]["variant_id"], "price": "12", "compare_at_price": None}
    client.update_variant_prices(refs["RC-CAP"]["product_id"], [cap])
    assert shop.variant("RC-CAP")["price"] == "12.00" and shop.variant("RC-CAP")["compare_at_price"] is None
    with pytest.raises(ChannelValidationError, match="variants.0.id: Product variant does not exist"):
        client.update_variant_prices(shirt, [{"id": refs["RC-CAP"]["variant_id"], "price": "1.00"}])
    assert [w["price"] for w in shop.price_writes] == ["17.90", "18.10", "12.00"]


# --------------------------------------------------------------------------- client: fulfilment


def test_fulfil_by_sku_partially_then_the_rest(shop, client):
    order = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 3}, {"sku": "RC-CAP"}])
    first = client.fulfill(order["id"], {"RC-MUG": 2}, tracking_number="1Z999AA10123456784", tracking_company="UPS",
                           tracking_url="https://ups.example/track/1Z999AA10123456784", notify_customer=True)
    assert first[0]["trackingInfo"][0]["number"] == "1Z999AA10123456784"
    assert shop.get_order(order["id"])["fulfillment_status"] == "partial"
    assert shop.fulfillments[0]["notify_customer"] is True
    with pytest.raises(ChannelValidationError, match="cannot fulfil 2 x RC-MUG: the order has 1 left"):
        client.fulfill(order["id"], {"RC-MUG": 2})
    with pytest.raises(ChannelValidationError, match="NOPE"):
        client.fulfill(order["id"], {"NOPE": 1})
    client.fulfill(order["id"])
    assert shop.get_order(order["id"])["fulfillment_status"] == "fulfilled"
    assert [fo["status"] for fo in client.fulfillment_orders(order["id"])] == ["CLOSED"]
    with pytest.raises(ChannelValidationError, match="nothing is left to fulfil"):
        client.fulfill(order["id"])


def test_fulfilment_plan_groups_fulfilment_orders_by_location():
    def fo(fo_id, location, status, *items):
        return {"id": fo_id, "status": status, "assignedLocation": {"location": {"id": location}},
                "lineItems": {"nodes": [{"id": i, "sku": s, "remainingQuantity": q} for i, s, q in items]}}

    orders = [fo("FO1", "L1", "OPEN", ("a", "MUG", 1), ("b", "CAP", 2)), fo("FO2", "L2", "OPEN", ("c", "MUG", 2)),
              fo("FO3", "L1", "CLOSED", ("d", "MUG", 5))]
    assert plan_fulfillment(orders, {"MUG": 2, "CAP": 1}) == {
        "L1": [{"fulfillment_order_id": "FO1", "line_items": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 1}]}],
        "L2": [{"fulfillment_order_id": "FO2", "line_items": [{"id": "c", "quantity": 1}]}],
    }
    assert sum(len(g["line_items"]) for groups in plan_fulfillment(orders).values() for g in groups) == 3


# --------------------------------------------------------------------------- client: webhooks, payouts


def test_ensure_webhooks_creates_only_what_is_missing_and_the_gateway_accepts_them(shop, client, inbox):
    kept = client.ensure_webhooks(inbox.url, ["orders/create"])
    assert list(kept["created"]) == ["ORDERS_CREATE"]
    result = client.ensure_webhooks(inbox.url, ["orders/create", "orders/updated", "ORDERS_CANCELLED"])
    assert result["existing"] == kept["created"]
    assert sorted(result["created"]) == ["ORDERS_CANCELLED", "ORDERS_UPDATED"]
    assert client.ensure_webhooks(inbox.url, ["orders/updated"])["created"] == {}
    assert len(client.webhook_subscriptions()) == 3
    order = shop.place_order()
    shop.cancel_order(order["id"])
    headers, body = inbox.received[0]
    assert [h["X-Shopify-Topic"] for h, _ in inbox.received] == ["orders/create", "orders/cancelled", "orders/updated"]
    assert verify_shopify(body, headers, [SECRET]) == 0  # the connector's own gateway check
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-Shopify-Hmac-Sha256"] == expected


def test_payouts_since_with_their_transactions_to_canonical(shop, client, clock):
    early = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG"}])
    shop.add_payout(order_ids=[early["id"]], issued_at=T0 - timedelta(days=10))
    one = shop.place_order(notify=False, line_items=[{"sku": "RC-HOODIE-M"}])
    two = shop.place_order(notify=False, line_items=[{"sku": "RC-CAP", "quantity": 2}])
    shop.refund_order(two["id"], amount="10.00", notify=False)
    payout = shop.add_payout(order_ids=[one["id"], two["id"]], issued_at=T0 + timedelta(days=1), status="SCHEDULED",
                             transactions=[{"type": "ADJUSTMENT", "amount": "-2.00"}])
    found = client.payouts(since=date(2025, 2, 25))
    assert [p["legacyResourceId"] for p in found] == [str(payout["id"])]
    assert len(client.payouts()) == 2
    transactions = client.balance_transactions(found[0]["id"])
    canonical = payout_to_canonical(found[0], transactions)
    assert canonical.external_id == str(payout["id"]) and canonical.status == "scheduled"
    assert canonical.date == date(2025, 3, 2) and canonical.currency == "EUR"
    assert canonical.amount == Decimal(payout["net"])
    assert [line.type for line in canonical.lines] == ["charge", "charge", "refund", "adjustment"]
    assert sum(line.net for line in canonical.lines) == canonical.amount
    assert canonical.lines[0].order_external_id == str(one["id"])
    assert canonical.lines[2].amount == Decimal("-10.00") and canonical.lines[0].fee > 0


def test_a_withdrawal_payout_is_negative():
    node = {"id": "gid://shopify/ShopifyPaymentsPayout/9", "legacyResourceId": "9", "issuedAt": "2025-03-03T08:00:00Z",
            "status": "PAID", "transactionType": "WITHDRAWAL", "net": {"amount": "12.5", "currencyCode": "USD"}}
    payout = payout_to_canonical(node, [{"id": "gid://shopify/ShopifyPaymentsBalanceTransaction/1", "type": "REFUND",
                                         "amount": {"amount": "-12.5"}, "fee": {"amount": "0.0"},
                                         "net": {"amount": "-12.5"}, "sourceId": "55"}])
    assert payout.amount == Decimal("-12.50") and payout.lines[0].type == "refund"


# --------------------------------------------------------------------------- mapping: a documented payload


def docs_like_order():
    """An orders/create body shaped like Shopify's documented example (US shop, USD, tax excluded)."""
    money = lambda amount: {"shop_money": {"amount": amount, "currency_code": "USD"},  # noqa: E731
                            "presentment_money": {"amount": amount, "currency_code": "USD"}}
    address = {"first_name": "Steve", "address1": "123 Shipping Street", "phone": "555-555-SHIP",
               "city": "Shippington", "zip": "40003", "province": "Kentucky", "country": "United States",
               "last_name": "Shipper", "address2": None, "company": "Shipping Company", "latitude": None,
               "longitude": None, "name": "Steve Shipper", "country_code": "US", "province_code": "KY"}
    return {
        "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "app_id": None, "browser_ip": None, "buyer_accepts_marketing": True, "cancel_reason": None,
        "cancelled_at": None, "closed_at": None, "confirmed": False, "contact_email": "jon@example.com",
        "created_at": "2025-02-28T19:00:00-05:00", "currency": "USD", "current_subtotal_price": "378.00",
        "customer_locale": "en", "discount_codes": [{"code": "SPRING20", "amount": "20.00", "type": "fixed_amount"}],
        "email": "jon@example.com", "estimated_taxes": False, "financial_status": "paid", "fulfillment_status": None,
        "gateway": "bogus", "landing_site": None, "name": "#9999", "note": "Please gift wrap", "note_attributes": [],
        "number": 234, "order_number": 1234, "payment_gateway_names": ["visa", "bogus"], "phone": None,
        "presentment_currency": "USD", "processed_at": "2025-02-28T19:00:00-05:00",
        "subtotal_price": "378.00", "subtotal_price_set": money("378.00"), "tags": "tag1, tag2",
        "tax_lines": [{"price": "22.68", "rate": 0.06, "title": "State Tax", "channel_liable": None}],
        "taxes_included": False, "test": True, "total_discounts": "20.00", "total_discounts_set": money("20.00"),
        "total_line_items_price": "398.00", "total_price": "410.68", "total_price_set": money("410.68"),
        "total_shipping_price_set": money("10.00"), "total_tax": "22.68", "total_tax_set": money("22.68"),
        "total_weight": 0, "updated_at": "2025-02-28T19:05:31-05:00", "user_id": None,
        "billing_address": dict(address),
        "customer": {"id": 115310627314723954, "email": "john@example.com", "created_at": None, "updated_at": None,
                     "first_name": "John", "last_name": "Smith", "state": "disabled", "note": None,
                     "verified_email": True, "phone": None, "tags": "", "currency": "USD",
                     "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954"},
        "discount_applications": [{"target_type": "line_item", "type": "discount_code", "value": "20.0",
                                   "value_type": "fixed_amount", "allocation_method": "across",
                                   "target_selection": "all", "code": "SPRING20"}],
        "fulfillments": [], "refunds": [],
        "line_items": [
            {"id": 866550311766439020, "admin_graphql_api_id": "gid://shopify/LineItem/866550311766439020",
             "fulfillable_quantity": 1, "fulfillment_service": "manual", "fulfillment_status": None,
             "gift_card": False, "grams": 567, "name": "IPod Nano - 8GB", "price": "199.00",
             "price_set": money("199.00"), "product_exists": True, "product_id": 632910392, "properties": [],
             "quantity": 1, "requires_shipping": True, "sku": "IPOD2008PINK", "taxable": True,
             "title": "IPod Nano - 8GB", "total_discount": "0.00", "total_discount_set": money("0.00"),
             "variant_id": 808950810, "variant_inventory_management": "shopify", "variant_title": None,
             "vendor": None, "duties": [],
             "tax_lines": [{"channel_liable": None, "price": "11.34", "price_set": money("11.34"), "rate": 0.06,
                            "title": "State Tax"}],
             "discount_allocations": [{"amount": "10.00", "amount_set": money("10.00"),
                                       "discount_application_index": 0}]},
            {"id": 141249953214522974, "admin_graphql_api_id": "gid://shopify/LineItem/141249953214522974",
             "fulfillable_quantity": 1, "fulfillment_service": "manual", "fulfillment_status": None,
             "gift_card": False, "grams": 567, "name": "IPod Nano - 8GB", "price": "199.00",
             "price_set": money("199.00"), "product_exists": True, "product_id": 632910392, "properties": [],
             "quantity": 1, "requires_shipping": True, "sku": "IPOD2008PINK", "taxable": True,
             "title": "IPod Nano - 8GB", "total_discount": "0.00", "total_discount_set": money("0.00"),
             "variant_id": 808950810, "variant_inventory_management": "shopify", "variant_title": None,
             "vendor": None, "duties": [],
             "tax_lines": [{"channel_liable": None, "price": "11.34", "price_set": money("11.34"), "rate": 0.06,
                            "title": "State Tax"}],
             "discount_allocations": [{"amount": "10.00", "amount_set": money("10.00"),
                                       "discount_application_index": 0}]},
        ],
        "shipping_address": dict(address),
        "shipping_lines": [{"id": 271878346596884015, "carrier_identifier": None, "code": None,
                            "discounted_price": "10.00", "discounted_price_set": money("10.00"), "is_removed": False,
                            "phone": None, "price": "10.00", "price_set": money("10.00"),
                            "requested_fulfillment_service_id": None, "source": "shopify",
                            "title": "Generic Shipping", "tax_lines": [], "discount_allocations": []}],
    }


def test_documented_webhook_payload_maps_to_the_canonical_order():
    order = order_to_canonical(docs_like_order())
    assert order.external_id == "820982911946154508" and order.name == "#9999"
    assert order.created_at == datetime(2025, 3, 1, 0, 0, tzinfo=timezone.utc)
    assert order.updated_at == datetime(2025, 3, 1, 0, 5, 31, tzinfo=timezone.utc)
    assert order.updated_at.tzinfo is not None
    assert order.currency == "USD" and order.taxes_included is False
    assert order.payment_state == "paid" and order.status == "open" and order.payment_gateway == "visa"
    assert order.customer.external_id == "115310627314723954" and order.customer.email == "john@example.com"
    address = order.shipping_address
    assert (address.street, address.city, address.zip, address.state_code, address.country_code) == (
        "123 Shipping Street", "Shippington", "40003", "KY", "US")
    assert address.phone is None and address.extra["phone"] == "555-555-SHIP"  # kept, not fatal
    line = order.lines[0]
    assert (line.external_id, line.sku, line.quantity, line.unit_price) == (
        "866550311766439020", "IPOD2008PINK", Decimal(1), Decimal("199.00"))
    assert line.discount_amount == Decimal("10.00")  # the code's allocation to this line
    assert line.tax_lines[0].rate == Decimal("0.06") and line.tax_lines[0].amount == Decimal("11.34")
    assert line.extra["variant_id"] == "808950810"
    shipping = order.shipping_lines[0]
    assert (shipping.name, shipping.price, shipping.discount_amount) == ("Generic Shipping", Decimal("10.00"), 0)
    assert order.discount_lines == [] and order.extra["discount_codes"] == ["SPRING20"]
    assert order.tax_lines == []  # the order's tax lines only sum the lines' own
    assert (order.subtotal_amount, order.shipping_amount, order.discount_amount, order.tax_amount,
            order.total_amount) == (Decimal("378.00"), Decimal("10.00"), Decimal("20.00"), Decimal("22.68"),
                                    Decimal("410.68"))
    lines_total = sum(x.quantity * x.unit_price - x.discount_amount + sum(t.amount for t in x.tax_lines)
                      for x in order.lines)
    assert lines_total + shipping.price - shipping.discount_amount == order.total_amount
    assert order.note == "Please gift wrap" and order.tags == ["tag1", "tag2"]
    assert "tags" not in order.extra


def test_documented_order_edited_on_the_shop_maps_its_note_tags_and_address():
    """An orders/updated body (the same documented shape) after the merchant edited note, tags and address."""
    payload = docs_like_order()
    payload.update(note="Leave with the neighbour", tags="tag1, wholesale , ", updated_at="2025-02-28T20:10:00-05:00")
    payload["shipping_address"].update(address1="9 Harbour Road", address2="Unit 4", city="Louisville", zip="40202")
    order = order_to_canonical(payload)
    assert order.note == "Leave with the neighbour" and order.tags == ["tag1", "wholesale"]
    address = order.shipping_address
    assert (address.street, address.street2, address.city, address.zip, address.state_code) == (
        "9 Harbour Road", "Unit 4", "Louisville", "40202", "KY")
    assert order.updated_at == datetime(2025, 3, 1, 1, 10, tzinfo=timezone.utc)
    # the billing address is a copy, not the same object: it keeps the old street
    assert order.billing_address.street == "123 Shipping Street"


@pytest.mark.parametrize("given, expected", [
    ("pending", "pending"), ("authorized", "authorized"), ("partially_paid", "partially_paid"), ("paid", "paid"),
    ("partially_refunded", "partially_refunded"), ("refunded", "refunded"), ("voided", "voided"),
    ("PARTIALLY_REFUNDED", "partially_refunded"), ("EXPIRED", "voided"), (None, "pending"),
])
def test_financial_status_to_payment_state(given, expected):
    assert payment_state(given) == expected
    payload = docs_like_order()
    payload["financial_status"] = given
    assert order_to_canonical(payload).payment_state == expected


def test_unknown_financial_status_and_missing_fields_name_the_shopify_field():
    payload = docs_like_order()
    payload["financial_status"] = "mystery"
    with pytest.raises(CanonicalValidationError) as caught:
        order_to_canonical(payload)
    assert caught.value.paths == ["financial_status"]
    payload = docs_like_order()
    del payload["currency"]
    payload["line_items"] = []
    with pytest.raises(CanonicalValidationError) as caught:
        order_to_canonical(payload)
    assert caught.value.paths == ["currency", "line_items"]
    payload = docs_like_order()
    payload["line_items"][0]["quantity"] = 0
    with pytest.raises(CanonicalValidationError, match=r"lines\[0\]\.quantity"):
        order_to_canonical(payload)
    with pytest.raises(CanonicalValidationError) as caught:
        graphql_order_to_canonical({"id": "gid://shopify/Order/1", "currencyCode": "EUR", "lineItems": {"nodes": []}})
    assert caught.value.paths == ["createdAt"]


def test_cancelled_closed_and_guest_orders():
    payload = docs_like_order()
    payload["cancelled_at"] = "2025-03-01T10:00:00-05:00"
    payload["cancel_reason"] = "customer"
    assert order_to_canonical(payload).status == "cancelled"
    payload = docs_like_order()
    payload["closed_at"] = "2025-03-05T10:00:00-05:00"
    assert order_to_canonical(payload).status == "closed"
    payload = docs_like_order()
    payload["customer"] = None
    guest = order_to_canonical(payload).customer
    assert guest.external_id is None and guest.email == "jon@example.com"


def test_line_total_discount_counts_when_there_is_no_allocation():
    payload = docs_like_order()
    for line in payload["line_items"]:
        line["discount_allocations"] = []
        line["total_discount"] = "5.00"
    assert [x.discount_amount for x in order_to_canonical(payload).lines] == [Decimal("5.00")] * 2


# --------------------------------------------------------------------------- mapping: REST and GraphQL agree


def test_webhook_and_query_shapes_give_the_same_canonical_order(shop, client, inbox):
    shop.webhook_url = inbox.url
    shop.place_order(discount_codes=[{"code": "SPRING10", "type": "percentage", "value": "10"},
                                     {"code": "FREESHIP", "type": "shipping"}])
    shop.place_order(customer=None, taxes_included=False, tax_rate="0.2", financial_status="authorized",
                     discount_codes=[{"code": "FIVE", "type": "fixed_amount", "value": "5"}],
                     shipping_address={"first_name": "Ana", "country_code": "US", "province_code": "NY",
                                       "phone": "not a phone"})
    many = shop.place_order(line_items=[{"sku": v["sku"], "quantity": 2} for v in shop.variants.values()] +
                            [{"sku": "RC-MUG", "price": "1.00", "total_discount": "0.50"}])
    refunded = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 3}])
    shop.refund_order(refunded["id"], line_items=[{"sku": "RC-MUG", "quantity": 1}])
    shipped = shop.place_order(notify=False)
    client.fulfill(shipped["id"], {shipped["line_items"][0]["sku"]: 1})
    cancelled = shop.place_order(notify=False, financial_status="pending")
    shop.cancel_order(cancelled["id"], reason="fraud")
    latest = {}
    for headers, body in inbox.received:
        if headers["X-Shopify-Topic"] != "refunds/create":
            payload = json.loads(body)
            latest[payload["id"]] = payload
    assert len(latest) == 6
    for order_id, payload in latest.items():
        from_webhook = order_to_canonical(payload)
        from_query = graphql_order_to_canonical(client.get_order(order_id))
        assert from_webhook == from_query, order_id
    shapes = {o.external_id: o for o in (order_to_canonical(p) for p in latest.values())}
    assert shapes[str(cancelled["id"])].status == "cancelled"
    assert shapes[str(cancelled["id"])].extra["cancel_reason"] == "fraud"
    assert shapes[str(refunded["id"])].payment_state == "partially_refunded"
    assert shapes[str(shipped["id"])].extra["fulfillment_status"] == "partial"
    lines = shapes[str(many["id"])].lines
    assert len(lines) == 7 and lines[6].discount_amount == Decimal("0.50")


def test_every_canonical_total_adds_up_for_simulated_orders(shop, client):
    specs = ({}, {"taxes_included": False}, {"discount_codes": [{"code": "TEN", "type": "percentage", "value": "10"}]},
             {"discount_codes": [{"code": "SHIP", "type": "shipping"}], "taxes_included": False})
    for spec in specs:
        placed = shop.place_order(notify=False, **copy.deepcopy(spec))
        order = graphql_order_to_canonical(client.get_order(placed["id"]))
        goods = sum(x.quantity * x.unit_price - x.discount_amount for x in order.lines)
        shipping = sum(s.price - s.discount_amount for s in order.shipping_lines)
        taxes = sum(t.amount for x in order.lines + order.shipping_lines for t in x.tax_lines)
        assert goods == order.subtotal_amount and shipping == order.shipping_amount
        assert taxes == order.tax_amount
        assert goods + shipping + (0 if order.taxes_included else taxes) == order.total_amount


def test_ids():
    assert to_gid("Order", 12) == "gid://shopify/Order/12" == to_gid("Order", "gid://shopify/Order/12")
    assert numeric_id("gid://shopify/InventoryLevel/5?inventory_item_id=9") == "5"
    assert numeric_id(7) == "7" and numeric_id(None) is None
    with pytest.raises(ValueError):
        to_gid("Order", "gid://shopify/Product/1")
    with pytest.raises(ValueError):
        to_gid("Order", "abc")


def test_refund_webhook_maps_lines_restock_and_transactions(shop):
    order = shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
    rest = shop.refund_order(order["id"], line_items=[{"sku": "RC-MUG", "quantity": 1}], restock=True, note=" broken ")
    refund = refund_to_canonical(rest)
    assert (refund.external_id, refund.order_external_id) == (str(rest["id"]), str(order["id"]))
    assert refund.amount == Decimal(rest["transactions"][0]["amount"]) and refund.currency == order["currency"]
    assert refund.reason == "broken" and refund.gateway == rest["transactions"][0]["gateway"]
    [line] = refund.lines
    assert (line.sku, line.quantity, line.restock) == ("RC-MUG", 1, True)
    assert line.amount == Decimal(str(rest["refund_line_items"][0]["subtotal"])) + Decimal(
        str(rest["refund_line_items"][0]["total_tax"]))
    # a refund without money moving (no transaction) takes the order's currency
    bare = {**rest, "transactions": [], "refund_line_items": []}
    assert refund_to_canonical(bare, currency="EUR").amount == 0
    with pytest.raises(CanonicalValidationError) as info:
        refund_to_canonical({"id": 5})
    assert [e.path for e in info.value.errors] == ["order_id"]


def test_refund_create_records_one_refund_and_its_lines(shop, client):
    order = shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
    mug = next(line for line in order["line_items"] if line["sku"] == "RC-MUG")
    gateway = order["payment_gateway_names"][0]
    assert client.order_refunds(order["id"]) == []
    made = client.create_refund(order["id"], "10.00", gateway=gateway, note="RET/00001: too small",
                                line_items=[{"id": mug["id"], "quantity": 1}])
    assert made["note"] == "RET/00001: too small"
    assert Decimal(made["totalRefundedSet"]["shopMoney"]["amount"]) == Decimal("10.00")
    [listed] = client.order_refunds(order["id"])
    assert listed["id"] == made["id"]
    rest = shop.get_order(order["id"])
    assert rest["financial_status"] == "partially_refunded"
    assert rest["refunds"][0]["refund_line_items"][0]["quantity"] == 1
    # more than is left to refund is refused with the mutation's userErrors
    with pytest.raises(ChannelValidationError) as info:
        client.create_refund(order["id"], "100000.00", gateway=gateway)
    assert "transactions" in str(info.value)
    with pytest.raises(ChannelValidationError):
        client.create_refund(order["id"], "1.00", gateway=gateway, line_items=[{"id": 999999, "quantity": 1}])
    assert len(client.order_refunds(order["id"])) == 1


# --------------------------------------------------------------------------- catalogue pages and customers

def test_variant_pages_read_the_whole_shop_with_each_locations_available_quantity(shop, client):
    warehouse = shop.add_location("Back store")
    for i in range(45):
        shop.add_variant("PAGE-%02d" % i, "4.50", product_title="Paged %d" % (i // 5), inventory=i)
    shop.set_inventory_level("PAGE-07", warehouse["id"], 3)
    pages = list(client.iter_variant_pages())
    assert len(pages) >= 3, "more variants than a page"
    rows = {row["sku"]: row for page in pages for row in page}
    assert {"PAGE-00", "PAGE-44"} <= set(rows)
    assert rows["PAGE-07"]["price"] == "4.50"
    levels = rows["PAGE-07"]["levels"]
    assert levels[str(warehouse["id"])] == 3, "each location's level, by the location's numeric id"
    assert len(levels) == len(shop.locations) and 7 in levels.values(), "every location, the first holding 7"


def test_a_variant_read_continues_from_the_cursor_it_kept(shop, client):
    for i in range(45):
        shop.add_variant("RESUME-%02d" % i, "4.50", product_title="Resumed %d" % (i // 5))
    cursors = []
    pages = client.iter_variant_pages(on_cursor=cursors.append)
    first = next(pages)
    assert cursors == [], "the next page's cursor is handed over when it is asked for"
    second = next(pages)
    assert len(cursors) == 1 and cursors[0]
    rest = [second] + list(pages)
    again = list(client.iter_variant_pages(after=cursors[0]))
    assert [row["sku"] for page in again for row in page] == [row["sku"] for page in rest for row in page]
    skus = {row["sku"] for page in [first] + rest for row in page}
    assert {"RESUME-00", "RESUME-44"} <= skus


def test_a_customer_webhook_maps_to_a_canonical_customer_with_its_consent():
    payload = {
        "id": 7600000000042, "email": "Ana.Lopez@Example.com", "phone": "+32 470 12 34 56", "first_name": "Ana",
        "last_name": "Lopez", "locale": "fr", "email_marketing_consent": {"state": "subscribed"},
        "default_address": {"id": 1, "address1": "Rue Haute 1", "city": "Bruxelles", "zip": "1000",
                            "country_code": "BE", "first_name": "Ana", "last_name": "Lopez"},
        "addresses": [{"id": 1, "address1": "Rue Haute 1", "city": "Bruxelles", "zip": "1000", "country_code": "BE"},
                      {"id": 2, "address1": "Grand-Place 2", "city": "Bruxelles", "zip": "1000", "country_code": "BE"}],
    }
    customer = customer_to_canonical(payload)
    assert (customer.external_id, customer.email, customer.phone) == ("7600000000042", "Ana.Lopez@example.com",
                                                                      "+32470123456")
    assert customer.accepts_marketing is True
    assert [a.street for a in customer.addresses] == ["Rue Haute 1", "Grand-Place 2"]
    assert customer_to_canonical(dict(payload, email_marketing_consent={"state": "unsubscribed"})).accepts_marketing \
        is False
    with pytest.raises(CanonicalValidationError):
        customer_to_canonical({"email": "no-id@example.com"})


def test_product_set_creates_then_updates_one_product_and_its_variants(shop, client):
    made = client.set_product({
        "title": "Linen shirt", "description_html": "<p>Light</p>", "status": "ACTIVE",
        "options": [{"name": "Size", "values": ["S", "M"]}],
        "variants": [{"sku": "LIN-S", "price": "30.00", "barcode": "5400000000031", "options": {"Size": "S"},
                      "weight_kg": 0.2},
                     {"sku": "LIN-M", "price": "31.00", "options": {"Size": "M"}}],
    })
    assert [v["sku"] for v in made["variants"]] == ["LIN-S", "LIN-M"]
    assert all(v["inventory_item_id"] for v in made["variants"])
    assert shop.variant("LIN-S")["price"] == "30.00"
    # an update names the product: its variants are matched by SKU, one left out is deleted
    again = client.set_product({"id": numeric_id(made["id"]), "title": "Linen shirt, washed", "status": "ARCHIVED",
                                "options": [{"name": "Size", "values": ["S"]}],
                                "variants": [{"sku": "LIN-S", "price": "28.00", "options": {"Size": "S"}}]})
    assert again["id"] == made["id"] and again["status"] == "ARCHIVED"
    assert [v["id"] for v in again["variants"]] == [made["variants"][0]["id"]]
    assert shop.variant("LIN-S")["price"] == "28.00"
    assert shop.product_sets[-1]["title"] == "Linen shirt, washed"
    with pytest.raises(ChannelValidationError, match="Title can't be blank"):
        client.set_product({"title": "", "variants": [{"sku": "X-1", "price": "1.00"}]})
