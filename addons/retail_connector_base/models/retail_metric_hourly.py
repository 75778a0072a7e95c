# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Hourly figures per backend and domain, aggregated in SQL so that detection reads a few rows.

Events received and failed come from the inbox, orders and their totals from the sale order
bindings (by the order's date), refunds from the channel refunds, exports and failed exports
from the outbound requests. The cron recomputes the last two days each time (late orders and
retried events change recent hours) and backfills five weeks on its first run.
"""

from datetime import timedelta

from odoo import api, fields, models

from .retail_sync_policy import DOMAINS

RECOMPUTE_HOURS = 48
BACKFILL_DAYS = 35

AGGREGATE_SQL = """
WITH ev AS (
    SELECT backend_id, domain, date_trunc('hour', received_at) AS hour, count(*) AS events,
           count(*) FILTER (WHERE state IN ('failed', 'dead')) AS failed_events
    FROM retail_event WHERE received_at >= %(since)s AND domain IS NOT NULL GROUP BY 1, 2, 3
), so AS (
    SELECT b.backend_id, 'orders'::varchar AS domain, date_trunc('hour', o.date_order) AS hour,
           count(*) AS orders, sum(o.amount_total) AS order_amount
    FROM retail_sale_order_binding b JOIN sale_order o ON o.id = b.odoo_id
    WHERE o.date_order >= %(since)s GROUP BY 1, 2, 3
), rf AS (
    SELECT backend_id, 'orders'::varchar AS domain, date_trunc('hour', COALESCE(refunded_at, create_date)) AS hour,
           count(*) AS refunds, sum(amount) AS refund_amount
    FROM retail_refund WHERE COALESCE(refunded_at, create_date) >= %(since)s GROUP BY 1, 2, 3
), ex AS (
    SELECT backend_id, domain, date_trunc('hour', requested_at) AS hour, count(*) AS exports,
           count(*) FILTER (WHERE state = 'failed') AS failed_exports
    FROM retail_export_request WHERE requested_at >= %(since)s GROUP BY 1, 2, 3
), keys AS (
    SELECT backend_id, domain, hour FROM ev UNION SELECT backend_id, domain, hour FROM so
    UNION SELECT backend_id, domain, hour FROM rf UNION SELECT backend_id, domain, hour FROM ex
)
INSERT INTO retail_metric_hourly (backend_id, company_id, domain, hour, events, failed_events, orders, order_amount,
                                  refunds, refund_amount, exports, failed_exports,
                                  create_uid, create_date, write_uid, write_date)
SELECT k.backend_id, b.company_id, k.domain, k.hour, COALESCE(ev.events, 0), COALESCE(ev.failed_events, 0),
       COALESCE(so.orders, 0), COALESCE(so.order_amount, 0), COALESCE(rf.refunds, 0), COALESCE(rf.refund_amount, 0),
       COALESCE(ex.exports, 0), COALESCE(ex.failed_exports, 0),
       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
FROM keys k
JOIN retail_backend b ON b.id = k.backend_id
LEFT JOIN ev ON ev.backend_id = k.backend_id AND ev.domain = k.domain AND ev.hour = k.hour
LEFT JOIN so ON so.backend_id = k.backend_id AND so.domain = k.domain AND so.hour = k.hour
LEFT JOIN rf ON rf.backend_id = k.backend_id AND rf.domain = k.domain AND rf.hour = k.hour
LEFT JOIN ex ON ex.backend_id = k.backend_id AND ex.domain = k.domain AND ex.hour = k.hour
ON CONFLICT (backend_id, domain, hour) DO UPDATE SET
    events = EXCLUDED.events, failed_events = EXCLUDED.failed_events, orders = EXCLUDED.orders,
    order_amount = EXCLUDED.order_amount, refunds = EXCLUDED.refunds, refund_amount = EXCLUDED.refund_amount,
    exports = EXCLUDED.exports, failed_exports = EXCLUDED.failed_exports,
    write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
"""


class RetailMetricHourly(models.Model):
    _name = "retail.metric.hourly"
    _description = "Retail Connector hourly figures"
    _order = "hour desc, backend_id, domain"
    _rec_name = "hour"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", index=True)
    domain = fields.Selection(DOMAINS, required=True)
    hour = fields.Datetime(required=True, index=True, help="Start of the hour (UTC).")
    events = fields.Integer(help="Events received in the hour.")
    failed_events = fields.Integer(help="Events of the hour that failed or became dead letters.")
    orders = fields.Integer(help="Channel orders placed in the hour.")
    order_amount = fields.Float(string="Order totals", digits=(16, 2))
    refunds = fields.Integer()
    refund_amount = fields.Float(string="Refunded", digits=(16, 2))
    exports = fields.Integer(help="Export requests of the hour.")
    failed_exports = fields.Integer()

    _one_row_per_hour = models.UniqueIndex("(backend_id, domain, hour)", "One row per backend, domain and hour.")

    @api.model
    def _aggregate(self, since=None):
        """Recompute the hours from ``since`` (default: the last two days, or five weeks on the first run)."""
        for model in ("retail.event", "retail.refund", "retail.export.request", "retail.sale.order.binding",
                      "sale.order"):
            self.env[model].flush_model()
        if since is None:
            now = fields.Datetime.now()
            since = now - (timedelta(hours=RECOMPUTE_HOURS) if self.search_count([], limit=1)
                           else timedelta(days=BACKFILL_DAYS))
        self.env.cr.execute(AGGREGATE_SQL, {"since": since, "uid": self.env.uid})
        self.invalidate_model()
        return True

    @api.model
    def _history(self, backend_id, domain, since):
        """Return the rows of one backend and domain from ``since``, oldest first, as dicts."""
        self.flush_model()
        self.env.cr.execute(
            """
            SELECT hour, events, failed_events, orders, order_amount, refunds, refund_amount, exports, failed_exports
            FROM retail_metric_hourly WHERE backend_id = %s AND domain = %s AND hour >= %s ORDER BY hour
            """,
            (backend_id, domain, since),
        )
        return self.env.cr.dictfetchall()
