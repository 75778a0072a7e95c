# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from odoo.addons.retail_connector_base.components.errors import RetailMappingError
from odoo.addons.retail_connector_base.lib.canonical import Order, Refund

from .common import StoreCase


@tagged("post_install", "-at_install")
class TestStoreSales(StoreCase):

    def test_a_sale_is_a_paid_pos_order_of_the_store_day_with_its_tenders_and_stock(self):
        binding, outcome = self._book(self._sale("S1", [("POS-MUG", 2, "10.00"), ("POS-CAP", 1, "15.00")],
                                                 [("CASH", "20.00"), ("CARD", "15.00")], total="35.00"))
        self.assertEqual(outcome, "created")
        order = binding.odoo_id
        self.assertEqual(order.state, "paid")
        self.assertEqual(order.session_id.config_id, self.config)
        self.assertAlmostEqual(order.amount_total, 35.0)
        self.assertEqual({p.payment_method_id: p.amount for p in order.payment_ids}, {self.cash: 20.0, self.card: 15.0})
        moves = order.picking_ids.move_ids
        self.assertEqual(order.picking_ids.state, "done")
        self.assertEqual({m.product_id: m.quantity for m in moves}, {self.mug: 2, self.cap: 1})
        self.assertEqual(moves.location_id, self.location)
        day = self.env["retail.pos.day"].search([("store_id", "=", self.store.id)])
        self.assertEqual((str(day.business_date), day.session_id), ("2026-11-20", order.session_id))
        # the same sale again (webhook and end-of-day batch) books nothing new
        again, outcome = self._book(self._sale("S1", [("POS-MUG", 2, "10.00")], [("CASH", "20.00")]))
        self.assertEqual((again, outcome), (binding, "unchanged"))

    def test_business_day_follows_the_store_cut_off_in_its_time_zone(self):
        # 21:30 UTC is 22:30 in Brussels, after the 22:00 cut-off: the next business day
        self.assertEqual(str(self.store._business_date(Order.from_dict({
            "external_id": "x", "created_at": "2026-11-20T21:30:00Z", "currency": "USD",
            "lines": [{"sku": "A", "quantity": 1, "unit_price": 1}]}).created_at)), "2026-11-21")
        start, end = self.store._day_window(self.store._business_date(
            self._sale("y", [("POS-MUG", 1, "1")], []).created_at))
        self.assertEqual((str(start), str(end)), ("2026-11-19 21:00:00", "2026-11-20 21:00:00"))

    def test_missing_tender_mapping_and_total_mismatch_are_clear_errors(self):
        with self.assertRaisesRegex(RetailMappingError, "Tender SQUARE_GIFT_CARD"):
            self._book(self._sale("S2", [("POS-MUG", 1, "10.00")], [("SQUARE_GIFT_CARD", "10.00")]))
        with self.assertRaisesRegex(RetailMappingError, "totals 12"):
            self._book(self._sale("S3", [("POS-MUG", 1, "10.00")], [("CARD", "12.00")], total="12.00"))
        self.assertFalse(self.env["retail.pos.order.binding"].search([("backend_id", "=", self.backend.id)]))

    def test_a_return_is_linked_to_its_sale_and_restocks_the_store(self):
        sale, _ = self._book(self._sale("S4", [("POS-MUG", 3, "10.00")], [("CARD", "30.00")], total="30.00"))
        refund = Refund.from_dict({"external_id": "R4", "order_external_id": "S4", "currency": "USD", "amount": "10.00",
                                   "created_at": "2026-11-20T16:00:00Z",
                                   "lines": [{"sku": "POS-MUG", "quantity": 1, "restock": True}]})
        with self.backend.work_on("retail.pos.order.binding") as work:
            binding, outcome = work.component(usage="pos.order.writer").apply_return(refund)
        returned = binding.odoo_id
        self.assertEqual(outcome, "created")
        self.assertAlmostEqual(returned.amount_total, -10.0)
        self.assertEqual(returned.refunded_order_id, sale.odoo_id)
        self.assertEqual(returned.payment_ids.payment_method_id, self.card)
        self.assertEqual(returned.picking_ids.move_ids.location_dest_id, self.location)
        self.assertEqual(self.mug.with_context(location=self.location.id).qty_available, 48)
