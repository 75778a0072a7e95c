# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a storefront's orders name (taxes, payment gateways, shipping methods, carriers), read for the
backend's readiness check: each channel's protocol in its lib, the shared reading here."""

from odoo.addons.component.core import AbstractComponent, Component
from odoo.addons.retail_connector_base.lib.http import ChannelError

from ..lib.shopify.settings import order_settings
from ..lib.woocommerce.settings import shop_settings


class StorefrontChannelSettings(AbstractComponent):
    """Reads a storefront's settings part by part: a part the channel refuses is reported under
    ``errors`` (``[{"what", "error"}]``) and the others are still checked."""

    _name = "retail.storefront.channel.settings"
    _inherit = "retail.base"
    _usage = "channel.settings"
    _apply_on = "retail.backend"

    def read_settings(self):
        """Return {"taxes", "payment_gateways", "shipping_methods", "carriers", "errors"} of the channel."""
        found, errors = {}, []
        for what, read in self._parts():
            try:
                found[what] = read()
            except ChannelError as exc:
                errors.append({"what": self._label(what), "error": str(exc)})
                found[what] = None
        settings = self._settings(found)
        settings["errors"] = errors
        return settings

    def _parts(self):
        """Return [(part, callable reading it from the channel)], one call each."""
        raise NotImplementedError

    def _settings(self, found):
        """Return the settings (value kind key -> items) of what the parts read (None: unreadable)."""
        raise NotImplementedError

    def _label(self, what):
        """Return the words naming a part in the readiness finding."""
        return {
            "tax_rates": self.env._("tax rates"),
            "payment_gateways": self.env._("payment gateways"),
            "shipping_methods": self.env._("shipping methods"),
            "recent_orders": self.env._("recent orders (their taxes, payment gateways and shipping methods)"),
            "carrier_services": self.env._("carrier services"),
        }.get(what, what)


class WooChannelSettings(Component):
    """WooCommerce: GET taxes (every page), payment_gateways (the enabled ones) and shipping_methods."""

    _name = "retail.woocommerce.channel.settings"
    _inherit = "retail.storefront.channel.settings"
    _backend_type = "woocommerce"

    def _parts(self):
        client = self.component(usage="backend.adapter").client()
        return [("tax_rates", client.tax_rates), ("payment_gateways", client.payment_gateways),
                ("shipping_methods", client.shipping_methods)]

    def _settings(self, found):
        return shop_settings(found.get("tax_rates"), found.get("payment_gateways"), found.get("shipping_methods"))


class ShopifyChannelSettings(Component):
    """Shopify: what the recent orders name (one ``orders`` query) and the shop's carrier services."""

    _name = "retail.shopify.channel.settings"
    _inherit = "retail.storefront.channel.settings"
    _backend_type = "shopify"

    def _parts(self):
        client = self.component(usage="backend.adapter").client()
        return [("recent_orders", client.recent_order_settings), ("carrier_services", client.carrier_services)]

    def _settings(self, found):
        return order_settings(found.get("recent_orders") or (), found.get("carrier_services") or ())
