"""A sync policy's mode decides when prices and stock reach each channel, against the running server.

For Shopify, WooCommerce and the generic channel, each with its simulator over real HTTP and the
server's job runner: real time reaches the channel within two seconds; event-driven gathers a burst
into bulk calls; a scheduled batch sends nothing until its run, then everything changed in one
pass; off sends nothing.
"""

import time
import uuid

import pytest

from simulators.generic import GenericChannel
from test_storefront_flows import Shopify, WooCommerce

pytestmark = pytest.mark.e2e

SKUS = ("RC-MUG", "RC-CAP", "RC-HOODIE-M", "RC-TSHIRT-M")
QUIET_SECONDS = 4  # longer than an event-driven policy's debounce and flush: what has not come by then is held


class Generic:
    backend_type = "generic"

    def __init__(self, _odoo_url):
        self.sim = None

    def start(self, odoo, backend_id):
        self.sim = GenericChannel(token="e2e-modes-token", currency="USD").start()
        odoo.call("retail.backend", "write", [backend_id], {"endpoint_url": self.sim.url})

    def backend_values(self):
        return {"api_secret": "e2e-modes-token"}

    def price_of(self, sku):
        return (self.sim.price_of(sku) or {}).get("price")

    def stock_of(self, sku):
        return self.sim.stock_level(sku, self.warehouse["code"])

    def writes(self, kind):
        """Return [(call time, target)], one per bulk call that wrote prices or stock; the target names what the
        call wrote to (an endpoint, a product), which one pass over the changed records writes once."""
        path = "/api/v1/prices/batch" if kind == "pricing" else "/api/v1/stock/batch"
        return [(call.time, path) for call in self.sim.calls_to("POST", path) if call.status and call.status < 300]


class ShopifyShop(Shopify):
    def writes(self, kind):
        mutation = "productVariantsBulkUpdate" if kind == "pricing" else "inventorySetQuantities"
        return [(call.time, (mutation, str(((call.json() or {}).get("variables") or {}).get("productId"))))
                for call in self.sim.calls.all()
                if call.method == "POST" and mutation in ((call.json() or {}).get("query") or "")
                and call.status and call.status < 300]


class WooShop(WooCommerce):
    def writes(self, kind):
        field = "regular_price" if kind == "pricing" else "stock_quantity"
        out = []
        for call in self.sim.calls.all():
            if call.method == "POST" and call.path.endswith("/batch") and call.status and call.status < 300:
                items = [i for i in (call.json() or {}).get("update") or [] if i.get(field) is not None]
                if items:
                    out.append((call.time, call.path))
        return out


@pytest.fixture(scope="module")
def products(storable_products):
    return storable_products(SKUS, taxes_id=None)


@pytest.fixture(params=[ShopifyShop, WooShop, Generic], ids=["shopify", "woocommerce", "generic"])
def shop(request, odoo, public_url, products, storefront):
    with storefront(request.param(public_url), "E2E modes") as channel:
        channel.policies = {p["domain"]: p["id"] for p in odoo.search_read(
            "retail.sync.policy", [("backend_id", "=", channel.backend_id), ("domain", "in", ("pricing", "inventory"))],
            ["domain"])}
        yield channel


def _set_mode(odoo, shop, mode):
    odoo.call("retail.sync.policy", "write", list(shop.policies.values()), {"mode": mode})


def _change_prices(odoo, products, skus):
    prices = {sku: 10 + uuid.uuid4().int % 80 + 0.5 for sku in skus}
    for sku, price in prices.items():
        odoo.call("product.product", "write", [products[sku]], {"list_price": price})
    return {sku: "%.2f" % price for sku, price in prices.items()}


def _change_stock(offer_more, shop, products, skus):
    """Offer more of each SKU; return {sku: its product id}: the channel must come to show its available to sell
    (``to_sell``), as it is when the test looks."""
    location = shop.warehouse["lot_stock_id"][0]
    for sku in skus:
        offer_more(products[sku], location, 3 + uuid.uuid4().int % 5)
    return {sku: products[sku] for sku in skus}


def _reached(shop, prices, stock, to_sell):
    location = shop.warehouse["lot_stock_id"][0]
    return all(shop.price_of(sku) == price for sku, price in prices.items()) and all(
        shop.stock_of(sku) == to_sell(product, location) for sku, product in stock.items())


def test_real_time_reaches_the_channel_within_two_seconds(shop, odoo, products, wait_for, offer_more, to_sell):
    _set_mode(odoo, shop, "realtime")
    for kind in ("pricing", "inventory"):
        before = len(shop.writes(kind))
        if kind == "pricing":
            prices, stock = _change_prices(odoo, products, ["RC-MUG"]), {}
        else:
            prices, stock = {}, _change_stock(offer_more, shop, products, ["RC-MUG"])
        changed_at = time.time()  # the change is committed when its call returns (a retried write included)
        # a write of the change, with the values Odoo has now
        wait_for(lambda p=prices, s=stock: len(shop.writes(kind)) > before and _reached(shop, p, s, to_sell), timeout=90,
                 what="the %s change on the channel" % kind)
        first = shop.writes(kind)[before][0]
        assert first - changed_at <= 2.0, "%s reached the channel %.1f s after the change" % (kind, first - changed_at)


def test_event_driven_gathers_a_burst_into_bulk_calls(shop, odoo, products, wait_for, offer_more, to_sell):
    _set_mode(odoo, shop, "event")
    rounds = 5
    for kind in ("pricing", "inventory"):
        before = len(shop.writes(kind))
        prices, stock = {}, {}
        for _round in range(rounds):  # every SKU changed five times in a row
            if kind == "pricing":
                price = 10 + uuid.uuid4().int % 80 + 0.5
                odoo.call("product.product", "write", [products[sku] for sku in SKUS], {"list_price": price})
                prices = {sku: "%.2f" % price for sku in SKUS}
            else:
                stock = _change_stock(offer_more, shop, products, SKUS)
        wait_for(lambda p=prices, s=stock: _reached(shop, p, s, to_sell), timeout=90,
                 what="the %s burst on the channel" % kind)
        time.sleep(1)
        calls, changes = len(shop.writes(kind)) - before, rounds * len(SKUS)
        assert 1 <= calls < changes, "%d calls for %d %s changes" % (calls, changes, kind)


def test_a_scheduled_batch_sends_nothing_until_its_run_then_everything_in_one_pass(
        shop, odoo, products, wait_for, offer_more, to_sell):
    _set_mode(odoo, shop, "batch")
    before = {kind: len(shop.writes(kind)) for kind in ("pricing", "inventory")}
    prices = _change_prices(odoo, products, SKUS)
    stock = _change_stock(offer_more, shop, products, SKUS)
    time.sleep(QUIET_SECONDS)
    assert {kind: len(shop.writes(kind)) for kind in before} == before, "nothing before the run"
    waiting = odoo.call("retail.export.request", "search_count", [("backend_id", "=", shop.backend_id),
                                                                  ("state", "=", "pending")])
    assert waiting == 2 * len(SKUS), waiting
    odoo.call("retail.sync.policy", "action_run_now", list(shop.policies.values()))
    wait_for(lambda: _reached(shop, prices, stock, to_sell), timeout=60, what="the batch run's sends")
    time.sleep(1)
    for kind in before:
        targets = [target for _at, target in shop.writes(kind)[before[kind]:]]
        # one pass: each bulk endpoint (Shopify prices: each product, as its API takes them) written once
        assert targets and len(targets) == len(set(targets)), (kind, targets)


def test_off_sends_nothing(shop, odoo, products, offer_more):
    _set_mode(odoo, shop, "off")
    before = {kind: len(shop.writes(kind)) for kind in ("pricing", "inventory")}
    _change_prices(odoo, products, SKUS[:2])
    _change_stock(offer_more, shop, products, SKUS[:2])
    time.sleep(QUIET_SECONDS)
    assert {kind: len(shop.writes(kind)) for kind in before} == before
    assert not odoo.call("retail.export.request", "search_count", [("backend_id", "=", shop.backend_id)])
