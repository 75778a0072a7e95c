# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy

NEW_ADDRESS = {"first_name": "Jane", "last_name": "Doe", "street": "77 Geary St", "street2": "Floor 3",
               "city": "San Francisco", "zip": "94108", "state_code": "CA", "country_code": "US"}
SECRET = "whsec_dGVzdC0zcGwtd2ViaG9vay1zZWNyZXQ="


class WarehouseFlowMixin:
    """A warehouse of the class's own run by a warehouse system, the products the simulated
    warehouses know (made once per database), and a delivery helper.

    To be put before a flow case of the base (``ChannelFlowCase``, ``ChannelTransactionCase``).
    """

    SKUS = {"RC-MUG": {"name": "Mug"}, "RC-CAP": {"name": "Cap"}}
    NAMED_PRODUCTS = {"mug": "RC-MUG", "cap": "RC-CAP"}
    PRODUCT = {"is_storable": True}
    PRICELIST = None
    STOCK = 10

    @classmethod
    def _catalogue_product(cls, sku, values):
        """Return the product of ``sku`` the database already has (the demo's), given ``values`` but its name."""
        product = cls.env["product.product"].search([("default_code", "=", sku)], limit=1)
        if product:
            product.write(dict({k: v for k, v in values.items() if k != "name"}, tracking="none"))
            return product
        return super()._catalogue_product(sku, values)

    def _warehouse_backend(self, **values):
        """Create a warehouse system's backend, the class's warehouse routed to it."""
        backend = self._channel_backend(warehouse_id=False, pricelist_id=False, **values)
        self.env["retail.warehouse.route"].create({"backend_id": backend.id, "warehouse_id": self.warehouse.id})
        return backend

    def _threepl(self, name, seed):
        """Set up ``self.backend``, a ShipBob backend named ``name``, and ``self.wms``, its started simulator."""
        from simulators.threepl import ThreePLSimulator  # noqa: PLC0415

        self.backend = self._warehouse_backend(name=name, backend_type="wms_rest", api_secret="pat_test",
                                               webhook_secret=SECRET)
        self.wms = self._start(ThreePLSimulator(token="pat_test", webhook_url=self._webhook_url(self.backend),
                                                webhook_secret=SECRET, seed=seed))
        self.backend.endpoint_url = self.wms.url

    def _unreachable_shop(self, name, token, webhook_secret):
        """Create a generic shop's backend selling from the class's warehouse, its channel unreachable."""
        return self.env["retail.backend"].create({
            "name": name, "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "api_secret": token, "webhook_secret": webhook_secret, "warehouse_id": self.warehouse.id,
        })

    def _delivery(self, lines):
        from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs  # noqa: PLC0415

        customers = self.env.ref("stock.stock_location_customers")
        picking = self.env["stock.picking"].create({
            "picking_type_id": self.warehouse.out_type_id.id, "partner_id": self.customer.id,
            "location_id": self.stock.id, "location_dest_id": customers.id,
            "move_ids": [(0, 0, {"product_id": p.id, "product_uom_qty": q, "location_id": self.stock.id,
                                 "location_dest_id": customers.id}) for p, q in lines],
        })
        picking.action_confirm()
        picking.action_assign()
        perform_pending_jobs(self.env)
        return picking

    def _shop_order(self, **changes):
        """Return the sale order of a shop's order shipped from the routed warehouse, its delivery released."""
        from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs  # noqa: PLC0415

        usd = self.env.ref("base.USD")
        if self.env.company.currency_id != usd:
            self.env.company.currency_id = usd  # the order is in dollars, as the base tests set it
        self.shop = self._unreachable_shop("Partner shop", "token-shop", "whsec-shop")
        self.shop.policy_for("inventory").mode = "off"  # the shop is not reachable: stock is not its concern here
        binding, outcome = self._apply_shop(**changes)
        self.assertEqual(outcome, "created")
        perform_pending_jobs(self.env)
        return binding.odoo_id

    def _apply_shop(self, hour=10, **changes):
        """Apply the shop's order (the base tests' order, at ``hour`` o'clock); return (binding, outcome)."""
        from odoo.addons.retail_connector_base.lib.canonical import Order  # noqa: PLC0415
        from odoo.addons.retail_connector_base.tests.test_order_import import ORDER  # noqa: PLC0415

        data = copy.deepcopy(ORDER)
        data.update(updated_at="2026-11-20T%02d:00:00Z" % hour, **changes)
        with self.shop.work_on("retail.sale.order.binding") as work:
            return work.component(usage="order.writer").apply(Order.from_dict(data))
