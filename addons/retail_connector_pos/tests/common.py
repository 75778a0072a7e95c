# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.retail_connector_base.lib.canonical import Order
from odoo.addons.retail_connector_base.tests.flows import ChannelTransactionCase


class StoreMixin:
    """A POS backend with one store, its Odoo point of sale and tender mappings, selling a mug and a cap.

    To be put before a flow case of the base (``ChannelFlowCase``, ``ChannelTransactionCase``).
    """

    SKUS = {"POS-MUG": {"name": "Mug", "list_price": 10}, "POS-CAP": {"name": "Cap", "list_price": 15}}
    NAMED_PRODUCTS = {"mug": "POS-MUG", "cap": "POS-CAP"}
    PRODUCT = {"is_storable": True, "available_in_pos": True, "taxes_id": [(5, 0, 0)]}
    PRICELIST = None
    STOCK = 50

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        Journal = cls.env["account.journal"]
        cash_journal = Journal.search([("type", "=", "cash"), ("company_id", "=", company.id)], limit=1) or Journal.create(
            {"name": "Store cash", "type": "cash", "code": "SCSH"})
        bank_journal = Journal.create({"name": "Store card", "type": "bank", "code": "SCRD"})
        Method = cls.env["pos.payment.method"]
        cls.cash = Method.create({"name": "Store cash", "journal_id": cash_journal.id})
        cls.card = Method.create({"name": "Store card", "journal_id": bank_journal.id})
        cls.config = cls.env["pos.config"].create({"name": "Store Brussels",
                                                   "payment_method_ids": [(6, 0, (cls.cash | cls.card).ids)]})
        cls.location = cls.config.picking_type_id.default_location_src_id
        cls.backend = cls.env["retail.backend"].create(cls._backend_values(
            name="Square test", backend_type="square", endpoint_url="http://127.0.0.1:9", api_secret="sq-token",
            webhook_secret="sq-key", warehouse_id=False, pricelist_id=False,
        ))
        cls.backend.policy_ids.filtered(lambda p: p.domain in ("inventory", "catalog", "pricing")).mode = "off"
        cls.store = cls.env["retail.pos.store"].create({
            "backend_id": cls.backend.id, "external_id": "LOC-BXL", "name": "Brussels", "pos_config_id": cls.config.id,
            "timezone": "Europe/Brussels", "cutoff_hour": 22.0,
        })
        cls.env["retail.pos.tender"].create([
            {"backend_id": cls.backend.id, "tender_type": "CASH", "payment_method_id": cls.cash.id},
            {"backend_id": cls.backend.id, "tender_type": "CARD", "payment_method_id": cls.card.id},
        ])

    def _sale(self, ref, lines, tenders, at="2026-11-20T14:00:00Z", total=None):
        return Order.from_dict({
            "external_id": ref, "name": "Sale %s" % ref, "created_at": at, "updated_at": at, "currency": "USD",
            "lines": [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines],
            "payments": [{"gateway": tender, "kind": "capture", "status": "success", "amount": amount}
                         for tender, amount in tenders],
            "status": "closed", "payment_state": "paid", "total_amount": total,
            "extra": {"location_id": "LOC-BXL"},
        })

    def _book(self, order):
        with self.backend.work_on("retail.pos.order.binding") as work:
            return work.component(usage="pos.order.writer").apply(order)


class StoreCase(StoreMixin, ChannelTransactionCase):
    """The store's sales booked in Odoo, with no simulator."""

    NEEDS_SIMULATORS = False
