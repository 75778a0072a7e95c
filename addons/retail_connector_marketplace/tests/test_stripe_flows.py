# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest import SkipTest

from odoo.tests import HttpCase, tagged

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs
from odoo.addons.retail_connector_base.tests.simulators import load_simulators

KEY = "sk_test_odoo_flows"
WHSEC = "whsec_odoo_flows"


@tagged("post_install", "-at_install")
class TestStripeFlows(HttpCase):
    """Stripe behind a WooCommerce shop, over real HTTP both ways: signed webhooks in, payouts read
    from the Stripe simulator and settled against the shop's orders."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        eur = cls.env.ref("base.EUR")
        eur.active = True
        cls.pricelist = cls.env["product.pricelist"].create({"name": "Stripe EUR", "currency_id": eur.id})
        cls.warehouse = cls.env.ref("stock.warehouse0")
        cls.products = cls.env["product.product"].create(
            [{"name": sku, "default_code": sku, "type": "consu", "list_price": 10}
             for sku in ("RC-MUG", "RC-CAP", "RC-TOTE")]
        )

    def setUp(self):
        super().setUp()
        from simulators.stripe import StripeSimulator  # noqa: PLC0415
        from simulators.woocommerce import WooCommerceSimulator  # noqa: PLC0415

        self.enterContext(self.allow_requests(all_requests=True))
        Backend = self.env["retail.backend"]
        self.woo = Backend.create(
            {"name": "Outlet", "backend_type": "woocommerce", "api_key": "ck_pay", "api_secret": "cs_pay",
             "webhook_secret": "wc-pay", "warehouse_id": self.warehouse.id, "pricelist_id": self.pricelist.id,
             "inbound_rate_limit": 0, "rate_limit_rps": 100, "rate_limit_burst": 100}
        )
        self.stripe = Backend.create(
            {"name": "Stripe (outlet)", "backend_type": "stripe", "api_secret": KEY, "webhook_secret": WHSEC,
             "inbound_rate_limit": 0, "rate_limit_rps": 100, "rate_limit_burst": 100}
        )
        if "orders_backend_id" in Backend._fields:
            self.stripe.orders_backend_id = self.woo
        self.shop = WooCommerceSimulator(consumer_key="ck_pay", consumer_secret="cs_pay", seed=9).start()
        self.addCleanup(self.shop.stop)
        self.woo.endpoint_url = self.shop.url
        self.woo.action_woo_ensure_webhooks()
        self.account = StripeSimulator(
            secret_key=KEY, webhook_secret=WHSEC, site_url=self.shop.url, webhook_retries=0, seed=4,
            webhook_url="%s/retail/webhook/%d" % (self.base_url(), self.stripe.id),
        ).start()
        self.addCleanup(self.account.stop)
        self.stripe.endpoint_url = self.account.url

    def _events(self):
        return self.env["retail.event"].search([("backend_id", "=", self.stripe.id)], order="id")

    def _rejected(self):
        return self.env["retail.rejected.request"].search([("backend_id", "=", self.stripe.id)], order="id")

    # ------------------------------------------------------------------ configuration
    def test_backend_defaults_and_connection_test(self):
        backend = self.env["retail.backend"].create({"name": "Stripe bare", "backend_type": "stripe"})
        self.assertEqual(backend.endpoint_url, "https://api.stripe.com")
        self.assertEqual(backend.policy_for("finance").mode, "batch")
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
        self.assertEqual(rejected.mapped("code"), ["bad_signature", "bad_signature"])
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

    # ------------------------------------------------------------------ disputes
    def test_dispute_is_noted_on_the_shop_order(self):
        if "orders_backend_id" not in self.env["retail.backend"]._fields:
            raise SkipTest("payment providers name their storefront with orders_backend_id")
        order = self.shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}])
        perform_pending_jobs(self.env)
        sale = self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", self.woo.id), ("external_id", "=", str(order["id"]))]).odoo_id
        self.assertTrue(sale)
        charge = self.account.charge(order["number"], order["total"], charge_id=order["transaction_id"])
        self.account.dispute(charge["id"], reason="product_not_received")
        perform_pending_jobs(self.env)
        events = self._events()
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("last_error"))
        self.assertIn("product_not_received", " ".join(sale.message_ids.mapped("body")))
        self.assertEqual(len(sale.activity_ids), 1)
