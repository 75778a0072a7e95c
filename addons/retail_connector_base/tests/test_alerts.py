# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import uuid
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestAlertRules(RetailCase):
    """One open alert per rule and backend until the measure is back; every measure computed from records."""

    def _event(self, state="received", minutes_ago=1, topic="orders/create", processed_after=None):
        received = fields.Datetime.now() - timedelta(minutes=minutes_ago)
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": topic, "domain": "orders", "aggregate_type": "order",
            "aggregate_key": uuid.uuid4().hex[:8], "state": state, "idempotency_key": "alert-%s" % uuid.uuid4().hex,
            "payload": "{}", "received_at": received,
            "processed_at": received + timedelta(seconds=processed_after) if processed_after is not None else False,
        })

    def _rule(self, metric, threshold, **vals):
        channel = self.env["discuss.channel"].create({"name": "integration-alerts"})
        return self.env["retail.alert.rule"].create(dict({
            "name": "Rule %s" % metric, "backend_id": self.backend.id, "metric": metric, "threshold": threshold,
            "notify_user_id": self.env.ref("base.user_admin").id, "channel_id": channel.id}, **vals))

    def test_backlog_alert_opens_once_then_resolves(self):
        rule = self._rule("backlog", 2)
        for _ in range(3):
            self._event()
        opened = rule._evaluate()
        self.assertEqual(len(opened), 1)
        self.assertEqual((opened.observed_value, opened.threshold, opened.state), (3.0, 2.0, "open"))
        self.assertTrue(opened.activity_ids)
        self.assertIn("above 2.0", rule.channel_id.message_ids[:1].body)
        self._event()
        self.assertFalse(rule._evaluate(), "no second alert while one is open")
        self.assertEqual(opened.last_value, 4.0)
        self.env["retail.event"].search([("backend_id", "=", self.backend.id)]).write({"state": "done"})
        rule._evaluate()
        self.assertEqual(opened.state, "resolved")
        self.assertFalse(opened.activity_ids)
        self._event()
        self._event()
        self._event()
        self.assertEqual(len(rule._evaluate()), 1, "a new breach after resolution is a new alert")

    def test_failure_rate_latency_silence_and_degraded(self):
        self._event("done", processed_after=2)
        self._event("done", processed_after=40)
        self._event("failed")
        self._event("dead")
        rate = self._rule("failure_rate", 40)
        self.assertEqual(rate._measure(self.backend), 50.0)
        latency = self._rule("latency_p95", 30)
        self.assertGreater(latency._measure(self.backend), 30)
        self.assertEqual(len((rate | latency)._evaluate()), 2)
        silence = self._rule("silence", 30)
        self.assertFalse(silence._evaluate(), "an event arrived a minute ago")
        self.env["retail.event"].search([("backend_id", "=", self.backend.id)]).write(
            {"received_at": fields.Datetime.now() - timedelta(hours=2)})
        alert = silence._evaluate()
        self.assertGreaterEqual(alert.observed_value, 119)
        degraded = self._rule("degraded", 0.5)
        self.assertFalse(degraded._evaluate())
        self.backend.state = "degraded"
        self.assertEqual(degraded._evaluate().metric, "degraded")
