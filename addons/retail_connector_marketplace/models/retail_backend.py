# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

SHOPIFY_API_VERSION = "2025-10"
WOOCOMMERCE_API_VERSION = "wc/v3"


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    backend_type = fields.Selection(
        selection_add=[("shopify", "Shopify (Admin GraphQL API)"), ("woocommerce", "WooCommerce (REST API v3)")],
        ondelete={"shopify": "cascade", "woocommerce": "cascade"},
    )

    @api.onchange("backend_type")
    def _onchange_backend_type_marketplace(self):
        if self.backend_type == "shopify":
            self.api_version = SHOPIFY_API_VERSION
        elif self.backend_type == "woocommerce":
            self.api_version = WOOCOMMERCE_API_VERSION

    @api.model_create_multi
    def create(self, vals_list):
        defaults = {"shopify": SHOPIFY_API_VERSION, "woocommerce": WOOCOMMERCE_API_VERSION}
        for vals in vals_list:
            if vals.get("backend_type") in defaults and not vals.get("api_version"):
                vals["api_version"] = defaults[vals["backend_type"]]
        return super().create(vals_list)

    def _default_policy_values(self):
        values = super()._default_policy_values()
        if self.backend_type in ("shopify", "woocommerce"):
            for vals in values:
                if vals["domain"] == "orders":
                    # webhooks in real time, polling by update time as the reconciliation
                    vals.update(interval_number=10, interval_type="minutes")
                elif vals["domain"] == "inventory":
                    vals.update(interval_number=30, interval_type="minutes")
        return values
