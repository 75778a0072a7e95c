# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailSaleOrderBinding(models.Model):
    """Sale order known to a retail backend."""

    _name = "retail.sale.order.binding"
    _inherit = "retail.binding"
    _inherits = {"sale.order": "odoo_id"}
    _description = "Retail Sale Order Binding"

    odoo_id = fields.Many2one("sale.order", string="Odoo sale order", required=True, ondelete="cascade", index=True)

    channel_order_name = fields.Char(help="The order's reference as the customer sees it on the channel.")
    channel_payment_state = fields.Char(string="Channel payment state")
    channel_payment_gateway = fields.Char(string="Payment gateway")
    channel_status = fields.Char()
    channel_values = fields.Json(
        readonly=True, copy=False,
        help="What the channel last said of what it may still change after confirmation (note, tags, "
        "customer contact, delivery address, lines): an update applies only what the channel changed since.",
    )


class SaleOrder(models.Model):
    _inherit = "sale.order"

    retail_bind_ids = fields.One2many(
        "retail.sale.order.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )
