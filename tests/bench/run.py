"""Retail Connector benchmarks: figures and ratios against baselines measured in the same run.

    ./setup bench [--quick] [--only 1,2,3,4,5,6,7] [--no-oca] [--fresh]

1. Webhook ingest: signed Shopify ``orders/create`` webhooks acknowledged per second, p50/p99,
   with the job runner off and on, against the durable floor (a bench-only route that inserts
   the body in one row and commits, tests/bench/addons) on the same server and database. With
   the runner on, the jobs run in a job tier beside that server (a second server with the
   runner, two workers, at a lower CPU priority), as the README's deployment advises.
2. Order processing: those events to confirmed sale orders per second through the job runner,
   against the ORM alone creating and confirming the same orders (the ceiling); SQL queries per
   order of both; acknowledgement to confirmed order at a steady offered rate.
3. Inventory propagation: stock moves at a fixed rate over many SKUs, sold by three backends
   (Shopify, WooCommerce, the generic channel); per channel, calls per 1 000 moves and p50/p95
   from the move's commit to the channel holding its level, against one call per move (a naive
   listener).
4. Reconciliation: orders compared between the channel and Odoo (1 in 100 missing, 1 in 100
   outdated) at two sizes; time and peak memory, against a naive compare that looks each order
   up with its own query; stock and price reconciliations of many SKUs the same way.
5. Peak: a flash sale of signed order webhooks from Shopify, WooCommerce and the generic channel
   at a fixed offered rate above what the jobs drain: refusals, time to drain, acknowledgement to
   confirmed order, peak worker memory, every order once.
6. Sale to every channel: Shopify order webhooks at a fixed rate, one unit each; p50/p95 from
   the webhook's acknowledgement to WooCommerce and the generic channel holding the lower level.
   Then store sales on a POS (Square notifications) at the same rate: p50/p95 from the
   acknowledgement of the completed order's notification to each of the three other channels.
7. Catalogue onboarding: a Shopify shop of 5 000 variants (one in ten already in Odoo under its
   SKU) read by the catalogue onboarding, a dry run then the import, page after page through the
   job runner under Shopify's cost limit (tests/bench/onboarding.py); seconds and variants/s.

Benchmarks 1 and 2 run also through OCA's ``shopify_connector`` installed in a second database on
the same server, with the same Shopify payloads. One Odoo server (workers and the job runner as in
odoo.conf) serves both databases; requests choose theirs with ``X-Odoo-Database``. The load comes
from this process; the channel simulators run here too. Nothing here asserts a time.
"""

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from simulators.base import hmac_sha256_base64, json_bytes  # noqa: E402
from simulators.generic import GenericChannel  # noqa: E402
from simulators.base import retail_signature  # noqa: E402
from simulators.shopify import DEFAULT_CATALOGUE, ShopifySimulator, parse_gid  # noqa: E402
from simulators.square_pos import SquarePOS  # noqa: E402
from simulators.woocommerce import WooCommerceSimulator  # noqa: E402

CACHE = Path(os.environ.get("RETAIL_CONNECTOR_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or
                                                              Path.home() / ".cache") / "retail-connector")
SRC = Path(os.environ.get("RC_ODOO_SRC") or CACHE / "odoo-19.0")
OUR_ADDONS = "retail_connector_base,retail_connector_marketplace,retail_connector_wms,retail_connector_pos"
# the durable floor of benchmark 1: a route that inserts the body and commits (tests/bench/addons)
FLOOR_ADDON = "retail_bench_floor"
# the job tier of benchmark 1 with the runner on: its own server, fewer workers, lower CPU priority
JOB_TIER_WORKERS = 2
JOB_TIER_NICE = 10
SIZES = {
    "full": {"ingest": 1000, "concurrency": 8, "orders": 100, "moves": 1200, "move_rate": 20.0, "skus": 100,
             "sales": 100, "sale_rate": 2.0, "reconcile": 10000, "reconcile_large": 50000, "reconcile_skus": 10000,
             "steady": 100, "steady_rate": 4.0, "peak": 5000, "peak_rate": 40.0, "onboarding": 5000},
    "quick": {"ingest": 100, "concurrency": 4, "orders": 20, "moves": 100, "move_rate": 20.0, "skus": 10,
              "sales": 10, "sale_rate": 2.0, "reconcile": 500, "reconcile_large": 2500, "reconcile_skus": 500,
              "steady": 20, "steady_rate": 4.0, "peak": 300, "peak_rate": 30.0, "onboarding": 200},
}
TOKEN, SECRET = "shpat_bench_token", "shp-bench-app-secret"
GENERIC_TOKEN, GENERIC_SECRET = "bench-generic-token", "bench-generic-webhook"
WOO_KEY, WOO_SECRET, WOO_HOOK_SECRET = "ck_bench", "cs_bench", "bench-woo-webhook"
SQUARE_TOKEN, SQUARE_KEY, SQUARE_LOCATION = "sq-bench-token", "sq-bench-signature-key", "LBENCHSTORE"
LOG_DIR = ROOT / ".run"
# a job request in the server's log: "GET /queue_job/runjob?... HTTP/1.1" 200 - <queries> <query time> <other time>
RUNJOB_LINE = re.compile(r'"(?:GET|POST) /queue_job/runjob\S* HTTP/1\.1" \d+ - (\d+) ')
# the Admin API root fields that sending stock levels uses (finding variants, locations, setting levels)
INVENTORY_OPERATIONS = {"productVariants", "productVariant", "locations", "location", "inventoryItem",
                        "inventorySetQuantities"}


def say(message):
    print("[bench] %s" % message, flush=True)


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[max(0, min(len(ordered), math.ceil(pct / 100 * len(ordered))) - 1)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(db, sql, params=()):
    """Return the first column of the first row of ``sql`` on ``db`` (psql on the local settings)."""
    for value in params:
        sql = sql.replace("%s", str(int(value)) if isinstance(value, int) else "'%s'" % str(value).replace("'", "''"), 1)
    out = subprocess.run(["psql", "-X", "-At", "-d", db, "-c", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# --------------------------------------------------------------------------- Odoo processes

def odoo_args():
    return [sys.executable, str(SRC / "odoo-bin"), "-c", str(ROOT / "odoo.conf"),
            "--addons-path=%s,%s,%s" % (ROOT / "addons", ROOT / "tests" / "bench" / "addons", SRC / "addons"),
            "--data-dir=%s" % (CACHE / "data")]


def ensure_db(db, modules, fresh, update=False):
    """Create ``db`` with ``modules`` unless it has them; with ``update``, bring them to this checkout's code."""
    exists = psql("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (db,)) == "1"
    installed = exists and psql(
        db, "SELECT count(*) FROM ir_module_module WHERE state = 'installed' AND name IN (%s)" %
        ", ".join("'%s'" % m for m in modules.split(","))) == str(len(modules.split(",")))
    if exists and not fresh and (installed or update):
        if update:
            say("updating %s in database %s" % (modules, db))
            log = LOG_DIR / ("bench-install-%s.log" % db)
            flag = "-u" if installed else "-i"
            rc = subprocess.call(odoo_args() + ["-d", db, flag, modules, "--stop-after-init", "--workers=0",
                                                "--max-cron-threads=0", "--http-port=%d" % free_port(),
                                                "--log-level=warn", "--logfile=%s" % log])
            if rc:
                sys.exit("updating %s in %s failed: see %s" % (modules, db, log))
        return
    say("creating database %s with %s (a few minutes)" % (db, modules))
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    log = LOG_DIR / ("bench-install-%s.log" % db)
    rc = subprocess.call(odoo_args() + ["-d", db, "-i", modules, "--stop-after-init", "--workers=0",
                                        "--max-cron-threads=0", "--http-port=%d" % free_port(),
                                        "--log-level=warn", "--logfile=%s" % log])
    if rc:
        sys.exit("installing %s in %s failed: see %s" % (modules, db, log))


def run_task(db, task, args, env=None):
    """Run one task of orm_tasks.py in its own Odoo process; return its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(args, fh)
    cmd = [sys.executable, str(Path(__file__).with_name("orm_tasks.py")), "--db", db, "--conf", str(ROOT / "odoo.conf"),
           "--addons-path", "%s,%s,%s" % (ROOT / "addons", ROOT / "tests" / "bench" / "addons", SRC / "addons"),
           "--data-dir", str(CACHE / "data"), task, fh.name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    os.unlink(fh.name)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit("task %s on %s failed (exit %d)" % (task, db, proc.returncode))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_tasks(db, task, args_list):
    """Start one task process per argument set; return a function that waits and returns their results."""
    procs = []
    for args in args_list:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(args, fh)
        cmd = [sys.executable, str(Path(__file__).with_name("orm_tasks.py")), "--db", db, "--conf",
               str(ROOT / "odoo.conf"),
               "--addons-path", "%s,%s,%s" % (ROOT / "addons", ROOT / "tests" / "bench" / "addons", SRC / "addons"),
               "--data-dir", str(CACHE / "data"), task, fh.name]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), fh.name))

    def wait():
        results = []
        for proc, name in procs:
            out, err = proc.communicate()
            os.unlink(name)
            if proc.returncode:
                sys.stderr.write(err[-4000:])
                sys.exit("task %s on %s failed" % (task, db))
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results

    return wait


class Server:
    """One Odoo server (workers from odoo.conf) on some databases; ``runner`` loads the job runner.

    ``workers`` overrides odoo.conf's; ``nice`` starts the server at that lower CPU priority (a job
    tier beside the server that answers the channels); ``log`` names its log file.
    """

    def __init__(self, dbs, port, runner=True, env=None, workers=None, nice=0, log=None):
        self.dbs, self.port, self.runner, self.env = dbs, port, runner, env
        self.workers, self.nice = workers, nice
        self.proc = None
        self.log = LOG_DIR / (log or "bench-server.log")

    def __enter__(self):
        args = odoo_args() + ["-d", ",".join(self.dbs), "--http-port=%d" % self.port,
                              "--gevent-port=%d" % (self.port + 1), "--logfile=%s" % self.log]
        if not self.runner:
            args.append("--load=base,web")
        if self.workers is not None:
            args.append("--workers=%d" % self.workers)
        if self.nice:
            args = ["nice", "-n", str(self.nice)] + args
        self.launched = time.time()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("Odoo stopped at start: see %s" % self.log)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/web/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            self.__exit__()
            sys.exit("Odoo did not answer on port %d: see %s" % (self.port, self.log))
        # the server starts its websocket process after its HTTP workers answer: that start (an Odoo
        # process loading) is waited for too, else it would take a core from the first measurements
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("Odoo stopped at start: see %s" % self.log)
            try:
                socket.create_connection(("127.0.0.1", self.port + 1), timeout=2).close()
                return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        sys.exit("Odoo did not answer on port %d: see %s" % (self.port, self.log))

    def peak_memory(self):
        """Return the largest peak resident size (MiB) among the server's processes (VmHWM)."""
        pids = [str(self.proc.pid)] + subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                                     text=True).stdout.split()
        peak = 0
        for pid in pids:
            try:
                for line in Path("/proc/%s/status" % pid).read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
        return peak / 1024

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------- channel side

def serve_tls_too(sim, certdir):
    """Let the simulator answer HTTPS on its port as well (a TLS client hello starts with 0x16).

    OCA's client always calls ``https://<shop domain>``; the Odoo server trusts the bench's own
    certificate through REQUESTS_CA_BUNDLE.
    """
    cert, key = certdir / "cert.pem", certdir / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = sim._server
    accept = server.socket.accept

    def get_request():
        conn, addr = accept()
        conn.settimeout(10)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                conn = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            pass
        conn.settimeout(None)
        return conn, addr

    server.get_request = get_request
    return cert


def signed_webhook(payload, topic="orders/create"):
    """Return (body, headers) of a Shopify webhook as the shop signs it, with a fresh webhook id."""
    body = json_bytes(payload)
    event_id = str(uuid.uuid4())
    return body, {
        "Content-Type": "application/json", "User-Agent": "Shopify-Captain-Hook", "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "retail-connector-test.myshopify.com", "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, event_id)), "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(SECRET, body),
    }


def fire(port, requests_, concurrency, rate=None):
    """Send ``requests_`` [(method, path, body, headers)] from ``concurrency`` threads, a connection each;
    with ``rate``, each request at its time of a fixed offered rate per second (as a channel sends,
    whatever the answers).

    Returns (wall seconds, [latency seconds], [status]).
    """
    latencies, statuses = [None] * len(requests_), [None] * len(requests_)
    counter = itertools.count()
    begun = time.perf_counter()

    def worker():
        while (i := next(counter)) < len(requests_):
            if rate:
                wait = begun + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            method, path, body, headers = requests_[i]
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request(method, path, body=body, headers=dict(headers, Connection="close"))
                response = conn.getresponse()
                response.read()
                statuses[i] = response.status
                conn.close()
            except OSError as exc:
                statuses[i] = type(exc).__name__
            latencies[i] = time.perf_counter() - started

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - begun, latencies, statuses


def fire_at_rate(port, requests_, rate, concurrency=16):
    """Send ``requests_`` at a fixed offered ``rate`` per second; return the statuses."""
    return fire(port, requests_, concurrency, rate=rate)[2]


def event_latencies(db, backend_ids):
    """Return, per applied event of the backends, the seconds from its acknowledgement to the end of the job that
    confirmed its sale order (only then is the order visible), both on the database server's clock."""
    out = subprocess.run(["psql", "-X", "-At", "-d", db, "-c",
                          "SELECT extract(epoch FROM processed_at - received_at) FROM retail_event WHERE backend_id IN (%s) "
                          "AND state = 'done' AND processed_at IS NOT NULL" % ",".join(str(b) for b in backend_ids)],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def ingest_figures(name, port, requests_, concurrency, accepted):
    warm = max(5, len(requests_) // 21)
    fire(port, requests_[:warm], concurrency)  # warm the workers up, with requests of their own
    requests_ = requests_[warm:]
    wall, latencies, statuses = fire(port, requests_, concurrency)
    ok = sum(1 for s in statuses if s in accepted)
    figures = {"name": name, "requests": len(requests_), "acknowledged": ok, "seconds": wall, "rate": ok / wall,
               "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
               "statuses": {str(s): statuses.count(s) for s in set(statuses)}}
    say("%-32s %6.1f acks/s  p50 %6.1f ms  p99 %6.1f ms  %s" % (
        name, figures["rate"], figures["p50_ms"], figures["p99_ms"], figures["statuses"]))
    return figures


def alternate_rounds(port, targets, warm, rounds, concurrency):
    """Measure ``targets`` [(key, name, requests, accepted statuses)] in alternating rounds.

    Each target's first ``warm`` requests warm the workers up; the rest is cut in ``rounds`` equal
    rounds, run target after target, round after round. Returns {key: figures}."""
    for _key, _name, requests_, _accepted in targets:
        fire(port, requests_[:warm], concurrency)
    size = (len(targets[0][2]) - warm) // rounds
    runs = {key: [] for key, *_rest in targets}
    for r in range(rounds):
        chunk = slice(warm + r * size, warm + (r + 1) * size)
        for key, _name, requests_, _accepted in targets:
            runs[key].append(fire(port, requests_[chunk], concurrency))
    figures = {}
    for key, name, _requests, accepted in targets:
        wall = sum(run[0] for run in runs[key])
        latencies = [x for run in runs[key] for x in run[1]]
        statuses = [x for run in runs[key] for x in run[2]]
        ok = sum(1 for status in statuses if status in accepted)
        figures[key] = result = {
            "name": name, "requests": len(statuses), "acknowledged": ok, "seconds": wall, "rate": ok / wall,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "statuses": {str(x): statuses.count(x) for x in set(statuses)}, "rounds": rounds}
        say("%-38s %6.1f acks/s  p50 %6.1f ms  p99 %6.1f ms  %s" % (
            name, result["rate"], result["p50_ms"], result["p99_ms"], result["statuses"]))
    return figures


def wait_count(query, params, db, target, stall=90, label=""):
    """Poll ``query`` until it reaches ``target`` or stops moving for ``stall`` s; return (count, end time)."""
    last, last_change = -1, time.monotonic()
    while True:
        count = int(psql(db, query, params) or 0)
        now = time.time()
        if count >= target:
            return count, now
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > stall:
            say("%s: stuck at %d of %d for %d s" % (label, count, target, stall))
            return count, now
        time.sleep(0.25)


# --------------------------------------------------------------------------- the benchmarks

class Bench:
    def __init__(self, ns):
        self.ns = ns
        self.size = SIZES["quick" if ns.quick else "full"]
        self.ours, self.oca = ns.db_prefix + "_ours", ns.db_prefix + "_oca"
        self.port = ns.port or free_port()
        self.job_tier_port = self.port + 10 if ns.port else free_port()
        self.run_id = datetime.now(timezone.utc).strftime("%m%d%H%M%S")
        self.results = {"size": "quick" if ns.quick else "full", "oca": not ns.no_oca}
        self.rng = random.Random(11)
        self.certdir = Path(tempfile.mkdtemp(prefix="rc-bench-"))
        self.env = dict(os.environ)

    def setup(self):
        LOG_DIR.mkdir(exist_ok=True)
        if not self.env.get("RETAIL_CONNECTOR_SECRET_KEY") and (CACHE / "secret.key").exists():
            self.env["RETAIL_CONNECTOR_SECRET_KEY"] = (CACHE / "secret.key").read_text().strip()
        os.environ.update(self.env)
        ensure_db(self.ours, OUR_ADDONS + "," + FLOOR_ADDON, self.ns.fresh, update=True)
        if not self.ns.no_oca:
            ensure_db(self.oca, "shopify_connector", self.ns.fresh)
        for db in [self.ours] + ([] if self.ns.no_oca else [self.oca]):
            # what an interrupted run left queued must not run during this one's measures
            psql(db, "UPDATE queue_job SET state = 'cancelled' WHERE state IN ('pending', 'enqueued', 'started')")
        currency = psql(self.ours, "SELECT c.name FROM res_company co JOIN res_currency c ON c.id = co.currency_id "
                                   "ORDER BY co.id LIMIT 1")
        sim_port = self.port + 2 if self.ns.port else 0
        self.shop = ShopifySimulator(token=TOKEN, webhook_secret=SECRET, currency=currency, tax_rate="0",
                                     port=sim_port, seed=11, cost_limit=(200000, 20000)).start()
        self.env["REQUESTS_CA_BUNDLE"] = str(serve_tls_too(self.shop, self.certdir))
        # products of one variant each, so that each Odoo product is one Shopify product
        self.catalogue = [item["sku"] for item in DEFAULT_CATALOGUE if item.get("title", "Default Title") == "Default Title"]
        for sku, price in (("BENCH-TOTE", "12.00"), ("BENCH-BOTTLE", "16.50"), ("BENCH-SOCKS", "7.90")):
            self.shop.add_variant(sku, price, product_title="Bench " + sku[6:].lower())
            self.catalogue.append(sku)
        shop_values = {"backend_type": "shopify", "endpoint_url": self.shop.url, "api_secret": TOKEN,
                       "webhook_secret": SECRET}
        self.generic = GenericChannel(token=GENERIC_TOKEN, currency=currency, tax_rate="0",
                                        port=self.port + 3 if self.ns.port else 0, seed=11).start()
        self.woo = WooCommerceSimulator(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, currency=currency, tax_rate="0",
                                        port=self.port + 4 if self.ns.port else 0, seed=11).start()
        generic_values = {"backend_type": "generic", "endpoint_url": self.generic.url, "api_secret": GENERIC_TOKEN,
                          "webhook_secret": GENERIC_SECRET}
        woo_values = {"backend_type": "woocommerce", "endpoint_url": self.woo.url, "api_key": WOO_KEY,
                      "api_secret": WOO_SECRET, "webhook_secret": WOO_HOOK_SECRET}
        self.pos = SquarePOS(token=SQUARE_TOKEN, signature_key=SQUARE_KEY, catalogue=(), seed=11,
                             locations=({"id": SQUARE_LOCATION, "name": "Bench store", "timezone": "UTC",
                                         "currency": currency},),
                             port=self.port + 5 if self.ns.port else 0).start()
        setup = run_task(self.ours, "setup_ours", {
            "run": self.run_id, "skus": self.catalogue,
            "backends": {"ingest": shop_values, "ingest_runner": shop_values, "orders": shop_values,
                         "steady": shop_values, "inventory": shop_values, "reconcile": generic_values,
                         "inventory_woo": woo_values, "inventory_generic": generic_values,
                         "peak_shopify": shop_values, "peak_woo": woo_values, "peak_generic": generic_values},
        }, env=self.env)
        self.backends = setup["backends"]
        self.settle_bench_events()
        if not self.ns.no_oca:
            variants = {sku: self.shop.variant(sku) for sku in self.catalogue}
            shop_domain = "127.0.0.1:%d" % self.shop.port
            setup = run_task(self.oca, "setup_oca", {
                "run": self.run_id, "skus": self.catalogue,
                "variants": {sku: parse_gid(v["id"]) if isinstance(v["id"], str) else v["id"] for sku, v in variants.items()},
                "product_ids": {sku: parse_gid(v["product_id"]) if isinstance(v.get("product_id"), str)
                                else v.get("product_id") for sku, v in variants.items()},
                "instances": {
                    "ingest": {"shop_url": "ingest-%s.bench.example" % self.run_id, "access_token": TOKEN,
                               "webhook_secret": SECRET},
                    # paid orders confirmed on import, as ours are by default
                    "orders": {"shop_url": shop_domain, "access_token": TOKEN, "webhook_secret": SECRET,
                               "order_confirmation_policy": "auto"},
                },
            }, env=self.env)
            self.instances = setup["instances"]

    def order_payloads(self, count):
        payloads = []
        for _ in range(count):
            lines = [{"sku": sku, "quantity": self.rng.randint(1, 3)}
                     for sku in self.rng.sample(self.catalogue, self.rng.randint(1, 3))]
            payloads.append(self.shop.place_order(notify=False, line_items=lines, shipping_lines=[]))
        return payloads

    def webhook_requests(self, payloads, db, path):
        out = []
        for payload in payloads:
            body, headers = signed_webhook(payload)
            out.append(("POST", path, body, dict(headers, **{"X-Odoo-Database": db})))
        return out

    # ------------------------------------------------------------------ 1 and the posting of 2
    def floor_requests(self, payloads, db):
        """The floor's requests: the same signed webhooks as ours (body and headers), which it reads no further."""
        return [("POST", "/retail_bench/floor", body, dict(headers, **{"X-Odoo-Database": db}))
                for body, headers in (signed_webhook(p) for p in payloads)]

    def bench_ingest(self, rounds=8):
        """Runner off: acknowledgements alone, against the durable floor, /web/health and OCA.

        After a warm-up of each, the floor, ours and OCA's alternate in rounds, so that all three
        are measured under the same conditions (the machine's other work, the tables' growth).
        """
        n, c = self.size["ingest"], self.size["concurrency"]
        say("1. webhook ingest: %d signed orders/create per target, %d concurrent clients, %d alternating rounds "
            "(job runner off)" % (n, c, rounds))
        payloads = self.order_payloads(n + n // 20)
        health = [("GET", "/web/health", None, {})] * len(payloads)
        figures = {"health": ingest_figures("/web/health (no database)", self.port, health, c, {200})}
        targets = [("floor", "durable floor (insert, commit)", self.floor_requests(payloads, self.ours), {202}),
                   ("ours", "Retail Connector webhook",
                    self.webhook_requests(payloads, self.ours, "/retail/webhook/%d" % self.backends["ingest"]), {200, 202})]
        if not self.ns.no_oca:
            targets.append(("oca", "OCA shopify_connector webhook",
                            self.webhook_requests(payloads, self.oca, "/shopify/webhook/%d" % self.instances["ingest"]),
                            {200}))
        figures.update(alternate_rounds(self.port, targets, len(payloads) - n, rounds, c))
        figures["ours"]["stored"] = int(psql(self.ours, "SELECT count(*) FROM retail_event WHERE backend_id = %s",
                                             (self.backends["ingest"],)))
        if not self.ns.no_oca:
            figures["oca"]["stored"] = int(psql(self.oca, "SELECT count(*) FROM shopify_webhook_event "
                                                          "WHERE instance_id = %s", (self.instances["ingest"],)))
        self.results["ingest"] = figures

    def bench_ingest_runner_on(self, rounds=8):
        """Runner on: the same acknowledgements while the jobs they queue run on the same machine.

        The jobs run as the README's deployment advises: in a job tier (a second Odoo server on the
        same database, with the job runner, two workers, at a lower CPU priority) beside the server
        that answers the channels, so that applying orders never holds an acknowledgement back.

        The floor and ours alternate in rounds, after a first round of ours that leaves a backlog
        of orders to apply: both are measured while the same jobs run on the same cores (applying
        orders is slower than acknowledging them, so the backlog lasts the whole measure).
        """
        n, c = self.size["ingest"], self.size["concurrency"]
        say("1. webhook ingest with the job runner on: %d orders, %d concurrent clients, %d alternating rounds" % (
            n, c, rounds))
        payloads = self.order_payloads(n + n // 20)
        figures = self.results["ingest"]
        targets = [("floor_runner", "durable floor, runner on", self.floor_requests(payloads, self.ours), {202}),
                   ("ours_runner", "Retail Connector webhook, runner on",
                    self.webhook_requests(payloads, self.ours, "/retail/webhook/%d" % self.backends["ingest_runner"]),
                    {200, 202})]
        # ours' warm-up leaves the backlog the jobs start on
        figures.update(alternate_rounds(self.port, targets, len(payloads) - n, rounds, c))
        figures["backlog_after"] = int(psql(self.ours, "SELECT count(*) FROM retail_event WHERE backend_id = %s AND "
                                                       "state IN ('received', 'queued')", (self.backends["ingest_runner"],)))
        say("1. orders still waiting to be applied when the measure ended: %d" % figures["backlog_after"])

    def post_orders(self):
        m = self.size["orders"]
        self.orders = self.order_payloads(m)
        wall, _lat, statuses = fire(self.port, self.webhook_requests(
            self.orders, self.ours, "/retail/webhook/%d" % self.backends["orders"]), 4)
        say("2. posted %d orders to Retail Connector: %s" % (m, {s: statuses.count(s) for s in set(statuses)}))
        if not self.ns.no_oca:
            wall, _lat, statuses = fire(self.port, self.webhook_requests(
                self.orders, self.oca, "/shopify/webhook/%d" % self.instances["orders"]), 4)
            say("2. posted %d orders to OCA shopify_connector: %s" % (m, {s: statuses.count(s) for s in set(statuses)}))

    def settle_bench_events(self):
        """Events of archived bench backends are ignored: the re-queue schedule would give them jobs again."""
        psql(self.ours, "UPDATE retail_event SET state = 'ignored' WHERE state NOT IN ('done', 'ignored') AND backend_id IN "
                        "(SELECT id FROM retail_backend WHERE name LIKE 'Bench %%' AND NOT active)")

    def clear_ingest_jobs(self):
        """The ingest events are not part of benchmark 2: their jobs are cancelled, their backends stop."""
        psql(self.ours, "UPDATE retail_backend SET active = false WHERE id = %s", (self.backends["ingest"],))
        self.settle_bench_events()
        dbs = [self.ours] + ([] if self.ns.no_oca else [self.oca])
        if not self.ns.no_oca:
            psql(self.oca, "UPDATE shopify_instance SET active = false WHERE id = %s", (self.instances["ingest"],))
        for db in dbs:
            psql(db, "UPDATE queue_job SET state = 'cancelled' WHERE state IN ('pending', 'enqueued')")

    # ------------------------------------------------------------------ 2
    def runjob_queries(self, since_offset):
        """Return the SQL queries of the job requests the server logged after ``since_offset``, and how many."""
        total = count = 0
        with open(self.server_log, "rb") as fh:
            fh.seek(since_offset)
            for line in fh:
                match = RUNJOB_LINE.search(line.decode("utf-8", "replace"))
                if match:
                    total, count = total + int(match.group(1)), count + 1
        return total, count

    def bench_processing_ours(self, launched, log_offset=0):
        m = self.size["orders"]
        query = ("SELECT count(*) FROM retail_sale_order_binding b JOIN sale_order s ON s.id = b.odoo_id "
                 "WHERE b.backend_id = %s AND s.state = 'sale'")
        start = time.time()
        count, end = wait_count(query, (self.backends["orders"],), self.ours, m, label="Retail Connector orders")
        first = psql(self.ours, "SELECT extract(epoch FROM min(date_started)) FROM queue_job WHERE date_started >= "
                                "to_timestamp(%s) AT TIME ZONE 'UTC'" % int(launched - 1))
        start = float(first) if first else start
        states = psql(self.ours, "SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM "
                                 "retail_event WHERE backend_id = %s GROUP BY state) x", (self.backends["orders"],))
        queries, jobs = self.runjob_queries(log_offset)
        figures = {"confirmed": count, "of": m, "seconds": end - start, "rate": count / (end - start),
                   "events": states, "queries": queries, "jobs": jobs, "queries_per_order": queries / max(count, 1)}
        say("2. Retail Connector: %d of %d orders confirmed, %.1f orders/s, %d jobs, %.0f queries per order (events %s)" % (
            count, m, figures["rate"], jobs, figures["queries_per_order"], states))
        self.results.setdefault("processing", {})["ours"] = figures

    def bench_processing_oca(self, launched):
        m = self.size["orders"]
        query = ("SELECT count(*) FROM shopify_order b JOIN sale_order s ON s.id = b.odoo_id "
                 "WHERE b.instance_id = %s AND s.state = 'sale'")
        start = time.time()
        count, end = wait_count(query, (self.instances["orders"],), self.oca, m, stall=60, label="OCA orders")
        first = psql(self.oca, "SELECT extract(epoch FROM min(date_started)) FROM queue_job WHERE date_started >= "
                               "to_timestamp(%s) AT TIME ZONE 'UTC'" % int(launched - 1))
        start = float(first) if first else start
        errors = psql(self.oca, "SELECT string_agg(DISTINCT left(error_message, 160), ' | ') FROM shopify_order "
                                "WHERE instance_id = %s AND state = 'error'", (self.instances["orders"],))
        job_errors = psql(self.oca, "SELECT string_agg(DISTINCT left(exc_message, 160), ' | ') FROM queue_job "
                                    "WHERE state = 'failed' AND date_created >= to_timestamp(%s) AT TIME ZONE 'UTC'"
                          % int(start - 600))
        figures = {"confirmed": count, "of": m, "seconds": end - start, "rate": count / (end - start) if count else 0.0,
                   "errors": errors or None, "job_errors": job_errors or None}
        say("2. OCA shopify_connector: %d of %d orders confirmed, %.1f orders/s%s" % (
            count, m, figures["rate"], ("; errors: %s %s" % (errors or "", job_errors or "")) if count < m else ""))
        self.results.setdefault("processing", {})["oca"] = figures

    def bench_processing_orm(self):
        lines = [[{"sku": x["sku"], "quantity": x["quantity"], "price": x["price"]} for x in o["line_items"]]
                 for o in self.orders]
        halves = [{"orders": lines[0::2]}, {"orders": lines[1::2]}]
        results = start_tasks(self.ours, "raw_orders", halves)()
        seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
        count = sum(r["count"] for r in results)
        queries = sum(r.get("queries", 0) for r in results)
        figures = {"confirmed": count, "seconds": seconds, "rate": count / seconds, "processes": len(halves),
                   "queries_per_order": queries / max(count, 1)}
        say("2. raw ORM (2 processes, as the orders channel's 2 jobs): %.1f orders/s, %.0f queries per order" % (
            figures["rate"], figures["queries_per_order"]))
        self.results.setdefault("processing", {})["orm"] = figures

    def bench_steady(self):
        """Orders at a steady offered rate with the runner on: acknowledgement to confirmed sale order."""
        n, rate = self.size["steady"], self.size["steady_rate"]
        say("2. steady flow: %d orders at %.0f/s, acknowledgement to confirmed sale order" % (n, rate))
        reqs = self.webhook_requests(self.order_payloads(n), self.ours, "/retail/webhook/%d" % self.backends["steady"])
        statuses = fire_at_rate(self.port, reqs, rate)
        query = ("SELECT count(*) FROM retail_sale_order_binding b JOIN sale_order s ON s.id = b.odoo_id "
                 "WHERE b.backend_id = %s AND s.state = 'sale'")
        count, _end = wait_count(query, (self.backends["steady"],), self.ours, n, label="steady orders")
        latencies = event_latencies(self.ours, [self.backends["steady"]])
        figures = {"orders": n, "confirmed": count, "offered_rate": rate, "statuses": statuses,
                   "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000}
        say("2. steady flow: %d of %d confirmed; acknowledgement to confirmed order p50 %.0f ms, p95 %.0f ms" % (
            count, n, figures["p50_ms"], figures["p95_ms"]))
        self.results.setdefault("processing", {})["steady"] = figures

    # ------------------------------------------------------------------ 5
    def peak_requests(self, n):
        """Return ``n`` signed order webhooks spread over the three peak backends (Shopify, WooCommerce, generic)."""
        reqs, sent = [], {"shopify": 0, "woocommerce": 0, "generic": 0}
        for i in range(n):
            lines = [{"sku": sku, "quantity": self.rng.randint(1, 3)}
                     for sku in self.rng.sample(self.catalogue, self.rng.randint(1, 3))]
            channel = ("shopify", "woocommerce", "generic")[i % 3]
            sent[channel] += 1
            if channel == "shopify":
                body, headers = signed_webhook(self.shop.place_order(notify=False, line_items=lines, shipping_lines=[]))
                path = "/retail/webhook/%d" % self.backends["peak_shopify"]
            elif channel == "woocommerce":
                order = self.woo.place_order(notify=False, lines=[dict(line, price="10.00") for line in lines],
                                             shipping_lines=[])
                body = json_bytes(order)
                headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
                           "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "created",
                           "X-WC-Webhook-Source": self.woo.url + "/", "X-WC-Webhook-ID": "1",
                           "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
                           "X-WC-Webhook-Signature": hmac_sha256_base64(WOO_HOOK_SECRET, body)}
                path = "/retail/webhook/%d" % self.backends["peak_woo"]
            else:
                order = self.generic.make_order(lines=[dict(line, price="10.00") for line in lines])
                body = json_bytes(order)
                headers = {"Content-Type": "application/json", "X-Retail-Topic": "orders/create",
                           "X-Retail-Event-Id": uuid.uuid4().hex,
                           "X-Retail-Signature": retail_signature(GENERIC_SECRET, body, int(time.time()))}
                path = "/retail/webhook/%d" % self.backends["peak_generic"]
            reqs.append(("POST", path, body, dict(headers, **{"X-Odoo-Database": self.ours})))
        return reqs, sent

    def bench_peak(self, server):
        """A flash sale: signed orders from three channels at a fixed rate above what the jobs drain."""
        n, rate = self.size["peak"], self.size["peak_rate"]
        backends = [self.backends[k] for k in ("peak_shopify", "peak_woo", "peak_generic")]
        say("5. peak: %d signed order webhooks from Shopify, WooCommerce and the generic channel at %.0f/s" % (n, rate))
        reqs, sent = self.peak_requests(n)
        started = time.time()
        statuses = fire_at_rate(self.port, reqs, rate)
        sent_seconds = time.time() - started
        events = ("SELECT count(*) FROM retail_event WHERE backend_id IN (%s) AND state NOT IN "
                  "('received', 'queued', 'processing')" % ",".join(str(b) for b in backends))
        settled, end = wait_count(events, (), self.ours, n, stall=120, label="peak events")
        memory = server.peak_memory()
        latencies = event_latencies(self.ours, backends)
        orders = psql(self.ours, "SELECT count(*) || ' ' || count(DISTINCT (backend_id, external_id)) FROM "
                                 "retail_sale_order_binding WHERE backend_id IN (%s)" % ",".join(str(b) for b in backends))
        bindings, distinct = (int(x) for x in orders.split())
        sales = int(psql(self.ours, "SELECT count(*) FROM sale_order s JOIN retail_sale_order_binding b ON b.odoo_id = s.id "
                                    "WHERE b.backend_id IN (%s) AND s.state = 'sale'" % ",".join(str(b) for b in backends)))
        states = psql(self.ours, "SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM retail_event "
                                 "WHERE backend_id IN (%s) GROUP BY state) x" % ",".join(str(b) for b in backends))
        non_2xx = sum(1 for s in statuses if s not in (200, 202))
        figures = {"webhooks": n, "offered_rate": rate, "sent_seconds": sent_seconds, "sent": sent,
                   "non_2xx": non_2xx, "statuses": {str(s): statuses.count(s) for s in set(statuses)},
                   "drain_seconds": end - started, "settled": settled, "sale_orders": sales, "bindings": bindings,
                   "distinct_orders": distinct, "duplicates": bindings - distinct, "events": states,
                   "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
                   "peak_worker_rss_mib": memory}
        say("5. peak: %d non-2xx; drained in %.0f s (sent in %.0f s); p95 acknowledgement to confirmed order %.1f s; "
            "%d sale orders, %d duplicates; peak worker memory %.0f MiB; events %s" % (
                non_2xx, figures["drain_seconds"], sent_seconds, figures["p95_ms"] / 1000, sales,
                figures["duplicates"], memory, states))
        self.results["peak"] = figures

    # ------------------------------------------------------------------ 3
    def inventory_skus(self):
        """The SKUs of benchmarks 3 and 6, on the three channels, made once per run."""
        if getattr(self, "_inventory_skus", None):
            return self._inventory_skus
        names = ["BENCH-%s-C-%03d" % (self.run_id, i) for i in range(self.size["skus"])]
        self.woo_ids = {}
        for sku in names:
            self.shop.add_variant(sku, "10.00", inventory=0)
            self.woo_ids[self.woo.add_product(sku, "10.00", stock=0, notify=False)["id"]] = sku
        self._inventory_skus = names
        return names

    def channel_levels(self, marks):
        """Return {channel: [(sku, quantity, unix time)]}: every stock level written since ``marks``."""
        # Shopify's own times are to the whole second: a write is timed by when the shop received it
        out = {"shopify": [(w["sku"], w["quantity"], w["written"])
                           for w in self.shop.inventory_writes[marks["shopify_writes"]:]],
               "woocommerce": [], "generic": []}
        for call in self.woo.calls.all()[marks["woocommerce"]:]:
            if call.method == "POST" and call.path.endswith("/batch") and call.status and call.status < 300:
                for item in (call.json() or {}).get("update") or []:
                    if int(item["id"]) in self.woo_ids and item.get("stock_quantity") is not None:
                        out["woocommerce"].append((self.woo_ids[int(item["id"])], int(item["stock_quantity"]), call.time))
        for call in self.generic.calls.all()[marks["generic"]:]:
            if call.method == "POST" and call.path == "/api/v1/stock/batch" and call.status and call.status < 300:
                for item in (call.json() or {}).get("items") or []:
                    out["generic"].append((item["sku"], int(item["quantity"]), call.time))
        return out

    def channel_calls(self, marks):
        """Return {channel: {operation: calls}} of the stock calls made since ``marks``."""
        shop = {}
        for call in self.shop.calls.all()[marks["shopify"]:]:
            query = (call.json() or {}).get("query") or ""
            match = re.search(r"\{\s*(\w+)", query)
            operation = match.group(1) if match else call.path
            if operation in INVENTORY_OPERATIONS:
                shop[operation] = shop.get(operation, 0) + 1
        woo, generic = {}, {}
        for call in self.woo.calls.all()[marks["woocommerce"]:]:
            if "/products" in call.path:
                key = "%s %s" % (call.method, "batch" if call.path.endswith("/batch") else "products")
                woo[key] = woo.get(key, 0) + 1
        for call in self.generic.calls.all()[marks["generic"]:]:
            if call.path.startswith("/api/v1/stock"):
                key = "%s %s" % (call.method, call.path)
                generic[key] = generic.get(key, 0) + 1
        return {"shopify": shop, "woocommerce": woo, "generic": generic}

    def generic_levels(self):
        """Return {sku: the last level the generic channel was sent}."""
        levels = {}
        for write in list(self.generic.stock_writes):
            levels[write["sku"]] = write["quantity"]
        return levels

    def channel_marks(self):
        return {"shopify": len(self.shop.calls.all()), "shopify_writes": len(self.shop.inventory_writes),
                "woocommerce": len(self.woo.calls.all()), "generic": len(self.generic.calls.all())}

    @staticmethod
    def reach_latencies(events, writes, reached):
        """Return, per (sku, unix time, level) event, the seconds until a write ``reached(quantity, level)``."""
        by_sku = {}
        for sku, quantity, at in writes:
            by_sku.setdefault(sku, []).append((at, quantity))
        out = []
        for sku, at, level in events:
            seen = [t for t, q in by_sku.get(sku, []) if t >= at and reached(q, level)]
            out.append((min(seen) - at) if seen else float("inf"))
        return out

    def bench_inventory(self):
        """Receipts at a fixed rate over many SKUs, sold by three backends: Shopify, WooCommerce, generic."""
        moves, skus, rate = self.size["moves"], self.size["skus"], self.size["move_rate"]
        backends = [self.backends[k] for k in ("inventory", "inventory_woo", "inventory_generic")]
        names = self.inventory_skus()
        figures = {}
        for mode in ("coalesced", "naive"):
            if mode == "naive":
                names = ["BENCH-%s-N-%03d" % (self.run_id, i) for i in range(skus)]
                for sku in names:
                    self.shop.add_variant(sku, "10.00", inventory=0)
            sequence = [names[i % skus] for i in range(moves)]
            self.rng.shuffle(sequence)
            involved = backends if mode == "coalesced" else backends[:1]
            # the products, and the policies: on for the coalesced run, off for the naive one
            run_task(self.ours, "moves", {"backend_ids": involved, "skus": names, "sequence": [],
                                          "naive": mode == "naive"}, env=self.env)
            marks = self.channel_marks()
            processes = 3
            start_at = time.time() + 3
            say("3. %s: %d moves over %d SKUs at %.0f/s (%d processes), %d backends" % (
                mode, moves, skus, rate, processes, len(involved)))
            wait = start_tasks(self.ours, "moves", [
                {"backend_ids": involved, "skus": names, "sequence": sequence, "naive": mode == "naive",
                 "rate": rate, "start_at": start_at, "offset": k, "step": processes, "set_mode": False}
                for k in range(processes)])
            results = wait()
            done = sorted((m for r in results for m in r["moves"]), key=lambda m: m[1])
            counts, events = {}, []
            for sku, at, _level, _i in done:
                counts[sku] = counts.get(sku, 0) + 1
                events.append((sku, at, counts[sku]))
            # the naive listener sends from the moves' own processes: nothing to wait for
            deadline = time.monotonic() + (120 if mode == "coalesced" else 0)
            while time.monotonic() < deadline and any(
                    self.shop.inventory_level(sku) != level for sku, level in counts.items()):
                time.sleep(0.25)
            time.sleep(2 if mode == "coalesced" else 0)
            writes = self.channel_levels(marks)
            calls = self.channel_calls(marks)
            per_channel = {}
            for channel in (("shopify", "woocommerce", "generic") if mode == "coalesced" else ("shopify",)):
                if mode == "naive":
                    latencies = [x for r in results for x in r["naive_latencies"]]
                else:
                    latencies = self.reach_latencies(events, writes[channel], lambda q, level: q >= level)
                final = {}
                for sku, quantity, _t in writes[channel]:
                    final[sku] = quantity
                n_calls = sum(calls[channel].values())
                per_channel[channel] = {
                    "channel_calls": n_calls, "calls_per_1000_moves": n_calls * 1000.0 / moves,
                    "calls_by_operation": calls[channel],
                    "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
                    "levels_behind": sum(1 for sku, level in counts.items() if final.get(sku) != level),
                }
                say("3. %s %-11s %4d calls (%.0f per 1 000 moves) %s, p50 %.0f ms, p95 %.0f ms, %d SKUs behind" % (
                    mode, channel, n_calls, per_channel[channel]["calls_per_1000_moves"], calls[channel],
                    per_channel[channel]["p50_ms"], per_channel[channel]["p95_ms"], per_channel[channel]["levels_behind"]))
            figures[mode] = dict(per_channel["shopify"], moves=moves, skus=skus, offered_rate=rate,
                                 retried_moves=sum(r["retries"] for r in results),
                                 late_moves=sum(r["late"] for r in results),
                                 late_p95_s=max(r["late_p95_s"] for r in results),
                                 seconds=done[-1][1] - done[0][1] if done else 0, channels=per_channel)
            say("3. %s: %d moves in %.1f s, %d retried, %d started behind their time (p95 %.2f s behind)" % (
                mode, moves, figures[mode]["seconds"], figures[mode]["retried_moves"], figures[mode]["late_moves"],
                figures[mode]["late_p95_s"]))
        self.results["inventory"] = figures

    # ------------------------------------------------------------------ 6
    def bench_sale_to_channels(self):
        """A sale on Shopify (its orders/create webhook) reaches the available to sell of the other channels."""
        n, rate = self.size["sales"], self.size["sale_rate"]
        names = self.inventory_skus()
        shop_backend = self.backends["inventory"]
        if "inventory" not in self.results:
            # stock to sell (what benchmark 3 leaves otherwise), not timed
            run_task(self.ours, "moves", {"backend_ids": [self.backends[k] for k in (
                "inventory", "inventory_woo", "inventory_generic")], "skus": names, "sequence": names * 3,
                "naive": False}, env=self.env)
            time.sleep(5)
        start_levels = self.generic_levels()
        marks = self.channel_marks()
        say("6. sale to every channel: %d Shopify orders/create webhooks at %.1f/s, one unit of one SKU each" % (n, rate))
        sold, events, statuses = dict.fromkeys(names, 0), [], []
        begun = time.time()
        for i in range(n):
            due = begun + i / rate
            if due > time.time():
                time.sleep(due - time.time())
            sku = self.rng.choice(names)
            payload = self.shop.place_order(notify=False, line_items=[{"sku": sku, "quantity": 1}], shipping_lines=[])
            body, headers = signed_webhook(payload)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("POST", "/retail/webhook/%d" % shop_backend, body=body,
                         headers=dict(headers, **{"X-Odoo-Database": self.ours, "Connection": "close"}))
            status = conn.getresponse().status
            acked = time.time()
            conn.close()
            statuses.append(status)
            sold[sku] += 1
            if start_levels.get(sku) is not None:
                events.append((sku, acked, start_levels[sku] - sold[sku]))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(
                self.generic_levels().get(sku) != start_levels[sku] - k
                for sku, k in sold.items() if k and start_levels.get(sku) is not None):
            time.sleep(0.25)
        time.sleep(2)
        writes = self.channel_levels(marks)
        figures = {"sales": n, "offered_rate": rate, "statuses": {str(s): statuses.count(s) for s in set(statuses)},
                   "channels": {}}
        for channel in ("woocommerce", "generic"):
            latencies = self.reach_latencies(events, writes[channel], lambda q, level: q <= level)
            figures["channels"][channel] = {"p50_ms": percentile(latencies, 50) * 1000,
                                            "p95_ms": percentile(latencies, 95) * 1000,
                                            "unreached": sum(1 for x in latencies if x == float("inf"))}
            say("6. %-11s p50 %.0f ms, p95 %.0f ms from the webhook's acknowledgement, %d not reached" % (
                channel, figures["channels"][channel]["p50_ms"], figures["channels"][channel]["p95_ms"],
                figures["channels"][channel]["unreached"]))
        figures["p95_ms"] = max(c["p95_ms"] for c in figures["channels"].values())
        figures["shopify_writes"] = len(writes["shopify"])  # the origin channel hears no echo of its own sale
        figures["pos"] = self.bench_pos_sales(names, n, rate)
        self.results["sale_to_channels"] = figures

    def bench_pos_sales(self, names, n, rate):
        """Store sales on a POS (Square: ``order.created``, ``order.updated`` completed, ``payment.updated``,
        each signed) reach the available to sell of the three other channels.

        The POS backend's store sells from the warehouse the inventory backends sell from; each sale is
        timed from the acknowledgement of its completed order's notification (the one that books it)."""
        say("6. store sales: %d sales of one unit on the POS (Square notifications) at %.1f/s" % (n, rate))
        setup = run_task(self.ours, "setup_pos", {
            "run": self.run_id, "location": SQUARE_LOCATION,
            "variations": {sku: self.pos.add_item(sku, "10.00") for sku in names},
            "values": {"backend_type": "square", "endpoint_url": self.pos.url, "api_secret": SQUARE_TOKEN,
                       "webhook_secret": SQUARE_KEY}}, env=self.env)
        self.pos.webhook_url = "http://127.0.0.1:%d/retail/webhook/%d" % (self.port, setup["backend"])
        start_levels = self.generic_levels()
        marks = self.channel_marks()
        sold, events, statuses = dict.fromkeys(names, 0), [], []
        begun = time.time()
        for i in range(n):
            due = begun + i / rate
            if due > time.time():
                time.sleep(due - time.time())
            sku = self.rng.choice(names)
            mark = len(self.pos.webhooks.all())
            order = self.pos.sell(SQUARE_LOCATION, [{"sku": sku, "quantity": 1}])
            [booking] = [d for d in self.pos.webhooks.all()[mark:]
                         if d.topic == "order.updated" and d.json()["data"]["id"] == order["id"]]
            statuses.extend(d.status for d in self.pos.webhooks.all()[mark:])
            sold[sku] += 1
            if booking.delivered and start_levels.get(sku) is not None:
                events.append((sku, booking.attempts[-1].time, start_levels[sku] - sold[sku]))
        expected = {sku: start_levels[sku] - k for sku, k in sold.items() if k and start_levels.get(sku) is not None}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(
                self.generic_levels().get(sku) != level or self.shop.inventory_level(sku) != level
                or self.woo.stock_of(sku) != level for sku, level in expected.items()):
            time.sleep(0.25)
        time.sleep(2)
        writes = self.channel_levels(marks)
        figures = {"sales": n, "offered_rate": rate, "statuses": {str(s): statuses.count(s) for s in set(statuses)},
                   "pos_orders": int(psql(self.ours, "SELECT count(*) FROM retail_pos_order_binding WHERE backend_id = %s",
                                          (setup["backend"],))),
                   "events": psql(self.ours, "SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n "
                                             "FROM retail_event WHERE backend_id = %s GROUP BY state) x",
                                  (setup["backend"],)),
                   "channels": {}}
        for channel in ("shopify", "woocommerce", "generic"):
            latencies = self.reach_latencies(events, writes[channel], lambda q, level: q <= level)
            figures["channels"][channel] = {"p50_ms": percentile(latencies, 50) * 1000,
                                            "p95_ms": percentile(latencies, 95) * 1000,
                                            "unreached": sum(1 for x in latencies if x == float("inf")),
                                            # what the channel was sent of a SKU whose sale never showed there
                                            "unreached_detail": [
                                                {"sku": sku, "sale_at": at, "level": level,
                                                 "writes": [(q, t) for k, q, t in writes[channel] if k == sku]}
                                                for (sku, at, level), x in zip(events, latencies) if x == float("inf")][:3]}
            say("6. POS sale -> %-11s p50 %.0f ms, p95 %.0f ms from the notification's acknowledgement, %d not reached" % (
                channel, figures["channels"][channel]["p50_ms"], figures["channels"][channel]["p95_ms"],
                figures["channels"][channel]["unreached"]))
        say("6. store sales: %d POS orders booked, notifications %s, events %s" % (
            figures["pos_orders"], figures["statuses"], figures["events"]))
        figures["p95_ms"] = max(c["p95_ms"] for c in figures["channels"].values())
        return figures

    # ------------------------------------------------------------------ 4
    def bench_reconcile(self):
        """Orders reconciliation at two sizes (1 in 100 missing in Odoo, 1 in 100 outdated), and at the larger
        one without the naive compare: time and memory must not grow with the number of orders."""
        results = {}
        seeded = 0
        for n in (self.size["reconcile"], self.size["reconcile_large"]):
            say("4. reconciliation: %d orders on the generic channel, 1 in 100 missing, 1 in 100 outdated in Odoo" % n)
            orders = self.generic.add_orders(n - seeded)
            bound = []
            for i, o in enumerate(orders):
                if i % 100 == 99:
                    continue  # missing in Odoo
                updated = o["updated_at"]
                if i % 100 == 49:  # outdated: Odoo saw an earlier version
                    updated = (datetime.fromisoformat(updated.replace("Z", "+00:00")).replace(microsecond=0)
                               .replace(year=2000)).isoformat().replace("+00:00", "Z")
                bound.append([o["external_id"], updated])
            run_task(self.ours, "seed_bindings", {"backend_id": self.backends["reconcile"], "orders": bound}, env=self.env)
            seeded = n
            result = run_task(self.ours, "reconcile", {"backend_id": self.backends["reconcile"],
                                                       "naive": n == self.size["reconcile"]}, env=self.env)
            result["orders"], result["missing"], result["outdated"] = n, n // 100, n // 100
            for side in ("ours", "naive"):
                r = result.get(side)
                if r:
                    say("4. %-6s %6d orders %6.1f s, peak %6.1f MiB (tracemalloc), %s" % (
                        side, n, r["seconds"], r["peak_bytes"] / 2**20,
                        {k: v for k, v in r.items() if k not in ("seconds", "peak_bytes")}))
            results[n] = result
        self.results["reconcile"] = dict(results[self.size["reconcile"]], large=results[self.size["reconcile_large"]])
        self.bench_reconcile_catalogue()

    def bench_reconcile_catalogue(self):
        """Stock and price reconciliations of many SKUs on the generic channel (1 in 100 drifting), beside a naive
        compare looking each SKU up on its own: time, peak memory, channel calls."""
        n, backend = self.size["reconcile_skus"], self.backends["reconcile"]
        skus = ["BENCH-RS-%05d" % i for i in range(n)]
        say("4. stock and price reconciliation: %d SKUs, 1 in 100 drifting on the channel" % n)
        seed = run_task(self.ours, "seed_catalogue", {"backend_id": backend, "skus": skus, "quantity": 5,
                                                      "price": 10.0}, env=self.env)
        for i, sku in enumerate(skus):
            self.generic.set_stock_level(sku, seed["location"], 4 if i % 100 == 7 else 5, notify=False)
            self.generic.set_price(sku, "9.00" if i % 100 == 13 else "10.00", seed["currency"])
        for kind, label in (("inventory", "stock"), ("pricing", "prices")):
            figures = {"skus": n, "drifting": n // 100}
            for side in ("ours", "naive"):
                mark = len(self.generic.calls.all())
                figures[side] = run_task(self.ours, "reconcile_catalogue", {"backend_id": backend, "kind": kind,
                                                                            "naive": side == "naive"}, env=self.env)
                # measured twice (timed, then traced): half the calls are one reconciliation's
                figures[side]["channel_calls"] = (len(self.generic.calls.all()) - mark) / 2
                say("4. %s %-6s %6.1f s, peak %6.1f MiB, %g channel calls, %s" % (
                    label, side, figures[side]["seconds"], figures[side]["peak_bytes"] / 2**20,
                    figures[side]["channel_calls"],
                    {k: v for k, v in figures[side].items() if k not in ("seconds", "peak_bytes", "channel_calls")}))
            self.results["reconcile_" + label] = figures

    # ------------------------------------------------------------------ 7
    def bench_onboarding(self):
        """A shop's whole catalogue brought into Odoo by the catalogue onboarding (tests/bench/onboarding.py)."""
        from bench.onboarding import bench_onboarding  # noqa: PLC0415

        variants = self.size["onboarding"]
        say("7. catalogue onboarding: a Shopify shop of %d variants, dry run then import" % variants)
        self.results["onboarding"] = bench_onboarding("http://127.0.0.1:%d" % self.port, self.ours, variants=variants,
                                                      say=lambda text: say("7. " + text))

    # ------------------------------------------------------------------ run
    def run(self):
        only = set(self.ns.only.split(",")) if self.ns.only else {"1", "2", "3", "4", "5", "6", "7"}
        self.setup()
        dbs = [self.ours] + ([] if self.ns.no_oca else [self.oca])
        self.server_log = LOG_DIR / "bench-server.log"
        try:
            if only & {"1", "2"}:
                with Server(dbs, self.port, runner=False, env=self.env):
                    if "1" in only:
                        self.bench_ingest()
                    self.clear_ingest_jobs()
                    if "2" in only:
                        self.post_orders()
            if only & {"1", "2", "3", "5", "6", "7"}:
                offset = self.server_log.stat().st_size if self.server_log.exists() else 0
                with Server([self.ours], self.port, env=self.env) as server:
                    if "2" in only:
                        self.bench_processing_ours(server.launched, offset)
                        self.bench_steady()
                    if "3" in only:
                        self.bench_inventory()
                    if "6" in only:
                        self.bench_sale_to_channels()
                    if "5" in only:
                        self.bench_peak(server)
                    if "7" in only:
                        self.bench_onboarding()
            if "1" in only:
                # the jobs of these acknowledgements go on after the measure; they run in a job tier
                # at a lower CPU priority than the server that answers the channels (README: deployment)
                with Server(dbs, self.port, runner=False, env=self.env), \
                        Server([self.ours], self.job_tier_port, env=self.env, workers=JOB_TIER_WORKERS,
                               nice=JOB_TIER_NICE, log="bench-job-tier.log"):
                    self.bench_ingest_runner_on()
            if "2" in only:
                self.bench_processing_orm()
                if not self.ns.no_oca:
                    with Server([self.oca], self.port, env=self.env) as server:
                        self.bench_processing_oca(server.launched)
            if "4" in only:
                self.bench_reconcile()
        finally:
            self.shop.stop()
            self.generic.stop()
            self.woo.stop()
            self.pos.stop()
            shutil.rmtree(self.certdir, ignore_errors=True)
        self.report()

    def report(self):
        r = self.results
        rows = []

        def ratio(a, b):
            return "%.2f" % (a / b) if a and b else "n/a"

        if "ingest" in r:
            i = r["ingest"]
            oca = i.get("oca")
            rows.append(("1 ingest acks/s, runner off", "%.0f" % i["ours"]["rate"],
                         "%.0f (durable floor)" % i["floor"]["rate"], ratio(i["ours"]["rate"], i["floor"]["rate"]),
                         "%.0f" % oca["rate"] if oca else "-", ratio(i["ours"]["rate"], oca["rate"]) if oca else "-"))
            for p in ("p50_ms", "p99_ms"):
                rows.append(("1 ingest %s, runner off" % p.replace("_", " "), "%.1f" % i["ours"][p],
                             "%.1f" % i["floor"][p], ratio(i["ours"][p], i["floor"][p]),
                             "%.1f" % oca[p] if oca else "-", ratio(i["ours"][p], oca[p]) if oca else "-"))
            rows.append(("1 ingest acks/s beside /web/health", "%.0f" % i["ours"]["rate"],
                         "%.0f (/web/health)" % i["health"]["rate"], ratio(i["ours"]["rate"], i["health"]["rate"]),
                         "-", "-"))
            if "ours_runner" in i:
                rows.append(("1 ingest acks/s, runner on", "%.0f" % i["ours_runner"]["rate"],
                             "%.0f (durable floor)" % i["floor_runner"]["rate"],
                             ratio(i["ours_runner"]["rate"], i["floor_runner"]["rate"]), "-", "-"))
                rows.append(("1 ingest p99 ms, runner on", "%.1f" % i["ours_runner"]["p99_ms"],
                             "%.1f" % i["floor_runner"]["p99_ms"],
                             ratio(i["ours_runner"]["p99_ms"], i["floor_runner"]["p99_ms"]), "-", "-"))
        if "processing" in r and "ours" in r["processing"]:
            p = r["processing"]
            oca, orm = p.get("oca"), p.get("orm")
            rows.append(("2 orders confirmed/s", "%.1f" % p["ours"]["rate"],
                         "%.1f (raw ORM)" % orm["rate"] if orm else "-", ratio(p["ours"]["rate"], orm["rate"]) if orm else "-",
                         ("%.1f (%d/%d)" % (oca["rate"], oca["confirmed"], oca["of"])) if oca else "-",
                         ratio(p["ours"]["rate"], oca["rate"]) if oca and oca["rate"] else "n/a" if oca else "-"))
            if orm:
                rows.append(("2 SQL queries per order", "%.0f" % p["ours"]["queries_per_order"],
                             "%.0f (raw ORM)" % orm["queries_per_order"],
                             ratio(p["ours"]["queries_per_order"], orm["queries_per_order"]), "-", "-"))
            if "steady" in p:
                st = p["steady"]
                rows.append(("2 p95 ack -> confirmed (ms) at %.0f/s" % st["offered_rate"], "%.0f" % st["p95_ms"],
                             "-", "-", "-", "-"))
        if "peak" in r:
            k = r["peak"]
            rows.append(("5 peak: %d webhooks at %.0f/s, non-2xx" % (k["webhooks"], k["offered_rate"]),
                         "%d" % k["non_2xx"], "-", "-", "-", "-"))
            rows.append(("5 peak: time to drain (s)", "%.0f" % k["drain_seconds"],
                         "%.0f (sending)" % k["sent_seconds"], ratio(k["drain_seconds"], k["sent_seconds"]), "-", "-"))
            rows.append(("5 peak: p95 ack -> confirmed (s)", "%.1f" % (k["p95_ms"] / 1000), "-", "-", "-", "-"))
            rows.append(("5 peak: sale orders / duplicates", "%d / %d" % (k["sale_orders"], k["duplicates"]),
                         "%d orders sent" % k["webhooks"], "-", "-", "-"))
            rows.append(("5 peak: worker memory (MiB)", "%.0f" % k["peak_worker_rss_mib"], "-", "-", "-", "-"))
        if "inventory" in r:
            c, n = r["inventory"]["coalesced"], r["inventory"]["naive"]
            for channel, f in c["channels"].items():
                rows.append(("3 %s calls / 1 000 moves (%d at %.0f/s)" % (channel, c["moves"], c["offered_rate"]),
                             "%.0f" % f["calls_per_1000_moves"], "%.0f (call per move)" % n["calls_per_1000_moves"],
                             ratio(f["calls_per_1000_moves"], n["calls_per_1000_moves"]), "-", "-"))
                rows.append(("3 %s p95 move -> channel (ms)" % channel, "%.0f (p50 %.0f)" % (f["p95_ms"], f["p50_ms"]),
                             "%.0f" % n["p95_ms"], ratio(f["p95_ms"], n["p95_ms"]), "-", "-"))
        if "sale_to_channels" in r:
            k = r["sale_to_channels"]
            for channel, f in k["channels"].items():
                rows.append(("6 Shopify sale -> %s p95 (ms)" % channel, "%.0f (p50 %.0f)" % (f["p95_ms"], f["p50_ms"]),
                             "-", "-", "-", "-"))
            for channel, f in (k.get("pos") or {}).get("channels", {}).items():
                rows.append(("6 POS sale -> %s p95 (ms)" % channel, "%.0f (p50 %.0f)" % (f["p95_ms"], f["p50_ms"]),
                             "-", "-", "-", "-"))
        if "reconcile" in r:
            o, n = r["reconcile"]["ours"], r["reconcile"]["naive"]
            rows.append(("4 reconcile %d orders (s)" % r["reconcile"]["orders"], "%.1f" % o["seconds"],
                         "%.1f (naive compare)" % n["seconds"], ratio(o["seconds"], n["seconds"]), "-", "-"))
            rows.append(("4 peak memory (MiB)", "%.1f" % (o["peak_bytes"] / 2**20),
                         "%.1f" % (n["peak_bytes"] / 2**20), ratio(o["peak_bytes"], n["peak_bytes"]), "-", "-"))
            large = r["reconcile"].get("large")
            if large:
                rows.append(("4 reconcile %d orders (s)" % large["orders"], "%.1f" % large["ours"]["seconds"],
                             "-", "-", "-", "-"))
                rows.append(("4 peak memory at %d orders (MiB)" % large["orders"],
                             "%.1f" % (large["ours"]["peak_bytes"] / 2**20),
                             "%.1f (at %d)" % (o["peak_bytes"] / 2**20, r["reconcile"]["orders"]),
                             ratio(large["ours"]["peak_bytes"], o["peak_bytes"]), "-", "-"))
        for kind in ("stock", "prices"):
            if "reconcile_" + kind in r:
                k = r["reconcile_" + kind]
                o, n = k["ours"], k["naive"]
                rows.append(("4 reconcile %s of %d SKUs (s)" % (kind, k["skus"]), "%.1f" % o["seconds"],
                             "%.1f (naive compare)" % n["seconds"], ratio(o["seconds"], n["seconds"]), "-", "-"))
                rows.append(("4 %s peak memory (MiB)" % kind, "%.1f" % (o["peak_bytes"] / 2**20),
                             "%.1f" % (n["peak_bytes"] / 2**20), ratio(o["peak_bytes"], n["peak_bytes"]), "-", "-"))
        if "onboarding" in r:
            b = r["onboarding"]
            for phase in ("dry_run", "import"):
                if phase in b:
                    f = b[phase]
                    rows.append(("7 onboarding %d Shopify variants, %s (s)" % (b["variants"], phase.replace("_", " ")),
                                 "%.1f" % f["seconds"], "%s variants/s, %s pages" % (f["variants_per_second"], f["pages"]),
                                 "-", "-", "-"))
        header = ("benchmark", "ours", "baseline", "ours/baseline", "OCA", "ours/OCA")
        widths = [max(len(str(row[k])) for row in rows + [header]) for k in range(len(header))]
        print()
        print("Machine: %s, %d cores, %s; %s; size %s; load average %s" % (
            platform.node(), os.cpu_count(), platform.python_version(),
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), r["size"],
            " ".join("%.2f" % x for x in os.getloadavg())))
        for row in [header] + rows:
            print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
        out = LOG_DIR / "bench-results.json"
        out.write_text(json.dumps(r, indent=2, default=str))
        print("\nAll figures: %s" % out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small size, for a smoke run")
    parser.add_argument("--only", help="comma-separated benchmark numbers (1,2,3,4,5,6,7)")
    parser.add_argument("--no-oca", action="store_true", help="skip OCA's shopify_connector")
    parser.add_argument("--fresh", action="store_true", help="recreate the benchmark databases")
    parser.add_argument("--db-prefix", default=os.environ.get("RC_BENCH_DB", "rc_bench"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RC_BENCH_PORT", "0")),
                        help="Odoo's HTTP port (the next one for gevent, the four after for the simulators)")
    Bench(parser.parse_args(argv)).run()


if __name__ == "__main__":
    main()
