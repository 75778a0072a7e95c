"""What the inbound gateway needs to know about one request, independent of Odoo."""

import re
from dataclasses import dataclass
from datetime import datetime


class InboundError(Exception):
    """A request the gateway refuses; ``status`` is the HTTP answer and ``code`` a stable key."""

    status = 400
    code = "bad_request"

    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details or []


class UnknownTopic(InboundError):
    status = 422
    code = "unknown_topic"


class SchemaError(InboundError):
    status = 422
    code = "invalid_payload"


class MalformedBody(InboundError):
    status = 400
    code = "malformed_body"


# Refusals of the partner API's reads (GET): a query the API cannot answer, or what it names is unknown.
class BadQuery(InboundError):
    status = 400
    code = "bad_query"


class UnknownSku(InboundError):
    status = 404
    code = "unknown_sku"


class UnknownLocation(InboundError):
    status = 404
    code = "unknown_location"


class UnknownOrder(InboundError):
    status = 404
    code = "unknown_order"


class AmbiguousSku(InboundError):
    status = 409
    code = "ambiguous_sku"


@dataclass
class InboundEvent:
    """The envelope of one accepted event: how to deduplicate it and how to order it."""

    topic: str
    domain: str
    aggregate_type: str
    aggregate_key: str
    idempotency_key: str
    channel_timestamp: datetime | None = None


# Aggregate type of events about a payout: the inbox hands them to the backend's payout importer
# (``retail.payout.importer``), whatever the channel, with the payout's id as aggregate key.
PAYOUT_AGGREGATE = "payout"


class InvalidPayload(Exception):
    """An acknowledged event whose payload its channel's parser refused: the event fails with it.

    ``kind`` is the failure's error kind; the message names the fields at fault.
    """

    kind = "invalid_payload"

    def __init__(self, error):
        details = "; ".join(
            "%s: %s" % (d.get("field") or "(body)", d.get("message")) for d in getattr(error, "details", None) or []
        )
        message = "The payload is not valid: %s" % error
        if details:
            message += " (%s)" % details
        super().__init__(message)
        self.details = getattr(error, "details", None) or []


# a lone surrogate half: text PostgreSQL cannot store (it holds UTF-8)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_storable(event, aggregate_field="id"):
    """Refuse identifiers PostgreSQL cannot store (NUL) or index (too long), naming the field.

    The idempotency key is not checked: a long one is stored as its hash.
    """
    names = {"aggregate_key": aggregate_field, "topic": "topic"}
    for attr, field in names.items():
        value = getattr(event, attr) or ""
        problem = None
        if "\x00" in value:
            problem = "contains a NUL character"
        elif _SURROGATE.search(value):
            problem = "contains an unpaired surrogate"
        elif len(value) > 255:
            problem = "is longer than 255 characters"
        if problem:
            raise SchemaError("%s %s" % (field, problem), details=[{"field": field, "message": problem}])
    key = event.idempotency_key or ""
    if "\x00" in key or _SURROGATE.search(key):
        raise SchemaError("the event id contains a character that cannot be stored",
                          details=[{"field": "event id", "message": "contains a NUL character or an unpaired surrogate"}])
