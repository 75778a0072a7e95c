"""Phased migration of a generic backend's orders from a legacy platform, against the running server.

The generic channel's simulator sends its signed order webhooks to Odoo; the legacy platform's
simulator is the relay target, which applies what it receives and exports its outcomes. The
orders domain goes legacy -> shadow (agreement report, one deliberate mismatch found) -> Odoo ->
back to legacy; every event is relayed exactly once while the legacy platform owns the domain,
and no order is created twice.
"""

import base64
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests

from e2e_policies import webhooks_only
from odoo_client import OdooClient
from resilience.cluster import ODOO_SRC, ROOT, OdooNode, clone_database, drop_database, query
from simulators.base import retail_signature
from simulators.generic import GenericChannel
from simulators.legacy import LegacyPlatform

pytestmark = pytest.mark.e2e

SECRET = "e2e-migration-webhook-secret"
TOKEN = "e2e-migration-token"
WAIT = 90


@pytest.fixture(scope="module")
def channel(webhook_channel):
    with webhook_channel(TOKEN, SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def legacy():
    with LegacyPlatform(token="e2e-legacy-token", channel_secret=SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def backend(odoo, channel, legacy, products, webhook_backend):
    # untaxed products and shipping: the channel's totals (no tax) are Odoo's, as in a real estate whose
    # mappings are complete
    shipping = odoo.search_read("product.product", [("default_code", "=", "RC-SHIPPING")], ["id"])
    ids = [p["id"] for p in odoo.search_read("product.product", [("default_code", "in", products)], ["id"])]
    odoo.call("product.product", "write", ids + [p["id"] for p in shipping], {"taxes_id": [(5, 0, 0)]})
    with webhook_backend(channel, "E2E migration", TOKEN, SECRET, legacy_endpoint_url=legacy.url + "/hooks",
                         shadow_agreement_threshold=90) as backend_id:
        webhooks_only(odoo, backend_id)
        yield backend_id


def _policy(odoo, backend_id):
    return odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id), ("domain", "=", "orders")],
                            ["id", "phase", "shadow_agreement", "shadow_compared"])[0]


def _change(odoo, backend_id, phase, reason=None):
    """Change the orders phase as a manager does: prepare, read the checklist, apply (overridden with a reason)."""
    policy = _policy(odoo, backend_id)
    change_id = odoo.call("retail.phase.change", "create", {"policy_id": policy["id"], "to_phase": phase})
    odoo.call("retail.phase.change", "action_check", [change_id])
    if reason:
        odoo.call("retail.phase.change", "write", [change_id], {"override": True, "override_reason": reason})
    odoo.call("retail.phase.change", "action_apply", [change_id])
    change = odoo.call("retail.phase.change", "read", [change_id],
                       ["state", "from_phase", "to_phase", "checks_passed", "check_ids", "applied_event_count",
                        "report"])[0]
    checks = odoo.call("retail.phase.check", "read", change["check_ids"], ["code", "passed", "detail"])
    assert change["state"] == "done", change
    assert _policy(odoo, backend_id)["phase"] == phase
    return change, {c["code"]: c for c in checks}


def _place(channel, count):
    orders = [channel.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
              for _ in range(count)]
    assert channel.wait_for_webhooks(timeout=30)
    return [o["external_id"] for o in orders]


def _sales(odoo, channel_orders):
    return odoo.search_read("sale.order", [("client_order_ref", "in", ["#" + ref.lstrip("G") for ref in channel_orders])],
                            ["client_order_ref"])


def test_orders_migrate_from_the_legacy_platform_through_shadow_to_odoo_and_back(
        odoo, backend, channel, legacy, wait_for):
    relayed_orders = []

    # legacy: Odoo only listens and relays; a channel's retry of a webhook is relayed once
    _change(odoo, backend, "legacy")
    channel.duplicate_webhooks(times=2, count=1)
    relayed_orders += _place(channel, 2)
    wait_for(lambda: len(legacy.received()) >= 2, timeout=WAIT, what="the legacy phase's relays")

    # shadow: relayed too, and Odoo works out its own outcome without creating anything
    _, checks = _change(odoo, backend, "shadow")
    assert checks["relay_target"]["passed"]
    shadowed = _place(channel, 3)
    relayed_orders += shadowed
    wait_for(lambda: len(legacy.received()) >= 5, timeout=WAIT, what="the shadow phase's relays")
    outcomes = wait_for(lambda: (lambda rows: rows if len(rows) == 3 and all(r["verdict"] == "waiting" for r in rows)
                                 else None)(odoo.search_read("retail.shadow.outcome", [("backend_id", "=", backend)],
                                                             ["order_ref", "verdict", "odoo_result", "event_id"])),
                        timeout=WAIT, what="the shadow outcomes")
    assert sorted(o["order_ref"] for o in outcomes) == sorted(shadowed)
    assert not _sales(odoo, relayed_orders), "neither legacy nor shadow creates an order in Odoo"

    # the legacy platform's export, one order deliberately different, imported and compared
    legacy.mismatch(shadowed[1], lines=[{"sku": "RC-MUG", "quantity": 3}, {"sku": "RC-CAP", "quantity": 1}])
    export = requests.get(legacy.url + "/export/outcomes.csv", headers={"Authorization": "Bearer e2e-legacy-token"},
                          timeout=10)
    export.raise_for_status()
    wizard = odoo.call("retail.shadow.legacy.import", "create", {
        "backend_id": backend, "source": "file", "data_file": base64.b64encode(export.content).decode(),
        "filename": "outcomes.csv"})
    odoo.call("retail.shadow.legacy.import", "action_import", [wizard])
    report = {o["order_ref"]: o for o in odoo.search_read(
        "retail.shadow.outcome", [("backend_id", "=", backend)], ["order_ref", "verdict", "cause", "differences",
                                                                  "event_id"])}
    assert {ref: report[ref]["verdict"] for ref in shadowed} == {
        shadowed[0]: "agree", shadowed[1]: "differ", shadowed[2]: "agree"}, report
    assert report[shadowed[1]]["cause"] == "lines", report[shadowed[1]]
    event = odoo.call("retail.event", "read", [report[shadowed[1]]["event_id"][0]], ["aggregate_key", "state"])[0]
    assert event["aggregate_key"] == shadowed[1], "drillable to the event"
    policy = _policy(odoo, backend)
    assert policy["shadow_compared"] == 3 and abs(policy["shadow_agreement"] - 200 / 3) < 0.1, policy

    # cutover: the checklist finds the agreement below the threshold; a manager overrides with a reason
    change, checks = _change(odoo, backend, "odoo", reason="the mismatch was checked by hand")
    assert not change["checks_passed"]
    assert not checks["agreement"]["passed"] and checks["relays_delivered"]["passed"], checks
    owned = _place(channel, 2)
    wait_for(lambda: len(_sales(odoo, owned)) == 2, timeout=WAIT, what="Odoo's orders after the cutover")

    # rollback: relaying resumes, Odoo creates nothing more and lists what it did
    change, _checks = _change(odoo, backend, "legacy")
    assert change["applied_event_count"] == 2, change
    assert all(ref in change["report"] for ref in owned), change["report"]
    after = _place(channel, 1)
    relayed_orders += after
    wait_for(lambda: len(legacy.received()) >= 6, timeout=WAIT, what="the relays after the rollback")

    # every event relayed exactly once, no order created twice
    relays = odoo.search_read("retail.relay", [("backend_id", "=", backend)], ["id", "state"])
    assert len(relays) == 6 and {r["state"] for r in relays} == {"done"}, relays
    received = legacy.received()
    assert not [d for d in received if d.duplicate], "a relay delivered twice"
    assert sorted(int(d.relay_id) for d in received) == sorted(r["id"] for r in relays)
    assert sorted(legacy.applied_orders()) == sorted(relayed_orders)
    assert not _sales(odoo, relayed_orders), "an order the legacy platform owned was created in Odoo"
    sales = _sales(odoo, owned)
    assert len(sales) == len({s["client_order_ref"] for s in sales}) == 2


# --------------------------------------------------------------------------- a neutralised copy


def test_a_neutralised_copy_calls_no_channel(odoo, odoo_url, products, wait_for):
    """A copy of the database, neutralised as ``odoo-bin neutralize`` does, served by a server of its own with its
    scheduled actions and job runner: its backend, set to reach the simulators and made to work (activated
    again, tested, run, exports requested, events relayed), calls neither the channel nor the legacy platform."""
    source = os.environ["RC_ODOO_DB"]
    copy = f"{source}_r_neutral"
    with GenericChannel(token=TOKEN, currency="USD", tax_rate="0") as sim, \
            LegacyPlatform(token="e2e-legacy-token") as legacy:
        backend_id = odoo.call("retail.backend", "create", {
            "name": "E2E neutral %s" % uuid.uuid4().hex[:6], "backend_type": "generic", "webhook_secret": SECRET,
            "inbound_rate_limit": 0, "endpoint_url": sim.url, "api_secret": TOKEN,
            "legacy_endpoint_url": legacy.url + "/hooks"})
        # the production side reaches the channel: what follows can fail
        odoo.call("retail.backend", "action_test_connection", [backend_id])
        assert len(sim.calls) == 1
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
        clone_database(source, copy)
        node = None
        try:
            query(copy, "UPDATE retail_backend SET active = true WHERE id = %s", (backend_id,))
            query(copy, "UPDATE ir_cron SET nextcall = now() at time zone 'UTC' - interval '1 hour' "
                        "WHERE id IN (SELECT cron_id FROM retail_sync_policy WHERE backend_id = %s)", (backend_id,))
            neutralize = subprocess.run(
                [sys.executable, str(ODOO_SRC / "odoo-bin"), "neutralize", "-c", str(ROOT / "odoo.conf"),
                 f"--addons-path={ROOT / 'addons'},{ODOO_SRC / 'addons'}", "-d", copy],
                capture_output=True, text=True, timeout=300)
            assert neutralize.returncode == 0, neutralize.stderr[-2000:]
            assert query(copy, "SELECT active FROM retail_backend WHERE id = %s", (backend_id,)) == [(False,)]
            node = OdooNode(copy, name="neutral", workers=2, runner=True, cron=1).start()
            client = OdooClient(node.url, copy, "admin", "admin")
            client.login()
            # a person activates the backend again and makes it work
            client.call("retail.backend", "write", [backend_id], {"active": True})
            client.call("retail.backend", "action_test_connection", [backend_id])
            check = client.call("retail.backend", "read", [backend_id], ["last_check_ok", "last_check_message"])[0]
            assert not check["last_check_ok"] and "neutralised copy" in check["last_check_message"], check
            policies = client.search_read("retail.sync.policy", [("backend_id", "=", backend_id)], ["id", "domain"])
            client.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] == "pricing"],
                        {"mode": "realtime", "direction": "both"})
            client.call("retail.sync.policy", "action_run_now", [p["id"] for p in policies])
            product = client.search_read("product.product", [("default_code", "in", products)], ["id"], limit=1)[0]
            client.call("product.product", "write", [product["id"]], {"list_price": 77.5})
            # a webhook of a domain the legacy platform owns: stored, relayed... by nobody
            phase = client.call("retail.phase.change", "create", {
                "policy_id": [p["id"] for p in policies if p["domain"] == "orders"][0], "to_phase": "legacy"})
            client.call("retail.phase.change", "action_apply", [phase])
            body = b'{"external_id": "N1", "schema_version": 1}'
            resp = requests.post(f"{node.url}/retail/webhook/{backend_id}", data=body, timeout=30, headers={
                "Content-Type": "application/json", "X-Retail-Topic": "orders/create", "X-Retail-Event-Id": "neutral-1",
                "X-Retail-Signature": retail_signature(SECRET, body, int(time.time()))})
            assert resp.status_code == 202, resp.text
            # the copy's job runner and scheduled actions get their chance
            jobs = wait_for(lambda: (lambda rows: rows if rows and all(r["state"] in ("done", "failed", "cancelled")
                                                                       for r in rows) else None)(
                client.search_read("queue.job", [("channel", "like", "root.retail%")], ["state", "method_name"])),
                timeout=WAIT, what="the copy's jobs to run")
            time.sleep(3)
            assert len(sim.calls) == 1, [c.path for c in sim.calls]
            assert not legacy.received(), "the copy relayed an event"
            relay = client.search_read("retail.relay", [("backend_id", "=", backend_id)], ["state", "last_error"])
            assert relay and relay[0]["state"] != "done", relay
            assert any(j["method_name"] == "_send_due" for j in jobs), jobs
        finally:
            if node:
                node.stop()
            drop_database(copy)
