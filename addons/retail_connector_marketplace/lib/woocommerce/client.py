"""Client of the WooCommerce REST API v3: orders, notes, refunds, catalogue batches, webhooks, and the
shop settings orders name (tax rates, payment gateways, shipping methods).

Failures become the connector's channel errors as ChannelHttpClient maps them, with one
WooCommerce twist: some errors come back as HTTP 500 although retrying cannot help (WooCommerce
passes a bare status number as the error's data, which WordPress answers with 500; a refund
the gateway cannot make is one). Those codes are raised as ChannelValidationError, so a queue
job does not retry a refund. Every ChannelError carries the WooCommerce error document in
``details[0]`` (``code``, ``message``, ``data``).
"""

import base64
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote, quote_plus

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelHttpClient,
    ChannelNotFound,
    ChannelTransportError,
    ChannelValidationError,
)

from . import oauth

API_PATH = "wp-json/wc/v3/"
MAX_PER_PAGE = 100
MAX_BATCH = 100
SKUS_PER_QUERY = 50  # keeps the query string of a SKU search well under common URL limits
DEFAULT_TOPICS = ("order.created", "order.updated", "order.deleted")

# WooCommerce error codes answered with HTTP 500 that no retry can fix.
NOT_RETRYABLE = frozenset({
    "woocommerce_rest_cannot_create_order_refund",
    "woocommerce_rest_invalid_order_refund",
    "woocommerce_rest_invalid_order_id",
})


class _WooHttp(ChannelHttpClient):
    """ChannelHttpClient reading WooCommerce's error documents."""

    def _error_for(self, where, resp):
        """Return the ChannelError of a failed answer, with the WooCommerce error in details."""
        error = super()._error_for(where, resp)
        document = resp.data if isinstance(resp.data, Mapping) and "code" in resp.data else None
        if document is None:
            return error
        message = str(error)
        if document.get("code") not in message:
            message = f"{message} [{document.get('code')}]"
        if resp.status >= 500 and document.get("code") in NOT_RETRYABLE:
            return ChannelValidationError(message, resp.status, details=[dict(document)])
        return type(error)(message, error.status, error.retry_after, [dict(document)])


class WooCommerceClient:
    """Talks to one shop's REST API v3 with a consumer key and secret."""

    def __init__(self, site_url, consumer_key, consumer_secret, timeout=30, *, auth="auto", session=None,
                 before_request=None, after_response=None, per_page=MAX_PER_PAGE):
        """Create the client of ``site_url`` (the WordPress home URL; a bare domain gets https).

        ``auth``: ``basic`` (Authorization header, HTTPS only on a real shop), ``query``
        (``consumer_key``/``consumer_secret`` parameters, for hosts that drop the Authorization
        header), ``oauth`` (OAuth 1.0a query signing, what WooCommerce requires over plain
        HTTP) or ``auto``: basic for https, oauth for http. ``before_request``/``after_response``
        are ChannelHttpClient's hooks (rate limiter, circuit breaker).
        """
        if not consumer_key or not consumer_secret:
            raise ChannelAuthError("WooCommerce needs a REST API consumer key and consumer secret")
        url = str(site_url or "").strip().rstrip("/")
        if url and "://" not in url:
            url = "https://" + url
        if auth == "auto":
            auth = "basic" if url.startswith("https://") else "oauth"
        if auth not in ("basic", "query", "oauth"):
            raise ValueError(f"auth must be auto, basic, query or oauth, not {auth!r}")
        self.site_url = url
        self.auth = auth
        self.per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        self.http = _WooHttp(f"{url}/{API_PATH}", timeout=timeout, user_agent="RetailConnector-WooCommerce",
                             session=session, before_request=before_request, after_response=after_response)
        self._key = consumer_key
        self._secret = consumer_secret

    # ----------------------------------------------------------------- core

    def request(self, method, path, *, params=None, json=None, ok=(200, 201)):
        """Return the ChannelResponse of ``method /wp-json/wc/v3/<path>``; raise a ChannelError."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {}
        if self.auth == "basic":
            token = base64.b64encode(f"{self._key}:{self._secret}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        elif self.auth == "query":
            params.update(consumer_key=self._key, consumer_secret=self._secret)
        else:
            params = oauth.signed_params(method, self.http.url(path), params, self._key, self._secret)
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in params.items()}
        try:
            return self.http.request(method, path, headers=headers, params=params, json=json, ok=ok)
        except ChannelError as exc:
            raise self._scrubbed(exc) from None

    def _scrubbed(self, exc: ChannelError) -> ChannelError:
        # a connection error quotes the URL, which carries the secret in query authentication
        text = str(exc)
        for secret in {self._secret, quote_plus(self._secret), quote(self._secret, safe="")}:
            text = text.replace(secret, "***")
        if text == str(exc):
            return exc
        return type(exc)(text, exc.status, exc.retry_after, exc.details)

    def _get_list(self, path, params) -> tuple[list, dict]:
        response = self.request("GET", path, params=params)
        if not isinstance(response.data, list):
            raise ChannelTransportError(f"GET /{API_PATH}{path}: the answer is not a JSON list", response.status)
        return response.data, response.headers

    def paginate(self, path, params=None, *, page=1, on_page=None) -> Iterator[Mapping]:
        """Yield every item of a collection, page after page, as ``X-WP-TotalPages`` says.

        ``page`` starts at that page (one a read that stopped kept); ``on_page`` is called with each next
        page's number before it is asked for.
        """
        page = max(int(page or 1), 1)
        while True:
            items, headers = self._get_list(path, {**(params or {}), "per_page": self.per_page, "page": page})
            yield from items
            pages = _int_header(headers, "X-WP-TotalPages")
            more = page < pages if pages is not None else len(items) >= self.per_page
            if not items or not more:
                return
            page += 1
            if on_page is not None:
                on_page(page)

    # ----------------------------------------------------------------- orders

    def iter_orders_modified_after(self, since: datetime, *, statuses: Iterable[str] | None = None,
                                   on_total=None) -> Iterator[Mapping]:
        """Yield the orders modified at or after ``since`` (oldest change first), each once per
        version (``id``, ``date_modified_gmt``).

        WooCommerce keeps whole seconds and ``modified_after`` is exclusive, so the query starts
        one second before ``since``: an order seen at the boundary is seen again, which an
        idempotent import absorbs, rather than lost. The date goes as UTC without offset with
        ``dates_are_gmt=true``: WordPress converts a date carrying an offset to the site's time
        zone before comparing it with the GMT column. Pages are re-anchored at the last order's
        modification time, because an order modified during the walk moves to the end of the
        list and page numbers alone would then skip the order that slid into its place.
        ``on_total`` is called once with the first answer's ``X-WP-Total`` (how many orders
        changed since ``since``), when the shop sends it.
        """
        if not isinstance(since, datetime) or since.tzinfo is None or since.utcoffset() is None:
            raise ValueError("since must be a timezone-aware datetime")
        cursor = since.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None) - timedelta(seconds=1)
        status = ",".join(statuses) if statuses else None
        seen: set[tuple] = set()
        page = 1
        while True:
            params = {"modified_after": cursor.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": True,
                      "orderby": "modified", "order": "asc", "per_page": self.per_page, "page": page, "status": status}
            orders, headers = self._get_list("orders", params)
            total = _int_header(headers, "X-WP-Total")
            if on_total is not None and total is not None:
                on_total(total)
                on_total = None
            for order in orders:
                key = (order.get("id"), order.get("date_modified_gmt"))
                if key not in seen:
                    seen.add(key)
                    yield order
            pages = _int_header(headers, "X-WP-TotalPages")
            more = page < pages if pages is not None else len(orders) >= self.per_page
            if not orders or not more:
                return
            last = _naive_utc(orders[-1].get("date_modified_gmt"))
            if last is not None and last - timedelta(seconds=1) > cursor:
                cursor, page = last - timedelta(seconds=1), 1
            else:
                page += 1  # a full page within one second: walk that second by page

    def get_order(self, order_id) -> Mapping | None:
        """Return the order (REST shape), or None when the shop has no such order."""
        try:
            return self.request("GET", f"orders/{int(order_id)}").data
        except ChannelNotFound as exc:
            if _code(exc) == "woocommerce_rest_shop_order_invalid_id":
                return None
            raise

    def set_order_status(self, order_id, status: str) -> Mapping:
        """Return the order after setting its status (processing, completed, cancelled, ...)."""
        return self.request("PUT", f"orders/{int(order_id)}", json={"status": status}).data

    def add_order_note(self, order_id, note: str, customer_note: bool = False) -> Mapping:
        """Return the new note; ``customer_note`` makes WooCommerce email it to the buyer."""
        body = {"note": note, "customer_note": bool(customer_note)}
        return self.request("POST", f"orders/{int(order_id)}/notes", json=body).data

    def list_refunds(self, order_id) -> list[Mapping]:
        """Return the refunds of an order (REST shape), newest first."""
        return list(self.request("GET", f"orders/{int(order_id)}/refunds", params={"per_page": MAX_PER_PAGE}).data or [])

    def get_refund(self, order_id, refund_id) -> Mapping:
        """Return one refund of an order (REST shape)."""
        return self.request("GET", f"orders/{int(order_id)}/refunds/{int(refund_id)}").data

    def create_refund(self, order_id, amount, reason: str = "", line_items: Iterable[Mapping] | None = None, *,
                      api_refund: bool = False, restock: bool = False) -> Mapping:
        """Return the refund recorded on the order.

        ``line_items`` are ``{"id": <order item id>, "quantity", "refund_total", "refund_tax":
        [{"id": <rate id>, "refund_total"}]}``. ``api_refund`` (WooCommerce's default is true)
        asks the payment gateway to pay the money back; it stays off by default because the
        connector records refunds made elsewhere, and a gateway without refund support makes
        WooCommerce refuse the whole refund. ``restock`` puts the refunded quantities back.
        """
        body = {"amount": _money_text(amount), "reason": reason or "", "api_refund": bool(api_refund),
                "api_restock": bool(restock)}
        if line_items:
            body["line_items"] = [dict(item) for item in line_items]
        return self.request("POST", f"orders/{int(order_id)}/refunds", json=body).data

    # ----------------------------------------------------------------- catalogue

    def batch_update_products(self, updates: Iterable[Mapping]) -> list[Mapping]:
        """Return the products updated through ``products/batch``, 100 per call.

        Each update is ``{"id", "regular_price", "sale_price", "stock_quantity", "manage_stock",
        ...}``. Items the shop refuses do not stop the others: once every chunk is sent, a
        ChannelValidationError names each refused item (``details`` lists them, ``results``
        holds the applied ones).
        """
        return self._batch("products/batch", updates, "product")

    def batch_create_products(self, creates: Iterable[Mapping]) -> list[Mapping]:
        """Return the products created through ``products/batch`` (``create``), 100 per call, in order.

        A product the shop refuses (a SKU it already has) does not stop the others: once every
        chunk is sent, a ChannelValidationError names each refused item (``results`` holds the rest).
        """
        items = list(creates)
        done, refused = [], []
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start:start + MAX_BATCH]
            answer = self.request("POST", "products/batch", json={"create": chunk}).data
            results = answer.get("create") if isinstance(answer, Mapping) else None
            if not isinstance(results, list):
                raise ChannelTransportError(f"POST /{API_PATH}products/batch: the answer has no create results")
            for sent, result in zip(chunk, results):
                if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                    refused.append({"sku": sent.get("sku"), **result["error"]})
                    done.append({})
                else:
                    done.append(result)
        if refused:
            names = "; ".join(f"{r.get('sku')}: {r.get('message')} [{r.get('code')}]" for r in refused[:5])
            error = ChannelValidationError(f"WooCommerce refused {len(refused)} of {len(items)} new products: {names}",
                                           details=refused)
            error.results = done
            raise error
        return done

    def batch_update_variations(self, product_id, updates: Iterable[Mapping]) -> list[Mapping]:
        """Return the variations of ``product_id`` updated through its variations batch."""
        path = f"products/{int(product_id)}/variations/batch"
        return self._batch(path, updates, f"variation of product {product_id}")

    def batch_create_variations(self, product_id, creates: Iterable[Mapping]) -> list[Mapping]:
        """Return the variations created under the variable product ``product_id`` (``create`` of its
        variations batch), in order; one the shop refuses is ``{}`` and named in the ChannelValidationError
        raised once every chunk is sent (``results`` holds them all)."""
        return self._batch_create(f"products/{int(product_id)}/variations/batch", creates,
                                  f"new variations of product {product_id}")

    def _batch_create(self, path, creates, what) -> list[Mapping]:
        items = list(creates)
        done, refused = [], []
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start:start + MAX_BATCH]
            answer = self.request("POST", path, json={"create": chunk}).data
            results = answer.get("create") if isinstance(answer, Mapping) else None
            if not isinstance(results, list):
                raise ChannelTransportError(f"POST /{API_PATH}{path}: the answer has no create results")
            for sent, result in zip(chunk, results):
                if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                    refused.append({"sku": sent.get("sku"), "email": sent.get("email"), **result["error"]})
                    done.append({})
                else:
                    done.append(result)
        if refused:
            names = "; ".join(f"{r.get('sku') or r.get('email')}: {r.get('message')} [{r.get('code')}]"
                              for r in refused[:5])
            error = ChannelValidationError(f"WooCommerce refused {len(refused)} of {len(items)} {what}: {names}",
                                           details=refused)
            error.results = done
            raise error
        return done

    # ----------------------------------------------------------------- customers

    def iter_customers(self, *, role: str = "all", page=1, on_page=None) -> Iterator[Mapping]:
        """Yield every registered customer, oldest registration first, page after page (from ``page``;
        ``on_page`` as for ``paginate``).

        WooCommerce's customers endpoint filters by no date (no ``modified_after``, unlike orders
        and products): what changed is told from each customer's ``date_modified_gmt``.
        """
        yield from self.paginate("customers", {"role": role, "orderby": "registered_date", "order": "asc"},
                                 page=page, on_page=on_page)

    def batch_customers(self, creates: Iterable[Mapping] = (), updates: Iterable[Mapping] = ()) -> dict:
        """Create and update customers through ``customers/batch`` (100 in all per call).

        Returns ``{"create": [customer or {}], "update": [customer or {}]}`` in the given order; the
        customers the shop refuses (an e-mail another account has) do not stop the others: once every
        chunk is sent, a ChannelValidationError names them (``results`` holds the rest).
        """
        creates, updates = list(creates), list(updates)
        for item in updates:
            if item.get("id") in (None, ""):
                raise ValueError(f"every customer update needs an id: {item!r}")
        done = {"create": [], "update": []}
        refused = []
        rows = [("create", c) for c in creates] + [("update", u) for u in updates]
        for start in range(0, len(rows), MAX_BATCH):
            chunk = rows[start:start + MAX_BATCH]
            body = {group: [item for g, item in chunk if g == group] for group in ("create", "update")}
            answer = self.request("POST", "customers/batch", json={k: v for k, v in body.items() if v}).data
            for group, sent in body.items():
                if not sent:
                    continue
                results = answer.get(group) if isinstance(answer, Mapping) else None
                if not isinstance(results, list):
                    raise ChannelTransportError(f"POST /{API_PATH}customers/batch: the answer has no {group} results")
                for item, result in zip(sent, results):
                    if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                        refused.append({"id": item.get("id"), "email": item.get("email"), **result["error"]})
                        done[group].append({})
                    else:
                        done[group].append(result)
        if refused:
            names = "; ".join(f"{r.get('email') or r.get('id')}: {r.get('message')} [{r.get('code')}]" for r in refused[:5])
            error = ChannelValidationError(f"WooCommerce refused {len(refused)} of {len(rows)} customers: {names}",
                                           details=refused)
            error.results = done
            raise error
        return done

    def _batch(self, path, updates, what) -> list[Mapping]:
        items = [_stock_managed(u) for u in updates]
        for item in items:
            if item.get("id") in (None, ""):
                raise ValueError(f"every {what} update needs an id: {item!r}")
        done, refused = [], []
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start:start + MAX_BATCH]
            answer = self.request("POST", path, json={"update": chunk}).data
            results = answer.get("update") if isinstance(answer, Mapping) else None
            if not isinstance(results, list):
                raise ChannelTransportError(f"POST /{API_PATH}{path}: the answer has no update results")
            for sent, result in zip(chunk, results):
                if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                    refused.append({"id": sent["id"], "sku": sent.get("sku"), **result["error"]})
                else:
                    done.append(result)
        if refused:
            names = "; ".join(f"{what} {r['id']}{' (' + r['sku'] + ')' if r.get('sku') else ''}: "
                              f"{r.get('message')} [{r.get('code')}]" for r in refused[:5])
            more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
            error = ChannelValidationError(f"WooCommerce refused {len(refused)} of {len(items)} updates: {names}{more}",
                                           details=refused)
            error.results = done
            raise error
        return done

    def iter_item_pages(self, page=1, on_page=None) -> Iterator[list[Mapping]]:
        """Yield the shop's sellable items page after page: each page of products, its variable products
        replaced by their variations. Items: ``{sku, id, product_id, variation_id, price, regular_price,
        sale_price, manage_stock, stock_quantity}``. ``page`` starts at that page of products; ``on_page``
        is called with each next page's number before it is asked for."""
        page = max(int(page or 1), 1)
        while True:
            products, headers = self._get_list("products", {"per_page": self.per_page, "page": page,
                                                            "orderby": "id", "order": "asc"})
            items = []
            for product in products:
                if product.get("type") == "variable":
                    items += [_item(variation, product) for variation in
                              self.paginate(f"products/{product['id']}/variations")]
                else:
                    items.append(_item(product, None))
            yield items
            pages = _int_header(headers, "X-WP-TotalPages")
            more = page < pages if pages is not None else len(products) >= self.per_page
            if not products or not more:
                return
            page += 1
            if on_page is not None:
                on_page(page)

    def find_products_by_sku(self, skus: Iterable[str], *, search_variations: bool = True,
                             variations_for: Iterable[str] | None = None) -> dict[str, Mapping]:
        """Return ``{sku: {id, product_id, variation_id, type, sku, price, regular_price,
        sale_price, manage_stock, stock_quantity, stock_status}}``.

        ``variation_id`` is None for a simple product. WooCommerce's SKU filter only sees
        products, so SKUs still missing are looked up in the variations of variable products
        (``search_variations``; only those of ``variations_for`` when given: a walk through
        every variable product is worth it for the SKUs needed now, not for ones asked on the
        way). SKUs the shop does not have are absent.
        """
        wanted = sorted({str(s).strip() for s in skus if s and str(s).strip()})
        found: dict[str, Mapping] = {}
        for start in range(0, len(wanted), SKUS_PER_QUERY):
            chunk = wanted[start:start + SKUS_PER_QUERY]
            for product in self.paginate("products", {"sku": ",".join(chunk)}):
                if product.get("sku") in chunk and product["sku"] not in found:
                    found[product["sku"]] = _match(product, None)
        missing = set(wanted) - set(found)
        if variations_for is not None:
            missing &= {str(s).strip() for s in variations_for if s}
        if missing and search_variations:
            for product in self.paginate("products", {"type": "variable"}):
                for variation in self.paginate(f"products/{product['id']}/variations"):
                    sku = variation.get("sku")
                    if sku in missing:
                        found[sku] = _match(variation, product)
                        missing.discard(sku)
                if not missing:
                    break
        return found

    # ----------------------------------------------------------------- shop settings

    def tax_rates(self) -> list[Mapping]:
        """Return every tax rate of the shop (``id``, ``name``, ``rate`` a percent text, ``country``,
        ``class``...), all classes and pages."""
        return list(self.paginate("taxes"))

    def payment_gateways(self, *, enabled_only: bool = True) -> list[Mapping]:
        """Return the shop's payment gateways (``id``, ``title``, ``enabled``), the enabled ones by
        default. WooCommerce returns them all in one answer (the list is not paginated)."""
        gateways, _headers = self._get_list("payment_gateways", {})
        return [g for g in gateways if isinstance(g, Mapping) and (g.get("enabled") is True or not enabled_only)]

    def shipping_methods(self) -> list[Mapping]:
        """Return the shipping methods the shop offers (``id`` as orders name it in ``method_id``,
        ``title``); not paginated either."""
        methods, _headers = self._get_list("shipping_methods", {})
        return [m for m in methods if isinstance(m, Mapping)]

    # ----------------------------------------------------------------- webhooks

    def list_webhooks(self, *, include_secrets: bool = False) -> list[Mapping]:
        """Return every webhook of the shop (``include_secrets`` asks for the edit context)."""
        params = {"context": "edit"} if include_secrets else {}
        return list(self.paginate("webhooks", params))

    def ensure_webhooks(self, delivery_url: str, secret: str, topics: Iterable[str] = DEFAULT_TOPICS) -> dict:
        """Return ``{"created", "reactivated", "updated", "existing"}`` (each ``{topic: id}``)
        after making sure one active webhook per topic delivers to ``delivery_url`` signed
        with ``secret``.

        A webhook WooCommerce disabled after failed deliveries (or one paused by hand) is
        re-activated; one with another secret gets ``secret``. WooCommerce keeps the failure
        count of a re-activated webhook: until one delivery succeeds, the next failure disables
        it again.
        """
        result = {"created": {}, "reactivated": {}, "updated": {}, "existing": {}}
        hooks = self.list_webhooks(include_secrets=True)
        for topic in dict.fromkeys(topics):
            matches = [h for h in hooks if h.get("topic") == topic and h.get("delivery_url") == delivery_url]
            if not matches:
                body = {"name": f"Retail Connector {topic}", "topic": topic, "delivery_url": delivery_url,
                        "secret": secret, "status": "active"}
                created = self.request("POST", "webhooks", json=body).data
                result["created"][topic] = created["id"]
                continue
            hook = next((h for h in matches if h.get("status") == "active"), matches[0])
            changes = {}
            if hook.get("status") != "active":
                changes["status"] = "active"
            # a listing without secrets (older shops) cannot be compared: setting it is harmless
            if hook.get("secret") != secret:
                changes["secret"] = secret
            if not changes:
                result["existing"][topic] = hook["id"]
                continue
            self.request("PUT", f"webhooks/{hook['id']}", json=changes)
            result["reactivated" if "status" in changes else "updated"][topic] = hook["id"]
        return result


# --------------------------------------------------------------------------- helpers

def _int_header(headers, name) -> int | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def _naive_utc(value) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _code(exc: ChannelError) -> str | None:
    details = getattr(exc, "details", None) or []
    return details[0].get("code") if details and isinstance(details[0], Mapping) else None


def _money_text(amount) -> str:
    if isinstance(amount, float):
        amount = repr(amount)
    return format(Decimal(str(amount)), "f")


def _stock_managed(update: Mapping) -> dict:
    item = dict(update)
    # WooCommerce silently drops stock_quantity unless stock is managed on the item
    if "stock_quantity" in item and item["stock_quantity"] is not None and "manage_stock" not in item:
        item["manage_stock"] = True
    for key in ("regular_price", "sale_price"):
        if key in item and item[key] is not None and not isinstance(item[key], str):
            item[key] = _money_text(item[key])
    return item


def _match(item: Mapping, parent: Mapping | None) -> dict:
    return {
        "id": item.get("id"), "product_id": parent["id"] if parent else item.get("id"),
        "variation_id": item.get("id") if parent else None,
        "type": item.get("type") or ("variation" if parent else None),
        "sku": item.get("sku"), "price": item.get("price"), "regular_price": item.get("regular_price"),
        "sale_price": item.get("sale_price"), "manage_stock": item.get("manage_stock"),
        "stock_quantity": item.get("stock_quantity"), "stock_status": item.get("stock_status"),
    }


def _item(item: Mapping, parent: Mapping | None) -> dict:
    """Return what a reconciliation reads of a product or variation (``parent``: its variable product)."""
    return {
        "sku": item.get("sku") or None, "id": item["id"], "product_id": parent["id"] if parent else item["id"],
        "variation_id": item["id"] if parent else None, "price": item.get("price"),
        "regular_price": item.get("regular_price"), "sale_price": item.get("sale_price"),
        "manage_stock": item.get("manage_stock"), "stock_quantity": item.get("stock_quantity"),
    }
