# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component


class GenericConnectionTester(Component):
    """Checks a generic (canonical JSON) backend: GET /api/v1/ping with its bearer token."""

    _name = "retail.generic.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "generic"

    def test_connection(self):
        """Return a readable success message; raise ChannelError when the channel refuses."""
        backend = self.backend_record
        resp = self.component(usage="backend.adapter").request("GET", "/api/v1/ping")
        data = resp.data if isinstance(resp.data, dict) else {}
        return self.env._(
            "Connected to %(name)s (API version %(version)s) in %(ms)d ms.",
            name=data.get("name") or backend.endpoint_url,
            version=data.get("api_version") or "?",
            ms=resp.elapsed * 1000,
        )


class GenericChannelSettings(Component):
    """Reads what a generic channel names in its orders: GET /api/v1/settings (optional in the protocol).

    Returns {"taxes": [...], "payment_gateways": [...], "carriers": [...], "shipping_methods": [...]}, each
    item a dict with its ``code`` or ``name`` (a tax also its ``rate``, a fraction);
    a channel without the endpoint (404) names nothing in advance.
    """

    _name = "retail.generic.channel.settings"
    _inherit = "retail.base"
    _usage = "channel.settings"
    _apply_on = "retail.backend"
    _backend_type = "generic"

    def read_settings(self):
        from ..lib.http import ChannelNotFound  # noqa: PLC0415

        try:
            resp = self.component(usage="backend.adapter").request("GET", "/api/v1/settings")
        except ChannelNotFound:
            return {}
        data = resp.data if isinstance(resp.data, dict) else {}
        return {key: list(data.get(key) or []) for key in ("taxes", "payment_gateways", "carriers", "shipping_methods")}
