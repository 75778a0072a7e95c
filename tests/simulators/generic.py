"""Generic channel simulator: a partner system speaking Retail Connector's canonical JSON.

API (every call needs ``Authorization: Bearer <token>``):

- ``GET  /api/v1/ping``
- ``GET  /api/v1/settings``  (the tax titles, payment gateways, carriers and shipping methods its orders name)
- ``GET  /api/v1/orders?updated_since=&limit=&cursor=`` (keyset pagination, ``X-Total-Count``)
- ``GET  /api/v1/orders/<external_id>``
- ``POST /api/v1/orders/<external_id>/cancel``       (Idempotency-Key)
- ``POST /api/v1/stock/batch``, ``GET /api/v1/stock`` (Idempotency-Key, at most 100 items)
- ``POST /api/v1/prices/batch``, ``GET /api/v1/prices`` (Idempotency-Key, at most 100 items)
- ``POST /api/v1/products/batch``, ``GET /api/v1/products`` (Idempotency-Key, at most 100 items; upsert by SKU,
  ``active: false`` archives; ``GET`` with ``limit=&cursor=`` reads the catalogue in pages by SKU, ``next_cursor``)
- ``POST /api/v1/shipments``                          (Idempotency-Key)
- ``GET  /api/v1/payouts?since=&until=&limit=&cursor=`` (canonical payouts issued in [since, until); a cursor
  carries the window)
- ``GET  /api/v1/payouts/<external_id>``

Webhooks are POSTed to the configured URL with the object as raw JSON body and the headers
``X-Retail-Topic``, ``X-Retail-Event-Id`` and ``X-Retail-Signature: t=<unix>,v1=<hex>`` where
v1 is HMAC-SHA256(secret, "<t>.<body>").

For the demo, from the ``tests/`` directory::

    python -m simulators.generic --port 8801 --token T --webhook-url URL --webhook-secret S --trickle 20
"""

from __future__ import annotations

import argparse
import base64
import bisect
import binascii
import copy
import json
import random
import re
import signal
import sys
import threading
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from .base import HttpError, Response, Simulator, WebhookDelivery, retail_signature, route

__all__ = ["CUSTOMERS", "DEFAULT_CATALOGUE", "GenericChannel", "iso_z", "make_order", "main", "parse_iso"]

DEFAULT_CATALOGUE = (
    {"sku": "RC-TSHIRT-S", "name": "Retail Connector T-shirt (S)", "price": "19.90"},
    {"sku": "RC-TSHIRT-M", "name": "Retail Connector T-shirt (M)", "price": "19.90"},
    {"sku": "RC-TSHIRT-L", "name": "Retail Connector T-shirt (L)", "price": "19.90"},
    {"sku": "RC-MUG", "name": "Retail Connector mug", "price": "9.50"},
    {"sku": "RC-CAP", "name": "Retail Connector cap", "price": "14.00"},
    {"sku": "RC-HOODIE-M", "name": "Retail Connector hoodie (M)", "price": "39.90"},
    {"sku": "RC-TOTE", "name": "Retail Connector tote bag", "price": "12.00"},
)

# A small pool so that repeat customers occur, as in a real shop; phones are E.164.
CUSTOMERS = (
    {"external_id": "C501", "first_name": "Emma", "last_name": "Peeters", "email": "emma.peeters@example.com",
     "phone": "+32470123456", "street": "Rue Neuve 12", "street2": "", "city": "Bruxelles", "zip": "1000",
     "country_code": "BE"},
    {"external_id": "C502", "first_name": "Lucas", "last_name": "Dubois", "email": "lucas.dubois@example.com",
     "phone": "+33612345678", "street": "8 Rue de Rivoli", "street2": "Apt 3", "city": "Paris", "zip": "75001",
     "country_code": "FR"},
    {"external_id": "C503", "first_name": "Sofia", "last_name": "Janssens", "email": "sofia.janssens@example.com",
     "phone": "+32478556677", "street": "Meir 45", "street2": "", "city": "Antwerpen", "zip": "2000",
     "country_code": "BE"},
    {"external_id": "C504", "first_name": "Noah", "last_name": "Müller", "email": "noah.mueller@example.com",
     "phone": "+4915123456789", "street": "Friedrichstraße 100", "street2": "", "city": "Berlin", "zip": "10117",
     "country_code": "DE"},
    {"external_id": "C505", "first_name": "Mila", "last_name": "De Smet", "email": "mila.desmet@example.com",
     "phone": "+32485112233", "street": "Korenmarkt 3", "street2": "", "city": "Gent", "zip": "9000",
     "country_code": "BE"},
    {"external_id": "C506", "first_name": "Liam", "last_name": "Martin", "email": "liam.martin@example.com",
     "phone": "+33698765432", "street": "15 Quai Saint-Antoine", "street2": "", "city": "Lyon", "zip": "69002",
     "country_code": "FR"},
)

STANDARD_SHIPPING = {"code": "standard", "name": "Standard shipping", "price": "4.90"}
CENT = Decimal("0.01")
MONEY_RE = re.compile(r"^\d+(\.\d{1,2})?$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


# --------------------------------------------------------------------------- time and money

def iso_z(moment: datetime) -> str:
    """Return ``moment`` as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | datetime) -> datetime:
    """Return the aware UTC datetime of an ISO 8601 string (naive means UTC); ValueError otherwise."""
    if isinstance(value, datetime):
        moment = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected an ISO 8601 date-time")
        moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- order generation

def _catalogue_entries(catalogue) -> list[dict]:
    # a catalogue may be plain SKUs; they get a neutral name and price
    entries = []
    for item in catalogue:
        if isinstance(item, str):
            item = {"sku": item, "name": item, "price": "10.00"}
        entries.append(dict(item))
    return entries


def _tax_line(base: Decimal, rate: Decimal, taxes_included: bool) -> dict:
    amount = base - base / (1 + rate) if taxes_included else base * rate
    percent = format((rate * 100).normalize(), "f")
    return {"name": f"VAT {percent}%", "rate": str(rate), "amount": str(_money(amount))}


def complete_line(spec: dict, *, index: int, order_id: str, catalogue, tax_rate="0.21",
                  taxes_included: bool = False) -> dict:
    """Return a full canonical order line from a partial one (at least a ``sku``)."""
    products = {p["sku"]: p for p in _catalogue_entries(catalogue)}
    sku = spec.get("sku") or next(iter(products))
    product = products.get(sku, {"sku": sku, "name": sku, "price": "10.00"})
    quantity = spec.get("quantity", 1)
    unit_price = _money(spec.get("unit_price", product["price"]))
    discount = _money(spec.get("discount", "0.00"))
    rate = Decimal(str(tax_rate))
    base = unit_price * quantity - discount
    tax_lines = spec.get("tax_lines")
    if tax_lines is None:
        tax_lines = [_tax_line(base, rate, taxes_included)] if rate else []
    return {
        "external_id": spec.get("external_id", f"{order_id}-{index}"),
        "sku": sku,
        "name": spec.get("name", product["name"]),
        "quantity": quantity,
        "unit_price": str(unit_price),
        "discount": str(discount),
        "tax_lines": tax_lines,
    }


def order_total(order: dict) -> str:
    """Return the order total: lines after discount, shipping, plus taxes unless included."""
    total = Decimal(0)
    for line in order["lines"]:
        total += Decimal(line["unit_price"]) * line["quantity"] - Decimal(line["discount"])
        if not order.get("taxes_included"):
            total += sum((Decimal(t["amount"]) for t in line["tax_lines"]), Decimal(0))
    total += sum((Decimal(s["price"]) for s in order.get("shipping_lines") or []), Decimal(0))
    return str(_money(total))


def _random_lines(rng: random.Random, catalogue) -> list[dict]:
    entries = _catalogue_entries(catalogue)
    chosen = rng.sample(entries, min(rng.randint(1, 3), len(entries)))
    return [{"sku": p["sku"], "quantity": rng.choice((1, 1, 1, 2, 3))} for p in chosen]


def _address(person: dict) -> dict:
    keys = ("first_name", "last_name", "street", "street2", "city", "zip", "country_code", "phone")
    return {k: person[k] for k in keys}


def make_order(number: int, *, catalogue=DEFAULT_CATALOGUE, rng: random.Random | None = None,
               now: datetime | None = None, currency: str = "EUR", tax_rate="0.21", prefix: str = "G",
               **overrides) -> dict:
    """Return a realistic canonical order numbered ``number``; ``overrides`` replace fields.

    ``customer``, ``billing_address`` and ``shipping_address`` overrides are merged into the
    generated ones; ``lines`` may be partial (``[{"sku": "RC-MUG", "quantity": 2}]``) and are
    completed from the catalogue; ``created_at``/``updated_at`` accept datetimes or ISO strings.
    The total is computed unless given.
    """
    rng = rng or random.Random(number)
    now = now or datetime.now(timezone.utc)
    external_id = overrides.pop("external_id", f"{prefix}{number}")
    person = dict(rng.choice(CUSTOMERS))
    taxes_included = overrides.pop("taxes_included", False)
    customer = {k: person[k] for k in ("external_id", "email", "phone", "first_name", "last_name")}
    line_specs = overrides.pop("lines", None) or _random_lines(rng, catalogue)
    created_at = iso_z(parse_iso(overrides.pop("created_at", now)))
    order = {
        "schema_version": 1,
        "external_id": external_id,
        "name": f"#{number}",
        "created_at": created_at,
        "updated_at": iso_z(parse_iso(overrides.pop("updated_at", created_at))),
        "currency": currency,
        "customer": {**customer, **overrides.pop("customer", {})},
        "billing_address": {**_address(person), **overrides.pop("billing_address", {})},
        "shipping_address": {**_address(person), **overrides.pop("shipping_address", {})},
        "lines": [
            complete_line(spec, index=i, order_id=external_id, catalogue=catalogue, tax_rate=tax_rate,
                          taxes_included=taxes_included)
            for i, spec in enumerate(line_specs, start=1)
        ],
        "shipping_lines": overrides.pop("shipping_lines", [dict(STANDARD_SHIPPING)]),
        "taxes_included": taxes_included,
        "payment_state": "paid",
        "payment_gateway": "card",
        "status": "open",
        "fulfillment_status": "unfulfilled",
        "cancelled_at": None,
        "cancel_reason": None,
    }
    total = overrides.pop("total", None)
    order.update(overrides)
    order["total"] = str(_money(total)) if total is not None else order_total(order)
    return order


def apply_order_changes(order: dict, changes: dict, *, catalogue, tax_rate) -> None:
    """Apply ``changes`` to ``order`` in place: address/customer dicts merge, lines are completed."""
    if "external_id" in changes and changes["external_id"] != order["external_id"]:
        raise ValueError("an order's external_id cannot change")
    changes = dict(changes)
    for key in ("customer", "billing_address", "shipping_address"):
        if key in changes:
            value = changes.pop(key)
            order[key] = {**(order.get(key) or {}), **value} if value is not None else None
    relines = "lines" in changes or "taxes_included" in changes
    specs = changes.pop("lines", None)
    if "taxes_included" in changes:
        order["taxes_included"] = changes.pop("taxes_included")
    if relines:
        # existing lines lose their tax lines so that they are recomputed for the new setting
        specs = specs or [{k: v for k, v in line.items() if k != "tax_lines"} for line in order["lines"]]
        order["lines"] = [
            complete_line(spec, index=i, order_id=order["external_id"], catalogue=catalogue, tax_rate=tax_rate,
                          taxes_included=order["taxes_included"])
            for i, spec in enumerate(specs, start=1)
        ]
    total = changes.pop("total", None)
    order.update(changes)
    if total is not None:
        order["total"] = str(_money(total))
    elif relines or "shipping_lines" in changes:
        order["total"] = order_total(order)


# --------------------------------------------------------------------------- validation

def _invalid(details: list[dict]):
    raise HttpError(422, "validation", f"{len(details)} invalid field(s)", details=details)


def _problem(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _money_problem(value, field: str, *, optional: bool = False) -> dict | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not MONEY_RE.match(value):
        return _problem(field, f'must be a decimal string with at most 2 decimals, such as "19.90" (got {value!r})')
    return None


# --------------------------------------------------------------------------- simulator

class GenericChannel(Simulator):
    """The generic channel: orders, stock, prices and shipments over canonical JSON."""

    name = "generic"
    MAX_PAGE = 100
    DEFAULT_PAGE = 50
    MAX_BATCH = 100

    def __init__(self, *, token: str = "test-token", shop_name: str = "Retail Connector Test Shop",
                 catalogue=DEFAULT_CATALOGUE, currency: str = "EUR", tax_rate="0.21", locations=None,
                 seed: int | None = None, clock=None, first_order_number: int = 1001,
                 require_idempotency_key: bool = True, notify_api_changes: bool = False, **options):
        """Create the channel; ``options`` go to Simulator (port, rate_limit, webhook_url, ...).

        ``locations`` (ids) restricts the stock locations accepted (None: any); ``clock``
        returns the current aware datetime (tests pin time with it); ``notify_api_changes``
        sends ``orders/updated`` when the API cancels or ships an order, as real shops do.
        """
        super().__init__(auth_token=token, **options)
        self.shop_name = shop_name
        self.catalogue = _catalogue_entries(catalogue)
        self.currency = currency
        self.tax_rate = tax_rate
        self.locations = {str(loc) for loc in locations} if locations is not None else None
        self.require_idempotency_key = require_idempotency_key
        self.notify_api_changes = notify_api_changes
        # what the shop's orders name: read by the connector's go-live readiness check
        percent = format((Decimal(str(tax_rate)) * 100).normalize(), "f")
        self.settings = {
            "taxes": [{"name": f"VAT {percent}%", "rate": str(tax_rate)}] if Decimal(str(tax_rate)) else [],
            "payment_gateways": [{"code": "card"}],
            "carriers": [],
            "shipping_methods": [{"code": STANDARD_SHIPPING["code"], "name": STANDARD_SHIPPING["name"]}],
        }
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._next_number = first_order_number
        self._orders: dict[str, dict] = {}
        self._order_seq: dict[str, int] = {}
        self._listing: tuple[list, list] | None = None  # orders sorted for listing, dropped on any change
        self._shipped: dict[str, dict[str, int]] = {}
        self._stock: dict[tuple[str, str], dict] = {}
        self._prices: dict[str, dict] = {}
        self._idempotency: dict[tuple, Response] = {}
        self.shipments: list[dict] = []
        self._payouts: dict[str, dict] = {}
        self.stock_writes: list[dict] = []
        self.price_writes: list[dict] = []
        self._products: dict[str, dict] = {}
        self.product_writes: list[dict] = []
        self.idempotent_replays = 0
        self._trickle_stop = threading.Event()
        self._trickle_thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        """Return the bearer token the API expects."""
        return self.auth_token

    def now(self) -> datetime:
        """Return the channel's current time, to the second."""
        return parse_iso(self._clock()).replace(microsecond=0)

    def stop(self) -> None:
        """Stop the order trickle, then the server."""
        self.stop_trickle()
        super().stop()

    # ----------------------------------------------------------------- webhooks

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        """Return the canonical headers: topic, event id and the ``t=,v1=`` signature."""
        headers = super().webhook_headers(delivery, timestamp)
        headers["X-Retail-Topic"] = delivery.topic
        headers["X-Retail-Event-Id"] = delivery.event_id
        if delivery.secret is not None:
            headers["X-Retail-Signature"] = retail_signature(delivery.secret, delivery.body, timestamp)
        return headers

    def _send_events(self, events) -> None:
        # always called without self._lock: the receiver may call the API back synchronously
        for topic, payload in events:
            self.send_webhook(topic, payload)

    # ----------------------------------------------------------------- shop-side actions

    def make_order(self, **overrides) -> dict:
        """Return a new order with the next number (not stored, no webhook)."""
        with self._lock:
            number = self._next_number
            self._next_number += 1
            return make_order(number, catalogue=self.catalogue, rng=self._rng, now=self.now(),
                              currency=self.currency, tax_rate=self.tax_rate, **overrides)

    def place_order(self, *, notify: bool = True, **overrides) -> dict:
        """Return a new stored order after sending its ``orders/create`` webhook (see make_order)."""
        with self._lock:
            order = self.make_order(**overrides)
            if order["external_id"] in self._orders:
                raise ValueError(f"order {order['external_id']} already exists")
            self._order_seq[order["external_id"]] = len(self._order_seq)
            self._orders[order["external_id"]] = order
            self._listing = None
            snapshot = copy.deepcopy(order)
        if notify:
            self._send_events([("orders/create", snapshot)])
        return snapshot

    def add_orders(self, count: int, **overrides) -> list[dict]:
        """Return ``count`` new stored orders, placed without webhooks (bulk set-up)."""
        return [self.place_order(notify=False, **overrides) for _ in range(count)]

    def update_order(self, external_id: str, *, notify: bool = True, **changes) -> dict:
        """Return the order after applying ``changes`` and sending ``orders/updated``."""
        with self._lock:
            order = self._order(external_id)
            apply_order_changes(order, changes, catalogue=self.catalogue, tax_rate=self.tax_rate)
            if "updated_at" in changes:
                order["updated_at"] = iso_z(parse_iso(changes["updated_at"]))
                self._listing = None
            else:
                self._touch(order)
            snapshot = copy.deepcopy(order)
        if notify:
            self._send_events([("orders/updated", snapshot)])
        return snapshot

    def cancel_order(self, external_id: str, reason: str = "customer", *, notify: bool = True) -> dict:
        """Return the order after cancelling it and sending ``orders/cancelled``."""
        with self._lock:
            order = self._order(external_id)
            self._cancel(order, reason)
            snapshot = copy.deepcopy(order)
        if notify:
            self._send_events([("orders/cancelled", snapshot)])
        return snapshot

    def set_stock_level(self, sku: str, location_id, quantity: int, *, notify: bool = True) -> dict:
        """Return the stored level after setting it shop-side and sending ``stock/updated``."""
        with self._lock:
            level = self._write_stock(sku, location_id, quantity, source="shop")
        if notify:
            self._send_events([("stock/updated", dict(level))])
        return dict(level)

    def set_price(self, sku: str, price: str, currency: str, compare_at_price: str | None = None) -> dict:
        """Return the stored price after setting it shop-side (no webhook)."""
        with self._lock:
            stored = {"sku": sku, "price": price, "currency": currency, "compare_at_price": compare_at_price,
                      "updated_at": iso_z(self.now())}
            self._prices[sku] = stored
            return dict(stored)

    def get_order(self, external_id: str) -> dict:
        """Return a copy of the order; KeyError when unknown."""
        with self._lock:
            return copy.deepcopy(self._order(external_id))

    @property
    def orders(self) -> list[dict]:
        """Return copies of all orders ordered by updated_at, then creation."""
        with self._lock:
            return [copy.deepcopy(o) for o in sorted(self._orders.values(), key=self._order_key)]

    def stock_level(self, sku: str, location_id) -> int | None:
        """Return the stored quantity of ``sku`` at ``location_id``, or None."""
        with self._lock:
            level = self._stock.get((sku, str(location_id)))
            return level["quantity"] if level else None

    def price_of(self, sku: str) -> dict | None:
        """Return the stored price record of ``sku``, or None."""
        with self._lock:
            price = self._prices.get(sku)
            return dict(price) if price else None

    def start_trickle(self, interval: float, on_order=None) -> None:
        """Place an order (with its webhook) every ``interval`` seconds until stop_trickle()."""
        self.stop_trickle()
        self._trickle_stop.clear()

        def run():
            while not self._trickle_stop.wait(interval):
                order = self.place_order()
                if on_order:
                    on_order(order, self._creation_delivery(order["external_id"]))

        self._trickle_thread = threading.Thread(target=run, name="generic-trickle", daemon=True)
        self._trickle_thread.start()

    def _creation_delivery(self, external_id: str) -> WebhookDelivery | None:
        for delivery in reversed(self.webhooks.all()):
            if delivery.topic == "orders/create" and delivery.payload.get("external_id") == external_id:
                return delivery
        return None

    def stop_trickle(self) -> None:
        """Stop placing orders periodically."""
        self._trickle_stop.set()
        if self._trickle_thread is not None:
            self._trickle_thread.join(timeout=5)
            self._trickle_thread = None

    # ----------------------------------------------------------------- state (callers hold self._lock)

    def _order(self, external_id: str) -> dict:
        try:
            return self._orders[external_id]
        except KeyError:
            raise KeyError(f"no order {external_id!r} in the {self.name} channel") from None

    def _order_key(self, order: dict) -> tuple:
        # the fixed ISO Z format sorts chronologically as text
        return order["updated_at"], self._order_seq[order["external_id"]]

    def _touch(self, order: dict) -> None:
        # updated_at strictly increases so a consumer comparing timestamps sees every change
        previous = parse_iso(order["updated_at"])
        order["updated_at"] = iso_z(max(self.now(), previous + timedelta(seconds=1)))
        self._listing = None

    def _cancel(self, order: dict, reason) -> None:
        if order["status"] == "cancelled":
            return
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        self._touch(order)
        order["cancelled_at"] = order["updated_at"]

    def _remaining(self, order: dict) -> dict[str, int]:
        shipped = self._shipped.get(order["external_id"], {})
        left: dict[str, int] = {}
        for line in order["lines"]:
            left[line["sku"]] = left.get(line["sku"], 0) + line["quantity"]
        return {sku: qty - shipped.get(sku, 0) for sku, qty in left.items()}

    def _write_stock(self, sku, location_id, quantity, source) -> dict:
        level = {"sku": sku, "location_id": location_id, "quantity": quantity, "updated_at": iso_z(self.now())}
        self._stock[(sku, str(location_id))] = level
        self.stock_writes.append({**level, "source": source})
        return level

    def add_payout(self, lines, *, external_id: str | None = None, issued_at=None, status: str = "paid",
                   notify: bool = False) -> dict:
        """Return a new canonical payout of ``lines`` (canonical payout lines); its amount is their nets' sum.

        ``notify`` sends it as a ``payouts/paid`` webhook too.
        """
        with self._lock:
            issued = parse_iso(issued_at) if issued_at else self.now()
            external_id = external_id or "PO-%d" % (len(self._payouts) + 1)
            rows = []
            for number, line in enumerate(lines, 1):
                row = {"external_id": "%s-%d" % (external_id, number), "fee": "0.00", **line}
                row["net"] = str(Decimal(str(row["amount"])) - Decimal(str(row["fee"])))
                rows.append(row)
            payout = {"schema": "payout", "external_id": external_id, "date": issued.date().isoformat(),
                      "currency": self.currency, "status": status, "lines": rows,
                      "amount": str(sum((Decimal(r["net"]) for r in rows), Decimal(0))),
                      "extra": {"issued_at": iso_z(issued)}}
            self._payouts[external_id] = payout
        if notify:
            self._send_events([("payouts/paid", copy.deepcopy(payout))])
        return copy.deepcopy(payout)

    # ----------------------------------------------------------------- API: request parsing

    def _order_or_404(self, external_id: str) -> dict:
        order = self._orders.get(external_id)
        if order is None:
            raise HttpError(404, "not_found", f"no order with external_id {external_id!r}")
        return order

    @staticmethod
    def _json_object(request, *, allow_empty: bool = False) -> dict:
        if allow_empty and not request.body.strip():
            return {}
        data = request.json()
        if not isinstance(data, dict):
            _invalid([_problem("", f"the body must be a JSON object, not {type(data).__name__}")])
        return data

    def _batch_items(self, request) -> list:
        data = self._json_object(request)
        items = data.get("items")
        if not isinstance(items, list) or not items:
            _invalid([_problem("items", "must be a non-empty list")])
        if len(items) > self.MAX_BATCH:
            raise HttpError(400, "too_many_items",
                            f"{len(items)} items in one call; at most {self.MAX_BATCH} are accepted")
        return items

    def _idempotent(self, request, apply) -> Response:
        """Return the first answer for a repeated Idempotency-Key, else apply the request once."""
        key = request.header("Idempotency-Key")
        if not key and self.require_idempotency_key:
            raise HttpError(400, "idempotency_key_required",
                            f"{request.method} {request.path} needs an Idempotency-Key header")
        scope = (request.method, request.path, key)
        with self._lock:
            stored = self._idempotency.get(scope) if key else None
            if stored is not None:
                self.idempotent_replays += 1
                replay = stored.copy()
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
            response, events = apply(request)
            # only successes are remembered, so a corrected retry with the same key can succeed
            if key and 200 <= response.status < 300:
                self._idempotency[scope] = response.copy()
        self._send_events(events)
        return response

    # ----------------------------------------------------------------- API: endpoints

    @route("GET", "/api/v1/ping")
    def api_ping(self, request):
        """Return the shop's identity."""
        return {"ok": True, "name": self.shop_name, "api_version": "1"}

    @route("GET", "/api/v1/settings")
    def api_settings(self, request):
        """Return the tax titles, payment gateways, carriers and shipping methods the shop's orders name."""
        with self._lock:
            return copy.deepcopy(self.settings)

    @route("GET", "/api/v1/orders")
    def api_list_orders(self, request):
        """Return a page of orders by (updated_at, id) with next_cursor and X-Total-Count."""
        limit, since, after = self._list_params(request.query)
        with self._lock:
            if self._listing is None:
                ordered = sorted(self._orders.values(), key=self._order_key)
                self._listing = (ordered, [self._order_key(o) for o in ordered])
            ordered, keys = self._listing
            # keys sort by (updated_at, creation): those updated since form a suffix, a cursor starts after its key
            first = bisect.bisect_left(keys, (since,)) if since is not None else 0
            total = len(ordered) - first
            start = max(first, bisect.bisect_right(keys, after)) if after is not None else first
            page = [copy.deepcopy(o) for o in ordered[start:start + limit]]
            last_key = keys[start + limit - 1] if len(ordered) - start > limit else None
        next_cursor = _encode_cursor(last_key, since) if last_key else None
        return Response(200, {"orders": page, "next_cursor": next_cursor}, {"X-Total-Count": str(total)})

    def _list_params(self, query) -> tuple[int, str | None, tuple | None]:
        details = []
        limit = self.DEFAULT_PAGE
        if query.get("limit", "") != "":
            try:
                limit = int(query["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= self.MAX_PAGE:
                details.append(_problem("limit", f"must be an integer from 1 to {self.MAX_PAGE}"))
        since, after = None, None
        if query.get("cursor"):
            try:
                after, since = _decode_cursor(query["cursor"])
            except ValueError:
                details.append(_problem("cursor", "is not a cursor returned by this API"))
        elif query.get("updated_since"):
            try:
                since = iso_z(parse_iso(query["updated_since"]))
            except ValueError:
                details.append(_problem("updated_since", "must be an ISO 8601 date-time such as 2025-01-31T12:00:00Z"))
        if details:
            _invalid(details)
        return limit, since, after

    @route("GET", "/api/v1/payouts")
    def api_list_payouts(self, request):
        """Return the payouts issued in [since, until), oldest first, a page at a time (the cursor carries the
        window, as the orders' does: a page asked by cursor needs no ``since`` or ``until``)."""
        details, bounds, offset = [], {}, 0
        query = dict(request.query)
        if query.get("cursor"):
            try:
                window = json.loads(base64.urlsafe_b64decode(query["cursor"] + "=" * (-len(query["cursor"]) % 4)))
                offset = int(window["offset"])
                query.update({name: window.get(name) for name in ("since", "until")})
            except (binascii.Error, ValueError, KeyError, TypeError):
                details.append(_problem("cursor", "is not a cursor returned by this API"))
        for name in ("since", "until"):
            if query.get(name):
                try:
                    bounds[name] = parse_iso(query[name])
                except ValueError:
                    details.append(_problem(name, "must be an ISO 8601 date-time such as 2025-01-31T12:00:00Z"))
        try:
            limit = int(request.query.get("limit") or self.DEFAULT_PAGE)
        except ValueError:
            details.append(_problem("limit", "must be an integer"))
            limit = 0
        if details:
            _invalid(details)
        with self._lock:
            matching = sorted(
                (p for p in self._payouts.values()
                 if ("since" not in bounds or parse_iso(p["extra"]["issued_at"]) >= bounds["since"])
                 and ("until" not in bounds or parse_iso(p["extra"]["issued_at"]) < bounds["until"])),
                key=lambda p: (p["extra"]["issued_at"], p["external_id"]),
            )
            page = [copy.deepcopy(p) for p in matching[offset:offset + limit]]
        more = offset + limit < len(matching)
        cursor = None
        if more:
            window = {"offset": offset + limit, "since": query.get("since"), "until": query.get("until")}
            cursor = base64.urlsafe_b64encode(json.dumps(window, separators=(",", ":")).encode()).decode().rstrip("=")
        return Response(200, {"payouts": page, "next_cursor": cursor}, {"X-Total-Count": str(len(matching))})

    @route("GET", "/api/v1/payouts/{external_id}")
    def api_get_payout(self, request):
        """Return one payout or 404."""
        with self._lock:
            payout = self._payouts.get(request.params["external_id"])
            if payout is None:
                raise HttpError(404, "not_found", f"no payout with external_id {request.params['external_id']!r}")
            return copy.deepcopy(payout)

    @route("GET", "/api/v1/orders/{external_id}")
    def api_get_order(self, request):
        """Return one order or 404."""
        with self._lock:
            return copy.deepcopy(self._order_or_404(request.params["external_id"]))

    @route("POST", "/api/v1/orders/{external_id}/cancel")
    def api_cancel_order(self, request):
        """Return the cancelled order (idempotent)."""
        return self._idempotent(request, self._apply_cancel)

    def _apply_cancel(self, request):
        order = self._order_or_404(request.params["external_id"])
        data = self._json_object(request, allow_empty=True)
        reason = data.get("reason", "other")
        if not isinstance(reason, str):
            _invalid([_problem("reason", "must be a string")])
        if order["status"] == "cancelled":
            return Response(200, copy.deepcopy(order)), []
        if order["fulfillment_status"] != "unfulfilled":
            _invalid([_problem("order_id", "the order has shipments and can no longer be cancelled")])
        self._cancel(order, reason)
        snapshot = copy.deepcopy(order)
        events = [("orders/cancelled", snapshot)] if self.notify_api_changes else []
        return Response(200, snapshot), events

    @route("POST", "/api/v1/stock/batch")
    def api_stock_batch(self, request):
        """Return the stored levels after setting them (idempotent, at most 100 items)."""
        return self._idempotent(request, self._apply_stock)

    def _apply_stock(self, request):
        items = self._batch_items(request)
        details = []
        for i, item in enumerate(items):
            details += self._stock_item_problems(i, item)
        if details:
            _invalid(details)
        # validated first, applied after: a batch is all or nothing
        levels = [self._write_stock(it["sku"], it["location_id"], it["quantity"], "api") for it in items]
        return Response(200, {"updated": len(levels), "items": [dict(lv) for lv in levels]}), []

    def _stock_item_problems(self, i: int, item) -> list[dict]:
        at = f"items[{i}]"
        if not isinstance(item, dict):
            return [_problem(at, "must be an object")]
        problems = []
        if not isinstance(item.get("sku"), str) or not item["sku"].strip():
            problems.append(_problem(f"{at}.sku", "is required"))
        location = item.get("location_id")
        if not isinstance(location, (str, int)) or isinstance(location, bool) or location == "":
            problems.append(_problem(f"{at}.location_id", "is required (string or integer)"))
        elif self.locations is not None and str(location) not in self.locations:
            problems.append(_problem(f"{at}.location_id", f"unknown location {location!r}"))
        quantity = item.get("quantity")
        if not _is_int(quantity) or quantity < 0:
            problems.append(_problem(f"{at}.quantity", f"must be an integer >= 0 (got {quantity!r})"))
        return problems

    @route("GET", "/api/v1/stock")
    def api_stock(self, request):
        """Return the stored levels, optionally for one ``sku`` and/or ``location_id``."""
        sku, location = request.query.get("sku"), request.query.get("location_id")
        with self._lock:
            levels = [
                dict(level) for (s, loc), level in sorted(self._stock.items())
                if (not sku or s == sku) and (not location or loc == location)
            ]
        return {"items": levels}

    @route("POST", "/api/v1/prices/batch")
    def api_prices_batch(self, request):
        """Return the stored prices after setting them (idempotent, at most 100 items)."""
        return self._idempotent(request, self._apply_prices)

    def _apply_prices(self, request):
        items = self._batch_items(request)
        details = []
        for i, item in enumerate(items):
            details += _price_item_problems(i, item)
        if details:
            _invalid(details)
        stored = []
        for item in items:
            price = {
                "sku": item["sku"], "price": item["price"], "currency": item["currency"],
                "compare_at_price": item.get("compare_at_price"), "updated_at": iso_z(self.now()),
            }
            self._prices[item["sku"]] = price
            self.price_writes.append(dict(price))
            stored.append(dict(price))
        return Response(200, {"updated": len(stored), "items": stored}), []

    @route("GET", "/api/v1/prices")
    def api_prices(self, request):
        """Return the stored prices, optionally for one ``sku``."""
        sku = request.query.get("sku")
        with self._lock:
            prices = [dict(p) for s, p in sorted(self._prices.items()) if not sku or s == sku]
        return {"items": prices}

    @route("POST", "/api/v1/products/batch")
    def api_products_batch(self, request):
        """Create or update products by SKU (idempotent, at most 100 items); return them with their ids."""
        return self._idempotent(request, self._apply_products)

    def _apply_products(self, request):
        items = self._batch_items(request)
        details = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                details.append(_problem(f"items[{i}]", "must be an object"))
                continue
            if not isinstance(item.get("sku"), str) or not item["sku"].strip():
                details.append(_problem(f"items[{i}].sku", "is required"))
            if not isinstance(item.get("name"), str) or not item["name"].strip():
                details.append(_problem(f"items[{i}].name", "is required"))
            if "active" in item and not isinstance(item["active"], bool):
                details.append(_problem(f"items[{i}].active", "must be a boolean"))
        if details:
            _invalid(details)
        stored = []
        for item in items:
            product = self._products.get(item["sku"])
            if product is None:
                product = self._products[item["sku"]] = {"id": self._new_product_id(), "sku": item["sku"]}
            for key in ("name", "barcode", "description", "weight", "active", "options", "parent_sku"):
                if key in item:
                    product[key] = item[key]
            product.setdefault("active", True)
            product["updated_at"] = iso_z(self.now())
            self.product_writes.append(dict(item))
            stored.append(dict(product))
        return Response(200, {"updated": len(stored), "items": stored}), []

    @route("GET", "/api/v1/products")
    def api_products(self, request):
        """Return the channel's products by SKU, optionally one ``sku``; with ``limit`` (1 to MAX_PAGE) or
        ``cursor`` a page of them, its ``next_cursor`` (null on the last page) and ``X-Total-Count``."""
        sku = request.query.get("sku")
        paged = bool(request.query.get("limit") or request.query.get("cursor"))
        limit, after = self.DEFAULT_PAGE, None
        if request.query.get("limit"):
            try:
                limit = int(request.query["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= self.MAX_PAGE:
                _invalid([_problem("limit", f"must be an integer from 1 to {self.MAX_PAGE}")])
        if request.query.get("cursor"):
            try:
                after = base64.urlsafe_b64decode(request.query["cursor"].encode()).decode()
            except (binascii.Error, ValueError):
                _invalid([_problem("cursor", "is not a cursor returned by this API")])
        with self._lock:
            keys = sorted(s for s in self._products if not sku or s == sku)
            if not paged:
                return {"items": [dict(self._products[s]) for s in keys]}
            start = bisect.bisect_right(keys, after) if after is not None else 0
            page = [dict(self._products[s]) for s in keys[start:start + limit]]
            more = len(keys) > start + limit
        next_cursor = base64.urlsafe_b64encode(page[-1]["sku"].encode()).decode() if more and page else None
        return Response(200, {"items": page, "next_cursor": next_cursor}, {"X-Total-Count": str(len(keys))})

    def add_product(self, sku: str, name: str, *, barcode: str | None = None, options=None,
                    parent_sku: str | None = None, price=None, **fields) -> dict:
        """Return a product made on the channel's side (a merchant's, no webhook), with its price when given."""
        with self._lock:
            product = {"id": self._new_product_id(), "sku": sku, "name": name, "active": True,
                       "updated_at": iso_z(self.now())}
            if barcode is not None:
                product["barcode"] = barcode
            if options:
                product["options"] = [dict(o) for o in options]
            if parent_sku:
                product["parent_sku"] = parent_sku
            if price is not None:
                product["price"] = str(price)
                self._prices[sku] = {"sku": sku, "price": str(price), "currency": self.currency,
                                     "compare_at_price": None, "updated_at": iso_z(self.now())}
            product.update(fields)
            self._products[sku] = product
            return dict(product)

    def _new_product_id(self) -> str:
        # never one a deleted product had
        self._product_seq = max(getattr(self, "_product_seq", 0), len(self._products)) + 1
        return f"P{self._product_seq}"

    def edit_product(self, sku: str, **changes) -> dict:
        """Return the product after a merchant's edit on the channel (no webhook)."""
        with self._lock:
            self._products[sku].update(changes)
            return dict(self._products[sku])

    def remove_product(self, sku: str) -> None:
        """Delete a product on the channel's side."""
        with self._lock:
            self._products.pop(sku, None)

    def product(self, sku: str) -> dict | None:
        """Return the channel's product with ``sku`` (a copy), or None."""
        with self._lock:
            found = self._products.get(sku)
            return dict(found) if found else None

    @route("POST", "/api/v1/shipments")
    def api_create_shipment(self, request):
        """Return the created shipment (201) after marking the order (partially) fulfilled."""
        return self._idempotent(request, self._apply_shipment)

    def _apply_shipment(self, request):
        data = self._json_object(request)
        order, wanted = self._shipment_plan(data)
        shipped = self._shipped.setdefault(order["external_id"], {})
        for sku, quantity in wanted.items():
            shipped[sku] = shipped.get(sku, 0) + quantity
        left = self._remaining(order)
        order["fulfillment_status"] = "fulfilled" if not any(left.values()) else "partial"
        self._touch(order)
        shipment = {
            "id": f"SH{len(self.shipments) + 1}",
            "order_id": order["external_id"],
            "tracking_numbers": list(data.get("tracking_numbers") or []),
            "carrier": data.get("carrier"),
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in wanted.items()],
            "created_at": order["updated_at"],
            "order_fulfillment_status": order["fulfillment_status"],
        }
        self.shipments.append(shipment)
        events = [("orders/updated", copy.deepcopy(order))] if self.notify_api_changes else []
        return Response(201, copy.deepcopy(shipment)), events

    def _shipment_plan(self, data: dict) -> tuple[dict, dict[str, int]]:
        """Return the order and the quantities per SKU to ship; 422 when the request is invalid."""
        order_id = data.get("order_id")
        order = self._orders.get(order_id) if isinstance(order_id, str) else None
        if order is None:
            message = "is required (the order's external_id)" if not order_id else f"no order {order_id!r}"
            _invalid([_problem("order_id", message)])
        details = []
        tracking = data.get("tracking_numbers", [])
        if not isinstance(tracking, list) or not all(isinstance(t, str) and t.strip() for t in tracking):
            details.append(_problem("tracking_numbers", "must be a list of non-empty strings"))
        if data.get("carrier") is not None and not isinstance(data["carrier"], str):
            details.append(_problem("carrier", "must be a string"))
        if order["status"] == "cancelled":
            details.append(_problem("order_id", f"order {order_id} is cancelled"))
        left = self._remaining(order)
        lines = data.get("lines") or []
        if not isinstance(lines, list):
            details.append(_problem("lines", "must be a list"))
            lines = []
        wanted: dict[str, int] = {}
        for i, line in enumerate(lines):
            sku = line.get("sku") if isinstance(line, dict) else None
            quantity = line.get("quantity") if isinstance(line, dict) else None
            if sku not in left:
                details.append(_problem(f"lines[{i}].sku", f"{sku!r} is not on order {order_id}"))
            elif not _is_int(quantity) or quantity < 1:
                details.append(_problem(f"lines[{i}].quantity", f"must be a positive integer (got {quantity!r})"))
            else:
                wanted[sku] = wanted.get(sku, 0) + quantity
        for sku, quantity in wanted.items():
            if quantity > left[sku]:
                details.append(_problem("lines", f"{quantity} x {sku} exceeds the {left[sku]} left to ship"))
        if not lines:
            # no lines: ship everything that is left, as the shop's "fulfil all" does
            wanted = {sku: qty for sku, qty in left.items() if qty > 0}
            if not wanted:
                details.append(_problem("order_id", f"order {order_id} is already fulfilled"))
        if details:
            _invalid(details)
        return order, wanted


def _price_item_problems(i: int, item) -> list[dict]:
    at = f"items[{i}]"
    if not isinstance(item, dict):
        return [_problem(at, "must be an object")]
    problems = []
    if not isinstance(item.get("sku"), str) or not item["sku"].strip():
        problems.append(_problem(f"{at}.sku", "is required"))
    for key, optional in (("price", False), ("compare_at_price", True)):
        problem = _money_problem(item.get(key), f"{at}.{key}", optional=optional)
        if problem:
            problems.append(problem)
    if not isinstance(item.get("currency"), str) or not CURRENCY_RE.match(item["currency"]):
        problems.append(_problem(f"{at}.currency", "must be an ISO 4217 code such as EUR"))
    return problems


def _encode_cursor(position: tuple, since: str | None) -> str:
    raw = json.dumps({"u": position[0], "s": position[1], "since": since}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[tuple, str | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        position = (str(data["u"]), int(data["s"]))
        since = data.get("since")
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValueError("invalid cursor") from None
    return position, since


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    """Run the generic channel until interrupted; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulators.generic", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--token", required=True, help="bearer token the API accepts")
    parser.add_argument("--webhook-url", help="where order webhooks are POSTed (Odoo's endpoint)")
    parser.add_argument("--webhook-secret", help="HMAC secret of X-Retail-Signature")
    parser.add_argument("--trickle", type=float, metavar="SECONDS", help="place a new order every SECONDS")
    parser.add_argument("--orders", type=int, default=0, help="orders present at start (no webhooks)")
    parser.add_argument("--shop-name", default="Retail Connector Demo Shop")
    parser.add_argument("--seed", type=int, help="seed of the order generator, for repeatable demos")
    parser.add_argument("--quiet", action="store_true", help="do not print each request")
    args = parser.parse_args(argv)

    channel = GenericChannel(
        host=args.host, port=args.port, token=args.token, shop_name=args.shop_name, seed=args.seed,
        webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, verbose=not args.quiet,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with channel:
        channel.add_orders(args.orders)
        print(f"{args.shop_name}: generic channel on {channel.url}/api/v1 "
              f"({len(channel.orders)} orders; webhooks to {args.webhook_url or 'nowhere'})", flush=True)
        if args.trickle:
            channel.start_trickle(args.trickle, on_order=_print_order)
            print(f"placing an order every {args.trickle:g} s; Ctrl-C to stop", flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


def _print_order(order: dict, delivery: WebhookDelivery | None) -> None:
    if delivery is None:
        return
    outcomes = {
        "sent": f"sent ({delivery.status})",
        "failed": f"failed after {len(delivery.attempts)} attempts "
                  f"({delivery.status or (delivery.attempts[-1].error if delivery.attempts else '')})",
        "no_url": "not sent (no --webhook-url)",
    }
    outcome = outcomes.get(delivery.state, delivery.state)
    print(f"order {order['name']} ({order['external_id']}) {order['total']} {order['currency']}: "
          f"webhook {outcome}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
