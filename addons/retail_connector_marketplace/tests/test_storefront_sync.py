# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Storefronts: stock and price reconciliation in pages, what each domain can be switched on for, the assortment."""

import base64
import json

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from . import test_shopify_flows as shopify_flows
from . import test_woocommerce_flows as woocommerce_flows


def _own_tests_only(case, base):
    """Run only the checks of this module on ``base``'s set-up, not ``base``'s own tests again."""
    for name in dir(base):
        if name.startswith("test_") and callable(getattr(base, name)) and not any(hasattr(checks, name) for checks in (
                StorefrontChecks, ShopifyCustomerChecks, WooCustomerChecks, WooCatalogueChecks,
                ShopifyCatalogueChecks)):
            setattr(case, name, None)
    return case


class StorefrontChecks:
    """Checks shared by the storefronts; the classes below give the shop's side."""

    def _product(self, sku):
        return self.products.filtered(lambda p: p.default_code == sku)

    def _publish_all(self):
        self.backend.policy_for("pricing").mode = "event"
        Request = self.env["retail.export.request"]
        Request._request(self.backend, "inventory", self.products)
        Request._request(self.backend, "pricing", self.products)
        perform_pending_jobs(self.env)
        self.assertFalse(Request.search([("backend_id", "=", self.backend.id), ("state", "=", "failed")]))

    def _page_calls(self):
        raise NotImplementedError

    def _page_keys(self, mark):
        """Return what names each page of the shop's items read since call ``mark`` (its cursor or number)."""
        raise NotImplementedError

    def _first_page_requests(self):
        """Return how many requests reading the first page of the shop's items takes."""
        return 1

    def _roomy_rate_limit(self):
        """Give the shop's own rate limit room for a whole reconciliation (its pacing is tested elsewhere)."""

    def test_a_burst_smaller_than_a_batch_sends_everything_once_in_batches_that_fit_it(self):
        """Each batch's tokens are reserved before it is sent: with a burst of three (the bucket refilled
        between the job's runs, in SQL), the flushes send fitting batches run after run and end."""
        self.backend.write({"rate_limit_rps": 0.001, "rate_limit_burst": 3})
        self.backend.policy_for("pricing").mode = "event"
        Request = self.env["retail.export.request"]
        Request._request(self.backend, "inventory", self.products)
        Request._request(self.backend, "pricing", self.products)
        mine = [("backend_id", "=", self.backend.id), ("domain", "in", ("inventory", "pricing"))]
        key = "outbound:%d" % self.backend.id
        self.addCleanup(self._drop_bucket, key)
        runs = 0
        while Request.search_count(mine + [("state", "in", ("pending", "sending"))]):
            self.assertLess(runs, 60, "the flushes end")
            with self.env.registry.cursor() as cr:
                cr.execute("""
                    INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                    VALUES (%s, 3, extract(epoch from clock_timestamp()), false)
                    ON CONFLICT (key) DO UPDATE SET tokens = 3, stamp = extract(epoch from clock_timestamp())
                """, (key,))
            perform_pending_jobs(self.env, max_rounds=1)
            runs += 1
        self.assertFalse(Request.search(mine + [("state", "=", "failed")]).mapped("last_error"))
        self.assertEqual(Request.search_count(mine + [("state", "=", "done")]), 2 * len(self.products))
        self.assertGreater(runs, 1, "more than the burst was needed: the work went in several runs")

    def test_a_stock_reconciliation_in_a_job_stops_for_the_rate_limit_and_continues_from_its_page(self):
        self._publish_all()
        self._add_many_items(120)  # several pages of variants
        self._shop_stock("RC-MUG", 3)
        self._roomy_rate_limit()
        # the backend's bucket: the first page's requests now, the next one in ten seconds
        key = self.backend._outbound_bucket()
        self.addCleanup(self._drop_bucket, key)
        tokens = self._first_page_requests()
        self.backend.write({"rate_limit_rps": 0.1, "rate_limit_burst": tokens})
        with self.env.registry.cursor() as cr:
            cr.execute("""
                INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                VALUES (%s, %s, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, stamp = extract(epoch from clock_timestamp())
            """, (key, tokens))
        mark = len(self.shop.calls.all())
        run = self.backend.with_context(queue_job__no_delay=False, job_uuid="scheduled-inventory-run")._reconcile(
            "inventory")
        self.assertEqual(run.state, "running", run.message)
        self.assertTrue(run.resume_at)
        [state] = run.paused_reads.values()
        self.assertTrue(state["cursor"], "stopped after a page, at the next one's cursor")
        read = self._page_calls(mark)
        self.assertEqual(read, 1)
        self.assertEqual(len(state["seen"]), run.checked)
        self.assertLess(len(run.line_ids.filtered(lambda l: l.kind == "missing_in_odoo")), 120)

        # later: the bucket has room again, and a job continues from the page it stopped at
        self.backend.write({"rate_limit_rps": 100, "rate_limit_burst": 100})
        with self.env.registry.cursor() as cr:
            cr.execute("UPDATE retail_rate_bucket SET tokens = 100 WHERE key = %s", (key,))
        perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual((run.state, run.resume_at), ("done", False), run.message)
        cursors = self._page_keys(mark)
        self.assertGreater(len(cursors), read, "the rest of the pages, read by the continuation")
        self.assertEqual(len(set(cursors)), len(cursors), "no page read twice")
        self.assertEqual(len(run.line_ids.filtered(lambda l: l.kind == "missing_in_odoo")), 120)
        drift = run.line_ids.filtered(lambda l: l.kind == "quantity_drift")
        self.assertEqual(drift.mapped("key"), ["RC-MUG @ %s" % self._location_key()])
        self.assertFalse(run.line_ids.filtered(lambda l: l.kind == "missing_on_channel"),
                         "the bound products the first pages named are not missing")

    def _drop_bucket(self, key):
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM retail_rate_bucket WHERE key = %s", (key,))

    def test_stock_and_price_reconciliation_reads_pages_and_repairs_per_the_system_of_record(self):
        self._publish_all()
        self._add_many_items(120)  # more than a page: items Odoo does not have
        self._shop_stock("RC-MUG", 3)
        self._shop_price("RC-CAP", "9.00")
        self._roomy_rate_limit()
        mark = len(self.shop.calls.all())
        run = self.backend._reconcile("inventory")
        self.assertEqual(run.state, "done", run.message)
        self.assertGreaterEqual(self._page_calls(mark), 2, "the shop is read page after page")
        drift = run.line_ids.filtered(lambda l: l.kind == "quantity_drift")
        self.assertEqual(drift.mapped("key"), ["RC-MUG @ %s" % self._location_key()])
        self.assertEqual((drift.odoo_value, drift.channel_value, drift.action), (self._odoo_stock("RC-MUG"), "3",
                                                                                  "repaired"))
        self.assertEqual(len(run.line_ids.filtered(lambda l: l.kind == "missing_in_odoo")), 120)
        perform_pending_jobs(self.env)
        self.assertEqual(str(self._shop_stock_of("RC-MUG")), self._odoo_stock("RC-MUG"), "Odoo's stock put back")
        self.assertFalse(self.backend._reconcile("inventory").line_ids.filtered(lambda l: l.kind != "missing_in_odoo"))

        run = self.backend._reconcile("pricing")
        [drift] = run.line_ids.filtered(lambda l: l.kind == "price_drift")
        self.assertEqual((drift.key, drift.action), ("RC-CAP", "repaired"))
        perform_pending_jobs(self.env)
        self.assertEqual(self._shop_price_of("RC-CAP"), "20.00", "Odoo's price put back")
        self.assertFalse(self.backend._reconcile("pricing").line_ids)

        # the channel owns the prices: its price is written into Odoo, and recorded as a conflict
        self.backend.policy_for("pricing").system_of_record = "channel"
        self._shop_price("RC-CAP", "17.00")
        run = self.backend._reconcile("pricing")
        [drift] = run.line_ids
        self.assertEqual((drift.kind, drift.action), ("price_drift", "repaired"))
        with self.backend.work_on("retail.backend") as work:
            self.assertEqual(work.component(usage="pricing").channel_price(self._product("RC-CAP"))["price"], "17.00")
        conflict = self.env["retail.conflict"].search([("backend_id", "=", self.backend.id),
                                                       ("field_name", "=", "list_price")], order="id desc", limit=1)
        self.assertEqual(conflict.action, "applied_odoo")
        self.assertEqual(self._shop_price_of("RC-CAP"), "17.00", "nothing sent back")

    takes_catalogue = False

    def test_a_domain_without_its_component_stays_off_and_no_job_fails(self):
        catalog = self.backend.policy_for("catalog")
        if self.takes_catalogue:
            self.assertEqual((catalog.mode, catalog.support_note), ("batch", False))
            catalog.mode = "off"
        else:
            self.assertEqual(catalog.mode, "off")
            self.assertIn("no exporter for catalog", catalog.support_note)
        customers = self.backend.policy_for("customers")
        self.assertTrue(customers.cron_id.active, "the hourly customers run polls what the webhooks missed")
        fulfilment = self.backend.policy_for("fulfilment")  # a storefront sends deliveries, reads none
        fulfilment.write({"mode": "off", "direction": "inbound"})
        with self.assertRaisesRegex(ValidationError, "stays off"):
            with self.env.cr.savepoint():
                fulfilment.mode = "event"
        if self.backend.backend_type == "shopify":  # WooCommerce takes an order's status from Odoo
            self.assertIn("Read from the channel only", self.backend.policy_for("orders").support_note)
        self._product("RC-MUG").name = "Mug, renamed"
        self._product("RC-MUG").barcode = "5400000000017"
        perform_pending_jobs(self.env)
        self.assertFalse(self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                                   ("domain", "=", "catalog")]))
        self.assertFalse(self.env["queue.job"].search([("state", "=", "failed")]))

    def test_only_the_assortment_is_sent_and_a_product_the_shop_lacks_fails_nothing(self):
        tote = self.env["product.product"].create(
            {"name": "Tote", "default_code": "RC-TOTE-OUTSIDE", "type": "consu", "is_storable": True})
        category = self.env["product.category"].create({"name": "On the shop"})
        self.products.categ_id = category
        self.backend.assortment_scope = "defined"  # nothing bound yet: nothing sold
        self.backend.assortment_categ_ids = category
        Request = self.env["retail.export.request"]
        pending = Request.search([("backend_id", "=", self.backend.id),
                                  ("domain", "=", "catalog" if self.takes_catalogue else "inventory")])
        self.assertEqual(set(pending.mapped("res_id")), set(self.products.ids),
                         "joining the assortment publishes the products where the shop takes the catalogue, "
                         "else sends their stock")
        Request._request(self.backend, "inventory", tote)
        self.env["stock.quant"]._update_available_quantity(tote, self.warehouse.lot_stock_id, 5)
        perform_pending_jobs(self.env)
        self.assertFalse(Request.search([("backend_id", "=", self.backend.id), ("res_id", "=", tote.id)]))
        self.assertFalse(Request.search([("backend_id", "=", self.backend.id), ("state", "=", "failed")]))
        self.assertEqual(self.products.mapped("retail_backend_ids"), self.backend)
        self.assertNotIn(self.backend, tote.retail_backend_ids)


class ShopifyCatalogueChecks:
    takes_catalogue = True

    def test_catalogue_out_sets_one_product_per_change_and_archives_it(self):
        self.backend.policy_for("catalog").mode = "event"
        colour = self.env["product.attribute"].create(
            {"name": "Colour", "value_ids": [(0, 0, {"name": "Red"}), (0, 0, {"name": "Blue"})]})
        template = self.env["product.template"].create({
            "name": "Scarf", "type": "consu", "is_storable": True, "list_price": 25, "description_sale": "Warm",
            "attribute_line_ids": [(0, 0, {"attribute_id": colour.id, "value_ids": [(6, 0, colour.value_ids.ids)]})]})
        for variant in template.product_variant_ids:
            variant.default_code = "RC-SCARF-%s" % variant.product_template_variant_value_ids.name.upper()
        self.env["retail.export.request"]._request(self.backend, "catalog", template.product_variant_ids)
        perform_pending_jobs(self.env)
        self.assertFalse(self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                                   ("state", "=", "failed")]))
        [sent] = self.shop.product_sets
        self.assertEqual((sent["title"], sent["descriptionHtml"], sent["status"]), ("Scarf", "<p>Warm</p>", "ACTIVE"))
        self.assertEqual(sent["productOptions"], [{"name": "Colour", "values": [{"name": "Red"}, {"name": "Blue"}]}])
        self.assertEqual(self.shop.variant("RC-SCARF-RED")["price"], "25.00")
        bindings = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id),
                                                              ("odoo_id", "in", template.product_variant_ids.ids)])
        self.assertEqual(len(bindings), 2)
        self.assertEqual(set(bindings.mapped("external_id")),
                         {str(self.shop.variant(s)["id"]) for s in ("RC-SCARF-RED", "RC-SCARF-BLUE")})
        self.assertTrue(all(bindings.mapped("channel_ref")))

        # one field of one variant: one productSet of that product, which the shop already has
        template.product_variant_ids[0].barcode = "5400000000048"
        perform_pending_jobs(self.env)
        self.assertEqual(len(self.shop.product_sets), 2)
        self.assertTrue(self.shop.product_sets[-1]["id"])
        sku = template.product_variant_ids[0].default_code
        self.assertEqual([v.get("barcode") for v in self.shop.product_sets[-1]["variants"] if v["sku"] == sku],
                         ["5400000000048"])
        self.assertEqual(self.shop.variants[self.shop.variant(sku)["id"]]["barcode"], "5400000000048")

        # archived in Odoo: archived on the shop
        template.active = False
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.product_sets[-1]["status"], "ARCHIVED")


class ShopifyCustomerChecks:
    """Shopify's customer webhooks and its mandatory compliance webhooks."""

    def _partner_of(self, customer_id):
        return self.env["retail.partner.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "=", str(customer_id))])

    def test_customer_webhooks_go_through_the_customer_resolver_with_their_consent(self):
        customer = self.shop.save_customer(email="ana.lopez@example.com", first_name="Ana", last_name="Lopez",
                                           phone="+32470123456", accepts_marketing=True,
                                           address={"address1": "Rue Haute 1", "city": "Bruxelles", "zip": "1000",
                                                    "country_code": "BE"})
        perform_pending_jobs(self.env)
        binding = self._partner_of(customer["id"])
        self.assertEqual(len(binding), 1)
        partner = binding.odoo_id
        self.assertEqual((partner.name, partner.email, partner.phone), ("Ana Lopez", "ana.lopez@example.com",
                                                                        "+32470123456"))
        self.assertTrue(binding.accepts_marketing)
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id),
                                                 ("topic", "=", "customers/create")])
        self.assertEqual((event.state, event.domain, event.outcome), ("done", "customers", "created"))

        self.shop.save_customer(customer["id"], accepts_marketing=False, phone="+32470999999")
        perform_pending_jobs(self.env)
        self.assertFalse(binding.accepts_marketing, "the consent follows the channel")
        self.assertEqual(partner.phone, "+32470999999", "the channel owns the customers")
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "ana.lopez@example.com")]), 1)

        # her next order resolves to the same partner, by binding
        order = self.shop.place_order(customer={"id": customer["id"], "email": "ana.lopez@example.com"})
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(order).partner_id, partner)

    def test_a_redaction_anonymises_the_customer_and_its_stored_payloads(self):
        customer = self.shop.save_customer(email="erase.me@example.com", first_name="Erase", last_name="Me",
                                           phone="+32470555555")
        other = self.shop.save_customer(email="keep.me@example.com", first_name="Keep", last_name="Me")
        perform_pending_jobs(self.env)
        partner = self._partner_of(customer["id"]).odoo_id
        self.shop.request_customer_redact(customer["id"], email="erase.me@example.com")
        perform_pending_jobs(self.env)
        self.assertEqual(partner.name, "Redacted customer %s" % customer["id"])
        self.assertFalse(partner.email or partner.phone)
        self.assertTrue(self._partner_of(customer["id"]).redacted_at)
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertFalse([e for e in events if "erase.me@example.com" in (e.payload or "")],
                         "no stored payload keeps the customer's e-mail")
        self.assertTrue([e for e in events if "keep.me@example.com" in (e.payload or "")], "the others are kept")
        redact = events.filtered(lambda e: e.topic == "customers/redact")
        self.assertEqual(redact.state, "done")
        self.assertEqual(self._partner_of(other["id"]).odoo_id.email, "keep.me@example.com")

        # the shop uninstalled: every customer it sent is erased
        self.shop.request_shop_redact()
        perform_pending_jobs(self.env)
        self.assertFalse(self._partner_of(other["id"]).odoo_id.email)

    def test_a_data_request_produces_an_export_for_a_person_to_send(self):
        customer = self.shop.save_customer(email="ask.me@example.com", first_name="Ask", last_name="Me")
        perform_pending_jobs(self.env)
        self.shop.request_customer_data(customer["id"], email="ask.me@example.com")
        perform_pending_jobs(self.env)
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id),
                                                 ("topic", "=", "customers/data_request")])
        self.assertEqual((event.state, event.res_model), ("done", "ir.attachment"))
        attachment = self.env["ir.attachment"].browse(event.res_id)
        data = json.loads(base64.b64decode(attachment.datas))
        self.assertEqual(data["customers"][0]["email"], "ask.me@example.com")
        self.assertEqual(attachment.res_model, "retail.backend")
        self.assertIn(attachment, self.backend.message_ids.attachment_ids)


class WooCatalogueChecks:
    takes_catalogue = True

    def test_catalogue_out_creates_updates_and_unpublishes_one_change_at_a_time(self):
        self.backend.policy_for("catalog").mode = "event"
        Request = self.env["retail.export.request"]
        new = self.env["product.product"].create({
            "name": "Woo newcomer", "default_code": "RC-NEW-WOO", "type": "consu", "is_storable": True,
            "list_price": 7, "barcode": "5400000000024", "description_sale": "Fresh", "weight": 0.25})
        mug = self._product("RC-MUG")
        Request._request(self.backend, "catalog", new | mug)
        perform_pending_jobs(self.env)
        self.assertFalse(Request.search([("backend_id", "=", self.backend.id), ("state", "=", "failed")]))
        item = self.shop.product("RC-NEW-WOO")
        self.assertEqual((item["name"], item["regular_price"], item["description"], item["global_unique_id"],
                          item["weight"], item["status"]),
                         ("Woo newcomer", "7.00", "Fresh", "5400000000024", "0.25", "publish"))
        binding = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id),
                                                             ("odoo_id", "=", new.id)])
        self.assertEqual(binding.external_id, str(item["id"]))
        self.assertEqual(self.shop.product("RC-MUG")["name"], mug.name, "the shop's item of the SKU is updated")

        # a change of one field: one update of that product alone
        mark = len(self.shop.calls.all())
        new.name = "Woo newcomer, renamed"
        new.description_sale = "Fresher"
        perform_pending_jobs(self.env)
        writes = [c for c in self.shop.calls.all()[mark:] if c.method == "POST"]
        self.assertEqual(len(writes), 1)
        [update] = writes[0].json()["update"]
        self.assertEqual((str(update["id"]), update["name"], update["description"]),
                         (str(item["id"]), "Woo newcomer, renamed", "Fresher"))
        self.assertFalse(writes[0].json().get("create"))

        # archived in Odoo: unpublished on the shop
        new.active = False
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.product("RC-NEW-WOO")["status"], "draft")


class WooCustomerChecks:
    def test_customer_webhooks_go_through_the_customer_resolver(self):
        customer = self.shop.save_customer(email="jo.smith@example.com", first_name="Jo", last_name="Smith",
                                           billing={"first_name": "Jo", "last_name": "Smith", "address_1": "1 High St",
                                                    "city": "London", "postcode": "SW1A 1AA", "country": "GB",
                                                    "phone": "+442071234567", "email": "jo.smith@example.com"},
                                           meta_data=[{"key": "accepts_marketing", "value": "yes"}])
        perform_pending_jobs(self.env)
        binding = self.env["retail.partner.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "=", str(customer["id"]))])
        self.assertEqual((binding.odoo_id.name, binding.odoo_id.email), ("Jo Smith", "jo.smith@example.com"))
        self.assertTrue(binding.accepts_marketing)
        self.shop.save_customer(customer["id"], last_name="Smith-Jones")
        perform_pending_jobs(self.env)
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("domain", "=", "customers")])
        self.assertEqual(sorted(events.mapped("outcome")), ["created", "updated"])
        self.assertEqual(len(self.env["retail.partner.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "=", str(customer["id"]))])), 1)


@tagged("post_install", "-at_install")
class TestShopifySync(ShopifyCatalogueChecks, StorefrontChecks, ShopifyCustomerChecks,
                      shopify_flows.TestShopifyFlows):
    allow_inherited_tests_method = True  # the checks of the mixins, on the Shopify flows' set-up
    def _add_many_items(self, count):
        for i in range(count):
            self.shop.add_variant("EXTRA-%03d" % i, "5.00", product_title="Extra %d" % (i // 3))

    def _shop_stock(self, sku, quantity):
        self.shop.set_inventory_level(sku, None, quantity)

    def _shop_stock_of(self, sku):
        return self.shop.inventory_level(sku)

    def _shop_price(self, sku, price):
        self.shop.set_variant_price(sku, price)

    def _shop_price_of(self, sku):
        return self.shop.variant(sku)["price"]

    def _location_key(self):
        return self.backend.location_map_ids[:1].external_id

    def _roomy_rate_limit(self):
        # a page of variants costs most of the default bucket: read at its restore rate, the three
        # reconciliations would wait about 50 s (TestShopifyFlows checks that a reconciliation waits for it)
        self.shop.set_cost_limit(20000, 2000)

    def _odoo_stock(self, sku):
        return "50"

    def _page_calls(self, mark):
        return sum("VariantLevels" in ((c.json() or {}).get("query") or "") for c in self.shop.calls.all()[mark:])

    def _page_keys(self, mark):
        return [(c.json().get("variables") or {}).get("after") for c in self.shop.calls.all()[mark:]
                if "VariantLevels" in ((c.json() or {}).get("query") or "")]

@tagged("post_install", "-at_install")
class TestWooCommerceSync(WooCatalogueChecks, StorefrontChecks, WooCustomerChecks,
                          woocommerce_flows.TestWooCommerceFlows):
    allow_inherited_tests_method = True
    def _add_many_items(self, count):
        for i in range(count):
            self.shop.add_product("EXTRA-%03d" % i, "5.00", notify=False)

    def _shop_stock(self, sku, quantity):
        self.shop.set_stock(sku, quantity)

    def _shop_stock_of(self, sku):
        return self.shop.stock_of(sku)

    def _shop_price(self, sku, price):
        self.shop.set_price(sku, price)

    def _shop_price_of(self, sku):
        return self.shop.product(sku)["price"]

    def _location_key(self):
        return "shop"

    def _odoo_stock(self, sku):
        return "30"

    def _page_calls(self, mark):
        return sum(c.method == "GET" and c.path.endswith("/products") for c in self.shop.calls.all()[mark:])

    def _page_keys(self, mark):
        return [str(c.query.get("page")) for c in self.shop.calls.all()[mark:]
                if c.method == "GET" and c.path.endswith("/products")]

    def _first_page_requests(self):
        # the page of products, then the variations of each variable one (the flows' products come first)
        return 1 + sum(1 for item in list(self.shop._products.values()) if item["type"] == "variable")


_own_tests_only(TestShopifySync, shopify_flows.TestShopifyFlows)
_own_tests_only(TestWooCommerceSync, woocommerce_flows.TestWooCommerceFlows)
