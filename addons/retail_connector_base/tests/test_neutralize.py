# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A neutralised copy calls no channel: Odoo's neutralisation queries, run as ``odoo-bin neutralize`` runs them."""

from unittest import SkipTest

import odoo.modules.neutralize
from odoo.tests import tagged

from ..models.retail_neutralize import ALLOW_PARAM, NeutralizedDatabase
from .common import RetailCase
from .simulators import load_simulators

OUR_ADDONS = ("retail_connector_base", "retail_connector_marketplace", "retail_connector_wms", "retail_connector_pos")


@tagged("post_install", "-at_install")
class TestNeutralize(RetailCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        cls.channel = GenericChannel(token="token-123", currency="USD").start()
        cls.addClassCleanup(cls.channel.stop)
        cls.backend.endpoint_url = cls.channel.url
        cls.backend.policy_for("pricing").write({"mode": "batch", "direction": "both"})

    def _neutralize(self):
        self.env.flush_all()
        odoo.modules.neutralize.neutralize_database(self.env.cr)
        # the server that serves a neutralised copy starts with empty caches
        self.env.invalidate_all()
        self.env.registry.clear_all_caches()

    def test_every_addon_has_its_neutralisation(self):
        installed = odoo.modules.neutralize.get_installed_modules(self.env.cr)
        ours = [m for m in OUR_ADDONS if m in installed]
        self.assertEqual(len(ours), 4, "the four addons are installed in the test database")
        for module in ours:
            queries = list(odoo.modules.neutralize.get_neutralization_queries([module]))
            self.assertEqual(len(queries), 1, module)
            self.assertIn("retail_backend", queries[0], module)

    def test_a_neutralised_copy_keeps_its_secrets_and_calls_no_channel(self):
        # before: the backend reaches its channel (so that what follows can fail)
        self.backend.action_test_connection()
        self.assertTrue(self.backend.last_check_ok, self.backend.last_check_message)
        calls_before = len(self.channel.calls)
        self.assertGreaterEqual(calls_before, 1)
        policy_crons = self.backend.policy_ids.cron_id
        self.assertTrue(policy_crons.filtered("active"), "the policies of an active backend are scheduled")
        waiting_job = self.backend.with_context(queue_job__no_delay=False).with_delay(
            channel="root.retail.pricing")._run_scheduled_domain("pricing").db_record()
        self.assertEqual(waiting_job.state, "pending")
        other = self.env["retail.backend"].create({"name": "Second", "backend_type": "generic",
                                                   "endpoint_url": self.channel.url, "api_secret": "token-123"})

        self._neutralize()

        backends = (self.backend | other).with_context(active_test=False)
        self.assertFalse(any(backends.mapped("active")), "every backend of the copy is archived")
        self.assertFalse(backends.policy_ids.cron_id.filtered("active"), "no schedule runs")
        self.assertEqual(waiting_job.state, "cancelled", "nothing waiting in a job runs")
        # secrets kept (a copy made a staging server keeps its configuration), unused
        self.assertEqual(self.backend.sudo().api_secret, "token-123")
        self.assertEqual(self.backend.sudo().webhook_secret, "whsec-1")
        self.assertFalse(self.env["retail.backend"]._gateway_config(self.backend.id).active,
                         "the gateway answers an archived backend 404")

        # even a backend a person activates again calls nothing
        self.backend.active = True
        with self.assertRaises(NeutralizedDatabase):
            self.backend._channel_client()
        with self.assertRaises(NeutralizedDatabase):
            self.backend._throttle_outbound("GET", "/api/v1/ping")
        self.backend.action_test_connection()
        self.assertFalse(self.backend.last_check_ok)
        self.assertIn("neutralised copy", self.backend.last_check_message)
        product = self.env["product.product"].create({"name": "Neutral", "default_code": "NEUTRAL-1",
                                                      "list_price": 5})
        self.env["retail.export.request"]._request(self.backend, "pricing", product)
        with self.assertRaises(NeutralizedDatabase):
            self.env["retail.export.request"]._send_pending(self.backend, "pricing")
        self.assertEqual(len(self.channel.calls), calls_before, "the channel received no call after neutralisation")

        # a staging copy deliberately pointed at test channels may call them
        self.env["ir.config_parameter"].sudo().set_param(ALLOW_PARAM, "True")
        self.backend.action_test_connection()
        self.assertTrue(self.backend.last_check_ok, self.backend.last_check_message)
        self.assertEqual(len(self.channel.calls), calls_before + 1)
