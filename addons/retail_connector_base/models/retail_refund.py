# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import REFUND_ACTIONS


class RetailRefund(models.Model):
    """A refund made on a channel, and what Odoo did about it (credit note, return, review).

    One record per channel refund: a refund delivered twice (webhook and polling, or a
    repeated delivery) is recognised by its channel id and applied once.
    """

    _name = "retail.refund"
    _description = "Retail Channel Refund"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "refunded_at desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    external_id = fields.Char(string="Channel refund id", required=True, index=True)
    sale_order_id = fields.Many2one("sale.order", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one(related="sale_order_id.partner_id")
    refunded_at = fields.Datetime(string="Refunded on")
    currency_id = fields.Many2one("res.currency", required=True)
    amount = fields.Monetary(required=True)
    gateway = fields.Char(string="Payment gateway")
    reason = fields.Char()
    action = fields.Selection(REFUND_ACTIONS, required=True, help="What the backend's returns policy asked for.")
    state = fields.Selection(
        [("done", "Applied"), ("review", "To review")],
        required=True,
        default="done",
        tracking=True,
        help="To review: part of the refund could not be applied automatically; the message says what.",
    )
    message = fields.Text(help="What was done, and what is left for a person.")
    credit_note_id = fields.Many2one("account.move", string="Credit note", ondelete="set null", copy=False)
    return_picking_id = fields.Many2one("stock.picking", string="Return", ondelete="set null", copy=False)
    line_ids = fields.One2many("retail.refund.line", "refund_id", string="Lines")
    payload = fields.Text(help="The canonical refund as received.")

    _backend_external_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "A channel refund is recorded once per backend."
    )

    @api.depends("external_id", "sale_order_id.name")
    def _compute_name(self):
        for refund in self:
            refund.name = "%s / %s" % (refund.sale_order_id.name or "?", refund.external_id or "?")

    def action_done(self):
        """Mark a refund reviewed by a person."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.write({"state": "done"})


class RetailRefundLine(models.Model):
    _name = "retail.refund.line"
    _description = "Retail Channel Refund Line"

    refund_id = fields.Many2one("retail.refund", required=True, ondelete="cascade", index=True)
    sale_line_id = fields.Many2one("sale.order.line", ondelete="set null")
    product_id = fields.Many2one("product.product")
    sku = fields.Char(string="SKU")
    quantity = fields.Float(digits="Product Unit")
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one(related="refund_id.currency_id")
    restock = fields.Boolean(help="The channel put the goods back to stock: they come back to the warehouse.")
    returned_qty = fields.Float(string="Returned", digits="Product Unit", help="Quantity on the return picking.")
    removed_qty = fields.Float(
        string="Removed from delivery", digits="Product Unit",
        help="Quantity taken off the sale order before it shipped.",
    )


class SaleOrder(models.Model):
    _inherit = "sale.order"

    retail_refund_ids = fields.One2many(
        "retail.refund", "sale_order_id", string="Channel refunds", groups="retail_connector_base.group_retail_user"
    )
    retail_refund_count = fields.Integer(
        compute="_compute_retail_refund_count", groups="retail_connector_base.group_retail_user"
    )

    @api.depends("retail_refund_ids")
    def _compute_retail_refund_count(self):
        for order in self:
            order.retail_refund_count = len(order.retail_refund_ids)

    def action_view_retail_refunds(self):
        check_retail_access(self.env["retail.refund"], "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_refund")
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
