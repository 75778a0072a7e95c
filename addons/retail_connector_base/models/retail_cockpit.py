# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The operations cockpit: one tile per backend and domain, computed from the pipeline's records.

Each tile says, for the last hour: events received and processed per minute, the backlog
waiting, processing latency p50 and p95, failures and dead letters, reconciliation differences
and repairs, the backend's state and its last successful processing. Every figure opens the
records behind it.
"""

from odoo import api, fields, models, tools

from .retail_access import check_retail_access
from .retail_sync_policy import DOMAINS

WINDOW_MINUTES = 60


class RetailCockpit(models.Model):
    _name = "retail.cockpit"
    _description = "Retail Connector cockpit tile"
    _auto = False
    _order = "attention desc, backend_id, domain"

    backend_id = fields.Many2one("retail.backend", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    backend_state = fields.Selection([("ok", "OK"), ("degraded", "Degraded"), ("paused", "Paused")], readonly=True)
    domain = fields.Selection(DOMAINS, readonly=True)
    received_per_minute = fields.Float(readonly=True, digits=(16, 2))
    processed_per_minute = fields.Float(readonly=True, digits=(16, 2))
    backlog = fields.Integer(readonly=True)
    failed = fields.Integer(readonly=True)
    dead = fields.Integer(readonly=True)
    latency_p50 = fields.Float(string="Latency p50 (s)", readonly=True, digits=(16, 1))
    latency_p95 = fields.Float(string="Latency p95 (s)", readonly=True, digits=(16, 1))
    differences = fields.Integer(string="Drift", readonly=True)
    repaired = fields.Integer(readonly=True)
    last_processed_at = fields.Datetime(string="Last success", readonly=True)
    attention = fields.Boolean(readonly=True, help="Something needs a person: failures, dead letters, a degraded "
                               "or paused backend, or differences left unrepaired.")

    @api.private
    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            """
            CREATE VIEW retail_cockpit AS (
                WITH pairs AS (
                    SELECT b.id AS backend_id, b.company_id, b.state AS backend_state, p.domain
                    FROM retail_backend b JOIN retail_sync_policy p ON p.backend_id = b.id
                    WHERE b.active AND p.mode != 'off'
                ), ev AS (
                    SELECT backend_id, domain,
                        COUNT(*) FILTER (WHERE received_at >= now() at time zone 'UTC' - interval '%(w)s minutes')
                            AS received,
                        COUNT(*) FILTER (WHERE processed_at >= now() at time zone 'UTC' - interval '%(w)s minutes')
                            AS processed,
                        COUNT(*) FILTER (WHERE state IN ('received', 'queued', 'processing')) AS backlog,
                        COUNT(*) FILTER (WHERE state = 'failed') AS failed,
                        COUNT(*) FILTER (WHERE state = 'dead') AS dead,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - received_at))
                            FILTER (WHERE processed_at >= now() at time zone 'UTC' - interval '%(w)s minutes') AS p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - received_at))
                            FILTER (WHERE processed_at >= now() at time zone 'UTC' - interval '%(w)s minutes') AS p95,
                        MAX(processed_at) FILTER (WHERE state = 'done') AS last_done
                    FROM retail_event GROUP BY backend_id, domain
                ), rec AS (
                    SELECT backend_id, domain, SUM(difference_count) AS differences, SUM(repaired) AS repaired
                    FROM retail_reconciliation_run
                    WHERE started_at >= now() at time zone 'UTC' - interval '1 day'
                    GROUP BY backend_id, domain
                )
                SELECT row_number() OVER (ORDER BY pairs.backend_id, pairs.domain) AS id,
                    pairs.backend_id, pairs.company_id, pairs.backend_state, pairs.domain,
                    COALESCE(ev.received, 0)::float / %(w)s AS received_per_minute,
                    COALESCE(ev.processed, 0)::float / %(w)s AS processed_per_minute,
                    COALESCE(ev.backlog, 0) AS backlog, COALESCE(ev.failed, 0) AS failed,
                    COALESCE(ev.dead, 0) AS dead, COALESCE(ev.p50, 0) AS latency_p50,
                    COALESCE(ev.p95, 0) AS latency_p95, COALESCE(rec.differences, 0) AS differences,
                    COALESCE(rec.repaired, 0) AS repaired, ev.last_done AS last_processed_at,
                    (COALESCE(ev.failed, 0) + COALESCE(ev.dead, 0) > 0 OR pairs.backend_state != 'ok'
                     OR COALESCE(rec.differences, 0) > COALESCE(rec.repaired, 0)) AS attention
                FROM pairs
                LEFT JOIN ev ON ev.backend_id = pairs.backend_id AND ev.domain = pairs.domain
                LEFT JOIN rec ON rec.backend_id = pairs.backend_id AND rec.domain = pairs.domain
            )
            """ % {"w": WINDOW_MINUTES}
        )

    @api.model
    def _search(self, domain, *args, **kwargs):
        for model in ("retail.event", "retail.reconciliation.run", "retail.backend", "retail.sync.policy"):
            self.env[model].flush_model()
        return super()._search(domain, *args, **kwargs)

    def _open(self, model, name, extra):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": name, "res_model": model, "view_mode": "list,form",
            "domain": [("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain)] + extra,
        }

    def action_open_backlog(self):
        check_retail_access(self, "read")
        return self._open("retail.event", self.env._("Waiting events"),
                          [("state", "in", ("received", "queued", "processing"))])

    def action_open_failures(self):
        check_retail_access(self, "read")
        return self._open("retail.event", self.env._("Failed and dead events"), [("state", "in", ("failed", "dead"))])

    def action_open_events(self):
        check_retail_access(self, "read")
        return self._open("retail.event", self.env._("Events"), [])

    def action_open_reconciliations(self):
        check_retail_access(self, "read")
        return self._open("retail.reconciliation.run", self.env._("Reconciliations"), [])

    def action_open_backend(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "retail.backend", "res_id": self.backend_id.id,
                "view_mode": "form", "views": [(False, "form")]}
