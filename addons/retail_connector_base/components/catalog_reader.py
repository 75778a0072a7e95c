# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Reading a channel's catalogue page by page, for onboarding and for the catalogue reconciliation."""

from odoo.exceptions import UserError, ValidationError

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.http import ChannelValidationError


class CatalogReader(AbstractComponent):
    """A channel's catalogue, one page of variants at a time, in the connector's words.

    Channels implement ``read_page``. A variant is a dict: ``external_id`` (the variant's id on
    the channel, what its binding keeps), ``product_ref`` (its product's id: variants of one
    product become one template), ``product_name``, ``name``, ``sku``, ``barcode``, ``price``
    (text), ``options`` ([{name, value}]), ``description``, ``active`` and ``channel_ref`` (a
    second channel id the binding keeps, e.g. Shopify's inventory item).
    """

    _name = "retail.catalog.reader.base"
    _inherit = "retail.resumable.read"  # its client's own waits are a moment within a read that stops instead
    _apply_on = ["retail.catalog.onboarding", "retail.reconciliation.run"]
    _usage = "catalog.reader"

    def read_page(self, cursor=None, page_size=None):
        """Return ``(variants, next cursor or None, total variants or None)`` of the page at ``cursor``
        (None: the first). A cursor is text the channel gave: kept between jobs to resume there."""
        raise NotImplementedError

    def iter_pages(self, page_size=None, cursor=None, on_cursor=None):
        """Yield the whole catalogue, page after page (from the page at ``cursor``; ``on_cursor`` is called with
        each next page's cursor before it is asked for)."""
        while True:
            items, cursor, _total = self.read_page(cursor, page_size)
            yield items
            if not cursor:
                return
            if on_cursor is not None:
                on_cursor(cursor)


class GenericCatalogReader(Component):
    """The generic channel's products: ``GET /api/v1/products?limit=&cursor=`` (keyset pages, ``next_cursor``)."""

    _name = "retail.generic.catalog.reader"
    _inherit = "retail.catalog.reader.base"
    _backend_type = "generic"
    _page_size = 100

    def read_page(self, cursor=None, page_size=None):
        params = {"limit": page_size or self._page_size}
        if cursor:
            params["cursor"] = cursor
        answer = self.component(usage="backend.adapter").request("GET", "/api/v1/products", params=params)
        data = answer.data or {}
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ChannelValidationError("GET /api/v1/products: the answer has no list of items")
        total = {str(k).lower(): v for k, v in (answer.headers or {}).items()}.get("x-total-count")
        items = [{
            "external_id": str(p.get("id") or p["sku"]), "product_ref": p.get("parent_sku") or None,
            "product_name": p.get("product_name") or p.get("name"), "name": p.get("name"), "sku": p.get("sku"),
            "barcode": p.get("barcode") or None, "price": p.get("price"), "options": p.get("options") or [],
            "description": p.get("description") or None, "active": p.get("active", True), "channel_ref": None,
        } for p in data["items"] if isinstance(p, dict) and p.get("sku")]
        return items, data.get("next_cursor") or None, int(total) if str(total or "").isdigit() else None


class CatalogReconciler(AbstractComponent):
    """The channel's catalogue against Odoo's products: missing, extra and different, by SKU.

    A SKU on the channel and not in Odoo is created in Odoo when the channel owns the catalogue
    (and its policy lets it bring products in), else reported; a product bound to the backend
    that the channel no longer has is exported again when Odoo owns the catalogue; a name or
    barcode that differs is put back by its owner (an export, or Odoo set to the channel's).
    """

    _name = "retail.catalog.reconciler.base"
    _inherit = "retail.reconciler"
    _domain = "catalog"
    _resume = "cursor"  # the catalogue reader's page cursor

    def reconcile(self, run):
        def pages():
            for page in self.component(usage="catalog.reader").iter_pages(cursor=self._page_cursor,
                                                                           on_cursor=self._keep_cursor):
                channel = {}
                for item in page:
                    if item.get("sku"):
                        channel.setdefault(item["sku"], item)  # the first item of a SKU stands for it
                yield channel, set(channel)

        return self._compare_pages(run, pages(), self._compare_catalog)

    def _compare_catalog(self, run, channel, skus):
        checked = 0
        missing = []
        for products, chunk in self._products_by_sku(skus, with_bound=False):
            for sku in chunk:
                product, theirs = products.get(sku), channel.get(sku)
                checked += 1
                if not product:
                    missing.append(theirs)
                    continue
                if theirs is None:
                    self._repair_export(run, "missing_on_channel", sku, product.display_name, None, product)
                    continue
                ours_name = product.product_tmpl_id.name
                theirs_name = theirs.get("product_name") or theirs.get("name")
                if theirs_name and theirs_name != ours_name:
                    self._repair_export(run, "catalog_drift", "%s: %s" % (sku, self.env._("name")), ours_name,
                                        theirs_name, product, field_name="name", field_label=self.env._("Name"),
                                        channel_raw=theirs_name)
                ours_barcode = product.barcode or None
                theirs_barcode = theirs.get("barcode") or None
                if ours_barcode != theirs_barcode and (ours_barcode or theirs_barcode):
                    self._repair_export(run, "catalog_drift", "%s: %s" % (sku, self.env._("barcode")), ours_barcode,
                                        theirs_barcode, product, field_name="barcode",
                                        field_label=self.env._("Barcode"), channel_raw=theirs_barcode or "")
        if missing:
            self._repair_missing(run, [m for m in missing if m])
        return checked

    def _repair_missing(self, run, items):
        """Bring in the channel's products Odoo lacks when the channel owns the catalogue, else report them."""
        backend = self.backend_record
        owner = backend._owner_of("catalog", "product", "default_code")
        if owner != "channel" or not backend._catalog_may_create():
            for item in items:
                run._add("missing_in_odoo", item["sku"], None, item.get("name"), message=self.env._(
                    "on the channel, not in Odoo: Odoo owns the catalogue, a person decides (onboard it or remove "
                    "it from the channel)"))
            return
        plan = backend._plan_catalog_matches(items, create=True)
        try:
            with self.env.cr.savepoint():
                backend._apply_catalog_plan(plan)
        except (UserError, ValidationError) as exc:
            for item in items:
                run._add("missing_in_odoo", item["sku"], None, item.get("name"), action="failed",
                         message=self.env._("Odoo could not create it: %(error)s", error=exc.args[0]))
            return
        for entry in plan:
            item, product = entry["item"], entry["product"]
            if entry["action"] in ("create", "match_sku", "match_barcode") and product:
                run._add("missing_in_odoo", item["sku"], None, item.get("name"), action="repaired",
                         message=self.env._("created in Odoo from the channel") if entry["action"] == "create"
                         else entry["message"], res_model="product.product", res_id=product.id)
            else:
                run._add("missing_in_odoo", item["sku"], None, item.get("name"), message=entry["message"])

    def _apply_channel_value(self, product, field_name, channel_raw):
        backend = self.backend_record
        target = product.sudo().with_context(retail_origin_backend=backend.id)
        try:
            with self.env.cr.savepoint():
                if field_name == "name":
                    target.product_tmpl_id.name = channel_raw
                else:
                    target[field_name] = channel_raw or False
        except (UserError, ValidationError) as exc:
            return self.env._("Odoo could not take the channel's value: %(error)s", error=exc.args[0])
        return None


class GenericCatalogReconciler(Component):
    """The generic channel's products against Odoo's."""

    _name = "retail.generic.catalog.reconciler"
    _inherit = "retail.catalog.reconciler.base"
    _usage = "catalog.reconciler"
    _backend_type = "generic"
