# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The set-up shared by the flow tests: a catalogue made once per class, and backends talking to
started channel simulators (over HTTP, SFTP or with no server of Odoo's at all)."""

from unittest import SkipTest

from odoo.tests import HttpCase, TransactionCase

from .simulators import load_simulators


def numbered_catalogue(sku, name, count):
    """Return the ``SKUS`` of ``count`` products numbered from 0: ``sku % i``, named ``name % i``, at 10 + i."""
    return {sku % i: {"name": name % i, "list_price": 10 + i} for i in range(count)}


class CatalogueMixin:
    """A catalogue made once per class: what the flows sell, at which prices and taxes, from which stock.

    A pricelist named ``PRICELIST`` in ``CURRENCY`` (none when ``PRICELIST`` is None), the company's
    currency ``COMPANY_CURRENCY`` when set, the sale tax ``TAX`` when set, the warehouse ``WAREHOUSE``
    (its values; the main warehouse when None), one product per SKU of ``SKUS`` with the values of
    ``PRODUCT`` (``SKUS`` may map each SKU to values of its own), and ``STOCK`` of each in the
    warehouse's stock; ``NAMED_PRODUCTS`` gives some of them a class attribute; all in an environment
    with ``CONTEXT``.
    """

    SKUS = ()
    CURRENCY = "base.EUR"
    PRICELIST = "EUR"
    COMPANY_CURRENCY = None  # e.g. "base.USD": the currency of the channel's orders
    TAX = None  # e.g. {"name": "VAT 21%", "amount": 21}: a percent sale tax
    WAREHOUSE = None  # e.g. {"name": "3PL Chicago", "code": "3PLC"}: a warehouse of the class's own
    PRODUCT = {"type": "consu", "is_storable": True, "list_price": 20}
    STOCK = 30
    NAMED_PRODUCTS = {}  # e.g. {"mug": "RC-MUG"}: class attributes naming products of the catalogue
    CONTEXT = {"tracking_disable": True}  # of the class's environment, the catalogue made in it

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **cls.CONTEXT))
        cls.pricelist = cls.env["product.pricelist"]
        if cls.PRICELIST:
            currency = cls.env.ref(cls.CURRENCY)
            currency.active = True
            cls.pricelist = cls.pricelist.create({"name": cls.PRICELIST, "currency_id": currency.id})
        if cls.COMPANY_CURRENCY:
            cls.env.company.currency_id = cls.env.ref(cls.COMPANY_CURRENCY)
        if cls.TAX:
            cls.env["account.tax"].create(dict(cls.TAX, amount_type="percent", type_tax_use="sale"))
        if cls.WAREHOUSE:
            cls.warehouse = cls.env["stock.warehouse"].create(dict(cls.WAREHOUSE))
        else:
            cls.warehouse = cls.env.ref("stock.warehouse0")
        cls.stock = cls.warehouse.lot_stock_id
        skus = cls.SKUS if isinstance(cls.SKUS, dict) else dict.fromkeys(cls.SKUS, {})
        cls.products = cls.env["product.product"].concat(
            *(cls._catalogue_product(sku, {**cls.PRODUCT, "name": sku, **values}) for sku, values in skus.items())
        )
        for product in cls.products if cls.STOCK else ():
            cls.env["stock.quant"]._update_available_quantity(product, cls.stock, cls.STOCK)
        for attribute, sku in cls.NAMED_PRODUCTS.items():
            setattr(cls, attribute, cls._product_of(sku))

    @classmethod
    def _catalogue_product(cls, sku, values):
        """Return the product of ``sku`` in the class's catalogue, made with ``values``."""
        return cls.env["product.product"].create(dict(values, default_code=sku))

    @classmethod
    def _product_of(cls, sku):
        """Return the class's catalogue product of ``sku``."""
        return cls.products.filtered(lambda p: p.default_code == sku)

    def _validate(self, picking):
        """Validate ``picking`` with all its quantities done; return it."""
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        return picking

    def _ship(self, sale):
        """Reserve and validate ``sale``'s delivery in full; return the delivery."""
        picking = sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        picking.action_assign()
        self._validate(picking)
        self.assertEqual(picking.state, "done")
        return picking


class ChannelFlowMixin(CatalogueMixin):
    """The catalogue, and per test a backend talking to a started simulator.

    Skipped outside the source tree (no simulators) when ``NEEDS_SIMULATORS``.
    ``_start`` starts a simulator and stops it after the test; ``_channel_backend`` creates a
    backend on the class's warehouse and pricelist, not throttled.
    """

    NEEDS_SIMULATORS = True

    @classmethod
    def setUpClass(cls):
        if cls.NEEDS_SIMULATORS and load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        super().setUpClass()

    def _start(self, simulator):
        """Start ``simulator`` for this test and return it."""
        simulator.start()
        self.addCleanup(simulator.stop)
        return simulator

    @classmethod
    def _backend_values(cls, **values):
        """Return the values of a backend selling from the class's warehouse at its pricelist, with no rate limits."""
        return {
            "warehouse_id": cls.warehouse.id, "pricelist_id": cls.pricelist.id,
            "inbound_rate_limit": 0, "rate_limit_rps": 100, "rate_limit_burst": 100, **values,
        }

    def _channel_backend(self, **values):
        """Create a backend selling from the class's warehouse at its pricelist, with no rate limits."""
        return self.env["retail.backend"].create(self._backend_values(**values))

    def _sale(self, order, backend=None):
        """Return the sale order imported from the channel's ``order`` (a dict with its ``id``)."""
        backend = backend or self.backend
        return self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", backend.id), ("external_id", "=", str(order["id"]))]
        ).odoo_id


class ChannelFlowCase(ChannelFlowMixin, HttpCase):
    """The channel flows over real HTTP both ways: requests to and from the simulators are allowed
    (their webhooks come without the test's session cookie), unless ``ALLOW_ALL_REQUESTS`` is false
    (a test that calls Odoo with ``url_open`` only, which allows its own requests)."""

    ALLOW_ALL_REQUESTS = True

    def setUp(self):
        super().setUp()
        if self.ALLOW_ALL_REQUESTS:
            self.enterContext(self.allow_requests(all_requests=True))

    def _webhook_url(self, backend):
        """Return the URL at which ``backend`` hears its channel's webhooks."""
        return self.base_url() + "/retail/webhook/%d" % backend.id


class ChannelTransactionCase(ChannelFlowMixin, TransactionCase):
    """The channel flows that need no HTTP server of Odoo's (files over SFTP, a store's day closed in Odoo)."""


class GenericChannelCase(ChannelTransactionCase):
    """Per test the generic channel's simulator (``self.channel``) and ``self.backend`` reading it with the
    token ``TOKEN`` (and the values ``BACKEND``), selling the catalogue from the main warehouse, not throttled."""

    PRODUCT = {"type": "consu", "is_storable": True}
    PRICELIST = None
    STOCK = 0
    TOKEN = "generic-token"
    BACKEND = {}

    def setUp(self):
        super().setUp()
        from simulators.generic import GenericChannel  # noqa: PLC0415

        self.channel = self._start(GenericChannel(token=self.TOKEN, currency=self._channel_currency()))
        self.backend = self._channel_backend(
            backend_type="generic", endpoint_url=self.channel.url, api_secret=self.TOKEN, rate_limit_rps=1000,
            rate_limit_burst=1000, **self.BACKEND,
        )

    def _channel_currency(self):
        """Return the code of the currency the channel sells in."""
        return "USD"
