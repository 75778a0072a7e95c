# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailWarehouseBinding(models.Model):
    """Warehouse known to a retail backend."""

    _name = "retail.warehouse.binding"
    _inherit = "retail.binding"
    _inherits = {"stock.warehouse": "odoo_id"}
    _description = "Retail Warehouse Binding"

    odoo_id = fields.Many2one("stock.warehouse", string="Odoo warehouse", required=True, ondelete="cascade", index=True)


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    retail_bind_ids = fields.One2many(
        "retail.warehouse.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )
