"""X12 warehouse simulator: a 3PL's SFTP drop on loopback, playing the warehouse's side of X12 EDI.

The drop is a real SFTP server (asyncssh, password or public key authentication) on
127.0.0.1 with a random free port, rooted in a temporary directory, running in a background
thread with its own asyncio loop. Folders, named from the warehouse's side as 3PLs do::

    /in           the depositor's files for the warehouse: 940, 943, and 997 answering ours
    /out          the warehouse's files for the depositor: 997, 945, 944, 846
    /archive      /quarantine      for the depositor's own housekeeping

The warehouse picks up every complete file that lands in ``/in`` (hidden names and
``.part``/``.tmp`` uploads are ignored; a file must keep the same size between two scans),
moves it out of the drop and answers each functional group with a 997: accepted, or
rejected with AK3/AK4/AK5/AK9 codes when the file is malformed. An accepted 940 becomes an
order to ship (a 940 with W05-01 ``F`` cancels it, one with ``G`` changes its ship-to while nothing
has shipped), an accepted 943 an expected receipt; a 997 from the depositor is recorded in
``acks_received``. Then, after ``auto_ship``/``auto_receive`` seconds or on demand through
``ship()``, ``receive()`` and ``publish_inventory()``, it writes 945, 944 and 846 files into
``/out`` (atomically: written aside, then renamed in).

Faults (``inject(name, times=1)``), each consumed by the next file they apply to:

    no_ack               the next received file gets no 997
    duplicate            the next 945/944/846 is written twice, same content, two file names
    bad_segment_count    SE01 of the next document is off by one
    bad_group_count      GE01 of the next document is off by one
    bad_control_number   IEA02 of the next document differs from its ISA13
    missing_element      a mandatory element is left empty (945 W12-01, 944 W07-01, 846 LIN-03)
    truncated_isa        the ISA of the next document is not padded to its fixed 106 characters
    n1_without_name      a syntax slip seen in published 945s: the next document gets an
                         ``N1*SF***<warehouse id>`` with neither N102 nor N103 (N1 syntax notes
                         R0203, P0304), its content still complete

The warehouse writes release ``version`` (``004010``: ISA11 ``U``, ISA12 00401, GS08 004010;
``005010``: ISA11 ``^``, ISA12 00501, GS08 005010). An interchange it receives with ISA15
``T`` (test) is checked and acknowledged like any other, and recorded in
``test_interchanges``, but its orders are not booked: nothing ships from a test.

Every file seen and written is recorded (``received``, ``written``), with the SFTP
operations of the client (``operations``). The simulator has its own small X12 reader and
writer and never imports product code, so that it cannot share the connector's assumptions.

For the demo, from the ``tests/`` directory::

    python -m simulators.x12_warehouse --port 2222 --user wms --password secret --auto-ship 5

Served that way, the drop's host key is the fixed demo key (``demo_host_key()``), whose
fingerprint the demo backend trusts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import logging
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import asyncssh

logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per SFTP call otherwise

__all__ = ["FAULTS", "FileRecord", "X12Warehouse", "main", "read_x12", "write_x12"]

FAULTS = ("no_ack", "duplicate", "bad_segment_count", "bad_group_count", "bad_control_number", "missing_element",
          "truncated_isa", "n1_without_name")
RELEASES = {"004010": ("U", "00401"), "005010": ("^", "00501")}
DOCUMENT_KINDS = ("945", "944", "846")
FOLDERS = {"in": "/in", "out": "/out", "archive": "/archive", "quarantine": "/quarantine"}
GROUP_OF = {"940": "OW", "943": "AR", "997": "FA", "945": "SW", "944": "RE", "846": "IB"}
ACCEPTS = ("940", "943", "997")
MISSING_ELEMENT = {"945": ("W12", 1), "944": ("W07", 1), "846": ("LIN", 3), "997": ("AK9", 1)}
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


# --------------------------------------------------------------------------- a small X12 writer and reader

def write_x12(sender: str, receiver: str, set_id: str, bodies: list[list[list[str]]], *, icn: int, gcn: int,
              first_st: int, when: datetime, separators=("*", ">", "~"), newline: bool = True,
              faults: tuple = (), version: str = "004010", usage: str = "P") -> str:
    """Return an interchange of one group holding one transaction set per body (lists of elements).

    ``faults`` names the malformations to apply (see the module docstring); ``version`` is the
    release (004010 or 005010) and ``usage`` ISA15 (P production, T test).
    """
    isa11, isa12 = RELEASES[version]
    el, sub, term = separators
    sender_field = sender if "truncated_isa" in faults else sender.ljust(15)
    receiver_field = receiver if "truncated_isa" in faults else receiver.ljust(15)
    rows = [["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender_field, "ZZ", receiver_field,
             when.strftime("%y%m%d"), when.strftime("%H%M"), isa11, isa12, f"{icn:09d}", "0", usage, sub],
            ["GS", GROUP_OF[set_id], sender, receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), str(gcn), "X",
             version]]
    for offset, body in enumerate(bodies):
        control = f"{first_st + offset:04d}"
        body = [list(segment) for segment in body]
        if "missing_element" in faults and set_id in MISSING_ELEMENT:
            wanted, number = MISSING_ELEMENT[set_id]
            for segment in body:
                if segment[0] == wanted and len(segment) > number:
                    segment[number] = ""
                    break
        if "n1_without_name" in faults:
            seen_party = False
            at = len(body)
            for index, segment in enumerate(body):
                if segment[0] == "N1":
                    seen_party = True
                elif seen_party and segment[0] not in ("N2", "N3", "N4", "PER"):
                    at = index
                    break
            body.insert(at, ["N1", "SF", "", "", sender[:80]])
        count = len(body) + 2 + (1 if "bad_segment_count" in faults else 0)
        rows += [["ST", set_id, control], *body, ["SE", str(count), control]]
    rows.append(["GE", str(len(bodies) + (1 if "bad_group_count" in faults else 0)), str(gcn)])
    rows.append(["IEA", "1", f"{icn + 1 if 'bad_control_number' in faults else icn:09d}"])
    end = term + ("\n" if newline else "")
    lines = []
    for row in rows:
        while len(row) > 1 and row[-1] == "" and row[0] != "ISA":
            row.pop()
        lines.append(el.join(row) + end)
    return "".join(lines)


@dataclass
class Parsed:
    """What the reader found: delimiters, the envelope, groups of transaction sets and problems."""

    separators: tuple = ("*", ">", "~")
    isa: list = field(default_factory=list)
    iea: list | None = None
    groups: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def read_x12(text: str) -> Parsed:
    """Return the parsed interchange; problems that break the envelope are listed in ``problems``."""
    parsed = Parsed()
    text = text.lstrip("\ufeff \r\n\t")
    if not text.startswith("ISA") or len(text) < 106:
        parsed.problems.append("no complete ISA segment")
        return parsed
    el = text[3]
    positions = [i for i, c in enumerate(text[:106]) if c == el]
    expected = [3 + sum(w + 1 for w in ISA_WIDTHS[:i]) for i in range(16)]
    if positions[:16] != expected:
        parsed.problems.append("the ISA is not fixed-width (106 characters)")
        return parsed
    sub, term = text[104], text[105]
    parsed.separators = (el, sub, term)
    rows = [chunk.strip("\r\n").split(el) for chunk in text.split(term)]
    rows = [row for row in rows if row != [""]]
    parsed.isa = rows[0]
    group = None
    transaction = None
    for position, row in enumerate(rows[1:], 2):
        tag = row[0]
        if tag == "GS":
            group = {"gs": row, "ge": None, "transactions": []}
            parsed.groups.append(group)
        elif tag == "GE" and group is not None:
            group["ge"] = row
            group = None
        elif tag == "ST" and group is not None:
            transaction = {"st": row, "se": None, "body": [], "position": position}
            group["transactions"].append(transaction)
        elif tag == "SE" and transaction is not None:
            transaction["se"] = row
            transaction = None
        elif tag == "IEA":
            parsed.iea = row
        elif transaction is not None:
            transaction["body"].append(row)
        else:
            parsed.problems.append(f"segment {position} ({tag}) is outside a transaction set")
    if parsed.iea is None:
        parsed.problems.append("IEA missing")
    elif _el(parsed.iea, 2) != _el(parsed.isa, 13):
        parsed.problems.append("IEA02 does not match ISA13")
    return parsed


def _el(row: list, number: int) -> str:
    return row[number] if len(row) > number else ""


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text) if re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", text or "") else None
    except InvalidOperation:
        return None


def _qty(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- records

@dataclass
class FileRecord:
    """One file the warehouse picked up (``direction`` "in") or wrote ("out")."""

    time: float
    direction: str
    name: str
    kind: str
    data: bytes
    status: str = ""
    interchange: str = ""
    groups: list = field(default_factory=list)
    note: str = ""
    faults: tuple = ()

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass
class Operation:
    """One SFTP request of the client: what, on which path(s), when."""

    time: float
    op: str
    path: str
    target: str = ""


# --------------------------------------------------------------------------- SSH / SFTP server

class _SshServer(asyncssh.SSHServer):
    def __init__(self, simulator: X12Warehouse):
        self.simulator = simulator

    def begin_auth(self, username: str) -> bool:
        self.simulator._log_op("auth-begin", username)
        keys = self.simulator._authorized_keys
        if keys is not None and username == self.simulator.username:
            self._conn.set_authorized_keys(keys)
        return True

    def connection_made(self, conn):
        self._conn = conn
        self.simulator._connections.add(conn)

    def connection_lost(self, exc):
        self.simulator._connections.discard(self._conn)

    def password_auth_supported(self) -> bool:
        return self.simulator.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        ok = username == self.simulator.username and password == self.simulator.password
        self.simulator._log_op("auth-password", username, "ok" if ok else "refused")
        return ok

    def public_key_auth_supported(self) -> bool:
        return self.simulator._authorized_keys is not None


class _SftpServer(asyncssh.SFTPServer):
    simulator: X12Warehouse

    def __init__(self, chan):
        super().__init__(chan, chroot=str(self.simulator.root))

    def open(self, path, pflags, attrs):
        mode = "write" if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT) else "read"
        self.simulator._log_op(f"open-{mode}", path)
        return super().open(path, pflags, attrs)

    def rename(self, oldpath, newpath):
        self.simulator._log_op("rename", oldpath, newpath)
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        self.simulator._log_op("posix-rename", oldpath, newpath)
        return super().posix_rename(oldpath, newpath)

    def remove(self, path):
        self.simulator._log_op("remove", path)
        return super().remove(path)


# --------------------------------------------------------------------------- the warehouse

class X12Warehouse:
    """A 3PL warehouse behind an SFTP drop, speaking X12 004010 (see the module docstring)."""

    name = "x12-warehouse"

    def __init__(self, *, username: str = "depositor", password: str | None = "drop-secret",
                 host: str = "127.0.0.1", port: int = 0, client_keys: list[str] | None = None,
                 warehouse_id: str = "3PLWHSE", partner_id: str = "RETAILCO", warehouse_name: str = "Simulated 3PL",
                 auto_ship: float | None = None, ship_fraction: float = 1.0, auto_receive: float | None = None,
                 damage_rate: float = 0.0, stock: dict | None = None, carrier: str = "UPSN",
                 service: str = "GROUND", lots: bool = False, serials: bool = False,
                 separators: tuple = ("*", ">", "~"), newline: bool = True, control_start: int = 1,
                 poll_interval: float = 0.05, clock=None, root: str | Path | None = None, verbose: bool = False,
                 host_key=None, version: str = "004010"):
        """Describe the warehouse; ``start()`` (or ``with``) serves it.

        ``auto_ship``/``auto_receive``: seconds after an accepted 940/943 before the 945/944 is
        written (None: only on demand). ``ship_fraction`` ships that fraction of each line
        (rounded down) when shipping automatically, for partial shipments; ``damage_rate``
        reports that fraction of each received line as damaged. ``stock`` (SKU -> quantity)
        limits what ships and is what ``publish_inventory()`` reports; SKUs not listed are
        unlimited. ``lots``/``serials`` add generated lot and serial numbers to 945 lines.
        ``client_keys`` (OpenSSH public keys) enables public key authentication. ``host_key``
        (an asyncssh key or OpenSSH private key text) is the server's host key; by default a new
        one is generated at each start. ``host_key_fingerprint`` is its SHA256 fingerprint once
        started. Every authentication attempt is recorded in ``operations`` as ``auth-begin``.
        ``version`` is the X12 release the warehouse writes (004010 or 005010).
        """
        if version not in RELEASES:
            raise ValueError(f"unknown X12 release {version!r}: use one of {', '.join(RELEASES)}")
        self.version = version
        self.test_interchanges: list[str] = []
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.warehouse_id = warehouse_id
        self.partner_id = partner_id
        self.warehouse_name = warehouse_name
        self.auto_ship = auto_ship
        self.ship_fraction = ship_fraction
        self.auto_receive = auto_receive
        self.damage_rate = damage_rate
        self.carrier = carrier
        self.service = service
        self.lots = lots
        self.serials = serials
        self.separators = tuple(separators)
        self.newline = newline
        self.poll_interval = poll_interval
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.verbose = verbose
        self.paths = dict(FOLDERS)
        self.stock: dict[str, Decimal] = {k: Decimal(str(v)) for k, v in (stock or {}).items()}
        self.damaged_stock: dict[str, Decimal] = {}
        self.orders: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.received: list[FileRecord] = []
        self.written: list[FileRecord] = []
        self.operations: list[Operation] = []
        self.acks_received: dict[str, str] = {}
        self.host_key_fingerprint = ""
        self._client_keys = client_keys
        self._host_key = asyncssh.import_private_key(host_key) if isinstance(host_key, (str, bytes)) else host_key
        self._authorized_keys = None
        self._icn = itertools.count(control_start)
        self._gcn = itertools.count(control_start)
        self._st = itertools.count(control_start)
        self._faults: list[list] = []
        self._lock = threading.RLock()
        self._seen: dict[str, tuple] = {}
        self._own_root = root is None
        self._base = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="x12-warehouse-"))
        self.root = self._base / "sftp"
        self._work = self._base / "work"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._poller = None
        self._timers: list = []
        self._connections: set = set()
        self._sequence = itertools.count(1)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> X12Warehouse:
        """Return self after starting the SFTP server and the pick-up loop."""
        if self._thread is not None:
            return self
        for folder in self.paths.values():
            (self.root / folder.strip("/")).mkdir(parents=True, exist_ok=True)
        (self._work / "processed").mkdir(parents=True, exist_ok=True)
        (self._work / "staging").mkdir(parents=True, exist_ok=True)
        host_key = self._host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_fingerprint = host_key.get_fingerprint("sha256")
        if self._client_keys is not None:
            self._authorized_keys = asyncssh.import_authorized_keys("\n".join(self._client_keys) + "\n")
        sftp_class = type("WarehouseSftp", (_SftpServer,), {"simulator": self})
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run():
            asyncio.set_event_loop(self._loop)

            async def boot():
                self._server = await asyncssh.listen(
                    self.host, self.port, server_host_keys=[host_key], server_factory=lambda: _SshServer(self),
                    sftp_factory=sftp_class, allow_scp=False, login_timeout=30)
                self.port = self._server.sockets[0].getsockname()[1]
                self._poller = asyncio.ensure_future(self._poll())

            try:
                self._loop.run_until_complete(boot())
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"{self.name}-simulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join(5)
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving, cancel pending timers and remove the temporary directory."""
        if self._thread is None:
            return
        loop = self._loop

        async def shutdown():
            for timer in self._timers:
                timer.cancel()
            if self._poller is not None:
                self._poller.cancel()
            self._server.close()
            await self._server.wait_closed()
            for conn in list(self._connections):
                conn.close()
                await conn.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)
            loop.close()
            self._thread = self._loop = self._server = None
        if self._own_root:
            shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> X12Warehouse:
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def log(self, message: str) -> None:
        """Print ``message`` to stderr when verbose."""
        if self.verbose:
            print(f"[{self.name}] {message}", file=sys.stderr, flush=True)

    def _log_op(self, op: str, path, target="") -> None:
        as_text = lambda p: p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p)  # noqa: E731
        with self._lock:
            self.operations.append(Operation(time.time(), op, as_text(path), as_text(target)))

    # ----------------------------------------------------------------- paths and files

    def local_path(self, remote: str) -> Path:
        """Return the local path of a path on the drop (``/out/x.x12`` -> <root>/out/x.x12)."""
        return self.root / remote.strip("/")

    def files(self, folder: str = "out") -> list[str]:
        """Return the complete file names in ``folder`` (``in``, ``out``, ``archive``, ``quarantine``)."""
        path = self.local_path(self.paths.get(folder, folder))
        return sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))

    def read_file(self, name: str, folder: str = "out") -> str:
        """Return the text of ``name`` in ``folder``."""
        return self.local_path(self.paths.get(folder, folder)).joinpath(name).read_text("utf-8")

    def put_incoming(self, name: str, data: bytes | str) -> None:
        """Drop a file into ``/in`` as the depositor would (for tests that bypass SFTP)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        staging = self._work / "staging" / f"{name}.{next(self._sequence)}"
        staging.write_bytes(payload)
        os.replace(staging, self.local_path(self.paths["in"]) / name)

    def wait_for(self, predicate, timeout: float = 5.0, interval: float = 0.02):
        """Return predicate()'s first truthy value, polling; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: condition not met within {timeout}s")
            time.sleep(interval)

    def written_of(self, kind: str) -> list[FileRecord]:
        """Return the records of the files written of ``kind`` (``945``, ``997``...)."""
        with self._lock:
            return [r for r in self.written if r.kind == kind]

    # ----------------------------------------------------------------- faults

    def inject(self, fault: str, times: int = 1, kinds: tuple | None = None) -> None:
        """Queue ``fault`` for the next ``times`` files it applies to.

        ``kinds`` limits a document fault to those sets (default 945, 944 and 846; add
        ``"997"`` to malform acknowledgments too). ``no_ack`` applies to received files.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: use one of {', '.join(FAULTS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append([fault, times, tuple(kinds or DOCUMENT_KINDS)])

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[tuple]:
        """Return the queued faults as (name, remaining times, kinds)."""
        with self._lock:
            return [tuple(f) for f in self._faults]

    def _take_faults(self, kind: str) -> tuple:
        taken = []
        with self._lock:
            for fault in list(self._faults):
                name, times, kinds = fault
                applies = kind == "received" if name == "no_ack" else kind in kinds
                if applies and name not in taken:
                    taken.append(name)
                    fault[1] -= 1
                    if fault[1] <= 0:
                        self._faults.remove(fault)
        return tuple(taken)

    # ----------------------------------------------------------------- pick-up

    async def _poll(self) -> None:
        while True:
            try:
                self._scan(force=False)
            except Exception as exc:  # a simulator bug must show, not stop the pick-up loop
                print(f"[{self.name}] pick-up failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            await asyncio.sleep(self.poll_interval)

    def process_incoming(self) -> list[FileRecord]:
        """Pick up every complete file in ``/in`` now; return the records of the files read."""
        return self._scan(force=True)

    def _scan(self, force: bool) -> list[FileRecord]:
        folder = self.local_path(self.paths["in"])
        done = []
        with self._lock:
            for path in sorted(folder.iterdir()):
                name = path.name
                if name.startswith(".") or name.endswith((".part", ".tmp", ".filepart")) or not path.is_file():
                    continue
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                signature = (info.st_size, info.st_mtime_ns)
                if not force and self._seen.get(name) != signature:
                    self._seen[name] = signature  # not settled yet: an upload may still be writing
                    continue
                self._seen.pop(name, None)
                data = path.read_bytes()
                target = self._work / "processed" / f"{next(self._sequence):05d}-{name}"
                os.replace(path, target)
                done.append(self._receive_file(name, data))
        return done

    def _receive_file(self, name: str, data: bytes) -> FileRecord:
        faults = self._take_faults("received")
        record = FileRecord(time.time(), "in", name, "?", data, faults=faults)
        self.received.append(record)
        parsed = read_x12(data.decode("utf-8", "replace"))
        record.interchange = _el(parsed.isa, 13)
        if not parsed.isa:
            record.status, record.note = "unreadable", "; ".join(parsed.problems)
            self.log(f"picked up {name}: unreadable ({record.note})")
            return record
        kinds = {t["st"][1] for g in parsed.groups for t in g["transactions"] if len(t["st"]) > 1}
        record.kind = "/".join(sorted(kinds)) or "?"
        answers = []
        accepted_any = False
        test = _el(parsed.isa, 15) == "T"
        if test:
            self.test_interchanges.append(record.interchange)
        for group in parsed.groups:
            verdict = self._check_group(group, reject_all=bool(parsed.problems))
            record.groups.append(_el(group["gs"], 6))
            if _el(group["gs"], 1) == "FA":
                self._record_acks(group)
                continue
            answers.append(verdict)
            if verdict["status"] in ("A", "P"):
                accepted_any = True
                for transaction, ok in zip(group["transactions"], verdict["transactions"], strict=True):
                    if ok["status"] == "A" and not test:
                        self._accept(transaction, parsed.separators)
        record.status = "accepted" if accepted_any and not parsed.problems else (
            "acknowledgment" if record.kind == "997" else "rejected")
        if parsed.problems:
            record.note = "; ".join(parsed.problems)
        if answers and "no_ack" not in faults:
            self._write_997(answers)
        self.log(f"picked up {name}: {record.kind} {record.status}")
        return record

    def _check_group(self, group: dict, reject_all: bool) -> dict:
        gs, ge = group["gs"], group["ge"]
        verdicts = []
        for transaction in group["transactions"]:
            verdicts.append(self._check_transaction(transaction, _el(gs, 1)))
        codes = []
        if ge is None:
            codes.append("3")
        else:
            if _el(ge, 2) != _el(gs, 6):
                codes.append("4")
            if _el(ge, 1) != str(len(group["transactions"])):
                codes.append("5")
        if _el(gs, 1) not in ("OW", "AR", "FA"):
            codes.append("1")
        accepted = sum(1 for v in verdicts if v["status"] == "A")
        if codes or reject_all:
            status, accepted = "R", 0
        elif accepted == len(verdicts):
            status = "A"
        else:
            status = "P" if accepted else "R"
        announced = _el(ge, 1) if ge and _el(ge, 1).isdigit() else str(len(verdicts))
        return {"functional_id": _el(gs, 1), "control": _el(gs, 6), "status": status, "codes": codes,
                "included": announced, "received": str(len(verdicts)), "accepted": str(accepted),
                "transactions": verdicts}

    def _check_transaction(self, transaction: dict, functional_id: str) -> dict:
        st, se, body = transaction["st"], transaction["se"], transaction["body"]
        set_id, control = _el(st, 1), _el(st, 2)
        codes, notes = [], []
        if set_id not in ACCEPTS or GROUP_OF.get(set_id) != functional_id:
            codes.append("1")
        if se is None:
            codes.append("2")
        else:
            if _el(se, 2) != control:
                codes.append("3")
            if _el(se, 1) != str(len(body) + 2):
                codes.append("4")
        if not codes:
            notes = self._content_notes(set_id, body)
            if notes:
                codes.append("5")
        return {"id": set_id, "control": control, "status": "R" if codes else "A", "codes": codes, "notes": notes}

    def _content_notes(self, set_id: str, body: list) -> list:
        """Return AK3/AK4 notes: (segment id, position in set, segment code, [(element, code, copy)])."""
        notes = []
        by_tag = {}
        for index, row in enumerate(body, 2):
            by_tag.setdefault(row[0], []).append((index, row))
        required = {"940": ("W05", "N1", "W01"), "943": ("W06", "N1", "W04"), "997": ("AK1", "AK9")}[set_id]
        for tag in required:
            if tag not in by_tag:
                notes.append((tag, len(body) + 2, "3", []))
        checks = {"940": {"W05": [(2, "id")], "W01": [(1, "qty"), (2, "id"), (5, "id")]},
                  "943": {"W06": [(2, "id")], "W04": [(1, "qty"), (2, "id"), (5, "id")]},
                  "997": {"AK1": [(1, "id"), (2, "qty")], "AK9": [(1, "id")]}}[set_id]
        for tag, elements in checks.items():
            for index, row in by_tag.get(tag, []):
                problems = []
                for number, kind in elements:
                    value = _el(row, number)
                    if value == "":
                        problems.append((number, "1", ""))
                    elif kind == "qty" and _number(value) is None:
                        problems.append((number, "6", value[:99]))
                if problems:
                    notes.append((tag, index, "8", problems))
        return notes

    def _accept(self, transaction: dict, separators: tuple) -> None:
        set_id, body = transaction["st"][1], transaction["body"]
        if set_id == "940":
            self._accept_order(body)
        elif set_id == "943":
            self._accept_transfer(body)

    def _accept_order(self, body: list) -> None:
        order = {"ref": "", "po": "", "ship_to": {}, "lines": [], "carrier": "", "service": "", "shipped": {},
                 "received_at": time.time()}
        line_number = 0
        party = None
        for row in body:
            tag = row[0]
            if tag == "W05" and _el(row, 1) == "F":
                # a cancellation (W05-01 F) of an order not shipped yet
                known = self.orders.get(_el(row, 2))
                if known is not None and not known["shipped"]:
                    known["cancelled"] = True
                return
            if tag == "W05":
                order["ref"], order["po"] = _el(row, 2), _el(row, 3)
            elif tag == "N1":
                party = _el(row, 1)
                if party == "ST":
                    order["ship_to"] = {"name": _el(row, 2)}
            elif tag == "N3" and party == "ST":
                order["ship_to"].update(street=_el(row, 1), street2=_el(row, 2))
            elif tag == "N4" and party == "ST":
                order["ship_to"].update(city=_el(row, 1), state=_el(row, 2), zip=_el(row, 3), country=_el(row, 4))
            elif tag == "W66":
                order["service"], order["carrier"] = _el(row, 5), _el(row, 10)
            elif tag == "LX":
                line_number = int(_el(row, 1) or 0) or line_number + 1
            elif tag == "W01":
                order["lines"].append({"line": line_number or len(order["lines"]) + 1, "qty": _number(_el(row, 1)),
                                       "uom": _el(row, 2) or "EA", "qualifier": _el(row, 4) or "SK",
                                       "sku": _el(row, 5)})
        change = _el(next((row for row in body if row[0] == "W05"), ["W05"]), 1) == "G"
        known = self.orders.get(order["ref"])
        if change and known is not None:
            # W05-01 G: changes to other than line items, the order keeps its lines and progress
            if not known["shipped"]:
                known["ship_to"] = order["ship_to"]
                known["changes"] = known.get("changes", 0) + 1
            return
        self.orders[order["ref"]] = order
        if self.auto_ship is not None:
            self._schedule(self.auto_ship, self._auto_ship, order["ref"])

    def _accept_transfer(self, body: list) -> None:
        transfer = {"ref": "", "shipment_id": "", "lines": [], "received": False, "received_at": time.time()}
        for row in body:
            tag = row[0]
            if tag == "W06":
                transfer["ref"], transfer["shipment_id"] = _el(row, 2), _el(row, 4)
            elif tag == "W04":
                transfer["lines"].append({"sku": _el(row, 5), "qty": _number(_el(row, 1)), "uom": _el(row, 2) or "EA",
                                          "qualifier": _el(row, 4) or "SK", "lot": ""})
            elif tag == "N9" and _el(row, 1) == "LT" and transfer["lines"]:
                transfer["lines"][-1]["lot"] = _el(row, 2)
        self.transfers[transfer["ref"]] = transfer
        if self.auto_receive is not None:
            self._schedule(self.auto_receive, self._auto_receive, transfer["ref"])

    def _record_acks(self, group: dict) -> None:
        for transaction in group["transactions"]:
            control, status = "", ""
            for row in transaction["body"]:
                if row[0] == "AK1":
                    control = _el(row, 2)
                elif row[0] == "AK9":
                    status = _el(row, 1)
            if control:
                self.acks_received[control] = status

    def _schedule(self, delay: float, func, *args) -> None:
        loop = self._loop

        def fire():
            try:
                func(*args)
            except Exception as exc:  # a simulator bug must show
                print(f"[{self.name}] {func.__name__} failed: {type(exc).__name__}: {exc}", file=sys.stderr)

        if loop is None:
            return
        # process_incoming() may run in the caller's thread: timers are set from the loop's own
        loop.call_soon_threadsafe(lambda: self._timers.append(loop.call_later(delay, fire)))

    def _auto_ship(self, ref: str) -> None:
        if not self.orders.get(ref, {}).get("cancelled"):
            self.ship(ref, fraction=self.ship_fraction)

    def _auto_receive(self, ref: str) -> None:
        self.receive(ref)

    # ----------------------------------------------------------------- writing

    def _next_numbers(self, count: int) -> tuple[int, int, int]:
        with self._lock:
            icn, gcn = next(self._icn), next(self._gcn)
            first = next(self._st)
            for _ in range(count - 1):
                next(self._st)
        return icn, gcn, first

    def _write(self, set_id: str, bodies: list, label: str, faults: tuple = ()) -> str:
        icn, gcn, first = self._next_numbers(len(bodies))
        when = self.clock()
        text = write_x12(self.warehouse_id, self.partner_id, set_id, bodies, icn=icn, gcn=gcn, first_st=first,
                         when=when, separators=self.separators, newline=self.newline, faults=faults,
                         version=self.version)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "-", label)[:40]
        name = f"{set_id}_{safe}_{icn:09d}.x12" if safe else f"{set_id}_{icn:09d}.x12"
        names = [name] + ([name.replace(".x12", "-resend.x12")] if "duplicate" in faults else [])
        for file_name in names:
            self._publish(file_name, text.encode("utf-8"))
            record = FileRecord(time.time(), "out", file_name, set_id, text.encode("utf-8"), "written",
                                f"{icn:09d}", [str(gcn)], label, faults)
            with self._lock:
                self.written.append(record)
            self.log(f"wrote /out/{file_name}" + (f" with {', '.join(faults)}" if faults else ""))
        return name

    def _publish(self, name: str, data: bytes) -> None:
        staging = self._work / "staging" / f"{name}.{next(self._sequence)}"
        staging.write_bytes(data)
        os.replace(staging, self.local_path(self.paths["out"]) / name)

    def _write_997(self, verdicts: list) -> str:
        bodies = []
        for verdict in verdicts:
            body = [["AK1", verdict["functional_id"] or "XX", verdict["control"] or "0"]]
            for transaction in verdict["transactions"]:
                body.append(["AK2", transaction["id"] or "000", transaction["control"] or "0000"])
                for tag, position, code, elements in transaction["notes"]:
                    body.append(["AK3", tag, str(position), "", code])
                    for number, element_code, copy in elements:
                        body.append(["AK4", str(number), "", element_code, copy])
                body.append(["AK5", transaction["status"], *transaction["codes"][:5]])
            body.append(["AK9", verdict["status"], verdict["included"], verdict["received"], verdict["accepted"],
                         *verdict["codes"][:5]])
            bodies.append(body)
        label = "-".join(v["control"] for v in verdicts)
        return self._write("997", bodies, label, self._take_faults("997"))

    def ship(self, order_ref: str, quantities: dict | None = None, *, lots: dict | str | None = None,
             serials: dict | None = None, tracking: str | None = None, carrier: str | None = None,
             sscc: bool = True, fraction: float = 1.0) -> str:
        """Write a 945 for order ``order_ref`` and return its file name in ``/out``.

        ``quantities`` maps a SKU (or a line number) to the quantity to ship now; None ships
        what remains of each line times ``fraction`` (rounded down; automatic shipments use
        ``ship_fraction``). Shipments never exceed what remains, nor ``stock``.
        ``lots`` is one lot for every line or SKU -> lot; ``serials`` SKU -> serial numbers;
        ``tracking`` the carrier tracking number (generated when None).
        """
        with self._lock:
            order = self.orders.get(order_ref)
            if order is None:
                raise KeyError(f"no accepted 940 for order {order_ref!r} (known: {', '.join(self.orders) or 'none'})")
            if order.get("cancelled"):
                raise ValueError(f"order {order_ref!r} was cancelled by the depositor")
            tracking = tracking or f"1Z{self.warehouse_id[:3].upper()}{int(time.time() * 1000) % 10**10:010d}"
            body = [["W06", "F", order["ref"], self.clock().strftime("%Y%m%d"), f"SHP{next(self._sequence):06d}", "",
                     order["po"]]]
            ship_to = order["ship_to"] or {"name": "UNKNOWN"}
            body.append(["N1", "ST", ship_to.get("name") or "UNKNOWN"])
            if ship_to.get("street"):
                body.append(["N3", ship_to["street"], ship_to.get("street2", "")])
            if ship_to.get("city"):
                body.append(["N4", ship_to["city"], ship_to.get("state", ""), ship_to.get("zip", ""),
                             ship_to.get("country", "")])
            body.append(["N9", "CN", tracking])
            body.append(["W27", "U", carrier or order["carrier"] or self.carrier, order["service"] or self.service])
            total = Decimal(0)
            for index, line in enumerate(order["lines"], 1):
                ordered = line["qty"] or Decimal(0)
                already = order["shipped"].get(line["line"], Decimal(0))
                remaining = max(ordered - already, Decimal(0))
                if quantities is not None:
                    wanted = Decimal(str(quantities.get(line["sku"], quantities.get(line["line"], 0))))
                else:
                    wanted = Decimal(math.floor(remaining * Decimal(str(fraction))))
                qty = min(wanted, remaining)
                if line["sku"] in self.stock:
                    qty = max(min(qty, self.stock[line["sku"]]), Decimal(0))
                if qty <= 0:
                    continue
                if line["sku"] in self.stock:
                    self.stock[line["sku"]] -= qty
                order["shipped"][line["line"]] = already + qty
                total += qty
                status = "CC" if already + qty >= ordered else "CP"
                body.append(["LX", str(line["line"])])
                carton = ["MAN", "GM", f"00{index:018d}"[-20:], "", "CP", tracking] if sscc else ["MAN", "CP", tracking]
                body.append(carton)
                body.append(["W12", status, _qty(ordered), _qty(qty), _qty(ordered - already - qty), line["uom"], "",
                             line["qualifier"], line["sku"]])
                lot = lots.get(line["sku"], "") if isinstance(lots, dict) else (lots or "")
                if not lot and self.lots:
                    lot = f"LOT{index:04d}"
                if lot:
                    body.append(["N9", "LT", lot])
                numbers = list((serials or {}).get(line["sku"], []))
                if not numbers and self.serials:
                    numbers = [f"SN{order['ref']}-{index}-{n}" for n in range(1, int(qty) + 1)]
                body.extend(["N9", "SE", number] for number in numbers)
            if total == 0:
                raise ValueError(f"nothing to ship for order {order_ref!r} (all shipped, or out of stock)")
            body.append(["W03", _qty(total)])
        return self._write("945", [body], order_ref, self._take_faults("945"))

    def receive(self, ref: str, quantities: dict | None = None, *, damaged: dict | None = None,
                lots: dict | None = None, receipt_number: str | None = None) -> str:
        """Write a 944 for the 943 ``ref`` and return its file name in ``/out``.

        ``quantities`` maps a SKU to the quantity received (default: what the 943 announced);
        ``damaged`` maps a SKU to the part of it received damaged (default: ``damage_rate``).
        Good units are added to ``stock``, damaged ones to ``damaged_stock``.
        """
        with self._lock:
            transfer = self.transfers.get(ref)
            if transfer is None:
                raise KeyError(f"no accepted 943 for {ref!r} (known: {', '.join(self.transfers) or 'none'})")
            number = receipt_number or f"R{next(self._sequence):06d}"
            body = [["W17", "F", self.clock().strftime("%Y%m%d"), number[:12], transfer["ref"],
                     transfer["shipment_id"]],
                    ["N1", "WH", self.warehouse_name, "91", self.warehouse_id]]
            total = Decimal(0)
            for line in transfer["lines"]:
                announced = line["qty"] or Decimal(0)
                qty = Decimal(str(quantities.get(line["sku"], 0))) if quantities is not None else announced
                if damaged is not None:
                    bad = Decimal(str(damaged.get(line["sku"], 0)))
                else:
                    bad = Decimal(math.floor(qty * Decimal(str(self.damage_rate))))
                bad = min(bad, qty)
                lot = (lots or {}).get(line["sku"], line["lot"])
                body.append(["W07", _qty(qty), line["uom"], "", line["qualifier"], line["sku"], "", "",
                             lot if len(lot) <= 12 else ""])
                if lot and len(lot) > 12:
                    body.append(["N9", "LT", lot])
                if bad:
                    body.append(["W13", _qty(bad), line["uom"], "01", "", "NR"])
                if qty != announced:
                    code = "02" if qty < announced else "03"
                    body.append(["W13", _qty(abs(announced - qty)), line["uom"], code])
                self.stock[line["sku"]] = self.stock.get(line["sku"], Decimal(0)) + qty - bad
                if bad:
                    self.damaged_stock[line["sku"]] = self.damaged_stock.get(line["sku"], Decimal(0)) + bad
                total += qty
            body.append(["W14", _qty(total)])
            transfer["received"] = True
        return self._write("944", [body], ref, self._take_faults("944"))

    def publish_inventory(self, levels: dict | None = None, reference: str | None = None) -> str:
        """Write an 846 and return its file name in ``/out``.

        ``levels`` maps a SKU to its available quantity, or to a dict with ``on_hand``,
        ``available`` and ``damaged``; default: the warehouse's own ``stock`` and
        ``damaged_stock``.
        """
        with self._lock:
            when = self.clock()
            if levels is None:
                skus = sorted(set(self.stock) | set(self.damaged_stock))
                levels = {s: {"available": self.stock.get(s, 0), "damaged": self.damaged_stock.get(s, 0)}
                          for s in skus}
            reference = reference or f"INV{when:%Y%m%d%H%M%S}"
            body = [["BIA", "00", "MB", reference, when.strftime("%Y%m%d"), when.strftime("%H%M%S")],
                    ["DTM", "007", when.strftime("%Y%m%d"), when.strftime("%H%M%S")],
                    ["N1", "WH", self.warehouse_name, "91", self.warehouse_id]]
            for sku, level in levels.items():
                if not isinstance(level, dict):
                    level = {"available": level}
                available = Decimal(str(level.get("available", 0)))
                bad = Decimal(str(level.get("damaged", 0)))
                on_hand = Decimal(str(level.get("on_hand", available + bad)))
                body.append(["LIN", "", "SK", sku])
                body.append(["QTY", "17", _qty(on_hand), "EA"])
                body.append(["QTY", "33", _qty(available), "EA"])
                if bad:
                    body.append(["QTY", "20", _qty(bad), "EA"])
            body.append(["CTT", str(len(levels))])
        return self._write("846", [body], reference, self._take_faults("846"))


# --------------------------------------------------------------------------- demo entry point

DEMO_HOST_KEY_SEED = b"x12-warehouse simulator demo host key"


def demo_host_key():
    """Return the demo's Ed25519 host key, derived from a fixed seed so that its fingerprint is stable.

    The demo backend trusts its fingerprint, ``SHA256:IkCaOBYd74xk0QpITib02ihN728aWGWnakcCee5unD0``.
    """
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEMO_HOST_KEY_SEED).digest())
    return asyncssh.import_private_key(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))


def main(argv=None) -> int:
    """Serve the warehouse until interrupted (for the demo)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument("--user", default="depositor")
    parser.add_argument("--password", default="drop-secret")
    parser.add_argument("--auto-ship", type=float, default=None)
    parser.add_argument("--auto-receive", type=float, default=None)
    parser.add_argument("--ship-fraction", type=float, default=1.0)
    parser.add_argument("--root", default=None, help="directory to keep the drop in (default: temporary)")
    parser.add_argument("--stock", action="append", default=[], metavar="SKU=QTY",
                        help="stock the warehouse holds (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="do not print each file")
    args = parser.parse_args(argv)
    stock = {sku: int(qty or 0) for sku, qty in (item.split("=", 1) for item in args.stock)}
    warehouse = X12Warehouse(username=args.user, password=args.password, host=args.host, port=args.port,
                             auto_ship=args.auto_ship, auto_receive=args.auto_receive, stock=stock,
                             ship_fraction=args.ship_fraction, root=args.root, verbose=not args.quiet,
                             host_key=demo_host_key())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with warehouse:
        print(f"X12 warehouse on sftp://{args.user}@{args.host}:{warehouse.port} "
              f"(host key {warehouse.host_key_fingerprint}); Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
