# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json
from unittest import mock

from odoo import SUPERUSER_ID
from odoo.exceptions import AccessError, ConcurrencyError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..lib.signatures import sign_retail
from .jobs import perform_pending_jobs
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestServiceIdentity(HttpCase):
    """The gateway and the queue jobs run as the connector user of the backend's company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.company.currency_id = cls.env.ref("base.USD")
        cls.backend = cls.env["retail.backend"].create({
            "name": "Identity shop", "backend_type": "generic", "webhook_secret": "whsec-id", "inbound_rate_limit": 0,
            "api_secret": "tok-id", "api_key": "key-id",
        })
        Product = cls.env["product.product"]
        Product.create({"name": "Mug", "default_code": "RC-MUG", "type": "consu"})
        Product.create({"name": "Cap", "default_code": "RC-CAP", "type": "consu"})
        cls.connector = cls.env.company._retail_connector_user()

    def _post(self, data, backend=None, event_id="evt-id-1"):
        backend = backend or self.backend
        body = json.dumps(data).encode()
        return self.url_open("/retail/webhook/%d" % backend.id, data=body, headers={
            "Content-Type": "application/json", "X-Retail-Topic": "orders/create", "X-Retail-Event-Id": event_id,
            "X-Retail-Signature": sign_retail(backend.webhook_secret, body),
        })

    def test_webhook_event_and_its_sale_order_are_created_by_the_connector_user(self):
        resp = self._post(copy.deepcopy(ORDER))
        self.assertEqual(resp.status_code, 202, resp.text)
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(event.create_uid, self.connector)
        job = self.env["queue.job"].search([("method_name", "=", "_dispatch"), ("state", "=", "pending")])
        self.assertEqual(job.user_id, self.connector, "the event's job runs as the connector user")
        perform_pending_jobs(self.env)
        self.assertEqual(event.job_uuid, job.uuid)
        self.assertEqual((event.state, event.outcome), ("done", "created"), event.last_error)
        sale = self.env["sale.order"].browse(event.res_id)
        self.assertEqual(sale.create_uid, self.connector)
        self.assertNotIn(sale.create_uid.id, (SUPERUSER_ID, self.env.ref("base.user_admin").id))
        self.assertEqual(sale.partner_id.create_uid, self.connector)
        self.assertEqual(sale.retail_bind_ids.create_uid, self.connector)

    def test_the_connector_user_is_no_administrator_and_reads_no_secret(self):
        user = self.connector
        self.assertEqual(user.login, "retail-connector-%d" % self.env.company.id)
        self.assertTrue(user.active)
        self.assertFalse(user.share, "an internal user")
        self.assertEqual(user.company_ids, self.env.company)
        self.assertTrue(user.has_group("retail_connector_base.group_retail_service"))
        for group in ("base.group_system", "base.group_erp_manager", "retail_connector_base.group_retail_manager",
                      "account.group_account_manager", "sales_team.group_sale_manager", "stock.group_stock_manager"):
            self.assertFalse(user.has_group(group), group)
        self.env.cr.execute("SELECT password FROM res_users WHERE id = %s", (user.id,))
        self.assertFalse(self.env.cr.fetchone()[0], "no password: nobody logs in as the connector")
        backend = self.backend.with_user(user)
        self.assertEqual(backend.name, "Identity shop")
        for field in ("api_key", "api_secret", "webhook_secret"):
            with self.assertRaises(AccessError, msg=field):
                backend.read([field])
        self.assertEqual(backend._webhook_secrets(), ["whsec-id"], "the pipeline reads secrets through its methods")
        self.env["retail.api.key"].create({"name": "Partner", "backend_id": self.backend.id})
        with self.assertRaises(AccessError):
            self.env["retail.api.key"].with_user(user).search_read([], ["key_hash", "key_prefix"])

    def test_the_audit_log_shows_the_connector_identity(self):
        manager = self.env.ref("base.user_admin")
        self.backend.with_user(manager).write({"timeout": 12})
        self.backend.state = "degraded"
        with mock.patch(
            "odoo.addons.retail_connector_base.components.connection_tester.GenericConnectionTester.test_connection",
            return_value="ok",
        ):
            self.backend._schedule_probe()
            perform_pending_jobs(self.env, method="_probe")
        self.assertEqual(self.backend.state, "ok")
        logs = self.env["retail.audit.log"].search([("backend_id", "=", self.backend.id), ("action", "=", "write")],
                                                    order="id")
        self.assertEqual([(log.user_id, log.identity) for log in logs],
                         [(manager, "person"), (self.connector, "service")])
        self.assertIn("degraded → ok", logs[-1].changes)


@tagged("post_install", "-at_install")
class TestServiceIdentityPerCompany(TransactionCase):
    def test_one_connector_user_per_company_in_that_company_only(self):
        company_a = self.env.company
        company_b = self.env["res.company"].create({"name": "Second retail company"})
        Backend = self.env["retail.backend"].with_context(tracking_disable=True)
        backend_a = Backend.create({"name": "Shop A", "backend_type": "generic"})
        backend_b = Backend.with_company(company_b).create({"name": "Shop B", "backend_type": "generic",
                                                            "company_id": company_b.id})
        user_a, user_b = company_a._retail_connector_user(), company_b._retail_connector_user()
        self.assertNotEqual(user_a, user_b)
        self.assertEqual(company_b._retail_connector_user(), user_b, "asking again finds the same user")
        self.assertEqual(self.env["res.users"].with_context(active_test=False).search_count(
            [("login", "=", "retail-connector-%d" % company_b.id)]), 1)
        self.assertEqual(user_b.company_ids, company_b)
        env_b = Backend._connector_env(backend_b)
        self.assertEqual((env_b.user, env_b.companies), (user_b, company_b))
        self.assertFalse(env_b["retail.backend"].search([("id", "=", backend_a.id)]),
                         "a company's connector does not see another company's backends")
        event = env_b["retail.event"].create({
            "backend_id": backend_b.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": "B1", "idempotency_key": "b-1", "payload": "{}"})
        self.assertEqual(event.create_uid, user_b)

    def test_a_connector_user_created_concurrently_is_not_created_twice(self):
        company = self.env["res.company"].create({"name": "Concurrent retail company"})
        user = company._retail_connector_user()
        Company = type(self.env["res.company"])
        # the other transaction's user is not in this one's snapshot: the look-up finds nothing
        with mock.patch.object(Company, "_retail_connector_user_id", return_value=None), \
                mute_logger("odoo.sql_db"), self.assertRaises(ConcurrencyError):
            company._retail_connector_user()
        self.assertEqual(self.env["res.users"].with_context(active_test=False).search(
            [("login", "=", "retail-connector-%d" % company.id)]), user)
