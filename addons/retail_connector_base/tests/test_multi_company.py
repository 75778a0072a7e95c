# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase, new_test_user, tagged

from ..lib.inbound import InboundEvent


@tagged("post_install", "-at_install")
class TestMultiCompany(TransactionCase):
    """A user of one company sees none of another company's backends or what they hold."""

    def test_records_of_another_company_are_invisible(self):
        company_a = self.env.company
        company_b = self.env["res.company"].create({"name": "Other retail company"})
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        backends = {}
        for company in (company_a, company_b):
            backend = env["retail.backend"].with_company(company).create(
                {"name": "Shop of %s" % company.name, "backend_type": "generic", "company_id": company.id,
                 "endpoint_url": "http://127.0.0.1:9"})
            product = env["product.product"].create({"name": "P %s" % company.id, "default_code": "MC-%s" % company.id})
            env["retail.export.request"]._request(backend.with_context(connector_no_export=True), "catalog", product)
            env["retail.value.map"].create({"backend_id": backend.id, "kind": "currency", "external_value": "EURO",
                                            "odoo_ref": "res.currency,%d" % company.currency_id.id})
            env["retail.reconciliation.run"].create({"backend_id": backend.id, "domain": "orders"})
            env["retail.alert.rule"].create({"name": "Backlog %s" % company.name, "company_id": company.id,
                                             "backend_id": backend.id, "metric": "backlog", "threshold": 1})
            # stored as the gateway stores a webhook: the event's company is its backend's
            inbound = InboundEvent(topic="orders/create", domain="orders", aggregate_type=None, aggregate_key=None,
                                   idempotency_key="mc-%s" % company.id)
            [(event_id, _duplicate)] = env["retail.event"]._receive(backend, [inbound], ["{}"], "webhook", "corr-mc")
            self.assertEqual(env["retail.event"].browse(event_id).company_id, company)
            backends[company] = backend
        user = new_test_user(self.env, login="retail_mc_user", groups="retail_connector_base.group_retail_manager",
                             company_id=company_a.id, company_ids=[(6, 0, company_a.ids)])
        as_user = self.env(user=user)
        for model in ("retail.backend", "retail.sync.policy", "retail.export.request", "retail.value.map",
                      "retail.reconciliation.run", "retail.alert.rule", "retail.event"):
            seen = as_user[model].search([])
            backend_field = "backend_id" if model != "retail.backend" else "id"
            others = seen.filtered(lambda r, f=backend_field: (r[f] if f != "id" else r) == backends[company_b])
            self.assertFalse(others, "%s of another company are visible" % model)
            mine = seen.filtered(lambda r, f=backend_field: (r[f] if f != "id" else r) == backends[company_a])
            self.assertTrue(mine, "%s of the user's company are visible" % model)
