"""The Stripe simulator driven by the official ``stripe`` package, and its signed webhooks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import stripe

from simulators.stripe import StripeSimulator, decode_form
from unit.test_simulators import Receiver

KEY = "sk_test_sim_key"
WHSEC = "whsec_sim_secret"
TESTS_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def sim(receiver):
    with StripeSimulator(secret_key=KEY, webhook_secret=WHSEC, webhook_url=receiver.url, webhook_backoff=0.01,
                         seed=3) as account:
        yield account


@pytest.fixture
def sdk(sim):
    return stripe.StripeClient(KEY, base_addresses={"api": sim.url}, max_network_retries=0)


def test_form_decoding_handles_brackets_and_lists():
    pairs = [("created[gte]", "10"), ("expand[]", "data.source"), ("expand[]", "data.fee"),
             ("metadata[order_id]", "12"), ("items[0][price]", "p1"), ("items[1][price]", "p2"), ("limit", "3")]
    assert decode_form(pairs) == {"created": {"gte": "10"}, "expand": ["data.source", "data.fee"],
                                  "metadata": {"order_id": "12"}, "items": [{"price": "p1"}, {"price": "p2"}],
                                  "limit": "3"}


def test_official_client_pages_payouts_newest_first(sim, sdk):
    for n in range(5):
        sim.charge(200 + n, "10.00")
        sim.advance(60)
        sim.pay_out(notify=False)
    page = sdk.v1.payouts.list({"limit": 2})
    assert page.has_more and len(page.data) == 2 and page.url == "/v1/payouts"
    ids = [p.id for p in sdk.v1.payouts.list({"limit": 2}).auto_paging_iter()]
    assert len(ids) == 5 and ids == sorted(sim.payouts, key=lambda i: sim.payouts[i]["created"], reverse=True)
    older = sdk.v1.payouts.list({"limit": 10, "starting_after": ids[1]})
    assert [p.id for p in older.data] == ids[2:] and not older.has_more
    newer = sdk.v1.payouts.list({"limit": 10, "ending_before": ids[2]})
    assert [p.id for p in newer.data] == ids[:2]
    cut = sim.payouts[ids[2]]["created"]
    assert [p.id for p in sdk.v1.payouts.list({"created": {"gte": cut}}).data] == ids[:3]


def test_balance_transactions_of_a_payout_with_expanded_sources(sim, sdk):
    charge = sim.charge(300, "25.00")
    sim.refund(charge["id"], "5.00")
    payout = sim.pay_out(notify=False)
    sim.charge(301, "9.00")  # after the payout: not in it
    txns = sdk.v1.balance_transactions.list({"payout": payout["id"], "expand": ["data.source"]}).data
    assert sorted(t.type for t in txns) == ["charge", "payout", "refund"]
    refund_txn = next(t for t in txns if t.type == "refund")
    assert refund_txn.source.object == "refund" and refund_txn.source.metadata["order_id"] == "300"
    own = next(t for t in txns if t.type == "payout")
    assert own.amount == -payout["amount"] and sum(t.net for t in txns) == 0
    plain = sdk.v1.balance_transactions.list({"payout": payout["id"]}).data
    assert all(isinstance(t.source, str) for t in plain)
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        sdk.v1.balance_transactions.list({"expand": ["source"]})


def test_stripe_errors_as_the_official_client_reads_them(sim, sdk):
    with pytest.raises(stripe.AuthenticationError, match="Invalid API Key"):
        stripe.StripeClient("sk_test_nope_nope", base_addresses={"api": sim.url}).v1.balance.retrieve()
    answer = requests.get(sim.url + "/v1/balance", timeout=5)
    assert answer.status_code == 401 and "You did not provide an API key" in answer.json()["error"]["message"]
    assert answer.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.payouts.retrieve("po_nothing")
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError, match="between 1 and 100"):
        sdk.v1.payouts.list({"limit": 0})
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL"):
        sdk.raw_request("get", "/v1/nothing_here")
    # Basic auth with the key as user name works too, as on Stripe
    assert requests.get(sim.url + "/v1/balance", auth=(KEY, ""), timeout=5).status_code == 200


def test_rate_limit_answers_like_stripe(sim, sdk):
    sim.set_rate_limit((1, 1))
    sdk.v1.balance.retrieve()
    with pytest.raises(stripe.RateLimitError) as caught:
        sdk.v1.balance.retrieve()
    assert caught.value.http_status == 429 and caught.value.json_body["error"]["code"] == "rate_limit"
    assert caught.value.request_id.startswith("req_")
    assert "retry-after" not in {k.lower() for k in caught.value.headers}
    assert sim.rate_limited_count == 1
    sim.set_rate_limit(None)
    sim.inject("GET", "/v1/payouts", 503)
    with pytest.raises(stripe.APIError):
        sdk.v1.payouts.list()
    assert [c.status for c in sim.calls_to("GET", "/v1/payouts")] == [503]


def test_manual_payout_from_a_form_encoded_body(sim, sdk):
    sim.charge(400, "50.00")
    payout = sdk.v1.payouts.create({"amount": 1000, "currency": "eur", "description": "Weekly",
                                    "metadata": {"ref": "W12"}})
    assert payout.status == "pending" and payout.metadata["ref"] == "W12" and payout.automatic is False
    assert "metadata[ref]=W12" in sim.calls_to("POST", "/v1/payouts")[0].body.decode()
    with pytest.raises(stripe.InvalidRequestError, match="insufficient funds"):
        sdk.v1.payouts.create({"amount": 10_000_000, "currency": "eur"})


def test_payout_and_dispute_webhooks_are_signed_events(sim, receiver):
    charge = sim.charge(500, "30.00")
    sim.charge(501, "80.00")
    sim.dispute(charge["id"])
    payout = sim.pay_out()
    types = [json.loads(body)["type"] for _, body in receiver.received]
    assert types == ["charge.dispute.created", "charge.dispute.funds_withdrawn", "payout.created", "payout.paid"]
    for headers, body in receiver.received:
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], WHSEC)
        assert event.object == "event" and event.id.startswith("evt_")
    paid = json.loads(receiver.received[-1][1])
    assert paid["data"]["object"]["id"] == payout["id"] and paid["data"]["object"]["status"] == "paid"
    dispute = json.loads(receiver.received[0][1])["data"]["object"]
    assert dispute["charge"] == charge["id"] and dispute["status"] == "needs_response"


def test_webhook_faults_tampered_stale_dropped_and_failed_payout(sim, receiver):
    sim.charge(600, "10.00")
    sim.tamper_webhooks(secret="whsec_wrong")
    sim.pay_out(status="in_transit")
    headers, body = receiver.received[-1]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), headers["Stripe-Signature"], WHSEC, 300)
    sim.tamper_webhooks(timestamp_skew=-400)
    payout_id = next(iter(sim.payouts))
    sim.settle_payout(payout_id, "failed")
    headers, body = receiver.received[-1]
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.WebhookSignature.verify_header(body.decode(), headers["Stripe-Signature"], WHSEC, 300)
    assert json.loads(body)["data"]["object"]["failure_code"] == "account_closed"
    # the failed amount is back on the balance and goes out with the next payout
    assert sim.pay_out(notify=False)["amount"] == sim.payouts[payout_id]["amount"]
    sim.drop_webhooks()
    before = len(receiver.received)
    sim.charge(601, "5.00")
    sim.pay_out()
    assert len(receiver.received) == before + 1 and sim.webhooks.dropped()


def test_events_not_enabled_on_the_endpoint_are_not_sent(receiver):
    with StripeSimulator(secret_key=KEY, webhook_url=receiver.url, enabled_events=("payout.paid",)) as sim:
        sim.charge(1, "3.00")
        sim.pay_out()
    assert [json.loads(b)["type"] for _, b in receiver.received] == ["payout.paid"]
    assert [e["type"] for e in sim.events] == ["payout.created", "payout.paid"]


def test_charges_the_shops_stripe_paid_orders_once():
    from simulators.woocommerce import WooCommerceSimulator

    with WooCommerceSimulator(consumer_key="ck_s", consumer_secret="cs_s", seed=2) as shop, \
            StripeSimulator(secret_key=KEY, site_url=shop.url) as account:
        paid = shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}])
        shop.place_order(lines=[{"sku": "RC-CAP", "quantity": 1}], payment_method="bacs")
        shop.place_order(lines=[{"sku": "RC-CAP", "quantity": 1}], status="pending")
        [charge] = account.charge_shop_orders(shop.url, "ck_s", "cs_s")
        assert charge["id"] == paid["transaction_id"] and charge["metadata"]["order_id"] == str(paid["number"])
        assert charge["amount"] == round(float(paid["total"]) * 100)
        assert account.charge_shop_orders(shop.url, "ck_s", "cs_s") == []


def test_command_line_serves_the_api():
    port_probe = __import__("socket").socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    proc = subprocess.Popen([sys.executable, "-m", "simulators.stripe", "--port", str(port), "--key", KEY,
                             "--webhook-secret", WHSEC, "--quiet"], cwd=TESTS_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert "Stripe account on" in proc.stdout.readline()
        answer = requests.get(f"http://127.0.0.1:{port}/v1/balance", headers={"Authorization": "Bearer " + KEY},
                              timeout=5)
        assert answer.json()["object"] == "balance"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
