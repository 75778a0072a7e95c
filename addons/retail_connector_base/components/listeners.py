# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Change capture: Odoo changes that channels must hear about become export requests.

Listeners only record what changed; the coalescing, the bulk calls and the rate limits are
the export pipeline's. A change caused by a backend's own event (``retail_origin_backend``)
is not echoed back to that backend, while the other backends still hear of it (an order from
one shop reserves stock that every other channel must stop selling). ``connector_no_export``
silences every export.
"""

from odoo.addons.component.core import Component
from odoo.addons.component_event import skip_if

PRICE_FIELDS = {"list_price", "lst_price", "standard_price", "product_template_variant_value_ids"}
CATALOG_FIELDS = {"name", "default_code", "barcode", "active", "description_sale", "sale_ok", "weight", "image_1920",
                  "image_variant_1920"}


def _skip(self, record, *args, **kwargs):
    return self.no_connector_export(record)


class RetailListener(Component):
    """Shared helpers of the retail listeners."""

    _name = "retail.listener.base"
    _inherit = "base.connector.listener"
    _apply_on = []

    def _backends(self, domain, company=None):
        """Return the active backends whose policy sends ``domain`` to the channel."""
        search = [("active", "=", True)]
        if company:
            search.append(("company_id", "=", company.id))
        backends = self.env["retail.backend"].sudo().search(search)
        return backends.filtered(
            lambda b: (p := b.policy_for(domain)) and p.mode != "off" and p.direction in ("outbound", "both")
        )

    def _request(self, backends, domain, records):
        """Request exports, except to the backend whose own event caused the change (no echo)."""
        Request = self.env["retail.export.request"].sudo()
        origin = self.env.context.get("retail_origin_backend")
        for backend in backends:
            if backend.id != origin:
                Request._request(backend, domain, records)


# Move states that change a product's free quantity: reserved, done or released.
ATS_STATES = ("assigned", "partially_available", "done", "cancel")


class StockMoveListener(Component):
    """A stock move reserved, done or cancelled changes what the channels may sell."""

    _name = "retail.stock.move.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["stock.move"]

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()) or record.state not in ATS_STATES:
            return
        if record.state == "done":
            self._delivered(record)
        product = record.product_id
        if not product.is_storable:
            return
        for backend in self._backends("inventory", record.company_id):
            with backend.work_on(backend._name) as work:
                locations = work.component(usage="availability").sell_locations() | backend.location_map_ids.location_ids
            touched = record.location_id | record.location_dest_id
            if touched.filtered_domain([("id", "child_of", locations.ids)]):
                self._request(backend, "inventory", product)


    def _delivered(self, move):
        """A delivery move of a channel order done: its picking is a fulfilment to send.

        The picking's own state is computed from its moves (no write to listen to); the
        requests of all its moves coalesce into one per picking.
        """
        picking = move.picking_id
        if not picking or picking.picking_type_code != "outgoing" or not picking.sale_id:
            return
        for binding in picking.sale_id.retail_bind_ids:
            if binding.backend_id in self._backends("fulfilment"):
                self._request(binding.backend_id, "fulfilment", picking)


class SaleOrderListener(Component):
    """A channel order cancelled in Odoo is cancelled on the channel."""

    _name = "retail.sale.order.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["sale.order"]

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()) or record.state != "cancel":
            return
        for binding in record.retail_bind_ids:
            if binding.backend_id in self._backends("orders"):
                self._request(binding.backend_id, "orders", record)


class ProductListener(Component):
    """Price and catalogue changes of products go to the channels in their batch."""

    _name = "retail.product.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["product.product", "product.template"]

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        fields = set(fields or ())
        variants = record.product_variant_ids if record._name == "product.template" else record
        if fields & PRICE_FIELDS:
            self._request(self._backends("pricing", record.company_id or None), "pricing", variants)
        if fields & CATALOG_FIELDS:
            self._request(self._backends("catalog", record.company_id or None), "catalog", variants)


class PricelistItemListener(Component):
    """A rule of a backend's pricelist changed: the prices it governs go to the channel."""

    _name = "retail.pricelist.item.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["product.pricelist.item"]

    @skip_if(_skip)
    def on_record_create(self, record, fields=None):
        self._changed(record)

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        self._changed(record)

    @skip_if(_skip)
    def on_record_unlink(self, record):
        self._changed(record)

    def _changed(self, item):
        backends = self._backends("pricing").filtered(lambda b: b.pricelist_id == item.pricelist_id)
        if not backends:
            return
        products = self._governed_products(item)
        for backend in backends:
            sold = self.env["retail.product.binding"].search([("backend_id", "=", backend.id)]).odoo_id
            # a global rule changes every price: only what the channel sells is sent
            self._request(backend, "pricing", products & sold if item.applied_on in ("3_global", "2_product_category") else products)

    def _governed_products(self, item):
        Product = self.env["product.product"]
        if item.applied_on == "0_product_variant":
            return item.product_id
        if item.applied_on == "1_product":
            return item.product_tmpl_id.product_variant_ids
        if item.applied_on == "2_product_category":
            return Product.search([("categ_id", "child_of", item.categ_id.id), ("default_code", "!=", False)])
        return Product.search([("default_code", "!=", False), ("sale_ok", "=", True)])
