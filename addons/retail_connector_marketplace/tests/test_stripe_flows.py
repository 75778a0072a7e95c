# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import time
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

KEY = "sk_test_odoo_flows"
WHSEC = "whsec_odoo_flows"


@tagged("post_install", "-at_install")
class TestStripeFlows(ChannelFlowCase):
    """Stripe behind a WooCommerce shop, over real HTTP both ways: signed webhooks in, payouts read
    from the Stripe simulator and settled against the shop's orders."""

    SKUS = ("RC-MUG", "RC-CAP", "RC-TOTE")
    PRICELIST = "Stripe EUR"
    TAX = {"name": "TVA 21%", "amount": 21}
    PRODUCT = {"type": "consu", "list_price": 10, "invoice_policy": "order"}
    STOCK = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # WooCommerce rounds taxes per line: so does the company, so that invoices equal what Stripe charged
        cls.env.company.tax_calculation_rounding_method = "round_per_line"

    def setUp(self):
        super().setUp()
        from simulators.stripe import StripeSimulator  # noqa: PLC0415
        from simulators.woocommerce import WooCommerceSimulator  # noqa: PLC0415

        self.woo = self._channel_backend(
            name="Outlet", backend_type="woocommerce", api_key="ck_pay", api_secret="cs_pay", webhook_secret="wc-pay",
        )
        self.stripe = self._channel_backend(
            name="Stripe (outlet)", backend_type="stripe", api_secret=KEY, webhook_secret=WHSEC, warehouse_id=False,
            pricelist_id=False,
        )
        self.stripe.orders_backend_id = self.woo
        self.shop = self._start(WooCommerceSimulator(consumer_key="ck_pay", consumer_secret="cs_pay", seed=9))
        self.woo.endpoint_url = self.shop.url
        self.woo.action_woo_ensure_webhooks()
        self.account = self._start(StripeSimulator(
            secret_key=KEY, webhook_secret=WHSEC, site_url=self.shop.url, webhook_retries=0, seed=4,
            webhook_url=self._webhook_url(self.stripe),
        ))
        self.stripe.endpoint_url = self.account.url

    def _sale(self, order, backend=None):
        return super()._sale(order, backend or self.woo)

    def _paid_orders(self, *skus):
        """Return [(WooCommerce order, Odoo sale)], each order paid through Stripe and charged there."""
        orders = [self.shop.place_order(lines=[{"sku": sku, "quantity": 1}]) for sku in skus]
        perform_pending_jobs(self.env)
        for order in orders:
            self.assertEqual(order["payment_method"], "stripe")
            self.account.charge(order["number"], order["total"], charge_id=order["transaction_id"])
        return [(order, self._sale(order)) for order in orders]

    def _payouts(self):
        return self.env["retail.payout"].search([("backend_id", "=", self.stripe.id)], order="id")

    def _events(self):
        return self.env["retail.event"].search([("backend_id", "=", self.stripe.id)], order="id")

    def _rejected(self):
        return self.env["retail.rejected.request"].search([("backend_id", "=", self.stripe.id)], order="id")

    # ------------------------------------------------------------------ configuration
    def test_backend_defaults_and_connection_test(self):
        backend = self.env["retail.backend"].create({"name": "Stripe bare", "backend_type": "stripe"})
        self.assertEqual(backend.endpoint_url, "https://api.stripe.com")
        finance = backend.policy_for("finance")
        self.assertEqual((finance.mode, finance.interval_type, finance.cutoff_hour), ("event", "days", 23.0),
                         "payouts as their webhooks come, and fetched daily after the cut-off")
        self.assertEqual(backend.policy_for("orders").mode, "off", "a payment provider takes no orders")
        self.account.charge(1, "12.00")
        self.stripe.action_test_connection()
        self.assertTrue(self.stripe.last_check_ok, self.stripe.last_check_message)
        self.assertIn("11.57 EUR", self.stripe.last_check_message)
        self.stripe.api_secret = "sk_test_wrong_key_9999"
        self.stripe.action_test_connection()
        self.assertFalse(self.stripe.last_check_ok)
        self.assertIn("Invalid API Key", self.stripe.last_check_message)

    # ------------------------------------------------------------------ webhooks
    def test_signed_webhooks_are_accepted_once(self):
        self.account.charge(7, "20.00")
        payout = self.account.pay_out()
        deliveries = self.account.webhooks.all()
        self.assertEqual([d.status for d in deliveries], [202, 202], [d.attempts[-1].response_body for d in deliveries])
        events = self._events()
        self.assertEqual(events.mapped("topic"), ["payout.created", "payout.paid"])
        self.assertEqual(set(events.mapped("aggregate_type")), {"payout"})
        self.assertEqual(set(events.mapped("aggregate_key")), {payout["id"]})
        # Stripe delivers again what it got no answer for: the same event id is a duplicate
        again = self.account.resend(deliveries[-1].event_id)
        self.assertEqual(again[0].status, 200)
        self.assertEqual(len(self._events()), 2)

    def test_bad_signature_is_refused_and_recorded(self):
        self.account.charge(8, "20.00")
        self.account.tamper_webhooks(count=2, secret="whsec_someone_else")
        self.account.pay_out()
        self.assertEqual([d.status for d in self.account.webhooks.all()], [401, 401])
        self.assertFalse(self._events())
        rejected = self._rejected()
        # the same refusal twice is one row, counted twice
        self.assertEqual((rejected.mapped("code"), rejected.count), (["bad_signature"], 2))
        self.assertIn("does not match", rejected[0].reason)
        self.assertNotIn("Stripe-Signature", rejected[0].headers, "signatures are not kept")

    def test_unsigned_and_stale_webhooks_are_refused(self):
        self.account.charge(9, "20.00")
        self.account.tamper_webhooks(count=1, unsigned=True)
        payout = self.account.pay_out(status="in_transit")
        self.assertEqual(self.account.webhooks.all()[-1].status, 401)
        self.account.tamper_webhooks(count=1, timestamp_skew=-400)
        self.account.settle_payout(payout["id"])
        self.assertEqual([d.status for d in self.account.webhooks.all()], [401, 401])
        reasons = self._rejected().mapped("reason")
        self.assertIn("missing", reasons[0])
        self.assertIn("older than the 300 s tolerance", reasons[1])
        self.assertFalse(self._events())

    def test_previous_signing_secret_still_accepted_while_rolling(self):
        self.stripe.webhook_secret = "whsec_rolled"
        self.account.charge(10, "5.00")
        self.account.pay_out(status="in_transit")
        self.assertEqual(self.account.webhooks.all()[-1].status, 202, "signed with the previous secret")

    def test_unknown_event_type_is_refused_with_the_known_ones(self):
        self.account.enabled_events.add("charge.succeeded")
        self.account.emit("charge.succeeded", self.account.charge(11, "5.00"))
        delivery = self.account.webhooks.all()[-1]
        self.assertEqual(delivery.status, 422)
        self.assertIn("payout.paid", delivery.attempts[-1].response_body.decode())

    # ------------------------------------------------------------------ payouts
    def test_payout_webhook_imports_the_payout_matched_to_the_shop_invoices(self):
        (first, sale1), (second, sale2) = self._paid_orders("RC-MUG", "RC-CAP")
        invoice = sale1._create_invoices()
        invoice.action_post()
        payout = self.account.pay_out()
        perform_pending_jobs(self.env)
        events = self._events()
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("last_error"))
        record = self._payouts()
        self.assertEqual((record.external_id, record.status), (payout["id"], "paid"))
        self.assertAlmostEqual(record.amount, payout["amount"] / 100, places=2)
        self.assertEqual(record.currency_id.name, "EUR")
        lines = {line.order_external_id: line for line in record.line_ids}
        self.assertEqual(set(lines), {str(first["number"]), str(second["number"])}, "the payout's own move is no line")
        matched, waiting = lines[str(first["number"])], lines[str(second["number"])]
        self.assertEqual((matched.type, matched.match_state, matched.invoice_id), ("charge", "matched", invoice),
                         "%s: %s" % (matched.exception_reason, matched.message))
        self.assertEqual(matched.sale_order_id, sale1)
        self.assertAlmostEqual(matched.amount, float(first["total"]), places=2)
        self.assertGreater(matched.fee, 0)
        self.assertEqual((waiting.match_state, waiting.exception_reason), ("exception", "not_invoiced"))
        self.assertEqual(waiting.sale_order_id, sale2)
        self.assertEqual(record.state, "partial")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertAlmostEqual(record.statement_line_id.amount, payout["amount"] / 100, places=2)
        calls = self.account.calls_to("GET", "/v1/balance_transactions")
        self.assertTrue(calls and all(c.query.get("payout") == payout["id"] for c in calls))

    def test_refund_and_dispute_lines_name_their_orders(self):
        (order, sale), (other, _sale2) = self._paid_orders("RC-TOTE", "RC-MUG")
        charges = {c["metadata"]["order_id"]: c for c in self.account.charges.values()}
        self.account.refund(charges[str(order["number"])]["id"], "2.00", with_metadata=False)
        self.account.dispute(charges[str(other["number"])]["id"], notify=False)
        payout = self.account.pay_out()
        perform_pending_jobs(self.env)
        record = self._payouts()
        self.assertEqual(record.external_id, payout["id"])
        by_type = {line.type: line for line in record.line_ids}
        self.assertEqual(sorted(by_type), ["charge", "dispute", "refund"])
        self.assertEqual(by_type["refund"].order_external_id, str(order["number"]), "found through its charge")
        self.assertAlmostEqual(by_type["refund"].amount, -2.0, places=2)
        self.assertEqual(by_type["dispute"].order_external_id, str(other["number"]))
        self.assertAlmostEqual(by_type["dispute"].fee, 15.0, places=2)
        self.assertAlmostEqual(sum(record.line_ids.mapped("net")), record.amount, places=2)

    def test_finance_batch_reads_payouts_that_arrived_before_the_cutoff(self):
        self._paid_orders("RC-MUG")
        now = int(time.time())
        arrived = self.account.pay_out(arrival_date=now - 86400, notify=False)
        self._paid_orders("RC-CAP")
        self.account.pay_out(arrival_date=now + 3 * 86400, notify=False)  # still on its way
        with self.stripe.work_on("retail.payout") as work:
            run = work.component(usage="payout.importer").run(until=fields.Datetime.now())
        self.assertEqual(self._payouts().mapped("external_id"), [arrived["id"]])
        self.assertEqual(run.domain, "finance")
        [listing] = self.account.calls_to("GET", "/v1/payouts")
        self.assertIn("arrival_date[lte]", listing.query)
        self.assertEqual(self.stripe.policy_for("finance").checkpoint.date(), fields.Datetime.now().date())
        # the next run starts from the checkpoint (less its overlap): the payout is not imported twice
        with self.stripe.work_on("retail.payout") as work:
            work.component(usage="payout.importer").run(until=fields.Datetime.now() + timedelta(seconds=1))
        self.assertEqual(len(self._payouts()), 1)
        self.assertIn("arrival_date[gte]", self.account.calls_to("GET", "/v1/payouts")[-1].query)

    # ------------------------------------------------------------------ disputes
    def test_dispute_is_noted_on_the_shop_order(self):
        [(order, sale)] = self._paid_orders("RC-MUG")
        self.assertTrue(sale)
        charge = next(iter(self.account.charges.values()))
        self.account.dispute(charge["id"], reason="product_not_received")
        perform_pending_jobs(self.env)
        events = self._events()
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("last_error"))
        self.assertIn("product_not_received", " ".join(sale.message_ids.mapped("body")))
        self.assertEqual(len(sale.activity_ids), 1)
