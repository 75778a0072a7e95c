# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.canonical import CanonicalValidationError, Order, Payout, Return
from ..lib.inbound import PAYOUT_AGGREGATE, InboundEvent, SchemaError, UnknownTopic


def schema_error(exc):
    """Return the SchemaError of a payload the canonical mapping refused (CanonicalValidationError), naming each
    field at fault."""
    return SchemaError(str(exc), details=[{"field": e.path, "message": e.message} for e in exc.errors])


class EventParser(AbstractComponent):
    """Reads a channel's request into an InboundEvent: topic, idempotency key, aggregate, time."""

    _name = "retail.event.parser"
    _inherit = "retail.base"
    _usage = "event.parser"
    _apply_on = "retail.event"

    # topic -> (domain, aggregate type); channel parsers fill it
    _topics = {}
    # the payload field holding the aggregate key, named in errors
    _aggregate_field = "id"
    # whether acknowledging a webhook needs its JSON body (a topic or an event id in the body)
    _body_needed_at_ack = True

    def topic_of(self, headers, resource=None, data=None):
        """Return the topic a request announces: a header, the API resource, or (``data``, the JSON
        body) a field of the body for channels that name it there."""
        raise NotImplementedError

    def parse(self, topic, headers, data, body):
        """Return the InboundEvent of a request; raise UnknownTopic or SchemaError."""
        raise NotImplementedError

    def envelope(self, topic, headers, data, body):
        """Return what acknowledging a webhook needs: its topic, domain and idempotency key.

        The payload itself is read by the job that applies the event (``retail.event``
        ``_read_payloads``), where a payload the parser refuses becomes a failed event naming
        the field. Channels whose key needs the body's content override this; the default reads
        the whole payload now. ``data`` is None when ``_body_needed_at_ack`` is False.
        """
        return self.parse(topic, headers, data, body)

    def _header_envelope(self, topic, key, body):
        """Return the envelope of a webhook keyed by a header (``key``), else by its body's digest."""
        domain, aggregate_type = self._domain_and_type(topic)
        return InboundEvent(topic=topic, domain=domain, aggregate_type=aggregate_type, aggregate_key=None,
                            idempotency_key=(key or "").strip() or self._digest_key(body))

    def _domain_and_type(self, topic):
        if topic not in self._topics:
            raise UnknownTopic(
                "Topic %r is not handled on %s backends; known topics: %s"
                % (topic, self.backend_record.backend_type, ", ".join(sorted(self._topics)))
            )
        return self._topics[topic]

    @staticmethod
    def _digest_key(body):
        return "sha256:" + hashlib.sha256(body).hexdigest()

    @staticmethod
    def _canonical(build, data):
        """Return ``build(data)``, a canonical object; a payload the mapping refuses is a SchemaError naming its
        fields."""
        try:
            return build(data)
        except CanonicalValidationError as exc:
            raise schema_error(exc) from None


class GenericEventParser(Component):
    """The generic channel: canonical JSON objects, topic in ``X-Retail-Topic``."""

    _name = "retail.generic.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "generic"

    _topics = {
        "orders/create": ("orders", "order"),
        "orders/updated": ("orders", "order"),
        "orders/paid": ("orders", "order"),
        "orders/cancelled": ("orders", "order"),
        "returns/create": ("returns", "return"),
        "returns/updated": ("returns", "return"),
        "payouts/paid": ("finance", PAYOUT_AGGREGATE),
    }
    # partner API resource -> topic
    _resources = {"orders": "orders/updated", "returns": "returns/updated"}
    _aggregate_field = "external_id"
    _body_needed_at_ack = False

    def topic_of(self, headers, resource=None, data=None):
        if resource is not None:
            if resource not in self._resources:
                raise UnknownTopic(
                    "Resource %r is not offered by the API; resources: %s" % (resource, ", ".join(sorted(self._resources)))
                )
            return self._resources[resource]
        return (headers.get("X-Retail-Topic") or "").strip()

    def parse(self, topic, headers, data, body):
        domain, aggregate_type = self._domain_and_type(topic)
        canonical = {"return": Return, PAYOUT_AGGREGATE: Payout}.get(aggregate_type, Order)
        obj = self._canonical(canonical.from_dict, data if isinstance(data, dict) else {"": data})
        if not obj.external_id:
            # a return is recorded once per channel by its id: without one, a repeat would be a second return
            raise SchemaError("a %s carries its external_id" % aggregate_type,
                              details=[{"field": "external_id", "message": "is required"}])
        key = (headers.get("X-Retail-Event-Id") or headers.get("Idempotency-Key") or "").strip()
        return InboundEvent(
            topic=topic,
            domain=domain,
            aggregate_type=aggregate_type,
            aggregate_key=obj.external_id,
            idempotency_key=key or self._digest_key(body),
            channel_timestamp=None if canonical is Payout else getattr(obj, "updated_at", None) or obj.created_at,
        )

    def envelope(self, topic, headers, data, body):
        return self._header_envelope(topic, headers.get("X-Retail-Event-Id") or headers.get("Idempotency-Key"), body)
