# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Client of the ShipBob Developer API (dated version 2026-01): orders, shipments, inventory,
warehouse receiving orders, returns and webhook subscriptions.

Documented at https://developer.shipbob.com (API reference per version, OpenAPI at
https://developer.shipbob.com/openapi.json). Facts this client relies on:

* Base ``https://api.shipbob.com/<version>/`` (sandbox ``https://sandbox-api.shipbob.com``);
  ``Authorization: Bearer <personal access token>``; writes of orders and returns need the
  ``shipbob_channel_id`` header (``GET /channel`` lists the channels; use one with write
  scopes), which also scopes reads.
* ``POST /order`` answers 201 with the order; ``reference_id`` is the upstream order id and must
  be unique: a second create with the same one answers 422 ("Cannot insert order with existing
  ReferenceId"). ``create_order`` turns that answer into the existing order (looked up with
  ``GET /order?ReferenceIds=``), so a retried create is idempotent.
* ``PUT /shipment/{id}:updateAddress`` changes the address a shipment that has not left goes to
  (Orders.UpdateAddressRequest: ``street_address1`` and ``city`` required).
* ``POST /order/{id}:cancel`` cancels every shipment that has not left (``status`` Success,
  PartialSuccess or Failure, with a result per shipment); ``GET /order/{id}/shipment`` and
  ``GET /shipment/{id}`` return shipments with tracking.
* Lists: ``GET /order`` and ``GET /receiving`` page with ``Page``/``Limit`` and the headers
  ``Page-Number``, ``Total-Pages`` and ``Next-Page``; ``GET /inventory-level/locations``,
  ``GET /product`` and ``GET /return`` answer ``{"items", "next", "prev", ...}`` with ``next``
  the link to follow (the client follows links on its own host only, since they carry the
  token).
* Errors: 400 and 422 bodies are ASP.NET model-state maps ``{"Field": ["message", ...]}`` (or
  ProblemDetails ``{"title", "detail", "errors"}``); 401/403 credentials; 404 unknown id; 429
  after 150 requests per sliding minute, with ``x-retry-after`` (seconds) and
  ``x-remaining-calls`` (a standard ``Retry-After`` is honoured too); 5xx transient. Every
  ChannelError carries the parsed error body in ``details[0]``.
"""

from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelHttpClient,
    ChannelRateLimited,
    ChannelTransportError,
    ChannelValidationError,
    parse_retry_after,
)

from . import mapping

API_VERSION = "2026-01"
DEFAULT_BASE_URL = "https://api.shipbob.com"
SANDBOX_BASE_URL = "https://sandbox-api.shipbob.com"
MAX_LIMIT = 250
MAX_PAGES = 10000  # a paging loop that never ends is a channel bug, not data
CHANNEL_HEADER = "shipbob_channel_id"
DUPLICATE_MARKERS = ("existing referenceid", "existing reference id", "reference id already exists",
                     "referenceid already exists", "duplicate reference")


def _header(headers, name):
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def error_messages(body) -> list[str]:
    """Return readable ``field: message`` lines from a ShipBob error body (any of its shapes)."""
    if isinstance(body, str):
        return [body[:500]] if body.strip() else []
    if not isinstance(body, Mapping):
        return []
    lines = []
    for key in ("message", "title", "detail"):
        if isinstance(body.get(key), str) and body[key].strip():
            lines.append(body[key].strip())
    errors = body.get("errors")
    states = [errors] if isinstance(errors, Mapping) else []
    if isinstance(errors, list):
        lines.extend(str(e) for e in errors if e)
    # a bare model-state map: every value is a list of messages
    if not lines and not states and body and all(isinstance(v, list) for v in body.values()):
        states.append(body)
    for state in states:
        for field, messages in state.items():
            for message in messages if isinstance(messages, list) else [messages]:
                lines.append(f"{field}: {message}" if field else str(message))
    return lines


class _ShipBobHttp(ChannelHttpClient):
    """ChannelHttpClient reading ShipBob's error bodies and rate-limit headers."""

    def _error_for(self, where, resp):
        """Return the ChannelError of a failed answer, with ShipBob's error body in details."""
        error = super()._error_for(where, resp)
        body = resp.data
        if body is None and resp.body:
            body = resp.body[:500].decode("utf-8", "replace")
        lines = error_messages(body)
        message = f"{where} answered {resp.status}: {'; '.join(lines)[:500]}" if lines else str(error)
        if isinstance(error, ChannelAuthError) and "credentials" not in message:
            message += " (check the backend's personal access token and channel)"
        retry_after = error.retry_after
        if resp.status == 429:
            retry_after = parse_retry_after(_header(resp.headers, "x-retry-after"),
                                            parse_retry_after(_header(resp.headers, "Retry-After"), 1.0))
        elif isinstance(error, ChannelTransportError):
            retry_after = parse_retry_after(_header(resp.headers, "Retry-After"))
        details = [body] if body not in (None, "") else []
        return type(error)(message, error.status, retry_after, details)


class ThreePLClient:
    """Talks to one ShipBob account (one personal access token) for one sales channel."""

    def __init__(self, base_url=DEFAULT_BASE_URL, token=None, channel_id=None, timeout=30.0, *,
                 api_version=API_VERSION, page_size=100, session=None, before_request=None, after_response=None):
        """Create the client; ``base_url`` is the API host (``DEFAULT_BASE_URL``, the sandbox or a
        simulator), ``channel_id`` the ``shipbob_channel_id`` (None: the first channel of the
        token with ``orders_write``). ``before_request``/``after_response`` are
        ChannelHttpClient's hooks (rate limiter, circuit breaker).
        """
        if not token:
            raise ChannelAuthError("ShipBob needs a personal access token (Bearer)")
        self.api_version = str(api_version).strip("/")
        self.page_size = max(1, min(int(page_size), MAX_LIMIT))
        self.http = _ShipBobHttp(str(base_url or DEFAULT_BASE_URL).rstrip("/") + "/", timeout=timeout,
                                 user_agent="RetailConnector-ThreePL", session=session,
                                 before_request=before_request, after_response=after_response)
        self.channel_id = int(channel_id) if channel_id not in (None, "") else None
        self._token = token

    # ----------------------------------------------------------------- core

    def path(self, resource: str) -> str:
        """Return the versioned path of ``resource`` (``order`` -> ``2026-01/order``)."""
        return f"{self.api_version}/{resource.lstrip('/')}"

    def request(self, method, resource, *, params=None, json=None, channel=False, ok=(200, 201, 204), raw_path=False):
        """Return the ChannelResponse of ``method /<version>/<resource>``; raise a ChannelError.

        ``channel`` sends the ``shipbob_channel_id`` header (resolving the channel when unset);
        otherwise it is sent when known.
        """
        headers = {"Authorization": f"Bearer {self._token}"}
        channel_id = self.resolve_channel_id() if channel else self.channel_id
        if channel_id is not None:
            headers[CHANNEL_HEADER] = str(channel_id)
        params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        path = resource if raw_path else self.path(resource)
        return self.http.request(method, path, headers=headers, params=params or None, json=json, ok=ok)

    def _follow(self, link: str):
        """Return the answer of a ``next`` link, refusing links to another host."""
        base, target = urlsplit(self.http.base_url), urlsplit(self.http.url(link))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise ChannelTransportError(f"ShipBob answered a next-page link to another host ({target.netloc}); "
                                        "not following it with the access token")
        return self.request("GET", link, raw_path=True)

    def _paged_by_link(self, resource, params) -> Iterator[Mapping]:
        response = self.request("GET", resource, params=params)
        seen = set()
        for _ in range(MAX_PAGES):
            data = response.data if isinstance(response.data, Mapping) else {}
            if not isinstance(response.data, Mapping) or not isinstance(data.get("items", []), (list, type(None))):
                raise ChannelTransportError(f"GET /{self.path(resource)}: the answer is not a page of items")
            yield from data.get("items") or []
            link = data.get("next")
            if not link or link in seen:
                return
            seen.add(link)
            response = self._follow(link)
        raise ChannelTransportError(f"GET /{self.path(resource)}: more than {MAX_PAGES} pages")

    def _paged_by_number(self, resource, params) -> Iterator[Mapping]:
        page = 1
        for _ in range(MAX_PAGES):
            response = self.request("GET", resource, params={**params, "Page": page, "Limit": self.page_size})
            if not isinstance(response.data, list):
                raise ChannelTransportError(f"GET /{self.path(resource)}: the answer is not a JSON list")
            yield from response.data
            total = _int(_header(response.headers, "Total-Pages"))
            if total is not None:
                more = page < total
            elif _header(response.headers, "Next-Page"):
                more = True
            else:
                more = len(response.data) >= self.page_size
            if not response.data or not more:
                return
            page += 1
        raise ChannelTransportError(f"GET /{self.path(resource)}: more than {MAX_PAGES} pages")

    # ----------------------------------------------------------------- channels

    def list_channels(self) -> list[Mapping]:
        """Return the channels the token sees (``{"id", "name", "application_name", "scopes"}``)."""
        data = self.request("GET", "channel").data
        if isinstance(data, Mapping):
            return list(data.get("items") or [])
        return list(data or [])

    def resolve_channel_id(self) -> int:
        """Return the channel id to write with: the configured one, else the first with orders_write."""
        if self.channel_id is None:
            channels = self.list_channels()
            writable = [c for c in channels if "orders_write" in (c.get("scopes") or [])]
            chosen = (writable or channels or [None])[0]
            if chosen is None:
                raise ChannelAuthError("the ShipBob token sees no channel: set the channel id on the backend")
            self.channel_id = int(chosen["id"])
        return self.channel_id

    # ----------------------------------------------------------------- orders

    def create_order(self, body: Mapping) -> Mapping:
        """Return the ShipBob order for ``body`` (a CreateOrderModel, see ``mapping.order_body``).

        Idempotent by ``reference_id``: when ShipBob answers that the reference exists, or the
        create timed out, the order already there is returned. A reference used by another
        channel raises ChannelValidationError.
        """
        reference = str(body.get("reference_id") or "").strip()
        if not reference:
            raise ChannelValidationError("a ShipBob order needs a reference_id")
        try:
            return self.request("POST", "order", json=dict(body), channel=True).data
        except ChannelValidationError as exc:
            if not is_duplicate_reference(exc):
                raise
            existing = self.find_order_by_reference(reference)
            if existing is None:
                raise ChannelValidationError(
                    f"ShipBob says order reference {reference!r} exists, but channel {self.channel_id} cannot see "
                    "it: the reference is used by another channel", exc.status, details=exc.details) from None
            return existing
        except ChannelTransportError as exc:
            if isinstance(exc, ChannelRateLimited):
                raise
            # the create may have gone through before the failure: look before a caller retries
            try:
                existing = self.find_order_by_reference(reference)
            except ChannelError:
                existing = None
            if existing is None:
                raise
            return existing

    def get_order(self, order_id) -> Mapping:
        """Return the order (OrderViewModel, shipments included); ChannelNotFound when unknown."""
        return self.request("GET", f"order/{_id(order_id)}").data

    def find_order_by_reference(self, reference: str) -> Mapping | None:
        """Return the order whose ``reference_id`` is ``reference``, or None."""
        data = self.request("GET", "order", params={"ReferenceIds": reference, "Limit": MAX_LIMIT}).data
        for order in data if isinstance(data, list) else []:
            if str(order.get("reference_id")) == str(reference):
                return order
        return None

    def order_status(self, order_id) -> dict:
        """Return the order as a neutral result (``mapping.order_result``)."""
        return mapping.order_result(self.get_order(order_id))

    def cancel_order(self, order_id) -> Mapping:
        """Return ShipBob's cancellation result (CanceledOrderViewModel) for the order.

        Shipments already shipped cannot be cancelled: ``status`` is then ``PartialSuccess`` or
        ``Failure`` with a reason per shipment (``mapping.cancel_result`` reads it).
        """
        return self.request("POST", f"order/{_id(order_id)}:cancel", channel=True).data

    # ----------------------------------------------------------------- shipments

    def list_shipments(self, order_id) -> list[Mapping]:
        """Return the shipments of the order, with status, tracking and products (lots, serials)."""
        data = self.request("GET", f"order/{_id(order_id)}/shipment").data
        return list(data or [])

    def get_shipment(self, shipment_id) -> Mapping:
        """Return one shipment (ShipmentViewModel) by its id."""
        return self.request("GET", f"shipment/{_id(shipment_id)}").data

    def update_shipment_address(self, shipment_id, body: Mapping) -> Mapping:
        """Return the shipment after sending it to a new address (``mapping.address_update_body``).

        A shipment that already left is refused (ChannelValidationError with ShipBob's message)."""
        return self.request("PUT", f"shipment/{_id(shipment_id)}:updateAddress", json=dict(body)).data

    # ----------------------------------------------------------------- inventory and products

    def iter_inventory_levels(self, *, location_id=None, search=None) -> Iterator[Mapping]:
        """Yield ``GET /inventory-level/locations`` items (per SKU, a list of fulfillment centers
        with on-hand, committed, fulfillable and awaiting quantities), following ``next``."""
        params = {"PageSize": self.page_size, "LocationId": location_id, "SearchBy": search}
        return self._paged_by_link("inventory-level/locations", params)

    def inventory_snapshot(self, *, location_id=None) -> list[dict]:
        """Return every SKU's stock per fulfillment center as neutral rows (``mapping.inventory_rows``)."""
        rows = mapping.inventory_rows(self.iter_inventory_levels(location_id=location_id))
        if location_id is not None:
            rows = [r for r in rows if r["location"] == int(location_id)]
        return rows

    def iter_products(self, **filters) -> Iterator[Mapping]:
        """Yield the products matching ``GET /product`` filters (``SKU=``, ``Search=``)."""
        return self._paged_by_link("product", {"PageSize": self.page_size, **filters})

    def find_inventory_ids(self, skus: Iterable[str]) -> dict[str, int]:
        """Return ``{sku: inventory_id}`` for the SKUs ShipBob knows (others are absent)."""
        found = {}
        for sku in dict.fromkeys(s for s in skus if s):
            for product in self.iter_products(SKU=sku):
                for variant in product.get("variants") or []:
                    inventory = variant.get("inventory") or {}
                    if variant.get("sku") == sku and inventory.get("inventory_id"):
                        found[sku] = int(inventory["inventory_id"])
                if sku in found:
                    break
        return found

    def list_fulfillment_centers(self) -> list[Mapping]:
        """Return the fulfillment centers that can receive inventory."""
        return list(self.request("GET", "fulfillment-center").data or [])

    # ----------------------------------------------------------------- receiving (ASN)

    def create_receiving_order(self, body: Mapping, *, reuse_existing: bool = True) -> Mapping:
        """Return the warehouse receiving order (WRO) created for ``body`` (see
        ``mapping.receiving_body``).

        ShipBob does not make purchase order numbers unique; with ``reuse_existing`` a WRO not
        cancelled that already carries the same ``purchase_order_number`` is returned instead
        of creating a second one, so a retried ASN is not received twice.
        """
        po_number = body.get("purchase_order_number")
        if reuse_existing and po_number:
            for wro in self.find_receiving_orders(po_number):
                if wro.get("status") != "Cancelled":
                    return wro
        return self.request("POST", "receiving", json=dict(body)).data

    def get_receiving_order(self, wro_id) -> Mapping:
        """Return the WRO with its expected, received and stowed quantities per inventory item."""
        return self.request("GET", f"receiving/{_id(wro_id)}").data

    def get_receiving_boxes(self, wro_id) -> list[Mapping]:
        """Return the WRO's boxes with their items (lots, received and stowed quantities)."""
        return list(self.request("GET", f"receiving/{_id(wro_id)}/boxes").data or [])

    def iter_receiving_orders(self, **filters) -> Iterator[Mapping]:
        """Yield WROs matching ShipBob's filters (``Statuses=["Completed"]``, ``ExternalSync=False`` ...)."""
        return self._paged_by_number("receiving", filters)

    def find_receiving_orders(self, purchase_order_number: str) -> list[Mapping]:
        """Return the WROs carrying ``purchase_order_number``."""
        return [w for w in self.iter_receiving_orders(PurchaseOrderNumbers=purchase_order_number)
                if str(w.get("purchase_order_number")) == str(purchase_order_number)]

    def receiving_status(self, wro_id) -> dict:
        """Return the WRO and its boxes as a neutral receiving result (lots included)."""
        return mapping.receiving_result(self.get_receiving_order(wro_id), self.get_receiving_boxes(wro_id))

    def cancel_receiving_order(self, wro_id) -> Mapping:
        """Return the WRO after cancelling it (only one still awaiting arrival can be cancelled)."""
        return self.request("POST", f"receiving/{_id(wro_id)}:cancel").data

    # ----------------------------------------------------------------- returns

    def create_return(self, body: Mapping) -> Mapping:
        """Return the return order created for ``body`` (see ``mapping.return_body``); a
        reference ShipBob already has answers that return."""
        reference = str(body.get("reference_id") or "").strip()
        try:
            return self.request("POST", "return", json=dict(body), channel=True).data
        except ChannelValidationError as exc:
            if not is_duplicate_reference(exc):
                raise
            existing = self.find_return_by_reference(reference)
            if existing is None:
                raise
            return existing

    def get_return(self, return_id) -> Mapping:
        """Return one return order by id."""
        return self.request("GET", f"return/{_id(return_id)}").data

    def find_return_by_reference(self, reference: str) -> Mapping | None:
        """Return the return order with ``reference_id`` (the RMA), or None."""
        for item in self._paged_by_link("return", {"ReferenceIds": reference, "Limit": self.page_size}):
            if str(item.get("reference_id")) == str(reference):
                return item
        return None

    # ----------------------------------------------------------------- webhook subscriptions

    def list_webhook_subscriptions(self) -> list[Mapping]:
        """Return the webhook subscriptions of the token."""
        return list(self._paged_by_link("webhook", {}))

    def create_webhook_subscription(self, url: str, topics: Iterable[str], *, secret: str | None = None,
                                    description: str | None = None) -> Mapping:
        """Return the new subscription (its ``secret`` is only ever answered here)."""
        body = {"url": url, "topics": list(topics)}
        if secret:
            body["secret"] = secret
        if description:
            body["description"] = description
        return self.request("POST", "webhook", json=body).data

    def delete_webhook_subscription(self, subscription_id) -> None:
        """Delete one subscription."""
        self.request("DELETE", f"webhook/{subscription_id}")

    def ensure_webhook_subscription(self, url: str, topics: Iterable[str], *, secret: str | None = None) -> dict:
        """Return ``{"subscription", "created", "missing_topics"}`` after making sure ``url``
        receives every topic: a subscription of ``url`` lacking topics is replaced (ShipBob has
        no update), one covering them is kept."""
        wanted = list(dict.fromkeys(topics))
        mine = [s for s in self.list_webhook_subscriptions() if s.get("url") == url]
        covering = [s for s in mine if set(wanted) <= set(s.get("topics") or [])]
        if covering:
            return {"subscription": covering[0], "created": False, "missing_topics": []}
        missing = sorted(set(wanted) - {t for s in mine for t in s.get("topics") or []})
        for subscription in mine:
            self.delete_webhook_subscription(subscription["id"])
        created = self.create_webhook_subscription(url, wanted, secret=secret, description="Retail Connector")
        return {"subscription": created, "created": True, "missing_topics": missing}


def is_duplicate_reference(error: ChannelError) -> bool:
    """Return whether a ShipBob error says the ``reference_id`` is taken (a 422 on create)."""
    if error.status not in (409, 422):
        return False
    text = " ".join([str(error)] + [line for d in error.details or [] for line in error_messages(d)]).lower()
    return any(marker in text for marker in DUPLICATE_MARKERS)


def _param(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value)
    return value


def _id(value) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ChannelValidationError(f"{value!r} is not a ShipBob id (ShipBob ids are integers)") from None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
