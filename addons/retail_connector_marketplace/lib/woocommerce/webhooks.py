"""WooCommerce's webhook signature: ``X-WC-Webhook-Signature``, base64 HMAC-SHA256 of the raw body."""

from retail_connector_base_lib.signatures import verify_base64_hmac

HEADER = "X-WC-Webhook-Signature"


def verify(body, headers, secrets):
    """Return the index of the secret that signed ``body``, or raise ``SignatureError``."""
    return verify_base64_hmac(body, headers.get(HEADER), secrets, HEADER)
