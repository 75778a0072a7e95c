# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The storefronts' flow set-up: a backend per test talking to its started simulator over real HTTP."""

from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase


class ShopifyFlowCase(ChannelFlowCase):
    """A Shopify backend (``BACKEND``'s values) talking to a started Shopify simulator (``SEED``),
    the catalogue at the shop's prices, Belgian VAT included in them."""

    PRICELIST = "Shopify EUR"
    TAX = {"name": "BE VAT 21% incl.", "amount": 21, "price_include_override": "tax_included"}
    BACKEND = {"name": "Shopify test"}
    SEED = 3

    def setUp(self):
        super().setUp()
        from simulators.shopify import ShopifySimulator  # noqa: PLC0415

        self.backend = self._channel_backend(
            backend_type="shopify", api_secret="shpat_test", webhook_secret="shp-secret", **self.BACKEND,
        )
        self.shop = self._start(ShopifySimulator(token="shpat_test", webhook_secret="shp-secret", seed=self.SEED,
                                                 webhook_url=self._webhook_url(self.backend)))
        self.backend.endpoint_url = self.shop.url


class WooFlowCase(ChannelFlowCase):
    """A WooCommerce backend (``BACKEND``'s values) talking to a started WooCommerce simulator (``SEED``)
    that sends it its webhooks, the catalogue at the shop's prices, VAT added to them."""

    PRICELIST = "Woo EUR"
    TAX = {"name": "TVA 21%", "amount": 21}
    BACKEND = {"name": "Woo test"}
    SEED = 5

    def setUp(self):
        super().setUp()
        from simulators.woocommerce import WooCommerceSimulator  # noqa: PLC0415

        self.backend = self._channel_backend(
            backend_type="woocommerce", api_key="ck_test", api_secret="cs_test", webhook_secret="wc-secret",
            **self.BACKEND,
        )
        self.shop = self._start(WooCommerceSimulator(consumer_key="ck_test", consumer_secret="cs_test", seed=self.SEED))
        self.backend.endpoint_url = self.shop.url
        self.backend.action_woo_ensure_webhooks()
