"""3PL simulator: a fulfillment warehouse speaking the ShipBob Developer API (2026-01), on loopback.

It follows ShipBob's public API (https://developer.shipbob.com, OpenAPI at
https://developer.shipbob.com/openapi.json). API, under ``/<version>/`` (``2026-01``)::

    GET  channel                              {"items": [{"id", "name", "application_name", "scopes"}]}
    POST order                                shipbob_channel_id header; 201 OrderViewModel; a used
                                              reference_id answers 422 {"": ["Cannot insert order
                                              with existing ReferenceId"]}
    GET  order                                Page, Limit (<= 250), IDs, ReferenceIds, HasTracking;
                                              headers Page-Number, Page-Size, Total-Count, Total-Pages,
                                              Next-Page
    GET  order/<id>                           POST order/<id>:cancel (CanceledOrderViewModel)
    GET  order/<id>/shipment                  GET order/<id>/shipment/<id>, GET shipment/<id>
    PUT  shipment/<id>:updateAddress          Orders.UpdateAddressRequest (street_address1 and city
                                              required); a shipment that left or was cancelled
                                              answers 422
    GET  product                              SKU, Search, PageSize, Cursor; {"items", "next", ...}
    GET  inventory-level                      totals per item; GET inventory-level/locations per
                                              fulfillment center (LocationId, SearchBy, PageSize,
                                              Cursor); {"items", "first", "prev", "next", "last"}
    GET  fulfillment-center
    POST receiving                            a WRO (ASN): fulfillment_center, package_type,
                                              box_packaging_type, expected_arrival_date, boxes with
                                              box_items {inventory_id, quantity, lot_number, lot_date}
    GET  receiving                            Page, Limit, IDs, Statuses, PurchaseOrderNumbers,
                                              ExternalSync; GET receiving/<id>, receiving/<id>/boxes,
                                              POST receiving/<id>:cancel
    POST return                               GET return (ReferenceIds, Ids, Status, Cursor, Limit),
                                              GET return/<id>, POST return/<id>:cancel
    POST webhook                              {topics, url, secret?, description?}; GET webhook;
                                              DELETE webhook/<id>

``Authorization: Bearer <personal access token>`` on every call (401 otherwise); a
``shipbob_channel_id`` header on a read limits it to that channel's orders (an assumption: ShipBob
documents the header as optional on reads). Errors have
ShipBob's shapes: model-state maps ``{"Field": ["message"]}`` for 400/422, ProblemDetails for
404, ``{"statusCode": 429, "message"}`` with ``x-retry-after`` and ``x-remaining-calls`` when
the optional 150-per-minute style limit (``requests_per_minute``) runs out.

The warehouse keeps stock per fulfillment center (on hand, lots; committed is what open
shipments hold). A new order gets one shipment at the center that can fill it (``Exception``
with an ``OutOfStock`` detail when none can, released once stock arrives). Shipping a part of
a shipment splits it, as ShipBob does: the part ships with tracking (status ``Completed``),
the rest stays ``Processing`` in a new shipment, and the order becomes ``PartiallyFulfilled``
until everything has left (``Fulfilled``). It ships on its own after ``auto_ship_delay``
seconds, a ``partial_ratio`` of each line first and the rest after another delay, or when a
test calls ``ship``. ``receive`` counts a WRO in (units received but not stowed are the
damaged ones), ``process_return`` processes a return.

Webhooks follow ShipBob's current (dated API) scheme, the Standard Webhooks one: headers
``webhook-id`` (the message id, the same on retries and duplicates), ``webhook-timestamp``,
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the
base64-decoded part of the ``whsec_...`` secret) and ``x-webhook-topic``. Bodies are the
resources: ``order.shipped`` the order (once per shipment that leaves; a partial shipment
announces an order ``PartiallyFulfilled``), ``order.shipment.cancelled`` / ``.delivered`` /
``.on_hold`` / ``.exception`` the shipment, ``return.created`` / ``return.completed`` the
return, ``wro.completed`` / ``wro.updated`` the WRO (topics of ShipBob's later documentation;
the 2026-01 subscription API lists the order and return topics only, which ``POST webhook``
accepts along with these). Deliveries go to each subscription of the topic (signed with its
secret) and to ``webhook_url`` (signed with ``webhook_secret``). Deviations: http:// webhook
URLs are accepted (ShipBob requires https), and retries follow the framework's short back-off,
not ShipBob's hours.

For the demo, from the ``tests/`` directory::

    python -m simulators.threepl --port 8804 --token T --webhook-url URL --webhook-secret whsec_... \\
        --auto-ship 10 --partial 0.5
"""

from __future__ import annotations

import argparse
import base64
import binascii
import functools
import hashlib
import heapq
import hmac
import math
import random
import re
import secrets
import signal
import sys
import threading
import time
import uuid
from datetime import date, datetime, timezone
from urllib.parse import urlencode

from .base import Response, Simulator, WebhookDelivery, json_bytes, route

__all__ = [
    "API_VERSION",
    "DEFAULT_CATALOGUE",
    "DEFAULT_CHANNELS",
    "DEFAULT_FULFILLMENT_CENTERS",
    "ApiError",
    "ThreePLSimulator",
    "main",
    "new_webhook_secret",
    "standard_signature",
]

API_VERSION = "2026-01"
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
USER_AGENT = "ShipBob-Webhooks/1.0 (simulator)"
DUPLICATE_ORDER = "Cannot insert order with existing ReferenceId"

DEFAULT_CHANNELS = (
    {"id": 410001, "name": "Retail Connector", "application_name": "SMA",
     "scopes": ["orders_read", "orders_write", "returns_read", "returns_write", "receiving_read", "receiving_write",
                "inventory_read", "products_read", "products_write", "webhooks_read", "webhooks_write"]},
    {"id": 410002, "name": "Read-only reporting", "application_name": "Reporting", "scopes": ["orders_read"]},
)
DEFAULT_FULFILLMENT_CENTERS = (
    {"id": 10, "name": "Chicago (IL)", "address1": "1200 W Receiving Way", "city": "Chicago", "state": "IL",
     "zip_code": "60607", "country": "US", "timezone": "Central Standard Time"},
    {"id": 17, "name": "Riverside (CA)", "address1": "45 Distribution Dr", "city": "Riverside", "state": "CA",
     "zip_code": "92507", "country": "US", "timezone": "Pacific Standard Time"},
)
DEFAULT_CATALOGUE = (
    {"sku": "RC-TSHIRT-M", "name": "Retail Connector T-shirt (M)", "stock": 100},
    {"sku": "RC-MUG", "name": "Retail Connector mug", "stock": 50},
    {"sku": "RC-CAP", "name": "Retail Connector cap", "stock": 40},
    {"sku": "RC-SERUM", "name": "Retail Connector face serum", "stock": 0, "lot_tracked": True},
)

ORDER_TYPES = ("DTC", "DropShip", "B2B")
PACKAGE_TYPES = ("Package", "Pallet", "FloorLoadedContainer")
PACKING_TYPES = ("EverythingInOneBox", "OneSkuPerBox", "MultipleSkuPerBox")
RETURN_ACTIONS = ("Default", "Restock", "Quarantine", "Dispose")
SUBSCRIBABLE_TOPICS = ("order.shipped", "order.shipment.delivered", "order.shipment.exception",
                       "order.shipment.on_hold", "order.shipment.cancelled", "return.created", "return.updated",
                       "return.completed", "billing.charge.created", "billing.refund.created",
                       "billing.credit.created", "wro.created", "wro.updated", "wro.completed")
OPEN = ("Processing", "OnHold", "Exception")  # shipments that can still change
COMMITTING = ("Processing", "OnHold")  # shipments holding stock at their center
LEFT = ("Completed", "LabeledCreated")
WRO_OPEN = ("Awaiting", "Arrived", "PartiallyArrived", "Processing")
_ID_BASES = {"order": 300000000, "shipment": 500000000, "product": 700000, "variant": 800000,
             "inventory": 900000, "wro": 60000, "box": 70000, "return": 2000000, "status": 0}
_VERSION = r"(?P<version>\d{4}-\d{2})"


# --------------------------------------------------------------------------- signing

def new_webhook_secret() -> str:
    """Return a fresh ``whsec_<base64>`` signing secret (24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _signing_key(secret: str) -> bytes:
    text = str(secret)
    if text.startswith("whsec_"):
        text = text[len("whsec_"):]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # not a Standard Webhooks secret (a test forging a wrong one): sign with its bytes
        return text.encode("utf-8")


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return ``v1,<base64 HMAC-SHA256>`` of ``"<id>.<timestamp>.<body>"`` (Standard Webhooks)."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_signing_key(secret), signed, hashlib.sha256).digest()).decode("ascii")


# --------------------------------------------------------------------------- errors and time

class ApiError(Exception):
    """An error answer in one of ShipBob's shapes."""

    def __init__(self, status: int, body, headers=None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """Return the HTTP answer."""
        return Response(self.status, self.body, self.headers)


def _invalid(errors: dict, status: int = 400) -> ApiError:
    # ASP.NET model state, ShipBob's 400/422 body: {"Field": ["message", ...]}
    return ApiError(status, {k: v if isinstance(v, list) else [v] for k, v in errors.items()})


def _not_found(what: str) -> ApiError:
    return ApiError(404, {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Not Found",
                          "status": 404, "detail": f"{what} was not found"})


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _int_param(value, name: str, default: int, low: int = 1, high: int | None = None) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid({name: [f"The value '{value}' is not valid for {name}."]}) from None
    if number < low or (high is not None and number > high):
        raise _invalid({name: [f"{name} must be between {low} and {high or 'infinity'}."]})
    return number


def _csv(value) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def _bool_param(value) -> bool | None:
    if value in (None, ""):
        return None
    return str(value).strip().lower() in ("true", "1")


def api_route(method: str, tail: str, *, channel: bool = False):
    """Return a decorator serving ``method /<version>/<tail>`` (a regex tail).

    The handler runs for the simulator's API version only (others answer 404); with
    ``channel`` the ``shipbob_channel_id`` header is required and checked, and the handler
    gets the channel as ``request.channel``. An ApiError it raises becomes the answer.
    """

    def mark(func):
        @functools.wraps(func)
        def handler(self, request):
            try:
                if request.params.get("version") != self.api_version:
                    raise _not_found(f"API version {request.params.get('version')}")
                request.channel = self._channel(request, required=channel)
                return func(self, request)
            except ApiError as exc:
                return exc.response()

        return route(method, f"^/{_VERSION}/{tail}$")(handler)

    return mark


# --------------------------------------------------------------------------- simulator

class ThreePLSimulator(Simulator):
    """A ShipBob-style 3PL: products, stock per fulfillment center, orders split into shipments,
    receiving orders, returns, webhook subscriptions and signed webhooks."""

    name = "threepl"

    def __init__(self, *, token: str = "pat_simulator_token", api_version: str = API_VERSION,
                 channels=DEFAULT_CHANNELS, fulfillment_centers=DEFAULT_FULFILLMENT_CENTERS,
                 catalogue=DEFAULT_CATALOGUE, auto_ship_delay: float | None = None, partial_ratio: float | None = None,
                 requests_per_minute: int | None = None, carrier: str = "USPS",
                 carrier_service: str = "Ground Advantage",
                 seed: int | None = None, clock=None, tick: float = 0.02, **options):
        """Create the warehouse; ``options`` go to Simulator (port, webhook_url, webhook_secret,
        webhook_retries, webhook_async, ...).

        ``token`` is the personal access token the API accepts; ``catalogue`` items are
        ``{"sku", "name", "stock" (int at the first center, or {center id: qty}), "lot_tracked",
        "serial_tracked"}``; ``auto_ship_delay`` ships every new order that many seconds after
        its creation (None: only ``ship`` does), ``partial_ratio`` (0-1) ships that share of each
        line first and the rest one delay later; ``requests_per_minute`` turns on ShipBob's rate
        limit; ``clock`` returns the current aware datetime.
        """
        super().__init__(auth_token=token, **options)
        self.api_version = api_version
        self.carrier = carrier
        self.carrier_service = carrier_service
        self.auto_ship_delay = auto_ship_delay
        self.partial_ratio = partial_ratio
        self.tick = tick
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._next = dict.fromkeys(_ID_BASES, 0)
        self.channels = {int(c["id"]): dict(c) for c in channels}
        self.centers = {int(c["id"]): dict(c) for c in fulfillment_centers}
        self._products: dict[str, dict] = {}  # sku -> product
        self._by_inventory: dict[int, str] = {}
        self._stock: dict[tuple[int, int], dict] = {}  # (inventory id, center id) -> {"on_hand", "lots"}
        self._orders: dict[int, dict] = {}
        self._order_refs: dict[str, int] = {}
        self._shipments: dict[int, dict] = {}
        self._wros: dict[int, dict] = {}
        self._returns: dict[int, dict] = {}
        self.address_changes: list[dict] = []  # {"shipment_id", "body"} of each accepted updateAddress
        self.subscriptions: dict[str, dict] = {}
        self._schedule: list[tuple[float, int, int]] = []
        self._worker_stop = threading.Event()
        self._worker: threading.Thread | None = None
        if requests_per_minute:
            self.set_rate_limit((requests_per_minute / 60.0, int(requests_per_minute)))
        for item in catalogue:
            self.add_product(item["sku"], item.get("name"), stock=item.get("stock", 0),
                             lot_tracked=item.get("lot_tracked", False),
                             serial_tracked=item.get("serial_tracked", False))

    # ----------------------------------------------------------------- lifecycle and basics

    def start(self) -> ThreePLSimulator:
        """Return self after starting the server and the warehouse clock (auto shipping)."""
        super().start()
        if self._worker is None:
            self._worker_stop.clear()
            self._worker = threading.Thread(target=self._work, name="threepl-warehouse", daemon=True)
            self._worker.start()
        return self

    def stop(self) -> None:
        """Stop the warehouse clock, then the server."""
        self._worker_stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None
        super().stop()

    def now(self) -> datetime:
        """Return the warehouse's current time (UTC, to the second)."""
        moment = self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).replace(microsecond=0)

    def _new_id(self, kind: str) -> int:
        self._next[kind] += 1
        return _ID_BASES[kind] + self._next[kind]

    def _channel(self, request, *, required: bool) -> dict | None:
        value = request.header("shipbob_channel_id")
        if value in (None, ""):
            if required:
                raise _invalid({"shipbob_channel_id": ["The shipbob_channel_id header is required."]})
            return None
        try:
            channel = self.channels.get(int(str(value).strip()))
        except ValueError:
            raise _invalid({"shipbob_channel_id": [f"The value '{value}' is not valid."]}) from None
        if channel is None:
            raise ApiError(403, {"title": "Forbidden", "status": 403,
                                 "detail": f"No access to channel {value} with this token"})
        if required and request.method != "GET" and not any(s.endswith("_write") for s in channel["scopes"]):
            raise ApiError(403, {"title": "Forbidden", "status": 403,
                                 "detail": f"Channel {value} has no write scope"})
        return channel

    # ----------------------------------------------------------------- rate limit (ShipBob's headers)

    def _throttle(self):
        allowed, remaining, wait = self._bucket.take()
        headers = {"x-remaining-calls": str(remaining)}
        if allowed:
            return None, headers
        with self._stats_lock:
            self.rate_limited_count += 1
        retry = max(1, math.ceil(wait))
        body = {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {retry} seconds."}
        return Response(429, body, {**headers, "x-retry-after": str(retry)}), headers

    # ----------------------------------------------------------------- catalogue and stock

    def add_product(self, sku: str, name: str | None = None, *, stock=0, lot_tracked: bool = False,
                    serial_tracked: bool = False) -> dict:
        """Return the product created for ``sku`` with ``stock`` (int at the first center, or
        ``{center id: qty}``)."""
        with self._lock:
            if sku in self._products:
                raise ValueError(f"product {sku} exists")
            product = {"id": self._new_id("product"), "variant_id": self._new_id("variant"),
                       "inventory_id": self._new_id("inventory"), "sku": sku, "name": name or sku,
                       "lot_tracked": bool(lot_tracked), "serial_tracked": bool(serial_tracked),
                       "created": self.now(), "updated": self.now()}
            self._products[sku] = product
            self._by_inventory[product["inventory_id"]] = sku
            quantities = stock if isinstance(stock, dict) else {self._first_center(): int(stock or 0)}
            for center, quantity in quantities.items():
                self._level(product, int(center))["on_hand"] = int(quantity)
            return dict(product)

    def product(self, sku: str) -> dict:
        """Return the product of ``sku`` (with its ``inventory_id``)."""
        with self._lock:
            return dict(self._product(sku))

    def _product(self, sku: str) -> dict:
        try:
            return self._products[sku]
        except KeyError:
            raise ValueError(f"unknown SKU {sku!r}") from None

    def _first_center(self) -> int:
        return next(iter(self.centers))

    def _level(self, product: dict, center: int) -> dict:
        if center not in self.centers:
            raise ValueError(f"unknown fulfillment center {center}")
        return self._stock.setdefault((product["inventory_id"], center), {"on_hand": 0, "lots": {}})

    def set_stock(self, sku: str, quantity: int, fc: int | None = None, *, lot: str | None = None,
                  expiration: str | None = None) -> dict:
        """Return the stock of ``sku`` at center ``fc`` after setting its on-hand quantity (or,
        with ``lot``, that lot's quantity, the on-hand total following). Shipments waiting for
        stock are released when it suffices."""
        with self._lock:
            product = self._product(sku)
            level = self._level(product, fc or self._first_center())
            if lot:
                before = level["lots"].get(lot, {}).get("quantity", 0)
                level["lots"][lot] = {"quantity": int(quantity), "expiration": expiration}
                level["on_hand"] += int(quantity) - before
            else:
                level["on_hand"] = int(quantity)
            self._release_exceptions()
            return self.stock(sku, fc)

    def stock(self, sku: str, fc: int | None = None) -> dict:
        """Return ``{"on_hand", "committed", "fulfillable", "awaiting", "lots"}`` of ``sku`` at ``fc``."""
        with self._lock:
            product = self._product(sku)
            center = fc or self._first_center()
            level = self._stock.get((product["inventory_id"], center), {"on_hand": 0, "lots": {}})
            committed = self._committed(sku, center)
            return {"on_hand": level["on_hand"], "committed": committed, "fulfillable": level["on_hand"] - committed,
                    "awaiting": self._awaiting(product["inventory_id"], center),
                    "lots": {k: dict(v) for k, v in level["lots"].items()}}

    def _committed(self, sku: str, center: int) -> int:
        return sum(s["lines"].get(sku, 0) for s in self._shipments.values()
                   if s["center"] == center and s["status"] in COMMITTING)

    def _awaiting(self, inventory_id: int, center: int) -> int:
        total = 0
        for wro in self._wros.values():
            if wro["center"] == center and wro["status"] in WRO_OPEN:
                for box in wro["boxes"]:
                    for item in box["items"]:
                        if item["inventory_id"] == inventory_id:
                            total += max(item["quantity"] - item["received_quantity"], 0)
        return total

    def _fulfillable(self, sku: str, center: int) -> int:
        level = self._stock.get((self._products[sku]["inventory_id"], center))
        return (level["on_hand"] if level else 0) - self._committed(sku, center)

    def _release_exceptions(self) -> None:
        for shipment in sorted(self._shipments.values(), key=lambda s: s["id"]):
            if shipment["status"] == "Exception" and all(
                    self._fulfillable(sku, shipment["center"]) >= qty for sku, qty in shipment["lines"].items()):
                shipment["status"] = "Processing"
                shipment["status_details"] = []
                shipment["updated"] = self.now()

    # ----------------------------------------------------------------- orders: API

    @api_route("GET", "channel")
    def api_channels(self, request):
        """Return the channels of the token."""
        return {"items": [dict(c) for c in self.channels.values()], "next": None, "prev": None}

    @api_route("POST", "order", channel=True)
    def api_create_order(self, request):
        """Return the new order (201); a used reference_id answers 422."""
        body = request.json()
        if not isinstance(body, dict):
            raise _invalid({"": ["The request body must be a JSON object."]})
        errors = self._order_errors(body)
        if errors:
            raise _invalid(errors)
        with self._lock:
            if str(body["reference_id"]) in self._order_refs:
                raise _invalid({"": [DUPLICATE_ORDER]}, 422)
            unknown = {f"Products[{i}].Name": ["Name is required when no product matches the reference_id."]
                       for i, p in enumerate(body["products"])
                       if p.get("reference_id") not in self._products and not p.get("name")}
            if unknown:
                raise _invalid(unknown, 422)
            order, events = self._create_order(body, request.channel)
            rendered = self._render_order(order)
        self._send(events)
        return Response(201, rendered)

    def _order_errors(self, body: dict) -> dict:
        errors = {}
        reference = body.get("reference_id")
        if not isinstance(reference, str) or not reference.strip():
            errors["ReferenceId"] = ["The ReferenceId field is required."]
        elif len(reference) > 300:
            errors["ReferenceId"] = ["The field ReferenceId must be a string with a maximum length of 300."]
        if not str(body.get("shipping_method") or "").strip():
            errors["ShippingMethod"] = ["The ShippingMethod field is required."]
        if body.get("type") not in ORDER_TYPES:
            errors["Type"] = [f"The Type field is required and must be one of {', '.join(ORDER_TYPES)}."]
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else None
        if recipient is None:
            errors["Recipient"] = ["The Recipient field is required."]
        else:
            if not str(recipient.get("name") or "").strip():
                errors["Recipient.Name"] = ["The Name field is required."]
            address = recipient.get("address") if isinstance(recipient.get("address"), dict) else {}
            for key, label in (("address1", "Address1"), ("city", "City"), ("country", "Country")):
                if not str(address.get(key) or "").strip():
                    errors[f"Recipient.Address.{label}"] = [f"The {label} field is required."]
        products = body.get("products")
        if not isinstance(products, list) or not products:
            errors["Products"] = ["The Products field is required."]
        else:
            for index, product in enumerate(products):
                product = product if isinstance(product, dict) else {}
                if not str(product.get("reference_id") or "").strip():
                    errors[f"Products[{index}].ReferenceId"] = ["The ReferenceId field is required."]
                quantity = product.get("quantity")
                if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                    errors[f"Products[{index}].Quantity"] = ["Quantity must be a whole number greater than 0."]
        location = body.get("location_id")
        if location is not None and location not in self.centers:
            errors["LocationId"] = [f"Fulfillment center {location} does not exist."]
        return errors

    def _create_order(self, body: dict, channel: dict) -> tuple[dict, list]:
        now = self.now()
        lines: dict[str, int] = {}
        products = []
        for spec in body["products"]:
            sku = spec["reference_id"]
            if sku not in self._products:
                self.add_product(sku, spec.get("name"))
            product = self._products[sku]
            lines[sku] = lines.get(sku, 0) + int(spec["quantity"])
            products.append({"id": product["id"], "reference_id": sku, "sku": spec.get("sku") or sku,
                             "quantity": int(spec["quantity"]), "external_line_id": spec.get("external_line_id"),
                             "unit_price": spec.get("unit_price"), "gtin": spec.get("gtin"), "upc": spec.get("upc"),
                             "quantity_unit_of_measure_code": spec.get("quantity_unit_of_measure_code")})
        order = {
            "id": self._new_id("order"), "reference_id": body["reference_id"],
            "order_number": body.get("order_number") or body["reference_id"], "type": body["type"],
            "shipping_method": body["shipping_method"], "recipient": body["recipient"], "products": products,
            "channel": {"id": channel["id"], "name": channel["name"]}, "created": now,
            "purchase_date": body.get("purchase_date"), "tags": body.get("tags") or [],
            "gift_message": body.get("gift_message"), "financials": body.get("financials"),
            "location_id": body.get("location_id"), "shipments": [],
        }
        self._orders[order["id"]] = order
        self._order_refs[str(order["reference_id"])] = order["id"]
        center = self._pick_center(lines, order["location_id"])
        short = next((sku for sku, qty in lines.items() if self._fulfillable(sku, center) < qty), None)
        shipment = self._new_shipment(order, center, lines)
        events = []
        if short is not None:
            shipment["status"] = "Exception"
            shipment["status_details"] = [{
                "id": 1, "name": "OutOfStock", "description": f"Not enough fulfillable inventory of {short}",
                "inventory_id": self._products[short]["inventory_id"], "exception_fulfillment_center_id": center,
                "extra_information": None}]
            events.append(("order.shipment.exception", self._render_shipment(shipment)))
        if self.auto_ship_delay is not None:
            heapq.heappush(self._schedule, (time.monotonic() + self.auto_ship_delay, order["id"], 0))
        return order, events

    def _pick_center(self, lines: dict, wanted) -> int:
        if wanted is not None:
            return int(wanted)
        for center in self.centers:
            if all(self._fulfillable(sku, center) >= qty for sku, qty in lines.items()):
                return center
        return self._first_center()

    def _new_shipment(self, order: dict, center: int, lines: dict) -> dict:
        now = self.now()
        shipment = {"id": self._new_id("shipment"), "order_id": order["id"], "center": center, "lines": dict(lines),
                    "status": "Processing", "status_details": [], "created": now, "updated": now, "picked": None,
                    "tracking": None, "shipped": None, "delivered": None, "measurements": None}
        self._shipments[shipment["id"]] = shipment
        order["shipments"].append(shipment["id"])
        return shipment

    @api_route("GET", "order")
    def api_orders(self, request):
        """Return one page of orders (Page/Limit) with ShipBob's paging headers."""
        query = request.query
        ids = {int(v) for v in _csv(query.get("IDs")) if v.isdigit()}
        refs = set(_csv(query.get("ReferenceIds")))
        has_tracking = _bool_param(query.get("HasTracking"))
        with self._lock:
            orders = sorted(self._orders.values(), key=lambda o: o["id"],
                            reverse=str(query.get("SortOrder", "Newest")).lower() != "oldest")
            if request.channel is not None:
                orders = [o for o in orders if o["channel"]["id"] == request.channel["id"]]
            if ids:
                orders = [o for o in orders if o["id"] in ids]
            if refs:
                orders = [o for o in orders if str(o["reference_id"]) in refs]
            if has_tracking is not None:
                orders = [o for o in orders
                          if any(self._shipments[s]["tracking"] for s in o["shipments"]) == has_tracking]
            return self._number_page(request, orders, self._render_order)

    def _number_page(self, request, items: list, render) -> Response:
        page = _int_param(request.query.get("Page"), "Page", 1)
        limit = _int_param(request.query.get("Limit"), "Limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        pages = max(1, math.ceil(len(items) / limit))
        chunk = items[(page - 1) * limit:page * limit]
        headers = {"Page-Number": str(page), "Page-Size": str(limit), "Total-Count": str(len(items)),
                   "Total-Pages": str(pages)}
        if page < pages:
            query = {k: v for k, v in request.query.items() if k not in ("Page", "Limit")}
            headers["Next-Page"] = f"{request.path}?{urlencode({**query, 'Page': page + 1, 'Limit': limit})}"
        return Response(200, [render(item) for item in chunk], headers)

    @api_route("GET", r"order/(?P<order_id>\d+)")
    def api_order(self, request):
        """Return one order with its shipments."""
        with self._lock:
            return self._render_order(self._order_or_404(request))

    def _order_or_404(self, request) -> dict:
        order = self._orders.get(int(request.params["order_id"]))
        if order is None or (request.channel is not None and order["channel"]["id"] != request.channel["id"]):
            raise _not_found(f"Order {request.params['order_id']}")
        return order

    @api_route("POST", r"order/(?P<order_id>\d+):cancel")
    def api_cancel_order(self, request):
        """Return the cancellation result; shipments that left cannot be cancelled."""
        with self._lock:
            order = self._order_or_404(request)
            result, events = self._cancel(order)
        self._send(events)
        return result

    @api_route("GET", r"order/(?P<order_id>\d+)/shipment")
    def api_order_shipments(self, request):
        """Return the order's shipments."""
        with self._lock:
            order = self._order_or_404(request)
            return [self._render_shipment(self._shipments[s]) for s in order["shipments"]]

    @api_route("GET", r"order/(?P<order_id>\d+)/shipment/(?P<shipment_id>\d+)")
    def api_order_shipment(self, request):
        """Return one shipment of the order."""
        with self._lock:
            order = self._order_or_404(request)
            shipment_id = int(request.params["shipment_id"])
            if shipment_id not in order["shipments"]:
                raise _not_found(f"Shipment {shipment_id} of order {order['id']}")
            return self._render_shipment(self._shipments[shipment_id])

    @api_route("PUT", r"shipment/(?P<shipment_id>\d+):updateAddress")
    def api_update_shipment_address(self, request):
        """Return the shipment sent to the new address; one that left or was cancelled answers 422."""
        body = request.json()
        if not isinstance(body, dict):
            raise _invalid({"": ["The request body must be a JSON object."]})
        errors = {label: [f"The {label} field is required."]
                  for key, label in (("street_address1", "StreetAddress1"), ("city", "City"))
                  if not str(body.get(key) or "").strip()}
        if errors:
            raise _invalid(errors)
        with self._lock:
            shipment = self._shipments.get(int(request.params["shipment_id"]))
            if shipment is None:
                raise _not_found(f"Shipment {request.params['shipment_id']}")
            if shipment["status"] in LEFT or shipment["status"] == "Cancelled":
                raise _invalid({"": [f"Shipment {shipment['id']} is {shipment['status']}: its address can no "
                                     "longer change."]}, 422)
            current = self._recipient(shipment)
            shipment["recipient"] = {
                "name": body.get("name") or current.get("name"),
                "address": {"address1": body["street_address1"], "address2": body.get("street_address2"),
                            "company_name": body.get("company_name"), "city": body["city"],
                            "state": body.get("state"), "zip_code": body.get("zip_code"),
                            "country": body.get("country_code") or (current.get("address") or {}).get("country")},
                "email": body.get("email", current.get("email")),
                "phone_number": body.get("phone_number", current.get("phone_number")),
            }
            shipment["updated"] = self.now()
            self.address_changes.append({"shipment_id": shipment["id"], "body": dict(body)})
            return self._render_shipment(shipment)

    def _recipient(self, shipment: dict) -> dict:
        return shipment.get("recipient") or self._orders[shipment["order_id"]]["recipient"]

    @api_route("GET", r"shipment/(?P<shipment_id>\d+)")
    def api_shipment(self, request):
        """Return one shipment."""
        with self._lock:
            shipment = self._shipments.get(int(request.params["shipment_id"]))
            if shipment is None:
                raise _not_found(f"Shipment {request.params['shipment_id']}")
            return self._render_shipment(shipment)

    # ----------------------------------------------------------------- orders: warehouse actions

    def order(self, order) -> dict:
        """Return the order (API shape) by id or reference_id."""
        with self._lock:
            return self._render_order(self._find_order(order))

    @property
    def orders(self) -> list[dict]:
        """Return every order (API shape), oldest first."""
        with self._lock:
            return [self._render_order(o) for o in sorted(self._orders.values(), key=lambda o: o["id"])]

    def shipments(self, order) -> list[dict]:
        """Return the order's shipments (API shape)."""
        with self._lock:
            return [self._render_shipment(self._shipments[s]) for s in self._find_order(order)["shipments"]]

    def _find_order(self, order) -> dict:
        if isinstance(order, dict):
            order = order.get("id")
        if str(order) in self._order_refs:
            return self._orders[self._order_refs[str(order)]]
        try:
            return self._orders[int(order)]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"unknown order {order!r}") from None

    def ship(self, order, quantities: dict | None = None, *, lots: dict | None = None, serials: dict | None = None,
             tracking=None, carrier: str | None = None, carrier_service: str | None = None,
             notify: bool = True) -> dict:
        """Return the shipment that left after shipping ``quantities`` (``{sku: qty}``; None: all
        that waits) of the order (id or reference).

        Shipping less than the waiting shipment holds splits it (the rest stays Processing in
        a new shipment). ``lots`` is ``{sku: {lot: qty}}`` (lot-tracked items without it take
        stock lots first-expiring first), ``serials`` ``{sku: [serial, ...]}``, ``tracking`` a
        tracking number or a dict of ShipBob tracking fields. Sends ``order.shipped``.
        """
        with self._lock:
            record = self._find_order(order)
            shipment = next((self._shipments[s] for s in record["shipments"]
                             if self._shipments[s]["status"] == "Processing"), None)
            if shipment is None:
                raise ValueError(f"order {record['reference_id']} has no shipment waiting to ship")
            want = dict(shipment["lines"]) if quantities is None else {k: int(v) for k, v in quantities.items() if v}
            for sku, qty in want.items():
                if qty < 0 or qty > shipment["lines"].get(sku, 0):
                    raise ValueError(f"order {record['reference_id']}: cannot ship {qty} x {sku}, "
                                     f"the waiting shipment holds {shipment['lines'].get(sku, 0)}")
            if not want:
                raise ValueError("nothing to ship")
            rest = {sku: qty - want.get(sku, 0) for sku, qty in shipment["lines"].items() if qty - want.get(sku, 0)}
            if rest:
                shipment["lines"] = want
                remainder = self._new_shipment(record, shipment["center"], rest)
                if shipment.get("recipient"):
                    remainder["recipient"] = dict(shipment["recipient"])
            shipment["picked"] = self._pick(shipment["center"], want, lots or {}, serials or {})
            now = self.now()
            shipment.update(status="Completed", updated=now, shipped=now, measurements={
                "total_weight_oz": 8 * sum(want.values()), "length_in": 12, "width_in": 9, "depth_in": 4})
            shipment["status_details"] = [{"id": 2, "name": "Shipped", "description": "Shipment has been shipped",
                                           "inventory_id": None, "exception_fulfillment_center_id": None,
                                           "extra_information": None}]
            shipment["tracking"] = self._tracking(tracking, carrier, carrier_service, now)
            events = [("order.shipped", self._render_order(record))] if notify else []
            rendered = self._render_shipment(shipment)
        self._send(events)
        return rendered

    def _pick(self, center: int, want: dict, lots: dict, serials: dict) -> dict:
        """Return ``{sku: [inventory item]}`` taken from stock at ``center``."""
        picked = {}
        for sku, qty in want.items():
            product = self._products[sku]
            level = self._level(product, center)
            chosen = lots.get(sku)
            if isinstance(chosen, (list, tuple)):
                chosen = dict(chosen)
            if chosen is None and product["lot_tracked"] and level["lots"]:
                chosen, needed = {}, qty
                for lot, info in sorted(level["lots"].items(), key=lambda kv: (kv[1]["expiration"] or "", kv[0])):
                    take = min(needed, info["quantity"])
                    if take > 0:
                        chosen[lot] = take
                        needed -= take
                if needed:
                    chosen = None
            if chosen is not None and sum(int(v) for v in chosen.values()) != qty:
                raise ValueError(f"lots of {sku} add up to {sum(chosen.values())}, not {qty}")
            serial_list = list(serials.get(sku) or [])
            if serial_list and len(serial_list) != qty:
                raise ValueError(f"{len(serial_list)} serial numbers given for {qty} x {sku}")
            items = []
            parts = list(chosen.items()) if chosen else [(None, qty)]
            for lot, count in parts:
                count = int(count)
                info = level["lots"].get(lot) if lot else None
                if info is not None:
                    info["quantity"] -= count
                items.append({"id": product["inventory_id"], "name": product["name"], "quantity": count,
                              "quantity_committed": 0, "lot": lot,
                              "expiration_date": info["expiration"] if info else None,
                              "serial_numbers": serial_list[:count], "is_dangerous_goods": False})
                serial_list = serial_list[count:]
            level["on_hand"] -= qty
            picked[sku] = items
        return picked

    def _tracking(self, tracking, carrier, carrier_service, now) -> dict:
        fields = dict(tracking) if isinstance(tracking, dict) else (
            {"tracking_number": str(tracking)} if tracking else {})
        number = fields.get("tracking_number") or "9400" + "".join(self._rng.choice("0123456789") for _ in range(18))
        return {"carrier": fields.get("carrier") or carrier or self.carrier,
                "carrier_service": fields.get("carrier_service") or carrier_service or self.carrier_service,
                "tracking_number": number,
                "tracking_url": fields.get("tracking_url")
                or f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
                "bol": fields.get("bol"), "pro_number": fields.get("pro_number"), "scac": fields.get("scac"),
                "shipping_date": _iso(now)}

    def cancel(self, order, *, notify: bool = True) -> dict:
        """Return the cancellation result after cancelling every shipment of the order that has
        not left (the warehouse side of a cancellation); sends ``order.shipment.cancelled``
        per cancelled shipment."""
        with self._lock:
            result, events = self._cancel(self._find_order(order))
        if notify:
            self._send(events)
        return result

    def _cancel(self, order: dict) -> tuple[dict, list]:
        results, events = [], []
        for shipment_id in order["shipments"]:
            shipment = self._shipments[shipment_id]
            if shipment["status"] in OPEN:
                shipment.update(status="Cancelled", updated=self.now(), status_details=[])
                results.append({"shipment_id": shipment_id, "action": "Cancel", "is_success": True,
                                "reason": "Shipment cancelled"})
                events.append(("order.shipment.cancelled", self._render_shipment(shipment)))
            elif shipment["status"] == "Cancelled":
                results.append({"shipment_id": shipment_id, "action": "Cancel", "is_success": True,
                                "reason": "Shipment is already cancelled"})
            else:
                results.append({"shipment_id": shipment_id, "action": "Cancel", "is_success": False,
                                "reason": "Shipment has already been shipped and cannot be cancelled"})
        done = sum(1 for r in results if r["is_success"])
        status = "Success" if done == len(results) else ("PartialSuccess" if done else "Failure")
        return ({"order_id": order["id"], "status": status, "canceled_shipment_results": results,
                 "order": self._render_order(order)}, events)

    def mark_delivered(self, order, *, notify: bool = True) -> list[dict]:
        """Return the shipments of the order marked delivered (those shipped and not yet
        delivered); sends ``order.shipment.delivered`` for each."""
        with self._lock:
            record = self._find_order(order)
            events, done = [], []
            for shipment_id in record["shipments"]:
                shipment = self._shipments[shipment_id]
                if shipment["status"] in LEFT and shipment["delivered"] is None:
                    shipment.update(delivered=self.now(), updated=self.now())
                    shipment["status_details"] = [{"id": 3, "name": "Delivered", "description": "Delivered",
                                                   "inventory_id": None, "exception_fulfillment_center_id": None,
                                                   "extra_information": None}]
                    done.append(self._render_shipment(shipment))
                    events.append(("order.shipment.delivered", done[-1]))
        if notify:
            self._send(events)
        return done

    def hold(self, order, reason: str = "Invalid address", *, notify: bool = True) -> list[dict]:
        """Return the shipments put on hold (those waiting); sends ``order.shipment.on_hold``."""
        with self._lock:
            record = self._find_order(order)
            events, held = [], []
            for shipment_id in record["shipments"]:
                shipment = self._shipments[shipment_id]
                if shipment["status"] == "Processing":
                    shipment.update(status="OnHold", updated=self.now())
                    shipment["status_details"] = [{"id": 4, "name": "InvalidAddress", "description": reason,
                                                   "inventory_id": None, "exception_fulfillment_center_id": None,
                                                   "extra_information": None}]
                    held.append(self._render_shipment(shipment))
                    events.append(("order.shipment.on_hold", held[-1]))
        if notify:
            self._send(events)
        return held

    def release(self, order) -> None:
        """Put the order's held shipments back to Processing."""
        with self._lock:
            for shipment_id in self._find_order(order)["shipments"]:
                shipment = self._shipments[shipment_id]
                if shipment["status"] == "OnHold":
                    shipment.update(status="Processing", status_details=[], updated=self.now())

    # ----------------------------------------------------------------- auto shipping

    def _work(self) -> None:
        while not self._worker_stop.wait(self.tick):
            due = []
            with self._lock:
                while self._schedule and self._schedule[0][0] <= time.monotonic():
                    due.append(heapq.heappop(self._schedule))
            for _, order_id, wave in due:
                try:
                    self._auto_ship(order_id, wave)
                except ValueError:
                    pass  # cancelled, held or out of stock meanwhile: the warehouse skips it

    def _auto_ship(self, order_id: int, wave: int) -> None:
        with self._lock:
            order = self._orders.get(order_id)
            waiting = next((self._shipments[s] for s in order["shipments"]
                            if self._shipments[s]["status"] == "Processing"), None) if order else None
            if waiting is None:
                if order and any(self._shipments[s]["status"] in ("Exception", "OnHold") for s in order["shipments"]):
                    heapq.heappush(self._schedule, (time.monotonic() + (self.auto_ship_delay or 0), order_id, wave))
                return
            quantities = None
            if wave == 0 and self.partial_ratio and 0 < self.partial_ratio < 1:
                part = {sku: math.floor(qty * self.partial_ratio) for sku, qty in waiting["lines"].items()}
                part = {sku: qty for sku, qty in part.items() if qty}
                if part and part != waiting["lines"]:
                    quantities = part
                    heapq.heappush(self._schedule, (time.monotonic() + (self.auto_ship_delay or 0), order_id, 1))
        self.ship(order_id, quantities)

    # ----------------------------------------------------------------- rendering orders

    def _render_order(self, order: dict) -> dict:
        shipments = [self._shipments[s] for s in order["shipments"]]
        return {
            "id": order["id"], "created_date": _iso(order["created"]), "purchase_date": order["purchase_date"],
            "reference_id": order["reference_id"], "order_number": order["order_number"],
            "status": self._order_status(shipments), "type": order["type"], "channel": dict(order["channel"]),
            "shipping_method": order["shipping_method"], "recipient": order["recipient"],
            "products": [dict(p) for p in order["products"]], "tags": order["tags"],
            "shipments": [self._render_shipment(s) for s in shipments], "gift_message": order["gift_message"],
            "shipping_terms": None, "retailer_program_data": None, "financials": order["financials"],
        }

    @staticmethod
    def _order_status(shipments: list[dict]) -> str:
        live = [s for s in shipments if s["status"] != "Cancelled"]
        if not live:
            return "Cancelled"
        left = [s for s in live if s["status"] in LEFT]
        if len(left) == len(live):
            return "Fulfilled"
        if left:
            return "PartiallyFulfilled"
        if any(s["status"] == "Exception" for s in live):
            return "Exception"
        return "Processing"

    def _render_shipment(self, shipment: dict) -> dict:
        order = self._orders[shipment["order_id"]]
        center = self.centers[shipment["center"]]
        products = []
        for sku, qty in shipment["lines"].items():
            product = self._products[sku]
            if shipment["picked"] is not None:
                items = [dict(i) for i in shipment["picked"].get(sku, [])]
            else:
                committed = qty if shipment["status"] in COMMITTING else 0
                items = [{"id": product["inventory_id"], "name": product["name"], "quantity": qty,
                          "quantity_committed": committed, "lot": None, "expiration_date": None,
                          "serial_numbers": [], "is_dangerous_goods": False}]
            products.append({"id": product["id"], "reference_id": sku, "name": product["name"], "sku": sku,
                             "inventory_items": items})
        recipient = self._recipient(shipment)
        return {
            "id": shipment["id"], "order_id": order["id"], "reference_id": order["reference_id"],
            "recipient": {"name": recipient.get("name"), "full_name": recipient.get("name"),
                          "address": recipient.get("address"), "email": recipient.get("email"),
                          "phone_number": recipient.get("phone_number")},
            "created_date": _iso(shipment["created"]), "last_update_at": _iso(shipment["updated"]),
            "last_tracking_update_at": _iso(shipment["shipped"]), "status": shipment["status"],
            "status_details": [dict(d) for d in shipment["status_details"]],
            "location": {"id": center["id"], "name": center["name"]},
            "invoice_amount": None, "invoice_currency_code": None, "insurance_value": None,
            "ship_option": order["shipping_method"],
            "tracking": dict(shipment["tracking"]) if shipment["tracking"] else None,
            "products": products, "parent_cartons": [], "measurements": shipment["measurements"],
            "require_signature": False, "package_material_type": "Box" if shipment["picked"] else "Unassigned",
            "estimated_fulfillment_date": None, "estimated_fulfillment_date_status": "AwaitingInventoryAllocation"
            if shipment["status"] == "Exception" else "PendingOnTime",
            "actual_fulfillment_date": _iso(shipment["shipped"]), "delivery_date": _iso(shipment["delivered"]),
            "is_tracking_uploaded": False, "gift_message": order["gift_message"],
        }

    # ----------------------------------------------------------------- products and inventory: API

    @api_route("GET", "product")
    def api_products(self, request):
        """Return products filtered by SKU (exact) or Search (substring), paged by link."""
        sku = request.query.get("SKU")
        search = str(request.query.get("Search") or "").lower()
        with self._lock:
            products = sorted(self._products.values(), key=lambda p: p["id"])
            if sku:
                products = [p for p in products if p["sku"].lower() == sku.lower()]
            if search:
                products = [p for p in products if search in p["sku"].lower() or search in p["name"].lower()]
            return self._link_page(request, products, self._render_product, "PageSize")

    def _render_product(self, product: dict) -> dict:
        on_hand = sum(level["on_hand"] for (inv, _), level in self._stock.items() if inv == product["inventory_id"])
        variant = {"id": product["variant_id"], "name": product["name"], "sku": product["sku"], "status": "Active",
                   "is_digital": False, "created_on": _iso(product["created"]), "updated_on": _iso(product["updated"]),
                   "inventory": {"inventory_id": product["inventory_id"], "on_hand_qty": on_hand},
                   "lot_information": {"is_lot": product["lot_tracked"], "minimum_shelf_life_days": None},
                   "fulfillment_settings": {"serial_scan": {"is_enabled": product["serial_tracked"]}}}
        return {"id": product["id"], "name": product["name"], "type": "Regular", "user_id": 1,
                "created_on": _iso(product["created"]), "updated_on": _iso(product["updated"]), "taxonomy": None,
                "variants": [variant]}

    def _link_page(self, request, items: list, render, size_param: str) -> dict:
        size = _int_param(request.query.get(size_param), size_param, DEFAULT_LIMIT, 1, MAX_LIMIT)
        cursor = _int_param(request.query.get("Cursor"), "Cursor", 1)
        pages = max(1, math.ceil(len(items) / size))

        def link(number):
            query = {k: v for k, v in request.query.items() if k != "Cursor"}
            return f"{request.path}?{urlencode({**query, 'Cursor': number})}"

        return {"items": [render(i) for i in items[(cursor - 1) * size:cursor * size]],
                "first": link(1) if cursor > 1 else None, "prev": link(cursor - 1) if cursor > 1 else None,
                "next": link(cursor + 1) if cursor < pages else None, "last": link(pages) if cursor < pages else None}

    def _inventory_items(self, request) -> list[dict]:
        ids = {int(v) for v in _csv(request.query.get("InventoryIds")) if v.isdigit()}
        search = str(request.query.get("SearchBy") or "").lower()
        products = sorted(self._products.values(), key=lambda p: p["inventory_id"])
        if ids:
            products = [p for p in products if p["inventory_id"] in ids]
        if search:
            products = [p for p in products if search in p["sku"].lower() or search in p["name"].lower()
                        or search == str(p["inventory_id"])]
        return products

    def _locations(self, product: dict, only: int | None = None) -> list[dict]:
        rows = []
        for center_id, center in self.centers.items():
            if only is not None and center_id != only:
                continue
            level = self._stock.get((product["inventory_id"], center_id))
            awaiting = self._awaiting(product["inventory_id"], center_id)
            if level is None and not awaiting:
                continue
            on_hand = level["on_hand"] if level else 0
            committed = self._committed(product["sku"], center_id)
            rows.append({"location_id": center_id, "name": center["name"], "on_hand_quantity": on_hand,
                         "committed_quantity": committed, "fulfillable_quantity": max(on_hand - committed, 0),
                         "awaiting_quantity": awaiting, "internal_transfer_quantity": 0})
        return rows

    @api_route("GET", "inventory-level")
    def api_inventory_levels(self, request):
        """Return inventory totals per item, paged by link."""
        with self._lock:
            def render(product):
                rows = self._locations(product)
                on_hand = sum(r["on_hand_quantity"] for r in rows)
                committed = sum(r["committed_quantity"] for r in rows)
                fulfillable = sum(r["fulfillable_quantity"] for r in rows)
                awaiting = sum(r["awaiting_quantity"] for r in rows)
                exception = sum(q for s in self._shipments.values() if s["status"] == "Exception"
                                for sku, q in s["lines"].items() if sku == product["sku"])
                return {"inventory_id": product["inventory_id"], "name": product["name"], "sku": product["sku"],
                        "total_on_hand_quantity": on_hand, "total_committed_quantity": committed,
                        "total_fulfillable_quantity": fulfillable, "total_awaiting_quantity": awaiting,
                        "total_exception_quantity": exception, "total_backordered_quantity": exception,
                        "total_internal_transfer_quantity": 0,
                        "total_sellable_quantity": fulfillable - exception + awaiting}

            return self._link_page(request, self._inventory_items(request), render, "PageSize")

    @api_route("GET", "inventory-level/locations")
    def api_inventory_locations(self, request):
        """Return inventory per item and fulfillment center, paged by link."""
        only = request.query.get("LocationId")
        only = _int_param(only, "LocationId", 0) if only not in (None, "") else None
        with self._lock:
            items = self._inventory_items(request)
            if only is not None:
                items = [p for p in items if self._locations(p, only)]

            def render(product):
                return {"inventory_id": product["inventory_id"], "name": product["name"], "sku": product["sku"],
                        "locations": self._locations(product, only)}

            return self._link_page(request, items, render, "PageSize")

    @api_route("GET", "fulfillment-center")
    def api_centers(self, request):
        """Return the fulfillment centers."""
        return [self._render_center(c) for c in self.centers]

    def _render_center(self, center_id: int) -> dict:
        center = self.centers[center_id]
        return {"id": center_id, "name": center["name"], "address1": center.get("address1"), "address2": None,
                "city": center.get("city"), "state": center.get("state"), "zip_code": center.get("zip_code"),
                "country": center.get("country"), "timezone": center.get("timezone"), "email": None,
                "phone_number": None}

    # ----------------------------------------------------------------- receiving (WRO): API

    @api_route("POST", "receiving")
    def api_create_wro(self, request):
        """Return the new warehouse receiving order (201), status Awaiting."""
        body = request.json()
        if not isinstance(body, dict):
            raise _invalid({"": ["The request body must be a JSON object."]})
        with self._lock:
            errors = self._wro_errors(body)
            if errors:
                raise _invalid(errors)
            wro, events = self._create_wro(body)
            rendered = self._render_wro(wro)
        self._send(events)
        return Response(201, rendered)

    def _wro_errors(self, body: dict) -> dict:
        errors = {}
        center = body.get("fulfillment_center") if isinstance(body.get("fulfillment_center"), dict) else {}
        if center.get("id") not in self.centers:
            errors["FulfillmentCenter.Id"] = [f"Fulfillment center {center.get('id')} is not valid for receiving."]
        if body.get("package_type") not in PACKAGE_TYPES:
            errors["PackageType"] = [f"PackageType must be one of {', '.join(PACKAGE_TYPES)}."]
        if body.get("box_packaging_type") not in PACKING_TYPES:
            errors["BoxPackagingType"] = [f"BoxPackagingType must be one of {', '.join(PACKING_TYPES)}."]
        try:
            date.fromisoformat(str(body.get("expected_arrival_date") or "")[:10])
        except ValueError:
            errors["ExpectedArrivalDate"] = ["The ExpectedArrivalDate field is required and must be a date."]
        boxes = body.get("boxes")
        if not isinstance(boxes, list) or not boxes:
            errors["Boxes"] = ["The Boxes field is required."]
            return errors
        for b, box in enumerate(boxes):
            box = box if isinstance(box, dict) else {}
            items = box.get("box_items")
            if not isinstance(items, list) or not items:
                errors[f"Boxes[{b}].BoxItems"] = ["The BoxItems field is required."]
                continue
            for i, item in enumerate(items):
                where = f"Boxes[{b}].BoxItems[{i}]"
                item = item if isinstance(item, dict) else {}
                sku = self._by_inventory.get(item.get("inventory_id"))
                if sku is None:
                    errors[f"{where}.InventoryId"] = [f"Inventory {item.get('inventory_id')} does not exist."]
                    continue
                quantity = item.get("quantity")
                if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                    errors[f"{where}.Quantity"] = ["Quantity must be greater than 0."]
                if self._products[sku]["lot_tracked"] and not (item.get("lot_number") and item.get("lot_date")):
                    errors[f"{where}.LotNumber"] = [f"{sku} is lot tracked: lot_number and lot_date are required."]
        return errors

    def _create_wro(self, body: dict) -> tuple[dict, list]:
        now = self.now()
        wro = {"id": self._new_id("wro"), "status": "Awaiting", "center": body["fulfillment_center"]["id"],
               "package_type": body["package_type"], "box_packaging_type": body["box_packaging_type"],
               "expected_arrival_date": body["expected_arrival_date"],
               "purchase_order_number": body.get("purchase_order_number"), "insert_date": now, "updated": now,
               "history": [], "external_sync": None, "boxes": []}
        for number, box in enumerate(body["boxes"], start=1):
            wro["boxes"].append({
                "box_id": self._new_id("box"), "box_number": number, "tracking_number": box.get("tracking_number"),
                "box_status": "Awaiting", "arrived_date": None, "received_date": None, "counting_started_date": None,
                "items": [{"inventory_id": i["inventory_id"], "quantity": i["quantity"],
                           "lot_number": i.get("lot_number"), "lot_date": i.get("lot_date"),
                           "received_quantity": 0, "stowed_quantity": 0} for i in box["box_items"]]})
        self._wro_status(wro, "Awaiting")
        self._wros[wro["id"]] = wro
        return wro, [("wro.created", self._render_wro(wro))]

    def _wro_status(self, wro: dict, status: str) -> None:
        wro["status"] = status
        wro["updated"] = self.now()
        wro["history"].append({"id": self._new_id("status"), "status": status, "timestamp": _iso(self.now())})

    def _render_wro(self, wro: dict) -> dict:
        totals: dict[int, dict] = {}
        for box in wro["boxes"]:
            for item in box["items"]:
                row = totals.setdefault(item["inventory_id"], {
                    "inventory_id": item["inventory_id"], "sku": self._by_inventory[item["inventory_id"]],
                    "expected_quantity": 0, "received_quantity": 0, "stowed_quantity": 0})
                row["expected_quantity"] += item["quantity"]
                row["received_quantity"] += item["received_quantity"]
                row["stowed_quantity"] += item["stowed_quantity"]
        base = self.url if self._server is not None else ""
        return {"id": wro["id"], "status": wro["status"], "package_type": wro["package_type"],
                "box_packaging_type": wro["box_packaging_type"], "expected_arrival_date": wro["expected_arrival_date"],
                "insert_date": _iso(wro["insert_date"]), "last_updated_date": _iso(wro["updated"]),
                "purchase_order_number": wro["purchase_order_number"],
                "fulfillment_center": self._render_center(wro["center"]),
                "inventory_quantities": list(totals.values()), "status_history": [dict(h) for h in wro["history"]],
                "box_labels_uri": f"{base}/{self.api_version}/receiving/{wro['id']}/labels",
                "external_sync_timestamp": wro["external_sync"]}

    def _render_boxes(self, wro: dict) -> list[dict]:
        return [{"box_id": box["box_id"], "box_number": box["box_number"], "tracking_number": box["tracking_number"],
                 "box_status": box["box_status"], "arrived_date": box["arrived_date"],
                 "received_date": box["received_date"], "counting_started_date": box["counting_started_date"],
                 "box_items": [dict(i) for i in box["items"]]} for box in wro["boxes"]]

    def _wro_or_404(self, request) -> dict:
        wro = self._wros.get(int(request.params["wro_id"]))
        if wro is None:
            raise _not_found(f"Receiving order {request.params['wro_id']}")
        return wro

    @api_route("GET", "receiving")
    def api_wros(self, request):
        """Return one page of receiving orders with the paging headers."""
        query = request.query
        ids = {int(v) for v in _csv(query.get("IDs")) if v.isdigit()}
        statuses = {s.lower() for s in _csv(query.get("Statuses"))}
        numbers = set(_csv(query.get("PurchaseOrderNumbers")))
        centers = {int(v) for v in _csv(query.get("FulfillmentCenterIds")) if v.isdigit()}
        synced = _bool_param(query.get("ExternalSync"))
        with self._lock:
            wros = sorted(self._wros.values(), key=lambda w: w["id"])
            wros = [w for w in wros if (not ids or w["id"] in ids) and (not statuses or w["status"].lower() in statuses)
                    and (not numbers or str(w["purchase_order_number"]) in numbers)
                    and (not centers or w["center"] in centers)
                    and (synced is None or (w["external_sync"] is not None) == synced)]
            return self._number_page(request, wros, self._render_wro)

    @api_route("GET", r"receiving/(?P<wro_id>\d+)")
    def api_wro(self, request):
        """Return one receiving order."""
        with self._lock:
            return self._render_wro(self._wro_or_404(request))

    @api_route("GET", r"receiving/(?P<wro_id>\d+)/boxes")
    def api_wro_boxes(self, request):
        """Return the receiving order's boxes and their items."""
        with self._lock:
            return self._render_boxes(self._wro_or_404(request))

    @api_route("POST", r"receiving/(?P<wro_id>\d+):cancel")
    def api_cancel_wro(self, request):
        """Return the cancelled receiving order; one already arriving answers 422."""
        with self._lock:
            wro = self._wro_or_404(request)
            if wro["status"] != "Awaiting":
                raise _invalid({"": [f"Receiving order {wro['id']} is {wro['status']} and cannot be cancelled."]}, 422)
            self._wro_status(wro, "Cancelled")
            for box in wro["boxes"]:
                box["box_status"] = "Cancelled"
            return self._render_wro(wro)

    # ----------------------------------------------------------------- receiving: warehouse actions

    def receiving_order(self, wro_id) -> dict:
        """Return the receiving order (API shape)."""
        with self._lock:
            return self._render_wro(self._wros[int(wro_id)])

    def receive(self, wro_id, quantities: dict | None = None, damaged: dict | None = None, *,
                complete: bool = True, notify: bool = True) -> dict:
        """Return the receiving order after counting in ``quantities`` (``{sku: units}``, added
        to what was counted before; None: everything expected) of which ``damaged``
        (``{sku: units}``) are not stowed. Stowed units join the center's stock (and lots).
        ``complete`` closes the WRO (``wro.completed``), else it stays Processing
        (``wro.updated``)."""
        with self._lock:
            wro = self._wros[int(wro_id)]
            if wro["status"] not in WRO_OPEN:
                raise ValueError(f"receiving order {wro['id']} is {wro['status']}")
            items_by_sku: dict[str, list[dict]] = {}
            for box in wro["boxes"]:
                for item in box["items"]:
                    items_by_sku.setdefault(self._by_inventory[item["inventory_id"]], []).append(item)
            if quantities is None:
                quantities = {sku: sum(i["quantity"] - i["received_quantity"] for i in items)
                              for sku, items in items_by_sku.items()}
            damaged = dict(damaged or {})
            for sku in list(quantities) + list(damaged):
                if sku not in items_by_sku:
                    raise ValueError(f"{sku} is not on receiving order {wro['id']}")
            for sku, count in quantities.items():
                broken = int(damaged.get(sku, 0))
                if broken > count:
                    raise ValueError(f"{broken} damaged {sku} out of {count} received")
                self._count_in(wro["center"], items_by_sku[sku], int(count), broken)
            now = _iso(self.now())
            for box in wro["boxes"]:
                box["arrived_date"] = box["arrived_date"] or now
                box["counting_started_date"] = box["counting_started_date"] or now
                box["box_status"] = "Completed" if complete else "Stowing"
                if complete:
                    box["received_date"] = now
            if wro["status"] == "Awaiting":
                self._wro_status(wro, "Arrived")
            if wro["status"] != "Processing":
                self._wro_status(wro, "Processing")
            if complete:
                self._wro_status(wro, "Completed")
            rendered = self._render_wro(wro)
            self._release_exceptions()
        if notify:
            self._send([("wro.completed" if complete else "wro.updated", rendered)])
        return rendered

    def _count_in(self, center: int, items: list[dict], count: int, broken: int) -> None:
        product = self._products[self._by_inventory[items[0]["inventory_id"]]]
        level = self._level(product, center)
        takes, remaining = [], count
        for index, item in enumerate(items):
            last = index == len(items) - 1
            take = remaining if last else min(remaining, max(item["quantity"] - item["received_quantity"], 0))
            takes.append([item, take, 0])
            remaining -= take
        # the damaged units of this count come off the last items counted; the rest is stowed
        for entry in reversed(takes):
            entry[2] = min(entry[1], broken)
            broken -= entry[2]
        for item, take, spoiled in takes:
            item["received_quantity"] += take
            item["stowed_quantity"] += take - spoiled
            if take - spoiled and item["lot_number"]:
                lot = level["lots"].setdefault(item["lot_number"], {"quantity": 0, "expiration": item["lot_date"]})
                lot["quantity"] += take - spoiled
            level["on_hand"] += take - spoiled

    # ----------------------------------------------------------------- returns

    @api_route("POST", "return", channel=True)
    def api_create_return(self, request):
        """Return the new return order (201), status AwaitingArrival."""
        body = request.json()
        if not isinstance(body, dict):
            raise _invalid({"": ["The request body must be a JSON object."]})
        with self._lock:
            errors = self._return_errors(body)
            if errors:
                raise ApiError(400, {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                                     "title": "One or more validation errors occurred.", "status": 400,
                                     "errors": errors})
            reference = str(body["reference_id"])
            if any(r["reference_id"] == reference for r in self._returns.values()):
                raise ApiError(422, {"message": "A return with this reference id already exists",
                                     "errors": [f"Reference Id already exists: {reference}"]})
            shipment = self._shipments.get(body.get("original_shipment_id") or 0)
            if body.get("original_shipment_id") and (shipment is None or shipment["status"] not in LEFT):
                raise ApiError(422, {"message": "The original shipment was not found or has not shipped",
                                     "errors": [f"OriginalShipmentId {body.get('original_shipment_id')} is not valid"]})
            ret = self._create_return(body, request.channel, shipment)
            rendered = self._render_return(ret, v1=True)
            event = ("return.created", self._render_return(ret))
        self._send([event])
        return Response(201, rendered)

    def _return_errors(self, body: dict) -> dict:
        errors = {}
        if not str(body.get("reference_id") or "").strip():
            errors["ReferenceId"] = ["The ReferenceId field is required."]
        center = body.get("fulfillment_center") if isinstance(body.get("fulfillment_center"), dict) else {}
        if center.get("id") not in self.centers:
            errors["FulfillmentCenter.Id"] = [f"Fulfillment center {center.get('id')} does not exist."]
        inventory = body.get("inventory")
        if not isinstance(inventory, list) or not inventory:
            errors["Inventory"] = ["The Inventory field is required."]
            return errors
        for i, item in enumerate(inventory):
            item = item if isinstance(item, dict) else {}
            if item.get("id") not in self._by_inventory:
                errors[f"Inventory[{i}].Id"] = [f"Inventory {item.get('id')} does not exist."]
            if not isinstance(item.get("quantity"), int) or item["quantity"] < 1:
                errors[f"Inventory[{i}].Quantity"] = ["Quantity must be greater than 0."]
            if item.get("requested_action") not in RETURN_ACTIONS:
                errors[f"Inventory[{i}].RequestedAction"] = [
                    f"RequestedAction must be one of {', '.join(RETURN_ACTIONS)}."]
        return errors

    def _create_return(self, body: dict, channel: dict, shipment: dict | None) -> dict:
        now = self.now()
        ret = {"id": self._new_id("return"), "reference_id": str(body["reference_id"]), "status": "AwaitingArrival",
               "center": body["fulfillment_center"]["id"], "channel": {"id": channel["id"], "name": channel["name"]},
               "original_shipment_id": body.get("original_shipment_id"), "tracking_number": body.get("tracking_number"),
               "store_order_id": self._orders[shipment["order_id"]]["reference_id"] if shipment else None,
               "insert_date": now, "completed": None, "arrived": None, "cancelled": None, "history": [],
               "inventory": [{"id": i["id"], "quantity": i["quantity"], "action": i["requested_action"],
                              "lot_number": i.get("lot_number"), "lot_date": i.get("lot_date"), "taken": []}
                             for i in body["inventory"]]}
        ret["history"].append({"status": "AwaitingArrival", "timestamp": _iso(now)})
        self._returns[ret["id"]] = ret
        return ret

    def _render_return(self, ret: dict, *, v1: bool = False) -> dict:
        inventory = []
        for item in ret["inventory"]:
            sku = self._by_inventory[item["id"]]
            row = {"id": item["id"], "name": self._products[sku]["name"], "quantity": item["quantity"],
                   "action_requested": {"action": item["action"], "action_type": "OverriddenByMerchant"
                                        if item["action"] != "Default" else "InventoryDefault", "instructions": None},
                   "action_taken": [dict(t) for t in item["taken"]]}
            if not v1:
                row.update(sku=sku, barcodes=[], lot_information={"number": item["lot_number"],
                                                                  "expiration": item["lot_date"],
                                                                  "minimumShelfLife": None}
                           if item["lot_number"] else None)
            inventory.append(row)
        body = {"id": ret["id"], "reference_id": ret["reference_id"], "status": ret["status"],
                "return_type": "Regular", "channel": dict(ret["channel"]), "customer_name": "Retail Connector",
                "fulfillment_center": {"id": ret["center"], "name": self.centers[ret["center"]]["name"]},
                "insert_date": _iso(ret["insert_date"]), "completed_date": _iso(ret["completed"]),
                "original_shipment_id": ret["original_shipment_id"], "store_order_id": ret["store_order_id"],
                "tracking_number": ret["tracking_number"], "inventory": inventory, "transactions": []}
        if v1:
            body["invoice_amount"] = None
        else:
            body.update(arrived_date=_iso(ret["arrived"]), cancelled_date=_iso(ret["cancelled"]),
                        awaiting_arrival_date=_iso(ret["insert_date"]), processing_date=_iso(ret["arrived"]),
                        status_history=[dict(h) for h in ret["history"]], invoice=None,
                        shipment_tracking_number=self._original_tracking(ret))
        return body

    def _original_tracking(self, ret: dict) -> str | None:
        shipment = self._shipments.get(ret["original_shipment_id"])
        return shipment["tracking"]["tracking_number"] if shipment and shipment["tracking"] else None

    def _return_or_404(self, request) -> dict:
        ret = self._returns.get(int(request.params["return_id"]))
        if ret is None:
            raise _not_found(f"Return {request.params['return_id']}")
        return ret

    @api_route("GET", "return")
    def api_returns(self, request):
        """Return return orders filtered by ReferenceIds, Ids or Status, paged by link (Cursor, Limit)."""
        refs = set(_csv(request.query.get("ReferenceIds")))
        ids = {int(v) for v in _csv(request.query.get("Ids")) if v.isdigit()}
        statuses = {s.lower() for s in _csv(request.query.get("Status"))}
        with self._lock:
            rets = [r for r in sorted(self._returns.values(), key=lambda r: r["id"])
                    if (not refs or r["reference_id"] in refs) and (not ids or r["id"] in ids)
                    and (not statuses or r["status"].lower() in statuses)]
            return self._link_page(request, rets, self._render_return, "Limit")

    @api_route("GET", r"return/(?P<return_id>\d+)")
    def api_return(self, request):
        """Return one return order."""
        with self._lock:
            return self._render_return(self._return_or_404(request))

    @api_route("POST", r"return/(?P<return_id>\d+):cancel")
    def api_cancel_return(self, request):
        """Return the cancelled return order; only one awaiting arrival can be cancelled."""
        with self._lock:
            ret = self._return_or_404(request)
            if ret["status"] != "AwaitingArrival":
                raise ApiError(422, {"message": f"Return {ret['id']} is {ret['status']} and cannot be cancelled",
                                     "errors": []})
            ret.update(status="Cancelled", cancelled=self.now())
            ret["history"].append({"status": "Cancelled", "timestamp": _iso(self.now())})
            return self._render_return(ret)

    def return_order(self, return_id) -> dict:
        """Return the return order (API shape)."""
        with self._lock:
            return self._render_return(self._returns[int(return_id)])

    def process_return(self, return_id, quantities: dict | None = None, actions: dict | None = None, *,
                       notify: bool = True) -> dict:
        """Return the return order after processing it: ``quantities`` (``{sku: units}``, default
        as announced) with ``actions`` (``{sku: Restock|Quarantine|Dispose}``, default the
        requested one, Default meaning Restock). Restocked units join the center's stock.
        Sends ``return.completed``."""
        with self._lock:
            ret = self._returns[int(return_id)]
            if ret["status"] in ("Completed", "Cancelled"):
                raise ValueError(f"return {ret['id']} is {ret['status']}")
            now = self.now()
            for item in ret["inventory"]:
                sku = self._by_inventory[item["id"]]
                count = int((quantities or {}).get(sku, item["quantity"]))
                action = (actions or {}).get(sku) or item["action"]
                action = "Restock" if action == "Default" else action
                if count:
                    item["taken"].append({"action": action, "action_reason": "Processed by the warehouse",
                                          "quantity_processed": count, "image_url": None})
                if action == "Restock" and count:
                    level = self._level(self._products[sku], ret["center"])
                    level["on_hand"] += count
                    if item["lot_number"]:
                        lot = level["lots"].setdefault(item["lot_number"],
                                                       {"quantity": 0, "expiration": item["lot_date"]})
                        lot["quantity"] += count
            ret.update(status="Completed", arrived=ret["arrived"] or now, completed=now)
            ret["history"] += [{"status": "Arrived", "timestamp": _iso(now)},
                               {"status": "Completed", "timestamp": _iso(now)}]
            rendered = self._render_return(ret)
            self._release_exceptions()
        if notify:
            self._send([("return.completed", rendered)])
        return rendered

    # ----------------------------------------------------------------- webhook subscriptions

    @api_route("POST", "webhook")
    def api_create_subscription(self, request):
        """Return the new subscription with its signing secret."""
        body = request.json()
        body = body if isinstance(body, dict) else {}
        topics = body.get("topics")
        errors = {}
        if not isinstance(topics, list) or not topics:
            errors["Topics"] = ["The Topics field is required."]
        else:
            for i, topic in enumerate(topics):
                if topic not in SUBSCRIBABLE_TOPICS:
                    errors[f"Topics[{i}]"] = [f"'{topic}' is not a valid topic."]
        if not re.match(r"^https?://", str(body.get("url") or "")):
            errors["Url"] = ["The Url field is required and must be an absolute URL."]
        if errors:
            raise _invalid(errors, 422)
        with self._lock:
            sub = {"id": str(uuid.uuid4()), "url": body["url"], "topics": list(dict.fromkeys(topics)),
                   "secret": body.get("secret") or new_webhook_secret(), "description": body.get("description"),
                   "created_at": _iso(self.now()), "enabled": True}
            self.subscriptions[sub["id"]] = sub
            return {k: sub[k] for k in ("id", "url", "topics", "secret", "description", "created_at")}

    @api_route("GET", "webhook")
    def api_subscriptions(self, request):
        """Return the subscriptions (secrets left out), paged by link."""
        with self._lock:
            subs = list(self.subscriptions.values())
            fields = ("id", "url", "topics", "description", "created_at", "enabled")
            page = self._link_page(request, subs, lambda s: {k: s[k] for k in fields}, "RecordsPerPage")
            return {"items": page["items"], "next": page["next"], "prev": page["prev"]}

    @api_route("DELETE", r"webhook/(?P<sub_id>[^/]+)")
    def api_delete_subscription(self, request):
        """Delete one subscription (204)."""
        with self._lock:
            if self.subscriptions.pop(request.params["sub_id"], None) is None:
                raise _not_found(f"Webhook subscription {request.params['sub_id']}")
        return Response(204)

    # ----------------------------------------------------------------- webhook delivery

    def new_event_id(self) -> str:
        """Return a fresh message id (``msg_...``, the ``webhook-id``)."""
        return "msg_" + uuid.uuid4().hex

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        """Return the Standard Webhooks headers of one attempt, signed with the delivery's secret."""
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": delivery.event_id,
                   "webhook-timestamp": str(int(timestamp)), "x-webhook-topic": delivery.topic}
        if delivery.secret is not None:
            headers["webhook-signature"] = standard_signature(delivery.secret, delivery.event_id, timestamp,
                                                              delivery.body)
        return headers

    def webhook_targets(self, topic: str) -> list[tuple[str, str | None]]:
        """Return ``(url, secret)`` pairs ``topic`` is delivered to: subscriptions, then ``webhook_url``."""
        with self._lock:
            targets = [(s["url"], s["secret"]) for s in self.subscriptions.values()
                       if s["enabled"] and topic in s["topics"]]
        if self.webhook_url and self.webhook_url not in [url for url, _ in targets]:
            targets.append((self.webhook_url, self.webhook_secret))
        return targets

    def _send(self, events) -> None:
        # never called with self._lock held: a receiver may call the API back synchronously
        for topic, payload in events:
            event_id = self.new_event_id()
            for url, secret in self.webhook_targets(topic) or [(None, None)]:
                self._send_to(topic, payload, url, secret, event_id)

    def _send_to(self, topic, payload, url, secret, event_id) -> list[WebhookDelivery]:
        body = json_bytes(payload)
        with self._send_lock:
            plan = self._plan
            before, unsigned, forced = plan.tamper, plan.tamper_unsigned, plan.tamper_secret
            deliveries, to_send = self._plan_event(topic, payload, body, url, event_id)
            tampered = plan.tamper < before
        # each target signs with its own secret; the framework's tampering overrides it
        signing = (None if unsigned else (forced or secret)) if tampered else secret
        for delivery in deliveries:
            delivery.secret = signing
            self.webhooks.add(delivery)
        self._dispatch_deliveries(to_send)
        return deliveries


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    """Run the 3PL simulator until interrupted; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulators.threepl", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8804)
    parser.add_argument("--token", required=True, help="personal access token the API accepts")
    parser.add_argument("--webhook-url", help="where webhooks are POSTed (Odoo's endpoint)")
    parser.add_argument("--webhook-secret", help="whsec_... secret signing them (default: a new one, printed)")
    parser.add_argument("--auto-ship", type=float, metavar="SECONDS", help="ship each order SECONDS after creation")
    parser.add_argument("--partial", type=float, metavar="RATIO", help="ship this share of each line first")
    parser.add_argument("--stock", action="append", default=[], metavar="SKU=QTY",
                        help="a product the warehouse holds, with its stock (repeatable; default: a small catalogue)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--quiet", action="store_true", help="do not print each request")
    args = parser.parse_args(argv)
    secret = args.webhook_secret or new_webhook_secret()
    catalogue = DEFAULT_CATALOGUE
    if args.stock:
        pairs = [item.split("=", 1) for item in args.stock]
        catalogue = tuple({"sku": sku, "name": sku, "stock": int(qty or 0)} for sku, qty in pairs)
    sim = ThreePLSimulator(host=args.host, port=args.port, token=args.token, webhook_url=args.webhook_url,
                           webhook_secret=secret, auto_ship_delay=args.auto_ship, partial_ratio=args.partial,
                           catalogue=catalogue, seed=args.seed, webhook_async=True, verbose=not args.quiet)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with sim:
        channel = next(iter(sim.channels))
        print(f"3PL (ShipBob API {sim.api_version}) on {sim.url}; channel {channel}; webhook secret {secret}",
              flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
