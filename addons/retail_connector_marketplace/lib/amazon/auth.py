"""Login with Amazon (LWA): a refresh token exchanged for the hour-long access token of the SP-API.

The access token is kept in a *store* shared by every worker of a backend (the connector keeps
it encrypted in the database); a refresh happens under the store's exclusive lock, so that only
one process at a time asks LWA for a new token and the others take the one it got. Neither the
refresh token, the client secret nor an access token ever appears in an error message.
"""

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from retail_connector_base_lib.http import ChannelAuthError, ChannelTransportError

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
# a token is refreshed this many seconds before LWA says it expires
REFRESH_MARGIN = 300


@dataclass
class AccessToken:
    """An LWA access token and when it expires (epoch seconds)."""

    value: str
    expires_at: float

    def fresh(self, now, margin=REFRESH_MARGIN):
        return bool(self.value) and self.expires_at - margin > now


class MemoryTokenStore:
    """A token store for one process (tests, scripts): a lock and a slot."""

    def __init__(self):
        self._lock = threading.Lock()
        self._token = None

    @contextmanager
    def exclusive(self):
        with self._lock:
            yield self

    def load(self):
        return self._token

    def save(self, token):
        self._token = token


class LwaAuth:
    """Gives the current access token of one selling partner, refreshing it when needed.

    ``store`` has ``load()``, ``save(AccessToken)`` and ``exclusive()`` (a context manager held
    while refreshing; ``load`` inside it must read what other processes saved).
    """

    def __init__(self, client_id, client_secret, refresh_token, *, token_url=LWA_TOKEN_URL, store=None,
                 session=None, timeout=30, clock=time.time, margin=REFRESH_MARGIN):
        missing = [name for name, value in (("LWA client id", client_id), ("LWA client secret", client_secret),
                                            ("refresh token", refresh_token)) if not value]
        if missing:
            raise ChannelAuthError("Amazon needs the %s of the app's authorisation" % ", ".join(missing))
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.token_url = token_url or LWA_TOKEN_URL
        self.store = store or MemoryTokenStore()
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock
        self.margin = margin
        self.refreshes = 0  # how many exchanges this object made (observability, tests)

    def access_token(self, *, rejected=None):
        """Return an access token valid for at least the margin.

        ``rejected``: a token the SP-API just refused (401/403): a new one is fetched unless
        another process already replaced it.
        """
        token = self.store.load()
        if token and token.fresh(self.clock(), self.margin) and token.value != rejected:
            return token.value
        with self.store.exclusive():
            token = self.store.load()  # another process may have refreshed while this one waited
            if token and token.fresh(self.clock(), self.margin) and token.value != rejected:
                return token.value
            token = self._exchange()
            self.store.save(token)
            return token.value

    def _exchange(self):
        """Return a new AccessToken from LWA (``grant_type=refresh_token``)."""
        data = {"grant_type": "refresh_token", "refresh_token": self._refresh_token,
                "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            resp = self.session.post(self.token_url, data=data, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise ChannelTransportError("Login with Amazon: cannot reach the token endpoint (%s)"
                                        % type(exc).__name__) from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ChannelTransportError("Login with Amazon answered %s" % resp.status_code, resp.status_code, 5.0)
        if resp.status_code != 200 or not body.get("access_token"):
            # LWA's error codes (invalid_grant, invalid_client, unauthorized_client) say which credential is wrong
            reason = body.get("error") or "no access token in the answer"
            described = body.get("error_description") or ""
            raise ChannelAuthError("Login with Amazon refused the refresh token exchange: %s%s (check the "
                                   "backend's LWA client id, client secret and refresh token)"
                                   % (reason, " - " + described[:200] if described else ""), resp.status_code)
        self.refreshes += 1
        expires_in = float(body.get("expires_in") or 3600)
        return AccessToken(body["access_token"], self.clock() + expires_in)
