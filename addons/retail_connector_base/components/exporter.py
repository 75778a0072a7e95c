# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json
import math
import threading
import time

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.http import ChannelValidationError

# Products a look-up took along beside a flush's own and the channel did not have, per database and
# backend ({product id: when}): not taken along again for an hour by this process. A flush's own
# products are always looked up, whatever is remembered here.
_NOT_ON_CHANNEL = {}
_NOT_ON_CHANNEL_LOCK = threading.Lock()
NOT_ON_CHANNEL_SECONDS = 3600
NOT_ON_CHANNEL_MAX = 5000


def idempotency_key(*parts):
    """Return a stable key for one export's content, so a resend is recognised by the channel.

    Give it the export requests' ids with the content: a resend of the same requests is recognised,
    while a later request sending the same values again (after the channel changed them, e.g. the
    repair of a reconciliation) is not taken for a replay.
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class RetailExporter(AbstractComponent):
    """Sends the latest state of coalesced export requests in the channel's bulk calls.

    Concrete exporters have the usage ``<domain>.exporter`` and implement ``export``; the
    pipeline (coalescing, rate limit, retries, circuit breaker) is the base's.
    """

    _name = "retail.exporter"
    _inherit = "retail.base"
    _apply_on = "retail.export.request"
    _batch_size = 100
    # what the channel sells a SKU as, named when it has none of a product's (``_refuse_unsold``)
    _sold_item = "product"

    def batches(self, requests):
        """Yield the requests in groups of at most the channel's bulk size."""
        for start in range(0, len(requests), self._batch_size):
            yield requests[start : start + self._batch_size]

    def max_requests(self, requests):
        """Return how many requests to the channel the export of batch ``requests`` makes at most.

        The flush reserves that many tokens of the backend's rate limit before sending the batch,
        so that a batch is never cut short for want of a token (see
        ``retail.export.request._send_claimed``). One bulk call by default; channels whose batch
        makes more (look-ups, one call per product...) say so. An estimate too low is not wrong,
        only slower: a request beyond the reservation takes its token from the bucket, and when
        none is left the batch is sent again later.
        """
        return 1

    def export(self, requests):
        """Send one bulk call for ``requests``; raise ChannelError on failure.

        May return {request id: reason} for single records the channel cannot take; those
        fail with the reason and the others count as sent.
        """
        raise NotImplementedError

    def _products_of(self, requests, archived=False):
        """Return the products of product export requests that still exist (``archived`` ones too, if asked)."""
        Product = self.env["product.product"]
        if archived:
            Product = Product.with_context(active_test=False)
        return Product.browse(requests.mapped("res_id")).exists()

    def _refuse_unsold(self, requests, products, sold_ids):
        """Return {request id: refusal} for the requests of ``products`` the channel sells nothing of (their ids
        not in ``sold_ids``)."""
        return {
            r.id: "No %s has the SKU %s: the shop does not sell this product"
            % (self._sold_item, products.browse(r.res_id).default_code or products.browse(r.res_id).display_name)
            for r in requests
            if r.res_id in products.ids and r.res_id not in sold_ids
        }

    def record_failure(self, requests, message):
        """Keep the channel's refusal on the bindings of the exported records."""
        for request in requests:
            record = self.env[request.res_model].browse(request.res_id).exists()
            if record and "retail_bind_ids" in record._fields:
                record.retail_bind_ids.filtered(lambda b: b.backend_id == self.backend_record)._mark_failed(message)

    def _fulfilment_of(self, requests):
        """Return (picking, order binding, {sku: quantity shipped}) of a fulfilment request.

        The picking is empty when it is gone or not a delivery of an order of this backend.
        """
        backend = self.backend_record
        picking = self.env["stock.picking"].browse(requests.res_id).exists()
        binding = picking.sale_id.retail_bind_ids.filtered(lambda b: b.backend_id == backend) if picking else None
        if not binding:
            return self.env["stock.picking"], None, {}
        quantities = {}
        for product, quantity in picking._retail_shipment()["quantities"].items():
            sku = self._require_sku(product)
            quantities[sku] = quantities.get(sku, 0) + quantity
        return picking, binding, quantities

    def _bind_products_apart(self, bindings):
        """Bind products to channel ids ``[(external id, product, values)]`` in a transaction of their own.

        Creating a product binding writes its product row; two backends binding the same new
        products at once (their first flushes) would make the flushes' transactions fail on the
        concurrent update and be retried after a growing wait. In a short transaction reading what
        is committed, the second waits a moment for the first instead, in product order.
        """
        if not bindings:
            return
        with self.env["retail.export.request"]._own_cursor() as cr:
            backend = self.backend_record.with_env(self.env(cr=cr))
            with backend.work_on("retail.product.binding") as work:
                binder = work.component(usage="binder")
                for external_id, product, values in sorted(bindings, key=lambda b: b[1].id):
                    binder.bind_record(external_id, product.with_env(backend.env), **values)

    def _lookup_companions(self, products, room, domain):
        """Return up to ``room`` other products worth looking up on the channel together with ``products``.

        A channel's look-up by SKU costs one call whether it names one SKU or as many as a call
        takes. When a flush must look some products up anyway, the rest of its last call is
        filled with products this backend is likely to send next and has no binding for: first
        those of its pending requests of ``domain`` (the next flush's), then the newest saleable
        storable products with a SKU. Bound on the way, they cost their own flushes no look-up:
        a backend meeting many new products finds them in a few calls, not one per flush.
        Products sharing a SKU with ``products`` or with a product already bound to this
        backend are left out (a SKU finds one channel item), and so are the ones taken along
        lately and not found.
        """
        Product = self.env["product.product"]
        if room <= 0:
            return Product
        backend = self.backend_record
        skip = self._not_on_channel_ids()
        taken = {p.default_code for p in products if p.default_code}
        exclude = list(set(products.ids) | skip) or [0]
        where = """
            p.active AND t.active AND t.sale_ok AND t.is_storable AND COALESCE(p.default_code, '') <> ''
            AND (t.company_id IS NULL OR t.company_id = %(company)s)
            AND p.id <> ALL(%(exclude)s) AND p.default_code <> ALL(%(skus)s)
            AND NOT EXISTS (SELECT 1 FROM retail_product_binding b
                            WHERE b.backend_id = %(backend)s AND b.odoo_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM retail_product_binding b JOIN product_product q ON q.id = b.odoo_id
                            WHERE b.backend_id = %(backend)s AND q.default_code = p.default_code)
        """
        params = {"company": backend.company_id.id, "exclude": exclude, "skus": sorted(taken) or [""],
                  "backend": backend.id, "domain": domain, "limit": room * 2}
        cr = self.env.cr
        cr.execute("""
            SELECT p.id, p.default_code FROM retail_export_request r
            JOIN product_product p ON p.id = r.res_id
            JOIN product_template t ON t.id = p.product_tmpl_id
            WHERE r.backend_id = %(backend)s AND r.domain = %(domain)s AND r.state = 'pending'
              AND r.res_model = 'product.product' AND """ + where + """
            ORDER BY r.id LIMIT %(limit)s
        """, params)
        rows = cr.fetchall()
        cr.execute("""
            SELECT p.id, p.default_code FROM product_product p
            JOIN product_template t ON t.id = p.product_tmpl_id
            WHERE """ + where + """
            ORDER BY p.id DESC LIMIT %(limit)s
        """, params)
        rows += cr.fetchall()
        chosen = []
        for product_id, sku in rows:
            if len(chosen) >= room:
                break
            if sku not in taken:
                taken.add(sku)
                chosen.append(product_id)
        return Product.browse(chosen)

    def _not_on_channel_key(self):
        return (self.env.cr.dbname, self.backend_record.id)

    def _not_on_channel_ids(self):
        """Return the ids of the products taken along lately that the channel did not have."""
        now = time.monotonic()
        with _NOT_ON_CHANNEL_LOCK:
            missed = _NOT_ON_CHANNEL.get(self._not_on_channel_key()) or {}
            for product_id in [pid for pid, at in missed.items() if now - at > NOT_ON_CHANNEL_SECONDS]:
                del missed[product_id]
            return set(missed)

    def _remember_not_on_channel(self, products):
        """Remember products taken along in a look-up that the channel did not have."""
        if not products:
            return
        now = time.monotonic()
        with _NOT_ON_CHANNEL_LOCK:
            missed = _NOT_ON_CHANNEL.setdefault(self._not_on_channel_key(), {})
            if len(missed) + len(products) > NOT_ON_CHANNEL_MAX:
                missed.clear()
            missed.update(dict.fromkeys(products.ids, now))

    def _require_sku(self, product):
        if not product.default_code:
            raise ChannelValidationError(
                self.env._(
                    "Product %(name)s has no internal reference (SKU): the channel identifies products by SKU.",
                    name=product.display_name,
                )
            )
        return product.default_code


class InventoryExporter(AbstractComponent):
    """Odoo's available to sell in each of the channel's locations; channels send it with ``_send_levels``."""

    _name = "retail.inventory.exporter.base"
    _inherit = "retail.exporter"
    _usage = "inventory.exporter"

    def export(self, requests):
        products = self._products_of(requests)
        availability = self.component(usage="availability")
        levels = [(location_id, availability.available_to_sell(products, locations))
                  for location_id, locations in self._locations()]
        return self._send_levels(requests, products, levels)

    def _locations(self):
        """Return [(channel location id, Odoo locations)] the levels are sent for."""
        return self.component(usage="availability").channel_locations()

    def _send_levels(self, requests, products, levels):
        """Send ``levels``, [(channel location id, {product id: units to offer})]; return what ``export`` returns."""
        raise NotImplementedError


class GenericInventoryExporter(Component):
    """Available-to-sell per channel location: ``POST /api/v1/stock/batch``, 100 items a call."""

    _name = "retail.generic.inventory.exporter"
    _inherit = "retail.inventory.exporter.base"
    _backend_type = "generic"

    def max_requests(self, requests):
        # one call per 100 items, an item per product and location
        return max(1, math.ceil(len(requests) * len(self._locations()) / 100))

    def _send_levels(self, requests, products, levels):
        items = [{"sku": self._require_sku(p), "location_id": location_id, "quantity": level[p.id]}
                 for location_id, level in levels for p in products]
        adapter = self.component(usage="backend.adapter")
        client = adapter.client()
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            adapter.request("POST", "/api/v1/stock/batch", json={"items": chunk}, client=client,
                            idempotency_key=idempotency_key("stock", requests.ids, chunk))


class CatalogExporterMixin(AbstractComponent):
    """What a catalogue export says of a product, whatever the channel; the values the channel owns left out."""

    _name = "retail.catalog.exporter.base"
    _inherit = "retail.exporter"

    def _catalog_values(self, product):
        """Return the canonical catalogue values of ``product`` that Odoo owns on this backend.

        ``active`` is false for a product archived or no longer sold in Odoo: the channel archives it.
        """
        backend = self.backend_record
        values = {
            "sku": product.default_code,
            "name": product.name,
            "barcode": product.barcode or None,
            "description": product.description_sale or None,
            "weight": product.weight or None,
            "active": bool(product.active and product.sale_ok),
            "options": [{"name": value.attribute_id.name, "value": value.name}
                        for value in product.product_template_variant_value_ids.product_attribute_value_id],
        }
        owned = {"name": "name", "barcode": "barcode", "description": "description_sale", "sku": "default_code"}
        for key, field_name in owned.items():
            if key != "sku" and backend._owner_of("catalog", "product", field_name) == "channel":
                del values[key]
        return values


class GenericCatalogExporter(Component):
    """Products created or updated by SKU: ``POST /api/v1/products/batch``, 100 items a call; bound to the
    channel's ids."""

    _name = "retail.generic.catalog.exporter"
    _inherit = "retail.catalog.exporter.base"
    _usage = "catalog.exporter"
    _backend_type = "generic"

    def export(self, requests):
        products = self._products_of(requests, archived=True)
        items = [self._catalog_values(p) for p in products if self._require_sku(p)]
        if not items:
            return
        answer = self.component(usage="backend.adapter").request(
            "POST", "/api/v1/products/batch", json={"items": items},
            idempotency_key=idempotency_key("products", requests.ids, items))
        by_sku = {p.default_code: p for p in products}
        self._bind_products_apart([(item["id"], by_sku[item["sku"]], {"sync_state": "synced"})
                                   for item in (answer.data or {}).get("items", []) if item.get("sku") in by_sku])



class GenericPricingExporter(Component):
    """Prices from the backend's pricelist: ``POST /api/v1/prices/batch``, 100 items a call."""

    _name = "retail.generic.pricing.exporter"
    _inherit = "retail.exporter"
    _usage = "pricing.exporter"
    _backend_type = "generic"

    def export(self, requests):
        products = self._products_of(requests)
        items = [dict(self.component(usage="pricing").channel_price(p), sku=self._require_sku(p)) for p in products]
        self.component(usage="backend.adapter").request(
            "POST", "/api/v1/prices/batch", json={"items": items}, idempotency_key=idempotency_key("prices", requests.ids, items)
        )


class GenericFulfilmentExporter(Component):
    """A done delivery of a channel order: ``POST /api/v1/shipments`` with its tracking."""

    _name = "retail.generic.fulfilment.exporter"
    _inherit = "retail.exporter"
    _usage = "fulfilment.exporter"
    _backend_type = "generic"
    _batch_size = 1

    def export(self, requests):
        backend = self.backend_record
        picking, binding, lines = self._fulfilment_of(requests)
        if not picking:
            return
        shipment = picking._retail_shipment()
        body = {
            "order_id": binding.external_id,
            "carrier": shipment["carrier"],
            "tracking_numbers": shipment["tracking_numbers"],
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in sorted(lines.items())],
        }
        # one key per picking: a resend after a lost answer is recognised, never a second shipment
        self.component(usage="backend.adapter").request(
            "POST", "/api/v1/shipments", json=body, idempotency_key="picking-%d-%d" % (backend.id, picking.id)
        )


class OrderCancelExporter(AbstractComponent):
    """A channel order cancelled in Odoo is cancelled on its channel, once.

    Channels implement ``_cancel_on_channel``; the base decides whether there is anything to send.
    """

    _name = "retail.order.cancel.exporter"
    _inherit = "retail.exporter"
    _usage = "orders.exporter"
    _batch_size = 1

    def export(self, requests):
        backend = self.backend_record
        sale = self.env["sale.order"].browse(requests.res_id).exists()
        binding = sale.retail_bind_ids.filtered(lambda b: b.backend_id == backend)
        if sale.state != "cancel" or not binding or binding.channel_status == "cancelled":
            return
        self._cancel_on_channel(binding)
        binding.channel_status = "cancelled"

    def _cancel_on_channel(self, binding):
        """Ask the channel to cancel the bound order."""
        raise NotImplementedError


class GenericOrderStatusExporter(Component):
    """A channel order cancelled in Odoo: ``POST /api/v1/orders/<id>/cancel``."""

    _name = "retail.generic.orders.exporter"
    _inherit = "retail.order.cancel.exporter"
    _backend_type = "generic"

    def _cancel_on_channel(self, binding):
        backend = self.backend_record
        self.component(usage="backend.adapter").request(
            "POST", "/api/v1/orders/%s/cancel" % binding.external_id, json={"reason": "cancelled in Odoo"},
            idempotency_key="cancel-%d-%s" % (backend.id, binding.external_id),
        )
