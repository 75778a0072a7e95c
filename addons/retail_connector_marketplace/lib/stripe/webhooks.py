"""Stripe webhooks: ``Stripe-Signature`` checked with the official package, events named canonically.

``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` (several ``v1`` while a
secret is being rolled); events older than the tolerance (300 s, the SDKs' default) are
refused. Verification is ``stripe.WebhookSignature.verify_header``, tried with each secret the
backend accepts.
"""

import json

import stripe

from retail_connector_base_lib.signatures import SignatureError

HEADER = "Stripe-Signature"
TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE

# Stripe event type -> canonical topic. Payout events carry the payout (``data.object``);
# dispute events the dispute, whose ``charge`` leads to the shop's order.
PAYOUT_EVENTS = ("payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled",
                 "payout.reconciliation_completed")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                  "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
EVENT_TOPICS = {**{name: "payout" for name in PAYOUT_EVENTS}, **{name: "dispute" for name in DISPUTE_EVENTS}}


def canonical_topic(event_type: str) -> str | None:
    """Return the canonical topic of a Stripe event type, or None when it is not imported."""
    return EVENT_TOPICS.get(event_type)


def verify(body: bytes, header: str | None, secrets, tolerance: int = TOLERANCE) -> int:
    """Return the index of the secret that signed ``body``; raise SignatureError saying why not."""
    if not header:
        raise SignatureError(f"{HEADER} header is missing")
    if not secrets:
        raise SignatureError("no webhook signing secret is configured on the backend")
    stale = None
    for index, secret in enumerate(secrets):
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, tolerance)
            return index
        except stripe.SignatureVerificationError as exc:
            message = str(exc.user_message or exc)
            if "Timestamp outside the tolerance zone" in message:
                stale = message
            elif "Unable to extract" in message or "No signatures found with expected scheme" in message:
                raise SignatureError(f"{HEADER} is malformed: expected t=<unix seconds>,v1=<hex signature>") from None
        except UnicodeDecodeError:
            raise SignatureError("the webhook body is not UTF-8 text") from None
    if stale:
        raise SignatureError(f"{HEADER} is older than the {tolerance} s tolerance: the event was replayed or the "
                             "server clock is off")
    raise SignatureError(f"{HEADER} does not match the body signed with the backend's webhook signing secret")


def construct_event(body: bytes, header: str | None, secret: str, tolerance: int = TOLERANCE) -> dict:
    """Return the event of a signed body as plain data (``stripe.Webhook.construct_event``)."""
    try:
        event = stripe.Webhook.construct_event(body, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(str(exc.user_message or exc)) from None
    return json.loads(json.dumps(event.to_dict()))


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` value for ``body`` (tests and tools)."""
    return stripe.WebhookSignature.generate_signature_header(body.decode("utf-8"), secret, timestamp)
