# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import math

from odoo.addons.component.core import Component


class RetailAvailability(Component):
    """What a backend offers to sell: its stock locations and the units available to sell from them.

    Used on any work context of the backend (``work.component(usage="availability")``) by the
    exporters, the reconcilers, the stock listener and the partner API's availability read.
    """

    _name = "retail.availability"
    _inherit = "retail.base"
    _usage = "availability"

    def sell_locations(self):
        """Return the Odoo locations whose stock the backend sells (its warehouse's stock by default)."""
        backend = self.backend_record
        return backend.stock_location_ids or backend.warehouse_id.lot_stock_id or self.env["stock.warehouse"].search(
            [("company_id", "=", backend.company_id.id)], limit=1
        ).lot_stock_id

    def channel_locations(self):
        """Return [(channel location id, Odoo locations)] the backend sells from."""
        backend = self.backend_record
        if backend.location_map_ids:
            return [(m.external_id, m.location_ids) for m in backend.location_map_ids]
        return [(backend.warehouse_id.code or "default", self.sell_locations())]

    def available_to_sell(self, products, locations=None):
        """Return {product id: units to offer} from Odoo's free quantity in the backend's locations.

        Free quantity, minus the safety buffer, capped as a share of stock and per product,
        rounded down and never negative.
        """
        backend = self.backend_record
        locations = locations or self.sell_locations()
        result = {}
        # quants written directly (not through moves) do not invalidate the computed quantities
        products.invalidate_recordset(["free_qty", "qty_available"])
        for product in products.with_context(location=locations.ids, compute_child=True):
            free = product.free_qty
            qty = free - (backend.stock_buffer or 0.0)
            if backend.stock_max_percent:
                qty = min(qty, free * backend.stock_max_percent / 100.0)
            if backend.stock_max_qty:
                qty = min(qty, backend.stock_max_qty)
            result[product.id] = max(0, math.floor(qty + 1e-9))
        return result


class RetailPricing(Component):
    """The prices a backend sells at: its pricelist's, in the channel's money format."""

    _name = "retail.pricing"
    _inherit = "retail.base"
    _usage = "pricing"

    def channel_price(self, product):
        """Return {price, compare_at_price, currency} of a product as this channel sells it."""
        backend = self.backend_record
        pricelist = backend.pricelist_id
        currency = pricelist.currency_id or backend.company_id.currency_id
        price = pricelist._get_product_price(product, 1.0) if pricelist else product.lst_price
        compare_at = product.lst_price if pricelist and product.lst_price > price else None
        return {
            "price": currency._channel_amount(price),
            "compare_at_price": currency._channel_amount(compare_at) if compare_at else None,
            "currency": currency.name,
        }
