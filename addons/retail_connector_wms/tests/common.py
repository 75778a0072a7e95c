# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).


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
