# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..components.errors import RetailMappingError
from ..lib.canonical import CanonicalValidationError, Order
from .common import MUG_AND_CAP, OrderCase

ORDER = {
    "schema_version": 1,
    "external_id": "G1001",
    "name": "#1001",
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
    "currency": "USD",
    "customer": {
        "external_id": "CUST-7",
        "email": "Jane.Doe@Example.com",
        "phone": "+1 415 555 0100",
        "first_name": "Jane",
        "last_name": "Doe",
    },
    "billing_address": {
        "first_name": "Jane",
        "last_name": "Doe",
        "street": "500 Howard St",
        "city": "San Francisco",
        "zip": "94105",
        "country_code": "US",
    },
    "shipping_address": {
        "first_name": "Jane",
        "last_name": "Doe",
        "street": "1 Market St",
        "city": "San Francisco",
        "zip": "94105",
        "country_code": "US",
    },
    "lines": [
        {"external_id": "L1", "sku": "RC-MUG", "name": "Mug", "quantity": "2", "unit_price": "12.50", "discount_amount": "5.00"},
        {"external_id": "L2", "sku": "RC-CAP", "name": "Cap", "quantity": "1", "unit_price": "20.00"},
    ],
    "shipping_lines": [{"code": "STD", "name": "Standard shipping", "price": "4.90"}],
    "payment_state": "paid",
    "status": "open",
}


@tagged("post_install", "-at_install")
class TestOrderImport(OrderCase):
    SKUS = MUG_AND_CAP
    PRODUCT = {"type": "consu", "is_storable": True}

    def _order(self, **changes):
        data = copy.deepcopy(ORDER)
        data.update(changes)
        return data

    def test_importing_the_same_order_twice_gives_one_sale_order(self):
        binding, outcome = self._apply(self._order())
        self.assertEqual(outcome, "created")
        sale = binding.odoo_id
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.client_order_ref, "#1001")
        self.assertEqual(sale.currency_id.name, "USD")
        mug_line = sale.order_line.filtered(lambda l: l.product_id == self.mug)
        self.assertEqual((mug_line.product_uom_qty, mug_line.price_unit), (2, 12.5))
        self.assertAlmostEqual(mug_line.discount, 20.0)  # 5.00 off 25.00
        shipping = sale.order_line.filtered(lambda l: l.product_id.default_code == "RC-SHIPPING")
        self.assertEqual(shipping.price_unit, 4.9)

        again, outcome = self._apply(self._order())
        self.assertEqual(outcome, "unchanged")
        self.assertEqual(again, binding)
        self.assertEqual(self.env["sale.order"].search_count([("client_order_ref", "=", "#1001")]), 1)
        self.assertEqual(binding.channel_payment_state, "paid")

    def test_an_email_known_only_outside_the_backend_makes_a_new_partner_flagged_as_duplicate(self):
        """A shopper cannot attach orders to an employee, or to a partner the channel never knew, by their e-mail."""
        employee = new_test_user(self.env, login="jane.doe", email="jane.doe@example.com").partner_id
        binding, _ = self._apply(self._order())
        partner = binding.odoo_id.partner_id
        self.assertNotEqual(partner, employee)
        self.assertEqual(partner.retail_duplicate_of_id, employee)
        self.assertEqual(partner.retail_bind_ids.external_id, "CUST-7")
        activity = partner.activity_ids
        self.assertEqual(activity.summary, "Possible duplicate customer")
        self.assertIn("e-mail of %s" % employee.display_name, activity.note)
        # the next order of that customer id, without e-mail, resolves through the binding
        data = self._order(external_id="G1002", name="#1002")
        data["customer"] = {"external_id": "CUST-7", "first_name": "Jane"}
        self.assertEqual(self._apply(data)[0].odoo_id.partner_id, partner)

        other_company = self.env["res.company"].create({"name": "Other Co"})
        for company in (other_company, self.env["res.company"]):  # another company's customer, a shared contact
            self.env["res.partner"].create({"name": "Hand-made", "email": "hand@example.com",
                                            "company_id": company.id or False})
        data = self._order(external_id="G1005", name="#1005")
        data["customer"] = {"external_id": "CUST-8", "email": "hand@example.com", "first_name": "Hand"}
        stranger = self._apply(data)[0].odoo_id.partner_id
        hand_made = self.env["res.partner"].search([("name", "=", "Hand-made")])
        self.assertEqual(len(hand_made), 2)
        self.assertNotIn(stranger, hand_made)
        self.assertEqual(stranger.email, "hand@example.com")
        self.assertEqual(stranger.retail_duplicate_of_id, hand_made.filtered(lambda p: not p.company_id),
                         "flagged against the shared contact, not another company's partner")

    def test_an_email_or_phone_matches_the_partners_this_backend_knows(self):
        known = self.env["res.partner"].create({"name": "J. Doe", "email": "jane.doe@example.com"})
        self.env["retail.partner.binding"].create({"backend_id": self.backend.id, "odoo_id": known.id,
                                                   "external_id": "CUST-OLD"})
        binding, _ = self._apply(self._order())
        self.assertEqual(binding.odoo_id.partner_id, known, "a partner this backend bound is matched by e-mail")
        self.assertFalse(known.retail_duplicate_of_id)
        self.assertEqual(known.retail_bind_ids.external_id, "CUST-7")

        # a guest with only a phone: a partner entered by hand is not matched, the earlier guest order's is
        by_hand = self.env["res.partner"].create({"name": "Phone Guy", "phone": "+1 (415) 555-0199"})
        data = self._order(external_id="G1003", name="#1003")
        data["customer"] = {"phone": "+14155550199", "first_name": "Phone"}
        guest = self._apply(data)[0].odoo_id.partner_id
        self.assertNotEqual(guest, by_hand)
        self.assertEqual(guest.retail_duplicate_of_id, by_hand)
        data = self._order(external_id="G1004", name="#1004")
        data["customer"] = {"phone": "+1 415-555-0199", "first_name": "Phone"}
        self.assertEqual(self._apply(data)[0].odoo_id.partner_id, guest, "this backend's guest is matched by phone")

    def test_delivery_address_becomes_a_child_contact_once(self):
        binding, _ = self._apply(self._order())
        self.assertEqual(binding.odoo_id.partner_id.street, "500 Howard St", "the customer takes the billing address")
        self.assertEqual(binding.odoo_id.partner_invoice_id, binding.odoo_id.partner_id)
        delivery = binding.odoo_id.partner_shipping_id
        self.assertEqual(delivery.parent_id, binding.odoo_id.partner_id)
        self.assertEqual((delivery.type, delivery.city, delivery.country_id.code), ("delivery", "San Francisco", "US"))
        second, _ = self._apply(self._order(external_id="G1004", name="#1004"))
        self.assertEqual(second.odoo_id.partner_shipping_id, delivery)

    def test_unknown_product_is_a_clear_error_and_creates_nothing(self):
        data = self._order()
        data["lines"][1]["sku"] = "NO-SUCH-SKU"
        with self.assertRaises(RetailMappingError) as caught, self.env.cr.savepoint():
            self._apply(data)
        self.assertEqual(caught.exception.kind, "unknown_product")
        self.assertIn("NO-SUCH-SKU", str(caught.exception))
        self.assertFalse(self.env["retail.sale.order.binding"].search([("external_id", "=", "G1001")]))

    def test_older_version_never_overwrites_newer(self):
        newer = self._order(updated_at="2026-11-20T12:00:00Z", payment_state="paid")
        binding, _ = self._apply(newer)
        older = self._order(updated_at="2026-11-20T11:00:00Z", payment_state="pending")
        _binding, outcome = self._apply(older)
        self.assertEqual(outcome, "stale")
        self.assertEqual(binding.channel_payment_state, "paid")

    def test_cancellation_cancels_the_sale_order(self):
        binding, _ = self._apply(self._order())
        _b, outcome = self._apply(self._order(status="cancelled", updated_at="2026-11-20T13:00:00Z"))
        self.assertEqual(outcome, "cancelled")
        self.assertEqual(binding.odoo_id.state, "cancel")
        self.assertEqual(binding.channel_status, "cancelled")

    def test_cancellation_after_shipping_is_flagged_not_cancelled(self):
        self.env["stock.quant"]._update_available_quantity(self.mug, self.env.ref("stock.stock_location_stock"), 10)
        self.env["stock.quant"]._update_available_quantity(self.cap, self.env.ref("stock.stock_location_stock"), 10)
        binding, _ = self._apply(self._order())
        picking = binding.odoo_id.picking_ids
        picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self._apply(self._order(status="cancelled", updated_at="2026-11-20T13:00:00Z"))
        self.assertEqual(binding.odoo_id.state, "sale")
        self.assertTrue(binding.odoo_id.activity_ids)

    def test_channel_tax_lines_map_to_odoo_taxes(self):
        tax = self.env["account.tax"].create(
            {"name": "Sales 8.5%", "amount": 8.5, "amount_type": "percent", "type_tax_use": "sale"}
        )
        data = self._order()
        for line in data["lines"]:
            line["tax_lines"] = [{"name": "CA", "rate": "0.085", "amount": "1.00"}]
        binding, _ = self._apply(data)
        product_lines = binding.odoo_id.order_line.filtered(lambda l: l.product_id in self.mug | self.cap)
        self.assertEqual(product_lines.tax_ids, tax)
        data = self._order(external_id="G2000")
        data["lines"][0]["tax_lines"] = [{"name": "XX", "rate": "0.33", "amount": "1.00"}]
        with self.assertRaisesRegex(RetailMappingError, "No sales tax of 33"), self.env.cr.savepoint():
            self._apply(data)

    def test_unknown_currency_and_invalid_payload_are_named(self):
        with self.assertRaises(CanonicalValidationError) as caught:
            Order.from_dict(self._order(currency="XYZ", lines=[]))
        text = str(caught.exception)
        self.assertIn("currency", text)
        self.assertIn("lines", text)


@tagged("post_install", "-at_install")
class TestOrderMappings(OrderCase):
    """Channel names map to Odoo records; with strict mappings an unmapped one is a fixable error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env["product.product"]
        cls.express = Product.create({"name": "Express delivery", "default_code": "SHIP-EXP", "type": "service"})
        cls.state_tax = cls.env["account.tax"].create(
            {"name": "CA State", "amount": 7.25, "amount_type": "percent", "type_tax_use": "sale"}
        )
        cls.journal = cls.env["account.journal"].search([("type", "in", ("bank", "cash"))], limit=1) or cls.env[
            "account.journal"
        ].create({"name": "Channel payments", "code": "CHP", "type": "bank"})

    def _order(self, **changes):
        data = copy.deepcopy(ORDER)
        data.update(changes)
        data["payment_gateway"] = "shopify_payments"
        data["shipping_lines"] = [{"code": "EXPRESS", "name": "Express", "price": "9.90"}]
        for line in data["lines"]:
            line["tax_lines"] = [{"name": "CA State", "rate": "0.0725", "amount": "1.00"}]
        return data

    def _map(self, kind, value, record):
        self.env["retail.value.map"].create(
            {"backend_id": self.backend.id, "kind": kind, "external_value": value, "odoo_ref": "%s,%d" % (record._name, record.id)}
        )

    def test_strict_mappings_name_what_is_missing_until_mapped(self):
        self.backend.strict_mappings = True
        with self.assertRaises(RetailMappingError) as caught, self.env.cr.savepoint():
            self._apply(self._order())
        self.assertEqual(caught.exception.kind, "missing_mapping")
        self.assertIn("'shopify_payments'", str(caught.exception))
        self._map("payment_gateway", "shopify_payments", self.journal)
        with self.assertRaisesRegex(RetailMappingError, "Tax 'CA State'"), self.env.cr.savepoint():
            self._apply(self._order())
        self._map("tax", "CA State", self.state_tax)
        with self.assertRaisesRegex(RetailMappingError, "Shipping method 'EXPRESS'"), self.env.cr.savepoint():
            self._apply(self._order())
        self._map("shipping", "EXPRESS", self.express)
        binding, outcome = self._apply(self._order())
        self.assertEqual(outcome, "created")
        sale = binding.odoo_id
        self.assertIn(self.express, sale.order_line.product_id)
        self.assertEqual(sale.order_line.filtered(lambda l: l.product_id.default_code == "RC-MUG").tax_ids, self.state_tax)
        self.assertEqual(binding.channel_payment_gateway, "shopify_payments")

    def test_without_strict_mappings_defaults_apply(self):
        binding, _ = self._apply(self._order())
        shipping = binding.odoo_id.order_line.filtered(lambda l: l.product_id.default_code == "RC-SHIPPING")
        self.assertEqual(shipping.price_unit, 9.9)
        self.assertEqual(binding.odoo_id.order_line.filtered(lambda l: l.product_id.default_code == "RC-CAP").tax_ids, self.state_tax)


@tagged("post_install", "-at_install")
class TestOrderBatches(OrderCase):
    """A dispatcher creates the new orders of its batch together, and one bad order fails alone."""

    PRODUCT = {"type": "consu", "is_storable": True}

    def _queue(self, *orders, topic="orders/create"):
        events = self.env["retail.event"]
        for index, data in enumerate(orders):
            events |= self.env["retail.event"].create({
                "backend_id": self.backend.id, "topic": topic, "domain": "orders", "aggregate_type": "order",
                "aggregate_key": data["external_id"], "idempotency_key": "evt-%s-%s" % (data["external_id"], index),
                "state": "queued", "payload": json.dumps(data), "correlation_id": "corr-%s" % index,
                "channel_timestamp": data["updated_at"].replace("T", " ").rstrip("Z"),
            })
        return events

    def _order(self, external_id, **changes):
        data = copy.deepcopy(ORDER)
        data.update(external_id=external_id, name="#%s" % external_id, **changes)
        return data

    def _dispatch_counting_creates(self, **context):
        """Run a dispatcher; return how many sale orders each call of sale.order.create made."""
        SaleOrder = type(self.env["sale.order"])
        original, calls = SaleOrder.create, []

        def create(records, vals_list):
            calls.append(len(vals_list) if isinstance(vals_list, list) else 1)
            return original(records, vals_list)

        with patch.object(SaleOrder, "create", create):
            self.env["retail.event"].with_context(**context)._dispatch(self.backend.id, "orders")
        return calls

    def test_the_new_orders_of_a_batch_are_created_and_confirmed_together(self):
        events = self._queue(self._order("B1"), self._order("B2"), self._order("B3"))
        self.assertEqual(self._dispatch_counting_creates(), [3])
        self.assertEqual(events.mapped("state"), ["done"] * 3)
        self.assertEqual(events.mapped("outcome"), ["created"] * 3)
        sales = self.env["sale.order"].browse(events.mapped("res_id"))
        self.assertEqual(sales.mapped("client_order_ref"), ["#B1", "#B2", "#B3"])
        self.assertEqual(sales.mapped("state"), ["sale"] * 3)
        for event, sale in zip(events, sales, strict=True):
            binding = self.env["retail.sale.order.binding"].search([("odoo_id", "=", sale.id)])
            self.assertEqual((binding.backend_id, binding.external_id), (self.backend, event.aggregate_key))
            self.assertTrue(binding.payload_digest, "the applied version is recorded")
            self.assertIn("event orders/create #%s" % event.id, sale.message_ids[:1].body)

    def test_orders_of_a_batch_carry_the_connector_note_and_no_chatter_noise(self):
        """Only the connector's note: no creation log, tracked confirmation or origin note on the delivery."""
        events = self._queue(self._order("Q1"), self._order("Q2"))
        self.env["retail.event"]._dispatch(self.backend.id, "orders")
        sales = self.env["sale.order"].browse(events.mapped("res_id"))
        self.assertEqual(sales.mapped("state"), ["sale", "sale"])
        for event, sale in zip(events, sales, strict=True):
            self.assertEqual(len(sale.message_ids), 1, sale.message_ids.mapped("body"))
            self.assertIn("event orders/create #%s" % event.id, sale.message_ids.body)
            self.assertFalse(sale.message_ids.tracking_value_ids)
            self.assertTrue(sale.picking_ids, "confirmed: its delivery exists")
            self.assertFalse(sale.picking_ids.message_ids.filtered(lambda m: sale.name in (m.body or "")),
                             "the delivery names its order in its source document, not in a note")
            self.assertEqual(sale.picking_ids.origin, sale.name)

    def test_an_order_the_batch_cannot_confirm_fails_alone_with_its_reason(self):
        """The batch is undone and its orders created one by one: the bad one fails, naming why; no order of it is left."""
        events = self._queue(self._order("B1"), self._order("BAD"), self._order("B3"))
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder.action_confirm

        def action_confirm(records):
            if "#BAD" in records.mapped("client_order_ref"):
                raise UserError("Order #BAD cannot be confirmed: its customer is blocked")
            return original(records)

        with patch.object(SaleOrder, "action_confirm", action_confirm), \
                mute_logger("odoo.addons.retail_connector_base.models.retail_event"):
            calls = self._dispatch_counting_creates()
        self.assertEqual(calls, [3, 1, 1, 1], "the batch, then each order alone")
        self.assertEqual(events.mapped("state"), ["done", "failed", "done"])
        self.assertIn("its customer is blocked", events[1].last_error)
        self.assertFalse(self.env["sale.order"].search([("client_order_ref", "=", "#BAD")]))
        self.assertEqual(len(self.env["sale.order"].search([("client_order_ref", "in", ["#B1", "#B3"])])), 2)
        # the failed order is created once it can be, as if it had been alone
        events[1].action_replay()
        self.assertEqual((events[1].state, events[1].outcome), ("done", "created"))
        self.assertEqual(len(self.env["retail.sale.order.binding"].search([("external_id", "=", "BAD")])), 1)

    def test_an_order_created_and_updated_in_one_batch_is_applied_in_channel_order(self):
        """An aggregate with several events waiting is applied event by event, never left to the batch."""
        created = self._order("B1")
        updated = self._order("B1", updated_at="2026-11-20T11:00:00Z", payment_state="paid", note="Leave at the door")
        events = self._queue(created, updated, self._order("B2"))
        self.assertEqual(self._dispatch_counting_creates(), [1, 1])
        self.assertEqual(events.mapped("outcome"), ["created", "updated", "created"])
        binding = self.env["retail.sale.order.binding"].search([("external_id", "=", "B1")])
        self.assertEqual(len(binding), 1)
        self.assertEqual(binding.external_updated_at.hour, 11)

    def test_a_customer_another_job_created_after_this_snapshot_is_not_created_twice(self):
        """The order waits for a fresh transaction (no attempt counted) instead of failing on the binding's uniqueness."""
        partner = self.env["res.partner"].create({"name": "Jane Doe"})
        self.env.flush_all()
        with self.env.registry.cursor() as other:
            # committed after this test's snapshot, as by a concurrent job (its backend and partner
            # exist only in this test's transaction: the row's references are not checked)
            other.execute("SET session_replication_role = replica")
            other.execute("INSERT INTO retail_partner_binding (backend_id, odoo_id, external_id, sync_state) "
                          "VALUES (%s, %s, 'CUST-7', 'synced')", (self.backend.id, partner.id))
            other.commit()
            try:
                events = self._queue(self._order("B1"))
                last_job = self.env["queue.job"].search([], order="id desc", limit=1).id or 0
                with mute_logger("odoo.addons.retail_connector_base.models.retail_event"):
                    self.assertEqual(self._dispatch_counting_creates(queue_job__no_delay=False), [])
                self.assertEqual((events.state, events.attempts, events.last_error), ("queued", 0, False))
                # the customer is committed: a new transaction sees it, so the order is tried again
                # at once, by a dispatcher queued to start with no delay
                self.assertFalse(events.next_attempt_at)
                jobs = self.env["queue.job"].search([("id", ">", last_job), ("method_name", "=", "_dispatch")])
                self.assertTrue(jobs)
                self.assertFalse(any(jobs.mapped("eta")))
                self.assertFalse(self.env["res.partner"].search([("email", "=ilike", "jane.doe@example.com")]))
            finally:
                other.execute("DELETE FROM retail_partner_binding WHERE backend_id = %s AND external_id = 'CUST-7'",
                              (self.backend.id,))
                other.commit()
