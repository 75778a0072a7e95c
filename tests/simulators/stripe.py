"""Stripe simulator: one account's charges, refunds, disputes, balance transactions and payouts.

A WooCommerce shop takes card payments through Stripe (the WooCommerce Stripe Gateway): each
paid order is a charge whose ``metadata.order_id`` is the shop's order number, refunds made
from WooCommerce carry the same metadata, and Stripe pays the balance out to the merchant's
bank account. The simulator speaks Stripe's public REST API on loopback::

    GET  /v1/balance
    GET  /v1/payouts                  arrival_date[gte|gt|lte|lt], created[...], status, limit,
                                      starting_after, ending_before, expand[]
    GET  /v1/payouts/<id>             POST /v1/payouts (amount, currency, description, metadata[...])
    GET  /v1/balance_transactions     payout, type, source, created[...], limit, starting_after,
                                      ending_before, expand[] (data.source)
    GET  /v1/balance_transactions/<id>
    GET  /v1/charges, /v1/charges/<id>, /v1/refunds/<id>, /v1/disputes/<id>

as Stripe does: form-encoded parameters with brackets (``created[gte]=``, ``expand[]=`` or
``expand[0]=``, ``metadata[order_id]=``), ``Authorization: Bearer <secret key>`` (or the key as
HTTP Basic user name), list objects ``{"object": "list", "data", "has_more", "url"}`` newest
first, amounts as integers in the currency's minor unit (zero-decimal currencies counted in
units), a ``Request-Id`` header on every answer and errors as ``{"error": {"type", "code",
"message", "param", "doc_url", "request_id"}}``. A rate-limited request gets 429 with error code
``rate_limit`` and no ``Retry-After``, as Stripe answers; injected faults (``inject``) answer in
that shape too.

Webhooks are Stripe events ``{"id": "evt_...", "object": "event", "type", "created",
"api_version", "data": {"object"}, "livemode", "pending_webhooks", "request"}`` POSTed to the
endpoint for the enabled event types only, signed in ``Stripe-Signature: t=<unix>,v1=<hex
HMAC-SHA256 of "<t>.<body>">`` with the endpoint's signing secret (``whsec_...``).

For the demo, from the ``tests/`` directory::

    python -m simulators.stripe --port 8807 --key sk_test_... --webhook-url URL --webhook-secret whsec_... \\
        --woocommerce-url http://127.0.0.1:8803 --woocommerce-key ck --woocommerce-secret cs --payout-every 120
"""

from __future__ import annotations

import argparse
import base64
import copy
import hmac
import itertools
import json
import random
import re
import signal
import sys
import threading
import time
import urllib.request
import uuid
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl

from .base import HttpError, Response, Simulator, WebhookDelivery, hmac_sha256_hex, route

__all__ = ["StripeSimulator", "StripeError", "decode_form", "main", "stripe_signature"]

API_VERSION = "2025-10-29.clover"
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
MAX_LIMIT = 100
DEFAULT_EVENTS = ("payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled",
                  "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                  "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
RATE_LIMIT_MESSAGE = ("Too many requests hit the API too quickly. We recommend an exponential backoff of your "
                      "requests.")
DOC = "https://stripe.com/docs/error-codes/"


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    """Return the ``Stripe-Signature`` value of ``body`` signed at ``timestamp``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return f"t={int(timestamp)},v1={hmac_sha256_hex(secret, signed)}"


def exponent(currency: str) -> int:
    """Return the decimals Stripe's integer amounts in ``currency`` count."""
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def minor(amount, currency: str) -> int:
    """Return ``amount`` in major units as Stripe's integer amount."""
    return int((Decimal(str(amount)).scaleb(exponent(currency))).to_integral_value(ROUND_HALF_UP))


# --------------------------------------------------------------------------- form decoding and errors

def decode_form(pairs) -> dict:
    """Return Stripe's bracket-encoded parameters as nested data.

    ``a[b]=1`` is ``{"a": {"b": "1"}}``; ``a[]=x&a[]=y`` and ``a[0]=x&a[1]=y`` are lists.
    """
    result: dict = {}
    for key, value in pairs:
        parts = re.findall(r"\[([^\]]*)\]", key)
        head = key.split("[", 1)[0]
        path = [head] + parts
        node = result
        for index, part in enumerate(path):
            last = index == len(path) - 1
            following = None if last else path[index + 1]
            listy = following is not None and (following == "" or following.isdigit())
            if last:
                if isinstance(node, list):
                    node.append(value)
                else:
                    node[part] = value
                break
            if isinstance(node, list):
                if part == "" or int(part) >= len(node):
                    node.append([] if listy else {})
                node = node[-1] if part == "" else node[int(part)]
            else:
                node = node.setdefault(part, [] if listy else {})
    return result


class StripeError(HttpError):
    """An error answered in Stripe's shape ``{"error": {...}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers=None):
        super().__init__(status, type, message, headers=headers)
        self.type, self.code, self.param = type, code, param

    def response(self) -> Response:
        return Response(self.status, self.body(), dict(self.headers))

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error.update(code=self.code, doc_url=DOC + self.code)
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _missing(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


class StripeSimulator(Simulator):
    """A Stripe account settling in one currency, with the WooCommerce shop's payments."""

    name = "stripe"

    def __init__(self, *, secret_key: str = "sk_test_simulator", webhook_secret: str = "whsec_simulator",
                 currency: str = "eur", site_url: str = "http://127.0.0.1:8803", site_name: str = "Outlet",
                 fee_percent: str = "1.5", fee_fixed: str = "0.25", dispute_fee: str = "15.00",
                 enabled_events=DEFAULT_EVENTS, seed: int | None = None, **options):
        """``options`` go to Simulator (port, webhook_url, webhook_retries...)."""
        super().__init__(auth_token=None, webhook_secret=webhook_secret, **options)
        self.secret_key = secret_key
        self.currency = currency.lower()
        self.site_url, self.site_name = site_url, site_name
        self.fee_percent, self.fee_fixed, self.dispute_fee = Decimal(fee_percent), Decimal(fee_fixed), Decimal(dispute_fee)
        self.enabled_events = set(enabled_events)
        self.random = random.Random(seed)
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.payouts: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.events: list[dict] = []
        self._clock_offset = 0

    # ----------------------------------------------------------------- helpers

    def now(self) -> int:
        """Return the account's clock in Unix seconds (``advance`` moves it)."""
        return int(time.time()) + self._clock_offset

    def advance(self, seconds: int) -> None:
        """Move the account's clock forward (objects created later are dated later)."""
        self._clock_offset += int(seconds)

    def _id(self, prefix: str) -> str:
        # Stripe ids: a prefix and 24 characters; a sequence keeps creation order readable
        return "%s_%s%08d" % (prefix, uuid.UUID(int=self.random.getrandbits(128)).hex[:16], next(self._seq))

    def _fee(self, amount: int, currency: str) -> int:
        return int((Decimal(amount) * self.fee_percent / 100).to_integral_value(ROUND_HALF_UP)) + minor(self.fee_fixed, currency)

    def _transaction(self, kind: str, amount: int, source: str, *, fee: int = 0, category: str | None = None,
                     description: str | None = None, fee_details=None, exchange_rate=None, created=None) -> dict:
        created = created or self.now()
        txn = {
            "id": self._id("txn"), "object": "balance_transaction", "amount": amount, "available_on": created,
            "balance_type": "payments", "created": created, "currency": self.currency, "description": description,
            "exchange_rate": exchange_rate, "fee": fee, "fee_details": fee_details or [], "net": amount - fee,
            "reporting_category": category or kind, "source": source, "status": "available", "type": kind,
            "_payout": None,
        }
        self.transactions[txn["id"]] = txn
        return txn

    def _fee_details(self, fee: int, description: str = "Stripe processing fees") -> list[dict]:
        return [{"amount": fee, "application": None, "currency": self.currency, "description": description,
                 "type": "stripe_fee"}] if fee else []

    # ----------------------------------------------------------------- account activity

    def charge(self, order_id, amount, currency: str | None = None, *, exchange_rate=None, charge_id: str | None = None,
               customer: str = "Valued Customer", email: str | None = None) -> dict:
        """Return a captured card charge for a WooCommerce order, as the Stripe Gateway makes it.

        ``amount`` is in major units of ``currency`` (the account's by default); a foreign
        ``currency`` needs ``exchange_rate`` (settlement units per presented unit).
        """
        with self._lock:
            currency = (currency or self.currency).lower()
            presented = minor(amount, currency)
            if currency != self.currency and exchange_rate is None:
                raise ValueError(f"a charge in {currency} settles in {self.currency}: give its exchange_rate")
            rate = Decimal(str(exchange_rate)) if currency != self.currency else None
            settled = presented if rate is None else int(
                (Decimal(presented).scaleb(-exponent(currency)) * rate).scaleb(exponent(self.currency))
                .to_integral_value(ROUND_HALF_UP))
            fee = self._fee(settled, self.currency)
            cid = charge_id or self._id("ch")
            txn = self._transaction("charge", settled, cid, fee=fee, fee_details=self._fee_details(fee),
                                    exchange_rate=float(rate) if rate is not None else None,
                                    description=f"{self.site_name} - Order {order_id}")
            charge = {
                "id": cid, "object": "charge", "amount": presented, "amount_captured": presented, "amount_refunded": 0,
                "balance_transaction": txn["id"], "captured": True, "created": txn["created"], "currency": currency,
                "description": f"{self.site_name} - Order {order_id}", "disputed": False, "livemode": False,
                "metadata": {"customer_name": customer, "customer_email": email or "customer@example.com",
                             "site_url": self.site_url, "order_id": str(order_id), "payment_type": "single"},
                "paid": True, "payment_intent": self._id("pi"), "refunded": False, "status": "succeeded",
                "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{cid}/refunds"},
            }
            self.charges[cid] = charge
            return copy.deepcopy(charge)

    def refund(self, charge_id: str, amount=None, *, reason: str | None = None, with_metadata: bool = True) -> dict:
        """Return a refund of a charge (all of what is left by default; ``amount`` in major units).

        ``with_metadata``: refunds made from WooCommerce carry the order's metadata; refunds made
        in Stripe's dashboard carry none.
        """
        with self._lock:
            charge = self.charges.get(charge_id)
            if charge is None:
                raise KeyError(charge_id)
            left = charge["amount"] - charge["amount_refunded"]
            presented = left if amount is None else minor(amount, charge["currency"])
            if presented <= 0 or presented > left:
                raise ValueError(f"refund of {presented} exceeds what is left on {charge_id} ({left})")
            charge_txn = self.transactions[charge["balance_transaction"]]
            rate = charge_txn["exchange_rate"]
            settled = presented if rate is None else int(
                (Decimal(presented).scaleb(-exponent(charge["currency"])) * Decimal(str(rate)))
                .scaleb(exponent(self.currency)).to_integral_value(ROUND_HALF_UP))
            rid = self._id("re")
            txn = self._transaction("refund", -settled, rid, exchange_rate=rate,
                                    description="REFUND FOR CHARGE (%s)" % charge["description"])
            refund = {
                "id": rid, "object": "refund", "amount": presented, "balance_transaction": txn["id"], "charge": charge_id,
                "created": txn["created"], "currency": charge["currency"], "payment_intent": charge["payment_intent"],
                "reason": reason, "status": "succeeded",
                "metadata": ({"order_id": charge["metadata"]["order_id"], "site_url": self.site_url}
                             if with_metadata else {}),
            }
            self.refunds[rid] = refund
            charge["amount_refunded"] += presented
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge["refunds"]["data"].insert(0, refund)
            return copy.deepcopy(refund)

    def dispute(self, charge_id: str, *, reason: str = "fraudulent", notify: bool = True) -> dict:
        """Return a dispute the cardholder's bank opened on a charge: the amount and the dispute fee
        are withdrawn from the balance; sends ``charge.dispute.created`` and ``...funds_withdrawn``."""
        with self._lock:
            charge = self.charges[charge_id]
            charge_txn = self.transactions[charge["balance_transaction"]]
            did = self._id("du")
            fee = minor(self.dispute_fee, self.currency)
            txn = self._transaction("adjustment", -charge_txn["amount"], did, fee=fee, category="dispute",
                                    fee_details=self._fee_details(fee, "Dispute fee"),
                                    description="Chargeback withdrawal for %s" % charge_id)
            dispute = {
                "id": did, "object": "dispute", "amount": charge["amount"], "currency": charge["currency"],
                "balance_transactions": [copy.deepcopy(_public(txn))], "charge": charge_id, "created": txn["created"],
                "evidence_details": {"due_by": txn["created"] + 7 * 86400, "has_evidence": False, "past_due": False,
                                     "submission_count": 0},
                "is_charge_refundable": False, "livemode": False, "metadata": {},
                "payment_intent": charge["payment_intent"], "reason": reason, "status": "needs_response",
            }
            self.disputes[did] = dispute
            charge["disputed"] = True
            snapshot = copy.deepcopy(dispute)
        if notify:
            self.emit("charge.dispute.created", snapshot)
            self.emit("charge.dispute.funds_withdrawn", snapshot)
        return snapshot

    def adjust(self, amount, description: str = "Adjustment") -> dict:
        """Return a manual adjustment of the balance (``amount`` in major units, signed)."""
        with self._lock:
            return _public(self._transaction("adjustment", minor(amount, self.currency), self._id("ia"),
                                             description=description))

    def pay_out(self, *, status: str = "paid", arrival_date: int | None = None, notify: bool = True,
                failure_code: str = "account_closed") -> dict:
        """Return an automatic payout of every available transaction not yet paid out.

        Sends ``payout.created`` then ``payout.paid`` (``status="paid"``), ``payout.failed``
        (``status="failed"``: the money comes back to the balance) or nothing more (``in_transit``).
        """
        with self._lock:
            waiting = [t for t in self.transactions.values() if t["_payout"] is None and t["type"] != "payout"]
            if not waiting:
                raise ValueError("no balance transaction waits for a payout")
            total = sum(t["net"] for t in waiting)
            pid = self._id("po")
            created = self.now()
            own = self._transaction("payout", -total, pid, description="STRIPE PAYOUT", created=created)
            for txn in waiting + [own]:
                txn["_payout"] = pid
            payout = {
                "id": pid, "object": "payout", "amount": total, "arrival_date": arrival_date or created + 2 * 86400,
                "automatic": True, "balance_transaction": own["id"], "created": created, "currency": self.currency,
                "description": "STRIPE PAYOUT", "destination": "ba_simulatedbank", "failure_balance_transaction": None,
                "failure_code": None, "failure_message": None, "livemode": False, "metadata": {}, "method": "standard",
                "reconciliation_status": "completed", "source_type": "card", "statement_descriptor": None,
                "status": "in_transit", "type": "bank_account",
            }
            self.payouts[pid] = payout
            created_snapshot = copy.deepcopy(payout)
        if notify:
            self.emit("payout.created", created_snapshot)
        if status != "in_transit":
            self.settle_payout(pid, status, notify=notify, failure_code=failure_code)
        return copy.deepcopy(self.payouts[pid])

    def settle_payout(self, payout_id: str, status: str = "paid", *, notify: bool = True,
                      failure_code: str = "account_closed") -> dict:
        """Return a payout after it reached the bank (``paid``) or came back (``failed``)."""
        with self._lock:
            payout = self.payouts[payout_id]
            payout["status"] = status
            if status == "failed":
                back = self._transaction("payout_failure", payout["amount"], payout_id, description="Payout failure")
                back["_payout"] = None  # returned to the balance, paid out again later
                payout.update(failure_code=failure_code, failure_balance_transaction=back["id"],
                              failure_message="The bank account has been closed.")
            snapshot = copy.deepcopy(payout)
        if notify:
            self.emit("payout.%s" % status, snapshot)
        return snapshot

    # ----------------------------------------------------------------- events and webhooks

    def emit(self, event_type: str, obj: dict) -> dict:
        """Return the event of ``obj``; it is sent when the endpoint enables its type."""
        event = {
            "id": self._id("evt"), "object": "event", "api_version": API_VERSION, "created": self.now(),
            "data": {"object": _public(obj)}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
        }
        with self._lock:
            self.events.append(event)
        if event_type in self.enabled_events:
            self.send_webhook(event_type, event, event_id=event["id"])
        return event

    def resend(self, event_id: str) -> list[WebhookDelivery]:
        """Send an event again (Stripe retries a delivery it got no 2xx for)."""
        event = next(e for e in self.events if e["id"] == event_id)
        return self.send_webhook(event["type"], event, event_id=event["id"])

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "Cache-Control": "no-cache"}
        if delivery.secret:
            headers["Stripe-Signature"] = stripe_signature(delivery.secret, delivery.body, timestamp)
        return headers

    # ----------------------------------------------------------------- HTTP plumbing

    def _dispatch(self, request):
        request_id = "req_%s" % uuid.uuid4().hex[:14]
        try:
            self._authenticate(request)
            request.form = decode_form([(k, v) for k, values in request.query_lists.items() for v in values])
            if request.body and request.method == "POST":
                try:
                    body_pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
                except (UnicodeDecodeError, ValueError):
                    raise StripeError(400, "Invalid request: the body must be application/x-www-form-urlencoded "
                                           "parameters") from None
                request.form.update(decode_form(body_pairs))
            response = super()._dispatch(request)
        except StripeError as exc:
            response = Response(exc.status, exc.body(), exc.headers)
        if response.status in (404, 405) and isinstance(response.body, dict) and isinstance(response.body.get("error"), str):
            response = Response(404, StripeError(404, "Unrecognized request URL (%s: %s). Please see "
                                                      "https://stripe.com/docs or we can help at "
                                                      "https://support.stripe.com/." % (request.method, request.path))
                                .body())
        if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict):
            response.body["error"]["request_id"] = request_id
        response.headers.setdefault("Request-Id", request_id)
        response.headers.setdefault("Stripe-Version", request.header("Stripe-Version") or API_VERSION)
        return response

    def _authenticate(self, request) -> None:
        value = request.header("Authorization") or ""
        scheme, _, given = value.partition(" ")
        key = None
        if scheme.lower() == "bearer":
            key = given.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(given.strip()).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = None
        if not key:
            raise StripeError(401, "You did not provide an API key. You need to provide your API key in the "
                                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                   "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                                   "or we can help at https://support.stripe.com/.")
        if not hmac.compare_digest(key.encode(), self.secret_key.encode()):
            raise StripeError(401, "Invalid API Key provided: %s" % _masked(key))

    def _throttle(self):
        limited, headers = super()._throttle()
        if limited is None:
            return None, headers
        # Stripe's 429 carries no Retry-After: clients back off on their own
        request_id = "req_%s" % uuid.uuid4().hex[:14]
        body = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit").body()
        body["error"]["request_id"] = request_id
        return Response(429, body, {"Request-Id": request_id}), {}

    def inject(self, method, path_prefix, status=None, times=1, retry_after=None, delay=None, drop_connection=False,
               body=None, headers=None):
        """Queue a fault (see Simulator.inject); status answers come in Stripe's error shape."""
        if status is not None and body is None:
            if status == 429:
                body = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit").body()
            elif status >= 500:
                body = StripeError(status, "An unknown error occurred", type="api_error").body()
            else:
                body = StripeError(status, "Injected error").body()
        return super().inject(method, path_prefix, status, times, retry_after, delay, drop_connection, body, headers)

    # ----------------------------------------------------------------- lists

    def _list(self, request, items, url: str, render) -> dict:
        form = request.form
        limit = _int(form.get("limit"), "limit", 10)
        if not 1 <= limit <= MAX_LIMIT:
            raise StripeError(400, "Invalid integer: %s. This value must be between 1 and 100." % limit, param="limit")
        items = sorted(items, key=lambda o: (o["created"], o["id"]), reverse=True)
        after, before = form.get("starting_after"), form.get("ending_before")
        if after and before:
            raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
        ids = [o["id"] for o in items]
        if after:
            if after not in ids:
                raise _missing(url.rsplit("/", 1)[-1].rstrip("s").replace("_", " "), after, "starting_after")
            page_from = ids.index(after) + 1
            page = items[page_from:page_from + limit]
            has_more = page_from + limit < len(items)
        elif before:
            if before not in ids:
                raise _missing(url.rsplit("/", 1)[-1].rstrip("s").replace("_", " "), before, "ending_before")
            end = ids.index(before)
            page = items[max(0, end - limit):end]
            has_more = end - limit > 0
        else:
            page, has_more = items[:limit], len(items) > limit
        expand = _expansions(form, list_prefix=True)
        return {"object": "list", "data": [render(o, expand) for o in page], "has_more": has_more, "url": url}

    def _window(self, form, name: str, items):
        window = form.get(name)
        if window is None:
            return items
        if not isinstance(window, dict):
            value = _int(window, name, None)
            return [o for o in items if o[name] == value]
        ops = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}
        for op, raw in window.items():
            if op not in ops:
                raise StripeError(400, "Received unknown parameter: %s[%s]" % (name, op), param=f"{name}[{op}]")
            bound = _int(raw, f"{name}[{op}]", None)
            items = [o for o in items if ops[op](o[name], bound)]
        return items

    def _render_txn(self, txn: dict, expand) -> dict:
        data = _public(txn)
        for path in expand:
            if path != "source":
                raise StripeError(400, "This property cannot be expanded (%s)." % path, param="expand")
            data["source"] = self._object_of(txn["source"]) or txn["source"]
        return data

    def _render_payout(self, payout: dict, expand) -> dict:
        data = _public(payout)
        for path in expand:
            if path != "balance_transaction":
                raise StripeError(400, "This property cannot be expanded (%s)." % path, param="expand")
            data["balance_transaction"] = _public(self.transactions[payout["balance_transaction"]])
        return data

    def _object_of(self, ident: str):
        for store in (self.charges, self.refunds, self.disputes, self.payouts):
            if ident in store:
                return _public(store[ident])
        return None

    # ----------------------------------------------------------------- API

    @route("GET", "/v1/balance")
    def api_balance(self, request):
        """Return the available and pending balance."""
        with self._lock:
            available = sum(t["net"] for t in self.transactions.values() if t["_payout"] is None)
        return {"object": "balance", "livemode": False,
                "available": [{"amount": available, "currency": self.currency, "source_types": {"card": available}}],
                "pending": [{"amount": 0, "currency": self.currency, "source_types": {"card": 0}}]}

    @route("GET", "/v1/payouts")
    def api_list_payouts(self, request):
        """Return payouts, newest first, by arrival date, creation time and status."""
        form = request.form
        with self._lock:
            items = list(self.payouts.values())
            items = self._window(form, "arrival_date", items)
            items = self._window(form, "created", items)
            if form.get("status"):
                items = [p for p in items if p["status"] == form["status"]]
            return self._list(request, items, "/v1/payouts", self._render_payout)

    @route("POST", "/v1/payouts")
    def api_create_payout(self, request):
        """Create a manual payout of ``amount`` (minor units) from the available balance."""
        form = request.form
        amount = _int(form.get("amount"), "amount", None)
        if amount is None:
            raise StripeError(400, "Missing required param: amount.", code="parameter_missing", param="amount")
        currency = (form.get("currency") or "").lower()
        if not currency:
            raise StripeError(400, "Missing required param: currency.", code="parameter_missing", param="currency")
        with self._lock:
            available = sum(t["net"] for t in self.transactions.values() if t["_payout"] is None)
            if currency != self.currency or amount <= 0 or amount > available:
                raise StripeError(400, "You have insufficient funds in your Stripe account for this transfer.",
                                  code="balance_insufficient", param="amount")
            pid, created = self._id("po"), self.now()
            own = self._transaction("payout", -amount, pid, description=form.get("description") or "STRIPE PAYOUT")
            own["_payout"] = pid
            payout = {
                "id": pid, "object": "payout", "amount": amount, "arrival_date": created + 86400, "automatic": False,
                "balance_transaction": own["id"], "created": created, "currency": currency,
                "description": form.get("description"), "destination": "ba_simulatedbank",
                "failure_balance_transaction": None, "failure_code": None, "failure_message": None, "livemode": False,
                "metadata": form.get("metadata") or {}, "method": form.get("method") or "standard",
                "reconciliation_status": "not_applicable", "source_type": "card",
                "statement_descriptor": form.get("statement_descriptor"), "status": "pending", "type": "bank_account",
            }
            self.payouts[pid] = payout
        self.emit("payout.created", payout)
        return _public(payout)

    @route("GET", "/v1/payouts/{payout_id}")
    def api_get_payout(self, request):
        """Return one payout."""
        with self._lock:
            payout = self.payouts.get(request.params["payout_id"])
            if payout is None:
                raise _missing("payout", request.params["payout_id"])
            return self._render_payout(payout, _expansions(request.form))

    @route("GET", "/v1/balance_transactions")
    def api_list_transactions(self, request):
        """Return balance transactions, newest first; ``payout`` keeps those a payout paid out."""
        form = request.form
        with self._lock:
            items = list(self.transactions.values())
            if form.get("payout"):
                if form["payout"] not in self.payouts:
                    raise _missing("payout", form["payout"], "payout")
                items = [t for t in items if t["_payout"] == form["payout"]]
            if form.get("type"):
                items = [t for t in items if t["type"] == form["type"]]
            if form.get("source"):
                items = [t for t in items if t["source"] == form["source"]]
            items = self._window(form, "created", items)
            return self._list(request, items, "/v1/balance_transactions", self._render_txn)

    @route("GET", "/v1/balance_transactions/{txn_id}")
    def api_get_transaction(self, request):
        """Return one balance transaction."""
        with self._lock:
            txn = self.transactions.get(request.params["txn_id"])
            if txn is None:
                raise _missing("balance transaction", request.params["txn_id"])
            return self._render_txn(txn, _expansions(request.form))

    @route("GET", "/v1/charges")
    def api_list_charges(self, request):
        """Return charges, newest first."""
        with self._lock:
            items = self._window(request.form, "created", list(self.charges.values()))
            return self._list(request, items, "/v1/charges", lambda o, _expand: _public(o))

    @route("GET", "/v1/charges/{charge_id}")
    def api_get_charge(self, request):
        """Return one charge."""
        with self._lock:
            charge = self.charges.get(request.params["charge_id"])
            if charge is None:
                raise _missing("charge", request.params["charge_id"])
            return _public(charge)

    @route("GET", "/v1/refunds/{refund_id}")
    def api_get_refund(self, request):
        """Return one refund."""
        with self._lock:
            refund = self.refunds.get(request.params["refund_id"])
            if refund is None:
                raise _missing("refund", request.params["refund_id"])
            return _public(refund)

    @route("GET", "/v1/disputes/{dispute_id}")
    def api_get_dispute(self, request):
        """Return one dispute."""
        with self._lock:
            dispute = self.disputes.get(request.params["dispute_id"])
            if dispute is None:
                raise _missing("dispute", request.params["dispute_id"])
            return _public(dispute)

    # ----------------------------------------------------------------- demo: the shop's paid orders

    def charge_shop_orders(self, shop_url: str, key: str, secret: str) -> list[dict]:
        """Return the charges made for the shop's paid Stripe orders not charged yet.

        Reads ``GET /wp-json/wc/v3/orders`` of a WooCommerce shop (HTTP Basic with its consumer
        key), as the gateway would have charged each order paid with ``stripe``.
        """
        charged = {c["metadata"]["order_id"] for c in self.charges.values()}
        auth = base64.b64encode(f"{key}:{secret}".encode()).decode()
        made = []
        for page in range(1, 20):
            request = urllib.request.Request(
                f"{shop_url.rstrip('/')}/wp-json/wc/v3/orders?per_page=100&page={page}&status=processing,completed",
                headers={"Authorization": "Basic " + auth, "Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as resp:
                orders = json.loads(resp.read())
            for order in orders:
                if (order.get("payment_method") != "stripe" or str(order["number"]) in charged
                        or order["currency"].lower() != self.currency):
                    continue
                billing = order.get("billing") or {}
                name = " ".join(filter(None, (billing.get("first_name"), billing.get("last_name"))))
                made.append(self.charge(order["number"], order["total"], charge_id=order.get("transaction_id") or None,
                                        customer=name or "Valued Customer", email=billing.get("email")))
            if len(orders) < 100:
                break
        return made


def _public(obj: dict) -> dict:
    """Return an object without the simulator's private keys (leading underscore)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _expansions(form, list_prefix: bool = False) -> list[str]:
    raw = form.get("expand") or []
    values = raw if isinstance(raw, list) else [raw]
    result = []
    for value in values:
        if list_prefix:
            if not value.startswith("data."):
                raise StripeError(400, "This property cannot be expanded (%s). You may want to try expanding "
                                       "'data.%s' instead." % (value, value), param="expand")
            value = value[len("data."):]
        result.append(value)
    return result


def _int(value, name: str, default):
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(400, "Invalid integer: %s" % value, param=name) from None


def _masked(key: str) -> str:
    return "%s****%s" % (key[:8], key[-4:]) if len(key) > 12 else "****"


def main(argv=None) -> int:
    """Run the Stripe account until interrupted; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulators.stripe", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8807)
    parser.add_argument("--key", required=True, help="secret key the API accepts (sk_test_...)")
    parser.add_argument("--webhook-url", help="the webhook endpoint (Odoo's)")
    parser.add_argument("--webhook-secret", required=True, help="the endpoint's signing secret (whsec_...)")
    parser.add_argument("--currency", default="eur", help="settlement currency of the account")
    parser.add_argument("--woocommerce-url", help="the shop whose Stripe-paid orders are charged")
    parser.add_argument("--woocommerce-key")
    parser.add_argument("--woocommerce-secret")
    parser.add_argument("--charge-every", type=float, default=20, help="seconds between reads of the shop's orders")
    parser.add_argument("--payout-every", type=float, default=0, help="seconds between payouts (0: none)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    account = StripeSimulator(host=args.host, port=args.port, secret_key=args.key, webhook_secret=args.webhook_secret,
                              webhook_url=args.webhook_url, currency=args.currency, seed=args.seed,
                              site_url=args.woocommerce_url or "http://127.0.0.1:8803", webhook_async=True,
                              verbose=not args.quiet)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with account:
        print(f"Stripe account on {account.url}/v1 (settles in {account.currency.upper()})", flush=True)
        next_charge, next_payout = time.monotonic() + 5, time.monotonic() + (args.payout_every or 0)
        try:
            while not stopping.wait(0.5):
                now = time.monotonic()
                if args.woocommerce_url and now >= next_charge:
                    next_charge = now + args.charge_every
                    try:
                        for charge in account.charge_shop_orders(args.woocommerce_url, args.woocommerce_key or "",
                                                                 args.woocommerce_secret or ""):
                            print(f"charge {charge['id']} for order {charge['metadata']['order_id']}: "
                                  f"{charge['amount']} {charge['currency']}", flush=True)
                    except OSError as exc:
                        print(f"cannot read the shop's orders: {exc}", flush=True)
                if args.payout_every and now >= next_payout:
                    next_payout = now + args.payout_every
                    try:
                        payout = account.pay_out()
                        print(f"payout {payout['id']}: {payout['amount']} {payout['currency']} {payout['status']}",
                              flush=True)
                    except ValueError:
                        pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
