"""The Amazon protocol layer against the SP-API simulator, and the simulator against python-amazon-sp-api."""

import json
from decimal import Decimal
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from retail_connector_base_lib.http import ChannelAuthError, ChannelRateLimited
from retail_connector_marketplace_lib.amazon import (
    LwaAuth,
    MemoryTokenStore,
    SellingPartnerClient,
    needs_personal_data,
    notification_order_id,
    order_to_canonical,
)
from retail_connector_marketplace_lib.amazon.client import price_patch
from simulators.amazon import AmazonSimulator

MARKET = "A1PA6795UKMFR9"


@pytest.fixture
def sim():
    simulator = AmazonSimulator(rate_scale=100.0, feed_delay=0.3).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def _client(sim, **kw):
    auth = LwaAuth(sim.client_id, sim.client_secret, sim.refresh_token, token_url=sim.token_url,
                   store=kw.pop("store", None) or MemoryTokenStore())
    return SellingPartnerClient(sim.url, auth, sleep=kw.pop("sleep", lambda s: None), **kw)


def _since():
    return datetime.now(timezone.utc) - timedelta(hours=1)


def test_an_orders_read_continues_from_the_next_token_it_kept(sim):
    ids = [sim.add_order(items=[("SKU-%d" % i, 1, "5.00")], notify=False) for i in range(5)]
    client = _client(sim)
    tokens, first = [], []
    for order in client.iter_orders([MARKET], last_updated_after=_since(), page_size=2, on_next_token=tokens.append):
        first.append(order["AmazonOrderId"])
        if len(first) == 2:
            break  # a read that stopped after its first page
    assert len(tokens) == 0  # the next page was never asked for: no token handed over yet
    # the token the read keeps is handed over before the next page is asked for
    pages = client.iter_orders([MARKET], last_updated_after=_since(), page_size=2, on_next_token=tokens.append)
    first = [next(pages)["AmazonOrderId"], next(pages)["AmazonOrderId"]]
    third = next(pages)["AmazonOrderId"]
    assert len(tokens) == 1 and tokens[0]
    rest = [third] + [o["AmazonOrderId"] for o in pages]
    again = [o["AmazonOrderId"] for o in client.iter_orders([MARKET], last_updated_after=_since(), next_token=tokens[0])]
    assert again == rest
    assert sorted(first + rest) == sorted(ids)


def test_orders_pages_items_and_restricted_data(sim):
    ids = [sim.add_order(items=[("SKU-%d" % i, 1, "5.00"), ("B", 2, "1.50"), ("C", 1, "3.00")], notify=False)
           for i in range(3)]
    client = _client(sim)
    orders = list(client.iter_orders([MARKET], last_updated_after=_since(), page_size=2))
    assert sorted(o["AmazonOrderId"] for o in orders) == sorted(ids)
    assert len(sim.calls_to("GET", "/orders/v0/orders")) >= 2  # NextToken followed
    assert not orders[0]["BuyerInfo"]  # no personal data without a Restricted Data Token
    items = client.get_order_items(ids[0])
    assert [i["SellerSKU"] for i in items] == ["SKU-0", "B", "C"]  # two pages of items
    assert needs_personal_data(orders[0])
    full = client.get_order_with_pii(ids[0])
    assert full["BuyerInfo"]["BuyerEmail"].endswith("@marketplace.amazon.de")
    assert full["ShippingAddress"]["AddressLine1"] == "Hauptstrasse 1"
    order = order_to_canonical(full, items)
    assert order.external_id == ids[0] and order.payment_state == "paid" and order.status == "open"
    assert order.taxes_included and order.customer.email == full["BuyerInfo"]["BuyerEmail"]
    assert [(line.sku, str(line.quantity), str(line.unit_price)) for line in order.lines] == [
        ("SKU-0", "1", "5.00"), ("B", "2", "1.50"), ("C", "1", "3.00")]


def test_one_refresh_and_a_new_token_after_expiry(sim):
    sim.add_order(notify=False)
    client = _client(sim)
    list(client.iter_orders([MARKET], last_updated_after=_since()))
    list(client.iter_orders([MARKET], last_updated_after=_since()))
    assert sim.token_requests == 1
    sim.expire_tokens()
    assert len(list(client.iter_orders([MARKET], last_updated_after=_since()))) == 1
    assert sim.token_requests == 2
    # the token is never in what a refusal says
    bad = SellingPartnerClient(sim.url, LwaAuth(sim.client_id, sim.client_secret, "Atzr|wrong", token_url=sim.token_url))
    with pytest.raises(ChannelAuthError) as caught:
        bad.get_order_items("x")
    assert "invalid_grant" in str(caught.value) and "Atzr|wrong" not in str(caught.value)


def test_429_backs_off_then_gives_up(sim):
    sim.add_order(notify=False)
    waits = []
    client = _client(sim, sleep=waits.append, max_wait=10.0)
    sim.throttle("getOrders", 2)
    assert len(list(client.iter_orders([MARKET], last_updated_after=_since()))) == 1
    assert sim.throttled["getOrders"] == 2 and waits[:1] == [1.0] and 2.0 in waits  # exponential back-off
    assert client.limiter.rate("getOrders") == pytest.approx(1.67)  # learnt from x-amzn-RateLimit-Limit
    sim.throttle("getOrders", 50)
    with pytest.raises(ChannelRateLimited):
        list(client.iter_orders([MARKET], last_updated_after=_since()))


def test_confirm_shipment_listing_and_feed_with_a_rejected_message(sim):
    order_id = sim.add_order(items=[("A", 2, "4.00")], notify=False)
    client = _client(sim, sleep=time.sleep)
    item = client.get_order_items(order_id)[0]
    client.confirm_shipment(order_id, MARKET, package_reference="WH/OUT/1", carrier_code="DHL",
                            tracking_number="TRACK1", items=[{"orderItemId": item["OrderItemId"], "quantity": 2}])
    assert sim.orders[order_id]["OrderStatus"] == "Shipped"
    assert sim.shipments[0]["packageDetail"]["trackingNumber"] == "TRACK1"
    sim.add_listing("A")
    sim.add_listing("B")
    sim.add_listing("C")
    sim.reject_sku("B", "Quantity updates are blocked for this ASIN.")
    client.patch_listing_quantity(sim.seller_id, "A", [MARKET], 7)
    assert sim.listings["A"]["quantity"] == 7
    client.patch_listing(sim.seller_id, "A", [MARKET], [price_patch(MARKET, "EUR", "19.90")])
    assert (sim.listings["A"]["price"], sim.listings["A"]["currency"]) == ("19.90", "EUR")
    refused = client.listings_quantity_feed(sim.seller_id, [MARKET], {"A": 3, "B": 4, "C": 5}, interval=0.1)
    assert list(refused) == ["B"] and "blocked" in refused["B"]
    assert sim.listings["A"]["quantity"] == 3 and sim.listings["C"]["quantity"] == 5


def test_order_change_notification_on_sqs(sim):
    order_id = sim.add_order()
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=sim.sqs_endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    messages = sqs.receive_message(QueueUrl=sim.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [notification_order_id(m["Body"])[0] for m in messages] == [order_id]
    sim.drop_notifications(1)
    sim.set_status(order_id, "Canceled")
    assert not sqs.receive_message(QueueUrl=sim.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages")
    assert sim.notifications_dropped


def test_python_amazon_sp_api_speaks_to_the_simulator(sim, monkeypatch):
    from sp_api.api import Feeds, Orders, Tokens
    from sp_api.auth import AccessTokenClient
    from sp_api.base import Marketplaces

    class LoopbackLwa(AccessTokenClient):
        scheme = "http://"
        host = sim.url.split("://", 1)[1]

    order_id = sim.add_order(items=[("A", 1, "9.99")], notify=False)
    credentials = {"refresh_token": sim.refresh_token, "lwa_app_id": sim.client_id,
                   "lwa_client_secret": sim.client_secret}

    def client(cls):
        api = cls(marketplace=Marketplaces.DE, credentials=credentials, auth_token_client_class=LoopbackLwa)
        api.endpoint = sim.url
        return api

    orders = client(Orders).get_orders(LastUpdatedAfter=(datetime.now(timezone.utc) - timedelta(hours=1)).isoformat())
    assert [o["AmazonOrderId"] for o in orders.payload["Orders"]] == [order_id]
    items = client(Orders).get_order_items(order_id)
    assert items.payload["OrderItems"][0]["SellerSKU"] == "A"
    rdt = client(Tokens).create_restricted_data_token(restrictedResources=[{
        "method": "GET", "path": "/orders/v0/orders/%s" % order_id, "dataElements": ["buyerInfo", "shippingAddress"]}])
    assert rdt.payload["restrictedDataToken"]
    sim.add_listing("A")
    feeds = client(Feeds)
    document = feeds.create_feed_document(file=None, content_type="application/json")
    assert document.payload["feedDocumentId"]
    feed = feeds.create_feed("JSON_LISTINGS_FEED", document.payload["feedDocumentId"])
    assert feed.payload["feedId"]
    assert json.loads(json.dumps(feeds.get_feed(feed.payload["feedId"]).payload))["processingStatus"]


def test_a_settlements_read_continues_from_the_next_token_it_kept(sim):
    for _ in range(3):
        sim.settle([sim.add_order(items=[("A", 1, "10.00")], notify=False)])
    client = _client(sim)
    since = datetime.now(timezone.utc) - timedelta(days=30)
    tokens = []
    every = [g["FinancialEventGroupId"] for g in client.iter_financial_event_groups(
        since, page_size=1, on_next_token=tokens.append)]
    assert len(every) == 3 and len(tokens) == 2
    again = [g["FinancialEventGroupId"] for g in client.iter_financial_event_groups(since, next_token=tokens[0])]
    assert again == every[1:]


def test_financial_event_group_as_a_payout(sim):
    from retail_connector_marketplace_lib.amazon.finance import group_to_canonical

    order_id = sim.add_order(items=[("A", 2, "10.00")], shipping="4.00", notify=False)
    group_id = sim.settle([order_id], commission="0.15", service_fee="39.00", reserve="5.00")
    client = _client(sim)
    [group] = list(client.iter_financial_event_groups(datetime.now(timezone.utc) - timedelta(days=30)))
    payout = group_to_canonical(group, client.financial_events(group_id))
    assert (payout.external_id, payout.status, payout.amount) == (group_id, "paid", Decimal("-23"))
    charge, fee, reserve = payout.lines
    assert (charge.type, charge.order_external_id, charge.amount, charge.fee) == ("charge", order_id, 24, 3)
    assert (fee.type, fee.net, reserve.type, reserve.net) == ("fee", -39, "adjustment", -5)
    assert sum(line.net for line in payout.lines) == payout.amount
