"""The Stripe protocol layer (client on the official ``stripe`` package, mapping, webhook scheme)
against the Stripe simulator over loopback HTTP, without Odoo."""

import json
import time
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from retail_connector_base_lib.canonical import Payout
from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelNotFound,
    ChannelRateLimited,
    ChannelResponse,
    ChannelTransportError,
    ChannelValidationError,
)
from retail_connector_base_lib.signatures import SignatureError
from retail_connector_marketplace_lib.stripe import (
    StripeClient,
    StripeMappingError,
    canonical_topic,
    construct_event,
    exponent,
    line_to_canonical,
    payout_to_canonical,
    sign,
    to_decimal,
    to_minor,
    verify,
)
from simulators.stripe import StripeSimulator

KEY = "sk_test_lib_key"
WHSEC = "whsec_lib_secret"


@pytest.fixture
def sim():
    with StripeSimulator(secret_key=KEY, webhook_secret=WHSEC, seed=7) as account:
        yield account


@pytest.fixture
def client(sim):
    return StripeClient(KEY, api_base=sim.url, timeout=5)


def _order_resolver(client):
    cache = {}

    def order_of_charge(charge_id):
        if charge_id not in cache:
            cache[charge_id] = client.get_charge(charge_id)["metadata"].get("order_id")
        return cache[charge_id]

    return order_of_charge


# ------------------------------------------------------------------ money

@pytest.mark.parametrize("currency, minor, expected", [
    ("eur", 1234, Decimal("12.34")), ("JPY", 1234, Decimal("1234")), ("krw", 5, Decimal("5")),
    ("kwd", 1234, Decimal("1.234")), ("bhd", 10, Decimal("0.010")),
    # Stripe differs from ISO 4217: MGA counts units, ISK stays two-decimal in the API
    ("mga", 700, Decimal("700")), ("isk", 100, Decimal("1.00")),
])
def test_minor_units_use_stripes_exponent(currency, minor, expected):
    assert to_decimal(minor, currency) == expected
    assert to_minor(expected, currency) == minor


def test_amounts_must_be_whole_minor_units():
    with pytest.raises(ValueError, match="whole number"):
        to_decimal(12.5, "eur")
    with pytest.raises(ValueError, match="more decimals"):
        to_minor("1.5", "jpy")
    assert exponent("usd") == 2


# ------------------------------------------------------------------ client

def test_lists_payouts_by_arrival_window_across_pages(sim, client, monkeypatch):
    import retail_connector_marketplace_lib.stripe.client as module

    for day in range(5):
        sim.charge(100 + day, "10.00")
        sim.pay_out(arrival_date=int(datetime(2026, 3, 1 + day, tzinfo=timezone.utc).timestamp()), notify=False)
    monkeypatch.setattr(module, "PAGE_SIZE", 2)
    found = list(client.iter_payouts(arrival_from=date(2026, 3, 2), arrival_to=date(2026, 3, 4)))
    assert [datetime.fromtimestamp(p["arrival_date"], timezone.utc).day for p in found] == [4, 3, 2]
    pages = sim.calls_to("GET", "/v1/payouts")
    assert len(pages) == 2 and "starting_after" in pages[1].query
    assert pages[0].query["arrival_date[gte]"] == str(int(datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()))


def test_a_payout_read_continues_after_the_last_payout_it_imported(sim, client, monkeypatch):
    import retail_connector_marketplace_lib.stripe.client as module

    for day in range(5):
        sim.charge(200 + day, "10.00")
        sim.pay_out(arrival_date=int(datetime(2026, 4, 1 + day, tzinfo=timezone.utc).timestamp()), notify=False)
    monkeypatch.setattr(module, "PAGE_SIZE", 2)
    window = dict(arrival_from=date(2026, 4, 1), arrival_to=date(2026, 4, 5))
    every = [p["id"] for p in client.iter_payouts(**window)]
    assert len(every) == 5
    # a read that stopped after the third payout (mid-page) continues with the fourth
    rest = [p["id"] for p in client.iter_payouts(starting_after=every[2], **window)]
    assert rest == every[3:]


def test_payout_transactions_come_with_their_source_expanded(sim, client):
    charge = sim.charge(501, "42.00")
    payout = sim.pay_out(notify=False)
    txns = list(client.iter_payout_transactions(payout["id"]))
    assert {t["type"] for t in txns} == {"charge", "payout"}
    charged = next(t for t in txns if t["type"] == "charge")
    assert charged["source"]["id"] == charge["id"] and charged["source"]["metadata"]["order_id"] == "501"
    assert sim.calls_to("GET", "/v1/balance_transactions")[0].query["expand[0]"] == "data.source"


def test_bad_key_is_an_auth_error_with_stripes_message(sim):
    with pytest.raises(ChannelAuthError, match="Invalid API Key provided") as caught:
        StripeClient("sk_test_wrong_key_1234", api_base=sim.url, timeout=5).balance()
    assert caught.value.status == 401 and caught.value.details[0]["type"] == "invalid_request_error"
    with pytest.raises(ChannelAuthError, match="secret key"):
        StripeClient("", api_base=sim.url)


def test_unknown_payout_is_not_found(client):
    with pytest.raises(ChannelNotFound, match="No such payout") as caught:
        client.get_payout("po_missing")
    assert caught.value.details[0]["code"] == "resource_missing"


def test_rate_limit_and_server_errors_are_retryable_and_reach_the_hooks(sim):
    seen, before = [], []
    client = StripeClient(KEY, api_base=sim.url, timeout=5, before_request=lambda m, p: before.append((m, p)),
                          after_response=seen.append)
    sim.inject("GET", "/v1/balance", 429)
    with pytest.raises(ChannelRateLimited) as caught:
        client.balance()
    # Stripe sends no Retry-After on 429: the client waits its default second
    assert caught.value.retry_after == 1.0 and caught.value.details[0]["code"] == "rate_limit"
    sim.inject("GET", "/v1/balance", 500)
    with pytest.raises(ChannelTransportError):
        client.balance()
    client.balance()
    assert before == [("GET", "/v1/balance")] * 3
    assert [type(o) for o in seen] == [ChannelRateLimited, ChannelTransportError, ChannelResponse]
    assert len(sim.calls_to("GET", "/v1/balance")) == 3  # the package's own retries are off


def test_unreachable_stripe_is_a_transport_error():
    with pytest.raises(ChannelTransportError, match="cannot reach Stripe"):
        StripeClient(KEY, api_base="http://127.0.0.1:9", timeout=1).balance()


def test_invalid_parameter_is_a_validation_error(sim, client):
    with pytest.raises(ChannelValidationError, match="between 1 and 100"):
        client._call("GET /v1/payouts", client.sdk.v1.payouts.list, {"limit": 500})


# ------------------------------------------------------------------ mapping

def test_payout_maps_charges_refunds_disputes_and_fees_to_orders(sim, client):
    first = sim.charge(1001, "20.00")
    second = sim.charge(1002, "35.50")
    sim.refund(first["id"], "5.00")
    sim.refund(second["id"], "1.50", with_metadata=False)  # made in Stripe's dashboard
    sim.dispute(second["id"], notify=False)
    sim.adjust("-2.00", "Correction")
    payout = sim.pay_out(notify=False)
    canonical = payout_to_canonical(client.get_payout(payout["id"]), client.iter_payout_transactions(payout["id"]),
                                    _order_resolver(client))
    assert isinstance(canonical, Payout) and canonical.status == "paid" and canonical.currency == "EUR"
    by_type = {}
    for line in canonical.lines:
        by_type.setdefault(line.type, []).append(line)
    assert sorted(by_type) == ["adjustment", "charge", "dispute", "refund"]
    assert {(l.order_external_id, l.amount, l.fee, l.net) for l in by_type["charge"]} == {
        ("1001", Decimal("20.00"), Decimal("0.55"), Decimal("19.45")),
        ("1002", Decimal("35.50"), Decimal("0.78"), Decimal("34.72"))}
    assert {(l.order_external_id, l.amount) for l in by_type["refund"]} == {("1001", Decimal("-5.00")),
                                                                           ("1002", Decimal("-1.50"))}
    [dispute] = by_type["dispute"]
    assert (dispute.order_external_id, dispute.amount, dispute.fee) == ("1002", Decimal("-35.50"), Decimal("15.00"))
    assert by_type["adjustment"][0].order_external_id is None
    # the payout's own balance transaction is the payout, not a line: the lines add up to it
    assert sum(l.net for l in canonical.lines) == canonical.amount
    assert Payout.from_dict(json.loads(json.dumps(canonical.to_dict()))) == canonical


def test_zero_decimal_account_amounts_are_units(client):
    with StripeSimulator(secret_key=KEY, currency="jpy", fee_fixed="0") as sim:
        sim.charge(77, "4800")
        payout = sim.pay_out(notify=False)
        jp = StripeClient(KEY, api_base=sim.url, timeout=5)
        canonical = payout_to_canonical(jp.get_payout(payout["id"]), jp.iter_payout_transactions(payout["id"]))
    [line] = canonical.lines
    assert canonical.currency == "JPY" and line.amount == Decimal("4800") and line.fee == Decimal("72")
    assert canonical.amount == Decimal("4728")


def test_charge_in_another_currency_says_what_the_customer_paid(sim, client):
    sim.charge(88, "12.00", "usd", exchange_rate="0.92")
    payout = sim.pay_out(notify=False)
    [line] = payout_to_canonical(client.get_payout(payout["id"]), client.iter_payout_transactions(payout["id"])).lines
    assert line.amount == Decimal("11.04")
    assert line.extra["presentment_currency"] == "USD" and line.extra["presentment_amount"] == "12.00"
    assert line.extra["exchange_rate"] == "0.92"


def test_failed_payout_and_bad_objects():
    payout = {"id": "po_1", "object": "payout", "amount": 1000, "currency": "eur", "status": "failed",
              "arrival_date": 1767225600, "created": 1767052800, "failure_code": "account_closed"}
    canonical = payout_to_canonical(payout)
    assert canonical.status == "failed" and canonical.extra["failure_code"] == "account_closed"
    assert canonical.date == date(2026, 1, 1)
    with pytest.raises(StripeMappingError, match="payout po_2"):
        payout_to_canonical({"id": "po_2", "currency": "eur", "status": "paid"})
    with pytest.raises(StripeMappingError, match="balance transaction txn_1"):
        line_to_canonical({"id": "txn_1", "type": "charge", "amount": "12.00", "currency": "eur"})


# ------------------------------------------------------------------ webhooks

def test_webhook_signature_with_rotation_tolerance_and_tampering():
    body = json.dumps({"id": "evt_1", "object": "event", "type": "payout.paid",
                       "data": {"object": {"id": "po_1"}}}).encode()
    header = sign(body, WHSEC)
    assert verify(body, header, [WHSEC]) == 0
    assert verify(body, header, ["whsec_new", WHSEC]) == 1
    with pytest.raises(SignatureError, match="does not match"):
        verify(body + b" ", header, [WHSEC])
    with pytest.raises(SignatureError, match="300 s tolerance"):
        verify(body, sign(body, WHSEC, int(time.time()) - 400), [WHSEC])
    with pytest.raises(SignatureError, match="missing"):
        verify(body, None, [WHSEC])
    with pytest.raises(SignatureError, match="malformed"):
        verify(body, "v1=abc", [WHSEC])
    with pytest.raises(SignatureError, match="no webhook signing secret"):
        verify(body, header, [])
    event = construct_event(body, header, WHSEC)
    assert event["type"] == "payout.paid" and event["data"]["object"]["id"] == "po_1"


def test_simulator_webhooks_pass_the_lib_check_and_name_canonical_topics():
    from unit.test_simulators import Receiver

    receiver = Receiver()
    try:
        with StripeSimulator(secret_key=KEY, webhook_secret=WHSEC, webhook_url=receiver.url) as sim:
            sim.charge(9, "10.00")
            sim.pay_out()
    finally:
        receiver.stop()
    assert [json.loads(body)["type"] for _, body in receiver.received] == ["payout.created", "payout.paid"]
    for headers, body in receiver.received:
        assert verify(body, headers["Stripe-Signature"], ["whsec_other", WHSEC]) == 1
        assert canonical_topic(json.loads(body)["type"]) == "payout"
    assert canonical_topic("charge.dispute.created") == "dispute" and canonical_topic("charge.succeeded") is None
