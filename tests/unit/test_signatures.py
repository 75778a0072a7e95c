"""Each channel's webhook signature scheme: valid, invalid, rotated secret, expired timestamp."""

import base64
import hashlib
import hmac
import time

import pytest

from retail_connector_base_lib.signatures import (
    check_age,
    SignatureError,
    sign_retail,
    verify_retail,
)
from retail_connector_marketplace_lib.shopify.webhooks import verify as verify_shopify
from retail_connector_marketplace_lib.woocommerce.webhooks import verify as verify_woocommerce
from retail_connector_pos_lib.squarepos.webhooks import verify as verify_square

BODY = b'{"id": 820982911946154508, "name": "#9999", "updated_at": "2026-11-20T10:00:00-05:00"}'
URL = "https://odoo.example.com/retail/webhook/3"


def b64_hmac(secret, message):
    """Return the signature as the channel's own documentation computes it."""
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


SCHEMES = {
    "shopify": (lambda b, h, s: verify_shopify(b, h, s), lambda secret, body: {"X-Shopify-Hmac-Sha256": b64_hmac(secret, body)}),
    "woocommerce": (lambda b, h, s: verify_woocommerce(b, h, s), lambda secret, body: {"X-WC-Webhook-Signature": b64_hmac(secret, body)}),
    "square": (
        lambda b, h, s: verify_square(b, h, s, URL),
        lambda secret, body: {"x-square-hmacsha256-signature": b64_hmac(secret, URL.encode() + body)},
    ),
    "generic": (lambda b, h, s: verify_retail(b, h, s), lambda secret, body: {"X-Retail-Signature": sign_retail(secret, body)}),
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_valid_signature_is_accepted(scheme):
    verify, sign = SCHEMES[scheme]
    assert verify(BODY, sign("s3cret", BODY), ["s3cret"]) == 0


@pytest.mark.parametrize("scheme", SCHEMES)
def test_wrong_secret_or_changed_body_is_refused(scheme):
    verify, sign = SCHEMES[scheme]
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, sign("other", BODY), ["s3cret"])
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY + b" ", sign("s3cret", BODY), ["s3cret"])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_previous_secret_is_accepted_during_rotation(scheme):
    verify, sign = SCHEMES[scheme]
    assert verify(BODY, sign("old", BODY), ["new", "old"]) == 1
    with pytest.raises(SignatureError):
        verify(BODY, sign("older", BODY), ["new", "old"])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_missing_header_or_secret_is_named(scheme):
    verify, sign = SCHEMES[scheme]
    with pytest.raises(SignatureError, match="missing"):
        verify(BODY, {}, ["s3cret"])
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(BODY, sign("s3cret", BODY), [])


def test_square_signature_covers_the_notification_url():
    headers = {"x-square-hmacsha256-signature": b64_hmac("key", URL.encode() + BODY)}
    with pytest.raises(SignatureError):
        verify_square(BODY, headers, ["key"], URL.replace("/3", "/4"))


def test_generic_signature_expires_after_the_tolerance():
    now = time.time()
    old = {"X-Retail-Signature": sign_retail("s3cret", BODY, now - 301)}
    with pytest.raises(SignatureError, match=r"301 s off .*tolerance 300 s"):
        verify_retail(BODY, old, ["s3cret"], now=now)
    future = {"X-Retail-Signature": sign_retail("s3cret", BODY, now + 400)}
    with pytest.raises(SignatureError, match="tolerance"):
        verify_retail(BODY, future, ["s3cret"], now=now)
    recent = {"X-Retail-Signature": sign_retail("s3cret", BODY, now - 299)}
    assert verify_retail(BODY, recent, ["s3cret"], now=now) == 0


def test_generic_signature_format_is_checked():
    for value in ("v1=abc", "t=abc,v1=" + "0" * 64, "t=1,v1=zz", "garbage"):
        with pytest.raises(SignatureError, match="malformed"):
            verify_retail(BODY, {"X-Retail-Signature": value}, ["s3cret"])


def test_generic_signature_matches_an_independent_computation():
    t = int(time.time())
    expected = hmac.new(b"s3cret", f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_retail("s3cret", BODY, t) == f"t={t},v1={expected}"


def test_transport_errors_never_quote_credentials_of_the_query_string():
    from retail_connector_base_lib.http import ChannelHttpClient, ChannelTransportError

    client = ChannelHttpClient("http://127.0.0.1:9", timeout=2)
    with pytest.raises(ChannelTransportError) as caught:
        client.request("GET", "/wp-json/wc/v3/orders", params={"consumer_key": "ck_x", "consumer_secret": "cs_secret"})
    assert "cs_secret" not in str(caught.value)
    assert "cannot connect" in str(caught.value)


def test_a_delivery_older_than_the_window_is_refused():
    now = 1_780_000_000  # 2026-05-28T20:26:40Z
    assert check_age("2026-05-28T20:26:40Z", 3600, "X-Shopify-Triggered-At", now=now).timestamp() == now
    assert check_age("2026-05-28T16:26:41-04:00", 3600, "X-Shopify-Triggered-At", now=now) is not None
    with pytest.raises(SignatureError, match=r"X-Shopify-Triggered-At 2026-05-27T20:26:40Z is 24 h old, more than "
                                             r"the 4 h this backend accepts"):
        check_age("2026-05-27T20:26:40Z", 4 * 3600, "X-Shopify-Triggered-At", now=now)
    with pytest.raises(SignatureError, match="created_at is missing"):
        check_age("", 3600, "created_at", now=now)
    with pytest.raises(SignatureError, match="not an ISO 8601 time"):
        check_age("yesterday", 3600, "created_at", now=now)
    assert check_age("2020-01-01T00:00:00Z", 0, "created_at", now=now) is None, "0 turns the check off"
