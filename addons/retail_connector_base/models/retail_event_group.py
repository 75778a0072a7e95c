# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The exception workbench: failed and dead events grouped by backend, error class and message.

Events failing for the same reason share an error signature (their message with ids and values
blanked), so a hundred orders refused for one missing mapping are one line with a count. Lines
carry the failure class and the cluster of similar messages they belong to, with the class's
suggested fix. A group is retried, ignored or assigned as a whole; one event is still edited and
replayed on its own form.
"""

from odoo import api, fields, models, tools

from ..lib.intelligence.classify import CLASS_SELECTION, CLASSES
from .retail_access import GROUP_MANAGER, check_retail_access

ATTENTION_STATES = ("failed", "dead")


class RetailEventGroup(models.Model):
    _name = "retail.event.group"
    _description = "Retail Connector failures by cause"
    _auto = False
    _order = "event_count desc, last_seen desc"

    source = fields.Selection([("event", "Inbound events"), ("export", "Exports")], readonly=True)
    backend_id = fields.Many2one("retail.backend", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    domain = fields.Char(readonly=True)
    error_kind = fields.Char(string="Error class", readonly=True)
    error_signature = fields.Char(string="Message", readonly=True)
    failure_class = fields.Selection(CLASS_SELECTION, string="Failure class", readonly=True)
    failure_cluster = fields.Char(string="Similar messages", readonly=True)
    failure_fix = fields.Text(string="Suggested fix", compute="_compute_failure_fix")
    event_count = fields.Integer(string="Events", readonly=True)
    dead_count = fields.Integer(string="Dead", readonly=True)
    first_seen = fields.Datetime(readonly=True)
    last_seen = fields.Datetime(readonly=True)
    assigned_user_id = fields.Many2one("res.users", string="Assigned to", readonly=True)

    @api.private
    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            """
            CREATE VIEW retail_event_group AS (
                -- a stable id: the same cause keeps its line while its events change
                SELECT (hashtextextended(concat_ws('|', source, backend_id, domain, error_kind, error_signature,
                                                   failure_class, failure_cluster), 0)
                        & 2147483647)::integer AS id, *
                FROM (
                    -- an event's company is its backend's
                    SELECT 'event' AS source, e.backend_id, b.company_id, e.domain,
                           COALESCE(e.error_kind, '') AS error_kind, COALESCE(e.error_signature, '') AS error_signature,
                           e.failure_class, e.failure_cluster,
                           COUNT(*) AS event_count, COUNT(*) FILTER (WHERE e.state = 'dead') AS dead_count,
                           MIN(e.received_at) AS first_seen, MAX(e.received_at) AS last_seen,
                           MAX(e.assigned_user_id) AS assigned_user_id
                    FROM retail_event e
                    JOIN retail_backend b ON b.id = e.backend_id
                    WHERE e.state IN %s
                    GROUP BY e.backend_id, b.company_id, e.domain, COALESCE(e.error_kind, ''),
                             COALESCE(e.error_signature, ''), e.failure_class, e.failure_cluster
                    UNION ALL
                    SELECT 'export' AS source, backend_id, company_id, domain, 'export' AS error_kind,
                           COALESCE(error_signature, '') AS error_signature, failure_class, failure_cluster,
                           COUNT(*) AS event_count, 0 AS dead_count,
                           MIN(requested_at) AS first_seen, MAX(requested_at) AS last_seen,
                           NULL::integer AS assigned_user_id
                    FROM retail_export_request
                    WHERE state = 'failed'
                    GROUP BY backend_id, company_id, domain, COALESCE(error_signature, ''), failure_class, failure_cluster
                ) AS causes
            )
            """,
            (ATTENTION_STATES,),
        )

    @api.model
    def _search(self, domain, *args, **kwargs):
        # the view reads retail_event's table: pending writes of events must be in it first
        self.env["retail.event"].flush_model()
        self.env["retail.export.request"].flush_model()
        return super()._search(domain, *args, **kwargs)

    @api.depends("failure_class")
    def _compute_failure_fix(self):
        for group in self:
            group.failure_fix = CLASSES[group.failure_class].fix if group.failure_class else False

    def _exports(self):
        Export = self.env["retail.export.request"]
        exports = Export.browse()
        for group in self.filtered(lambda g: g.source == "export"):
            exports |= Export.search([("backend_id", "=", group.backend_id.id), ("domain", "=", group.domain),
                                      ("state", "=", "failed"), ("error_signature", "=", group.error_signature or False),
                                      ("failure_class", "=", group.failure_class or False),
                                      ("failure_cluster", "=", group.failure_cluster or False)])
        return exports

    def _events(self):
        Event = self.env["retail.event"]
        events = Event.browse()
        for group in self.filtered(lambda g: g.source == "event"):
            events |= Event.search([
                ("backend_id", "=", group.backend_id.id), ("domain", "=", group.domain),
                ("state", "in", ATTENTION_STATES),
                ("error_kind", "=", group.error_kind or False), ("error_signature", "=", group.error_signature or False),
                ("failure_class", "=", group.failure_class or False),
                ("failure_cluster", "=", group.failure_cluster or False),
            ])
        return events

    def action_retry(self):
        """Apply every event of the groups again and send every export again (after the cause was fixed)."""
        check_retail_access(self, "read", GROUP_MANAGER)
        # read both before acting: a group is gone once its records no longer fail
        events, exports = self._events(), self._exports()
        events.action_replay()
        exports.write({"state": "pending", "last_error": False})
        for backend in exports.backend_id:
            for domain in set(exports.filtered(lambda r, b=backend: r.backend_id == b).mapped("domain")):
                self.env["retail.export.request"]._schedule_flush(backend, domain)
        return True

    def action_ignore(self):
        check_retail_access(self, "read", GROUP_MANAGER)
        events, exports = self._events(), self._exports()
        events.action_ignore()
        exports.write({"state": "cancelled"})
        return True

    def action_assign_to_me(self):
        check_retail_access(self, "read", GROUP_MANAGER)
        self._events().write({"assigned_user_id": self.env.uid})
        return True

    def action_open_events(self):
        check_retail_access(self, "read")
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_event")
        action["domain"] = [("id", "in", self._events().ids)]
        action["context"] = {}
        return action
