# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import logging
import time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import INVOICED, MUG_AND_CAP, OrderCase
from .jobs import perform_pending_jobs
from .test_order_import import ORDER

_logger = logging.getLogger(__name__)


class WorkflowCase(OrderCase):
    SKUS = MUG_AND_CAP
    PRODUCT = INVOICED
    STOCK = 20
    CONTEXT = {"tracking_disable": True, "queue_job__no_delay": False}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls.backend.with_env(cls.env)

    def _sale(self, external_id="G1001", **changes):
        data = copy.deepcopy(ORDER)
        data.update(external_id=external_id, shipping_lines=[], **changes)
        binding, _ = self._apply(data)
        return binding.odoo_id

    def _receive(self, picking):
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def _steps(self, record):
        return {s.code: s.state for s in record.step_ids}


@tagged("post_install", "-at_install")
class TestReturns(WorkflowCase):
    """A return authorised in Odoo: picking, receipt, restock or scrap, credit note and payment."""

    def _return(self, sale):
        action = sale.action_new_retail_return()
        ret = self.env["retail.return"].browse(action["res_id"])
        ret.reason = "wrong size"
        ret.line_ids.filtered(lambda l: l.product_id == self.mug).quantity = 1
        ret.line_ids.filtered(lambda l: l.product_id == self.cap).disposition = "scrap"
        return ret

    def _paused_return(self):
        """Return (sale, return): the return received, its refund paused as the sale has no invoice."""
        sale = self._sale()
        self._ship(sale)
        ret = self._return(sale)
        ret.action_authorise()
        perform_pending_jobs(self.env, method="_advance")
        self._receive(ret.return_picking_id)
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual(ret.workflow_state, "paused")
        return sale, ret

    def test_return_from_receipt_to_refund(self):
        sale = self._sale()
        self._ship(sale)
        sale._create_invoices().action_post()
        ret = self._return(sale)
        # one mug of two at 10.00 (12.50 less the discount), the cap at 20.00
        self.assertAlmostEqual(ret.amount, 30.0, places=2)
        ret.action_authorise()
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual(ret.workflow_state, "waiting")
        self.assertEqual(self._steps(ret), {
            "authorise": "done", "return_picking": "done", "expect_warehouse": "skipped", "receive": "waiting",
            "refund_odoo": "pending", "refund_channel": "pending", "close": "pending"})
        picking = ret.return_picking_id
        self.assertEqual(picking.picking_type_code, "incoming")
        self.assertEqual(sorted(picking.move_ids.mapped(lambda m: (m.product_id.default_code, m.product_uom_qty))),
                         [("RC-CAP", 1.0), ("RC-MUG", 1.0)])
        mug_before = self.mug.qty_available
        self._receive(picking)
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual(ret.state, "done", ret.step_ids.mapped("error_message"))
        self.assertEqual(self._steps(ret)["refund_channel"], "skipped", "the generic channel has no refund API")
        self.assertEqual(self.mug.qty_available, mug_before + 1, "the mug is restocked")
        cap_line = ret.line_ids.filtered(lambda l: l.product_id == self.cap)
        self.assertEqual((cap_line.received_qty, cap_line.scrap_id.state), (1.0, "done"), "the cap is scrapped")
        note = ret.credit_note_id
        self.assertEqual((note.move_type, note.state), ("out_refund", "posted"))
        self.assertAlmostEqual(note.amount_total, 30.0, places=2)
        self.assertIn(note.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(ret.payment_id.amount, 30.0, places=2)
        self.assertEqual(ret.payment_id.payment_type, "outbound")

    def test_failed_refund_pauses_and_resumes_without_redoing_the_picking(self):
        sale, ret = self._paused_return()
        failed = ret.step_ids.filtered(lambda s: s.code == "refund_odoo")
        self.assertEqual((failed.state, failed.error_class), ("failed", "UserError"))
        self.assertIn("no posted invoice", failed.error_message)
        activity = ret.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("Refund in Odoo", activity.summary)
        sale._create_invoices().action_post()
        ret.action_resume()
        self.assertFalse(activity.exists() and activity.active)
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual(ret.state, "done")
        self.assertEqual(len(sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")), 1)
        attempts = {s.code: s.attempts for s in ret.step_ids}
        self.assertEqual((attempts["return_picking"], attempts["refund_odoo"]), (1, 2))
        self.assertEqual(attempts["receive"], 2, "waited once, then received")

    def test_a_retail_user_resumes_a_paused_return(self):
        sale, ret = self._paused_return()
        sale._create_invoices().action_post()
        clerk = new_test_user(self.env, login="returns-clerk", name="Clerk",
                              groups="base.group_user,retail_connector_base.group_retail_user")
        outsider = new_test_user(self.env, login="returns-outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            ret.workflow_id.with_user(outsider).action_resume()
        ret.with_user(clerk).action_resume()
        self.assertEqual(ret.workflow_state, "running")
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual(ret.state, "done")
        self.assertIn("Clerk", " ".join(ret.workflow_id.message_ids.mapped("body")))

    def test_return_of_undelivered_lines_is_refused_at_authorisation(self):
        sale = self._sale()
        ret = self.env["retail.return"].create({
            "sale_order_id": sale.id,
            "line_ids": [(0, 0, {"product_id": self.mug.id, "quantity": 1, "amount": 10})],
        })
        ret.action_authorise()
        perform_pending_jobs(self.env, method="_advance")
        step = ret.step_ids[0]
        self.assertEqual((ret.workflow_state, step.code, step.state), ("paused", "authorise", "failed"))
        self.assertIn("is not on order", step.error_message)


@tagged("post_install", "-at_install")
class TestOrderTimeline(WorkflowCase):
    """Orders of an orchestrating channel get a timeline that follows them to the invoice."""

    def test_timeline_follows_the_order(self):
        self.backend.policy_for("orders").orchestrate = True
        self.backend.policy_for("fulfilment").mode = "off"
        sale = self._sale()
        workflow = sale.retail_order_workflow_id
        self.assertEqual(workflow.kind, "order")
        perform_pending_jobs(self.env, method="_advance")
        sale.invalidate_recordset()
        self.assertEqual(
            [(s.code, s.state) for s in sale.retail_order_step_ids],
            [("customer", "done"), ("payment", "done"), ("taxes", "done"), ("reservation", "done"),
             ("release", "skipped"), ("shipment", "waiting"), ("invoice", "pending"), ("notify", "pending")])
        self.assertEqual(sale.retail_order_workflow_state, "waiting")
        self._ship(sale)
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual({s.code: s.state for s in sale.retail_order_step_ids}["invoice"], "waiting")
        sale._create_invoices().action_post()
        perform_pending_jobs(self.env, method="_advance")
        sale.invalidate_recordset()
        self.assertEqual(sale.retail_order_workflow_state, "done")
        self.assertEqual({s.code: s.state for s in sale.retail_order_step_ids}["notify"], "skipped")
        self.assertEqual(workflow.step_ids.filtered(lambda s: s.code == "payment").message, "paid")

    def test_no_timeline_unless_the_policy_asks(self):
        sale = self._sale("G2001")
        self.assertFalse(sale.retail_order_workflow_id)
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_advance")]))

    def test_unpaid_order_waits_for_its_payment(self):
        self.backend.policy_for("orders").orchestrate = True
        sale = self._sale("G3001", payment_state="pending")
        perform_pending_jobs(self.env, method="_advance")
        step = sale.retail_order_step_ids.filtered(lambda s: s.code == "payment")
        self.assertEqual(step.state, "waiting")
        self.assertIn("pending", step.message)
        self.assertEqual(sale.retail_order_step_ids.filtered(lambda s: s.code == "taxes").state, "pending")


@tagged("post_install", "-at_install")
class TestOrchestrationCost(WorkflowCase):
    """Benchmark: what an orchestrated order adds to the order import (printed, never asserted on time)."""

    def _timed_import(self, external_id):
        cr = self.env.cr
        queries, started = cr.sql_log_count, time.perf_counter()
        self._sale(external_id)
        self.env.flush_all()
        return cr.sql_log_count - queries, time.perf_counter() - started

    def test_orchestration_cost_against_plain_import(self):
        count = 12
        policy = self.backend.policy_for("orders")
        self._timed_import("WARM-1")
        totals = {False: [0, 0.0], True: [0, 0.0]}
        # interleaved, so that caches and table growth weigh the same on both
        for index in range(2 * count):
            orchestrate = bool(index % 2)
            policy.orchestrate = orchestrate
            self.env.flush_all()
            queries, seconds = self._timed_import("B-%03d" % index)
            totals[orchestrate][0] += queries
            totals[orchestrate][1] += seconds
        (base_q, base_t), (orch_q, orch_t) = totals[False], totals[True]
        jobs = self.env["queue.job"].search([("method_name", "=", "_advance")])
        self.assertEqual(len(jobs), count, "one advance queued per orchestrated order")
        started, queries = time.perf_counter(), self.env.cr.sql_log_count
        perform_pending_jobs(self.env, method="_advance")
        adv_q, adv_t = self.env.cr.sql_log_count - queries, time.perf_counter() - started
        _logger.info(
            "Order import, %s orders: plain %.1f ms/order %.0f queries/order; orchestrated %.1f ms/order "
            "%.0f queries/order (x%.2f time, +%.0f queries); first advance (in its job) %.1f ms/order %.0f queries/order",
            count, 1000 * base_t / count, base_q / count, 1000 * orch_t / count, orch_q / count,
            orch_t / base_t if base_t else 0, (orch_q - base_q) / count, 1000 * adv_t / count, adv_q / count)
        self.assertEqual(len(self.env["retail.workflow"].search([("kind", "=", "order"), ("state", "=", "waiting")])), count)
