"""Outbound resilience: a channel answering 429, 5xx and too late to the stock exports.

Stock changes in Odoo go to a generic channel whose stock endpoint first refuses with 429 and
Retry-After, then fails with 503, then answers after the backend's timeout. The exports must
wait as the channel asks, open the circuit breaker, recover through the probe by themselves,
and end with the channel holding Odoo's levels: the stock reconciliation then finds no drift.
"""

import uuid

import pytest

from resilience.cluster import query
from resilience.scenario import Shop, admin, scale, set_on_hand, wait_until

pytestmark = pytest.mark.resilience

STOCK_PATH = "/api/v1/stock/batch"
TIMEOUT, LATE = 2, 4


@pytest.fixture(scope="module")
def node(node_factory):
    return node_factory(name="outbound")


def latest_run(db, backend_id, domain):
    return query(db, """SELECT id, difference_count, repaired FROM retail_reconciliation_run
                        WHERE backend_id = %s AND domain = %s ORDER BY id DESC LIMIT 1""", (backend_id, domain))[0]


def backend_state(db, backend_id):
    return query(db, "SELECT state FROM retail_backend WHERE id = %s", (backend_id,))[0][0]


def test_channel_429_5xx_and_timeouts_on_stock_exports(node, report):
    odoo = admin(node.url, node.db)
    tag = uuid.uuid4().hex[:5].upper()
    warehouse = odoo.search_read("stock.warehouse", [], ["id", "code", "lot_stock_id"], limit=1)[0]
    catalogue = [{"sku": f"OUT-{tag}-{i}", "name": f"Outbound item {i}", "price": "10.00"} for i in range(scale(6, 30))]
    shop = Shop.open(odoo, node.db, node.url, catalogue=catalogue, policies={"inventory": "event"}, backend_values={
        "warehouse_id": warehouse["id"], "timeout": TIMEOUT, "failure_threshold": 3, "probe_interval": 2,
        "rate_limit_rps": 5, "rate_limit_burst": 5})
    channel, location = shop.channel, warehouse["code"]
    try:
        products = {item["sku"]: odoo.call("product.product", "create", {
            "name": item["name"], "default_code": item["sku"], "type": "consu", "is_storable": True})
            for item in catalogue}
        rounds = scale(1, 3)
        for round_ in range(1, rounds + 1):
            channel.inject("POST", STOCK_PATH, status=429, retry_after=1, times=2)
            channel.inject("POST", STOCK_PATH, status=503, retry_after=1, times=2)
            channel.inject("POST", STOCK_PATH, delay=LATE, times=1)
            report.inject(f"round {round_}: 2 x 429 (Retry-After 1), 2 x 503, 1 answer after {LATE}s "
                          f"(timeout {TIMEOUT}s) on POST {STOCK_PATH}, for {len(products)} stock changes")
            expected = {sku: 10 * round_ + i for i, sku in enumerate(products)}
            for sku, quantity in expected.items():
                set_on_hand(odoo, products[sku], warehouse["lot_stock_id"][0], quantity)
            wait_until(lambda: all(channel.stock_level(s, location) == q for s, q in expected.items())
                       and backend_state(node.db, shop.backend_id) == "ok", scale(150, 300),
                       f"the channel to hold Odoo's stock and the backend to recover after round {round_}", interval=1.0)
            assert not channel.pending_faults, "the exports stopped before going through every fault"

        calls = channel.calls_to("POST", STOCK_PATH)
        limited = [c for c in calls if c.status == 429]
        for call in limited:
            later = [c.time for c in calls if c.time > call.time]
            assert not later or min(later) >= call.time + 0.95, "a call went out before the channel's Retry-After"
        opened = query(node.db, """SELECT count(*) FROM mail_message WHERE model = 'retail.backend' AND res_id = %s
                                   AND body::text LIKE %s""", (shop.backend_id, "%Degraded after%"))[0][0]
        recovered = query(node.db, """SELECT count(*) FROM mail_message WHERE model = 'retail.backend' AND res_id = %s
                                      AND body::text LIKE %s""", (shop.backend_id, "%Recovered%"))[0][0]
        [(state,)] = query(node.db, "SELECT state FROM retail_backend WHERE id = %s", (shop.backend_id,))
        assert opened >= rounds and recovered >= rounds and state == "ok", (opened, recovered, state)

        odoo.call("retail.backend", "action_reconcile_now", [shop.backend_id])
        _run, drift_first, repaired = latest_run(node.db, shop.backend_id, "inventory")
        wait_until(lambda: not query(node.db, """SELECT 1 FROM retail_export_request WHERE backend_id = %s
                                                 AND state = 'pending'""", (shop.backend_id,)), 120, "repairs sent")
        odoo.call("retail.backend", "action_reconcile_now", [shop.backend_id])
        _run, drift_after, _ = latest_run(node.db, shop.backend_id, "inventory")
        not_sent = query(node.db, """SELECT state, count(*) FROM retail_export_request WHERE backend_id = %s
                                     AND state != 'done' GROUP BY 1""", (shop.backend_id,))
        failed = query(node.db, """SELECT method_name, exc_name, exc_message FROM queue_job
                                   WHERE state = 'failed' AND date_created >= %s""", (shop.opened_at,))
        failed_jobs = len(failed)
        report.verify(stock_calls=len(calls), answered_429=len(limited),
                      answered_5xx=sum(1 for c in calls if c.status and c.status >= 500),
                      idempotent_replays=channel.idempotent_replays, breaker_opened=opened, breaker_recovered=recovered,
                      drift_first=drift_first, repaired=repaired, drift_after=drift_after,
                      exports_not_sent=sum(n for _s, n in not_sent), failed_jobs=failed_jobs)
        assert drift_after == 0, f"the stock reconciliation still finds {drift_after} differences"
        assert not not_sent and not failed, (not_sent, failed)
    finally:
        shop.close()
