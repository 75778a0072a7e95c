"""Tests of the 3PL protocol layer (ShipBob Developer API client, mapping, webhooks) without Odoo.

The client talks to the 3PL simulator over loopback HTTP; webhooks the simulator delivers to a
small receiver here are verified and read by the lib. The mapping is also checked on documents
written from ShipBob's OpenAPI schemas (OrderViewModel, ShipmentViewModel, WRO view model).
"""

import copy
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelNotFound,
    ChannelRateLimited,
    ChannelTransportError,
    ChannelValidationError,
)
from retail_connector_base_lib.signatures import SignatureError
from retail_connector_wms_lib.threepl import (
    ThreePLClient,
    ThreePLMappingError,
    address_update_body,
    cancel_result,
    inventory_rows,
    order_body,
    order_result,
    parse_event,
    parse_events,
    receiving_body,
    receiving_result,
    return_body,
    return_result,
    shipment_event_result,
    shipment_open,
    shipped_quantities,
    sign,
    verify,
)
from retail_connector_wms_lib.threepl.webhooks import header
from simulators.threepl import ThreePLSimulator

TOKEN = "pat_lib_token"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example secret of ShipBob's webhook documentation
OLD_SECRET = "whsec_c2VjcmV0LW9mLWxhc3QteWVhcg=="
WRITER, READER, OTHER = 410001, 410002, 410003
CHANNELS = (
    {"id": READER, "name": "Reporting", "application_name": "Reporting", "scopes": ["orders_read"]},
    {"id": WRITER, "name": "Retail Connector", "application_name": "SMA",
     "scopes": ["orders_read", "orders_write", "returns_write", "receiving_write"]},
    {"id": OTHER, "name": "Marketplace", "application_name": "SMA", "scopes": ["orders_read", "orders_write"]},
)
PICKING = {
    "reference": "WH/OUT/00042",
    "ship_to": {"name": "Ada Lovelace", "company": "Analytical Ltd", "street": "12 Rue de la Paix", "street2": "3e",
                "city": "Paris", "zip": "75002", "state": "", "country_code": "fr", "phone": "+33 1 23 45 67 89",
                "email": "ada@example.com"},
    "shipping_method": "Expedited",
    "lines": [{"sku": "RC-MUG", "quantity": 3, "line_ref": 101}, {"sku": "RC-CAP", "quantity": 1.0, "line_ref": "102"}],
}


class Receiver:
    """A webhook endpoint recording each POST (headers as received, raw body)."""

    def __init__(self):
        self.received = []
        self.statuses = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/retail/webhook/threepl"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def sim(receiver):
    with ThreePLSimulator(token=TOKEN, channels=CHANNELS, webhook_url=receiver.url, webhook_secret=SECRET,
                          seed=7) as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    return ThreePLClient(sim.url, TOKEN, timeout=5, page_size=2)


def create(client, reference="WH/OUT/00042", lines=None):
    picking = copy.deepcopy(PICKING)
    picking["reference"] = reference
    if lines is not None:
        picking["lines"] = lines
    return client.create_order(order_body(picking))


# --------------------------------------------------------------------------- mapping


def test_picking_maps_to_shipbob_create_order_model():
    body = order_body(PICKING)
    assert body == {
        "reference_id": "WH/OUT/00042", "order_number": "WH/OUT/00042", "type": "DTC", "shipping_method": "Expedited",
        "recipient": {
            "name": "Ada Lovelace", "email": "ada@example.com", "phone_number": "+33 1 23 45 67 89",
            "address": {"address1": "12 Rue de la Paix", "address2": "3e", "company_name": "Analytical Ltd",
                        "city": "Paris", "state": None, "zip_code": "75002", "country": "FR"},
        },
        "products": [{"reference_id": "RC-MUG", "name": "RC-MUG", "quantity": 3, "external_line_id": 101},
                     {"reference_id": "RC-CAP", "name": "RC-CAP", "quantity": 1, "external_line_id": 102}],
    }
    assert order_body({**PICKING, "shipping_method": None})["shipping_method"] == "Standard"


@pytest.mark.parametrize("change, message", [
    ({"reference": " "}, "no reference"),
    ({"ship_to": {**PICKING["ship_to"], "street": ""}}, "lacks street"),
    ({"ship_to": {**PICKING["ship_to"], "country_code": "FRA"}}, "alpha-2"),
    ({"lines": [{"sku": "RC-MUG", "quantity": 1.5}]}, "whole number"),
    ({"lines": [{"sku": "RC-MUG", "quantity": 1, "line_ref": "move-7"}]}, "external_line_id is numeric"),
    ({"lines": []}, "no lines"),
])
def test_bad_pickings_are_refused_naming_the_field(change, message):
    with pytest.raises(ThreePLMappingError, match=message):
        order_body({**PICKING, **change})


def _shipment(shipment_id, status, items, tracking=None, details=(), delivered=None):
    """Return a ShipmentViewModel as ShipBob's OpenAPI schema describes it."""
    return {
        "id": shipment_id, "order_id": 300000009, "reference_id": "WH/OUT/00042", "status": status,
        "status_details": [{"id": 1, "name": d, "description": d} for d in details],
        "location": {"id": 10, "name": "Chicago (IL)"}, "tracking": tracking,
        "actual_fulfillment_date": "2026-03-02T15:04:05Z" if tracking else None, "delivery_date": delivered,
        "measurements": {"total_weight_oz": 24, "length_in": 12, "width_in": 9, "depth_in": 4} if tracking else None,
        "products": [{"id": 1, "reference_id": sku, "sku": sku, "name": sku, "inventory_items": inv}
                     for sku, inv in items.items()],
    }


SHIPPED_PART = _shipment(501, "Completed", {
    "RC-SERUM": [{"id": 9, "quantity": 2, "lot": "L-A", "expiration_date": "2027-01-31", "serial_numbers": []},
                 {"id": 9, "quantity": 1, "lot": "L-B", "expiration_date": "2027-06-30", "serial_numbers": []}],
    "RC-CAM": [{"id": 8, "quantity": 2, "lot": None, "serial_numbers": ["SN-1", "SN-2"]}],
}, tracking={"carrier": "UPS", "carrier_service": "Ground", "tracking_number": "1Z999",
             "tracking_url": "https://t/1Z999"})
WAITING_REST = _shipment(502, "Processing", {"RC-SERUM": [{"id": 9, "quantity": 1, "quantity_committed": 1}]})


def test_order_with_one_shipment_out_reads_as_partially_shipped_with_lots_and_serials():
    order = {"id": 300000009, "reference_id": "WH/OUT/00042", "status": "PartiallyFulfilled",
             "shipments": [SHIPPED_PART, WAITING_REST]}
    result = order_result(order)
    assert (result["order_ref"], result["order_id"], result["status"]) == (
        "WH/OUT/00042", 300000009, "partially_shipped")
    out, rest = result["shipments"]
    assert (out["status"], out["tracking_number"], out["carrier"], out["shipped_at"]) == (
        "shipped", "1Z999", "UPS", "2026-03-02T15:04:05Z")
    serum, cam = out["lines"]
    assert serum == {"sku": "RC-SERUM", "quantity": 3, "serials": [], "lots": [
        {"lot": "L-A", "quantity": 2, "expiration_date": "2027-01-31"},
        {"lot": "L-B", "quantity": 1, "expiration_date": "2027-06-30"}]}
    assert (cam["quantity"], cam["lots"], cam["serials"]) == (2, [], ["SN-1", "SN-2"])
    assert out["packages"] == [{"tracking_number": "1Z999", "weight_oz": 24, "length_in": 12, "width_in": 9,
                                "depth_in": 4}]
    assert (rest["status"], rest["packages"], rest["lines"][0]["quantity"]) == ("processing", [], 1)
    assert shipped_quantities(result) == {"RC-SERUM": 3, "RC-CAM": 2}


def test_order_status_follows_the_shipments():
    cancelled_rest = {**WAITING_REST, "status": "Cancelled"}
    assert order_result({"status": "Fulfilled", "shipments": [SHIPPED_PART, cancelled_rest]})["status"] == "shipped"
    delivered = {**SHIPPED_PART, "status_details": [{"name": "Delivered"}]}
    assert order_result({"status": "Fulfilled", "shipments": [delivered]})["status"] == "delivered"
    assert order_result({"status": "Cancelled", "shipments": [cancelled_rest]})["status"] == "cancelled"
    held = {**WAITING_REST, "status": "OnHold"}
    assert order_result({"status": "Processing", "shipments": [held]})["status"] == "on_hold"
    event = shipment_event_result(cancelled_rest)
    assert (event["order_ref"], event["status"], event["shipments"][0]["id"]) == ("WH/OUT/00042", "cancelled", 502)


def test_cancel_result_names_the_shipments_that_could_not_be_cancelled():
    result = cancel_result({"order_id": 5, "status": "PartialSuccess", "canceled_shipment_results": [
        {"shipment_id": 501, "action": "Cancel", "is_success": False, "reason": "Already shipped"},
        {"shipment_id": 502, "action": "Cancel", "is_success": True, "reason": None}]})
    assert result == {"order_id": 5, "status": "partially_cancelled", "cancelled": [502],
                      "refused": [{"shipment_id": 501, "reason": "Already shipped"}]}


def test_receiving_order_reads_damage_only_once_received_and_lots_from_boxes():
    wro = {"id": 60001, "purchase_order_number": "PO-7", "status": "Completed", "fulfillment_center": {"id": 10},
           "inventory_quantities": [
               {"inventory_id": 9, "sku": "RC-SERUM", "expected_quantity": 10, "received_quantity": 9,
                "stowed_quantity": 7},
               {"inventory_id": 2, "sku": "RC-MUG", "expected_quantity": 5, "received_quantity": 5,
                "stowed_quantity": 5}]}
    boxes = [{"box_items": [{"inventory_id": 9, "lot_number": "L-A", "lot_date": "2027-01-31", "quantity": 6,
                             "received_quantity": 6, "stowed_quantity": 4},
                            {"inventory_id": 2, "quantity": 5, "received_quantity": 5, "stowed_quantity": 5}]},
             {"box_items": [{"inventory_id": 9, "lot_number": "L-B", "lot_date": "2027-06-30", "quantity": 4,
                             "received_quantity": 3, "stowed_quantity": 3}]}]
    result = receiving_result(wro, boxes)
    serum, mug = result["lines"]
    assert (result["ref"], result["status"], result["location"]) == ("PO-7", "received", 10)
    assert (serum["expected"], serum["received"], serum["stowed"], serum["damaged"]) == (10, 9, 7, 2)
    assert [(lot["lot"], lot["quantity"], lot["stowed"]) for lot in serum["lots"]] == [("L-A", 6, 4), ("L-B", 3, 3)]
    assert (mug["damaged"], mug["lots"]) == (0, [])
    in_progress = receiving_result({**wro, "status": "Processing"})
    assert in_progress["status"] == "processing" and in_progress["lines"][0]["damaged"] == 0


def test_asn_maps_to_a_wro_with_the_box_packaging_type_of_its_boxes():
    ids = {"RC-MUG": 2, "RC-SERUM": 9}
    one_box = receiving_body({"reference": "PO-7", "fulfillment_center_id": "10", "expected_date": "2026-04-01",
                              "lines": [{"sku": "RC-MUG", "quantity": 5},
                                        {"sku": "RC-SERUM", "quantity": 4, "lot": "L-B", "lot_date": "2027-06-30"}]},
                             ids)
    assert one_box == {
        "fulfillment_center": {"id": 10}, "package_type": "Package", "box_packaging_type": "EverythingInOneBox",
        "expected_arrival_date": "2026-04-01", "purchase_order_number": "PO-7",
        "boxes": [{"tracking_number": "PO-7-1", "box_items": [
            {"inventory_id": 2, "quantity": 5},
            {"inventory_id": 9, "quantity": 4, "lot_number": "L-B", "lot_date": "2027-06-30"}]}],
    }
    per_sku = receiving_body({"reference": "PO-8", "fulfillment_center_id": 10, "expected_date": "2026-04-01",
                              "boxes": [{"tracking_number": "T1", "lines": [{"sku": "RC-MUG", "quantity": 5}]},
                                        {"tracking_number": "T2", "lines": [{"sku": "RC-SERUM", "quantity": 1}]}]}, ids)
    assert per_sku["box_packaging_type"] == "OneSkuPerBox"
    with pytest.raises(ThreePLMappingError, match="RC-NEW.*no ShipBob inventory id"):
        receiving_body({"reference": "PO-9", "fulfillment_center_id": 10, "expected_date": "2026-04-01",
                        "lines": [{"sku": "RC-NEW", "quantity": 1}]}, ids)


def test_inventory_rows_and_return_results():
    rows = inventory_rows([{"inventory_id": 2, "sku": "RC-MUG", "locations": [
        {"location_id": 10, "name": "Chicago (IL)", "on_hand_quantity": 7, "committed_quantity": 3,
         "fulfillable_quantity": 4, "awaiting_quantity": 5}]}])
    assert rows == [{"sku": "RC-MUG", "inventory_id": 2, "location": 10, "location_name": "Chicago (IL)", "on_hand": 7,
                     "available": 4, "committed": 3, "awaiting": 5}]
    ret = return_result({"id": 3, "reference_id": "RMA-1", "status": "Completed", "fulfillment_center": {"id": 10},
                         "inventory": [{"id": 2, "sku": "RC-MUG", "quantity": 3, "action_taken": [
                             {"action": "Restock", "quantity_processed": 2},
                             {"action": "Quarantine", "quantity_processed": 1}]}]})
    assert ret["status"] == "received" and ret["kind"] == "return"
    assert {k: ret["lines"][0][k] for k in ("expected", "received", "stowed", "damaged")} == {
        "expected": 3, "received": 3, "stowed": 2, "damaged": 1}
    assert return_body({"reference": "RMA-1", "fulfillment_center_id": 10, "original_shipment_id": "501",
                        "lines": [{"sku": "RC-MUG", "quantity": 2, "action": "Quarantine"}]}, {"RC-MUG": 2}) == {
        "reference_id": "RMA-1", "fulfillment_center": {"id": 10}, "original_shipment_id": 501,
        "inventory": [{"id": 2, "quantity": 2, "requested_action": "Quarantine"}]}


# --------------------------------------------------------------------------- client: orders


def test_create_is_idempotent_by_reference_and_picks_the_writable_channel(sim, client):
    first = create(client)
    assert client.channel_id == WRITER  # the reporting channel, listed first, has no orders_write
    again = create(client)
    assert again["id"] == first["id"] and len(sim.orders) == 1
    posts = sim.calls_to("POST", "/2026-01/order")
    assert [c.status for c in posts] == [201, 422]
    assert posts[1].headers["shipbob_channel_id"] == str(WRITER)
    lookup = sim.calls_to("GET", "/2026-01/order")[-1]
    assert lookup.query["ReferenceIds"] == "WH/OUT/00042"
    assert first["recipient"]["address"]["country"] == "FR" and first["status"] == "Processing"


def test_create_that_timed_out_is_retried_into_the_order_the_3pl_created(sim):
    slow = ThreePLClient(sim.url, TOKEN, channel_id=WRITER, timeout=0.3)
    sim.inject("POST", "/2026-01/order", delay=0.6)
    with pytest.raises(ChannelTransportError, match="did not answer in time"):
        create(slow, "WH/OUT/00077")
    # the client looked the reference up before giving up: not there yet
    assert sim.calls_to("GET", "/2026-01/order")[-1].query["ReferenceIds"] == "WH/OUT/00077"
    deadline = time.monotonic() + 3
    while not sim.orders and time.monotonic() < deadline:
        time.sleep(0.02)
    order = create(slow, "WH/OUT/00077")
    assert order["reference_id"] == "WH/OUT/00077" and len(sim.orders) == 1
    assert [c.status for c in sim.calls_to("POST", "/2026-01/order")] == [201, 422]


def test_reference_taken_by_another_channel_is_a_validation_error(sim, client):
    create(client, "SO-1")
    other = ThreePLClient(sim.url, TOKEN, channel_id=OTHER, timeout=5)
    with pytest.raises(ChannelValidationError, match="used by another channel") as caught:
        create(other, "SO-1")
    assert caught.value.status == 422
    assert caught.value.details == [{"": ["Cannot insert order with existing ReferenceId"]}]


def test_partial_shipment_then_the_rest(sim, client, receiver):
    order = create(client)
    sim.ship(order["id"], {"RC-MUG": 2}, tracking="1ZPART")
    status = client.order_status(order["id"])
    assert status["status"] == "partially_shipped"
    assert shipped_quantities(status) == {"RC-MUG": 2}
    waiting = [s for s in status["shipments"] if s["status"] == "processing"]
    assert [(line["sku"], line["quantity"]) for line in waiting[0]["lines"]] == [("RC-MUG", 1), ("RC-CAP", 1)]
    sim.ship(order["reference_id"], tracking={"tracking_number": "1ZREST", "carrier": "UPS"})
    status = client.order_status(order["id"])
    assert status["status"] == "shipped" and shipped_quantities(status) == {"RC-MUG": 3, "RC-CAP": 1}
    shipments = client.list_shipments(order["id"])
    assert [s["tracking"]["tracking_number"] for s in shipments] == ["1ZPART", "1ZREST"]
    assert client.get_shipment(shipments[1]["id"])["tracking"]["carrier"] == "UPS"
    # both announcements arrive signed; each reads as the order's state at that moment
    events = parse_events([(body, headers) for headers, body in receiver.received])
    assert [(e.topic, e.result["status"]) for e in events] == [
        ("order.shipped", "partially_shipped"), ("order.shipped", "shipped")]
    for headers, body in receiver.received:
        assert verify(body, headers, [SECRET]) == 0


def test_lots_and_serials_come_back_on_the_shipment(sim, client):
    sim.set_stock("RC-SERUM", 2, lot="L-LATE", expiration="2027-09-30")
    sim.set_stock("RC-SERUM", 2, lot="L-SOON", expiration="2027-01-31")
    order = create(client, "SO-LOT", [{"sku": "RC-SERUM", "quantity": 3, "line_ref": 1}])
    sim.ship(order["id"], serials={"RC-SERUM": ["S1", "S2", "S3"]})
    line = client.order_status(order["id"])["shipments"][0]["lines"][0]
    assert line["lots"] == [{"lot": "L-SOON", "quantity": 2, "expiration_date": "2027-01-31"},
                            {"lot": "L-LATE", "quantity": 1, "expiration_date": "2027-09-30"}]
    assert line["serials"] == ["S1", "S2", "S3"]


def test_cancel_after_a_partial_shipment_cancels_only_the_rest(sim, client, receiver):
    order = create(client)
    shipped = sim.ship(order["id"], {"RC-CAP": 1})
    result = cancel_result(client.cancel_order(order["id"]))
    assert result["status"] == "partially_cancelled"
    assert result["refused"][0]["shipment_id"] == shipped["id"] and len(result["cancelled"]) == 1
    event = parse_event(*receiver.received[-1][::-1])
    assert (event.topic, event.kind, event.result["status"]) == ("order.shipment.cancelled", "shipment", "cancelled")
    assert {line["sku"]: line["quantity"] for line in event.result["shipments"][0]["lines"]} == {"RC-MUG": 3}
    assert client.order_status(order["id"])["status"] == "shipped"


def test_a_new_address_goes_to_the_shipments_that_have_not_left(sim, client):
    order = create(client)
    shipped = sim.ship(order["id"], {"RC-CAP": 1}, tracking="1ZGONE")
    body = address_update_body({**PICKING["ship_to"], "street": "1 Quai Voltaire", "street2": "", "zip": "75007"},
                               PICKING["reference"])
    assert body == {"name": "Ada Lovelace", "street_address1": "1 Quai Voltaire", "company_name": "Analytical Ltd",
                    "city": "Paris", "zip_code": "75007", "country_code": "FR", "email": "ada@example.com",
                    "phone_number": "+33 1 23 45 67 89"}
    shipments = client.list_shipments(order["id"])
    assert [shipment_open(s) for s in shipments] == [False, True]
    moved = client.update_shipment_address(shipments[1]["id"], body)
    assert moved["recipient"]["address"]["address1"] == "1 Quai Voltaire"
    assert moved["recipient"]["address"]["zip_code"] == "75007"
    assert sim.address_changes == [{"shipment_id": shipments[1]["id"], "body": body}]
    with pytest.raises(ChannelValidationError, match="can no longer change") as caught:
        client.update_shipment_address(shipped["id"], body)
    assert caught.value.status == 422
    assert client.get_shipment(shipped["id"])["recipient"]["address"]["address1"] == "12 Rue de la Paix"
    with pytest.raises(ThreePLMappingError, match="lacks street"):
        address_update_body({**PICKING["ship_to"], "street": ""}, "WH/OUT/00042")


# --------------------------------------------------------------------------- client: stock, ASN, returns


def test_inventory_snapshot_follows_next_links_across_pages(sim, client):
    sim.add_product("RC-BAG", "Tote", stock={10: 4, 17: 6})
    create(client, "SO-STOCK", [{"sku": "RC-MUG", "quantity": 5}])
    rows = client.inventory_snapshot()
    pages = sim.calls_to("GET", "/2026-01/inventory-level/locations")
    assert [c.query.get("Cursor") for c in pages] == [None, "2", "3"]
    assert all(c.query["PageSize"] == "2" for c in pages)
    by_key = {(r["sku"], r["location"]): r for r in rows}
    assert {k[0] for k in by_key} == {"RC-TSHIRT-M", "RC-MUG", "RC-CAP", "RC-SERUM", "RC-BAG"}
    mug = by_key[("RC-MUG", 10)]
    assert (mug["on_hand"], mug["committed"], mug["available"]) == (50, 5, 45)
    assert (by_key[("RC-BAG", 17)]["on_hand"], by_key[("RC-BAG", 10)]["on_hand"]) == (6, 4)
    assert [r["sku"] for r in client.inventory_snapshot(location_id=17)] == ["RC-BAG"]


def test_next_link_to_another_host_is_not_followed(client):
    with pytest.raises(ChannelTransportError, match="another host"):
        client._follow("https://elsewhere.example/2026-01/inventory-level/locations?Cursor=2")


def test_asn_is_created_once_received_with_damage_and_lots(sim, client, receiver):
    ids = client.find_inventory_ids(["RC-MUG", "RC-SERUM", "RC-UNKNOWN"])
    assert ids == {"RC-MUG": sim.product("RC-MUG")["inventory_id"], "RC-SERUM": sim.product("RC-SERUM")["inventory_id"]}
    asn = {"reference": "PO-2026-001", "fulfillment_center_id": 10, "expected_date": "2026-04-01",
           "boxes": [{"tracking_number": "1ZBOX1", "lines": [{"sku": "RC-MUG", "quantity": 10}]},
                     {"tracking_number": "1ZBOX2", "lines": [{"sku": "RC-SERUM", "quantity": 6, "lot": "L-9",
                                                              "lot_date": "2027-12-31"}]}]}
    wro = client.create_receiving_order(receiving_body(asn, ids))
    assert wro["status"] == "Awaiting" and wro["box_packaging_type"] == "OneSkuPerBox"
    assert client.create_receiving_order(receiving_body(asn, ids))["id"] == wro["id"]
    assert len(sim.calls_to("POST", "/2026-01/receiving")) == 1
    sim.receive(wro["id"], {"RC-MUG": 10, "RC-SERUM": 5}, damaged={"RC-MUG": 1})
    status = client.receiving_status(wro["id"])
    lines = {line["sku"]: line for line in status["lines"]}
    assert (status["ref"], status["status"]) == ("PO-2026-001", "received")
    assert (lines["RC-MUG"]["received"], lines["RC-MUG"]["damaged"], lines["RC-MUG"]["stowed"]) == (10, 1, 9)
    assert lines["RC-SERUM"]["lots"][0]["lot"] == "L-9" and lines["RC-SERUM"]["received"] == 5
    assert sim.stock("RC-MUG")["on_hand"] == 59
    event = parse_event(*receiver.received[-1][::-1])
    assert (event.topic, event.kind, event.result["lines"][0]["damaged"]) == ("wro.completed", "receiving", 1)
    with pytest.raises(ChannelValidationError, match="cannot be cancelled") as caught:
        client.cancel_receiving_order(wro["id"])
    assert caught.value.status == 422


def test_customer_return_is_created_once_and_read_when_processed(sim, client, receiver):
    order = create(client, "SO-RET", [{"sku": "RC-MUG", "quantity": 2}])
    shipment = sim.ship(order["id"])
    ids = client.find_inventory_ids(["RC-MUG"])
    body = return_body({"reference": "RMA-77", "fulfillment_center_id": 10, "original_shipment_id": shipment["id"],
                        "lines": [{"sku": "RC-MUG", "quantity": 2}]}, ids)
    created = client.create_return(body)
    assert created["status"] == "AwaitingArrival" and created["store_order_id"] == "SO-RET"
    assert client.create_return(body)["id"] == created["id"]
    sim.process_return(created["id"], actions={"RC-MUG": "Quarantine"})
    result = return_result(client.get_return(created["id"]))
    assert (result["status"], result["lines"][0]["received"], result["lines"][0]["damaged"]) == ("received", 2, 2)
    assert parse_event(*receiver.received[-1][::-1]).result["ref"] == "RMA-77"


# --------------------------------------------------------------------------- client: errors


def test_wrong_token_and_read_only_channel_are_auth_errors(sim):
    with pytest.raises(ChannelAuthError) as caught:
        ThreePLClient(sim.url, "pat_wrong", channel_id=WRITER).get_order(1)
    assert caught.value.status == 401 and not caught.value.retryable
    reader = ThreePLClient(sim.url, TOKEN, channel_id=READER)
    with pytest.raises(ChannelAuthError, match="no write scope") as caught:
        create(reader, "SO-RO")
    assert caught.value.status == 403


def test_unknown_order_is_not_found(client):
    with pytest.raises(ChannelNotFound, match="Order 999 was not found"):
        client.get_order(999)
    assert client.find_order_by_reference("SO-NONE") is None


def test_validation_errors_carry_shipbob_model_state(client):
    body = order_body(PICKING)
    del body["recipient"]["address"]["city"]
    body["products"][0]["quantity"] = 0
    with pytest.raises(ChannelValidationError) as caught:
        client.create_order(body)
    error = caught.value
    assert error.status == 400 and not error.retryable
    assert "Recipient.Address.City: The City field is required." in str(error)
    assert set(error.details[0]) == {"Recipient.Address.City", "Products[0].Quantity"}


def test_rate_limit_answers_carry_the_wait(sim, client):
    sim.inject("GET", "/2026-01/order/", status=429, retry_after=7)
    with pytest.raises(ChannelRateLimited) as caught:
        client.get_order(1)
    assert caught.value.retry_after == 7.0 and caught.value.retryable
    sim.set_rate_limit((0.5, 1))  # ShipBob's own limit answers x-retry-after, not Retry-After
    client.list_channels()
    with pytest.raises(ChannelRateLimited, match="Rate limit is exceeded") as caught:
        client.list_channels()
    assert caught.value.retry_after == 2.0


def test_server_errors_and_dropped_connections_are_transient(sim, client):
    sim.inject("GET", "/2026-01/fulfillment-center", status=503)
    with pytest.raises(ChannelTransportError) as caught:
        client.list_fulfillment_centers()
    assert caught.value.status == 503 and caught.value.retryable
    sim.inject("GET", "/2026-01/fulfillment-center", drop_connection=True)
    with pytest.raises(ChannelTransportError, match="cannot connect|did not answer|Connection"):
        client.list_fulfillment_centers()
    assert [c["id"] for c in client.list_fulfillment_centers()] == [10, 17]


# --------------------------------------------------------------------------- webhooks


def test_signature_scheme_matches_standard_webhooks():
    body = b'{"id":1}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
               "webhook-signature": "v1,bm90LWl0 " + sign(SECRET, "msg_1", 1700000000, body)}
    assert verify(body, headers, [SECRET], now=1700000100) == 0
    assert verify(body, headers, [OLD_SECRET, SECRET], now=1700000100) == 1
    with pytest.raises(SignatureError, match="off the server clock"):
        verify(body, headers, [SECRET], now=1700000000 + 301)
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, {**headers, "webhook-id": "msg_2"}, [SECRET], now=1700000100)
    with pytest.raises(SignatureError, match="webhook-signature header is missing"):
        verify(body, {"webhook-id": "msg_1", "webhook-timestamp": "1700000000"}, [SECRET], now=1700000100)
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(body, headers, [], now=1700000100)


def test_deliveries_are_verified_tampering_refused_and_duplicates_dropped(sim, client, receiver):
    order = create(client, "SO-HOOK", [{"sku": "RC-CAP", "quantity": 2}])
    sim.duplicate_webhooks(times=2)
    sim.ship(order["id"], {"RC-CAP": 1})
    sim.tamper_webhooks(secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQQ==")
    sim.ship(order["id"])
    sim.tamper_webhooks(timestamp_skew=-900)
    sim.mark_delivered(order["id"])
    # one delivered event per shipment that left: only the first is sent with an old timestamp
    first, duplicate, forged, stale, fresh = receiver.received
    # the headers are kept as received ("Webhook-Id"): the lib reads names case-insensitively
    assert "webhook-id" not in first[0] and header(first[0], "webhook-id") == header(duplicate[0], "webhook-id")
    assert verify(first[1], first[0], [SECRET]) == 0
    assert verify(fresh[1], fresh[0], [SECRET]) == 0
    assert len(parse_events([(first[1], first[0]), (duplicate[1], duplicate[0])])) == 1
    with pytest.raises(SignatureError, match="does not match"):
        verify(first[1].replace(b'"RC-CAP"', b'"RC-CAT"'), first[0], [SECRET])
    with pytest.raises(SignatureError, match="does not match"):
        verify(forged[1], forged[0], [SECRET])
    with pytest.raises(SignatureError, match="off the server clock"):
        verify(stale[1], stale[0], [SECRET])
    delivered = parse_event(stale[1], stale[0])
    assert (delivered.topic, delivered.result["status"]) == ("order.shipment.delivered", "delivered")


def test_subscription_gets_its_own_secret_and_legacy_topic_names_are_read(sim, client, receiver):
    sub_url = receiver.url + "?sub=1"
    outcome = client.ensure_webhook_subscription(sub_url, ["order.shipped", "order.shipment.cancelled"])
    assert outcome["created"] and outcome["subscription"]["secret"].startswith("whsec_")
    again = client.ensure_webhook_subscription(sub_url, ["order.shipped"])
    assert not again["created"] and again["subscription"]["id"] == outcome["subscription"]["id"]
    order = create(client, "SO-SUB", [{"sku": "RC-CAP", "quantity": 1}])
    client.cancel_order(order["id"])
    to_sub = [(h, b) for h, b in receiver.received if header(h, "x-webhook-topic") == "order.shipment.cancelled"]
    assert len(to_sub) == 2  # the subscription and the configured webhook URL
    secrets_ok = sorted(verify(b, h, [SECRET, outcome["subscription"]["secret"]]) for h, b in to_sub)
    assert secrets_ok == [0, 1]
    legacy = parse_event(json.dumps({"id": 5, "order_id": 9, "status": "Cancelled", "products": []}),
                         {"shipbob-topic": "shipment_cancelled"})
    assert (legacy.topic, legacy.result["status"]) == ("order.shipment.cancelled", "cancelled")


def test_auto_shipping_with_delay_and_partial_ratio_reaches_the_receiver(receiver):
    with ThreePLSimulator(token=TOKEN, webhook_url=receiver.url, webhook_secret=SECRET, auto_ship_delay=0.15,
                          partial_ratio=0.5) as sim:
        client = ThreePLClient(sim.url, TOKEN, timeout=5)
        started = time.monotonic()
        order = create(client, "SO-AUTO", [{"sku": "RC-MUG", "quantity": 4}])
        deadline = time.monotonic() + 5
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    events = parse_events([(body, headers) for headers, body in receiver.received])
    assert [e.result["status"] for e in events] == ["partially_shipped", "shipped"]
    assert shipped_quantities(events[0].result) == {"RC-MUG": 2}
    assert events[1].result["order_id"] == order["id"] and elapsed >= 0.3
