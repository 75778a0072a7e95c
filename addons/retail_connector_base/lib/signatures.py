"""Webhook signature schemes of the channels, verified in constant time.

Plain Python. Each ``verify_*`` returns the secret's index (0: current, 1: previous, ...) that
signed the body, or raises ``SignatureError`` saying what is wrong without revealing secrets.
"""

import base64
import hashlib
import hmac
import re
import time

DEFAULT_TOLERANCE = 300  # seconds a timestamped signature stays valid


class SignatureError(Exception):
    """The request's signature is missing, malformed, expired or does not match."""


def hmac_sha256(secret, message):
    """Return the raw HMAC-SHA256 digest of ``message`` (bytes) with ``secret`` (str)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _first_match(expected_for, given, secrets, header):
    if not secrets:
        raise SignatureError("no webhook secret is configured on the backend")
    for index, secret in enumerate(secrets):
        if hmac.compare_digest(expected_for(secret), given):
            return index
    raise SignatureError(f"{header} does not match the body signed with the backend's webhook secret")


def verify_base64_hmac(body, signature, secrets, header="signature"):
    """Check a base64 HMAC-SHA256 of the raw body (Shopify, WooCommerce)."""
    if not signature:
        raise SignatureError(f"{header} header is missing")
    given = signature.strip().encode()
    return _first_match(lambda s: base64.b64encode(hmac_sha256(s, body)), given, secrets, header)


def verify_shopify(body, headers, secrets):
    """Check ``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""
    return verify_base64_hmac(body, headers.get("X-Shopify-Hmac-Sha256"), secrets, "X-Shopify-Hmac-Sha256")


def verify_woocommerce(body, headers, secrets):
    """Check ``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body."""
    return verify_base64_hmac(body, headers.get("X-WC-Webhook-Signature"), secrets, "X-WC-Webhook-Signature")


def verify_square(body, headers, secrets, notification_url):
    """Check ``x-square-hmacsha256-signature``: base64 HMAC-SHA256 of the notification URL + raw body."""
    header = "x-square-hmacsha256-signature"
    signature = headers.get(header)
    if not signature:
        raise SignatureError(f"{header} header is missing")
    message = notification_url.encode() + body
    return _first_match(lambda s: base64.b64encode(hmac_sha256(s, message)), signature.strip().encode(), secrets, header)


_RETAIL_SIG = re.compile(r"^t=(\d{1,12}),v1=([0-9a-fA-F]{64})(?:,v1=([0-9a-fA-F]{64}))*$")


def sign_retail(secret, body, timestamp=None):
    """Return the ``X-Retail-Signature`` value for ``body`` at ``timestamp`` (now by default)."""
    t = int(time.time() if timestamp is None else timestamp)
    digest = hmac_sha256(secret, f"{t}.".encode() + body).hex()
    return f"t={t},v1={digest}"


def verify_retail(body, headers, secrets, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check ``X-Retail-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` within ``tolerance``."""
    header = "X-Retail-Signature"
    value = (headers.get(header) or "").strip()
    if not value:
        raise SignatureError(f"{header} header is missing")
    parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
    if not _RETAIL_SIG.match(value) or "t" not in parts:
        raise SignatureError(f"{header} is malformed: expected t=<unix seconds>,v1=<64 hex digits>")
    t = int(parts["t"])
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise SignatureError(f"{header} timestamp is {int(now - t)} s off the server clock (tolerance {tolerance} s)")
    given = [v.lower().encode() for k, v in (p.split("=", 1) for p in value.split(",")) if k == "v1"]
    message = f"{t}.".encode() + body
    if not secrets:
        raise SignatureError("no webhook secret is configured on the backend")
    for index, secret in enumerate(secrets):
        expected = hmac_sha256(secret, message).hex().encode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return index
    raise SignatureError(f"{header} does not match the body signed with the backend's webhook secret")
