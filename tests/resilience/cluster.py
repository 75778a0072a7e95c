"""Odoo server processes the resilience suite starts, kills and restarts itself.

A ``OdooNode`` is one Odoo server (prefork: HTTP workers, a cron worker, the gevent worker and,
unless disabled, the queue_job job runner) on its own ports and database, in its own process
group so that the whole server can be killed at once. ``clone_database`` gives each suite a
database of its own, copied from the one the session's server uses. ``RoundRobinProxy`` is the
smallest load balancer: each new connection goes to the next node.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from itertools import count, cycle
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("RETAIL_CONNECTOR_CACHE") or Path.home() / ".cache" / "retail-connector")
ODOO_SRC = Path(os.environ.get("RC_ODOO_SRC") or CACHE / "odoo-19.0")
RUN_DIR = ROOT / ".run"

_ports = None
_port_lock = threading.Lock()


def free_port():
    """Return a free TCP port: from RC_RESILIENCE_PORTS (``first-last``) when set, else any."""
    global _ports
    span = os.environ.get("RC_RESILIENCE_PORTS")
    with _port_lock:
        if span:
            if _ports is None:
                first, last = (int(p) for p in span.split("-"))
                _ports = cycle(range(first, last + 1))
            for _ in range(64):
                port = next(_ports)
                if _port_is_free(port):
                    return port
            raise RuntimeError(f"no free port in RC_RESILIENCE_PORTS={span}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# --------------------------------------------------------------------------- databases

def pg_connect(db):
    """Return an autocommit psycopg2 connection to ``db`` (PG* variables apply)."""
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    return conn


def query(db, sql, args=None):
    """Return the rows of one query on ``db``, run on a fresh connection."""
    conn = pg_connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute(sql, args)
            return cr.fetchall() if cr.description else []
    finally:
        conn.close()


def drop_database(db):
    subprocess.run(["dropdb", "--if-exists", "--force", db], check=False, capture_output=True)
    filestore = CACHE / "data" / "filestore" / db
    if filestore.is_dir():
        subprocess.run(["rm", "-rf", str(filestore)], check=False)


def clone_database(source, target):
    """Create ``target`` as a copy of ``source`` and its filestore.

    ``createdb -T`` when nobody is connected to the source, else a dump piped into a new
    database (the session's server stays connected to its database while this runs).
    """
    drop_database(target)
    done = subprocess.run(["createdb", "-T", source, target], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["createdb", target], check=True, capture_output=True)
        dump = subprocess.Popen(["pg_dump", "--no-owner", source], stdout=subprocess.PIPE)
        restore = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target],
                                 stdin=dump.stdout, capture_output=True, text=True)
        dump.stdout.close()
        if dump.wait() != 0 or restore.returncode != 0:
            raise RuntimeError(f"cannot copy database {source} to {target}: {restore.stderr[-2000:]}")
    store = CACHE / "data" / "filestore" / source
    if store.is_dir():
        subprocess.run(["cp", "-a", str(store), str(CACHE / "data" / "filestore" / target)], check=True)
    # the copy must not start the session's scheduled actions nor its pending jobs again
    query(target, "UPDATE queue_job SET state = 'done' WHERE state NOT IN ('done', 'cancelled', 'failed')")


# --------------------------------------------------------------------------- one server

class OdooNode:
    """One Odoo server process tree on ``db``: start, wait, kill a worker, kill all, restart."""

    _names = count(1)

    def __init__(self, db, *, name=None, workers=2, runner=True, runner_port=None, cron=1, extra_env=None):
        self.db = db
        self.name = name or f"node{next(self._names)}"
        self.workers = workers
        self.runner = runner
        self.runner_port = runner_port
        self.cron = cron
        self.extra_env = dict(extra_env or {})
        self.http_port = free_port()
        self.gevent_port = free_port()
        self.proc: subprocess.Popen | None = None
        RUN_DIR.mkdir(exist_ok=True)
        self.logfile = RUN_DIR / f"resilience-{db}-{self.name}.log"
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def command(self):
        return [
            sys.executable, str(ODOO_SRC / "odoo-bin"), "-c", str(ROOT / "odoo.conf"),
            f"--addons-path={ROOT / 'addons'},{ODOO_SRC / 'addons'}", f"--data-dir={CACHE / 'data'}",
            "-d", self.db, f"--db-filter=^{self.db}$", f"--http-port={self.http_port}",
            f"--gevent-port={self.gevent_port}", f"--workers={self.workers}", f"--max-cron-threads={self.cron}",
            f"--logfile={self.logfile}",
        ]

    def environ(self):
        env = dict(os.environ, **self.extra_env)
        if not self.runner:
            # queue_job's documented switch: a root channel of capacity 0 starts no job runner
            env["ODOO_QUEUE_JOB_CHANNELS"] = "root:0"
        if self.runner_port:
            env["ODOO_QUEUE_JOB_HOST"] = "127.0.0.1"
            env["ODOO_QUEUE_JOB_PORT"] = str(self.runner_port)
        return env

    def start(self, timeout=120):
        """Start the server and return once it answers /web/health."""
        self.proc = subprocess.Popen(self.command(), env=self.environ(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo {self.name} exited with {self.proc.returncode}: see {self.logfile}")
            try:
                if requests.get(self.url + "/web/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Odoo {self.name} did not answer within {timeout}s: see {self.logfile}")

    def stop(self, timeout=30):
        """Stop the server gracefully (SIGTERM), killing it when it lingers."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
        except ProcessLookupError:
            pass

    def kill_all(self):
        """SIGKILL the whole server: master, HTTP workers, cron, gevent and the job runner."""
        if not self.proc:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def children(self):
        """Return the pids of the server's worker processes."""
        if not self.proc:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def owns(self, pid):
        return pid in self.children()

    def kill_worker(self, pid):
        """SIGKILL one worker of this server (the master spawns a new one)."""
        if not self.owns(pid):
            raise ValueError(f"process {pid} is not a worker of {self.name}")
        os.kill(pid, signal.SIGKILL)

    def log_text(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


# --------------------------------------------------------------------------- load balancer

class RoundRobinProxy:
    """A TCP load balancer on loopback: each new connection goes to the next backend port."""

    def __init__(self, ports):
        self.ports = list(ports)
        self._next = cycle(self.ports)
        self._lock = threading.Lock()
        self.port = free_port()
        self.connections = {port: 0 for port in self.ports}
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(128)
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self._stopping:
            try:
                client, _addr = self._sock.accept()
            except OSError:
                return
            with self._lock:
                port = next(self._next)
                self.connections[port] += 1
            threading.Thread(target=self._serve, args=(client, port), daemon=True).start()

    def _serve(self, client, port):
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=300)
        except OSError:
            client.close()
            return
        pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        pump.start()
        _pipe(client, upstream)
        pump.join(300)

    def close(self):
        self._stopping = True
        self._sock.close()


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
