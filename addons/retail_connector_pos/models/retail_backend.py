# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

SQUARE_API_VERSION = "2025-10-16"


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    backend_type = fields.Selection(
        selection_add=[("square", "Store POS (Square API)")],
        ondelete={"square": "cascade"},
    )

    pos_store_ids = fields.One2many("retail.pos.store", "backend_id", string="Stores")
    pos_tender_ids = fields.One2many("retail.pos.tender", "backend_id", string="Tenders")
    webhook_notification_url = fields.Char(
        help="The notification URL of the POS webhook subscription, when it differs from the URL Odoo receives "
        "(behind a proxy). Square signs it with the body."
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("backend_type") == "square" and not vals.get("api_version"):
                vals["api_version"] = SQUARE_API_VERSION
        return super().create(vals_list)

    def _default_policy_values(self):
        """Store sales in real time with an end-of-day batch; takings settle at the store's close."""
        values = super()._default_policy_values()
        if self.backend_type != "square":
            return values
        P = self.env["retail.sync.policy"]
        return [
            dict(P._policy_vals("orders", "realtime", "inbound", "channel", 1, "days"), cutoff_hour=23.0),
            P._policy_vals("customers", "realtime", "inbound", "channel", 1, "days"),
            P._policy_vals("inventory", "event", "both", "odoo", 1, "hours"),
            P._policy_vals("catalog", "batch", "outbound", "odoo", 1, "days"),
            P._policy_vals("pricing", "batch", "outbound", "odoo", 1, "days"),
            P._policy_vals("returns", "realtime", "inbound", "channel", 1, "days"),
            dict(P._policy_vals("finance", "batch", "inbound", "channel", 1, "days"), cutoff_hour=23.5),
            P._policy_vals("fulfilment", "off", "outbound", "odoo", 1, "days"),
        ]
