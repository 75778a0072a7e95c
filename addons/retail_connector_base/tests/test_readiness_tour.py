# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta
from unittest import SkipTest

from odoo import fields
from odoo.tests import HttpCase, tagged

from .simulators import load_simulators


@tagged("post_install", "-at_install")
class TestOperationsTours(HttpCase):
    def test_cockpit_to_a_backend_s_charts(self):
        backend = self.env["retail.backend"].create({"name": "Tour charts shop", "backend_type": "generic",
                                                     "endpoint_url": "http://127.0.0.1:9"})
        now = fields.Datetime.now()
        for index in range(4):
            received = now - timedelta(hours=index + 1)
            self.env["retail.event"].create({
                "backend_id": backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
                "aggregate_key": "CH-%d" % index, "idempotency_key": "charts-%d" % index, "payload": "{}",
                "state": "failed" if index == 0 else "done", "received_at": received,
                "processed_at": received + timedelta(seconds=3) if index else False})
        self.start_tour("/odoo", "retail_connector_cockpit_charts_tour", login="admin")

    def test_readiness_check_lists_an_unmapped_tax_and_fixes_it(self):
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        tax = self.env["account.tax"].create({"name": "Channel VAT 7.33%", "amount": 7.33, "type_tax_use": "sale",
                                              "amount_type": "percent", "active": True})
        tax.amount = 7.0  # named like the channel's, at another rate: only a mapping says it is the one
        with GenericChannel(token="tour-ready", tax_rate="0.0733") as channel:
            backend = self.env["retail.backend"].create({
                "name": "Tour readiness shop", "backend_type": "generic", "go_live_state": "setup",
                "endpoint_url": channel.url, "api_secret": "tour-ready", "webhook_secret": "whsec-tour"})
            self.start_tour("/odoo/action-retail_connector_base.action_retail_backend/%d" % backend.id,
                            "retail_connector_readiness_tour", login="admin")
        mapping = backend.value_map_ids.filtered(lambda m: m.kind == "tax")
        self.assertEqual((mapping.external_value, mapping.odoo_ref), ("VAT 7.33%", tax))
        self.assertEqual(backend.go_live_state, "live")
        self.assertFalse(backend.readiness_item_ids.filtered(lambda i: i.severity == "blocking"))
