# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import WooFlowCase

SKUS = ("RC-TSHIRT-S", "RC-TSHIRT-M", "RC-TSHIRT-L", "RC-MUG", "RC-CAP", "RC-HOODIE-M", "RC-TOTE")


@tagged("post_install", "-at_install")
class TestWooCommerceFlows(WooFlowCase):
    """Each WooCommerce flow over real HTTP both ways, through the shared pipeline."""

    SKUS = SKUS

    def test_order_in_then_completed_with_tracking_note(self):
        order = self.shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-TSHIRT-M", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        self.assertEqual(sale.state, "sale")
        self.assertAlmostEqual(sale.amount_total, float(order["total"]), places=2)
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "BE123456789"
        self._validate(picking)
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.get_order(order["id"])["status"], "completed")
        self.assertIn("BE123456789", " ".join(n["note"] for n in self.shop.notes(order["id"])))

    def test_stock_and_prices_out_through_batches(self):
        self.backend.policy_for("pricing").mode = "event"
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products.filtered(lambda p: p.default_code in ("RC-MUG", "RC-TSHIRT-L")))
        self.products.filtered(lambda p: p.default_code == "RC-CAP").list_price = 15.5
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.stock_of("RC-MUG"), 30)
        self.assertEqual(self.shop.stock_of("RC-TSHIRT-L"), 30, "a variation is updated through its product's batch")
        self.assertEqual(self.shop.product("RC-CAP")["regular_price"], "15.50")

    def test_stock_out_uses_the_items_its_bindings_remember(self):
        products = self.products.filtered(lambda p: p.default_code in ("RC-MUG", "RC-TSHIRT-L"))
        self.env["retail.export.request"]._request(self.backend, "inventory", products)
        perform_pending_jobs(self.env)
        self.assertEqual(len(self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("odoo_id", "in", products.ids)])), 2)
        # the next flush only sends the batches: the bindings name the product and the variation
        mark = len(self.shop.calls.all())
        self.env["stock.quant"]._update_available_quantity(
            products.filtered(lambda p: p.default_code == "RC-TSHIRT-L"), self.env.ref("stock.warehouse0").lot_stock_id, 2)
        self.env["retail.export.request"]._request(self.backend, "inventory", products)
        perform_pending_jobs(self.env)
        calls = self.shop.calls.all()[mark:]
        self.assertTrue(calls)
        self.assertEqual({(c.method, c.path.endswith("/batch")) for c in calls}, {("POST", True)})
        self.assertEqual(self.shop.stock_of("RC-TSHIRT-L"), 32)

    def test_a_look_up_takes_along_the_new_products_sent_next(self):
        """One SKU search finds the shop's items of new products beyond the flush's own, without walking
        the variations for the ones the shop lacks; their first flush looks nothing up."""
        bag = self.env["product.product"].create(
            {"name": "Bag", "default_code": "RC-BAG-NOT-SOLD", "type": "consu", "is_storable": True})
        mug = self.products.filtered(lambda p: p.default_code == "RC-MUG")
        mark = len(self.shop.calls.all())
        self.env["retail.export.request"]._request(self.backend, "inventory", mug)
        perform_pending_jobs(self.env)
        lookups = [c for c in self.shop.calls.all()[mark:] if c.method == "GET"]
        self.assertEqual(len(lookups), 1, [(c.path, c.query) for c in lookups])
        simple = self.products.filtered(lambda p: self.shop.product(p.default_code)["type"] == "simple")
        bound = self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("odoo_id", "in", (self.products | bag).ids)])
        self.assertEqual(bound.odoo_id, simple, "the shop's simple products are bound, the bag it lacks is not")

        mark = len(self.shop.calls.all())
        self.env["retail.export.request"]._request(self.backend, "inventory", simple - mug)
        perform_pending_jobs(self.env)
        self.assertEqual({(c.method, c.path.endswith("/batch")) for c in self.shop.calls.all()[mark:]}, {("POST", True)})
        self.assertEqual(self.shop.stock_of("RC-CAP"), 30)

    def test_deleted_order_cancels_and_disabled_webhook_is_repaired(self):
        order = self.shop.place_order(lines=[{"sku": "RC-CAP", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        self.shop.delete_order(order["id"], force=True)
        perform_pending_jobs(self.env)
        self.assertEqual(sale.state, "cancel")
        hook = next(h for h in self.shop.webhook_subscriptions if h["topic"] == "order.created")
        # what WooCommerce does by itself after repeated failed deliveries
        self.backend._channel_client().request("PUT", "webhooks/%d" % hook["id"], json={"status": "disabled"})
        self.assertEqual(self.shop.webhook(hook["id"])["status"], "disabled")
        run = self.backend._reconcile("orders")
        self.assertIn("webhook_disabled", run.line_ids.mapped("kind"))
        self.assertEqual(self.shop.webhook(hook["id"])["status"], "active")

    def test_refund_listed_on_the_order_is_read_and_credited_once(self):
        order = self.shop.place_order(lines=[{"sku": "RC-MUG", "quantity": 2}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        sale._create_invoices().action_post()
        line = order["line_items"][0]
        half = lambda value: "%.2f" % (float(value) / 2)  # noqa: E731
        woo_refund = self.shop.refund_order(
            order["id"], reason="one mug broken",
            line_items=[{"id": line["id"], "quantity": 1, "refund_total": half(line["total"]),
                         "refund_tax": [{"id": t["id"], "refund_total": half(t["total"])} for t in line["taxes"]]}],
        )
        perform_pending_jobs(self.env)
        refund = sale.retail_refund_ids
        self.assertEqual(refund.external_id, str(woo_refund["id"]))
        self.assertEqual((refund.reason, refund.line_ids.sku, refund.line_ids.quantity), ("one mug broken", "RC-MUG", 1.0))
        self.assertEqual(refund.credit_note_id.state, "posted", refund.message)
        self.assertAlmostEqual(refund.credit_note_id.amount_total, float(woo_refund["amount"]), places=2)
        self.shop.complete_order(order["id"])
        perform_pending_jobs(self.env)
        self.assertEqual(len(sale.retail_refund_ids), 1, "the next order update does not apply the refund again")
        calls = self.shop.calls_to("GET", "/wp-json/wc/v3/orders/%s/refunds/" % order["id"])
        self.assertEqual(len(calls), 1)
