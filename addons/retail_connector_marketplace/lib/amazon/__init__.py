"""Amazon Selling Partner API protocol layer: Login with Amazon tokens, the paced SP-API client
(Orders, Tokens, Listings Items, Feeds, Reports), the mapping of orders and of the returns reports
to canonical objects.

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
from .returns import FBA_RETURNS, MFN_RETURNS, ReportFormatError, ReportRowError, parse_flat_file, returns_of_report

__all__ = [
    "AccessToken", "ENDPOINTS", "FBA_RETURNS", "MFN_RETURNS", "ReportFormatError", "ReportRowError",
    "parse_flat_file", "returns_of_report", "LwaAuth", "MemoryTokenStore", "OperationLimiter", "SellingPartnerClient", "amz_time",
    "listings_feed", "needs_personal_data", "notification_order_id", "order_to_canonical", "parse_processing_report",
    "quantity_patch",
]
