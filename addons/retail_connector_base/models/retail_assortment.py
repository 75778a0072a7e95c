# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What each backend sells: its assortment.

A backend sells the products bound to it (published on the channel or matched by SKU) and the
products a person's rules add: product categories, product tags, the products its pricelist
prices. Stock, price and catalogue exports go for the assortment only: a channel is never sent
a product it does not sell. A product joining the assortment is published first where the
channel takes the catalogue (its stock and price follow its publication), else its stock and
price are sent at once. ``Every saleable product`` keeps the assortment open (every product
with a SKU, as the channel finds them).
"""

from odoo import api, fields, models
from odoo.fields import Domain

from .retail_access import check_retail_access

# domains whose exports are products of the assortment
ASSORTMENT_DOMAINS = ("inventory", "pricing", "catalog")


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    assortment_scope = fields.Selection(
        [("all", "Every saleable product"), ("defined", "Bound products and the rules")],
        string="Sells", default="all", required=True, tracking=True,
        help="Every saleable product: stock and prices of every product with a SKU are offered to the channel, "
        "which sells those it finds. Bound products and the rules: only the products bound to this backend and "
        "those the rules below add; the others are never sent.")
    assortment_categ_ids = fields.Many2many(
        "product.category", "retail_backend_assortment_categ_rel", "backend_id", "categ_id",
        string="Product categories", help="Products of these categories (and their subcategories) are sold here.")
    assortment_tag_ids = fields.Many2many(
        "product.tag", "retail_backend_assortment_tag_rel", "backend_id", "tag_id", string="Product tags",
        help="Products with one of these tags are sold here.")
    assortment_pricelist = fields.Boolean(
        string="Products of the pricelist",
        help="Products (or variants) that have a rule of their own in the backend's pricelist are sold here.")
    assortment_count = fields.Integer(string="Assortment", compute="_compute_assortment_count")

    @api.depends("assortment_scope", "assortment_categ_ids", "assortment_tag_ids", "assortment_pricelist",
                 "pricelist_id")
    def _compute_assortment_count(self):
        Product = self.env["product.product"]
        for backend in self:
            backend.assortment_count = Product.search_count(backend._assortment_domain()) if backend.id else 0

    def _assortment_domain(self):
        """Return the search domain of the products this backend sells."""
        self.ensure_one()
        base = Domain([("sale_ok", "=", True), ("company_id", "in", [False, self.company_id.id])])
        if self.assortment_scope == "all":
            return base & Domain("default_code", "!=", False)
        rules = [Domain("retail_bind_ids.backend_id", "=", self.id)]
        if self.assortment_categ_ids:
            rules.append(Domain("categ_id", "child_of", self.assortment_categ_ids.ids))
        if self.assortment_tag_ids:
            rules.append(Domain("all_product_tag_ids", "in", self.assortment_tag_ids.ids))
        if self.assortment_pricelist and self.pricelist_id:
            items = self.pricelist_id.item_ids
            rules.append(Domain("id", "in", items.product_id.ids)
                         | Domain("product_tmpl_id", "in", items.product_tmpl_id.ids))
        return base & Domain.OR(rules)

    def _in_assortment(self, products):
        """Return those of ``products`` this backend sells."""
        self.ensure_one()
        if not products:
            return products
        if self.assortment_scope == "all":
            return products
        found = products.sudo().with_context(active_test=False).search(
            Domain("id", "in", products.ids) & self._assortment_domain())
        return products.browse(found.ids)

    def _bound(self, products):
        """Return those of ``products`` bound to this backend."""
        self.ensure_one()
        bindings = self.env["retail.product.binding"].sudo().with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("odoo_id", "in", products.ids)])
        return products.browse(bindings.odoo_id.ids)

    def _publishes_first(self):
        """Return whether a product joining the assortment is published before its stock and price go."""
        self.ensure_one()
        return self.assortment_scope == "defined" and self._can_export("catalog")

    def _assortment_joined(self, products):
        """``products`` may have joined the assortment: publish the unbound ones, or send their stock and price."""
        Request = self.env["retail.export.request"].sudo()
        for backend in self.filtered(lambda b: b.active and b.assortment_scope == "defined"):
            new = backend._in_assortment(products) - backend._bound(products)
            if not new:
                continue
            if backend._publishes_first():
                Request._request(backend, "catalog", new)
            else:
                Request._request(backend, "inventory", new.filtered("is_storable"))
                Request._request(backend, "pricing", new)

    def write(self, vals):
        rules = {"assortment_scope", "assortment_categ_ids", "assortment_tag_ids", "assortment_pricelist",
                 "pricelist_id"}
        before = {b.id: set(b.env["product.product"].search(b._assortment_domain()).ids)
                  for b in self} if rules & set(vals) else {}
        res = super().write(vals)
        for backend in self.filtered(lambda b: b.id in before):
            joined = set(self.env["product.product"].search(backend._assortment_domain()).ids) - before[backend.id]
            backend._assortment_joined(self.env["product.product"].browse(sorted(joined)))
        return res

    def action_open_assortment(self):
        """Show the products this backend sells."""
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Sold on %(backend)s", backend=self.name),
            "res_model": "product.product",
            "view_mode": "list,form",
            "domain": list(self._assortment_domain()),
        }


class RetailExportRequestAssortment(models.Model):
    _inherit = "retail.export.request"

    @api.model
    def _request(self, backend, domain, records):
        """Products go only to the backends that sell them; one joining the assortment is published first."""
        if domain in ASSORTMENT_DOMAINS and records and records._name == "product.product":
            records = backend._in_assortment(records)
            if domain != "catalog" and records and backend._publishes_first() and \
                    not self.env.context.get("retail_published"):
                unbound = records - backend._bound(records)
                if unbound:
                    # its stock and price follow its publication (the catalogue exporter requests them)
                    super()._request(backend, "catalog", unbound)
                    records -= unbound
        return super()._request(backend, domain, records)


class ProductProduct(models.Model):
    _inherit = "product.product"

    retail_backend_ids = fields.Many2many(
        "retail.backend", string="Sold on", compute="_compute_retail_backend_ids",
        groups="retail_connector_base.group_retail_user",
        help="The retail backends whose assortment has this product.")

    def _compute_retail_backend_ids(self):
        backends = self.env["retail.backend"].sudo().search([])
        Product = self.env["product.product"].sudo().with_context(active_test=False)
        sold = {backend: set(Product.search(Domain("id", "in", self.ids) & backend._assortment_domain()).ids)
                for backend in backends}
        for product in self:
            product.retail_backend_ids = self.env["retail.backend"].browse(
                [b.id for b, ids in sold.items() if product.id in ids])

    def write(self, vals):
        res = super().write(vals)
        if {"categ_id", "product_tag_ids", "additional_product_tag_ids", "sale_ok"} & set(vals):
            self.env["retail.backend"].sudo().search([("assortment_scope", "=", "defined")])._assortment_joined(self)
        return res


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def write(self, vals):
        res = super().write(vals)
        if {"categ_id", "product_tag_ids", "sale_ok"} & set(vals):
            self.env["retail.backend"].sudo().search([("assortment_scope", "=", "defined")])._assortment_joined(
                self.product_variant_ids)
        return res
