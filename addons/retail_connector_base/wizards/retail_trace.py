# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Follow one correlation id: the request, its events, the jobs, the exports and the records it touched.

The gateway gives every request a correlation id (answered in ``X-Correlation-Id``, or taken
from the caller's); the events it stored carry it, processing runs with it, the exports that
processing caused carry it, and the records it created or changed say it in their chatter.
"""

from odoo import api, fields, models

from ..models.retail_access import check_retail_access


class RetailTrace(models.TransientModel):
    _name = "retail.trace"
    _description = "Retail Connector trace"

    correlation_id = fields.Char(required=True)
    event_ids = fields.Many2many("retail.event", compute="_compute_trace", string="Events")
    export_ids = fields.Many2many("retail.export.request", compute="_compute_trace", string="Exports")
    rejected_ids = fields.Many2many("retail.rejected.request", compute="_compute_trace", string="Refused requests")
    job_ids = fields.Many2many("queue.job", compute="_compute_trace", string="Jobs")
    message_ids = fields.Many2many("mail.message", compute="_compute_trace", string="Records changed")

    @api.depends("correlation_id")
    def _compute_trace(self):
        for trace in self:
            cid = (trace.correlation_id or "").strip()
            if not cid:
                trace.update({"event_ids": False, "export_ids": False, "rejected_ids": False, "job_ids": False,
                              "message_ids": False})
                continue
            events = self.env["retail.event"].search([("correlation_id", "=", cid)])
            trace.event_ids = events
            trace.export_ids = self.env["retail.export.request"].search([("correlation_id", "=", cid)])
            trace.rejected_ids = self.env["retail.rejected.request"].search([("correlation_id", "=", cid)])
            # the dispatcher job that applied each event is recorded on it
            trace.job_ids = self.env["queue.job"].sudo().search([("uuid", "in", [u for u in events.mapped("job_uuid") if u])])
            trace.message_ids = self.env["mail.message"].search([("body", "ilike", cid)], limit=200)

    def action_trace(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "current"}
