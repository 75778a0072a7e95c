# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component


class ThreePLBackendAdapter(Component):
    _name = "retail.threepl.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "wms_rest"

    def client(self):
        """Return a client of the 3PL's REST API paced by this backend's rate limiter and circuit breaker."""
        from ..lib.threepl import ThreePLClient  # noqa: PLC0415

        backend = self.backend_record
        return ThreePLClient(self._endpoint_url(), backend.sudo().api_secret or "",
                             channel_id=backend.sudo().api_key or None, timeout=backend.timeout, **self._pacing())

    def _no_endpoint_message(self):
        return self.env._("Backend %(name)s has no API URL.", name=self.backend_record.name)
