# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The shop's catalogue read into Odoo (onboarding) and compared with it (catalogue reconciliation)."""

from odoo.addons.component.core import Component

from ..lib.shopify.catalog import read_catalog_page
from .shopify import RECONCILIATION_WAIT


class ShopifyCatalogReader(Component):
    """The shop's products with their options and variants, a page of products per query (``products``
    connection, by cursor)."""

    _name = "retail.shopify.catalog.reader"
    _inherit = "retail.catalog.reader.base"
    _backend_type = "shopify"

    def read_page(self, cursor=None, page_size=None):
        client = self.component(usage="backend.adapter").client(max_throttle_wait=self._read_wait(RECONCILIATION_WAIT))
        items, next_cursor = read_catalog_page(client, cursor, page_size)
        return items, next_cursor, None


class ShopifyCatalogReconciler(Component):
    """The shop's products against Odoo's."""

    _name = "retail.shopify.catalog.reconciler"
    _inherit = "retail.catalog.reconciler.base"
    _usage = "catalog.reconciler"
    _backend_type = "shopify"
