# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Stripe, the payment provider behind a storefront, plugged into the shared pipeline.

Protocol in lib/stripe; payouts are imported and settled by the base's payout importer, whose
two fetch methods this channel implements. Dispute events are noted on the order they hit.
"""

from datetime import datetime, timedelta, timezone

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError

from ..lib.stripe.money import to_decimal
from ..lib.stripe.webhooks import EVENT_TOPICS, canonical_topic


class StripeConnectionTester(Component):
    _name = "retail.stripe.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "stripe"

    def test_connection(self):
        balance = self.component(usage="backend.adapter").client().balance()
        available = ", ".join(
            "%s %s" % (to_decimal(b.get("amount") or 0, b.get("currency") or "usd"), (b.get("currency") or "").upper())
            for b in balance.get("available") or []
        ) or self.env._("nothing")
        return self.env._("Connected to Stripe at %(url)s: available balance %(balance)s.",
                          url=self.backend_record.endpoint_url, balance=available)


class StripeEventParser(Component):
    """Stripe events: the type is in the body (``type``), the event id (``evt_...``) is the key.

    Payout events become aggregate ``payout`` (imported by the payout importer) keyed by the
    payout id; dispute events aggregate ``dispute`` keyed by the dispute id. The event's
    ``created`` orders events of one payout.
    """

    _name = "retail.stripe.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "stripe"
    _aggregate_field = "data.object.id"
    _topics = {name: ("finance", topic) for name, topic in EVENT_TOPICS.items()}

    def topic_of(self, headers, resource=None, data=None):
        return str(data.get("type") or "").strip() if isinstance(data, dict) else ""

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        obj = ((data.get("data") or {}).get("object") or {}) if isinstance(data, dict) else {}
        if not isinstance(obj, dict) or not obj.get("id"):
            raise SchemaError("a Stripe event carries its object in data.object, with its id",
                              details=[{"field": "data.object.id", "message": "is required"}])
        if not data.get("id"):
            raise SchemaError("a Stripe event has an id (evt_...)", details=[{"field": "id", "message": "is required"}])
        created = data.get("created")
        stamp = datetime.fromtimestamp(created, timezone.utc) if isinstance(created, int) else None
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=str(obj["id"]),
                            idempotency_key="stripe:%s" % data["id"], channel_timestamp=stamp)


class StripeEventProcessor(Component):
    """Events other than payouts: a dispute is noted on the shop's order with an activity."""

    _name = "retail.stripe.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "stripe"

    def process(self, event, data):
        if canonical_topic(event.topic) != "dispute":
            raise NotImplementedError("no processing for Stripe %s events" % event.topic)
        dispute = data["data"]["object"]
        client = self.component(usage="backend.adapter").client()
        charge_id = dispute.get("charge")
        charge = client.get_charge(charge_id) if isinstance(charge_id, str) else (charge_id or {})
        order_id = (charge.get("metadata") or {}).get("order_id")
        orders_backend = self.backend_record._orders_backend()
        binding = self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", orders_backend.id), ("external_id", "=", str(order_id))], limit=1
        ) if order_id else self.env["retail.sale.order.binding"]
        if not binding:
            return "dispute %s: no order %s on %s" % (dispute["id"], order_id or "named", orders_backend.name), None
        sale = binding.odoo_id
        amount = to_decimal(dispute.get("amount") or 0, dispute.get("currency") or "usd")
        due = (dispute.get("evidence_details") or {}).get("due_by")
        text = self.env._(
            "Stripe dispute %(id)s (%(event)s): %(amount)s %(currency)s, reason %(reason)s, status %(status)s.",
            id=dispute["id"], event=event.topic, amount=amount, currency=(dispute.get("currency") or "").upper(),
            reason=dispute.get("reason") or "-", status=dispute.get("status") or "-",
        )
        sale.message_post(body=text)
        if event.topic == "charge.dispute.created":
            deadline = datetime.fromtimestamp(due, timezone.utc).date() if due else None
            sale.activity_schedule(
                "mail.mail_activity_data_todo", date_deadline=deadline or (datetime.now(timezone.utc) + timedelta(days=7)).date(),
                summary=self.env._("Answer the Stripe dispute %(id)s", id=dispute["id"]), note=text,
                user_id=self.backend_record.responsible_user_id.id or self.env.uid,
            )
        return "dispute %s noted" % dispute["id"], sale
