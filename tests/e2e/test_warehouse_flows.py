"""A warehouse per protocol against the running server: release, shipment, validation.

The 3PL simulators run in this process; the Odoo server that ./setup test started releases
transfers through its job runner, and the warehouses answer: the REST 3PL with signed
webhooks, the X12 warehouse with 945 files on its SFTP drop.
"""

import uuid

import pytest

from simulators.threepl import ThreePLSimulator
from simulators.x12_warehouse import X12Warehouse

pytestmark = pytest.mark.e2e

SECRET = "whsec_ZTJlLTNwbC13ZWJob29rLXNlY3JldA=="


@pytest.fixture(scope="module")
def mug(odoo):
    found = odoo.search_read("product.product", [("default_code", "=", "RC-MUG")], ["id"], limit=1)
    if found:
        odoo.call("product.product", "write", [found[0]["id"]], {"is_storable": True, "tracking": "none"})
        return found[0]["id"]
    return odoo.call("product.product", "create", {"name": "Mug", "default_code": "RC-MUG", "is_storable": True})


def _warehouse(odoo, mug, quantity=10):
    code = "W" + uuid.uuid4().hex[:4].upper()
    warehouse_id = odoo.call("stock.warehouse", "create", {"name": "E2E %s" % code, "code": code})
    warehouse = odoo.search_read("stock.warehouse", [("id", "=", warehouse_id)], ["lot_stock_id", "out_type_id"])[0]
    quant = odoo.call("stock.quant", "create", {"product_id": mug, "location_id": warehouse["lot_stock_id"][0],
                                                "inventory_quantity": quantity}, context={"inventory_mode": True})
    odoo.call("stock.quant", "action_apply_inventory", [quant])
    return warehouse


def _delivery(odoo, warehouse, mug, quantity):
    customers = odoo.search_read("stock.location", [("usage", "=", "customer")], ["id"], limit=1)[0]["id"]
    us = odoo.search_read("res.country", [("code", "=", "US")], ["id"], limit=1)[0]["id"]
    nevada = odoo.search_read("res.country.state", [("code", "=", "NV"), ("country_id", "=", us)], ["id"], limit=1)
    partner = odoo.call("res.partner", "create", {"name": "E2E customer", "street": "1 Main St", "city": "Reno",
                                                  "zip": "89501", "country_id": us,
                                                  "state_id": nevada[0]["id"] if nevada else False})
    stock = warehouse["lot_stock_id"][0]
    picking_id = odoo.call("stock.picking", "create", {
        "picking_type_id": warehouse["out_type_id"][0], "partner_id": partner, "location_id": stock,
        "location_dest_id": customers,
        "move_ids": [(0, 0, {"product_id": mug, "product_uom_qty": quantity, "location_id": stock,
                             "location_dest_id": customers})],
    })
    odoo.call("stock.picking", "action_confirm", [picking_id])
    odoo.call("stock.picking", "action_assign", [picking_id])
    return odoo.search_read("stock.picking", [("id", "=", picking_id)], ["name"])[0]


def _state(odoo, picking):
    return odoo.search_read("stock.picking", [("id", "=", picking["id"])], ["state", "carrier_tracking_ref",
                                                                           "backorder_ids"])[0]


def test_rest_3pl_release_partial_shipment_and_the_rest(odoo, public_url, mug, wait_for):
    warehouse = _warehouse(odoo, mug)
    backend_id = odoo.call("retail.backend", "create", {
        "name": "E2E ShipBob %s" % uuid.uuid4().hex[:4], "backend_type": "wms_rest", "endpoint_url": "http://127.0.0.1:9",
        "api_secret": "pat_e2e", "webhook_secret": SECRET, "inbound_rate_limit": 0,
    })
    with ThreePLSimulator(token="pat_e2e", webhook_url="%s/retail/webhook/%d" % (public_url, backend_id),
                          webhook_secret=SECRET) as wms:
        odoo.call("retail.backend", "write", [backend_id], {"endpoint_url": wms.url})
        odoo.call("retail.warehouse.route", "create", {"backend_id": backend_id, "warehouse_id": warehouse["id"]})
        picking = _delivery(odoo, warehouse, mug, 3)
        wait_for(lambda: any(o["reference_id"] == picking["name"] for o in wms.orders), timeout=60,
                 what="the release of %s to the 3PL" % picking["name"])
        wms.ship(picking["name"], {"RC-MUG": 2}, tracking="E2E-TRACK-1")
        done = wait_for(lambda: (s := _state(odoo, picking))["state"] == "done" and s, timeout=60,
                        what="the delivery validated by the shipment webhook")
        assert done["carrier_tracking_ref"] == "E2E-TRACK-1" and len(done["backorder_ids"]) == 1
        wms.ship(picking["name"], tracking="E2E-TRACK-2")
        backorder = {"id": done["backorder_ids"][0]}
        wait_for(lambda: _state(odoo, backorder)["state"] == "done", timeout=60, what="the backorder validated")
    odoo.call("retail.backend", "write", [backend_id], {"active": False})


def test_x12_release_945_and_997(odoo, mug, wait_for):
    warehouse = _warehouse(odoo, mug)
    with X12Warehouse(warehouse_id="3PLWHSE", partner_id="RETAILCO", stock={"RC-MUG": 100}, auto_ship=0.2) as wh:
        backend_id = odoo.call("retail.backend", "create", {
            "name": "E2E X12 %s" % uuid.uuid4().hex[:4], "backend_type": "wms_x12", "sftp_host": wh.host,
            "sftp_port": wh.port, "api_key": wh.username, "api_secret": wh.password,
            "sftp_host_key": wh.host_key_fingerprint, "x12_sender_id": "RETAILCO", "x12_receiver_id": "3PLWHSE",
        })
        odoo.call("retail.warehouse.route", "create", {"backend_id": backend_id, "warehouse_id": warehouse["id"]})
        picking = _delivery(odoo, warehouse, mug, 2)
        wait_for(lambda: wh.written_of("945"), timeout=60, what="the warehouse's 945 for %s" % picking["name"])
        odoo.call("retail.backend", "action_x12_poll_now", [backend_id])
        done = wait_for(lambda: (s := _state(odoo, picking))["state"] == "done" and s, timeout=60,
                        what="the delivery validated by the 945")
        assert done["carrier_tracking_ref"]
        files = odoo.search_read("retail.edi.document", [("backend_id", "=", backend_id)],
                                 ["direction", "transaction_set", "ack_state", "state"])
        sent = [f for f in files if f["direction"] == "out" and f["transaction_set"] == "940"]
        assert [f["ack_state"] for f in sent] == ["accepted"]
        assert {f["transaction_set"] for f in files if f["direction"] == "in"} == {"997", "945"}
        odoo.call("retail.backend", "write", [backend_id], {"active": False})


def test_x12_lenient_partner_books_a_slightly_broken_945_strict_one_refuses_it(odoo, mug, wait_for):
    """Two partners on the running server: the same N1 slip, applied with a 997 E, or refused and named."""
    warehouse = _warehouse(odoo, mug, quantity=10)
    with X12Warehouse(warehouse_id="3PLWHSE", partner_id="RETAILCO", stock={"RC-MUG": 100}) as wh:
        backend_id = odoo.call("retail.backend", "create", {
            "name": "E2E X12 partner %s" % uuid.uuid4().hex[:4], "backend_type": "wms_x12", "sftp_host": wh.host,
            "sftp_port": wh.port, "api_key": wh.username, "api_secret": wh.password,
            "sftp_host_key": wh.host_key_fingerprint, "x12_sender_id": "RETAILCO", "x12_receiver_id": "3PLWHSE",
        })
        [backend] = odoo.search_read("retail.backend", [("id", "=", backend_id)], ["x12_validation"])
        assert backend["x12_validation"] == "lenient"
        odoo.call("retail.warehouse.route", "create", {"backend_id": backend_id, "warehouse_id": warehouse["id"]})

        lenient = _delivery(odoo, warehouse, mug, 1)
        wait_for(lambda: lenient["name"] in wh.orders, timeout=60, what="the 940 of %s" % lenient["name"])
        wh.inject("n1_without_name")
        wh.ship(lenient["name"], tracking="E2E-SLIP-1")
        slipped = wh.written_of("945")[-1]
        odoo.call("retail.backend", "action_x12_poll_now", [backend_id])
        wait_for(lambda: _state(odoo, lenient)["state"] == "done", timeout=60, what="the 945 with a slip booked")
        wait_for(lambda: wh.acks_received.get(slipped.groups[0]) == "E", timeout=30,
                 what="our 997 accepting the 945 with errors")
        [received] = odoo.search_read("retail.edi.document", [("backend_id", "=", backend_id), ("direction", "=", "in"),
                                                              ("transaction_set", "=", "945")],
                                      ["ack_state", "review_state", "x12_problems"])
        assert (received["ack_state"], received["review_state"]) == ("accepted_errors", "to_review")
        assert "(N1) element 02" in received["x12_problems"]

        odoo.call("retail.backend", "write", [backend_id], {"x12_validation": "strict"})
        strict = _delivery(odoo, warehouse, mug, 1)
        wait_for(lambda: strict["name"] in wh.orders, timeout=60, what="the 940 of %s" % strict["name"])
        wh.inject("n1_without_name")
        wh.ship(strict["name"], tracking="E2E-SLIP-2")
        refused_file = wh.written_of("945")[-1]
        odoo.call("retail.backend", "action_x12_poll_now", [backend_id])
        wait_for(lambda: wh.acks_received.get(refused_file.groups[0]) == "R", timeout=30,
                 what="our 997 rejecting the strict partner's 945")
        [quarantined] = odoo.search_read("retail.edi.document", [("backend_id", "=", backend_id),
                                                                 ("state", "=", "quarantined")], ["error"])
        assert "(N1) element 02: at least one of N102, N103 is required" in quarantined["error"]
        assert _state(odoo, strict)["state"] != "done"

        # a manager accepts the slip: that very file is read again and its shipment booked, once
        for _click in range(2):
            odoo.call("retail.edi.document", "action_accept_x12_problems", [quarantined["id"]])
        wait_for(lambda: _state(odoo, strict)["state"] == "done", timeout=60, what="the accepted 945 booked")
        wait_for(lambda: wh.acks_received.get(refused_file.groups[0]) == "E", timeout=30,
                 what="our second 997, accepting the 945 with errors")
        wait_for(lambda: odoo.search_read("retail.edi.document", [("id", "=", quarantined["id"])],
                                          ["state"])[0]["state"] == "processed", timeout=30, what="the file processed")
        moves = odoo.search_read("stock.move", [("picking_id", "=", strict["id"])], ["quantity", "state"])
        assert [(m["quantity"], m["state"]) for m in moves] == [(1, "done")]
        assert _state(odoo, strict)["carrier_tracking_ref"] == "E2E-SLIP-2"
        [backend] = odoo.search_read("retail.backend", [("id", "=", backend_id)], ["x12_tolerated_problems"])
        assert "945:N1:02:2" in backend["x12_tolerated_problems"]
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
