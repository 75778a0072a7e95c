"""Fixtures the end-to-end modules share: the catalogue, the stock, backends and their simulators.

The factories are session fixtures that return functions (or context managers), so that a module's
fixture of any scope builds its own set-up from them: a backend made by ``channel_backend`` is
archived, and a simulator started by ``storefront`` or ``webhook_channel`` stopped, when its
``with`` block ends.
"""

import math
import random
import uuid
from contextlib import contextmanager

import pytest

from simulators.generic import DEFAULT_CATALOGUE, GenericChannel


@pytest.fixture(scope="module")
def products(odoo):
    """Make sure every SKU the generic channel's simulator sells exists as a product in Odoo, so that a
    valid order goes as far as a sale order."""
    skus = [item["sku"] for item in DEFAULT_CATALOGUE]
    found = {p["default_code"] for p in odoo.search_read("product.product", [("default_code", "in", skus)], ["default_code"])}
    for item in DEFAULT_CATALOGUE:
        if item["sku"] not in found:
            odoo.call("product.product", "create", {
                "name": item["name"], "default_code": item["sku"], "type": "consu", "list_price": float(item["price"]),
            })
    return skus


@pytest.fixture(scope="module")
def public_url(odoo, odoo_url):
    """Give the server its public address, as a deployment does: channels register webhooks to it."""
    odoo.call("ir.config_parameter", "set_param", "web.base.url", odoo_url)
    return odoo_url


@pytest.fixture(scope="session")
def main_warehouse(odoo):
    """Return Odoo's main warehouse: its id, code and stock location (``lot_stock_id``)."""
    return odoo.search_read("stock.warehouse", [], ["id", "code", "lot_stock_id"], limit=1)[0]


@pytest.fixture(scope="session")
def storable_products(odoo):
    """Return ``storable_products(skus, **values)``: {sku: product id} of storable products, the missing
    ones made with ``values`` (a value None leaves that field to Odoo's default), untaxed at 10 unless said."""

    def ensure(skus, **values):
        found = {p["default_code"]: p["id"] for p in odoo.search_read(
            "product.product", [("default_code", "in", list(skus))], ["default_code"])}
        # other suites may have made these SKUs as plain consumables: the shops' stock needs them storable
        odoo.call("product.product", "write", list(found.values()), {"is_storable": True})
        defaults = {"type": "consu", "is_storable": True, "list_price": 10, "taxes_id": [(5, 0, 0)], **values}
        for sku in skus:
            if sku not in found:
                found[sku] = odoo.call("product.product", "create", {
                    "name": sku, "default_code": sku, **{k: v for k, v in defaults.items() if v is not None}})
        return found

    return ensure


@pytest.fixture(scope="session")
def set_on_hand(odoo):
    """Return ``set_on_hand(product_id, location_id, quantity)``: an inventory adjustment to that quantity."""

    def adjust(product_id, location_id, quantity):
        quant = odoo.call("stock.quant", "create", {"product_id": product_id, "location_id": location_id,
                                                    "inventory_quantity": quantity}, context={"inventory_mode": True})
        odoo.call("stock.quant", "action_apply_inventory", [quant])

    return adjust


@pytest.fixture(scope="session")
def to_sell(odoo):
    """Return ``to_sell(product_id, location_id)``: what a backend without buffer or cap offers of a product, as
    Odoo has it now (its free quantity there, rounded down, never negative). Other tests' orders reserve shared
    products, even beyond what is on hand, and the reservations move as stock arrives: a test waits for the
    channel to show this, read again as it waits, rather than a figure worked out before its change."""

    def available(product_id, location_id):
        [row] = odoo.call("product.product", "read", [product_id], ["free_qty"], context={"location": location_id})
        return max(0, math.floor(row["free_qty"] + 1e-9))

    return available


@pytest.fixture(scope="session")
def offer_more(odoo, set_on_hand, to_sell):
    """Return ``offer_more(product_id, location_id, units)``: add stock there until more is offered than before
    (deliveries waiting for the product take what arrives first, reservations may exceed what is on hand); return
    what is offered then (``to_sell``)."""

    def add(product_id, location_id, units):
        offered = to_sell(product_id, location_id)
        for _attempt in range(5):
            [row] = odoo.call("product.product", "read", [product_id], ["qty_available", "free_qty", "outgoing_qty"],
                              context={"location": location_id})
            # what is reserved beyond what is on hand, and what deliveries still wait for: the arrival covers both
            reserved = row["qty_available"] - row["free_qty"]
            short = max(0, -math.floor(row["free_qty"])) + max(0, math.ceil(row["outgoing_qty"] - reserved))
            set_on_hand(product_id, location_id, row["qty_available"] + units + short)
            now = to_sell(product_id, location_id)
            if now > offered:
                return now
            units *= 2
        raise AssertionError("the stock added to product %s went to deliveries waiting for it" % product_id)

    return add


@pytest.fixture(scope="session")
def channel_backend(odoo):
    """Return ``with channel_backend(name, **values) as backend_id``: a backend named ``name`` and a unique
    suffix, not throttled inbound, archived when the block ends."""

    @contextmanager
    def backend(name, **values):
        backend_id = odoo.call("retail.backend", "create", {
            "name": "%s %s" % (name, uuid.uuid4().hex[:6]), "inbound_rate_limit": 0, **values})
        try:
            yield backend_id
        finally:
            odoo.call("retail.backend", "write", [backend_id], {"active": False})

    return backend


@pytest.fixture(scope="session")
def storefront(odoo, main_warehouse, set_on_hand, channel_backend):
    """Return ``with storefront(channel, name, on_hand={}) as channel``: the backend of ``channel`` (a shop of
    ``test_storefront_flows``: its ``backend_type``, ``backend_values()`` and ``start()``) selling from the
    main warehouse, ``on_hand`` ({product id: quantity}) set there first, its simulator started; the
    channel gets ``backend_id`` and ``warehouse``. The simulator stops after the backend is archived."""

    @contextmanager
    def shop(channel, name, on_hand=None):
        for product_id, quantity in (on_hand or {}).items():
            set_on_hand(product_id, main_warehouse["lot_stock_id"][0], quantity)
        try:
            with channel_backend(
                "%s %s" % (name, channel.backend_type), backend_type=channel.backend_type,
                endpoint_url="http://127.0.0.1:9", warehouse_id=main_warehouse["id"], rate_limit_rps=50,
                rate_limit_burst=50, **channel.backend_values(),
            ) as backend_id:
                channel.backend_id, channel.warehouse = backend_id, main_warehouse
                channel.start(odoo, backend_id)
                yield channel
        finally:
            if channel.sim:
                channel.sim.stop()

    return shop


@pytest.fixture(scope="session")
def webhook_channel():
    """Return ``webhook_channel(token, secret)``: a generic channel's simulator to use as a context manager,
    in dollars with no tax lines (the order lines take the products' own taxes, whatever the chart of
    accounts), its order numbers drawn at random so that names stay unique in a database kept between runs."""

    def channel(token, secret):
        first = random.SystemRandom().randrange(10**7, 10**8) * 10
        return GenericChannel(token=token, webhook_secret=secret, currency="USD", tax_rate="0",
                              first_order_number=first)

    return channel


@pytest.fixture(scope="session")
def webhook_backend(odoo_url, channel_backend):
    """Return ``with webhook_backend(channel, name, token, secret, **values) as backend_id``: a generic backend
    reading ``channel`` (a ``webhook_channel``), which sends it its webhooks; archived when the block ends."""

    @contextmanager
    def backend(channel, name, token, secret, **values):
        with channel_backend(name, backend_type="generic", webhook_secret=secret, endpoint_url=channel.url,
                             api_secret=token, **values) as backend_id:
            channel.webhook_url = f"{odoo_url}/retail/webhook/{backend_id}"
            yield backend_id

    return backend
