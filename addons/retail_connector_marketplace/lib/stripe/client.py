"""Client of Stripe's REST API for settlement: payouts and the balance transactions they pay out.

Built on the official ``stripe`` package (``stripe.StripeClient``) with a configurable API base,
so that it talks to Stripe or to a stand-in. The package's own retries are off: the connector's
queue retries, paced by the backend's rate limiter. Every request passes the caller's hooks
(rate limiter before, circuit breaker after) and every Stripe error becomes the connector's
channel error, with Stripe's error object (``type``, ``code``, ``message``, ``param``) in
``details[0]``.
"""

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timezone
from urllib.parse import urlsplit

import stripe

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelNotFound,
    ChannelRateLimited,
    ChannelResponse,
    ChannelTransportError,
    ChannelValidationError,
    parse_retry_after,
)

DEFAULT_API_BASE = "https://api.stripe.com"
PAGE_SIZE = 100  # Stripe's largest list page
# Stripe answers 429 without Retry-After; a second is its documented back-off start.
RATE_LIMIT_WAIT = 1.0


def channel_error(status, error: Mapping | None, headers: Mapping | None, where: str) -> ChannelError:
    """Return the ChannelError of a Stripe answer ``status`` with its ``error`` object."""
    error = dict(error or {})
    headers = {str(k).lower(): v for k, v in (headers or {}).items()}
    text = error.get("message") or error.get("type") or "no error message"
    if error.get("code"):
        text = "%s [%s]" % (text, error["code"])
    if error.get("param"):
        text = "%s (parameter %s)" % (text, error["param"])
    message = f"{where} answered {status}: {text}" if status else f"{where}: {text}"
    details = [error] if error else []
    should_retry = headers.get("stripe-should-retry")
    if status == 429 or error.get("code") == "rate_limit":
        return ChannelRateLimited(message, status, parse_retry_after(headers.get("retry-after"), RATE_LIMIT_WAIT), details)
    if status in (401, 403):
        return ChannelAuthError(message + " (check the backend's secret key)", status, details=details)
    if status == 404:
        return ChannelNotFound(message, status, details=details)
    if status is None or status >= 500 or status == 409 or should_retry == "true":
        return ChannelTransportError(message, status, parse_retry_after(headers.get("retry-after")), details)
    return ChannelValidationError(message, status, details=details)


class _HookedHttpClient(stripe.RequestsClient):
    """The package's requests client, calling the connector's hooks around each request."""

    def __init__(self, timeout, before_request=None, after_response=None, session=None):
        super().__init__(timeout=timeout, session=session)
        self.before_request = before_request
        self.after_response = after_response

    def request(self, method, url, headers, post_data=None):
        path = urlsplit(url).path
        if self.before_request:
            self.before_request(method.upper(), path)
        try:
            content, status, rheaders = super().request(method, url, headers, post_data)
        except stripe.APIConnectionError as exc:
            if self.after_response:
                self.after_response(ChannelTransportError(f"{method.upper()} {path}: {exc.user_message or exc}"))
            raise
        if self.after_response:
            if status >= 400:
                self.after_response(channel_error(status, _error_object(content), rheaders, f"{method.upper()} {path}"))
            else:
                self.after_response(ChannelResponse(status, dict(rheaders), b""))
        return content, status, rheaders


def _error_object(content):
    try:
        return (json.loads(content) or {}).get("error")
    except (ValueError, AttributeError, TypeError):
        return None


def _unix(moment) -> int:
    """Return a datetime or date (UTC midnight) as Unix seconds."""
    if isinstance(moment, datetime):
        return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())
    if isinstance(moment, date):
        return int(datetime.combine(moment, time(0), tzinfo=timezone.utc).timestamp())
    return int(moment)


class StripeClient:
    """Reads one Stripe account's payouts with its secret key (``sk_...`` or a restricted ``rk_...``)."""

    def __init__(self, secret_key, *, api_base=None, stripe_version=None, timeout=30, session=None,
                 before_request=None, after_response=None):
        if not secret_key:
            raise ChannelAuthError("Stripe needs the account's secret key (sk_... or a restricted rk_... key)")
        base = (api_base or DEFAULT_API_BASE).rstrip("/")
        if urlsplit(base).scheme not in ("http", "https"):
            raise ChannelValidationError(f"Stripe API base {base!r} is not an http(s) URL")
        self.api_base = base
        self.http = _HookedHttpClient(timeout, before_request, after_response, session=session)
        self.sdk = stripe.StripeClient(
            secret_key,
            stripe_version=stripe_version or None,
            base_addresses={"api": base, "connect": base, "files": base},
            http_client=self.http,
            max_network_retries=0,
        )

    def _call(self, where, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.APIConnectionError as exc:
            raise ChannelTransportError(f"{where}: cannot reach Stripe ({exc.user_message or exc})") from None
        except stripe.StripeError as exc:
            error = (exc.json_body or {}).get("error") if isinstance(exc.json_body, Mapping) else None
            raise channel_error(exc.http_status, error or {"message": exc.user_message or str(exc)},
                                exc.headers, where) from None

    def _iterate(self, where, page):
        """Yield every object of a list, following ``has_more`` with ``starting_after``."""
        iterator = self._call(where, page).auto_paging_iter()
        while True:
            try:
                item = self._call(where, next, iterator)
            except StopIteration:
                return
            yield _plain(item)

    # ------------------------------------------------------------------ account
    def balance(self) -> dict:
        """Return the account's balance (``GET /v1/balance``): the cheapest call that proves the key."""
        return _plain(self._call("GET /v1/balance", self.sdk.v1.balance.retrieve))

    # ------------------------------------------------------------------ payouts
    def iter_payouts(self, *, arrival_from=None, arrival_to=None, created_from=None, created_to=None,
                     status=None, starting_after=None) -> Iterator[dict]:
        """Yield the payouts (newest first) arriving in ``[arrival_from, arrival_to]`` and created in
        ``[created_from, created_to]`` (datetimes or dates; None leaves that side open); with
        ``starting_after`` (a payout id), those listed after that one."""
        params = {"limit": PAGE_SIZE}
        if starting_after:
            params["starting_after"] = starting_after
        for name, low, high in (("arrival_date", arrival_from, arrival_to), ("created", created_from, created_to)):
            window = {}
            if low is not None:
                window["gte"] = _unix(low)
            if high is not None:
                window["lte"] = _unix(high)
            if window:
                params[name] = window
        if status:
            params["status"] = status
        return self._iterate("GET /v1/payouts", lambda: self.sdk.v1.payouts.list(params))

    def get_payout(self, payout_id: str) -> dict:
        """Return one payout (``GET /v1/payouts/{id}``)."""
        return _plain(self._call("GET /v1/payouts/%s" % payout_id, self.sdk.v1.payouts.retrieve, payout_id))

    def iter_payout_transactions(self, payout_id: str) -> Iterator[dict]:
        """Yield the balance transactions a payout paid out, with their ``source`` expanded (the charge,
        refund or dispute, whose metadata names the shop's order)."""
        params = {"payout": payout_id, "limit": PAGE_SIZE, "expand": ["data.source"]}
        return self._iterate("GET /v1/balance_transactions",
                             lambda: self.sdk.v1.balance_transactions.list(params))

    def get_charge(self, charge_id: str) -> dict:
        """Return one charge (``GET /v1/charges/{id}``)."""
        return _plain(self._call("GET /v1/charges/%s" % charge_id, self.sdk.v1.charges.retrieve, charge_id))


def _plain(obj):
    """Return a StripeObject as plain dicts and lists (JSON-ready, no SDK types)."""
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return _plain_value(obj.to_dict(for_json=True))
    return _plain_value(obj)


def _plain_value(value):
    if hasattr(value, "to_dict"):
        value = value.to_dict(for_json=True)
    if isinstance(value, Mapping):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    return value
