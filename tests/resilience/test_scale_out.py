"""Scale-out: two Odoo server processes on one database behind a load balancer.

Node A runs the queue_job job runner, which hands jobs to both nodes through the load balancer;
node B has its runner disabled (``ODOO_QUEUE_JOB_CHANNELS=root:0``). Two shops send their
webhooks, duplicates included, round-robin to both nodes; every order reserves stock that the
other shop must hear of, and connection tests hit both nodes at once, so that both processes
call each channel together. Checked: every event applied exactly once, jobs ran on both
nodes, and no channel ever received more calls than its backend's token bucket allows.
"""

import threading
import time
import uuid

import pytest

from odoo_client import OdooClient, OdooRPCError
from resilience.cluster import OdooNode, RoundRobinProxy, query
from resilience.scenario import Shop, admin, ensure_products, scale

pytestmark = pytest.mark.resilience

RATE, BURST = 1.0, 2
SETTLE = scale(240, 900)


@pytest.fixture(scope="module")
def cluster(resilience_db):
    first = OdooNode(resilience_db, name="a")
    second = OdooNode(resilience_db, name="b", runner=False)
    balancer = RoundRobinProxy([first.http_port, second.http_port])
    first.runner_port = balancer.port  # the runner hands each job to the next node
    try:
        first.start()
        second.start()
        yield first, second, balancer
    finally:
        for node in (first, second):
            node.kill_all()
        balancer.close()


def excess_over_bucket(times, rate, burst, slack=0.25):
    """Return the largest (calls in a window) - (burst + rate x window + 1) over every window."""
    times = sorted(times)
    worst = float("-inf")
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            allowed = burst + rate * (times[j] - start + slack) + 1
            worst = max(worst, (j - i + 1) - allowed)
    return worst


def test_two_servers_one_database_every_event_once_and_rate_limits_held(cluster, report):
    first, second, balancer = cluster
    odoo = admin(first.url, first.db)
    tag = uuid.uuid4().hex[:5].upper()
    catalogue = [{"sku": f"SO-{tag}-{i}", "name": f"Scale-out item {i}", "price": "10.00"} for i in range(1, 6)]
    warehouse = odoo.search_read("stock.warehouse", [], ["id"], limit=1)[0]["id"]
    limits = {"rate_limit_rps": RATE, "rate_limit_burst": BURST, "warehouse_id": warehouse}
    shops = [Shop.open(odoo, first.db, balancer.url, catalogue=catalogue, policies={"inventory": "event"},
                       backend_values=limits) for _ in range(2)]
    ensure_products(odoo, catalogue, on_hand=100000)
    try:
        for shop in shops:
            shop.channel.calls.reset()
        orders = scale(25, 150)
        stop = threading.Event()
        pings = {"asked": 0, "refused": 0}

        def ping(url):
            client = OdooClient(url, first.db, "admin", "admin")
            client.login()
            while not stop.is_set():
                for shop in shops:
                    pings["asked"] += 1
                    try:
                        client.call("retail.backend", "action_test_connection", [shop.backend_id])
                    except OdooRPCError:
                        pings["refused"] += 1  # no token within the wait: refused, never sent

        started, pinging_from = time.monotonic(), time.time()
        feeders = [threading.Thread(target=shop.feed, args=(orders,), kwargs={"duplicate_every": 3}) for shop in shops]
        pingers = [threading.Thread(target=ping, args=(node.url,)) for node in (first, second)]
        for thread in feeders + pingers:
            thread.start()
        for thread in feeders:
            thread.join()
        stop.set()
        for thread in pingers:
            thread.join()
        pinging_until = time.time()
        for shop in shops:
            shop.wait_settled(SETTLE)
        settled = time.monotonic() - started
        report.inject(f"2 shops x {orders} orders (every 3rd webhook sent 3 times) round-robin to 2 servers "
                      f"({balancer.connections[first.http_port]} / {balancer.connections[second.http_port]} connections); "
                      f"{pings['asked']} connection tests from both servers at once; rate limit {RATE:g}/s burst {BURST}")
        for shop in shops:
            differences, repaired = shop.reconcile_orders()
            shop.wait_settled(SETTLE)
            counts, problems = shop.verify_orders()
            report.verify(**{f"{shop.name}:{k}": v for k, v in counts.items() if k in (
                "orders", "webhooks", "acknowledged", "events", "sale_orders", "duplicates", "lost", "failed_jobs")})
            assert not problems, "\n".join(problems)
            assert (differences, repaired) == (0, 0), "the orders reconciliation found orders the webhooks missed"

        pids = {row[0]: row[1] for row in query(first.db, """
            SELECT worker_pid, count(*) FROM queue_job WHERE state = 'done' AND date_created >= %s
            GROUP BY worker_pid""", (shops[0].opened_at,))}
        per_node = {node.name: sum(pids.get(pid, 0) for pid in node.children()) for node in (first, second)}
        report.verify(jobs_per_node=per_node, seconds_to_settle=round(settled))
        assert all(per_node.values()), f"jobs ran on one server only: {per_node}"

        for shop in shops:
            calls = shop.channel.calls.all()
            times = [c.time for c in calls]
            excess = excess_over_bucket(times, RATE, BURST)
            span = max(times) - min(times)
            report.verify(**{f"{shop.name}:channel_calls": len(calls),
                             f"{shop.name}:calls_per_s": round(len(calls) / span, 2) if span else 0,
                             f"{shop.name}:worst_window_excess": round(excess, 2)})
            assert excess <= 0, f"{shop.name} received more calls than its token bucket allows ({excess:.2f} over)"
            # the limit was binding: while both servers pinged, calls went out at about the rate
            window = pinging_until - pinging_from
            during = sum(pinging_from <= t <= pinging_until for t in times)
            report.verify(**{f"{shop.name}:calls_while_pinging_per_s": round(during / window, 2)})
            assert during >= 0.5 * (BURST + RATE * window), (during, window)
        report.verify(connection_tests_refused=pings["refused"])
    finally:
        for shop in shops:
            shop.close()
