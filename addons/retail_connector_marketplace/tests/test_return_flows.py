# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from odoo.addons.retail_connector_base.lib.canonical import Return
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import ShopifyFlowCase, WooFlowCase

SKUS = ("RC-MUG", "RC-CAP")
REFUND_ERROR = {"code": "woocommerce_rest_cannot_create_order_refund", "message": "Refund failed.", "data": 500}


@tagged("post_install", "-at_install")
class TestWooReturnFlows(WooFlowCase):
    """A return across the shop, the warehouse and accounting, over real HTTP to the WooCommerce simulator."""

    SKUS = SKUS
    PRODUCT = dict(WooFlowCase.PRODUCT, invoice_policy="order")
    BACKEND = {"name": "Woo returns"}
    SEED = 7

    def _delivered_and_invoiced_order(self):
        order = self.shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        picking = sale.picking_ids
        self._validate(picking)
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.get_order(order["id"])["status"], "completed")
        sale._create_invoices().action_post()
        return order, sale

    def _channel_return(self, order, **changes):
        """The return as the channel announces it (canonical), through the shared return writer."""
        data = {"external_id": "RMA-%s" % order["id"], "order_external_id": str(order["id"]), "status": "approved",
                "note": "too small",
                "lines": [{"sku": "RC-MUG", "quantity": "1", "restock": True},
                          {"sku": "RC-CAP", "quantity": "1", "restock": False}]}
        data.update(changes)
        with self.backend.work_on("retail.return") as work:
            return work.component(usage="return.writer").apply(Return.from_dict(data))

    def _refund_posts(self, order):
        return [c for c in self.shop.calls_to("POST", "/wp-json/wc/v3/orders/%s/refunds" % order["id"]) if c.status == 201]

    def _steps(self, ret):
        return {s.code: s.state for s in ret.step_ids}

    def test_return_pauses_on_a_refused_channel_refund_and_resumes_once(self):
        order, sale = self._delivered_and_invoiced_order()
        ret, outcome = self._channel_return(order)
        self.assertEqual((outcome, ret.state, ret.origin), ("created", "open", "channel"))
        self.assertEqual(self._channel_return(order)[1], "unchanged", "a return is recorded once")
        # the shop refuses refunds until the fault is cleared
        self.shop.inject("POST", "/wp-json/wc/v3/orders/%s/refunds" % order["id"], status=500, times=None,
                         body=REFUND_ERROR)
        perform_pending_jobs(self.env)
        self.assertEqual(self._steps(ret)["receive"], "waiting")
        picking = ret.return_picking_id
        self.assertEqual(sorted(picking.move_ids.mapped("product_id.default_code")), ["RC-CAP", "RC-MUG"])
        mug = self.products.filtered(lambda p: p.default_code == "RC-MUG")
        stock_before = mug.qty_available
        # received and inspected at the warehouse (run in Odoo here)
        self._validate(picking)
        perform_pending_jobs(self.env)
        self.assertEqual(ret.workflow_state, "paused")
        step = ret.step_ids.filtered(lambda s: s.code == "refund_channel")
        self.assertEqual((step.state, step.error_class), ("failed", "ChannelValidationError"))
        self.assertIn("woocommerce_rest_cannot_create_order_refund", step.error_message)
        self.assertEqual(len(ret.activity_ids), 1)
        self.assertEqual(mug.qty_available, stock_before + 1, "the mug went back to stock")
        self.assertEqual(ret.line_ids.filtered(lambda l: l.disposition == "scrap").scrap_id.state, "done")
        note = ret.credit_note_id
        self.assertEqual((note.move_type, note.state), ("out_refund", "posted"))
        self.assertIn(note.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(note.amount_total, ret.amount, places=2)
        self.assertFalse(self.shop.refunds(order["id"]))

        self.shop.clear_faults()
        ret.action_resume()
        self.assertFalse(ret.activity_ids)
        perform_pending_jobs(self.env)
        self.assertEqual((ret.state, ret.workflow_state), ("done", "done"))
        refunds = self.shop.refunds(order["id"])
        self.assertEqual(len(refunds), 1, "the shop saw exactly one refund")
        self.assertEqual(len(self._refund_posts(order)), 1)
        self.assertEqual(ret.channel_refund_ref, str(refunds[0]["id"]))
        self.assertAlmostEqual(float(refunds[0]["amount"]), ret.amount, places=2)
        self.assertTrue(refunds[0]["reason"].startswith(ret.name))
        attempts = {s.code: s.attempts for s in ret.step_ids}
        self.assertEqual((attempts["return_picking"], attempts["refund_odoo"], attempts["refund_channel"]), (1, 1, 2))
        # the shop's order update listing the refund is not applied as a second refund
        credit_notes = sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertEqual(credit_notes, note)
        self.assertEqual(sale.retail_refund_ids.external_id, ret.channel_refund_ref)
        self.assertEqual(len(self.env["account.payment"].search([("partner_id", "=", sale.partner_id.id),
                                                                 ("payment_type", "=", "outbound")])), 1)

    def test_transient_refund_failure_is_retried(self):
        order, sale = self._delivered_and_invoiced_order()
        ret, _ = self._channel_return(order, lines=[{"sku": "RC-CAP", "quantity": "1", "restock": True}])
        self.shop.inject("POST", "/wp-json/wc/v3/orders/%s/refunds" % order["id"], status=503, times=1)
        perform_pending_jobs(self.env)
        for move in ret.return_picking_id.move_ids:
            move.quantity = move.product_uom_qty
        ret.return_picking_id.button_validate()
        perform_pending_jobs(self.env, max_rounds=1)
        step = ret.step_ids.filtered(lambda s: s.code == "refund_channel")
        self.assertEqual((ret.workflow_state, step.state, step.retries), ("running", "pending", 1))
        self.assertEqual(step.error_class, "ChannelTransportError")
        step.next_attempt_at = False  # the back-off is over
        perform_pending_jobs(self.env)
        self.assertEqual(ret.state, "done")
        self.assertEqual(len(self.shop.refunds(order["id"])), 1)

    def test_order_timeline_reaches_the_channel_notification(self):
        self.backend.policy_for("orders").orchestrate = True
        order, sale = self._delivered_and_invoiced_order()
        perform_pending_jobs(self.env)
        sale.invalidate_recordset()
        self.assertEqual(sale.retail_order_workflow_state, "done",
                         [(s.code, s.state, s.message, s.error_message) for s in sale.retail_order_step_ids])
        steps = {s.code: s for s in sale.retail_order_step_ids}
        self.assertEqual(steps["release"].state, "skipped")
        self.assertEqual((steps["shipment"].state, steps["notify"].state), ("done", "done"))
        self.assertIn("Woo returns", steps["notify"].message)


@tagged("post_install", "-at_install")
class TestShopifyReturnFlows(ShopifyFlowCase):
    """A return refunded on Shopify with ``refundCreate``, over real HTTP to the Shopify simulator."""

    SKUS = SKUS
    PRODUCT = dict(ShopifyFlowCase.PRODUCT, invoice_policy="order")
    BACKEND = {"name": "Shopify returns"}
    SEED = 5

    def test_return_refunded_on_shopify_once_after_a_transient_failure(self):
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        picking = sale.picking_ids
        self._validate(picking)
        perform_pending_jobs(self.env)
        sale._create_invoices().action_post()
        action = sale.action_new_retail_return()
        ret = self.env["retail.return"].browse(action["res_id"])
        self.assertEqual(ret.backend_id, self.backend)
        ret.line_ids.filtered(lambda l: l.product_id.default_code == "RC-CAP").unlink()
        ret.line_ids.quantity = 1
        ret.reason = "chipped"
        ret.action_authorise()
        perform_pending_jobs(self.env)
        for move in ret.return_picking_id.move_ids:
            move.quantity = move.product_uom_qty
        ret.return_picking_id.button_validate()
        # the restocked level goes to the shop first: the transient failure below is the refund's
        perform_pending_jobs(self.env, method="_flush_exports")
        self.shop.inject("POST", "/admin/api/", status=503, times=1)
        perform_pending_jobs(self.env, max_rounds=1)
        step = ret.step_ids.filtered(lambda s: s.code == "refund_channel")
        self.assertEqual((step.state, step.retries, step.error_class), ("pending", 1, "ChannelTransportError"))
        step.next_attempt_at = False  # the back-off is over
        perform_pending_jobs(self.env)
        self.assertEqual(ret.state, "done", [(s.code, s.state, s.error_message) for s in ret.step_ids])
        refunds = self.shop.get_order(order["id"])["refunds"]
        self.assertEqual(len(refunds), 1, "Shopify saw exactly one refund")
        self.assertEqual(str(refunds[0]["id"]), ret.channel_refund_ref)
        self.assertTrue(refunds[0]["note"].startswith(ret.name))
        self.assertEqual([(x["quantity"], x["restock_type"]) for x in refunds[0]["refund_line_items"]], [(1, "no_restock")])
        self.assertAlmostEqual(sum(float(t["amount"]) for t in refunds[0]["transactions"]), ret.amount, places=2)
        # Shopify's refunds/create webhook for it is recorded once, not credited again
        self.assertEqual(sale.retail_refund_ids.external_id, ret.channel_refund_ref)
        self.assertEqual(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund"), ret.credit_note_id)
