"""WooCommerce protocol layer: REST API v3 client, OAuth 1.0a signing and the mapping to canonical objects.

Plain Python (requests and the base addon's lib): importable and testable without Odoo.
"""

from .client import DEFAULT_TOPICS, MAX_BATCH, WooCommerceClient
from .mapping import ORDER_STATUSES, order_to_canonical, payment_state, refund_to_canonical
from .oauth import signed_params

__all__ = [
    "DEFAULT_TOPICS",
    "MAX_BATCH",
    "ORDER_STATUSES",
    "WooCommerceClient",
    "order_to_canonical",
    "payment_state",
    "refund_to_canonical",
    "signed_params",
]
