# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""WooCommerce plugged into the shared pipeline: protocol in lib/woocommerce, pipeline in the base."""

import hashlib
import math
from datetime import datetime, timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.components.customer_exporter import (
    remember_customer_version as _remember_customer_version,
)
from odoo.addons.retail_connector_base.lib.http import ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from .catalog_media import image_url, images_digest, template_images
from ..lib.woocommerce.client import SKUS_PER_QUERY
from ..lib.woocommerce.mapping import customer_to_canonical, customer_to_woo, order_to_canonical, refund_to_canonical

ORDER_TOPICS = ("order.created", "order.updated")
DELETED_TOPIC = "order.deleted"
POLLED_TOPIC = "orders/polled"
CUSTOMER_TOPICS = ("customer.created", "customer.updated")
# customers read by the customers policy's scheduled run (REST customer shape, as the webhooks')
POLLED_CUSTOMER_TOPIC = "customers/polled"
CUSTOMER_READ_TOPICS = CUSTOMER_TOPICS + (POLLED_CUSTOMER_TOPIC,)
WEBHOOK_TOPICS = ORDER_TOPICS + (DELETED_TOPIC,)
# WooCommerce keeps one stock quantity per item: the backend's sell locations stand for it
SHOP_LOCATION = "shop"


class WooConnectionTester(Component):
    _name = "retail.woocommerce.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "woocommerce"

    def test_connection(self):
        resp = self.component(usage="backend.adapter").client().request("GET", "orders", params={"per_page": 1})
        return self.env._("Connected to %(site)s: %(count)s orders.", site=self.backend_record.endpoint_url,
                          count=resp.headers.get("X-WP-Total", "?"))


def _woo_time(value):
    """Return a WooCommerce GMT time (``2026-01-02T03:04:05``) as a naive UTC datetime, or None."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=timezone.utc) if value else None
    except ValueError:
        return None


def _customer_version(data, body):
    """Return what identifies one version of a customer: two edits within a second (WooCommerce's
    resolution) differ by their content, a delivery of the same version does not."""
    return "customer|%s|%s|%s" % (data["id"], data.get("date_modified_gmt") or data.get("date_modified") or "",
                                  hashlib.sha256(body or b"").hexdigest())


class WooEventParser(Component):
    """WooCommerce webhooks: ``X-WC-Webhook-Topic``, the REST v3 order shape.

    ``X-WC-Webhook-Delivery-ID`` is new for every delivery, so it cannot tell a repeated
    order version: the key is the order id with its modification time.
    """

    _name = "retail.woocommerce.event.parser"
    _inherit = "retail.storefront.event.parser"
    _backend_type = "woocommerce"
    _aggregate_field = "id"
    _polled_topic = POLLED_TOPIC
    _topics = dict({topic: ("orders", "order") for topic in WEBHOOK_TOPICS + (POLLED_TOPIC,)},
                   **{topic: ("customers", "customer") for topic in CUSTOMER_READ_TOPICS})

    def topic_of(self, headers, resource=None, data=None):
        return (headers.get("X-WC-Webhook-Topic") or "").strip()

    def envelope(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise SchemaError("a WooCommerce order webhook carries the order with its id",
                              details=[{"field": "id", "message": "is required"}])
        # one key per order (or customer) version: a delivery id is new on every delivery of the same version
        if topic in CUSTOMER_TOPICS:
            version = _customer_version(data, body)
        else:
            version = "%s|%s|%s" % ("deleted" if topic == DELETED_TOPIC else "order", data["id"],
                                    data.get("date_modified_gmt") or data.get("date_modified") or "")
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=None,
                            idempotency_key="wc:" + hashlib.sha256(version.encode()).hexdigest())

    def _map_order(self, data):
        return order_to_canonical(data)

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise SchemaError("a WooCommerce order webhook carries the order with its id",
                              details=[{"field": "id", "message": "is required"}])
        if topic in CUSTOMER_READ_TOPICS:
            customer = self._canonical(customer_to_canonical, data)
            stamp = _woo_time(data.get("date_modified_gmt") or data.get("date_created_gmt"))
            version = _customer_version(data, body)
            return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type,
                                aggregate_key=customer.external_id,
                                idempotency_key="wc:" + hashlib.sha256(version.encode()).hexdigest(),
                                channel_timestamp=stamp)
        if topic == DELETED_TOPIC:
            key, stamp = str(data["id"]), None
        else:
            key, stamp = self._order_key(topic, data)
        version = "%s|%s|%s" % (topic if topic == DELETED_TOPIC else "order", key, stamp)
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=key,
                            idempotency_key="wc:" + hashlib.sha256(version.encode()).hexdigest(), channel_timestamp=stamp)


class WooEventProcessor(Component):
    _name = "retail.woocommerce.event.processor"
    _inherit = "retail.shop.event.processor"
    _backend_type = "woocommerce"

    def process(self, event, data):
        if event.topic in CUSTOMER_READ_TOPICS:
            return self._apply_channel_customer(customer_to_canonical(data), event)
        if event.topic == DELETED_TOPIC:
            writer = self.component(usage="order.writer", model_name="retail.sale.order.binding")
            binding = self.binder_for("retail.sale.order.binding").to_internal(event.aggregate_key)
            if not binding:
                return "unknown order", None
            writer.cancel_binding(binding)
            return "cancelled", binding.odoo_id
        return self._process_order(event, data)

    def _after_order(self, order, outcome, sale):
        if not sale:  # created with the other new orders of its batch (it lists no refund)
            return outcome, sale
        refunded = self._apply_new_refunds(order, sale)
        return (outcome + refunded if refunded else outcome), sale

    def _apply_new_refunds(self, order, sale):
        """Fetch and apply the refunds the order lists that were not applied yet.

        WooCommerce sends no webhook of its own for a refund: the order's ``order.updated``
        lists it, and the refund itself is read from the REST API.
        """
        known = set(self.env["retail.refund"].search([
            ("backend_id", "=", self.backend_record.id), ("sale_order_id", "=", sale.id),
        ]).mapped("external_id"))
        new = [p.external_id for p in order.payments if p.kind == "refund" and p.external_id and p.external_id not in known]
        if not new:
            return ""
        client = self.component(usage="backend.adapter").client()
        writer = self.component(usage="refund.writer", model_name="retail.refund")
        for refund_id in sorted(new, key=lambda value: (len(value), value)):
            payload = client.get_refund(order.external_id, refund_id)
            writer.apply(refund_to_canonical(payload, order.external_id, order.currency, order.payment_gateway))
        return ", %s refund(s)" % len(new)


class WooOrdersReconciler(Component):
    """Orders modified since the checkpoint into the inbox; disabled webhooks re-enabled."""

    _name = "retail.woocommerce.orders.reconciler"
    _inherit = "retail.changes.batch.importer"
    _usage = "orders.reconciler"
    _backend_type = "woocommerce"
    _domain = "orders"
    _topic = POLLED_TOPIC
    _binding_model = "retail.sale.order.binding"
    _resume = "stamp"  # oldest change first, re-anchored at the last modification read

    def reconcile(self, run):
        if (run.paused_reads or {}).get(self._name):
            return super().reconcile(run)  # the read continues: the webhooks were seen to when it started
        backend = self.backend_record
        # WooCommerce disables a webhook silently after repeated failed deliveries
        result = self.component(usage="backend.adapter").client().ensure_webhooks(backend.webhook_endpoint, backend.sudo().webhook_secret, WEBHOOK_TOPICS)
        for topic, hook_id in result.get("reactivated", {}).items():
            run._add("webhook_disabled", topic, "active", "disabled", action="repaired",
                     message=self.env._("webhook %(id)s re-enabled", id=hook_id))
        for topic, hook_id in result.get("created", {}).items():
            run._add("webhook_disabled", topic, "active", "missing", action="repaired",
                     message=self.env._("webhook %(id)s created", id=hook_id))
        return super().reconcile(run)

    def _fetch_changes(self, since):
        since = since.replace(tzinfo=timezone.utc) if since else datetime(2000, 1, 1, tzinfo=timezone.utc)
        client = self.component(usage="backend.adapter").client()
        for payload in client.iter_orders_modified_after(since, on_total=self._found_total):
            yield order_to_canonical(payload).to_dict()


class WooProductsExporter(Component):
    """Shared by stock and prices: products and variations updated through the batch endpoints.

    The product bindings remember each SKU's shop item (``external_id``: the product or
    variation id, ``channel_ref``: the parent product of a variation): only products without
    one are looked up. When the shop refuses items a binding gave, those are looked up again
    and sent once more.
    """

    _name = "retail.woocommerce.product.exporter"
    _inherit = "retail.exporter"
    _backend_type = "woocommerce"
    _usage = "woocommerce.products"
    _sold_item = "WooCommerce product"

    def _items_of(self, products, client, refresh=False, domain=None):
        """Return ({product id: {id, product_id, variation_id}}, product ids whose item came from a binding).

        Products without a binding are looked up by SKU (50 a call) and bound, together with
        products likely sent next that fill the last call (``_lookup_companions``; those of
        pending requests of ``domain`` first).
        """
        known = {}
        if not refresh:
            for b in self.env["retail.product.binding"].search_read(
                    [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids),
                     ("external_id", "!=", False), ("sync_state", "=", "synced")],
                    ["odoo_id", "external_id", "channel_ref"]):
                if b["channel_ref"]:
                    known[b["odoo_id"][0]] = {"id": b["external_id"], "product_id": b["channel_ref"],
                                              "variation_id": b["external_id"]}
                else:
                    known[b["odoo_id"][0]] = {"id": b["external_id"], "product_id": b["external_id"], "variation_id": None}
        unknown = products.filtered(lambda p: p.id not in known and p.default_code)
        items = dict(known)
        if unknown:
            # the rest of the last search is filled with products likely sent next (bound on the way)
            companions = self.env["product.product"]
            if not refresh:
                room = -len({p.default_code for p in unknown}) % SKUS_PER_QUERY
                companions = self._lookup_companions(unknown, room, domain)
            skus = [p.default_code for p in unknown]
            found = client.find_products_by_sku(skus + [p.default_code for p in companions], variations_for=skus)
            bindings = []
            for product in unknown | companions:
                item = found.get(product.default_code)
                if not item:
                    continue
                if product in unknown:
                    items[product.id] = item
                bindings.append((item["variation_id"] or item["id"], product, {
                    "sync_state": "synced", "channel_ref": str(item["product_id"]) if item["variation_id"] else False}))
            self._remember_not_on_channel(companions.filtered(lambda p: p.default_code not in found))
            self._bind_products_apart(bindings)
        return items, set(known)

    def _send_items(self, client, products, items, values_for):
        simple, variations = [], {}
        for product in products:
            item = items.get(product.id)
            if not item:
                continue
            values = dict(values_for(product), id=item["variation_id"] or item["id"])
            if item["variation_id"]:
                variations.setdefault(item["product_id"], []).append(values)
            else:
                simple.append(values)
        if simple:
            client.batch_update_products(simple)
        for product_id, rows in variations.items():
            client.batch_update_variations(product_id, rows)

    def max_requests(self, requests):
        """Return the requests ``send`` makes at most for ``requests``.

        The look-ups of the products no binding names (50 SKUs a call, and the first page of the
        walk through the variable products for SKUs still missing), the simple products' writes
        (100 a call) and one write per variable product, each product not bound yet counted as
        one. What goes beyond (a longer walk; the look-up and writes again when the shop refuses
        items a binding gave, rare) takes its tokens one by one: the items found are bound apart,
        so a batch sent again later starts from them.
        """
        products = self._products_of(requests)
        bindings = self.env["retail.product.binding"].search_read(
            [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids),
             ("external_id", "!=", False), ("sync_state", "=", "synced")], ["channel_ref"])
        unknown = len(products) - len(bindings)
        parents = {b["channel_ref"] for b in bindings if b["channel_ref"]}
        simple = len(bindings) - len([b for b in bindings if b["channel_ref"]])
        lookups = math.ceil(unknown / SKUS_PER_QUERY) + 1 if unknown else 0
        writes = math.ceil((simple + unknown) / 100) + len(parents) + unknown
        return max(lookups + writes, 1)

    def send(self, requests, values_for):
        """Batch-update the shop's items of ``requests`` with ``values_for(product)``; return refusals."""
        client = self.component(usage="backend.adapter").client()
        products = self._products_of(requests)
        items, remembered = self._items_of(products, client, domain=requests[:1].domain)
        try:
            self._send_items(client, products, items, values_for)
        except ChannelValidationError as exc:
            refused = {str(d.get("id")) for d in (exc.details or [])}
            stale = products.filtered(lambda p: p.id in remembered and str(
                items[p.id]["variation_id"] or items[p.id]["id"]) in refused)
            if not stale:
                raise
            stale_ids = {str(items[p.id]["variation_id"] or items[p.id]["id"]) for p in stale}
            # items of the shop the bindings named are gone or replaced: found again by SKU
            fresh, _known = self._items_of(stale, client, refresh=True)
            gone = stale - stale.browse(list(fresh))
            self.env["retail.product.binding"].search(
                [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", gone.ids)]).write({"sync_state": "new"})
            for product in gone:
                items.pop(product.id, None)
            items.update(fresh)
            self._send_items(client, stale, items, values_for)
            if refused - stale_ids:
                raise  # the shop refused other items for other reasons
        return self._refuse_unsold(requests, products, items)


class WooInventoryExporter(Component):
    _name = "retail.woocommerce.inventory.exporter"
    _inherit = "retail.inventory.exporter.base"
    _backend_type = "woocommerce"

    def _locations(self):
        return [(SHOP_LOCATION, self.component(usage="availability").sell_locations())]

    def max_requests(self, requests):
        return self.component(usage="woocommerce.products").max_requests(requests)

    def _send_levels(self, requests, products, levels):
        [(_shop, level)] = levels
        return self.component(usage="woocommerce.products").send(
            requests, lambda p: {"stock_quantity": level[p.id], "manage_stock": True}
        )


class WooPricingExporter(Component):
    _name = "retail.woocommerce.pricing.exporter"
    _inherit = "retail.exporter"
    _usage = "pricing.exporter"
    _backend_type = "woocommerce"

    def max_requests(self, requests):
        return self.component(usage="woocommerce.products").max_requests(requests)

    def export(self, requests):
        pricing = self.component(usage="pricing")

        def prices(product):
            price = pricing.channel_price(product)
            if price["compare_at_price"]:
                return {"regular_price": price["compare_at_price"], "sale_price": price["price"]}
            return {"regular_price": price["price"], "sale_price": ""}

        return self.component(usage="woocommerce.products").send(requests, prices)


class WooFulfilmentExporter(Component):
    """A done delivery completes the WooCommerce order, with the tracking in a customer note."""

    _name = "retail.woocommerce.fulfilment.exporter"
    _inherit = "retail.exporter"
    _usage = "fulfilment.exporter"
    _backend_type = "woocommerce"
    _batch_size = 1

    def max_requests(self, requests):
        return 2  # the note, then the status

    def export(self, requests):
        picking, binding, quantities = self._fulfilment_of(requests)
        if not picking:
            return
        client = self.component(usage="backend.adapter").client()
        note = self.env._("Shipped %(items)s", items=", ".join("%s x %s" % (q, sku) for sku, q in sorted(quantities.items())))
        if picking.carrier_tracking_ref:
            note += self.env._(" with %(carrier)s, tracking %(ref)s",
                               carrier=picking.carrier_id.name or self.env._("the carrier"), ref=picking.carrier_tracking_ref)
        # the note first: if the answer to the status change is lost, the resend only repeats the status
        client.add_order_note(binding.external_id, note, customer_note=True)
        client.set_order_status(binding.external_id, "completed")


class WooOrderStatusExporter(Component):
    """A channel order cancelled in Odoo is cancelled in WooCommerce."""

    _name = "retail.woocommerce.orders.exporter"
    _inherit = "retail.order.cancel.exporter"
    _backend_type = "woocommerce"

    def _cancel_on_channel(self, binding):
        self.component(usage="backend.adapter").client().set_order_status(binding.external_id, "cancelled")


class WooRefundExporter(Component):
    """A return's refund recorded on the WooCommerce order (``POST orders/<id>/refunds``).

    The money is paid back in Odoo, so the shop is asked not to refund through its gateway
    (``api_refund`` false) nor to restock (the warehouse receipt does). The return's name is
    in the refund's reason: a refund already made for it is found instead of made twice.
    """

    _name = "retail.woocommerce.refund.exporter"
    _inherit = "retail.refund.exporter"
    _backend_type = "woocommerce"

    def _channel_refunds(self, binding):
        for existing in self.component(usage="backend.adapter").client().list_refunds(binding.external_id):
            yield existing.get("reason"), {"external_id": existing["id"], "amount": existing.get("amount")}

    def _make_refund(self, ret, binding):
        made = self.component(usage="backend.adapter").client().create_refund(
            binding.external_id, ret.currency_id._channel_amount(ret.amount), self._reason(ret), api_refund=False,
            restock=False)
        return {"external_id": made["id"], "amount": made.get("amount")}


class WooInventoryReconciler(Component):
    """The shop's stock quantities (products and variations, page after page) against Odoo's available to sell."""

    _name = "retail.woocommerce.inventory.reconciler"
    _inherit = "retail.inventory.reconciler.base"
    _usage = "inventory.reconciler"
    _backend_type = "woocommerce"
    _resume = "cursor"  # the page number of products

    def _locations(self):
        return [(SHOP_LOCATION, self.component(usage="availability").sell_locations())]

    def _channel_stock_pages(self):
        for page in self.component(usage="backend.adapter").client().iter_item_pages(
                page=self._page_cursor, on_page=self._keep_cursor):
            # an item whose stock the shop does not manage has no level: missing, its level is sent again
            yield [{"sku": i["sku"], "location_id": SHOP_LOCATION, "quantity": i["stock_quantity"]}
                   for i in page if i["sku"] and i["manage_stock"] and i["stock_quantity"] is not None]


class WooPricingReconciler(Component):
    """The shop's current prices (products and variations, page after page) against the backend's pricelist."""

    _name = "retail.woocommerce.pricing.reconciler"
    _inherit = "retail.pricing.reconciler.base"
    _usage = "pricing.reconciler"
    _backend_type = "woocommerce"
    _resume = "cursor"  # the page number of products

    def _channel_price_pages(self):
        backend = self.backend_record
        # the shop's prices are in its currency, which the exporter takes to be the pricelist's
        currency = (backend.pricelist_id.currency_id or backend.company_id.currency_id).name
        for page in self.component(usage="backend.adapter").client().iter_item_pages(
                page=self._page_cursor, on_page=self._keep_cursor):
            yield [{"sku": i["sku"], "price": i["price"], "currency": currency} for i in page if i["sku"] and i["price"]]


class WooCatalogExporter(Component):
    """Products published with ``products/batch``: created when the shop has no item of their SKU, updated
    (name, SKU, description, weight, barcode, images, published or draft) when it has; bound to the shop's ids.

    A template with several variants is a *variable* product: made with its attributes (one per attribute
    line, each value an option), then its variants made in the product's ``variations/batch``, each with
    its SKU, options, price, weight, barcode and own image; a variant added in Odoo later is made under the
    product the shop has. A variation's binding keeps its id and its product's (``channel_ref``). The variable
    product's name, description, images and status follow its template; an archived variant is a disabled
    (private) variation. A price goes with a creation (an item without one cannot be bought); later changes
    of it are the pricing policy's. Images go by URL (Odoo's, see the catalogue image controller), again only
    when they change.
    """

    _name = "retail.woocommerce.catalog.exporter"
    _inherit = "retail.catalog.exporter.base"
    _usage = "catalog.exporter"
    _backend_type = "woocommerce"

    def max_requests(self, requests):
        # the items found by SKU (and the walk through variable products, one call per template counted), the
        # products updated and created (100 a call), and per template its variable product made and its
        # variations written
        products = self._products_of(requests, archived=True)
        templates = len(products.product_tmpl_id)
        return max(math.ceil(len(products) / SKUS_PER_QUERY) + templates + 2 * math.ceil(len(products) / 100)
                   + 2 * templates, 1)

    def export(self, requests):
        client = self.component(usage="backend.adapter").client()
        products = self._products_of(requests, archived=True).filtered("default_code")
        items = self._catalog_items(products, client)
        updates, variations, creates, refused = [], {}, [], {}
        parents, new_variable = {}, self.env["product.template"]
        self._sent = []  # (products, images digest) to remember once the calls succeeded
        pricing = self.component(usage="pricing")
        for product in products:
            values = self._woo_values(product)
            item = items.get(product.id)
            template = product.product_tmpl_id
            if item and item["variation_id"]:
                values.pop("name", None)  # a variation's name is its product's and its options'
                values["status"] = "publish" if values["status"] == "publish" else "private"
                values.update(self._variation_image(product))
                variations.setdefault(item["product_id"], []).append(dict(values, id=item["variation_id"]))
                parents.setdefault(str(item["product_id"]), template)
            elif item:
                updates.append(dict(values, **self._product_images(template, product), id=item["id"]))
            elif template.product_variant_count > 1:
                new_variable |= template
            else:
                price = pricing.channel_price(product)
                creates.append((product, dict(values, **self._product_images(template, product), type="simple",
                                              regular_price=price["compare_at_price"] or price["price"],
                                              sale_price=price["price"] if price["compare_at_price"] else "")))
        # a variable product's own values follow its template, once per template: when the template changed (its
        # every variant is then requested), not for a change of one variant
        updates += [dict(self._parent_values(template), id=int(parent_id)) for parent_id, template in parents.items()
                    if not (template.with_context(active_test=False).product_variant_ids.filtered("default_code")
                            - products)]
        if updates:
            client.batch_update_products(updates)
        for parent_id, rows in variations.items():
            client.batch_update_variations(parent_id, rows)
        self._remember_images()
        if creates:
            made = client.batch_create_products([values for _product, values in creates])
            self._bind_products_apart([(item["id"], product, {"sync_state": "synced", "channel_ref": False,
                                                              **self._digest_sent(product, values)})
                                       for (product, values), item in zip(creates, made) if item.get("id")])
        for template in new_variable:
            refused.update(self._export_variable(client, template, products))
        self._remember_images()
        return {r.id: refused[r.res_id] for r in requests if r.res_id in refused}

    # ------------------------------------------------------------------ variable products

    def _export_variable(self, client, template, requested):
        """Make the template's variants the shop lacks as variations (and the variable product itself when
        the shop has none of them); return {product id: refusal}."""
        variants = template.with_context(active_test=False).product_variant_ids.filtered("default_code")
        items = self._catalog_items(variants, client)
        parent_ids = {str(item["product_id"]) for item in items.values() if item["variation_id"]}
        simple = [p for p in variants if p.id in items and not items[p.id]["variation_id"]]
        if simple or len(parent_ids) > 1:
            message = ("%s: the shop sells its variants as %s; variations are made under one variable product only"
                       % (template.name, "simple products" if simple else "variations of several products"))
            return {p.id: message for p in requested & variants}
        missing = variants.filtered(lambda p: p.id not in items and (p.active or p in requested))
        if not missing:
            return {}
        if parent_ids:
            parent_id = int(next(iter(parent_ids)))
            # the new values must be options of the product before variations can use them
            client.batch_update_products([dict(self._parent_values(template), id=parent_id)])
        else:
            parent_values = self._parent_values(template)
            [parent] = client.batch_create_products([dict(parent_values, type="variable")])
            parent_id = int(parent["id"])
        rows = [self._variation_create_values(variant) for variant in missing]
        refused = {}
        try:
            made = client.batch_create_variations(parent_id, rows)
        except ChannelValidationError as exc:
            made = getattr(exc, "results", None)
            if made is None:
                raise
            for variant, result in zip(missing, made):
                if not result.get("id"):
                    refused[variant.id] = str(exc)
        self._bind_products_apart([
            (result["id"], variant, {"sync_state": "synced", "channel_ref": str(parent_id),
                                     **self._digest_sent(variant, parent_values if not parent_ids else {})})
            for variant, result in zip(missing, made) if result.get("id")])
        return refused

    def _catalog_items(self, products, client):
        """Return {product id: shop item} as the stock and price exports find them, archived products included
        (their bindings are archived with them: an archived product is still unpublished on the shop)."""
        items = {}
        for b in self.env["retail.product.binding"].with_context(active_test=False).search_read(
                [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids),
                 ("odoo_id.active", "=", False), ("external_id", "!=", False), ("sync_state", "=", "synced")],
                ["odoo_id", "external_id", "channel_ref"]):
            items[b["odoo_id"][0]] = {"id": b["external_id"], "product_id": b["channel_ref"] or b["external_id"],
                                      "variation_id": b["external_id"] if b["channel_ref"] else None}
        rest = products.filtered(lambda p: p.id not in items)
        if rest:
            found, _known = self.component(usage="woocommerce.products")._items_of(rest, client, domain="catalog")
            items.update(found)
        return items

    def _parent_values(self, template):
        """The variable product's own values: name, description, status, attributes and images."""
        values = {"name": template.name, "status": "publish" if template.active and template.sale_ok else "draft",
                  # an attribute with one value tells the product's variants nothing apart: shown, not a variation's
                  "attributes": [{"name": line.attribute_id.name, "options": line.value_ids.mapped("name"),
                                  "visible": True, "variation": len(line.value_ids) > 1}
                                 for line in template.attribute_line_ids if line.value_ids]}
        if self.backend_record._owner_of("catalog", "product", "description_sale") != "channel":
            values["description"] = template.description_sale or ""
        if self.backend_record._owner_of("catalog", "product", "name") == "channel":
            del values["name"]
        variants = template.with_context(active_test=False).product_variant_ids
        images, digest = self._images_of(template)
        if images and self._images_changed(variants, digest):
            values["images"] = [{"src": image["src"], "name": template.name, "alt": template.name} for image in images]
            self._sent.append((variants, digest))
        return values

    def _variation_create_values(self, variant):
        values = self._woo_values(variant)
        values.pop("name", None)
        values["status"] = "publish" if values["status"] == "publish" else "private"
        price = self.component(usage="pricing").channel_price(variant)
        values.update(regular_price=price["compare_at_price"] or price["price"],
                      sale_price=price["price"] if price["compare_at_price"] else "",
                      attributes=[{"name": o["name"], "option": o["value"]} for o in self._catalog_values(variant)["options"]])
        values.update(self._variation_image(variant, force=True))
        return values

    # ------------------------------------------------------------------ images
    # One digest per template (its images, see catalog_media) is kept on its variants' bindings: the
    # images go again only when it changes.

    _sent = ()

    def _images_of(self, template):
        images = template_images(template)
        return images, images_digest(images)

    def _images_changed(self, products, digest):
        sent = set(self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids)]).mapped("payload_digest"))
        return sent != {digest}

    def _product_images(self, template, product):
        """``images`` of a simple product when they changed since last sent (none when Odoo has none)."""
        images, digest = self._images_of(template)
        if not images or not self._images_changed(product, digest):
            return {}
        self._sent.append((product, digest))
        return {"images": [{"src": image["src"], "name": template.name, "alt": template.name} for image in images]}

    def _variation_image(self, variant, force=False):
        """``image`` of a variation: the variant's own image, when its template's images changed since last sent."""
        image = image_url(self.env, "variant", variant.id)
        _images, digest = self._images_of(variant.product_tmpl_id)
        if not image or (not force and not self._images_changed(variant, digest)):
            return {}
        return {"image": {"src": image["src"], "alt": variant.display_name}}

    def _remember_images(self):
        """Keep the digest of the images sent on the bindings of the products they were sent for."""
        for products, digest in self._sent:
            self.env["retail.product.binding"].search(
                [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids),
                 ("payload_digest", "!=", digest)]).write({"payload_digest": digest})
        self._sent = []

    def _digest_sent(self, product, values):
        """Binding values of a product made with ``values``: the digest of the images they carried."""
        if not values.get("images"):
            return {}
        return {"payload_digest": self._images_of(product.product_tmpl_id)[1]}

    def _woo_values(self, product):
        values = self._catalog_values(product)
        row = {"sku": values["sku"], "status": "publish" if values["active"] else "draft"}
        if "name" in values:
            row["name"] = values["name"]
        if "description" in values:
            row["description"] = values["description"] or ""
        if "barcode" in values:
            row["global_unique_id"] = values["barcode"] or ""
        if values.get("weight"):
            row["weight"] = "%g" % values["weight"]
        return row




class WooCustomersReconciler(Component):
    """Registered customers modified since the checkpoint into the inbox: the polled fallback of the
    ``customer.created|updated`` webhooks, run by the customers policy's schedule.

    WooCommerce's customers endpoint has no date filter (no ``modified_after``, unlike orders): every
    customer is read page after page and those modified before the checkpoint, or whose binding
    already holds that version, are left out.
    """

    _name = "retail.woocommerce.customers.reconciler"
    _inherit = "retail.changes.batch.importer"
    _usage = "customers.reconciler"
    _backend_type = "woocommerce"
    _resume = "cursor"  # the page number: customers come oldest registration first
    _domain = "customers"
    _topic = POLLED_CUSTOMER_TOPIC
    _binding_model = "retail.partner.binding"

    def _fetch_changes(self, since):
        since = since.replace(tzinfo=timezone.utc) if since else None
        for customer in self.component(usage="backend.adapter").client().iter_customers(
                page=self._page_cursor, on_page=self._keep_cursor):
            modified = _woo_time(customer.get("date_modified_gmt") or customer.get("date_created_gmt"))
            if since is None or modified is None or modified >= since:
                yield customer

    def _key_of(self, data):
        return str(data["id"]) if isinstance(data, dict) and data.get("id") not in (None, "") else None

    def _stamp_of(self, data):
        stamp = _woo_time(data.get("date_modified_gmt") or data.get("date_created_gmt")) if isinstance(data, dict) else None
        return stamp.replace(tzinfo=None) if stamp else None


class WooCustomerExporter(Component):
    """Partners of a backend whose customers Odoo owns, created or updated with ``customers/batch`` (100 a
    call); a partner the shop does not know yet is bound to the customer made. The consent goes in the
    ``accepts_marketing`` meta read back from the shop's customers."""

    _name = "retail.woocommerce.customer.exporter"
    _inherit = "retail.customer.exporter.base"
    _backend_type = "woocommerce"

    def export(self, requests):
        client = self.component(usage="backend.adapter").client()
        creates, updates, refused = [], [], {}
        for partner in self._partners(requests):
            customer = self._canonical_customer(partner)
            if not customer.email:
                refused[partner.id] = "%s has no e-mail: WooCommerce needs one to make a customer" % partner.display_name
                continue
            (updates if customer.external_id else creates).append((partner, customer_to_woo(customer)))
        try:
            done = client.batch_customers([row for _p, row in creates], [row for _p, row in updates])
        except ChannelValidationError as exc:
            done = getattr(exc, "results", None)
            if done is None:
                raise
            for detail in exc.details or []:
                for partner, row in creates + updates:
                    if (detail.get("id") and detail.get("id") == row.get("id")) or (
                            not detail.get("id") and detail.get("email") == row.get("email")):
                        refused[partner.id] = "WooCommerce refused the customer: %s [%s]" % (
                            detail.get("message"), detail.get("code"))
        made = []
        for (partner, _row), result in zip(creates, done.get("create") or []):
            if result.get("id"):
                stamp = _woo_time(result.get("date_modified_gmt"))
                made.append((str(result["id"]), partner, {"external_updated_at": stamp.replace(tzinfo=None) if stamp
                                                          else False}))
        refused.update(self._bind_customers(made))
        for (_partner, _row), result in zip(updates, done.get("update") or []):
            if result.get("id"):
                _remember_customer_version(self, str(result["id"]), _woo_time(result.get("date_modified_gmt")))
        return {r.id: refused[r.res_id] for r in requests if r.res_id in refused}
