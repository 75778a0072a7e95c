"""Client of the Shopify Admin GraphQL API: queries, mutations, pagination and the cost limit.

Every call is one POST to ``/admin/api/<version>/graphql.json``. Failures become the
connector's channel errors: transport and HTTP failures as ChannelHttpClient maps them, a
``THROTTLED`` answer as ``ChannelRateLimited`` whose ``retry_after`` is computed from the
throttle status Shopify returns, other GraphQL errors and mutation ``userErrors`` as
``ChannelValidationError`` naming the field.
"""

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelHttpClient,
    ChannelRateLimited,
    ChannelTransportError,
    ChannelValidationError,
)

from . import queries as Q
from .fulfillment import plan_fulfillment
from .ids import numeric_id, to_gid

DEFAULT_API_VERSION = "2025-10"


@dataclass
class ThrottleStatus:
    """The cost bucket as of the last answer: what it holds, how fast it refills, what the call cost."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    requested_cost: int | None = None
    actual_cost: int | None = None
    observed_at: float = field(default_factory=time.monotonic)

    @classmethod
    def from_extensions(cls, extensions) -> "ThrottleStatus | None":
        """Return the status in an answer's ``extensions``, or None when it has none."""
        cost = (extensions or {}).get("cost") if isinstance(extensions, Mapping) else None
        status = (cost or {}).get("throttleStatus")
        if not isinstance(status, Mapping):
            return None
        return cls(
            maximum_available=float(status.get("maximumAvailable") or 0),
            currently_available=float(status.get("currentlyAvailable") or 0),
            restore_rate=float(status.get("restoreRate") or 0),
            requested_cost=cost.get("requestedQueryCost"),
            actual_cost=cost.get("actualQueryCost"),
        )

    def available_now(self, now: float | None = None) -> float:
        """Return the points available now, counting the refill since the answer."""
        elapsed = (time.monotonic() if now is None else now) - self.observed_at
        return min(self.maximum_available, self.currently_available + elapsed * self.restore_rate)

    def wait_for(self, cost: float, now: float | None = None) -> float:
        """Return the seconds to wait before ``cost`` points are available (0 when they are)."""
        missing = cost - self.available_now(now)
        if missing <= 0:
            return 0.0
        return missing / self.restore_rate if self.restore_rate > 0 else float("inf")


class ShopifyClient:
    """Talks to one shop's Admin GraphQL API with an access token."""

    def __init__(self, shop_url, access_token, api_version=DEFAULT_API_VERSION, timeout=30, *,
                 session=None, before_request=None, after_response=None, max_throttle_wait=0.0, sleep=time.sleep):
        """Create the client of ``shop_url`` (``https://<shop>.myshopify.com``; a bare domain gets https).

        ``max_throttle_wait`` is how long the client may pause by itself: before a request
        whose last known cost the bucket cannot cover yet, and to retry a THROTTLED answer
        (three times at most). With the default 0 it never pauses and THROTTLED raises
        ChannelRateLimited for the caller (a queue job) to retry later.
        ``before_request``/``after_response`` are ChannelHttpClient's hooks (rate limiter,
        circuit breaker); ``after_response`` sees one outcome per request, a THROTTLED or
        failed GraphQL answer as the ChannelError it raises although its HTTP status is 200.
        """
        if not access_token:
            raise ChannelAuthError("Shopify needs an Admin API access token")
        url = str(shop_url or "").strip()
        if url and "://" not in url:
            url = "https://" + url
        # the outcome hook is called here, once the GraphQL answer is read, not on the HTTP status
        self.http = ChannelHttpClient(url, timeout=timeout, user_agent="RetailConnector-Shopify", session=session,
                                      before_request=before_request)
        self.after_response = after_response
        self.api_version = api_version
        self.path = f"admin/api/{api_version}/graphql.json"
        self.max_throttle_wait = max_throttle_wait
        self._token = access_token
        self._sleep = sleep
        self.throttle_status: ThrottleStatus | None = None
        self._known_costs: dict[str, int] = {}  # query text -> requested cost Shopify last reported

    # ----------------------------------------------------------------- core

    def execute(self, query, variables=None, *, operation_name=None, check_user_errors=True):
        """Return the ``data`` of one GraphQL request; raise a ChannelError when it failed.

        With ``check_user_errors`` a mutation answering ``userErrors`` raises
        ChannelValidationError (``details`` holds the errors).
        """
        for attempt in range(4):
            try:
                return self._execute_once(query, variables, operation_name, check_user_errors)
            except ChannelRateLimited as exc:
                if attempt == 3 or exc.retry_after is None or exc.retry_after > self.max_throttle_wait:
                    raise
                self._sleep(exc.retry_after)
        raise AssertionError("unreachable")

    def _pace(self, query) -> None:
        # waiting here is cheaper than being refused: a THROTTLED answer still costs a round trip
        status, cost = self.throttle_status, self._known_costs.get(query)
        if status is None or cost is None or self.max_throttle_wait <= 0:
            return
        wait = status.wait_for(cost)
        if 0 < wait <= self.max_throttle_wait:
            self._sleep(wait)

    def _execute_once(self, query, variables, operation_name, check_user_errors):
        self._pace(query)
        body = {"query": query, "variables": dict(variables or {})}
        if operation_name:
            body["operationName"] = operation_name
        try:
            response = self.http.request("POST", self.path, headers={"X-Shopify-Access-Token": self._token},
                                         json=body)
        except ChannelError as exc:
            self._observe(exc)
            raise
        try:
            data = self._read(query, response)
        except ChannelError as exc:
            self._observe(exc)
            raise
        self._observe(response)
        if check_user_errors:
            _raise_user_errors(data)
        return data

    def _observe(self, outcome) -> None:
        if self.after_response:
            self.after_response(outcome)

    def _read(self, query, response):
        """Return the data of a GraphQL answer; raise the ChannelError its errors stand for."""
        answer = response.data
        if not isinstance(answer, Mapping):
            raise ChannelTransportError(f"POST /{self.path}: the answer is not a JSON object", response.status)
        status = ThrottleStatus.from_extensions(answer.get("extensions"))
        if status is not None:
            self.throttle_status = status
            if status.requested_cost:
                self._known_costs[query] = status.requested_cost
        errors = answer.get("errors")
        if errors:
            raise self._graphql_error(errors, status)
        data = answer.get("data")
        if not isinstance(data, Mapping):
            raise ChannelTransportError(f"POST /{self.path}: the answer has no data", response.status)
        return data

    def _graphql_error(self, errors, status):
        """Return the ChannelError standing for an answer's ``errors``."""
        if isinstance(errors, str):
            return ChannelValidationError(f"Shopify refused the request: {errors}")
        codes = {((e.get("extensions") or {}).get("code") or "") for e in errors if isinstance(e, Mapping)}
        text = "; ".join(_error_text(e) for e in errors)
        if "THROTTLED" in codes or any(isinstance(e, Mapping) and e.get("message") == "Throttled" for e in errors):
            return ChannelRateLimited(f"Shopify throttled the request (cost limit): {text}",
                                      retry_after=_retry_after(status), details=list(errors))
        if "ACCESS_DENIED" in codes:
            return ChannelAuthError(f"Shopify denied access (check the app's scopes): {text}", details=list(errors))
        if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}:
            return ChannelTransportError(f"Shopify failed to answer: {text}", details=list(errors))
        return ChannelValidationError(f"Shopify refused the request: {text}", details=list(errors))

    def paginate(self, query, variables, path) -> Iterator[Mapping]:
        """Yield the nodes of the connection at ``path`` (keys from ``data``), page after page."""
        after = None
        while True:
            data = self.execute(query, {**variables, "after": after})
            connection = data
            for key in path:
                connection = (connection or {}).get(key)
            if not connection:
                return
            yield from _nodes(connection)
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    # ----------------------------------------------------------------- shop and orders

    def shop(self) -> Mapping:
        """Return the shop's name, currency and myshopify domain."""
        return self.execute(Q.SHOP)["shop"]

    def iter_orders_updated_since(self, since: datetime, page_size: int = Q.ORDERS_PAGE) -> Iterator[Mapping]:
        """Yield the orders updated at or after ``since`` (oldest change first), lines complete.

        The boundary is inclusive because Shopify compares whole seconds: an order seen at the
        boundary is seen again, which an idempotent import absorbs, rather than lost.
        """
        if not isinstance(since, datetime) or since.tzinfo is None or since.utcoffset() is None:
            raise ValueError("since must be a timezone-aware datetime")
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        variables = {"first": min(page_size, Q.ORDERS_PAGE), "query": f"updated_at:>='{stamp}'"}
        for node in self.paginate(Q.ORDERS_UPDATED_SINCE, variables, ("orders",)):
            yield self._complete_lines(node)

    def get_order(self, order_id) -> Mapping | None:
        """Return the order (query shape, lines complete), or None when the shop has none."""
        node = self.execute(Q.ORDER, {"id": to_gid("Order", order_id)})["order"]
        return self._complete_lines(node) if node else None

    def _complete_lines(self, node):
        lines = node.get("lineItems") or {}
        info = lines.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return node
        # an order with more lines than the page carries: fetch the rest before mapping it
        nodes = list(_nodes(lines))
        nodes += self.paginate(Q.ORDER_LINES, {"id": node["id"]}, ("order", "lineItems"))
        return {**node, "lineItems": {"nodes": _unique(nodes), "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    # ----------------------------------------------------------------- catalogue and stock

    def locations(self) -> list[Mapping]:
        """Return the shop's locations (id, legacyResourceId, name, isActive)."""
        return list(self.paginate(Q.LOCATIONS, {}, ("locations",)))

    def find_variants_by_sku(self, skus: Iterable[str]) -> dict[str, Mapping]:
        """Return ``{sku: {variant_id, product_id, inventory_item_id, price, compare_at_price}}``.

        SKUs the shop does not have are absent; when several variants share a SKU the first
        (oldest) is kept, as Shopify's own SKU search ranks them.
        """
        wanted = sorted({s for s in skus if s})
        found: dict[str, Mapping] = {}
        for start in range(0, len(wanted), Q.SKUS_PER_SEARCH):
            chunk = wanted[start:start + Q.SKUS_PER_SEARCH]
            search = " OR ".join(f'sku:"{_search_escape(s)}"' for s in chunk)
            for node in self.paginate(Q.VARIANTS_BY_SKU, {"query": search}, ("productVariants",)):
                sku = node.get("sku")
                if sku in chunk and sku not in found:
                    found[sku] = {
                        "variant_id": node["id"], "product_id": (node.get("product") or {}).get("id"),
                        "inventory_item_id": (node.get("inventoryItem") or {}).get("id"),
                        "price": node.get("price"), "compare_at_price": node.get("compareAtPrice"),
                    }
        return found

    def iter_variant_pages(self, after=None, on_cursor=None) -> Iterator[list[Mapping]]:
        """Yield the shop's variants page after page: lists of ``{sku, variant_id, price, compare_at_price,
        levels: {location id (numeric): available}}``.

        ``after`` starts at the page after that cursor (one a read that stopped kept); ``on_cursor`` is called
        with each next page's cursor before it is asked for.
        """
        while True:
            connection = self.execute(Q.VARIANT_LEVELS, {"after": after}).get("productVariants") or {}
            page = []
            for node in _nodes(connection):
                levels = {}
                item = node.get("inventoryItem") or {}
                for level in _nodes(item.get("inventoryLevels") or {}):
                    available = [q["quantity"] for q in level.get("quantities") or [] if q.get("name") == "available"]
                    if available and level.get("location"):
                        levels[numeric_id(level["location"]["id"])] = available[0]
                page.append({"sku": node.get("sku"), "variant_id": node["id"], "price": node.get("price"),
                             "compare_at_price": node.get("compareAtPrice"), "levels": levels})
            yield page
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]
            if on_cursor is not None:
                on_cursor(after)

    def set_inventory(self, quantities: Iterable[Mapping], *, reason="correction", name="available",
                      reference_document_uri=None) -> list[Mapping]:
        """Return the changes Shopify made after setting absolute quantities, 250 per call.

        Each quantity is ``{"inventory_item_id", "location_id", "quantity"}`` (ids numeric or
        gid), optionally ``"compare_quantity"``: when every item of a call has one, Shopify
        only writes if the stored value still matches; otherwise the check is skipped because
        the connector is the source of truth for stock. On userErrors the call raises
        ChannelValidationError whose ``details`` name the items, and ``applied`` holds the
        changes of the calls that succeeded before it.
        """
        items = [self._quantity_input(q) for q in quantities]
        changes: list[Mapping] = []
        for start in range(0, len(items), Q.INPUT_BATCH):
            chunk = items[start:start + Q.INPUT_BATCH]
            compare = all("compareQuantity" in q for q in chunk)
            payload = {"name": name, "reason": reason, "ignoreCompareQuantity": not compare,
                       "quantities": chunk if compare else [{k: v for k, v in q.items() if k != "compareQuantity"}
                                                            for q in chunk]}
            if reference_document_uri:
                payload["referenceDocumentUri"] = reference_document_uri
            try:
                data = self.execute(Q.INVENTORY_SET_QUANTITIES, {"input": payload})
            except ChannelValidationError as exc:
                _annotate_items(exc, chunk, ("input", "quantities"))
                exc.applied = changes
                raise
            group = data["inventorySetQuantities"].get("inventoryAdjustmentGroup") or {}
            changes.extend(group.get("changes") or [])
        return changes

    @staticmethod
    def _quantity_input(quantity: Mapping) -> dict:
        try:
            value = {
                "inventoryItemId": to_gid("InventoryItem", quantity["inventory_item_id"]),
                "locationId": to_gid("Location", quantity["location_id"]),
                "quantity": int(quantity["quantity"]),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelValidationError(f"invalid stock quantity {dict(quantity)!r}: {exc}") from None
        if quantity.get("compare_quantity") is not None:
            value["compareQuantity"] = int(quantity["compare_quantity"])
        return value

    def set_product(self, product: Mapping) -> Mapping:
        """Create or update one product with its options and variants (``productSet``, synchronous).

        ``product``: ``{"id" (absent: a new product), "title", "description_html", "status" (ACTIVE,
        DRAFT, ARCHIVED), "options": [{"name", "values": [...]}], "variants": [{"id" (optional),
        "sku", "barcode", "price", "options": {name: value}, "weight_kg"}], "images" (optional):
        [{"src", "alt"}]}``. The product's variants not listed are deleted by Shopify, and so are its
        media when ``images`` is given. Returns ``{"id", "status", "variants": [{"id",
        "sku", "inventory_item_id"}]}``.
        """
        entry = {"title": product["title"], "status": product.get("status", "ACTIVE")}
        if product.get("id"):
            entry["id"] = to_gid("Product", product["id"])
        if "description_html" in product:
            entry["descriptionHtml"] = product["description_html"] or ""
        options = [o for o in product.get("options") or [] if o.get("values")]
        if options:
            entry["productOptions"] = [{"name": o["name"], "values": [{"name": v} for v in o["values"]]}
                                       for o in options]
        variants = []
        for variant in product.get("variants") or []:
            row = {"sku": variant.get("sku"), "barcode": variant.get("barcode") or None,
                   "optionValues": [{"optionName": name, "name": value}
                                    for name, value in (variant.get("options") or {}).items()]}
            if variant.get("id"):
                row["id"] = to_gid("ProductVariant", variant["id"])
            if variant.get("price") is not None:
                row["price"] = _amount(variant["price"])
            if variant.get("weight_kg"):
                row["inventoryItem"] = {"measurement": {"weight": {"value": float(variant["weight_kg"]),
                                                                   "unit": "KILOGRAMS"}}}
            if not row["optionValues"]:
                row["optionValues"] = [{"optionName": "Title", "name": "Default Title"}]
            variants.append(row)
        if not options and variants:
            entry["productOptions"] = [{"name": "Title", "values": [{"name": "Default Title"}]}]
        entry["variants"] = variants
        if "images" in product:
            # declarative: the product's media become these files (fetched by Shopify from their URL)
            entry["files"] = [{"originalSource": image["src"], "contentType": "IMAGE", "alt": image.get("alt") or ""}
                              for image in product["images"] or []]
        made = self.execute(Q.PRODUCT_SET, {"input": entry})["productSet"]["product"]
        return {"id": made["id"], "status": made.get("status"),
                "variants": [{"id": v["id"], "sku": v.get("sku"), "inventory_item_id": (v.get("inventoryItem") or {}).get("id")}
                             for v in _nodes(made.get("variants") or {})]}

    # ----------------------------------------------------------------- customers

    def iter_customers_updated_since(self, since: datetime, page_size: int = Q.CUSTOMERS_PAGE) -> Iterator[Mapping]:
        """Yield the customers updated at or after ``since`` (oldest change first), page after page.

        As for orders, the boundary is inclusive (whole seconds): a customer seen at the boundary
        is seen again, which the idempotent inbox absorbs, rather than lost.
        """
        if not isinstance(since, datetime) or since.tzinfo is None or since.utcoffset() is None:
            raise ValueError("since must be a timezone-aware datetime")
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        variables = {"first": min(page_size, Q.CUSTOMERS_PAGE), "query": f"updated_at:>='{stamp}'"}
        yield from self.paginate(Q.CUSTOMERS_UPDATED_SINCE, variables, ("customers",))

    def save_customer(self, customer: Mapping, accepts_marketing: bool | None = None) -> Mapping:
        """Create (no ``id``) or update a customer; return its node (``CustomerFields``).

        ``customer`` is a ``CustomerInput`` (``customer_input`` of the mapping). Shopify takes the
        e-mail marketing consent with a new customer only: an existing customer's consent is changed
        with ``customerEmailMarketingConsentUpdate``, sent only when it differs from the shop's.
        """
        entry = dict(customer)
        if not entry.get("id"):
            if accepts_marketing is not None and entry.get("email"):
                entry["emailMarketingConsent"] = _consent(accepts_marketing)
            return self.execute(Q.CUSTOMER_CREATE, {"input": entry})["customerCreate"]["customer"]
        entry["id"] = to_gid("Customer", entry["id"])
        entry.pop("addresses", None)  # addresses of an existing customer are the shop's own to keep
        node = self.execute(Q.CUSTOMER_UPDATE, {"input": entry})["customerUpdate"]["customer"]
        email = (node or {}).get("defaultEmailAddress") or {}
        if accepts_marketing is not None and email.get("emailAddress") and (
                (email.get("marketingState") == "SUBSCRIBED") != bool(accepts_marketing)):
            if accepts_marketing or email.get("marketingState") in ("SUBSCRIBED", "PENDING"):
                answer = self.execute(Q.CUSTOMER_CONSENT_UPDATE, {"input": {
                    "customerId": node["id"], "emailMarketingConsent": _consent(accepts_marketing)}})
                consent = (answer["customerEmailMarketingConsentUpdate"].get("customer") or {}).get("defaultEmailAddress")
                node = {**node, "defaultEmailAddress": consent or email}
        return node

    def update_variant_prices(self, product_id, variants: Iterable[Mapping]) -> list[Mapping]:
        """Return the variants (id, price, compareAtPrice) after updating one product's prices.

        Each variant is ``{"id", "price"}`` plus optionally ``"compare_at_price"`` (None clears
        it; absent leaves it). Amounts are sent as decimal text, never floats.
        """
        inputs = []
        for variant in variants:
            entry = {"id": to_gid("ProductVariant", variant.get("id", variant.get("variant_id")))}
            if "price" in variant:
                entry["price"] = _amount(variant["price"])
            if "compare_at_price" in variant:
                value = variant["compare_at_price"]
                entry["compareAtPrice"] = None if value is None else _amount(value)
            inputs.append(entry)
        updated: list[Mapping] = []
        for start in range(0, len(inputs), Q.INPUT_BATCH):
            chunk = inputs[start:start + Q.INPUT_BATCH]
            try:
                data = self.execute(Q.VARIANTS_BULK_UPDATE,
                                    {"productId": to_gid("Product", product_id), "variants": chunk})
            except ChannelValidationError as exc:
                _annotate_items(exc, chunk, ("variants",))
                exc.applied = updated
                raise
            updated.extend(data["productVariantsBulkUpdate"].get("productVariants") or [])
        return updated

    # ----------------------------------------------------------------- fulfilment

    def fulfillment_orders(self, order_id) -> list[Mapping]:
        """Return the order's fulfilment orders with their line items and assigned location."""
        order = self.execute(Q.FULFILLMENT_ORDERS, {"id": to_gid("Order", order_id)})["order"]
        if order is None:
            raise ChannelError(f"Shopify has no order {order_id}")
        return list(_nodes(order.get("fulfillmentOrders") or {}))

    def create_fulfillment(self, line_items_by_fulfillment_order, *, tracking_number=None, tracking_company=None,
                           tracking_url=None, notify_customer=False) -> Mapping:
        """Return the fulfilment created for fulfilment-order lines (tracking optional).

        ``line_items_by_fulfillment_order`` is ``[{"fulfillment_order_id", "line_items":
        [{"id", "quantity"}]}]``; an empty ``line_items`` fulfils all that remains of that
        fulfilment order. All fulfilment orders must belong to one order and one location.
        """
        groups = []
        for group in line_items_by_fulfillment_order:
            entry = {"fulfillmentOrderId": to_gid("FulfillmentOrder", group["fulfillment_order_id"])}
            lines = group.get("line_items") or []
            if lines:
                entry["fulfillmentOrderLineItems"] = [
                    {"id": to_gid("FulfillmentOrderLineItem", x["id"]), "quantity": int(x["quantity"])} for x in lines]
            groups.append(entry)
        fulfillment = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": bool(notify_customer)}
        tracking = {k: v for k, v in (("number", tracking_number), ("company", tracking_company),
                                      ("url", tracking_url)) if v}
        if tracking:
            fulfillment["trackingInfo"] = tracking
        data = self.execute(Q.FULFILLMENT_CREATE, {"fulfillment": fulfillment})
        return data["fulfillmentCreate"]["fulfillment"]

    def order_refunds(self, order_id) -> list[Mapping]:
        """Return the order's refunds (id, legacyResourceId, createdAt, note, totalRefundedSet)."""
        order = self.execute(Q.ORDER_REFUNDS, {"id": to_gid("Order", order_id)})["order"]
        if order is None:
            raise ChannelError(f"Shopify has no order {order_id}")
        return list(order.get("refunds") or [])

    def create_refund(self, order_id, amount, *, gateway, note="", line_items: Iterable[Mapping] = (),
                      parent_transaction_id=None, notify=False) -> Mapping:
        """Return the refund created on an order with ``refundCreate``.

        The money goes back as one ``REFUND`` transaction of ``amount`` through ``gateway``
        (the order's); ``line_items`` (``{"id": <line item id>, "quantity"}``) say what it
        covers and are not restocked: the goods come back through the retailer's warehouse.
        """
        transaction = {"orderId": to_gid("Order", order_id), "gateway": gateway, "kind": "REFUND",
                       "amount": _amount(amount)}
        if parent_transaction_id:
            transaction["parentId"] = to_gid("OrderTransaction", parent_transaction_id)
        refund = {"orderId": to_gid("Order", order_id), "note": note or "", "notify": bool(notify),
                  "transactions": [transaction],
                  "refundLineItems": [{"lineItemId": to_gid("LineItem", x["id"]), "quantity": int(x["quantity"]),
                                       "restockType": "NO_RESTOCK"} for x in line_items]}
        data = self.execute(Q.REFUND_CREATE, {"input": refund})
        return data["refundCreate"]["refund"]

    def fulfill(self, order_id, quantities_by_sku: Mapping | None = None, **tracking) -> list[Mapping]:
        """Return the fulfilments created for ``{sku: quantity}`` of an order (None: all left).

        The quantities are taken from the order's open fulfilment orders (see
        ``plan_fulfillment``); one fulfilment is created per location, as Shopify requires.
        ``tracking`` takes create_fulfillment's keyword arguments.
        """
        plan = plan_fulfillment(self.fulfillment_orders(order_id), quantities_by_sku)
        return [self.create_fulfillment(groups, **tracking) for groups in plan.values()]

    # ----------------------------------------------------------------- webhooks

    def webhook_subscriptions(self) -> list[Mapping]:
        """Return the app's webhook subscriptions (id, topic, uri, format)."""
        return list(self.paginate(Q.WEBHOOK_SUBSCRIPTIONS, {}, ("webhookSubscriptions",)))

    def ensure_webhooks(self, callback_url: str, topics: Iterable[str]) -> dict:
        """Return ``{"created": {topic: id}, "existing": {topic: id}}`` after subscribing
        ``callback_url`` to every topic (``orders/create`` or ``ORDERS_CREATE``) it lacks."""
        wanted = [_topic_enum(t) for t in topics]
        existing = {s["topic"]: s["id"] for s in self.webhook_subscriptions() if s.get("uri") == callback_url}
        result = {"created": {}, "existing": {t: existing[t] for t in wanted if t in existing}}
        for topic in wanted:
            if topic in existing or topic in result["created"]:
                continue
            data = self.execute(Q.WEBHOOK_SUBSCRIPTION_CREATE, {
                "topic": topic, "webhookSubscription": {"uri": callback_url, "format": "JSON"}})
            result["created"][topic] = data["webhookSubscriptionCreate"]["webhookSubscription"]["id"]
        return result

    # ----------------------------------------------------------------- what orders name

    def recent_order_settings(self, count: int = Q.SETTINGS_ORDERS) -> list[Mapping]:
        """Return the newest ``count`` orders' payment gateway names, tax lines and shipping lines
        (one query: ``paymentGatewayNames``, ``taxLines``, ``shippingLines``)."""
        data = self.execute(Q.RECENT_ORDER_SETTINGS, {"first": max(1, min(int(count), Q.SETTINGS_ORDERS))})
        return list(_nodes((data.get("orders") or {})))

    def carrier_services(self) -> list[Mapping]:
        """Return the shop's carrier services (``id``, ``name``, ``formattedName``, ``active``);
        needs the ``read_shipping`` scope."""
        return list(self.paginate(Q.CARRIER_SERVICES, {}, ("carrierServices",)))

    # ----------------------------------------------------------------- Shopify Payments

    def payouts(self, since: date | datetime | None = None) -> list[Mapping]:
        """Return the payouts issued on or after ``since`` (all when None), oldest first."""
        if isinstance(since, datetime):
            bound = since.astimezone(timezone.utc) if since.tzinfo else since.replace(tzinfo=timezone.utc)
        elif isinstance(since, date):
            bound = datetime(since.year, since.month, since.day, tzinfo=timezone.utc)
        else:
            bound = None
        found = []
        # Shopify lists payouts newest first: reading stops at the first one older than the bound
        for node in self.paginate(Q.PAYOUTS, {}, ("shopifyPaymentsAccount", "payouts")):
            issued = datetime.fromisoformat(node["issuedAt"].replace("Z", "+00:00"))
            if bound is not None and issued < bound:
                break
            found.append(node)
        return sorted(found, key=lambda n: (n["issuedAt"], n["id"]))

    def balance_transactions(self, payout_id) -> list[Mapping]:
        """Return the balance transactions of one payout (its legacy id, or its gid)."""
        number = str(payout_id).rsplit("/", 1)[-1]
        search = f"payments_transfer_id:{number}"
        return list(self.paginate(Q.BALANCE_TRANSACTIONS, {"query": search},
                                  ("shopifyPaymentsAccount", "balanceTransactions")))


# --------------------------------------------------------------------------- helpers

def _nodes(connection: Mapping) -> list:
    if connection.get("nodes") is not None:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges") or []]


def _unique(nodes: list) -> list:
    seen, result = set(), []
    for node in nodes:
        if node.get("id") not in seen:
            seen.add(node.get("id"))
            result.append(node)
    return result


def _error_text(error) -> str:
    if not isinstance(error, Mapping):
        return str(error)
    path = error.get("path")
    where = f" (at {'.'.join(str(p) for p in path)})" if path else ""
    return f"{error.get('message', error)}{where}"


def _retry_after(status: ThrottleStatus | None) -> float:
    """Return the seconds until the refused query's cost is back in the bucket."""
    if status is None or status.restore_rate <= 0:
        return 1.0
    missing = (status.requested_cost or 0) - status.currently_available
    # never 0: the bucket must have refilled at least a little before the same query fits
    return max(missing, 1.0) / status.restore_rate


def _raise_user_errors(data: Mapping) -> None:
    for root, payload in data.items():
        if not isinstance(payload, Mapping):
            continue
        errors = payload.get("userErrors")
        if errors:
            parts = []
            for error in errors:
                field_path = ".".join(str(p) for p in (error.get("field") or []))
                code = f" ({error['code']})" if error.get("code") else ""
                parts.append(f"{field_path}: {error.get('message')}{code}" if field_path else
                             f"{error.get('message')}{code}")
            raise ChannelValidationError(f"Shopify {root} refused: " + "; ".join(parts), details=list(errors))


def _annotate_items(exc: ChannelValidationError, chunk: list, prefix: tuple) -> None:
    """Add the input item each userError points at, so callers know which SKU or level failed."""
    for detail in exc.details:
        path = [str(p) for p in (detail.get("field") or [])] if isinstance(detail, Mapping) else []
        if path[: len(prefix)] == list(prefix) and len(path) > len(prefix) and path[len(prefix)].isdigit():
            index = int(path[len(prefix)])
            if index < len(chunk):
                detail["item"] = chunk[index]


def _consent(accepts: bool) -> dict:
    """Return a ``CustomerEmailMarketingConsentInput`` (subscribed with a single opt-in, or unsubscribed)."""
    if accepts:
        return {"marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN"}
    return {"marketingState": "UNSUBSCRIBED"}


def _amount(value) -> str:
    text = str(value).strip()
    if isinstance(value, float):
        # a float price is a caller bug waiting to round; its shortest repr is what was meant
        text = repr(value)
    return text


def _search_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _topic_enum(topic: str) -> str:
    return str(topic).strip().replace("/", "_").upper()
