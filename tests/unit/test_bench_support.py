"""What the benchmarks rely on: signed webhooks both connectors accept, and a Shopify simulator that
answers the documents OCA's shopify_connector sends when it imports an order."""

import json
import runpy
from decimal import Decimal
from pathlib import Path

import pytest
import requests

import odoo.addons

from bench.run import SECRET, percentile, signed_webhook
from retail_connector_marketplace_lib.shopify.webhooks import verify as verify_shopify
from simulators.shopify import ShopifySimulator, gid


def _oca_file(relative):
    """Return the namespace of one pure-Python file of OCA's shopify_connector, or skip."""
    for root in odoo.addons.__path__:
        path = Path(root) / "shopify_connector" / relative
        if path.is_file():
            return runpy.run_path(str(path))
    pytest.skip("OCA's shopify_connector is not installed")


def test_percentile_takes_the_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7.0


def test_signed_webhook_is_accepted_by_both_connectors_and_each_is_new():
    payload = {"id": 1, "admin_graphql_api_id": gid("Order", 1), "name": "#1001"}
    body, headers = signed_webhook(payload)
    again_body, again = signed_webhook(payload)
    assert json.loads(body) == payload and body == again_body
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Webhook-Id"] != again["X-Shopify-Webhook-Id"]
    verify = _oca_file("lib/webhook.py")["verify_webhook_hmac"]
    assert verify(body, SECRET, headers["X-Shopify-Hmac-Sha256"])
    assert not verify(body + b" ", SECRET, headers["X-Shopify-Hmac-Sha256"])
    assert verify_shopify(body, headers, [SECRET]) == 0


@pytest.fixture
def shop():
    sim = ShopifySimulator(token="t", webhook_secret=SECRET, currency="USD", tax_rate="0",
                           cost_limit=(200000, 20000)).start()
    yield sim
    sim.stop()


def _graphql(shop, query, variables):
    response = requests.post(shop.url + "/admin/api/2026-01/graphql.json", headers={"X-Shopify-Access-Token": "t"},
                             json={"query": query, "variables": variables}, timeout=10)
    body = response.json()
    assert "errors" not in body, body.get("errors")
    return body["data"]


def test_simulator_answers_ocas_order_query(shop):
    query = _oca_file("graphql/order.py")["ORDER_BY_ID_QUERY"]
    order = shop.place_order(notify=False, line_items=[{"sku": "RC-MUG", "quantity": 2}], shipping_lines=[])
    data = _graphql(shop, query, {"id": gid("Order", order["id"])})["order"]
    assert data["number"] == order["number"]
    assert Decimal(data["currentTotalPriceSet"]["shopMoney"]["amount"]) == Decimal("19.00")
    assert Decimal(data["currentSubtotalPriceSet"]["shopMoney"]["amount"]) == Decimal("19.00")
    [sale] = data["transactions"]
    assert (sale["kind"], sale["status"], Decimal(sale["amountSet"]["shopMoney"]["amount"])) == (
        "SALE", "SUCCESS", Decimal("19.00"))
    [line] = data["lineItems"]["nodes"]
    assert (line["sku"], line["refundableQuantity"], line["isGiftCard"]) == ("RC-MUG", 2, False)
    assert Decimal(line["discountedUnitPriceAfterAllDiscountsSet"]["shopMoney"]["amount"]) == Decimal("9.50")
    assert data["returns"]["nodes"] == [] and data["risk"]["assessments"] == [{"riskLevel": "LOW"}]


def test_simulator_answers_ocas_fulfilment_order_query(shop):
    query = _oca_file("graphql/fulfillment.py")["ORDER_FULFILLMENT_ORDERS_QUERY"]
    order = shop.place_order(notify=False, line_items=[{"sku": "RC-CAP", "quantity": 1}])
    [fo] = _graphql(shop, query, {"id": gid("Order", order["id"])})["order"]["fulfillmentOrders"]["nodes"]
    assert fo["status"] == "OPEN" and fo["fulfillmentHolds"] == []
    assert {"action": "CREATE_FULFILLMENT"} in fo["supportedActions"]
    assert fo["lineItems"]["nodes"][0]["remainingQuantity"] == 1
