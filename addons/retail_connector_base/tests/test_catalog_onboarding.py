# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest import SkipTest
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from .jobs import perform_pending_jobs
from .simulators import load_simulators


def _item(ext, sku=None, barcode=None, name=None, product_ref=None, options=None, price="10.00"):
    return {"external_id": ext, "sku": sku, "barcode": barcode, "name": name or sku or ext,
            "product_name": name or sku or ext, "product_ref": product_ref, "options": options or [],
            "price": price, "active": True, "channel_ref": None}


class CatalogCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, retail_onboarding_sync=True))
        cls.backend = cls.env["retail.backend"].create({
            "name": "Catalogue test", "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "api_secret": "cat-token", "rate_limit_rps": 1000, "rate_limit_burst": 1000})
        cls.mug = cls.env["product.product"].create(
            {"name": "Mug", "default_code": "CAT-MUG", "barcode": "5400000000011", "type": "consu"})
        cls.cap = cls.env["product.product"].create(
            {"name": "Cap", "default_code": "CAT-CAP", "barcode": "5400000000028", "type": "consu"})
        cls.scarf = cls.env["product.product"].create({"name": "Scarf", "barcode": "5400000000035", "type": "consu"})
        cls.policy = cls.backend.policy_for("catalog")

    def _let_channel_create(self, allowed=True):
        self.policy.write({"direction": "both" if allowed else "outbound", "system_of_record": "odoo"})

    def _plan(self, items, **kw):
        return {p["item"]["external_id"]: p for p in self.backend._plan_catalog_matches(items, **kw)}


@tagged("post_install", "-at_install")
class TestCatalogMatching(CatalogCase):
    """Each channel variant is matched by binding, then SKU, then barcode; contradictions are for a person."""

    def test_binding_then_sku_then_barcode(self):
        self.env["retail.product.binding"].create(
            {"backend_id": self.backend.id, "odoo_id": self.cap.id, "external_id": "V-CAP"})
        plan = self._plan([_item("V-CAP", "CHANGED-ON-SHOP"), _item("V-MUG", "CAT-MUG", "5400000000011"),
                           _item("V-SCARF", "CAT-SCARF", "5400000000035")])
        self.assertEqual((plan["V-CAP"]["action"], plan["V-CAP"]["product"]), ("bound", self.cap))
        self.assertEqual((plan["V-MUG"]["action"], plan["V-MUG"]["product"]), ("match_sku", self.mug))
        self.assertEqual((plan["V-SCARF"]["action"], plan["V-SCARF"]["product"]), ("match_barcode", self.scarf))

    def test_same_sku_with_another_barcode_is_a_conflict(self):
        plan = self._plan([_item("V1", "CAT-MUG", "9999999999994")])
        self.assertEqual(plan["V1"]["action"], "conflict")
        self.assertIn("different barcode", plan["V1"]["message"])
        self.assertIn("5400000000011", plan["V1"]["message"])

    def test_two_channel_variants_on_one_sku_in_a_page_and_across_pages(self):
        plan = self._plan([_item("V1", "CAT-MUG"), _item("V2", "CAT-MUG")])
        self.assertEqual(plan["V1"]["action"], "match_sku")
        self.assertEqual(plan["V2"]["action"], "conflict")
        self.assertIn("V1", plan["V2"]["message"])
        # an earlier page took the SKU for another variant
        plan = self._plan([_item("V3", "CAT-MUG")], earlier={"CAT-MUG": "V1"})
        self.assertEqual(plan["V3"]["action"], "conflict")
        # a product bound to another channel variant
        self.env["retail.product.binding"].create(
            {"backend_id": self.backend.id, "odoo_id": self.mug.id, "external_id": "V-OLD"})
        plan = self._plan([_item("V4", "CAT-MUG")])
        self.assertEqual(plan["V4"]["action"], "conflict")
        self.assertIn("V-OLD", plan["V4"]["message"])

    def test_same_barcode_with_another_sku_is_a_conflict(self):
        plan = self._plan([_item("V1", "OTHER-SKU", "5400000000011")])
        self.assertEqual(plan["V1"]["action"], "conflict")
        self.assertIn("different SKU", plan["V1"]["message"])

    def test_unknown_variants_are_created_only_when_the_policy_allows(self):
        self._let_channel_create(False)
        self.assertFalse(self.backend._catalog_may_create())
        self.assertEqual(self._plan([_item("V1", "NEW-1")], create=False)["V1"]["action"], "missing")
        self.assertEqual(self._plan([_item("V2")], create=True)["V2"]["action"], "review", "no SKU, no barcode")
        self._let_channel_create(True)
        self.assertTrue(self.backend._catalog_may_create())
        self.assertEqual(self._plan([_item("V1", "NEW-1")], create=True)["V1"]["action"], "create")
        self.policy.write({"direction": "outbound", "system_of_record": "channel"})
        self.assertTrue(self.backend._catalog_may_create(), "the channel owning the catalogue brings products in")

    def test_applying_binds_matches_and_creates_variants_with_attributes(self):
        self._let_channel_create(True)
        size = lambda v: [{"name": "Size", "value": v}, {"name": "Colour", "value": "Blue"}]  # noqa: E731
        items = [_item("V-MUG", "CAT-MUG"), _item("V-NEW", "CAT-NEW", "5400000000042", name="New lamp"),
                 _item("V-S", "CAT-TEE-S", name="Tee", product_ref="P-TEE", options=size("S")),
                 _item("V-M", "CAT-TEE-M", name="Tee", product_ref="P-TEE", options=size("M"), price="12.00")]
        plan = self.backend._plan_catalog_matches(items, create=True)
        self.backend._apply_catalog_plan(plan)
        bindings = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id)])
        by_ext = {b.external_id: b.odoo_id for b in bindings}
        self.assertEqual(set(by_ext), {"V-MUG", "V-NEW", "V-S", "V-M"})
        self.assertEqual(by_ext["V-MUG"], self.mug)
        self.assertEqual((by_ext["V-NEW"].name, by_ext["V-NEW"].barcode), ("New lamp", "5400000000042"))
        tee_s, tee_m = by_ext["V-S"], by_ext["V-M"]
        self.assertEqual(tee_s.product_tmpl_id, tee_m.product_tmpl_id, "one template for the channel's product")
        self.assertEqual((tee_s.default_code, tee_m.default_code), ("CAT-TEE-S", "CAT-TEE-M"))
        self.assertEqual(sorted(tee_m.product_tmpl_id.attribute_line_ids.attribute_id.mapped("name")),
                         ["Colour", "Size"])
        self.assertEqual(tee_m.product_template_attribute_value_ids.mapped("name"), ["M", "Blue"])
        # a later page bringing another size of the same product extends its template
        more = self.backend._plan_catalog_matches(
            [_item("V-L", "CAT-TEE-L", name="Tee", product_ref="P-TEE", options=size("L"))], create=True)
        self.backend._apply_catalog_plan(more, {"P-TEE": tee_s.product_tmpl_id})
        self.assertEqual(more[0]["product"].product_tmpl_id, tee_s.product_tmpl_id)
        self.assertEqual(more[0]["product"].default_code, "CAT-TEE-L")


@tagged("post_install", "-at_install")
class TestCatalogOnboarding(CatalogCase):
    """The generic channel's catalogue read in pages: dry run, interruption and resumption, reconciliation."""

    def setUp(self):
        super().setUp()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        self.channel = GenericChannel(token="cat-token", catalogue=()).start()
        self.addCleanup(self.channel.stop)
        self.backend.endpoint_url = self.channel.url
        self.channel.add_product("CAT-MUG", "Mug", barcode="5400000000011", price="9.50")
        self.channel.add_product("CAT-CAP", "Cap", barcode="1111111111116")  # same SKU, another barcode
        for index in range(5):
            self.channel.add_product("CAT-NEW-%d" % index, "New %d" % index, price="5.00")
        self.onboarding = self.env["retail.catalog.onboarding"].create(
            {"backend_id": self.backend.id, "page_size": 2})

    def _bound(self):
        return self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id)])

    def test_dry_run_reports_and_writes_no_product(self):
        self._let_channel_create(True)
        products_before = self.env["product.product"].search_count([])
        self.onboarding.action_dry_run()
        self.assertEqual(self.onboarding.state, "done")
        self.assertEqual((self.onboarding.pages_done, self.onboarding.variants_read), (4, 7))
        self.assertEqual((self.onboarding.matched_count, self.onboarding.create_count,
                          self.onboarding.conflict_count), (1, 5, 1))
        self.assertEqual(self.env["product.product"].search_count([]), products_before)
        self.assertFalse(self._bound())
        progress = self.onboarding.progress_id
        self.assertEqual((progress.state, progress.done, progress.kind), ("done", 7, "import"))

    def test_interrupted_import_resumes_where_it_stopped(self):
        self._let_channel_create(True)
        # the channel fails from the third page on
        calls = []
        original = type(self.env["retail.catalog.onboarding"])._process

        def fail_after_two(onboarding, items):
            calls.append(len(items))
            if len(calls) == 2:
                self.channel.inject("GET", "/api/v1/products", status=400, times=None)
            return original(onboarding, items)

        from unittest.mock import patch  # noqa: PLC0415

        with patch.object(type(self.env["retail.catalog.onboarding"]), "_process", fail_after_two):
            self.onboarding.action_import()
        self.assertEqual(self.onboarding.state, "interrupted")
        self.assertEqual(self.onboarding.pages_done, 2)
        self.assertTrue(self.onboarding.cursor)
        self.assertIn("page 3", self.onboarding.message)
        self.assertEqual(len(self._bound()), 3, "what the pages read did is kept")
        self.channel.clear_faults()
        self.onboarding.action_resume()
        self.assertEqual(self.onboarding.state, "done")
        self.assertEqual(self.onboarding.variants_read, 7)
        bound = self._bound()
        self.assertEqual(len(bound), 6, "each variant bound once (the conflicting one left for a person)")
        self.assertEqual(len(set(bound.mapped("external_id"))), 6)
        self.assertEqual(self.env["product.product"].search_count([("default_code", "=like", "CAT-NEW-%")]), 5)
        conflict = self.onboarding.line_ids.filtered(lambda line: line.action == "conflict")
        self.assertEqual(conflict.sku, "CAT-CAP")

    def test_a_person_pausing_keeps_the_pages_read(self):
        self._let_channel_create(True)
        original = type(self.env["retail.catalog.onboarding"])._process

        def pause_after_first(onboarding, items):
            result = original(onboarding, items)
            onboarding.progress_id.action_cancel()
            return result

        from unittest.mock import patch  # noqa: PLC0415

        with patch.object(type(self.env["retail.catalog.onboarding"]), "_process", pause_after_first):
            self.onboarding.action_import()
        self.assertEqual((self.onboarding.state, self.onboarding.pages_done), ("paused", 1))
        self.onboarding.action_resume()
        self.assertEqual(self.onboarding.state, "done")
        self.assertEqual(len(self._bound()), 6)

    def test_a_catalogue_reconciliation_the_rate_limit_stops_continues_from_its_page(self):
        from ..components.catalog_reader import GenericCatalogReader  # noqa: PLC0415

        self._let_channel_create(True)
        self.onboarding.action_import()
        self.channel.edit_product("CAT-MUG", name="Big mug")
        self.channel.remove_product("CAT-NEW-4")
        # one page's token now, the next in ten seconds; two products a page
        key = self.backend._outbound_bucket()
        self.backend.write({"rate_limit_rps": 0.1, "rate_limit_burst": 1})
        with self.env.registry.cursor() as cr:
            cr.execute("""
                INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                VALUES (%s, 1, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO UPDATE SET tokens = 1, stamp = extract(epoch from clock_timestamp())
            """, (key,))
        mark = len(self.channel.calls_to("GET", "/api/v1/products"))
        backend = self.backend.with_context(retail_reconcile_catalog=True, queue_job__no_delay=False,
                                            job_uuid="catalogue-run")
        with patch.object(GenericCatalogReader, "_page_size", 2):
            run = backend._reconcile("catalog")
            self.assertEqual((run.state, run.checked), ("running", 2), run.message)
            self.assertTrue(run.paused_reads["retail.generic.catalog.reconciler"]["cursor"])
            self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/products")) - mark, 1)
            with self.env.registry.cursor() as cr:
                cr.execute("UPDATE retail_rate_bucket SET tokens = 100 WHERE key = %s", (key,))
            self.backend.write({"rate_limit_rps": 100, "rate_limit_burst": 100})
            perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual(run.state, "done", run.message)
        kinds = {(line.kind, line.key.split(":")[0], line.action) for line in run.line_ids}
        self.assertIn(("catalog_drift", "CAT-MUG", "repaired"), kinds)
        self.assertIn(("missing_on_channel", "CAT-NEW-4", "repaired"), kinds, "the bound products no page named")
        cursors = [c.query.get("cursor") for c in self.channel.calls_to("GET", "/api/v1/products")[mark:]]
        self.assertEqual(len(cursors), 3, cursors)
        self.assertEqual(len(set(map(str, cursors))), 3, "no page read twice")

    def test_catalogue_reconciliation_repairs_by_the_system_of_record(self):
        self._let_channel_create(True)
        self.assertIsNone(self.backend._reconcile("catalog"), "not at each scheduled catalogue run")
        self.onboarding.action_import()
        # nothing differs but the conflicting barcode of CAT-CAP
        self.channel.edit_product("CAT-CAP", barcode="5400000000028")
        run = self.backend.with_context(retail_reconcile_catalog=True)._reconcile("catalog")
        self.assertEqual((run.state, run.difference_count), ("done", 0))
        self.assertFalse(run.line_ids, "a reconciliation that finds nothing writes only its run")
        # the channel renamed a product, lost another and has a new one
        self.channel.edit_product("CAT-MUG", name="Big mug")
        self.channel.remove_product("CAT-NEW-0")
        self.channel.add_product("CAT-EXTRA", "Extra", price="3.00")
        run = self.backend.with_context(retail_reconcile_catalog=True)._reconcile("catalog")
        kinds = {(line.kind, line.key.split(":")[0], line.action) for line in run.line_ids}
        self.assertIn(("catalog_drift", "CAT-MUG", "repaired"), kinds)
        self.assertIn(("missing_on_channel", "CAT-NEW-0", "repaired"), kinds)
        self.assertIn(("missing_in_odoo", "CAT-EXTRA", "reported"), kinds, "Odoo owns: a person decides")
        requests = self.env["retail.export.request"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "catalog")])
        self.assertEqual(self.mug.name, "Mug", "Odoo's name is sent again, not changed")
        self.assertIn(self.mug.id, requests.mapped("res_id"))
        # the channel owns the catalogue: Odoo takes its values and its new product
        self.policy.write({"system_of_record": "channel"})
        run = self.backend.with_context(retail_reconcile_catalog=True)._reconcile("catalog")
        kinds = {(line.kind, line.key.split(":")[0], line.action) for line in run.line_ids}
        self.assertIn(("catalog_drift", "CAT-MUG", "repaired"), kinds)
        self.assertIn(("missing_in_odoo", "CAT-EXTRA", "repaired"), kinds)
        self.mug.invalidate_recordset()
        self.assertEqual(self.mug.name, "Big mug")
        extra = self.env["product.product"].search([("default_code", "=", "CAT-EXTRA")])
        self.assertEqual(extra.retail_bind_ids.filtered(lambda b: b.backend_id == self.backend).external_id,
                         self.channel.product("CAT-EXTRA")["id"])
