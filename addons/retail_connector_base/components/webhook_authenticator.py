# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent, Component

from ..lib.signatures import verify_retail


class WebhookAuthenticator(AbstractComponent):
    """Checks that a webhook comes from the backend's channel (its signature scheme).

    Channel addons add one concrete authenticator per backend type; the gateway never knows
    the schemes itself.
    """

    _name = "retail.webhook.authenticator"
    _inherit = "retail.base"
    _usage = "webhook.authenticator"
    _apply_on = "retail.backend"

    def authenticate(self, body, headers, url):
        """Return the index of the secret that signed (0 current, 1 previous); raise SignatureError."""
        raise NotImplementedError

    def pre_answer(self, body, headers):
        """Return a response payload for a handshake the channel sends before any event, or None."""
        return None


class GenericWebhookAuthenticator(Component):
    """``X-Retail-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, 300 s tolerance."""

    _name = "retail.generic.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "generic"

    def authenticate(self, body, headers, url):
        return verify_retail(body, headers, self.backend_record._webhook_secrets())
