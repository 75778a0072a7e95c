"""Inbound resilience: webhook faults, killed workers and servers, dropped database connections.

Each scenario feeds a batch of signed order webhooks to an Odoo server of its own while it
injects one kind of fault, lets the channel retry what was not acknowledged (as channels do),
runs the orders reconciliation, then checks that every channel order is in Odoo exactly once,
in its latest state, and that every acknowledged event was applied.
"""

import threading
import time

import pytest

from resilience.cluster import pg_connect, query
from simulators.generic import DEFAULT_CATALOGUE

from resilience.scenario import Shop, admin, ensure_products, scale, wait_until

pytestmark = pytest.mark.resilience

SETTLE = scale(300, 600)


@pytest.fixture(scope="module")
def node(node_factory):
    return node_factory(name="inbound")


@pytest.fixture(scope="module")
def odoo(node):
    client = admin(node.url, node.db)
    ensure_products(client, DEFAULT_CATALOGUE)
    return client


@pytest.fixture
def shop(odoo, node):
    shop = Shop.open(odoo, node.db, node.url)
    yield shop
    shop.close()


def finish(shop, report, odoo=None, failed_jobs_allowed=False):
    """Settle, let the channel retry, reconcile, settle again; check and report; return the counts."""
    shop.wait_settled(SETTLE)
    retried = shop.redeliver_failed()
    if retried:
        report.inject(f"{retried} unacknowledged webhooks sent again by the channel")
        shop.wait_settled(SETTLE)
    differences, repaired = shop.reconcile_orders(odoo)
    shop.wait_settled(SETTLE)
    drift_after, _ = shop.reconcile_orders(odoo)
    counts, problems = shop.verify_orders(failed_jobs_allowed=failed_jobs_allowed)
    report.verify(**counts, reconciliation_repaired=repaired, drift_after=drift_after)
    assert not problems, "\n".join(problems)
    assert drift_after == 0, f"a second reconciliation still found {drift_after} differences"
    return counts, differences, repaired


def started_jobs(db):
    return query(db, """SELECT uuid, worker_pid FROM queue_job WHERE state = 'started'
                        AND method_name = '_dispatch' AND worker_pid IS NOT NULL""")


def job_done(db, uuid):
    rows = query(db, "SELECT state, retry FROM queue_job WHERE uuid = %s", (uuid,))
    return rows[0] if rows and rows[0][0] == "done" else None


def test_duplicated_reordered_and_dropped_webhooks(shop, report):
    """Duplicates apply once, reordered pairs keep the newest state, dropped ones come back by reconciliation."""
    injected = shop.feed(scale(20, 200), duplicate_every=4, reorder_every=5, drop_every=6, cancel_every=7)
    report.inject(f"{injected['orders']} orders: {injected['duplicated']} webhooks sent 3 times, "
                  f"{injected['reordered']} create/update pairs sent newest first, "
                  f"{injected['dropped']} webhooks dropped, {injected['cancelled']} cancellations")
    counts, differences, repaired = finish(shop, report)
    assert repaired >= injected["dropped"], (differences, repaired, injected)
    assert counts["dropped"] == injected["dropped"]


def test_sigkill_of_a_worker_in_the_middle_of_a_batch(shop, node, report):
    """A worker killed while it applies an event: its job is requeued after restart and applied once."""
    for _round in range(scale(1, 3)):
        stop = threading.Event()
        feeder = threading.Thread(target=shop.feed, args=(scale(20, 150),),
                                  kwargs={"duplicate_every": 5, "stop": stop})
        feeder.start()
        try:
            uuid, pid = wait_until(lambda: next(iter(started_jobs(node.db)), None), 60,
                                   "a job applying an event", interval=0.05)
            node.kill_worker(pid)
            killed_at = time.monotonic()
            report.inject(f"SIGKILL of HTTP worker {pid} while it ran job {uuid}")
        finally:
            feeder.join()
        state = wait_until(lambda: job_done(node.db, uuid), SETTLE, f"job {uuid} to be requeued and done")
        report.note(f"job {uuid} done after {time.monotonic() - killed_at:.0f}s, requeued {state[1]} time(s)")
        assert state[1] >= 1, "the killed job was not requeued as a dead job"
    finish(shop, report)


def test_sigkill_of_the_whole_server_in_the_middle_of_a_batch(shop, node, report):
    """The whole server killed mid-batch and restarted: started jobs requeued, every event applied once."""
    for _round in range(scale(1, 2)):
        feeder = threading.Thread(target=shop.feed, args=(scale(20, 150),), kwargs={"duplicate_every": 5})
        feeder.start()
        try:
            jobs = wait_until(lambda: started_jobs(node.db), 60, "jobs applying events", interval=0.05)
            node.kill_all()
            report.inject(f"SIGKILL of the whole server (master, workers, cron, job runner) with {len(jobs)} job(s) started")
            node.start()
            report.inject(f"server restarted (start #{node.starts})")
        finally:
            feeder.join()
        shop.wait_settled(SETTLE)

        def killed_jobs():
            return query(node.db, "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM queue_job "
                                  "WHERE uuid = ANY(%s)", ([u for u, _pid in jobs],))[0]

        # the events may all be applied by later dispatchers before queue_job requeues the dead
        # started jobs (it looks for them on its own schedule): those end done all the same
        try:
            killed = wait_until(lambda: (lambda k: k if k[0] == k[1] else None)(killed_jobs()), SETTLE,
                                "the jobs killed while started to be requeued and done")
        except AssertionError:
            killed = killed_jobs()
        report.note(f"{killed[0]} of {killed[1]} jobs killed while started ended done")
        assert killed[0] == killed[1]
    finish(shop, report)


def test_database_connections_dropped_under_load(shop, node, report):
    """pg_terminate_backend on every connection of the database, repeatedly, while webhooks arrive."""
    stop = threading.Event()
    terminated = []

    def terminate():
        conn = pg_connect(node.db)
        try:
            while not stop.wait(0.7):
                with conn.cursor() as cr:
                    cr.execute("""SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                                  WHERE datname = %s AND pid <> pg_backend_pid()""", (node.db,))
                    terminated.append(cr.fetchone()[0])
        finally:
            conn.close()

    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        injected = shop.feed(scale(20, 200), duplicate_every=5)
    finally:
        stop.set()
        killer.join()
    report.inject(f"{len(terminated)} rounds of pg_terminate_backend, {sum(terminated)} connections dropped, "
                  f"while {injected['orders']} orders arrived")
    assert sum(terminated) > 0
    # a job whose connection is cut under it fails in queue_job (its savepoint cannot be rolled
    # back); the events sweep queues its events again after its grace period
    finish(shop, report, failed_jobs_allowed=True)
