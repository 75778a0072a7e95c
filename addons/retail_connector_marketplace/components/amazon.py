# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Amazon (Selling Partner API) plugged into the shared pipeline: protocol in lib/amazon, pipeline in the base.

Orders come in two ways into the same inbox: ORDER_CHANGE notifications read from the SQS
queue (the backend's scheduled read and the orders policy's run), and ``getOrders`` by
``LastUpdatedAfter`` (the orders reconciliation). Either way an event holds the canonical order
read from the SP-API.

Returns come from the returns reports (Reports API), read on the returns policy's run from its
checkpoint: each return (an RMA) is an event of the inbox holding the canonical return, which
the shared return writer records and authorises; a report row that cannot be read is an event
that fails with the row, the column and the value at fault.
"""

import hashlib
from datetime import datetime, timedelta, timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.components.errors import RetailMappingError
from odoo.addons.retail_connector_base.lib.canonical import Order, Return
from odoo.addons.retail_connector_base.lib.http import ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from ..lib.amazon.client import amz_time, price_patch, quantity_patch
from ..lib.amazon.finance import group_to_canonical
from ..lib.amazon.mapping import AFN
from ..lib.amazon.returns import ReportFormatError, ReportRowError, error_data, is_error_data, returns_of_report
from ..models.retail_backend_amazon import ORDER_TOPIC, RETURN_TOPIC

# a few SKUs go through patchListingsItem one by one; more in one JSON_LISTINGS_FEED
PATCH_MAX = 5
# how long a flush waits for Amazon to process its feed before trying again later
FEED_TIMEOUT = 120.0
FEED_POLL_INTERVAL = 2.0
# how long a returns run waits for Amazon to make a report before leaving it to the next run
REPORT_TIMEOUT = 120.0
REPORT_POLL_INTERVAL = 2.0
# in a job, Amazon is asked for a report this long at most; then the worker is freed and the run comes back
# for it REPORT_RECHECK seconds later
REPORT_JOB_WAIT = 4.0
REPORT_RECHECK = 30
# how far back the first returns run reads
RETURNS_FIRST_DAYS = 30


class AmazonConnectionTester(Component):
    _name = "retail.amazon.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "amazon"

    def test_connection(self):
        backend = self.backend_record
        client = self.component(usage="backend.adapter").client(max_wait=5.0)
        since = datetime.now(timezone.utc) - timedelta(days=1)
        orders = client.iter_orders(backend._amazon_marketplaces(), last_updated_after=since, page_size=1)
        first = next(orders, None)
        return self.env._("Connected to the Selling Partner API (%(endpoint)s): %(orders)s in the last day.",
                          endpoint=backend.endpoint_url,
                          orders=self.env._("orders changed") if first else self.env._("no order changed"))


class AmazonEventParser(Component):
    """Amazon orders in the inbox are canonical orders read from the SP-API (notified or polled)."""

    _name = "retail.amazon.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "amazon"
    _topics = {ORDER_TOPIC: ("orders", "order"), RETURN_TOPIC: ("returns", "return")}

    def topic_of(self, headers, resource=None, data=None):
        return ORDER_TOPIC

    def _order(self, data):
        if not isinstance(data, dict) or not data.get("external_id"):
            raise SchemaError("an Amazon order event carries the canonical order with its external_id",
                              details=[{"field": "external_id", "message": "is required"}])
        return self._canonical(Order.from_dict, data)

    def envelope(self, topic, headers, data, body):
        return self.parse(topic, headers, data, body)

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        if aggregate_type == "return":
            return self._parse_return(topic, domain, data)
        order = self._order(data)
        stamp = order.updated_at or order.created_at
        # two changes within a second (the API's precision) differ by the status they bring
        version = "order|%s|%s|%s" % (order.external_id, stamp, (order.extra or {}).get("amazon_status"))
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=order.external_id,
                            idempotency_key="amz:" + hashlib.sha256(version.encode()).hexdigest(),
                            channel_timestamp=stamp)

    def _parse_return(self, topic, domain, data):
        """A return of a returns report (canonical), or a report row that could not be read (kept to fail with
        its reason)."""
        if not isinstance(data, dict) or not data.get("external_id"):
            raise SchemaError("an Amazon return event carries the canonical return with its external_id",
                              details=[{"field": "external_id", "message": "is required"}])
        stamp = None
        if not is_error_data(data):
            stamp = self._canonical(Return.from_dict, data).created_at
        version = "return|%s|%s" % (data["external_id"], stamp)
        return InboundEvent(topic=topic, domain=domain, aggregate_type="return", aggregate_key=str(data["external_id"]),
                            idempotency_key="amz:" + hashlib.sha256(version.encode()).hexdigest(),
                            channel_timestamp=stamp)


class AmazonEventProcessor(Component):
    """Pending orders wait; paid ones become sale orders; cancelled ones cancel; FBA ones are recorded
    against the Amazon fulfilment warehouse with their delivery done (Amazon ships them)."""

    _name = "retail.amazon.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "amazon"

    def process(self, event, data):
        if event.aggregate_type == "return":
            return self._apply_report_return(data, event)
        order = Order.from_dict(data)
        if order.payment_state == "pending" and order.status == "open":
            return "deferred: the order is pending on Amazon", None
        if (order.extra or {}).get("fulfillment_channel") != AFN:
            return self._apply_order(order, event)
        return self._apply_afn_order(order, event)

    def _apply_report_return(self, data, event):
        """A return of a returns report through the shared return writer; a row that could not be read fails
        here, for good, saying what to look at."""
        if is_error_data(data):
            error = data["report_error"]
            raise RetailMappingError(self.env._(
                "Amazon %(report)s, row %(row)s (order %(order)s): %(field)s %(value)s %(message)s. Check the return in "
                "Seller Central; the return is not recorded.",
                report=error.get("report_type") or "returns report", row=error.get("row"),
                order=data.get("order_external_id") or "?", field=error.get("field"),
                value=repr(error.get("value")), message=error.get("message")), kind="invalid_report_row")
        return self._apply_return(Return.from_dict(data), event)

    def _apply_afn_order(self, order, event):
        backend = self.backend_record
        known = self.binder_for("retail.sale.order.binding").to_internal(order.external_id)
        # created at once (not with its dispatcher's batch): its delivery is recorded right after
        with backend.with_context(retail_order_batch=False).work_on("retail.event") as work:
            outcome, sale = work.component(usage="event.processor")._apply_order(order, event)
        if sale and not known and sale.state == "sale":
            self._record_afn_delivery(sale)
        return outcome, sale

    def _record_afn_delivery(self, sale):
        """Move the order's goods out of the Amazon fulfilment stock: its delivery is done, nothing to ship."""
        warehouse = self.backend_record._amazon_afn_warehouse()
        for picking in sale.picking_ids.filtered(lambda p: p.state not in ("done", "cancel")):
            picking.write({"location_id": warehouse.lot_stock_id.id})
            picking.move_ids.write({"location_id": warehouse.lot_stock_id.id, "warehouse_id": warehouse.id})
            for move in picking.move_ids:
                move.write({"quantity": move.product_uom_qty, "picked": True})
            picking.with_context(skip_sms=True, skip_backorder=True, retail_quiet_pickings=True)._action_done()
            picking.message_post(body=self.env._("Fulfilled by Amazon: recorded against %(warehouse)s, nothing to ship.",
                                                 warehouse=warehouse.name))


class AmazonOrdersReconciler(Component):
    """``getOrders`` by ``LastUpdatedAfter`` (all ``NextToken`` pages) into the inbox: the polling fallback
    of the notifications and the orders reconciliation."""

    _name = "retail.amazon.orders.reconciler"
    _inherit = "retail.changes.batch.importer"
    _usage = "orders.reconciler"
    _backend_type = "amazon"
    _domain = "orders"
    _topic = ORDER_TOPIC
    _binding_model = "retail.sale.order.binding"

    _resume = "cursor"  # getOrders' NextToken

    def _fetch_changes(self, since):
        backend = self.backend_record
        # a background read: it may wait longer for the operations' rates than an export; in a job it stops at
        # the page instead, and continues from its NextToken later
        client = self.component(usage="backend.adapter").client(max_wait=self._read_wait(60.0))
        since = since.replace(tzinfo=timezone.utc) if since else datetime.now(timezone.utc) - timedelta(days=30)

        for order in client.iter_orders(backend._amazon_marketplaces(), last_updated_after=since,
                                        next_token=self._page_cursor, on_next_token=self._keep_cursor):
            data = backend._amazon_order_data(client, order)
            if data is not None:
                yield data


class AmazonReturnsImporter(Component):
    """The returns reports (Reports API) from the returns policy's checkpoint into the inbox, on the policy's run.

    ``createReport`` with ``dataStartTime`` the checkpoint less the overlap, ``getReport`` until
    Amazon made it, then its document: each return (RMA) an event. A return read again (the
    overlap, a run done twice) is the same event and is not recorded twice. A report Amazon has
    not made within ``REPORT_TIMEOUT`` is remembered on the backend and read by the next run
    (no second report asked for); one that ends FATAL is noted on the backend and asked again.
    Either way the checkpoint stays where it was.
    """

    _name = "retail.amazon.returns.importer"
    _inherit = "retail.changes.batch.importer"
    _usage = "returns.batch"
    _apply_on = "retail.backend"
    _backend_type = "amazon"
    _domain = "returns"
    _topic = RETURN_TOPIC
    # a return's time is its request date (the report's date column): the checkpoint follows it
    _stamp_field = "created_at"

    _waiting = ()

    def run(self):
        """Read the returns reports into the inbox; a report Amazon is still making is read by the next run, and
        the checkpoint does not move meanwhile. In a job, the run does not wait minutes for it: it comes back
        ``REPORT_RECHECK`` seconds later."""
        policy = self.backend_record.policy_for(self._domain)
        checkpoint = policy.checkpoint
        self._waiting = []
        summary = super().run()
        if self._waiting:
            policy.checkpoint = checkpoint
            summary += "; report(s) %s not read (still being made, or FATAL): the next run reads them" % ", ".join(
                self._waiting)
            if self._in_job() and any(not report.endswith("(FATAL)") for report in self._waiting):
                policy._run_again_later(REPORT_RECHECK)
                summary += ", in %d s" % REPORT_RECHECK
        return summary

    def _in_job(self):
        """Return whether the run is a job's that may give its worker back (not jobs run in line)."""
        context = self.env.context
        return bool(context.get("job_uuid") and not context.get("queue_job__no_delay"))

    def _fetch_changes(self, since):
        backend = self.backend_record
        client = self.component(usage="backend.adapter").client(max_wait=60.0)
        since = (since.replace(tzinfo=timezone.utc) if since
                 else datetime.now(timezone.utc) - timedelta(days=RETURNS_FIRST_DAYS))
        marketplaces = backend._amazon_marketplaces()
        pending = dict(backend.amazon_pending_reports or {})
        for report_type in backend._amazon_returns_reports():
            report_id = (pending.get(report_type) or {}).get("id")
            if not report_id:
                report_id = client.create_report(report_type, marketplaces, data_start_time=since)
                pending[report_type] = {"id": report_id, "since": amz_time(since)}
                backend.sudo().amazon_pending_reports = dict(pending)
            try:
                timeout = min(REPORT_JOB_WAIT, REPORT_TIMEOUT) if self._in_job() else REPORT_TIMEOUT
                report = client.report_when_ready(report_id, timeout=timeout, interval=REPORT_POLL_INTERVAL)
            except ChannelValidationError as exc:
                # FATAL: noted, and asked again by the next run from the same checkpoint
                pending.pop(report_type, None)
                backend.sudo().amazon_pending_reports = dict(pending) or False
                backend.message_post(body=self.env._("Amazon could not make its %(report)s report: %(reason)s. The "
                                                     "next returns run asks for it again.", report=report_type,
                                                     reason=exc))
                self._waiting.append("%s (FATAL)" % report_id)
                continue
            if report is None:
                self._waiting.append(report_id)
                continue
            content = client.report_content(report)
            pending.pop(report_type, None)
            backend.sudo().amazon_pending_reports = dict(pending) or False
            try:
                found = returns_of_report(report_type, content)
            except ReportFormatError as exc:
                raise ChannelValidationError("Amazon's %s report cannot be read: %s" % (report_type, exc)) from None
            for item in found:
                yield error_data(item) if isinstance(item, ReportRowError) else item.to_dict()



class AmazonNotificationsBatch(Component):
    """The orders policy's run reads the notifications queue too."""

    _name = "retail.amazon.notifications.batch"
    _inherit = "retail.base"
    _usage = "orders.batch"
    _apply_on = "retail.backend"
    _backend_type = "amazon"

    def run(self):
        return self.backend_record._amazon_read_notifications()


class AmazonFulfilmentExporter(Component):
    """A done delivery of a merchant-fulfilled order: ``confirmShipment`` with carrier and tracking."""

    _name = "retail.amazon.fulfilment.exporter"
    _inherit = "retail.exporter"
    _usage = "fulfilment.exporter"
    _backend_type = "amazon"
    _batch_size = 1

    def max_requests(self, requests):
        return 2  # the order's items, then the confirmation

    def export(self, requests):
        backend = self.backend_record
        picking, binding, quantities = self._fulfilment_of(requests)
        if not picking:
            return
        afn = backend.amazon_afn_warehouse_id
        if afn and picking.location_id.warehouse_id == afn:
            return  # Amazon shipped it
        client = self.component(usage="backend.adapter").client()
        order_id = binding.external_id
        items = client.get_order_items(order_id)
        rows, left = [], dict(quantities)
        for item in items:
            sku = item.get("SellerSKU")
            if left.get(sku):
                take = min(left[sku], int(item.get("QuantityOrdered") or 0) - int(item.get("QuantityShipped") or 0))
                if take > 0:
                    rows.append({"orderItemId": item["OrderItemId"], "quantity": take})
                    left[sku] -= take
        if not rows:
            return
        shipment = picking._retail_shipment()
        marketplace = next((i.get("MarketplaceId") for i in items if i.get("MarketplaceId")), None)
        client.confirm_shipment(
            order_id, marketplace or backend._amazon_marketplaces()[0], package_reference=picking.id,
            carrier_code=shipment["carrier"] or "Other", carrier_name=shipment["carrier"] or "Other",
            tracking_number=",".join(shipment["tracking_numbers"]), items=rows,
            ship_date=picking.date_done or datetime.now(timezone.utc),
        )


class AmazonListingsExporter(Component):
    """Listing updates: ``patchListingsItem`` for a few SKUs, one ``JSON_LISTINGS_FEED`` for more.

    A SKU Amazon refuses (an INVALID submission, a rejected feed message) fails alone with
    Amazon's reason, shown on its product; the others count as sent.
    """

    _name = "retail.amazon.listings.exporter"
    _inherit = "retail.exporter"
    _usage = "amazon.listings"
    _backend_type = "amazon"

    def max_requests(self, requests):
        """Return the requests ``send`` makes at most: a patch per SKU, or a feed's document, upload, feed, first
        look at it and report (a feed still processing is looked at again, a token at a time)."""
        return len(requests) if len(requests) <= PATCH_MAX else 5

    def send(self, requests, patches_for):
        """Send ``patches_for(product)`` of the requests' products; return {request id: reason} refused."""
        backend = self.backend_record
        products = self._products_of(requests)
        patches = {self._require_sku(product): patches_for(product) for product in products}
        client = self.component(usage="backend.adapter").client()
        seller, marketplaces = backend.amazon_seller_id, backend._amazon_marketplaces()
        refused = {}
        if len(patches) <= PATCH_MAX:
            for sku, sku_patches in sorted(patches.items()):
                try:
                    client.patch_listing(seller, sku, marketplaces, sku_patches)
                except ChannelValidationError as exc:
                    refused[sku] = str(exc)
        else:
            refused = client.listings_feed(seller, marketplaces, patches, timeout=FEED_TIMEOUT,
                                           interval=FEED_POLL_INTERVAL)
        by_product = {product.id: refused[product.default_code] for product in products
                      if product.default_code in refused}
        return {r.id: "Amazon refused %s" % by_product[r.res_id] for r in requests if r.res_id in by_product}


class AmazonInventoryExporter(Component):
    """Merchant-fulfilled quantities (``fulfillment_availability``): the available to sell."""

    _name = "retail.amazon.inventory.exporter"
    _inherit = "retail.inventory.exporter.base"
    _backend_type = "amazon"
    _batch_size = 10000  # a feed takes thousands of messages

    def _locations(self):
        # one merchant-fulfilled quantity per SKU: the backend's sell locations stand for it
        return [("merchant", self.component(usage="availability").sell_locations())]

    def max_requests(self, requests):
        return self.component(usage="amazon.listings").max_requests(requests)

    def _send_levels(self, requests, products, levels):
        [(_merchant, level)] = levels
        return self.component(usage="amazon.listings").send(
            requests, lambda product: [quantity_patch(max(0, int(level.get(product.id, 0))))])


class AmazonPricingExporter(Component):
    """Prices (``purchasable_offer``) in each marketplace, from the backend's pricelist; a compare-at
    price is sent as the list price."""

    _name = "retail.amazon.pricing.exporter"
    _inherit = "retail.exporter"
    _usage = "pricing.exporter"
    _backend_type = "amazon"
    _batch_size = 10000

    def max_requests(self, requests):
        return self.component(usage="amazon.listings").max_requests(requests)

    def export(self, requests):
        backend = self.backend_record
        currency = (backend.pricelist_id.currency_id or backend.company_id.currency_id).name
        marketplaces = backend._amazon_marketplaces()
        pricing = self.component(usage="pricing")

        def patches(product):
            price = pricing.channel_price(product)
            offer = price_patch(marketplaces[0], currency, price["price"], price["compare_at_price"])
            offer["value"] = [dict(offer["value"][0], marketplace_id=m) for m in marketplaces]
            return [offer]

        return self.component(usage="amazon.listings").send(requests, patches)


class AmazonPayoutImporter(Component):
    """Financial event groups (Finances API) as payouts: one per settlement, its shipments, refunds, fees
    and reserves as lines; the base matches them to the orders and books them."""

    _name = "retail.amazon.payout.importer"
    _inherit = "retail.payout.importer"
    _backend_type = "amazon"
    _resume = "cursor"  # listFinancialEventGroups' NextToken

    def _fetch_payouts(self, since, until):
        # a background read: it may wait for the operations' rates, or stop for them in a job (NextToken kept)
        client = self.component(usage="backend.adapter").client(max_wait=self._read_wait(60.0))
        # a group starts up to a few weeks before Amazon transfers it
        start = (since or until - timedelta(days=90)) - timedelta(days=30)
        for group in client.iter_financial_event_groups(start.replace(tzinfo=timezone.utc), next_token=self._page_cursor,
                                                        on_next_token=self._keep_cursor):
            if group.get("ProcessingStatus") == "Open":
                continue  # its movements still change: the run after it closes takes it
            yield group_to_canonical(group, client.financial_events(group["FinancialEventGroupId"]))

    def _fetch_payout(self, external_id):
        client = self.component(usage="backend.adapter").client(max_wait=60.0)
        start = datetime.now(timezone.utc) - timedelta(days=180)
        for group in client.iter_financial_event_groups(start):
            if group.get("FinancialEventGroupId") == external_id:
                return group_to_canonical(group, client.financial_events(external_id))
        raise ChannelValidationError("Amazon has no financial event group %s in the last 180 days" % external_id)
