# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestBackend(RetailCase):
    def test_default_policies_follow_the_domain_table(self):
        policies = {p.domain: p for p in self.backend.policy_ids}
        self.assertEqual(
            set(policies), {"orders", "customers", "inventory", "catalog", "pricing", "fulfilment", "returns", "finance"}
        )
        self.assertEqual(policies["orders"].mode, "realtime")
        self.assertEqual(policies["inventory"].mode, "event")
        self.assertEqual(policies["catalog"].mode, "batch")
        self.assertEqual(policies["pricing"].mode, "batch")
        self.assertEqual(policies["returns"].mode, "orchestrated")
        self.assertEqual(policies["finance"].mode, "batch")
        self.assertEqual(policies["finance"].cutoff_hour, 23.0)
        self.assertEqual(policies["inventory"].system_of_record, "odoo")

    def test_each_policy_owns_a_cron_that_follows_it(self):
        orders = self.backend.policy_for("orders")
        cron = orders.cron_id
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (15, "minutes"))
        self.assertIn("_cron_run(%d)" % orders.id, cron.code)

        orders.write({"interval_number": 5, "interval_type": "hours"})
        self.assertEqual((cron.interval_number, cron.interval_type), (5, "hours"))

        orders.mode = "off"
        self.assertFalse(cron.active)
        orders.mode = "batch"
        self.assertTrue(cron.active)

        orders.unlink()
        self.assertFalse(cron.exists())

    def test_finance_cron_starts_at_the_cutoff(self):
        finance = self.backend.policy_for("finance")
        self.backend.company_id.partner_id.tz = "Europe/Brussels"
        finance.cutoff_hour = 22.5  # 22:30 Brussels = 20:30 UTC in summer
        self.assertEqual(finance._next_cutoff(datetime(2026, 7, 1, 12, 0)), datetime(2026, 7, 1, 20, 30))
        # past today's cut-off: tomorrow's
        self.assertEqual(finance._next_cutoff(datetime(2026, 7, 1, 21, 0)), datetime(2026, 7, 2, 20, 30))
        self.assertEqual(finance.cron_id.interval_type, "days")

    def test_cutoff_out_of_range_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "between 00:00 and 23:59"):
            self.backend.policy_for("finance").cutoff_hour = 25

    @mute_logger("odoo.sql_db")
    def test_one_policy_per_domain(self):
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env["retail.sync.policy"].create({"backend_id": self.backend.id, "domain": "orders", "mode": "batch"})

    def test_reset_policies_restores_defaults(self):
        self.backend.policy_for("catalog").mode = "off"
        self.backend.action_reset_policies()
        self.assertEqual(self.backend.policy_for("catalog").mode, "batch")
        self.assertEqual(len(self.backend.policy_ids), 8)

    def test_secret_rotation_keeps_the_previous_secret(self):
        self.backend.webhook_secret = "whsec-2"
        self.assertEqual(self.backend._webhook_secrets(), ["whsec-2", "whsec-1"])
        self.assertTrue(self.backend.webhook_secret_rotated_at)

    def test_sales_user_cannot_read_secrets(self):
        salesman = new_test_user(self.env, login="rc_sales", groups="sales_team.group_sale_salesman")
        viewer = new_test_user(
            self.env, login="rc_viewer", groups="sales_team.group_sale_salesman,retail_connector_base.group_retail_user"
        )
        with self.assertRaises(AccessError):
            self.backend.with_user(salesman).read(["name"])
        # a Retail Connector user reads the backend but not its credentials
        self.assertEqual(self.backend.with_user(viewer).read(["name"])[0]["name"], "Test generic backend")
        for secret in ("api_secret", "webhook_secret", "webhook_secret_previous", "api_key"):
            with self.assertRaises(AccessError):
                self.backend.with_user(viewer).read([secret])

    def test_test_connection_reports_an_unreachable_channel(self):
        action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertFalse(self.backend.last_check_ok)
        self.assertIn("cannot connect", self.backend.last_check_message)
        self.assertNotIn("token-123", self.backend.last_check_message)

    def test_scheduled_run_without_channel_batch_says_so(self):
        self.assertIn("No batch run", self.backend._run_scheduled_domain("catalog"))
