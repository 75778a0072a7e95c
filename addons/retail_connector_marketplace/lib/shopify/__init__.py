"""Shopify protocol layer: Admin GraphQL client, its queries, and the mapping to canonical objects.

Plain Python (requests and the base addon's lib): importable and testable without Odoo.
"""

from .client import DEFAULT_API_VERSION, ShopifyClient, ThrottleStatus
from .fulfillment import plan_fulfillment
from .ids import numeric_id, to_gid
from .mapping import (
    graphql_order_to_canonical,
    order_to_canonical,
    payment_state,
    payout_to_canonical,
    refund_to_canonical,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "ShopifyClient",
    "ThrottleStatus",
    "graphql_order_to_canonical",
    "numeric_id",
    "order_to_canonical",
    "payment_state",
    "payout_to_canonical",
    "refund_to_canonical",
    "plan_fulfillment",
    "to_gid",
]
