"""HTTP client for channel APIs, with errors that say what went wrong and whether to retry.

Plain Python (requests): no Odoo import, so channel protocol layers built on it can be
tested alone. Credentials are passed per request and never appear in error messages.
"""

import json as jsonlib
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

MAX_ERROR_BODY = 500


class ChannelError(Exception):
    """A call to a channel failed; ``retryable`` tells whether trying again may succeed."""

    retryable = False

    def __init__(self, message, status=None, retry_after=None, details=None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.details = details or []


class ChannelTransportError(ChannelError):
    """The channel could not be reached, timed out or answered 5xx."""

    retryable = True


class ChannelRateLimited(ChannelError):
    """The channel answered 429 (or its own throttling error); wait ``retry_after`` seconds."""

    retryable = True


class ReadPaused(ChannelRateLimited):
    """The connector's own rate limit of the channel has no token for ``retry_after`` seconds, in a read that
    can stop at a page boundary and continue later (a reconciliation): it stops there instead of waiting."""


class ChannelAuthError(ChannelError):
    """The channel refused the credentials (401/403)."""


class ChannelNotFound(ChannelError):
    """The channel has no such resource (404)."""


class ChannelValidationError(ChannelError):
    """The channel refused the request's content (400/409/422)."""


@dataclass
class ChannelResponse:
    """What the channel answered: status, headers, raw body and parsed JSON (or None)."""

    status: int
    headers: dict
    body: bytes
    data: object = None
    elapsed: float = 0.0
    extra: dict = field(default_factory=dict)


def parse_retry_after(value, default=None):
    """Return the seconds to wait from a Retry-After header (seconds or HTTP date)."""
    if value in (None, ""):
        return default
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class ChannelHttpClient:
    """Sends JSON requests to one channel's base URL and maps failures to ChannelError types."""

    def __init__(self, base_url, timeout=30.0, user_agent="RetailConnector", session=None, before_request=None, after_response=None):
        if not base_url or urlsplit(base_url).scheme not in ("http", "https"):
            raise ChannelValidationError(f"Endpoint URL {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        # hooks: the caller's rate limiter runs before each request; its circuit breaker
        # learns from each outcome (a ChannelResponse or a ChannelError)
        self.before_request = before_request
        self.after_response = after_response

    def url(self, path):
        """Return the absolute URL of ``path`` under the base URL."""
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method, path, *, headers=None, params=None, json=None, data=None, ok=(200, 201, 202, 204)):
        """Send one request and return a ChannelResponse; raise a ChannelError otherwise."""
        url = self.url(path)
        where = f"{method} {urlsplit(url).path}"
        body = None
        hdrs = {"Accept": "application/json"}
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), default=str).encode()
            hdrs["Content-Type"] = "application/json"
        elif data is not None:
            body = data
        hdrs.update(headers or {})
        if self.before_request:
            self.before_request(method, path)
        try:
            result = self._send(method, url, where, hdrs, params, body, ok)
        except ChannelError as exc:
            if self.after_response:
                self.after_response(exc)
            raise
        if self.after_response:
            self.after_response(result)
        return result

    def _send(self, method, url, where, hdrs, params, body, ok):
        started = time.monotonic()
        try:
            resp = self.session.request(method, url, headers=hdrs, params=params, data=body, timeout=self.timeout)
        except requests.Timeout as exc:
            raise ChannelTransportError(f"{where}: the channel did not answer in time ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            raise ChannelTransportError(f"{where}: cannot connect to the channel ({_short(exc)})") from None
        except requests.RequestException as exc:
            raise ChannelTransportError(f"{where}: {_short(exc)}") from None
        elapsed = time.monotonic() - started
        result = ChannelResponse(resp.status_code, dict(resp.headers), resp.content, _json_or_none(resp), elapsed)
        if resp.status_code in ok:
            return result
        raise self._error_for(where, result)

    def _error_for(self, where, resp):
        """Return the ChannelError matching a non-success answer."""
        status = resp.status
        text = _channel_message(resp)
        msg = f"{where} answered {status}: {text}" if text else f"{where} answered {status}"
        details = resp.data.get("details", []) if isinstance(resp.data, dict) else []
        if status == 429:
            return ChannelRateLimited(msg, status, parse_retry_after(resp.headers.get("Retry-After"), 1.0))
        if status in (401, 403):
            return ChannelAuthError(msg + " (check the backend's credentials)", status)
        if status == 404:
            return ChannelNotFound(msg, status)
        if status >= 500 or status in (408, 425):
            return ChannelTransportError(msg, status, parse_retry_after(resp.headers.get("Retry-After")))
        return ChannelValidationError(msg, status, details=details)


def _json_or_none(resp):
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _channel_message(resp):
    """Return the channel's own error text, shortened, from a JSON or text body."""
    data = resp.data
    if isinstance(data, dict):
        for key in ("message", "error_description", "errors", "error", "detail"):
            if data.get(key):
                value = data[key]
                text = value if isinstance(value, str) else jsonlib.dumps(value, default=str)
                if key == "error" and data.get("details"):
                    text += " " + jsonlib.dumps(data["details"], default=str)
                return text[:MAX_ERROR_BODY]
    if resp.body:
        return resp.body[:MAX_ERROR_BODY].decode("utf-8", "replace")
    return ""


_QUERY = re.compile(r"\?[^\s)'\"]*")


def _short(exc):
    # a transport error quotes the URL: drop its query string, which may carry credentials
    return _QUERY.sub("?…", str(exc).split("\n")[0])[:200]
