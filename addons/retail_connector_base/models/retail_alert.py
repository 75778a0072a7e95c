# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Alert rules over the pipeline's own records: one open alert per rule until it clears.

A rule measures one thing for a backend (or every backend) and a domain (or all), compares it
with its threshold at each evaluation (a cron, every minute), opens an alert with the observed
and the allowed value when it is breached, notifies by activity, email and a Discuss channel,
and resolves the alert by itself when the measure is back within the threshold. While an alert
is open the rule stays quiet: no storm of repeated alerts.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models

from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

METRICS = [
    ("backlog", "Backlog: events waiting"),
    ("failure_rate", "Failure rate (%) of events in the window"),
    ("latency_p95", "Processing latency p95 (s) in the window"),
    ("drift", "Reconciliation differences in the window"),
    ("degraded", "Backend degraded"),
    ("silence", "Silence: minutes without an event"),
]
FAILED_STATES = ("failed", "dead")


class RetailAlertRule(models.Model):
    _name = "retail.alert.rule"
    _inherit = ["retail.audited"]
    _description = "Retail Connector alert rule"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    backend_id = fields.Many2one("retail.backend", ondelete="cascade", help="Empty: every backend, each on its own.")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    domain = fields.Selection(DOMAINS, help="Empty: every domain.")
    metric = fields.Selection(METRICS, required=True)
    threshold = fields.Float(required=True, help="The alert opens when the measure is above this value.")
    window_minutes = fields.Integer(default=15, help="How far back rates, latencies and differences are measured.")
    notify_user_id = fields.Many2one("res.users", string="Responsible", help="Gets an activity (and an email).")
    notify_email = fields.Boolean(string="Email the responsible", default=True)
    channel_id = fields.Many2one("discuss.channel", string="Discuss channel", help="Posts the alert there too.")
    alert_ids = fields.One2many("retail.alert", "rule_id")
    open_alert_count = fields.Integer(compute="_compute_open_alert_count")

    def _compute_open_alert_count(self):
        for rule in self:
            rule.open_alert_count = len(rule.alert_ids.filtered(lambda a: a.state == "open"))

    # ------------------------------------------------------------------ measures
    def _measure(self, backend):
        """Return the rule's measure for one backend now."""
        self.ensure_one()
        now = fields.Datetime.now()
        since = now - timedelta(minutes=self.window_minutes or 15)
        Event = self.env["retail.event"].sudo()
        scope = [("backend_id", "=", backend.id)] + ([("domain", "=", self.domain)] if self.domain else [])
        if self.metric == "backlog":
            return Event.search_count(scope + [("state", "in", ("received", "queued", "processing"))])
        if self.metric == "failure_rate":
            recent = scope + [("received_at", ">=", since)]
            total = Event.search_count(recent)
            failed = Event.search_count(recent + [("state", "in", FAILED_STATES)])
            return round(100.0 * failed / total, 1) if total else 0.0
        if self.metric == "latency_p95":
            self.env.cr.execute(
                """
                SELECT percentile_cont(0.95) WITHIN GROUP (
                    ORDER BY GREATEST(EXTRACT(EPOCH FROM processed_at - received_at), 0))
                FROM retail_event
                WHERE backend_id = %s AND processed_at >= %s AND (%s::varchar IS NULL OR domain = %s)
                """,
                (backend.id, since, self.domain or None, self.domain or None),
            )
            value = self.env.cr.fetchone()[0]
            return round(float(value), 1) if value is not None else 0.0
        if self.metric == "drift":
            runs = self.env["retail.reconciliation.run"].sudo().search(
                [("backend_id", "=", backend.id), ("started_at", ">=", since)]
                + ([("domain", "=", self.domain)] if self.domain else []))
            return sum(runs.mapped("difference_count"))
        if self.metric == "degraded":
            return 1.0 if backend.state == "degraded" else 0.0
        if self.metric == "silence":
            last = Event.search(scope, order="received_at desc", limit=1).received_at
            reference = last or backend.create_date
            return round((now - reference).total_seconds() / 60.0, 1)
        return 0.0

    def _breached(self, value):
        """Return whether the measure is past the rule's threshold."""
        self.ensure_one()
        return value > self.threshold

    def _alert_message(self, backend, value):
        """Return (message, extra values of the alert) for an alert opened at this measure."""
        self.ensure_one()
        labels = dict(self._fields["metric"]._description_selection(self.env))
        message = self.env._(
            "%(rule)s on %(backend)s: %(metric)s is %(value)s, above %(threshold)s.",
            rule=self.name, backend=backend.name, metric=labels[self.metric], value=value, threshold=self.threshold,
        )
        return message, {}

    def _backends(self):
        self.ensure_one()
        if self.backend_id:
            return self.backend_id.filtered("active")
        return self.env["retail.backend"].sudo().search(
            [("active", "=", True), ("company_id", "=", (self.company_id or self.env.company).id)])

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self):
        """Open, keep or resolve the alerts of these rules; return the alerts opened."""
        Alert = self.env["retail.alert"].sudo()
        opened = Alert
        for rule in self:
            for backend in rule._backends():
                value = rule._measure(backend)
                current = Alert.search([("rule_id", "=", rule.id), ("backend_id", "=", backend.id),
                                        ("state", "=", "open")], limit=1)
                breached = rule._breached(value)
                if breached and not current:
                    opened |= Alert._open(rule, backend, value)
                elif breached:
                    current.write({"last_value": value, "last_seen_at": fields.Datetime.now()})
                elif current:
                    current._resolve(value)
        return opened

    @api.model
    def _cron_evaluate(self):
        return self.search([])._evaluate()

    def action_evaluate_now(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self._evaluate()
        return True


class RetailAlert(models.Model):
    _name = "retail.alert"
    _description = "Retail Connector alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state, opened_at desc"

    name = fields.Char(required=True)
    rule_id = fields.Many2one("retail.alert.rule", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    metric = fields.Selection(related="rule_id.metric", store=True)
    state = fields.Selection([("open", "Open"), ("resolved", "Resolved")], default="open", required=True,
                             tracking=True, index=True)
    opened_at = fields.Datetime(default=fields.Datetime.now, required=True)
    resolved_at = fields.Datetime()
    threshold = fields.Float(string="Allowed", readonly=True)
    observed_value = fields.Float(string="Observed", readonly=True, help="The measure when the alert opened.")
    last_value = fields.Float(readonly=True)
    last_seen_at = fields.Datetime(readonly=True)

    _one_open_per_rule = models.UniqueIndex(
        "(rule_id, backend_id) WHERE state = 'open'", "A rule has one open alert per backend."
    )

    @api.model
    def _open(self, rule, backend, value):
        message, extra = rule._alert_message(backend, value)
        alert = self.create(dict({
            "name": message, "rule_id": rule.id, "backend_id": backend.id, "threshold": rule.threshold,
            "observed_value": value, "last_value": value, "last_seen_at": fields.Datetime.now(),
        }, **extra))
        user = rule.notify_user_id or backend.responsible_user_id
        if user:
            alert.activity_schedule("mail.mail_activity_data_warning", summary=self.env._("Retail alert"),
                                    note=message, user_id=user.id)
            if rule.notify_email and user.partner_id.email:
                alert.message_post(body=message, partner_ids=user.partner_id.ids,
                                   subtype_xmlid="mail.mt_comment", message_type="comment")
        if rule.channel_id:
            rule.channel_id.message_post(body=message, message_type="comment", subtype_xmlid="mail.mt_comment")
        _logger.warning("Retail alert opened: %s", message)
        return alert

    def _resolve(self, value):
        for alert in self:
            alert.write({"state": "resolved", "resolved_at": fields.Datetime.now(), "last_value": value})
            alert.activity_ids.action_feedback(feedback=self.env._("Back within the threshold (%(v)s).", v=value))
            if alert.rule_id.channel_id:
                alert.rule_id.channel_id.message_post(
                    body=self.env._("Resolved: %(name)s (now %(v)s).", name=alert.name, v=value),
                    message_type="comment", subtype_xmlid="mail.mt_comment")
