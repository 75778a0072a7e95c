# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import RetailCase

ORDER = {
    "schema_version": 1,
    "external_id": "INT-1",
    "name": "#INT-1",
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
    "currency": "USD",
    "customer": {"external_id": "C-INT", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"},
    "billing_address": {"first_name": "Ann", "last_name": "Lee", "street": "1 Main St", "city": "Austin", "zip": "73301",
                        "country_code": "US"},
    "lines": [{"external_id": "L1", "sku": "RC-INT-CAP", "name": "Cap", "quantity": "1", "unit_price": "20.00"}],
    "payment_state": "paid",
    "status": "open",
}


@tagged("post_install", "-at_install")
class TestFailureIntelligence(RetailCase):
    """Failures get a class, a cluster and a fix; mapping suggestions are accepted in bulk and replayed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.company_id.currency_id = cls.env.ref("base.USD")
        Product = cls.env["product.product"]
        cls.mug = Product.create({"name": "Blue ceramic mug 300 ml", "default_code": "MUG-BLU-300", "type": "consu"})
        cls.red_mug = Product.create({"name": "Red ceramic mug 300 ml", "default_code": "MUG-RED-300", "type": "consu"})
        cls.lamp = Product.create({"name": "Oak desk lamp", "default_code": "LAMP-OAK-01", "type": "consu"})
        cls.cap = Product.create({"name": "Cap", "default_code": "RC-INT-CAP", "type": "consu"})
        cls.paypal = cls.env["account.journal"].create({"name": "PayPal", "code": "PPAL", "type": "bank"})

    def _event(self, key, **changes):
        data = copy.deepcopy(ORDER)
        data.update(changes, external_id=key, name="#" + key)
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "int-%s" % key, "payload": json.dumps(data)})

    def _failed(self, key, message, kind=None, state="failed"):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "int-f-%s" % key, "payload": "{}", "state": state,
            "error_kind": kind, "last_error": message})

    def test_a_failing_event_gets_its_class_cluster_fix_and_evidence(self):
        event = self._event("INT-2", lines=[{"external_id": "L1", "sku": "mug_blu_0300", "name": "Mug blue ceramic 300ml",
                                             "quantity": "1", "unit_price": "12.00"}])
        self.assertEqual(event._apply_one(), "failed")
        self.assertEqual(event.error_kind, "unknown_product")
        self.assertEqual(event.failure_class, "unknown_product")
        self.assertIn("Suggest mappings", event.failure_fix)
        self.assertIn("rule 'unknown product kind'", event.failure_evidence)
        self.assertTrue(event.failure_cluster.startswith("unknown product"))
        self.assertEqual(json.loads(event.failure_subject)["sku"], "mug_blu_0300")
        # a transient channel error, by its type and message
        export = self.env["retail.export.request"].create({
            "backend_id": self.backend.id, "domain": "inventory", "res_model": "product.product", "res_id": self.mug.id,
            "state": "failed", "last_error": "POST /api/v1/stock/batch answered 429: Too Many Requests"})
        self.assertEqual(export.failure_class, "rate_limit")
        self.assertIn("rate limit", export.failure_fix)
        # fixed: the class goes with the error
        event.write({"state": "done", "last_error": False, "error_kind": False})
        self.assertFalse(event.failure_class)
        self.assertFalse(event.failure_cluster)

    def test_the_workbench_groups_by_class_and_cluster_of_similar_messages(self):
        self._failed("W1", "Unknown product Mug on backend Shop: no Odoo product matches SKU 'RC-7'.", "unknown_product")
        self._failed("W2", "Unknown product Cap on backend Shop: no Odoo product matches SKU 'RC-9', barcode 4006381333931.",
                     "unknown_product")
        self._failed("W3", "Payment gateway 'klarna' of #3 is not mapped on backend Shop: add it to the backend's Mappings "
                     "tab, then replay the event.", "missing_mapping")
        self._failed("W4", "GET /api/v1/orders: cannot connect to the channel (Connection refused)",
                     "ChannelTransportError", state="dead")
        Group = self.env["retail.event.group"]
        domain = [("backend_id", "=", self.backend.id)]
        groups = Group.search(domain)
        # two messages (two signatures), one class and one cluster of similar messages
        self.assertEqual(len(groups), 4)
        by_class = dict(Group._read_group(domain, ["failure_class"], ["__count"]))
        self.assertEqual(by_class, {"unknown_product": 2, "missing_mapping": 1, "network": 1})
        unknown = groups.filtered(lambda g: g.failure_class == "unknown_product")
        self.assertEqual(len(set(unknown.mapped("failure_cluster"))), 1)
        self.assertEqual(sum(unknown.mapped("event_count")), 2)
        self.assertIn("Suggest mappings", unknown[0].failure_fix)
        network = groups.filtered(lambda g: g.failure_class == "network")
        self.assertEqual(network.dead_count, 1)
        self.assertEqual(network._events().aggregate_key, "W4")
        self.assertIn("endpoint URL", network.failure_fix)
        # the workbench's "Failures by class" opens grouped by class, then cluster
        context = self.env.ref("retail_connector_base.action_retail_event_group_by_class").context
        self.assertIn("search_default_group_failure_class", context)

    def test_suggested_mappings_are_accepted_in_bulk_and_the_events_replayed(self):
        self.backend.strict_mappings = True
        unknown_sku = self._event("INT-3", lines=[{"external_id": "L1", "sku": "mug_blu_0300", "name": "Mug blue ceramic 300ml",
                                                  "quantity": "2", "unit_price": "12.00"}])
        gateway = self._event("INT-4", payment_gateway="paypal_express")
        for event in unknown_sku | gateway:
            event._apply_one()
        self.assertEqual(unknown_sku.failure_class, "unknown_product")
        self.assertEqual(gateway.failure_class, "missing_mapping")
        action = self.backend.action_suggest_mappings()
        wizard = self.env["retail.mapping.suggestion"].browse(action["res_id"])
        self.assertEqual(wizard.unmatched_count, 2)
        by_item = {}
        for line in wizard.line_ids:
            by_item.setdefault(line.channel_value, []).append(line)
        mug = by_item["mug_blu_0300"]
        self.assertEqual([line.rank for line in mug], [1, 2])
        self.assertEqual(mug[1].target, self.red_mug)
        self.assertEqual(mug[0].target, self.mug)
        self.assertIn("SKU mug_blu_0300 = (normalised) MUG-BLU-300", mug[0].reasons)
        self.assertIn("title", mug[0].reasons)
        self.assertTrue(mug[0].accept)
        self.assertEqual(mug[0].event_ids, unknown_sku)
        paypal = by_item["paypal_express"]
        self.assertEqual((paypal[0].kind, paypal[0].target), ("payment_gateway", self.paypal))
        self.assertTrue(paypal[0].accept)
        self.assertTrue(all(not line.accept for lines in by_item.values() for line in lines[1:]))
        # one suggestion per item
        mug[1].accept = True
        with self.assertRaises(UserError):
            wizard.action_accept()
        mug[1].accept = False
        wizard.action_accept()
        binding = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id), ("odoo_id", "=", self.mug.id)])
        self.assertEqual(binding.channel_sku, "mug_blu_0300")
        self.assertEqual(self.backend._mapped("payment_gateway", "paypal_express"), self.paypal)
        self.assertEqual(unknown_sku.state, "done")
        self.assertEqual(gateway.state, "done")
        sale = self.env["sale.order"].browse(unknown_sku.res_id)
        self.assertEqual(sale.order_line.product_id, self.mug)
        self.assertFalse(unknown_sku.failure_class)
        # nothing left to suggest for this backend
        again = self.env["retail.mapping.suggestion"].browse(self.backend.action_suggest_mappings()["res_id"])
        self.assertEqual(again.unmatched_count, 0)

    def test_reconciliation_misses_and_taxes_are_suggested_too(self):
        run = self.env["retail.reconciliation.run"].create({"backend_id": self.backend.id, "domain": "inventory"})
        run._add("missing_in_odoo", "LAMP-OAK-1", None, 4, message="no Odoo product has this SKU")
        run._finish(1)
        tax = self.env["account.tax"].create({"name": "Sales 8.25%", "amount": 8.25, "amount_type": "percent",
                                              "type_tax_use": "sale", "company_id": self.backend.company_id.id})
        event = self._failed("T1", "Tax 'TX State' of [RC-INT-CAP] Cap is not mapped on backend Test: add it to the "
                             "backend's Mappings tab, then replay the event.", "missing_mapping")
        event.failure_subject = json.dumps({"type": "tax", "value": "TX State", "rate": 8.25})
        wizard = self.env["retail.mapping.suggestion"].browse(self.backend.action_suggest_mappings()["res_id"])
        best = {line.channel_value: line for line in wizard.line_ids if line.rank == 1}
        self.assertEqual(best["LAMP-OAK-1"].target, self.lamp)
        self.assertEqual(best["LAMP-OAK-1"].source, "inventory reconciliation")
        self.assertEqual(best["TX State"].target, tax)
        self.assertTrue(best["TX State"].reasons.startswith("rate 8.25% = 8.25%"))
