# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timezone

import requests

from odoo import fields
from odoo.tests import tagged
from odoo.tools import html2plaintext

from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import ShopifyFlowCase

SKUS = ("RC-TSHIRT-S", "RC-TSHIRT-M", "RC-TSHIRT-L", "RC-MUG", "RC-CAP", "RC-HOODIE-M")


@tagged("post_install", "-at_install")
class TestShopifyFlows(ShopifyFlowCase):
    """Each Shopify flow over real HTTP both ways, through the shared pipeline."""

    SKUS = SKUS
    STOCK = 50

    def test_order_in_then_fulfilment_with_tracking_out(self):
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.client_order_ref, order["name"])
        self.assertAlmostEqual(sale.amount_total, float(order["total_price"]), places=2)
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "1Z999AA10123456784"
        self._validate(picking)
        perform_pending_jobs(self.env)
        shopify_order = self.shop.get_order(order["id"])
        self.assertEqual(shopify_order["fulfillment_status"], "fulfilled")
        tracking = [f["tracking_number"] for f in shopify_order.get("fulfillments", [])]
        self.assertEqual(tracking, ["1Z999AA10123456784"])

    def test_a_carrier_service_rate_maps_to_its_carrier_before_its_method(self):
        """A rate computed by a carrier service names it in its source: the carrier mapped to that service
        is the sale order's; a line of Shopify's own rates keeps the carrier mapped to its code."""
        product = self.env.ref("retail_connector_base.product_channel_shipping")
        by_service, by_code = self.env["delivery.carrier"].create(
            [{"name": "Parcel Express", "product_id": product.id}, {"name": "Courier by code", "product_id": product.id}])
        self.env["retail.value.map"].create([
            {"backend_id": self.backend.id, "kind": "carrier", "external_value": "Parcel Express",
             "odoo_ref": "delivery.carrier,%d" % by_service.id},
            {"backend_id": self.backend.id, "kind": "carrier", "external_value": "PE-24",
             "odoo_ref": "delivery.carrier,%d" % by_code.id},
        ])
        line = {"code": "PE-24", "title": "Parcel Express 24h", "price": "7.50"}
        computed = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}], shipping_lines=[
            dict(line, source="Parcel Express", carrier_identifier="c7a1e0f3b2")])
        own = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}], shipping_lines=[line])
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(computed).carrier_id, by_service)
        self.assertEqual(self._sale(own).carrier_id, by_code)

    def test_a_replayed_old_order_update_under_a_new_webhook_id_changes_nothing(self):
        """The order writer applies no order version older than the one it holds, whatever the delivery id."""
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}])
        self.shop.update_order(order["id"], note="first")
        [captured] = self.shop.webhooks.for_topic("orders/updated")
        self.shop.update_order(order["id"], note="second")
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        binding = sale.retail_bind_ids.filtered(lambda b: b.backend_id == self.backend)
        applied = (binding.external_updated_at, binding.payload_digest, len(sale.message_ids))
        self.assertEqual(binding.external_updated_at, datetime.fromisoformat(
            self.shop.get_order(order["id"])["updated_at"]).astimezone(timezone.utc).replace(tzinfo=None))

        # the captured body is still validly signed; its unsigned headers are rewritten
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/updated",
                   "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
                   "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                   "X-Shopify-Hmac-Sha256": base64.b64encode(
                       hmac.new(b"shp-secret", captured.body, hashlib.sha256).digest()).decode()}
        # from outside the test, as the shop posts (the test lock is already released)
        resp = requests.post(self._webhook_url(self.backend), data=captured.body,
                             headers=headers, timeout=30)
        self.assertEqual(resp.status_code, 202, resp.text)
        perform_pending_jobs(self.env)
        replayed = self.env["retail.event"].browse(resp.json()["events"])
        self.assertEqual((replayed.state, replayed.outcome), ("stale", "stale"))
        self.assertEqual((binding.external_updated_at, binding.payload_digest, len(sale.message_ids)), applied)

    def _outcomes(self, order):
        events = self.env["retail.event"].search(
            [("backend_id", "=", self.backend.id), ("aggregate_key", "=", str(order["id"])),
             ("topic", "=", "orders/updated")], order="id")
        return events.mapped("outcome")

    def _last_message(self, record):
        """The last message on ``record`` saying what its channel changed, as text."""
        bodies = [html2plaintext(m.body).replace("*", "") for m in record.message_ids.sorted("id")]
        return [body for body in bodies if body.startswith("Changed on")][-1]

    def test_note_tags_and_address_edited_on_the_shop_reach_the_confirmed_order_and_its_delivery(self):
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 1}], note="Gift wrap, please",
                                      tags=["vip"])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        self.assertEqual((sale.state, html2plaintext(sale.note), sale.tag_ids.mapped("name")),
                         ("sale", "Gift wrap, please", ["vip"]))
        picking = sale.picking_ids
        old_delivery = sale.partner_shipping_id
        self.assertEqual(picking.partner_id, old_delivery)

        self.shop.update_order(order["id"], note="Leave it with the neighbour at no. 11", tags=["vip", "wholesale"],
                               shipping_address={"address1": "9 Meir", "address2": "Bus 4", "city": "Antwerpen",
                                                 "zip": "2000", "country_code": "BE"})
        perform_pending_jobs(self.env)
        self.assertEqual(self._outcomes(order), ["updated"])
        self.assertEqual(html2plaintext(sale.note), "Leave it with the neighbour at no. 11")
        self.assertEqual(sorted(sale.tag_ids.mapped("name")), ["vip", "wholesale"])
        delivery = sale.partner_shipping_id
        self.assertEqual((delivery.street, delivery.street2, delivery.zip, delivery.city, delivery.parent_id),
                         ("9 Meir", "Bus 4", "2000", "Antwerpen", sale.partner_id))
        self.assertEqual(picking.partner_id, delivery, "the delivery that has not left goes to the new address")
        self.assertNotEqual(old_delivery.street, "9 Meir", "the old address is kept as it was")
        message = self._last_message(sale)
        for expected in ("Note: Gift wrap, please → Leave it with the neighbour at no. 11",
                         "Tags: vip → vip, wholesale", "Delivery address: ", "9 Meir", picking.name):
            self.assertIn(expected, message)

        # an update that changes nothing the connector applies (the shop touched the order)
        count = len(sale.message_ids)
        self.shop.update_order(order["id"], note="Leave it with the neighbour at no. 11")
        perform_pending_jobs(self.env)
        self.assertEqual(self._outcomes(order), ["updated", "unchanged"])
        self.assertEqual(len(sale.message_ids), count, "no message when nothing changed")

        # once the goods left, a new address is not applied: the order says it came too late
        self._validate(picking)
        perform_pending_jobs(self.env)
        self.shop.update_order(order["id"], shipping_address={"address1": "1 Grote Markt", "city": "Brussel",
                                                              "zip": "1000", "country_code": "BE"})
        perform_pending_jobs(self.env)
        self.assertEqual(self._outcomes(order)[-1], "unchanged")
        self.assertEqual((sale.partner_shipping_id, picking.partner_id), (delivery, delivery))
        message = self._last_message(sale)
        self.assertIn("not applied", message)
        self.assertIn("1 Grote Markt", message)
        self.assertIn("too late", message)

    def test_stock_and_price_out(self):
        self.backend.policy_for("pricing").mode = "event"
        self.env["stock.quant"]._update_available_quantity(self.products[0], self.warehouse.lot_stock_id, 7)
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:2])
        self.products[3].list_price = 11.5
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.inventory_level("RC-TSHIRT-S"), 57)
        self.assertEqual(self.shop.inventory_level("RC-TSHIRT-M"), 50)
        self.assertEqual(self.shop.variant("RC-MUG")["price"], "11.50")

    def _operations(self, since):
        ops = []
        for call in self.shop.calls.all()[since:]:
            query = (call.json() or {}).get("query") or ""
            ops.append(query.split("{", 2)[1].split("(")[0].strip() if "{" in query else call.path)
        return ops

    def test_stock_out_uses_the_inventory_items_its_bindings_remember(self):
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:2])
        perform_pending_jobs(self.env)
        bindings = self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("odoo_id", "in", self.products[:2].ids)])
        self.assertEqual(len(bindings), 2)
        self.assertTrue(all(b.channel_ref for b in bindings))

        # the next flush makes one call: no variant look-up, the location map is known
        mark = len(self.shop.calls.all())
        self.env["stock.quant"]._update_available_quantity(self.products[0], self.warehouse.lot_stock_id, 3)
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:2])
        perform_pending_jobs(self.env)
        self.assertEqual(self._operations(mark), ["inventorySetQuantities"])
        self.assertEqual(self.shop.inventory_level("RC-TSHIRT-S"), 53)

        # an inventory item the shop no longer knows: looked up again, and the level still arrives
        bindings.filtered(lambda b: b.odoo_id == self.products[0]).channel_ref = "gid://shopify/InventoryItem/987654321"
        self.env["stock.quant"]._update_available_quantity(self.products[0], self.warehouse.lot_stock_id, 1)
        mark = len(self.shop.calls.all())
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:2])
        perform_pending_jobs(self.env)
        self.assertEqual(self.shop.inventory_level("RC-TSHIRT-S"), 54)
        self.assertIn("productVariants", self._operations(mark))
        self.assertEqual(bindings.filtered(lambda b: b.odoo_id == self.products[0]).channel_ref,
                         "gid://shopify/InventoryItem/%s" % self.shop.variant("RC-TSHIRT-S")["inventory_item_id"])

    def test_a_look_up_takes_along_the_new_products_sent_next(self):
        """One search finds the variants of new products beyond the flush's own: their flushes look nothing up."""
        tote = self.env["product.product"].create(
            {"name": "Tote", "default_code": "RC-TOTE-NOT-SOLD", "type": "consu", "is_storable": True})
        mark = len(self.shop.calls.all())
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:1])
        perform_pending_jobs(self.env)
        self.assertEqual(self._operations(mark).count("productVariants"), 1)
        bound = self.env["retail.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("odoo_id", "in", (self.products | tote).ids)])
        self.assertEqual(bound.odoo_id, self.products, "the shop's other products are bound, the tote it lacks is not")
        self.assertTrue(all(b.channel_ref for b in bound))

        # the other products' first flush: their inventory items are known, one call
        mark = len(self.shop.calls.all())
        self.env["stock.quant"]._update_available_quantity(self.products[3], self.warehouse.lot_stock_id, 4)
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[1:])
        perform_pending_jobs(self.env)
        self.assertEqual(self._operations(mark), ["inventorySetQuantities"])
        self.assertEqual(self.shop.inventory_level("RC-MUG"), 54)

        # the tote, once it is the flush's own, is looked up again (and still not sold)
        mark = len(self.shop.calls.all())
        self.env["retail.export.request"]._request(self.backend, "inventory", tote)
        perform_pending_jobs(self.env)
        self.assertEqual(self._operations(mark), ["productVariants"])

    def test_cancellation_and_refund(self):
        order = self.shop.place_order(line_items=[{"sku": "RC-HOODIE-M", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        self.shop.refund_order(order["id"], amount="10.00", note="late delivery")
        perform_pending_jobs(self.env)
        refund = sale.retail_refund_ids
        self.assertEqual((refund.amount, refund.reason, refund.action), (10.0, "late delivery", "credit_note"))
        self.assertAlmostEqual(refund.credit_note_id.amount_total, 10.0, places=2)
        self.shop.cancel_order(order["id"])
        perform_pending_jobs(self.env)
        self.assertEqual(sale.state, "cancel")

    def test_refund_of_shipped_lines_creates_a_return_and_a_credit_note(self):
        self.backend.policy_for("returns").refund_action = "return_credit_note"
        order = self.shop.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}])
        perform_pending_jobs(self.env)
        sale = self._sale(order)
        picking = sale.picking_ids
        self._validate(picking)
        sale._create_invoices().action_post()
        perform_pending_jobs(self.env)
        shopify_refund = self.shop.refund_order(order["id"], line_items=[{"sku": "RC-MUG", "quantity": 1}],
                                                restock=True)
        perform_pending_jobs(self.env)
        refund = sale.retail_refund_ids
        self.assertEqual(refund.external_id, str(shopify_refund["id"]))
        self.assertEqual(refund.state, "done", refund.message)
        self.assertEqual(refund.return_picking_id.move_ids.product_id.default_code, "RC-MUG")
        self.assertEqual(refund.return_picking_id.move_ids.product_uom_qty, 1.0)
        self.assertEqual(refund.credit_note_id.state, "posted")
        self.assertAlmostEqual(refund.credit_note_id.amount_total, float(shopify_refund["transactions"][0]["amount"]),
                               places=2)

    def test_import_rule_defers_unpaid_orders_until_paid(self):
        self.backend.order_import_rule = "paid"
        order = self.shop.place_order(financial_status="pending", line_items=[{"sku": "RC-MUG", "quantity": 1}])
        perform_pending_jobs(self.env)
        self.assertFalse(self._sale(order))
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id)], limit=1)
        self.assertIn("deferred", event.outcome)
        self.shop.mark_paid(order["id"])
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(order).state, "sale")

    def test_missed_webhook_is_imported_by_the_orders_reconciliation(self):
        self.shop.drop_webhooks(count=5)
        order = self.shop.place_order(line_items=[{"sku": "RC-CAP", "quantity": 1}])
        self.assertFalse(self._sale(order))
        run = self.backend._reconcile("orders")
        self.assertEqual(run.repaired, 1)
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(order).state, "sale")

    def test_the_orders_reconciliation_waits_for_the_shops_cost_bucket(self):
        self.shop.drop_webhooks(count=5)
        order = self.shop.place_order(line_items=[{"sku": "RC-CAP", "quantity": 1}])
        # other calls of the app emptied the bucket: a page of orders waits seconds before the shop can take it
        self.shop.set_cost_limit(1000, 250, available=0)
        run = self.backend._reconcile("orders")
        self.assertEqual((run.state, run.repaired), ("done", 1), run.message)
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(order).state, "sale")

    def test_the_orders_reconciliation_of_a_job_stops_for_the_cost_bucket_and_continues(self):
        self.shop.drop_webhooks(count=5)
        order = self.shop.place_order(line_items=[{"sku": "RC-CAP", "quantity": 1}])
        # the bucket refills in many seconds: the scheduled run's job gives its worker back rather than wait
        self.shop.set_cost_limit(1000, 10, available=0)
        backend = self.backend.with_context(queue_job__no_delay=False, job_uuid="scheduled-orders-run")
        run = backend._reconcile("orders")
        self.assertEqual((run.state, run.checked), ("running", 0), run.message)
        self.assertIn("THROTTLED", run.message.upper())
        self.assertTrue(run.resume_at)
        self.assertTrue(run.paused_reads["retail.shopify.orders.reconciler"]["started"])
        self.assertFalse(self._sale(order))
        # the shop said when to come back, and the backend's bucket holds every request until then: time passes
        self.assertGreater(run.resume_at, fields.Datetime.now())
        self.shop.set_cost_limit(1000, 1000)
        with self.env.registry.cursor() as cr:
            cr.execute("UPDATE retail_rate_bucket SET tokens = 100 WHERE key = %s", (self.backend._outbound_bucket(),))
        outcomes = perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual(len(outcomes), 1, outcomes)
        self.assertEqual((run.state, run.checked, run.repaired), ("done", 1, 1), run.message)
        perform_pending_jobs(self.env)
        self.assertEqual(self._sale(order).state, "sale")

    def test_a_product_the_shop_does_not_sell_fails_alone(self):
        tote = self.env["product.product"].create({"name": "Tote", "default_code": "RC-TOTE", "type": "consu", "is_storable": True})
        self.env["retail.export.request"]._request(self.backend, "inventory", self.products[:1] | tote)
        perform_pending_jobs(self.env)
        requests = self.env["retail.export.request"].search([("backend_id", "=", self.backend.id)])
        states = {self.env["product.product"].browse(r.res_id).default_code: (r.state, r.last_error) for r in requests}
        self.assertEqual(states["RC-TSHIRT-S"], ("done", False))
        self.assertEqual(states["RC-TOTE"][0], "failed")
        self.assertIn("does not sell", states["RC-TOTE"][1])
        self.assertEqual(self.shop.inventory_level("RC-TSHIRT-S"), 50)
