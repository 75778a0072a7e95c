# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from ..models.retail_event import error_signature
from .common import RetailCase


@tagged("post_install", "-at_install")
class TestExceptionWorkbench(RetailCase):
    """Failures grouped by cause, and a whole group retried, assigned or ignored."""

    def _failed(self, key, message, kind="missing_mapping", state="failed"):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "wb-%s" % key, "payload": "{}", "state": state,
            "error_kind": kind, "last_error": message})

    def test_signature_blanks_ids_numbers_and_values(self):
        self.assertEqual(error_signature("Unknown product 'Mug' on backend 12: no Odoo product matches SKU 'RC-7'\nx"),
                         error_signature("Unknown product 'Cap' on backend 3: no Odoo product matches SKU 'RC-9'"))
        self.assertNotEqual(error_signature("Currency 'XYZ' does not exist"), error_signature("Tax 'VAT' missing"))

    def test_groups_count_and_act_on_every_event_of_a_cause(self):
        for index in range(3):
            self._failed("A%d" % index, "Payment gateway 'paypal-%d' of order #%d is not mapped" % (index, index))
        self._failed("B1", "Currency 'XYZ' does not exist in Odoo.", kind="currency", state="dead")
        groups = self.env["retail.event.group"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(sorted(groups.mapped("event_count")), [1, 3])
        self.assertEqual(set(groups.mapped("source")), {"event"})
        mapping = groups.filtered(lambda g: g.error_kind == "missing_mapping")
        self.assertEqual(mapping.dead_count, 0)
        mapping.action_assign_to_me()
        events = mapping._events()
        self.assertEqual(len(events), 3)
        self.assertEqual(events.assigned_user_id, self.env.user)
        currency = groups - mapping
        currency.action_ignore()
        self.assertEqual(self.env["retail.event"].search([("aggregate_key", "=", "B1")]).state, "ignored")
        replayed = mapping._events()
        replayed.write({"attempts": 5})
        mapping.action_retry()
        # applied again from scratch (their empty payload fails again, now as a first attempt)
        self.assertEqual(set(replayed.mapped("attempts")), {1})
        self.assertTrue(self.env["retail.audit.log"].search([("action", "=", "replay"), ("res_id", "in", replayed.ids)]))
        # the same cause again: still one group of three, the ignored one gone
        groups = self.env["retail.event.group"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(groups.mapped("event_count"), [3])

    def test_failed_exports_are_a_cause_too_and_are_sent_again(self):
        products = self.env["product.product"].create([{"name": "X%d" % i, "default_code": "WB-%d" % i} for i in range(2)])
        Request = self.env["retail.export.request"]
        for product in products:
            Request.create({"backend_id": self.backend.id, "domain": "catalog", "res_model": "product.product",
                            "res_id": product.id, "state": "failed",
                            "last_error": "No channel product has the SKU 'WB-%d'" % product.id})
        group = self.env["retail.event.group"].search([("backend_id", "=", self.backend.id), ("source", "=", "export")])
        self.assertEqual(group.event_count, 2)
        self.backend.policy_for("catalog").mode = "off"  # nothing is really sent in this test
        group.action_retry()
        self.assertEqual(set(group._exports().mapped("state")) | set(
            Request.search([("backend_id", "=", self.backend.id)]).mapped("state")), {"pending"})
