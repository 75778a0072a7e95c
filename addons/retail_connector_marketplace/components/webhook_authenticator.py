# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import re

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.signatures import check_age

from ..lib.shopify import webhooks as shopify_webhooks
from ..lib.stripe import webhooks as stripe_webhooks
from ..lib.woocommerce import webhooks as woocommerce_webhooks


class ShopifyWebhookAuthenticator(Component):
    """``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body with the app's secret.

    The signature carries no time, so ``X-Shopify-Triggered-At`` (when Shopify triggered the
    delivery; retries keep it) must be within the backend's maximum webhook age. That header is
    not signed: it stops a delivery resent as it was captured; one resent with a rewritten
    header is stopped by the order writer, which applies no order version older than or equal
    to the one it holds.
    """

    _name = "retail.shopify.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "shopify"

    def authenticate(self, body, headers, url):
        index = shopify_webhooks.verify(body, headers, self.backend_record._webhook_secrets())
        check_age(headers.get("X-Shopify-Triggered-At"), self.backend_record._webhook_max_age(),
                  "X-Shopify-Triggered-At")
        return index


_WC_PING = re.compile(rb"^webhook_id=\d+$")


class WooCommerceWebhookAuthenticator(Component):
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body with the webhook's secret.

    WooCommerce sends no delivery time (its headers are source, topic, resource, event,
    signature, webhook id and delivery id), so the age of a delivery cannot be checked here: a
    replay is stopped by the event's key (the order id with its ``date_modified``, whatever the
    delivery id) and by the order writer, which applies no older order version.
    """

    _name = "retail.woocommerce.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "woocommerce"

    def pre_answer(self, body, headers):
        # On activation WooCommerce posts an unsigned form body "webhook_id=N": it must get a
        # 2xx or the merchant sees an error. It carries no data, so it is answered, not stored.
        if not headers.get("X-WC-Webhook-Signature") and _WC_PING.match(body.strip()):
            return {"status": "ok", "ping": body.strip().decode()}
        return None

    def authenticate(self, body, headers, url):
        return woocommerce_webhooks.verify(body, headers, self.backend_record._webhook_secrets())


class StripeWebhookAuthenticator(Component):
    """``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the endpoint's signing
    secret, checked by the official package within 300 s; the previous secret while rolling."""

    _name = "retail.stripe.webhook.authenticator"
    _inherit = "retail.webhook.authenticator"
    _backend_type = "stripe"

    def authenticate(self, body, headers, url):
        return stripe_webhooks.verify(body, headers.get(stripe_webhooks.HEADER), self.backend_record._webhook_secrets())
