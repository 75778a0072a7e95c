# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy

NEW_ADDRESS = {"first_name": "Jane", "last_name": "Doe", "street": "77 Geary St", "street2": "Floor 3",
               "city": "San Francisco", "zip": "94108", "state_code": "CA", "country_code": "US"}


class WarehouseFlowMixin:
    """Products the simulated warehouses know, made once per database, and a delivery helper."""

    @classmethod
    def _product(cls, sku, name):
        product = cls.env["product.product"].search([("default_code", "=", sku)], limit=1)
        if product:
            product.write({"is_storable": True, "tracking": "none"})
            return product
        return cls.env["product.product"].create({"name": name, "default_code": sku, "is_storable": True})

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
        self.shop = self.env["retail.backend"].create({
            "name": "Partner shop", "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "api_secret": "token-shop", "webhook_secret": "whsec-shop", "warehouse_id": self.warehouse.id,
        })
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
