# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

from ..components.errors import RetailMappingError


class RetailWarehouseRoute(models.Model):
    """Which warehouse backend (a 3PL) executes the transfers of an Odoo warehouse.

    A transfer goes to the first route of its warehouse, by sequence, whose optional conditions
    all hold: every product in one of the route's categories, the destination in one of its
    countries, the transfer of one of its kinds. A warehouse with routes but none matching is
    an exception a person fixes; a warehouse without routes is run in Odoo.
    """

    _name = "retail.warehouse.route"
    _inherit = ["retail.audited"]
    _description = "Retail Connector warehouse route"
    _order = "warehouse_id, sequence, id"

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one(
        "retail.backend", string="Warehouse backend", required=True, ondelete="cascade", index=True,
        domain="[('is_warehouse', '=', True)]",
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    warehouse_id = fields.Many2one("stock.warehouse", required=True, ondelete="cascade", index=True)
    picking_kinds = fields.Selection(
        [("all", "Deliveries and receipts"), ("outgoing", "Deliveries"), ("incoming", "Receipts and returns")],
        string="Transfers", default="all", required=True,
    )
    categ_ids = fields.Many2many("product.category", string="Product categories",
                                 help="Only when every product of the transfer is in one of these categories.")
    country_ids = fields.Many2many("res.country", string="Destination countries",
                                   help="Only deliveries to these countries.")
    active = fields.Boolean(default=True)

    def _matches(self, picking):
        self.ensure_one()
        code = picking.picking_type_code
        if self.picking_kinds != "all" and self.picking_kinds != code:
            return False
        if self.categ_ids:
            allowed = self.env["product.category"].search([("id", "child_of", self.categ_ids.ids)])
            if any(product.categ_id not in allowed for product in picking.move_ids.product_id):
                return False
        if self.country_ids and code == "outgoing":
            if picking.partner_id.country_id not in self.country_ids:
                return False
        return True

    @api.model
    def _route(self, picking):
        """Return the warehouse backend of a transfer, or an empty recordset when its warehouse is run in Odoo.

        Raises RetailMappingError naming the transfer when its warehouse has routes but none fits.
        """
        warehouse = picking.picking_type_id.warehouse_id
        if not warehouse or picking.picking_type_code not in ("outgoing", "incoming"):
            return self.env["retail.backend"]
        routes = self.sudo().search([("warehouse_id", "=", warehouse.id), ("backend_id.active", "=", True)])
        if not routes:
            return self.env["retail.backend"]
        for route in routes:
            if route._matches(picking):
                return route.backend_id
        raise RetailMappingError(
            self.env._(
                "No warehouse route of %(warehouse)s fits transfer %(picking)s (products in %(categories)s, "
                "to %(country)s): add or widen a route in Retail Connector > Configuration > Warehouse routes.",
                warehouse=warehouse.name,
                picking=picking.name,
                categories=", ".join(sorted(set(picking.move_ids.product_id.categ_id.mapped("complete_name")))) or "-",
                country=picking.partner_id.country_id.name or "-",
            ),
            kind="missing_mapping",
        )
