# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import Form, TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestAmazonBackend(TransactionCase):
    def _backend(self, **values):
        return self.env["retail.backend"].create(dict({
            "name": "Amazon EU", "backend_type": "amazon", "api_key": "amzn1.application-oa2-client.x",
            "api_secret": "lwa-secret", "amazon_refresh_token": "Atzr|refresh", "amazon_seller_id": "A3SELLER",
            "amazon_marketplace_ids": "A1PA6795UKMFR9, A13V1IB3VIYZZH",
        }, **values))

    def test_a_new_backend_gets_its_region_endpoint_and_policies(self):
        backend = self._backend()
        self.assertEqual(backend.endpoint_url, "https://sellingpartnerapi-eu.amazon.com")
        self.assertEqual(backend._amazon_marketplaces(), ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"])
        orders = backend.policy_for("orders")
        self.assertEqual((orders.mode, orders.interval_number, orders.interval_type), ("realtime", 10, "minutes"))
        self.assertEqual(backend.policy_for("inventory").mode, "event")
        self.assertEqual(backend.policy_for("fulfilment").mode, "event")
        # settlements (financial event groups) once a day after the cut-off
        self.assertEqual(backend.policy_for("finance").mode, "batch")

    def test_choosing_a_region_in_the_form_sets_its_endpoint(self):
        form = Form(self.env["retail.backend"])
        form.name = "Amazon US"
        form.backend_type = "amazon"
        form.amazon_region = "na"
        self.assertEqual(form.endpoint_url, "https://sellingpartnerapi-na.amazon.com")

    def test_the_credentials_are_stored_encrypted(self):
        backend = self._backend(amazon_aws_secret_access_key="aws-secret")
        self.env.flush_all()
        self.env.cr.execute("SELECT amazon_refresh_token, amazon_aws_secret_access_key, api_secret "
                            "FROM retail_backend WHERE id = %s", [backend.id])
        stored = self.env.cr.fetchone()
        self.assertNotIn("Atzr|refresh", stored[0])
        self.assertNotIn("aws-secret", stored[1])
        self.assertNotIn("lwa-secret", stored[2])
        self.assertEqual(backend.amazon_refresh_token, "Atzr|refresh")

    def test_the_amazon_fulfilment_warehouse_is_made_once(self):
        backend = self._backend()
        warehouse = backend._amazon_afn_warehouse()
        self.assertEqual((warehouse.code, backend.amazon_afn_warehouse_id), ("AFN", warehouse))
        self.assertEqual(backend._amazon_afn_warehouse(), warehouse)
        self.assertEqual(self._backend(name="Amazon UK")._amazon_afn_warehouse(), warehouse)

    def test_readiness_names_the_missing_amazon_credentials(self):
        backend = self._backend(amazon_refresh_token=False, amazon_seller_id=False)
        labels = [label for _field, label in backend._readiness_required_fields()
                  if not backend.sudo()[_field]]
        self.assertIn("LWA refresh token", labels)
        self.assertIn("Seller id", labels)
