"""The inbound gateway against the running server: real HTTP, real signatures, real job runner.

A generic channel simulator sends its signed order webhooks to ``/retail/webhook/<backend>``;
the server stores each event and answers at once, before reading the payload; its queue_job
runner reads and applies the events (a payload the channel refuses becomes a failed event naming
the field), turning orders into confirmed sale orders. The partner API validates at once (422).
Every refusal path is exercised over HTTP too.
"""

import configparser
import hashlib
import http.client
import json
import os
import random
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from simulators.base import json_bytes, retail_signature
from e2e_policies import webhooks_only

pytestmark = pytest.mark.e2e

SECRET = "e2e-inbound-webhook-secret"
TOKEN = "e2e-inbound-token"
TIMEOUT = 30
JOB_WAIT = 60
MAX_BODY_PARAM = "retail_connector.max_body_bytes"
REFUSALS_PARAM = "retail_connector.refusals_per_minute"
EVENT_FIELDS = [
    "state", "outcome", "duplicate_count", "res_model", "res_id", "topic", "idempotency_key",
    "aggregate_key", "correlation_id", "job_uuid", "last_error", "error_kind", "source",
]
FINAL_STATES = ("done", "duplicate", "stale", "failed", "dead", "ignored")


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def channel(webhook_channel):
    with webhook_channel(TOKEN, SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def backend(odoo, channel, products, webhook_backend):
    """Return the id of a generic backend the simulator sends its webhooks to."""
    with webhook_backend(channel, "E2E inbound gateway", TOKEN, SECRET) as backend_id:
        # no scheduled polling of the channel: here orders arrive by webhook only
        webhooks_only(odoo, backend_id)
        yield backend_id


@pytest.fixture
def webhook_url(odoo_url, backend):
    return f"{odoo_url}/retail/webhook/{backend}"


@pytest.fixture(scope="module")
def api_key(odoo, backend):
    """Return a partner API key of the backend, allowed to send orders and returns."""
    key_id = odoo.call("retail.api.key", "create", {
        "name": "E2E partner %s" % uuid.uuid4().hex[:6], "backend_id": backend, "scopes": "orders:write returns:write",
    })
    action = odoo.call("retail.api.key", "action_generate", [key_id])
    key = action["params"]["message"].rsplit(" ", 1)[-1]
    assert key.startswith("rck_"), action
    yield key
    odoo.call("retail.api.key", "write", [key_id], {"active": False})


@pytest.fixture
def api_url(odoo_url):
    return f"{odoo_url}/retail/api/v1/orders"


# --------------------------------------------------------------------------- helpers

def signed_headers(body, *, topic="orders/create", event_id=None, secret=SECRET, timestamp=None, **extra):
    """Return the headers of a webhook signed as the channel signs it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "X-Retail-Topic": topic,
        "X-Retail-Event-Id": event_id or f"evt_{uuid.uuid4().hex}",
        "X-Retail-Signature": retail_signature(secret, body, timestamp),
    }
    headers.update(extra)
    return headers


def post(url, body, headers):
    return requests.post(url, data=body, headers=headers, timeout=TIMEOUT)


def events_of(odoo, backend_id, **where):
    domain = [("backend_id", "=", backend_id)] + [(key, "=", value) for key, value in where.items()]
    return odoo.search_read("retail.event", domain, EVENT_FIELDS, order="id asc")


def wait_event_final(odoo, wait_for, event_id, what):
    def final():
        rows = odoo.search_read("retail.event", [("id", "=", event_id)], EVENT_FIELDS)
        return rows[0] if rows and rows[0]["state"] in FINAL_STATES else None

    return wait_for(final, timeout=JOB_WAIT, what=what, interval=0.5)


def wait_job_done(odoo, wait_for, job_uuid, what):
    """Return the queue job ``job_uuid`` once done (its transaction may end after the event's write is seen)."""
    def done():
        rows = odoo.search_read("queue.job", [("uuid", "=", job_uuid)],
                                ["state", "channel", "user_id", "method_name", "identity_key", "exc_info"])
        return rows[0] if rows and rows[0]["state"] in ("done", "failed") else None

    return wait_for(done, timeout=JOB_WAIT, what=what, interval=0.5)


def assert_invalid_payload(event, *fields):
    """Check an event failed by the dispatcher for its payload, with each of ``fields`` named."""
    assert event["state"] == "failed", event
    assert event["error_kind"] == "invalid_payload", event
    assert event["last_error"].startswith("The payload is not valid"), event["last_error"]
    for field in fields:
        assert f"{field}:" in event["last_error"], (field, event["last_error"])
    assert not event["res_id"] and not event["aggregate_key"], event


def accepted_event(response):
    """Return the id of the one event a 202 answer names."""
    assert response.status_code == 202, (response.status_code, response.text[:500])
    answer = response.json()
    assert answer["status"] == "accepted" and len(answer["events"]) == 1, answer
    return answer["events"][0]


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given local address: the gateway counts refusals per source address."""

    def __init__(self, address, **kwargs):
        self._address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def api_headers(key, **extra):
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}


def bindings_of(odoo, backend_id, external_id):
    return odoo.search_read(
        "retail.sale.order.binding",
        [("backend_id", "=", backend_id), ("external_id", "=", external_id)],
        ["odoo_id", "channel_payment_state", "channel_status"],
    )


def sale_order(odoo, sale_id):
    return odoo.search_read("sale.order", [("id", "=", sale_id)], ["state", "client_order_ref"])[0]


def deliveries_of(channel, topic, external_id):
    """Return the simulator's deliveries of ``topic`` for one order, oldest first."""
    return [d for d in channel.webhooks.for_topic(topic) if d.payload.get("external_id") == external_id]


def assert_refused(odoo, response, status, code):
    """Check a refusal: status, JSON error, correlation header, and its audit record."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert body["error"] == code, body
    correlation_id = response.headers["X-Correlation-Id"]
    assert body["correlation_id"] == correlation_id
    rows = odoo.search_read("retail.rejected.request", [("correlation_id", "=", correlation_id)],
                            ["status", "code", "backend_id", "headers", "path"])
    assert len(rows) == 1, rows
    assert rows[0]["status"] == status and rows[0]["code"] == code, rows[0]
    assert "X-Retail-Signature" not in (rows[0]["headers"] or ""), "a signature was stored with the refusal"
    return body, rows[0]


# --------------------------------------------------------------------------- the happy path

def test_a_signed_order_webhook_becomes_a_confirmed_sale_order(odoo, channel, backend, wait_for):
    """An order placed on the channel reaches Odoo as a confirmed sale order, applied by the job runner."""
    order = channel.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP"}])

    [delivery] = deliveries_of(channel, "orders/create", order["external_id"])
    assert delivery.state == "sent" and len(delivery.attempts) == 1
    assert delivery.status == 202
    answer = json.loads(delivery.attempts[-1].response_body)
    assert answer["status"] == "accepted" and len(answer["events"]) == 1 and answer["correlation_id"]

    event = wait_event_final(odoo, wait_for, answer["events"][0], "the order event to be applied")
    assert event["state"] == "done", event
    assert event["outcome"] == "created"
    assert event["idempotency_key"] == delivery.event_id
    assert event["aggregate_key"] == order["external_id"]
    assert event["correlation_id"] == answer["correlation_id"]
    assert event["res_model"] == "sale.order" and event["res_id"]

    sale = sale_order(odoo, event["res_id"])
    assert sale["state"] == "sale"
    assert sale["client_order_ref"] == order["name"]
    [binding] = bindings_of(odoo, backend, order["external_id"])
    assert binding["odoo_id"][0] == event["res_id"]
    assert binding["channel_payment_state"] == "paid" and binding["channel_status"] == "open"
    lines = odoo.search_read("sale.order.line", [("order_id", "=", event["res_id"]), ("product_id.default_code", "!=", False)],
                             ["product_id", "product_uom_qty"])
    by_sku = {odoo.search_read("product.product", [("id", "=", line["product_id"][0])], ["default_code"])[0]["default_code"]:
              line["product_uom_qty"] for line in lines}
    assert by_sku.get("RC-MUG") == 2 and by_sku.get("RC-CAP") == 1, by_sku

    # job_uuid names the dispatcher job of the backend's orders that applied the event
    assert event["job_uuid"], event
    job = wait_job_done(odoo, wait_for, event["job_uuid"], "the dispatcher job to end")
    assert job["state"] == "done" and job["channel"] == "root.retail.realtime", job  # orders in real time
    assert job["method_name"] == "_dispatch", job
    assert job["identity_key"] == f"retail-dispatch-{backend}-orders", job


def test_an_order_webhook_is_stored_and_applied_by_the_connector_user(odoo, channel, backend, wait_for):
    """The gateway and the job runner act as the connector user of the backend's company, not as an administrator."""
    [company] = odoo.search_read("retail.backend", [("id", "=", backend)], ["company_id"])
    [connector] = odoo.search_read("res.users", [("login", "=", "retail-connector-%d" % company["company_id"][0])],
                                   ["id", "share"])
    assert not connector["share"]
    order = channel.place_order(lines=[{"sku": "RC-MUG"}])
    [delivery] = deliveries_of(channel, "orders/create", order["external_id"])
    answer = json.loads(delivery.attempts[-1].response_body)
    event = wait_event_final(odoo, wait_for, answer["events"][0], "the order event to be applied")
    assert event["state"] == "done", event
    [stored] = odoo.search_read("retail.event", [("id", "=", event["id"])], ["create_uid"])
    [sale] = odoo.search_read("sale.order", [("id", "=", event["res_id"])], ["create_uid", "partner_id"])
    [partner] = odoo.search_read("res.partner", [("id", "=", sale["partner_id"][0])], ["create_uid"])
    job = wait_job_done(odoo, wait_for, event["job_uuid"], "the dispatcher job to end")
    assert stored["create_uid"][0] == connector["id"], stored
    assert job["user_id"][0] == connector["id"], job
    assert sale["create_uid"][0] == connector["id"], sale
    assert partner["create_uid"][0] == connector["id"], partner


def test_an_event_delivered_three_times_is_applied_once(odoo, channel, backend, wait_for):
    """Three deliveries of one event id store one event counting two duplicates, and one sale order."""
    channel.duplicate_webhooks(3)
    order = channel.place_order()

    deliveries = deliveries_of(channel, "orders/create", order["external_id"])
    assert len(deliveries) == 3 and len({d.event_id for d in deliveries}) == 1
    assert [d.status for d in deliveries] == [202, 200, 200]
    answers = [json.loads(d.attempts[-1].response_body) for d in deliveries]
    assert [a["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert len({a["events"][0] for a in answers}) == 1, "the duplicates name another event"

    [event] = events_of(odoo, backend, idempotency_key=deliveries[0].event_id)
    assert event["duplicate_count"] == 2
    event = wait_event_final(odoo, wait_for, event["id"], "the duplicated event to be applied")
    assert event["state"] == "done" and event["outcome"] == "created", event
    assert len(events_of(odoo, backend, aggregate_key=order["external_id"])) == 1
    assert len(bindings_of(odoo, backend, order["external_id"])) == 1
    assert len(odoo.search_read("sale.order", [("client_order_ref", "=", order["name"])], ["id"])) == 1


def test_an_update_delivered_before_its_create_keeps_the_newest_state(odoo, channel, backend, wait_for):
    """An update applied before its (older) create leaves one sale order in the newer state; the create is stale."""
    created = channel.place_order(notify=False, payment_state="pending")
    updated = channel.update_order(created["external_id"], notify=False, payment_state="paid")
    assert updated["updated_at"] > created["updated_at"]

    [update_delivery] = channel.send_webhook("orders/updated", updated)
    assert update_delivery.status == 202
    update_event = wait_event_final(odoo, wait_for, json.loads(update_delivery.attempts[-1].response_body)["events"][0],
                                    "the early update to be applied")
    assert update_event["state"] == "done" and update_event["outcome"] == "created", update_event

    [create_delivery] = channel.send_webhook("orders/create", created)
    assert create_delivery.status == 202
    create_event = wait_event_final(odoo, wait_for, json.loads(create_delivery.attempts[-1].response_body)["events"][0],
                                    "the late create to be handled")
    assert create_event["state"] == "stale" and create_event["outcome"] == "stale", create_event
    assert create_event["last_error"]

    [binding] = bindings_of(odoo, backend, created["external_id"])
    assert binding["channel_payment_state"] == "paid"
    assert binding["odoo_id"][0] == update_event["res_id"]
    assert sale_order(odoo, binding["odoo_id"][0])["state"] == "sale"
    assert len(odoo.search_read("sale.order", [("client_order_ref", "=", created["name"])], ["id"])) == 1


def test_reordered_webhooks_converge_on_the_newest_state(odoo, channel, backend, wait_for):
    """A create and its update sent latest first give one sale order in the update's payment state."""
    channel.reorder_webhooks(2)
    created = channel.place_order(payment_state="authorized")
    updated = channel.update_order(created["external_id"], payment_state="paid")

    create_delivery, update_delivery = (deliveries_of(channel, t, created["external_id"])[0]
                                        for t in ("orders/create", "orders/updated"))
    assert update_delivery.attempts[0].time < create_delivery.attempts[0].time, "the simulator did not reorder"
    assert create_delivery.status == 202 and update_delivery.status == 202

    ids = [json.loads(d.attempts[-1].response_body)["events"][0] for d in (create_delivery, update_delivery)]
    create_event, update_event = (wait_event_final(odoo, wait_for, i, "the reordered events") for i in ids)
    # whichever the runner saw first, the older version never overwrites the newer one
    assert update_event["state"] == "done", update_event
    assert create_event["state"] in ("done", "stale"), create_event
    if create_event["state"] == "stale":
        assert update_event["outcome"] == "created"
    [binding] = bindings_of(odoo, backend, created["external_id"])
    assert binding["channel_payment_state"] == updated["payment_state"] == "paid"
    assert len(odoo.search_read("sale.order", [("client_order_ref", "=", created["name"])], ["id"])) == 1


def test_a_cancellation_webhook_cancels_the_sale_order(odoo, channel, backend, wait_for):
    """After the channel cancels an order, its sale order in Odoo is cancelled too."""
    order = channel.place_order()
    first = json.loads(deliveries_of(channel, "orders/create", order["external_id"])[0].attempts[-1].response_body)
    created = wait_event_final(odoo, wait_for, first["events"][0], "the order to be created")
    assert created["state"] == "done" and sale_order(odoo, created["res_id"])["state"] == "sale"

    channel.cancel_order(order["external_id"], reason="customer")
    [delivery] = deliveries_of(channel, "orders/cancelled", order["external_id"])
    assert delivery.status == 202
    event = wait_event_final(odoo, wait_for, json.loads(delivery.attempts[-1].response_body)["events"][0],
                             "the cancellation to be applied")
    assert event["state"] == "done" and event["outcome"] == "cancelled", event
    assert event["res_id"] == created["res_id"]
    assert sale_order(odoo, created["res_id"])["state"] == "cancel"
    [binding] = bindings_of(odoo, backend, order["external_id"])
    assert binding["channel_status"] == "cancelled"


def test_two_simultaneous_deliveries_of_one_event_store_it_once(odoo, channel, backend, webhook_url, wait_for):
    """The same signed event posted from two threads at once gets one 202 and one 200, never a 5xx, and one row."""
    rounds, outcomes = 4, []
    for _round in range(rounds):
        body = json_bytes(channel.make_order())
        headers = signed_headers(body)
        barrier = threading.Barrier(2)
        results = [None, None]

        def deliver(slot, body=body, headers=headers, barrier=barrier, results=results):
            barrier.wait(timeout=TIMEOUT)
            try:
                results[slot] = requests.post(webhook_url, data=body, headers=headers, timeout=TIMEOUT)
            except requests.RequestException as exc:  # reported by the assertions below
                results[slot] = exc

        threads = [threading.Thread(target=deliver, args=(slot,)) for slot in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT + 5)
        rows = events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"])
        outcomes.append((results, rows))
        for row in rows:
            # let the job runner apply it, so that both HTTP workers are free for the next round
            wait_event_final(odoo, wait_for, row["id"], "the raced event to be applied")

    def show(result):
        if isinstance(result, requests.Response):
            return f"{result.status_code} {result.text[:160]}"
        return repr(result)

    report = "\n".join(f"round {i}: " + " | ".join(show(r) for r in results) for i, (results, _rows) in enumerate(outcomes))
    for results, rows in outcomes:
        assert all(isinstance(r, requests.Response) for r in results), report
        assert sorted(r.status_code for r in results) == [200, 202], report
        assert {r.json()["status"] for r in results} == {"accepted", "duplicate"}, report
        assert results[0].json()["events"][0] == results[1].json()["events"][0]
        assert len(rows) == 1 and rows[0]["duplicate_count"] == 1, rows


def test_a_dropped_webhook_leaves_no_sale_order(odoo, channel, backend):
    """A webhook the channel never sends leaves Odoo without the order: only reconciliation can find it."""
    channel.drop_webhooks()
    order = channel.place_order()

    dropped = [d for d in channel.webhooks.dropped() if d.payload.get("external_id") == order["external_id"]]
    assert len(dropped) == 1 and not dropped[0].attempts
    time.sleep(3)
    assert events_of(odoo, backend, aggregate_key=order["external_id"]) == []
    assert bindings_of(odoo, backend, order["external_id"]) == []
    assert odoo.search_read("sale.order", [("client_order_ref", "=", order["name"])], ["id"]) == []
    # the order is still on the channel, for a reconciliation to fetch
    assert channel.get_order(order["external_id"])["name"] == order["name"]


def test_a_reconciliation_the_rate_limit_stops_continues_in_a_later_job(odoo, channel, backend, wait_for):
    """Orders the webhooks missed, read by the orders run's reconciliation with one page's token at a time and
    the next five seconds away: its job stops at the second page instead of waiting in the worker, a later
    job continues from that page, and every order is read once."""
    placed = channel.add_orders(120)
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend), ("domain", "=", "orders")], ["id"])
    rate = odoo.search_read("retail.backend", [("id", "=", backend)], ["rate_limit_rps", "rate_limit_burst"])[0]
    runs = [r["id"] for r in odoo.search_read("retail.reconciliation.run", [("backend_id", "=", backend)], ["id"])]
    channel.calls.reset()
    odoo.call("retail.backend", "write", [backend], {"rate_limit_rps": 0.2, "rate_limit_burst": 1})
    try:
        odoo.call("retail.sync.policy", "action_run_now", [policy[0]["id"]])

        def run(state):
            rows = odoo.search_read("retail.reconciliation.run", [("backend_id", "=", backend), ("id", "not in", runs)],
                                    ["state", "checked", "resume_at", "message"])
            return rows[0] if rows and rows[0]["state"] == state and (state != "running" or rows[0]["resume_at"]) \
                else None

        paused = wait_for(lambda: run("running"), JOB_WAIT, "the run paused by the rate limit")
        assert "rate limit" in paused["message"]
        done = wait_for(lambda: run("done"), JOB_WAIT, "the run continued and done")
        assert not done["resume_at"]
    finally:
        odoo.call("retail.backend", "write", [backend], {k: rate[k] for k in ("rate_limit_rps", "rate_limit_burst")})
    jobs = odoo.search_read("queue.job", [("method_name", "=", "_continue_reads"), ("state", "=", "done")], ["uuid"])
    assert jobs, "a job of its own continued the read"
    pages = channel.calls_to("GET", "/api/v1/orders")
    assert len(pages) >= 2
    cursors = [call.query.get("cursor") for call in pages]
    assert len(set(map(str, cursors))) == len(cursors), "no page read twice"
    keys = [o["external_id"] for o in placed]
    events = odoo.search_read("retail.event", [("backend_id", "=", backend), ("aggregate_key", "in", keys)],
                              ["aggregate_key", "source"])
    assert sorted(e["aggregate_key"] for e in events) == sorted(keys), "every order read once"
    assert {e["source"] for e in events} == {"poll"}


# --------------------------------------------------------------------------- refusals

def test_a_wrong_secret_is_refused_401(odoo, channel, backend, webhook_url):
    """A body signed with another secret is refused 401 and stored nowhere but in the refusal log."""
    body = json_bytes(channel.make_order())
    headers = signed_headers(body, secret="not-the-backend-secret")
    response = post(webhook_url, body, headers)
    _body, row = assert_refused(odoo, response, 401, "bad_signature")
    assert row["backend_id"][0] == backend
    assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []


def test_a_missing_signature_is_refused_401(odoo, channel, backend, webhook_url):
    """An unsigned webhook is refused 401."""
    body = json_bytes(channel.make_order())
    headers = signed_headers(body)
    del headers["X-Retail-Signature"]
    response = post(webhook_url, body, headers)
    body_json, _row = assert_refused(odoo, response, 401, "bad_signature")
    assert "missing" in body_json["message"]


def test_a_body_changed_after_signing_is_refused_401(odoo, channel, backend, webhook_url):
    """A signature over another body does not authenticate this one."""
    order = channel.make_order()
    headers = signed_headers(json_bytes(order))
    tampered = json_bytes({**order, "payment_state": "refunded"})
    assert_refused(odoo, post(webhook_url, tampered, headers), 401, "bad_signature")


def test_an_expired_timestamp_is_refused_401(odoo, channel, backend, webhook_url):
    """A correct signature made an hour ago (beyond the 300 s tolerance) is refused 401."""
    body = json_bytes(channel.make_order())
    headers = signed_headers(body, timestamp=int(time.time()) - 3600)
    body_json, _row = assert_refused(odoo, post(webhook_url, body, headers), 401, "bad_signature")
    assert "timestamp" in body_json["message"]
    assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []


def test_a_signature_within_the_tolerance_is_accepted(odoo, channel, backend, webhook_url):
    """A signature made two minutes ago, within the tolerance, is accepted."""
    body = json_bytes(channel.make_order())
    response = post(webhook_url, body, signed_headers(body, timestamp=int(time.time()) - 120))
    assert response.status_code == 202, response.text


def test_a_signed_body_that_is_not_json_is_acknowledged_then_fails(odoo, backend, webhook_url, wait_for):
    """A correctly signed webhook is acknowledged before its payload is read: one that is not JSON
    is answered 202, then fails in the dispatcher as an invalid payload; nothing is created."""
    body = b'{"external_id": "X1", "lines": ['
    headers = signed_headers(body)
    event_id = accepted_event(post(webhook_url, body, headers))
    [stored] = events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"])
    assert stored["id"] == event_id and stored["source"] == "webhook"
    event = wait_event_final(odoo, wait_for, event_id, "the unreadable payload to be handled")
    assert_invalid_payload(event)
    assert "not valid JSON" in event["last_error"], event["last_error"]


def test_a_body_that_is_not_utf8_is_refused_400(odoo, backend, webhook_url):
    """A signed body that is not UTF-8 text is refused 400 at once: it could not be stored as received."""
    body = b'{"external_id": "\xff\xfe"}'
    headers = signed_headers(body)
    body_json, row = assert_refused(odoo, post(webhook_url, body, headers), 400, "malformed_body")
    assert "UTF-8" in body_json["message"], body_json
    assert row["backend_id"][0] == backend
    assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []


def test_a_body_with_a_nul_character_is_refused_400(odoo, channel, backend, webhook_url, wait_for):
    """A signed body holding a NUL character is refused 400 at once; one holding the JSON escape of NUL is
    storable text, so it is acknowledged, and fails when read, naming the field that holds the NUL."""
    raw = b'{"external_id": "A\x00B"}'
    headers = signed_headers(raw)
    body_json, _row = assert_refused(odoo, post(webhook_url, raw, headers), 400, "malformed_body")
    assert "NUL" in body_json["message"], body_json
    assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []
    escaped = json_bytes({**channel.make_order(), "external_id": "A\x00B"})
    assert b"\\u0000" in escaped and b"\x00" not in escaped
    event = wait_event_final(odoo, wait_for, accepted_event(post(webhook_url, escaped, signed_headers(escaped))),
                             "the escaped NUL to be read")
    assert_invalid_payload(event, "external_id")


def test_an_unknown_topic_is_refused_422(odoo, channel, backend, webhook_url):
    """A signed order under a topic the generic channel does not have is refused 422."""
    body = json_bytes(channel.make_order())
    headers = signed_headers(body, topic="orders/teleported")
    body_json, row = assert_refused(odoo, post(webhook_url, body, headers), 422, "unknown_topic")
    assert "orders/teleported" in body_json["message"]
    assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []


def invalid_order(channel):
    """Return an order whose second line has a quantity in words and that lacks its currency."""
    order = channel.make_order(lines=[{"sku": "RC-MUG", "quantity": 1}, {"sku": "RC-CAP", "quantity": 1}])
    order["lines"][1]["quantity"] = "two"
    del order["currency"]
    return order


def test_an_invalid_order_webhook_is_acknowledged_then_fails_naming_the_fields(odoo, channel, backend, webhook_url,
                                                                               wait_for):
    """A signed order with invalid fields is acknowledged 202, then fails in the dispatcher as an invalid
    payload whose error names each field path; no sale order is made."""
    order = invalid_order(channel)
    body = json_bytes(order)
    headers = signed_headers(body)
    event_id = accepted_event(post(webhook_url, body, headers))
    event = wait_event_final(odoo, wait_for, event_id, "the invalid order to be handled")
    assert_invalid_payload(event, "lines[1].quantity", "currency")
    assert event["idempotency_key"] == headers["X-Retail-Event-Id"]
    assert odoo.search_read("sale.order", [("client_order_ref", "=", order["name"])], ["id"]) == []
    # a second delivery of the same event is a duplicate of the failed one, not a new event
    again = post(webhook_url, body, signed_headers(body, event_id=headers["X-Retail-Event-Id"]))
    assert again.status_code == 200 and again.json()["events"] == [event_id], again.text


def test_an_invalid_order_sent_to_the_partner_api_is_refused_422_naming_the_fields(odoo, channel, backend, api_key,
                                                                                   api_url):
    """The partner API validates at once: an invalid order is refused 422 with one detail per field path,
    and nothing is stored."""
    order = invalid_order(channel)
    key = f"e2e-api-{uuid.uuid4().hex}"
    response = post(api_url, json_bytes(order), api_headers(api_key, **{"Idempotency-Key": key}))
    body_json, row = assert_refused(odoo, response, 422, "invalid_payload")
    fields = {d["field"] for d in body_json["details"]}
    assert {"lines[1].quantity", "currency"} <= fields, body_json["details"]
    assert all(d["message"] for d in body_json["details"])
    assert row["backend_id"][0] == backend
    assert events_of(odoo, backend, idempotency_key=key) == []
    assert odoo.search_read("sale.order", [("client_order_ref", "=", order["name"])], ["id"]) == []


def test_a_partner_api_order_is_stored_and_applied(odoo, channel, backend, api_key, api_url, wait_for):
    """A valid order sent to the partner API is answered 202 with its event, applied by the job runner,
    and a repeat with the same Idempotency-Key is a duplicate."""
    order = channel.make_order(lines=[{"sku": "RC-MUG", "quantity": 1}])
    key = f"e2e-api-{uuid.uuid4().hex}"
    response = post(api_url, json_bytes(order), api_headers(api_key, **{"Idempotency-Key": key}))
    event_id = accepted_event(response)
    assert response.json()["items"] == [{"index": 0, "event": event_id, "status": "accepted"}]
    event = wait_event_final(odoo, wait_for, event_id, "the partner API order to be applied")
    assert event["state"] == "done" and event["outcome"] == "created", event
    assert event["source"] == "api" and event["idempotency_key"] == key and event["aggregate_key"] == order["external_id"]
    again = post(api_url, json_bytes(order), api_headers(api_key, **{"Idempotency-Key": key}))
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate" and again.json()["events"] == [event_id]


def test_a_partner_api_batch_is_refused_whole_naming_each_bad_item(odoo, channel, backend, api_key, api_url):
    """A batch with invalid items is refused 422 as a whole, each detail prefixed with its item's index;
    none of its items, valid ones included, is stored."""
    good, bad = channel.make_order(), invalid_order(channel)
    key = f"e2e-batch-{uuid.uuid4().hex}"
    response = post(api_url, json_bytes([good, bad]), api_headers(api_key, **{"Idempotency-Key": key}))
    body_json, _row = assert_refused(odoo, response, 422, "invalid_payload")
    fields = {d["field"] for d in body_json["details"]}
    assert {"[1].lines[1].quantity", "[1].currency"} <= fields, body_json["details"]
    assert not any(f.startswith("[0]") for f in fields), body_json["details"]
    assert events_of(odoo, backend, aggregate_key=good["external_id"]) == []
    assert events_of(odoo, backend, idempotency_key=f"{key}#0") == []


def test_a_partner_api_batch_gives_each_item_its_own_key(odoo, channel, backend, api_key, api_url, wait_for):
    """Each item of a valid batch is its own event, keyed ``<Idempotency-Key>#<index>``; the answer lists
    each item's fate, and a batch sent again with one more item stores only the new one."""
    orders = [channel.make_order(lines=[{"sku": "RC-MUG"}]) for _ in range(2)]
    key = f"e2e-batch-{uuid.uuid4().hex}"
    response = post(api_url, json_bytes(orders), api_headers(api_key, **{"Idempotency-Key": key}))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert [(i["index"], i["status"]) for i in answer["items"]] == [(0, "accepted"), (1, "accepted")], answer
    ids = [i["event"] for i in answer["items"]]
    assert len(set(ids)) == 2 and sorted(answer["events"]) == sorted(ids)
    for index, (event_id, order) in enumerate(zip(ids, orders, strict=True)):
        event = wait_event_final(odoo, wait_for, event_id, "a batch item to be applied")
        assert event["idempotency_key"] == f"{key}#{index}", event
        assert event["state"] == "done" and event["aggregate_key"] == order["external_id"], event
    third = channel.make_order(lines=[{"sku": "RC-CAP"}])
    again = post(api_url, json_bytes(orders + [third]), api_headers(api_key, **{"Idempotency-Key": key}))
    assert again.status_code == 202, again.text
    items = again.json()["items"]
    assert [(i["index"], i["status"]) for i in items] == [(0, "duplicate"), (1, "duplicate"), (2, "accepted")], items
    assert [i["event"] for i in items[:2]] == ids
    assert len(events_of(odoo, backend, aggregate_key=third["external_id"])) == 1


def test_an_unknown_backend_is_refused_404(odoo, odoo_url, channel):
    """A webhook to a backend id that does not exist is refused 404."""
    last = odoo.search_read("retail.backend", [("active", "in", [True, False])], ["id"], order="id desc", limit=1)
    missing = (last[0]["id"] if last else 0) + 100000
    body = json_bytes(channel.make_order())
    _body, row = assert_refused(odoo, post(f"{odoo_url}/retail/webhook/{missing}", body, signed_headers(body)),
                                404, "unknown_backend")
    assert row["backend_id"] is False


def test_an_archived_backend_is_refused_404(odoo, odoo_url, channel):
    """A webhook to an archived backend is refused 404, even with its correct signature."""
    backend_id = odoo.call("retail.backend", "create", {
        "name": "E2E archived %s" % uuid.uuid4().hex[:6], "backend_type": "generic",
        "webhook_secret": SECRET, "inbound_rate_limit": 0,
    })
    odoo.call("retail.backend", "write", [backend_id], {"active": False})
    body = json_bytes(channel.make_order())
    assert_refused(odoo, post(f"{odoo_url}/retail/webhook/{backend_id}", body, signed_headers(body)),
                   404, "unknown_backend")


def test_a_body_over_the_size_cap_is_refused_413(odoo, channel, backend, webhook_url):
    """With the cap lowered to 1000 bytes, a larger signed order is refused 413, as JSON, as a form body or
    sent in chunks without a length; a small body still passes."""
    previous = odoo.call("ir.config_parameter", "get_param", MAX_BODY_PARAM)
    big = json_bytes(channel.make_order(note="x" * 3000))
    small = b'{"external_id": 1}'
    try:
        odoo.call("ir.config_parameter", "set_param", MAX_BODY_PARAM, "1000")
        headers = signed_headers(big)
        _body, row = assert_refused(odoo, post(webhook_url, big, headers), 413, "too_large")
        assert row["backend_id"][0] == backend
        assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []
        form = ("note=" + "x" * 3000).encode()
        form_headers = signed_headers(form, **{"Content-Type": "application/x-www-form-urlencoded"})
        assert_refused(odoo, post(webhook_url, form, form_headers), 413, "too_large")
        # under the cap the request goes on to the next checks, and is acknowledged
        assert post(webhook_url, small, signed_headers(small)).status_code == 202
    finally:
        odoo.call("ir.config_parameter", "set_param", MAX_BODY_PARAM, previous)
    assert odoo.call("ir.config_parameter", "get_param", MAX_BODY_PARAM) == previous
    assert post(webhook_url, big, signed_headers(big)).status_code == 202


def test_the_inbound_rate_limit_answers_429_with_retry_after(odoo, channel, backend, webhook_url):
    """Beyond the backend's inbound rate (0.2/s, burst 1) a second valid event is refused 429 with Retry-After."""
    try:
        odoo.call("retail.backend", "write", [backend], {"inbound_rate_limit": 0.2, "inbound_rate_burst": 1})
        first, second = (json_bytes(channel.make_order()) for _ in range(2))
        accepted = post(webhook_url, first, signed_headers(first))
        assert accepted.status_code == 202, accepted.text
        headers = signed_headers(second)
        refused = post(webhook_url, second, headers)
        assert_refused(odoo, refused, 429, "rate_limited")
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 6, retry_after
        assert events_of(odoo, backend, idempotency_key=headers["X-Retail-Event-Id"]) == []
    finally:
        odoo.call("retail.backend", "write", [backend], {"inbound_rate_limit": 0})
    retried = post(webhook_url, second, headers | {"X-Retail-Signature": retail_signature(SECRET, second, int(time.time()))})
    assert retried.status_code == 202, retried.text


def test_a_given_correlation_id_is_kept_on_the_refusal(odoo, channel, backend, webhook_url):
    """A well-formed X-Correlation-Id sent by the channel is echoed and recorded with the refusal."""
    correlation_id = f"e2e-{uuid.uuid4().hex}"
    body = json_bytes(channel.make_order())
    headers = signed_headers(body, secret="wrong", **{"X-Correlation-Id": correlation_id})
    response = post(webhook_url, body, headers)
    assert response.headers["X-Correlation-Id"] == correlation_id
    assert_refused(odoo, response, 401, "bad_signature")


def raw_post(url, headers, body=b"", timeout=10):
    """POST with exactly ``headers`` (a Content-Length of our choosing included) and ``body``; return the response.

    The body sent may be shorter than announced: an answer that comes anyway shows it was not waited for.
    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest("POST", parts.path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_chunked_body_is_read_up_to_the_cap(odoo, channel, backend, webhook_url):
    """A body sent in chunks, without a Content-Length, is read no further than the cap: over it 413, under it
    acknowledged."""
    previous = odoo.call("ir.config_parameter", "get_param", MAX_BODY_PARAM)
    big = json_bytes(channel.make_order(note="x" * 3000))
    small = b'{"external_id": "chunked"}'
    try:
        odoo.call("ir.config_parameter", "set_param", MAX_BODY_PARAM, "1000")
        chunked = requests.post(webhook_url, data=iter([big[:600], big[600:]]), headers=signed_headers(big),
                                timeout=TIMEOUT)
        assert_refused(odoo, chunked, 413, "too_large")
        accepted = requests.post(webhook_url, data=iter([small[:10], small[10:]]), headers=signed_headers(small),
                                 timeout=TIMEOUT)
        assert accepted.status_code == 202, accepted.text
    finally:
        odoo.call("ir.config_parameter", "set_param", MAX_BODY_PARAM, previous)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("announced", ["cap+1", str(2**31), str(2**63), str(10**30)])
def test_a_length_announced_over_the_cap_is_refused_413_unread(odoo, backend, webhook_url, content_type, announced):
    """A Content-Length over the cap is refused 413 before the body is read (none is sent here), JSON or form,
    even one no integer column holds; the refusal records the length announced."""
    cap = int(odoo.call("ir.config_parameter", "get_param", MAX_BODY_PARAM) or 2 * 1024 * 1024)
    length = cap + 1 if announced == "cap+1" else int(announced)
    body = b"{}"
    headers = signed_headers(body, **{"Content-Type": content_type, "Content-Length": str(length)})
    try:
        status, answer_headers, answer = raw_post(webhook_url, headers, body)
    except TimeoutError:
        pytest.fail(f"no answer to a Content-Length of {length}: the server waited for the body")
    assert status == 413, (status, answer[:300])
    payload = json.loads(answer)
    assert payload["error"] == "too_large", payload
    assert str(length) in payload["message"], payload
    rows = odoo.search_read("retail.rejected.request", [("correlation_id", "=", answer_headers["X-Correlation-Id"])],
                            ["status", "code", "content_length", "backend_id"])
    assert len(rows) == 1 and rows[0]["status"] == 413 and rows[0]["backend_id"][0] == backend, rows
    assert rows[0]["content_length"] == pytest.approx(float(length), rel=1e-9), rows


@pytest.mark.parametrize("value", ["-1", "99999999999999999999999999999999999999999999", "abc", "1e3", "0x10"])
def test_odd_content_lengths_are_answered_4xx(odoo, backend, webhook_url, value):
    """A Content-Length that is no plain size is answered with a documented refusal, never a 5xx."""
    body = b"{}"
    headers = signed_headers(body, **{"Content-Length": value})
    try:
        status, _headers, answer = raw_post(webhook_url, headers, body)
    except TimeoutError:
        pytest.fail(f"no answer to a Content-Length of {value!r}")
    assert 400 <= status < 500, (status, answer[:300])
    assert json.loads(answer)["error"] in ("malformed_body", "bad_signature", "too_large"), answer


def test_a_body_shorter_than_announced_is_refused_4xx(odoo, backend, webhook_url):
    """A sender that announces more bytes than it sends is refused as a bad request, not answered 5xx."""
    body = b'{"external_id": "short"}'
    headers = signed_headers(body, **{"Content-Length": str(len(body) + 100)})
    status, _headers, answer = raw_post(webhook_url, headers, body, timeout=30)
    assert 400 <= status < 500, (status, answer[:300])


def test_long_idempotency_keys_are_stored_hashed_without_collision(odoo, channel, backend, webhook_url):
    """Event ids longer than 255 characters are stored as ``sha256:<hex>``: two ids differing after the
    255th character are two events, and a repeat of either is its duplicate; a 255-character id is kept as is."""
    stem = "evt-" + uuid.uuid4().hex + "x" * 300
    first_key, second_key, short_key = stem + "A", stem + "B", ("k" + uuid.uuid4().hex).ljust(255, "k")
    ids = {}
    for key in (first_key, second_key, short_key):
        body = json_bytes(channel.make_order())
        ids[key] = accepted_event(post(webhook_url, body, signed_headers(body, event_id=key)))
    assert len(set(ids.values())) == 3
    for key in (first_key, second_key):
        stored = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        [event] = events_of(odoo, backend, idempotency_key=stored)
        assert event["id"] == ids[key], event
    [event] = events_of(odoo, backend, idempotency_key=short_key)
    assert event["id"] == ids[short_key]
    body = json_bytes(channel.make_order())
    again = post(webhook_url, body, signed_headers(body, event_id=second_key))
    assert again.status_code == 200 and again.json()["events"] == [ids[second_key]], again.text


def test_identical_refusals_are_one_row_with_a_count(odoo, channel, backend, webhook_url):
    """The same refusal repeated is counted on one row (first seen kept, last seen and correlation moved on);
    reasons differing only by numbers are the same refusal."""
    def refuse(offset):
        body = json_bytes(channel.make_order())
        response = post(webhook_url, body, signed_headers(body, timestamp=int(time.time()) - offset))
        assert response.status_code == 401, response.text
        [row] = odoo.search_read("retail.rejected.request",
                                 [("correlation_id", "=", response.headers["X-Correlation-Id"])],
                                 ["count", "received_at", "last_seen", "reason", "code"])
        return row

    first = refuse(3600)
    second = refuse(7200 + 17)
    third = refuse(5000)
    assert first["code"] == "bad_signature" and "timestamp" in first["reason"], first
    assert first["id"] == second["id"] == third["id"], (first, second, third)
    assert third["count"] == first["count"] + 2, (first, third)
    assert third["received_at"] == first["received_at"] and third["last_seen"] >= first["last_seen"]


def test_identical_refusals_arriving_at_once_are_each_counted(odoo, channel, backend, webhook_url):
    """The same refusal sent by several clients at once, on every HTTP worker, is counted once per request
    on its one row: none is lost to two workers counting on the row together."""
    threads, per_thread = 4, 4
    # an address of its own (loopback), so that the refusals of other tests do not share the row
    address = "127.%d.%d.%d" % tuple(random.SystemRandom().randrange(1, 255) for _ in range(3))
    barrier = threading.Barrier(threads)
    statuses = []

    def refuse():
        session = requests.Session()
        session.mount("http://", SourceAddressAdapter(address))
        barrier.wait(timeout=TIMEOUT)
        for _ in range(per_thread):
            body = json_bytes(channel.make_order())
            response = session.post(webhook_url, data=body, headers=signed_headers(body, secret="not-the-backend-secret"),
                                    timeout=TIMEOUT)
            statuses.append(response.status_code)

    workers = [threading.Thread(target=refuse) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT + 5)
    assert statuses == [401] * (threads * per_thread), statuses
    rows = odoo.search_read("retail.rejected.request", [("remote_addr", "=", address)], ["code", "count"])
    assert [(row["code"], row["count"]) for row in rows] == [("bad_signature", threads * per_thread)], rows


def test_a_source_refused_too_often_is_answered_429_at_once(odoo, odoo_url, channel, backend, webhook_url):
    """Past ``retail_connector.refusals_per_minute`` refusals in a minute, an address is answered 429
    ``too_many_refusals`` before anything else is checked, even with a correct signature; other addresses
    are heard. The limit is counted per server process: each worker answers at most ``limit`` refusals."""
    limit = 5
    workers = _server_workers()
    # addresses of their own (the suite's 127.0.0.1 is refused all the time): the whole 127/8 is loopback
    address, other_address = ("127.%d.%d.%d" % tuple(random.SystemRandom().randrange(1, 255) for _ in range(3))
                               for _ in range(2))
    source, other = requests.Session(), requests.Session()
    source.mount("http://", SourceAddressAdapter(address))
    other.mount("http://", SourceAddressAdapter(other_address))

    def refused_request(secret):
        body = json_bytes(channel.make_order())
        return source.post(webhook_url, data=body, headers=signed_headers(body, secret=secret), timeout=TIMEOUT)

    previous = odoo.call("ir.config_parameter", "get_param", REFUSALS_PARAM)
    try:
        odoo.call("ir.config_parameter", "set_param", REFUSALS_PARAM, str(limit))
        statuses, flood = [], None
        # until every worker has answered its `limit` refusals (bounded: the requests spread over the workers)
        while statuses.count(401) < workers * limit and len(statuses) < 40 * workers * limit:
            response = refused_request("wrong")
            statuses.append(response.status_code)
            if response.status_code == 429 and flood is None:
                flood = response
        assert statuses[:limit] == [401] * limit, statuses
        assert set(statuses) <= {401, 429} and statuses.count(401) == workers * limit, statuses
        assert flood is not None, f"no 429 after {len(statuses)} refusals from {address}: {statuses}"
        body_json = flood.json()
        assert body_json["error"] == "too_many_refusals" and address in body_json["message"], body_json
        assert 1 <= int(flood.headers["Retry-After"]) <= 61, flood.headers
        # recorded like any refusal, one row per kind with its count; answered before the backend is looked up
        rows = {r["code"]: r for r in odoo.search_read("retail.rejected.request", [("remote_addr", "=", address)],
                                                        ["code", "count", "status", "backend_id"])}
        assert set(rows) == {"bad_signature", "too_many_refusals"}, rows
        assert rows["bad_signature"]["count"] == workers * limit, rows
        assert rows["too_many_refusals"]["count"] == statuses.count(429), (rows, statuses)
        assert rows["too_many_refusals"]["backend_id"] is False and rows["too_many_refusals"]["status"] == 429, rows
        # every worker now stops the flooding address, whatever it sends; another address is heard
        for _ in range(2 * workers):
            blocked = refused_request(SECRET)
            assert blocked.status_code == 429 and blocked.json()["error"] == "too_many_refusals", blocked.text
        body = json_bytes(channel.make_order())
        heard = other.post(webhook_url, data=body, headers=signed_headers(body), timeout=TIMEOUT)
        assert heard.status_code == 202, heard.text
    finally:
        odoo.call("ir.config_parameter", "set_param", REFUSALS_PARAM, previous or False)
        source.close()
        other.close()
    assert odoo.call("ir.config_parameter", "get_param", REFUSALS_PARAM) == previous


def _server_workers():
    """Return the HTTP worker processes of the test server (its configuration file's ``workers``)."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(os.environ.get("RC_ROOT", "."), "odoo.conf"))
    return max(1, parser.getint("options", "workers", fallback=2))
