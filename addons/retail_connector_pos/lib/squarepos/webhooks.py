"""Square's webhook signature: ``x-square-hmacsha256-signature``, base64 HMAC-SHA256 of the
notification URL followed by the raw body."""

from retail_connector_base_lib.signatures import verify_base64_hmac

HEADER = "x-square-hmacsha256-signature"


def verify(body, headers, secrets, notification_url):
    """Return the index of the signature key that signed ``body`` for ``notification_url``, or raise
    ``SignatureError``."""
    return verify_base64_hmac(notification_url.encode() + body, headers.get(HEADER), secrets, HEADER)
