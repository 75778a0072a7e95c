# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""ShipBob webhooks: signature check, topic names, and payloads read as neutral results.

ShipBob (Developer API, dated versions 2025-07 and later; https://developer.shipbob.com/webhooks)
signs each delivery with the Standard Webhooks scheme (the one Svix implements):

* ``webhook-id``: the message id, the same on every retry of one message (the idempotency key);
* ``webhook-timestamp``: Unix seconds when this attempt was sent;
* ``webhook-signature``: space-separated ``v1,<base64>`` entries, each the base64 HMAC-SHA256
  of ``"{webhook-id}.{webhook-timestamp}.{raw body}"``, keyed with the bytes that the secret
  ``whsec_<base64>`` encodes (the part after ``whsec_``, base64-decoded);
* ``x-webhook-topic``: the topic, e.g. ``order.shipped``.

The body is the resource itself: ``order.shipped`` carries the order (with all its shipments;
it fires once per shipment, so a split order announces each shipment); the
``order.shipment.*`` topics carry one shipment; ``return.*`` a return order; ``wro.*`` a
warehouse receiving order. ShipBob's published topic list for 2025-07/2026-01 has no receiving
topics; the WRO topics (``wro.completed`` ...) appear in ShipBob's later documentation and are
read here as carrying the receiving order as ``GET /receiving/{id}`` returns it. Subscriptions
made on the legacy 1.0/2.0 API use the older names (``order_shipped``, ``shipment_cancelled``
...) in a ``shipbob-topic`` header, with no documented signature; ``parse_event`` accepts those
names, ``verify`` only the current scheme.

Receivers must answer 2xx fast; ShipBob retries with back-off and does not keep order, so a
payload is read as a state (which shipments exist and what they hold), never as a delta.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from retail_connector_base_lib.signatures import DEFAULT_TOLERANCE, SignatureError

from . import mapping

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_TOPIC = "x-webhook-topic"
LEGACY_HEADER_TOPIC = "shipbob-topic"
SECRET_PREFIX = "whsec_"

TOPIC_ORDER_SHIPPED = "order.shipped"
TOPIC_SHIPMENT_DELIVERED = "order.shipment.delivered"
TOPIC_SHIPMENT_EXCEPTION = "order.shipment.exception"
TOPIC_SHIPMENT_ON_HOLD = "order.shipment.on_hold"
TOPIC_SHIPMENT_CANCELLED = "order.shipment.cancelled"
TOPIC_RETURN_CREATED = "return.created"
TOPIC_RETURN_UPDATED = "return.updated"
TOPIC_RETURN_COMPLETED = "return.completed"
TOPIC_WRO_CREATED = "wro.created"
TOPIC_WRO_UPDATED = "wro.updated"
TOPIC_WRO_COMPLETED = "wro.completed"

ORDER_TOPICS = frozenset({TOPIC_ORDER_SHIPPED})
SHIPMENT_TOPICS = frozenset({TOPIC_SHIPMENT_DELIVERED, TOPIC_SHIPMENT_EXCEPTION, TOPIC_SHIPMENT_ON_HOLD,
                             TOPIC_SHIPMENT_CANCELLED})
RETURN_TOPICS = frozenset({TOPIC_RETURN_CREATED, TOPIC_RETURN_UPDATED, TOPIC_RETURN_COMPLETED})
RECEIVING_TOPICS = frozenset({TOPIC_WRO_CREATED, TOPIC_WRO_UPDATED, TOPIC_WRO_COMPLETED})
TOPICS = ORDER_TOPICS | SHIPMENT_TOPICS | RETURN_TOPICS | RECEIVING_TOPICS
# the topics a fulfilment integration subscribes to by default
DEFAULT_TOPICS = (TOPIC_ORDER_SHIPPED, TOPIC_SHIPMENT_CANCELLED, TOPIC_SHIPMENT_DELIVERED, TOPIC_SHIPMENT_EXCEPTION,
                  TOPIC_SHIPMENT_ON_HOLD, TOPIC_RETURN_COMPLETED, TOPIC_WRO_COMPLETED)

LEGACY_TOPICS = {
    "order_shipped": TOPIC_ORDER_SHIPPED,
    "shipment_delivered": TOPIC_SHIPMENT_DELIVERED,
    "shipment_exception": TOPIC_SHIPMENT_EXCEPTION,
    "shipment_onhold": TOPIC_SHIPMENT_ON_HOLD,
    "shipment_cancelled": TOPIC_SHIPMENT_CANCELLED,
}

_SIGNATURE_ENTRY = re.compile(r"^v1,([A-Za-z0-9+/]+={0,2})$")


# --------------------------------------------------------------------------- signatures

def signing_key(secret: str | bytes) -> bytes:
    """Return the HMAC key of a ``whsec_<base64>`` secret (the prefix is optional).

    Raise ValueError when the rest is not base64: such a secret cannot be ShipBob's.
    """
    text = secret.decode("ascii", "replace") if isinstance(secret, bytes) else str(secret or "")
    text = text.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX):]
    if not text:
        raise ValueError("the webhook secret is empty")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not a 'whsec_<base64>' signing secret") from None


def sign(secret: str | bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value ``v1,<base64 HMAC>`` of one message."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + bytes(body)
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def header(headers, name: str):
    """Return a header value by case-insensitive name from any mapping (or None)."""
    if headers is None:
        return None
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is not None:
        return value
    items = headers.items() if hasattr(headers, "items") else headers
    wanted = name.lower()
    for key, candidate in items:
        if str(key).lower() == wanted:
            return candidate
    return None


def verify(body: bytes, headers, secrets, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> int:
    """Return the index of the secret (0: current, 1: previous, ...) that signed the message.

    Raise SignatureError when a header is missing or malformed, the timestamp is further than
    ``tolerance`` seconds from ``now`` either way (replays and forged future timestamps), or
    no ``v1`` signature matches; the comparison runs in constant time and the message names
    no secret.
    """
    if isinstance(secrets, (str, bytes)):
        secrets = [secrets]
    secrets = [s for s in (secrets or []) if s]
    if not secrets:
        raise SignatureError("no webhook secret is configured on the backend")
    message_id = (header(headers, HEADER_ID) or "").strip()
    stamp = (header(headers, HEADER_TIMESTAMP) or "").strip()
    signature = (header(headers, HEADER_SIGNATURE) or "").strip()
    for name, value in ((HEADER_ID, message_id), (HEADER_TIMESTAMP, stamp), (HEADER_SIGNATURE, signature)):
        if not value:
            raise SignatureError(f"{name} header is missing")
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError(f"{HEADER_TIMESTAMP} is not a Unix time in seconds: {stamp[:20]!r}")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > tolerance:
        raise SignatureError(f"{HEADER_TIMESTAMP} is {int(now - int(stamp))} s off the server clock "
                             f"(tolerance {tolerance} s): a replayed or delayed message")
    given = []
    for entry in signature.split():
        match = _SIGNATURE_ENTRY.match(entry)
        if match:
            given.append(match.group(1).encode("ascii"))
    if not given:
        raise SignatureError(f"{HEADER_SIGNATURE} has no 'v1,<base64>' signature")
    signed = f"{message_id}.{stamp}.".encode() + bytes(body)
    for index, secret in enumerate(secrets):
        try:
            key = signing_key(secret)
        except ValueError as exc:
            raise SignatureError(f"webhook secret #{index + 1} of the backend is unusable: {exc}") from None
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        # every candidate is compared, so the timing does not tell which entry came close
        if any([hmac.compare_digest(expected, candidate) for candidate in given]):
            return index
    raise SignatureError(f"{HEADER_SIGNATURE} does not match the body signed with the backend's webhook secret")


# --------------------------------------------------------------------------- events

@dataclass
class WebhookEvent:
    """One delivery read: its message id (dedup key), topic, kind, payload and neutral result.

    ``kind`` is ``order`` / ``shipment`` (``result`` as ``mapping.order_result`` /
    ``mapping.shipment_event_result``), ``receiving`` (``mapping.receiving_result``) or
    ``return`` (``mapping.return_result``); ``unknown`` topics keep ``result`` None.
    """

    message_id: str | None
    topic: str
    kind: str
    payload: object
    result: dict | None = None
    timestamp: int | None = None
    extra: dict = field(default_factory=dict)


def topic_of(headers) -> str | None:
    """Return the delivery's topic in the current naming (legacy names translated), or None."""
    topic = header(headers, HEADER_TOPIC) or header(headers, LEGACY_HEADER_TOPIC)
    if not topic:
        return None
    topic = str(topic).strip()
    return LEGACY_TOPICS.get(topic, topic)


def parse_event(body: bytes | str | Mapping, headers=None, *, topic: str | None = None) -> WebhookEvent:
    """Return the delivery as a WebhookEvent; ``topic`` overrides the topic header.

    Verify the signature first (``verify``) on the raw body: this only reads it. Raise
    ValueError when the body is not a JSON object or no topic is known.
    """
    if isinstance(body, Mapping):
        payload = dict(body)
    else:
        try:
            payload = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the webhook body is not JSON: {exc}") from None
    if not isinstance(payload, Mapping):
        raise ValueError(f"the webhook body is a JSON {type(payload).__name__}, not an object")
    name = LEGACY_TOPICS.get(topic, topic) if topic else topic_of(headers)
    if not name:
        raise ValueError(f"the webhook has no {HEADER_TOPIC} header; cannot tell what it reports")
    stamp = header(headers, HEADER_TIMESTAMP)
    event = WebhookEvent(
        message_id=header(headers, HEADER_ID), topic=name, kind="unknown", payload=payload,
        timestamp=int(stamp) if stamp and str(stamp).strip().isdigit() else None,
    )
    if name in ORDER_TOPICS:
        event.kind = "order"
        # a shipment-shaped body (some subscriptions send the shipment) is read as such
        if "shipments" in payload or "order_id" not in payload:
            event.result = mapping.order_result(payload)
        else:
            event.kind = "shipment"
            event.result = mapping.shipment_event_result(payload)
    elif name in SHIPMENT_TOPICS:
        event.kind = "shipment"
        event.result = mapping.shipment_event_result(payload)
    elif name in RECEIVING_TOPICS:
        event.kind = "receiving"
        event.result = mapping.receiving_result(payload)
    elif name in RETURN_TOPICS:
        event.kind = "return"
        event.result = mapping.return_result(payload)
    return event


def parse_events(deliveries: Iterable[tuple[bytes, Mapping]]) -> list[WebhookEvent]:
    """Return the events of ``(body, headers)`` pairs, one per message id (duplicates dropped)."""
    seen, events = set(), []
    for body, headers in deliveries:
        event = parse_event(body, headers)
        if event.message_id and event.message_id in seen:
            continue
        seen.add(event.message_id)
        events.append(event)
    return events
