"""Channel simulators: external partner systems on loopback for end-to-end tests and the demo.

They speak the channels' protocols over real HTTP and never import product code.
``GenericChannel`` is loaded on first access so that ``python -m simulators.generic``
does not import its own module twice.
"""

from .base import (
    Call,
    CallLog,
    Fault,
    Headers,
    HttpError,
    Request,
    Response,
    Simulator,
    TokenBucket,
    WebhookAttempt,
    WebhookDelivery,
    WebhookLog,
    WebhookResult,
    WebhookSender,
    check_bearer,
    error_response,
    retail_signature,
    route,
)

__all__ = [
    "Call",
    "CallLog",
    "Fault",
    "GenericChannel",
    "Headers",
    "HttpError",
    "Request",
    "Response",
    "Simulator",
    "TokenBucket",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookLog",
    "WebhookResult",
    "WebhookSender",
    "check_bearer",
    "error_response",
    "retail_signature",
    "route",
]


def __getattr__(name):
    """Return ``GenericChannel`` from simulators.generic on first use."""
    if name == "GenericChannel":
        from .generic import GenericChannel

        return GenericChannel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
