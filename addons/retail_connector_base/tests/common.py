# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase

from ..lib.canonical import Order
from .flows import CatalogueMixin

# the mug and the cap of the base tests' order (``test_order_import.ORDER``), at the shop's prices
MUG_AND_CAP = {"RC-MUG": {"name": "Mug", "list_price": 9}, "RC-CAP": {"name": "Cap", "list_price": 15}}
# invoiced as ordered, with no taxes of their own: the channel's totals are Odoo's
INVOICED = {"type": "consu", "is_storable": True, "invoice_policy": "order", "taxes_id": [(5, 0, 0)]}


class RetailCase(TransactionCase):
    """A transaction with one generic backend and the connector's context set up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, queue_job__no_delay=True))
        cls.backend = cls.env["retail.backend"].create(
            {
                "name": "Test generic backend",
                "backend_type": "generic",
                "endpoint_url": "http://127.0.0.1:9",
                "api_secret": "token-123",
                "webhook_secret": "whsec-1",
            }
        )


class OrderCase(CatalogueMixin, RetailCase):
    """A generic backend that sells the mug and the cap of the base tests' order, in dollars.

    ``SKUS``, ``PRODUCT`` and ``STOCK`` as in ``CatalogueMixin`` (no pricelist); ``mug`` and ``cap``
    are the products of the order's lines.
    """

    SKUS = {"RC-MUG": {"name": "Mug"}, "RC-CAP": {"name": "Cap"}}
    NAMED_PRODUCTS = {"mug": "RC-MUG", "cap": "RC-CAP"}
    PRODUCT = {"type": "consu"}
    PRICELIST = None
    COMPANY_CURRENCY = "base.USD"
    STOCK = 0

    def _apply(self, data):
        """Apply the channel's order ``data`` (a dict) with the order writer; return (binding, outcome)."""
        with self.backend.work_on("retail.sale.order.binding") as work:
            return work.component(usage="order.writer").apply(Order.from_dict(data))
