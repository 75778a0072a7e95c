# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from odoo.addons.retail_connector_base.models.retail_access import GROUP_MANAGER, check_retail_access

from ..lib.shopify.ids import numeric_id
from ..lib.stripe.client import DEFAULT_API_BASE as STRIPE_API_BASE

SHOPIFY_API_VERSION = "2025-10"
WOOCOMMERCE_API_VERSION = "wc/v3"


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    backend_type = fields.Selection(
        selection_add=[("shopify", "Shopify (Admin GraphQL API)"), ("woocommerce", "WooCommerce (REST API v3)"),
                       ("stripe", "Stripe (payments)")],
        ondelete={"shopify": "cascade", "woocommerce": "cascade", "stripe": "cascade"},
    )

    order_import_rule = fields.Selection(
        [("always", "Every order"), ("authorized", "Authorised or paid orders"), ("paid", "Paid orders only")],
        default="always",
        required=True,
        help="Orders that do not pass wait: their payment webhook, or the orders reconciliation, imports them later.",
    )

    def _readiness_required_fields(self):
        """A shop needs its URL and API credentials; Stripe only its secret key (its URL has a default)."""
        if self.backend_type == "shopify":
            return [("endpoint_url", self.env._("Shop URL")), ("api_secret", self.env._("Admin API access token"))]
        if self.backend_type == "woocommerce":
            return [("endpoint_url", self.env._("Shop URL")), ("api_key", self.env._("Consumer key")),
                    ("api_secret", self.env._("Consumer secret"))]
        if self.backend_type == "stripe":
            return [("api_secret", self.env._("Secret key"))]
        return super()._readiness_required_fields()

    def _default_webhook_max_age_hours(self):
        # Shopify retries a failed delivery 8 times over 4 hours, and warns that deliveries can in
        # rare cases arrive up to a day late. WooCommerce sends no delivery time to check.
        if self.backend_type == "shopify":
            return 24
        return super()._default_webhook_max_age_hours()

    def _import_rule_allows(self, order):
        """Return whether a canonical order's payment state passes the backend's import rule."""
        self.ensure_one()
        if self.order_import_rule == "paid":
            return order.payment_state in ("paid", "partially_refunded", "refunded")
        if self.order_import_rule == "authorized":
            return order.payment_state in ("authorized", "paid", "partially_paid", "partially_refunded", "refunded")
        return True

    def action_woo_ensure_webhooks(self):
        """Create, update or re-enable the shop's order webhooks and say what was done."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        result = self._channel_client().ensure_webhooks(self.webhook_endpoint, self.sudo().webhook_secret,
                                                        ["order.created", "order.updated", "order.deleted",
                                                         "customer.created", "customer.updated"])
        message = "; ".join("%s: %s" % (k, ", ".join(v) or "none") for k, v in result.items())
        self.message_post(body=self.env._("WooCommerce webhooks: %(result)s", result=message))
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("WooCommerce webhooks"), "message": message, "type": "success"}}

    def _shopify_locations(self):
        """Return [(Shopify location id, Odoo locations)]; maps the shop's first location by default."""
        self.ensure_one()
        if not self.location_map_ids:
            shop_locations = [loc for loc in self._channel_client().locations() if loc.get("isActive", True)]
            if not shop_locations:
                raise UserError(self.env._("The shop has no active location to receive stock levels."))
            first = shop_locations[0]
            with self.work_on(self._name) as work:
                sell_locations = work.component(usage="availability").sell_locations()
            try:
                with self.env.cr.savepoint():
                    self.env["retail.location.map"].create({
                        "backend_id": self.id,
                        "external_id": numeric_id(first["id"]),
                        "name": first.get("name"),
                        "location_ids": [(6, 0, sell_locations.ids)],
                    })
            except psycopg2.errors.UniqueViolation:
                # another job (a flush, a reconciliation, on this server or another) mapped it first: this
                # transaction cannot see that mapping; the job runs again on a fresh one, no try counted
                raise RetryableJobError("The location of %s was just mapped by another job" % self.name, seconds=1,
                                        ignore_retry=True) from None
        return [(m.external_id, m.location_ids) for m in self.location_map_ids]

    def action_shopify_ensure_webhooks(self):
        """Create the webhook subscriptions the shop lacks and say what was done."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        result = self._channel_client().ensure_webhooks(self.webhook_endpoint, ["orders/create", "orders/updated",
                                                                                "orders/paid", "orders/cancelled",
                                                                                "refunds/create", "customers/create",
                                                                                "customers/update"])
        message = self.env._("Webhooks created: %(created)s; already there: %(existing)s.",
                             created=", ".join(result["created"]) or "none", existing=", ".join(result["existing"]) or "none")
        self.message_post(body=message)
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Shopify webhooks"), "message": message, "type": "success"}}

    @api.onchange("backend_type")
    def _onchange_backend_type_marketplace(self):
        if self.backend_type == "shopify":
            self.api_version = SHOPIFY_API_VERSION
        elif self.backend_type == "woocommerce":
            self.api_version = WOOCOMMERCE_API_VERSION
        elif self.backend_type == "stripe" and not self.endpoint_url:
            self.endpoint_url = STRIPE_API_BASE

    @api.model_create_multi
    def create(self, vals_list):
        defaults = {"shopify": SHOPIFY_API_VERSION, "woocommerce": WOOCOMMERCE_API_VERSION}
        for vals in vals_list:
            if vals.get("backend_type") in defaults and not vals.get("api_version"):
                vals["api_version"] = defaults[vals["backend_type"]]
            if vals.get("backend_type") == "stripe" and not vals.get("endpoint_url"):
                vals["endpoint_url"] = STRIPE_API_BASE
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
        elif self.backend_type == "stripe":
            # a payment provider settles the storefront's orders: payouts only, applied as their webhooks announce
            # them, and fetched daily after the cut-off by the policy's run
            for vals in values:
                if vals["domain"] != "finance":
                    vals["mode"] = "off"
                else:
                    vals["mode"] = "event"
        return values
