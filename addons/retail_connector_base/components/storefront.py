# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The steps every storefront takes with its orders, each channel giving its mapping as a hook."""

from odoo.addons.component.core import AbstractComponent

from ..lib.canonical import Order


class StorefrontEventParser(AbstractComponent):
    """A storefront's order events: its webhooks carry the channel's order, its polled events the canonical one.

    Channels give ``_map_order`` (the webhook's shape to canonical) and ``_polled_topic`` (the
    topic of the orders their reconciliation reads, stored canonical already).
    """

    _name = "retail.storefront.event.parser"
    _inherit = "retail.event.parser"

    _polled_topic = None

    def _map_order(self, data):
        """Return the canonical Order of the channel's order payload (the webhooks' shape)."""
        raise NotImplementedError

    def order_of(self, topic, data):
        """Return the canonical Order of an order event; raise CanonicalValidationError for a payload it refuses."""
        if self._polled_topic and topic == self._polled_topic:
            return Order.from_dict(data)
        return self._map_order(data)

    def _order_key(self, topic, data):
        """Return (aggregate key, channel time) of an order event; a payload the mapping refuses is a SchemaError."""
        order = self._canonical(lambda payload: self.order_of(topic, payload), data)
        return order.external_id, order.updated_at or order.created_at


class StorefrontEventProcessor(AbstractComponent):
    """Applies a storefront's order events: the parser's canonical order, unless ``_deferral`` says it waits."""

    _name = "retail.storefront.event.processor"
    _inherit = "retail.event.processor"

    def _process_order(self, event, data):
        """Apply the order of ``event``; return (outcome, sale order or None)."""
        order = self.component(usage="event.parser").order_of(event.topic, data)
        waiting = self._deferral(order)
        if waiting:
            return waiting, None
        outcome, sale = self._apply_order(order, event)
        return self._after_order(order, outcome, sale)

    def _deferral(self, order):
        """Return why ``order`` is not applied yet (its outcome), or None to apply it."""
        return None

    def _after_order(self, order, outcome, sale):
        """Return (outcome, sale) once ``order`` was applied; channels add what comes with an order."""
        return outcome, sale
