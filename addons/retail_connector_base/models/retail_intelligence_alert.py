# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Alert rules over anomalies and capacity forecasts, whose alerts show the expected and the observed.

"Anomaly": the measure is the score of the worst open anomaly of the backend (and domain); the
alert opens above the threshold (0: any anomaly) and resolves once the anomalies are back to
normal, acknowledged or dismissed. "Capacity forecast": the measure is the number of minutes
until the latency target is breached (0: breached now); the alert opens when the breach is
expected within the threshold, before it happens.
"""

from odoo import fields, models

from .retail_capacity_forecast import HORIZON_HOURS

NO_BREACH = HORIZON_HOURS * 60.0 + 1.0  # the measure when no breach is expected within the horizon


class RetailAlertRule(models.Model):
    _inherit = "retail.alert.rule"

    metric = fields.Selection(
        selection_add=[
            ("anomaly", "Anomaly: score of the worst open anomaly"),
            ("capacity_forecast", "Capacity forecast: minutes until the latency target is breached"),
        ],
        ondelete={"anomaly": "cascade", "capacity_forecast": "cascade"},
    )

    def _scope(self, backend):
        return [("backend_id", "=", backend.id)] + ([("domain", "=", self.domain)] if self.domain else [])

    def _worst_anomaly(self, backend):
        return self.env["retail.anomaly"].sudo().search(
            self._scope(backend) + [("state", "=", "open")], order="score desc, window_end desc", limit=1)

    def _nearest_forecast(self, backend):
        return self.env["retail.capacity.forecast"].sudo().search(
            self._scope(backend) + [("breach_at", "!=", False)], order="breach_at, id", limit=1)

    def _measure(self, backend):
        if self.metric == "anomaly":
            return self._worst_anomaly(backend).score or 0.0
        if self.metric == "capacity_forecast":
            forecast = self._nearest_forecast(backend)
            return round(forecast.minutes_to_breach, 1) if forecast else NO_BREACH
        return super()._measure(backend)

    def _breached(self, value):
        if self.metric == "capacity_forecast":
            return value <= self.threshold
        return super()._breached(value)

    def _alert_message(self, backend, value):
        if self.metric == "anomaly":
            anomaly = self._worst_anomaly(backend)
            if anomaly:
                message = self.env._(
                    "%(rule)s on %(backend)s: %(anomaly)s, observed %(observed)s where %(expected)s was expected "
                    "(normal %(lower)s to %(upper)s, score %(score)s). %(why)s",
                    rule=self.name, backend=backend.name, anomaly=anomaly.name, observed=_num(anomaly.observed),
                    expected=_num(anomaly.expected), lower=_num(anomaly.lower), upper=_num(anomaly.upper),
                    score=anomaly.score, why=anomaly.explanation or "")
                return message, {"anomaly_id": anomaly.id, "expected_value": anomaly.expected,
                                 "actual_value": anomaly.observed, "evidence": anomaly.evidence}
        if self.metric == "capacity_forecast":
            forecast = self._nearest_forecast(backend)
            if forecast:
                when = fields.Datetime.to_string(forecast.breach_at)[:16]
                message = self.env._(
                    "%(rule)s on %(backend)s: %(domain)s events will wait longer than %(target)s minutes from "
                    "%(when)s UTC (waiting %(backlog)s, about %(wait)s minutes now). Suggested capacity of %(channel)s: "
                    "%(suggested)s (now %(capacity)s). %(why)s",
                    rule=self.name, backend=backend.name, domain=forecast.domain, target=_num(forecast.target_minutes),
                    when=when, backlog=forecast.backlog, wait=_num(forecast.latency_minutes),
                    channel=forecast.job_channel, suggested=forecast.suggested_capacity, capacity=forecast.capacity,
                    why=forecast.explanation or "")
                return message, {"forecast_id": forecast.id, "expected_value": forecast.target_minutes,
                                 "actual_value": forecast.latency_minutes, "evidence": forecast.samples}
        return super()._alert_message(backend, value)


class RetailAlert(models.Model):
    _inherit = "retail.alert"

    expected_value = fields.Float(string="Expected", readonly=True, digits=(16, 4),
                                  help="Anomaly: what the baseline expected. Forecast: the latency target (min).")
    actual_value = fields.Float(string="Actual", readonly=True, digits=(16, 4),
                                help="Anomaly: what was measured. Forecast: the expected wait now (min).")
    evidence = fields.Text(readonly=True)
    anomaly_id = fields.Many2one("retail.anomaly", readonly=True, ondelete="set null")
    forecast_id = fields.Many2one("retail.capacity.forecast", string="Capacity forecast", readonly=True,
                                  ondelete="set null")


def _num(value):
    value = float(value or 0.0)
    return ("%.0f" % value) if value.is_integer() or abs(value) >= 100 else ("%.3g" % value)
