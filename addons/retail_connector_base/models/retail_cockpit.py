# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The operations cockpit: one tile per backend and domain, computed from the pipeline's records.

Each tile says, for the last hour: events received and processed per minute, the backlog
waiting, processing latency p50 and p95, failures and dead letters, reconciliation differences
and repairs, the backend's state and its last successful processing. Every figure opens the
records behind it.
"""

from odoo import api, fields, models, tools

from .retail_access import check_retail_access
from .retail_sync_policy import DOMAINS, MODES

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
    policy_id = fields.Many2one("retail.sync.policy", readonly=True)
    mode = fields.Selection(MODES, readonly=True)
    latency_target = fields.Float(string="Events target (s)", readonly=True, digits=(16, 1),
                                  help="The policy's latency target for applying the channel's events.")
    export_target = fields.Float(string="Sends target (s)", readonly=True, digits=(16, 1),
                                 help="The policy's latency target for sending Odoo's changes (none for a scheduled "
                                 "batch: its schedule is its target).")
    export_p95 = fields.Float(string="Sent p95 (s)", readonly=True, digits=(16, 1),
                              help="Seconds from Odoo's change to its send, p95 over the window.")
    waiting_changes = fields.Integer(string="Waiting to send", readonly=True,
                                     help="Odoo changes not sent yet: for a scheduled batch, what its next run sends.")
    next_run = fields.Datetime(readonly=True, help="When the policy's scheduled run comes next.")
    on_target = fields.Boolean(readonly=True, help="Both p95 latencies (events applied, changes sent) within the target.")
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
                    SELECT b.id AS backend_id, b.company_id, b.state AS backend_state, p.domain, p.id AS policy_id,
                        p.mode, p.debounce_seconds, p.latency_target_minutes, c.nextcall AS next_run
                    FROM retail_backend b JOIN retail_sync_policy p ON p.backend_id = b.id
                    LEFT JOIN ir_cron c ON c.id = p.cron_id AND c.active
                    WHERE b.active AND p.mode != 'off'
                ), ex AS (
                    SELECT backend_id, domain,
                        COUNT(*) FILTER (WHERE state = 'pending') AS waiting,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY GREATEST(EXTRACT(EPOCH FROM sent_at - requested_at), 0))
                            FILTER (WHERE state = 'done' AND sent_at >= now() at time zone 'UTC' - interval '%(w)s minutes')
                            AS p95
                    FROM retail_export_request
                    WHERE state = 'pending' OR sent_at >= now() at time zone 'UTC' - interval '%(w)s minutes'
                    GROUP BY backend_id, domain
                ), ev AS (
                    SELECT backend_id, domain,
                        COUNT(*) FILTER (WHERE received_at >= now() at time zone 'UTC' - interval '%(w)s minutes')
                            AS received,
                        COUNT(*) FILTER (WHERE processed_at >= now() at time zone 'UTC' - interval '%(w)s minutes')
                            AS processed,
                        COUNT(*) FILTER (WHERE state IN ('received', 'queued', 'processing')) AS backlog,
                        COUNT(*) FILTER (WHERE state = 'failed') AS failed,
                        COUNT(*) FILTER (WHERE state = 'dead') AS dead,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY GREATEST(EXTRACT(EPOCH FROM processed_at - received_at), 0))
                            FILTER (WHERE processed_at >= now() at time zone 'UTC' - interval '%(w)s minutes') AS p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY GREATEST(EXTRACT(EPOCH FROM processed_at - received_at), 0))
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
                    pairs.backend_id, pairs.company_id, pairs.backend_state, pairs.domain, pairs.policy_id,
                    pairs.mode, pairs.next_run, COALESCE(ex.waiting, 0) AS waiting_changes,
                    COALESCE(ex.p95, 0) AS export_p95,
                    COALESCE(pairs.latency_target_minutes, 5) * 60 AS latency_target,
                    CASE WHEN pairs.mode = 'batch' THEN 0 ELSE pairs.debounce_seconds END AS export_target,
                    (COALESCE(ev.p95, 0) <= COALESCE(pairs.latency_target_minutes, 5) * 60
                     AND (ex.p95 IS NULL OR pairs.mode = 'batch' OR ex.p95 <= pairs.debounce_seconds)) AS on_target,
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
                LEFT JOIN ex ON ex.backend_id = pairs.backend_id AND ex.domain = pairs.domain
                LEFT JOIN rec ON rec.backend_id = pairs.backend_id AND rec.domain = pairs.domain
            )
            """ % {"w": WINDOW_MINUTES}
        )

    @api.model
    def _search(self, domain, *args, **kwargs):
        for model in ("retail.event", "retail.reconciliation.run", "retail.backend", "retail.sync.policy",
                      "retail.export.request"):
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

    def action_open_waiting_changes(self):
        check_retail_access(self, "read")
        return self._open("retail.export.request", self.env._("Changes waiting to be sent"), [("state", "=", "pending")])

    def action_open_reconciliations(self):
        check_retail_access(self, "read")
        return self._open("retail.reconciliation.run", self.env._("Reconciliations"), [])

    def action_open_backend(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "retail.backend", "res_id": self.backend_id.id,
                "view_mode": "form", "views": [(False, "form")]}
