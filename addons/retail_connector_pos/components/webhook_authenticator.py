# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.signatures import verify_square


class SquareWebhookAuthenticator(Component):
    """``x-square-hmacsha256-signature``: base64 HMAC-SHA256 of the notification URL + raw body."""

    _name = "retail.square.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "square"

    def authenticate(self, body, headers, url):
        # Square signs the URL the subscription was created with; behind a proxy that is the
        # public URL, which the backend stores when it differs from the one Odoo sees.
        notification_url = self.backend_record.webhook_notification_url or url
        return verify_square(body, headers, self.backend_record._webhook_secrets(), notification_url)
