# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, models

LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
STUCK_JOB_MINUTES = 10


class RetailEvent(models.Model):
    _inherit = "retail.event"

    @api.model
    def _health_report(self):
        """Return {status: pass|warn|fail, checks: {...}} for the health endpoint."""
        cr = self.env.cr
        checks = {"database": {"status": "pass"}}
        cr.execute(
            """
            SELECT count(*) FILTER (WHERE state = 'pending' AND COALESCE(eta, date_created) < now() at time zone 'UTC'
                                    - interval '%s minutes'),
                   count(*) FILTER (WHERE state IN ('pending', 'enqueued', 'started'))
            FROM queue_job
            """ % STUCK_JOB_MINUTES
        )
        overdue, active = cr.fetchone()
        checks["job_runner"] = {
            "status": "warn" if overdue else "pass",
            "overdue_jobs": overdue,
            "active_jobs": active,
            "message": "jobs wait past their time: is the job runner running?" if overdue else "",
        }
        cr.execute("SELECT count(*) FROM retail_event WHERE state IN ('received', 'queued', 'processing')")
        backlog = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM retail_backend WHERE active AND state = 'degraded'")
        degraded = cr.fetchone()[0]
        checks["backlog"] = {"status": "pass", "pending_events": backlog}
        checks["backends"] = {"status": "warn" if degraded else "pass", "degraded": degraded}
        worst = "warn" if any(c["status"] == "warn" for c in checks.values()) else "pass"
        return {"status": worst, "checks": checks}

    @api.model
    def _metric_samples(self):
        """Return the samples of the metrics endpoint, per backend, domain and outcome."""
        cr = self.env.cr
        samples = []
        cr.execute(
            """
            SELECT b.name, e.backend_type, COALESCE(e.domain, ''), e.state, count(*)
            FROM retail_event e JOIN retail_backend b ON b.id = e.backend_id
            GROUP BY 1, 2, 3, 4
            """
        )
        rows = cr.fetchall()
        samples.append(("retail_events", "counter", "Events received, by state reached.",
                        ["backend", "channel", "domain", "state"], [(list(r[:4]), r[4]) for r in rows]))
        cr.execute(
            """
            SELECT b.name, COALESCE(e.domain, ''), sum(e.duplicate_count)
            FROM retail_event e JOIN retail_backend b ON b.id = e.backend_id GROUP BY 1, 2
            """
        )
        samples.append(("retail_event_duplicates", "counter", "Duplicate deliveries answered without processing.",
                        ["backend", "domain"], [([r[0], r[1]], r[2] or 0) for r in cr.fetchall()]))
        cr.execute(
            """
            SELECT b.name, COALESCE(e.domain, ''),
                   GREATEST(EXTRACT(EPOCH FROM (e.processed_at - e.received_at)), 0) AS seconds
            FROM retail_event e JOIN retail_backend b ON b.id = e.backend_id
            WHERE e.processed_at IS NOT NULL AND e.received_at > now() at time zone 'UTC' - interval '1 day'
            """
        )
        latency = {}
        for backend, domain, seconds in cr.fetchall():
            latency.setdefault((backend, domain), []).append(float(seconds or 0))
        hist_rows = []
        for (backend, domain), values in sorted(latency.items()):
            buckets = [(str(b), sum(1 for v in values if v <= b)) for b in LATENCY_BUCKETS]
            buckets.append(("+Inf", len(values)))
            hist_rows.append(([backend, domain], buckets, sum(values)))
        samples.append(("retail_event_processing_seconds", "histogram",
                        "Time from receipt to applied, events of the last day.", ["backend", "domain"], hist_rows))
        cr.execute(
            """
            SELECT b.name, r.domain, r.state, count(*)
            FROM retail_export_request r JOIN retail_backend b ON b.id = r.backend_id GROUP BY 1, 2, 3
            """
        )
        samples.append(("retail_exports", "counter", "Export requests, by state.", ["backend", "domain", "state"],
                        [(list(r[:3]), r[3]) for r in cr.fetchall()]))
        cr.execute(
            """
            SELECT b.name, r.domain, sum(r.repaired), sum(r.difference_count)
            FROM retail_reconciliation_run r JOIN retail_backend b ON b.id = r.backend_id GROUP BY 1, 2
            """
        )
        recon = cr.fetchall()
        samples.append(("retail_reconciliation_repairs", "counter", "Differences repaired by reconciliation: lost webhooks or exports.",
                        ["backend", "domain"], [([r[0], r[1]], r[2] or 0) for r in recon]))
        cr.execute(
            """
            SELECT COALESCE(b.name, ''), r.code, COALESCE(sum(r.count), 0) FROM retail_rejected_request r
            LEFT JOIN retail_backend b ON b.id = r.backend_id GROUP BY 1, 2
            """
        )
        samples.append(("retail_rejected_requests", "counter", "Inbound requests refused, by reason.", ["backend", "reason"],
                        [([r[0], r[1] or ""], r[2]) for r in cr.fetchall()]))
        cr.execute("SELECT name, backend_type, state FROM retail_backend WHERE active")
        samples.append(("retail_backend_up", "gauge", "1 when the backend is ok, 0 when degraded or paused.",
                        ["backend", "channel", "state"], [([n, t, s], 1 if s == "ok" else 0) for n, t, s in cr.fetchall()]))
        return samples
