# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The operations cockpit: one tile per backend and domain, computed from the pipeline's records.

Each tile says, for the last hour: events received and processed per minute, the backlog
waiting, processing latency p50 and p95, failures and dead letters, reconciliation differences
and repairs, the backend's state and its last successful processing. Every figure opens the
records behind it.
"""

from datetime import datetime, timedelta, timezone

from odoo import api, fields, models, tools

from .retail_access import check_retail_access
from .retail_sync_policy import DOMAINS, MODES

WINDOW_MINUTES = 60
# sparkline of a cockpit row: events received per 5 minutes over the last hour
SPARK_STEP = 300
SPARK_POINTS = 12
# chart period -> (span, bucket)
PERIODS = {
    "hour": (timedelta(hours=1), timedelta(minutes=5)),
    "day": (timedelta(days=1), timedelta(hours=1)),
    "week": (timedelta(days=7), timedelta(hours=6)),
}
SERIES_EVENTS_SQL = """
WITH t AS (SELECT generate_series(%(start)s::timestamp + %(step)s::interval, %(end)s::timestamp,
                                  %(step)s::interval) AS at),
e AS (
    SELECT received_at, processed_at, state FROM retail_event
    WHERE backend_id = %(backend)s AND (%(domain)s::varchar IS NULL OR domain = %(domain)s)
      AND (received_at > %(start)s OR processed_at > %(start)s OR state IN %(waiting)s)
)
SELECT t.at,
       count(e.*) FILTER (WHERE e.received_at > t.at - %(step)s::interval AND e.received_at <= t.at),
       count(e.*) FILTER (WHERE e.processed_at > t.at - %(step)s::interval AND e.processed_at <= t.at
                          AND e.state IN ('done', 'stale')),
       count(e.*) FILTER (WHERE e.received_at > t.at - %(step)s::interval AND e.received_at <= t.at
                          AND e.state IN ('failed', 'dead')),
       count(e.*) FILTER (WHERE e.received_at <= t.at AND (e.processed_at > t.at
                          OR (e.processed_at IS NULL AND e.state IN %(waiting)s))),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY GREATEST(EXTRACT(EPOCH FROM e.processed_at - e.received_at), 0))
           FILTER (WHERE e.processed_at > t.at - %(step)s::interval AND e.processed_at <= t.at),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY GREATEST(EXTRACT(EPOCH FROM e.processed_at - e.received_at), 0))
           FILTER (WHERE e.processed_at > t.at - %(step)s::interval AND e.processed_at <= t.at)
FROM t LEFT JOIN e ON e.received_at <= t.at
GROUP BY t.at
"""
SERIES_EXPORTS_SQL = """
WITH t AS (SELECT generate_series(%(start)s::timestamp + %(step)s::interval, %(end)s::timestamp,
                                  %(step)s::interval) AS at)
SELECT t.at,
       count(r.*) FILTER (WHERE r.requested_at > t.at - %(step)s::interval AND r.requested_at <= t.at),
       count(r.*) FILTER (WHERE r.sent_at > t.at - %(step)s::interval AND r.sent_at <= t.at AND r.state = 'done'),
       count(r.*) FILTER (WHERE r.state = 'failed' AND r.write_date > t.at - %(step)s::interval AND r.write_date <= t.at)
FROM t LEFT JOIN retail_export_request r ON r.backend_id = %(backend)s
     AND (%(domain)s::varchar IS NULL OR r.domain = %(domain)s)
     AND (r.requested_at > %(start)s OR r.sent_at > %(start)s OR r.write_date > %(start)s)
     AND r.requested_at <= t.at
GROUP BY t.at
"""


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

    # ------------------------------------------------------------------ cards and charts (the cockpit client action)
    @api.model
    def _row_severity(self, row):
        """Return how badly a domain needs a person: 3 failing, 2 off target or drifting, 1 waiting, 0 fine."""
        if row["failed"] or row["dead"] or row["backend_state"] != "ok":
            return 3
        if not row["on_target"] or row["differences"] > row["repaired"]:
            return 2
        if row["backlog"] or row["waiting_changes"]:
            return 1
        return 0

    @api.model
    def get_cockpit_cards(self):
        """Return one card per active backend, its domains as rows, worst first (cards and rows)."""
        check_retail_access(self, "read")
        fnames = ["backend_id", "backend_state", "domain", "mode", "on_target", "received_per_minute",
                  "processed_per_minute", "backlog", "latency_p50", "latency_p95", "latency_target", "export_p95",
                  "export_target", "waiting_changes", "failed", "dead", "differences", "repaired", "policy_id"]
        rows = self.search_read([], fnames)
        modes = dict(self._fields["mode"].selection)
        domains = dict(self._fields["domain"].selection)
        cards = {}
        for row in rows:
            backend_id = row["backend_id"][0]
            card = cards.setdefault(backend_id, {"backend_id": backend_id, "name": row["backend_id"][1], "rows": [],
                                                 "backend_state": row["backend_state"], "severity": 0})
            row = dict(row, backend_id=backend_id, policy_id=row["policy_id"] and row["policy_id"][0],
                       mode_label=modes.get(row["mode"], row["mode"]), domain_label=domains.get(row["domain"], row["domain"]),
                       latency_p50=max(row["latency_p50"], 0.0), latency_p95=max(row["latency_p95"], 0.0),
                       export_p95=max(row["export_p95"], 0.0), severity=self._row_severity(row))
            card["rows"].append(row)
            card["severity"] = max(card["severity"], row["severity"])
        sparks = self._sparklines(list(cards))
        for card in cards.values():
            for row in card["rows"]:
                row["spark"] = sparks.get((row["backend_id"], row["domain"]), [0] * SPARK_POINTS)
        backends = self.env["retail.backend"].browse(list(cards)).with_context(active_test=False)
        for backend in backends:
            card = cards[backend.id]
            card.update(backend_type=dict(backend._fields["backend_type"]._description_selection(self.env)).get(
                backend.backend_type, backend.backend_type), go_live_state=backend.go_live_state)
            if backend.go_live_state != "live":
                card["severity"] = max(card["severity"], 2)
            card["rows"].sort(key=lambda r: (-r["severity"], -r["failed"] - r["dead"], -r["backlog"], r["domain"]))
        return sorted(cards.values(), key=lambda c: (-c["severity"], -sum(r["failed"] + r["dead"] for r in c["rows"]),
                                                     c["name"]))

    @api.model
    def _sparklines(self, backend_ids):
        """Return {(backend id, domain): events received per 5 minutes over the last hour, oldest first}."""
        if not backend_ids:
            return {}
        self.env.cr.execute(
            """
            SELECT backend_id, domain,
                   floor(EXTRACT(EPOCH FROM (now() at time zone 'UTC') - received_at) / %(step)s)::int, count(*)
            FROM retail_event
            WHERE backend_id IN %(ids)s AND domain IS NOT NULL
              AND received_at > (now() at time zone 'UTC') - %(span)s * interval '1 second'
            GROUP BY 1, 2, 3
            """,
            {"ids": tuple(backend_ids), "step": SPARK_STEP, "span": SPARK_STEP * SPARK_POINTS},
        )
        sparks = {}
        for backend_id, domain, bucket, count in self.env.cr.fetchall():
            if 0 <= bucket < SPARK_POINTS:
                sparks.setdefault((backend_id, domain), [0] * SPARK_POINTS)[SPARK_POINTS - 1 - bucket] = count
        return sparks

    @api.model
    def get_backend_series(self, backend_id, period="day", domain=None):
        """Return a backend's figures over the last hour, day or week, in buckets, for its charts.

        Per bucket: events received, applied and failed; the backlog at the bucket's end; the
        latency p50 and p95 of the events applied in it (seconds, never negative); exports
        requested, sent and failed. ``domain`` restricts to one sync domain.
        """
        check_retail_access(self, "read")
        backend = self.env["retail.backend"].browse(int(backend_id)).exists()
        check_retail_access(backend, "read")
        span, step = PERIODS.get(period, PERIODS["day"])
        for model in ("retail.event", "retail.export.request"):
            self.env[model].flush_model()
        cr = self.env.cr
        cr.execute("SELECT now() at time zone 'UTC'")
        now = cr.fetchone()[0]
        # buckets end on a multiple of the step, the last one at the next
        step_s = int(step.total_seconds())
        end = datetime.fromtimestamp((int(now.replace(tzinfo=timezone.utc).timestamp()) // step_s + 1) * step_s,
                                     tz=timezone.utc).replace(tzinfo=None)
        start = end - span
        params = {"backend": backend.id, "start": start, "end": end, "step": "%d seconds" % step_s,
                  "domain": domain or None, "waiting": ("received", "queued", "processing")}
        cr.execute(SERIES_EVENTS_SQL, params)
        events = {row[0]: row[1:] for row in cr.fetchall()}
        cr.execute(SERIES_EXPORTS_SQL, params)
        exports = {row[0]: row[1:] for row in cr.fetchall()}
        labels, series = [], {key: [] for key in ("received", "applied", "failed", "backlog", "p50", "p95",
                                                  "exports", "sent", "export_failures")}
        at = start + step
        while at <= end:
            labels.append(fields.Datetime.to_string(at))
            received, applied, failed, backlog, p50, p95 = events.get(at, (0, 0, 0, 0, None, None))
            requested, sent, export_failures = exports.get(at, (0, 0, 0))
            for key, value in (("received", received), ("applied", applied), ("failed", failed), ("backlog", backlog),
                               ("p50", round(max(p50 or 0.0, 0.0), 2)), ("p95", round(max(p95 or 0.0, 0.0), 2)),
                               ("exports", requested), ("sent", sent), ("export_failures", export_failures)):
                series[key].append(value)
            at += step
        targets = backend.policy_ids.filtered(lambda p: p.mode != "off" and (not domain or p.domain == domain))
        target = min(targets.mapped("latency_target_minutes") or [5.0]) * 60
        return {"backend_id": backend.id, "name": backend.display_name, "period": period, "labels": labels,
                "series": series, "latency_target": target, "step_seconds": step_s}


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    sale_order_count = fields.Integer(string="Orders", compute="_compute_sale_order_count")

    def _compute_sale_order_count(self):
        counts = dict(self.env["retail.sale.order.binding"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]))
        for backend in self:
            backend.sale_order_count = counts.get(backend, 0)

    def action_open_sale_orders(self):
        """Open the sale orders this backend's channel placed."""
        check_retail_access(self, "read")
        self.ensure_one()
        orders = self.env["retail.sale.order.binding"].search([("backend_id", "=", self.id)]).odoo_id
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Orders of %(backend)s", backend=self.name),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", orders.ids)],
            "context": {"create": False},
        }
