# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailRejectedRequest(models.Model):
    """A request the inbound gateway refused: who sent what, and why (for audit and support)."""

    _name = "retail.rejected.request"
    _description = "Retail Connector rejected request"
    _order = "id desc"

    backend_id = fields.Many2one("retail.backend", ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    received_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    path = fields.Char()
    remote_addr = fields.Char(string="From")
    status = fields.Integer(string="Answered")
    code = fields.Char(index=True)
    reason = fields.Text()
    topic = fields.Char()
    content_length = fields.Integer()
    body_digest = fields.Char(string="Body SHA-256")
    body = fields.Text(help="Kept only when the setting to keep rejected bodies is on.")
    headers = fields.Text(help="Request headers, without credentials or signatures.")
    correlation_id = fields.Char(index=True)
