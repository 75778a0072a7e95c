# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from .jobs import perform_pending_jobs
from .test_outbound import OutboundCase


@tagged("post_install", "-at_install")
class TestAssortment(OutboundCase):
    """A backend sells a defined set of products: only those are sent, and a new one is published first."""

    def setUp(self):
        super().setUp()
        for domain in ("inventory", "pricing", "catalog"):
            self.backend.policy_for(domain).mode = "event"
        self.category = self.env["product.category"].create({"name": "Sold online"})
        self.online = self.products[:3]
        self.online.categ_id = self.category
        self.backend.assortment_scope = "defined"
        perform_pending_jobs(self.env)  # nothing is sold yet: nothing goes

    def test_products_outside_the_assortment_are_never_sent(self):
        self.assertFalse(self.channel.calls)
        self._receive(1, self.products[10:12])
        self.products[10].list_price = 99
        self.products[11].name = "Renamed"
        self.assertFalse(self.env["retail.export.request"].search([("backend_id", "=", self.backend.id)]))
        perform_pending_jobs(self.env)
        self.assertFalse(self.channel.calls, "the channel hears nothing of products it does not sell")
        self.assertEqual(self.backend.assortment_count, 0)
        self.assertFalse(self.products[10].retail_backend_ids)

    def test_a_product_joining_the_assortment_is_published_then_its_stock_and_price_follow(self):
        self.backend.assortment_categ_ids = self.category
        self.assertEqual(self.backend.assortment_count, 3)
        self.assertEqual(self.online.mapped("retail_backend_ids"), self.backend)
        self.assertEqual(set(self._pending("catalog").mapped("res_id")), set(self.online.ids))
        self.assertFalse(self._pending("inventory"), "its stock waits for its publication")
        self._receive(2, self.online[:1])
        self.assertFalse(self._pending("inventory"), "still unpublished: the stock waits")
        perform_pending_jobs(self.env)
        published = self.channel.calls_to("POST", "/api/v1/products/batch")
        self.assertEqual(len(published), 1, "the three products in one call")
        self.assertEqual({i["sku"] for i in published[0].json()["items"]}, {"OUT-000", "OUT-001", "OUT-002"})
        bindings = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(bindings.odoo_id, self.online)
        self.assertEqual(set(bindings.mapped("external_id")),
                         {self.channel.product(sku)["id"] for sku in ("OUT-000", "OUT-001", "OUT-002")})
        self.assertEqual(self.channel.stock_level("OUT-000", self.warehouse.code), 2, "stock after publication")
        self.assertEqual(self.channel.price_of("OUT-001")["price"], "11.00")
        first_stock = self.channel.calls_to("POST", "/api/v1/stock/batch")[0]
        calls = self.channel.calls.all()
        self.assertLess(calls.index(published[0]), calls.index(first_stock))

        # published: its changes go at once, and only its own
        self.online[0].name = "Item 000, renamed"
        self._receive(1, self.online[1:2] | self.products[50:51])
        self.assertEqual(self._pending("catalog").res_id, self.online[0].id)
        self.assertEqual(self._pending("inventory").res_id, self.online[1].id)
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.product("OUT-000")["name"], "Item 000, renamed")
        self.assertIsNone(self.channel.stock_level("OUT-050", self.warehouse.code))

    def test_a_product_moved_into_a_category_of_the_rules_joins(self):
        self.backend.assortment_categ_ids = self.category
        perform_pending_jobs(self.env)
        newcomer = self.products[20]
        newcomer.categ_id = self.category
        self.assertEqual(self._pending("catalog").res_id, newcomer.id)
        perform_pending_jobs(self.env)
        self.assertTrue(self.channel.product("OUT-020"))
        self.assertIn(self.backend, newcomer.retail_backend_ids)

    def test_tags_and_the_pricelist_add_products(self):
        tag = self.env["product.tag"].create({"name": "web"})
        self.products[30].product_tmpl_id.product_tag_ids = tag
        pricelist = self.env["product.pricelist"].create({"name": "Web prices"})
        self.env["product.pricelist.item"].create({"pricelist_id": pricelist.id, "applied_on": "0_product_variant",
                                                   "product_id": self.products[31].id, "fixed_price": 5})
        self.backend.write({"assortment_tag_ids": [(6, 0, tag.ids)], "pricelist_id": pricelist.id,
                            "assortment_pricelist": True})
        self.assertEqual(self.env["product.product"].search(self.backend._assortment_domain()),
                         self.products[30:32])

    def test_bound_products_are_in_the_assortment_and_every_saleable_product_is_the_open_one(self):
        self.env["retail.product.binding"].create({"backend_id": self.backend.id, "odoo_id": self.products[40].id,
                                                   "external_id": "X-40"})
        self.assertEqual(self.backend._in_assortment(self.products[39:41]), self.products[40])
        self._receive(1, self.products[39:41])
        self.assertEqual(self._pending("inventory").res_id, self.products[40].id)
        self.backend.assortment_scope = "all"
        self.assertEqual(self.backend._in_assortment(self.products[39:41]), self.products[39:41])
