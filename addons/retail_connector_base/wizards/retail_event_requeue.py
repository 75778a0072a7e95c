# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

from ..models.retail_access import GROUP_MANAGER, check_retail_access


class RetailEventRequeue(models.TransientModel):
    """Replays the dead and failed events of a backend, a topic or an error class, in bulk."""

    _name = "retail.event.requeue"
    _description = "Requeue failed events"

    backend_id = fields.Many2one("retail.backend")
    topic = fields.Char()
    error_kind = fields.Char(string="Error class")
    count = fields.Integer(string="Events to replay", compute="_compute_count")

    def _domain(self):
        domain = [("state", "in", ("dead", "failed"))]
        if self.backend_id:
            domain.append(("backend_id", "=", self.backend_id.id))
        if self.topic:
            domain.append(("topic", "=", self.topic))
        if self.error_kind:
            domain.append(("error_kind", "=", self.error_kind))
        return domain

    @api.depends("backend_id", "topic", "error_kind")
    def _compute_count(self):
        for wizard in self:
            wizard.count = self.env["retail.event"].search_count(wizard._domain())

    def action_requeue(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        count = self.env["retail.event"]._requeue_dead(backend=self.backend_id, topic=self.topic, error_kind=self.error_kind)
        if self.backend_id:
            self.env["retail.audit.log"]._log(self.backend_id, "requeue", {self.backend_id.id: "%s dead event(s) requeued "
                                              "(topic %s, error %s)" % (count, self.topic or "any", self.error_kind or "any")})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Events requeued"),
                "message": self.env._("%(count)s events were queued again.", count=count),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
