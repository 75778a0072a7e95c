"""Storefronts in depth against the running server: customers polled by the customers policy's run and sent out
where Odoo owns them, a product's image fetched by the shop from Odoo's URL, WooCommerce variable products."""

import base64
import uuid

import pytest
import requests

from test_catalog_customers_e2e import _policy, shop, storefront_products  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def _customer_on_shop(shop, email):
    if shop.backend_type == "shopify":
        return shop.sim.customer_by_email(email)
    return next((c for c in shop.sim.customers.values() if c.get("email") == email), None)


def test_customers_the_webhooks_missed_come_with_the_customers_policy_run(shop, odoo, wait_for):
    email = "polled.%s@example.com" % uuid.uuid4().hex[:8]
    if shop.backend_type == "shopify":
        customer = shop.sim.save_customer(email=email, first_name="Polly", last_name="Missed", accepts_marketing=True,
                                          notify=False)
    else:
        customer = shop.sim.save_customer(email=email, first_name="Polly", last_name="Missed", notify=False,
                                          meta_data=[{"key": "accepts_marketing", "value": "yes"}])
    policy = _policy(odoo, shop.backend_id, "customers")
    odoo.call("retail.sync.policy", "action_run_now", [policy["id"]])

    def bound():
        found = odoo.search_read("retail.partner.binding", [("backend_id", "=", shop.backend_id),
                                                            ("external_id", "=", str(customer["id"]))],
                                 ["odoo_id", "accepts_marketing", "external_updated_at"])
        return found[0] if found else None

    binding = wait_for(bound, timeout=90, what="the polled customer in Odoo")
    assert binding["accepts_marketing"] is True and binding["external_updated_at"]
    partner = odoo.search_read("res.partner", [("id", "=", binding["odoo_id"][0])], ["name", "email"])[0]
    assert (partner["name"], partner["email"]) == ("Polly Missed", email)
    events = odoo.search_read("retail.event", [("backend_id", "=", shop.backend_id), ("domain", "=", "customers")],
                              ["topic", "state"])
    assert {(e["topic"], e["state"]) for e in events} == {("customers/polled", "done")}


def test_customers_out_where_odoo_owns_them(shop, odoo, wait_for):
    policy = _policy(odoo, shop.backend_id, "customers")
    odoo.call("retail.sync.policy", "write", [policy["id"]],
              {"direction": "both", "system_of_record": "odoo", "mode": "event"})
    email = "odoo.owned.%s@example.com" % uuid.uuid4().hex[:8]
    partner_id = odoo.call("res.partner", "create", {"name": "Olga Owned", "email": email, "customer_rank": 1,
                                                     "city": "Namur", "zip": "5000"})
    made = wait_for(lambda: _customer_on_shop(shop, email), timeout=90, what="the customer on the shop")
    assert made["first_name"] == "Olga"

    def bound():
        found = odoo.search_read("retail.partner.binding", [("backend_id", "=", shop.backend_id),
                                                            ("odoo_id", "=", partner_id)], ["external_id"])
        return found[0] if found else None

    assert wait_for(bound, timeout=60, what="the partner bound")["external_id"] == str(made["id"])
    odoo.call("res.partner", "write", [partner_id], {"name": "Olga Owned-Again"})
    assert wait_for(lambda: (_customer_on_shop(shop, email) or {}).get("last_name") == "Owned-Again", timeout=90,
                    what="the change on the shop")
    failed = odoo.search_read("retail.export.request", [("backend_id", "=", shop.backend_id), ("domain", "=", "customers"),
                                                        ("state", "=", "failed")], ["last_error"])
    assert not failed


def test_a_product_image_is_fetched_by_the_shop_from_odoo(shop, odoo, odoo_url, wait_for):
    catalog = _policy(odoo, shop.backend_id, "catalog")
    odoo.call("retail.sync.policy", "write", [catalog["id"]], {"mode": "event"})
    sku = "RC-IMG-%s" % uuid.uuid4().hex[:6].upper()
    product_id = odoo.call("product.product", "create", {"name": "Pictured %s" % sku, "default_code": sku,
                                                         "type": "consu", "list_price": 9, "weight": 0.2})
    template_id = odoo.search_read("product.product", [("id", "=", product_id)], ["product_tmpl_id"])[0]["product_tmpl_id"][0]
    odoo.call("product.template", "write", [template_id], {"image_1920": base64.b64encode(PNG).decode()})

    def images():
        if shop.backend_type == "shopify":
            try:
                return [m["src"] for m in shop.sim.product_media(sku)]
            except KeyError:
                return None
        item = shop.sim.product(sku)
        return [i["src"] for i in item["images"]] if item else None

    [url] = wait_for(images, timeout=90, what="the image on the shop")
    assert url.startswith(odoo_url + "/retail/catalog/image/template/%d/" % template_id)
    fetched = requests.get(url, timeout=10)
    assert (fetched.status_code, fetched.content, fetched.headers["Content-Type"]) == (200, PNG, "image/png")


def test_a_woocommerce_variable_product_with_its_variations(shop, odoo, wait_for):
    if shop.backend_type != "woocommerce":
        pytest.skip("Shopify's products carry their variants (productSet), see the catalogue tests")
    catalog = _policy(odoo, shop.backend_id, "catalog")
    odoo.call("retail.sync.policy", "write", [catalog["id"]], {"mode": "event"})
    tag = uuid.uuid4().hex[:6].upper()
    size = odoo.call("product.attribute", "create", {"name": "Size %s" % tag,
                                                     "value_ids": [(0, 0, {"name": "S"}), (0, 0, {"name": "L"})]})
    values = odoo.search_read("product.attribute.value", [("attribute_id", "=", size)], ["id", "name"])
    template_id = odoo.call("product.template", "create", {
        "name": "Jacket %s" % tag, "type": "consu", "list_price": 80, "description_sale": "Waterproof",
        "attribute_line_ids": [(0, 0, {"attribute_id": size, "value_ids": [(6, 0, [v["id"] for v in values])]})]})
    variants = odoo.search_read("product.product", [("product_tmpl_id", "=", template_id)],
                                ["id", "product_template_variant_value_ids"])
    skus = {}
    for variant in variants:
        value = odoo.search_read("product.template.attribute.value",
                                 [("id", "in", variant["product_template_variant_value_ids"])], ["name"])[0]["name"]
        skus[value] = "RC-JACKET-%s-%s" % (tag, value)
        odoo.call("product.product", "write", [variant["id"]], {"default_code": skus[value], "weight": 1.2})
    small = wait_for(lambda: shop.sim.product(skus["S"]), timeout=90, what="the variation on the shop")
    large = wait_for(lambda: shop.sim.product(skus["L"]), timeout=60, what="the other variation on the shop")
    parent = shop.sim.product_by_id(small["parent_id"])
    assert (parent["type"], parent["name"], parent["description"]) == ("variable", "Jacket %s" % tag, "Waterproof")
    assert [(a["name"], a["options"]) for a in parent["attributes"]] == [("Size %s" % tag, ["S", "L"])]
    assert large["parent_id"] == parent["id"] and (small["regular_price"], small["weight"]) == ("80.00", "1.2")
    # the shop holds the variations once the export's request has been answered; their bindings once
    # the export's transaction has committed, a moment later
    def bound():
        found = odoo.search_read("retail.product.binding", [("backend_id", "=", shop.backend_id),
                                                            ("odoo_id", "in", [v["id"] for v in variants])],
                                 ["external_id", "channel_ref"])
        return found if len(found) == 2 and all(b["external_id"] for b in found) else None

    bindings = wait_for(bound, timeout=30, what="the variations' bindings")
    assert {(b["external_id"], b["channel_ref"]) for b in bindings} == {
        (str(small["id"]), str(parent["id"])), (str(large["id"]), str(parent["id"]))}
    failed = odoo.search_read("retail.export.request", [("backend_id", "=", shop.backend_id), ("state", "=", "failed")],
                              ["last_error"])
    assert not failed, failed
