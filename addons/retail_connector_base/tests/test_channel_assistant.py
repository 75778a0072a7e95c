# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json
from unittest import SkipTest

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..lib.signatures import sign_retail
from ..models.retail_event import wake_key
from .jobs import perform_pending_jobs
from .simulators import load_simulators
from .test_order_import import ORDER


class SignedOrders:
    """Post a channel's signed order webhook, as the generic channel does."""

    def _post_order(self, backend, secret, event_id="evt-first-order", **changes):
        body = json.dumps(dict(copy.deepcopy(ORDER), currency=self.env.company.currency_id.name, **changes)).encode()
        return self.url_open("/retail/webhook/%d" % backend.id, data=body, headers={
            "Content-Type": "application/json", "X-Retail-Topic": "orders/create", "X-Retail-Event-Id": event_id,
            "X-Retail-Signature": sign_retail(secret, body, None)})

    @classmethod
    def _products(cls):
        Product = cls.env["product.product"]
        for sku, name in (("RC-MUG", "Mug"), ("RC-CAP", "Cap")):
            if not Product.search([("default_code", "=", sku)]):
                Product.create({"name": name, "default_code": sku, "type": "consu"})


@tagged("post_install", "-at_install")
class TestChannelAssistantTour(SignedOrders, HttpCase):
    def test_new_generic_channel_to_its_first_order(self):
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        self._products()
        admin = self.env.ref("base.user_admin")
        with GenericChannel(token="assistant-token", shop_name="Assistant Channel", tax_rate="0") as channel:
            self.env["ir.default"].set("retail.channel.assistant", "endpoint_url", channel.url, user_id=admin.id)
            self.start_tour("/odoo", "retail_connector_channel_assistant_tour", login="admin")
            pings = channel.calls_to("GET", "/api/v1/ping")
            url = channel.url
        backend = self.env["retail.backend"].search([("name", "=", "Assistant shop")])
        self.assertEqual((len(backend), backend.backend_type, backend.endpoint_url), (1, "generic", url))
        self.assertEqual(backend.go_live_state, "live", "the assistant's last step put it live")
        self.assertTrue(backend.last_check_ok)
        self.assertTrue(pings and all(p.headers.get("Authorization") == "Bearer assistant-token" for p in pings))
        self.assertFalse(self.env["retail.channel.assistant"].search([("backend_id", "=", backend.id)]).api_secret,
                         "the token is kept on the backend only, encrypted")
        secret = backend.sudo().webhook_secret
        self.assertTrue(secret and len(secret) >= 32, "the assistant gave the channel a secret of its own")

        # the channel sends its first order, signed with the secret the assistant showed
        answer = self._post_order(backend, secret)
        self.assertEqual(answer.status_code, 202, answer.text)
        perform_pending_jobs(self.env)
        binding = self.env["retail.sale.order.binding"].search([("backend_id", "=", backend.id)])
        self.assertEqual(len(binding), 1)
        self.assertEqual(binding.odoo_id.client_order_ref, "#1001")
        self.assertEqual(backend.sale_order_count, 1)
        self.start_tour("/odoo/action-retail_connector_base.action_retail_backend/%d" % backend.id,
                        "retail_connector_channel_first_order_tour", login="admin")


@tagged("post_install", "-at_install")
class TestNotLive(SignedOrders, HttpCase):
    """A backend not live schedules and sends nothing and says why; held on purpose, it keeps what its channel
    posts until it goes live."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._products()
        cls.backend = cls.env["retail.backend"].create({
            "name": "Held shop", "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "webhook_secret": "whsec-held", "inbound_rate_limit": 0, "go_live_state": "setup"})

    def test_run_now_says_why_nothing_runs(self):
        policy = self.backend.policy_for("orders")
        with self.assertRaises(UserError) as caught:
            policy.action_run_now()
        message = caught.exception.args[0]
        self.assertIn("Held shop is not live", message)
        self.assertIn("held by a manager", message, "the reason the backend gives on its form")
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_run_scheduled_domain")]))
        # a run queued before the backend was taken off live does nothing
        self.assertIn("Not live", self.backend._run_scheduled_domain("orders"))

    def test_webhooks_are_kept_and_applied_once_it_goes_live(self):
        answer = self._post_order(self.backend, "whsec-held")
        self.assertEqual(answer.status_code, 202, "accepted: the channel does not retry nor disable the webhook")
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(event.state, "received")
        key = wake_key(self.backend.id, "orders")
        self.assertFalse(self.env["queue.job"].search([("identity_key", "=", key)]), "nothing applies it yet")
        self.assertEqual(self.env["retail.event"]._cron_sweep(grace_minutes=0), 0, "nor does the sweep")
        self.backend.invalidate_recordset(["go_live_reason"])
        self.assertIn("1 events received from the channel wait", self.backend.go_live_reason)
        self.assertFalse(self.env["sale.order"].search([("client_order_ref", "=", "#1001")]))

        self.backend.action_go_live_anyway()
        self.assertTrue(self.env["queue.job"].search([("method_name", "=", "_dispatch")]), "going live applies them")
        perform_pending_jobs(self.env, method="_dispatch")
        self.assertEqual(event.state, "done")
        self.assertTrue(self.env["sale.order"].search([("client_order_ref", "=", "#1001")]))
        # live again: what comes now is applied as it comes
        self.assertEqual(self._post_order(self.backend, "whsec-held", event_id="evt-2",
                                          external_id="G1002", name="#1002").status_code, 202)
        self.assertTrue(self.env["queue.job"].search([("identity_key", "=", key), ("state", "=", "pending")]))

    def test_a_backend_only_lacking_its_endpoint_applies_what_its_channel_posts(self):
        backend = self.env["retail.backend"].create({"name": "Webhooks only", "backend_type": "generic",
                                                     "webhook_secret": "whsec-only", "inbound_rate_limit": 0})
        self.assertEqual((backend.go_live_state, backend.go_live_auto), ("setup", True), "it sends nothing")
        self.assertEqual(self._post_order(backend, "whsec-only").status_code, 202)
        self.assertTrue(self.env["queue.job"].search([("identity_key", "=", wake_key(backend.id, "orders"))]),
                        "receiving needs no endpoint: its orders are applied as they come")

    def test_taken_off_live_keeps_what_comes(self):
        self.backend.action_go_live_anyway()
        self.backend.action_take_off_live()
        self.assertEqual(self._post_order(self.backend, "whsec-held").status_code, 202)
        self.assertEqual(self.env["retail.event"].search([("backend_id", "=", self.backend.id)]).state, "received")
        self.assertFalse(self.env["queue.job"].search([("identity_key", "=", wake_key(self.backend.id, "orders"))]))

    def test_only_managers_use_the_assistant(self):
        user = new_test_user(self.env, login="assistant_user", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            self.env["retail.channel.assistant"].with_user(user).create({"name": "Nope"})
        wizard = self.env["retail.channel.assistant"].create({"name": "Nope"})
        for method in ("action_next", "action_back", "action_test_connection", "action_check_readiness",
                       "action_go_live", "action_register_webhooks", "action_suggest_mappings"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(wizard.with_user(user), method)()

    def test_assistant_refuses_webhook_registration_where_the_channel_has_none(self):
        wizard = self.env["retail.channel.assistant"].create({"name": "Manual hooks", "backend_type": "generic",
                                                              "endpoint_url": "http://127.0.0.1:9"})
        wizard.action_next()
        wizard.action_next()  # credentials: the backend is saved, held not live
        self.assertEqual((wizard.step, wizard.backend_id.go_live_state), ("connection", "setup"))
        self.assertFalse(wizard.can_register_webhooks)
        with self.assertRaises(UserError):
            wizard.action_register_webhooks()
