# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestAuditLog(RetailCase):
    """Configuration changes and replays are logged with who, when and what; secrets never."""

    def _log(self, **where):
        domain = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in where.items()]
        return self.env["retail.audit.log"].search(domain, order="id")

    def test_changes_are_logged_with_old_and_new_values_and_secrets_masked(self):
        manager = new_test_user(self.env, login="audit_manager", groups="retail_connector_base.group_retail_manager")
        self.backend.with_user(manager).write({"name": "Renamed shop", "api_secret": "s3cret-value", "timeout": 12})
        [entry] = self._log(action="write")
        self.assertEqual(entry.user_id, manager)
        self.assertIn("Renamed shop", entry.changes)
        self.assertIn("Test generic backend", entry.changes)
        self.assertIn("API secret / access token: changed", entry.changes)
        self.assertNotIn("s3cret-value", entry.changes)
        self.backend.policy_for("orders").write({"checkpoint": "2026-01-01 00:00:00"})
        self.assertFalse(self._log(res_model="retail.sync.policy", action="write"),
                         "checkpoints are the pipeline's, not configuration")
        self.backend.policy_for("orders").write({"paused": True})
        self.assertIn("→ True", self._log(res_model="retail.sync.policy", action="write").changes)

    def test_replays_and_pause_are_logged_and_only_auditors_read_the_log(self):
        event = self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": "A1", "idempotency_key": "audit-1", "payload": "{}", "state": "dead"})
        event.with_context(queue_job__no_delay=False).action_replay()
        self.backend.action_pause()
        actions = self._log().mapped("action")
        self.assertIn("replay", actions)
        self.assertIn("State: paused", self._log(action="write")[-1:].changes)
        user = new_test_user(self.env, login="audit_user", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            self.env["retail.audit.log"].with_user(user).search([])
        auditor = new_test_user(self.env, login="audit_auditor", groups="retail_connector_base.group_retail_auditor")
        self.assertTrue(self.env["retail.audit.log"].with_user(auditor).search([("backend_id", "=", self.backend.id)]))
