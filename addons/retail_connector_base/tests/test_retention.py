# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import RetailCase

ORDER = {"id": "1001", "total": "10.00", "customer": {"email": "jane@example.com", "first_name": "Jane"},
         "shipping_address": {"street": "1 Main St", "city": "Springfield", "country_code": "US"},
         "lines": [{"sku": "RC-MUG", "quantity": 1, "name": "Mug"}]}


@tagged("post_install", "-at_install")
class TestRetention(RetailCase):

    def _event(self, days_ago, state="done", key="r"):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "ret-%s" % key, "state": state, "payload": json.dumps(ORDER),
            "received_at": fields.Datetime.now() - timedelta(days=days_ago)})

    def test_personal_data_anonymised_then_payload_purged_metadata_kept(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("retail_connector.anonymise_days", 30)
        params.set_param("retail_connector.retention_days", 90)
        recent, older, oldest = self._event(5, key="a"), self._event(40, key="b"), self._event(100, key="c")
        still_failing = self._event(100, state="failed", key="d")
        self.env["retail.event"]._cron_retention()
        self.assertEqual(json.loads(recent.payload), ORDER)
        kept = json.loads(older.payload)
        self.assertEqual((kept["id"], kept["total"], kept["lines"][0]["sku"]), ("1001", "10.00", "RC-MUG"))
        self.assertEqual(kept["customer"], {"email": "(anonymised)", "first_name": "(anonymised)"})
        self.assertEqual(kept["shipping_address"]["city"], "(anonymised)")
        self.assertNotIn("jane@example.com", older.payload)
        self.assertTrue(older.personal_data_removed)
        self.assertFalse(oldest.payload)
        self.assertEqual((oldest.payload_purged, oldest.topic, oldest.aggregate_key), (True, "orders/create", "c"))
        self.assertEqual(json.loads(still_failing.payload), ORDER, "an event waiting for a person keeps its payload")
