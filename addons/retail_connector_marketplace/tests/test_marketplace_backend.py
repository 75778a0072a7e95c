# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import Form, TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestMarketplaceBackend(TransactionCase):
    def test_shopify_backend_gets_api_version_and_marketplace_policies(self):
        backend = self.env["retail.backend"].create(
            {"name": "Shopify EU", "backend_type": "shopify", "endpoint_url": "https://eu.myshopify.com"}
        )
        self.assertEqual(backend.api_version, "2025-10")
        orders = backend.policy_for("orders")
        self.assertEqual((orders.mode, orders.interval_number, orders.interval_type), ("realtime", 10, "minutes"))
        self.assertEqual(orders.cron_id.interval_number, 10)

    def test_choosing_woocommerce_in_the_form_sets_its_api_version(self):
        form = Form(self.env["retail.backend"])
        form.name = "Woo shop"
        form.backend_type = "woocommerce"
        self.assertEqual(form.api_version, "wc/v3")
        backend = form.save()
        self.assertEqual(backend.policy_for("inventory").interval_number, 30)

    def test_generic_backend_keeps_the_base_defaults(self):
        backend = self.env["retail.backend"].create({"name": "Partner", "backend_type": "generic"})
        self.assertEqual(backend.policy_for("orders").interval_number, 15)
