# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent, Component

from ..lib.batches import BATCHED
from ..lib.canonical import Order, Return


def note_applied_orders(sales, outcome, backend, events):
    """Note in each sale order's history which event of which backend created or changed it.

    Notes notifying nobody, written together; the order's creation is not logged besides: this
    says where it came from. ``sales`` and ``events`` go pairwise.
    """
    sales._message_log_batch(bodies={
        sale.id: sale.env._(
            "%(outcome)s from %(backend)s, event %(topic)s #%(event)s (correlation %(cid)s).",
            outcome=outcome.capitalize(), backend=backend.name, topic=event.topic, event=event.id,
            cid=event.correlation_id or "-",
        )
        for sale, event in zip(sales, events, strict=True)
    })


def note_applied_order(sale, outcome, backend, event):
    note_applied_orders(sale, outcome, backend, event)


class EventProcessor(AbstractComponent):
    """Applies one stored event: maps the channel payload to canonical objects, then to Odoo."""

    _name = "retail.event.processor"
    _inherit = "retail.base"
    _usage = "event.processor"
    _apply_on = "retail.event"

    def process(self, event, data):
        """Apply ``data`` (the event's JSON); return (outcome, resulting Odoo record or None)."""
        raise NotImplementedError

    def _apply_order(self, order, event):
        """Write a canonical order through the shared order writer; return (outcome, sale order).

        A new order may come back ``batched`` with no sale order: its dispatcher creates it with
        the other new orders of its batch."""
        writer = self.component(usage="order.writer", model_name="retail.sale.order.binding")
        binding, outcome = writer.apply(order)
        if outcome == BATCHED:
            return outcome, None
        sale = binding.odoo_id
        if outcome in ("created", "updated", "cancelled"):
            note_applied_order(sale, outcome, self.backend_record, event)
        return outcome, sale


    def _apply_customer(self, customer, event):
        """Resolve a channel's canonical customer through the shared customer resolver (as an order's customer);
        record its marketing consent on the binding; return (outcome, partner)."""
        resolver = self.component(usage="customer.resolver", model_name="retail.partner.binding")
        known = bool(customer.external_id and resolver.binder.to_internal(customer.external_id))
        address = customer.addresses[0] if customer.addresses else None
        partner, _invoice, _delivery = resolver.resolve(customer, billing=address)
        binding = resolver.binder.to_internal(customer.external_id) if customer.external_id else None
        if binding and binding.accepts_marketing != bool(customer.accepts_marketing):
            binding.accepts_marketing = bool(customer.accepts_marketing)
        outcome = "updated" if known else "created"
        partner.message_post(body=self.env._(
            "%(outcome)s from %(backend)s, event %(topic)s #%(event)s (correlation %(cid)s).",
            outcome=outcome.capitalize(), backend=self.backend_record.name, topic=event.topic, event=event.id,
            cid=event.correlation_id or "-"), message_type="notification", subtype_xmlid="mail.mt_note")
        return outcome, partner

    def _apply_return(self, canonical, event):
        """Record a channel's canonical return through the shared return writer; return (outcome, return)."""
        writer = self.component(usage="return.writer", model_name="retail.return")
        ret, outcome = writer.apply(canonical)
        if outcome != "unchanged":
            ret.message_post(body=self.env._(
                "%(outcome)s from %(backend)s, event %(topic)s #%(event)s (correlation %(cid)s).",
                outcome=outcome.capitalize(), backend=self.backend_record.name, topic=event.topic, event=event.id,
                cid=event.correlation_id or "-"))
        return outcome, ret


class GenericEventProcessor(Component):
    """The generic channel's payloads are already canonical."""

    _name = "retail.generic.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "generic"

    def process(self, event, data):
        if event.aggregate_type == "order":
            return self._apply_order(Order.from_dict(data), event)
        if event.aggregate_type == "return":
            return self._apply_return(Return.from_dict(data), event)
        raise NotImplementedError("no processing for %s events" % event.aggregate_type)
