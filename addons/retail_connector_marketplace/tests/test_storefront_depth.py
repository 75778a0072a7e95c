# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Storefronts in depth: variable products and images out, customers polled in and sent out where Odoo owns them."""

import base64

import requests

from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from . import test_shopify_flows as shopify_flows
from . import test_woocommerce_flows as woocommerce_flows

# a 1x1 PNG, and another
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PNG2 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _own_tests_only(case, base):
    """Run only this module's checks on ``base``'s set-up, not ``base``'s own tests again."""
    for name in dir(base):
        if name.startswith("test_") and callable(getattr(base, name)) and not any(
                hasattr(checks, name) for checks in (DepthChecks, ShopifyDepthChecks, WooDepthChecks)):
            setattr(case, name, None)
    return case


class DepthChecks:
    """Checks shared by the storefronts; the classes below give the shop's side."""

    def _failed(self):
        return self.env["retail.export.request"].search([("backend_id", "=", self.backend.id), ("state", "=", "failed")])

    def _customer_binding(self, external_id):
        return self.env["retail.partner.binding"].search([("backend_id", "=", self.backend.id),
                                                          ("external_id", "=", str(external_id))])

    def test_customers_missed_by_the_webhooks_are_polled_by_the_customers_schedule(self):
        policy = self.backend.policy_for("customers")
        self.assertTrue(policy.cron_id.active, "the customers policy's schedule runs the polled fallback")
        first = self._shop_customer("polled.one@example.com", "Polly", consent=True)
        second = self._shop_customer("polled.two@example.com", "Paul", consent=False)
        result = self.backend._run_scheduled_domain("customers")
        self.assertIn("reconciliation", result)
        perform_pending_jobs(self.env)
        one, two = self._customer_binding(first["id"]), self._customer_binding(second["id"])
        self.assertEqual((one.odoo_id.email, one.accepts_marketing), ("polled.one@example.com", True))
        self.assertEqual((two.odoo_id.email, two.accepts_marketing), ("polled.two@example.com", False))
        self.assertTrue(one.external_updated_at, "the binding remembers the version applied")
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("domain", "=", "customers")])
        self.assertEqual(set(events.mapped("topic")), {"customers/polled"})
        self.assertEqual(set(events.mapped("state")), {"done"})

        # the next run reads them again but sends nothing to the inbox: the bindings hold those versions
        self.backend._run_scheduled_domain("customers")
        perform_pending_jobs(self.env)
        self.assertEqual(self.env["retail.event"].search_count(
            [("backend_id", "=", self.backend.id), ("domain", "=", "customers")]), 2)
        run = self.env["retail.reconciliation.run"].search([("backend_id", "=", self.backend.id),
                                                            ("domain", "=", "customers")], order="id desc", limit=1)
        self.assertEqual((run.state, run.repaired), ("done", 0))

    def test_customers_out_where_odoo_owns_them_with_their_consent(self):
        self._no_echo()
        self.backend.policy_for("customers").write({"direction": "both", "system_of_record": "odoo", "mode": "event"})
        partner = self.env["res.partner"].create({
            "name": "Olga Odoo", "email": "olga@example.com", "phone": "+32470111222", "customer_rank": 1,
            "street": "Rue Neuve 5", "city": "Namur", "zip": "5000", "country_id": self.env.ref("base.be").id})
        supplier = self.env["res.partner"].create({"name": "Supplier", "email": "sales@supplier.example"})
        perform_pending_jobs(self.env)
        self.assertFalse(self._failed().mapped("last_error"))
        shop_customer = self._shop_customer_by_email("olga@example.com")
        self.assertTrue(shop_customer, "the customer is made on the shop")
        self.assertFalse(self._shop_customer_by_email("sales@supplier.example"), "a partner that never bought is not")
        self.assertEqual(self._shop_first_name(shop_customer), "Olga")
        binding = self._customer_binding(shop_customer["id"])
        self.assertEqual(binding.odoo_id, partner)
        self.assertFalse(self._shop_consent(shop_customer))
        self.assertFalse(supplier.retail_bind_ids)

        # one change: one update of that customer, which the shop knows by its binding
        partner.name = "Olga Odoo-Smith"
        perform_pending_jobs(self.env)
        updated = self._shop_customer_by_email("olga@example.com")
        self.assertEqual((updated["id"], self._shop_last_name(updated)), (shop_customer["id"], "Odoo-Smith"))
        self.assertEqual(len(partner.retail_bind_ids.filtered(lambda b: b.backend_id == self.backend)), 1)

        # consent: the channel's (kept on the binding), withdrawn by Odoo's blacklist
        binding.accepts_marketing = True
        partner.phone = "+32470111333"
        perform_pending_jobs(self.env)
        self.assertTrue(self._shop_consent(self._shop_customer_by_email("olga@example.com")))
        self.env["mail.blacklist"]._add("olga@example.com")
        partner.phone = "+32470111444"
        perform_pending_jobs(self.env)
        self.assertFalse(self._shop_consent(self._shop_customer_by_email("olga@example.com")))
        self.assertFalse(self._failed().mapped("last_error"))

    def test_an_image_goes_by_odoo_url_once_until_it_changes(self):
        self.backend.policy_for("catalog").mode = "event"
        product = self.env["product.product"].create({"name": "Framed print", "default_code": "RC-PRINT",
                                                      "type": "consu", "list_price": 30, "weight": 1.5})
        product.product_tmpl_id.image_1920 = base64.b64encode(PNG)
        perform_pending_jobs(self.env)
        self.assertFalse(self._failed().mapped("last_error"))
        [url] = self._shop_images("RC-PRINT")
        self.assertIn("/retail/catalog/image/template/%d/" % product.product_tmpl_id.id, url)
        path = "/retail/" + url.split("/retail/", 1)[1]
        # as the shop fetches it, from outside the test
        served = requests.get(self.base_url() + path, timeout=30)
        self.assertEqual((served.status_code, served.content), (200, PNG))
        self.assertEqual(requests.get(self.base_url() + path.rsplit("/", 1)[0] + "/" + "0" * 40 + ".png",
                                      timeout=30).status_code, 404, "only the image of that checksum is served")
        sent = self._image_sends()
        self.assertEqual(self._shop_weight("RC-PRINT"), "1.5")

        product.barcode = "5400000000055"
        perform_pending_jobs(self.env)
        self.assertEqual(self._image_sends(), sent, "an unchanged image is not sent again")
        product.product_tmpl_id.image_1920 = base64.b64encode(PNG2)
        perform_pending_jobs(self.env)
        self.assertEqual(self._image_sends(), sent + 1)
        [new_url] = self._shop_images("RC-PRINT")
        self.assertNotEqual(new_url, url)


class ShopifyDepthChecks:
    def test_an_attribute_with_one_value_is_no_option_of_the_product(self):
        self.backend.policy_for("catalog").mode = "event"
        size = self.env["product.attribute"].create(
            {"name": "Size", "value_ids": [(0, 0, {"name": "S"}), (0, 0, {"name": "M"})]})
        material = self.env["product.attribute"].create({"name": "Material", "value_ids": [(0, 0, {"name": "Wool"})]})
        template = self.env["product.template"].create({
            "name": "Beanie", "type": "consu", "list_price": 15,
            "attribute_line_ids": [(0, 0, {"attribute_id": size.id, "value_ids": [(6, 0, size.value_ids.ids)]}),
                                   (0, 0, {"attribute_id": material.id, "value_ids": [(6, 0, material.value_ids.ids)]})]})
        for variant in template.product_variant_ids:
            variant.default_code = "RC-BEANIE-%s" % variant.product_template_variant_value_ids.name
        perform_pending_jobs(self.env)
        self.assertFalse(self._failed().mapped("last_error"))
        sent = self.shop.product_sets[-1]
        self.assertEqual([o["name"] for o in sent["productOptions"]], ["Size"])
        self.assertEqual(sorted(v["optionValues"][0]["name"] for v in sent["variants"]), ["M", "S"])

    def _no_echo(self):
        # the shop's webhooks of what Odoo sends come back while the test's job still holds its cursor
        self.shop.webhook_url = None

    def _shop_customer(self, email, first_name, consent):
        return self.shop.save_customer(email=email, first_name=first_name, last_name="Shop", accepts_marketing=consent,
                                       notify=False)

    def _shop_customer_by_email(self, email):
        return self.shop.customer_by_email(email)

    def _shop_first_name(self, customer):
        return customer["first_name"]

    def _shop_last_name(self, customer):
        return customer["last_name"]

    def _shop_consent(self, customer):
        return customer["marketing_state"] == "SUBSCRIBED"

    def _shop_images(self, sku):
        return [m["src"] for m in self.shop.product_media(sku)]

    def _image_sends(self):
        return sum(1 for sent in self.shop.product_sets if "files" in sent)

    def _shop_weight(self, sku):
        return "%g" % self.shop.variants[self.shop.variant(sku)["id"]]["weight"]["value"]


class WooDepthChecks:
    def _no_echo(self):
        pass  # the shop's webhooks are subscribed to orders only

    def _shop_customer(self, email, first_name, consent):
        return self.shop.save_customer(email=email, first_name=first_name, last_name="Shop", notify=False,
                                       meta_data=[{"key": "accepts_marketing", "value": "yes" if consent else "no"}])

    def _shop_customer_by_email(self, email):
        for customer in self.shop.customers.values():
            if customer.get("email") == email:
                return customer
        return None

    def _shop_first_name(self, customer):
        return customer["first_name"]

    def _shop_last_name(self, customer):
        return customer["last_name"]

    def _shop_consent(self, customer):
        return any(m["key"] == "accepts_marketing" and m["value"] == "yes" for m in customer["meta_data"])

    def _shop_images(self, sku):
        return [i["src"] for i in self.shop.product(sku)["images"]]

    def _image_sends(self):
        return sum(1 for c in self.shop.calls.all() if c.method == "POST" and c.path.endswith("products/batch")
                   and any(i.get("images") for group in ("create", "update") for i in (c.json() or {}).get(group) or []))

    def _shop_weight(self, sku):
        return self.shop.product(sku)["weight"]

    def test_a_template_with_variants_becomes_a_variable_product_with_its_variations(self):
        self.backend.policy_for("catalog").mode = "event"
        size = self.env["product.attribute"].create(
            {"name": "Size", "value_ids": [(0, 0, {"name": "S"}), (0, 0, {"name": "M"})]})
        colour = self.env["product.attribute"].create({"name": "Colour", "value_ids": [(0, 0, {"name": "Red"})]})
        template = self.env["product.template"].create({
            "name": "Parka", "type": "consu", "is_storable": True, "list_price": 40, "description_sale": "Cosy",
            "image_1920": base64.b64encode(PNG),
            "attribute_line_ids": [(0, 0, {"attribute_id": size.id, "value_ids": [(6, 0, size.value_ids.ids)]}),
                                   (0, 0, {"attribute_id": colour.id, "value_ids": [(6, 0, colour.value_ids.ids)]})]})
        variants = template.product_variant_ids
        for variant in variants:
            size_value = variant.product_template_variant_value_ids.filtered(lambda v: v.attribute_id == size)
            variant.write({"default_code": "RC-PARKA-%s" % size_value.name, "weight": 0.5})
        perform_pending_jobs(self.env)
        self.assertFalse(self._failed().mapped("last_error"))
        small = self.shop.product("RC-PARKA-S")
        parent = self.shop.product_by_id(small["parent_id"])
        self.assertEqual((parent["type"], parent["name"], parent["description"], parent["status"]),
                         ("variable", "Parka", "Cosy", "publish"))
        self.assertEqual([(a["name"], a["options"], a["variation"]) for a in parent["attributes"]],
                         [("Size", ["S", "M"], True), ("Colour", ["Red"], False)])
        self.assertEqual(len(parent["images"]), 1)
        self.assertEqual([(a["name"], a["option"]) for a in small["attributes"]], [("Size", "S")])
        self.assertEqual((small["regular_price"], small["weight"], small["status"]), ("40.00", "0.5", "publish"))
        bindings = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id),
                                                              ("odoo_id", "in", variants.ids)])
        self.assertEqual({(b.external_id, b.channel_ref) for b in bindings},
                         {(str(self.shop.product(s)["id"]), str(parent["id"])) for s in ("RC-PARKA-S", "RC-PARKA-M")})

        # one field of one variant: one update of that variation, in its product's variations batch
        mark = len(self.shop.calls.all())
        variants.filtered(lambda v: v.default_code == "RC-PARKA-M").weight = 0.75
        perform_pending_jobs(self.env)
        writes = [c for c in self.shop.calls.all()[mark:] if c.method in ("POST", "PUT")]
        self.assertEqual([c.path.rsplit("/wc/v3/", 1)[1] for c in writes], ["products/%d/variations/batch" % parent["id"]])
        [update] = writes[0].json()["update"]
        self.assertEqual((update["sku"], update["weight"]), ("RC-PARKA-M", "0.75"))
        self.assertNotIn("image", update, "the images did not change")

        # an archived variant is a disabled variation; the archived template unpublishes the product
        variants.filtered(lambda v: v.default_code == "RC-PARKA-M").active = False
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.product("RC-PARKA-M")["status"], "private")
        template.active = False
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.product_by_id(parent["id"])["status"], "draft")
        self.assertFalse(self._failed().mapped("last_error"))


@tagged("post_install", "-at_install")
class TestShopifyDepth(DepthChecks, ShopifyDepthChecks, shopify_flows.TestShopifyFlows):
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install")
class TestWooCommerceDepth(DepthChecks, WooDepthChecks, woocommerce_flows.TestWooCommerceFlows):
    allow_inherited_tests_method = True


_own_tests_only(TestShopifyDepth, shopify_flows.TestShopifyFlows)
_own_tests_only(TestWooCommerceDepth, woocommerce_flows.TestWooCommerceFlows)
