# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import NEW_ADDRESS, WarehouseFlowMixin


@tagged("post_install", "-at_install")
class TestThreePLFlows(WarehouseFlowMixin, ChannelFlowCase):
    """A 3PL on the ShipBob API runs a warehouse: each flow over real HTTP both ways."""

    WAREHOUSE = {"name": "3PL Chicago", "code": "3PLC"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({
            "name": "Jane Roe", "street": "1 Main St", "city": "Springfield", "zip": "62701",
            "state_id": cls.env.ref("base.state_us_13").id, "country_id": cls.env.ref("base.us").id,
            "email": "jane@example.com",
        })

    def setUp(self):
        super().setUp()
        self._threepl("ShipBob test", seed=7)

    def test_release_partial_shipment_backorder_then_the_rest(self):
        picking = self._delivery([(self.mug, 3), (self.cap, 1)])
        order = self.wms.order(picking.name)
        self.assertEqual(order["reference_id"], picking.name)
        self.assertEqual(order["recipient"]["address"]["city"], "Springfield")
        binding = picking.retail_bind_ids
        self.assertEqual((binding.warehouse_status, binding.channel_ref), ("released", picking.name))

        self.wms.ship(picking.name, {"RC-MUG": 2, "RC-CAP": 1}, tracking="9400100000000000000001")
        perform_pending_jobs(self.env)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "9400100000000000000001")
        self.assertEqual({m.product_id.default_code: m.quantity for m in picking.move_ids}, {"RC-MUG": 2, "RC-CAP": 1})
        backorder = picking.backorder_ids
        self.assertEqual((backorder.move_ids.product_id, backorder.move_ids.product_uom_qty), (self.mug, 1))
        self.assertEqual(binding.warehouse_status, "partial")

        self.wms.duplicate_webhooks(times=2)
        self.wms.ship(picking.name, tracking="9400100000000000000002")
        perform_pending_jobs(self.env)
        self.assertEqual(backorder.state, "done")
        self.assertEqual(backorder.move_ids.quantity, 1)
        self.assertEqual(binding.warehouse_status, "shipped")
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(events), 2, "the duplicated delivery is one event")
        self.assertEqual(set(events.mapped("state")), {"done"})

    def test_cancelled_delivery_is_cancelled_at_the_warehouse(self):
        picking = self._delivery([(self.cap, 2)])
        picking.action_cancel()
        perform_pending_jobs(self.env)
        self.assertEqual(self.wms.order(picking.name)["status"], "Cancelled")
        self.assertEqual(picking.retail_bind_ids.warehouse_status, "cancelled")

    def test_a_new_address_of_a_released_delivery_is_sent_to_the_3pl(self):
        sale = self._shop_order()
        picking = sale.picking_ids
        binding = picking.retail_bind_ids
        self.assertEqual(binding.warehouse_status, "released")
        self.assertEqual(self.wms.order(picking.name)["recipient"]["address"]["address1"], "1 Market St")

        _b, outcome = self._apply_shop(11, shipping_address=NEW_ADDRESS)
        self.assertEqual(outcome, "updated")
        self.assertEqual(picking.partner_id, sale.partner_shipping_id)
        self.assertEqual(binding.sync_state, "pending")
        self.assertIn("ShipBob test told", sale.message_ids.sorted("id")[-1].body)
        perform_pending_jobs(self.env)
        [shipment] = self.wms.order(picking.name)["shipments"]
        address = shipment["recipient"]["address"]
        self.assertEqual((address["address1"], address["address2"], address["zip_code"], address["state"]),
                         ("77 Geary St", "Floor 3", "94108", "CA"))
        self.assertEqual((binding.sync_state, binding.warehouse_status), ("synced", "released"))
        self.assertIn("New delivery address sent to ShipBob test", picking.message_ids.sorted("id")[-1].body)
        self.assertFalse(picking.activity_ids)

    def test_a_protocol_without_address_change_leaves_an_activity_for_a_person(self):
        from ..components.threepl import ThreePLReleaseExporter  # noqa: PLC0415

        sale = self._shop_order()
        picking = sale.picking_ids
        with patch.object(ThreePLReleaseExporter, "_change_address", return_value=False):
            self._apply_shop(11, shipping_address=NEW_ADDRESS)
            perform_pending_jobs(self.env)
        self.assertEqual(picking.retail_bind_ids.sync_state, "synced")
        activity = picking.activity_ids
        self.assertEqual(activity.summary, "Tell the warehouse the new address")
        self.assertIn("77 Geary St", activity.note)
        [shipment] = self.wms.order(picking.name)["shipments"]
        self.assertEqual(shipment["recipient"]["address"]["address1"], "1 Market St")

    def test_release_waits_for_availability(self):
        picking = self._delivery([(self.mug, 50)])
        self.assertEqual(picking.move_ids.state, "partially_available")
        self.assertFalse(picking.retail_bind_ids, "a delivery is released once all its goods are reserved")
        self.backend.policy_for("fulfilment").release_trigger = "confirm"
        other = self._delivery([(self.cap, 30)])
        self.assertEqual(other.retail_bind_ids.warehouse_status, "released")

    def test_receipt_is_announced_and_validated_with_what_arrived(self):
        supplier = self.env["res.partner"].create({"name": "Supplier"})
        receipt = self.env["stock.picking"].create({
            "picking_type_id": self.warehouse.in_type_id.id, "partner_id": supplier.id,
            "location_id": self.env.ref("stock.stock_location_suppliers").id, "location_dest_id": self.stock.id,
            "move_ids": [(0, 0, {"product_id": self.cap.id, "product_uom_qty": 12,
                                 "location_id": self.env.ref("stock.stock_location_suppliers").id,
                                 "location_dest_id": self.stock.id})],
        })
        receipt.action_confirm()
        perform_pending_jobs(self.env)
        binding = receipt.retail_bind_ids
        self.assertTrue(binding.external_id.startswith("wro-"), binding.external_id)
        self.wms.receive(int(binding.external_id[4:]), {"RC-CAP": 10}, damaged={"RC-CAP": 1})
        perform_pending_jobs(self.env)
        self.assertEqual(receipt.state, "done")
        self.assertEqual(receipt.move_ids.quantity, 10)
        self.assertEqual(receipt.backorder_ids.move_ids.product_uom_qty, 2)
        self.assertEqual(binding.warehouse_status, "partial")
        self.assertIn("damaged", receipt.message_ids[:3].mapped("body")[0] + "".join(receipt.message_ids.mapped("body")))

    def test_stock_snapshot_adjusts_small_drift_and_reports_large_drift(self):
        policy = self.backend.policy_for("inventory")
        policy.write({"drift_tolerance": 2, "drift_tolerance_percent": 0})
        self.env["retail.location.map"].create({"backend_id": self.backend.id, "external_id": "10", "name": "Chicago",
                                                "location_ids": [(6, 0, self.stock.ids)]})
        self.wms.set_stock("RC-MUG", 11, 10)
        self.wms.set_stock("RC-CAP", 30, 10)
        run = self.backend._reconcile("inventory")
        lines = {line.key.split(" @ ")[0]: line for line in run.line_ids}
        self.assertEqual((lines["RC-MUG"].action, lines["RC-MUG"].odoo_value, lines["RC-MUG"].channel_value),
                         ("repaired", "10", "11"))
        self.assertEqual(self.mug.with_context(location=self.stock.id).qty_available, 11)
        self.assertEqual(lines["RC-CAP"].action, "reported")
        self.assertEqual(self.cap.with_context(location=self.stock.id).qty_available, 10)

    def test_a_transfer_no_route_fits_is_flagged_not_released(self):
        self.backend.warehouse_route_ids.country_ids = self.env.ref("base.ca")
        picking = self._delivery([(self.cap, 1)])
        self.assertFalse(picking.retail_bind_ids)
        activity = picking.activity_ids.filtered(lambda a: a.summary == "Warehouse routing")
        self.assertIn("No warehouse route", activity.note)
        self.assertFalse(self.wms.orders)

    def test_warehouse_exception_is_flagged_on_the_transfer(self):
        self.backend.policy_for("fulfilment").release_trigger = "confirm"
        picking = self._delivery([(self.cap, 45)])  # the warehouse holds 40
        perform_pending_jobs(self.env)
        self.assertEqual(picking.retail_bind_ids.warehouse_status, "exception")
        activity = picking.activity_ids.filtered(lambda a: a.summary == "Warehouse exception")
        self.assertIn("exception", activity.note)
