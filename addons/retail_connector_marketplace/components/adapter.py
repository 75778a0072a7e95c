# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The storefronts' and payment provider's API clients, one ``backend.adapter`` per backend type."""

from odoo.exceptions import UserError

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.http import ChannelRateLimited

from ..lib.amazon.auth import LWA_TOKEN_URL, LwaAuth
from ..lib.amazon.client import ENDPOINTS, OperationLimiter, SellingPartnerClient
from ..lib.shopify.client import ShopifyClient
from ..lib.stripe.client import DEFAULT_API_BASE as STRIPE_API_BASE
from ..lib.stripe.client import StripeClient
from ..lib.woocommerce.client import WooCommerceClient
from ..models import retail_backend_amazon as amazon_backend
from ..models.retail_backend import SHOPIFY_API_VERSION


class ShopifyBackendAdapter(Component):
    _name = "retail.shopify.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "shopify"

    def client(self, max_throttle_wait=2.0):
        """Return a Shopify Admin API client paced by this backend's rate limiter and circuit breaker.

        A query the shop's cost bucket cannot take yet waits up to ``max_throttle_wait`` seconds (a
        background read, such as a reconciliation, waits longer), else the call is given up."""
        backend = self.backend_record
        return ShopifyClient(self._endpoint_url(), backend.sudo().api_secret,
                             api_version=backend.api_version or SHOPIFY_API_VERSION, timeout=backend.timeout,
                             max_throttle_wait=max_throttle_wait, **self._pacing())

    def _no_endpoint_message(self):
        return self.env._("Backend %(name)s has no shop URL.", name=self.backend_record.name)


class WooBackendAdapter(Component):
    _name = "retail.woocommerce.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "woocommerce"

    def client(self):
        """Return a WooCommerce REST client paced by this backend's rate limiter and circuit breaker."""
        backend = self.backend_record
        return WooCommerceClient(self._endpoint_url(), backend.sudo().api_key, backend.sudo().api_secret,
                                 timeout=backend.timeout, **self._pacing())

    def _no_endpoint_message(self):
        return self.env._("Backend %(name)s has no site URL.", name=self.backend_record.name)


class StripeBackendAdapter(Component):
    _name = "retail.stripe.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "stripe"

    def client(self):
        """Return a Stripe API client with the secret key, paced by the rate limiter and circuit breaker.

        The endpoint URL is the API base (``https://api.stripe.com``); the API version, when set,
        is sent as ``Stripe-Version``, else the stripe package's own version applies.
        """
        backend = self.backend_record
        backend.ensure_one()
        if not backend.sudo().api_secret:
            raise UserError(self.env._("Backend %(name)s has no Stripe secret key: set it as the API secret.",
                                       name=backend.name))
        return StripeClient(backend.sudo().api_secret, api_base=backend.endpoint_url or STRIPE_API_BASE,
                            stripe_version=backend.api_version or None, timeout=backend.timeout, **self._pacing())


class AmazonBackendAdapter(Component):
    _name = "retail.amazon.backend.adapter"
    _inherit = "retail.backend.adapter"
    _backend_type = "amazon"

    def client(self, max_wait=20.0):
        """Return an SP-API client with the shared access token, its operations paced per process."""
        backend = self.backend_record
        backend.ensure_one()
        secrets = backend.sudo()
        auth = LwaAuth(secrets.api_key, secrets.api_secret, secrets.amazon_refresh_token,
                       token_url=secrets.amazon_lwa_token_url or LWA_TOKEN_URL,
                       store=amazon_backend._DatabaseTokenStore(backend), timeout=backend.timeout)
        with amazon_backend._LIMITERS_LOCK:
            limiter = amazon_backend._LIMITERS.setdefault((self.env.cr.dbname, backend.id), OperationLimiter())
        return SellingPartnerClient(backend.endpoint_url or ENDPOINTS[backend.amazon_region or "eu"], auth,
                                    limiter=limiter, timeout=backend.timeout, max_wait=max_wait,
                                    **dict(self._pacing(), after_response=self._observe_outcome))

    def _observe_outcome(self, outcome):
        # a 429 is one operation's: the client waits for that operation alone, the other operations go on
        if isinstance(outcome, ChannelRateLimited):
            return
        self.backend_record._observe_outcome(outcome)
