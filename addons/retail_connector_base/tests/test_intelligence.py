# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import math
import uuid
from datetime import datetime, timedelta

import numpy as np

from odoo import fields
from odoo.tests import freeze_time, tagged

from .common import RetailCase

WEEKS = 5
# The hour the figures end at, fixed so that every run judges the same history: a Sunday evening
# whose night (Sunday 03:00) has a seasonal baseline well above its mean by chance.
ANCHOR = datetime(2026, 12, 6, 19, 0)


class IntelligenceCase(RetailCase):
    def _run_cron(self, xmlid):
        """Run the scheduled action's code in this transaction (the scheduler would commit in its own)."""
        self.env.ref(xmlid).ir_actions_server_id.run()


@tagged("post_install", "-at_install")
class TestAnomalies(IntelligenceCase):
    """Hourly figures in, anomalies and alerts with the expected and the observed out."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.now_hour = ANCHOR
        cls.rule = cls.env["retail.alert.rule"].create({
            "name": "Order flow", "backend_id": cls.backend.id, "domain": "orders", "metric": "anomaly",
            "threshold": 0, "notify_user_id": cls.env.ref("base.user_admin").id})

    def _expected(self, hour):
        """Orders expected in an hour: a daily wave peaking at the last completed hour, busier at weekends."""
        before = (self.now_hour - timedelta(hours=1) - hour).total_seconds() / 3600
        weekend = 1.3 if hour.weekday() >= 5 else 1.0
        return (60 + 40 * math.cos(2 * math.pi * before / 24)) * weekend

    def _history(self, last_hour_orders=None):
        """Five weeks of hourly orders up to the last completed hour (Poisson, seeded)."""
        rng = np.random.default_rng(42)
        start = self.now_hour - timedelta(weeks=WEEKS)
        rows = []
        for i in range(WEEKS * 168):
            hour = start + timedelta(hours=i)
            orders = int(rng.poisson(self._expected(hour)))
            rows.append({"backend_id": self.backend.id, "company_id": self.backend.company_id.id, "domain": "orders",
                         "hour": hour, "orders": orders, "order_amount": 55.0 * orders})
        if last_hour_orders is not None:
            rows[-1].update(orders=last_hour_orders, order_amount=55.0 * last_hour_orders)
        self.env["retail.metric.hourly"].create(rows)
        return rows[-1]

    def _week_of_anchors(self):
        """Every hour of the last week of the history, latest first."""
        return [self.now_hour - timedelta(hours=back) for back in range(168)]

    @freeze_time(ANCHOR + timedelta(minutes=7))
    def test_drop_to_a_fifth_raises_an_anomaly_and_an_alert(self):
        expected = self._expected(self.now_hour - timedelta(hours=1))
        last = self._history(last_hour_orders=round(expected / 5))
        self._run_cron("retail_connector_base.ir_cron_detect_anomalies")
        anomaly = self.env["retail.anomaly"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(anomaly), 1, anomaly.mapped("explanation"))
        self.assertEqual((anomaly.metric, anomaly.kind, anomaly.state), ("orders", "drop", "open"))
        self.assertEqual(anomaly.observed, last["orders"])
        self.assertAlmostEqual(anomaly.expected, expected, delta=0.15 * expected)
        self.assertGreater(anomaly.lower, anomaly.observed)
        self.assertEqual(anomaly.window_start, self.now_hour - timedelta(hours=1))
        self.assertIn("Orders per hour fell to %d" % last["orders"], anomaly.explanation)
        self.assertIn("same hour in the previous weeks", anomaly.evidence)

        alert = self.env["retail.alert"].search([("rule_id", "=", self.rule.id)])
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.anomaly_id, anomaly)
        self.assertEqual((alert.expected_value, alert.actual_value), (anomaly.expected, anomaly.observed))
        self.assertIn("observed %d where" % last["orders"], alert.name)
        self.assertTrue(alert.activity_ids)

        # The next hour is normal again: the anomaly recovers and the alert resolves.
        next_hour = self.now_hour
        self.env["retail.metric.hourly"].create({
            "backend_id": self.backend.id, "domain": "orders", "hour": next_hour,
            "orders": round(self._expected(next_hour))})
        self.env["retail.anomaly"]._detect(now=self.now_hour + timedelta(hours=1, minutes=5))
        self.assertEqual(anomaly.state, "recovered")
        self.rule._evaluate()
        self.assertEqual(alert.state, "resolved")

    def test_drop_to_a_fifth_is_found_at_every_busy_hour_of_a_week(self):
        self._history()
        Metric, Anomaly = self.env["retail.metric.hourly"], self.env["retail.anomaly"]
        busy = [now for now in self._week_of_anchors() if self._expected(now - timedelta(hours=1)) >= 30]
        self.assertGreater(len(busy), 120)
        for now in busy:
            hour = now - timedelta(hours=1)
            with self.subTest(hour=hour):
                row = Metric.search([("backend_id", "=", self.backend.id), ("domain", "=", "orders"),
                                     ("hour", "=", hour)])
                orders, dropped = row.orders, round(self._expected(hour) / 5)
                row.write({"orders": dropped, "order_amount": 55.0 * dropped})
                found = Anomaly._detect(now=now, hours=1)
                self.assertEqual([(a.metric, a.kind, a.window_start, a.observed) for a in found],
                                 [("orders", "drop", hour, dropped)], found.mapped("explanation"))
                found.unlink()
                row.write({"orders": orders, "order_amount": 55.0 * orders})

    def test_normal_week_raises_nothing(self):
        """Judged at every hour of a week, the last completed hours of a normal flow are never anomalies."""
        self._history()
        for now in self._week_of_anchors():
            with self.subTest(now=now):
                found = self.env["retail.anomaly"]._detect(now=now)
                self.assertFalse(found, found.mapped("explanation"))
        with freeze_time(self.now_hour + timedelta(minutes=7)):
            self.assertFalse(self.rule._evaluate())

    @freeze_time(ANCHOR + timedelta(minutes=7))
    def test_dismissed_anomaly_is_not_raised_again(self):
        expected = self._expected(self.now_hour - timedelta(hours=1))
        self._history(last_hour_orders=round(expected / 5))
        anomaly = self.env["retail.anomaly"]._detect()
        anomaly.action_dismiss()
        self.assertFalse(self.env["retail.anomaly"]._detect())
        self.assertFalse(self.rule._evaluate(), "a false alarm does not alert")

    @freeze_time(ANCHOR + timedelta(minutes=30))
    def test_hourly_figures_are_aggregated_from_the_inbox(self):
        for state in ("done", "done", "failed"):
            self.env["retail.event"].create({
                "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "state": state,
                "aggregate_type": "order", "aggregate_key": uuid.uuid4().hex[:8],
                "idempotency_key": "metric-%s" % uuid.uuid4().hex, "payload": "{}"})
        Metric = self.env["retail.metric.hourly"]
        Metric._aggregate()
        row = Metric.search([("backend_id", "=", self.backend.id), ("domain", "=", "orders")])
        self.assertEqual((row.events, row.failed_events), (3, 1))
        self.assertEqual(row.hour, self.now_hour)
        Metric._aggregate()
        self.assertEqual(Metric.search_count([("backend_id", "=", self.backend.id)]), 1, "recomputed in place")


@tagged("post_install", "-at_install")
class TestCapacityForecast(IntelligenceCase):
    """A backlog growing faster than it is processed is forecast to breach its target, and alerts before."""

    def _events(self, minutes=60):
        """Two events a minute for an hour, one processed a minute in order: the backlog grows by one a minute."""
        now = fields.Datetime.now().replace(microsecond=0)
        start = now - timedelta(minutes=minutes)
        vals = []
        for i in range(2 * minutes):
            received = start + timedelta(seconds=30 * i)
            processed = start + timedelta(minutes=i + 1) if i < minutes else False
            vals.append({
                "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders",
                "state": "done" if processed else "queued", "aggregate_type": "order", "aggregate_key": "C%d" % i,
                "idempotency_key": "capacity-%s" % uuid.uuid4().hex, "payload": "{}", "received_at": received,
                "processed_at": processed})
        self.env["retail.event"].create(vals)

    def test_growing_backlog_predicts_a_breach_and_alerts_before_it(self):
        self.backend.policy_for("orders").latency_target_minutes = 90
        rule = self.env["retail.alert.rule"].create({
            "name": "Orders capacity", "backend_id": self.backend.id, "domain": "orders",
            "metric": "capacity_forecast", "threshold": 60})
        self._events()
        self._run_cron("retail_connector_base.ir_cron_capacity_forecast")
        forecast = self.env["retail.capacity.forecast"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "orders")])
        self.assertEqual(forecast.state, "at_risk", forecast.explanation)
        self.assertAlmostEqual(forecast.backlog, 60, delta=2)
        self.assertAlmostEqual(forecast.service_rate, 1.0, delta=0.1)
        self.assertAlmostEqual(forecast.slope_per_hour, 60, delta=6)
        self.assertGreater(forecast.breach_at, fields.Datetime.now())
        self.assertAlmostEqual(forecast.minutes_to_breach, 30, delta=6)
        self.assertEqual(forecast.job_channel[:11], "root.retail")
        # Two a minute arrive with the 60 waiting to work off within 90 minutes: 2.67 a minute.
        self.assertEqual(forecast.suggested_capacity, math.ceil(8 / 3 * forecast.capacity - 1e-9))
        self.assertIn("target is breached in", forecast.explanation)
        self.assertIn("waiting", forecast.samples)

        alert = self.env["retail.alert"].search([("rule_id", "=", rule.id)])
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.forecast_id, forecast)
        self.assertEqual((alert.expected_value, alert.actual_value), (90.0, forecast.latency_minutes))
        self.assertIn("Suggested capacity", alert.name)

        tile = self.env["retail.cockpit"].search([("backend_id", "=", self.backend.id), ("domain", "=", "orders")])
        self.assertEqual((tile.forecast_state, tile.suggested_capacity), ("at_risk", forecast.suggested_capacity))

    def test_idle_domains_are_ok(self):
        rule = self.env["retail.alert.rule"].create({
            "name": "Any capacity", "backend_id": self.backend.id, "metric": "capacity_forecast", "threshold": 60})
        forecasts = self.env["retail.capacity.forecast"]._forecast()
        mine = forecasts.filtered(lambda f: f.backend_id == self.backend)
        self.assertTrue(mine)
        self.assertEqual(set(mine.mapped("state")), {"ok"})
        self.assertFalse(rule._evaluate())

    def test_views_load(self):
        for model, kinds in (("retail.anomaly", ("list", "form", "search")),
                             ("retail.capacity.forecast", ("list", "form")),
                             ("retail.metric.hourly", ("list", "graph", "search")),
                             ("retail.cockpit", ("kanban", "list")),
                             ("retail.alert", ("list", "form"))):
            views = self.env[model].get_views([(False, kind) for kind in kinds])
            self.assertEqual(set(views["views"]), set(kinds), model)
        self.env["retail.cockpit"].search_read([], ["open_anomaly_count", "forecast_state", "forecast_breach_at"])
