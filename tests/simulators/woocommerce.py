"""WooCommerce simulator: one shop's REST API v3 and its webhooks, served on loopback.

API (the URL shapes of a real shop, under ``/wp-json/wc/v3/``)::

    GET  orders                 page, per_page (<= 100), offset, order, orderby, status,
                                after/before, modified_after/modified_before, dates_are_gmt,
                                customer, include; X-WP-Total, X-WP-TotalPages, Link
    POST orders                 GET/PUT/POST/PATCH/DELETE orders/<id>
    GET/POST orders/<id>/notes  GET/POST orders/<id>/refunds, GET orders/<id>/refunds/<id>
    GET  products               sku (comma list), type, page, per_page; GET/PUT products/<id>
    POST products/batch         {"create": [], "update": [], "delete": []}, at most 100 items
    GET  products/<id>/variations, GET/PUT products/<id>/variations/<id>
    POST products/<id>/variations/batch
    GET/POST webhooks           GET/PUT/POST/PATCH/DELETE webhooks/<id>
    GET  taxes                  class, page, per_page; GET taxes/<id> (the shop's tax rates)
    GET  payment_gateways       every gateway, enabled or not (not paginated); GET payment_gateways/<id>
    GET  shipping_methods       the shipping methods the shop offers (not paginated); GET shipping_methods/<id>

Authentication as WooCommerce does it: HTTP Basic or ``consumer_key``/``consumer_secret``
query parameters (which WooCommerce accepts over HTTPS only; this loopback simulator stands in
for an HTTPS shop), and OAuth 1.0a one-legged query authentication (``oauth_consumer_key``,
``oauth_timestamp``, ``oauth_nonce``, ``oauth_signature_method`` HMAC-SHA1 or HMAC-SHA256,
``oauth_signature``) verified over WooCommerce's signature base string, with its 15-minute
timestamp window and nonce replay check. Errors have WordPress's shape ``{"code", "message",
"data": {"status"}}``; where WooCommerce passes a bare number as ``data`` (refund errors) the
answer is HTTP 500 with that number, as WordPress turns it out.

Dates: the shop has a site time zone (``utc_offset``, one hour by default). ``date_*`` fields
are local, ``date_*_gmt`` UTC, both without offset. ``modified_after`` compares with the local
column unless ``dates_are_gmt=true``; a value carrying an offset is first converted to the site
zone, as WordPress's date query does (so ``...Z`` with ``dates_are_gmt`` is off by the offset).

Webhooks are delivered to each active subscription of the topic (``order.created``,
``order.updated``, ``order.deleted``, ``product.*``) with the REST order as body, encoded as
PHP's ``json_encode`` does (``\\/`` and ``\\uXXXX`` escapes), and the headers
``X-WC-Webhook-Source``, ``-Topic``, ``-Resource``, ``-Event``, ``-Signature`` (base64
HMAC-SHA256 of the raw body under the webhook's secret), ``-ID`` and ``-Delivery-ID`` (new for
every POST). WooCommerce does not retry; a 2xx, 300, 301 or 302 answer is a success and resets
the failure count, any other outcome is a failure, and a failure that finds the count above
``max_delivery_failures`` (5, WooCommerce's ``woocommerce_max_webhook_delivery_failures``)
disables the webhook: the count reaches 6 first, so the 7th consecutive failure disables it.
Re-activating does not reset the count. A webhook created through the API is pinged at once
with the unsigned form body ``webhook_id=N``; an update pings it when it is active and its
delivery URL changed or no ping has yet been answered 200.

For the demo, from the ``tests/`` directory::

    python -m simulators.woocommerce --port 8803 --key K --secret S --webhook-url URL --webhook-secret WS --trickle 20
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import signal
import string
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import parse_qsl, quote, unquote, urlencode

from .base import Response, Simulator, WebhookAttempt, WebhookDelivery, hmac_sha256_base64, route
from .generic import CUSTOMERS

__all__ = [
    "DEFAULT_CATALOGUE",
    "WooCommerceSimulator",
    "WooError",
    "main",
    "oauth_signature",
    "php_json",
]

API = "/wp-json/wc/v3"
WC_VERSION = "9.9.5"
WP_VERSION = "6.8.2"
HOOKSHOT_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
MAX_PER_PAGE = 100
MAX_BATCH = 100
OAUTH_WINDOW = 15 * 60
CENT = Decimal("0.01")

ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "checkout-draft")
PAID_STATUSES = ("processing", "completed")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
WEBHOOK_RESOURCES = ("coupon", "customer", "order", "product")
WEBHOOK_EVENTS = ("created", "updated", "deleted", "restored")
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
BAD_URL_MESSAGE = "Webhook delivery URL must be a valid URL starting with http:// or https://."

PAYMENT_METHODS = {
    "stripe": "Credit Card (Stripe)",
    "ppcp-gateway": "PayPal",
    "bacs": "Direct bank transfer",
    "cheque": "Check payments",
    "cod": "Cash on delivery",
}
VAT_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MC MT NL NO PL PT RO SE SI SK "
                          "IM".split())
# gateways enabled in a new shop (the others are installed, switched off)
ENABLED_GATEWAYS = ("stripe", "ppcp-gateway")
# WooCommerce's shipping methods (``WC_Shipping::get_shipping_methods``): id -> (title, description)
SHIPPING_METHODS = {
    "flat_rate": ("Flat rate", "Lets you charge a fixed rate for shipping."),
    "free_shipping": ("Free shipping", "Free shipping is a special method which can be triggered with coupons "
                                       "and minimum spends."),
    "local_pickup": ("Local pickup", "Allow customers to pick up orders themselves. By default, when using local "
                                     "pickup store base taxes will apply regardless of customer address."),
}
# gateways whose plugin implements automatic refunds (``supports('refunds')``)
REFUND_GATEWAYS = ("stripe", "ppcp-gateway", "woocommerce_payments")

DEFAULT_CATALOGUE = (
    {"name": "Retail Connector T-shirt", "sku": "RC-TSHIRT", "price": "19.90", "attribute": "Size",
     "variations": ({"sku": "RC-TSHIRT-S", "option": "S"}, {"sku": "RC-TSHIRT-M", "option": "M"},
                    {"sku": "RC-TSHIRT-L", "option": "L"})},
    {"name": "Retail Connector mug", "sku": "RC-MUG", "price": "9.50"},
    {"name": "Retail Connector cap", "sku": "RC-CAP", "price": "14.00"},
    {"name": "Retail Connector hoodie (M)", "sku": "RC-HOODIE-M", "price": "39.90"},
    {"name": "Retail Connector tote bag", "sku": "RC-TOTE", "price": "12.00"},
)
DEFAULT_COUPONS = {
    "welcome10": {"type": "percent", "amount": "10"},
    "fiveoff": {"type": "fixed_cart", "amount": "5.00"},
}
FLAT_RATE = {"method_id": "flat_rate", "method_title": "Flat rate", "instance_id": "1", "total": "4.90"}

_REST_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$")


# --------------------------------------------------------------------------- encoding and errors

def php_json(obj) -> bytes:
    """Return ``obj`` encoded as PHP's ``json_encode`` does by default (``\\/``, ``\\uXXXX``)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    # a "/" can only occur inside JSON strings, where "\/" is a valid escape
    return text.replace("/", "\\/").encode("ascii")


def _json(status: int, obj, headers=None) -> Response:
    return Response(status, php_json(obj), {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})


class WooError(Exception):
    """A WordPress REST error; ``data`` is ``{"status": N, ...}`` or, as some WooCommerce code
    passes it, a bare number (then the HTTP status is 500, as WordPress answers)."""

    def __init__(self, code: str, message: str, data=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = {"status": 400} if data is None else data
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        """Return the HTTP status WordPress answers for this error."""
        if isinstance(self.data, dict) and isinstance(self.data.get("status"), int):
            return self.data["status"]
        return 500

    def body(self) -> dict:
        """Return the error document ``{"code", "message", "data"}``."""
        return {"code": self.code, "message": self.message, "data": self.data}

    def response(self) -> Response:
        """Return the HTTP answer of this error."""
        return _json(self.status, self.body(), self.headers)


def _invalid_param(name: str, message: str) -> WooError:
    return WooError("rest_invalid_param", f"Invalid parameter(s): {name}",
                    {"status": 400, "params": {name: message}})


def _missing_param(*names: str) -> WooError:
    return WooError("rest_missing_callback_param", f"Missing parameter(s): {', '.join(names)}",
                    {"status": 400, "params": list(names)})


# --------------------------------------------------------------------------- money and time

def _q(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _m(value) -> str:
    return str(_q(value))


def _number(value: Decimal):
    # WooCommerce sends a line's unit price as a PHP float, not a string
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid_param(name, f"{name} is not a valid number.") from None
    if not number.is_finite():
        raise _invalid_param(name, f"{name} is not a valid number.")
    return number


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return _utc(value)
    return _utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _bool_param(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise _invalid_param(name, f"{name} is not of type boolean.")


def _list_param(value) -> list[str]:
    if isinstance(value, list):
        items = value
    else:
        items = str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


# --------------------------------------------------------------------------- OAuth 1.0a

def _rfc3986(text: str) -> str:
    # PHP's rawurlencode: every byte but unreserved characters is escaped
    return quote(text, safe="-_.~")


def oauth_base_string(method: str, base_url: str, params: dict) -> str:
    """Return WooCommerce's OAuth 1.0a signature base string for ``params`` (signature excluded).

    Keys are sorted byte-wise; each ``key=value`` is encoded, then encoded again as a whole,
    and the pairs are joined with ``%26``, as ``WC_REST_Authentication::check_oauth_signature``.
    """
    pairs = []
    for key in sorted(k for k in params if k != "oauth_signature"):
        pairs.append(_rfc3986(f"{_rfc3986(str(key))}={_rfc3986(str(params[key]))}"))
    return f"{method.upper()}&{_rfc3986(base_url)}&{'%26'.join(pairs)}"


def oauth_signature(method: str, base_url: str, params: dict, consumer_secret: str,
                    signature_method: str = "HMAC-SHA256") -> str:
    """Return the base64 OAuth signature WooCommerce expects (key: ``<secret>&``)."""
    digest = hashlib.sha1 if signature_method == "HMAC-SHA1" else hashlib.sha256
    message = oauth_base_string(method, base_url, params).encode("utf-8")
    return base64.b64encode(hmac.new(f"{consumer_secret}&".encode(), message, digest).digest()).decode()


def _oauth_header_params(value: str) -> dict:
    if not value.startswith("OAuth "):
        return {}
    found = re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', value)
    return {name: unquote(quoted or bare) for name, quoted, bare in found}


# --------------------------------------------------------------------------- routing

_DENIED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
}
EDITABLE = ("POST", "PUT", "PATCH")


def wc_route(methods, path: str, action: str):
    """Return a decorator serving ``methods`` on ``/wp-json/wc/v3/<path>`` (a regex tail).

    The handler runs once the request is authenticated with permission for ``action``; a
    WooError it raises becomes WordPress's error answer.
    """
    methods = (methods,) if isinstance(methods, str) else methods

    def mark(func):
        @functools.wraps(func)
        def handler(self, request):
            try:
                self._authorize(request, action)
                return func(self, request)
            except WooError as exc:
                return exc.response()

        for method in methods:
            route(method, "^" + re.escape(API) + "/" + path + "$", auth=False)(handler)
        return handler

    return mark


# --------------------------------------------------------------------------- simulator

class WooCommerceSimulator(Simulator):
    """A WooCommerce shop: catalogue, orders, notes, refunds and webhooks over REST API v3."""

    name = "woocommerce"

    def __init__(self, *, consumer_key: str = "ck_simulator", consumer_secret: str = "cs_simulator",
                 key_permissions: str = "read_write", currency: str = "EUR", tax_rate="21",
                 tax_label: str = "TVA", tax_rates=None, prices_include_tax: bool = False,
                 utc_offset: timedelta = timedelta(hours=1), catalogue=DEFAULT_CATALOGUE,
                 stock: int = 100, coupons=None, refund_gateways=REFUND_GATEWAYS,
                 max_delivery_failures: int = 5, home_url: str | None = None, seed: int | None = None,
                 clock=None, first_id: int = 100, webhook_retries: int = 0, enabled_gateways=ENABLED_GATEWAYS,
                 shipping_methods=None, **options):
        """Create the shop; ``options`` go to Simulator (port, webhook_url, webhook_async, ...).

        ``tax_rates`` (a list of ``{"label", "rate_code", "percent"}``, optionally ``country``,
        ``state``, ``priority``, ``class``, ``shipping``) replaces the single ``tax_rate``
        percent; ``enabled_gateways`` are the payment gateways (ids of ``PAYMENT_METHODS``, or
        others) switched on; ``shipping_methods`` (``{id: title}``) replaces WooCommerce's own; ``clock`` returns the current aware datetime; ``home_url`` pins
        the site URL OAuth signatures are computed over (default: the request's Host).
        ``webhook_url``/``webhook_secret`` register order.created/updated/deleted webhooks.
        WooCommerce does not retry deliveries, hence ``webhook_retries=0``.
        """
        super().__init__(auth_token=None, webhook_retries=webhook_retries, **options)
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.key_permissions = key_permissions
        self.currency = currency
        self.prices_include_tax = prices_include_tax
        self.site_tz = timezone(utc_offset)
        self.refund_gateways = set(refund_gateways)
        self.max_delivery_failures = max_delivery_failures
        self.home_url = home_url.rstrip("/") if home_url else None
        self.stock_default = stock
        self.coupons = {k.lower(): dict(v) for k, v in (coupons or DEFAULT_COUPONS).items()}
        self.tax_rates = self._make_rates(tax_rates, tax_rate, tax_label)
        self.gateways = {gid: {"title": title, "enabled": gid in enabled_gateways}
                         for gid, title in PAYMENT_METHODS.items()}
        for gid in enabled_gateways:
            self.gateways.setdefault(gid, {"title": gid, "enabled": True})
        self.shipping_methods = ({mid: {"title": title, "description": ""} for mid, title in shipping_methods.items()}
                                 if shipping_methods is not None else
                                 {mid: {"title": t, "description": d} for mid, (t, d) in SHIPPING_METHODS.items()})
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._next_post_id = first_id
        self._next_item_id = 1
        self._next_note_id = 1
        self._next_hook_id = 1
        self._products: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}
        self._orders: dict[int, dict] = {}
        self._notes: dict[int, list[dict]] = {}
        self._hooks: dict[int, dict] = {}
        self._event_hooks: dict[str, int] = {}
        self._nonces: dict[str, float] = {}
        self.pings: list[dict] = []
        self._trickle_stop = threading.Event()
        self._trickle_thread: threading.Thread | None = None
        for entry in catalogue:
            entry = dict(entry)
            self.add_product(entry.pop("sku"), entry.pop("price"), notify=False, **entry)
        if self.webhook_url:
            for topic in ("order.created", "order.updated", "order.deleted"):
                self.add_webhook(topic, self.webhook_url, self.webhook_secret, ping=False)
        # catch-alls last: WordPress answers rest_no_route for unknown paths and methods
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.add_route(method, r"^/.*$", self._no_route, auth=False)

    @staticmethod
    def _make_rates(tax_rates, tax_rate, label) -> list[dict]:
        specs = tax_rates if tax_rates is not None else (
            [{"label": label, "percent": tax_rate}] if Decimal(str(tax_rate)) else [])
        rates = []
        for index, spec in enumerate(specs, start=1):
            percent = Decimal(str(spec["percent"]))
            rates.append({
                # a rate without a name is labelled "VAT" in the EU, "Tax" elsewhere (WC_Countries::tax_or_vat)
                "id": index, "name": spec.get("label") or "", "percent": percent, "rate": percent / 100,
                "label": spec.get("label") or ("VAT" if spec.get("country", "BE") in VAT_COUNTRIES else "Tax"),
                # WooCommerce's code: COUNTRY-STATE-NAME-PRIORITY, empty parts left out
                "rate_code": spec.get("rate_code") or "-".join(
                    p for p in (spec.get("country", "BE"), spec.get("state", ""), (spec.get("label") or "TAX").upper(),
                                str(spec.get("priority", 1))) if p),
                "shipping": spec.get("shipping", True), "country": spec.get("country", "BE"),
                "state": spec.get("state", ""), "priority": int(spec.get("priority", 1)),
                "class": spec.get("class", "standard"),
            })
        return rates

    # ----------------------------------------------------------------- clock and ids

    def now(self) -> datetime:
        """Return the shop's current time in UTC, to the second."""
        return _utc(self._clock())

    def _post_id(self) -> int:
        # products, variations, orders and refunds share WordPress's post id sequence
        self._next_post_id += 1
        return self._next_post_id - 1

    def _item_id(self) -> int:
        self._next_item_id += 1
        return self._next_item_id - 1

    def _local(self, moment: datetime | None) -> str | None:
        return moment.astimezone(self.site_tz).strftime("%Y-%m-%dT%H:%M:%S") if moment else None

    @staticmethod
    def _gmt(moment: datetime | None) -> str | None:
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") if moment else None

    def _site(self, request=None) -> str:
        if self.home_url:
            return self.home_url
        host = request.header("Host") if request is not None else None
        return f"http://{host}" if host else f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop the order trickle, then the server."""
        self.stop_trickle()
        super().stop()

    # ----------------------------------------------------------------- authentication

    def _authorize(self, request, action: str) -> None:
        """Raise the WooError WooCommerce answers unless the request may do ``action``."""
        authenticated = self._authenticate(request)
        if action == "none":
            return
        if not authenticated:
            code, message = _DENIED[action]
            raise WooError(code, message, {"status": 401})
        needed = "read" if request.method in ("GET", "HEAD") else "write"
        if needed not in self.key_permissions.split("_"):
            raise WooError("woocommerce_rest_authentication_error",
                           f"The API key provided does not have {needed} permissions.", {"status": 401})

    def _authenticate(self, request) -> bool:
        query = self._query(request)
        key = secret = None
        if query.get("consumer_key") and query.get("consumer_secret"):
            key, secret = query["consumer_key"], query["consumer_secret"]
        else:
            key, secret = self._basic(request)
        if key:
            if key != self.consumer_key:
                return False  # WooCommerce falls through to OAuth, then to "cannot view"
            if not hmac.compare_digest(str(secret).encode(), self.consumer_secret.encode()):
                raise WooError("woocommerce_rest_authentication_error", "Consumer secret is invalid.",
                               {"status": 401}, {"WWW-Authenticate": 'Basic realm="WooCommerce API. Use a '
                               'consumer key in the username field and a consumer secret in the password field."'})
            return True
        return self._oauth(request, query)

    @staticmethod
    def _basic(request):
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not value:
            return None, None
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return (user, password) if user and password else (None, None)

    def _oauth(self, request, query: dict) -> bool:
        params = {**query, **self._form(request)}
        params.update(_oauth_header_params((request.header("Authorization") or "").strip()))
        names = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
        missing = [n for n in names if not params.get(n)]
        if len(missing) == len(names):
            return False
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise WooError("woocommerce_rest_authentication_missing_parameter",
                           f"Missing OAuth {noun} {', '.join(missing)}", {"status": 401})
        if params["oauth_consumer_key"] != self.consumer_key:
            raise WooError("woocommerce_rest_authentication_error", "Consumer key is invalid.", {"status": 401})
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise WooError("woocommerce_rest_authentication_error",
                           "Invalid signature - signature method is invalid.", {"status": 401})
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        expected = oauth_signature(request.method, self._site(request) + request.path, params,
                                   self.consumer_secret, method)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise WooError("woocommerce_rest_authentication_error",
                           "Invalid signature - provided signature does not match.", {"status": 401})
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            stamp = 0
        now = time.time()
        if abs(now - stamp) > OAUTH_WINDOW:
            raise WooError("woocommerce_rest_authentication_error", "Invalid timestamp.", {"status": 401})
        with self._lock:
            self._nonces = {n: t for n, t in self._nonces.items() if t >= now - OAUTH_WINDOW}
            if params["oauth_nonce"] in self._nonces:
                raise WooError("woocommerce_rest_authentication_error",
                               "Invalid nonce - nonce has already been used.", {"status": 401})
            self._nonces[params["oauth_nonce"]] = stamp
        return True

    # ----------------------------------------------------------------- request parameters

    @staticmethod
    def _query(request) -> dict:
        """Return the query parameters as PHP's $_GET has them: the last of repeated names
        wins and ``name[]`` collects a list."""
        params = {}
        for name, values in request.query_lists.items():
            if name.endswith("[]"):
                params[name[:-2]] = list(values)
            else:
                params[name] = values[-1]
        return params

    @staticmethod
    def _form(request) -> dict:
        if "application/x-www-form-urlencoded" not in (request.header("Content-Type") or ""):
            return {}
        return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))

    def _params(self, request) -> dict:
        """Return the request's parameters, JSON body first, then form body, then query."""
        params = {**self._query(request), **self._form(request)}
        body = request.body.strip()
        if body and "json" in (request.header("Content-Type") or "application/json").lower():
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise WooError("rest_invalid_json", "Invalid JSON body passed.",
                               {"status": 400, "json_error_code": 4, "json_error_message": str(exc)}) from None
            if isinstance(data, dict):
                params.update(data)
        return params

    @staticmethod
    def _int(params: dict, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise _invalid_param(name, f"{name} is not of type integer.") from None
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            raise _invalid_param(name, f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)")
        if minimum is not None and value < minimum:
            raise _invalid_param(name, f"{name} must be greater than or equal to {minimum}")
        return value

    @staticmethod
    def _ids(params: dict, name: str) -> set[int]:
        try:
            return {int(i) for i in _list_param(params.get(name, []))}
        except ValueError:
            raise _invalid_param(name, f"{name}[0] is not of type integer.") from None

    def _page_args(self, params: dict, default_per_page: int = 10) -> tuple[int, int, int]:
        per_page = self._int(params, "per_page", default_per_page, 1, MAX_PER_PAGE)
        page = self._int(params, "page", 1, 1)
        offset = self._int(params, "offset", (page - 1) * per_page, 0)
        return page, per_page, offset

    def _date_arg(self, params: dict, name: str) -> datetime | None:
        """Return the naive site-zone wall clock WordPress's date query compares with."""
        raw = params.get(name)
        if raw in (None, ""):
            return None
        if not isinstance(raw, str) or not _REST_DATE.match(raw.strip()):
            raise _invalid_param(name, "Invalid date.")
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.site_tz).replace(tzinfo=None)
        return moment.replace(microsecond=0)

    def _paged(self, request, items: list, page: int, per_page: int, offset: int, render) -> Response:
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        body = [render(item) for item in items[offset:offset + per_page]]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        query = {k: v for k, v in self._query(request).items()
                 if not k.startswith(("oauth_", "consumer_")) and k != "page"}
        base = self._site(request) + request.path
        links = []
        if page > 1:
            links.append(f'<{base}?{urlencode({**query, "page": min(page - 1, max(pages, 1))})}>; rel="prev"')
        if pages > page:
            links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return _json(200, body, headers)

    def _no_route(self, request):
        try:
            self._authorize(request, "none")
        except WooError as exc:
            return exc.response()
        return _json(404, {"code": "rest_no_route",
                           "message": "No route was found matching the URL and request method.",
                           "data": {"status": 404}})

    # ----------------------------------------------------------------- catalogue

    def add_product(self, sku: str, price, *, name: str | None = None, variations=None, stock=None,
                    sale_price=None, manage_stock: bool = True, attribute: str = "Size",
                    notify: bool = True, global_unique_id: str = "") -> dict:
        """Return a new product (REST shape): simple, or variable when ``variations`` are given.

        ``variations`` are SKUs or ``{"sku", "price", "sale_price", "stock", "option", "global_unique_id"}``;
        a variable product's own ``sku`` and ``price`` are its variations' defaults. ``global_unique_id``
        is the GTIN, UPC, EAN or ISBN (WooCommerce 9.2).
        """
        now = self.now()
        with self._lock:
            if sku and self._by_sku(sku) is not None:
                raise ValueError(f"SKU {sku!r} already exists")
            stock = self.stock_default if stock is None else stock
            product = {
                "id": self._post_id(), "parent_id": 0, "name": name or sku, "sku": sku,
                "type": "variable" if variations else "simple", "status": "publish",
                "regular_price": "" if variations else str(price),
                "sale_price": "" if sale_price is None else str(sale_price),
                "manage_stock": bool(manage_stock) and not variations,
                "stock_quantity": stock if manage_stock and not variations else None,
                "attribute": attribute, "variations": [], "created": now, "modified": now, "total_sales": 0,
                "global_unique_id": "" if variations else (global_unique_id or ""),
            }
            self._products[product["id"]] = product
            options = []
            for spec in variations or ():
                spec = {"sku": spec} if isinstance(spec, str) else dict(spec)
                if self._by_sku(spec["sku"]) is not None:
                    raise ValueError(f"SKU {spec['sku']!r} already exists")
                option = spec.get("option") or spec["sku"].rsplit("-", 1)[-1]
                options.append(option)
                quantity = spec.get("stock", stock)
                variation = {
                    "id": self._post_id(), "parent_id": product["id"], "name": f"{product['name']} - {option}",
                    "sku": spec["sku"], "type": "variation", "status": "publish",
                    "regular_price": str(spec.get("price", price)),
                    "sale_price": "" if spec.get("sale_price") is None else str(spec["sale_price"]),
                    "manage_stock": bool(manage_stock), "stock_quantity": quantity if manage_stock else None,
                    "attributes": [{"id": 0, "name": attribute, "option": option}],
                    "created": now, "modified": now, "total_sales": 0,
                    "global_unique_id": spec.get("global_unique_id") or "",
                }
                self._products[variation["id"]] = variation
                product["variations"].append(variation["id"])
            product["options"] = options
            rendered = self._render_product(product)
        if notify:
            self._notify("product.created", product["id"])
        return rendered

    def edit_product(self, sku: str, **changes) -> dict:
        """Return the product or variation with ``sku`` after a merchant's edit (``name``, ``global_unique_id``,
        ...; no webhook)."""
        with self._lock:
            item = self._by_sku(sku)
            self._apply_product_changes(item, changes)
            return self._render_product(item)

    def remove_product(self, sku: str) -> None:
        """Delete the product with ``sku`` (a variable one with its variations) shop-side."""
        with self._lock:
            item = self._by_sku(sku)
            for variation_id in item.get("variations") or ():
                self._products.pop(variation_id, None)
            self._products.pop(item["id"], None)

    def product(self, sku: str) -> dict | None:
        """Return the product or variation with ``sku`` (REST shape), or None."""
        with self._lock:
            item = self._by_sku(sku)
            return self._render_product(item) if item else None

    def product_by_id(self, product_id: int) -> dict | None:
        """Return the product or variation ``product_id`` (REST shape), or None."""
        with self._lock:
            item = self._products.get(int(product_id))
            return self._render_product(item) if item else None

    def set_stock(self, sku: str, quantity: int | None) -> None:
        """Set the stock quantity of ``sku`` shop-side (a merchant's edit; no webhook); None stops managing it."""
        with self._lock:
            item = self._by_sku(sku)
            item["manage_stock"] = quantity is not None
            item["stock_quantity"] = quantity
            item["modified"] = self.now()

    def set_price(self, sku: str, regular_price, sale_price=None) -> None:
        """Set the prices of ``sku`` shop-side (a merchant's edit; no webhook)."""
        with self._lock:
            item = self._by_sku(sku)
            item["regular_price"] = str(regular_price)
            item["sale_price"] = "" if sale_price is None else str(sale_price)
            item["modified"] = self.now()

    def save_customer(self, customer_id: int | None = None, *, notify: bool = True, **fields) -> dict:
        """Create (no ``customer_id``) or update a registered customer; send ``customer.created|updated``.

        ``fields``: ``email``, ``first_name``, ``last_name``, ``billing`` and ``shipping`` (address dicts
        in WooCommerce's shape), ``meta_data`` (``[{"key", "value"}]``).
        """
        now = self.now()
        with self._lock:
            created = customer_id is None
            if created:
                customer_id = self._post_id()
                self.customers[customer_id] = {"id": customer_id, "created": now, "billing": {}, "shipping": {},
                                               "meta_data": []}
            customer = self.customers[customer_id]
            customer.update(fields)
            customer["modified"] = now
            rendered = self._render_customer(customer)
        if notify:
            self._notify("customer.created" if created else "customer.updated", customer_id)
        return rendered

    def _render_customer(self, customer: dict) -> dict:
        return {
            "id": customer["id"], "email": customer.get("email", ""), "first_name": customer.get("first_name", ""),
            "last_name": customer.get("last_name", ""), "role": "customer", "username": customer.get("email", ""),
            "date_created": self._local(customer["created"]), "date_created_gmt": self._gmt(customer["created"]),
            "date_modified": self._local(customer["modified"]), "date_modified_gmt": self._gmt(customer["modified"]),
            "billing": dict(customer.get("billing") or {}), "shipping": dict(customer.get("shipping") or {}),
            "is_paying_customer": False, "avatar_url": "", "meta_data": list(customer.get("meta_data") or []),
        }

    def stock_of(self, sku: str) -> int | None:
        """Return the stock quantity of ``sku`` (None when its stock is not managed)."""
        with self._lock:
            item = self._by_sku(sku)
            if item is None:
                raise KeyError(f"no product with SKU {sku!r}")
            return item["stock_quantity"]

    def _by_sku(self, sku: str) -> dict | None:
        for item in self._products.values():
            if sku and item["sku"] == sku:
                return item
        return None

    def _price_of(self, item: dict) -> tuple[str, bool]:
        regular, sale = item["regular_price"], item["sale_price"]
        if sale != "" and (regular == "" or Decimal(sale) < Decimal(regular)):
            return sale, True
        return regular, False

    def _stock_status(self, item: dict) -> str:
        if item["type"] == "variable":
            statuses = [self._stock_status(self._products[v]) for v in item["variations"] if v in self._products]
            return "instock" if "instock" in statuses or not statuses else "outofstock"
        if not item["manage_stock"]:
            return item.get("stock_status_manual", "instock")
        return "instock" if (item["stock_quantity"] or 0) > 0 else "outofstock"

    def _render_product(self, item: dict) -> dict:
        site = self._site()
        if item["type"] == "variation":
            price, on_sale = self._price_of(item)
            return {
                "id": item["id"], "parent_id": item["parent_id"], "name": item["name"], "type": "variation",
                "date_created": self._local(item["created"]), "date_created_gmt": self._gmt(item["created"]),
                "date_modified": self._local(item["modified"]), "date_modified_gmt": self._gmt(item["modified"]),
                "description": item.get("description", ""), "global_unique_id": item.get("global_unique_id", ""),
                "permalink": f"{site}/?p={item['parent_id']}&variation_id={item['id']}",
                "sku": item["sku"], "price": price, "regular_price": item["regular_price"],
                "sale_price": item["sale_price"], "on_sale": on_sale, "status": item["status"],
                "purchasable": price != "", "virtual": False, "downloadable": False, "tax_status": "taxable",
                "tax_class": "", "manage_stock": item["manage_stock"], "stock_quantity": item["stock_quantity"],
                "stock_status": self._stock_status(item), "backorders": "no", "backorders_allowed": False,
                "backordered": False, "weight": item.get("weight", ""), "attributes": copy.deepcopy(item["attributes"]),
                "image": copy.deepcopy(item.get("image")),
                "menu_order": 0, "meta_data": [],
                "_links": {"self": [{"href": f"{site}{API}/products/{item['parent_id']}/variations/{item['id']}"}],
                           "up": [{"href": f"{site}{API}/products/{item['parent_id']}"}]},
            }
        if item["type"] == "variable":
            prices = [Decimal(self._price_of(self._products[v])[0]) for v in item["variations"]
                      if v in self._products and self._price_of(self._products[v])[0] != ""]
            price, on_sale = (str(min(prices)) if prices else ""), any(
                self._price_of(self._products[v])[1] for v in item["variations"] if v in self._products)
        else:
            price, on_sale = self._price_of(item)
        return {
            "id": item["id"], "name": item["name"], "slug": re.sub(r"[^a-z0-9]+", "-", item["name"].lower()).strip("-"),
            "permalink": f"{site}/?p={item['id']}",
            "date_created": self._local(item["created"]), "date_created_gmt": self._gmt(item["created"]),
            "date_modified": self._local(item["modified"]), "date_modified_gmt": self._gmt(item["modified"]),
            "type": item["type"], "status": item["status"], "featured": False, "catalog_visibility": "visible",
            "description": item.get("description", ""), "short_description": "",
            "global_unique_id": item.get("global_unique_id", ""), "sku": item["sku"], "price": price,
            "regular_price": item["regular_price"], "sale_price": item["sale_price"], "on_sale": on_sale,
            "purchasable": price != "", "total_sales": item["total_sales"], "virtual": False,
            "downloadable": False, "tax_status": "taxable", "tax_class": "", "manage_stock": item["manage_stock"],
            "stock_quantity": item["stock_quantity"], "stock_status": self._stock_status(item),
            "backorders": "no", "backorders_allowed": False, "backordered": False, "sold_individually": False,
            "weight": item.get("weight", ""), "parent_id": 0,
            "attributes": (copy.deepcopy(item["attribute_list"]) if item.get("attribute_list") else
                           [{"id": 0, "name": item["attribute"], "position": 0, "visible": True, "variation": True,
                             "options": list(item.get("options") or [])}] if item["type"] == "variable" else []),
            "images": copy.deepcopy(item.get("images") or []),
            "variations": list(item["variations"]), "meta_data": [],
            "_links": {"self": [{"href": f"{site}{API}/products/{item['id']}"}],
                       "collection": [{"href": f"{site}{API}/products"}]},
        }

    @staticmethod
    def _set_product_attributes(item: dict, attributes) -> None:
        """A variable product's attributes (``[{"name", "options", "variation", "visible"}]``)."""
        if not isinstance(attributes, list):
            raise _invalid_param("attributes", "attributes is not of type array.")
        kept = []
        for position, attribute in enumerate(attributes):
            if not isinstance(attribute, dict) or not attribute.get("name"):
                raise _invalid_param("attributes", "attributes[%d][name] is required." % position)
            kept.append({"id": 0, "name": str(attribute["name"]), "position": position,
                         "visible": bool(attribute.get("visible", True)), "variation": bool(attribute.get("variation", True)),
                         "options": [str(o) for o in attribute.get("options") or []]})
        item["attribute_list"] = kept
        if kept:
            item["attribute"], item["options"] = kept[0]["name"], kept[0]["options"]

    def _images(self, images, name: str) -> list[dict]:
        """Images given by ``src`` (the shop sideloads them into its media library) or by media ``id``."""
        if not isinstance(images, list):
            raise _invalid_param(name, f"{name} is not of type array.")
        kept = []
        for position, image in enumerate(images):
            if not isinstance(image, dict) or not (image.get("src") or image.get("id")):
                raise WooError("woocommerce_product_invalid_image", "Invalid image: an image needs a src or an id.",
                               {"status": 400})
            src = str(image.get("src") or "")
            if src and not re.match(r"https?://", src):
                raise WooError("woocommerce_product_image_upload_error",
                               f"Error getting remote image {src}. Error: A valid URL was not provided.", {"status": 400})
            now = self.now()
            kept.append({"id": int(image.get("id") or self._post_id()), "src": src, "name": str(image.get("name") or ""),
                         "alt": str(image.get("alt") or ""), "position": position,
                         "date_created": self._local(now), "date_created_gmt": self._gmt(now),
                         "date_modified": self._local(now), "date_modified_gmt": self._gmt(now)})
        return kept

    def _apply_product_changes(self, item: dict, data: dict) -> bool:
        """Return whether ``data`` changed ``item`` (prices, stock, SKU, name, status)."""
        before = copy.deepcopy(item)
        if "sku" in data:
            sku = str(data["sku"] or "").strip()
            other = self._by_sku(sku)
            if sku and other is not None and other["id"] != item["id"]:
                raise WooError("product_invalid_sku", "Invalid or duplicated SKU.",
                               {"status": 400, "resource_id": other["id"], "unique_sku": f"{sku}-1"})
            item["sku"] = sku
        for key in ("regular_price", "sale_price"):
            if key in data and item["type"] != "variable":
                value = data[key]
                item[key] = "" if value in (None, "") else format(_decimal(value, key), "f")
        if "manage_stock" in data and item["type"] != "variable":
            item["manage_stock"] = _bool_param(data["manage_stock"], "manage_stock")
        if "stock_quantity" in data:
            value = data["stock_quantity"]
            item["stock_quantity"] = None if value in (None, "") else int(_decimal(value, "stock_quantity"))
        if "stock_status" in data and not item["manage_stock"]:
            item["stock_status_manual"] = str(data["stock_status"])
        if "name" in data and item["type"] != "variation":
            item["name"] = str(data["name"])
        for key in ("description", "weight", "global_unique_id"):
            if key in data:
                item[key] = "" if data[key] is None else str(data[key])
        if "attributes" in data and item["type"] == "variable":
            self._set_product_attributes(item, data["attributes"])
        if "images" in data and item["type"] != "variation":
            item["images"] = self._images(data["images"], "images")
        if "image" in data and item["type"] == "variation":
            item["image"] = (self._images([data["image"]], "image") or [None])[0] if data["image"] else None
        if "status" in data:
            if data["status"] not in ("draft", "pending", "private", "publish"):
                raise _invalid_param("status", "status is not one of draft, pending, private, and publish.")
            item["status"] = data["status"]
        # WC_Product::validate_props: a quantity is only kept while stock is managed
        if not item["manage_stock"]:
            item["stock_quantity"] = None
        changed = item != before
        if changed:
            item["modified"] = self.now()
        return changed

    # ----------------------------------------------------------------- orders: shop side

    def place_order(self, *, lines=None, customer=None, billing=None, shipping=None, status: str = "processing",
                    payment_method: str = "stripe", coupons=(), shipping_lines=None, fees=(),
                    customer_note: str = "", customer_id: int | None = None, created_at=None,
                    created_via: str = "checkout", notify: bool = True) -> dict:
        """Return a new order (REST shape) after sending ``order.created``.

        ``lines`` are ``{"sku", "quantity", "price"?, "name"?}`` (random when omitted);
        ``customer`` is a dict shaped like ``generic.CUSTOMERS`` entries (random when omitted);
        ``billing``/``shipping`` override WooCommerce address fields; ``coupons`` are codes of
        ``coupons`` or ``{"code", "type": percent|fixed_cart|fixed_product, "amount"}``;
        ``shipping_lines`` default to one flat rate of 4.90 (``[]`` for none); ``fees`` are
        ``{"name", "total"}``. Paid statuses reduce stock and set ``date_paid``.
        """
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            now = _parse_time(created_at) if created_at is not None else self.now()
            person, registered_id = self._pick_customer(customer)
            order = {
                "id": self._post_id(), "status": status, "currency": self.currency,
                "prices_include_tax": self.prices_include_tax, "created": now, "modified": now,
                "paid": None, "completed": None, "order_key": "wc_order_" + "".join(
                    self._rng.choice(string.ascii_letters + string.digits) for _ in range(13)),
                "customer_id": registered_id if customer_id is None else customer_id,
                "billing": {**self._billing(person), **(billing or {})},
                "shipping": {**self._shipping(person), **(shipping or {})},
                "payment_method": payment_method,
                "payment_method_title": PAYMENT_METHODS.get(payment_method, payment_method),
                "transaction_id": "", "customer_note": customer_note, "created_via": created_via,
                "line_items": [], "coupons": [], "shipping_lines": [], "fee_lines": [], "refunds": [],
                "meta_data": [], "stock_reduced": False,
            }
            self._set_lines(order, lines if lines is not None else self._random_lines())
            self._set_coupons(order, coupons)
            self._set_shipping(order, [FLAT_RATE] if shipping_lines is None else shipping_lines)
            order["fee_lines"] = [{"id": self._item_id(), "name": f["name"], "total": _q(f["total"])} for f in fees]
            self._price(order)
            if status in PAID_STATUSES or status == "on-hold":
                self._reduce_stock(order)
            if status in PAID_STATUSES:
                self._mark_paid(order, now)
            if status == "completed":
                order["completed"] = now
            self._orders[order["id"]] = order
            self._notes[order["id"]] = []
            rendered = self._render_order(order)
        if notify:
            self._notify("order.created", order["id"])
        return rendered

    def add_orders(self, count: int, **spec) -> list[dict]:
        """Return ``count`` new orders placed without webhooks (bulk set-up)."""
        return [self.place_order(notify=False, **spec) for _ in range(count)]

    def update_order(self, order_id: int, *, notify: bool = True, **changes) -> dict:
        """Return the order after ``changes`` and sending ``order.updated``.

        ``status``, ``billing``/``shipping`` (merged), ``customer_note``, ``lines``, ``coupons``,
        ``shipping_lines``, ``payment_method``, ``transaction_id``; ``modified_at`` pins the
        modification time.
        """
        with self._lock:
            order = self._order(order_id)
            pinned = changes.pop("modified_at", None)
            self._apply_order_changes(order, changes, note_author="system")
            if pinned is not None:
                order["modified"] = _parse_time(pinned)
            else:
                self._touch(order)
            rendered = self._render_order(order)
        if notify:
            self._notify("order.updated", order_id)
        return rendered

    def cancel_order(self, order_id: int, *, notify: bool = True) -> dict:
        """Return the order after cancelling it (stock restored) and sending ``order.updated``."""
        return self.update_order(order_id, status="cancelled", notify=notify)

    def complete_order(self, order_id: int, *, notify: bool = True) -> dict:
        """Return the order after marking it completed and sending ``order.updated``."""
        return self.update_order(order_id, status="completed", notify=notify)

    def delete_order(self, order_id: int, *, force: bool = False, notify: bool = True) -> dict:
        """Return the order's last state after trashing it (or deleting it with ``force``) and
        sending ``order.deleted`` with the body ``{"id": N}``."""
        with self._lock:
            order = self._order(order_id)
            rendered = self._trash(order, force)
        if notify:
            self._notify("order.deleted", order_id)
        return rendered

    def refund_order(self, order_id: int, amount=None, *, reason: str = "", line_items=None,
                     restock: bool = False, api_refund: bool = False, notify: bool = True) -> dict:
        """Return the refund (REST shape) after recording it and sending ``order.updated``.

        ``amount`` defaults to the sum of the ``line_items`` refunds, else to what is left;
        ``line_items`` are ``{"id", "quantity", "refund_total", "refund_tax": [{"id", "refund_total"}]}``.
        A full refund moves the order to ``refunded``.
        """
        with self._lock:
            order = self._order(order_id)
            refund = self._create_refund(order, amount, reason, line_items or [], restock, api_refund)
            rendered = self._render_refund(order, refund)
        if notify:
            self._notify("order.updated", order_id)
        return rendered

    def get_order(self, order_id: int) -> dict:
        """Return the order in REST shape; KeyError when unknown."""
        with self._lock:
            return self._render_order(self._order(order_id))

    @property
    def orders(self) -> list[dict]:
        """Return every order (trashed ones included) in REST shape, oldest first."""
        with self._lock:
            return [self._render_order(o) for o in sorted(self._orders.values(), key=lambda o: o["id"])]

    def notes(self, order_id: int) -> list[dict]:
        """Return the order's notes, newest first, in REST shape."""
        with self._lock:
            self._order(order_id)
            return [self._render_note(order_id, n) for n in reversed(self._notes[order_id])]

    def refunds(self, order_id: int) -> list[dict]:
        """Return the order's refunds, newest first, in REST shape."""
        with self._lock:
            order = self._order(order_id)
            return [self._render_refund(order, r) for r in reversed(order["refunds"])]

    def _order(self, order_id) -> dict:
        try:
            return self._orders[int(order_id)]
        except (KeyError, ValueError, TypeError):
            raise KeyError(f"no order {order_id!r} in the {self.name} simulator") from None

    def _touch(self, order: dict) -> None:
        # each save moves date_modified forward, so a modified_after poll sees every change
        order["modified"] = max(self.now(), order["modified"] + timedelta(seconds=1))

    def _pick_customer(self, customer) -> tuple[dict, int]:
        if isinstance(customer, dict):
            return dict(customer), int(customer.get("customer_id", 0))
        index = customer if isinstance(customer, int) else self._rng.randrange(len(CUSTOMERS))
        # one checkout in three is a guest (customer_id 0), as in most shops
        registered = 0 if self._rng.random() < 1 / 3 else index + 2
        return dict(CUSTOMERS[index]), registered

    @staticmethod
    def _billing(person: dict) -> dict:
        return {
            "first_name": person.get("first_name", ""), "last_name": person.get("last_name", ""),
            "company": person.get("company", ""), "address_1": person.get("street", ""),
            "address_2": person.get("street2", ""), "city": person.get("city", ""), "state": person.get("state", ""),
            "postcode": person.get("zip", ""), "country": person.get("country_code", ""),
            "email": person.get("email", ""), "phone": person.get("phone", ""),
        }

    def _shipping(self, person: dict) -> dict:
        address = self._billing(person)
        address.pop("email")
        return address

    def _random_lines(self) -> list[dict]:
        sellable = [p for p in self._products.values() if p["type"] != "variable" and p["sku"]]
        chosen = self._rng.sample(sellable, min(self._rng.randint(1, 3), len(sellable)))
        return [{"sku": p["sku"], "quantity": self._rng.choice((1, 1, 1, 2, 3))} for p in chosen]

    def _set_lines(self, order: dict, specs) -> None:
        lines = []
        for spec in specs:
            item = None
            if spec.get("variation_id"):
                item = self._products.get(int(spec["variation_id"]))
            elif spec.get("product_id"):
                item = self._products.get(int(spec["product_id"]))
            elif spec.get("sku"):
                item = self._by_sku(spec["sku"])
            if item is None and "price" not in spec:
                raise ValueError(f"unknown product in order line {spec!r}")
            if item is not None and item["type"] == "variable":
                raise ValueError(f"{item['sku'] or item['id']} is a variable product: order one of its variations")
            quantity = int(spec.get("quantity", 1))
            if quantity < 1:
                raise ValueError("an order line needs a quantity >= 1")
            parent = self._products.get(item["parent_id"]) if item and item["type"] == "variation" else None
            price = spec.get("price", self._price_of(item)[0] if item else None)
            lines.append({
                "id": self._item_id(), "product_id": (parent or item)["id"] if item else 0,
                "variation_id": item["id"] if parent else 0, "sku": item["sku"] if item else spec.get("sku", ""),
                "name": spec.get("name") or (item["name"] if item else spec.get("sku", "Product")),
                "parent_name": parent["name"] if parent else None, "quantity": quantity,
                "unit_price": Decimal(str(price)),
                "attributes": copy.deepcopy(item["attributes"]) if parent else [],
            })
        if not lines:
            raise ValueError("an order needs at least one line")
        order["line_items"] = lines

    def _set_coupons(self, order: dict, coupons) -> None:
        order["coupons"] = []
        for coupon in coupons:
            if isinstance(coupon, str):
                spec = dict(self.coupons.get(coupon.lower()) or {}, code=coupon)
            else:
                spec = dict(coupon)
            if "type" not in spec:
                raise ValueError(f"unknown coupon {coupon!r}")
            spec["code"] = spec["code"].lower()
            spec["id"] = self._item_id()
            order["coupons"].append(spec)

    def _set_shipping(self, order: dict, specs) -> None:
        order["shipping_lines"] = [
            {"id": self._item_id(), "method_id": s.get("method_id", "flat_rate"),
             "method_title": s.get("method_title", "Flat rate"), "instance_id": str(s.get("instance_id", "1")),
             "total": _q(s.get("total", "0"))}
            for s in specs
        ]

    # ----------------------------------------------------------------- orders: pricing

    def _split(self, amount: Decimal, inclusive: bool) -> tuple[Decimal, dict]:
        """Return (net amount, {rate id: tax}) of ``amount`` in the shop's price basis."""
        rates = self.tax_rates
        if not rates:
            return _q(amount), {}
        if not inclusive:
            net = _q(amount)
            return net, {r["id"]: _q(net * r["rate"]) for r in rates}
        total_rate = sum(r["rate"] for r in rates)
        net = _q(amount / (1 + total_rate))
        taxes, left = {}, _q(amount) - net
        for rate in rates[:-1]:
            taxes[rate["id"]] = _q(net * rate["rate"])
            left -= taxes[rate["id"]]
        taxes[rates[-1]["id"]] = left
        return net, taxes

    @staticmethod
    def _coupon_shares(coupon: dict, bases: list[Decimal], quantities: list[int]) -> list[Decimal]:
        amount = Decimal(str(coupon["amount"]))
        if coupon["type"] == "percent":
            return [_q(b * amount / 100) for b in bases]
        if coupon["type"] == "fixed_product":
            return [min(_q(amount * q), b) for b, q in zip(bases, quantities)]
        total = sum(bases)
        amount = min(amount, total)
        if not total:
            return [Decimal(0) for _ in bases]
        shares = [_q(amount * b / total) for b in bases]
        # the rounding remainder goes to the largest line, as WooCommerce spreads cents
        shares[bases.index(max(bases))] += amount - sum(shares)
        return shares

    def _price(self, order: dict) -> None:
        inclusive = order["prices_include_tax"]
        lines = order["line_items"]
        bases = [line["unit_price"] * line["quantity"] for line in lines]
        allocated = [Decimal(0)] * len(lines)
        for coupon in order["coupons"]:
            left = [b - a for b, a in zip(bases, allocated)]
            shares = self._coupon_shares(coupon, left, [line["quantity"] for line in lines])
            allocated = [a + s for a, s in zip(allocated, shares)]
            splits = [self._split(s, inclusive) for s in shares]
            coupon["discount"] = sum((net for net, _ in splits), Decimal(0))
            coupon["discount_tax"] = sum((sum(t.values(), Decimal(0)) for _, t in splits), Decimal(0))
        for line, base, discount in zip(lines, bases, allocated):
            line["subtotal"], line["subtotal_taxes"] = self._split(base, inclusive)
            line["total"], line["total_taxes"] = self._split(base - discount, inclusive)
        for ship in order["shipping_lines"]:
            # shipping costs are entered without tax in WooCommerce, whatever the price setting
            ship["taxes"] = {r["id"]: _q(ship["total"] * r["rate"]) for r in self.tax_rates if r["shipping"]}

    def _totals(self, order: dict) -> dict:
        lines = order["line_items"]
        tax_sum = lambda taxes: sum(taxes.values(), Decimal(0))  # noqa: E731
        cart_tax = sum((tax_sum(line["total_taxes"]) for line in lines), Decimal(0))
        shipping_total = sum((s["total"] for s in order["shipping_lines"]), Decimal(0))
        shipping_tax = sum((tax_sum(s["taxes"]) for s in order["shipping_lines"]), Decimal(0))
        fees = sum((f["total"] for f in order["fee_lines"]), Decimal(0))
        items = sum((line["total"] for line in lines), Decimal(0))
        return {
            "discount_total": sum((line["subtotal"] - line["total"] for line in lines), Decimal(0)),
            "discount_tax": sum((tax_sum(line["subtotal_taxes"]) - tax_sum(line["total_taxes"]) for line in lines),
                                Decimal(0)),
            "shipping_total": shipping_total, "shipping_tax": shipping_tax, "cart_tax": cart_tax,
            "total_tax": cart_tax + shipping_tax,
            "total": items + shipping_total + fees + cart_tax + shipping_tax,
        }

    def _refunded(self, order: dict) -> Decimal:
        return sum((r["amount"] for r in order["refunds"]), Decimal(0))

    # ----------------------------------------------------------------- orders: state changes

    def _mark_paid(self, order: dict, when: datetime) -> None:
        if order["paid"] is None:
            order["paid"] = when
            if order["payment_method"] == "stripe" and not order["transaction_id"]:
                order["transaction_id"] = "ch_" + uuid.UUID(int=self._rng.getrandbits(128)).hex[:24]

    def _reduce_stock(self, order: dict) -> None:
        if order["stock_reduced"]:
            return
        for line in order["line_items"]:
            item = self._products.get(line["variation_id"] or line["product_id"])
            if item is not None:
                item["total_sales"] += line["quantity"]
                if item["manage_stock"] and item["stock_quantity"] is not None:
                    item["stock_quantity"] -= line["quantity"]
        order["stock_reduced"] = True

    def _restore_stock(self, order: dict) -> None:
        if not order["stock_reduced"]:
            return
        for line in order["line_items"]:
            self._restock(line, line["quantity"])
        order["stock_reduced"] = False

    def _restock(self, line: dict, quantity: int) -> None:
        item = self._products.get(line["variation_id"] or line["product_id"])
        if item is not None and item["manage_stock"] and item["stock_quantity"] is not None:
            item["stock_quantity"] += quantity

    def _set_status(self, order: dict, status: str, note_author: str) -> None:
        previous = order["status"]
        if status == previous:
            return
        now = self.now()
        order["status"] = status
        if status in PAID_STATUSES or status == "on-hold":
            self._reduce_stock(order)
        if status in PAID_STATUSES:
            self._mark_paid(order, now)
        if status == "completed":
            order["completed"] = now
        if status in ("cancelled", "pending", "failed"):
            # wc_maybe_increase_stock_levels gives back what the order held
            self._restore_stock(order)
        label = lambda s: s.replace("-", " ").title().replace("On Hold", "On hold")  # noqa: E731
        self._add_note(order["id"], f"Order status changed from {label(previous)} to {label(status)}.",
                       False, note_author)

    def _apply_order_changes(self, order: dict, changes: dict, note_author: str) -> None:
        changes = dict(changes)
        unknown = set(changes) - {"status", "billing", "shipping", "customer_note", "lines", "coupons",
                                  "shipping_lines", "payment_method", "transaction_id", "set_paid", "meta_data"}
        if unknown:
            raise ValueError(f"unknown order change(s): {', '.join(sorted(unknown))}")
        for key in ("billing", "shipping"):
            if key in changes:
                order[key] = {**order[key], **{k: ("" if v is None else str(v)) for k, v in changes[key].items()}}
        if "customer_note" in changes:
            order["customer_note"] = str(changes["customer_note"] or "")
        if "transaction_id" in changes:
            order["transaction_id"] = str(changes["transaction_id"] or "")
        if "payment_method" in changes:
            order["payment_method"] = changes["payment_method"]
            order["payment_method_title"] = PAYMENT_METHODS.get(changes["payment_method"], changes["payment_method"])
        if "meta_data" in changes:
            order["meta_data"] = list(changes["meta_data"] or [])
        if "lines" in changes:
            self._restore_stock(order)
            self._set_lines(order, changes["lines"])
        if "coupons" in changes:
            self._set_coupons(order, changes["coupons"])
        if "shipping_lines" in changes:
            self._set_shipping(order, changes["shipping_lines"])
        self._price(order)
        if "lines" in changes and order["status"] in PAID_STATUSES + ("on-hold",):
            self._reduce_stock(order)
        if changes.get("set_paid") and order["status"] in ("pending", "on-hold", "failed"):
            changes.setdefault("status", "processing")
        if "status" in changes:
            self._set_status(order, changes["status"], note_author)

    def _trash(self, order: dict, force: bool) -> dict:
        if force:
            rendered = self._render_order(order)
            del self._orders[order["id"]]
            self._notes.pop(order["id"], None)
            return rendered
        if order["status"] != "trash":
            order["pre_trash_status"] = order["status"]
            order["status"] = "trash"
            self._touch(order)
        return self._render_order(order)

    def _create_refund(self, order: dict, amount, reason, line_specs, restock: bool, api_refund: bool) -> dict:
        items = {line["id"]: line for line in order["line_items"]}
        lines = []
        line_sum = Decimal(0)
        for spec in line_specs:
            line = items.get(int(spec.get("id", 0) or 0))
            if line is None:
                continue  # WooCommerce skips items that are not on the order
            refund_total = _q(spec.get("refund_total") or 0)
            taxes = {int(t.get("id", 0)): _q(t.get("refund_total") or 0) for t in spec.get("refund_tax") or []}
            quantity = int(spec.get("quantity") or 0)
            line_sum += refund_total + sum(taxes.values(), Decimal(0))
            lines.append({"line": line, "quantity": quantity, "total": refund_total, "taxes": taxes})
        amount = _q(amount) if amount not in (None, "") else (line_sum if lines else None)
        remaining = self._totals(order)["total"] - self._refunded(order)
        if amount is None:
            amount = remaining
        if amount < 0:
            # WooCommerce passes the status as a bare number here: WordPress answers 500
            raise WooError("woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.", 400)
        if amount > remaining:
            raise WooError("woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500)
        refunded_payment = False
        if api_refund:
            if not order["payment_method"]:
                raise WooError("woocommerce_rest_cannot_create_order_refund",
                               "The payment gateway for this order does not exist.", 500)
            if order["payment_method"] not in self.refund_gateways:
                raise WooError("woocommerce_rest_cannot_create_order_refund",
                               "The payment gateway for this order does not support automatic refunds.", 500)
            refunded_payment = True
        now = self.now()
        refund = {"id": self._post_id(), "created": now, "amount": amount, "reason": str(reason or ""),
                  "refunded_payment": refunded_payment, "lines": lines}
        order["refunds"].append(refund)
        if restock:
            for entry in lines:
                if entry["quantity"]:
                    self._restock(entry["line"], entry["quantity"])
        note = f"Refunded {self.currency} {amount}" + (f" – {refund['reason']}" if refund["reason"] else "")
        self._add_note(order["id"], note, False, "system")
        if self._refunded(order) >= self._totals(order)["total"] and order["status"] != "refunded":
            self._set_status(order, "refunded", "system")
        self._touch(order)
        return refund

    # ----------------------------------------------------------------- orders: rendering

    def _render_order(self, order: dict) -> dict:
        site = self._site()
        totals = self._totals(order)
        rate_ids = [r["id"] for r in self.tax_rates]
        line_items = []
        for line in order["line_items"]:
            line_items.append({
                "id": line["id"], "name": line["name"], "product_id": line["product_id"],
                "variation_id": line["variation_id"], "quantity": line["quantity"], "tax_class": "",
                "subtotal": _m(line["subtotal"]), "subtotal_tax": _m(sum(line["subtotal_taxes"].values(), Decimal(0))),
                "total": _m(line["total"]), "total_tax": _m(sum(line["total_taxes"].values(), Decimal(0))),
                "taxes": [{"id": rid, "total": _m(line["total_taxes"][rid]),
                           "subtotal": _m(line["subtotal_taxes"][rid])} for rid in rate_ids],
                "meta_data": [{"id": line["id"] * 10 + i, "key": f"pa_{a['name'].lower()}",
                               "value": a["option"].lower(), "display_key": a["name"], "display_value": a["option"]}
                              for i, a in enumerate(line["attributes"])],
                "sku": line["sku"], "price": _number(line["total"] / line["quantity"]),
                "image": {"id": "", "src": ""}, "parent_name": line["parent_name"],
            })
        tax_lines = []
        for index, rate in enumerate(self.tax_rates):
            cart = sum((line["total_taxes"].get(rate["id"], Decimal(0)) for line in order["line_items"]), Decimal(0))
            ship = sum((s["taxes"].get(rate["id"], Decimal(0)) for s in order["shipping_lines"]), Decimal(0))
            tax_lines.append({
                "id": order["id"] * 100 + 90 + index, "rate_code": rate["rate_code"], "rate_id": rate["id"],
                "label": rate["label"], "compound": False, "tax_total": _m(cart), "shipping_tax_total": _m(ship),
                "rate_percent": _number(rate["percent"]), "meta_data": [],
            })
        return {
            "id": order["id"], "parent_id": 0, "status": order["status"], "currency": order["currency"],
            "version": WC_VERSION, "prices_include_tax": order["prices_include_tax"],
            "date_created": self._local(order["created"]), "date_modified": self._local(order["modified"]),
            "discount_total": _m(totals["discount_total"]), "discount_tax": _m(totals["discount_tax"]),
            "shipping_total": _m(totals["shipping_total"]), "shipping_tax": _m(totals["shipping_tax"]),
            "cart_tax": _m(totals["cart_tax"]), "total": _m(totals["total"]), "total_tax": _m(totals["total_tax"]),
            "customer_id": order["customer_id"], "order_key": order["order_key"],
            "billing": dict(order["billing"]), "shipping": dict(order["shipping"]),
            "payment_method": order["payment_method"], "payment_method_title": order["payment_method_title"],
            "transaction_id": order["transaction_id"], "customer_ip_address": "203.0.113.7",
            "customer_user_agent": "Mozilla/5.0", "created_via": order["created_via"],
            "customer_note": order["customer_note"], "date_completed": self._local(order["completed"]),
            "date_paid": self._local(order["paid"]), "cart_hash": "", "number": str(order["id"]),
            "meta_data": copy.deepcopy(order["meta_data"]), "line_items": line_items, "tax_lines": tax_lines,
            "shipping_lines": [
                {"id": s["id"], "method_title": s["method_title"], "method_id": s["method_id"],
                 "instance_id": s["instance_id"], "total": _m(s["total"]),
                 "total_tax": _m(sum(s["taxes"].values(), Decimal(0))),
                 "taxes": [{"id": rid, "total": _m(t), "subtotal": ""} for rid, t in s["taxes"].items()],
                 "meta_data": []}
                for s in order["shipping_lines"]
            ],
            "fee_lines": [
                {"id": f["id"], "name": f["name"], "tax_class": "", "tax_status": "none", "amount": _m(f["total"]),
                 "total": _m(f["total"]), "total_tax": "0.00", "taxes": [], "meta_data": []}
                for f in order["fee_lines"]
            ],
            "coupon_lines": [
                {"id": c["id"], "code": c["code"], "discount": _m(c["discount"]), "discount_tax": _m(c["discount_tax"]),
                 "discount_type": c["type"], "nominal_amount": _number(Decimal(str(c["amount"]))),
                 "free_shipping": False, "meta_data": []}
                for c in order["coupons"]
            ],
            "refunds": [{"id": r["id"], "reason": r["reason"], "total": _m(-r["amount"])} for r in order["refunds"]],
            "payment_url": f"{site}/checkout/order-pay/{order['id']}/?pay_for_order=true&key={order['order_key']}",
            "is_editable": order["status"] in ("pending", "on-hold", "auto-draft"),
            "needs_payment": order["status"] in ("pending", "failed") and totals["total"] > 0,
            "needs_processing": True,
            "date_created_gmt": self._gmt(order["created"]), "date_modified_gmt": self._gmt(order["modified"]),
            "date_completed_gmt": self._gmt(order["completed"]), "date_paid_gmt": self._gmt(order["paid"]),
            "currency_symbol": {"EUR": "€", "USD": "$", "GBP": "£"}.get(order["currency"], order["currency"]),
            "_links": {"self": [{"href": f"{site}{API}/orders/{order['id']}"}],
                       "collection": [{"href": f"{site}{API}/orders"}]},
        }

    def _render_refund(self, order: dict, refund: dict) -> dict:
        site = self._site()
        lines = []
        for entry in refund["lines"]:
            line = entry["line"]
            lines.append({
                "id": line["id"] + 100000, "name": line["name"], "product_id": line["product_id"],
                "variation_id": line["variation_id"], "quantity": -entry["quantity"], "tax_class": "",
                "subtotal": _m(-entry["total"]), "subtotal_tax": _m(-sum(entry["taxes"].values(), Decimal(0))),
                "total": _m(-entry["total"]), "total_tax": _m(-sum(entry["taxes"].values(), Decimal(0))),
                "taxes": [{"id": rid, "total": _m(-t), "subtotal": _m(-t)} for rid, t in entry["taxes"].items()],
                "meta_data": [{"id": line["id"] * 10 + 9, "key": "_refunded_item_id", "value": str(line["id"])}],
                "sku": line["sku"], "price": _number(-entry["total"] / entry["quantity"]) if entry["quantity"] else 0,
            })
        return {
            "id": refund["id"], "date_created": self._local(refund["created"]),
            "date_created_gmt": self._gmt(refund["created"]), "amount": _m(refund["amount"]),
            "reason": refund["reason"], "refunded_by": 1, "refunded_payment": refund["refunded_payment"],
            "meta_data": [], "line_items": lines,
            "_links": {"self": [{"href": f"{site}{API}/orders/{order['id']}/refunds/{refund['id']}"}],
                       "up": [{"href": f"{site}{API}/orders/{order['id']}"}]},
        }

    def _add_note(self, order_id: int, text: str, customer_note: bool, author: str) -> dict:
        note = {"id": self._next_note_id, "note": text, "customer_note": bool(customer_note),
                "author": "WooCommerce" if author == "system" else author, "created": self.now()}
        self._next_note_id += 1
        self._notes.setdefault(order_id, []).append(note)
        return note

    def _render_note(self, order_id: int, note: dict) -> dict:
        site = self._site()
        return {
            "id": note["id"], "author": note["author"], "date_created": self._local(note["created"]),
            "date_created_gmt": self._gmt(note["created"]), "note": note["note"],
            "customer_note": note["customer_note"],
            "_links": {"self": [{"href": f"{site}{API}/orders/{order_id}/notes/{note['id']}"}],
                       "up": [{"href": f"{site}{API}/orders/{order_id}"}]},
        }

    # ----------------------------------------------------------------- API: orders

    def _order_or_error(self, raw, status: int = 404) -> dict:
        order = self._orders.get(int(raw))
        if order is None:
            raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", {"status": status})
        return order

    @wc_route("GET", "orders", "list")
    def api_list_orders(self, request):
        """Return a page of orders with X-WP-Total, X-WP-TotalPages and Link."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        direction = params.get("order", "desc")
        if direction not in ("asc", "desc"):
            raise _invalid_param("order", "order is not one of asc and desc.")
        orderby = params.get("orderby", "date")
        if orderby not in ORDERBY:
            raise _invalid_param("orderby", "orderby is not one of date, id, include, title, slug, and modified.")
        statuses = _list_param(params.get("status", "any")) or ["any"]
        allowed = ORDER_STATUSES + ("any", "trash")
        for status in statuses:
            if status not in allowed:
                raise _invalid_param("status", f"status[0] is not one of {', '.join(allowed)}.")
        gmt = _bool_param(params.get("dates_are_gmt", False), "dates_are_gmt")
        windows = {name: self._date_arg(params, name)
                   for name in ("after", "before", "modified_after", "modified_before")}
        include = self._ids(params, "include")
        customer = params.get("customer")
        with self._lock:
            def column(order, key):
                # WordPress compares with the GMT column or the local one, as dates_are_gmt says
                return order[key].astimezone(timezone.utc if gmt else self.site_tz).replace(tzinfo=None)

            def keep(order):
                if "any" in statuses:
                    if order["status"] == "trash":
                        return False
                elif order["status"] not in statuses:
                    return False
                if include and order["id"] not in include:
                    return False
                if customer not in (None, "") and str(order["customer_id"]) != str(customer):
                    return False
                checks = (("after", "created", 1), ("before", "created", -1),
                          ("modified_after", "modified", 1), ("modified_before", "modified", -1))
                for name, key, sign in checks:
                    bound = windows[name]
                    if bound is not None:
                        value = column(order, key)
                        if (sign > 0 and not value > bound) or (sign < 0 and not value < bound):
                            return False
                return True

            keys = {"date": lambda o: (o["created"], o["id"]), "modified": lambda o: (o["modified"], o["id"]),
                    "include": lambda o: (o["id"],), "id": lambda o: (o["id"],), "title": lambda o: (o["id"],),
                    "slug": lambda o: (o["id"],)}
            matching = sorted((o for o in self._orders.values() if keep(o)), key=keys[orderby],
                              reverse=direction == "desc")
            return self._paged(request, matching, page, per_page, offset, self._render_order)

    @wc_route("POST", "orders", "create")
    def api_create_order(self, request):
        """Return the order created from the REST body (201) after ``order.created``."""
        data = self._params(request)
        lines = []
        for item in data.get("line_items") or []:
            spec = {"quantity": item.get("quantity", 1)}
            for key in ("product_id", "variation_id", "sku", "name"):
                if item.get(key):
                    spec[key] = item[key]
            if item.get("total") not in (None, "") and int(spec["quantity"]):
                spec["price"] = Decimal(str(item["total"])) / int(spec["quantity"])
            lines.append(spec)
        status = data.get("status") or ("processing" if data.get("set_paid") else "pending")
        if status not in ORDER_STATUSES:
            raise _invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
        try:
            order = self.place_order(
                lines=lines, customer={}, billing=data.get("billing") or {}, shipping=data.get("shipping") or {},
                status=status, payment_method=data.get("payment_method") or "",
                coupons=[c["code"] for c in data.get("coupon_lines") or [] if c.get("code")],
                shipping_lines=[{"method_id": s.get("method_id", ""), "method_title": s.get("method_title", ""),
                                 "total": s.get("total") or "0"} for s in data.get("shipping_lines") or []],
                customer_note=data.get("customer_note") or "", customer_id=int(data.get("customer_id") or 0),
                created_via="rest-api",
            )
        except ValueError as exc:
            raise WooError("woocommerce_rest_invalid_product_id", str(exc), {"status": 400}) from None
        return _json(201, order, {"Location": f"{self._site(request)}{API}/orders/{order['id']}"})

    @wc_route("GET", r"orders/(?P<id>\d+)", "view")
    def api_get_order(self, request):
        """Return one order, or 404 ``woocommerce_rest_shop_order_invalid_id``."""
        with self._lock:
            return _json(200, self._render_order(self._order_or_error(request.params["id"])))

    @wc_route(EDITABLE, r"orders/(?P<id>\d+)", "edit")
    def api_update_order(self, request):
        """Return the order after the update (status, addresses, note, ...) and ``order.updated``."""
        data = self._params(request)
        changes = {k: data[k] for k in ("status", "billing", "shipping", "customer_note", "transaction_id",
                                         "set_paid", "meta_data") if k in data}
        if "payment_method" in data:
            changes["payment_method"] = data["payment_method"]
        if "status" in changes and changes["status"] not in ORDER_STATUSES:
            raise _invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
        with self._lock:
            order = self._order_or_error(request.params["id"], status=400)
            before = self._render_order(order)
            self._apply_order_changes(order, changes, note_author="system")
            changed = self._render_order(order) != before
            if changed:
                self._touch(order)
            rendered = self._render_order(order)
        if changed:
            self._notify("order.updated", order["id"])
        return _json(200, rendered)

    @wc_route("DELETE", r"orders/(?P<id>\d+)", "delete")
    def api_delete_order(self, request):
        """Return the order after trashing it (``force=true``: deleting it) and ``order.deleted``."""
        force = _bool_param(self._params(request).get("force", False), "force")
        with self._lock:
            order = self._order_or_error(request.params["id"])
            rendered = self._trash(order, force)
        self._notify("order.deleted", order["id"])
        return _json(200, rendered)

    @wc_route("GET", r"orders/(?P<id>\d+)/notes", "list")
    def api_list_notes(self, request):
        """Return the order's notes, newest first (``type``: any, customer, internal)."""
        kind = self._params(request).get("type", "any")
        with self._lock:
            order_id = int(request.params["id"])
            if order_id not in self._orders:
                raise WooError("woocommerce_rest_order_invalid_id", "Invalid order ID.", {"status": 404})
            notes = [n for n in reversed(self._notes[order_id])
                     if kind == "any" or (kind == "customer") == n["customer_note"]]
            return _json(200, [self._render_note(order_id, n) for n in notes])

    @wc_route("POST", r"orders/(?P<id>\d+)/notes", "create")
    def api_create_note(self, request):
        """Return the new note (201); ``note`` is required, ``customer_note`` emails the buyer."""
        data = self._params(request)
        if not data.get("note"):
            raise _missing_param("note")
        customer_note = _bool_param(data.get("customer_note", False), "customer_note")
        added_by_user = _bool_param(data.get("added_by_user", False), "added_by_user")
        with self._lock:
            order_id = int(request.params["id"])
            if order_id not in self._orders:
                raise WooError("woocommerce_rest_order_invalid_id", "Invalid order ID.", {"status": 404})
            note = self._add_note(order_id, str(data["note"]), customer_note, "admin" if added_by_user else "system")
            rendered = self._render_note(order_id, note)
        return _json(201, rendered, {"Location": f"{self._site(request)}{API}/orders/{order_id}/notes/{note['id']}"})

    @wc_route("GET", r"orders/(?P<id>\d+)/refunds", "list")
    def api_list_refunds(self, request):
        """Return the order's refunds, newest first."""
        with self._lock:
            order = self._orders.get(int(request.params["id"]))
            if order is None:
                raise WooError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
            return _json(200, [self._render_refund(order, r) for r in reversed(order["refunds"])])

    @wc_route("GET", r"orders/(?P<id>\d+)/refunds/(?P<refund>\d+)", "view")
    def api_get_refund(self, request):
        """Return one refund of the order."""
        with self._lock:
            order = self._orders.get(int(request.params["id"]))
            wanted = int(request.params["refund"])
            refund = next((r for r in (order or {}).get("refunds", []) if r["id"] == wanted), None)
            if refund is None:
                raise WooError("woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.", {"status": 404})
            return _json(200, self._render_refund(order, refund))

    @wc_route("POST", r"orders/(?P<id>\d+)/refunds", "create")
    def api_create_refund(self, request):
        """Return the new refund (201) after ``order.updated``; ``api_refund`` (default true) asks
        the order's gateway to pay it back, which fails for gateways without refund support."""
        data = self._params(request)
        api_refund = _bool_param(data.get("api_refund", True), "api_refund")
        restock = _bool_param(data.get("api_restock", True), "api_restock")
        with self._lock:
            order = self._orders.get(int(request.params["id"]))
            if order is None:
                raise WooError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
            if data.get("amount") not in (None, ""):
                amount = _decimal(data["amount"], "amount")
            else:
                amount = None
            refund = self._create_refund(order, amount, data.get("reason") or "", data.get("line_items") or [],
                                         restock, api_refund)
            rendered = self._render_refund(order, refund)
        self._notify("order.updated", order["id"])
        return _json(201, rendered)

    # ----------------------------------------------------------------- API: products

    def _product_or_error(self, raw, status: int = 404, kind: str = "product") -> dict:
        item = self._products.get(int(raw))
        wanted = ("variation",) if kind == "product_variation" else ("simple", "variable")
        if item is None or item["type"] not in wanted:
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", {"status": status})
        return item

    @wc_route("GET", "products", "list")
    def api_list_products(self, request):
        """Return a page of products, filtered by ``sku`` (comma list), ``type``, ``include``."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        skus = set(_list_param(params.get("sku", "")))
        kind = params.get("type")
        include = self._ids(params, "include")
        with self._lock:
            items = [p for p in self._products.values() if p["type"] in ("simple", "variable")
                     and (not skus or p["sku"] in skus) and (not kind or p["type"] == kind)
                     and (not include or p["id"] in include)]
            items.sort(key=lambda p: (p["created"], p["id"]), reverse=params.get("order", "desc") == "desc")
            return self._paged(request, items, page, per_page, offset, self._render_product)

    @wc_route("GET", r"products/(?P<id>\d+)", "view")
    def api_get_product(self, request):
        """Return one product."""
        with self._lock:
            return _json(200, self._render_product(self._product_or_error(request.params["id"])))

    @wc_route(EDITABLE, r"products/(?P<id>\d+)", "edit")
    def api_update_product(self, request):
        """Return the product after updating prices, stock, SKU, name or status."""
        data = self._params(request)
        with self._lock:
            item = self._product_or_error(request.params["id"], status=400)
            changed = self._apply_product_changes(item, data)
            rendered = self._render_product(item)
        if changed:
            self._notify("product.updated", item["id"])
        return _json(200, rendered)

    @wc_route(EDITABLE, "products/batch", "batch")
    def api_batch_products(self, request):
        """Return per-item results of a products batch (413 above 100 items in all)."""
        return self._batch(request, None)

    @wc_route("GET", r"products/(?P<id>\d+)/variations", "list")
    def api_list_variations(self, request):
        """Return a page of the product's variations (``sku`` filters)."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        skus = set(_list_param(params.get("sku", "")))
        with self._lock:
            parent = self._product_or_error(request.params["id"])
            items = [self._products[v] for v in parent["variations"] if v in self._products]
            items = [v for v in items if not skus or v["sku"] in skus]
            items.sort(key=lambda v: v["id"], reverse=params.get("order", "desc") == "desc")
            return self._paged(request, items, page, per_page, offset, self._render_product)

    @wc_route("GET", r"products/(?P<pid>\d+)/variations/(?P<id>\d+)", "view")
    def api_get_variation(self, request):
        """Return one variation of the product."""
        with self._lock:
            item = self._variation_of(request.params["pid"], request.params["id"], 404)
            return _json(200, self._render_product(item))

    @wc_route(EDITABLE, r"products/(?P<pid>\d+)/variations/(?P<id>\d+)", "edit")
    def api_update_variation(self, request):
        """Return the variation after updating it."""
        data = self._params(request)
        with self._lock:
            item = self._variation_of(request.params["pid"], request.params["id"], 400)
            changed = self._apply_product_changes(item, data)
            rendered = self._render_product(item)
        if changed:
            self._notify("product.updated", item["id"])
        return _json(200, rendered)

    @wc_route(EDITABLE, r"products/(?P<pid>\d+)/variations/batch", "batch")
    def api_batch_variations(self, request):
        """Return per-item results of a variations batch (413 above 100 items in all)."""
        return self._batch(request, int(request.params["pid"]))

    def _variation_of(self, parent_id, variation_id, status: int) -> dict:
        item = self._products.get(int(variation_id))
        if item is None or item["type"] != "variation" or item["parent_id"] != int(parent_id):
            raise WooError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", {"status": status})
        return item

    def _batch(self, request, parent_id: int | None) -> Response:
        data = self._params(request)
        groups = {k: data[k] for k in ("create", "update", "delete") if isinstance(data.get(k), list) and data[k]}
        total = sum(len(v) for v in groups.values())
        if total > MAX_BATCH:
            raise WooError("woocommerce_rest_request_entity_too_large",
                           f"Unable to accept more than {MAX_BATCH} items for this request.", {"status": 413})
        kind = "product_variation" if parent_id is not None else "product"
        response, events = {}, []
        with self._lock:
            if parent_id is not None:
                parent = self._products.get(parent_id)
                if parent is None or parent["type"] != "variable":
                    raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", {"status": 404})
            for group, items in groups.items():
                results = []
                for item in items:
                    try:
                        result, event = getattr(self, f"_batch_{group}")(item, parent_id, kind)
                        events.append(event)
                        results.append(result)
                    except WooError as exc:
                        raw_id = item.get("id", 0) if isinstance(item, dict) else item
                        results.append({"id": raw_id if group != "create" else 0, "error": exc.body()})
                response[group] = results
        for event in events:
            if event:
                self._notify(*event)
        return _json(200, response)

    def _batch_update(self, data, parent_id, kind):
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", {"status": 400})
        try:
            item_id = int(data["id"])
        except (TypeError, ValueError):
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", {"status": 400}) from None
        item = (self._variation_of(parent_id, item_id, 400) if parent_id is not None
                else self._product_or_error(item_id, status=400))
        changed = self._apply_product_changes(item, data)
        return self._render_product(item), (("product.updated", item["id"]) if changed else None)

    def _batch_create(self, data, parent_id, kind):
        if not isinstance(data, dict):
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid data.", {"status": 400})
        sku = str(data.get("sku") or "")
        if sku and self._by_sku(sku) is not None:
            raise WooError("product_invalid_sku", "Invalid or duplicated SKU.",
                           {"status": 400, "resource_id": self._by_sku(sku)["id"], "unique_sku": f"{sku}-1"})
        now = self.now()
        if parent_id is None:
            kind_of = data.get("type") or "simple"
            if kind_of not in ("simple", "variable"):
                raise _invalid_param("type", "type is not one of simple, grouped, external, and variable.")
            item = {"id": self._post_id(), "parent_id": 0, "name": str(data.get("name") or "Product"), "sku": sku,
                    "type": kind_of, "status": "publish", "regular_price": "", "sale_price": "",
                    "manage_stock": False, "stock_quantity": None, "attribute": "", "variations": [],
                    "options": [], "created": now, "modified": now, "total_sales": 0}
        else:
            parent = self._products[parent_id]
            given = [a for a in data.get("attributes") or [] if isinstance(a, dict) and a.get("option")]
            option = (given[0] if given else {}).get("option") or sku or "Option"
            attributes = ([{"id": 0, "name": a.get("name") or parent["attribute"], "option": str(a["option"])}
                           for a in given] or [{"id": 0, "name": parent["attribute"], "option": option}])
            item = {"id": self._post_id(), "parent_id": parent_id,
                    "name": f"{parent['name']} - {', '.join(a['option'] for a in attributes)}", "sku": sku,
                    "type": "variation", "status": "publish", "regular_price": "", "sale_price": "",
                    "manage_stock": False, "stock_quantity": None, "attributes": attributes,
                    "created": now, "modified": now, "total_sales": 0}
        self._apply_product_changes(item, {k: v for k, v in data.items() if k not in ("sku", "type", "attributes")
                                           or (k == "attributes" and parent_id is None)})
        item["created"] = item["modified"] = now
        self._products[item["id"]] = item
        if parent_id is not None:
            self._products[parent_id]["variations"].append(item["id"])
        return self._render_product(item), ("product.created", item["id"])

    def _batch_delete(self, raw_id, parent_id, kind):
        try:
            item_id = int(raw_id)
        except (TypeError, ValueError):
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", {"status": 404}) from None
        item = (self._variation_of(parent_id, item_id, 404) if parent_id is not None
                else self._product_or_error(item_id, status=404))
        rendered = self._render_product(item)
        for variation_id in item.get("variations") or []:
            self._products.pop(variation_id, None)
        del self._products[item_id]
        if parent_id is not None:
            self._products[parent_id]["variations"].remove(item_id)
        return rendered, ("product.deleted", item_id)

    # ----------------------------------------------------------------- webhooks: state

    def add_webhook(self, topic: str, delivery_url: str, secret: str | None = None, *, status: str = "active",
                    name: str | None = None, ping: bool = True) -> dict:
        """Return a new webhook (REST shape, secret included) after pinging it when ``ping``."""
        with self._lock:
            hook = self._new_hook(topic, delivery_url, secret, status, name)
            rendered = self._render_hook(hook, edit=True)
        if ping:
            self._ping(hook)
        return rendered

    def webhook(self, hook_id: int) -> dict:
        """Return one webhook with its secret, failure count and pending-ping flag."""
        with self._lock:
            hook = self._hooks[int(hook_id)]
            return {**self._render_hook(hook, edit=True), "failure_count": hook["failure_count"],
                    "pending_delivery": hook["pending_delivery"]}

    @property
    def webhook_subscriptions(self) -> list[dict]:
        """Return every webhook as ``webhook()`` does, oldest first."""
        with self._lock:
            ids = sorted(self._hooks)
        return [self.webhook(i) for i in ids]

    def _new_hook(self, topic, delivery_url, secret, status, name) -> dict:
        now = self.now()
        hook = {
            "id": self._next_hook_id, "name": name or f"Webhook created on {now.strftime('%b %d, %Y @ %I:%M %p')}",
            "status": status, "topic": topic, "delivery_url": delivery_url,
            "secret": secret if secret else "".join(secrets.choice(string.ascii_letters + string.digits + "!@#$%^&*()")
                                                   for _ in range(50)),
            "failure_count": 0, "pending_delivery": True, "created": now, "modified": now,
        }
        self._next_hook_id += 1
        self._hooks[hook["id"]] = hook
        return hook

    def _render_hook(self, hook: dict, edit: bool = False) -> dict:
        site = self._site()
        resource, _, event = hook["topic"].partition(".")
        data = {
            "id": hook["id"], "name": hook["name"], "status": hook["status"], "topic": hook["topic"],
            "resource": resource, "event": event, "hooks": self._hook_names(hook["topic"]),
            "delivery_url": hook["delivery_url"],
            "date_created": self._local(hook["created"]), "date_created_gmt": self._gmt(hook["created"]),
            "date_modified": self._local(hook["modified"]), "date_modified_gmt": self._gmt(hook["modified"]),
            "_links": {"self": [{"href": f"{site}{API}/webhooks/{hook['id']}"}],
                       "collection": [{"href": f"{site}{API}/webhooks"}]},
        }
        if edit:
            data["secret"] = hook["secret"]
        return data

    @staticmethod
    def _hook_names(topic: str) -> list[str]:
        return {
            "order.created": ["woocommerce_new_order"],
            "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded",
                              "woocommerce_delete_order_refund"],
            "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
            "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
            "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product",
                                "woocommerce_new_product_variation"],
            "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                                "woocommerce_update_product_variation"],
            "product.deleted": ["wp_trash_post"],
        }.get(topic, [])

    @staticmethod
    def _valid_topic(topic) -> bool:
        if not isinstance(topic, str):
            return False
        resource, _, event = topic.lower().partition(".")
        return (resource in WEBHOOK_RESOURCES and event in WEBHOOK_EVENTS) or (resource == "action" and bool(event))

    @staticmethod
    def _valid_url(url) -> bool:
        return isinstance(url, str) and re.match(r"^https?://[^\s/]+", url.strip()) is not None

    # ----------------------------------------------------------------- API: webhooks

    def _hook_or_error(self, raw) -> dict:
        hook = self._hooks.get(int(raw))
        if hook is None:
            raise WooError("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", {"status": 400})
        return hook

    # ----------------------------------------------------------------- customers: REST

    @wc_route("GET", "customers", "list")
    def api_list_customers(self, request):
        """Return a page of registered customers: ``email``, ``role``, ``include``, ``orderby`` (id, name,
        registered_date), ``order``. WooCommerce has no date filter on customers (no ``modified_after``)."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        orderby = params.get("orderby", "name")
        if orderby not in ("id", "include", "name", "registered_date"):
            raise _invalid_param("orderby", "orderby is not one of id, include, name, and registered_date.")
        role = params.get("role", "customer")
        email = (params.get("email") or "").strip().lower()
        include = self._ids(params, "include")
        keys = {"id": lambda c: c["id"], "include": lambda c: c["id"], "registered_date": lambda c: (c["created"], c["id"]),
                "name": lambda c: (c.get("email", ""), c["id"])}  # WP_User_Query's "name" sorts by display name
        with self._lock:
            items = [c for c in self.customers.values() if role in ("all", "customer")
                     and (not email or (c.get("email") or "").lower() == email) and (not include or c["id"] in include)]
            items.sort(key=keys[orderby], reverse=params.get("order", "asc") == "desc")
            return self._paged(request, items, page, per_page, offset, self._render_customer)

    @wc_route("GET", r"customers/(?P<id>\d+)", "view")
    def api_get_customer(self, request):
        with self._lock:
            customer = self.customers.get(int(request.params["id"]))
            if customer is None:
                raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", {"status": 404})
            return _json(200, self._render_customer(customer))

    @wc_route(EDITABLE, "customers/batch", "batch")
    def api_batch_customers(self, request):
        """Create and update customers (``create``, ``update``; 100 items in all): per-item results."""
        data = self._params(request)
        groups = {k: data[k] for k in ("create", "update") if isinstance(data.get(k), list) and data[k]}
        if sum(len(v) for v in groups.values()) > MAX_BATCH:
            raise WooError("woocommerce_rest_request_entity_too_large",
                           f"Unable to accept more than {MAX_BATCH} items for this request.", {"status": 413})
        response, events = {}, []
        with self._lock:
            for group, items in groups.items():
                results = []
                for item in items:
                    try:
                        customer = self._customer_change(item, group == "create")
                        results.append(self._render_customer(customer))
                        events.append(("customer.created" if group == "create" else "customer.updated", customer["id"]))
                    except WooError as exc:
                        raw_id = item.get("id", 0) if isinstance(item, dict) and group == "update" else 0
                        results.append({"id": raw_id, "error": exc.body()})
                response[group] = results
        for event in events:
            self._notify(*event)
        return _json(200, response)

    def _customer_change(self, data, create: bool) -> dict:
        if not isinstance(data, dict):
            raise WooError("woocommerce_rest_invalid_id", "Invalid data.", {"status": 400})
        email = str(data.get("email") or "").strip()
        if create and not email:
            raise WooError("rest_missing_callback_param", "Missing parameter(s): email", {"status": 400})
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise WooError("rest_invalid_param", "Invalid parameter(s): email", {"status": 400})
        if email and any((c.get("email") or "").lower() == email.lower() and c["id"] != data.get("id")
                         for c in self.customers.values()):
            raise WooError("registration-error-email-exists",
                           "An account is already registered with your email address.", {"status": 400})
        now = self.now()
        if create:
            customer = {"id": self._post_id(), "created": now, "billing": {}, "shipping": {}, "meta_data": []}
            self.customers[customer["id"]] = customer
        else:
            customer = self.customers.get(int(data.get("id") or 0))
            if customer is None:
                raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", {"status": 400})
        for key in ("email", "first_name", "last_name"):
            if key in data:
                customer[key] = str(data[key] or "")
        for key in ("billing", "shipping"):
            if isinstance(data.get(key), dict):
                customer[key] = {**customer.get(key, {}), **{k: str(v or "") for k, v in data[key].items()}}
        for meta in data.get("meta_data") or []:
            if isinstance(meta, dict) and meta.get("key"):
                kept = [m for m in customer["meta_data"] if m.get("key") != meta["key"]]
                customer["meta_data"] = kept + [{"id": self._item_id(), "key": meta["key"], "value": meta.get("value")}]
        customer["modified"] = now
        return customer

    # ----------------------------------------------------------------- settings: taxes, gateways, shipping

    def _render_tax_rate(self, rate: dict) -> dict:
        site = self._site()
        return {
            "id": rate["id"], "country": rate["country"], "state": rate["state"], "postcode": "", "city": "",
            "postcodes": [], "cities": [], "rate": f"{rate['percent']:.4f}", "name": rate["name"],
            "priority": rate["priority"], "compound": False, "shipping": rate["shipping"], "order": rate["id"] - 1,
            "class": rate["class"],
            "_links": {"self": [{"href": f"{site}{API}/taxes/{rate['id']}"}],
                       "collection": [{"href": f"{site}{API}/taxes"}]},
        }

    def _render_gateway(self, order: int, gateway_id: str) -> dict:
        gateway = self.gateways[gateway_id]
        site = self._site()
        return {
            "id": gateway_id, "title": gateway["title"], "description": "", "order": order,
            "enabled": gateway["enabled"], "method_title": gateway["title"], "method_description": "",
            "method_supports": ["products", "refunds"] if gateway_id in self.refund_gateways else ["products"],
            "settings": {"title": {"id": "title", "label": "Title", "description": "", "type": "text",
                                   "value": gateway["title"], "default": gateway["title"], "tip": "",
                                   "placeholder": ""}},
            "_links": {"self": [{"href": f"{site}{API}/payment_gateways/{gateway_id}"}],
                       "collection": [{"href": f"{site}{API}/payment_gateways"}]},
        }

    def _render_shipping_method(self, method_id: str) -> dict:
        method = self.shipping_methods[method_id]
        site = self._site()
        return {"id": method_id, "title": method["title"], "description": method["description"],
                "_links": {"self": [{"href": f"{site}{API}/shipping_methods/{method_id}"}],
                           "collection": [{"href": f"{site}{API}/shipping_methods"}]}}

    @wc_route("GET", "taxes", "list")
    def api_list_taxes(self, request):
        """Return a page of tax rates (``class`` filters), in their order."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        wanted = params.get("class")
        with self._lock:
            rates = [r for r in self.tax_rates if not wanted or r["class"] == wanted]
            return self._paged(request, rates, page, per_page, offset, self._render_tax_rate)

    @wc_route("GET", r"taxes/(?P<id>\d+)", "view")
    def api_get_tax(self, request):
        """Return one tax rate."""
        rate = next((r for r in self.tax_rates if r["id"] == int(request.params["id"])), None)
        if rate is None:
            raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", {"status": 404})
        return _json(200, self._render_tax_rate(rate))

    @wc_route("GET", "payment_gateways", "list")
    def api_list_gateways(self, request):
        """Return every payment gateway, enabled or not, in one answer."""
        with self._lock:
            return _json(200, [self._render_gateway(i, g) for i, g in enumerate(self.gateways)])

    @wc_route("GET", r"payment_gateways/(?P<id>[\w-]+)", "view")
    def api_get_gateway(self, request):
        """Return one payment gateway."""
        with self._lock:
            order = list(self.gateways).index(request.params["id"]) if request.params["id"] in self.gateways else -1
            if order < 0:
                raise WooError("woocommerce_rest_payment_gateway_invalid", "Invalid payment gateway ID.",
                               {"status": 404})
            return _json(200, self._render_gateway(order, request.params["id"]))

    @wc_route("GET", "shipping_methods", "list")
    def api_list_shipping_methods(self, request):
        """Return the shipping methods the shop offers, in one answer."""
        with self._lock:
            return _json(200, [self._render_shipping_method(m) for m in self.shipping_methods])

    @wc_route("GET", r"shipping_methods/(?P<id>[\w-]+)", "view")
    def api_get_shipping_method(self, request):
        """Return one shipping method."""
        if request.params["id"] not in self.shipping_methods:
            raise WooError("woocommerce_rest_shipping_method_invalid", "Resource does not exist.", {"status": 404})
        return _json(200, self._render_shipping_method(request.params["id"]))

    @wc_route("GET", "webhooks", "list")
    def api_list_webhooks(self, request):
        """Return a page of webhooks (``status``: all, active, paused, disabled; ``context=edit``
        adds the secrets)."""
        params = self._params(request)
        page, per_page, offset = self._page_args(params)
        status = params.get("status", "all")
        if status not in ("all",) + WEBHOOK_STATUSES:
            raise _invalid_param("status", "status is not one of all, active, paused, and disabled.")
        edit = params.get("context") == "edit"
        with self._lock:
            hooks = [h for h in self._hooks.values() if status == "all" or h["status"] == status]
            hooks.sort(key=lambda h: (h["created"], h["id"]), reverse=params.get("order", "desc") == "desc")
            return self._paged(request, hooks, page, per_page, offset, lambda h: self._render_hook(h, edit))

    @wc_route("POST", "webhooks", "create")
    def api_create_webhook(self, request):
        """Return the new webhook (201, secret included), then ping its delivery URL."""
        data = self._params(request)
        missing = [n for n in ("topic", "delivery_url") if data.get(n) in (None, "")]
        if missing:
            raise _missing_param(*missing)
        if not self._valid_topic(data["topic"]):
            raise WooError("woocommerce_rest_shop_webhook_invalid_topic",
                           "Webhook topic is required and must be valid.", {"status": 400})
        if not self._valid_url(data["delivery_url"]):
            raise WooError("woocommerce_rest_shop_webhook_invalid_delivery_url",
                           BAD_URL_MESSAGE, {"status": 400})
        status = data.get("status") or "active"
        if status not in WEBHOOK_STATUSES:
            raise _invalid_param("status", "status is not one of active, paused, and disabled.")
        with self._lock:
            hook = self._new_hook(data["topic"].lower(), data["delivery_url"].strip(), data.get("secret"), status,
                                  data.get("name"))
            rendered = self._render_hook(hook, edit=True)
        # WooCommerce pings once the answer is built, whatever the new webhook's status
        self._ping(hook)
        return _json(201, rendered, {"Location": f"{self._site(request)}{API}/webhooks/{hook['id']}"})

    @wc_route("GET", r"webhooks/(?P<id>\d+)", "view")
    def api_get_webhook(self, request):
        """Return one webhook (``context=edit`` adds its secret)."""
        edit = self._params(request).get("context") == "edit"
        with self._lock:
            return _json(200, self._render_hook(self._hook_or_error(request.params["id"]), edit))

    @wc_route(EDITABLE, r"webhooks/(?P<id>\d+)", "edit")
    def api_update_webhook(self, request):
        """Return the webhook after updating topic, URL, secret, status or name; an active
        webhook whose URL changed or whose ping was never answered 200 is pinged."""
        data = self._params(request)
        with self._lock:
            hook = self._hook_or_error(request.params["id"])
            if data.get("topic"):
                if not self._valid_topic(data["topic"]):
                    raise WooError("woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.",
                                   {"status": 400})
                hook["topic"] = data["topic"].lower()
            url_changed = False
            if data.get("delivery_url"):
                if not self._valid_url(data["delivery_url"]):
                    raise WooError("woocommerce_rest_shop_webhook_invalid_delivery_url",
                                   BAD_URL_MESSAGE,
                                   {"status": 400})
                url_changed = data["delivery_url"].strip() != hook["delivery_url"]
                hook["delivery_url"] = data["delivery_url"].strip()
            if data.get("secret"):
                hook["secret"] = data["secret"]
            if data.get("status"):
                if data["status"].lower() not in WEBHOOK_STATUSES:
                    raise WooError("woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.",
                                   {"status": 400})
                hook["status"] = data["status"].lower()
            if data.get("name"):
                hook["name"] = data["name"]
            hook["modified"] = self.now()
            ping = hook["status"] == "active" and (url_changed or hook["pending_delivery"])
            rendered = self._render_hook(hook, edit=True)
        if ping:
            self._ping(hook)
        return _json(200, rendered)

    @wc_route("DELETE", r"webhooks/(?P<id>\d+)", "delete")
    def api_delete_webhook(self, request):
        """Return the deleted webhook; ``force=true`` is required (no trash for webhooks)."""
        force = _bool_param(self._params(request).get("force", False), "force")
        if not force:
            raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", {"status": 501})
        with self._lock:
            hook = self._hooks.get(int(request.params["id"]))
            if hook is None:
                raise WooError("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", {"status": 404})
            del self._hooks[hook["id"]]
            return _json(200, self._render_hook(hook, edit=True))

    # ----------------------------------------------------------------- webhooks: delivery

    def _notify(self, topic: str, resource_id: int) -> list[WebhookDelivery]:
        """Send ``topic`` about ``resource_id`` to every active webhook of the topic."""
        with self._lock:
            hooks = [dict(h) for h in self._hooks.values() if h["status"] == "active" and h["topic"] == topic]
            if not hooks:
                return []
            resource, _, event = topic.partition(".")
            if event == "deleted":
                payload = {"id": resource_id}  # WooCommerce sends only the id of what is gone
            elif resource == "order":
                payload = self._render_order(self._orders[resource_id])
            elif resource == "customer" and resource_id in self.customers:
                payload = self._render_customer(self.customers[resource_id])
            elif resource == "product" and resource_id in self._products:
                payload = self._render_product(self._products[resource_id])
            else:
                return []
        deliveries = []
        for hook in hooks:
            deliveries += self._send_to_hook(hook, topic, payload)
        return deliveries

    def _send_to_hook(self, hook: dict, topic: str, payload) -> list[WebhookDelivery]:
        body = php_json(payload)
        event_id = self.new_event_id()
        with self._send_lock:
            plan = self._plan
            before, unsigned, forced = plan.tamper, plan.tamper_unsigned, plan.tamper_secret
            self._event_hooks[event_id] = hook["id"]
            deliveries, to_send = self._plan_event(topic, payload, body, hook["delivery_url"], event_id)
            tampered = plan.tamper < before
        # each webhook signs with its own secret; the framework's tampering overrides it
        secret = (None if unsigned else (forced or hook["secret"])) if tampered else hook["secret"]
        for delivery in deliveries:
            delivery.secret = secret
            self.webhooks.add(delivery)
        self._dispatch_deliveries(to_send)
        return deliveries

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        """Return the headers of one delivery POST, with a new ``X-WC-Webhook-Delivery-ID``."""
        resource, _, event = delivery.topic.partition(".")
        headers = {
            "Content-Type": "application/json", "User-Agent": HOOKSHOT_AGENT,
            "X-WC-Webhook-Source": self._site() + "/", "X-WC-Webhook-Topic": delivery.topic,
            "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
        }
        if delivery.secret is not None:
            headers["X-WC-Webhook-Signature"] = hmac_sha256_base64(delivery.secret, delivery.body)
        headers["X-WC-Webhook-ID"] = str(self._event_hooks.get(delivery.event_id, 0))
        headers["X-WC-Webhook-Delivery-ID"] = uuid.uuid4().hex
        return headers

    def deliver(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Return ``delivery`` after posting it; each POST counts towards the webhook's
        consecutive failures as WooCommerce counts them (2xx, 300-302 are successes)."""
        hook_id = self._event_hooks.get(delivery.event_id)
        delivery.state = "sending"
        for attempt in range(self.webhook_retries + 1):
            if attempt:
                time.sleep(self.webhook_backoff * 2 ** (attempt - 1))
            headers = self.webhook_headers(delivery, int(time.time()))
            result = self.sender.send(delivery.url, delivery.body, headers, self.webhook_timeout)
            delivery.attempts.append(WebhookAttempt(time.time(), headers, result.status, result.body, result.error))
            success = result.status is not None and 200 <= result.status < 303
            active = self._count_delivery(hook_id, success)
            self.log(f"webhook {delivery.topic} #{hook_id} -> {result.status or result.error}")
            if success:
                delivery.state = "sent"
                return delivery
            if not active:
                break
        delivery.state = "failed"
        return delivery

    def _count_delivery(self, hook_id, success: bool) -> bool:
        """Return whether the webhook is still active after counting one delivery outcome."""
        with self._lock:
            hook = self._hooks.get(hook_id)
            if hook is None:
                return False
            if success:
                hook["failure_count"] = 0
            elif hook["failure_count"] > self.max_delivery_failures:
                hook["status"] = "disabled"
                self.log(f"webhook #{hook_id} disabled after {hook['failure_count'] + 1} consecutive failures")
            else:
                hook["failure_count"] += 1
            return hook["status"] == "active"

    def _ping(self, hook: dict) -> None:
        def run():
            body = f"webhook_id={hook['id']}".encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "User-Agent": HOOKSHOT_AGENT}
            result = self.sender.send(hook["delivery_url"], body, headers, self.webhook_timeout)
            with self._lock:
                self.pings.append({"webhook_id": hook["id"], "url": hook["delivery_url"], "body": body,
                                   "headers": headers, "status": result.status, "error": result.error,
                                   "time": time.time()})
                if result.status == 200 and hook["id"] in self._hooks:
                    self._hooks[hook["id"]]["pending_delivery"] = False
            self.log(f"ping webhook #{hook['id']} -> {result.status or result.error}")

        if not self.webhook_async:
            run()
            return
        thread = threading.Thread(target=run, daemon=True)
        with self._threads_lock:
            self._threads.append(thread)
        thread.start()

    # ----------------------------------------------------------------- demo trickle

    def start_trickle(self, interval: float, on_order=None) -> None:
        """Place an order every ``interval`` seconds (every third tick completes an older one)."""
        self.stop_trickle()
        self._trickle_stop.clear()

        def run():
            tick = 0
            while not self._trickle_stop.wait(interval):
                tick += 1
                order = self.place_order()
                if on_order:
                    on_order("created", order)
                if tick % 3 == 0:
                    with self._lock:
                        open_ids = [o["id"] for o in self._orders.values() if o["status"] == "processing"]
                    if len(open_ids) > 1:
                        updated = self.complete_order(open_ids[0])
                        if on_order:
                            on_order("completed", updated)

        self._trickle_thread = threading.Thread(target=run, name="woocommerce-trickle", daemon=True)
        self._trickle_thread.start()

    def stop_trickle(self) -> None:
        """Stop placing orders periodically."""
        self._trickle_stop.set()
        if self._trickle_thread is not None:
            self._trickle_thread.join(timeout=5)
            self._trickle_thread = None


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    """Run the WooCommerce simulator until interrupted; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulators.woocommerce", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8803)
    parser.add_argument("--key", required=True, help="consumer key the REST API accepts")
    parser.add_argument("--secret", required=True, help="consumer secret of that key")
    parser.add_argument("--webhook-url", help="where order webhooks are POSTed (Odoo's endpoint)")
    parser.add_argument("--webhook-secret", help="secret of the order webhooks registered at start")
    parser.add_argument("--trickle", type=float, metavar="SECONDS", help="place a new order every SECONDS")
    parser.add_argument("--orders", type=int, default=0, help="orders present at start (no webhooks)")
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--seed", type=int, help="seed of the order generator, for repeatable demos")
    parser.add_argument("--quiet", action="store_true", help="do not print each request")
    args = parser.parse_args(argv)

    shop = WooCommerceSimulator(
        host=args.host, port=args.port, consumer_key=args.key, consumer_secret=args.secret, currency=args.currency,
        seed=args.seed, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, verbose=not args.quiet,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with shop:
        shop.add_orders(args.orders)
        hooks = ", ".join(f"#{h['id']} {h['topic']}" for h in shop.webhook_subscriptions) or "none"
        print(f"WooCommerce shop on {shop.url}{API} ({len(shop.orders)} orders; webhooks: {hooks})", flush=True)
        if args.trickle:
            shop.start_trickle(args.trickle, on_order=_print_order(shop))
            print(f"placing an order every {args.trickle:g} s; Ctrl-C to stop", flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


def _print_order(shop: WooCommerceSimulator):
    def report(what: str, order: dict) -> None:
        topic = "order.created" if what == "created" else "order.updated"
        delivery = next((d for d in reversed(shop.webhooks.all())
                         if d.topic == topic and d.payload.get("id") == order["id"]), None)
        outcome = "no webhook" if delivery is None else f"webhook {delivery.state} ({delivery.status})"
        print(f"order #{order['number']} {what}: {order['total']} {order['currency']} {order['status']}; {outcome}",
              flush=True)

    return report


if __name__ == "__main__":
    sys.exit(main())
