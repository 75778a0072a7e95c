"""Stripe protocol layer: payouts and balance transactions through the official ``stripe`` package,
their mapping to canonical payouts, and the ``Stripe-Signature`` webhook scheme.

Plain Python (the ``stripe`` package and the base addon's lib): importable and testable without Odoo.
"""

from .client import DEFAULT_API_BASE, StripeClient, channel_error
from .mapping import StripeMappingError, line_to_canonical, line_type, order_of, payout_to_canonical
from .money import exponent, to_decimal, to_minor
from .webhooks import EVENT_TOPICS, HEADER, TOLERANCE, canonical_topic, construct_event, sign, verify

__all__ = [
    "DEFAULT_API_BASE", "EVENT_TOPICS", "HEADER", "TOLERANCE", "StripeClient", "StripeMappingError",
    "canonical_topic", "channel_error", "construct_event", "exponent", "line_to_canonical", "line_type",
    "order_of", "payout_to_canonical", "sign", "to_decimal", "to_minor", "verify",
]
