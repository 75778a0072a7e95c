"""Tests of the channel simulator framework and the generic channel simulator.

Plain pytest with requests and the standard library: no Odoo. Webhooks are received by a
small HTTP server in this module and their signatures are checked independently here.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from simulators import HttpError, Response, Simulator, route
from simulators.generic import GenericChannel

TOKEN = "sim-token"
SECRET = "whsec-test"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
TESTS_DIR = Path(__file__).resolve().parents[1]


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
                    receiver.received.append((dict(self.headers.items()), body))
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.default_status
                self.send_response(status)
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
        return f"http://127.0.0.1:{self.server.server_address[1]}/retail/webhook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def verify_signature(headers, body, secret=SECRET, tolerance=300):
    """Return whether X-Retail-Signature is a fresh HMAC-SHA256 of "<t>.<body>" under secret."""
    parts = dict(item.split("=", 1) for item in headers["X-Retail-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(int(parts["t"]) - datetime.now(timezone.utc).timestamp()) <= tolerance
    return hmac.compare_digest(expected, parts["v1"]) and fresh


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def channel(receiver):
    with GenericChannel(token=TOKEN, seed=7, webhook_url=receiver.url, webhook_secret=SECRET,
                        webhook_backoff=0.01) as sim:
        yield sim


@pytest.fixture
def api(channel):
    """Return a function calling the channel's API with the bearer token."""
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    session.headers["Authorization"] = f"Bearer {TOKEN}"

    def call(method, path, **kwargs):
        kwargs.setdefault("timeout", 5)
        return session.request(method, channel.url + path, **kwargs)

    yield call
    session.close()


def list_all(api, **params):
    """Return every order over all pages, and the pages' X-Total-Count values."""
    orders, totals, cursor = [], [], None
    while True:
        query = dict(params, cursor=cursor) if cursor else dict(params)
        resp = api("GET", "/api/v1/orders", params=query)
        assert resp.status_code == 200, resp.text
        orders += resp.json()["orders"]
        totals.append(resp.headers["X-Total-Count"])
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return orders, totals


# --------------------------------------------------------------------------- framework


class EchoSimulator(Simulator):
    name = "echo"

    @route("GET", "/things/{thing_id}")
    def thing(self, request):
        return {"id": request.params["thing_id"], "q": request.query.get("q")}

    @route("POST", r"^/raw/(?P<n>\d+)$", auth=False)
    def raw(self, request):
        return Response(202, f"n={request.params['n']}".encode(), {"X-Kind": "raw"})

    @route("POST", "/json")
    def parse(self, request):
        return {"got": request.json()}

    @route("GET", "/boom")
    def boom(self, request):
        if request.query.get("kind") == "http":
            raise HttpError(409, "conflict", "already there", details=[{"field": "x", "message": "taken"}])
        raise RuntimeError("simulated bug")


def test_routes_auth_errors_and_call_record():
    with EchoSimulator(auth_token="k") as sim:
        auth = {"Authorization": "Bearer k"}
        resp = requests.get(f"{sim.url}/things/a%20b", params={"q": "1"}, headers=auth, timeout=5)
        assert resp.json() == {"id": "a b", "q": "1"}
        refused = requests.get(f"{sim.url}/things/x", headers={"Authorization": "Bearer nope"}, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        raw = requests.post(f"{sim.url}/raw/42", timeout=5)
        assert (raw.status_code, raw.content, raw.headers["X-Kind"]) == (202, b"n=42", "raw")
        bad = requests.post(f"{sim.url}/json", data=b"{not json", headers=auth, timeout=5)
        assert bad.status_code == 400 and bad.json()["error"] == "bad_json"
        assert "not valid JSON" in bad.json()["message"]
        assert requests.get(f"{sim.url}/nowhere", timeout=5).json()["error"] == "not_found"
        assert requests.get(f"{sim.url}/raw/1", timeout=5).status_code == 405
        conflict = requests.get(f"{sim.url}/boom?kind=http", headers=auth, timeout=5)
        assert conflict.status_code == 409 and conflict.json()["details"][0]["field"] == "x"
        crash = requests.get(f"{sim.url}/boom", headers=auth, timeout=5)
        assert crash.status_code == 500 and "simulated bug" in crash.json()["message"]

        assert len(sim.calls) == 8
        posts = sim.calls.calls_to("POST", "/raw")
        assert [(c.path, c.status) for c in posts] == [("/raw/42", 202)]
        assert sim.calls.calls_to("GET", "/things")[0].query == {"q": "1"}
        assert sim.calls.calls_to(None, "/json")[0].body == b"{not json"
        sim.calls.reset()
        assert len(sim.calls) == 0


def test_stop_releases_the_port_and_url_needs_a_running_simulator():
    sim = EchoSimulator().start()
    url = sim.url
    sim.stop()
    with pytest.raises(RuntimeError):
        _ = sim.url
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/things/1", timeout=2)


def test_injected_429_with_retry_after_then_success(channel, api):
    channel.inject("GET", "/api/v1/ping", status=429, times=2, retry_after=3)
    channel.inject("GET", "/api/v1/ping", status=503)
    statuses = [api("GET", "/api/v1/ping") for _ in range(4)]
    assert [r.status_code for r in statuses] == [429, 429, 503, 200]
    assert statuses[0].headers["Retry-After"] == "3"
    assert statuses[0].json()["error"] == "rate_limited"
    assert channel.pending_faults == []
    assert [c.status for c in channel.calls_to("GET", "/api/v1/ping")] == [429, 429, 503, 200]


def test_injected_drop_and_delay(channel, api):
    channel.inject("*", "/api/v1/orders", drop_connection=True)
    with pytest.raises(requests.ConnectionError):
        api("GET", "/api/v1/orders")
    channel.inject("GET", "/api/v1/ping", delay=1.0)
    with pytest.raises(requests.Timeout):
        api("GET", "/api/v1/ping", timeout=0.2)
    assert api("GET", "/api/v1/orders").status_code == 200
    assert channel.calls_to("GET", "/api/v1/orders")[0].dropped


def test_rate_limit_bucket_answers_429_with_headers():
    with GenericChannel(token=TOKEN, rate_limit=(1, 3)) as sim:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answers = [requests.get(f"{sim.url}/api/v1/ping", headers=headers, timeout=5) for _ in range(6)]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    limited = [r for r in answers if r.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["error"] == "rate_limited"
    assert sim.rate_limited_count == len(limited)
    assert sim.peak_rate == 6


# --------------------------------------------------------------------------- generic channel API


def test_ping_with_and_without_token(channel, api):
    resp = api("GET", "/api/v1/ping")
    assert resp.status_code == 200
    assert resp.json() == {"ok": True, "name": channel.shop_name, "api_version": "1"}
    bare = requests.get(channel.url + "/api/v1/ping", timeout=5)
    assert bare.status_code == 401 and bare.json()["error"] == "unauthorized"
    wrong = requests.get(channel.url + "/api/v1/ping", headers={"Authorization": "Bearer x"}, timeout=5)
    assert wrong.status_code == 401
    unknown = api("GET", "/api/v1/nothing")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_pagination_over_250_orders_returns_each_once_in_order(channel, api):
    import random

    rng = random.Random(3)
    # many orders share a second so that the id tie-break is exercised
    for _ in range(250):
        channel.place_order(notify=False, created_at=T0 + timedelta(seconds=rng.randint(0, 60)))
    orders, totals = list_all(api, limit=100)
    ids = [o["external_id"] for o in orders]
    assert len(ids) == 250 and len(set(ids)) == 250
    assert totals == ["250", "250", "250"]
    keys = [(o["updated_at"], int(o["external_id"][1:])) for o in orders]
    assert keys == sorted(keys)
    assert channel.webhooks.sent() == []


def test_updated_since_filter_and_validation(channel, api):
    for minutes in range(5):
        channel.place_order(notify=False, created_at=T0 + timedelta(minutes=minutes))
    since = (T0 + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    orders, totals = list_all(api, updated_since=since, limit=1)
    assert [o["name"] for o in orders] == ["#1003", "#1004", "#1005"]
    assert set(totals) == {"3"}
    offset = api("GET", "/api/v1/orders", params={"updated_since": "2025-03-01T13:03:00+01:00"})
    assert [o["name"] for o in offset.json()["orders"]] == ["#1004", "#1005"]
    bad = api("GET", "/api/v1/orders", params={"updated_since": "yesterday", "limit": "500"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation"
    assert {d["field"] for d in bad.json()["details"]} == {"updated_since", "limit"}
    assert api("GET", "/api/v1/orders", params={"cursor": "garbage"}).status_code == 422


def test_get_order_and_not_found(channel, api):
    order = channel.place_order(notify=False, lines=[{"sku": "RC-MUG", "quantity": 2}])
    resp = api("GET", f"/api/v1/orders/{order['external_id']}")
    assert resp.status_code == 200 and resp.json() == order
    line = order["lines"][0]
    assert (line["sku"], line["quantity"], line["unit_price"], line["discount"]) == ("RC-MUG", 2, "9.50", "0.00")
    assert line["tax_lines"] == [{"name": "VAT 21%", "rate": "0.21", "amount": "3.99"}]
    assert order["total"] == "27.89"  # 19.00 + 3.99 VAT + 4.90 shipping
    assert order["customer"]["phone"].startswith("+")
    assert api("GET", "/api/v1/orders/G9999").status_code == 404


def test_stock_batch_idempotency_key_replay_does_not_apply_twice(channel, api):
    first = api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "k1"},
                json={"items": [{"sku": "RC-MUG", "location_id": "main", "quantity": 5}]})
    assert first.status_code == 200 and first.json()["updated"] == 1
    api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "k2"},
        json={"items": [{"sku": "RC-MUG", "location_id": "main", "quantity": 7}]})
    replay = api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "k1"},
                 json={"items": [{"sku": "RC-MUG", "location_id": "main", "quantity": 5}]})
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(channel.stock_writes) == 2 and channel.idempotent_replays == 1
    assert channel.stock_level("RC-MUG", "main") == 7
    levels = api("GET", "/api/v1/stock", params={"sku": "RC-MUG"}).json()["items"]
    assert [(s["sku"], s["location_id"], s["quantity"]) for s in levels] == [("RC-MUG", "main", 7)]


def test_stock_batch_limits_and_validation(channel, api):
    items = [{"sku": f"SKU-{i}", "location_id": "main", "quantity": 1} for i in range(101)]
    too_many = api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "a"}, json={"items": items})
    assert too_many.status_code == 400 and too_many.json()["error"] == "too_many_items"
    invalid = api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "b"},
                  json={"items": [{"sku": "RC-CAP", "location_id": "main", "quantity": 1},
                                  {"sku": "RC-MUG", "location_id": "main", "quantity": 2.5}]})
    assert invalid.status_code == 422
    assert invalid.json()["details"] == [{"field": "items[1].quantity", "message": "must be an integer >= 0 (got 2.5)"}]
    assert channel.stock_writes == []  # a batch is all or nothing
    no_key = api("POST", "/api/v1/stock/batch", json={"items": items[:1]})
    assert no_key.status_code == 400 and no_key.json()["error"] == "idempotency_key_required"
    # a refused request is not remembered: the corrected retry with the same key applies
    fixed = api("POST", "/api/v1/stock/batch", headers={"Idempotency-Key": "b"}, json={"items": items[:1]})
    assert fixed.status_code == 200 and channel.stock_level("SKU-0", "main") == 1


def test_prices_batch_and_read(channel, api):
    body = {"items": [{"sku": "RC-CAP", "price": "15.00", "currency": "EUR", "compare_at_price": "18.00"},
                      {"sku": "RC-MUG", "price": "9.90", "currency": "EUR", "compare_at_price": None}]}
    assert api("POST", "/api/v1/prices/batch", headers={"Idempotency-Key": "p"}, json=body).status_code == 200
    assert api("POST", "/api/v1/prices/batch", headers={"Idempotency-Key": "p"}, json=body).status_code == 200
    assert len(channel.price_writes) == 2
    prices = api("GET", "/api/v1/prices").json()["items"]
    assert [(p["sku"], p["price"], p["compare_at_price"]) for p in prices] == [
        ("RC-CAP", "15.00", "18.00"), ("RC-MUG", "9.90", None)]
    bad = api("POST", "/api/v1/prices/batch", headers={"Idempotency-Key": "q"},
              json={"items": [{"sku": "RC-CAP", "price": 15.0, "currency": "euro"}]})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["details"]} == {"items[0].price", "items[0].currency"}


def test_shipments_fulfil_orders_and_block_cancellation(channel, api):
    order = channel.place_order(notify=False, lines=[{"sku": "RC-MUG", "quantity": 3}, {"sku": "RC-CAP"}])
    oid = order["external_id"]
    partial = api("POST", "/api/v1/shipments", headers={"Idempotency-Key": "s1"},
                  json={"order_id": oid, "tracking_numbers": ["TRK1"], "carrier": "bpost",
                        "lines": [{"sku": "RC-MUG", "quantity": 2}]})
    assert partial.status_code == 201, partial.text
    assert partial.json()["order_fulfillment_status"] == "partial"
    assert channel.get_order(oid)["updated_at"] > order["updated_at"]
    over = api("POST", "/api/v1/shipments", headers={"Idempotency-Key": "s2"},
               json={"order_id": oid, "tracking_numbers": [], "lines": [{"sku": "RC-MUG", "quantity": 2}]})
    assert over.status_code == 422 and over.json()["details"][0]["field"] == "lines"
    refused = api("POST", f"/api/v1/orders/{oid}/cancel", headers={"Idempotency-Key": "c1"})
    assert refused.status_code == 422
    rest = api("POST", "/api/v1/shipments", headers={"Idempotency-Key": "s3"},
               json={"order_id": oid, "tracking_numbers": ["TRK2"], "carrier": "bpost", "lines": []})
    assert rest.json()["lines"] == [{"sku": "RC-MUG", "quantity": 1}, {"sku": "RC-CAP", "quantity": 1}]
    assert channel.get_order(oid)["fulfillment_status"] == "fulfilled"
    unknown = api("POST", "/api/v1/shipments", headers={"Idempotency-Key": "s4"}, json={"order_id": "G0"})
    assert unknown.status_code == 422 and unknown.json()["details"][0]["field"] == "order_id"


def test_cancel_endpoint_is_idempotent(channel, api):
    oid = channel.place_order(notify=False)["external_id"]
    first = api("POST", f"/api/v1/orders/{oid}/cancel", headers={"Idempotency-Key": "c"}, json={"reason": "fraud"})
    again = api("POST", f"/api/v1/orders/{oid}/cancel", headers={"Idempotency-Key": "c"}, json={"reason": "fraud"})
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert again.json() == first.json() and first.json()["cancel_reason"] == "fraud"
    assert api("POST", "/api/v1/orders/G0/cancel", headers={"Idempotency-Key": "d"}).status_code == 404
    assert channel.webhooks.all() == []  # API changes notify only with notify_api_changes


# --------------------------------------------------------------------------- webhooks


def test_webhook_has_a_verifiable_signature(channel, receiver):
    order = channel.place_order()
    [(headers, body)] = receiver.received
    assert json.loads(body) == order
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Retail-Topic"] == "orders/create"
    assert headers["X-Retail-Event-Id"] == channel.webhooks[0].event_id
    assert verify_signature(headers, body)
    assert not verify_signature(headers, body + b" ")
    assert channel.webhooks[0].delivered and channel.webhooks[0].status == 200


def test_update_and_cancel_send_their_topics(channel, receiver):
    order = channel.place_order()
    updated = channel.update_order(order["external_id"], shipping_address={"city": "Leuven", "zip": "3000"},
                                   lines=[{"sku": "RC-CAP", "quantity": 2}])
    cancelled = channel.cancel_order(order["external_id"])
    topics = [h["X-Retail-Topic"] for h, _ in receiver.received]
    assert topics == ["orders/create", "orders/updated", "orders/cancelled"]
    assert updated["shipping_address"]["city"] == "Leuven"
    assert updated["shipping_address"]["street"] == order["shipping_address"]["street"]
    assert updated["total"] == "38.78"  # 28.00 + 5.88 VAT + 4.90 shipping
    assert order["updated_at"] < updated["updated_at"] < cancelled["updated_at"]
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] == cancelled["updated_at"]
    assert len({h["X-Retail-Event-Id"] for h, _ in receiver.received}) == 3


def test_duplicated_webhooks_share_the_event_id(channel, receiver):
    channel.duplicate_webhooks(times=3)
    channel.place_order()
    channel.place_order()
    event_ids = [h["X-Retail-Event-Id"] for h, _ in receiver.received]
    assert len(event_ids) == 4
    assert len(set(event_ids[:3])) == 1 and event_ids[3] != event_ids[0]
    assert all(verify_signature(h, b) for h, b in receiver.received)


def test_dropped_webhook_is_recorded_but_not_sent(channel, receiver):
    channel.drop_webhooks()
    dropped = channel.place_order()
    kept = channel.place_order()
    assert [json.loads(b)["external_id"] for _, b in receiver.received] == [kept["external_id"]]
    [record] = channel.webhooks.dropped()
    assert record.json() == dropped and record.attempts == []


def test_webhook_retried_on_500_then_delivered(channel, receiver):
    receiver.statuses.extend([500, 502])
    channel.place_order()
    [delivery] = channel.webhooks
    assert [a.status for a in delivery.attempts] == [500, 502, 200]
    assert delivery.delivered
    assert len({h["X-Retail-Event-Id"] for h, _ in receiver.received}) == 1
    assert all(verify_signature(h, b) for h, b in receiver.received)


def test_webhook_retries_are_bounded(receiver):
    receiver.default_status = 503
    with GenericChannel(token=TOKEN, webhook_url=receiver.url, webhook_secret=SECRET,
                        webhook_retries=2, webhook_backoff=0.01) as sim:
        sim.place_order()
    [delivery] = sim.webhooks
    assert delivery.state == "failed" and len(delivery.attempts) == 3
    assert len(receiver.received) == 3


def test_webhook_to_a_closed_port_fails_without_raising(receiver):
    url = receiver.url
    receiver.stop()
    with GenericChannel(token=TOKEN, webhook_url=url, webhook_retries=1, webhook_backoff=0.01) as sim:
        sim.place_order()
    [delivery] = sim.webhooks
    assert delivery.state == "failed" and delivery.status is None
    assert "Connection" in delivery.attempts[0].error or "refused" in delivery.attempts[0].error


def test_reordered_webhooks_arrive_latest_first(channel, receiver):
    channel.reorder_webhooks(count=2)
    first = channel.place_order()
    assert receiver.received == [] and channel.webhooks[0].state == "held"
    second = channel.place_order()
    names = [json.loads(b)["name"] for _, b in receiver.received]
    assert names == [second["name"], first["name"]]


def test_held_webhooks_can_be_flushed_and_sent_in_background(receiver):
    with GenericChannel(token=TOKEN, webhook_url=receiver.url, webhook_secret=SECRET, webhook_async=True) as sim:
        sim.reorder_webhooks(count=5)
        names = [sim.place_order()["name"] for _ in range(3)]
        assert receiver.received == []
        sim.flush_webhooks()
        assert sim.wait_for_webhooks(timeout=5)
    assert [json.loads(b)["name"] for _, b in receiver.received] == names[::-1]
    assert all(d.delivered for d in sim.webhooks)


def test_tampered_webhooks_fail_verification(channel, receiver):
    channel.tamper_webhooks(secret="not-the-secret")
    channel.place_order()
    channel.tamper_webhooks(timestamp_skew=-3600)
    channel.place_order()
    channel.tamper_webhooks(unsigned=True)
    channel.place_order()
    channel.place_order()
    (h1, b1), (h2, b2), (h3, _), (h4, b4) = receiver.received
    assert not verify_signature(h1, b1)
    assert verify_signature(h2, b2, tolerance=10**6) and not verify_signature(h2, b2)
    assert "X-Retail-Signature" not in h3
    assert verify_signature(h4, b4)


def test_stock_webhook(channel, receiver):
    channel.set_stock_level("RC-MUG", "main", 12)
    [(headers, body)] = receiver.received
    assert headers["X-Retail-Topic"] == "stock/updated"
    assert {k: v for k, v in json.loads(body).items() if k != "updated_at"} == {
        "sku": "RC-MUG", "location_id": "main", "quantity": 12}


# --------------------------------------------------------------------------- command line


def test_command_line_trickles_orders_with_webhooks(receiver):
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    cmd = [sys.executable, "-m", "simulators.generic", "--port", "0", "--token", TOKEN, "--quiet",
           "--webhook-url", receiver.url, "--webhook-secret", SECRET, "--trickle", "0.1"]
    proc = subprocess.Popen(cmd, cwd=TESTS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        url = banner.split(" on ", 1)[1].split()[0]
        ping = requests.get(f"{url}/ping", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert ping.json()["ok"] is True
        proc.stdout.readline()  # the trickle announcement
        placed = proc.stdout.readline()
        assert placed.startswith("order #1001") and "sent (200)" in placed
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert verify_signature(*receiver.received[0])


def test_payouts_window_pages_and_canonical_shape(channel, api):
    from retail_connector_base_lib.canonical import Payout  # noqa: PLC0415

    for day in range(1, 4):
        channel.add_payout([{"type": "charge", "amount": "40.00", "fee": "1.41", "order_external_id": "G1001"},
                            {"type": "refund", "amount": "-10.00", "order_external_id": "G1002"}],
                           external_id=f"PO-{day}", issued_at=f"2026-11-0{day}T10:00:00Z")
    resp = api("GET", "/api/v1/payouts", params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T10:00:00Z"})
    assert resp.status_code == 200, resp.text
    assert [p["external_id"] for p in resp.json()["payouts"]] == ["PO-2"]  # until is exclusive
    first = api("GET", "/api/v1/payouts", params={"limit": 2}).json()
    rest = api("GET", "/api/v1/payouts", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [p["external_id"] for p in first["payouts"] + rest["payouts"]] == ["PO-1", "PO-2", "PO-3"]
    assert rest["next_cursor"] is None
    # the cursor carries its window: a page asked by cursor alone keeps to it
    first = api("GET", "/api/v1/payouts", params={"limit": 1, "since": "2026-11-02T00:00:00Z"}).json()
    rest = api("GET", "/api/v1/payouts", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [p["external_id"] for p in first["payouts"] + rest["payouts"]] == ["PO-2", "PO-3"]
    assert api("GET", "/api/v1/payouts", params={"cursor": "not-a-cursor"}).status_code == 422
    payout = Payout.from_dict(api("GET", "/api/v1/payouts/PO-1").json())
    assert (str(payout.amount), str(payout.lines[0].net), str(payout.date)) == ("28.59", "38.59", "2026-11-01")
    assert api("GET", "/api/v1/payouts/PO-9").status_code == 404
    assert api("GET", "/api/v1/payouts", params={"until": "yesterday"}).status_code == 422


def test_order_listing_follows_changes_made_between_pages(channel, api):
    placed = channel.add_orders(7)
    first = api("GET", "/api/v1/orders", params={"limit": 3}).json()
    assert [o["external_id"] for o in first["orders"]] == [o["external_id"] for o in placed[:3]]
    # an order updated after the first page moves to the end of the listing, a new one follows it
    channel.update_order(placed[0]["external_id"], notify=False, note="changed")
    newest = channel.add_orders(1)[0]
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = api("GET", "/api/v1/orders", params={"limit": 3, "cursor": cursor}).json()
        rest += [o["external_id"] for o in page["orders"]]
        cursor = page["next_cursor"]
    assert rest[:4] == [o["external_id"] for o in placed[3:]]
    assert sorted(rest[4:]) == sorted([placed[0]["external_id"], newest["external_id"]]), "each order once"
    since = channel.get_order(placed[0]["external_id"])["updated_at"]
    orders, totals = list_all(api, updated_since=since, limit=2)
    assert placed[0]["external_id"] in [o["external_id"] for o in orders]
    assert all(o["updated_at"] >= since for o in orders) and totals[0] == str(len(orders))
