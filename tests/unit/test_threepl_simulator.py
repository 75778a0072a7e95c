"""Tests of the 3PL simulator (ShipBob Developer API 2026-01), driven with plain HTTP requests.

Webhooks are received by a small HTTP server here and their Standard Webhooks signatures are
checked with the standard library, as ShipBob's webhook documentation describes them, so the
simulator is not checked against the connector's own verifier.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from simulators.threepl import ThreePLSimulator, new_webhook_secret, standard_signature

TOKEN = "pat_sim_token"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CHANNEL = 410001
API = "/2026-01"
ORDER = {
    "reference_id": "SO-1001", "order_number": "1001", "type": "DTC", "shipping_method": "Standard",
    "recipient": {"name": "John Doe", "email": "john@example.com", "phone_number": "555-555-5555",
                  "address": {"address1": "100 N Racine Ave", "address2": "Suite 100", "city": "Chicago",
                              "state": "IL", "country": "US", "zip_code": "60607"}},
    "products": [{"name": "Mug", "reference_id": "RC-MUG", "quantity": 3, "external_line_id": 1},
                 {"name": "Cap", "reference_id": "RC-CAP", "quantity": 1, "external_line_id": 2}],
}


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
                    receiver.received.append((CaseInsensitiveDict(self.headers.items()), body))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shipbob"

    def topics(self):
        return [h["x-webhook-topic"] for h, _ in self.received]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def signature_ok(headers, body, secret=SECRET):
    """Return whether webhook-signature holds the Standard Webhooks HMAC of id.timestamp.body."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def wh(receiver):
    with ThreePLSimulator(token=TOKEN, webhook_url=receiver.url, webhook_secret=SECRET, seed=3) as sim:
        yield sim


def call(sim, method, path, *, channel=CHANNEL, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if channel:
        headers["shipbob_channel_id"] = str(channel)
    return requests.request(method, sim.url + API + path, headers=headers, timeout=5, **kwargs)


def post_order(sim, **changes):
    response = call(sim, "POST", "/order", json={**ORDER, **changes})
    assert response.status_code == 201, response.text
    return response.json()


# --------------------------------------------------------------------------- API contract


def test_bearer_token_channel_header_and_version_are_checked(wh):
    assert call(wh, "GET", "/channel", token=None).status_code == 401
    assert call(wh, "GET", "/channel", token="pat_other").status_code == 401
    assert requests.get(wh.url + "/2024-01/channel", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    missing = call(wh, "POST", "/order", channel=None, json=ORDER)
    assert (missing.status_code, missing.json()) == (400, {"shipbob_channel_id": [
        "The shipbob_channel_id header is required."]})
    assert call(wh, "POST", "/order", channel=999, json=ORDER).status_code == 403
    assert call(wh, "POST", "/order", channel=410002, json=ORDER).status_code == 403  # read-only channel
    channels = call(wh, "GET", "/channel").json()["items"]
    assert [c["id"] for c in channels] == [410001, 410002] and "orders_write" in channels[0]["scopes"]


def test_create_order_validates_and_refuses_a_used_reference(wh):
    bad = call(wh, "POST", "/order", json={**ORDER, "type": "Retail", "products": [{"reference_id": "RC-MUG"}],
                                           "recipient": {"name": "", "address": {"city": "Chicago"}}})
    assert bad.status_code == 400
    assert set(bad.json()) == {"Type", "Recipient.Name", "Recipient.Address.Address1", "Recipient.Address.Country",
                               "Products[0].Quantity"}
    order = post_order(wh)
    assert order["status"] == "Processing" and order["channel"]["id"] == CHANNEL
    assert [(p["reference_id"], p["quantity"], p["external_line_id"]) for p in order["products"]] == [
        ("RC-MUG", 3, 1), ("RC-CAP", 1, 2)]
    shipment, = order["shipments"]
    assert (shipment["status"], shipment["location"]["id"], shipment["tracking"]) == ("Processing", 10, None)
    duplicate = call(wh, "POST", "/order", json=ORDER)
    assert (duplicate.status_code, duplicate.json()) == (422, {"": ["Cannot insert order with existing ReferenceId"]})
    unknown = call(wh, "POST", "/order", json={**ORDER, "reference_id": "SO-X",
                                               "products": [{"reference_id": "NEW-SKU", "quantity": 1}]})
    assert unknown.status_code == 422 and "Products[0].Name" in unknown.json()
    created = post_order(wh, reference_id="SO-Y", products=[{"reference_id": "NEW-SKU", "name": "New", "quantity": 1}])
    assert wh.product("NEW-SKU")["name"] == "New" and created["status"] == "Exception"  # no stock yet


def test_order_list_pages_with_shipbob_headers_and_filters(wh):
    for n in range(5):
        post_order(wh, reference_id=f"SO-{n}")
    first = call(wh, "GET", "/order", params={"Limit": 2, "SortOrder": "Oldest"})
    assert [o["reference_id"] for o in first.json()] == ["SO-0", "SO-1"]
    assert (first.headers["Total-Count"], first.headers["Total-Pages"], first.headers["Page-Number"]) == ("5", "3", "1")
    following = requests.get(wh.url + first.headers["Next-Page"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert [o["reference_id"] for o in following.json()] == ["SO-2", "SO-3"]
    last = call(wh, "GET", "/order", params={"Limit": 2, "Page": 3})
    assert "Next-Page" not in last.headers and len(last.json()) == 1
    found = call(wh, "GET", "/order", params={"ReferenceIds": "SO-3,SO-4"}).json()
    assert sorted(o["reference_id"] for o in found) == ["SO-3", "SO-4"]
    assert call(wh, "GET", "/order", params={"Limit": 251}).status_code == 400
    assert call(wh, "GET", "/order", channel=410002).json() == []  # another channel's orders are not listed
    assert call(wh, "GET", "/order/1").status_code == 404


def test_cancel_route_and_its_outcomes(wh, receiver):
    open_order = post_order(wh, reference_id="SO-OPEN")
    cancelled = call(wh, "POST", f"/order/{open_order['id']}:cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "Success" and body["order"]["status"] == "Cancelled"
    assert body["canceled_shipment_results"][0]["is_success"] is True
    again = call(wh, "POST", f"/order/{open_order['id']}:cancel").json()
    assert again["status"] == "Success"
    assert again["canceled_shipment_results"][0]["reason"] == "Shipment is already cancelled"
    shipped = post_order(wh, reference_id="SO-GONE")
    wh.ship(shipped["id"])
    refused = call(wh, "POST", f"/order/{shipped['id']}:cancel").json()
    assert refused["status"] == "Failure" and refused["order"]["status"] == "Fulfilled"
    assert receiver.topics() == ["order.shipment.cancelled", "order.shipped"]
    assert wh.stock("RC-MUG") == {"on_hand": 47, "committed": 0, "fulfillable": 47, "awaiting": 0, "lots": {}}


# --------------------------------------------------------------------------- warehouse behaviour


def test_partial_shipment_splits_the_shipment_and_moves_stock(wh, receiver):
    order = post_order(wh)
    assert wh.stock("RC-MUG")["committed"] == 3
    shipped = wh.ship("SO-1001", {"RC-MUG": 1}, tracking="1ZPART")
    assert [(p["sku"], sum(i["quantity"] for i in p["inventory_items"])) for p in shipped["products"]] == [
        ("RC-MUG", 1)]
    assert wh.stock("RC-MUG") == {"on_hand": 49, "committed": 2, "fulfillable": 47, "awaiting": 0, "lots": {}}
    shipments = call(wh, "GET", f"/order/{order['id']}/shipment").json()
    assert [(s["status"], s["tracking"] and s["tracking"]["tracking_number"]) for s in shipments] == [
        ("Completed", "1ZPART"), ("Processing", None)]
    assert call(wh, "GET", f"/order/{order['id']}").json()["status"] == "PartiallyFulfilled"
    rest = wh.ship(order["id"])
    assert call(wh, "GET", f"/shipment/{rest['id']}").json()["status"] == "Completed"
    assert call(wh, "GET", f"/order/{order['id']}/shipment/{rest['id']}").json()["id"] == rest["id"]
    payloads = [json.loads(body) for _, body in receiver.received]
    assert [p["status"] for p in payloads] == ["PartiallyFulfilled", "Fulfilled"]
    with pytest.raises(ValueError, match="no shipment waiting"):
        wh.ship(order["id"])


def test_lot_tracked_stock_ships_first_expiring_lots_and_checks_serials(wh):
    wh.set_stock("RC-SERUM", 2, lot="L-LATE", expiration="2027-09-30")
    wh.set_stock("RC-SERUM", 3, lot="L-SOON", expiration="2027-01-31")
    post_order(wh, reference_id="SO-LOT", products=[{"reference_id": "RC-SERUM", "quantity": 4}])
    with pytest.raises(ValueError, match="2 serial numbers given for 4"):
        wh.ship("SO-LOT", serials={"RC-SERUM": ["A", "B"]})
    with pytest.raises(ValueError, match="lots of RC-SERUM add up to 3"):
        wh.ship("SO-LOT", lots={"RC-SERUM": {"L-LATE": 3}})
    shipment = wh.ship("SO-LOT")
    items = shipment["products"][0]["inventory_items"]
    assert [(i["lot"], i["quantity"], i["expiration_date"]) for i in items] == [
        ("L-SOON", 3, "2027-01-31"), ("L-LATE", 1, "2027-09-30")]
    assert wh.stock("RC-SERUM")["lots"] == {"L-LATE": {"quantity": 1, "expiration": "2027-09-30"},
                                            "L-SOON": {"quantity": 0, "expiration": "2027-01-31"}}


def test_out_of_stock_order_is_an_exception_until_stock_arrives(wh, receiver):
    order = post_order(wh, reference_id="SO-SHORT", products=[{"reference_id": "RC-CAP", "quantity": 41}])
    assert order["status"] == "Exception"
    detail = order["shipments"][0]["status_details"][0]
    assert detail["name"] == "OutOfStock" and detail["inventory_id"] == wh.product("RC-CAP")["inventory_id"]
    assert receiver.topics() == ["order.shipment.exception"]
    with pytest.raises(ValueError):
        wh.ship("SO-SHORT")
    wh.set_stock("RC-CAP", 41)
    assert wh.order("SO-SHORT")["status"] == "Processing"
    wh.hold("SO-SHORT", "Address could not be validated")
    assert wh.order("SO-SHORT")["shipments"][0]["status"] == "OnHold"
    assert receiver.topics()[-1] == "order.shipment.on_hold"
    wh.release("SO-SHORT")
    assert wh.ship("SO-SHORT")["status"] == "Completed"


def test_auto_ship_after_a_delay_in_two_waves(receiver):
    with ThreePLSimulator(token=TOKEN, webhook_url=receiver.url, webhook_secret=SECRET, auto_ship_delay=0.1,
                          partial_ratio=0.34) as sim:
        order = post_order(sim, products=[{"reference_id": "RC-MUG", "quantity": 6}])
        deadline = time.monotonic() + 5
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        shipments = sim.shipments(order["id"])
    assert [sum(i["quantity"] for i in s["products"][0]["inventory_items"]) for s in shipments] == [2, 4]
    assert all(s["status"] == "Completed" for s in shipments)
    times = [int(h["webhook-timestamp"]) for h, _ in receiver.received]
    assert receiver.topics() == ["order.shipped", "order.shipped"] and times == sorted(times)


# --------------------------------------------------------------------------- webhooks


def test_webhooks_are_signed_the_standard_webhooks_way_and_retried_with_the_same_id(wh, receiver):
    order = post_order(wh)
    receiver.statuses.extend([500, 503])
    wh.ship(order["id"])
    attempts = receiver.received
    assert len(attempts) == 3 and wh.webhooks[-1].state == "sent"
    assert len({h["webhook-id"] for h, _ in attempts}) == 1 and attempts[0][0]["webhook-id"].startswith("msg_")
    for headers, body in attempts:
        assert headers["x-webhook-topic"] == "order.shipped" and headers["content-type"] == "application/json"
        assert signature_ok(headers, body)
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    assert not signature_ok(attempts[0][0], attempts[0][1] + b" ")
    assert json.loads(attempts[0][1])["reference_id"] == "SO-1001"
    assert standard_signature(SECRET, "msg_1", 1, b"{}") == "v1," + base64.b64encode(hmac.new(
        base64.b64decode(SECRET[6:]), b"msg_1.1.{}", hashlib.sha256).digest()).decode()


def test_dropped_duplicated_and_tampered_deliveries(wh, receiver):
    order = post_order(wh, products=[{"reference_id": "RC-MUG", "quantity": 4}])
    wh.drop_webhooks(1)
    wh.ship(order["id"], {"RC-MUG": 1})
    assert receiver.received == [] and wh.webhooks.dropped()[0].topic == "order.shipped"
    wh.duplicate_webhooks(times=3)
    wh.ship(order["id"], {"RC-MUG": 1})
    assert len(receiver.received) == 3 and len({h["webhook-id"] for h, _ in receiver.received}) == 1
    wh.tamper_webhooks(unsigned=True)
    wh.ship(order["id"], {"RC-MUG": 1})
    assert "webhook-signature" not in receiver.received[-1][0]
    wh.tamper_webhooks(secret=new_webhook_secret())
    wh.ship(order["id"])
    assert not signature_ok(*receiver.received[-1])


def test_subscriptions_receive_their_topics_signed_with_their_secret(wh, receiver):
    created = call(wh, "POST", "/webhook", json={"topics": ["order.shipment.cancelled"], "url": receiver.url + "/sub",
                                                 "description": "cancellations"})
    assert created.status_code == 200
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and sub["topics"] == ["order.shipment.cancelled"]
    listed = call(wh, "GET", "/webhook").json()["items"]
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
    bad = call(wh, "POST", "/webhook", json={"topics": ["order.teleported"], "url": receiver.url})
    assert bad.status_code == 422 and "Topics[0]" in bad.json()
    order = post_order(wh)
    wh.cancel(order["id"])
    by_url = {(h["x-webhook-topic"], body): h for h, body in receiver.received}
    assert len(receiver.received) == 2 and len(by_url) == 1  # same event, two targets
    signed_by = sorted(("sub" if signature_ok(h, b, sub["secret"]) else "main" if signature_ok(h, b) else "none")
                       for h, b in receiver.received)
    assert signed_by == ["main", "sub"]
    assert call(wh, "DELETE", f"/webhook/{sub['id']}").status_code == 204
    assert call(wh, "GET", "/webhook").json()["items"] == []


# --------------------------------------------------------------------------- receiving, inventory, returns


def test_receiving_order_lifecycle_with_damage_and_lots(wh, receiver):
    mug, serum = wh.product("RC-MUG")["inventory_id"], wh.product("RC-SERUM")["inventory_id"]
    body = {"fulfillment_center": {"id": 10}, "package_type": "Package", "box_packaging_type": "OneSkuPerBox",
            "expected_arrival_date": "2026-04-01", "purchase_order_number": "PO-1",
            "boxes": [{"tracking_number": "1ZA", "box_items": [{"inventory_id": mug, "quantity": 10}]},
                      {"tracking_number": "1ZB", "box_items": [{"inventory_id": serum, "quantity": 6}]}]}
    refused = call(wh, "POST", "/receiving", json=body)
    assert refused.status_code == 400 and "lot tracked" in refused.json()["Boxes[1].BoxItems[0].LotNumber"][0]
    body["boxes"][1]["box_items"][0].update(lot_number="L-9", lot_date="2027-12-31")
    created = call(wh, "POST", "/receiving", json=body)
    assert created.status_code == 201
    wro = created.json()
    assert (wro["status"], wro["fulfillment_center"]["id"], wro["box_labels_uri"].endswith("/labels")) == (
        "Awaiting", 10, True)
    assert [(q["sku"], q["expected_quantity"], q["received_quantity"]) for q in wro["inventory_quantities"]] == [
        ("RC-MUG", 10, 0), ("RC-SERUM", 6, 0)]
    level = call(wh, "GET", "/inventory-level/locations", params={"SearchBy": "RC-SERUM"}).json()["items"][0]
    assert level["locations"][0]["awaiting_quantity"] == 6
    wh.receive(wro["id"], {"RC-MUG": 6}, damaged={"RC-MUG": 1}, complete=False)
    wh.receive(wro["id"], {"RC-MUG": 5, "RC-SERUM": 6}, damaged={"RC-MUG": 1})
    done = call(wh, "GET", f"/receiving/{wro['id']}").json()
    assert done["status"] == "Completed"
    assert [h["status"] for h in done["status_history"]] == ["Awaiting", "Arrived", "Processing", "Completed"]
    assert [(q["received_quantity"], q["stowed_quantity"]) for q in done["inventory_quantities"]] == [(11, 9), (6, 6)]
    boxes = call(wh, "GET", f"/receiving/{wro['id']}/boxes").json()
    assert [b["box_status"] for b in boxes] == ["Completed", "Completed"]
    assert boxes[1]["box_items"][0] == {"inventory_id": serum, "quantity": 6, "lot_number": "L-9",
                                        "lot_date": "2027-12-31", "received_quantity": 6, "stowed_quantity": 6}
    assert wh.stock("RC-MUG")["on_hand"] == 59 and wh.stock("RC-SERUM")["lots"]["L-9"]["quantity"] == 6
    assert receiver.topics() == ["wro.created", "wro.updated", "wro.completed"]
    assert call(wh, "POST", f"/receiving/{wro['id']}:cancel").status_code == 422
    listed = call(wh, "GET", "/receiving", params={"PurchaseOrderNumbers": "PO-1", "Statuses": "Completed"}).json()
    assert [w["id"] for w in listed] == [wro["id"]]


def test_inventory_levels_page_by_links(wh):
    wh.add_product("RC-BAG", "Tote", stock={10: 3, 17: 8})
    first = call(wh, "GET", "/inventory-level/locations", params={"PageSize": 2}).json()
    assert [i["sku"] for i in first["items"]] == ["RC-TSHIRT-M", "RC-MUG"]
    assert first["prev"] is None and first["first"] is None and "Cursor=2" in first["next"]
    last = requests.get(wh.url + first["last"], headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [i["sku"] for i in last["items"]] == ["RC-BAG"] and last["next"] is None and last["last"] is None
    locations = last["items"][0]["locations"]
    assert [(loc["location_id"], loc["on_hand_quantity"]) for loc in locations] == [(10, 3), (17, 8)]
    only = call(wh, "GET", "/inventory-level/locations", params={"LocationId": 17}).json()["items"]
    assert [(i["sku"], [loc["location_id"] for loc in i["locations"]]) for i in only] == [("RC-BAG", [17])]
    totals = call(wh, "GET", "/inventory-level", params={"SearchBy": "RC-BAG"}).json()["items"][0]
    assert (totals["total_on_hand_quantity"], totals["total_fulfillable_quantity"]) == (11, 11)
    assert call(wh, "GET", "/product", params={"SKU": "rc-bag"}).json()["items"][0]["variants"][0]["inventory"][
        "inventory_id"] == wh.product("RC-BAG")["inventory_id"]


def test_returns_need_a_shipped_shipment_and_restock_on_processing(wh, receiver):
    order = post_order(wh, products=[{"reference_id": "RC-MUG", "quantity": 2},
                                     {"reference_id": "RC-CAP", "quantity": 1}])
    mug, cap = wh.product("RC-MUG")["inventory_id"], wh.product("RC-CAP")["inventory_id"]
    body = {"reference_id": "RMA-1", "fulfillment_center": {"id": 10},
            "original_shipment_id": order["shipments"][0]["id"],
            "inventory": [{"id": mug, "quantity": 2, "requested_action": "Restock"},
                          {"id": cap, "quantity": 1, "requested_action": "Dispose"}]}
    assert call(wh, "POST", "/return", json=body).status_code == 422  # not shipped yet
    shipment = wh.ship(order["id"])
    body["original_shipment_id"] = shipment["id"]
    created = call(wh, "POST", "/return", json=body)
    assert created.status_code == 201 and created.json()["status"] == "AwaitingArrival"
    duplicate = call(wh, "POST", "/return", json=body)
    assert duplicate.status_code == 422 and "already exists" in duplicate.json()["message"]
    on_hand = (wh.stock("RC-MUG")["on_hand"], wh.stock("RC-CAP")["on_hand"])
    wh.process_return(created.json()["id"])
    assert (wh.stock("RC-MUG")["on_hand"], wh.stock("RC-CAP")["on_hand"]) == (on_hand[0] + 2, on_hand[1])
    found = call(wh, "GET", "/return", params={"ReferenceIds": "RMA-1"}).json()["items"][0]
    assert found["status"] == "Completed" and found["inventory"][1]["action_taken"][0]["action"] == "Dispose"
    assert found["store_order_id"] == "SO-1001" and found["inventory"][0]["sku"] == "RC-MUG"
    assert receiver.topics()[-2:] == ["return.created", "return.completed"]


# --------------------------------------------------------------------------- faults and rate limit


def test_rate_limit_answers_shipbob_headers_and_faults_come_from_the_framework(receiver):
    with ThreePLSimulator(token=TOKEN, requests_per_minute=3) as sim:
        answers = [call(sim, "GET", "/fulfillment-center") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["x-remaining-calls"] for a in answers] == ["2", "1", "0", "0"]
        limited = answers[-1]
        assert int(limited.headers["x-retry-after"]) >= 1 and "Retry-After" not in limited.headers
        assert limited.json()["statusCode"] == 429 and sim.rate_limited_count == 1
    with ThreePLSimulator(token=TOKEN) as sim:
        sim.inject("POST", API + "/order", status=503)
        sim.inject("GET", API + "/order", drop_connection=True)
        assert call(sim, "POST", "/order", json=ORDER).status_code == 503
        assert sim.orders == []
        with pytest.raises(requests.ConnectionError):
            call(sim, "GET", "/order")
        assert call(sim, "POST", "/order", json=ORDER).status_code == 201
        assert [(c.method, c.status, c.dropped) for c in sim.calls] == [
            ("POST", 503, False), ("GET", None, True), ("POST", 201, False)]
