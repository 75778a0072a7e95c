"""Go-live on the running server: a shop saved without its URL makes no job, whatever changes in Odoo."""

import time
import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_a_shop_without_url_is_not_live_and_makes_no_job_until_its_url_is_saved(odoo, wait_for):
    suffix = uuid.uuid4().hex[:6]
    backend_id = odoo.call("retail.backend", "create", {
        "name": "E2E not live %s" % suffix, "backend_type": "shopify", "api_secret": "shpat_e2e", "inbound_rate_limit": 0,
    })
    try:
        backend = odoo.search_read("retail.backend", [("id", "=", backend_id)], ["go_live_state", "go_live_reason"])[0]
        assert backend["go_live_state"] == "setup"
        assert "Shop URL is not set" in backend["go_live_reason"]
        product_id = odoo.call("product.product", "create", {
            "name": "E2E go-live %s" % suffix, "default_code": "E2E-GL-%s" % suffix, "type": "consu",
            "is_storable": True, "list_price": 10.0})
        location = odoo.search_read("stock.warehouse", [], ["lot_stock_id"], limit=1)[0]["lot_stock_id"][0]
        for price in (11.0, 12.0, 13.0):  # price, catalogue and stock changes a live shop would hear of
            odoo.call("product.product", "write", [product_id], {"list_price": price, "name": "E2E go-live %s %s" % (suffix, price)})
        odoo.call("stock.quant", "create", {"product_id": product_id, "location_id": location, "inventory_quantity": 7})
        time.sleep(3)  # what the listeners would have queued, the job runner would now be running
        assert not odoo.search_read("retail.export.request", [("backend_id", "=", backend_id)], ["id"])
        jobs = odoo.search_read("queue.job", [("name", "like", "E2E not live %s" % suffix)], ["name", "state"])
        assert not jobs, jobs
        # once its URL is saved it is live, and hears of the next change (kept for its scheduled run)
        odoo.call("retail.backend", "write", [backend_id], {"endpoint_url": "http://127.0.0.1:9"})
        assert odoo.search_read("retail.backend", [("id", "=", backend_id)], ["go_live_state"])[0]["go_live_state"] == "live"
        odoo.call("product.product", "write", [product_id], {"list_price": 14.0})
        requests = wait_for(lambda: odoo.search_read(
            "retail.export.request", [("backend_id", "=", backend_id), ("res_id", "=", product_id)], ["domain"]),
            timeout=30, what="the live shop's export request")
        assert {r["domain"] for r in requests} & {"pricing", "catalog"}
    finally:
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
