# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The shop's catalogue read into Odoo (onboarding) and compared with it (catalogue reconciliation)."""

from odoo.addons.component.core import Component

from ..lib.woocommerce.catalog import read_catalog_page


class WooCatalogReader(Component):
    """The shop's products page after page (``GET products``), variable ones with their variations."""

    _name = "retail.woo.catalog.reader"
    _inherit = "retail.catalog.reader.base"
    _backend_type = "woocommerce"

    def read_page(self, cursor=None, page_size=None):
        items, next_cursor, _products = read_catalog_page(self.component(usage="backend.adapter").client(), cursor, page_size)
        # the shop counts products, not variants: the total is known at the end
        return items, next_cursor, None


class WooCatalogReconciler(Component):
    """The shop's products and variations against Odoo's."""

    _name = "retail.woo.catalog.reconciler"
    _inherit = "retail.catalog.reconciler.base"
    _usage = "catalog.reconciler"
    _backend_type = "woocommerce"
