# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
from datetime import timedelta
from unittest import mock

from odoo import fields
from odoo.tests import tagged

from ..models import retail_retention
from .common import RetailCase

ORDER = {"id": "1001", "total": "10.00", "customer": {"email": "jane@example.com", "first_name": "Jane"},
         "shipping_address": {"street": "1 Main St", "city": "Springfield", "country_code": "US"},
         "lines": [{"sku": "RC-MUG", "quantity": 1, "name": "Mug"}]}


@tagged("post_install", "-at_install")
class TestRetention(RetailCase):

    def _event(self, days_ago, state="done", key="r", payload=None):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "ret-%s" % key, "state": state,
            "payload": payload or json.dumps(ORDER), "received_at": fields.Datetime.now() - timedelta(days=days_ago)})

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

    def test_a_payload_nested_ten_thousand_levels_deep_stops_nothing(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("retail_connector.anonymise_days", 30)
        params.set_param("retail_connector.retention_days", 0)
        deep_text = '{"customer": {"email": "deep@example.com"}, "nested": ' + "[" * 10000 + "]" * 10000 + "}"
        before, deep, after = self._event(40, key="a"), self._event(40, key="b", payload=deep_text), self._event(40, key="c")
        self.env["retail.event"]._cron_retention()
        for event in (before, after):
            self.assertTrue(event.personal_data_removed)
            self.assertNotIn("jane@example.com", event.payload)
        self.assertTrue(deep.personal_data_removed)
        self.assertFalse(deep.payload, "unreadable, so none of its personal data is kept")

    def test_anonymising_walks_any_depth_without_recursion(self):
        data = bottom = {}
        for _level in range(10000):
            bottom["child"] = [{}]
            bottom = bottom["child"][0]
        bottom.update(email="deep@example.com", sku="RC-MUG", billing_address=[["1 Main St"], {"city": "Springfield"}])
        result = retail_retention.anonymise(data)
        for _level in range(10000):
            result = result["child"][0]
        self.assertEqual(result, {"email": "(anonymised)", "sku": "RC-MUG",
                                  "billing_address": [["(anonymised)"], {"city": "(anonymised)"}]})
        self.assertIn("deep@example.com", json.dumps(bottom), "the original is left as it was")

    def test_one_record_that_fails_is_logged_and_skipped_the_others_are_processed(self):
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.anonymise_days", 30)
        good, bad = self._event(40, key="good"), self._event(40, key="bad", payload=json.dumps({"note": "poison"}))
        real = retail_retention._anonymised_text

        def failing(text):
            if "poison" in text:
                raise RuntimeError("cannot anonymise this one")
            return real(text)

        with mock.patch.object(retail_retention, "_anonymised_text", side_effect=failing), \
                self.assertLogs("odoo.addons.retail_connector_base.models.retail_retention", "ERROR") as logs:
            self.env["retail.event"]._cron_retention()
        self.assertTrue(good.personal_data_removed)
        self.assertEqual((bad.personal_data_removed, json.loads(bad.payload)), (False, {"note": "poison"}))
        self.assertIn("event %s" % bad.id, logs.output[0])
        self.env["retail.event"]._cron_retention()
        self.assertEqual(json.loads(bad.payload), {"note": "(anonymised)"}, "retried at the next run")
