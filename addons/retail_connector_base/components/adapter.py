# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Channel clients: one ``backend.adapter`` component per backend type gives its API client."""

from odoo.exceptions import UserError

from odoo.addons.component.core import AbstractComponent, Component


class RetailBackendAdapter(AbstractComponent):
    """Gives the channel's API client of the work's backend, paced by its rate limiter and circuit breaker.

    Every client a channel makes goes through ``_pacing``: the backend's throttle before each
    request (which also refuses every call from a neutralised database) and its breaker after
    each answer. Channels implement ``client``.
    """

    _name = "retail.backend.adapter"
    _inherit = "retail.base"
    _usage = "backend.adapter"

    def client(self, **options):
        """Return the channel's API client for this backend; ``options`` are the channel client's own."""
        raise NotImplementedError

    def _pacing(self):
        """Return the hooks a client calls around each request: the throttle before, the breaker after."""
        backend = self.backend_record
        return {"before_request": backend._throttle_outbound, "after_response": backend._observe_outcome}

    def _endpoint_url(self):
        """Return the backend's endpoint URL; refuse a backend without one, saying what to set."""
        backend = self.backend_record
        backend.ensure_one()
        if not backend.endpoint_url:
            raise UserError(self._no_endpoint_message())
        return backend.endpoint_url

    def _no_endpoint_message(self):
        """Return the error shown for a backend without endpoint URL."""
        return self.env._("Backend %(name)s has no endpoint URL: set it in the backend form.",
                          name=self.backend_record.name)


class GenericBackendAdapter(Component):
    """The generic (canonical JSON) channel: an HTTP client, and requests authorised by the backend's bearer token."""

    _name = "retail.generic.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "generic"

    def client(self, throttled=True):
        """Return an HTTP client for this backend's API, with its timeouts and credentials."""
        from ..lib.http import ChannelHttpClient  # noqa: PLC0415

        backend = self.backend_record
        backend.ensure_one()
        # a neutralised copy makes no client at all, throttled or not
        backend._check_channel_calls_allowed()
        endpoint = self._endpoint_url()
        pacing = self._pacing()
        return ChannelHttpClient(
            endpoint,
            timeout=backend.timeout,
            user_agent="RetailConnector/%s (backend %s)" % (backend._module_version(), backend.id),
            before_request=pacing["before_request"] if throttled else None,
            after_response=pacing["after_response"],
        )

    def bearer_headers(self, idempotency_key=None):
        """Return the headers authorising a request with the backend's token (and its ``Idempotency-Key``)."""
        headers = {"Authorization": "Bearer " + (self.backend_record.sudo().api_secret or "")}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def request(self, method, path, idempotency_key=None, client=None, **kwargs):
        """Return the channel's answer to a request authorised by the backend's token.

        ``client`` reuses a client already made (pages of one read); ``kwargs`` go to the client
        (``params``, ``json``).
        """
        return (client or self.client()).request(method, path, headers=self.bearer_headers(idempotency_key), **kwargs)

    def get_data(self, path, params=None):
        """Return the JSON body of ``GET path`` (an empty dict when the channel answers nothing)."""
        return self.request("GET", path, params=params).data or {}

    def iter_pages(self, path, params, on_first=None, cursor=None, on_cursor=None):
        """Yield the JSON bodies of ``GET path``, keyset page after page (``next_cursor``).

        ``on_first`` is called with the first answer (its headers count the whole read). ``cursor``
        starts the read at that page (one a read that stopped kept); ``on_cursor`` is called with each
        next page's cursor before it is asked for.
        """
        client = self.client()
        limit = params.get("limit", 100)
        if cursor:
            params = {"limit": limit, "cursor": cursor}
        while True:
            resp = self.request("GET", path, params=params, client=client)
            if on_first and "cursor" not in params:
                on_first(resp)
            page = resp.data or {}
            yield page
            if not page.get("next_cursor"):
                return
            params = {"limit": limit, "cursor": page["next_cursor"]}
            if on_cursor:
                on_cursor(page["next_cursor"])
