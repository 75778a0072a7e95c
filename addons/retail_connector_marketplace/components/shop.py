# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent
from odoo.addons.retail_connector_base.components.customer_exporter import remember_customer_version


class ShopEventProcessor(AbstractComponent):
    """A shop's orders wait until their payment passes the backend's import rule."""

    _name = "retail.shop.event.processor"
    _inherit = "retail.storefront.event.processor"

    def _deferral(self, order):
        if not self.backend_record._import_rule_allows(order):
            return "deferred: payment %s" % order.payment_state
        return None

    def _apply_channel_customer(self, customer, event):
        """Apply a customer read from the shop through the shared resolver; its binding remembers the
        version applied, so that a later poll leaves it alone."""
        outcome, partner = self._apply_customer(customer, event)
        remember_customer_version(self, customer.external_id, event.channel_timestamp)
        return outcome, partner
