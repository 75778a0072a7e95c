# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest import SkipTest

from odoo.tests import HttpCase, tagged

from .simulators import load_simulators


@tagged("post_install", "-at_install")
class TestBackendTour(HttpCase):
    def test_create_backend_edit_policy_and_test_connection(self):
        sims = load_simulators()
        if sims is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        with GenericChannel(token="tour-token", shop_name="Tour Channel") as channel:
            self.env["ir.default"].set("retail.backend", "endpoint_url", channel.url, user_id=self.env.ref("base.user_admin").id)
            self.start_tour("/odoo", "retail_connector_backend_tour", login="admin")
            pings = channel.calls_to("GET", "/api/v1/ping")

        backend = self.env["retail.backend"].search([("name", "=", "Tour partner shop")])
        self.assertEqual(len(backend), 1)
        self.assertTrue(backend.last_check_ok)
        orders = backend.policy_for("orders")
        self.assertEqual(orders.interval_number, 5)
        self.assertEqual(orders.cron_id.interval_number, 5, "the policy's schedule follows the edit")
        self.assertEqual(len(pings), 1)
        self.assertEqual(pings[0].headers.get("Authorization"), "Bearer tour-token")
