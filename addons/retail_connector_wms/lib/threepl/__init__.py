# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""3PL protocol layer over REST/JSON, following the ShipBob Developer API (version 2026-01).

``client`` talks to the API (orders, shipments, inventory levels, warehouse receiving orders,
returns, webhook subscriptions) through the base addon's ChannelHttpClient; ``mapping`` turns
neutral picking, ASN and return dicts into ShipBob requests and ShipBob documents into neutral
results; ``webhooks`` checks the Standard Webhooks signatures ShipBob sends and reads
deliveries. Plain Python (requests and the base addon's lib): importable without Odoo.
"""

from .client import (
    API_VERSION,
    DEFAULT_BASE_URL,
    SANDBOX_BASE_URL,
    ThreePLClient,
    error_messages,
    is_duplicate_reference,
)
from .mapping import (
    ThreePLMappingError,
    address_update_body,
    cancel_result,
    inventory_rows,
    order_body,
    order_result,
    receiving_body,
    receiving_result,
    return_body,
    return_result,
    shipment_event_result,
    shipment_open,
    shipment_result,
    shipped_quantities,
)
from .webhooks import DEFAULT_TOPICS, TOPICS, WebhookEvent, parse_event, parse_events, sign, signing_key, verify

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_TOPICS",
    "SANDBOX_BASE_URL",
    "TOPICS",
    "ThreePLClient",
    "ThreePLMappingError",
    "WebhookEvent",
    "address_update_body",
    "cancel_result",
    "error_messages",
    "inventory_rows",
    "is_duplicate_reference",
    "order_body",
    "order_result",
    "parse_event",
    "parse_events",
    "receiving_body",
    "receiving_result",
    "return_body",
    "return_result",
    "shipment_event_result",
    "shipment_open",
    "shipment_result",
    "shipped_quantities",
    "sign",
    "signing_key",
    "verify",
]
