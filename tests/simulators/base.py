"""Channel simulator framework: external partner systems served on loopback.

A simulator plays the channel's side of a protocol for end-to-end tests and the demo: real
HTTP on 127.0.0.1, real signatures, injectable faults, rate limiting and a record of every
call and every webhook it sends. It uses the standard library only and never imports product
code, so it cannot inherit the connector's own assumptions about the protocol.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import math
import re
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "Call",
    "CallLog",
    "Fault",
    "Headers",
    "HttpError",
    "Request",
    "Response",
    "Simulator",
    "TokenBucket",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookLog",
    "WebhookResult",
    "WebhookSender",
    "check_bearer",
    "error_response",
    "hmac_sha256_base64",
    "hmac_sha256_hex",
    "json_bytes",
    "retail_signature",
    "route",
]

JSON_TYPE = "application/json"
USER_AGENT = "RetailChannelSimulator/1.0"


# --------------------------------------------------------------------------- signing

def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``message`` under ``secret``."""
    return hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def hmac_sha256_base64(secret: str | bytes, message: bytes) -> str:
    """Return the base64 HMAC-SHA256 of ``message`` under ``secret`` (Shopify-style)."""
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def retail_signature(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """Return the ``X-Retail-Signature`` value ``t=<ts>,v1=<hex HMAC of "<ts>.<body>">``."""
    signed = str(int(timestamp)).encode("ascii") + b"." + body
    return f"t={int(timestamp)},v1={hmac_sha256_hex(secret, signed)}"


def json_bytes(obj) -> bytes:
    """Return ``obj`` as compact UTF-8 JSON bytes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


# --------------------------------------------------------------------------- request / response

class Headers(Mapping):
    """Return header values by case-insensitive name, keeping the names as they were sent."""

    def __init__(self, items=()):
        self._items = {}
        pairs = items.items() if hasattr(items, "items") else items
        for name, value in pairs:
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name):
        return self._items[name.lower()][1]

    def __iter__(self):
        return (name for name, _ in self._items.values())

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return f"Headers({dict(self)!r})"


class HttpError(Exception):
    """Raised by handlers; becomes a JSON error answer ``{"error", "message", "details"}``."""

    def __init__(self, status: int, error: str, message: str = "", details=None, headers=None):
        super().__init__(message or error)
        self.status = status
        self.error = error
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """Return the answer this error stands for."""
        extra = {"details": self.details} if self.details is not None else {}
        return error_response(self.status, self.error, self.message, headers=self.headers, **extra)


@dataclass
class Request:
    """One HTTP request as a handler sees it; ``params`` holds the path placeholders."""

    method: str
    path: str
    query: dict = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    params: dict = field(default_factory=dict)
    query_lists: dict = field(default_factory=dict)

    def json(self):
        """Return the parsed JSON body; raise HttpError 400 ``bad_json`` naming the problem."""
        if not self.body.strip():
            raise HttpError(400, "bad_json", "the request body is empty; a JSON document is expected")
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise HttpError(400, "bad_json", f"the request body is not valid JSON: {exc.msg} at {where}") from None
        except ValueError as exc:  # undecodable bytes
            raise HttpError(400, "bad_json", f"the request body is not valid JSON text: {exc}") from None

    def header(self, name: str, default=None):
        """Return a header value by case-insensitive name, or ``default``."""
        return self.headers.get(name, default)


@dataclass
class Response:
    """An answer: ``body`` is JSON-encoded when a dict/list, sent as is when bytes/str."""

    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict]:
        """Return the body bytes and the headers to send, Content-Type included."""
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = json_bytes(self.body)
            headers.setdefault("Content-Type", JSON_TYPE)
        return payload, headers

    def copy(self) -> Response:
        """Return an independent copy (headers and JSON body are not shared)."""
        body = self.body
        if isinstance(body, (dict, list)):
            body = json.loads(json_bytes(body))
        return Response(self.status, body, dict(self.headers))


def error_response(status: int, error: str, message: str = "", headers=None, **extra) -> Response:
    """Return a JSON error answer ``{"error": error, "message": message, **extra}``."""
    return Response(status, {"error": error, "message": message, **extra}, dict(headers or {}))


def check_bearer(request: Request, token: str) -> Response | None:
    """Return a 401 JSON answer unless the request carries ``Authorization: Bearer <token>``."""
    value = request.header("Authorization") or ""
    scheme, _, given = value.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="channel"'}
    if scheme.lower() != "bearer" or not given.strip():
        return error_response(401, "unauthorized", "missing 'Authorization: Bearer <token>' header", challenge)
    if not hmac.compare_digest(_as_bytes(given.strip()), _as_bytes(token)):
        return error_response(401, "unauthorized", "invalid access token", challenge)
    return None


# --------------------------------------------------------------------------- routing

def route(method: str, pattern: str, *, auth: bool = True):
    """Return a decorator registering a Simulator method for ``method`` + ``pattern``.

    ``pattern`` is either a regex starting with ``^`` or a path with ``{name}`` placeholders
    (each matching one path segment). ``auth`` routes require the simulator's bearer token.
    """

    def mark(func):
        func.__dict__.setdefault("_simulator_routes", []).append((method.upper(), pattern, auth))
        return func

    return mark


@dataclass
class _Route:
    method: str
    pattern: str
    regex: re.Pattern
    handler: object
    auth: bool


def _compile_pattern(pattern: str) -> re.Pattern:
    if pattern.startswith("^"):
        return re.compile(pattern)
    parts = re.split(r"\{(\w+)\}", pattern)
    # re.split alternates literal text and placeholder names
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex)


# --------------------------------------------------------------------------- call record

@dataclass
class Call:
    """One request received: when, what, and the status answered (None when dropped)."""

    time: float
    method: str
    path: str
    query: dict
    headers: Headers
    body: bytes
    status: int | None = None
    dropped: bool = False

    def json(self):
        """Return the parsed JSON body, or None when the body is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class CallLog:
    """Thread-safe record of every request a simulator received, oldest first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def record(self, request: Request) -> Call:
        """Return the new record of ``request`` after appending it."""
        call = Call(time.time(), request.method, request.path, dict(request.query), request.headers, request.body)
        with self._lock:
            self._calls.append(call)
        return call

    def all(self) -> list[Call]:
        """Return a snapshot of all calls."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str | None = None, path_prefix: str = "") -> list[Call]:
        """Return the calls with ``method`` (None or "*" for any) whose path starts with ``path_prefix``."""
        wanted = (method or "*").upper()
        return [c for c in self.all() if wanted in ("*", c.method) and c.path.startswith(path_prefix)]

    def reset(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def __len__(self):
        with self._lock:
            return len(self._calls)

    def __iter__(self):
        return iter(self.all())

    def __getitem__(self, index):
        return self.all()[index]


# --------------------------------------------------------------------------- faults and rate limiting

@dataclass
class Fault:
    """A queued fault: matching requests get it instead of (or before) the normal answer."""

    method: str
    path_prefix: str
    status: int | None = None
    times: int | None = 1
    retry_after: float | str | None = None
    delay: float | None = None
    drop_connection: bool = False
    body: object = None
    headers: dict = field(default_factory=dict)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Return whether a request to ``method path`` consumes this fault."""
        return self.method in ("*", method) and path.startswith(self.path_prefix)

    def response(self) -> Response:
        """Return the answer of a status fault."""
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = _header_number(self.retry_after)
        if self.body is not None:
            return Response(self.status, self.body, headers)
        error = "rate_limited" if self.status == 429 else "injected_fault"
        return error_response(self.status, error, f"injected {self.status} answer", headers)


def _header_number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class _FaultQueue:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        # first matching fault wins, so tests can queue a sequence (429, then 503, ...)
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class TokenBucket:
    """A token bucket of ``burst`` tokens refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """Return (allowed, tokens remaining, seconds until a token is available)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True, int(self._tokens), 0.0
            return False, 0, (1 - self._tokens) / self.rate


class _RateMeter:
    """Counts requests in a sliding one-second window and keeps the highest count seen."""

    WINDOW = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._stamps = deque()
        self.peak = 0

    def hit(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._stamps.append(now)
            while self._stamps and now - self._stamps[0] > self.WINDOW:
                self._stamps.popleft()
            self.peak = max(self.peak, len(self._stamps))

    def reset(self) -> None:
        with self._lock:
            self._stamps.clear()
            self.peak = 0


# --------------------------------------------------------------------------- webhooks

@dataclass
class WebhookResult:
    """What one webhook POST got: the status (None when no HTTP answer), body and error text."""

    status: int | None
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Return whether the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # a channel does not follow redirects on webhook delivery; a 3xx counts as a failure
    def redirect_request(self, *args, **kwargs):
        return None


class WebhookSender:
    """Posts webhook bodies over HTTP with urllib, ignoring proxy settings (loopback targets)."""

    def __init__(self):
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def send(self, url: str, body: bytes, headers: dict, timeout: float = 5.0) -> WebhookResult:
        """Return the result of one POST of ``body`` to ``url``; never raises for network errors."""
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as resp:
                return WebhookResult(resp.status, resp.read())
        except urllib.error.HTTPError as exc:
            return WebhookResult(exc.code, _read_quietly(exc), f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return WebhookResult(None, b"", f"{type(exc).__name__}: {reason}")


def _read_quietly(resp) -> bytes:
    try:
        return resp.read()
    except (OSError, http.client.HTTPException):
        return b""


@dataclass
class WebhookAttempt:
    """One POST of a delivery: when, the headers sent (signature included) and the answer."""

    time: float
    headers: dict
    status: int | None
    response_body: bytes = b""
    error: str | None = None


@dataclass
class WebhookDelivery:
    """One webhook copy: event, body, how it was sent, and every attempt with its answer.

    ``state`` is ``held`` (waiting to be reordered), ``sending``, ``sent`` (2xx), ``failed``
    (retries exhausted), ``dropped`` (never sent) or ``no_url`` (no webhook URL configured).
    """

    event_id: str
    topic: str
    url: str | None
    body: bytes
    payload: object
    secret: str | None
    timestamp_skew: int = 0
    copy: int = 0
    state: str = "pending"
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        """Return the status of the last attempt (None when never answered)."""
        return self.attempts[-1].status if self.attempts else None

    @property
    def delivered(self) -> bool:
        """Return whether a receiver accepted this delivery with a 2xx answer."""
        return self.state == "sent"

    def json(self):
        """Return the payload decoded from the body sent."""
        return json.loads(self.body)


class WebhookLog:
    """Thread-safe record of webhook deliveries in the order they were created."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: list[WebhookDelivery] = []

    def add(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._items.append(delivery)

    def all(self) -> list[WebhookDelivery]:
        """Return a snapshot of all deliveries."""
        with self._lock:
            return list(self._items)

    def sent(self) -> list[WebhookDelivery]:
        """Return the deliveries accepted by a receiver."""
        return [d for d in self.all() if d.state == "sent"]

    def dropped(self) -> list[WebhookDelivery]:
        """Return the deliveries recorded as dropped (never sent)."""
        return [d for d in self.all() if d.state == "dropped"]

    def for_topic(self, topic: str) -> list[WebhookDelivery]:
        """Return the deliveries of ``topic``."""
        return [d for d in self.all() if d.topic == topic]

    def reset(self) -> None:
        """Forget every delivery."""
        with self._lock:
            self._items.clear()

    def __len__(self):
        with self._lock:
            return len(self._items)

    def __iter__(self):
        return iter(self.all())

    def __getitem__(self, index):
        return self.all()[index]


@dataclass
class _WebhookPlan:
    """The next-webhook behaviours requested by a test, consumed one event at a time."""

    drop: int = 0
    duplicate: int = 0
    duplicate_times: int = 2
    reorder: int = 0
    tamper: int = 0
    tamper_secret: str | None = None
    tamper_skew: int = 0
    tamper_unsigned: bool = False
    held: list = field(default_factory=list)


# --------------------------------------------------------------------------- HTTP server

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, simulator: Simulator):
        self.simulator = simulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn) -> None:
        with self._open_lock:
            self._open.add(conn)

    def untrack(self, conn) -> None:
        with self._open_lock:
            self._open.discard(conn)

    def close_open_connections(self) -> None:
        # keep-alive connections would otherwise outlive stop() and hold their threads
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = USER_AGENT
    timeout = 30  # idle keep-alive connections close instead of pinning a thread
    # headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms per answer
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.track(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass  # the simulator keeps its own record; stderr noise would bury test output

    def _serve(self):
        simulator = self.server.simulator
        try:
            request = self._read_request()
        except ValueError as exc:
            self.close_connection = True
            self._write(error_response(400, "bad_request", str(exc)))
            return
        response = simulator.handle(request)
        if response is None:
            self._drop()
            return
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _read_request(self) -> Request:
        split = urlsplit(self.path)
        lists = parse_qs(split.query, keep_blank_values=True)
        return Request(
            method=self.command.upper(),
            path=split.path,
            query={k: v[0] for k, v in lists.items()},
            headers=Headers(self.headers.items()),
            body=self._read_body(),
            query_lists=lists,
        )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ValueError(f"invalid Content-Length header {length!r}") from None
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            line = self.rfile.readline().split(b";", 1)[0].strip()
            size = int(line or b"0", 16)
            if size == 0:
                self.rfile.readline()  # trailing CRLF after the last chunk
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, response: Response):
        payload, headers = response.encode()
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (e.g. timed out on an injected delay)
            self.close_connection = True


# --------------------------------------------------------------------------- simulator

class Simulator:
    """An external system on loopback: routes, bearer auth, faults, rate limit, webhooks.

    Subclasses declare handlers with ``@route(method, pattern)``; each receives a Request and
    returns a Response (or a dict/list for a 200 JSON answer) or raises HttpError.
    """

    name = "simulator"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_token: str | None = None,
        rate_limit: tuple[float, int] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 5.0,
        webhook_async: bool = False,
        sender: WebhookSender | None = None,
        verbose: bool = False,
    ):
        self.host = host
        self.port = port
        self.auth_token = auth_token
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.webhook_async = webhook_async
        self.sender = sender or WebhookSender()
        self.verbose = verbose
        self.calls = CallLog()
        self.webhooks = WebhookLog()
        self.rate_limited_count = 0
        self._stats_lock = threading.Lock()
        self._faults = _FaultQueue()
        self._meter = _RateMeter()
        self._bucket: TokenBucket | None = None
        self._plan = _WebhookPlan()
        self._plan_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[_Route] = self._declared_routes()
        self.set_rate_limit(rate_limit)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Simulator:
        """Return self after starting to serve on ``host:port`` (port 0 picks a free one)."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
            name=f"{self.name}-simulator", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self) -> str:
        """Return the base URL ``http://127.0.0.1:<port>`` (the simulator must be started)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} simulator is not started")
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget calls, webhooks, faults, pending webhook behaviours and rate statistics."""
        self.calls.reset()
        self.webhooks.reset()
        self.clear_faults()
        with self._plan_lock:
            self._plan = _WebhookPlan()
        self.reset_rate_stats()

    def log(self, message: str) -> None:
        """Print ``message`` to stderr when verbose (the demo shows traffic this way)."""
        if self.verbose:
            print(f"[{self.name}] {message}", file=sys.stderr, flush=True)

    # ----------------------------------------------------------------- routing

    def add_route(self, method: str, pattern: str, handler, *, auth: bool = True) -> None:
        """Register ``handler(request)`` for ``method`` + ``pattern`` (see ``route``)."""
        self._routes.append(_Route(method.upper(), pattern, _compile_pattern(pattern), handler, auth))

    def _declared_routes(self) -> list[_Route]:
        # walk the MRO base-first so a subclass redefinition of a name replaces its parent's
        names: dict[str, list] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                marks = getattr(value, "_simulator_routes", None)
                if marks:
                    names[attr] = marks
        routes = []
        for attr, marks in names.items():
            handler = getattr(self, attr)
            for method, pattern, auth in marks:
                routes.append(_Route(method, pattern, _compile_pattern(pattern), handler, auth))
        return routes

    # ----------------------------------------------------------------- request handling

    def handle(self, request: Request) -> Response | None:
        """Return the answer to ``request``, or None to close the connection without one."""
        call = self.calls.record(request)
        self._meter.hit()
        response = self._answer(request)
        call.status = response.status if response is not None else None
        call.dropped = response is None
        self.log(f"{request.method} {request.path} -> {call.status if response else 'dropped'}")
        return response

    def _answer(self, request: Request) -> Response | None:
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.drop_connection:
                return None
            if fault.status is not None:
                return fault.response()
        limit_headers = {}
        if self._bucket is not None:
            limited, limit_headers = self._throttle()
            if limited is not None:
                return limited
        response = self._dispatch(request)
        for name, value in limit_headers.items():
            response.headers.setdefault(name, value)
        return response

    def _throttle(self) -> tuple[Response | None, dict]:
        bucket = self._bucket
        allowed, remaining, wait = bucket.take()
        headers = {"X-RateLimit-Limit": str(bucket.burst), "X-RateLimit-Remaining": str(remaining)}
        if allowed:
            return None, headers
        with self._stats_lock:
            self.rate_limited_count += 1
        # Retry-After is whole seconds per RFC 9110; never 0, which would invite a busy loop
        retry_after = max(1, math.ceil(wait))
        message = f"rate limit of {bucket.rate:g} requests/s (burst {bucket.burst}) exceeded"
        return error_response(429, "rate_limited", message, {**headers, "Retry-After": str(retry_after)}), headers

    def _dispatch(self, request: Request) -> Response:
        allowed = []
        for candidate in self._routes:
            match = candidate.regex.fullmatch(request.path)
            if not match:
                continue
            if candidate.method != request.method:
                allowed.append(candidate.method)
                continue
            # placeholders match the raw path; handlers get decoded values
            request.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            return self._run(candidate, request)
        if allowed:
            message = f"{request.method} is not allowed on {request.path}"
            return error_response(405, "method_not_allowed", message, {"Allow": ", ".join(sorted(set(allowed)))})
        return error_response(404, "not_found", f"no endpoint {request.method} {request.path}")

    def _run(self, candidate: _Route, request: Request) -> Response:
        try:
            if candidate.auth and self.auth_token is not None:
                refused = check_bearer(request, self.auth_token)
                if refused is not None:
                    return refused
            result = candidate.handler(request)
        except HttpError as exc:
            return exc.response()
        except Exception as exc:  # a simulator bug must show up, not hang the client
            traceback.print_exc()
            return error_response(500, "simulator_error", f"{type(exc).__name__}: {exc}")
        if isinstance(result, Response):
            return result
        return Response(200, result)

    # ----------------------------------------------------------------- faults and rate limit

    def inject(
        self,
        method: str,
        path_prefix: str,
        status: int | None = None,
        times: int | None = 1,
        retry_after: float | str | None = None,
        delay: float | None = None,
        drop_connection: bool = False,
        body: object = None,
        headers: dict | None = None,
    ) -> Fault:
        """Return a queued fault for the next ``times`` requests (None: until cleared).

        ``status`` answers that status (``retry_after`` adds the Retry-After header, ``body``
        replaces the JSON error); ``delay`` waits first (with no status the normal answer
        follows, late: a client timeout); ``drop_connection`` closes the socket unanswered.
        """
        if status is None and not delay and not drop_connection:
            raise ValueError("a fault needs a status, a delay or drop_connection=True")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every matching request)")
        fault = Fault(
            method=(method or "*").upper(), path_prefix=path_prefix, status=status, times=times,
            retry_after=retry_after, delay=delay, drop_connection=drop_connection, body=body,
            headers=dict(headers or {}),
        )
        self._faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every queued fault."""
        self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        """Return the faults not consumed yet."""
        return self._faults.pending()

    def set_rate_limit(self, rate_limit: tuple[float, int] | None) -> None:
        """Enable a token bucket of ``(per_second, burst)``, or disable it with None."""
        self._bucket = TokenBucket(*rate_limit) if rate_limit else None

    @property
    def peak_rate(self) -> int:
        """Return the most requests received within any one-second window."""
        return self._meter.peak

    def reset_rate_stats(self) -> None:
        """Forget the peak request rate and the count of rate-limited answers."""
        self._meter.reset()
        with self._stats_lock:
            self.rate_limited_count = 0

    def calls_to(self, method: str | None = None, path_prefix: str = "") -> list[Call]:
        """Return the calls received for ``method`` under ``path_prefix`` (see CallLog)."""
        return self.calls.calls_to(method, path_prefix)

    # ----------------------------------------------------------------- outgoing webhooks

    def drop_webhooks(self, count: int = 1) -> None:
        """Record the next ``count`` webhook events as dropped instead of sending them."""
        with self._plan_lock:
            self._plan.drop += count

    def duplicate_webhooks(self, times: int = 2, count: int = 1) -> None:
        """Send each of the next ``count`` webhook events ``times`` times (same event id)."""
        with self._plan_lock:
            self._plan.duplicate = count
            self._plan.duplicate_times = times

    def reorder_webhooks(self, count: int = 2) -> None:
        """Hold the next ``count`` webhook events, then send them latest first."""
        with self._plan_lock:
            self._plan.reorder = count

    def tamper_webhooks(self, count: int = 1, *, secret: str | None = None,
                        timestamp_skew: int = 0, unsigned: bool = False) -> None:
        """Sign the next ``count`` events with ``secret`` and/or a timestamp shifted by
        ``timestamp_skew`` seconds (negative: old), or leave them ``unsigned``."""
        with self._plan_lock:
            self._plan.tamper = count
            self._plan.tamper_secret = secret
            self._plan.tamper_skew = timestamp_skew
            self._plan.tamper_unsigned = unsigned

    def flush_webhooks(self) -> list[WebhookDelivery]:
        """Return the held deliveries after sending them latest first and ending reordering."""
        with self._plan_lock:
            held, self._plan.held, self._plan.reorder = self._plan.held, [], 0
        held.reverse()
        self._dispatch_deliveries(held)
        return held

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        """Return the headers of one attempt; subclasses add their protocol's topic and signature."""
        return {"Content-Type": JSON_TYPE, "User-Agent": USER_AGENT}

    def new_event_id(self) -> str:
        """Return a fresh unique event id."""
        return f"evt_{uuid.uuid4().hex}"

    def send_webhook(self, topic: str, payload, *, url: str | None = None,
                     event_id: str | None = None) -> list[WebhookDelivery]:
        """Return the deliveries of one event after sending them (per the webhook behaviours).

        ``payload`` is JSON-encoded unless already bytes. A delivery is retried on non-2xx or
        connection errors up to ``webhook_retries`` times with doubling ``webhook_backoff``.
        """
        body = payload if isinstance(payload, bytes) else json_bytes(payload)
        url = url or self.webhook_url
        event_id = event_id or self.new_event_id()
        deliveries, to_send = self._plan_event(topic, payload, body, url, event_id)
        for delivery in deliveries:
            self.webhooks.add(delivery)
        self._dispatch_deliveries(to_send)
        return deliveries

    def _plan_event(self, topic, payload, body, url, event_id):
        with self._plan_lock:
            plan = self._plan
            make = lambda copy, **kw: WebhookDelivery(  # noqa: E731
                event_id, topic, url, body, payload, self.webhook_secret, copy=copy, **kw)
            if url is None:
                return [make(0, state="no_url")], []
            if plan.drop:
                plan.drop -= 1
                return [make(0, state="dropped")], []
            copies = 1
            if plan.duplicate:
                plan.duplicate -= 1
                copies = plan.duplicate_times
            deliveries = [make(i) for i in range(copies)]
            if plan.tamper:
                plan.tamper -= 1
                for delivery in deliveries:
                    delivery.secret = None if plan.tamper_unsigned else (plan.tamper_secret or delivery.secret)
                    delivery.timestamp_skew = plan.tamper_skew
            if not plan.reorder:
                return deliveries, deliveries
            for delivery in deliveries:
                delivery.state = "held"
            plan.held.extend(deliveries)
            plan.reorder -= 1
            if plan.reorder:
                return deliveries, []
            held, plan.held = plan.held, []
            return deliveries, list(reversed(held))

    def _dispatch_deliveries(self, deliveries: list[WebhookDelivery]) -> None:
        if not deliveries:
            return
        if not self.webhook_async:
            for delivery in deliveries:
                self.deliver(delivery)
            return
        thread = threading.Thread(target=lambda: [self.deliver(d) for d in deliveries], daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    def deliver(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Return ``delivery`` after posting it, retrying on failure with a bounded back-off."""
        delivery.state = "sending"
        for attempt in range(self.webhook_retries + 1):
            if attempt:
                time.sleep(self.webhook_backoff * 2 ** (attempt - 1))
            # the signature timestamp is computed per attempt, as real channels do
            timestamp = int(time.time()) + delivery.timestamp_skew
            headers = self.webhook_headers(delivery, timestamp)
            result = self.sender.send(delivery.url, delivery.body, headers, self.webhook_timeout)
            delivery.attempts.append(WebhookAttempt(time.time(), headers, result.status, result.body, result.error))
            self.log(f"webhook {delivery.topic} {delivery.event_id} -> {result.status or result.error}")
            if result.ok:
                delivery.state = "sent"
                return delivery
        delivery.state = "failed"
        return delivery

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Return whether every background delivery finished within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._threads_lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in threads if t.is_alive()]
        with self._threads_lock:
            self._threads.extend(alive)
        return not alive
