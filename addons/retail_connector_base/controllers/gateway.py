# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The inbound gateway: the one HTTP path by which channels' data enters Odoo.

It speaks HTTP only: it authenticates, reads and answers; storing is the inbox's
(``retail.event._receive``). Checks, in this order: a source refused too often lately (429);
backend exists and is active (404); body size against the cap, before reading it (413); body
text (400); signature or API key (401/403); inbound rate (429); topic (400/422). A webhook is
then stored with its idempotency key and answered at once (202, or 200 for a duplicate): its
payload is read by the job that applies it, where a payload its channel refuses becomes a failed
event naming the field. The partner API keeps synchronous validation (422 with the fields).
Its live reads (``GET /retail/api/v1/availability``, ``GET /retail/api/v1/orders/<id>``) take the
same checks without a body: source, API key, backend, inbound rate, then the key's scope (403).
Every refusal is recorded, repeated identical ones as one row with a count.
"""

import hashlib
import json
import logging
import re
import threading
import time
import weakref
from collections import deque
from urllib.parse import urlencode

import psycopg2
import psycopg2.errors
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from odoo import SUPERUSER_ID, api, http
from odoo.exceptions import ConcurrencyError
from odoo.http import request
from odoo.sql_db import Cursor

from odoo.addons.component.exception import NoComponentError

from ..lib.inbound import BadQuery, InboundError, MalformedBody, SchemaError, check_storable
from ..lib.signatures import SignatureError
from ..models.retail_event import error_signature, new_correlation_id
from ..models.retail_gateway import DEFAULT_MAX_BODY, inbound_handling

_logger = logging.getLogger(__name__)

GATEWAY_PATHS = ("/retail/webhook/", "/retail/api/")
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRET_HEADERS = re.compile(r"(authorization|signature|hmac|token|cookie|api-key|secret)", re.I)
# SKUs (and channel locations) one availability read may name
MAX_AVAILABILITY_SKUS = 50


def _max_body(_controller=None):
    """Return the largest body the gateway reads (``retail_connector.max_body_bytes``)."""
    try:
        return request.env["retail.backend"]._gateway_limits()[0]
    except (AttributeError, KeyError, RuntimeError):
        return DEFAULT_MAX_BODY


class Refusal(Exception):
    """Stops a request with an HTTP status, a stable code and a message for the sender."""

    def __init__(self, status, code, message, details=None, retry_after=None):
        super().__init__(message)
        self.status, self.code, self.details, self.retry_after = status, code, details or [], retry_after


class _RefusalBox:
    """Recent refusals per source address, in this process: a flood of refused requests from
    one address is answered 429 before costing a signature check or a database write each."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = {}

    def _recent(self, addr, now):
        times = self._seen.get(addr)
        if times is None:
            return None
        while times and times[0] < now - 60:
            times.popleft()
        if not times:
            del self._seen[addr]
            return None
        return times

    def blocked(self, addr, limit):
        """Return the seconds ``addr`` must wait, or 0 when it may be heard."""
        if limit <= 0 or addr not in self._seen:  # most sources were never refused: no lock taken
            return 0
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            if times is not None and len(times) >= limit:
                return max(1, int(times[0] + 60 - now) + 1)
        return 0

    def add(self, addr):
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:  # never grows without bound: the oldest addresses go first
                for key in list(self._seen)[:1000]:
                    del self._seen[key]
            self._seen.setdefault(addr, deque(maxlen=10000)).append(now)


class _Leases:
    """Inbound rate tokens this process took from the shared bucket for its next requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = {}

    def take(self, key):
        with self._lock:
            count, until = self._held.get(key, (0, 0.0))
            if count > 0 and until > time.monotonic():
                self._held[key] = (count - 1, until)
                return True
        return False

    def put(self, key, count):
        # unused tokens lapse after a second: a process never holds on to a burst it did not use
        with self._lock:
            self._held[key] = (count, time.monotonic() + 1.0)


REFUSALS = _RefusalBox()
LEASES = _Leases()
# component classes of the gateway's look-ups, per component registry (a new one after a module
# install): (collection, model, usage, backend type) -> class
_COMPONENT_CLASSES = weakref.WeakKeyDictionary()


def _component(work, usage):
    """Return the component of ``usage`` in ``work``, its class looked up once per process and channel."""
    classes = _COMPONENT_CLASSES.setdefault(work.components_registry, {})
    key = (work.collection._name, work.model_name, usage, getattr(work, "backend_type", None))
    cls = classes.get(key)
    if cls is None:
        component = work.component(usage=usage)
        classes[key] = type(component)
        return component
    return cls(work)


class InboundGateway(http.Controller):
    @http.route("/retail/webhook/<int:backend_id>", type="http", auth="none", methods=["POST"], csrf=False,
                save_session=False, readonly=False, retail_gateway=True)
    def webhook(self, backend_id, **_params):
        return self._handle(backend_id=backend_id)

    @http.route("/retail/api/v1/<string:resource>", type="http", auth="none", methods=["POST"], csrf=False,
                save_session=False, readonly=False, retail_gateway=True)
    def partner_api(self, resource, **_params):
        return self._handle(resource=resource)

    @http.route("/retail/api/v1/availability", type="http", auth="none", methods=["GET"], csrf=False,
                save_session=False, readonly=False, retail_gateway=True)
    def partner_availability(self, **_params):
        """The live available to sell of up to MAX_AVAILABILITY_SKUS SKUs (``sku``, repeated), per channel
        location or at the ``location`` given (repeatable)."""
        args = request.httprequest.args
        return self._read("availability:read", lambda backend: backend._api_availability(
            self._query_values(args, "sku", required=True, most=MAX_AVAILABILITY_SKUS),
            self._query_values(args, "location", most=MAX_AVAILABILITY_SKUS)))

    @http.route("/retail/api/v1/orders/<path:order_id>", type="http", auth="none", methods=["GET"], csrf=False,
                save_session=False, readonly=False, retail_gateway=True)
    def partner_order(self, order_id, **_params):
        """The state in Odoo of one channel order of the key's backend."""
        return self._read("orders:read", lambda backend: backend._api_order_state(order_id))

    # ------------------------------------------------------------------ request handling
    def _handle(self, backend_id=None, resource=None):
        return self._serve(lambda env, ctx: self._accept(env, ctx, backend_id, resource))

    def _read(self, scope, read):
        """Answer a partner API read: ``read(backend)`` returns the answer, on the API key's backend.

        Authenticated, rate limited and refused (and recorded) as the partner API's writes are;
        the key needs ``scope``. The read runs as the connector user of the backend's company.
        """
        def answer(env, ctx):
            ctx["topic"] = scope
            _env, backend, api_key = self._authenticate_api(env, ctx)
            self._require_scope(api_key, scope)
            try:
                payload = read(backend)
            except InboundError as exc:
                raise Refusal(exc.status, exc.code, str(exc), details=exc.details) from None
            api_key._mark_used()
            payload["correlation_id"] = ctx["correlation_id"]
            return self._json(200, payload, ctx["correlation_id"], cache=False)

        return self._serve(answer)

    def _serve(self, accept):
        """Answer a gateway request with ``accept(env, ctx)``; turn every refusal and failure into its answer."""
        correlation_id = self._correlation_id()
        ctx = {"backend": None, "body": b"", "topic": None, "correlation_id": correlation_id, "authenticated": False}
        try:
            env = self._env()
            return accept(env, ctx)
        except Refusal as refusal:
            return self._refuse(ctx, refusal)
        except NoComponentError:
            backend_type = ctx["backend"].backend_type if ctx["backend"] else "?"
            return self._refuse(ctx, Refusal(422, "unsupported_channel", "%s backends do not take this request" % backend_type))
        except (psycopg2.errors.SerializationFailure, psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable,
                ConcurrencyError):
            # a concurrent delivery of the same event (or creation of the connector user): Odoo
            # retries the whole request, which then finds the stored event and answers it as a duplicate
            raise
        except psycopg2.DataError as exc:
            # a value from the request PostgreSQL cannot store: the sender's fault, never worth a retry
            request.env.cr.rollback()
            return self._refuse(ctx, Refusal(422, "invalid_payload", "the request holds a value that cannot be stored: %s"
                                             % str(exc).strip().splitlines()[0]))
        except psycopg2.OperationalError as exc:
            _logger.warning("Inbound request refused, database unavailable: %s", exc)
            return self._json(503, {"error": "unavailable", "message": "database unavailable, retry later",
                                    "correlation_id": correlation_id}, correlation_id, retry_after=30)
        except Exception:  # noqa: BLE001 - no input may crash the gateway: the sender retries later
            _logger.exception("Inbound request failed (correlation %s)", correlation_id)
            request.env.cr.rollback()
            return self._refuse(ctx, Refusal(503, "internal_error", "the request could not be stored; retry later", retry_after=30))

    def _env(self):
        if not request.db:
            raise Refusal(404, "no_database", "no database selected on this server")
        return api.Environment(request.env.cr, SUPERUSER_ID, {})

    def _accept(self, env, ctx, backend_id, resource):
        self._check_source(env)
        api_key = None
        if resource is not None:
            api_key = self._api_key(env)
            backend_id = api_key.backend_id.id
        config = self._active_backend(env, ctx, backend_id)
        backend = ctx["backend"]
        body = ctx["body"] = self._read_body(env)
        text = self._body_text(body)
        headers = request.httprequest.headers
        if api_key is None:
            with backend.work_on("retail.backend", backend_type=config.backend_type) as work:
                authenticator = _component(work, "webhook.authenticator")
                handshake = authenticator.pre_answer(body, headers)
                if handshake is not None:
                    return self._json(200, handshake, ctx["correlation_id"])
                try:
                    authenticator.authenticate(body, headers, request.httprequest.url)
                except SignatureError as exc:
                    raise Refusal(401, "bad_signature", str(exc)) from None
        env = self._authenticated(env, ctx, config)
        backend = ctx["backend"]
        if api_key is not None:
            return self._accept_api(env, ctx, backend, config, api_key, resource, body, text)
        with backend.work_on("retail.event", backend_type=config.backend_type) as work:
            parser = _component(work, "event.parser")
            data = self._parse_json(text) if parser._body_needed_at_ack else None
            try:
                topic = ctx["topic"] = parser.topic_of(headers, None, data=data)
                if not topic:
                    raise Refusal(400, "missing_topic", "the request names no topic")
                inbound = parser.envelope(topic, headers, data, body)
                check_storable(inbound, parser._aggregate_field)
            except InboundError as exc:
                raise Refusal(exc.status, exc.code, str(exc), details=exc.details) from None
            except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:
                raise Refusal(422, "invalid_payload", "the payload could not be read: %s" % (exc or type(exc).__name__),
                              details=[{"field": "", "message": str(exc) or type(exc).__name__}]) from None
        self._check_policy(config, [inbound])
        [(event_id, duplicate)] = env["retail.event"]._receive(
            backend, [inbound], [text], "webhook", ctx["correlation_id"], backend_type=config.backend_type, coalesce=True,
            config=config,
            relay_headers=headers)
        kept = "ignored" if inbound_handling(config, inbound.domain)[0] == "ignore" else "accepted"
        answer = {"status": "duplicate" if duplicate else kept, "events": [event_id],
                  "correlation_id": ctx["correlation_id"]}
        if duplicate:
            answer["duplicates"] = [event_id]
        return self._json(200 if duplicate else 202, answer, ctx["correlation_id"])

    def _accept_api(self, env, ctx, backend, config, api_key, resource, body, text):
        """Store a partner API request, validated item by item before anything is stored.

        A batch (a JSON list) gives each item its own idempotency key: the request's
        ``Idempotency-Key`` (or ``X-Retail-Event-Id``) with the item's position, else the
        item's own digest. The answer lists each item's fate in ``items``.
        """
        headers = request.httprequest.headers
        data = self._parse_json(text)
        with backend.work_on("retail.event", backend_type=config.backend_type) as work:
            parser = work.component(usage="event.parser")
            try:
                topic = ctx["topic"] = parser.topic_of(headers, resource, data=data)
                self._require_scope(api_key, "%s:write" % {"stock-levels": "stock"}.get(resource, resource))
                batch = isinstance(data, list)
                items = data if batch else [data]
                if batch and not items:
                    raise SchemaError("the batch is empty", details=[{"field": "", "message": "no item"}])
                given = (headers.get("Idempotency-Key") or headers.get("X-Retail-Event-Id") or "").strip()
                inbound, payloads, problems = [], [], []
                for index, item in enumerate(items):
                    item_body = body if not batch else _item_body(item)
                    try:
                        event_in = parser.parse(topic, headers, item, item_body)
                        check_storable(event_in, parser._aggregate_field)
                    except InboundError as exc:
                        prefix = "[%d]" % index if batch else ""
                        problems.extend(dict(d, field=prefix + ("." if prefix and d.get("field") else "") + (d.get("field") or ""))
                                        for d in (exc.details or [{"field": "", "message": str(exc)}]))
                        continue
                    if batch:
                        event_in.idempotency_key = ("%s#%d" % (given, index)) if given else parser._digest_key(item_body)
                    inbound.append(event_in)
                    payloads.append(text if not batch else item_body.decode())
                if problems:
                    raise SchemaError("%d of %d items are not valid" % (len({p["field"].split(".")[0] for p in problems}),
                                                                         len(items)) if batch else problems[0]["message"],
                                      details=problems)
            except InboundError as exc:
                raise Refusal(exc.status, exc.code, str(exc), details=exc.details) from None
            except RecursionError:
                raise Refusal(422, "invalid_payload", "payload is nested too deeply",
                              details=[{"field": "", "message": "nested too deeply"}]) from None
        self._check_policy(config, inbound)
        results = env["retail.event"]._receive(backend, inbound, payloads, "api", ctx["correlation_id"],
                                               backend_type=config.backend_type, coalesce=True, config=config)
        api_key._mark_used()
        accepted = [event_id for event_id, duplicate in results if not duplicate]
        duplicates = [event_id for event_id, duplicate in results if duplicate]
        answer = {"status": "accepted" if accepted else "duplicate", "events": accepted + duplicates,
                  "correlation_id": ctx["correlation_id"],
                  "items": [{"index": index, "event": event_id, "status": "duplicate" if duplicate else "accepted"}
                            for index, (event_id, duplicate) in enumerate(results)]}
        if duplicates:
            answer["duplicates"] = duplicates
        return self._json(202 if accepted else 200, answer, ctx["correlation_id"])

    # ------------------------------------------------------------------ checks
    def _check_policy(self, config, inbound_events):
        """Refuse events of a domain whose sync policy is off and refuses them (it may keep them as ignored)."""
        for event_in in inbound_events:
            if inbound_handling(config, event_in.domain)[0] == "refuse":
                domain = event_in.domain or "orders"
                raise Refusal(409, "policy_off", "the %s sync policy of this backend is off: its %s events are not "
                              "taken" % (domain, domain))

    def _check_source(self, env):
        """Refuse (429) a source address refused too often lately, before anything else is looked at."""
        addr = request.httprequest.remote_addr or "?"
        wait = REFUSALS.blocked(addr, env["retail.backend"]._gateway_limits()[1])
        if wait:
            raise Refusal(429, "too_many_refusals", "too many refused requests from %s lately" % addr, retry_after=wait)

    def _active_backend(self, env, ctx, backend_id):
        """Return the gateway configuration of an active backend (404 otherwise); the backend goes in ``ctx``."""
        config = env["retail.backend"]._gateway_config(backend_id) if backend_id else None
        if not config or not config.active:
            raise Refusal(404, "unknown_backend", "no active backend %s on this server" % backend_id)
        ctx["backend"] = env["retail.backend"].browse(config.id)
        return config

    def _authenticated(self, env, ctx, config):
        """Return the environment of the rest of an authenticated request, after its inbound rate check (429).

        The rest runs as the connector user of the backend's company; ``ctx["backend"]`` follows.
        """
        ctx["authenticated"] = True
        env = env["res.company"]._retail_connector_env_of(config.company_id)
        ctx["backend"] = ctx["backend"].with_env(env)
        self._check_rate(env, config)
        return env

    def _authenticate_api(self, env, ctx):
        """Authenticate a partner API request without a body (a read): return (env, backend, API key).

        The checks of the partner API's writes, in their order: source refused too often (429),
        API key (401), backend active (404), inbound rate (429).
        """
        self._check_source(env)
        api_key = self._api_key(env)
        config = self._active_backend(env, ctx, api_key.backend_id.id)
        env = self._authenticated(env, ctx, config)
        return env, ctx["backend"], api_key

    def _api_key(self, env):
        auth = request.httprequest.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise Refusal(401, "missing_api_key", "send the API key as 'Authorization: Bearer <key>'")
        key = env["retail.api.key"]._authenticate(auth[7:].strip())
        if not key:
            raise Refusal(401, "bad_api_key", "the API key is unknown, revoked or expired")
        return key

    @staticmethod
    def _require_scope(api_key, scope):
        if not api_key._has_scope(scope):
            raise Refusal(403, "missing_scope", "the API key lacks the scope %s" % scope)

    @staticmethod
    def _query_values(args, name, required=False, most=None):
        """Return the distinct values of a repeatable query parameter, in their order (400 when wrong)."""
        values = list(dict.fromkeys(value.strip() for value in args.getlist(name)))
        if "" in values:
            raise Refusal(400, BadQuery.code, "the query parameter %s is empty" % name,
                          details=[{"field": name, "message": "is empty"}])
        if required and not values:
            raise Refusal(400, BadQuery.code, "the query parameter %s is required" % name,
                          details=[{"field": name, "message": "is required"}])
        if most and len(values) > most:
            raise Refusal(400, BadQuery.code, "at most %d values of %s in one request, %d given" % (most, name, len(values)),
                          details=[{"field": name, "message": "more than %d values" % most}])
        return values

    def _read_body(self, env):
        """Return the raw body, refusing it (413) when larger than the cap, before reading it."""
        cap = _max_body()
        length = request.httprequest.content_length
        if length is not None and length > cap:
            raise Refusal(413, "too_large", "body of %d bytes exceeds the %d bytes limit" % (length, cap))
        try:
            # the request's own limit is the cap (ir.http._pre_dispatch): a body without a length,
            # chunked, is read no further than that
            body = request.httprequest.get_data()
        except RequestEntityTooLarge:
            raise Refusal(413, "too_large", "body exceeds the %d bytes limit" % cap) from None
        except BadRequest as exc:
            # the client went away before sending the body it announced
            raise Refusal(400, MalformedBody.code, "the body could not be read: %s" % (exc.description or exc)) from None
        if not body and request.httprequest.form:
            # a form body was parsed by the framework before this handler (e.g. WooCommerce's ping)
            body = urlencode(list(request.httprequest.form.items(multi=True))).encode()
        if len(body) > cap:
            raise Refusal(413, "too_large", "body exceeds the %d bytes limit" % cap)
        return body

    @staticmethod
    def _body_text(body):
        """Return the body as text, refusing what PostgreSQL cannot store (400)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refusal(400, MalformedBody.code, "body is not UTF-8: %s" % exc) from None
        if "\x00" in text:
            raise Refusal(400, MalformedBody.code, "body contains a NUL character")
        return text

    def _check_rate(self, env, config):
        """Refuse (429) past the backend's inbound rate; tokens are taken from the shared bucket a
        few at a time, so that most requests under the limit cost no extra transaction."""
        rate = config.inbound_rate_limit
        if rate <= 0:
            return
        key = "inbound:%d" % config.id
        if LEASES.take(key):
            return
        burst = config.inbound_rate_burst or 1
        # a tenth of a second's worth, at most a quarter of the burst: what one process may hold
        lease = max(1, min(int(rate / 10), int(burst / 4)))
        granted, wait = env["retail.rate.bucket"]._take_many(key, rate, burst, lease)
        if granted:
            LEASES.put(key, granted - 1)
            return
        raise Refusal(429, "rate_limited", "inbound rate limit of %s requests/s exceeded" % rate,
                      retry_after=max(1, round(wait)))

    @staticmethod
    def _parse_json(text):
        try:
            return json.loads(text)
        except RecursionError:
            raise Refusal(400, MalformedBody.code, "body is nested too deeply") from None
        except ValueError as exc:
            raise Refusal(400, MalformedBody.code, "body is not valid JSON: %s" % exc) from None

    # ------------------------------------------------------------------ answers
    def _correlation_id(self):
        given = request.httprequest.headers.get("X-Correlation-Id", "")
        return given if _CORRELATION_RE.match(given) else new_correlation_id()

    def _refuse(self, ctx, refusal):
        if not ctx["authenticated"]:
            REFUSALS.add(request.httprequest.remote_addr or "?")
        self._record_rejection(ctx, refusal)
        payload = {"error": refusal.code, "message": str(refusal), "correlation_id": ctx["correlation_id"]}
        if refusal.details:
            payload["details"] = refusal.details
        return self._json(refusal.status, payload, ctx["correlation_id"], retry_after=refusal.retry_after)

    def _record_rejection(self, ctx, refusal):
        """Record a refusal in a transaction of its own (READ COMMITTED): the same refusal arriving on
        several workers at once is counted on one row, each upsert waiting for the one before, where the
        request's own transaction (REPEATABLE READ) would fail on the row another has just counted on."""
        try:
            with request.env.registry.cursor() as cr:
                if isinstance(cr, Cursor):  # a test cursor shares the test's transaction
                    cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
                env = api.Environment(cr, SUPERUSER_ID, {})
                keep_body = env["ir.config_parameter"].get_param("retail_connector.keep_rejected_bodies")
                body = ctx["body"] or b""
                headers = {k: v for k, v in request.httprequest.headers.items() if not _SECRET_HEADERS.search(k)}
                env["retail.rejected.request"]._record({
                    "backend_id": ctx["backend"].id if ctx["backend"] else None,
                    "path": request.httprequest.path,
                    "remote_addr": request.httprequest.remote_addr,
                    "status": refusal.status,
                    "code": refusal.code,
                    "reason": str(refusal),
                    "topic": ctx["topic"],
                    "content_length": request.httprequest.content_length or len(body),
                    "body_digest": hashlib.sha256(body).hexdigest() if body else None,
                    "body": body[:100000].decode("utf-8", "replace").replace("\x00", "") if keep_body and body else None,
                    "headers": json.dumps(headers, indent=1)[:4000],
                    "correlation_id": ctx["correlation_id"],
                }, signature=error_signature(str(refusal)))
        except Exception:  # noqa: BLE001 - the refusal must still be answered
            _logger.exception("Could not record a rejected request (correlation %s)", ctx["correlation_id"])

    @staticmethod
    def _json(status, payload, correlation_id, retry_after=None, cache=True):
        headers = [("X-Correlation-Id", correlation_id)]
        if retry_after:
            headers.append(("Retry-After", str(int(retry_after))))
        if not cache:  # a live figure: never answered from a cache on the way
            headers.append(("Cache-Control", "no-store"))
        return request.make_json_response(payload, headers=headers, status=status)


def refuse_too_large():
    """Answer and record a request whose body the framework refused as over the cap (413).

    The request's own transaction is not committed after an error: the refusal is recorded in
    a transaction of its own.
    """
    path = request.httprequest.path
    backend = None
    correlation_id = InboundGateway()._correlation_id()
    match = re.match(r"^/retail/webhook/(\d+)", path)
    with request.env.registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if match:
            backend = env["retail.backend"].browse(int(match.group(1))).exists() or None
        ctx = {"backend": backend, "body": b"", "topic": None, "correlation_id": correlation_id, "authenticated": False}
        cap = int(env["ir.config_parameter"].get_param("retail_connector.max_body_bytes", DEFAULT_MAX_BODY))
        refusal = Refusal(413, "too_large", "body of %s bytes exceeds the %d bytes limit" % (
            request.httprequest.content_length, cap))
        REFUSALS.add(request.httprequest.remote_addr or "?")
        original = request.env
        request.env = env  # _record_rejection writes through the request's environment
        try:
            InboundGateway()._record_rejection(ctx, refusal)
        finally:
            request.env = original
    return InboundGateway._json(413, {"error": refusal.code, "message": str(refusal), "correlation_id": correlation_id},
                                correlation_id)


def _item_body(item):
    return json.dumps(item, sort_keys=True, separators=(",", ":")).encode()
