"""Tests of the WooCommerce simulator, driven through WooCommerce's own Python package.

The package (``woocommerce``, the REST API wrapper) signs every request with OAuth 1.0a over
plain HTTP, as it does for any http:// shop, so its requests succeeding shows the simulator
verifies the real signature scheme. Webhooks are received by a small HTTP server here and
their signatures are checked with the standard library, as WooCommerce documents them.
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
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from simulators.woocommerce import WooCommerceSimulator

KEY = "ck_5f1e0c4d2b"
SECRET = "cs_9a8b7c6d5e"
HOOK_SECRET = "wh-secret-Ω"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
TESTS_DIR = Path(__file__).resolve().parents[1]
API = "/wp-json/wc/v3"


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
        self.default_status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    # urllib sends "X-wc-webhook-topic": header names are case-insensitive
                    receiver.received.append((CaseInsensitiveDict(self.headers.items()), body))
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.default_status
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/retail/webhook/woocommerce"

    def deliveries(self):
        """Return the (headers, body) of received order webhooks (pings left out)."""
        return [(h, b) for h, b in self.received if "X-WC-Webhook-Topic" in h]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def signature_ok(headers, body, secret=HOOK_SECRET):
    """Return whether X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body."""
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers.get("X-WC-Webhook-Signature", ""))


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # the woocommerce package calls requests.request, which reads proxy settings from the environment
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def shop():
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, seed=11) as sim:
        yield sim


@pytest.fixture
def wcapi(shop):
    """Return WooCommerce's own API client pointed at the simulator (OAuth 1.0a over http)."""
    from woocommerce import API  # the official package; pinned in requirements.txt

    return API(url=shop.url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=10)


def raw(shop, method, path, **kwargs):
    kwargs.setdefault("timeout", 5)
    return requests.request(method, shop.url + API + "/" + path, **kwargs)


def oauth1_query(method, url, params, secret=SECRET, signature_method="HMAC-SHA1", **overrides):
    """Return signed query parameters built here from RFC 5849 and WooCommerce's documentation."""
    enc = lambda s: quote(str(s), safe="-_.~")  # noqa: E731
    oauth = {"oauth_consumer_key": KEY, "oauth_timestamp": str(int(time.time())),
             "oauth_nonce": uuid.uuid4().hex, "oauth_signature_method": signature_method, **overrides}
    merged = {**params, **oauth}
    pairs = "%26".join(enc(f"{enc(k)}={enc(merged[k])}") for k in sorted(merged))
    base = f"{method}&{enc(url)}&{pairs}"
    digest = hashlib.sha1 if signature_method == "HMAC-SHA1" else hashlib.sha256
    mac = hmac.new(f"{secret}&".encode(), base.encode(), digest)
    oauth["oauth_signature"] = base64.b64encode(mac.digest()).decode()
    return {**params, **oauth}


# --------------------------------------------------------------------------- authentication


def test_official_client_is_accepted_with_oauth_signatures(shop, wcapi):
    order = shop.place_order(notify=False)
    answer = wcapi.get(f"orders/{order['id']}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == order["id"]
    call = shop.calls[-1]
    assert call.query["oauth_signature_method"] == "HMAC-SHA256" and "Authorization" not in call.headers
    assert wcapi.put(f"orders/{order['id']}", {"status": "completed"}).json()["status"] == "completed"


def test_oauth_hmac_sha1_signature_tampering_replay_and_clock(shop):
    url = shop.url + API + "/orders"
    params = oauth1_query("GET", url, {"per_page": "5"})
    assert requests.get(url, params=params, timeout=5).status_code == 200
    replay = requests.get(url, params=params, timeout=5)
    assert replay.status_code == 401 and replay.json()["message"] == "Invalid nonce - nonce has already been used."
    tampered = {**oauth1_query("GET", url, {"per_page": "5"}), "per_page": "6"}
    answer = requests.get(url, params=tampered, timeout=5)
    assert answer.json() == {"code": "woocommerce_rest_authentication_error",
                             "message": "Invalid signature - provided signature does not match.",
                             "data": {"status": 401}}
    stale = oauth1_query("GET", url, {}, oauth_timestamp=str(int(time.time()) - 3600))
    assert requests.get(url, params=stale, timeout=5).json()["message"] == "Invalid timestamp."
    wrong_key = oauth1_query("GET", url, {}, oauth_consumer_key="ck_other")
    assert requests.get(url, params=wrong_key, timeout=5).json()["message"] == "Consumer key is invalid."
    partial = requests.get(url, params={"oauth_consumer_key": KEY}, timeout=5).json()
    assert partial["code"] == "woocommerce_rest_authentication_missing_parameter"
    assert "oauth_signature" in partial["message"]


def test_basic_and_query_string_authentication_and_wordpress_401s(shop):
    assert raw(shop, "GET", "orders", auth=(KEY, SECRET)).status_code == 200
    assert raw(shop, "GET", "orders", params={"consumer_key": KEY, "consumer_secret": SECRET}).status_code == 200
    anonymous = raw(shop, "GET", "orders")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                "data": {"status": 401}}
    assert raw(shop, "POST", "orders/1/notes", json={"note": "x"}).json()["code"] == "woocommerce_rest_cannot_create"
    wrong = raw(shop, "GET", "orders", auth=(KEY, "cs_wrong"))
    assert wrong.json()["message"] == "Consumer secret is invalid."
    assert "Basic realm" in wrong.headers["WWW-Authenticate"]
    missing = raw(shop, "GET", "nothing/here", auth=(KEY, SECRET))
    assert missing.status_code == 404 and missing.json()["code"] == "rest_no_route"


def test_a_read_only_key_cannot_write():
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, key_permissions="read") as sim:
        order = sim.place_order(notify=False)
        assert raw(sim, "GET", f"orders/{order['id']}", auth=(KEY, SECRET)).status_code == 200
        refused = raw(sim, "PUT", f"orders/{order['id']}", auth=(KEY, SECRET), json={"status": "completed"})
        assert refused.status_code == 401
        assert refused.json()["message"] == "The API key provided does not have write permissions."


# --------------------------------------------------------------------------- orders


def test_orders_paginate_over_three_pages_with_wordpress_headers(shop, wcapi):
    placed = {o["id"] for o in shop.add_orders(25)}
    seen, pages = [], []
    for page in (1, 2, 3):
        answer = wcapi.get("orders", params={"per_page": 10, "page": page})
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-WP-Total"] == "25" and answer.headers["X-WP-TotalPages"] == "3"
        pages.append(answer)
        seen += [o["id"] for o in answer.json()]
    assert len(seen) == 25 and set(seen) == placed
    assert seen == sorted(seen, reverse=True), "default order is date desc (ties by id)"
    assert pages[0].links["next"]["url"].endswith("page=2") and "prev" not in pages[0].links
    assert "next" not in pages[2].links and pages[2].links["prev"]["url"].endswith("page=2")
    assert "oauth_signature" not in pages[0].headers["Link"]
    next_page = requests.get(pages[0].links["next"]["url"], auth=(KEY, SECRET), timeout=5)
    assert [o["id"] for o in next_page.json()] == seen[10:20]
    too_many = wcapi.get("orders", params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "rest_invalid_param"
    assert too_many.json()["data"]["params"]["per_page"] == "per_page must be between 1 (inclusive) and 100 (inclusive)"


def test_modified_after_reads_the_site_zone_unless_dates_are_gmt():
    clock = Clock()
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, clock=clock, seed=1,
                              utc_offset=timedelta(hours=1)) as sim:
        early = sim.place_order(notify=False)
        clock.advance(minutes=30)
        late = sim.place_order(notify=False)
        assert early["date_created_gmt"] == "2025-03-01T12:00:00" and early["date_created"] == "2025-03-01T13:00:00"

        def ids(**params):
            answer = raw(sim, "GET", "orders", auth=(KEY, SECRET), params=params)
            assert answer.status_code == 200, answer.text
            return {o["id"] for o in answer.json()}

        assert ids(modified_after="2025-03-01T12:10:00", dates_are_gmt="true") == {late["id"]}
        # without dates_are_gmt the naive value is the shop's local time: 12:10 local is 11:10 UTC
        assert ids(modified_after="2025-03-01T12:10:00") == {early["id"], late["id"]}
        # WordPress converts an explicit offset to local time, then compares that with the GMT
        # column: 11:10Z is read as 12:10 GMT, and the 12:00 order is missed
        assert ids(modified_after="2025-03-01T11:10:00Z", dates_are_gmt="true") == {late["id"]}
        assert ids(modified_after="2025-03-01T12:00:00", dates_are_gmt="true") == {late["id"]}, "exclusive bound"
        bad = raw(sim, "GET", "orders", auth=(KEY, SECRET), params={"modified_after": "yesterday"})
        assert bad.status_code == 400 and bad.json()["data"]["params"] == {"modified_after": "Invalid date."}


def test_status_filter_and_orderby_modified(shop, wcapi):
    first, second, third = shop.add_orders(3)
    shop.update_order(first["id"], status="completed", notify=False)
    shop.cancel_order(second["id"], notify=False)
    by_modified = wcapi.get("orders", params={"orderby": "modified", "order": "asc"}).json()
    assert [o["id"] for o in by_modified][-2:] == [first["id"], second["id"]]
    completed = wcapi.get("orders", params={"status": "completed,cancelled"}).json()
    assert {o["id"] for o in completed} == {first["id"], second["id"]}
    bad = wcapi.get("orders", params={"orderby": "price"})
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"


def test_order_update_notes_and_unknown_order(shop, wcapi):
    order = shop.place_order(status="processing", notify=False)
    updated = wcapi.put(f"orders/{order['id']}", {"status": "completed"}).json()
    assert updated["status"] == "completed" and updated["date_completed_gmt"]
    assert updated["date_modified_gmt"] > order["date_modified_gmt"]
    created = wcapi.post(f"orders/{order['id']}/notes", {"note": "Shipped with bpost 3SABC", "customer_note": True})
    assert created.status_code == 201 and created.json()["customer_note"] is True
    notes = wcapi.get(f"orders/{order['id']}/notes").json()
    assert notes[0]["note"] == "Shipped with bpost 3SABC"
    assert notes[1]["note"] == "Order status changed from Processing to Completed."
    assert wcapi.post(f"orders/{order['id']}/notes", {}).json()["code"] == "rest_missing_callback_param"
    missing = wcapi.get("orders/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    invalid = wcapi.put(f"orders/{order['id']}", {"status": "shipped"})
    assert invalid.status_code == 400 and invalid.json()["code"] == "rest_invalid_param"


def test_refunds_gateway_support_limits_and_full_refund(shop, wcapi):
    order = shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}], payment_method="bacs", notify=False)
    line_id = order["line_items"][0]["id"]
    refused = wcapi.post(f"orders/{order['id']}/refunds", {"amount": "5.00"})
    # WooCommerce passes a bare number as the error data, which WordPress answers with 500
    assert refused.status_code == 500
    assert refused.json() == {"code": "woocommerce_rest_cannot_create_order_refund",
                              "message": "The payment gateway for this order does not support automatic refunds.",
                              "data": 500}
    stock = shop.stock_of("RC-MUG")
    partial = wcapi.post(f"orders/{order['id']}/refunds", {
        "amount": "11.50", "reason": "broken", "api_refund": False,
        "line_items": [{"id": line_id, "quantity": 1, "refund_total": 9.5,
                        "refund_tax": [{"id": 1, "refund_total": 2.0}]}],
    })
    assert partial.status_code == 201, partial.text
    assert partial.json()["amount"] == "11.50" and partial.json()["line_items"][0]["quantity"] == -1
    assert shop.stock_of("RC-MUG") == stock + 1, "api_restock defaults to true"
    assert wcapi.get(f"orders/{order['id']}").json()["refunds"][0]["total"] == "-11.50"
    too_much = wcapi.post(f"orders/{order['id']}/refunds", {"amount": "1000", "api_refund": False})
    assert too_much.status_code == 500 and too_much.json()["message"] == "Invalid refund amount."
    rest = wcapi.post(f"orders/{order['id']}/refunds", {"api_refund": False}).json()
    assert rest["amount"] == "17.42"  # 2 x 9.50 + 21 % + 4.90 shipping + 21 %, less 11.50
    assert wcapi.get(f"orders/{order['id']}").json()["status"] == "refunded"
    assert [r["id"] for r in wcapi.get(f"orders/{order['id']}/refunds").json()] == [rest["id"], partial.json()["id"]]


def test_order_totals_add_up_with_coupons_and_prices_including_tax():
    for inclusive in (False, True):
        with WooCommerceSimulator(prices_include_tax=inclusive, seed=5) as sim:
            order = sim.place_order(lines=[{"sku": "RC-MUG", "quantity": 3}, {"sku": "RC-TSHIRT-M", "quantity": 1}],
                                    coupons=["welcome10", "fiveoff"], notify=False)
            lines = sum(float(i["total"]) + float(i["total_tax"]) for i in order["line_items"])
            shipping = sum(float(s["total"]) + float(s["total_tax"]) for s in order["shipping_lines"])
            assert round(lines + shipping, 2) == float(order["total"])
            coupons = sum(float(c["discount"]) for c in order["coupon_lines"])
            assert abs(float(order["discount_total"]) - coupons) <= 0.02  # per-coupon cents may round apart
            assert float(order["total_tax"]) == round(sum(float(t["tax_total"]) + float(t["shipping_tax_total"])
                                                          for t in order["tax_lines"]), 2)
            if inclusive:
                gross = float(order["line_items"][0]["subtotal"]) + float(order["line_items"][0]["subtotal_tax"])
                assert round(gross, 2) == 28.50, "3 x 9.50 with tax included"


# --------------------------------------------------------------------------- catalogue


def test_products_by_sku_and_variations(shop, wcapi):
    found = wcapi.get("products", params={"sku": "RC-MUG,RC-CAP"}).json()
    assert sorted(p["sku"] for p in found) == ["RC-CAP", "RC-MUG"]
    assert wcapi.get("products", params={"sku": "RC-TSHIRT-M"}).json() == [], "variations are not products"
    shirt = wcapi.get("products", params={"sku": "RC-TSHIRT"}).json()[0]
    assert shirt["type"] == "variable" and len(shirt["variations"]) == 3
    variations = wcapi.get(f"products/{shirt['id']}/variations").json()
    assert {v["sku"] for v in variations} == {"RC-TSHIRT-S", "RC-TSHIRT-M", "RC-TSHIRT-L"}
    assert variations[0]["attributes"][0]["name"] == "Size"


def test_products_batch_updates_with_per_item_errors_and_limits(shop, wcapi):
    mug, cap = shop.product("RC-MUG"), shop.product("RC-CAP")
    answer = wcapi.post("products/batch", {"update": [
        {"id": mug["id"], "regular_price": "10.50", "sale_price": "9.00", "stock_quantity": 7, "manage_stock": True},
        {"id": 987654, "regular_price": "1.00"},
    ]})
    assert answer.status_code == 200
    first, second = answer.json()["update"]
    assert first["price"] == "9.00" and first["on_sale"] is True and first["stock_quantity"] == 7
    assert second == {"id": 987654, "error": {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                                              "data": {"status": 400}}}
    unmanaged = wcapi.post("products/batch", {"update": [{"id": cap["id"], "manage_stock": False}]}).json()["update"][0]
    assert unmanaged["stock_quantity"] is None
    dropped = wcapi.post("products/batch", {"update": [{"id": cap["id"], "stock_quantity": 5}]}).json()["update"][0]
    assert dropped["stock_quantity"] is None, "WooCommerce keeps no quantity while stock is not managed"
    duplicate = wcapi.post("products/batch", {"create": [{"name": "Mug bis", "sku": "RC-MUG"}]}).json()["create"][0]
    assert duplicate["error"]["code"] == "product_invalid_sku"
    too_many = wcapi.post("products/batch", {"update": [{"id": mug["id"]}] * 60, "delete": [1] * 41})
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert shop.stock_of("RC-MUG") == 7


def test_variations_batch(shop, wcapi):
    shirt = shop.product("RC-TSHIRT")
    small, medium = shop.product("RC-TSHIRT-S"), shop.product("RC-TSHIRT-M")
    answer = wcapi.post(f"products/{shirt['id']}/variations/batch", {"update": [
        {"id": small["id"], "regular_price": "17.90", "stock_quantity": 3},
        {"id": shop.product("RC-MUG")["id"], "regular_price": "1.00"},
    ]}).json()["update"]
    assert answer[0]["regular_price"] == "17.90" and answer[0]["stock_quantity"] == 3
    assert answer[1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert shop.product("RC-TSHIRT-S")["price"] == "17.90" and shop.product("RC-TSHIRT-M") == medium
    assert wcapi.get(f"products/{shirt['id']}").json()["price"] == "17.90", "a variable product shows its lowest price"


# --------------------------------------------------------------------------- webhooks


def test_created_webhook_is_pinged_then_delivers_signed_orders(shop, wcapi, receiver):
    created = wcapi.post("webhooks", {"name": "Odoo", "topic": "order.created", "delivery_url": receiver.url,
                                      "secret": HOOK_SECRET})
    assert created.status_code == 201 and created.json()["secret"] == HOOK_SECRET
    hook_id = created.json()["id"]
    (ping_headers, ping_body), = receiver.received
    assert ping_body == f"webhook_id={hook_id}".encode()
    assert ping_headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert "X-WC-Webhook-Signature" not in ping_headers
    assert "secret" not in wcapi.get(f"webhooks/{hook_id}").json()

    first = shop.place_order(customer={"first_name": "Zoë", "last_name": "Lefèvre", "email": "zoe@example.com",
                                       "country_code": "BE"})
    shop.place_order()
    (headers, body), (headers2, _) = receiver.deliveries()
    assert signature_ok(headers, body)
    assert headers["X-WC-Webhook-Topic"] == "order.created" and headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "created" and headers["X-WC-Webhook-ID"] == str(hook_id)
    assert headers["X-WC-Webhook-Source"] == shop.url + "/"
    assert headers["User-Agent"].startswith("WooCommerce/") and "Hookshot" in headers["User-Agent"]
    assert headers["X-WC-Webhook-Delivery-ID"] != headers2["X-WC-Webhook-Delivery-ID"]
    # PHP's json_encode escapes slashes and non-ASCII: a receiver must verify the raw bytes
    assert b"\\/" in body and b"\\u00eb" in body and "Zoë".encode() not in body
    payload = json.loads(body)
    assert payload["id"] == first["id"] and payload["billing"]["first_name"] == "Zoë"
    for key in ("number", "status", "currency", "date_created_gmt", "date_modified_gmt", "prices_include_tax",
                "discount_total", "shipping_total", "total", "total_tax", "customer_id", "billing", "shipping",
                "payment_method", "payment_method_title", "date_paid_gmt", "line_items", "tax_lines",
                "shipping_lines", "coupon_lines", "refunds", "customer_note"):
        assert key in payload, key
    assert set(payload["line_items"][0]) >= {"id", "product_id", "variation_id", "sku", "name", "quantity", "subtotal",
                                             "total", "total_tax", "price", "taxes"}
    assert set(payload["tax_lines"][0]) >= {"id", "rate_code", "rate_id", "label", "rate_percent", "tax_total"}


def test_update_and_delete_topics(shop, receiver):
    for topic in ("order.updated", "order.deleted"):
        shop.add_webhook(topic, receiver.url, HOOK_SECRET)
    order = shop.place_order(notify=False)
    shop.update_order(order["id"], status="completed")
    shop.delete_order(order["id"])
    (updated, updated_body), (deleted, deleted_body) = receiver.deliveries()
    assert updated["X-WC-Webhook-Topic"] == "order.updated" and json.loads(updated_body)["status"] == "completed"
    assert deleted["X-WC-Webhook-Topic"] == "order.deleted" and json.loads(deleted_body) == {"id": order["id"]}
    assert all(signature_ok(h, b) for h, b in receiver.deliveries())


def test_webhook_disabled_after_consecutive_failures_then_reactivated(shop, wcapi, receiver):
    hook = shop.add_webhook("order.created", receiver.url, HOOK_SECRET, ping=False)
    receiver.statuses.extend([500, 302])
    receiver.default_status = 500
    for _ in range(8):
        shop.place_order()
    # 302 counts as a success and resets the count; six failures later the count is 6
    assert shop.webhook(hook["id"])["status"] == "active" and shop.webhook(hook["id"])["failure_count"] == 6
    shop.place_order()  # the next failure finds the count above 5: WooCommerce disables the webhook
    assert shop.webhook(hook["id"])["status"] == "disabled"
    receiver.default_status = 200
    before = len(receiver.deliveries())
    shop.place_order()
    assert len(receiver.deliveries()) == before, "a disabled webhook receives nothing"
    assert wcapi.get("webhooks", params={"status": "disabled"}).json()[0]["id"] == hook["id"]
    reactivated = wcapi.put(f"webhooks/{hook['id']}", {"status": "active"}).json()
    assert reactivated["status"] == "active"
    shop.place_order()
    assert len(receiver.deliveries()) == before + 1 and shop.webhook(hook["id"])["failure_count"] == 0


def test_activation_pings_until_one_is_answered(shop, wcapi, receiver):
    receiver.statuses.append(503)
    hook = wcapi.post("webhooks", {"topic": "order.updated", "delivery_url": receiver.url, "status": "paused"}).json()
    assert shop.pings[-1]["status"] == 503 and shop.webhook(hook["id"])["pending_delivery"] is True
    wcapi.put(f"webhooks/{hook['id']}", {"status": "active"})
    assert shop.pings[-1]["status"] == 200 and shop.webhook(hook["id"])["pending_delivery"] is False
    wcapi.put(f"webhooks/{hook['id']}", {"status": "paused"})
    wcapi.put(f"webhooks/{hook['id']}", {"status": "active"})
    assert len(shop.pings) == 2, "an answered webhook is not pinged again on re-activation"
    assert wcapi.delete(f"webhooks/{hook['id']}").status_code == 501
    assert wcapi.delete(f"webhooks/{hook['id']}", params={"force": True}).status_code == 200
    invalid = wcapi.post("webhooks", {"topic": "order.shipped", "delivery_url": receiver.url})
    assert invalid.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"


def test_framework_faults_duplicates_drops_and_call_record(shop, wcapi, receiver):
    shop.add_webhook("order.created", receiver.url, HOOK_SECRET, ping=False)
    shop.inject("GET", API + "/orders", status=503, times=1)
    assert wcapi.get("orders").status_code == 503
    assert wcapi.get("orders").status_code == 200
    shop.duplicate_webhooks(times=2)
    shop.place_order()
    (one, body1), (two, body2) = receiver.deliveries()
    assert body1 == body2 and one["X-WC-Webhook-Delivery-ID"] != two["X-WC-Webhook-Delivery-ID"]
    shop.drop_webhooks(1)
    shop.place_order()
    assert len(receiver.deliveries()) == 2 and shop.webhooks.dropped()
    shop.tamper_webhooks(secret="not-the-secret")
    shop.place_order()
    assert not signature_ok(*receiver.deliveries()[-1])
    assert [c.status for c in shop.calls_to("GET", API + "/orders")] == [503, 200]


# --------------------------------------------------------------------------- command line


def test_command_line_registers_webhooks_and_trickles_orders(receiver):
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    cmd = [sys.executable, "-m", "simulators.woocommerce", "--port", "0", "--key", KEY, "--secret", SECRET, "--quiet",
           "--webhook-url", receiver.url, "--webhook-secret", HOOK_SECRET, "--trickle", "0.1", "--orders", "2"]
    proc = subprocess.Popen(cmd, cwd=TESTS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        url = banner.split(" on ", 1)[1].split()[0]
        assert "(2 orders;" in banner and "order.created" in banner
        listed = requests.get(f"{url}/orders", auth=(KEY, SECRET), timeout=5)
        assert listed.headers["X-WP-Total"] == "2"
        proc.stdout.readline()  # the trickle announcement
        placed = proc.stdout.readline()
        assert placed.startswith("order #") and "webhook sent (200)" in placed
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    headers, body = receiver.deliveries()[0]
    assert signature_ok(headers, body) and urlsplit(headers["X-WC-Webhook-Source"]).hostname == "127.0.0.1"
