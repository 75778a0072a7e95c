# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailProductBinding(models.Model):
    """Product known to a retail backend."""

    _name = "retail.product.binding"
    _inherit = "retail.binding"
    _inherits = {"product.product": "odoo_id"}
    _description = "Retail Product Binding"

    odoo_id = fields.Many2one("product.product", string="Odoo product", required=True, ondelete="cascade", index=True)


class ProductProduct(models.Model):
    _inherit = "product.product"

    retail_bind_ids = fields.One2many(
        "retail.product.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )
