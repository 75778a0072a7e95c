"""The product as a running server: addons installed, menus served, jobs run by the job runner."""

import pytest
import requests

pytestmark = pytest.mark.e2e

ADDONS = ["retail_connector_base", "retail_connector_marketplace", "retail_connector_wms", "retail_connector_pos"]


def test_the_four_addons_are_installed(odoo):
    mods = odoo.search_read("ir.module.module", [("name", "in", ADDONS)], ["name", "state"])
    assert {m["name"]: m["state"] for m in mods} == {name: "installed" for name in ADDONS}


def test_login_page_and_health_are_served(odoo_url):
    assert requests.get(odoo_url + "/web/health", timeout=10).json()["status"] == "pass"
    page = requests.get(odoo_url + "/web/login", timeout=30)
    assert page.status_code == 200 and 'name="login"' in page.text


def test_administrator_finds_the_retail_connector_menu(odoo):
    menus = odoo.search_read("ir.ui.menu", [("name", "=", "Retail Connector"), ("parent_id", "=", False)], ["id"])
    assert len(menus) == 1
    children = odoo.search_read("ir.ui.menu", [("parent_id", "=", menus[0]["id"])], ["name"])
    assert {"Backends", "Bindings", "Configuration"} <= {c["name"] for c in children}


def test_every_channel_type_is_offered(odoo):
    fields = odoo.call("retail.backend", "fields_get", ["backend_type"], attributes=["selection"])
    types = {key for key, _label in fields["backend_type"]["selection"]}
    assert {"generic", "shopify", "woocommerce", "wms_rest", "wms_x12", "square"} <= types


def test_a_policy_run_is_executed_by_the_job_runner(odoo, wait_for):
    # put live by a manager: saved without an endpoint, a backend is not live and refuses Run now
    backend_id = odoo.call("retail.backend", "create", {"name": "E2E runner check", "backend_type": "generic",
                                                        "go_live_state": "live"})
    try:
        policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id), ("domain", "=", "catalog")], ["id"])
        job_ids = odoo.call("retail.sync.policy", "action_run_now", [policy[0]["id"]])
        assert len(job_ids) == 1

        def done():
            job = odoo.search_read("queue.job", [("id", "=", job_ids[0])], ["state", "result", "channel"])[0]
            return job if job["state"] in ("done", "failed") else None

        job = wait_for(done, timeout=60, what="the job runner to run the policy's job")
        assert job["state"] == "done", job
        assert job["channel"] == "root.retail.catalog"
        assert "No batch run for catalog" in job["result"]
    finally:
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
