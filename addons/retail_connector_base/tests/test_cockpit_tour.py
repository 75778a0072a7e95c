# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestCockpitTour(HttpCase):
    def test_cockpit_to_failures_to_workbench(self):
        backend = self.env["retail.backend"].create({"name": "Tour cockpit shop", "backend_type": "generic"})
        for key in ("TOUR-1", "TOUR-2"):
            self.env["retail.event"].create({
                "backend_id": backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
                "aggregate_key": key, "idempotency_key": "tour-%s" % key, "payload": "{}", "state": "failed",
                "error_kind": "missing_mapping", "last_error": "Payment gateway '%s' is not mapped" % key})
        self.start_tour("/odoo", "retail_connector_cockpit_tour", login="admin")
        events = self.env["retail.event"].search([("backend_id", "=", backend.id)])
        self.assertEqual(events.assigned_user_id, self.env.ref("base.user_admin"))
