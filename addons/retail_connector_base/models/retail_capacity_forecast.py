# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Capacity forecasts: when each backend's domain will wait longer than its latency target.

Every few minutes a cron samples, for every active backend and domain, the events waiting and
the events received and processed in each five-minute step of the last hour (rebuilt from
the inbox's receipt and processing times), forecasts the breach of the sync policy's latency
target with ``lib.intelligence.capacity``, and suggests a capacity for the job runner channel
that processes the domain (``root.retail.<domain>``). Alert rules of the kind "Capacity
forecast" warn before the breach.
"""

import math
from datetime import timedelta

from odoo import api, fields, models

from ..lib.intelligence import Sample, forecast_capacity
from .retail_access import check_retail_access
from .retail_sync_policy import DOMAINS

SAMPLE_MINUTES = 5
SAMPLE_SPAN_MINUTES = 60
HORIZON_HOURS = 24.0
DEFAULT_TARGET_MINUTES = 5.0
WAITING = ("received", "queued", "processing")

SAMPLES_SQL = """
WITH t AS (SELECT generate_series(%(start)s::timestamp, %(now)s::timestamp, %(step)s::interval) AS at)
SELECT e.backend_id, e.domain, t.at,
       count(*) FILTER (WHERE e.received_at <= t.at AND (e.processed_at > t.at
                        OR (e.processed_at IS NULL AND e.state IN %(waiting)s))) AS backlog,
       count(*) FILTER (WHERE e.received_at > t.at - %(step)s::interval AND e.received_at <= t.at) AS arrived,
       count(*) FILTER (WHERE e.processed_at > t.at - %(step)s::interval AND e.processed_at <= t.at) AS processed
FROM t JOIN retail_event e ON e.domain IS NOT NULL AND e.received_at <= %(now)s::timestamp
     AND (e.received_at > %(start)s::timestamp - %(step)s::interval
          OR e.processed_at > %(start)s::timestamp - %(step)s::interval
          OR (e.processed_at IS NULL AND e.state IN %(waiting)s))
GROUP BY 1, 2, 3
"""


def channel_capacities():
    """Return {channel name: capacity} from the job runner's configuration."""
    from odoo.addons.queue_job.jobrunner.channels import ChannelManager
    from odoo.addons.queue_job.jobrunner.runner import _channels

    capacities = {}
    for config in ChannelManager.parse_simple_config(_channels()):
        name = config["name"] if config["name"].startswith("root") else "root." + config["name"]
        capacities[name] = int(config.get("capacity") or 1)
    return capacities


def channel_capacity(capacities, channel):
    """Return (channel that limits, capacity): the channel's own, else its nearest configured parent's."""
    name = channel
    while name:
        if name in capacities:
            return name, capacities[name]
        name = name.rpartition(".")[0]
    return "root", capacities.get("root", 1)


class RetailSyncPolicy(models.Model):
    _inherit = "retail.sync.policy"

    latency_target_minutes = fields.Float(
        string="Latency target (min)", default=DEFAULT_TARGET_MINUTES,
        help="How long an event of this domain may wait before it is applied. Capacity forecasts warn before "
        "the waiting work takes longer.")


class RetailCapacityForecast(models.Model):
    _name = "retail.capacity.forecast"
    _description = "Retail Connector capacity forecast"
    _order = "state_rank, breach_at, backend_id, domain"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    domain = fields.Selection(DOMAINS, required=True)
    job_channel = fields.Char(help="The job runner channel whose capacity limits this domain.")
    computed_at = fields.Datetime(readonly=True)
    state = fields.Selection([("breached", "Breached"), ("at_risk", "At risk"), ("ok", "OK")],
                             default="ok", required=True, index=True)
    state_rank = fields.Integer(compute="_compute_state_rank", store=True)
    backlog = fields.Integer(string="Waiting")
    arrival_rate = fields.Float(string="Arriving / min", digits=(16, 2))
    service_rate = fields.Float(string="Processed / min while busy", digits=(16, 2))
    latency_minutes = fields.Float(string="Wait now (min)", digits=(16, 1),
                                   help="How long the last event waiting will wait at the measured rate; "
                                   "-1 when nothing is processed.")
    target_minutes = fields.Float(string="Target (min)", digits=(16, 1))
    slope_per_hour = fields.Float(string="Backlog trend / h", digits=(16, 1))
    breach_at = fields.Datetime(string="Breach expected", help="Empty: no breach within a day at this trend.")
    minutes_to_breach = fields.Float(digits=(16, 0))
    capacity = fields.Integer(string="Channel capacity")
    suggested_capacity = fields.Integer()
    explanation = fields.Text(readonly=True)
    samples = fields.Text(readonly=True, help="The samples the forecast was made from.")

    _one_per_domain = models.UniqueIndex("(backend_id, domain)", "One forecast per backend and domain.")

    @api.depends("state")
    def _compute_state_rank(self):
        for forecast in self:
            forecast.state_rank = {"breached": 0, "at_risk": 1}.get(forecast.state, 2)

    @api.model
    def _cron_forecast(self):
        forecasts = self._forecast()
        self.env["retail.alert.rule"].search([("metric", "=", "capacity_forecast")])._evaluate()
        return forecasts

    @api.model
    def _samples(self, now):
        """Return {(backend_id, domain): [Sample, ...]} for the last hour."""
        self.env["retail.event"].flush_model()
        start = now - timedelta(minutes=SAMPLE_SPAN_MINUTES)
        step = "%d minutes" % SAMPLE_MINUTES
        self.env.cr.execute(SAMPLES_SQL, {"start": start, "now": now, "step": step, "waiting": WAITING})
        found = {}
        for backend_id, domain, at, backlog, arrived, processed in self.env.cr.fetchall():
            found.setdefault((backend_id, domain), {})[at] = Sample(at, backlog, arrived, processed)
        times = [start + timedelta(minutes=SAMPLE_MINUTES * i)
                 for i in range(SAMPLE_SPAN_MINUTES // SAMPLE_MINUTES + 1)]
        return {key: [by_time.get(at) or Sample(at, 0, 0, 0) for at in times] for key, by_time in found.items()}

    @api.model
    def _forecast(self, now=None):
        """Forecast every active backend and domain with a sync policy; return the forecasts."""
        now = (now or fields.Datetime.now()).replace(microsecond=0)
        samples = self._samples(now)
        capacities = channel_capacities()
        policies = self.env["retail.sync.policy"].sudo().search(
            [("backend_id.active", "=", True), ("mode", "!=", "off")])
        forecasts = self.browse()
        for policy in policies:
            key = (policy.backend_id.id, policy.domain)
            series = samples.get(key) or [Sample(now, 0, 0, 0)]
            channel, capacity = channel_capacity(capacities, policy._job_channel())
            target = policy.latency_target_minutes or DEFAULT_TARGET_MINUTES
            result = forecast_capacity(series, target_minutes=target, capacity=capacity, horizon_hours=HORIZON_HOURS)
            minutes = result.minutes_to_breach
            vals = {
                "backend_id": policy.backend_id.id, "domain": policy.domain, "job_channel": channel,
                "computed_at": now, "state": result.state, "backlog": int(result.backlog),
                "arrival_rate": result.arrival_rate, "service_rate": result.service_rate or 0.0,
                "latency_minutes": result.latency_minutes if math.isfinite(result.latency_minutes) else -1,
                "target_minutes": target, "slope_per_hour": result.slope_per_hour, "breach_at": result.breach_at,
                "minutes_to_breach": minutes if minutes is not None else 0.0, "capacity": capacity,
                "suggested_capacity": result.suggested_capacity,
                "explanation": "%s (channel %s)" % (result.explanation, channel),
                "samples": "\n".join("%s  waiting %d  arrived %d  processed %d" % (
                    fields.Datetime.to_string(s.at)[11:16], s.backlog, s.arrived, s.processed) for s in series),
            }
            forecast = self.search([("backend_id", "=", policy.backend_id.id), ("domain", "=", policy.domain)], limit=1)
            if forecast:
                forecast.write(vals)
            else:
                forecast = self.create(vals)
            forecasts |= forecast
        self.search([("id", "not in", forecasts.ids)]).unlink()  # backends or domains no longer active
        return forecasts

    def action_open_backlog(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Waiting events"), "res_model": "retail.event",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain), ("state", "in", WAITING)],
        }
