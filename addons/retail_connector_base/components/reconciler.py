# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent, Component

CHUNK = 500  # products compared at a time: memory stays bounded whatever the catalogue size


class RetailReconciler(AbstractComponent):
    """Compares a channel's view of one domain with Odoo's and repairs within the policy.

    Repairs go through the normal paths (the inbox for imports, export requests for exports),
    so a repair is rate limited, coalesced and retried like any other change.
    """

    _name = "retail.reconciler"
    _inherit = "retail.base"
    _apply_on = "retail.reconciliation.run"
    _domain = None

    def reconcile(self, run):
        """Record the differences on ``run``, repair them; return how many objects were compared."""
        raise NotImplementedError

    def _odoo_wins(self):
        return self.backend_record.policy_for(self._domain).system_of_record == "odoo"

    def _products_by_sku(self, skus):
        """Yield {sku: product} chunks for the SKUs the channel holds, plus the backend's bound products."""
        backend = self.backend_record
        Product = self.env["product.product"]
        bound = self.env["retail.product.binding"].search([("backend_id", "=", backend.id)]).odoo_id
        skus = set(skus) | set(bound.filtered("default_code").mapped("default_code"))
        ordered = sorted(skus)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            products = Product.search(
                [("default_code", "in", chunk), ("company_id", "in", [False, backend.company_id.id])]
            )
            yield {p.default_code: p for p in products}, chunk
            # what the chunk loaded (products, levels, prices, lines) is written: memory stays that of one chunk
            self.env.invalidate_all()

    def _repair_export(self, run, kind, key, odoo_value, channel_value, product):
        if self._odoo_wins():
            self.env["retail.export.request"]._request(self.backend_record, self._domain, product)
            run._add(kind, key, odoo_value, channel_value, action="repaired",
                     message=self.env._("sent again"), res_model=product._name, res_id=product.id)
        else:
            run._add(kind, key, odoo_value, channel_value, action="reported",
                     message=self.env._("the channel is the system of record"))


class GenericInventoryReconciler(Component):
    """Channel stock levels (``GET /api/v1/stock``) against Odoo's available to sell."""

    _name = "retail.generic.inventory.reconciler"
    _inherit = "retail.reconciler"
    _usage = "inventory.reconciler"
    _backend_type = "generic"
    _domain = "inventory"

    def reconcile(self, run):
        backend = self.backend_record
        headers = {"Authorization": "Bearer " + (backend.sudo().api_secret or "")}
        items = backend._http_client().request("GET", "/api/v1/stock", headers=headers).data.get("items", [])
        channel = {(i["sku"], str(i["location_id"])): i["quantity"] for i in items}
        checked = 0
        locations = backend._channel_locations()
        for products, skus in self._products_by_sku({sku for sku, _loc in channel}):
            for location_id, odoo_locations in locations:
                levels = backend._available_to_sell(self.env["product.product"].browse([p.id for p in products.values()]), odoo_locations)
                for sku in skus:
                    product = products.get(sku)
                    theirs = channel.get((sku, str(location_id)))
                    checked += 1
                    if not product:
                        run._add("missing_in_odoo", sku, None, theirs, message=self.env._("no Odoo product has this SKU"))
                        continue
                    ours = levels[product.id]
                    if theirs is None:
                        self._repair_export(run, "missing_on_channel", "%s @ %s" % (sku, location_id), ours, None, product)
                    elif int(theirs) != int(ours):
                        self._repair_export(run, "quantity_drift", "%s @ %s" % (sku, location_id), ours, theirs, product)
        return checked


class GenericPricingReconciler(Component):
    """Channel prices (``GET /api/v1/prices``) against the backend's pricelist."""

    _name = "retail.generic.pricing.reconciler"
    _inherit = "retail.reconciler"
    _usage = "pricing.reconciler"
    _backend_type = "generic"
    _domain = "pricing"

    def reconcile(self, run):
        backend = self.backend_record
        headers = {"Authorization": "Bearer " + (backend.sudo().api_secret or "")}
        items = backend._http_client().request("GET", "/api/v1/prices", headers=headers).data.get("items", [])
        channel = {i["sku"]: i for i in items}
        checked = 0
        for products, skus in self._products_by_sku(channel):
            for sku in skus:
                product = products.get(sku)
                if not product:
                    continue
                checked += 1
                ours = backend._channel_price(product)
                theirs = channel.get(sku)
                if not theirs:
                    self._repair_export(run, "missing_on_channel", sku, ours["price"], None, product)
                elif (theirs["price"], theirs["currency"]) != (ours["price"], ours["currency"]):
                    self._repair_export(run, "price_drift", sku, "%s %s" % (ours["price"], ours["currency"]),
                                        "%s %s" % (theirs["price"], theirs["currency"]), product)
        return checked
