# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestDomainSupport(RetailCase):
    """A domain is switched on only for what the channel has a component for; no job fails for a missing one."""

    def test_a_domain_the_channel_cannot_send_stays_off_and_says_why(self):
        customers = self.backend.policy_for("customers")
        self.assertEqual((customers.mode, customers.direction), ("realtime", "inbound"))
        self.assertFalse(customers.support_note, "customers come with the channel's orders")
        customers.mode = "off"
        customers.direction = "outbound"
        self.assertIn("no exporter for customers", customers.support_note)
        with self.assertRaisesRegex(ValidationError, r"Customers policy of Test generic backend stays off: .*"
                                                     r"no exporter for customers"):
            with self.env.cr.savepoint():
                customers.mode = "event"
        self.assertEqual(customers.mode, "off")

    def test_a_direction_the_channel_lacks_is_skipped_never_queued(self):
        customers = self.backend.policy_for("customers")
        customers.direction = "both"
        self.assertIn("takes no customers from Odoo", customers.support_note)
        partner = self.env["res.partner"].create({"name": "Someone"})
        self.env["retail.export.request"]._request(self.backend, "customers", partner)
        self.assertFalse(self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                                   ("domain", "=", "customers")]))

    def test_a_request_that_no_exporter_can_send_is_cancelled_not_failed(self):
        partner = self.env["res.partner"].create({"name": "Someone"})
        self.backend.state = "ok"
        request = self.env["retail.export.request"].create({
            "backend_id": self.backend.id, "domain": "customers", "res_model": "res.partner", "res_id": partner.id})
        result = self.backend._flush_exports("customers")
        self.assertIn("cancelled", result)
        self.assertEqual(request.state, "cancelled")
        self.assertIn("no exporter for customers", request.last_error)
        self.assertFalse(self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                                   ("state", "=", "failed")]))

    def test_a_policy_with_nothing_to_run_on_schedule_has_no_scheduled_action(self):
        customers = self.backend.policy_for("customers")
        self.assertFalse(customers.cron_id.active, "the customers policy has no hourly run doing nothing")
        orders = self.backend.policy_for("orders")
        self.assertTrue(orders.cron_id.active, "the orders policy runs its reconciliation")

    def test_policies_made_before_the_check_are_switched_off_when_the_addon_updates(self):
        customers = self.backend.policy_for("customers")
        # as an older version left it: customers sent to a channel that takes none
        self.env.cr.execute("UPDATE retail_sync_policy SET direction = 'outbound', mode = 'event' WHERE id = %s",
                            (customers.id,))
        customers.invalidate_recordset()
        orders = self.backend.policy_for("orders")
        self.env["retail.sync.policy"]._switch_off_unsupported(["generic"])
        self.assertEqual(customers.mode, "off")
        self.assertIn("no exporter for customers", customers.support_note)
        self.assertEqual(orders.mode, "realtime", "what the channel runs is left as it is")
