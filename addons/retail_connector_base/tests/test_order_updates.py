# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy

from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import OrderCase
from .test_order_import import ORDER

NEW_ADDRESS = {"first_name": "Jane", "last_name": "Doe", "street": "77 Geary St", "street2": "Floor 3",
               "city": "San Francisco", "zip": "94108", "state_code": "CA", "country_code": "US"}


@tagged("post_install", "-at_install")
class TestOrderUpdates(OrderCase):
    """An update of a confirmed order applies what the channel may still change, and says what it changed."""

    PRODUCT = {"type": "consu", "is_storable": True}

    def _order(self, hour=10, **changes):
        data = copy.deepcopy(ORDER)
        data["updated_at"] = "2026-11-20T%02d:00:00Z" % hour
        data.update(changes)
        return data

    def _created(self, **changes):
        binding, outcome = self._apply(self._order(**changes))
        self.assertEqual(outcome, "created")
        self.assertEqual(binding.odoo_id.state, "sale")
        return binding, binding.odoo_id

    def _last_message(self, sale):
        """The order's last message as text (its field labels unbolded)."""
        return html2plaintext(sale.message_ids.sorted("id")[-1].body).replace("*", "")

    def _ship(self, sale):
        for product in (self.mug, self.cap):
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 10)
        return super()._ship(sale)

    def test_a_note_changed_on_the_channel_reaches_the_confirmed_order(self):
        binding, sale = self._created(note="Leave at the door")
        self.assertEqual(html2plaintext(sale.note), "Leave at the door")
        _b, outcome = self._apply(self._order(11, note="Ring twice, then leave at the door"))
        self.assertEqual(outcome, "updated")
        self.assertEqual(html2plaintext(sale.note), "Ring twice, then leave at the door")
        message = self._last_message(sale)
        self.assertIn("Changed on %s" % self.backend.name, message)
        self.assertIn("Note: Leave at the door → Ring twice, then leave at the door", message)
        self.assertEqual(binding.external_updated_at.hour, 11)

        # an older version of the order, still on its way, does not bring the old note back
        _b, outcome = self._apply(self._order(10, note="Leave at the door", payment_state="pending"))
        self.assertEqual(outcome, "stale")
        self.assertEqual(html2plaintext(sale.note), "Ring twice, then leave at the door")

    def test_tags_are_mapped_on_creation_and_follow_the_channel_keeping_odoo_own(self):
        _binding, sale = self._created(tags=["vip", "gift"])
        self.assertEqual(sorted(sale.tag_ids.mapped("name")), ["gift", "vip"])
        by_hand = self.env["crm.tag"].create({"name": "call back"})
        sale.tag_ids = [(4, by_hand.id)]
        _b, outcome = self._apply(self._order(11, tags=["vip", "wholesale"]))
        self.assertEqual(outcome, "updated")
        self.assertEqual(sorted(sale.tag_ids.mapped("name")), ["call back", "vip", "wholesale"],
                         "the channel's tag removed there is removed, the one added in Odoo stays")
        self.assertIn("Tags: vip, gift, call back → vip, call back, wholesale", self._last_message(sale))
        self.assertEqual(self.env["crm.tag"].search_count([("name", "=", "vip")]), 1)

    def test_a_new_delivery_address_before_shipping_goes_on_the_order_and_its_delivery(self):
        _binding, sale = self._created()
        old_delivery = sale.partner_shipping_id
        other, _ = self._apply(self._order(external_id="G1002", name="#1002"))
        self.assertEqual(other.odoo_id.partner_shipping_id, old_delivery, "another order ships to the same contact")
        picking = sale.picking_ids
        self.assertEqual(picking.partner_id, old_delivery)
        fiscal_position = sale.fiscal_position_id

        _b, outcome = self._apply(self._order(11, shipping_address=NEW_ADDRESS))
        self.assertEqual(outcome, "updated")
        delivery = sale.partner_shipping_id
        self.assertNotEqual(delivery, old_delivery)
        self.assertEqual((delivery.parent_id, delivery.type), (sale.partner_id, "delivery"))
        self.assertEqual((delivery.street, delivery.street2, delivery.zip, delivery.state_id.code),
                         ("77 Geary St", "Floor 3", "94108", "CA"))
        self.assertEqual(picking.partner_id, delivery)
        self.assertEqual(picking.move_ids.partner_id, delivery)
        self.assertEqual(old_delivery.street, "1 Market St", "an address other orders use is never rewritten")
        self.assertEqual(other.odoo_id.partner_shipping_id, old_delivery)
        self.assertEqual(sale.fiscal_position_id, fiscal_position)
        message = self._last_message(sale)
        self.assertIn("Delivery address: Jane Doe, 1 Market St, 94105 San Francisco, US → ", message)
        self.assertIn("77 Geary St", message)
        self.assertIn(picking.name, message)
        self.assertIn("77 Geary St", html2plaintext(picking.message_ids.sorted("id")[-1].body))
        self.assertFalse(picking.activity_ids, "no activity asking a person to update the delivery")

        # the same address again (a later update about something else): nothing more
        count = len(sale.message_ids)
        _b, outcome = self._apply(self._order(12, shipping_address=NEW_ADDRESS, note="Ring twice"))
        self.assertEqual(outcome, "updated")
        self.assertEqual(sale.partner_shipping_id, delivery)
        self.assertNotIn("Delivery address", self._last_message(sale))
        self.assertEqual(len(sale.message_ids), count + 1)

    def test_a_new_delivery_address_after_the_goods_left_is_recorded_as_too_late(self):
        _binding, sale = self._created()
        delivery = sale.partner_shipping_id
        picking = self._ship(sale)
        _b, outcome = self._apply(self._order(11, shipping_address=NEW_ADDRESS))
        self.assertEqual(outcome, "unchanged", "nothing was applied")
        self.assertEqual((sale.partner_shipping_id, picking.partner_id), (delivery, delivery))
        message = self._last_message(sale)
        self.assertIn("not applied", message)
        self.assertIn("Delivery address: Jane Doe, 1 Market St, 94105 San Francisco, US (Odoo) → "
                      "Jane Doe, 77 Geary St, Floor 3, 94108 San Francisco, CA, US (channel)", message)
        self.assertIn("too late", message)
        self.assertIn(picking.name, message)
        activity = sale.activity_ids
        self.assertEqual(activity.summary, "Delivery address changed after shipping")
        # the channel sending that address again records nothing more
        count = len(sale.message_ids)
        _b, outcome = self._apply(self._order(12, shipping_address=NEW_ADDRESS))
        self.assertEqual((outcome, len(sale.message_ids), len(sale.activity_ids)), ("unchanged", count, 1))

    def test_an_update_changing_nothing_the_connector_applies_is_unchanged(self):
        binding, sale = self._created(note="Leave at the door", tags=["vip"])
        count = len(sale.message_ids)
        data = self._order(11, note="Leave at the door", tags=["vip"], total_amount="51.90")
        data["extra"] = {"fulfillment_status": "unfulfilled"}
        _b, outcome = self._apply(data)
        self.assertEqual(outcome, "unchanged")
        self.assertEqual(len(sale.message_ids), count, "no message")
        self.assertEqual(binding.external_updated_at.hour, 11, "the version is recorded as applied")

    def test_a_change_made_in_odoo_is_kept_when_the_channel_did_not_change_that_field(self):
        _binding, sale = self._created(note="Leave at the door")
        sale.note = "Customer called: deliver after 5pm"
        _b, outcome = self._apply(self._order(11, note="Leave at the door", payment_state="refunded"))
        self.assertEqual(outcome, "updated")
        self.assertEqual(html2plaintext(sale.note), "Customer called: deliver after 5pm")
        message = self._last_message(sale)
        self.assertIn("Payment state on the channel: paid → refunded", message)
        self.assertNotIn("Note", message)

    def test_when_odoo_is_the_system_of_record_the_channels_change_is_recorded_not_applied(self):
        self.backend.policy_for("orders").system_of_record = "odoo"
        _binding, sale = self._created(note="Leave at the door")
        delivery = sale.partner_shipping_id
        _b, outcome = self._apply(self._order(11, note="Ring twice", shipping_address=NEW_ADDRESS))
        self.assertEqual(outcome, "unchanged")
        self.assertEqual(html2plaintext(sale.note), "Leave at the door")
        self.assertEqual(sale.partner_shipping_id, delivery)
        message = self._last_message(sale)
        self.assertIn("not applied", message)
        self.assertIn("Note: Leave at the door (Odoo) → Ring twice (channel)", message)
        self.assertIn("77 Geary St", message)
        self.assertIn("Odoo is the system of record", message)

    def test_the_contact_of_the_channels_customer_account_follows_but_a_guests_partner_is_not_rewritten(self):
        _binding, sale = self._created()
        partner = sale.partner_id
        self.assertEqual(partner.retail_bind_ids.external_id, "CUST-7")
        data = self._order(11)
        data["customer"].update(email="jane@newmail.example", phone="+1 415 555 0177")
        _b, outcome = self._apply(data)
        self.assertEqual(outcome, "updated")
        self.assertEqual((partner.email, partner.phone), ("jane@newmail.example", "+14155550177"))
        message = self._last_message(sale)
        self.assertIn("Customer e-mail: Jane.Doe@example.com → jane@newmail.example", message)
        self.assertIn("Customer phone: +14155550100 → +14155550177", message)

        guest = self._order(10, external_id="G2001", name="#2001")
        guest["customer"] = {"email": "guest@example.com", "first_name": "Gus"}
        guest_sale = self._apply(guest)[0].odoo_id
        guest_partner = guest_sale.partner_id
        changed = self._order(11, external_id="G2001", name="#2001")
        changed["customer"] = {"email": "someone.else@example.com", "first_name": "Gus"}
        _b, outcome = self._apply(changed)
        self.assertEqual(outcome, "unchanged")
        self.assertEqual(guest_sale.partner_id, guest_partner, "the order is not moved to another partner")
        self.assertEqual(guest_partner.email, "guest@example.com")
        message = self._last_message(guest_sale)
        self.assertIn("Customer e-mail: guest@example.com (Odoo) → someone.else@example.com (channel)", message)
        self.assertIn("not a customer account", message)

    def test_changed_lines_of_a_confirmed_order_are_flagged_once(self):
        _binding, sale = self._created()
        data = self._order(11)
        data["lines"][0]["quantity"] = "3"
        _b, outcome = self._apply(data)
        self.assertEqual(outcome, "unchanged")
        self.assertIn("changed the lines", self._last_message(sale))
        count = len(sale.message_ids)
        data = self._order(12, note="Ring twice")
        data["lines"][0]["quantity"] = "3"
        _b, outcome = self._apply(data)
        self.assertEqual(outcome, "updated")
        self.assertEqual(len(sale.message_ids), count + 1, "the note change only; the lines were already flagged")
        self.assertNotIn("changed the lines", self._last_message(sale))
