# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component

from ..lib.text import is_storable, storable
from .errors import RetailMappingError


class ProductResolver(Component):
    """Finds the Odoo product of a channel line: by binding (id, then channel SKU or barcode), then SKU, then barcode.

    An unknown product is a RetailMappingError naming what was looked for: an order line is
    never skipped silently.
    """

    _name = "retail.product.resolver"
    _inherit = "retail.base"
    _usage = "product.resolver"
    _apply_on = "retail.product.binding"

    def resolve(self, sku=None, barcode=None, external_id=None, label=None):
        """Return the product.product of a channel line, or raise RetailMappingError.

        While a dispatcher applies a batch of events, what a code resolved to is remembered for
        the rest of the batch (its transaction): the same products recur across its orders.
        """
        token = self.env.context.get("retail_order_batch")
        found = self.env.cr.cache.setdefault(("retail_products", token), {}) if token else {}
        key = (self.backend_record.id, sku, barcode, external_id)
        if key in found:
            return self.env["product.product"].browse(found[key])
        product = self._find(sku, barcode, external_id)
        if product:
            found[key] = product.id
        if not product:
            tried = ", ".join(
                "%s %s" % (name, value)
                for name, value in (("external id", external_id), ("SKU", sku), ("barcode", barcode))
                if value
            )
            raise RetailMappingError(
                self.env._(
                    "Unknown product %(label)s on backend %(backend)s: no Odoo product matches %(tried)s. "
                    "Create the product, set its internal reference or barcode, or import its id as a legacy identifier.",
                    label=storable(label or sku or barcode or external_id or ""),
                    backend=self.backend_record.name,
                    tried=storable(tried) or "nothing (the line has no SKU, barcode or id)",
                ),
                kind="unknown_product",
                subject={"type": "product", "sku": sku or "", "barcode": barcode or "", "name": label or "",
                         "external_id": external_id or ""},
            )
        return product

    def _find(self, sku, barcode, external_id):
        # a code with a NUL or a lone surrogate cannot be stored, so nothing stored matches it:
        # looked up, it would only make the query fail instead of naming the unknown product
        sku, barcode, external_id = (value if is_storable(value) else None for value in (sku, barcode, external_id))
        binder = self.binder_for("retail.product.binding")
        if external_id:
            product = binder.to_internal(external_id, unwrap=True)
            if product:
                return product
        codes = [code for code in (sku, barcode) if code]
        if codes:
            # a channel code bound to a product whose own reference differs (e.g. an accepted suggestion)
            bound = self.env["retail.product.binding"].search(
                [("backend_id", "=", self.backend_record.id), ("channel_sku", "in", codes)], limit=1
            )
            if bound:
                return bound.odoo_id
        Product = self.env["product.product"]
        company = [("company_id", "in", [False, self.backend_record.company_id.id])]
        for field, value in (("default_code", sku), ("barcode", barcode)):
            if not value:
                continue
            found = Product.search(company + [(field, "=", value)], limit=2)
            if len(found) == 1:
                return found
            if len(found) > 1:
                raise RetailMappingError(
                    self.env._(
                        "Several Odoo products have %(field)s %(value)s: make it unique so channel lines map to one product.",
                        field=Product._fields[field].string,
                        value=value,
                    ),
                    kind="ambiguous_product",
                )
        return Product.browse()
