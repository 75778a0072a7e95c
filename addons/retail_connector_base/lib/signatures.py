"""Webhook signatures verified in constant time: the connector's own scheme (``X-Retail-Signature``)
and the building blocks of the channels' schemes, which live in the channels' protocol layers.

Plain Python. Each ``verify*`` returns the secret's index (0: current, 1: previous, ...) that
signed the body, or raises ``SignatureError`` saying what is wrong without revealing secrets.
"""

import base64
import hashlib
import hmac
import re
import time
from datetime import datetime, timezone

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


def verify_base64_hmac(message, signature, secrets, header="signature"):
    """Check a base64 HMAC-SHA256 of ``message`` (the raw body, or what the channel's scheme signs)
    given in the ``header`` named; return the index of the secret that signed it."""
    if not signature:
        raise SignatureError(f"{header} header is missing")
    given = signature.strip().encode()
    return _first_match(lambda s: base64.b64encode(hmac_sha256(s, message)), given, secrets, header)


def check_age(sent_at, max_age, what, now=None):
    """Refuse a delivery whose channel timestamp ``sent_at`` (ISO 8601 text) is older than ``max_age`` seconds.

    Return the timestamp as an aware datetime. ``max_age`` 0 (or None) turns the check off.
    A signature that covers no delivery time of its own (a base64 HMAC of the body) leaves a
    captured delivery valid for ever: its age is what limits a replay. A missing
    or unreadable timestamp is refused too, else removing it would pass the check.
    """
    if not max_age:
        return None
    if not sent_at:
        raise SignatureError(f"{what} is missing: the delivery's age cannot be checked")
    text = str(sent_at).strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise SignatureError(f"{what} is not an ISO 8601 time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    age = now - moment.timestamp()
    if age > max_age:
        raise SignatureError(
            f"{what} {text} is {_duration(age)} old, more than the {_duration(max_age)} this backend accepts: "
            "an old delivery is refused as a possible replay (the backend's maximum webhook age sets the window)")
    return moment


def _duration(seconds):
    seconds = int(seconds)
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    if seconds >= 120:
        return f"{seconds // 60} min"
    return f"{seconds} s"


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
