# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A neutralised copy of the database calls no channel.

Odoo's neutralisation (``odoo-bin neutralize``, or a staging copy made by the database manager
with "neutralise") runs each installed addon's ``data/neutralize.sql``. The connector's archive
every backend, turn their scheduled actions off and cancel their waiting jobs; the secrets stay
stored, unused. As a second guard, while the database carries Odoo's neutralisation flag
(``database.is_neutralized``) every call to a channel is refused before it leaves, even from a
backend a person activated again, unless ``retail_connector.neutralized_calls_allowed`` is set
(a staging copy deliberately pointed at test channels).
"""

from odoo import models
from odoo.exceptions import UserError

NEUTRALIZED_PARAM = "database.is_neutralized"
ALLOW_PARAM = "retail_connector.neutralized_calls_allowed"


class NeutralizedDatabase(UserError):
    """A call to a channel from a neutralised database."""


def is_neutralized(env):
    """Return whether ``env``'s database is a neutralised copy whose channel calls are refused."""
    params = env["ir.config_parameter"].sudo()
    flag = (params.get_param(NEUTRALIZED_PARAM) or "").strip().lower()
    if flag in ("", "0", "false", "no"):
        return False
    return (params.get_param(ALLOW_PARAM) or "").strip().lower() in ("", "0", "false", "no")


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    def _check_channel_calls_allowed(self):
        """Refuse a call to the channel when the database is a neutralised copy (see the module's docstring)."""
        if is_neutralized(self.env):
            raise NeutralizedDatabase(self.env._(
                "This database is a neutralised copy: %(backend)s calls no channel. To use a staging copy with test "
                "channels, set the system parameter %(param)s.", backend=", ".join(self.mapped("name")) or "-",
                param=ALLOW_PARAM))

    def _throttle_outbound(self, method=None, path=None):
        # every channel client calls this before each request: the last point before a request leaves
        self._check_channel_calls_allowed()
        return super()._throttle_outbound(method, path)
