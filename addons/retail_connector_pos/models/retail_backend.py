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

    def _readiness_required_fields(self):
        if self.backend_type == "square":
            return [("endpoint_url", self.env._("API URL")), ("api_secret", self.env._("Access token"))]
        return super()._readiness_required_fields()

    def _default_webhook_max_age_hours(self):
        # Square retries an unacknowledged notification for 24 hours after the event: one hour of margin.
        if self.backend_type == "square":
            return 25
        return super()._default_webhook_max_age_hours()

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

    # ------------------------------------------------------------------ Square
    def _square_skus_of_variations(self, variation_ids):
        """Return {Square variation id: SKU} for the variations bound to Odoo products."""
        self.ensure_one()
        bindings = self.env["retail.product.binding"].with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("external_id", "in", [v for v in variation_ids if v])])
        return {b.external_id: b.odoo_id.default_code for b in bindings}

    def _square_skus(self, order):
        """Return {variation id: SKU} for the line items of a Square order (sale or return)."""
        ids = [item.get("catalog_object_id") for item in order.get("line_items") or []]
        for ret in order.get("returns") or []:
            ids += [item.get("catalog_object_id") for item in ret.get("return_line_items") or []]
        return self._square_skus_of_variations(ids)
