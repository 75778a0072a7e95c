"""Outbound path against the running server: job runner, two workers, real HTTP to a channel."""

import threading
import time
import uuid

import pytest

from simulators.generic import GenericChannel

pytestmark = pytest.mark.e2e


@pytest.fixture
def channel():
    with GenericChannel(token="e2e-out-token", currency="USD") as sim:
        yield sim


@pytest.fixture
def backend(channel, main_warehouse, channel_backend):
    with channel_backend("E2E outbound", backend_type="generic", endpoint_url=channel.url, api_secret="e2e-out-token",
                         warehouse_id=main_warehouse["id"]) as backend_id:
        yield {"id": backend_id, "warehouse": main_warehouse}


def test_token_bucket_holds_across_two_workers(odoo_url, odoo):
    """Two clients hitting both HTTP workers never get more tokens than rate x time + burst."""
    key = "e2e-bucket-%s" % uuid.uuid4().hex
    # The clients keep asking until the bucket has refused them often enough to prove it was
    # contended, however slow the server is today (bounded, so a broken bucket cannot hang).
    rate, burst, duration, refusals_wanted, cap = 5.0, 5, 3.0, 40, 60.0
    grants, calls, errors = [], [], []

    def hammer():
        from odoo_client import OdooClient

        client = OdooClient(odoo_url, odoo.db, "admin", "admin")
        client.login()
        deadline = time.monotonic() + duration
        give_up = time.monotonic() + cap
        while time.monotonic() < give_up and (
            time.monotonic() < deadline or len(calls) - len(grants) < refusals_wanted
        ):
            try:
                wait = client.call("retail.rate.bucket", "take", key, rate, burst)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return
            calls.append(1)
            if not wait:
                grants.append(time.monotonic())

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert len(calls) - len(grants) >= refusals_wanted, "the bucket was never contended"
    ceiling = burst + rate * elapsed + 1
    print(f"\nbucket: {len(calls)} takes, {len(grants)} granted in {elapsed:.1f}s (ceiling {ceiling:.0f})")
    assert burst <= len(grants) <= ceiling


def test_a_stock_change_reaches_the_channel_through_the_job_runner(odoo, channel, backend, wait_for):
    """An inventory adjustment in Odoo is sent, after the debounce, as available to sell."""
    sku = "E2E-OUT-%s" % uuid.uuid4().hex[:6]
    product_id = odoo.call("product.product", "create", {"name": sku, "default_code": sku, "type": "consu", "is_storable": True})
    location = odoo.search_read("stock.warehouse", [("id", "=", backend["warehouse"]["id"])], ["lot_stock_id"])[0]["lot_stock_id"][0]
    quant_id = odoo.call(
        "stock.quant", "create", {"product_id": product_id, "location_id": location, "inventory_quantity": 7},
        context={"inventory_mode": True},
    )
    odoo.call("stock.quant", "action_apply_inventory", [quant_id])
    level = wait_for(lambda: channel.stock_level(sku, backend["warehouse"]["code"]), timeout=60, what="the stock export")
    assert level == 7
    calls = channel.calls_to("POST", "/api/v1/stock/batch")
    assert len(calls) == 1
    assert calls[0].headers.get("Idempotency-Key")
