"""The readiness check reads what a storefront's orders name, on the running server.

A WooCommerce shop's tax rates, enabled payment gateways and shipping methods, and a Shopify
shop's taxes, gateways, shipping methods and carriers named by its recent orders (and its
carrier services), each without a mapping in Odoo, are findings of the readiness check; the
fix of each creates its mapping and the check then passes. A part the channel refuses is a
warning of its own while the rest is still checked.
"""

import uuid

import pytest

from simulators.shopify import ShopifySimulator
from simulators.woocommerce import WooCommerceSimulator

pytestmark = pytest.mark.e2e

KEY, SECRET = "ck_e2e_ready", "cs_e2e_ready"
TOKEN = "shpat_e2e_ready"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # the woocommerce package calls requests.request, which reads proxy settings from the environment
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _findings(odoo, backend_id):
    return odoo.search_read("retail.readiness.item", [("backend_id", "=", backend_id)],
                            ["check", "severity", "map_kind", "channel_value", "name"])


def _check(odoo, backend_id):
    odoo.call("retail.backend", "action_check_readiness", [backend_id])
    return _findings(odoo, backend_id)


def _target(odoo, model, suffix):
    """Return an Odoo record of ``model`` a channel value may be mapped to."""
    if model == "account.tax":
        found = odoo.search_read("account.tax", [("type_tax_use", "=", "sale")], ["id"], limit=1)
        return found[0]["id"] if found else odoo.call("account.tax", "create", {
            "name": "E2E tax %s" % suffix, "amount": 21, "amount_type": "percent", "type_tax_use": "sale"})
    if model == "account.journal":
        return odoo.search_read("account.journal", [("type", "in", ("bank", "cash"))], ["id"], limit=1)[0]["id"]
    shipping = odoo.search_read("product.product", [("default_code", "=", "RC-SHIPPING")], ["id"], limit=1)[0]["id"]
    if model == "product.product":
        return shipping
    return odoo.call("delivery.carrier", "create", {"name": "E2E carrier %s" % suffix, "product_id": shipping})


def _fix_every_mapping(odoo, backend_id, suffix):
    """Press each unmapped value's fix and save the mapping it opens, as a manager does in the form (saving
    checks again: the findings are made anew)."""
    for _attempt in range(10):
        items = [f for f in _findings(odoo, backend_id) if f["check"] == "mapping"]
        if not items:
            return
        item = items[0]
        action = odoo.call("retail.readiness.item", "action_fix", [item["id"]])
        context = action["context"]
        assert (action["res_model"], context["default_kind"], context["default_external_value"]) == (
            "retail.value.map", item["map_kind"], item["channel_value"])
        model = context["default_odoo_ref"].split(",")[0]
        map_id = odoo.call("retail.value.map", "create", {
            "backend_id": context["default_backend_id"], "kind": context["default_kind"],
            "external_value": context["default_external_value"],
            "odoo_ref": "%s,%d" % (model, _target(odoo, model, suffix))}, context=context)
        odoo.call("retail.value.map", "action_map_and_check_again", [map_id])
        assert (item["map_kind"], item["channel_value"]) not in {
            (f["map_kind"], f["channel_value"]) for f in _findings(odoo, backend_id)}, "checked again: it is mapped"
    raise AssertionError("the fixes did not end the mapping findings")


def _passes(odoo, backend_id):
    findings = _findings(odoo, backend_id)
    backend = odoo.search_read("retail.backend", [("id", "=", backend_id)], ["readiness_blocking_count"])[0]
    assert not [f for f in findings if f["check"] in ("mapping", "connection")], findings
    assert backend["readiness_blocking_count"] == 0, findings


def test_woocommerce_taxes_gateways_and_shipping_methods_without_mapping_are_listed_and_fixed(odoo):
    suffix = uuid.uuid4().hex[:6]
    tax, gateway, method = "E2E VAT %s" % suffix, "e2e_pay_%s" % suffix, "e2e_courier_%s" % suffix
    shop = WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, tax_rates=[{"label": tax, "percent": "21"}],
                                enabled_gateways=(gateway,), shipping_methods={method: "E2E courier"}).start()
    backend_id = odoo.call("retail.backend", "create", {
        "name": "E2E readiness woo %s" % suffix, "backend_type": "woocommerce", "endpoint_url": shop.url,
        "api_key": KEY, "api_secret": SECRET, "webhook_secret": "wc-ready", "inbound_rate_limit": 0})
    try:
        findings = _check(odoo, backend_id)
        mapping = {(f["map_kind"], f["channel_value"]) for f in findings if f["check"] == "mapping"}
        # the gateways installed but switched off (bacs, cheque...) are not named
        assert mapping == {("tax", tax), ("payment_gateway", gateway), ("shipping", method)}, findings
        assert not [f for f in findings if f["check"] == "connection"], findings
        for path in ("taxes", "payment_gateways", "shipping_methods"):
            assert shop.calls_to("GET", "/wp-json/wc/v3/" + path), path

        _fix_every_mapping(odoo, backend_id, suffix)
        _passes(odoo, backend_id)
        kinds = odoo.search_read("retail.value.map", [("backend_id", "=", backend_id)], ["kind", "external_value"])
        assert {(m["kind"], m["external_value"]) for m in kinds} == mapping

        # a shop refusing one of them: the check says so, and still checks the others
        shop.inject("GET", "/wp-json/wc/v3/payment_gateways", status=403, times=None, body={
            "code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
            "data": {"status": 403}})
        findings = _check(odoo, backend_id)
        unreadable = [f for f in findings if f["check"] == "connection"]
        assert len(unreadable) == 1 and "payment gateways could not be read" in unreadable[0]["name"], findings
        assert unreadable[0]["severity"] == "warning"
        assert not [f for f in findings if f["check"] == "mapping"], findings
        shop.clear_faults()
    finally:
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
        shop.stop()


def test_official_woocommerce_client_reads_the_simulators_settings():
    from woocommerce import API  # the official package; pinned in requirements.txt

    with WooCommerceSimulator(consumer_key=KEY, consumer_secret=SECRET, tax_rate="21", tax_label="TVA",
                              enabled_gateways=("stripe",)) as shop:
        wcapi = API(url=shop.url, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=10)
        taxes = wcapi.get("taxes")
        assert taxes.status_code == 200, taxes.text
        assert [(t["name"], t["rate"], t["class"]) for t in taxes.json()] == [("TVA", "21.0000", "standard")]
        assert taxes.headers["X-WP-Total"] == "1"
        gateways = wcapi.get("payment_gateways").json()
        assert [g["id"] for g in gateways if g["enabled"]] == ["stripe"]
        assert {"id", "title", "description", "order", "enabled", "method_title", "settings"} <= set(gateways[0])
        methods = wcapi.get("shipping_methods").json()
        assert {m["id"]: m["title"] for m in methods} == {
            "flat_rate": "Flat rate", "free_shipping": "Free shipping", "local_pickup": "Local pickup"}


def test_shopify_values_named_by_recent_orders_without_mapping_are_listed_and_fixed(odoo):
    suffix = uuid.uuid4().hex[:6]
    gateway, method, carrier = "e2e-gateway-%s" % suffix, "E2E-EXPRESS-%s" % suffix, "E2E Parcel %s" % suffix
    # a rate of 17%: no Odoo sales tax has it, so the unmapped tax blocks
    shop = ShopifySimulator(token=TOKEN, currency="EUR", tax_rate="0.17").start()
    shop.add_carrier_service(carrier)
    shop.place_order(notify=False, gateway=gateway, shipping_lines=[
        {"code": method, "title": "E2E express", "price": "5.00", "source": carrier,
         "carrier_identifier": "e2e-%s" % suffix}])
    backend_id = odoo.call("retail.backend", "create", {
        "name": "E2E readiness shopify %s" % suffix, "backend_type": "shopify", "endpoint_url": shop.url,
        "api_secret": TOKEN, "webhook_secret": "shp-ready", "inbound_rate_limit": 0})
    try:
        findings = _check(odoo, backend_id)
        mapping = {(f["map_kind"], f["channel_value"]): f for f in findings if f["check"] == "mapping"}
        assert set(mapping) == {("tax", "VAT 17%"), ("payment_gateway", gateway), ("shipping", method),
                                ("carrier", carrier)}, findings
        assert mapping[("tax", "VAT 17%")]["severity"] == "blocking"
        assert not [f for f in findings if f["check"] == "connection"], findings

        _fix_every_mapping(odoo, backend_id, suffix)
        _passes(odoo, backend_id)

        # the shop refusing its orders to the app: the check says so, the carrier services are still read
        shop.inject("POST", "/admin/api/", delay=0.01)  # the connection test's query goes through
        shop.inject("POST", "/admin/api/", status=200, body={"errors": [{
            "message": "Access denied for orders field. Required access: `read_orders` access scope.",
            "extensions": {"code": "ACCESS_DENIED"}}]})
        shop.add_carrier_service("E2E Freight %s" % suffix)
        findings = _check(odoo, backend_id)
        unreadable = [f for f in findings if f["check"] == "connection"]
        assert len(unreadable) == 1 and "recent orders" in unreadable[0]["name"], findings
        assert [(f["map_kind"], f["channel_value"]) for f in findings if f["check"] == "mapping"] == [
            ("carrier", "E2E Freight %s" % suffix)], findings
    finally:
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
        shop.stop()
