"""Storefront domains against the running server: what each channel can be switched on for, the
assortment (only what a backend sells is sent; a product joining it is published before its stock),
stock and price reconciliation in pages, customers and Shopify's compliance webhooks."""

import uuid

import pytest

from odoo_client import OdooRPCError
from simulators.generic import GenericChannel
from test_storefront_flows import SKUS, Shopify, WooCommerce

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def storefront_products(storable_products):
    """Return {sku: product id} of the storable products the shops sell."""
    return storable_products(SKUS)


@pytest.fixture(params=[Shopify, WooCommerce], ids=["shopify", "woocommerce"])
def shop(request, public_url, storefront_products, storefront):
    with storefront(request.param(public_url), "E2E domains",
                    on_hand=dict.fromkeys(storefront_products.values(), 40)) as channel:
        yield channel


def _policy(odoo, backend_id, domain, fields=("id", "mode", "support_note", "cron_id")):
    return odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id), ("domain", "=", domain)],
                            list(fields))[0]


def test_a_domain_without_its_component_stays_off_and_says_why(shop, odoo):
    catalog = _policy(odoo, shop.backend_id, "catalog")
    assert (catalog["mode"], catalog["support_note"]) == ("batch", False), "the storefronts take the catalogue"
    customers = _policy(odoo, shop.backend_id, "customers")
    assert customers["mode"] == "realtime", "customers come by webhook"
    cron = customers["cron_id"] and odoo.search_read("ir.cron", [("id", "=", customers["cron_id"][0])], ["active"])
    assert cron and cron[0]["active"], "the hourly customers run polls what the webhooks missed"
    fulfilment = _policy(odoo, shop.backend_id, "fulfilment")  # a storefront sends deliveries, reads none
    odoo.call("retail.sync.policy", "write", [fulfilment["id"]], {"direction": "inbound", "mode": "off"})
    with pytest.raises(OdooRPCError, match="stays off"):
        odoo.call("retail.sync.policy", "write", [fulfilment["id"]], {"mode": "event"})
    assert _policy(odoo, shop.backend_id, "fulfilment")["mode"] == "off"


def test_stock_and_price_reconciliation_puts_odoo_values_back(shop, odoo, wait_for, storefront_products, offer_more,
                                                              to_sell):
    pricing = _policy(odoo, shop.backend_id, "pricing")
    odoo.call("retail.sync.policy", "write", [pricing["id"]], {"mode": "event"})
    location = shop.warehouse["lot_stock_id"][0]
    mug = storefront_products["RC-MUG"]
    # other tests' orders may hold some of it: at least two to sell, so that the shop's 1 below is a difference
    while offer_more(mug, location, 3) <= 1:
        pass
    assert wait_for(lambda: shop.stock_of("RC-MUG") == to_sell(mug, location) > 1, timeout=60,
                    what="the stock on the shop")
    price = "%.2f" % (10 + uuid.uuid4().int % 50 + 0.5)
    odoo.call("product.product", "write", [storefront_products["RC-CAP"]], {"list_price": float(price)})
    assert wait_for(lambda: shop.price_of("RC-CAP") == price, timeout=60, what="the price on the shop")

    # a merchant's edits on the shop, no webhook: the reconciliation finds and repairs them
    if shop.backend_type == "shopify":
        shop.sim.set_inventory_level("RC-MUG", None, 1)
        shop.sim.set_variant_price("RC-CAP", "1.00")
    else:
        shop.sim.set_stock("RC-MUG", 1)
        shop.sim.set_price("RC-CAP", "1.00")
    odoo.call("retail.backend", "action_reconcile_now", [shop.backend_id])
    runs = odoo.search_read("retail.reconciliation.run", [("backend_id", "=", shop.backend_id),
                                                          ("domain", "in", ["inventory", "pricing"])],
                            ["domain", "state", "repaired"])
    assert {r["domain"]: (r["state"], r["repaired"] >= 1) for r in runs} == {
        "inventory": ("done", True), "pricing": ("done", True)}
    assert wait_for(lambda: shop.stock_of("RC-MUG") == to_sell(mug, location) > 1, timeout=60,
                    what="the stock put back")
    assert wait_for(lambda: shop.price_of("RC-CAP") == price, timeout=60, what="the price put back")


def test_a_customer_webhook_makes_a_bound_partner(shop, odoo, wait_for):
    email = "e2e.%s@example.com" % uuid.uuid4().hex[:8]
    if shop.backend_type == "shopify":
        customer = shop.sim.save_customer(email=email, first_name="Eve", last_name="Tester", accepts_marketing=True)
    else:
        customer = shop.sim.save_customer(email=email, first_name="Eve", last_name="Tester",
                                          meta_data=[{"key": "accepts_marketing", "value": "yes"}])

    def bound():
        found = odoo.search_read("retail.partner.binding", [("backend_id", "=", shop.backend_id),
                                                            ("external_id", "=", str(customer["id"]))],
                                 ["odoo_id", "accepts_marketing"])
        return found[0] if found else None

    binding = wait_for(bound, timeout=60, what="the customer in Odoo")
    assert binding["accepts_marketing"] is True
    partner = odoo.search_read("res.partner", [("id", "=", binding["odoo_id"][0])], ["name", "email"])[0]
    assert (partner["name"], partner["email"]) == ("Eve Tester", email)

    if shop.backend_type == "shopify":
        shop.sim.request_customer_redact(customer["id"], email=email)

        def redacted():
            p = odoo.search_read("res.partner", [("id", "=", binding["odoo_id"][0])], ["name", "email"])[0]
            return p if p["name"].startswith("Redacted customer") else None

        assert not wait_for(redacted, timeout=60, what="the customer redacted")["email"]
        events = odoo.search_read("retail.event", [("backend_id", "=", shop.backend_id)], ["payload"])
        assert not [e for e in events if email in (e["payload"] or "")], "no stored payload keeps the e-mail"


@pytest.fixture
def generic_channel():
    with GenericChannel(token="e2e-assortment", currency="USD") as sim:
        yield sim


def test_a_product_joining_the_assortment_is_published_before_its_stock(
        odoo, generic_channel, wait_for, set_on_hand, main_warehouse, channel_backend):
    warehouse = main_warehouse
    tag = uuid.uuid4().hex[:6]
    category = odoo.call("product.category", "create", {"name": "E2E online %s" % tag})
    with channel_backend(
        "E2E assortment", backend_type="generic", endpoint_url=generic_channel.url, api_secret="e2e-assortment",
        warehouse_id=warehouse["id"], assortment_scope="defined", assortment_categ_ids=[(6, 0, [category])],
    ) as backend_id:
        catalog = _policy(odoo, backend_id, "catalog")
        assert catalog["mode"] == "batch" and not catalog["support_note"], "the generic channel takes a catalogue"
        odoo.call("retail.sync.policy", "write", [catalog["id"]], {"mode": "event"})
        outside = odoo.call("product.product", "create", {"name": "Outside %s" % tag, "default_code": "OUT-%s" % tag,
                                                          "type": "consu", "is_storable": True})
        sold = odoo.call("product.product", "create", {"name": "Sold %s" % tag, "default_code": "SOLD-%s" % tag,
                                                       "type": "consu", "is_storable": True, "list_price": 12})
        odoo.call("product.product", "write", [sold], {"categ_id": category})
        set_on_hand(sold, warehouse["lot_stock_id"][0], 6)
        set_on_hand(outside, warehouse["lot_stock_id"][0], 6)
        assert wait_for(lambda: generic_channel.stock_level("SOLD-%s" % tag, warehouse["code"]) == 6, timeout=60,
                        what="the new product's stock on the channel")
        published = generic_channel.product("SOLD-%s" % tag)
        assert published and published["name"] == "Sold %s" % tag
        calls = generic_channel.calls.all()
        first_product = next(i for i, c in enumerate(calls) if c.path == "/api/v1/products/batch")
        first_stock = next(i for i, c in enumerate(calls) if c.path == "/api/v1/stock/batch")
        assert first_product < first_stock, "published before its stock"
        binding = odoo.search_read("retail.product.binding", [("backend_id", "=", backend_id), ("odoo_id", "=", sold)],
                                   ["external_id"])
        assert binding[0]["external_id"] == published["id"]
        assert generic_channel.product("OUT-%s" % tag) is None
        assert generic_channel.stock_level("OUT-%s" % tag, warehouse["code"]) is None
        failed = odoo.search_read("retail.export.request", [("backend_id", "=", backend_id), ("state", "=", "failed")],
                                  ["id"])
        assert not failed

        # a change to one field sends that product once, not the catalogue
        before = len(generic_channel.calls_to("POST", "/api/v1/products/batch"))
        odoo.call("product.product", "write", [sold], {"barcode": "540%010d" % (uuid.uuid4().int % 10**10)})
        assert wait_for(lambda: len(generic_channel.calls_to("POST", "/api/v1/products/batch")) == before + 1,
                        timeout=60, what="the barcode on the channel")
        [call] = generic_channel.calls_to("POST", "/api/v1/products/batch")[before:]
        assert [i["sku"] for i in call.json()["items"]] == ["SOLD-%s" % tag]
