# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Client of Square's Connect v2 API (Square-Version 2025-10-16) for store POS channels.

Documented at https://developer.squareup.com/reference/square (the API reference per version)
and https://developer.squareup.com/docs (guides). Facts this client relies on:

* Base ``https://connect.squareup.com`` (sandbox ``https://connect.squareupsandbox.com``),
  paths under ``/v2/``; ``Authorization: Bearer <access token>`` and ``Square-Version:
  YYYY-MM-DD`` on every call (without the header Square applies the application's version).
* Money is ``{"amount": <integer in the currency's minor units>, "currency": "USD"}``;
  quantities are decimal strings; timestamps RFC 3339.
* Lists page with an opaque ``cursor``: answered while more results exist, sent back as a
  query parameter (GET) or a body field (POST) with the same query; an answer without
  ``cursor`` is the last page.
* SearchOrders (``POST /v2/orders/search``) takes 1 to 10 ``location_ids``; a
  ``date_time_filter`` on ``closed_at`` needs ``sort.sort_field`` ``CLOSED_AT`` and a
  ``state_filter`` of closed states; both ends of a time range are inclusive; ``limit`` up to
  1,000 (default 500). BatchRetrieveOrders takes at most 100 ids and leaves unknown ids out.
* ListPayments / ListPaymentRefunds (``GET /v2/payments``, ``/v2/refunds``): ``begin_time`` /
  ``end_time`` on ``created_at``, ``location_id``, ``sort_order``, ``limit`` at most 100.
  ListPayments without a location covers the main location only.
* Catalog: BatchUpsertCatalogObjects takes batches of at most 1,000 objects (an item's nested
  variations count) and 10,000 objects per request; each batch is atomic; ids starting with
  ``#`` create objects and come back in ``id_mappings``; an update replaces the whole object,
  ``version`` makes it conditional; ``is_deleted`` must not be set. An item is archived by
  upserting it with ``item_data.is_archived`` true (it stays in the catalog, out of the POS);
  BatchDeleteCatalogObjects (at most 200 ids) deletes for good, an item with its variations.
* Inventory: BatchChangeInventory (``POST /v2/inventory/changes/batch-create``) applies at most
  100 changes per call (PHYSICAL_COUNT sets the quantity in a state as of ``occurred_at``);
  BatchRetrieveInventoryCounts answers current counts, ``updated_after`` keeps those changed
  since.
* Idempotency: batch upserts, inventory changes and webhook subscriptions carry an
  ``idempotency_key`` (at most 128 characters); the same key with the same body answers the
  first result again, with another body ``400 IDEMPOTENCY_KEY_REUSED``. Batches split over
  several calls get derived keys (``<key>:<n>`` after the first), so a retry is idempotent too.
* Errors: ``{"errors": [{"category", "code", "detail", "field"}]}``: 400 invalid request
  (ChannelValidationError, errors in ``details``), 401/403 credentials (ChannelAuthError), 404
  (ChannelNotFound), 409 ``CONFLICT`` stale catalog version (ChannelValidationError), 429
  ``RATE_LIMITED`` (ChannelRateLimited; Square sends no Retry-After, so one is honoured when
  present and 1 s assumed otherwise), 5xx (ChannelTransportError).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone

from odoo.addons.retail_connector_base.lib.http import (
    ChannelAuthError,
    ChannelHttpClient,
    ChannelTransportError,
    ChannelValidationError,
    parse_retry_after,
)

API_VERSION = "2025-10-16"
DEFAULT_BASE_URL = "https://connect.squareup.com"
SANDBOX_BASE_URL = "https://connect.squareupsandbox.com"
MAX_SEARCH_LOCATIONS = 10
MAX_SEARCH_ORDERS_LIMIT = 1000
MAX_BATCH_ORDERS = 100
MAX_LIST_LIMIT = 100
MAX_OBJECTS_PER_BATCH = 1000
MAX_OBJECTS_PER_UPSERT = 10000
MAX_BATCH_RETRIEVE_OBJECTS = 1000
MAX_BATCH_DELETE = 200
MAX_INVENTORY_CHANGES = 100
MAX_IDEMPOTENCY_KEY = 128
MAX_PAGES = 100000  # a paging loop that never ends is a channel bug, not data
WEBHOOK_EVENT_TYPES = (
    "order.created", "order.updated", "payment.created", "payment.updated", "refund.created", "refund.updated",
    "inventory.count.updated", "catalog.version.updated",
)


def rfc3339(moment) -> str | None:
    """Return ``moment`` (aware or naive-UTC datetime, or text passed through) as RFC 3339 UTC."""
    if moment is None or isinstance(moment, str):
        return moment
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_messages(body) -> list[str]:
    """Return readable ``CODE: detail (field)`` lines from a Square error body."""
    if not isinstance(body, Mapping):
        return [str(body)[:500]] if body not in (None, "") else []
    lines = []
    for error in body.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        text = f"{error.get('code') or error.get('category') or 'ERROR'}: {error.get('detail') or ''}".strip()
        if error.get("field"):
            text += f" ({error['field']})"
        lines.append(text)
    return lines


def error_codes(exc) -> set[str]:
    """Return the Square error codes a ChannelError carries in its details."""
    return {e.get("code") for e in getattr(exc, "details", None) or [] if isinstance(e, Mapping) and e.get("code")}


def _header(headers, name):
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def derived_key(key: str, index: int) -> str:
    """Return the idempotency key of the ``index``-th call of a split request (the key itself first)."""
    if index == 0:
        return key
    suffix = f":{index}"
    return key[:MAX_IDEMPOTENCY_KEY - len(suffix)] + suffix


def _check_key(key) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ChannelValidationError("Square needs an idempotency key for this call (keep it to retry safely)")
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise ChannelValidationError(f"a Square idempotency key has at most {MAX_IDEMPOTENCY_KEY} characters")
    return key


def object_count(obj: Mapping) -> int:
    """Return how many catalog objects ``obj`` counts for in a batch (an item and its variations)."""
    variations = (obj.get("item_data") or {}).get("variations") if isinstance(obj, Mapping) else None
    return 1 + len(variations or [])


class _SquareHttp(ChannelHttpClient):
    """ChannelHttpClient reading Square's error bodies."""

    def _error_for(self, where, resp):
        """Return the ChannelError of a failed answer, with Square's ``errors`` list in details."""
        error = super()._error_for(where, resp)
        body = resp.data
        lines = error_messages(body) if body is not None else error_messages(resp.body[:500].decode("utf-8", "replace"))
        message = f"{where} answered {resp.status}: {'; '.join(lines)[:500]}" if lines else str(error)
        if isinstance(error, ChannelAuthError):
            message += " (check the backend's Square access token and its permissions)"
        retry_after = error.retry_after
        if resp.status == 429:
            retry_after = parse_retry_after(_header(resp.headers, "Retry-After"), 1.0)
        details = list(body.get("errors") or []) if isinstance(body, Mapping) else []
        return type(error)(message, error.status, retry_after, details)


class SquareClient:
    """Talks to one Square seller (one access token) through the Connect v2 API."""

    def __init__(self, base_url=DEFAULT_BASE_URL, access_token=None, *, square_version=API_VERSION, timeout=30,
                 session=None, before_request=None, after_response=None, page_limit=None):
        """Create the client; ``base_url`` is the API host (``DEFAULT_BASE_URL``, the sandbox or a
        simulator), ``square_version`` the ``Square-Version`` sent, ``page_limit`` the page
        size asked of lists (each endpoint's maximum by default). ``before_request`` /
        ``after_response`` are ChannelHttpClient's hooks (rate limiter, circuit breaker).
        """
        if not access_token:
            raise ChannelAuthError("Square needs an access token (Bearer)")
        self.square_version = str(square_version or API_VERSION)
        self.page_limit = int(page_limit) if page_limit else None
        self.http = _SquareHttp(str(base_url or DEFAULT_BASE_URL).rstrip("/") + "/", timeout=timeout,
                                user_agent="RetailConnector-Square", session=session,
                                before_request=before_request, after_response=after_response)
        self._token = access_token

    # ----------------------------------------------------------------- core

    def request(self, method, path, *, params=None, json=None) -> Mapping:
        """Return the JSON answer of ``method /v2/<path>``; raise a ChannelError otherwise."""
        headers = {"Authorization": f"Bearer {self._token}", "Square-Version": self.square_version}
        params = {k: v for k, v in (params or {}).items() if v is not None}
        response = self.http.request(method, "v2/" + path.lstrip("/"), headers=headers, params=params or None,
                                     json=json)
        data = response.data
        if response.status != 204 and not isinstance(data, Mapping):
            raise ChannelTransportError(f"{method} /v2/{path}: Square answered no JSON object")
        return data or {}

    def _limit(self, maximum: int) -> int:
        return min(self.page_limit, maximum) if self.page_limit else maximum

    def _paged(self, method, path, key, *, params=None, body=None) -> Iterator[Mapping]:
        """Yield the ``key`` items of every page, following ``cursor``."""
        seen = set()
        cursor = None
        for _ in range(MAX_PAGES):
            if method == "GET":
                data = self.request("GET", path, params={**(params or {}), "cursor": cursor})
            else:
                data = self.request(method, path, json={**(body or {}), **({"cursor": cursor} if cursor else {})})
            items = data.get(key) or []
            if not isinstance(items, list):
                raise ChannelTransportError(f"{method} /v2/{path}: `{key}` is not a list")
            yield from items
            cursor = data.get("cursor")
            if not cursor:
                return
            if cursor in seen:
                raise ChannelTransportError(f"{method} /v2/{path}: Square answered the same cursor twice")
            seen.add(cursor)
        raise ChannelTransportError(f"{method} /v2/{path}: more than {MAX_PAGES} pages")

    # ----------------------------------------------------------------- locations and customers

    def list_locations(self) -> list[Mapping]:
        """Return the seller's locations (``{"id", "name", "currency", "timezone", "status", ...}``)."""
        return list(self.request("GET", "locations").get("locations") or [])

    def get_location(self, location_id: str) -> Mapping:
        """Return one location (``main`` names the main location)."""
        return self.request("GET", f"locations/{location_id}")["location"]

    def get_customer(self, customer_id: str) -> Mapping:
        """Return one customer profile (``given_name``, ``family_name``, ``email_address``, ``phone_number``)."""
        return self.request("GET", f"customers/{customer_id}")["customer"]

    # ----------------------------------------------------------------- orders

    def search_orders(self, location_ids: Iterable[str], *, closed_at_start=None, closed_at_end=None,
                      updated_at_start=None, updated_at_end=None, states: Iterable[str] = ("COMPLETED",),
                      customer_ids: Iterable[str] = (), sort_order: str = "ASC") -> Iterator[Mapping]:
        """Yield the orders of ``location_ids`` (any number: searched 10 at a time) in ``states``.

        With ``closed_at_start``/``closed_at_end`` the orders closed in that window (both ends
        inclusive, as Square applies them) sorted by ``closed_at``; with ``updated_at_*`` those
        updated in it, sorted by ``updated_at``; otherwise by ``created_at``. Datetimes may be
        aware or naive UTC.
        """
        states = list(states or ())
        query = {"filter": {}, "sort": {"sort_field": "CREATED_AT", "sort_order": sort_order}}
        if states:
            query["filter"]["state_filter"] = {"states": states}
        if closed_at_start is not None or closed_at_end is not None:
            if updated_at_start is not None or updated_at_end is not None:
                raise ChannelValidationError("Square filters orders on one time range: closed_at or updated_at")
            if not states or set(states) - {"COMPLETED", "CANCELED"}:
                raise ChannelValidationError("orders filtered on closed_at must be searched in closed states only")
            query["filter"]["date_time_filter"] = {"closed_at": _range(closed_at_start, closed_at_end)}
            query["sort"]["sort_field"] = "CLOSED_AT"
        elif updated_at_start is not None or updated_at_end is not None:
            query["filter"]["date_time_filter"] = {"updated_at": _range(updated_at_start, updated_at_end)}
            query["sort"]["sort_field"] = "UPDATED_AT"
        customer_ids = list(customer_ids or ())
        if customer_ids:
            query["filter"]["customer_filter"] = {"customer_ids": customer_ids}
        ids = list(dict.fromkeys(location_ids))
        if not ids:
            raise ChannelValidationError("SearchOrders needs at least one location id")
        for group in _chunks(ids, MAX_SEARCH_LOCATIONS):
            body = {"location_ids": list(group), "query": query, "limit": self._limit(MAX_SEARCH_ORDERS_LIMIT)}
            yield from self._paged("POST", "orders/search", "orders", body=body)

    def get_order(self, order_id: str) -> Mapping:
        """Return one order."""
        return self.request("GET", f"orders/{order_id}")["order"]

    def batch_retrieve_orders(self, order_ids: Iterable[str], location_id: str | None = None) -> list[Mapping]:
        """Return the orders of ``order_ids`` (100 per call); ids Square does not know are left out."""
        ids = list(dict.fromkeys(i for i in order_ids if i))
        orders = []
        for group in _chunks(ids, MAX_BATCH_ORDERS):
            body = {"order_ids": list(group)}
            if location_id:
                body["location_id"] = location_id
            orders += self.request("POST", "orders/batch-retrieve", json=body).get("orders") or []
        return orders

    # ----------------------------------------------------------------- payments and refunds

    def get_payment(self, payment_id: str) -> Mapping:
        """Return one payment."""
        return self.request("GET", f"payments/{payment_id}")["payment"]

    def list_payments(self, begin_time=None, end_time=None, location_id: str | None = None, *,
                      sort_order: str = "ASC") -> Iterator[Mapping]:
        """Yield the payments created in [``begin_time``, ``end_time``] at ``location_id`` (Square's
        default without one: the main location), oldest first."""
        params = {"begin_time": rfc3339(begin_time), "end_time": rfc3339(end_time), "location_id": location_id,
                  "sort_order": sort_order, "limit": self._limit(MAX_LIST_LIMIT)}
        return self._paged("GET", "payments", "payments", params=params)

    def get_refund(self, refund_id: str) -> Mapping:
        """Return one PaymentRefund."""
        return self.request("GET", f"refunds/{refund_id}")["refund"]

    def list_refunds(self, begin_time=None, end_time=None, location_id: str | None = None, *, status=None,
                     source_type=None, sort_order: str = "ASC") -> Iterator[Mapping]:
        """Yield the PaymentRefunds created in the window (every location without ``location_id``)."""
        params = {"begin_time": rfc3339(begin_time), "end_time": rfc3339(end_time), "location_id": location_id,
                  "status": status, "source_type": source_type, "sort_order": sort_order,
                  "limit": self._limit(MAX_LIST_LIMIT)}
        return self._paged("GET", "refunds", "refunds", params=params)

    # ----------------------------------------------------------------- catalog

    def catalog_info(self) -> Mapping:
        """Return the catalog's limits (``{"limits": {...}}``)."""
        return self.request("GET", "catalog/info")

    def list_catalog(self, types: Iterable[str] = ("ITEM",), *, catalog_version: int | None = None
                     ) -> Iterator[Mapping]:
        """Yield the catalog objects of ``types`` (items come with their variations nested)."""
        params = {"types": ",".join(types) if types else None, "catalog_version": catalog_version}
        return self._paged("GET", "catalog/list", "objects", params=params)

    def search_catalog_objects(self, object_types: Iterable[str] = ("ITEM",), *, query: Mapping | None = None,
                               include_deleted_objects: bool = False, include_related_objects: bool = False,
                               begin_time=None) -> Iterator[Mapping]:
        """Yield the objects matching ``query`` (one of ``exact_query``, ``set_query``,
        ``prefix_query``, ``text_query``...); ``begin_time`` keeps those changed after it."""
        body = {"object_types": list(object_types), "include_deleted_objects": include_deleted_objects,
                "include_related_objects": include_related_objects, "limit": self._limit(MAX_BATCH_RETRIEVE_OBJECTS)}
        if query:
            body["query"] = dict(query)
        if begin_time is not None:
            body["begin_time"] = rfc3339(begin_time)
        return self._paged("POST", "catalog/search", "objects", body=body)

    def find_variations_by_sku(self, skus: Iterable[str]) -> dict[str, Mapping]:
        """Return ``{sku: ITEM_VARIATION}`` for the SKUs the catalog has (Square does not make SKUs
        unique: the first live variation found wins)."""
        wanted = list(dict.fromkeys(s for s in skus if s))
        found: dict[str, Mapping] = {}
        for group in _chunks(wanted, MAX_LIST_LIMIT):
            query = {"set_query": {"attribute_name": "sku", "attribute_values": list(group)}}
            for obj in self.search_catalog_objects(("ITEM_VARIATION",), query=query):
                sku = (obj.get("item_variation_data") or {}).get("sku")
                if sku in group and sku not in found and not obj.get("is_deleted"):
                    found[sku] = obj
        return found

    def retrieve_catalog_object(self, object_id: str, *, include_related_objects: bool = False) -> Mapping:
        """Return ``{"object", "related_objects"}`` of one catalog object."""
        params = {"include_related_objects": "true" if include_related_objects else None}
        return self.request("GET", f"catalog/object/{object_id}", params=params)

    def batch_retrieve_catalog(self, object_ids: Iterable[str], *, include_related_objects: bool = False
                               ) -> list[Mapping]:
        """Return the catalog objects of ``object_ids`` (1,000 per call)."""
        ids = list(dict.fromkeys(i for i in object_ids if i))
        objects = []
        for group in _chunks(ids, MAX_BATCH_RETRIEVE_OBJECTS):
            body = {"object_ids": list(group), "include_related_objects": include_related_objects}
            objects += self.request("POST", "catalog/batch-retrieve", json=body).get("objects") or []
        return objects

    def batch_upsert_catalog(self, objects: Iterable[Mapping], idempotency_key: str) -> dict:
        """Return ``{"objects", "id_mappings", "updated_at"}`` after upserting ``objects``.

        Objects are packed into batches of at most 1,000 (an item with its variations counts
        for each, and is never split), and batches into requests of at most 10,000 objects;
        each further request uses a key derived from ``idempotency_key``. Temporary ``#`` ids
        must not be referenced across items, since each batch resolves its own.
        """
        key = _check_key(idempotency_key)
        requests_, batch, batch_size, request_size = [[]], [], 0, 0
        for obj in objects:
            size = object_count(obj)
            if size > MAX_OBJECTS_PER_BATCH:
                raise ChannelValidationError(f"catalog object {obj.get('id')} counts {size} objects with its "
                                             f"variations; Square takes at most {MAX_OBJECTS_PER_BATCH} per batch")
            if batch and batch_size + size > MAX_OBJECTS_PER_BATCH:
                requests_[-1].append(batch)
                batch, batch_size = [], 0
            if request_size + size > MAX_OBJECTS_PER_UPSERT:
                if batch:
                    requests_[-1].append(batch)
                    batch, batch_size = [], 0
                requests_.append([])
                request_size = 0
            batch.append(dict(obj))
            batch_size += size
            request_size += size
        if batch:
            requests_[-1].append(batch)
        result = {"objects": [], "id_mappings": [], "updated_at": None}
        for index, batches in enumerate(r for r in requests_ if r):
            body = {"idempotency_key": derived_key(key, index), "batches": [{"objects": b} for b in batches]}
            data = self.request("POST", "catalog/batch-upsert", json=body)
            result["objects"] += data.get("objects") or []
            result["id_mappings"] += data.get("id_mappings") or []
            result["updated_at"] = data.get("updated_at") or result["updated_at"]
        return result

    def archive_items(self, item_ids: Iterable[str], idempotency_key: str, *, archived: bool = True) -> dict:
        """Return the batch-upsert result after setting ``item_data.is_archived`` on the items.

        Archiving is Square's documented way to take an item off the POS while keeping its
        history and ids (``batch_delete_catalog`` deletes for good). The current objects are
        read first and upserted whole, with their ``version``.
        """
        items = [o for o in self.batch_retrieve_catalog(item_ids) if o.get("type") == "ITEM"]
        for item in items:
            item.setdefault("item_data", {})["is_archived"] = bool(archived)
        if not items:
            return {"objects": [], "id_mappings": [], "updated_at": None}
        return self.batch_upsert_catalog(items, idempotency_key)

    def batch_delete_catalog(self, object_ids: Iterable[str]) -> list[str]:
        """Return the ids deleted (an item's variations included), 200 ids per call."""
        ids = list(dict.fromkeys(i for i in object_ids if i))
        deleted = []
        for group in _chunks(ids, MAX_BATCH_DELETE):
            deleted += self.request("POST", "catalog/batch-delete", json={"object_ids": list(group)}).get(
                "deleted_object_ids") or []
        return deleted

    # ----------------------------------------------------------------- inventory

    def batch_change_inventory(self, changes: Iterable[Mapping], idempotency_key: str, *,
                               ignore_unchanged_counts: bool = True) -> dict:
        """Return ``{"counts", "changes"}`` after applying ``changes`` 100 per call (further
        calls with keys derived from ``idempotency_key``). ``counts`` are the current counts
        of every object the calls referenced."""
        key = _check_key(idempotency_key)
        changes = [dict(c) for c in changes]
        result = {"counts": [], "changes": []}
        for index, group in enumerate(_chunks(changes, MAX_INVENTORY_CHANGES)):
            body = {"idempotency_key": derived_key(key, index), "changes": list(group),
                    "ignore_unchanged_counts": ignore_unchanged_counts}
            data = self.request("POST", "inventory/changes/batch-create", json=body)
            result["counts"] += data.get("counts") or []
            result["changes"] += data.get("changes") or []
        return result

    def batch_retrieve_inventory_counts(self, catalog_object_ids: Iterable[str] | None = None,
                                        location_ids: Iterable[str] | None = None, updated_after=None, *,
                                        states: Iterable[str] | None = None) -> Iterator[Mapping]:
        """Yield the current InventoryCounts of the objects at the locations (every one when not
        given), only those changed after ``updated_after`` when given."""
        body = {"limit": self._limit(1000)}
        if catalog_object_ids is not None:
            body["catalog_object_ids"] = list(catalog_object_ids)
        if location_ids is not None:
            body["location_ids"] = list(location_ids)
        if updated_after is not None:
            body["updated_after"] = rfc3339(updated_after)
        if states:
            body["states"] = list(states)
        return self._paged("POST", "inventory/counts/batch-retrieve", "counts", body=body)

    def batch_retrieve_inventory_changes(self, catalog_object_ids: Iterable[str] | None = None,
                                         location_ids: Iterable[str] | None = None, *,
                                         types: Iterable[str] = ("PHYSICAL_COUNT", "ADJUSTMENT"),
                                         updated_after=None, updated_before=None) -> Iterator[Mapping]:
        """Yield the inventory changes (oldest first): a PHYSICAL_COUNT's ``source.product`` tells
        a count taken on the POS (``SQUARE_POS``) from one sent through the API."""
        body = {"types": list(types), "limit": self._limit(1000)}
        if catalog_object_ids is not None:
            body["catalog_object_ids"] = list(catalog_object_ids)
        if location_ids is not None:
            body["location_ids"] = list(location_ids)
        if updated_after is not None:
            body["updated_after"] = rfc3339(updated_after)
        if updated_before is not None:
            body["updated_before"] = rfc3339(updated_before)
        return self._paged("POST", "inventory/changes/batch-retrieve", "changes", body=body)

    # ----------------------------------------------------------------- webhook subscriptions

    def list_webhook_event_types(self) -> list[str]:
        """Return the event types a subscription may name."""
        return list(self.request("GET", "webhooks/event-types").get("event_types") or [])

    def list_webhook_subscriptions(self, *, include_disabled: bool = False) -> list[Mapping]:
        """Return the application's webhook subscriptions (without signature keys)."""
        params = {"include_disabled": "true" if include_disabled else None}
        return list(self._paged("GET", "webhooks/subscriptions", "subscriptions", params=params))

    def create_webhook_subscription(self, notification_url: str, event_types: Iterable[str], *,
                                    name: str = "Retail Connector", api_version: str | None = None,
                                    idempotency_key: str | None = None) -> Mapping:
        """Return the new subscription, whose ``signature_key`` Square answers here (store it: it
        signs every notification)."""
        body = {"subscription": {"name": name, "event_types": list(event_types), "notification_url": notification_url,
                                 "api_version": api_version or self.square_version}}
        if idempotency_key:
            body["idempotency_key"] = _check_key(idempotency_key)
        return self.request("POST", "webhooks/subscriptions", json=body)["subscription"]

    def update_webhook_subscription(self, subscription_id: str, **fields) -> Mapping:
        """Return the subscription after changing ``name``, ``enabled``, ``event_types`` or
        ``notification_url``."""
        return self.request("PUT", f"webhooks/subscriptions/{subscription_id}",
                            json={"subscription": fields})["subscription"]

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Delete one subscription."""
        self.request("DELETE", f"webhooks/subscriptions/{subscription_id}")

    def update_webhook_signature_key(self, subscription_id: str, idempotency_key: str) -> str:
        """Return the subscription's new signature key (the previous one stops signing)."""
        body = {"idempotency_key": _check_key(idempotency_key)}
        return self.request("POST", f"webhooks/subscriptions/{subscription_id}/signature-key",
                            json=body)["signature_key"]

    def test_webhook_subscription(self, subscription_id: str, event_type: str | None = None) -> Mapping:
        """Return ``subscription_test_result`` after Square sent a test notification."""
        body = {"event_type": event_type} if event_type else {}
        return self.request("POST", f"webhooks/subscriptions/{subscription_id}/test",
                            json=body)["subscription_test_result"]

    def ensure_webhook_subscription(self, notification_url: str, event_types: Iterable[str], *,
                                    name: str = "Retail Connector", idempotency_key: str | None = None) -> dict:
        """Return ``{"subscription", "created"}`` after making sure ``notification_url`` receives
        ``event_types``: an enabled subscription of that URL gets the missing types added; else
        a new one is created (its ``signature_key`` is only in that answer)."""
        wanted = list(dict.fromkeys(event_types))
        for sub in self.list_webhook_subscriptions(include_disabled=True):
            if sub.get("notification_url") != notification_url:
                continue
            have = list(sub.get("event_types") or [])
            missing = [t for t in wanted if t not in have]
            if missing or not sub.get("enabled", True):
                sub = self.update_webhook_subscription(sub["id"], event_types=have + missing, enabled=True)
            return {"subscription": sub, "created": False}
        created = self.create_webhook_subscription(notification_url, wanted, name=name,
                                                   idempotency_key=idempotency_key)
        return {"subscription": created, "created": True}


def _range(start, end) -> dict:
    window = {}
    if start is not None:
        window["start_at"] = rfc3339(start)
    if end is not None:
        window["end_at"] = rfc3339(end)
    return window
