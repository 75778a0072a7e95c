# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import ShopifyFlowCase
from .test_shopify_flows import SKUS


@tagged("post_install", "-at_install")
class TestShopifyPayouts(ShopifyFlowCase):
    """Shopify Payments payouts read over HTTP from the shop and settled against the imported orders."""

    SKUS = SKUS
    STOCK = 50
    BACKEND = {"name": "Shopify payouts", "invoice_policy": "on_import"}
    SEED = 5

    def _add_payout(self, **kw):
        """A payout issued a minute ago: the batch takes what was issued before it starts."""
        issued = datetime.now(timezone.utc) - timedelta(minutes=1)
        return self.shop.add_payout(issued_at=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), **kw)

    def setUp(self):
        super().setUp()
        self.backend.policy_for("finance").cutoff_hour = 0  # no cut-off: everything issued until now
        self.dispute_account = self.env["account.account"].search(
            [("account_type", "=", "expense"), ("company_ids", "in", self.backend.company_id.id)], limit=1)
        self.backend.payout_dispute_account_id = self.dispute_account

    def test_payout_with_charges_refund_fees_and_dispute(self):
        first = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}])
        second = self.shop.place_order(line_items=[{"sku": "RC-CAP", "quantity": 1}, {"sku": "RC-HOODIE-M", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale1, sale2 = self._sale(first), self._sale(second)
        for sale in (sale1, sale2):
            self.assertEqual(sale.invoice_ids.state, "posted", "invoiced on import")
            self.assertIn(sale.invoice_ids.payment_state, ("paid", "in_payment"), "paid from the order's transactions")
        self.shop.refund_order(second["id"], amount="10.00", note="late delivery")
        perform_pending_jobs(self.env)
        credit_note = sale2.retail_refund_ids.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        shop_payout = self._add_payout(
            order_ids=[first["id"], second["id"]],
            transactions=[{"type": "DISPUTE", "amount": "-20.00", "fee": "15.00", "order_id": first["id"]}],
        )
        result = self.backend._run_scheduled_domain("finance")
        self.assertIn("payouts: 1 payout(s)", result)
        payout = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(payout.external_id, str(shop_payout["id"]))
        self.assertAlmostEqual(payout.amount, float(shop_payout["net"]), places=2)
        self.assertEqual(sorted(payout.line_ids.mapped("type")), ["charge", "charge", "dispute", "refund"])
        self.assertEqual(payout.state, "matched", payout.line_ids.mapped("message"))
        charges = payout.line_ids.filtered(lambda line: line.type == "charge")
        self.assertEqual(charges.sale_order_id, sale1 | sale2)
        self.assertEqual(charges.payment_id, (sale1 | sale2).invoice_ids.matched_payment_ids
                         | (sale1 | sale2).invoice_ids._get_reconciled_payments())
        self.assertTrue(all(charges.payment_id.mapped("is_reconciled")))
        refund = payout.line_ids.filtered(lambda line: line.type == "refund")
        self.assertEqual(refund.invoice_id, credit_note)
        self.assertEqual(credit_note.payment_state, "paid")
        st_line = payout.statement_line_id
        self.assertAlmostEqual(st_line.amount, float(shop_payout["net"]), places=2)
        fees = sum(payout.line_ids.mapped("fee"))
        self.assertGreater(fees, 15.0)
        fee_lines = st_line.move_id.line_ids.filtered(lambda a: a.account_id == self.backend.payout_fee_account_id)
        self.assertAlmostEqual(sum(fee_lines.mapped("amount_currency")), fees, places=2)
        dispute_lines = st_line.move_id.line_ids.filtered(lambda a: a.account_id == self.dispute_account)
        self.assertAlmostEqual(sum(dispute_lines.mapped("amount_currency")), 20.0, places=2)
        _liquidity, suspense, _other = st_line._seek_for_lines()
        self.assertFalse(suspense, "everything matched: nothing left on the suspense account")
        # the next run reads the same payout again and changes nothing
        self.backend._run_scheduled_domain("finance")
        self.assertEqual(self.env["retail.payout"].search_count([("backend_id", "=", self.backend.id)]), 1)
        self.assertEqual(self.env["account.bank.statement.line"].search_count(
            [("journal_id", "=", self.backend.payout_journal_id.id)]), 1)
        run = self.env["retail.reconciliation.run"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "finance")], limit=1)
        self.assertIn("1 settled already", run.message)

    def test_unknown_order_stays_an_exception(self):
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}], notify=False)
        self._add_payout(order_ids=[order["id"]])
        self.backend._run_scheduled_domain("finance")
        payout = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(payout.state, "exception")
        self.assertEqual(payout.line_ids.exception_reason, "unknown_order")
        # the missed order arrives; matching again settles it
        self.backend._reconcile("orders")
        perform_pending_jobs(self.env)
        payout.action_match_again()
        self.assertEqual(payout.state, "matched", payout.line_ids.mapped("message"))

    def test_a_finance_run_the_rate_limit_stops_continues_after_the_last_payout_imported(self):
        orders = [self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}]) for _ in range(2)]
        perform_pending_jobs(self.env)
        payouts = [self._add_payout(order_ids=[order["id"]]) for order in orders]

        def transactions_read(payout):
            return [c for c in self.shop.calls.all() if "payments_transfer_id:%s" % payout["id"]
                    in str(((c.json() or {}).get("variables") or {}).get("query"))]

        # the backend's bucket holds two requests (the payouts listed, the first one's transactions); the
        # next token comes in ten seconds
        key = self.backend._outbound_bucket()
        self.backend.write({"rate_limit_rps": 0.1, "rate_limit_burst": 2})
        with self.env.registry.cursor() as cr:
            cr.execute("""
                INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                VALUES (%s, 2, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO UPDATE SET tokens = 2, stamp = extract(epoch from clock_timestamp())
            """, (key,))
        backend = self.backend.with_context(queue_job__no_delay=False, job_uuid="finance-run")
        result = backend._run_scheduled_domain("finance")
        self.assertIn("Paused by the rate limit", result)
        run = self.env["retail.reconciliation.run"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "finance")])
        self.assertEqual(run.state, "running", run.message)
        self.assertEqual(run.payout_ids.mapped("external_id"), [str(payouts[0]["id"])], "the first one settled")
        self.assertEqual((len(transactions_read(payouts[0])), len(transactions_read(payouts[1]))), (1, 0))

        self.backend.write({"rate_limit_rps": 100, "rate_limit_burst": 100})
        with self.env.registry.cursor() as cr:
            cr.execute("UPDATE retail_rate_bucket SET tokens = 100 WHERE key = %s", (key,))
        perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual((run.state, run.payout_count), ("done", 2), run.message)
        records = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(sorted(records.mapped("external_id")), sorted(str(p["id"]) for p in payouts))
        self.assertEqual(set(records.mapped("state")), {"matched"}, records.line_ids.mapped("message"))
        for payout in payouts:
            self.assertEqual(len(transactions_read(payout)), 1, "each payout's transactions read once")
