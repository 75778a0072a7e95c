# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Anomalies found in the hourly figures: drops and spikes of traffic, unusual shares and totals.

A cron aggregates the hourly figures, runs the detectors of ``lib.intelligence`` over the last
completed hours of every backend and domain, and records what they find with the expected and
the observed value, the normal band, the score and the explanation. Consecutive flagged hours of
one measure make one anomaly whose window grows; when the measure is back to normal the anomaly
is marked so. Alert rules of the kind "Anomaly" turn open anomalies into alerts.
"""

import logging
from datetime import timedelta

import numpy as np

from odoo import api, fields, models

from ..lib.intelligence import RateDetector, RatioDetector, ValueDetector
from .retail_access import check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

ANOMALY_METRICS = [
    ("events", "Events per hour"),
    ("orders", "Orders per hour"),
    ("order_value", "Average order total"),
    ("refund_ratio", "Refunds per order (24 h)"),
    ("failure_share", "Share of failed events"),
    ("export_failure_share", "Share of failed exports"),
]
KINDS = [("drop", "Drop"), ("spike", "Spike"), ("high", "Unusually high"), ("low", "Unusually low")]
STATES = [("open", "Open"), ("recovered", "Back to normal"), ("acknowledged", "Acknowledged"),
          ("dismissed", "False alarm")]
HISTORY_WEEKS = 5  # four weeks of seasonal baseline plus the week being judged
EVALUATED_HOURS = 3  # completed hours judged at each run: a late run catches up


class RetailAnomaly(models.Model):
    _name = "retail.anomaly"
    _description = "Retail Connector anomaly"
    _inherit = ["mail.thread"]
    _order = "window_end desc, score desc"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    domain = fields.Selection(DOMAINS, required=True, index=True)
    metric = fields.Selection(ANOMALY_METRICS, string="Measure", required=True, index=True)
    kind = fields.Selection(KINDS, required=True)
    window_start = fields.Datetime(required=True, help="Start of the first hour flagged.")
    window_end = fields.Datetime(required=True, index=True, help="End of the last hour flagged.")
    hours = fields.Integer(string="Hours flagged", default=1)
    expected = fields.Float(digits=(16, 4), help="What the baseline expected at the worst hour.")
    observed = fields.Float(digits=(16, 4), help="What was measured at the worst hour.")
    lower = fields.Float(string="Normal from", digits=(16, 4))
    upper = fields.Float(string="Normal up to", digits=(16, 4))
    score = fields.Float(digits=(16, 2), help="Robust z-score of the worst hour: how many spreads from the expected.")
    explanation = fields.Text(readonly=True)
    evidence = fields.Text(readonly=True, help="Every hour flagged, and the same hour in the past weeks.")
    state = fields.Selection(STATES, default="open", required=True, index=True, tracking=True)
    detected_at = fields.Datetime(default=fields.Datetime.now, readonly=True)

    @api.depends("metric", "kind", "backend_id", "window_start")
    def _compute_name(self):
        metrics, kinds = dict(ANOMALY_METRICS), dict(KINDS)
        for anomaly in self:
            anomaly.name = "%s: %s %s" % (anomaly.backend_id.name or "", kinds.get(anomaly.kind, ""),
                                          (metrics.get(anomaly.metric) or "").lower())

    def action_acknowledge(self):
        check_retail_access(self, "write")
        self.write({"state": "acknowledged"})

    def action_dismiss(self):
        check_retail_access(self, "write")
        self.write({"state": "dismissed"})

    def action_open_events(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Events of the window"), "res_model": "retail.event",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain),
                       ("received_at", ">=", self.window_start), ("received_at", "<", self.window_end)],
        }

    def action_open_figures(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Hourly figures"), "res_model": "retail.metric.hourly",
            "view_mode": "list,graph",
            "domain": [("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain),
                       ("hour", ">=", self.window_start - timedelta(days=1)), ("hour", "<", self.window_end)],
        }

    # ------------------------------------------------------------------ detection
    @api.model
    def _cron_detect(self):
        self.env["retail.metric.hourly"]._aggregate()
        found = self._detect()
        self.env["retail.alert.rule"].search([("metric", "=", "anomaly")])._evaluate()
        return found

    @api.model
    def _detect(self, now=None, hours=EVALUATED_HOURS):
        """Judge the last completed hours of every active backend and domain; return the anomalies touched."""
        now = now or fields.Datetime.now()
        now_hour = now.replace(minute=0, second=0, microsecond=0)
        since = now_hour - timedelta(weeks=HISTORY_WEEKS)
        Metric = self.env["retail.metric.hourly"]
        Metric.flush_model()
        self.env.cr.execute(
            """
            SELECT DISTINCT m.backend_id, m.domain FROM retail_metric_hourly m
            JOIN retail_backend b ON b.id = m.backend_id
            WHERE b.active AND m.hour >= %s ORDER BY 1, 2
            """,
            (since,),
        )
        touched = self.browse()
        for backend_id, domain in self.env.cr.fetchall():
            rows = Metric._history(backend_id, domain, since)
            if not rows:
                continue
            start = max(since, rows[0]["hour"])
            size = int((now_hour - start).total_seconds() // 3600)
            if size <= 0:
                continue
            series = {key: np.zeros(size) for key in rows[0] if key != "hour"}
            for row in rows:
                index = int((row["hour"] - start).total_seconds() // 3600)
                if 0 <= index < size:
                    for key, values in series.items():
                        values[index] = float(row[key] or 0.0)
            first = max(0, size - hours)
            backend = self.env["retail.backend"].browse(backend_id)
            for metric, findings in self._findings(domain, series, start, first):
                touched |= self._record(backend, domain, metric, findings, series, start, now_hour)
        if touched:
            _logger.warning("Retail anomalies: %s", "; ".join(touched.mapped("name")))
        return touched

    @api.model
    def _findings(self, domain, series, start, first):
        """Yield (metric, findings) of every detector that applies to the domain."""
        label = dict(DOMAINS)[domain].lower()
        rate = RateDetector()
        yield "events", rate.scan(series["events"], start, first, "events", "%s events per hour" % label)
        yield "failure_share", RatioDetector().scan(series["failed_events"], series["events"], start, first,
                                                    "failure_share", "share of failed %s events" % label)
        yield "export_failure_share", RatioDetector().scan(series["failed_exports"], series["exports"], start, first,
                                                           "export_failure_share", "share of failed %s exports" % label)
        if domain == "orders":
            yield "orders", rate.scan(series["orders"], start, first, "orders", "orders per hour")
            yield "order_value", ValueDetector().scan(series["order_amount"], series["orders"], start, first,
                                                      "order_value", "average order total")
            daily = RatioDetector(window=24, history=28 * 24, min_count=50, min_history=7 * 24)
            yield "refund_ratio", daily.scan(series["refunds"], series["orders"], start, first, "refund_ratio",
                                             "refunds per order")

    @api.model
    def _record(self, backend, domain, metric, findings, series, start, now_hour):
        """Create or extend anomalies for the findings; mark open ones recovered when the last hour is normal."""
        touched = self.browse()
        scope = [("backend_id", "=", backend.id), ("domain", "=", domain), ("metric", "=", metric)]
        for finding in findings:
            hour_end = finding.window_end
            known = self.search(scope + [("kind", "=", finding.kind), ("window_start", "<=", finding.at),
                                         ("window_end", ">=", hour_end)], limit=1)
            if known:
                continue
            line = self._evidence_line(finding, series, start)
            current = self.search(scope + [("kind", "=", finding.kind), ("state", "=", "open"),
                                           ("window_end", ">=", finding.window_start)], limit=1)
            worst = {"expected": finding.expected, "observed": finding.observed, "lower": finding.lower,
                     "upper": finding.upper, "score": finding.score, "explanation": finding.explanation}
            if current:
                vals = {"window_end": max(current.window_end, hour_end), "hours": current.hours + 1,
                        "evidence": "%s\n%s" % (current.evidence or "", line)}
                if finding.score > current.score:
                    vals.update(worst)
                current.write(vals)
                touched |= current
            else:
                touched |= self.create(dict(worst, backend_id=backend.id, domain=domain, metric=metric,
                                            kind=finding.kind, window_start=finding.window_start,
                                            window_end=hour_end, evidence=line))
        last_hour = now_hour - timedelta(hours=1)
        if not any(f.at == last_hour for f in findings):
            self.search(scope + [("state", "=", "open"), ("window_end", "<=", last_hour)]).write(
                {"state": "recovered"})
        return touched

    @api.model
    def _evidence_line(self, finding, series, start):
        """One line per flagged hour: observed, expected and band, and the same hour in earlier weeks."""
        line = "%s: observed %s, expected %s (normal %s to %s), score %.1f" % (
            fields.Datetime.to_string(finding.at)[:16], _num(finding.observed), _num(finding.expected),
            _num(finding.lower), _num(finding.upper), finding.score)
        if finding.metric in ("events", "orders"):
            index = int((finding.at - start).total_seconds() // 3600)
            past = [series[finding.metric][index - 168 * k] for k in range(1, 5) if index - 168 * k >= 0]
            if past:
                line += "; same hour in the previous weeks: %s" % ", ".join(_num(v) for v in past)
        return line


def _num(value):
    return ("%.0f" % value) if float(value).is_integer() or abs(value) >= 100 else ("%.3g" % value)
