"""Stripe behind a WooCommerce shop, against the running server over real HTTP both ways.

The shop and the Stripe account run in this process. The shop's order comes in by its webhook;
Stripe charges it, pays the balance out and signs ``payout.created``/``payout.paid``; the
server's job runner reads the payout and its balance transactions from the Stripe simulator
with the official ``stripe`` package and settles it against the order, invoiced at payout.
"""

import uuid

import pytest

from simulators.stripe import StripeSimulator
from simulators.woocommerce import WooCommerceSimulator

pytestmark = pytest.mark.e2e

KEY = "sk_test_e2e_%s" % uuid.uuid4().hex[:8]
WHSEC = "whsec_e2e_%s" % uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def outlet(odoo, public_url):
    """Return (shop simulator, Stripe simulator, WooCommerce backend id, Stripe backend id)."""
    for sku in ("RC-MUG", "RC-CAP"):
        if not odoo.search_read("product.product", [("default_code", "=", sku)], ["id"]):
            odoo.call("product.product", "create", {"name": sku, "default_code": sku, "type": "consu",
                                                    "list_price": 10, "taxes_id": [(5, 0, 0)]})
    warehouse = odoo.search_read("stock.warehouse", [], ["id"], limit=1)[0]
    suffix = uuid.uuid4().hex[:6]
    woo_id = odoo.call("retail.backend", "create", {
        "name": "E2E outlet %s" % suffix, "backend_type": "woocommerce", "api_key": "ck_e2e_pay",
        "api_secret": "cs_e2e_pay", "webhook_secret": "wc-e2e-pay", "warehouse_id": warehouse["id"],
        "inbound_rate_limit": 0, "rate_limit_rps": 50, "rate_limit_burst": 50, "invoice_policy": "at_payout",
    })
    stripe_id = odoo.call("retail.backend", "create", {
        "name": "E2E Stripe %s" % suffix, "backend_type": "stripe", "api_secret": KEY, "webhook_secret": WHSEC,
        "orders_backend_id": woo_id, "inbound_rate_limit": 0, "rate_limit_rps": 50, "rate_limit_burst": 50,
    })
    shop = WooCommerceSimulator(consumer_key="ck_e2e_pay", consumer_secret="cs_e2e_pay", currency="USD",
                                tax_rate="0").start()
    account = StripeSimulator(secret_key=KEY, webhook_secret=WHSEC, currency="usd", site_url=shop.url,
                              webhook_url="%s/retail/webhook/%d" % (public_url, stripe_id)).start()
    odoo.call("retail.backend", "write", [woo_id], {"endpoint_url": shop.url})
    odoo.call("retail.backend", "write", [stripe_id], {"endpoint_url": account.url})
    odoo.call("retail.backend", "action_woo_ensure_webhooks", [woo_id])
    yield shop, account, woo_id, stripe_id
    odoo.call("retail.backend", "write", [woo_id, stripe_id], {"active": False})
    account.stop()
    shop.stop()


def test_payout_settles_the_shop_order(outlet, odoo, wait_for):
    shop, account, woo_id, stripe_id = outlet
    order = shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}])

    def sale():
        found = odoo.search_read("retail.sale.order.binding",
                                 [("backend_id", "=", woo_id), ("external_id", "=", str(order["id"]))], ["odoo_id"])
        return found and found[0]["odoo_id"][0]

    sale_id = wait_for(sale, timeout=60, what="the shop's order in Odoo")
    account.charge(order["number"], order["total"], "usd", charge_id=order["transaction_id"])
    payout = account.pay_out()
    assert [d.status for d in account.webhooks.all()] == [202, 202]

    def settled():
        found = odoo.search_read("retail.payout", [("backend_id", "=", stripe_id)], ["state", "amount", "external_id"])
        return found if found and found[0]["state"] == "matched" else None

    [record] = wait_for(settled, timeout=90, what="the Stripe payout settled in Odoo")
    assert record["external_id"] == payout["id"]
    assert record["amount"] == pytest.approx(payout["amount"] / 100, abs=0.001)
    [line] = odoo.search_read("retail.payout.line", [("backend_id", "=", stripe_id)],
                              ["order_external_id", "sale_order_id", "invoice_id", "match_state", "fee"])
    assert (line["order_external_id"], line["sale_order_id"][0], line["match_state"]) == (
        str(order["number"]), sale_id, "matched")
    assert line["invoice_id"], "invoiced when the payout settled the charge"
    assert line["fee"] > 0


def test_forged_webhook_is_refused_and_recorded(outlet, odoo):
    shop, account, _woo_id, stripe_id = outlet
    account.charge("forged-%s" % uuid.uuid4().hex[:4], "1.00", "usd")
    account.tamper_webhooks(count=2, secret="whsec_forged")
    account.webhook_retries = 0
    account.pay_out()
    assert [d.status for d in account.webhooks.all()[-2:]] == [401, 401]
    rejected = odoo.search_read("retail.rejected.request", [("backend_id", "=", stripe_id)], ["code", "reason", "count"])
    # identical refusals are counted on one row
    assert sum(r["count"] for r in rejected) >= 2 and {r["code"] for r in rejected} == {"bad_signature"}
