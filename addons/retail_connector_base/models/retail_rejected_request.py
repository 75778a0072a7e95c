# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib

from odoo import fields, models


def _storable(value):
    """Return ``value`` as text PostgreSQL stores: no NUL, no unpaired surrogate."""
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class RetailRejectedRequest(models.Model):
    """A request the inbound gateway refused: who sent what, and why (for audit and support).

    Repeated identical refusals (same backend, source, path, answer and reason, the same day)
    are one row with a count, first and last seen: a flood of refused requests never grows the
    table by a row each. Rows go with the retention delay.
    """

    _name = "retail.rejected.request"
    _description = "Retail Connector rejected request"
    _order = "last_seen desc, id desc"

    backend_id = fields.Many2one("retail.backend", ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    received_at = fields.Datetime(string="First seen", required=True, default=fields.Datetime.now, index=True)
    last_seen = fields.Datetime(default=fields.Datetime.now, index=True)
    count = fields.Integer(string="Times", default=1, help="Identical refusals counted in this row.")
    dedup_key = fields.Char(readonly=True, copy=False)
    path = fields.Char()
    remote_addr = fields.Char(string="From")
    status = fields.Integer(string="Answered")
    code = fields.Char(index=True)
    reason = fields.Text()
    topic = fields.Char()
    # bytes announced, which may be far above what an integer column holds (the body is not read then)
    content_length = fields.Float(digits=(20, 0))
    body_digest = fields.Char(string="Body SHA-256")
    body = fields.Text(help="Kept only when the setting to keep rejected bodies is on.")
    headers = fields.Text(help="Request headers, without credentials or signatures.")
    correlation_id = fields.Char(index=True)

    _dedup_key_uniq = models.Constraint("UNIQUE(dedup_key)", "One row per kind of refusal and day.")

    def _record(self, vals, signature=""):
        """Record a refusal, or count it on the row of the same refusal today; return the row id.

        One statement, safe when the same refusal arrives on several workers at once.
        """
        vals = {k: _storable(v) for k, v in vals.items()}
        identity = "|".join(str(vals.get(k) or "") for k in ("backend_id", "remote_addr", "path", "status", "code", "topic"))
        self.env.cr.execute("SELECT to_char(now() at time zone 'UTC', 'YYYY-MM-DD')")
        day = self.env.cr.fetchone()[0]
        dedup = hashlib.sha256(("%s|%s|%s" % (identity, _storable(signature), day)).encode()).hexdigest()
        company_id = None
        if vals.get("backend_id"):
            self.env.cr.execute("SELECT company_id FROM retail_backend WHERE id = %s", (vals["backend_id"],))
            row = self.env.cr.fetchone()
            company_id = row and row[0]
        self.env.cr.execute(
            """
            INSERT INTO retail_rejected_request AS r (dedup_key, backend_id, company_id, received_at, last_seen, count,
                path, remote_addr, status, code, reason, topic, content_length, body_digest, body, headers,
                correlation_id, create_uid, write_uid, create_date, write_date)
            VALUES (%(dedup)s, %(backend_id)s, %(company_id)s, now() at time zone 'UTC', now() at time zone 'UTC', 1,
                %(path)s, %(remote_addr)s, %(status)s, %(code)s, %(reason)s, %(topic)s, %(content_length)s,
                %(body_digest)s, %(body)s, %(headers)s, %(correlation_id)s, %(uid)s, %(uid)s,
                now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (dedup_key) DO UPDATE SET
                count = r.count + 1, last_seen = EXCLUDED.last_seen, reason = EXCLUDED.reason,
                content_length = EXCLUDED.content_length, body_digest = EXCLUDED.body_digest,
                body = EXCLUDED.body, headers = EXCLUDED.headers, correlation_id = EXCLUDED.correlation_id,
                write_date = EXCLUDED.write_date
            RETURNING id
            """,
            dict({k: vals.get(k) for k in ("backend_id", "path", "remote_addr", "status", "code", "reason", "topic",
                                            "content_length", "body_digest", "body", "headers", "correlation_id")},
                 dedup=dedup, company_id=company_id, uid=self.env.uid),
        )
        return self.env.cr.fetchone()[0]
