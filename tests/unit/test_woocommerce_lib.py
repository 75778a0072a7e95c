"""Tests of the WooCommerce protocol layer (client, OAuth signing, mapping) without Odoo.

The client talks to the WooCommerce simulator over loopback HTTP; the mapping is checked on an
order shaped like the one in WooCommerce's REST API documentation ("Retrieve an order").
"""

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from retail_connector_base_lib.canonical import CanonicalValidationError
from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelTransportError,
    ChannelValidationError,
)
from retail_connector_marketplace_lib.woocommerce import (
    WooCommerceClient,
    order_to_canonical,
    payment_state,
    refund_to_canonical,
    signed_params,
)
from retail_connector_marketplace_lib.woocommerce import oauth
from retail_connector_marketplace_lib.woocommerce.mapping import customer_to_canonical
from simulators.woocommerce import WooCommerceSimulator

KEY = "ck_lib_key"
SECRET = "cs_lib_secret"
HOOK_SECRET = "whsec-lib"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

# The "Retrieve an order" example of the REST API v3 documentation, with the fields current
# WooCommerce adds (rate_percent, coupon_lines entries, refunds).
DOCS_ORDER = {
    "id": 727, "parent_id": 0, "number": "727", "order_key": "wc_order_58d2d042d1d", "created_via": "rest-api",
    "version": "3.0.0", "status": "processing", "currency": "USD",
    "date_created": "2017-03-22T16:28:02", "date_created_gmt": "2017-03-22T19:28:02",
    "date_modified": "2017-03-22T16:28:08", "date_modified_gmt": "2017-03-22T19:28:08",
    "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "10.00", "shipping_tax": "0.00",
    "cart_tax": "1.35", "total": "29.35", "total_tax": "1.35", "prices_include_tax": False, "customer_id": 0,
    "customer_ip_address": "", "customer_user_agent": "", "customer_note": "",
    "billing": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market", "address_2": "",
                "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US",
                "email": "john.doe@example.com", "phone": "(555) 555-5555"},
    "shipping": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market", "address_2": "",
                 "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US"},
    "payment_method": "bacs", "payment_method_title": "Direct Bank Transfer", "transaction_id": "",
    "date_paid": "2017-03-22T16:28:08", "date_paid_gmt": "2017-03-22T19:28:08",
    "date_completed": None, "date_completed_gmt": None, "cart_hash": "",
    "meta_data": [{"id": 13106, "key": "_download_permissions_granted", "value": "yes"}],
    "line_items": [
        {"id": 315, "name": "Woo Single #1", "product_id": 93, "variation_id": 0, "quantity": 2, "tax_class": "",
         "subtotal": "6.00", "subtotal_tax": "0.45", "total": "6.00", "total_tax": "0.45",
         "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}], "meta_data": [], "sku": "", "price": 3},
        {"id": 316, "name": "Ship Your Idea &ndash; Color: Black, Size: M Test", "product_id": 22, "variation_id": 23,
         "quantity": 1, "tax_class": "", "subtotal": "12.00", "subtotal_tax": "0.90", "total": "12.00",
         "total_tax": "0.90", "taxes": [{"id": 75, "total": "0.9", "subtotal": "0.9"}],
         "meta_data": [{"id": 2095, "key": "pa_color", "value": "black"}], "sku": "Bar3", "price": 12},
    ],
    "tax_lines": [{"id": 318, "rate_code": "US-CA-STATE TAX", "rate_id": 75, "label": "State Tax", "compound": False,
                   "tax_total": "1.35", "shipping_tax_total": "0.00", "rate_percent": 7.5, "meta_data": []}],
    "shipping_lines": [{"id": 317, "method_title": "Flat Rate", "method_id": "flat_rate", "total": "10.00",
                        "total_tax": "0.00", "taxes": [], "meta_data": []}],
    "fee_lines": [], "coupon_lines": [], "refunds": [],
}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def shop():
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, seed=21) as sim:
        yield sim


@pytest.fixture(params=["oauth", "basic"])
def client(shop, request):
    """Return a client of the simulator signing with OAuth 1.0a, or with HTTP Basic."""
    return WooCommerceClient(shop.url, KEY, SECRET, timeout=5, auth=request.param, per_page=10)


# --------------------------------------------------------------------------- mapping


def test_documented_order_maps_to_the_canonical_order():
    order = order_to_canonical(DOCS_ORDER)
    assert (order.external_id, order.name, order.currency) == ("727", "#727", "USD")
    assert order.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=timezone.utc)
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=timezone.utc)
    assert (order.status, order.payment_state, order.payment_gateway) == ("open", "paid", "bacs")
    single, variation = order.lines
    assert (single.external_id, single.sku, single.quantity, single.unit_price) == ("315", None, 2, Decimal("3.00"))
    assert (variation.sku, variation.unit_price, variation.discount_amount) == ("Bar3", Decimal("12.00"), 0)
    assert variation.extra["variation_id"] == 23
    tax = variation.tax_lines[0]
    assert (tax.name, tax.rate, tax.amount) == ("State Tax", Decimal("0.075"), Decimal("0.90"))
    assert tax.extra == {"rate_id": 75, "rate_code": "US-CA-STATE TAX"}
    ship, = order.shipping_lines
    assert (ship.code, ship.name, ship.price, ship.tax_lines) == ("flat_rate", "Flat Rate", Decimal("10.00"), [])
    assert order.customer.email == "john.doe@example.com" and order.customer.external_id is None
    # a fictitious 555 number is no phone number: kept aside rather than rejecting the order
    assert order.customer.phone is None and order.customer.extra == {"phone": "(555) 555-5555"}
    assert (order.shipping_address.street, order.shipping_address.state_code) == ("969 Market", "CA")
    assert order.billing_address.zip == "94103" and order.shipping_address.phone is None
    assert (order.subtotal_amount, order.shipping_amount, order.tax_amount, order.total_amount) == (
        Decimal("18.00"), Decimal("10.00"), Decimal("1.35"), Decimal("29.35"))
    sale, = order.payments
    assert (sale.kind, sale.amount, sale.processed_at) == ("sale", Decimal("29.35"), order.updated_at)
    assert order.discount_lines == [] and order.tax_lines == [] and order.taxes_included is False


def test_coupons_are_line_discounts_and_refunds_change_the_payment_state():
    payload = copy.deepcopy(DOCS_ORDER)
    payload["line_items"][1].update({"total": "10.80", "total_tax": "0.81",
                                     "taxes": [{"id": 75, "total": "0.81", "subtotal": "0.90"}]})
    payload["coupon_lines"] = [{"id": 400, "code": "summer10", "discount": "1.20", "discount_tax": "0.09"}]
    payload["refunds"] = [{"id": 730, "reason": "damaged", "total": "-5.00"}]
    payload.update(discount_total="1.20", discount_tax="0.09", total="28.06", total_tax="1.26")
    order = order_to_canonical(payload)
    line = order.lines[1]
    assert (line.unit_price, line.discount_amount, line.tax_lines[0].amount) == (
        Decimal("12.00"), Decimal("1.20"), Decimal("0.81"))
    assert order.discount_lines == [], "the coupon is already in the line: once is enough"
    assert order.extra["discount_codes"] == ["summer10"] and order.discount_amount == Decimal("1.20")
    assert order.payment_state == "partially_refunded"
    refund = order.payments[-1]
    assert (refund.kind, refund.amount, refund.external_id) == ("refund", Decimal("5.00"), "730")


def test_prices_including_tax_map_to_taxes_included_amounts():
    with WooCommerceSimulator(prices_include_tax=True, seed=2) as sim:
        payload = sim.place_order(lines=[{"sku": "RC-MUG", "quantity": 3}], coupons=["fiveoff"], notify=False)
    order = order_to_canonical(payload)
    line = order.lines[0]
    assert order.taxes_included is True
    assert line.unit_price == Decimal("9.50"), "the price the buyer saw, tax included"
    item = payload["line_items"][0]
    assert line.quantity * line.unit_price - line.discount_amount == Decimal(item["total"]) + Decimal(item["total_tax"])
    assert order.shipping_lines[0].price == Decimal("5.93")  # 4.90 + 21 %: WooCommerce keeps shipping without tax


@pytest.mark.parametrize("status, canonical, state", [
    ("pending", "open", "pending"), ("on-hold", "open", "pending"), ("processing", "open", "paid"),
    ("completed", "closed", "paid"), ("cancelled", "cancelled", "voided"), ("failed", "cancelled", "voided"),
    ("refunded", "closed", "refunded"), ("shipped-by-plugin", "open", "paid"),
])
def test_status_mapping(status, canonical, state):
    payload = {**DOCS_ORDER, "status": status}
    if status in ("cancelled", "failed"):
        payload["date_paid_gmt"] = None
    order = order_to_canonical(payload)
    assert (order.status, order.payment_state) == (canonical, state)
    assert order.extra["woocommerce_status"] == status


def test_payment_state_of_a_cancelled_paid_order_and_full_refunds():
    assert payment_state("cancelled", Decimal("10"), 0, paid=True) == "paid"
    assert payment_state("completed", Decimal("10"), Decimal("10")) == "refunded"
    assert payment_state("on-hold") == "pending"


def test_missing_required_fields_are_named():
    payload = {k: v for k, v in DOCS_ORDER.items() if k not in ("date_created_gmt", "currency")}
    with pytest.raises(CanonicalValidationError) as caught:
        order_to_canonical(payload)
    assert caught.value.paths == ["date_created_gmt", "currency"]
    broken = copy.deepcopy(DOCS_ORDER)
    broken["line_items"][0].pop("subtotal")
    with pytest.raises(CanonicalValidationError) as caught:
        order_to_canonical(broken)
    assert caught.value.paths == ["line_items[0].subtotal"]
    with pytest.raises(CanonicalValidationError):
        order_to_canonical({**DOCS_ORDER, "line_items": []})


def test_uneven_unit_prices_round_up_and_fees_become_lines():
    payload = copy.deepcopy(DOCS_ORDER)
    payload["line_items"] = [{**payload["line_items"][1], "quantity": 3, "subtotal": "10.00", "total": "10.00",
                              "total_tax": "0.75", "taxes": [{"id": 75, "total": "0.75"}]}]
    payload["fee_lines"] = [{"id": 501, "name": "Gift wrap", "total": "2.50", "total_tax": "0.00", "taxes": []},
                            {"id": 502, "name": "Goodwill", "total": "-1.00", "total_tax": "0.00", "taxes": []}]
    order = order_to_canonical(payload)
    line, fee = order.lines
    # 10.00 / 3: a unit price of 3.34 and a 0.02 discount keep the line at exactly 10.00
    assert (line.unit_price, line.discount_amount) == (Decimal("3.34"), Decimal("0.02"))
    assert (fee.name, fee.sku, fee.unit_price, fee.extra["fee"]) == ("Gift wrap", None, Decimal("2.50"), True)
    assert order.discount_lines[0].amount == Decimal("1.00")


def test_every_simulated_order_adds_up_after_mapping(shop):
    for coupons in ((), ("welcome10",), ("fiveoff", "welcome10")):
        payload = shop.place_order(coupons=list(coupons), notify=False)
        order = order_to_canonical(payload)
        lines = sum(l.quantity * l.unit_price - l.discount_amount + sum(t.amount for t in l.tax_lines)
                    for l in order.lines)
        shipping = sum(s.price + sum(t.amount for t in s.tax_lines) for s in order.shipping_lines)
        assert lines + shipping == order.total_amount


# --------------------------------------------------------------------------- OAuth signing


def test_oauth_signature_matches_the_official_package():
    from woocommerce.oauth import OAuth

    url = "http://shop.example/wp-json/wc/v3/orders"
    params = {"per_page": "10", "modified_after": "2025-03-01T12:00:00", "dates_are_gmt": "true"}
    ours = signed_params("GET", url, params, KEY, SECRET, timestamp=1740830400, nonce="abc123")
    theirs = OAuth(url=url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", method="GET")
    expected = theirs.generate_oauth_signature({k: v for k, v in ours.items() if k != "oauth_signature"}, url)
    assert ours["oauth_signature"] == expected
    assert oauth.rfc3986("a b/c~") == "a%20b%2Fc~"


# --------------------------------------------------------------------------- client: orders


def test_iter_orders_walks_more_than_two_pages(shop, client):
    placed = {o["id"] for o in shop.add_orders(25)}
    orders = list(client.iter_orders_modified_after(EPOCH))
    assert {o["id"] for o in orders} == placed and len(orders) == 25
    query = shop.calls_to("GET", "/wp-json/wc/v3/orders")[0].query
    assert query["dates_are_gmt"] == "true" and query["orderby"] == "modified" and query["order"] == "asc"
    assert query["modified_after"] == "1999-12-31T23:59:59"
    with pytest.raises(ValueError):
        list(client.iter_orders_modified_after(datetime(2025, 1, 1)))


def test_iter_orders_is_inclusive_and_survives_changes_during_the_walk():
    clock = type("Clock", (), {"now": T0, "__call__": lambda self: self.now})()
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, clock=clock, seed=4) as sim:
        orders = []
        for _ in range(30):
            orders.append(sim.place_order(notify=False))
            clock.now += timedelta(seconds=1)
        client = WooCommerceClient(sim.url, KEY, SECRET, timeout=5, per_page=10)
        assert {o["id"] for o in client.iter_orders_modified_after(T0 + timedelta(seconds=29))} == {orders[-1]["id"]}
        walk = client.iter_orders_modified_after(T0)
        seen = [next(walk)["id"] for _ in range(10)]
        # an order already read changes: it moves to the end, and the rest of the list slides up
        sim.update_order(orders[0]["id"], status="completed", notify=False)
        seen += [o["id"] for o in walk]
    assert set(seen) == {o["id"] for o in orders}, "no order slid past the walk"
    assert seen.count(orders[0]["id"]) == 2, "its new version is read again"


def test_get_order_status_and_notes(shop, client):
    order = shop.place_order(notify=False)
    assert client.get_order(order["id"])["id"] == order["id"]
    assert client.get_order(999999) is None
    assert client.set_order_status(order["id"], "completed")["status"] == "completed"
    note = client.add_order_note(order["id"], "Shipped: 3SABC123", customer_note=True)
    assert note["customer_note"] is True and shop.notes(order["id"])[0]["note"] == "Shipped: 3SABC123"
    with pytest.raises(ChannelValidationError) as caught:
        client.set_order_status(order["id"], "teleported")
    assert caught.value.details[0]["code"] == "rest_invalid_param"


def test_refunds_are_recorded_and_gateway_refusals_are_not_retryable(shop, client):
    order = shop.place_order(lines=[{"sku": "RC-CAP", "quantity": 1}], payment_method="cod", notify=False)
    line = order["line_items"][0]
    refund = client.create_refund(order["id"], Decimal("5.00"), "late delivery",
                                  [{"id": line["id"], "quantity": 0, "refund_total": "5.00"}])
    assert refund["amount"] == "5.00" and refund["refunded_payment"] is False
    assert shop.get_order(order["id"])["refunds"][0]["total"] == "-5.00"
    with pytest.raises(ChannelValidationError) as caught:  # HTTP 500, but retrying cannot help
        client.create_refund(order["id"], "1.00", api_refund=True)
    assert caught.value.status == 500 and not caught.value.retryable
    assert "does not support automatic refunds" in str(caught.value)
    with pytest.raises(ChannelValidationError):
        client.create_refund(order["id"], 1000)


# --------------------------------------------------------------------------- client: catalogue


def test_batch_update_chunks_at_100_and_names_refused_items(shop, client):
    for index in range(205):
        shop.add_product(f"BULK-{index:03d}", "5.00", notify=False)
    ids = {p["sku"]: p["id"] for p in (shop.product(f"BULK-{i:03d}") for i in range(205))}
    updates = [{"id": ids[f"BULK-{i:03d}"], "regular_price": Decimal("6.50"), "stock_quantity": i} for i in range(205)]
    done = client.batch_update_products(updates)
    assert len(done) == 205 and len(shop.calls_to("POST", "/wp-json/wc/v3/products/batch")) == 3
    assert shop.product("BULK-204")["regular_price"] == "6.50" and shop.stock_of("BULK-204") == 204
    first_call = shop.calls_to("POST", "/wp-json/wc/v3/products/batch")[0].json()
    assert len(first_call["update"]) == 100 and first_call["update"][0]["manage_stock"] is True
    with pytest.raises(ChannelValidationError) as caught:
        client.batch_update_products([{"id": ids["BULK-000"], "sale_price": "4.00"},
                                      {"id": 777777, "sku": "GHOST-1", "regular_price": "1.00"}])
    assert "product 777777 (GHOST-1): Invalid ID. [woocommerce_rest_product_invalid_id]" in str(caught.value)
    assert caught.value.details[0]["id"] == 777777 and len(caught.value.results) == 1
    assert shop.product("BULK-000")["sale_price"] == "4.00", "the other items of the batch are applied"


def test_batch_update_variations(shop, client):
    shirt, small = shop.product("RC-TSHIRT"), shop.product("RC-TSHIRT-S")
    done = client.batch_update_variations(shirt["id"], [{"id": small["id"], "regular_price": "18.00"}])
    assert done[0]["regular_price"] == "18.00"
    with pytest.raises(ChannelValidationError) as caught:
        client.batch_update_variations(shirt["id"], [{"id": shop.product("RC-MUG")["id"], "regular_price": "1"}])
    assert f"variation of product {shirt['id']}" in str(caught.value)


def test_find_products_by_sku_includes_variations(shop, client):
    found = client.find_products_by_sku(["RC-MUG", "RC-TSHIRT-L", "NOT-SOLD", ""])
    assert set(found) == {"RC-MUG", "RC-TSHIRT-L"}
    assert found["RC-MUG"]["variation_id"] is None and found["RC-MUG"]["product_id"] == shop.product("RC-MUG")["id"]
    large = found["RC-TSHIRT-L"]
    assert large["product_id"] == shop.product("RC-TSHIRT")["id"]
    assert large["variation_id"] == shop.product("RC-TSHIRT-L")["id"]
    assert large["stock_quantity"] == 100 and large["price"] == "19.90"


def test_find_products_by_sku_walks_the_variations_only_for_the_skus_named(shop, client):
    mark = len(shop.calls.all())
    found = client.find_products_by_sku(["RC-MUG", "RC-TSHIRT-L", "NOT-SOLD"], variations_for=["RC-MUG"])
    assert set(found) == {"RC-MUG"}
    assert [c.path for c in shop.calls.all()[mark:]] == ["/wp-json/wc/v3/products"], "one SKU search, no walk"
    found = client.find_products_by_sku(["RC-MUG", "RC-TSHIRT-L", "NOT-SOLD"], variations_for=["RC-TSHIRT-L"])
    assert set(found) == {"RC-MUG", "RC-TSHIRT-L"}


# --------------------------------------------------------------------------- client: webhooks and errors


def test_ensure_webhooks_creates_then_reactivates_what_failures_disabled(shop, client):
    url = "http://127.0.0.1:9/closed"  # nothing listens: every delivery fails
    done = client.ensure_webhooks(url, HOOK_SECRET, ["order.created", "order.updated"])
    assert set(done["created"]) == {"order.created", "order.updated"} and not done["existing"]
    assert client.ensure_webhooks(url, HOOK_SECRET, ["order.created", "order.updated"])["existing"] == done["created"]
    hook_id = done["created"]["order.created"]
    for _ in range(7):
        shop.place_order()
    assert shop.webhook(hook_id)["status"] == "disabled"
    again = client.ensure_webhooks(url, "rotated-secret", ["order.created", "order.updated"])
    assert again["reactivated"] == {"order.created": hook_id}
    assert again["updated"] == {"order.updated": done["created"]["order.updated"]}
    assert shop.webhook(hook_id)["status"] == "active" and shop.webhook(hook_id)["secret"] == "rotated-secret"
    assert {h["id"] for h in client.list_webhooks()} == set(done["created"].values())


def test_channel_errors(shop):
    wrong = WooCommerceClient(shop.url, KEY, "cs_wrong", timeout=5, auth="basic")
    with pytest.raises(ChannelAuthError) as caught:
        wrong.get_order(1)
    assert caught.value.details[0]["code"] == "woocommerce_rest_authentication_error"
    unsigned = WooCommerceClient(shop.url, KEY, "cs_wrong", timeout=5)
    with pytest.raises(ChannelAuthError, match="Invalid signature"):
        list(unsigned.iter_orders_modified_after(EPOCH))
    client = WooCommerceClient(shop.url, KEY, SECRET, timeout=5, auth="query")
    shop.inject("GET", "/wp-json/wc/v3/orders", status=503, times=1)
    with pytest.raises(ChannelTransportError) as caught:
        list(client.iter_orders_modified_after(EPOCH))
    assert caught.value.retryable
    assert list(client.iter_orders_modified_after(EPOCH)) == []
    with pytest.raises(ChannelAuthError):
        WooCommerceClient(shop.url, KEY, "")
    assert WooCommerceClient("shop.example", KEY, SECRET).auth == "basic"


def test_query_authentication_keeps_the_secret_out_of_errors():
    client = WooCommerceClient("http://127.0.0.1:9", KEY, SECRET, timeout=2, auth="query")
    with pytest.raises(ChannelTransportError) as caught:
        client.get_order(1)
    assert SECRET not in str(caught.value)


def test_refund_is_read_with_positive_amounts_and_its_item(shop, client):
    order = shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}])
    item = order["line_items"][0]
    created = shop.refund_order(order["id"], reason="dented", line_items=[
        {"id": item["id"], "quantity": 1, "refund_total": "5.00", "refund_tax": []}])
    payload = client.get_refund(order["id"], created["id"])
    refund = refund_to_canonical(payload, order["id"], "EUR", "bacs")
    assert (refund.external_id, refund.order_external_id, refund.reason) == (str(created["id"]), str(order["id"]),
                                                                            "dented")
    assert refund.amount == Decimal("5.00") and refund.gateway == "bacs"
    [line] = refund.lines
    assert (line.sku, line.quantity, line.amount, line.order_line_external_id) == ("RC-MUG", 1, Decimal("5.00"),
                                                                                  str(item["id"]))
    with pytest.raises(CanonicalValidationError):
        refund_to_canonical({"amount": "1"}, order["id"], "EUR")


# --------------------------------------------------------------------------- catalogue pages and customers

def test_item_pages_list_simple_products_and_the_variations_of_variable_ones(shop, client):
    for i in range(25):
        shop.add_product("ITEM-%02d" % i, "3.00", stock=i, notify=False)
    shop.add_product("SHIRT", "15.00", variations=["SHIRT-S", {"sku": "SHIRT-M", "price": "16.00", "stock": 4}],
                     notify=False)
    pages = list(client.iter_item_pages())
    assert len(pages) >= 3, "pages of 10 products"
    items = {i["sku"]: i for page in pages for i in page}
    assert items["ITEM-07"]["stock_quantity"] == 7 and items["ITEM-07"]["variation_id"] is None
    assert items["SHIRT-M"]["price"] == "16.00" and items["SHIRT-M"]["stock_quantity"] == 4
    assert items["SHIRT-M"]["product_id"] == items["SHIRT-S"]["product_id"] != items["SHIRT-M"]["variation_id"]
    assert "SHIRT" not in items, "a variable product is sold through its variations"


def test_item_and_customer_reads_continue_from_the_page_they_kept(shop, client):
    for i in range(25):
        shop.add_product("KEPT-%02d" % i, "3.00", stock=i, notify=False)
    kept = []
    pages = client.iter_item_pages(on_page=kept.append)
    first = next(pages)
    assert kept == [], "the next page's number is handed over when it is asked for"
    rest = list(pages)
    assert len(rest) >= 2 and kept == list(range(2, len(rest) + 2))
    again = list(client.iter_item_pages(page=kept[0]))
    assert [i["sku"] for page in again for i in page] == [i["sku"] for page in rest for i in page]
    assert {"KEPT-%02d" % i for i in range(25)} <= {i["sku"] for page in [first] + rest for i in page}

    for i in range(12):
        shop.save_customer(email="kept%02d@example.com" % i, first_name="Kept", last_name="%02d" % i)
    kept = []
    walked = [c["email"] for c in client.iter_customers(on_page=kept.append)]
    assert len(walked) > client.per_page and kept[0] == 2
    assert [c["email"] for c in client.iter_customers(page=2)] == walked[client.per_page:]


def test_products_are_created_in_batches_with_their_ids(shop, client):
    made = client.batch_create_products([{"name": "New one", "sku": "NEW-1", "regular_price": "5.00"},
                                         {"name": "New two", "sku": "NEW-2", "regular_price": "6.00"}])
    assert [m["sku"] for m in made] == ["NEW-1", "NEW-2"]
    assert shop.product("NEW-2")["id"] == made[1]["id"]
    with pytest.raises(ChannelValidationError, match="NEW-1"):
        client.batch_create_products([{"name": "Again", "sku": "NEW-1"}, {"name": "Three", "sku": "NEW-3"}])
    assert shop.product("NEW-3"), "the others are created"


def test_a_customer_webhook_maps_to_a_canonical_customer():
    customer = customer_to_canonical({
        "id": 31, "email": "jo@example.com", "first_name": "Jo", "last_name": "Smith",
        "billing": {"first_name": "Jo", "last_name": "Smith", "address_1": "1 High St", "city": "London",
                    "postcode": "SW1A 1AA", "country": "GB", "phone": "+44 20 7123 4567"},
        "shipping": {}, "meta_data": [{"key": "accepts_marketing", "value": "yes"}],
    })
    assert (customer.external_id, customer.email, customer.phone) == ("31", "jo@example.com", "+442071234567")
    assert customer.accepts_marketing is True
    assert [a.city for a in customer.addresses] == ["London"]
    with pytest.raises(CanonicalValidationError):
        customer_to_canonical({"email": "x@example.com"})


def test_orders_modified_after_tells_the_shops_count_once(shop, client):
    for _ in range(5):
        shop.place_order(notify=False)
    totals = []
    orders = list(client.iter_orders_modified_after(EPOCH, on_total=totals.append))
    assert len(orders) == 5
    assert totals == [5], "X-WP-Total of the first page, told once however many pages follow"
