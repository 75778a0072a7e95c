"""What the inbound gateway needs to know about one request, independent of Odoo."""

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
