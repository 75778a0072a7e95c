"""A store POS on Square's public APIs (Locations, Orders, Catalog, Inventory, webhooks).

Routes (``Authorization: Bearer <token>``, any ``Square-Version``), with Square's shapes: money
as ``{"amount": <minor units>, "currency"}``, cursors, errors as ``{"errors": [{"category",
"code", "detail", "field"}]}``:

    GET  /v2/locations
    POST /v2/orders/batch-retrieve      POST /v2/orders/search (state and closed_at filters)
    POST /v2/catalog/batch-upsert       (idempotency_key; a reused key with another body: 400)
    POST /v2/inventory/changes/batch-create   POST /v2/inventory/counts/batch-retrieve

Webhooks are Square notifications ``{"merchant_id", "type", "event_id", "created_at", "data":
{"type", "id", "object"}}`` signed in ``x-square-hmacsha256-signature`` with base64
HMAC-SHA256 of the subscription's notification URL followed by the raw body. A completed sale
sends ``order.created`` then ``order.updated`` (state COMPLETED) and ``payment.updated``; a
return sends ``refund.created`` for a return order that references the sale; a count made in
the store sends ``inventory.count.updated``. Standard library only: no product code.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import itertools
import json
import random
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from .base import HttpError, Response, Simulator, WebhookDelivery, hmac_sha256_base64, route

DEFAULT_LOCATIONS = (
    {"id": "L1BRUSSELS", "name": "Brussels Grand-Place", "timezone": "Europe/Brussels", "currency": "EUR"},
    {"id": "L2ANTWERP", "name": "Antwerp Meir", "timezone": "Europe/Brussels", "currency": "EUR"},
)
DEFAULT_CATALOGUE = (("RC-MUG", "Retail Connector mug", "9.50"), ("RC-CAP", "Retail Connector cap", "14.00"),
                     ("RC-TSHIRT-M", "Retail Connector T-shirt (M)", "19.90"))
TENDERS = ("CASH", "CARD", "SQUARE_GIFT_CARD")


def _money(amount: Decimal, currency: str) -> dict:
    return {"amount": int((Decimal(amount) * 100).to_integral_value()), "currency": currency}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class SquareError(HttpError):
    """An error answered in Square's shape: ``{"errors": [{"category", "code", "detail", "field"}]}``."""

    def response(self) -> Response:
        return Response(self.status, {"errors": self.details}, dict(self.headers))


def _error(status: int, code: str, detail: str, field: str | None = None, category="INVALID_REQUEST_ERROR"):
    error = {"category": category, "code": code, "detail": detail}
    if field:
        error["field"] = field
    return SquareError(status, code, detail, details=[error])


class SquarePOS(Simulator):
    """A POS account with stores, their catalogue, stock, sales and returns."""

    def __init__(self, *, token: str = "sq_simulator_token", signature_key: str = "sq-signature-key",
                 notification_url: str | None = None, locations=DEFAULT_LOCATIONS, catalogue=DEFAULT_CATALOGUE,
                 stock: int = 50, tax_percent: str = "0", merchant_id: str = "MLSIMULATOR", seed: int | None = None,
                 **options):
        """``notification_url`` is the URL the webhook subscription names (signed with the body);
        it defaults to ``webhook_url``. ``options`` go to Simulator (port, webhook_url...)."""
        super().__init__(auth_token=token, webhook_secret=signature_key, **options)
        self.notification_url = notification_url
        self.merchant_id = merchant_id
        self.tax_percent = Decimal(tax_percent)
        self.random = random.Random(seed)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.locations = {loc["id"]: dict(loc) for loc in locations}
        self.items: dict[str, dict] = {}  # variation id -> {"sku", "name", "price", "item_id", "archived"}
        self.catalog_objects: dict[str, dict] = {}
        self._keys: dict[str, tuple[str, dict]] = {}
        self.counts: dict[tuple[str, str], Decimal] = {}
        self.orders: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        for sku, name, price in catalogue:
            variation = self._new_id("V")
            self.items[variation] = {"sku": sku, "name": name, "price": Decimal(price), "item_id": self._new_id("I"),
                                     "archived": False}
            for location in self.locations:
                self.counts[(variation, location)] = Decimal(stock)

    # ----------------------------------------------------------------- helpers

    def _new_id(self, prefix: str) -> str:
        return "%s%s%06d" % (prefix, uuid.uuid4().hex[:10].upper(), next(self._ids))

    def variation_of(self, sku: str) -> str:
        """Return the catalogue variation id of a SKU; KeyError when unknown."""
        with self._lock:
            return next(v for v, item in self.items.items() if item["sku"] == sku)

    def add_item(self, sku: str, price, *, name: str | None = None, stock=0) -> str:
        """Return the variation id of a new catalogue item of one variation, ``stock`` at every location."""
        with self._lock:
            variation = self._new_id("V")
            self.items[variation] = {"sku": sku, "name": name or sku, "price": Decimal(str(price)),
                                     "item_id": self._new_id("I"), "archived": False}
            for location in self.locations:
                self.counts[(variation, location)] = Decimal(str(stock))
            return variation

    def _currency(self, location: str) -> str:
        return self.locations[location]["currency"]

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        headers = super().webhook_headers(delivery, timestamp)
        url = self.notification_url or delivery.url or ""
        headers["x-square-hmacsha256-signature"] = hmac_sha256_base64(delivery.secret or "", url.encode() + delivery.body)
        return headers

    def _notify(self, event_type: str, object_type: str, object_id: str, obj: dict) -> None:
        event_id = str(uuid.uuid4())
        body = {"merchant_id": self.merchant_id, "type": event_type, "event_id": event_id,
                "created_at": _iso(datetime.now(timezone.utc)),
                "data": {"type": object_type, "id": object_id, "object": obj}}
        self.send_webhook(event_type, body, event_id=event_id)

    # ----------------------------------------------------------------- store activity

    def sell(self, location: str, lines, tenders=None, *, customer_id: str | None = None, at: datetime | None = None,
             notify: bool = True) -> dict:
        """Return a completed sale of ``lines`` (``[{"sku", "quantity"}]``) at ``location``.

        ``tenders`` is ``[{"type", "amount"}]`` (default: one card tender for the total); the
        store's stock goes down; ``order.created``, ``order.updated`` and ``payment.updated``
        are sent.
        """
        with self._lock:
            currency = self._currency(location)
            moment = at or datetime.now(timezone.utc)
            order_id = self._new_id("O")
            tax_uid = "tax-1"
            items, total, tax_total = [], Decimal(0), Decimal(0)
            for index, line in enumerate(lines):
                variation = self.variation_of(line["sku"])
                item = self.items[variation]
                quantity = Decimal(str(line.get("quantity", 1)))
                unit = item.get("location_prices", {}).get(location, item["price"])
                gross = unit * quantity
                tax = (gross * self.tax_percent / 100).quantize(Decimal("0.01"))
                total += gross + tax
                tax_total += tax
                entry = {"uid": "li-%d" % index, "name": item["name"], "quantity": str(quantity),
                         "catalog_object_id": variation, "variation_name": item["sku"],
                         "base_price_money": _money(unit, currency), "total_money": _money(gross + tax, currency),
                         "total_tax_money": _money(tax, currency), "total_discount_money": _money(0, currency)}
                if self.tax_percent:
                    entry["applied_taxes"] = [{"uid": "at-%d" % index, "tax_uid": tax_uid,
                                               "applied_money": _money(tax, currency)}]
                items.append(entry)
                self.counts[(variation, location)] = self.counts.get((variation, location), Decimal(0)) - quantity
            tenders = tenders or [{"type": "CARD", "amount": total}]
            order = {
                "id": order_id, "location_id": location, "state": "COMPLETED", "version": 4,
                "created_at": _iso(moment), "updated_at": _iso(moment), "closed_at": _iso(moment),
                "source": {"name": "Square Point of Sale"}, "customer_id": customer_id, "line_items": items,
                "taxes": [{"uid": tax_uid, "name": "VAT", "percentage": str(self.tax_percent), "type": "ADDITIVE",
                           "scope": "LINE_ITEM"}] if self.tax_percent else [],
                "tenders": [{"id": self._new_id("T"), "type": t["type"], "location_id": location,
                             "transaction_id": order_id, "created_at": _iso(moment), "payment_id": self._new_id("P"),
                             "amount_money": _money(Decimal(str(t["amount"])), currency)} for t in tenders],
                "total_money": _money(total, currency), "total_tax_money": _money(tax_total, currency),
                "total_discount_money": _money(0, currency),
            }
            self.orders[order_id] = order
            result = copy.deepcopy(order)
        if notify:
            summary = {"order_id": order_id, "location_id": location, "state": "COMPLETED", "version": 4,
                       "created_at": order["created_at"], "updated_at": order["updated_at"]}
            self._notify("order.created", "order_created", order_id, {"order_created": dict(summary, state="OPEN")})
            self._notify("order.updated", "order_updated", order_id, {"order_updated": summary})
            for tender in order["tenders"]:
                self._notify("payment.updated", "payment", tender["payment_id"], {"payment": {
                    "id": tender["payment_id"], "order_id": order_id, "status": "COMPLETED",
                    "amount_money": tender["amount_money"], "location_id": location}})
        return result

    def add_customer(self, given_name: str, family_name: str, email: str | None = None,
                     phone: str | None = None) -> str:
        """Return the id of a new customer of the account (Customers API shape)."""
        with self._lock:
            customer_id = self._new_id("C")
            self.customers[customer_id] = {"id": customer_id, "given_name": given_name, "family_name": family_name,
                                           "email_address": email, "phone_number": phone,
                                           "created_at": _iso(datetime.now(timezone.utc))}
            return customer_id

    @route("GET", "/v2/customers/{customer_id}")
    def api_get_customer(self, request):
        """Return one customer, or 404 NOT_FOUND."""
        with self._lock:
            customer = self.customers.get(request.params["customer_id"])
        if customer is None:
            raise _error(404, "NOT_FOUND", "Customer not found", category="INVALID_REQUEST_ERROR")
        return {"customer": copy.deepcopy(customer)}

    def refund(self, order_id: str, lines, *, notify: bool = True) -> dict:
        """Return the return order of ``lines`` (``[{"sku", "quantity"}]``) of a sale, money back on its
        first tender; the goods go back to the store's stock; sends ``refund.created``."""
        with self._lock:
            sale = self.orders[order_id]
            location, currency = sale["location_id"], self._currency(sale["location_id"])
            moment = datetime.now(timezone.utc)
            return_items, amount = [], Decimal(0)
            for index, line in enumerate(lines):
                source = next(li for li in sale["line_items"] if li["variation_name"] == line["sku"])
                quantity = Decimal(str(line.get("quantity", 1)))
                unit = Decimal(source["total_money"]["amount"]) / 100 / Decimal(source["quantity"])
                amount += unit * quantity
                return_items.append({"uid": "rli-%d" % index, "name": source["name"], "quantity": str(quantity),
                                     "catalog_object_id": source["catalog_object_id"],
                                     "variation_name": source["variation_name"],
                                     "source_line_item_uid": source["uid"], "base_price_money": source["base_price_money"],
                                     "total_money": _money(unit * quantity, currency)})
                key = (source["catalog_object_id"], location)
                self.counts[key] = self.counts.get(key, Decimal(0)) + quantity
            refund_id = self._new_id("R")
            return_order = {
                "id": self._new_id("O"), "location_id": location, "state": "COMPLETED", "version": 1,
                "created_at": _iso(moment), "updated_at": _iso(moment), "closed_at": _iso(moment),
                "returns": [{"uid": "ret-1", "source_order_id": order_id, "return_line_items": return_items}],
                "refunds": [{"id": refund_id, "location_id": location, "tender_id": sale["tenders"][0]["id"],
                             "amount_money": _money(amount, currency), "status": "COMPLETED", "reason": "Returned goods"}],
                "return_amounts": {"total_money": _money(amount, currency)},
                "total_money": _money(0, currency),
            }
            self.orders[return_order["id"]] = return_order
            result = copy.deepcopy(return_order)
        if notify:
            self._notify("refund.created", "refund", refund_id, {"refund": {
                "id": refund_id, "status": "COMPLETED", "amount_money": _money(amount, currency),
                "payment_id": sale["tenders"][0]["payment_id"], "order_id": return_order["id"],
                "location_id": location, "created_at": _iso(moment)}})
        return result

    def count(self, location: str, sku: str, quantity, *, notify: bool = True) -> dict:
        """Return the physical count a store made of a SKU; sends ``inventory.count.updated``."""
        with self._lock:
            variation = self.variation_of(sku)
            self.counts[(variation, location)] = Decimal(str(quantity))
            count = self._render_count(variation, location)
        if notify:
            self._notify("inventory.count.updated", "inventory_counts", variation, {"inventory_counts": [count]})
        return count

    def stock(self, location: str, sku: str) -> Decimal:
        """Return the store's count of a SKU."""
        with self._lock:
            return self.counts.get((self.variation_of(sku), location), Decimal(0))

    def day_totals(self, location: str, start: datetime, end: datetime) -> dict:
        """Return what the POS reports as taken per tender type between two instants."""
        totals: dict[str, Decimal] = {}
        with self._lock:
            for order in self.orders.values():
                if order["location_id"] != location or not start <= _parse(order["closed_at"]) < end:
                    continue
                for tender in order.get("tenders", []):
                    totals[tender["type"]] = totals.get(tender["type"], Decimal(0)) + Decimal(
                        tender["amount_money"]["amount"]) / 100
        return totals

    def _render_count(self, variation: str, location: str) -> dict:
        return {"catalog_object_id": variation, "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
                "location_id": location, "quantity": format(self.counts.get((variation, location), Decimal(0)), "f"),
                "calculated_at": _iso(datetime.now(timezone.utc))}

    # ----------------------------------------------------------------- API

    @route("GET", "/v2/locations")
    def api_locations(self, request):
        """Return the account's locations."""
        return {"locations": [dict(loc, status="ACTIVE") for loc in self.locations.values()]}

    @route("POST", "/v2/orders/batch-retrieve")
    def api_batch_retrieve_orders(self, request):
        """Return the orders asked for (unknown ids are left out, as Square does)."""
        ids = (request.json() or {}).get("order_ids") or []
        if not isinstance(ids, list) or len(ids) > 100:
            raise _error(400, "INVALID_VALUE", "order_ids must be a list of at most 100 ids", "order_ids")
        with self._lock:
            return {"orders": [copy.deepcopy(self.orders[i]) for i in ids if i in self.orders]}

    @route("POST", "/v2/orders/search")
    def api_search_orders(self, request):
        """Return orders of the locations by state and closed_at window, oldest close first, by cursor."""
        body = request.json() or {}
        locations = body.get("location_ids") or []
        if not locations:
            raise _error(400, "MISSING_REQUIRED_PARAMETER", "location_ids is required", "location_ids")
        flt = (body.get("query") or {}).get("filter") or {}
        states = (flt.get("state_filter") or {}).get("states") or []
        window = ((flt.get("date_time_filter") or {}).get("closed_at")) or {}
        start = _parse(window["start_at"]) if window.get("start_at") else None
        end = _parse(window["end_at"]) if window.get("end_at") else None
        limit = min(int(body.get("limit") or 500), 1000)
        offset = int(body.get("cursor") or 0)
        with self._lock:
            found = sorted((o for o in self.orders.values() if o["location_id"] in locations
                            and (not states or o["state"] in states)
                            and (start is None or _parse(o["closed_at"]) >= start)
                            and (end is None or _parse(o["closed_at"]) < end)), key=lambda o: (o["closed_at"], o["id"]))
            page = [copy.deepcopy(o) for o in found[offset:offset + limit]]
        result = {"orders": page}
        if offset + limit < len(found):
            result["cursor"] = str(offset + limit)
        return result

    @route("POST", "/v2/catalog/batch-upsert")
    def api_batch_upsert(self, request):
        """Create or update items and variations; the same idempotency key answers the same result."""
        body = request.json() or {}
        key = body.get("idempotency_key")
        if not key:
            raise _error(400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required", "idempotency_key")
        digest = hashlib.sha256(json.dumps(body.get("batches"), sort_keys=True).encode()).hexdigest()
        with self._lock:
            if key in self._keys:
                known_digest, answer = self._keys[key]
                if known_digest != digest:
                    raise _error(400, "IDEMPOTENCY_KEY_REUSED", "The idempotency key was used with another request")
                return copy.deepcopy(answer)
            objects, mappings = [], []
            for batch in body.get("batches") or []:
                for obj in batch.get("objects") or []:
                    objects.append(self._upsert_item(obj, mappings))
            answer = {"objects": objects, "id_mappings": mappings}
            self._keys[key] = (digest, answer)
            return copy.deepcopy(answer)

    def _upsert_item(self, obj: dict, mappings: list) -> dict:
        if obj.get("type") != "ITEM":
            raise _error(400, "INVALID_VALUE", "only ITEM objects with their variations are accepted here", "type")
        item_id = obj["id"]
        if item_id.startswith("#"):
            real = self._new_id("I")
            mappings.append({"client_object_id": item_id, "object_id": real})
            item_id = real
        data = obj.get("item_data") or {}
        for variation in data.get("variations") or []:
            vdata = variation.get("item_variation_data") or {}
            vid = variation["id"]
            sku = vdata.get("sku")
            existing = next((v for v, item in self.items.items() if item["sku"] == sku), None)
            if vid.startswith("#"):
                real = existing or self._new_id("V")
                mappings.append({"client_object_id": vid, "object_id": real})
                vid = real
            price = Decimal((vdata.get("price_money") or {}).get("amount", 0)) / 100
            overrides = {o["location_id"]: Decimal(o["price_money"]["amount"]) / 100
                         for o in vdata.get("location_overrides") or [] if o.get("price_money")}
            self.items[vid] = {"sku": sku, "name": vdata.get("name") or data.get("name"), "price": price,
                               "location_prices": overrides, "item_id": item_id,
                               "archived": bool(data.get("is_archived"))}
            variation["id"] = vid
            vdata["item_id"] = item_id
        stored = dict(obj, id=item_id, version=int(time.time() * 1000), is_deleted=False)
        self.catalog_objects[item_id] = stored
        return stored

    def catalog_item(self, sku: str) -> dict:
        """Return the catalogue entry of a SKU (``sku``, ``name``, ``price``, ``archived``)."""
        with self._lock:
            return dict(self.items[self.variation_of(sku)])

    @route("POST", "/v2/inventory/changes/batch-create")
    def api_inventory_changes(self, request):
        """Apply physical counts (at most 100 changes a call); answer the resulting counts."""
        body = request.json() or {}
        changes = body.get("changes") or []
        if len(changes) > 100:
            raise _error(400, "ARRAY_LENGTH_TOO_LONG", "at most 100 changes per request", "changes")
        counts = []
        with self._lock:
            for index, change in enumerate(changes):
                if change.get("type") != "PHYSICAL_COUNT":
                    raise _error(400, "INVALID_VALUE", "only PHYSICAL_COUNT changes are accepted", f"changes[{index}]")
                count = change["physical_count"]
                if count["catalog_object_id"] not in self.items:
                    raise _error(400, "INVALID_VALUE", "unknown catalog_object_id %s" % count["catalog_object_id"],
                                 f"changes[{index}].physical_count.catalog_object_id")
                self.counts[(count["catalog_object_id"], count["location_id"])] = Decimal(count["quantity"])
                counts.append(self._render_count(count["catalog_object_id"], count["location_id"]))
        return {"counts": counts}

    @route("POST", "/v2/inventory/counts/batch-retrieve")
    def api_inventory_counts(self, request):
        """Return the counts of the variations at the locations, by cursor."""
        body = request.json() or {}
        ids = body.get("catalog_object_ids") or list(self.items)
        locations = body.get("location_ids") or list(self.locations)
        offset = int(body.get("cursor") or 0)
        with self._lock:
            counts = [self._render_count(v, loc) for v in ids for loc in locations if v in self.items]
        page = counts[offset:offset + 100]
        result = {"counts": page}
        if offset + 100 < len(counts):
            result["cursor"] = str(offset + 100)
        return result


def main(argv=None) -> int:
    """Run the POS until interrupted, placing a store sale every ``--trickle`` seconds."""
    parser = argparse.ArgumentParser(prog="python -m simulators.square_pos", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8806)
    parser.add_argument("--token", required=True)
    parser.add_argument("--webhook-url")
    parser.add_argument("--signature-key", required=True)
    parser.add_argument("--trickle", type=float, default=0, help="seconds between store sales (0: none)")
    parser.add_argument("--currency", default=None, help="currency of every location (default: each its own)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    locations = tuple(dict(loc, currency=args.currency or loc["currency"]) for loc in DEFAULT_LOCATIONS)
    pos = SquarePOS(host=args.host, port=args.port, token=args.token, signature_key=args.signature_key,
                    webhook_url=args.webhook_url, locations=locations, webhook_async=True, verbose=not args.quiet)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with pos:
        print(f"Square POS on {pos.url} (locations: {', '.join(pos.locations)})", flush=True)
        try:
            while not stop.wait(args.trickle or 0.5):
                if args.trickle:
                    location = pos.random.choice(list(pos.locations))
                    skus = [item["sku"] for item in pos.items.values()]
                    pos.sell(location, [{"sku": pos.random.choice(skus), "quantity": pos.random.randint(1, 3)}],
                             tenders=None)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
