"""Operations intelligence on the running server: hourly figures from real webhooks, anomalies, forecasts.

Orders reach the server as signed webhooks from the generic channel simulator and the job runner
applies them; the scheduled actions then run on the server in their own transactions (as the
scheduler runs them): the hourly figures count the real events and sale orders, a history whose
last hour fell to a fifth of its usual orders raises an anomaly and an alert with the expected
and the observed, and the capacity forecast samples the real inbox.
"""

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from odoo_client import OdooRPCError

pytestmark = pytest.mark.e2e

SECRET = "e2e-intelligence-webhook-secret"
TOKEN = "e2e-intelligence-token"
JOB_WAIT = 90
ORDERS = 5
USUAL_PER_HOUR = 40


@pytest.fixture(scope="module")
def channel(webhook_channel):
    with webhook_channel(TOKEN, SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def backend(odoo, channel, products, webhook_backend):
    with webhook_backend(channel, "E2E intelligence", TOKEN, SECRET) as backend_id:
        _orders_only(odoo, backend_id)
        yield backend_id


def _orders_only(odoo, backend_id):
    policies = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id)], ["id", "domain"])
    odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] != "orders"], {"mode": "off"})
    # orders stay on (webhooks), their scheduled run a day away; the forecast's latency target is theirs
    odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] == "orders"],
              {"mode": "realtime", "interval_number": 1, "interval_type": "days", "latency_target_minutes": 5})


def run_cron(odoo, xmlid):
    """Run a scheduled action on the server, in its own transaction as the scheduler would."""
    [ref] = odoo.search_read("ir.model.data", [("module", "=", "retail_connector_base"), ("name", "=", xmlid)],
                             ["res_id"])
    for attempt in range(10):
        try:
            return odoo.call("ir.cron", "method_direct_trigger", [ref["res_id"]])
        except OdooRPCError as exc:  # the scheduler itself may be running it right now
            if "already executing" not in str(exc) or attempt == 9:
                raise
            time.sleep(2)


def test_figures_anomaly_alert_and_forecast_from_the_running_server(odoo, channel, backend, wait_for):
    now_hour = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for _ in range(ORDERS):
        channel.place_order()

    def all_done():
        rows = odoo.search_read("retail.event", [("backend_id", "=", backend)], ["state"])
        return rows if len(rows) == ORDERS and all(r["state"] == "done" for r in rows) else None

    wait_for(all_done, timeout=JOB_WAIT, what="the order webhooks to be applied", interval=0.5)

    # Five weeks of usual orders before this hour; the last completed hour fell to a fifth.
    rng = np.random.default_rng(12)
    start = now_hour - timedelta(weeks=5)
    history = [{"backend_id": backend, "domain": "orders", "hour": (start + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
                "orders": int(rng.poisson(USUAL_PER_HOUR))} for i in range(5 * 168)]
    history[-1]["orders"] = USUAL_PER_HOUR // 5
    odoo.call("retail.metric.hourly", "create", history)
    rule = odoo.call("retail.alert.rule", "create", {
        "name": "E2E order flow", "backend_id": backend, "domain": "orders", "metric": "anomaly", "threshold": 0})

    run_cron(odoo, "ir_cron_detect_anomalies")

    recent = odoo.search_read("retail.metric.hourly", [("backend_id", "=", backend), ("hour", ">=", str(now_hour))],
                              ["events", "orders", "order_amount"])
    assert sum(r["events"] for r in recent) == ORDERS, recent
    assert sum(r["orders"] for r in recent) == ORDERS, recent
    assert all(r["order_amount"] > 0 for r in recent if r["orders"]), recent

    last_hour = str(now_hour - timedelta(hours=1))
    anomalies = odoo.search_read("retail.anomaly", [("backend_id", "=", backend), ("metric", "=", "orders"),
                                                    ("window_start", "=", last_hour)],
                                 ["kind", "expected", "observed", "lower", "explanation", "evidence", "state"])
    assert len(anomalies) == 1, anomalies
    drop = anomalies[0]
    assert drop["kind"] == "drop" and drop["state"] == "open"
    assert drop["observed"] == USUAL_PER_HOUR // 5
    assert abs(drop["expected"] - USUAL_PER_HOUR) < 0.2 * USUAL_PER_HOUR
    assert "fell to %d" % (USUAL_PER_HOUR // 5) in drop["explanation"]

    [alert] = odoo.search_read("retail.alert", [("rule_id", "=", rule)],
                               ["expected_value", "actual_value", "anomaly_id", "name", "state"])
    assert alert["state"] == "open" and alert["anomaly_id"][0] == drop["id"]
    assert (alert["expected_value"], alert["actual_value"]) == (drop["expected"], drop["observed"])
    assert "observed %d where" % (USUAL_PER_HOUR // 5) in alert["name"]

    run_cron(odoo, "ir_cron_capacity_forecast")
    [forecast] = odoo.search_read("retail.capacity.forecast", [("backend_id", "=", backend), ("domain", "=", "orders")],
                                  ["state", "arrival_rate", "backlog", "samples", "job_channel", "capacity",
                                   "target_minutes", "explanation"])
    assert forecast["state"] == "ok", forecast
    assert forecast["arrival_rate"] > 0 and forecast["backlog"] == 0
    # orders are in real time by default: their jobs have a channel of their own
    assert forecast["job_channel"] == "root.retail.realtime" and forecast["capacity"] >= 1
    assert forecast["target_minutes"] == 5
    assert "arrived" in forecast["samples"] and "no breach in sight" in forecast["explanation"]
