# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent


class ShopEventProcessor(AbstractComponent):
    """A shop's orders wait until their payment passes the backend's import rule."""

    _name = "retail.shop.event.processor"
    _inherit = "retail.storefront.event.processor"

    def _deferral(self, order):
        if not self.backend_record._import_rule_allows(order):
            return "deferred: payment %s" % order.payment_state
        return None
