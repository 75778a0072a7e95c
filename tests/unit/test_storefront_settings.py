"""What a storefront's orders name, read before any order arrives (the readiness check's channel
settings): the WooCommerce and Shopify protocol layers against their simulators, each value
checked against what the same shop's orders map to, and the simulators' endpoints read by the
channels' own Python packages (woocommerce, ShopifyAPI)."""

import json
from datetime import datetime, timezone

import pytest

from retail_connector_base_lib.http import ChannelError
from retail_connector_marketplace_lib.shopify import ShopifyClient, graphql_order_to_canonical, order_to_canonical
from retail_connector_marketplace_lib.shopify.settings import order_settings
from retail_connector_marketplace_lib.woocommerce import WooCommerceClient
from retail_connector_marketplace_lib.woocommerce import order_to_canonical as woo_order_to_canonical
from retail_connector_marketplace_lib.woocommerce.settings import shop_settings
from simulators.shopify import ShopifySimulator
from simulators.woocommerce import WooCommerceSimulator

KEY, SECRET = "ck_settings", "cs_settings"
TOKEN = "shpat_settings"
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # the woocommerce package calls requests.request, which reads proxy settings from the environment
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --------------------------------------------------------------------------- WooCommerce


@pytest.fixture
def woo():
    rates = [{"label": "TVA", "percent": "21"}, {"label": "TVA réduite", "percent": "6", "class": "reduced-rate"}]
    rates += [{"label": "State tax %d" % n, "percent": "1.5", "country": "US", "state": "S%d" % n} for n in range(10)]
    rates += [{"label": "", "percent": "20", "country": "FR"}, {"label": "", "percent": "7", "country": "US"}]
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, tax_rates=rates,
                              enabled_gateways=("stripe", "bacs")) as sim:
        yield sim


def test_woocommerce_settings_are_read_page_by_page_with_the_enabled_gateways_only(woo):
    client = WooCommerceClient(woo.url, KEY, SECRET, timeout=5, per_page=5)
    settings = shop_settings(client.tax_rates(), client.payment_gateways(), client.shipping_methods())
    taxes = {t["name"]: t for t in settings["taxes"]}
    assert len(settings["taxes"]) == 14  # three pages of five
    assert (taxes["TVA"]["rate"], taxes["TVA réduite"]["rate"], taxes["State tax 9"]["rate"]) == ("0.21", "0.06", "0.015")
    assert taxes["TVA réduite"]["class"] == "reduced-rate"
    # WooCommerce labels a rate without a name VAT or Tax, as its orders then name it
    assert (taxes["VAT"]["rate"], taxes["Tax"]["rate"]) == ("0.2", "0.07")
    assert settings["payment_gateways"] == [{"code": "stripe", "name": "Credit Card (Stripe)"},
                                            {"code": "bacs", "name": "Direct bank transfer"}]
    assert {m["code"]: m["name"] for m in settings["shipping_methods"]} == {
        "flat_rate": "Flat rate", "free_shipping": "Free shipping", "local_pickup": "Local pickup"}
    paths = [c.path for c in woo.calls]
    assert paths.count("/wp-json/wc/v3/taxes") == 3


def test_woocommerce_settings_name_what_the_shops_orders_name():
    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, tax_rate="21", tax_label="TVA",
                              enabled_gateways=("bacs",)) as sim:
        sim.place_order(payment_method="bacs", notify=False,
                        shipping_lines=[{"method_id": "local_pickup", "method_title": "Local pickup", "total": "0"}])
        client = WooCommerceClient(sim.url, KEY, SECRET, timeout=5)
        settings = shop_settings(client.tax_rates(), client.payment_gateways(), client.shipping_methods())
        order = woo_order_to_canonical(next(client.iter_orders_modified_after(EPOCH)))
    assert order.payment_gateway in {g["code"] for g in settings["payment_gateways"]}
    assert {s.code for s in order.shipping_lines} <= {m["code"] for m in settings["shipping_methods"]}
    named = {(t.name, str(t.rate)) for line in order.lines for t in line.tax_lines}
    assert named and named <= {(t["name"], t["rate"]) for t in settings["taxes"]}


def test_woocommerce_settings_errors_are_channel_errors(woo):
    client = WooCommerceClient(woo.url, KEY, SECRET, timeout=5)
    woo.inject("GET", "/wp-json/wc/v3/payment_gateways", status=500)
    with pytest.raises(ChannelError):
        client.payment_gateways()
    assert client.shipping_methods()


def test_official_woocommerce_client_reads_taxes_gateways_and_shipping_methods(woo):
    from woocommerce import API  # the official package; pinned in requirements.txt

    wcapi = API(url=woo.url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=10)
    taxes = wcapi.get("taxes", params={"per_page": 100})
    assert taxes.status_code == 200, taxes.text
    assert taxes.headers["X-WP-Total"] == "14"
    first = taxes.json()[0]
    assert {k: first[k] for k in ("id", "country", "rate", "name", "priority", "compound", "shipping", "class")} == {
        "id": 1, "country": "BE", "rate": "21.0000", "name": "TVA", "priority": 1, "compound": False,
        "shipping": True, "class": "standard"}
    reduced = wcapi.get("taxes", params={"class": "reduced-rate"}).json()
    assert [t["name"] for t in reduced] == ["TVA réduite"]
    gateways = wcapi.get("payment_gateways").json()
    assert {g["id"]: g["enabled"] for g in gateways} == {
        "stripe": True, "ppcp-gateway": False, "bacs": True, "cheque": False, "cod": False}
    assert wcapi.get("payment_gateways/bacs").json()["title"] == "Direct bank transfer"
    assert wcapi.get("payment_gateways/nope").status_code == 404
    methods = wcapi.get("shipping_methods").json()
    assert [(m["id"], m["title"]) for m in methods] == [
        ("flat_rate", "Flat rate"), ("free_shipping", "Free shipping"), ("local_pickup", "Local pickup")]
    assert wcapi.get("shipping_methods/flat_rate").json()["description"]


# --------------------------------------------------------------------------- Shopify


@pytest.fixture
def shopify_shop():
    with ShopifySimulator(token=TOKEN, seed=5, cost_limit=(2000, 2000)) as sim:
        yield sim


def test_shopify_settings_are_what_the_recent_orders_name(shopify_shop):
    shop = shopify_shop
    shop.add_carrier_service("Parcel Express")
    shop.add_carrier_service("Old carrier", active=False)
    old = shop.place_order(notify=False, gateway="paypal", tax_rate="0.06",
                           shipping_lines=[{"code": "pickup", "title": "Pick up in store", "price": "0"}])
    new = shop.place_order(notify=False, gateway="shopify_payments", shipping_lines=[
        {"code": "PE-24", "title": "Parcel Express 24h", "price": "7.50", "source": "Parcel Express",
         "carrier_identifier": "c7a1e0f3b2"}])
    client = ShopifyClient(shop.url, TOKEN)
    recent = client.recent_order_settings()
    assert len(recent) == 2
    settings = order_settings(recent, client.carrier_services())
    assert {t["name"]: t["rate"] for t in settings["taxes"]} == {"VAT 21%": "0.21", "VAT 6%": "0.06"}
    assert [g["code"] for g in settings["payment_gateways"]] == ["shopify_payments", "paypal"]  # newest first
    assert {m["code"]: m["name"] for m in settings["shipping_methods"]} == {
        "PE-24": "Parcel Express 24h", "pickup": "Pick up in store"}
    assert [c["code"] for c in settings["carriers"]] == ["Parcel Express"]  # the inactive service is left out
    # the same values as the orders map to, from a query and from a webhook body
    for order in (old, new):
        for canonical in (graphql_order_to_canonical(client.get_order(order["id"])),
                          order_to_canonical(shop.get_order(order["id"]))):
            assert canonical.payment_gateway in {g["code"] for g in settings["payment_gateways"]}
            assert {s.code for s in canonical.shipping_lines} <= {m["code"] for m in settings["shipping_methods"]}
            assert {s.carrier for s in canonical.shipping_lines if s.carrier} <= {c["code"] for c in settings["carriers"]}
            assert {t.name for line in canonical.lines for t in line.tax_lines} <= {t["name"] for t in settings["taxes"]}
    carried = graphql_order_to_canonical(client.get_order(new["id"])).shipping_lines[0]
    assert (carried.code, carried.carrier) == ("PE-24", "Parcel Express")
    assert graphql_order_to_canonical(client.get_order(old["id"])).shipping_lines[0].carrier is None


def test_shopify_settings_read_the_newest_orders_in_one_query(shopify_shop):
    shop = shopify_shop
    for index in range(3):
        shop.place_order(notify=False, gateway="gateway-%d" % index)
    client = ShopifyClient(shop.url, TOKEN)
    before = len(shop.calls)
    recent = client.recent_order_settings(count=2)
    assert len(shop.calls) == before + 1
    assert [o["paymentGatewayNames"] for o in recent] == [["gateway-2"], ["gateway-1"]]


def test_shopify_package_reads_carrier_services(shopify_shop):
    shopify = pytest.importorskip("shopify", reason="ShopifyAPI (see requirements.txt) is not installed")
    shop = shopify_shop
    made = shop.add_carrier_service("Parcel Express")
    shop.add_carrier_service("Old carrier", active=False)
    session = shopify.Session(shop.shop_domain, "2025-10", TOKEN)
    session.protocol, session.url = "http", f"127.0.0.1:{shop.port}"
    shopify.ShopifyResource.activate_session(session)
    try:
        answer = json.loads(shopify.GraphQL().execute(
            'query { carrierServices(first: 10, query: "active:true") { nodes { id name formattedName active } } }'))
    finally:
        shopify.ShopifyResource.clear_session()
    assert answer["data"]["carrierServices"]["nodes"] == [{
        "id": "gid://shopify/DeliveryCarrierService/%d" % made["id"], "name": "Parcel Express",
        "formattedName": "Parcel Express (Rates provided by app)", "active": True}]
