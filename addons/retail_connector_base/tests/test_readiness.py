# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta
from unittest import SkipTest

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import RetailCase
from .simulators import load_simulators


@tagged("post_install", "-at_install")
class TestGoLive(RetailCase):
    """A backend is not live until what its traffic needs is there; not live, it sends and schedules nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {"name": "Go-live mug", "default_code": "GL-MUG", "type": "consu", "is_storable": True})

    def _requests(self, backend):
        return self.env["retail.export.request"].search([("backend_id", "=", backend.id)])

    def test_a_backend_saved_with_its_essentials_is_live(self):
        self.assertEqual(self.backend.go_live_state, "live")
        self.assertTrue(self.backend.go_live_date)
        self.assertFalse(self.backend.go_live_reason)

    def test_a_backend_without_endpoint_sends_and_schedules_nothing_and_says_why(self):
        backend = self.env["retail.backend"].create({"name": "Half-configured shop", "backend_type": "generic"})
        self.assertEqual(backend.go_live_state, "setup")
        self.assertIn("Endpoint URL is not set", backend.go_live_reason)
        self.assertFalse(backend._can_send("inventory"))
        # a change in Odoo makes no export request and no flush for it; the live backend gets its own
        self.env["retail.export.request"]._request(backend, "inventory", self.product)
        self.env["retail.export.request"]._request(self.backend.with_context(queue_job__no_delay=False),
                                                   "inventory", self.product)
        self.assertFalse(self._requests(backend))
        self.assertTrue(self._requests(self.backend))
        self.product.list_price = 42.0  # the listeners: pricing and catalogue changes
        self.assertFalse(self._requests(backend))
        # its scheduled runs do nothing
        jobs_before = self.env["queue.job"].search_count([])
        catalog = backend.policy_for("catalog")
        self.env["retail.sync.policy"]._cron_run(catalog.id)
        self.assertFalse(catalog.last_run, "a backend not live runs no scheduled work")
        self.assertEqual(self.env["queue.job"].search_count([]), jobs_before)
        # once its endpoint is saved it goes live by itself, and says so
        backend.write({"endpoint_url": "http://127.0.0.1:9"})
        self.assertEqual(backend.go_live_state, "live")
        self.assertFalse(backend.go_live_reason)
        self.env["retail.export.request"]._request(backend.with_context(queue_job__no_delay=False), "inventory",
                                                   self.product)
        self.assertEqual(len(self._requests(backend)), 1)

    def test_a_manager_takes_a_backend_off_live_and_it_stays_off_until_it_goes_live_again(self):
        self.backend.action_take_off_live()
        self.assertEqual(self.backend.go_live_state, "setup")
        self.assertIn("held by a manager", self.backend.go_live_reason)
        self.backend.write({"timeout": 12.0})
        self.assertEqual(self.backend.go_live_state, "setup", "a saved form does not put it back live")
        self.env["retail.export.request"]._request(self.backend, "inventory", self.product)
        self.assertFalse(self._requests(self.backend))
        self.backend.action_go_live_anyway()
        self.assertEqual(self.backend.go_live_state, "live")
        logs = self.env["retail.audit.log"].search([("res_model", "=", "retail.backend"), ("res_id", "=", self.backend.id)])
        self.assertTrue(any("not live → live" in (log.changes or "") for log in logs), logs.mapped("changes"))

    def test_switching_a_domain_on_checks_the_essentials_first(self):
        self.backend.policy_for("returns").mode = "off"
        self.backend.sudo().with_context(retail_no_audit=True).write({"endpoint_url": False})
        with self.assertRaises(UserError) as caught:
            self.backend.policy_for("returns").mode = "orchestrated"
        self.assertIn("Endpoint URL", str(caught.exception))
        self.backend.endpoint_url = "http://127.0.0.1:9"
        self.backend.policy_for("returns").mode = "orchestrated"
        self.assertEqual(self.backend.policy_for("returns").mode, "orchestrated")

    def test_only_managers_run_the_check_and_go_live(self):
        user = new_test_user(self.env, login="readiness_user", groups="retail_connector_base.group_retail_user")
        for method in ("action_check_readiness", "action_go_live", "action_go_live_anyway", "action_take_off_live"):
            with self.assertRaises(AccessError):
                getattr(self.backend.with_user(user), method)()


@tagged("post_install", "-at_install")
class TestReadinessCheck(RetailCase):
    """The readiness check lists what would make traffic fail, each with its fix."""

    def setUp(self):
        super().setUp()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        # a tax rate no Odoo tax has: its orders would fail
        self.channel = GenericChannel(token="ready-token", tax_rate="0.0733").start()
        self.addCleanup(self.channel.stop)
        self.shop = self.env["retail.backend"].create({
            "name": "Readiness shop", "backend_type": "generic", "go_live_state": "setup",
            "endpoint_url": self.channel.url, "api_secret": "ready-token", "webhook_secret": "whsec-ready",
            "warehouse_id": self.env["stock.warehouse"].search([("company_id", "=", self.env.company.id)], limit=1).id,
        })

    def _findings(self, backend=None):
        backend = backend or self.shop
        return {(i.check, i.channel_value or i.field_name or ""): i for i in backend.readiness_item_ids}

    def test_an_unmapped_channel_tax_blocks_going_live_until_it_is_mapped_from_the_list(self):
        self.assertEqual(self.shop.go_live_state, "setup")
        action = self.shop.action_go_live()
        self.assertEqual(action["res_id"], self.shop.id, "the findings are shown instead")
        self.assertEqual(self.shop.go_live_state, "setup")
        findings = self._findings()
        tax = findings[("mapping", "VAT 7.33%")]
        self.assertEqual(tax.severity, "blocking")
        self.assertIn("no Odoo sales tax has its rate", tax.name)
        self.assertEqual(findings[("mapping", "card")].severity, "warning", "a gateway falls back to Odoo's default")
        self.assertEqual(findings[("mapping", "standard")].map_kind, "shipping")
        self.assertIn(("pricelist", ""), findings)
        self.assertNotIn(("warehouse", ""), findings)
        self.assertNotIn(("connection", ""), findings)
        self.assertEqual(self.channel.calls_to("GET", "/api/v1/settings")[0].headers.get("Authorization"),
                         "Bearer ready-token")
        # the fix: a mapping form for that very value, which removes the finding once saved
        fix = tax.action_fix()
        self.assertEqual((fix["res_model"], fix["target"]), ("retail.value.map", "new"))
        self.assertEqual(fix["context"]["default_external_value"], "VAT 7.33%")
        odoo_tax = self.env["account.tax"].create({"name": "Channel VAT 7.33%", "amount": 7.33,
                                                   "type_tax_use": "sale", "amount_type": "percent"})
        form = Form(self.env["retail.value.map"].with_context(**fix["context"]).with_user(self.env.user),
                    view="retail_connector_base.retail_value_map_view_form_readiness")
        form.odoo_ref = "account.tax,%d" % odoo_tax.id
        mapping = form.save()
        self.assertEqual((mapping.kind, mapping.external_value, mapping.backend_id), ("tax", "VAT 7.33%", self.shop))
        self.assertFalse(tax.exists(), "the fixed finding leaves the list")
        self.shop.action_go_live()
        self.assertNotIn(("mapping", "VAT 7.33%"), self._findings())
        self.assertEqual(self.shop.readiness_blocking_count, 0)
        self.assertEqual(self.shop.go_live_state, "live")

    def test_a_failing_connection_blocks_and_a_manager_may_go_live_anyway(self):
        self.shop.endpoint_url = "http://127.0.0.1:9"
        self.assertEqual(self.shop.go_live_state, "setup", "the backend was held by its creator")
        self.shop.action_check_readiness()
        connection = self._findings()[("connection", "")]
        self.assertEqual(connection.severity, "blocking")
        self.assertIn("connection test fails", connection.name)
        self.shop.action_go_live()
        self.assertEqual(self.shop.go_live_state, "setup")
        self.shop.action_go_live_anyway()
        self.assertEqual(self.shop.go_live_state, "live")

    def test_products_without_sku_and_the_missing_warehouse_are_listed_with_their_fix(self):
        self.env["product.product"].create({"name": "No SKU lamp", "type": "consu", "sale_ok": True})
        self.shop.warehouse_id = False
        self.shop.action_check_readiness()
        findings = self._findings()
        sku = findings[("sku", "")]
        self.assertEqual(sku.severity, "warning")
        products = self.env["product.product"].search(sku.action_fix()["domain"])
        self.assertIn("No SKU lamp", products.mapped("name"))
        self.assertFalse(products.filtered("default_code"))
        findings[("warehouse", "")].action_fix()
        self.assertTrue(self.shop.warehouse_id, "the fix sets the company's warehouse")
        self.assertNotIn(("warehouse", ""), self._findings())

    def test_a_channel_clock_ahead_of_odoo_is_reported(self):
        now = fields.Datetime.now()
        for index in range(3):
            self.env["retail.event"].create({
                "backend_id": self.shop.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
                "aggregate_key": "skew%d" % index, "idempotency_key": "skew-%d" % index, "payload": "{}",
                "state": "done", "received_at": now, "channel_timestamp": now + timedelta(minutes=5)})
        self.assertGreaterEqual(self.shop._clock_skew(), 290)
        self.shop.action_check_readiness()
        self.assertIn("ahead of Odoo", self._findings()[("clock", "")].name)

    def test_channel_skus_without_product_and_unregistered_webhooks_come_from_the_last_reconciliations(self):
        Run = self.env["retail.reconciliation.run"]
        old = Run.create({"backend_id": self.shop.id, "domain": "inventory", "state": "done"})
        old._add("missing_in_odoo", "GONE-1", None, 3)
        run = Run.create({"backend_id": self.shop.id, "domain": "inventory", "state": "done"})
        run._add("missing_in_odoo", "NEW-1", None, 3)
        run._add("missing_in_odoo", "NEW-2", None, 1)
        hooks = Run.create({"backend_id": self.shop.id, "domain": "orders", "state": "done"})
        hooks._add("webhook_disabled", "orders/create", "active", "missing", action="repaired")
        self.shop.action_check_readiness()
        findings = self._findings()
        self.assertIn("2 channel SKUs match no Odoo product", findings[("sku", "channel_sku")].name,
                      "only the latest run of a domain counts")
        self.assertEqual(findings[("sku", "channel_sku")].action_fix()["res_model"], "retail.mapping.suggestion")
        self.assertIn("orders/create", findings[("webhook", "registration")].name)
        self.assertEqual(findings[("webhook", "registration")].action_fix()["res_model"], "retail.reconciliation.run")
