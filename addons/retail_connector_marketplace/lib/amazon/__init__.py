"""Amazon Selling Partner API protocol layer: Login with Amazon tokens, the paced SP-API client
(Orders, Tokens, Listings Items, Feeds) and the mapping of orders to canonical objects.

Plain Python (requests and the base addon's lib): importable and testable without Odoo.
"""

from .auth import AccessToken, LwaAuth, MemoryTokenStore
from .client import (
    ENDPOINTS,
    OperationLimiter,
    SellingPartnerClient,
    amz_time,
    listings_feed,
    parse_processing_report,
    quantity_patch,
)
from .mapping import needs_personal_data, notification_order_id, order_to_canonical

__all__ = [
    "AccessToken", "ENDPOINTS", "LwaAuth", "MemoryTokenStore", "OperationLimiter", "SellingPartnerClient", "amz_time",
    "listings_feed", "needs_personal_data", "notification_order_id", "order_to_canonical", "parse_processing_report",
    "quantity_patch",
]
