# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The inbound gateway: the one HTTP path by which channels' data enters Odoo.

Checks, in this order: backend exists and is active (404); body size against the cap, before
reading it (413); signature or API key (401/403); inbound rate (429); JSON (400); known topic
and payload schema (422). Then the event is stored with its idempotency key and queued, and
the answer (202, or 200 for a duplicate) goes back at once. Every refusal is recorded.
"""

import hashlib
import json
import logging
import re
from urllib.parse import urlencode

import psycopg2
import psycopg2.errors

from odoo import SUPERUSER_ID, api, http
from odoo.exceptions import ConcurrencyError
from odoo.http import request

from odoo.addons.component.exception import NoComponentError

from ..lib.inbound import InboundError, MalformedBody, SchemaError
from ..lib.signatures import SignatureError
from ..models.retail_event import new_correlation_id

_logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 2 * 1024 * 1024
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRET_HEADERS = re.compile(r"(authorization|signature|hmac|token|cookie|api-key|secret)", re.I)


class Refusal(Exception):
    """Stops a request with an HTTP status, a stable code and a message for the sender."""

    def __init__(self, status, code, message, details=None, retry_after=None):
        super().__init__(message)
        self.status, self.code, self.details, self.retry_after = status, code, details or [], retry_after


class InboundGateway(http.Controller):
    @http.route("/retail/webhook/<int:backend_id>", type="http", auth="none", methods=["POST"], csrf=False, save_session=False, readonly=False)
    def webhook(self, backend_id, **_params):
        return self._handle(backend_id=backend_id)

    @http.route("/retail/api/v1/<string:resource>", type="http", auth="none", methods=["POST"], csrf=False, save_session=False, readonly=False)
    def partner_api(self, resource, **_params):
        return self._handle(resource=resource)

    # ------------------------------------------------------------------ request handling
    def _handle(self, backend_id=None, resource=None):
        correlation_id = self._correlation_id()
        ctx = {"backend": None, "body": b"", "topic": None, "correlation_id": correlation_id}
        try:
            env = self._env()
            return self._accept(env, ctx, backend_id, resource)
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
        except psycopg2.OperationalError as exc:
            _logger.warning("Inbound request refused, database unavailable: %s", exc)
            return self._json(503, {"error": "unavailable", "message": "database unavailable, retry later",
                                    "correlation_id": correlation_id}, correlation_id, retry_after=30)
        except Exception:  # noqa: BLE001 - no input may crash the gateway: the sender retries later
            _logger.exception("Inbound request failed (correlation %s)", correlation_id)
            return self._refuse(ctx, Refusal(503, "internal_error", "the request could not be stored; retry later", retry_after=30))

    def _env(self):
        if not request.db:
            raise Refusal(404, "no_database", "no database selected on this server")
        return api.Environment(request.env.cr, SUPERUSER_ID, {})

    def _accept(self, env, ctx, backend_id, resource):
        api_key = None
        if resource is not None:
            api_key = self._api_key(env)
            backend = api_key.backend_id
        else:
            backend = env["retail.backend"].browse(backend_id).exists()
        if not backend or not backend.active:
            raise Refusal(404, "unknown_backend", "no active backend %s on this server" % backend_id)
        ctx["backend"] = backend
        body = ctx["body"] = self._read_body(env)
        headers = request.httprequest.headers
        with backend.work_on("retail.backend") as work:
            if api_key is None:
                authenticator = work.component(usage="webhook.authenticator")
                handshake = authenticator.pre_answer(body, headers)
                if handshake is not None:
                    return self._json(200, handshake, ctx["correlation_id"])
                try:
                    authenticator.authenticate(body, headers, request.httprequest.url)
                except SignatureError as exc:
                    raise Refusal(401, "bad_signature", str(exc)) from None
        # authenticated: the rest runs as the connector user of the backend's company
        env = env["retail.backend"]._connector_env(backend)
        backend = ctx["backend"] = backend.with_env(env)
        self._check_rate(env, backend)
        data = self._parse_json(body)
        with backend.work_on("retail.event") as work:
            parser = work.component(usage="event.parser")
            try:
                topic = ctx["topic"] = parser.topic_of(headers, resource, data=data)
                if api_key is not None:
                    self._check_scope(api_key, resource)
                if not topic:
                    raise Refusal(400, "missing_topic", "the request names no topic")
                events = data if (api_key is not None and isinstance(data, list)) else [data]
                inbound = [parser.parse(topic, headers, item, body if len(events) == 1 else _item_body(item)) for item in events]
                for event_in in inbound:
                    _check_storable(event_in, parser._aggregate_field)
            except RecursionError:
                raise Refusal(422, "invalid_payload", "payload is nested too deeply",
                              details=[{"field": "", "message": "nested too deeply"}]) from None
            except InboundError as exc:
                raise Refusal(exc.status, exc.code, str(exc), details=exc.details) from None
        source = "api" if api_key is not None else "webhook"
        Event = env["retail.event"]
        accepted, duplicates = [], []
        for item, event_in in zip(events, inbound, strict=True):
            payload = body.decode() if len(events) == 1 else json.dumps(item)
            event_id, duplicate = Event._insert_received(backend, event_in, payload, source, ctx["correlation_id"])
            (duplicates if duplicate else accepted).append(event_id)
        if accepted:
            Event.browse(accepted)._enqueue()
        if api_key is not None:
            api_key.sudo().last_used_at = http.request.env.cr.now()
        status = 202 if accepted else 200
        answer = {"status": "accepted" if accepted else "duplicate", "events": accepted + duplicates,
                  "correlation_id": ctx["correlation_id"]}
        if duplicates:
            answer["duplicates"] = duplicates
        return self._json(status, answer, ctx["correlation_id"])

    # ------------------------------------------------------------------ checks
    def _api_key(self, env):
        auth = request.httprequest.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise Refusal(401, "missing_api_key", "send the API key as 'Authorization: Bearer <key>'")
        key = env["retail.api.key"]._authenticate(auth[7:].strip())
        if not key:
            raise Refusal(401, "bad_api_key", "the API key is unknown, revoked or expired")
        return key

    def _check_scope(self, api_key, resource):
        scope = "%s:write" % {"stock-levels": "stock"}.get(resource, resource)
        if not api_key._has_scope(scope):
            raise Refusal(403, "missing_scope", "the API key lacks the scope %s" % scope)

    def _read_body(self, env):
        """Return the raw body, refusing it (413) when larger than the cap, before reading it."""
        cap = int(env["ir.config_parameter"].get_param("retail_connector.max_body_bytes", DEFAULT_MAX_BODY))
        length = request.httprequest.content_length
        if length is not None and length > cap:
            raise Refusal(413, "too_large", "body of %d bytes exceeds the %d bytes limit" % (length, cap))
        body = request.httprequest.stream.read(cap + 1) if length is None else request.httprequest.get_data()
        if not body and request.httprequest.form:
            # a form body was parsed by the framework before this handler (e.g. WooCommerce's ping)
            body = urlencode(list(request.httprequest.form.items(multi=True))).encode()
        if len(body) > cap:
            raise Refusal(413, "too_large", "body exceeds the %d bytes limit" % cap)
        return body

    def _check_rate(self, env, backend):
        if backend.inbound_rate_limit <= 0:
            return
        wait = env["retail.rate.bucket"]._take(
            "inbound:%d" % backend.id, backend.inbound_rate_limit, backend.inbound_rate_burst or 1
        )
        if wait:
            raise Refusal(429, "rate_limited", "inbound rate limit of %s requests/s exceeded" % backend.inbound_rate_limit,
                          retry_after=max(1, round(wait)))

    @staticmethod
    def _parse_json(body):
        try:
            return json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Refusal(400, MalformedBody.code, "body is not UTF-8: %s" % exc) from None
        except RecursionError:
            raise Refusal(400, MalformedBody.code, "body is nested too deeply") from None
        except ValueError as exc:
            raise Refusal(400, MalformedBody.code, "body is not valid JSON: %s" % exc) from None

    # ------------------------------------------------------------------ answers
    def _correlation_id(self):
        given = request.httprequest.headers.get("X-Correlation-Id", "")
        return given if _CORRELATION_RE.match(given) else new_correlation_id()

    def _refuse(self, ctx, refusal):
        self._record_rejection(ctx, refusal)
        payload = {"error": refusal.code, "message": str(refusal), "correlation_id": ctx["correlation_id"]}
        if refusal.details:
            payload["details"] = refusal.details
        return self._json(refusal.status, payload, ctx["correlation_id"], retry_after=refusal.retry_after)

    def _record_rejection(self, ctx, refusal):
        try:
            with request.env.cr.savepoint():
                env = api.Environment(request.env.cr, SUPERUSER_ID, {})
                keep_body = env["ir.config_parameter"].get_param("retail_connector.keep_rejected_bodies")
                body = ctx["body"] or b""
                headers = {k: v for k, v in request.httprequest.headers.items() if not _SECRET_HEADERS.search(k)}
                env["retail.rejected.request"].create(
                    {
                        "backend_id": ctx["backend"].id if ctx["backend"] else False,
                        "path": request.httprequest.path,
                        "remote_addr": request.httprequest.remote_addr,
                        "status": refusal.status,
                        "code": refusal.code,
                        "reason": str(refusal),
                        "topic": ctx["topic"],
                        "content_length": request.httprequest.content_length or len(body),
                        "body_digest": hashlib.sha256(body).hexdigest() if body else False,
                        "body": body[:100000].decode("utf-8", "replace") if keep_body and body else False,
                        "headers": json.dumps(headers, indent=1)[:4000],
                        "correlation_id": ctx["correlation_id"],
                    }
                )
        except Exception:  # noqa: BLE001 - the refusal must still be answered
            _logger.exception("Could not record a rejected request (correlation %s)", ctx["correlation_id"])

    @staticmethod
    def _json(status, payload, correlation_id, retry_after=None):
        headers = [("X-Correlation-Id", correlation_id)]
        if retry_after:
            headers.append(("Retry-After", str(int(retry_after))))
        return request.make_json_response(payload, headers=headers, status=status)


def _check_storable(event_in, aggregate_field):
    """Refuse identifiers PostgreSQL cannot store (NUL) or index (too long), naming the field."""
    names = {"aggregate_key": aggregate_field, "idempotency_key": "event id", "topic": "topic"}
    for attr, field in names.items():
        value = getattr(event_in, attr) or ""
        problem = None
        if "\x00" in value:
            problem = "contains a NUL character"
        elif len(value) > 255:
            problem = "is longer than 255 characters"
        if problem:
            raise SchemaError("%s %s" % (field, problem), details=[{"field": field, "message": problem}])


def _item_body(item):
    return json.dumps(item, sort_keys=True, separators=(",", ":")).encode()
