# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Shopify plugged into the shared pipeline: protocol in lib/shopify, pipeline in the base."""

import html
import math
from datetime import timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.components.customer_exporter import (
    remember_customer_version as _remember_customer_version,
)
from odoo.addons.retail_connector_base.lib.canonical import parse_timestamp
from odoo.addons.retail_connector_base.lib.http import ChannelNotFound
from odoo.addons.retail_connector_base.lib.http import ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from .catalog_media import images_digest, template_images
from ..lib.shopify.fulfillment import plan_fulfillment  # noqa: F401  (re-exported for tests)
from ..lib.shopify.ids import numeric_id
from ..lib.shopify.queries import SKUS_PER_SEARCH
from ..lib.shopify.mapping import (
    customer_input,
    customer_to_canonical,
    graphql_customer_to_rest,
    graphql_order_to_canonical,
    order_to_canonical,
    payout_to_canonical,
    refund_to_canonical,
)

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")
CUSTOMER_TOPICS = ("customers/create", "customers/update")
# Shopify's mandatory compliance webhooks (configured with the app, not through the API)
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
WEBHOOK_TOPICS = ORDER_TOPICS + ("refunds/create",) + CUSTOMER_TOPICS
POLLED_TOPIC = "orders/polled"
# customers read by the customers policy's scheduled run (REST customer shape, as the webhooks')
POLLED_CUSTOMER_TOPIC = "customers/polled"
CUSTOMER_READ_TOPICS = CUSTOMER_TOPICS + (POLLED_CUSTOMER_TOPIC,)
# seconds a reconciliation's page waits for the shop's query cost bucket to refill
RECONCILIATION_WAIT = 30.0


def _refund_time(data):
    """Return when a refund was made, so that it is applied after the order version before it."""
    try:
        return parse_timestamp(data.get("processed_at") or data.get("created_at"))
    except (TypeError, ValueError):
        return None


def _customer_time(data):
    try:
        return parse_timestamp(data.get("updated_at") or data.get("created_at"))
    except (TypeError, ValueError):
        return None


class ShopifyConnectionTester(Component):
    _name = "retail.shopify.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "shopify"

    def test_connection(self):
        shop = self.component(usage="backend.adapter").client().shop()
        return self.env._("Connected to %(name)s (%(currency)s), Admin API %(version)s.",
                          name=shop.get("name"), currency=shop.get("currencyCode"), version=self.backend_record.api_version)


class ShopifyEventParser(Component):
    """Shopify webhooks: ``X-Shopify-Topic``, the REST order shape, ``X-Shopify-Webhook-Id``."""

    _name = "retail.shopify.event.parser"
    _inherit = "retail.storefront.event.parser"
    _backend_type = "shopify"
    _aggregate_field = "id"
    _polled_topic = POLLED_TOPIC
    _topics = dict(
        {topic: ("orders", "order") for topic in ORDER_TOPICS},
        **{"refunds/create": ("returns", "order"), POLLED_TOPIC: ("orders", "order")},
        **{topic: ("customers", "customer") for topic in CUSTOMER_READ_TOPICS},
        **{topic: ("customers", "privacy") for topic in COMPLIANCE_TOPICS},
    )

    _body_needed_at_ack = False

    def topic_of(self, headers, resource=None, data=None):
        return (headers.get("X-Shopify-Topic") or "").strip()

    @staticmethod
    def _delivery_id(headers):
        # the webhook id is the same on every retry of one delivery
        return headers.get("X-Shopify-Webhook-Id") or headers.get("X-Shopify-Event-Id")

    def envelope(self, topic, headers, data, body):
        return self._header_envelope(topic, self._delivery_id(headers), body)

    def _map_order(self, data):
        return order_to_canonical(data)

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        if not isinstance(data, dict):
            raise SchemaError("a Shopify webhook body is a JSON object", details=[{"field": "", "message": "not an object"}])
        stamp = None
        if topic in COMPLIANCE_TOPICS:
            customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
            key = numeric_id(customer.get("id")) or str(data.get("shop_id") or data.get("shop_domain") or "shop")
        elif topic in CUSTOMER_READ_TOPICS:
            key, stamp = self._canonical(customer_to_canonical, data).external_id, _customer_time(data)
        elif topic == "refunds/create":
            key, stamp = numeric_id(data.get("order_id")), _refund_time(data)
            if not key:
                raise SchemaError("refund without order_id", details=[{"field": "order_id", "message": "is required"}])
        else:
            key, stamp = self._order_key(topic, data)
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=key,
                            idempotency_key=(self._delivery_id(headers) or "").strip() or self._digest_key(body),
                            channel_timestamp=stamp)


class ShopifyEventProcessor(Component):
    """Orders by the backend's import rule; refunds through the shared refund writer."""

    _name = "retail.shopify.event.processor"
    _inherit = "retail.shop.event.processor"
    _backend_type = "shopify"

    def process(self, event, data):
        if event.topic in CUSTOMER_READ_TOPICS:
            return self._apply_channel_customer(customer_to_canonical(data), event)
        if event.topic in COMPLIANCE_TOPICS:
            return self._compliance(event, data)
        if event.topic == "refunds/create":
            return self._record_refund(event, data)
        return self._process_order(event, data)

    def _compliance(self, event, data):
        """Shopify's privacy requests: a customer's data erased or exported, or the whole shop's erased."""
        backend = self.backend_record
        customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
        customer_id = numeric_id(customer.get("id")) if customer.get("id") else None
        if event.topic == "shop/redact":
            return "redacted: %s" % backend._redact_shop(), None
        if event.topic == "customers/redact":
            return "redacted: %s" % backend._redact_customer(
                customer_id, customer.get("email"), [numeric_id(o) for o in data.get("orders_to_redact") or []]), None
        request = data.get("data_request") if isinstance(data.get("data_request"), dict) else {}
        attachment = backend._customer_data_export(
            customer_id, customer.get("email"), [numeric_id(o) for o in data.get("orders_requested") or []],
            request_id=request.get("id"))
        return "data exported for a person to send", attachment

    def _record_refund(self, event, data):
        binding = self.binder_for("retail.sale.order.binding").to_internal(event.aggregate_key)
        currency = binding.odoo_id.currency_id.name if binding else None
        refund = refund_to_canonical(data, currency=currency)
        record, outcome = self.component(usage="refund.writer", model_name="retail.refund").apply(refund)
        return outcome, record


class ShopifyOrdersReconciler(Component):
    """Orders updated since the checkpoint (GraphQL ``orders(query: "updated_at:>=...")``) into the inbox."""

    _name = "retail.shopify.orders.reconciler"
    _inherit = "retail.changes.batch.importer"
    _usage = "orders.reconciler"
    _backend_type = "shopify"
    _domain = "orders"
    _topic = POLLED_TOPIC
    _binding_model = "retail.sale.order.binding"
    _resume = "stamp"  # oldest change first, inclusive bound

    def _fetch_changes(self, since):
        from datetime import datetime, timezone  # noqa: PLC0415

        since = since.replace(tzinfo=timezone.utc) if since else datetime(2000, 1, 1, tzinfo=timezone.utc)
        # a background read: a page of orders costs most of the shop's bucket; in a job it stops for the bucket
        # to refill and continues later, otherwise it waits for it
        client = self.component(usage="backend.adapter").client(max_throttle_wait=self._read_wait(RECONCILIATION_WAIT))
        for node in client.iter_orders_updated_since(since):
            yield graphql_order_to_canonical(node).to_dict()


class ShopifyVariantsMixin(Component):
    """Finds (and remembers in product bindings) the Shopify variants of Odoo products by SKU."""

    _name = "retail.shopify.variants"
    _inherit = "retail.exporter"
    _usage = "shopify.variants"
    _backend_type = "shopify"

    def lookups_for(self, count):
        """Return how many searches finding ``count`` products' variants by SKU make (one page each)."""
        return math.ceil(count / SKUS_PER_SEARCH)

    def variants_of(self, products):
        """Return {product id: {variant_id, product_id, inventory_item_id}} for products the shop has."""
        client = self.component(usage="backend.adapter").client()
        skus = {p.default_code: p for p in products if p.default_code}
        found = client.find_variants_by_sku(skus)
        result = {}
        for sku, variant in found.items():
            result[skus[sku].id] = variant
        self._bind_products_apart([
            (numeric_id(variant["variant_id"]), skus[sku], {"sync_state": "synced",
                                                            "channel_ref": variant.get("inventory_item_id") or False})
            for sku, variant in found.items()])
        return result

    def inventory_items_of(self, products, refresh=False):
        """Return ({product id: inventory item id}, products whose item came from their binding).

        The bindings remember each variant's inventory item: only products without one are
        looked up on the shop (one search per 50 SKUs), and bound on the way, together with
        products likely sent next that fill the last search (``_lookup_companions``).
        ``refresh`` looks every product up again, alone.
        """
        known = {}
        if not refresh:
            bindings = self.env["retail.product.binding"].search_read(
                [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", products.ids),
                 ("channel_ref", "!=", False)], ["odoo_id", "channel_ref"])
            known = {b["odoo_id"][0]: b["channel_ref"] for b in bindings}
        unknown = products.filtered(lambda p: p.id not in known)
        found = {}
        if unknown:
            # the rest of the last search is filled with products likely sent next (bound on the way)
            companions = self.env["product.product"]
            if not refresh:
                room = -len({p.default_code for p in unknown if p.default_code}) % SKUS_PER_SEARCH
                companions = self._lookup_companions(unknown, room, "inventory")
            variants = self.variants_of(unknown | companions)
            self._remember_not_on_channel(companions.filtered(lambda p: p.id not in variants))
            own = set(unknown.ids)
            found = {pid: v["inventory_item_id"] for pid, v in variants.items()
                     if pid in own and v.get("inventory_item_id")}
        if refresh:
            # a variant gone from the shop: its binding no longer names an inventory item
            self.env["retail.product.binding"].search(
                [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", (products - products.browse(list(found))).ids),
                 ("channel_ref", "!=", False)]).write({"channel_ref": False})
        return {**known, **found}, products.browse(list(known))


class ShopifyInventoryExporter(Component):
    """Available to sell per mapped location with ``inventorySetQuantities``, 250 per call.

    The inventory items come from the product bindings; when the shop refuses an item a
    binding gave (deleted or replaced variant), the items are looked up again and the call is
    made once more.
    """

    _name = "retail.shopify.inventory.exporter"
    _inherit = "retail.inventory.exporter.base"
    _backend_type = "shopify"
    _sold_item = "Shopify variant"
    _batch_size = 250

    def _locations(self):
        return self.backend_record._shopify_locations()

    def max_requests(self, requests):
        # look-ups of the products without a remembered inventory item and the writes (250 quantities a call);
        # the shop's locations are read first when none is mapped yet. An item the shop refuses (rare) is looked
        # up again with tokens taken one by one: the bindings found are kept apart, a run sent again starts from them
        backend = self.backend_record
        products = self._products_of(requests)
        remembered = self.env["retail.product.binding"].search_count(
            [("backend_id", "=", backend.id), ("odoo_id", "in", products.ids), ("channel_ref", "!=", False)])
        writes = math.ceil(len(products) * max(len(backend.location_map_ids), 1) / 250)
        need = self.component(usage="shopify.variants").lookups_for(len(products) - remembered) + writes
        return max(need + (0 if backend.location_map_ids else 1), 1)

    def _send_levels(self, requests, products, levels):
        variants = self.component(usage="shopify.variants")
        items, remembered = variants.inventory_items_of(products)
        levels = dict(levels)

        def quantities():
            return [{"inventory_item_id": items[p.id], "location_id": location_id, "quantity": level[p.id]}
                    for location_id, level in levels.items() for p in products if p.id in items]

        client = self.component(usage="backend.adapter").client()
        if items:
            try:
                client.set_inventory(quantities(), reason="correction")
            except ChannelValidationError:
                if not remembered:
                    raise
                items, _remembered = variants.inventory_items_of(products, refresh=True)
                if items:
                    client.set_inventory(quantities(), reason="correction")
        return self._refuse_unsold(requests, products, items)


class ShopifyPricingExporter(Component):
    """Prices from the backend's pricelist with ``productVariantsBulkUpdate``, one call per product."""

    _name = "retail.shopify.pricing.exporter"
    _inherit = "retail.exporter"
    _usage = "pricing.exporter"
    _backend_type = "shopify"

    def max_requests(self, requests):
        # the variants found by SKU, then one update per shop product (one per Odoo product at most)
        count = len(requests)
        return self.component(usage="shopify.variants").lookups_for(count) + count

    def export(self, requests):
        products = self._products_of(requests)
        variants = self.component(usage="shopify.variants").variants_of(products)
        by_product = {}
        pricing = self.component(usage="pricing")
        for product in products.filtered(lambda p: p.id in variants):
            price = pricing.channel_price(product)
            variant = variants[product.id]
            by_product.setdefault(variant["product_id"], []).append(
                {"id": variant["variant_id"], "price": price["price"], "compare_at_price": price["compare_at_price"]}
            )
        client = self.component(usage="backend.adapter").client()
        for product_id, rows in by_product.items():
            client.update_variant_prices(product_id, rows)


class ShopifyFulfilmentExporter(Component):
    """A done delivery becomes fulfilments with tracking, through the order's fulfilment orders.

    Shopify takes no idempotency key here: the quantities are planned from what is still open
    on the fulfilment orders, so a resend after a lost answer finds nothing left to fulfil.
    """

    _name = "retail.shopify.fulfilment.exporter"
    _inherit = "retail.exporter"
    _usage = "fulfilment.exporter"
    _backend_type = "shopify"
    _batch_size = 1

    def max_requests(self, requests):
        # the order's fulfilment orders, then a fulfilment per location they are assigned to (rarely more than two)
        return 3

    def export(self, requests):
        picking, binding, quantities = self._fulfilment_of(requests)
        if not picking:
            return
        self.component(usage="backend.adapter").client().fulfill(
            binding.external_id,
            quantities,
            tracking_number=picking.carrier_tracking_ref or None,
            tracking_company=picking.carrier_id.name if picking.carrier_id else None,
            notify_customer=True,
        )


class ShopifyRefundExporter(Component):
    """A return's refund made on the Shopify order with ``refundCreate``.

    The money goes back through the order's gateway for the returned lines (not restocked by
    Shopify: the goods come back through the retailer's warehouse). The return's name leads the
    refund's note: a refund already made for it is found instead of made twice.
    """

    _name = "retail.shopify.refund.exporter"
    _inherit = "retail.refund.exporter"
    _backend_type = "shopify"

    def _channel_refunds(self, binding):
        for existing in self.component(usage="backend.adapter").client().order_refunds(binding.external_id):
            yield existing.get("note"), {"external_id": existing["legacyResourceId"],
                                         "amount": existing["totalRefundedSet"]["shopMoney"]["amount"]}

    def _make_refund(self, ret, binding):
        client = self.component(usage="backend.adapter").client()
        order = client.get_order(binding.external_id)
        if order is None:
            raise ChannelNotFound("Shopify has no order %s for return %s" % (binding.external_id, ret.name))
        lines = {}
        for node in (order.get("lineItems") or {}).get("nodes") or []:
            lines.setdefault(node.get("sku"), node)
        items = [{"id": lines[line.sku or line.product_id.default_code]["id"], "quantity": int(line.quantity)}
                 for line in ret.line_ids if (line.sku or line.product_id.default_code) in lines]
        gateway = binding.channel_payment_gateway or ((order.get("paymentGatewayNames") or [None])[0]) or "manual"
        made = client.create_refund(binding.external_id, ret.currency_id._channel_amount(ret.amount), gateway=gateway, note=self._reason(ret),
                                    line_items=items)
        return {"external_id": made["legacyResourceId"], "amount": made["totalRefundedSet"]["shopMoney"]["amount"]}


class ShopifyPayoutImporter(Component):
    """Shopify Payments payouts and their balance transactions (``shopifyPaymentsAccount``)."""

    _name = "retail.shopify.payout.importer"
    _inherit = "retail.payout.importer"
    _backend_type = "shopify"
    _resume = "cursor"  # the last payout imported, oldest first

    def _fetch_payouts(self, since, until):
        client = self.component(usage="backend.adapter").client(max_throttle_wait=self._read_wait(RECONCILIATION_WAIT))
        bound = until.replace(tzinfo=timezone.utc) if until else None
        # oldest first: a read that stopped continues after the last payout it imported (issued at, id)
        done = tuple(self._page_cursor) if self._page_cursor else None
        for node in client.payouts(since.replace(tzinfo=timezone.utc) if since else None):
            if bound and parse_timestamp(node["issuedAt"]) >= bound:
                continue
            key = (node["issuedAt"], node["id"])
            if done and key <= done:
                continue
            yield payout_to_canonical(node, client.balance_transactions(node["id"]))
            self._keep_cursor(list(key))

    def _fetch_payout(self, external_id):
        client = self.component(usage="backend.adapter").client(max_throttle_wait=RECONCILIATION_WAIT)
        for node in client.payouts():
            if numeric_id(node.get("legacyResourceId") or node["id"]) == str(external_id):
                return payout_to_canonical(node, client.balance_transactions(node["id"]))
        raise ChannelValidationError(
            self.env._("Shopify has no payout %(id)s on %(backend)s.", id=external_id, backend=self.backend_record.name))


def _variant_pages(reconciler):
    """Return the shop's variant pages for a reconciler (``iter_variant_pages``), from the page cursor its read kept
    when it stopped (and keeping the next one's): a background read, which may wait for the cost bucket, or stop
    for it in a job."""
    client = reconciler.component(usage="backend.adapter").client(
        max_throttle_wait=reconciler._read_wait(RECONCILIATION_WAIT))
    return client.iter_variant_pages(after=reconciler._page_cursor, on_cursor=reconciler._keep_cursor)


class ShopifyInventoryReconciler(Component):
    """The shop's available quantities (variants page after page, per mapped location) against Odoo's."""

    _name = "retail.shopify.inventory.reconciler"
    _inherit = "retail.inventory.reconciler.base"
    _usage = "inventory.reconciler"
    _backend_type = "shopify"
    _resume = "cursor"

    def _locations(self):
        return self.backend_record._shopify_locations()

    def _channel_stock_pages(self):
        mapped = {str(location_id) for location_id, _locations in self._locations()}
        for page in _variant_pages(self):
            yield [{"sku": v["sku"], "location_id": location_id, "quantity": quantity}
                   for v in page if v["sku"] for location_id, quantity in v["levels"].items()
                   if str(location_id) in mapped]


class ShopifyPricingReconciler(Component):
    """The shop's variant prices (page after page) against the backend's pricelist."""

    _name = "retail.shopify.pricing.reconciler"
    _inherit = "retail.pricing.reconciler.base"
    _usage = "pricing.reconciler"
    _backend_type = "shopify"
    _resume = "cursor"

    def _channel_price_pages(self):
        backend = self.backend_record
        # variant prices are in the shop's currency, which the exporter takes to be the pricelist's
        currency = (backend.pricelist_id.currency_id or backend.company_id.currency_id).name
        for page in _variant_pages(self):
            yield [{"sku": v["sku"], "price": v["price"], "currency": currency} for v in page if v["sku"] and v["price"]]


class ShopifyCatalogExporter(Component):
    """A product template with its variants, created or updated in one ``productSet`` per product.

    The shop's product is the one of a variant found by SKU (then bound); the template's options
    become the product's options, each sellable variant (with a SKU) one of its variants, with its
    SKU, barcode and weight; a new variant takes the backend's price (later price changes are the
    pricing policy's). A template archived in Odoo archives the product, one no longer sold puts it
    in draft; a variant archived in Odoo is no longer listed, and Shopify deletes it. Bindings keep
    the variants' ids and inventory items.
    """

    _name = "retail.shopify.catalog.exporter"
    _inherit = "retail.catalog.exporter.base"
    _usage = "catalog.exporter"
    _backend_type = "shopify"
    _batch_size = 50

    def max_requests(self, requests):
        # per template: its variants found by SKU, then one ``productSet``
        products = self._products_of(requests, archived=True)
        finder = self.component(usage="shopify.variants")
        return max(sum(finder.lookups_for(len(t.with_context(active_test=False).product_variant_ids.filtered("default_code")))
                       + 1 for t in products.product_tmpl_id), 1)

    def export(self, requests):
        products = self._products_of(requests, archived=True)
        client = self.component(usage="backend.adapter").client()
        finder = self.component(usage="shopify.variants")
        refused = {}
        for template in products.product_tmpl_id:
            variants = template.with_context(active_test=False).product_variant_ids
            for product in (variants - variants.filtered("default_code")) & products:
                refused[product.id] = "%s has no internal reference (SKU): Shopify identifies variants by SKU" % (
                    product.display_name)
            sellable = variants.filtered("default_code")
            if not sellable:
                continue
            found = finder.variants_of(sellable)
            shop_products = sorted({v["product_id"] for v in found.values() if v.get("product_id")})
            listed = sellable.filtered("active")
            values = self._catalog_values(listed[:1] or sellable[:1])
            payload = {
                "id": numeric_id(shop_products[0]) if shop_products else None,
                "title": values.get("name") or template.name,
                "status": "ACTIVE" if template.active and template.sale_ok else "DRAFT" if template.active else "ARCHIVED",
                # an attribute with one value is no option: Odoo's variants carry no value of it
                "options": [{"name": line.attribute_id.name, "values": line.value_ids.mapped("name")}
                            for line in template.attribute_line_ids
                            if template.product_variant_count > 1 and len(line.value_ids) > 1],
                "variants": [self._variant_row(variant, found.get(variant.id)) for variant in listed]
                or [self._variant_row(variant, found.get(variant.id)) for variant in sellable],
            }
            if "description" in values:
                payload["description_html"] = "<p>%s</p>" % html.escape(values["description"]) if values["description"] \
                    else ""
            images, digest = self._changed_images(template, sellable)
            if images:
                payload["images"] = [{"src": image["src"], "alt": template.name} for image in images]
            made = client.set_product(payload)
            by_sku = {p.default_code: p for p in sellable}
            extra = {"payload_digest": digest} if images else {}
            self._bind_products_apart([
                (numeric_id(v["id"]), by_sku[v["sku"]], {"sync_state": "synced", "channel_ref": v["inventory_item_id"] or False,
                                                         **extra})
                for v in made["variants"] if v.get("sku") in by_sku])
        return {r.id: refused[r.res_id] for r in requests if r.res_id in refused}

    def _changed_images(self, template, variants):
        """Return (images, digest) of the template when they differ from those last sent (kept on its variants'
        bindings), else ([], digest): unchanged images are not sent again, nor are a product's images
        replaced when Odoo has none."""
        images = template_images(template)
        digest = images_digest(images)
        if not digest:
            return [], None
        sent = set(self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend_record.id), ("odoo_id", "in", variants.ids)]).mapped("payload_digest"))
        return (images if sent != {digest} else []), digest

    def _variant_row(self, variant, found):
        values = self._catalog_values(variant)
        row = {"id": numeric_id(found["variant_id"]) if found else None, "sku": variant.default_code,
               "options": {o["name"]: o["value"] for o in values["options"]}, "weight_kg": variant.weight or None}
        if "barcode" in values:
            row["barcode"] = values["barcode"]
        if not found and self.backend_record._owner_of("pricing", "product", "list_price") == "odoo":
            row["price"] = self.component(usage="pricing").channel_price(variant)["price"]
        return row




class ShopifyCustomersReconciler(Component):
    """Customers updated since the checkpoint (GraphQL ``customers(query: "updated_at:>=...")``, page after
    page) into the inbox: the polled fallback of the ``customers/create|update`` webhooks, run by the
    customers policy's schedule. Those whose binding already holds that version are left out."""

    _name = "retail.shopify.customers.reconciler"
    _inherit = "retail.changes.batch.importer"
    _usage = "customers.reconciler"
    _backend_type = "shopify"
    _domain = "customers"
    _topic = POLLED_CUSTOMER_TOPIC
    _binding_model = "retail.partner.binding"
    _resume = "stamp"  # oldest change first, inclusive bound

    def _fetch_changes(self, since):
        from datetime import datetime  # noqa: PLC0415

        since = since.replace(tzinfo=timezone.utc) if since else datetime(2000, 1, 1, tzinfo=timezone.utc)
        client = self.component(usage="backend.adapter").client(max_throttle_wait=self._read_wait(RECONCILIATION_WAIT))
        for node in client.iter_customers_updated_since(since):
            yield graphql_customer_to_rest(node)

    def _key_of(self, data):
        return str(data["id"]) if isinstance(data, dict) and data.get("id") else None


class ShopifyCustomerExporter(Component):
    """Partners of a backend whose customers Odoo owns, created or updated on the shop (``customerCreate``,
    ``customerUpdate``; the consent with ``customerEmailMarketingConsentUpdate`` when it changed), one call a
    customer; a partner the shop does not know yet is bound to the customer made."""

    _name = "retail.shopify.customer.exporter"
    _inherit = "retail.customer.exporter.base"
    _backend_type = "shopify"
    _batch_size = 50

    def max_requests(self, requests):
        # a customer made, or updated and its consent after it
        return 2 * len(requests)

    def export(self, requests):
        client = self.component(usage="backend.adapter").client()
        refused = {}
        for partner in self._partners(requests):
            customer = self._canonical_customer(partner)
            if not customer.email and not customer.phone:
                refused[partner.id] = "%s has no e-mail or phone: Shopify needs one to make a customer" % partner.display_name
                continue
            try:
                node = client.save_customer(customer_input(customer), accepts_marketing=customer.accepts_marketing)
            except ChannelValidationError as exc:
                refused[partner.id] = str(exc)
                continue
            if not node:
                continue
            external_id = str(node.get("legacyResourceId") or numeric_id(node["id"]))
            stamp = _customer_time({"updated_at": node.get("updatedAt")})
            if customer.external_id:
                _remember_customer_version(self, external_id, stamp)
            else:
                refused.update(self._bind_customers([(external_id, partner, {
                    "external_updated_at": stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp else False})]))
        return {r.id: refused[r.res_id] for r in requests if r.res_id in refused}
