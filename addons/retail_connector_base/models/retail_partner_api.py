# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The partner API's live reads: what a channel asks when it needs an answer now.

Called by the gateway (``GET /retail/api/v1/availability`` and ``GET /retail/api/v1/orders/<id>``)
on the backend of the API key, as the connector user of its company, after the same
authentication, rate limit and scope check as the partner API's writes. They read only: the
figures are Odoo's own computations, the ones the exports send.
"""

import json

from odoo import models
from odoo.tools import float_compare

from ..components.errors import RetailMappingError
from ..lib.inbound import AmbiguousSku, UnknownLocation, UnknownOrder, UnknownSku
from .retail_event import PENDING_STATES

# unread webhooks (aggregate not known yet) looked at for an order that has no sale order yet
UNREAD_ORDERS_LOOKED_AT = 200


def _iso(moment):
    """Return a naive UTC datetime as ISO 8601 with a Z, or None."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _money(currency, amount):
    """Return an amount as text with the currency's decimals (as the canonical objects carry money)."""
    return currency._channel_amount(amount or 0.0)


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    # ------------------------------------------------------------------ available to sell
    def _api_availability(self, skus, location_ids=None):
        """Return the live available to sell of ``skus``, per channel location, as the inventory export sends it.

        ``location_ids`` (channel location ids) restricts the answer; without it every channel
        location of the backend is answered. Raises UnknownSku or UnknownLocation naming what
        matched nothing, AmbiguousSku when a SKU matches several products.
        """
        self.ensure_one()
        products, unknown = {}, []
        with self.work_on("retail.product.binding") as work:
            resolver = work.component(usage="product.resolver")
            for sku in skus:
                try:
                    products[sku] = resolver.resolve(sku=sku)
                except RetailMappingError as exc:
                    if exc.kind == "ambiguous_product":
                        raise AmbiguousSku(str(exc), details=[{"field": "sku", "message": str(exc)}]) from None
                    unknown.append(sku)
        if unknown:
            raise UnknownSku(
                "Unknown SKU %s on backend %s: no product of the backend's company has this internal reference "
                "or channel SKU"
                % (", ".join(unknown), self.name),
                details=[{"field": "sku", "message": "unknown SKU %s" % sku} for sku in unknown],
            )
        with self.work_on(self._name) as work:
            availability = work.component(usage="availability")
        channel_locations = [(str(external_id), locations) for external_id, locations in availability.channel_locations()]
        if location_ids:
            known = dict(channel_locations)
            missing = [location for location in location_ids if location not in known]
            if missing:
                raise UnknownLocation(
                    "Unknown location %s on backend %s; its channel locations: %s"
                    % (", ".join(missing), self.name, ", ".join(known) or "none"),
                    details=[{"field": "location", "message": "unknown location %s" % location} for location in missing],
                )
            channel_locations = [(location, known[location]) for location in location_ids]
        computed_at = self.env.cr.now()
        every = self.env["product.product"].union(*products.values())
        items = []
        for external_id, locations in channel_locations:
            levels = availability.available_to_sell(every, locations)
            items += [{"sku": sku, "location": external_id, "available": levels[product.id]}
                      for sku, product in products.items()]
        return {"items": items, "computed_at": _iso(computed_at)}

    # ------------------------------------------------------------------ order state
    def _api_order_state(self, external_id):
        """Return the state in Odoo of the backend's channel order ``external_id``; raise UnknownOrder.

        An order stored in the inbox and not applied yet is ``pending``; once it is a sale order:
        ``draft`` (a quotation), ``confirmed``, ``partially_shipped`` or ``shipped`` (its done
        deliveries listed with carrier and tracking numbers), ``partially_refunded`` or
        ``refunded`` (by the channel's refunds), ``cancelled``.
        """
        self.ensure_one()
        events = self._api_order_events(external_id)
        binding = self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", self.id), ("external_id", "=", external_id)], limit=1
        )
        if not binding:
            if not any(events.values()):
                raise UnknownOrder(
                    "Unknown order %s on backend %s: neither a sale order nor an event of it is in Odoo"
                    % (external_id, self.name),
                    details=[{"field": "order_id", "message": "unknown order %s" % external_id}],
                )
            return {"order_id": external_id, "status": "pending", "odoo_order": None, "events": events}
        sale = binding.odoo_id
        currency = sale.currency_id
        deliveries = sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "cancel")
        shipped = deliveries.filtered(lambda p: p.state == "done")
        refunds = sale.retail_refund_ids.sorted(lambda r: (r.refunded_at or r.create_date, r.id))
        refunded = sum(refund.currency_id._convert(refund.amount, currency, sale.company_id,
                                                   (refund.refunded_at or sale.date_order).date())
                       for refund in refunds)
        if not refunds:
            refund_status = "none"
        elif float_compare(refunded, sale.amount_total, precision_rounding=currency.rounding) >= 0:
            refund_status = "full"
        else:
            refund_status = "partial"
        if not shipped:
            fulfilment = "unshipped"
        else:
            fulfilment = "shipped" if shipped == deliveries else "partial"
        if sale.state == "cancel":
            status = "cancelled"
        elif refund_status != "none":
            status = "refunded" if refund_status == "full" else "partially_refunded"
        elif fulfilment != "unshipped":
            status = "shipped" if fulfilment == "shipped" else "partially_shipped"
        else:
            status = "confirmed" if sale.state == "sale" else "draft"
        return {
            "order_id": external_id,
            "status": status,
            "channel_order_name": binding.channel_order_name or None,
            "odoo_order": sale.name,
            "odoo_state": sale.state,
            "ordered_at": _iso(sale.date_order),
            "updated_at": _iso(binding.sync_date or sale.write_date),
            "currency": currency.name,
            "amounts": {"untaxed": _money(currency, sale.amount_untaxed), "tax": _money(currency, sale.amount_tax),
                        "total": _money(currency, sale.amount_total)},
            "payment_state": binding.channel_payment_state or None,
            "fulfilment_status": fulfilment,
            "shipments": [self._api_shipment(picking) for picking in shipped.sorted(lambda p: (p.date_done, p.id))],
            "refund_status": refund_status,
            "refunded_amount": _money(currency, refunded),
            "refunds": [
                {"id": refund.external_id, "amount": _money(refund.currency_id, refund.amount),
                 "currency": refund.currency_id.name, "refunded_at": _iso(refund.refunded_at)}
                for refund in refunds
            ],
            "events": events,
        }

    def _api_shipment(self, picking):
        """Return a done delivery as the partner API shows it."""
        shipment = picking._retail_shipment()
        return {
            "name": picking.name,
            "shipped_at": _iso(picking.date_done),
            "carrier": shipment["carrier"],
            "tracking_numbers": shipment["tracking_numbers"],
            "lines": [{"sku": product.default_code or None, "quantity": quantity}
                      for product, quantity in sorted(shipment["quantities"].items(), key=lambda item: item[0].id)],
        }

    def _api_order_events(self, external_id):
        """Return {"pending": n, "failed": n}: the order's events not applied yet, and those waiting for a person.

        A webhook is read by the job that applies it: one not read yet is found by the order id
        in its payload.
        """
        Event = self.env["retail.event"]
        counts = dict(Event._read_group(
            [("backend_id", "=", self.id), ("aggregate_type", "=", "order"), ("aggregate_key", "=", external_id),
             ("state", "in", PENDING_STATES + ("failed", "dead"))],
            ["state"], ["__count"],
        ))
        pending = sum(counts.get(state, 0) for state in PENDING_STATES)
        failed = counts.get("failed", 0) + counts.get("dead", 0)
        unread = Event.search(
            [("backend_id", "=", self.id), ("domain", "=", "orders"), ("state", "in", PENDING_STATES),
             ("aggregate_key", "=", False), ("payload", "=like", "%%%s%%" % _like_escape(external_id))],
            limit=UNREAD_ORDERS_LOOKED_AT,
        )
        for event in unread:
            try:
                data = json.loads(event.payload or "")
            except ValueError:
                continue
            if isinstance(data, dict) and str(data.get("external_id")) == external_id:
                pending += 1
        return {"pending": pending, "failed": failed}


def _like_escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
