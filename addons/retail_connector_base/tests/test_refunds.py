# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy

from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.canonical import Refund
from .common import INVOICED, MUG_AND_CAP, OrderCase
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestRefunds(OrderCase):
    """Channel refunds applied by the returns policy: credit note, return, both, or review."""

    SKUS = MUG_AND_CAP
    PRODUCT = INVOICED
    STOCK = 20

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.policy = cls.backend.policy_for("returns")
        if not cls.policy:
            cls.policy = cls.env["retail.sync.policy"].create({"backend_id": cls.backend.id, "domain": "returns"})

    def _sale(self):
        data = copy.deepcopy(ORDER)
        data["shipping_lines"] = []
        binding, _ = self._apply(data)
        return binding.odoo_id

    def _refund(self, refund_id="R1", amount="12.50", lines=None, order="G1001"):
        refund = Refund.from_dict(
            {"external_id": refund_id, "order_external_id": order, "currency": "USD", "amount": amount,
             "created_at": "2026-11-21T09:00:00Z", "reason": "broken handle", "lines": lines or []}
        )
        with self.backend.work_on("retail.refund") as work:
            return work.component(usage="refund.writer").apply(refund)

    def _invoice(self, sale):
        invoice = sale._create_invoices()
        invoice.action_post()
        return invoice

    def test_credit_note_for_the_refunded_line_once(self):
        self.policy.refund_action = "credit_note"
        sale = self._sale()
        self._invoice(sale)
        # one mug of two: 12.50 list, 5.00 discount over two -> 10.00 per mug
        record, outcome = self._refund(lines=[{"sku": "RC-MUG", "quantity": 1, "amount": "10.00"}], amount="10.00")
        self.assertEqual(outcome, "refunded")
        self.assertEqual(record.state, "done", record.message)
        note = record.credit_note_id
        self.assertEqual((note.move_type, note.state), ("out_refund", "posted"))
        self.assertAlmostEqual(note.amount_total, 10.0, places=2)
        self.assertEqual(note.invoice_line_ids.sale_line_ids.product_id, self.mug)
        self.assertEqual(sale.order_line.filtered(lambda l: l.product_id == self.mug).qty_invoiced, 1.0)
        again, outcome = self._refund(lines=[{"sku": "RC-MUG", "quantity": 1}], amount="10.00")
        self.assertEqual((again, outcome), (record, "unchanged"))
        self.assertEqual(len(sale.retail_refund_ids), 1)

    def test_amount_only_refund_is_a_credit_note_line_for_the_difference(self):
        self.policy.refund_action = "credit_note"
        sale = self._sale()
        self._invoice(sale)
        record, _ = self._refund(amount="3.00")
        line = record.credit_note_id.invoice_line_ids
        self.assertEqual(line.product_id, self.env.ref("retail_connector_base.product_channel_refund"))
        self.assertAlmostEqual(record.credit_note_id.amount_total, 3.0, places=2)
        self.assertEqual(line.name, "broken handle")

    def test_credit_note_waits_in_draft_when_the_order_is_not_invoiced(self):
        self.policy.refund_action = "credit_note"
        self._sale()
        record, _ = self._refund(lines=[{"sku": "RC-CAP", "quantity": 1}], amount="20.00")
        self.assertEqual(record.credit_note_id.state, "draft")
        self.assertEqual(record.state, "review")
        self.assertIn("not invoiced", record.message)
        self.assertTrue(record.activity_ids)

    def test_return_of_shipped_goods_and_removal_of_unshipped_ones(self):
        self.policy.refund_action = "return"
        sale = self._sale()
        delivery = self._ship(sale)
        record, _ = self._refund(lines=[{"sku": "RC-MUG", "quantity": 1, "restock": True}], amount="10.00")
        returned = record.return_picking_id
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertEqual(returned.move_ids.origin_returned_move_id.picking_id, delivery)
        self.assertEqual((returned.move_ids.product_id, returned.move_ids.product_uom_qty), (self.mug, 1.0))
        self.assertFalse(record.credit_note_id)
        self.assertEqual(record.state, "done", record.message)

        other = self._sale_for("G1002")
        record, _ = self._refund("R2", lines=[{"sku": "RC-CAP", "quantity": 1, "restock": True}], amount="20.00",
                                 order="G1002")
        cap_line = other.order_line.filtered(lambda l: l.product_id == self.cap)
        self.assertEqual(cap_line.product_uom_qty, 0.0)
        self.assertEqual(record.line_ids.removed_qty, 1.0)
        self.assertFalse(record.return_picking_id)
        cap_moves = other.picking_ids.move_ids.filtered(lambda m: m.product_id == self.cap and m.state != "cancel")
        self.assertFalse(sum(cap_moves.mapped("product_uom_qty")))

    def _sale_for(self, external_id):
        data = copy.deepcopy(ORDER)
        data.update(external_id=external_id, name="#%s" % external_id, shipping_lines=[])
        binding, _ = self._apply(data)
        return binding.odoo_id

    def test_goods_not_restocked_do_not_come_back(self):
        self.policy.refund_action = "return_credit_note"
        sale = self._sale()
        self._ship(sale)
        self._invoice(sale)
        record, _ = self._refund(lines=[{"sku": "RC-MUG", "quantity": 1, "restock": False}], amount="10.00")
        self.assertFalse(record.return_picking_id)
        self.assertEqual(record.credit_note_id.state, "posted")
        self.assertIn("did not restock", record.message)

    def test_review_policy_and_unknown_skus_ask_a_person(self):
        self.policy.refund_action = "review"
        self._sale()
        record, _ = self._refund(lines=[{"sku": "RC-UNKNOWN", "quantity": 1}], amount="5.00")
        self.assertEqual(record.state, "review")
        self.assertFalse(record.credit_note_id or record.return_picking_id)
        self.assertIn("RC-UNKNOWN", record.message)
        self.assertTrue(record.activity_ids)

    def test_refund_before_its_order_is_retried(self):
        with self.assertRaises(RetryableJobError) as caught:
            self._refund(order="NOT-YET")
        self.assertIn("NOT-YET", str(caught.exception))
        self.assertFalse(self.env["retail.refund"].search([("backend_id", "=", self.backend.id)]))
