# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The set-up shared by the flow tests that talk to a channel simulator over real HTTP."""

from unittest import SkipTest

from odoo.tests import HttpCase

from .simulators import load_simulators


class ChannelFlowCase(HttpCase):
    """A catalogue made once per class, and per test a backend talking to a started simulator.

    Once per class: skipped outside the source tree (no simulators), a pricelist named
    ``PRICELIST`` in ``CURRENCY``, the sale tax ``TAX`` when set, one product per SKU of ``SKUS``
    with the values of ``PRODUCT``, and ``STOCK`` of each in the main warehouse.
    Per test: requests to and from the simulators are allowed (their webhooks come without the
    test's session cookie); ``_start`` starts a simulator and stops it after the test;
    ``_channel_backend`` creates a backend on that warehouse and pricelist, not throttled.
    """

    SKUS = ()
    CURRENCY = "base.EUR"
    PRICELIST = "EUR"
    TAX = None  # e.g. {"name": "VAT 21%", "amount": 21}: a percent sale tax
    PRODUCT = {"type": "consu", "is_storable": True, "list_price": 20}
    STOCK = 30

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        currency = cls.env.ref(cls.CURRENCY)
        currency.active = True
        cls.pricelist = cls.env["product.pricelist"].create({"name": cls.PRICELIST, "currency_id": currency.id})
        if cls.TAX:
            cls.env["account.tax"].create(dict(cls.TAX, amount_type="percent", type_tax_use="sale"))
        cls.warehouse = cls.env.ref("stock.warehouse0")
        cls.products = cls.env["product.product"].create(
            [dict(cls.PRODUCT, name=sku, default_code=sku) for sku in cls.SKUS]
        )
        for product in cls.products if cls.STOCK else ():
            cls.env["stock.quant"]._update_available_quantity(product, cls.warehouse.lot_stock_id, cls.STOCK)

    def setUp(self):
        super().setUp()
        self.enterContext(self.allow_requests(all_requests=True))

    def _start(self, simulator):
        """Start ``simulator`` for this test and return it."""
        simulator.start()
        self.addCleanup(simulator.stop)
        return simulator

    def _channel_backend(self, **values):
        """Create a backend selling from the class's warehouse at its pricelist, with no rate limits."""
        return self.env["retail.backend"].create({
            "warehouse_id": self.warehouse.id, "pricelist_id": self.pricelist.id,
            "inbound_rate_limit": 0, "rate_limit_rps": 100, "rate_limit_burst": 100, **values,
        })

    def _sale(self, order, backend=None):
        """Return the sale order imported from the channel's ``order`` (a dict with its ``id``)."""
        backend = backend or self.backend
        return self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", backend.id), ("external_id", "=", str(order["id"]))]
        ).odoo_id
