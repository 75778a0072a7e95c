# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.signatures import check_age

from ..lib.squarepos import webhooks as square_webhooks


class SquareWebhookAuthenticator(Component):
    """``x-square-hmacsha256-signature``: base64 HMAC-SHA256 of the notification URL + raw body.

    The signature carries no time of its own, so the notification's ``created_at`` (in the
    signed body; retries keep it) must be within the backend's maximum webhook age.
    """

    _name = "retail.square.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "square"

    def authenticate(self, body, headers, url):
        # Square signs the URL the subscription was created with; behind a proxy that is the
        # public URL, which the backend stores when it differs from the one Odoo sees.
        notification_url = self.backend_record.webhook_notification_url or url
        index = square_webhooks.verify(body, headers, self.backend_record._webhook_secrets(), notification_url)
        max_age = self.backend_record._webhook_max_age()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return index  # not a notification: the gateway refuses the body itself
        if isinstance(data, dict):
            check_age(data.get("created_at"), max_age, "the notification's created_at")
        return index
