# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component


class SquareBackendAdapter(Component):
    _name = "retail.square.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "square"

    def client(self):
        """Return a Square API client paced by this backend's rate limiter and circuit breaker."""
        from ..lib.squarepos import SquareClient  # noqa: PLC0415

        backend = self.backend_record
        return SquareClient(self._endpoint_url(), backend.sudo().api_secret or "", square_version=backend.api_version,
                            timeout=backend.timeout, **self._pacing())

    def _no_endpoint_message(self):
        return self.env._("Backend %(name)s has no API URL.", name=self.backend_record.name)
