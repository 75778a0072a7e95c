# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailPickingBinding(models.Model):
    """Transfer known to a retail backend."""

    _name = "retail.picking.binding"
    _inherit = "retail.binding"
    _inherits = {"stock.picking": "odoo_id"}
    _description = "Retail Transfer Binding"

    odoo_id = fields.Many2one("stock.picking", string="Odoo transfer", required=True, ondelete="cascade", index=True)
    warehouse_status = fields.Selection(
        [("released", "Released"), ("partial", "Partially shipped"), ("shipped", "Shipped"),
         ("received", "Received"), ("cancelled", "Cancelled"), ("exception", "Exception")],
        help="Where the transfer stands at the warehouse that executes it.",
    )
    applied_shipments = fields.Text(
        readonly=True, help="The warehouse's confirmations already applied (JSON list of their ids)."
    )


class StockPicking(models.Model):
    _inherit = "stock.picking"

    retail_bind_ids = fields.One2many(
        "retail.picking.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )

    def message_post_with_source(self, source_ref, **kwargs):
        # A delivery of a channel's order names the order in its source document: the note that
        # repeats it ("created from ...") is left out while the connector confirms orders, one
        # rendered message per picking spared.
        if self.env.context.get("retail_quiet_pickings") and source_ref == "mail.message_origin_link":
            return self.env["mail.message"]
        return super().message_post_with_source(source_ref, **kwargs)

    def _retail_shipment(self):
        """Return what this delivery shipped: {"carrier", "tracking_numbers", "quantities": {product: units}}.

        Units of its done moves only; the carrier and tracking numbers come with the delivery
        carriers module, when installed (several numbers separated by commas or semicolons).
        """
        self.ensure_one()
        quantities = {}
        for move in self.move_ids.filtered(lambda m: m.state == "done" and m.quantity):
            quantities[move.product_id] = quantities.get(move.product_id, 0) + int(move.quantity)
        carrier = self.carrier_id.name if "carrier_id" in self._fields and self.carrier_id else None
        refs = (self.carrier_tracking_ref or "") if "carrier_tracking_ref" in self._fields else ""
        return {
            "carrier": carrier,
            "tracking_numbers": [ref.strip() for ref in refs.replace(";", ",").split(",") if ref.strip()],
            "quantities": quantities,
        }
