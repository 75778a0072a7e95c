"""OAuth 1.0a one-legged query signing as WooCommerce checks it on plain-HTTP shops.

WooCommerce accepts HTTP Basic only over HTTPS; over HTTP every request carries
``oauth_consumer_key``, ``oauth_timestamp``, ``oauth_nonce``, ``oauth_signature_method`` and
``oauth_signature`` as query parameters. The signature is the base64 HMAC (SHA-256 here) under
``<consumer secret>&`` of ``METHOD&<encoded URL>&<params>``, where each ``key=value`` pair is
RFC 3986-encoded, then encoded again as a whole, and the pairs are joined with ``%26``
(``WC_REST_Authentication::check_oauth_signature``).
"""

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA256"


def rfc3986(text: str) -> str:
    """Return ``text`` percent-encoded as PHP's ``rawurlencode`` does."""
    return quote(str(text), safe="-_.~")


def base_string(method: str, url: str, params: dict) -> str:
    """Return the signature base string of ``method url`` with ``params`` (signature excluded)."""
    pairs = [rfc3986(f"{rfc3986(key)}={rfc3986(params[key])}") for key in sorted(params) if key != "oauth_signature"]
    return f"{method.upper()}&{rfc3986(url)}&{'%26'.join(pairs)}"


def sign(method: str, url: str, params: dict, consumer_secret: str, signature_method: str = SIGNATURE_METHOD) -> str:
    """Return the base64 signature of the request under ``<consumer_secret>&``."""
    digest = hashlib.sha1 if signature_method == "HMAC-SHA1" else hashlib.sha256
    mac = hmac.new(f"{consumer_secret}&".encode(), base_string(method, url, params).encode(), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def signed_params(method: str, url: str, params: dict, consumer_key: str, consumer_secret: str,
                  *, timestamp: int | None = None, nonce: str | None = None) -> dict:
    """Return ``params`` (values as text) with the OAuth parameters and signature added.

    ``url`` is the request URL without its query string, as WooCommerce rebuilds it from the
    site's home URL: a shop reached through another host name refuses the signature.
    """
    signed = {key: _text(value) for key, value in params.items() if value is not None}
    signed.update({
        "oauth_consumer_key": consumer_key,
        "oauth_timestamp": str(int(time.time() if timestamp is None else timestamp)),
        # WooCommerce refuses a nonce it saw in the last 15 minutes
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": SIGNATURE_METHOD,
    })
    signed["oauth_signature"] = sign(method, url, signed, consumer_secret)
    return signed


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
