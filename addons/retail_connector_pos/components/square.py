# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A store POS on Square's APIs plugged into the shared pipeline and the store sales service.

Webhooks (signed over the notification URL and the body) enter the shared inbox keyed by their
``event_id``: a completed order is read back from the Orders API and booked as a POS order; a
refund books the return; an inventory count is compared with Odoo's quants. The end of day
searches the day's completed orders as the record of reference. Stock available per store goes
back as physical counts and the catalogue as idempotent batch upserts.
"""

import hashlib
import json
from datetime import datetime, timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.canonical import CanonicalValidationError, StockLevel
from odoo.addons.retail_connector_base.lib.http import ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from ..lib.squarepos import mapping as square_mapping

ORDER_TYPES = ("order.created", "order.updated")
PAYMENT_TYPES = ("payment.created", "payment.updated")
REFUND_TYPES = ("refund.created", "refund.updated")
INVENTORY_TYPES = ("inventory.count.updated",)


def _instant(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


class SquareConnectionTester(Component):
    _name = "retail.square.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "square"

    def test_connection(self):
        locations = self.component(usage="backend.adapter").client().list_locations()
        return self.env._("Connected: %(count)s location(s): %(names)s.", count=len(locations),
                          names=", ".join(str(loc.get("name")) for loc in locations))


class SquareEventParser(Component):
    """Square notifications: ``type``, ``event_id``, ``data.object`` in the JSON body."""

    _name = "retail.square.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "square"
    _topics = dict(
        {t: ("orders", "order") for t in ORDER_TYPES + PAYMENT_TYPES},
        **{t: ("returns", "order") for t in REFUND_TYPES},
        **{t: ("inventory", "sku") for t in INVENTORY_TYPES},
    )

    def topic_of(self, headers, resource=None, data=None):
        return str(data.get("type") or "") if isinstance(data, dict) else ""

    def parse(self, topic, headers, data, body):
        if not isinstance(data, dict) or not data.get("type"):
            raise SchemaError("a Square notification is a JSON object with its type",
                              details=[{"field": "type", "message": "is required"}])
        domain, aggregate_type = self._domain_and_type(topic)
        key = square_mapping.aggregate_of(topic, data)
        if not key:
            raise SchemaError("the notification names no order or item",
                              details=[{"field": "data.object", "message": "no id"}])
        # a count's version is when Square calculated it; anything else, when the event happened
        counts = square_mapping.counts_of_event(data) if topic in INVENTORY_TYPES else []
        moments = [c.get("calculated_at") for c in counts if isinstance(c, dict) and c.get("calculated_at")]
        stamp = _instant(max(moments) if moments else data.get("created_at"))
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=str(key),
                            idempotency_key=str(data.get("event_id") or self._digest_key(body)), channel_timestamp=stamp)


class SquareEventProcessor(Component):
    _name = "retail.square.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "square"

    def process(self, event, data):
        topic = data.get("type") or event.topic
        writer = self.component(usage="pos.order.writer", model_name="retail.pos.order.binding")
        client = self.component(usage="backend.adapter").client()
        if topic in ORDER_TYPES:
            state = square_mapping.order_state_of(data)
            if state != "COMPLETED":
                return "order %s" % (state or "?").lower(), None
            [order] = client.batch_retrieve_orders([event.aggregate_key]) or [None]
            if not order:
                raise ChannelValidationError("Order %s is not on the POS" % event.aggregate_key)
            if square_mapping.is_return(order):
                return self._book_return(order, writer)
            binding, outcome = writer.apply(self._canonical(order, client))
            return outcome, binding.odoo_id
        if topic in PAYMENT_TYPES:
            return "payments are booked with their order", None
        if topic in REFUND_TYPES:
            refund = square_mapping.refund_of_event(data)
            if refund.get("status") not in ("COMPLETED",):
                return "refund %s" % str(refund.get("status") or "?").lower(), None
            if not refund.get("order_id"):
                return "refund without order", None
            [order] = client.batch_retrieve_orders([refund["order_id"]]) or [None]
            if order and square_mapping.is_return(order):
                return self._book_return(order, writer)
            return "refund of %s: no return order" % refund.get("order_id"), None
        if topic in INVENTORY_TYPES:
            applied = self._applied_count_version(event)
            if applied:
                return applied, None
            levels = self._levels(square_mapping.counts_of_event(data))
            run = self.env["retail.reconciliation.run"].create({"backend_id": self.backend_record.id,
                                                                 "domain": "inventory"})
            with self.backend_record.work_on("retail.reconciliation.run") as work:
                checked = work.component(usage="inventory.reconciler")._apply_snapshot(run, levels)
            run._finish(checked)
            return "count: %d checked, %d differences" % (checked, run.difference_count), run
        return "ignored %s" % topic, None

    def _applied_count_version(self, event):
        """Return "stale" or "unchanged" when a count at least as recent as the event's was applied, else None.

        A count is a level, not a change: applying an older one again (a replay, a late retry)
        would report, or adjust, stock back to what it was then.
        """
        if not event.channel_timestamp:
            return None
        done = self.env["retail.event"].search([
            ("backend_id", "=", event.backend_id.id), ("aggregate_type", "=", event.aggregate_type),
            ("aggregate_key", "=", event.aggregate_key), ("topic", "in", INVENTORY_TYPES), ("state", "=", "done"),
            ("id", "!=", event.id), ("channel_timestamp", ">=", event.channel_timestamp),
        ], order="channel_timestamp desc", limit=1)
        if not done:
            return None
        return "stale" if done.channel_timestamp > event.channel_timestamp else "unchanged"

    def _canonical(self, order, client):
        skus = self.backend_record._square_skus(order)
        customer = client.get_customer(order["customer_id"]) if order.get("customer_id") else None
        try:
            return square_mapping.order_to_canonical(order, sku_of=skus, customer=customer)
        except CanonicalValidationError as exc:
            raise ChannelValidationError("order %s: %s" % (order.get("id"), exc)) from None

    def _book_return(self, order, writer):
        skus = self.backend_record._square_skus(order)
        refund = square_mapping.return_to_canonical(order, sku_of=skus)
        binding, outcome = writer.apply_return(refund)
        return "return " + outcome, binding.odoo_id

    def _levels(self, counts):
        skus = self.backend_record._square_skus_of_variations([c["catalog_object_id"] for c in counts])
        levels = []
        for count in counts:
            sku = skus.get(count["catalog_object_id"])
            if sku and count.get("state", "IN_STOCK") == "IN_STOCK":
                levels.append(StockLevel.from_dict({"sku": sku, "location_external_id": count["location_id"],
                                                    "quantity": count["quantity"]}))
        return levels


class SquareDayCloser(Component):
    """The day's completed orders of a location, searched by their close time."""

    _name = "retail.square.pos.day.closer"
    _inherit = "retail.pos.day.closer"
    _backend_type = "square"

    def _fetch_day_orders(self, store, start, end):
        client = self.component(usage="backend.adapter").client()
        binder = self.binder_for("retail.pos.order.binding")
        utc = timezone.utc
        for order in client.search_orders([store.external_id], closed_at_start=start.replace(tzinfo=utc),
                                          closed_at_end=end.replace(tzinfo=utc)):
            if square_mapping.is_return(order):
                continue
            # the customer matters only to a sale still to book: no call for the ones already in Odoo
            booked = binder.to_internal(order["id"])
            customer = client.get_customer(order["customer_id"]) if order.get("customer_id") and not booked else None
            yield square_mapping.order_to_canonical(order, sku_of=self.backend_record._square_skus(order),
                                                    customer=customer)


class SquareDayBatch(Component):
    _name = "retail.square.pos.day.batch"
    _inherit = "retail.pos.day.batch"
    _backend_type = "square"


class SquareStockSnapshot(Component):
    """Store counts of the POS against Odoo's quants of each store's location."""

    _name = "retail.square.stock.snapshot"
    _inherit = "retail.stock.snapshot.reconciler"
    _backend_type = "square"

    def _fetch_snapshot(self):
        backend = self.backend_record
        variations = self.env["retail.product.binding"].search([("backend_id", "=", backend.id)])
        ids = [b.external_id for b in variations if b.external_id]
        if not ids:
            return []
        counts = self.component(usage="backend.adapter").client().batch_retrieve_inventory_counts(
            ids, location_ids=backend.pos_store_ids.mapped("external_id"))
        skus = {b.external_id: b.odoo_id.default_code for b in variations}
        return [StockLevel.from_dict({"sku": skus[c["catalog_object_id"]], "location_external_id": c["location_id"],
                                      "quantity": c["quantity"]})
                for c in counts if c.get("catalog_object_id") in skus and c.get("state", "IN_STOCK") == "IN_STOCK"]

    def _location(self, external_id):
        store = self.backend_record.pos_store_ids.filtered(lambda s: s.external_id == str(external_id))
        if store:
            return store.location_id
        return super()._location(external_id)


class SquareCatalogExporter(Component):
    """Products and variations as one idempotent batch upsert; archived products archived on the POS."""

    _name = "retail.square.catalog.exporter"
    _inherit = "retail.exporter"
    _usage = "catalog.exporter"
    _backend_type = "square"
    _batch_size = 500

    def export(self, requests):
        backend = self.backend_record
        products = self._products_of(requests, archived=True)
        binder = self.binder_for("retail.product.binding")
        bound = {b.odoo_id.id: b.external_id for b in self.env["retail.product.binding"].with_context(
            active_test=False).search([("backend_id", "=", backend.id), ("odoo_id", "in", products.ids)])}
        neutral = []
        pricing = self.component(usage="pricing")
        for product in products:
            sku = self._require_sku(product)
            price = pricing.channel_price(product)
            # the name the register shows: the product's with its variant's values, not its internal reference
            name = product.with_context(display_default_code=False).display_name
            neutral.append({
                "sku": sku, "name": name, "archived": not (product.active and product.sale_ok),
                "variations": [{"sku": sku, "name": name, "price": price["price"],
                                "currency": price["currency"], "barcode": product.barcode or None,
                                "id": bound.get(product.id), "location_prices": self._store_prices(product, price)}],
            })
        objects = square_mapping.catalog_objects_for(neutral)
        key = hashlib.sha256(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()
        result = self.component(usage="backend.adapter").client().batch_upsert_catalog(objects, idempotency_key=key)
        variation_ids = square_mapping.variation_ids_by_sku(result, objects)
        for product in products:
            variation = variation_ids.get(product.default_code)
            if variation:
                binder.bind_record(variation, product, sync_state="synced")


    def _store_prices(self, product, price):
        """Return {location id: price} for the stores whose point of sale sells at another price."""
        prices = {}
        for store in self.backend_record.pos_store_ids:
            pricelist = store.pos_config_id.pricelist_id
            if not pricelist or pricelist.currency_id.name != price["currency"]:
                continue
            own = pricelist.currency_id.round(pricelist._get_product_price(product, 1.0))
            if pricelist.currency_id.compare_amounts(own, float(price["price"])):
                prices[store.external_id] = pricelist.currency_id._channel_amount(own)
        return prices


class SquareInventoryExporter(Component):
    """Odoo's available quantity of each store as physical counts, 100 changes a call."""

    _name = "retail.square.inventory.exporter"
    _inherit = "retail.inventory.exporter.base"
    _backend_type = "square"

    def _locations(self):
        return [(store.external_id, store.location_id) for store in self.backend_record.pos_store_ids]

    def max_requests(self, requests):
        # one call per 100 changes, a change per product and store
        return max(1, -(-len(requests) * len(self.backend_record.pos_store_ids) // 100))

    def _send_levels(self, requests, products, levels):
        backend = self.backend_record
        bindings = self.env["retail.product.binding"].search([("backend_id", "=", backend.id),
                                                              ("odoo_id", "in", products.ids)])
        variation_of = {b.odoo_id.id: b.external_id for b in bindings}
        refused = {}
        for request in requests:
            if request.res_id not in variation_of:
                refused[request.id] = self.env._("not on the POS catalogue yet: export the catalogue first")
        now = datetime.now(timezone.utc)
        counts = [{"catalog_object_id": variation_of[product.id], "location_id": location_id,
                   "quantity": available[product.id]}
                  for location_id, available in levels for product in products if product.id in variation_of]
        changes = square_mapping.inventory_changes(counts, occurred_at=now)
        client = self.component(usage="backend.adapter").client()
        for start in range(0, len(changes), 100):
            chunk = changes[start:start + 100]
            key = hashlib.sha256(json.dumps(chunk, sort_keys=True, default=str).encode()).hexdigest()
            client.batch_change_inventory(chunk, idempotency_key=key)
        return refused
