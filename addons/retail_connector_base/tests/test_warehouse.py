# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from ..components.errors import RetailMappingError
from ..lib.canonical import Shipment
from .common import RetailCase


@tagged("post_install", "-at_install")
class TestWarehouseFlows(RetailCase):
    """Routing of transfers to warehouses, and shipment confirmations applied to them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env.ref("stock.warehouse0")
        # this backend is only a warehouse here: it offers no stock to sell
        cls.backend.policy_for("inventory").mode = "off"
        cls.stock = cls.warehouse.lot_stock_id
        Product = cls.env["product.product"]
        cls.categ_fragile = cls.env["product.category"].create({"name": "Fragile"})
        cls.mug = Product.create({"name": "Mug", "default_code": "WH-MUG", "is_storable": True})
        cls.vase = Product.create({"name": "Vase", "default_code": "WH-VASE", "is_storable": True,
                                   "categ_id": cls.categ_fragile.id})
        cls.phone = Product.create({"name": "Phone", "default_code": "WH-PHONE", "is_storable": True,
                                    "tracking": "serial"})
        for product in (cls.mug, cls.vase):
            cls.env["stock.quant"]._update_available_quantity(product, cls.stock, 100)
        for serial in ("SN-1", "SN-2", "SN-3"):
            lot = cls.env["stock.lot"].create({"name": serial, "product_id": cls.phone.id})
            cls.env["stock.quant"]._update_available_quantity(cls.phone, cls.stock, 1, lot_id=lot)
        cls.customer = cls.env["res.partner"].create({"name": "Customer", "country_id": cls.env.ref("base.be").id})

    def _delivery(self, lines, partner=None):
        picking = self.env["stock.picking"].create({
            "picking_type_id": self.warehouse.out_type_id.id,
            "partner_id": (partner or self.customer).id,
            "location_id": self.stock.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
            "move_ids": [(0, 0, {"product_id": p.id, "product_uom_qty": q, "location_id": self.stock.id,
                                 "location_dest_id": self.env.ref("stock.stock_location_customers").id})
                         for p, q in lines],
        })
        picking.action_confirm()
        picking.action_assign()
        return picking

    def _bind(self, picking):
        with self.backend.work_on("retail.picking.binding") as work:
            return work.component(usage="binder").bind_record("3PL-%s" % picking.id, picking, channel_ref=picking.name,
                                                              warehouse_status="released")

    def _confirm(self, picking, lines, shipment_id="S1", tracking=("1Z1",)):
        shipment = Shipment.from_dict({
            "external_id": shipment_id, "order_external_id": picking.name, "tracking_numbers": list(tracking),
            "shipped_at": "2026-11-26T15:00:00Z", "lines": lines,
        })
        with self.backend.work_on("retail.picking.binding") as work:
            return work.component(usage="shipment.writer").apply(shipment)

    def test_route_by_warehouse_then_category_then_country(self):
        Route = self.env["retail.warehouse.route"]
        picking = self._delivery([(self.mug, 1)])
        self.assertFalse(Route._route(picking), "a warehouse without routes is run in Odoo")
        other = self.env["retail.backend"].create({"name": "Fragile 3PL", "backend_type": "generic"})
        other.policy_ids.mode = "off"
        Route.create({"backend_id": other.id, "warehouse_id": self.warehouse.id, "sequence": 1,
                      "categ_ids": [(6, 0, self.categ_fragile.ids)]})
        Route.create({"backend_id": self.backend.id, "warehouse_id": self.warehouse.id, "sequence": 5,
                      "country_ids": [(6, 0, self.env.ref("base.be").ids)]})
        self.assertEqual(Route._route(self._delivery([(self.vase, 1)])), other)
        self.assertEqual(Route._route(picking), self.backend)
        abroad = self._delivery([(self.mug, 1)], partner=self.env["res.partner"].create(
            {"name": "Abroad", "country_id": self.env.ref("base.fr").id}))
        with self.assertRaises(RetailMappingError) as caught:
            Route._route(abroad)
        self.assertIn(abroad.name, str(caught.exception))
        self.assertIn("France", str(caught.exception))

    def test_short_shipment_leaves_a_backorder_that_the_next_confirmation_closes(self):
        picking = self._delivery([(self.mug, 5), (self.vase, 2)])
        binding = self._bind(picking)
        done, outcome = self._confirm(picking, [{"sku": "WH-MUG", "quantity": 3, "package": "SSCC-0001"},
                                                {"sku": "WH-VASE", "quantity": 2}])
        self.assertEqual((done, outcome), (picking, "partially shipped"))
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "1Z1")
        shipped = {m.product_id: m.quantity for m in picking.move_ids}
        self.assertEqual((shipped[self.mug], shipped[self.vase]), (3, 2))
        self.assertEqual(picking.move_line_ids.filtered(lambda l: l.product_id == self.mug).result_package_id.name,
                         "SSCC-0001")
        backorder = picking.backorder_ids
        self.assertEqual((backorder.move_ids.product_id, backorder.move_ids.product_uom_qty), (self.mug, 2))
        self.assertEqual(binding.warehouse_status, "partial")
        # the same confirmation again changes nothing
        self.assertEqual(self._confirm(picking, [{"sku": "WH-MUG", "quantity": 3}])[1], "unchanged")
        self.assertEqual(backorder.state, "assigned")
        rest, outcome = self._confirm(picking, [{"sku": "WH-MUG", "quantity": 2}], shipment_id="S2", tracking=("1Z2",))
        self.assertEqual((rest, outcome), (backorder, "shipped"))
        self.assertEqual(backorder.state, "done")
        self.assertEqual(binding.warehouse_status, "shipped")

    def test_serial_numbers_are_recorded_on_the_delivery(self):
        picking = self._delivery([(self.phone, 2)])
        self._bind(picking)
        self._confirm(picking, [{"sku": "WH-PHONE", "quantity": 2, "lots": ["SN-3", "SN-1"]}])
        self.assertEqual(sorted(picking.move_line_ids.lot_id.mapped("name")), ["SN-1", "SN-3"])
        with self.assertRaisesRegex(Exception, "serial numbers"):
            other = self._delivery([(self.phone, 1)])
            self._bind(other)
            self._confirm(other, [{"sku": "WH-PHONE", "quantity": 1, "lots": ["SN-2", "SN-9"]}], shipment_id="S9")

    def test_confirmation_of_an_unreleased_transfer_or_a_foreign_product_is_refused(self):
        picking = self._delivery([(self.mug, 1)])
        with self.assertRaises(RetailMappingError):
            self._confirm(picking, [{"sku": "WH-MUG", "quantity": 1}])
        self._bind(picking)
        with self.assertRaisesRegex(RetailMappingError, "does not hold"):
            self._confirm(picking, [{"sku": "WH-VASE", "quantity": 1}])
        self.assertEqual(picking.state, "assigned")
