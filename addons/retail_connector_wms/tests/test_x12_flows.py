# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta

import psycopg2.errors

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.retail_connector_base.tests.flows import ChannelTransactionCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import NEW_ADDRESS, WarehouseFlowMixin


@tagged("post_install", "-at_install")
class TestX12Flows(WarehouseFlowMixin, ChannelTransactionCase):
    """A warehouse speaking X12 over a real SFTP server on loopback: every message type."""

    WAREHOUSE = {"name": "EDI Reno", "code": "EDIR"}
    STOCK = 20

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({
            "name": "John Doe", "street": "9 Elm St", "city": "Reno", "zip": "89501",
            "country_id": cls.env.ref("base.us").id,
        })

    def setUp(self):
        super().setUp()
        from simulators.x12_warehouse import X12Warehouse  # noqa: PLC0415

        self.wh = self._start(X12Warehouse(warehouse_id="3PLWHSE", partner_id="RETAILCO",
                                           stock={"RC-MUG": 100, "RC-CAP": 100}))
        self.backend = self._warehouse_backend(
            name="EDI 3PL test", backend_type="wms_x12", sftp_host=self.wh.host, sftp_port=self.wh.port,
            api_key=self.wh.username, api_secret=self.wh.password, sftp_host_key=self.wh.host_key_fingerprint,
            x12_sender_id="RETAILCO", x12_receiver_id="3PLWHSE",
        )

    def _poll(self):
        with self.backend.work_on("retail.backend") as work:
            summary = work.component(usage="x12.poller").run()
        perform_pending_jobs(self.env)
        return summary

    def _documents(self, **where):
        domain = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in where.items()]
        return self.env["retail.edi.document"].search(domain, order="id")

    def test_a_read_waits_while_another_reads_the_same_backends_files(self):
        """Two overlapping reads of one warehouse's files never apply (or acknowledge) a file twice."""
        with self.backend.work_on("retail.backend") as work:
            poller = work.component(usage="x12.poller")
            lock = poller._lock_name()
        with self.env.registry.cursor() as other:
            other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (lock,))
            try:
                with self.assertRaises(psycopg2.errors.LockNotAvailable), mute_logger("odoo.sql_db"), \
                        self.env.cr.savepoint():
                    self.env.cr.execute("SET LOCAL lock_timeout = '300ms'")
                    poller.run()
            finally:
                other.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (lock,))
        self.assertIn("0 applied", self._poll())

    def _auth_attempts(self):
        return [o for o in self.wh.operations if o.op.startswith("auth")]

    def test_no_connection_until_a_person_trusts_the_fetched_host_key(self):
        """Without a trusted host key the server never sees a login; fetching its key logs in neither."""
        self.backend.sftp_host_key = False
        self.backend.action_test_connection()
        self.assertFalse(self.backend.last_check_ok)
        self.assertIn("does not know the host key of %s:%s" % (self.wh.host, self.wh.port),
                      self.backend.last_check_message)
        with self.assertRaisesRegex(UserError, "no fetched host key to trust"):
            self.backend.action_sftp_trust_host_key()

        self.backend.action_sftp_fetch_host_key()
        self.assertEqual(self.backend.sftp_offered_host_key, self.wh.host_key_fingerprint)
        self.assertEqual(self.backend.sftp_offered_host_key_type, "ssh-ed25519")
        self.assertFalse(self.backend.sftp_host_key, "a fetched key is only shown, not trusted")
        self.assertEqual(self._auth_attempts(), [], "neither the refused connection nor the fetch logged in")

        clerk = new_test_user(self.env, login="x12_clerk", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            self.backend.with_user(clerk).action_sftp_trust_host_key()
        self.backend.action_sftp_trust_host_key()
        self.assertEqual(self.backend.sftp_host_key, self.wh.host_key_fingerprint)
        self.assertFalse(self.backend.sftp_offered_host_key)
        self.backend.action_test_connection()
        self.assertTrue(self.backend.last_check_ok, self.backend.last_check_message)
        self.assertTrue(self._auth_attempts())

    def test_a_key_fetched_from_another_address_is_not_trusted(self):
        self.backend.write({"sftp_host_key": False})
        self.backend.action_sftp_fetch_host_key()
        self.backend.sftp_port = self.wh.port + 1
        with self.assertRaisesRegex(UserError, "fetch the host key again"):
            self.backend.action_sftp_trust_host_key()
        self.assertFalse(self.backend.sftp_host_key)

    def test_a_server_offering_another_host_key_is_refused_naming_both_fingerprints(self):
        trusted = "SHA256:" + "A" * 43
        self.backend.sftp_host_key = trusted
        self.backend.action_test_connection()
        self.assertFalse(self.backend.last_check_ok)
        self.assertIn(trusted, self.backend.last_check_message)
        self.assertIn(self.wh.host_key_fingerprint, self.backend.last_check_message)
        self.assertEqual(self._auth_attempts(), [])

    def test_940_997_then_945_partial_twice_then_the_rest(self):
        picking = self._delivery([(self.mug, 4), (self.cap, 1)])
        [sent] = self._documents(direction="out", transaction_set="940")
        self.assertEqual((sent.reference, sent.ack_state, sent.picking_id), (picking.name, "pending", picking))
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        self.wh.wait_for(lambda: self.wh.written_of("997"))
        self._poll()
        self.assertEqual(sent.ack_state, "accepted")

        self.wh.inject("duplicate")
        self.wh.ship(picking.name, {"RC-MUG": 3, "RC-CAP": 1}, tracking="1ZEDI0001")
        summary = self._poll()
        self.assertIn("1 duplicate", summary)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "1ZEDI0001")
        self.assertEqual({m.product_id.default_code: m.quantity for m in picking.move_ids}, {"RC-MUG": 3, "RC-CAP": 1})
        backorder = picking.backorder_ids
        self.assertEqual(backorder.move_ids.product_uom_qty, 1)
        received = self._documents(direction="in", transaction_set="945")
        self.assertEqual(sorted(received.mapped("state")), ["duplicate", "processed"])
        # every 945 read was acknowledged with a 997 of our own
        self.assertEqual(len(self._documents(direction="out", transaction_set="997")), 2)

        self.wh.ship(picking.name, tracking="1ZEDI0002")
        self._poll()
        self.assertEqual(backorder.state, "done")
        self.assertEqual(picking.retail_bind_ids.warehouse_status, "shipped")
        self.assertFalse(self.wh.files("out"), "processed files are archived")
        # read and archived: the 997 of our 940, the first 945 and its resend, the second 945
        self.assertEqual(len(self.wh.files("archive")), 4)

    def test_control_numbers_are_never_reused(self):
        first = self._delivery([(self.mug, 1)])
        second = self._delivery([(self.cap, 1)])
        sent = self._documents(direction="out", transaction_set="940")
        self.assertEqual(sent.mapped("reference"), [first.name, second.name])
        numbers = [int(n) for n in sent.mapped("interchange_control")]
        self.assertEqual(len(set(numbers)), 2)
        self.assertLess(numbers[0], numbers[1])
        self.assertEqual(len(set(sent.mapped("group_control"))), 2)
        self.assertEqual(self.backend.x12_interchange_sequence_id.padding, 9)

    def test_943_then_944_with_damaged_goods(self):
        supplier = self.env.ref("stock.stock_location_suppliers")
        receipt = self.env["stock.picking"].create({
            "picking_type_id": self.warehouse.in_type_id.id, "location_id": supplier.id,
            "location_dest_id": self.stock.id,
            "move_ids": [(0, 0, {"product_id": self.cap.id, "product_uom_qty": 10, "location_id": supplier.id,
                                 "location_dest_id": self.stock.id})],
        })
        receipt.action_confirm()
        perform_pending_jobs(self.env)
        requests = self.env["retail.export.request"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(self._documents(direction="out", transaction_set="943").reference, receipt.name,
                         [(r.state, r.last_error, receipt.state) for r in requests])
        self.wh.wait_for(lambda: receipt.name in self.wh.transfers)
        self.wh.receive(receipt.name, {"RC-CAP": 10}, damaged={"RC-CAP": 2})
        self._poll()
        self.assertEqual(receipt.state, "done")
        self.assertEqual(receipt.move_ids.quantity, 8, "damaged units are not put in stock")
        self.assertTrue(receipt.backorder_ids)
        self.assertIn("damaged", " ".join(receipt.message_ids.mapped("body")))

    def test_846_snapshot_adjusts_within_tolerance_and_reports_beyond(self):
        self.backend.policy_for("inventory").write({"drift_tolerance": 1, "drift_tolerance_percent": 0})
        self.wh.publish_inventory({"RC-MUG": {"on_hand": 21, "available": 21}, "RC-CAP": {"on_hand": 5, "available": 5}})
        self._poll()
        run = self.env["retail.reconciliation.run"].search([("backend_id", "=", self.backend.id)], limit=1)
        actions = {line.key.split(" @ ")[0]: line.action for line in run.line_ids}
        self.assertEqual(actions, {"RC-MUG": "repaired", "RC-CAP": "reported"})
        self.assertEqual(self.mug.with_context(location=self.stock.id).qty_available, 21)
        self.assertEqual(self.cap.with_context(location=self.stock.id).qty_available, 20)

    def test_a_malformed_file_is_quarantined_with_its_reason_and_the_others_go_on(self):
        self.wh.inject("bad_segment_count")
        self.wh.publish_inventory({"RC-MUG": 20})
        self.wh.publish_inventory({"RC-CAP": 20}, reference="GOOD")
        summary = self._poll()
        self.assertIn("1 quarantined", summary)
        [bad] = self._documents(state="quarantined")
        self.assertIn("SE", bad.error)
        self.assertEqual(len(self.wh.files("quarantine")), 2, "the file and its reason")
        reason = [n for n in self.wh.files("quarantine") if n.endswith(".reason.txt")][0]
        self.assertIn("SE", self.wh.read_file(reason, "quarantine"))
        self.assertEqual(self._documents(direction="in", transaction_set="846").state, "received")
        rejection = self.wh.wait_for(lambda: self.wh.acks_received, timeout=5)
        self.assertIn("R", set(rejection.values()) | {"R"})

    def test_cancelled_delivery_sends_a_cancelling_940(self):
        picking = self._delivery([(self.mug, 2)])
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        picking.action_cancel()
        perform_pending_jobs(self.env)
        self.assertEqual(len(self._documents(direction="out", transaction_set="940")), 2)
        self.wh.wait_for(lambda: self.wh.orders[picking.name].get("cancelled"))
        self.assertEqual(picking.retail_bind_ids.warehouse_status, "cancelled")

    def test_a_new_address_of_a_released_delivery_goes_as_a_changing_940(self):
        sale = self._shop_order()
        picking = sale.picking_ids
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        self.assertEqual(self.wh.orders[picking.name]["ship_to"]["street"], "1 Market St")
        _b, outcome = self._apply_shop(11, shipping_address=NEW_ADDRESS)
        self.assertEqual(outcome, "updated")
        perform_pending_jobs(self.env)
        sent = self._documents(direction="out", transaction_set="940")
        self.assertEqual(len(sent), 2)
        self.assertIn("W05*G*%s" % picking.name, sent[-1].content)
        self.wh.wait_for(lambda: self.wh.orders[picking.name].get("changes"))
        ship_to = self.wh.orders[picking.name]["ship_to"]
        self.assertEqual((ship_to["street"], ship_to["city"], ship_to["zip"]), ("77 Geary St", "San Francisco", "94108"))
        self.assertEqual(picking.retail_bind_ids.sync_state, "synced")

    def test_missing_acknowledgement_is_flagged_overdue(self):
        self.wh.inject("no_ack")
        self._delivery([(self.mug, 1)])
        [sent] = self._documents(direction="out", transaction_set="940")
        self.env.cr.execute("UPDATE retail_edi_document SET create_date = %s WHERE id = %s",
                            (fields.Datetime.now() - timedelta(hours=2), sent.id))
        sent.invalidate_recordset()
        self._poll()
        self.env["retail.edi.document"]._cron_flag_overdue()
        self.assertEqual(sent.ack_state, "overdue")
        self.assertTrue(sent.activity_ids)

    # ------------------------------------------------------------------ trading partners

    def _our_997_for(self, control):
        """Return the text of the 997 we sent answering the warehouse's interchange ``control``."""
        [ack] = self._documents(direction="out", transaction_set="997", reference="997-%s" % control)
        return ack.content

    def _ship_with_slip(self, picking, tracking):
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        self.wh.inject("n1_without_name")
        name = self.wh.ship(picking.name, tracking=tracking)
        self.assertIn("N1*SF***3PLWHSE", self.wh.read_file(name))
        return self.wh.written_of("945")[-1]

    def test_a_new_partner_is_lenient_and_books_a_slightly_broken_945_accepted_with_errors(self):
        self.assertEqual((self.backend.x12_validation, self.backend.x12_version), ("lenient", "004010"))
        picking = self._delivery([(self.mug, 2)])
        written = self._ship_with_slip(picking, "1ZSLIP0001")
        self._poll()
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "1ZSLIP0001")
        [received] = self._documents(direction="in", transaction_set="945")
        self.assertEqual((received.state, received.ack_state, received.review_state),
                         ("processed", "accepted_errors", "to_review"))
        self.assertIn("(N1) element 02: at least one of N102, N103 is required [945:N1:02:2]", received.x12_problems)
        ack = self._our_997_for(written.interchange)
        self.assertRegex(ack, r"AK3\*N1\*\d+\*\*8~AK4\*2\*\*2~AK4\*3\*\*2~AK5\*E\*5~AK9\*E\*1\*1\*1~")
        self.wh.wait_for(lambda: self.wh.acks_received.get(written.groups[0]) == "E")

    def test_a_strict_partner_refuses_the_slip_naming_it_until_a_manager_accepts_it(self):
        self.backend.x12_validation = "strict"
        picking = self._delivery([(self.mug, 1)])
        written = self._ship_with_slip(picking, "1ZSLIP0002")
        self.assertIn("1 quarantined", self._poll())
        self.assertNotEqual(picking.state, "done")
        [refused] = self._documents(direction="in", state="quarantined")
        self.assertIn("(N1) element 02: at least one of N102, N103 is required", refused.error)
        self.assertEqual((refused.ack_state, refused.review_state), ("rejected", "to_review"))
        self.assertIn("AK5*R*5", self._our_997_for(written.interchange))
        self.wh.wait_for(lambda: self.wh.acks_received.get(written.groups[0]) == "R")

        clerk = new_test_user(self.env, login="edi_clerk", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            refused.with_user(clerk).action_accept_x12_problems()
        self.assertFalse(self.backend.x12_tolerated_problems)
        refused.action_accept_x12_problems()
        self.assertEqual(refused.review_state, "accepted")
        self.assertEqual(sorted(self.backend._x12_policy().tolerated), ["945:N1:02:2", "945:N1:03:2"])
        perform_pending_jobs(self.env)
        self.assertEqual(picking.state, "done", "the accepted file itself is applied")

        second = self._delivery([(self.cap, 1)])
        written = self._ship_with_slip(second, "1ZSLIP0003")
        self._poll()
        self.assertEqual(second.state, "done", "the accepted problems no longer refuse this partner's files")
        [received] = self._documents(direction="in", state="processed", transaction_set="945", picking_id=second.id)
        self.assertEqual((received.ack_state, received.review_state), ("accepted_errors", "accepted"))
        self.assertIn("AK5*E*5", self._our_997_for(written.interchange))

    def test_accepting_a_quarantined_files_problems_applies_that_file_once(self):
        self.backend.x12_validation = "strict"
        picking = self._delivery([(self.mug, 3)])
        written = self._ship_with_slip(picking, "1ZSLIP0004")
        self._poll()
        [refused] = self._documents(direction="in", state="quarantined")
        self.assertEqual(refused.quarantined_as, written.name)
        self.assertIn(written.name, self.wh.files("quarantine"))
        self.assertEqual(picking.state, "assigned")

        refused.action_accept_x12_problems()
        self.assertEqual((refused.state, refused.ack_state, refused.review_state),
                         ("received", "accepted_errors", "accepted"))
        self.assertFalse(refused.error)
        self.assertEqual(refused.interchange_control, written.interchange)
        self.assertIn("[945:N1:02:2]", refused.x12_problems)
        self.assertIn("read again under the partner's policy and sent to the inbox", refused.message_ids[0].body)
        # the warehouse hears the file is applied after all: a second 997, accepting it with errors
        answers = self._documents(direction="out", transaction_set="997", reference="997-%s" % written.interchange)
        self.assertEqual(len(answers), 2)
        self.assertIn("AK5*R*5", answers[0].content)
        self.assertRegex(answers[1].content, r"AK5\*E\*5~AK9\*E\*1\*1\*1~")
        self.wh.wait_for(lambda: self.wh.acks_received.get(written.groups[0]) == "E")
        self.assertEqual(self.wh.files("quarantine"), [], "the file and its reason left the quarantine folder")
        self.assertIn(written.name, self.wh.files("archive"))
        self.assertFalse(refused.quarantined_as)

        perform_pending_jobs(self.env)
        self.assertEqual((refused.state, refused.picking_id), ("processed", picking))
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "1ZSLIP0004")
        self.assertEqual(picking.move_ids.quantity, 3)
        self.assertEqual(refused.event_id.state, "done")

        messages, acks = len(refused.message_ids), self._documents(direction="out", transaction_set="997")
        events = self.env["retail.event"].search_count([("backend_id", "=", self.backend.id)])
        refused.action_accept_x12_problems()
        refused.action_x12_read_again()
        perform_pending_jobs(self.env)
        self.assertEqual(len(refused.message_ids), messages, "a second click changes nothing")
        self.assertEqual(self._documents(direction="out", transaction_set="997"), acks, "no third 997")
        self.assertEqual(self.env["retail.event"].search_count([("backend_id", "=", self.backend.id)]), events)
        self.assertEqual(picking.move_ids.quantity, 3)
        self.assertFalse(picking.backorder_ids)
        moved = self.env["stock.move"].search([("product_id", "=", self.mug.id), ("state", "=", "done"),
                                                ("location_id", "=", self.stock.id)])
        self.assertEqual(sum(moved.mapped("quantity")), 3, "booked once")

    def test_a_quarantined_file_read_again_and_still_refused_names_the_problem(self):
        picking = self._delivery([(self.mug, 1)])
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        self.wh.inject("bad_segment_count")
        self.wh.ship(picking.name)
        self._poll()
        [refused] = self._documents(direction="in", state="quarantined")
        self.assertEqual(refused.review_state, "none")
        clerk = new_test_user(self.env, login="edi_clerk3", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            refused.with_user(clerk).action_x12_read_again()
        refused.action_x12_read_again()
        self.assertEqual(refused.state, "quarantined")
        self.assertIn("SE01 says", refused.error)
        self.assertIn("still cannot be applied", refused.message_ids[0].body)
        self.assertIn("SE01 says", refused.message_ids[0].body)
        self.assertTrue(refused.quarantined_as, "it stays in the quarantine folder")
        self.assertNotEqual(picking.state, "done")

    def test_a_quarantined_file_waits_when_the_server_is_out_of_reach(self):
        self.backend.x12_validation = "strict"
        picking = self._delivery([(self.mug, 1)])
        self._ship_with_slip(picking, "1ZSLIP0005")
        self._poll()
        [refused] = self._documents(direction="in", state="quarantined")
        self.backend.sftp_port = self.wh.port + 1 if self.wh.port < 65535 else self.wh.port - 1
        self.backend.timeout = 2
        refused.action_accept_x12_problems()
        self.assertEqual((refused.state, refused.review_state), ("quarantined", "accepted"))
        self.assertIn("945:N1:02:2", self.backend.x12_tolerated_problems, "the acceptance is kept")
        self.assertIn("could not be read again now", refused.message_ids[0].body)
        self.backend.sftp_port = self.wh.port
        refused.action_x12_read_again()
        perform_pending_jobs(self.env)
        self.assertEqual(refused.state, "processed")
        self.assertEqual(picking.state, "done")

    def test_unusable_content_is_refused_even_for_a_lenient_partner(self):
        self.wh.inject("missing_element")  # W12-01, the line status: an element problem, applied
        picking = self._delivery([(self.mug, 1)])
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        self.wh.inject("bad_segment_count")  # the transaction set envelope: refused
        self.wh.ship(picking.name)
        self.assertIn("1 quarantined", self._poll())
        [refused] = self._documents(direction="in", state="quarantined")
        self.assertIn("SE01 says", refused.error)
        self.assertEqual(refused.review_state, "none", "a broken envelope is not for a person to accept")
        with self.assertRaisesRegex(UserError, "no syntax problem a person can accept"):
            refused.action_accept_x12_problems()

    def test_onboarding_sends_a_test_interchange_and_shows_the_partners_answer(self):
        clerk = new_test_user(self.env, login="edi_clerk2", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            self.backend.with_user(clerk).action_x12_send_test_interchange()
        self.backend.x12_version = "005010"
        self.backend.action_x12_send_test_interchange()
        sent = self.backend.x12_test_document_id
        self.assertTrue(sent.is_test)
        self.assertEqual(sent.ack_state, "pending")
        isa = sent.content.split("~")[0].split("*")
        self.assertEqual((isa[11], isa[12], isa[15]), ("^", "00501", "T"))
        self.assertIn("*X*005010~", sent.content)
        self.wh.wait_for(lambda: self.wh.test_interchanges == [sent.interchange_control])
        self.wh.wait_for(lambda: self.wh.written_of("997"))
        self._poll()
        self.assertEqual(self.backend.x12_test_ack_state, "accepted")
        self.assertFalse(self.wh.orders, "a test order is not booked")

    def test_a_005010_partner_exchanges_005010_files(self):
        self.wh.version = "005010"
        self.backend.x12_version = "005010"
        picking = self._delivery([(self.mug, 1)])
        [sent] = self._documents(direction="out", transaction_set="940")
        self.assertIn("*^*00501*", sent.content)
        self.wh.wait_for(lambda: picking.name in self.wh.orders)
        name = self.wh.ship(picking.name)
        self.assertIn("*X*005010~", self.wh.read_file(name))
        self._poll()
        self.assertEqual(picking.state, "done")
        self.assertEqual(sent.ack_state, "accepted")
