# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A 3PL over REST/JSON (the ShipBob Developer API) plugged into the shared warehouse flows.

Releases become ShipBob orders (deliveries) or warehouse receiving orders (receipts and
returns); ShipBob's webhooks enter the shared inbox keyed by their message id and confirm
transfers through the shared shipment writer; the inventory levels are the stock snapshot.
"""

from datetime import datetime, time, timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.canonical import CanonicalValidationError, Shipment, StockLevel
from odoo.addons.retail_connector_base.lib.http import ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from ..lib.threepl import mapping as threepl_mapping
from ..lib.threepl.webhooks import DEFAULT_TOPICS, TOPICS, parse_event, topic_of, verify

SHIPPED_STATES = ("shipped", "delivered")
ORDER_PREFIX, RECEIVING_PREFIX = "order-", "wro-"


class ThreePLConnectionTester(Component):
    _name = "retail.threepl.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "wms_rest"

    def test_connection(self):
        centers = self.component(usage="backend.adapter").client().list_fulfillment_centers()
        return self.env._("Connected: %(count)s fulfillment center(s): %(names)s.", count=len(centers),
                          names=", ".join(str(c.get("name")) for c in centers))


class ThreePLWebhookAuthenticator(Component):
    """Standard Webhooks: ``webhook-signature`` over ``{webhook-id}.{webhook-timestamp}.{body}``."""

    _name = "retail.threepl.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "wms_rest"

    def authenticate(self, body, headers, url):
        return verify(body, headers, self.backend_record._webhook_secrets())


class ThreePLEventParser(Component):
    """ShipBob deliveries: the topic in ``x-webhook-topic``, the dedup key in ``webhook-id``.

    Every delivery about one transfer (its reference) is one aggregate, applied in order.
    """

    _name = "retail.threepl.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "wms_rest"
    _topics = {topic: ("fulfilment", "transfer") for topic in TOPICS}

    def topic_of(self, headers, resource=None, data=None):
        return topic_of(headers) or ""

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        try:
            event = parse_event(data if isinstance(data, dict) else body, headers, topic=topic)
        except (ValueError, threepl_mapping.ThreePLMappingError) as exc:
            raise SchemaError(str(exc), details=[{"field": "", "message": str(exc)}]) from None
        result = event.result or {}
        reference = result.get("order_ref") or result.get("ref") or result.get("reference")
        if not reference:
            raise SchemaError("a ShipBob delivery names the transfer it is about (reference_id)",
                              details=[{"field": "reference_id", "message": "is required"}])
        stamp = datetime.fromtimestamp(event.timestamp, timezone.utc) if event.timestamp else None
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=str(reference),
                            idempotency_key=event.message_id or self._digest_key(body), channel_timestamp=stamp)


class ThreePLEventProcessor(Component):
    """Shipments confirm deliveries, completed receiving orders confirm receipts."""

    _name = "retail.threepl.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "wms_rest"

    def process(self, event, data):
        delivery = parse_event(data, {}, topic=event.topic)
        result = delivery.result or {}
        writer = self.component(usage="shipment.writer", model_name="retail.picking.binding")
        if delivery.kind == "order":
            outcomes, picking = [], None
            for shipment in result.get("shipments") or []:
                if shipment.get("status") in SHIPPED_STATES:
                    picking, outcome = writer.apply(_shipment(result["order_ref"], shipment))
                    outcomes.append(outcome)
            if result.get("status") == "cancelled":
                return self._exception(event.aggregate_key, "cancelled", self.env._("The warehouse cancelled the order."))
            return ", ".join(outcomes) or "nothing shipped", picking
        if delivery.kind == "shipment":
            status = result.get("status")
            if status in ("cancelled", "exception", "on_hold"):
                reason = result.get("reason") or result.get("status_details") or status
                return self._exception(event.aggregate_key, "cancelled" if status == "cancelled" else "exception",
                                       self.env._("The warehouse reports the shipment %(status)s: %(reason)s.",
                                                  status=status.replace("_", " "), reason=reason))
            return "shipment %s" % status, None
        if delivery.kind in ("receiving", "return"):
            if result.get("status") not in ("received", "completed", "incomplete"):
                return "receipt %s" % result.get("status"), None
            return writer.apply(_receipt(event.aggregate_key, result))[::-1]
        return "ignored topic %s" % event.topic, None

    def _exception(self, reference, status, message):
        binding = self.env["retail.picking.binding"].search([
            ("backend_id", "=", self.backend_record.id), "|", ("channel_ref", "=", reference), ("external_id", "=", reference),
        ], limit=1)
        if not binding:
            raise ChannelValidationError(self.env._("%(ref)s was never released to this warehouse.", ref=reference))
        binding.warehouse_status = status
        picking = binding.odoo_id
        picking.message_post(body=message)
        picking.activity_schedule("mail.mail_activity_data_warning", summary=self.env._("Warehouse exception"),
                                  note=message, user_id=picking.user_id.id or self.env.uid)
        return status, picking


def _shipment(order_ref, shipment):
    """Return the canonical Shipment of one shipped ShipBob shipment (neutral result)."""
    lines = []
    for line in shipment.get("lines") or []:
        lots = [lot for lot in line.get("lots") or [] if lot.get("lot")]
        lines.append({
            "sku": line["sku"], "quantity": line["quantity"], "lots": list(line.get("serials") or []),
            "lot_quantities": [{"lot": lot["lot"], "quantity": lot["quantity"]} for lot in lots],
        })
    try:
        return Shipment.from_dict({
            "external_id": "shipment-%s" % shipment["id"], "order_external_id": order_ref,
            "picking_reference": order_ref, "carrier": shipment.get("carrier"),
            "tracking_numbers": [shipment["tracking_number"]] if shipment.get("tracking_number") else [],
            "shipped_at": shipment.get("shipped_at"), "lines": lines,
        })
    except CanonicalValidationError as exc:
        raise ChannelValidationError("shipment %s of %s: %s" % (shipment.get("id"), order_ref, exc)) from None


def _receipt(reference, result):
    """Return the canonical Shipment of a received WRO or return: what arrived, per SKU and lot."""
    lines = []
    for line in result.get("lines") or []:
        received = line.get("received") or 0
        if not received:
            continue
        lots = [lot for lot in line.get("lots") or [] if lot.get("lot") and lot.get("quantity")]
        lines.append({"sku": line["sku"], "quantity": received, "damaged_quantity": line.get("damaged") or 0,
                      "lot_quantities": [{"lot": lot["lot"], "quantity": lot["quantity"]} for lot in lots]})
    return Shipment.from_dict({
        "external_id": "receipt-%s" % result.get("id"), "order_external_id": reference,
        "picking_reference": reference, "lines": lines,
    })


class ThreePLReleaseExporter(Component):
    """Deliveries become ShipBob orders, receipts and returns warehouse receiving orders."""

    _name = "retail.threepl.release.exporter"
    _inherit = "retail.warehouse.release.exporter"
    _backend_type = "wms_rest"

    def max_requests(self, requests):
        # a receiving order: the fulfilment centres, one look-up per SKU, the order; an address change: the
        # order's shipments and one update each (counted one per product)
        picking = self.env["stock.picking"].browse(requests.res_id).exists()
        return 2 + len(picking.move_ids.product_id)

    def _release(self, picking, document):
        client = self.component(usage="backend.adapter").client()
        try:
            if document["kind"] == "outgoing":
                body = threepl_mapping.order_body({
                    "reference": document["reference"], "order_number": document["order_ref"] or document["reference"],
                    "ship_to": document["party"], "shipping_method": document["carrier"],
                    "lines": [{"sku": line["sku"], "quantity": int(line["quantity"]), "line_ref": int(line["line_ref"]),
                               "name": line["name"]} for line in document["lines"]],
                })
                return ORDER_PREFIX + str(client.create_order(body)["id"])
            skus = [line["sku"] for line in document["lines"]]
            body = threepl_mapping.receiving_body({
                "reference": document["reference"], "fulfillment_center_id": self._fulfillment_center(client),
                "expected_date": datetime.combine(document["scheduled_date"].date(), time(12)).isoformat() + "Z",
                "lines": [{"sku": line["sku"], "quantity": int(line["quantity"])} for line in document["lines"]],
            }, client.find_inventory_ids(skus))
            return RECEIVING_PREFIX + str(client.create_receiving_order(body)["id"])
        except threepl_mapping.ThreePLMappingError as exc:
            raise ChannelValidationError(str(exc)) from None

    def _change_address(self, binding, document):
        """Every shipment of the ShipBob order that has not left goes to the new address."""
        external = binding.external_id or ""
        if not external.startswith(ORDER_PREFIX):
            return False
        client = self.component(usage="backend.adapter").client()
        try:
            body = threepl_mapping.address_update_body(document["party"], document["reference"])
        except threepl_mapping.ThreePLMappingError as exc:
            raise ChannelValidationError(str(exc)) from None
        for shipment in client.list_shipments(external[len(ORDER_PREFIX):]):
            if threepl_mapping.shipment_open(shipment):
                client.update_shipment_address(shipment["id"], body)
        return True

    def _fulfillment_center(self, client):
        mapped = self.backend_record.location_map_ids[:1]
        if mapped:
            return int(mapped.external_id)
        centers = client.list_fulfillment_centers()
        if not centers:
            raise ChannelValidationError(self.env._("The 3PL has no fulfillment center to receive goods."))
        return int(centers[0]["id"])

    def _cancel_release(self, binding):
        client = self.component(usage="backend.adapter").client()
        external = binding.external_id or ""
        if external.startswith(RECEIVING_PREFIX):
            client.cancel_receiving_order(external[len(RECEIVING_PREFIX):])
            return
        result = threepl_mapping.cancel_result(client.cancel_order(external[len(ORDER_PREFIX):]))
        if result["status"] != "cancelled":
            raise ChannelValidationError(
                self.env._("The warehouse could not cancel %(ref)s: %(reasons)s", ref=binding.channel_ref,
                           reasons="; ".join(str(r.get("reason")) for r in result["refused"]) or result["status"])
            )


class ThreePLSnapshot(Component):
    """ShipBob's inventory levels per fulfillment center, as the warehouse's stock snapshot."""

    _name = "retail.threepl.stock.snapshot"
    _inherit = "retail.stock.snapshot.reconciler"
    _backend_type = "wms_rest"

    def _fetch_snapshot(self):
        for row in self.component(usage="backend.adapter").client().inventory_snapshot():
            yield StockLevel.from_dict({"sku": row["sku"], "location_external_id": row["location"],
                                        "quantity": row["on_hand"], "available": row.get("available")})


class ThreePLWaveRelease(Component):
    _name = "retail.threepl.wave.release"
    _inherit = "retail.warehouse.wave.release"
    _backend_type = "wms_rest"


def ensure_webhooks(backend):
    """Subscribe the backend's webhook URL to the topics the warehouse flows need; return the result."""
    return backend._channel_client().ensure_webhook_subscription(
        backend.webhook_endpoint, DEFAULT_TOPICS, secret=backend.sudo().webhook_secret or None)
