# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json
import uuid
from unittest import mock

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.connector.database import pg_try_advisory_lock
from odoo.addons.queue_job.exception import RetryableJobError

from ..components.event_processor import GenericEventProcessor
from ..models import retail_event as retail_event_module
from ..lib.http import ChannelTransportError
from ..lib.inbound import InboundEvent
from .common import OrderCase
from .test_order_import import ORDER

UNSTORABLE = "\x00\ud800"


@tagged("post_install", "-at_install")
class TestEventRobustness(OrderCase):
    """An event always reaches a recorded end, whatever text its channel sent, and contention costs it nothing."""

    def _event(self, data, key="G1001"):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "evt-%s" % key, "state": "queued",
            "payload": json.dumps(data), "correlation_id": "corr-%s" % key,
        })

    def _stored(self, event):
        """Write everything to the database, then read the event back from it."""
        self.env.flush_all()
        self.env.invalidate_all()
        return event

    def _assert_readable(self, text):
        self.assertTrue(text)
        self.assertNotIn("\x00", text)
        self.assertNotIn("\ud800", text)
        text.encode("utf-8")

    # ------------------------------------------------------------------ unstorable text
    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_an_unknown_product_named_with_nul_and_a_lone_surrogate_fails_with_a_readable_error(self):
        data = copy.deepcopy(ORDER)
        data["lines"][1].update(sku="RC-NOPE" + UNSTORABLE, name="Mystery" + UNSTORABLE + " mug")
        event = self._event(data)
        event._process_aggregate()
        event = self._stored(event)
        self.assertEqual((event.state, event.error_kind, event.attempts), ("failed", "unknown_product", 1))
        self._assert_readable(event.last_error)
        self.assertIn("Unknown product Mystery\ufffd mug", event.last_error)
        self._assert_readable(str(event.activity_ids.note))
        self.assertEqual(json.loads(event.failure_subject)["sku"], "RC-NOPE\ufffd")

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_errors_carrying_nul_and_a_lone_surrogate_end_failed_or_dead(self):
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.retry_max", 2)
        permanent, transient = self._event(ORDER, key="G1"), self._event(ORDER, key="G2")
        with mock.patch.object(GenericEventProcessor, "process", side_effect=UserError("Refused: " + UNSTORABLE)):
            permanent._process_aggregate()
        with mock.patch.object(GenericEventProcessor, "process",
                               side_effect=ChannelTransportError("Channel said " + UNSTORABLE)):
            transient._process_aggregate()
            transient.next_attempt_at = False
            transient._process_aggregate()
        self._stored(permanent)
        self.assertEqual(permanent.state, "failed")
        self.assertEqual(permanent.last_error, "Refused: \ufffd")
        self.assertEqual((transient.state, transient.attempts), ("dead", 2))
        self.assertEqual(transient.last_error, "Channel said \ufffd")

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event", "odoo.sql_db")
    def test_a_failure_whose_message_cannot_be_stored_is_still_recorded(self):
        """The last resort: the database refuses the message, a message of the connector's own takes its place."""
        event = self._event(ORDER)
        with mock.patch.object(GenericEventProcessor, "process", side_effect=UserError("Refused: " + UNSTORABLE)), \
                mock.patch("odoo.addons.retail_connector_base.models.retail_event._error_text", side_effect=str):
            event._process_aggregate()
        self._stored(event)
        self.assertEqual((event.state, event.error_kind), ("failed", "UserError"))
        self.assertIn("failed with UserError, whose message could not be stored", event.last_error)
        self.assertIn("corr-G1001", event.last_error)

    def test_names_and_notes_with_nul_are_stored_without_it(self):
        data = copy.deepcopy(ORDER)
        data["customer"]["first_name"] = "Ja\x00ne"
        data["shipping_address"]["street"] = "1 Market\x00 St"
        data["note"] = "Leave at the\x00 door \ud800"
        data["lines"][0]["name"] = "Mug\x00 blue"
        event = self._event(data)
        event._process_aggregate()
        self._stored(event)
        self.assertEqual(event.state, "done", event.last_error)
        sale = self.env["sale.order"].browse(event.res_id)
        self.assertEqual(sale.partner_id.name, "Jane Doe")
        self.assertEqual(sale.partner_shipping_id.street, "1 Market St")
        self.assertIn("Leave at the door \ufffd", str(sale.note))
        self.assertIn("Mug blue", sale.order_line.mapped("name"))

    # ------------------------------------------------------------------ contention
    def _wake_race(self, job_state_after_snapshot, acknowledge=None):
        """Queue a dispatcher job (committed), take a snapshot that sees it waiting, then let it move to
        ``job_state_after_snapshot`` (committed, or not at all when None) and wake the domain from that
        snapshot; return (what the wake answered, how many dispatcher jobs the snapshot's transaction sees).

        ``acknowledge(env)``, when given, wakes the domain instead of ``_wake`` (and answers for it)."""
        from ..models.retail_event import wake_key

        backend_id = self.backend.id
        key = wake_key(backend_id, "orders")
        RetailEvent = type(self.env["retail.event"])
        with self.env.registry.cursor() as other, self.env.registry.cursor() as waking, \
                mock.patch.object(RetailEvent, "_connector_env_of", lambda self, _backend_id: self.env):
            other_env = api.Environment(other, SUPERUSER_ID, {})
            waking_env = api.Environment(waking, SUPERUSER_ID, {})
            job = other_env["retail.event"].with_delay(identity_key=key)._dispatch(backend_id, "orders")
            other.commit()
            try:
                waking.execute("SELECT count(*) FROM queue_job WHERE uuid = %s", (job.uuid,))  # the snapshot
                self.assertEqual(waking.fetchone()[0], 1)
                if job_state_after_snapshot:
                    other.execute("UPDATE queue_job SET state = %s WHERE uuid = %s", (job_state_after_snapshot, job.uuid))
                    other.commit()
                if acknowledge:
                    woke = acknowledge(waking_env)
                else:
                    woke = waking_env["retail.event"]._wake(backend_id, "orders", coalesce=True)
                waking.execute("SELECT count(*) FROM queue_job WHERE method_name = '_dispatch' AND "
                               "(uuid = %s OR id > (SELECT id FROM queue_job WHERE uuid = %s))", (job.uuid, job.uuid))
                seen = waking.fetchone()[0]
                if not job_state_after_snapshot:
                    # the job runner can still start the job it relies on (as queue_job acquires a job)
                    other.execute("UPDATE queue_job SET state = 'enqueued' WHERE uuid = %s", (job.uuid,))
                    other.execute("SELECT uuid FROM queue_job WHERE uuid = %s AND state = 'enqueued' "
                                  "FOR NO KEY UPDATE SKIP LOCKED", (job.uuid,))
                    self.assertTrue(other.fetchone(), "the acknowledgement kept the job from starting")
                    other.rollback()
                return woke, seen
            finally:
                waking.rollback()
                other.execute("DELETE FROM queue_job WHERE uuid = %s", (job.uuid,))
                other.commit()

    def test_a_dispatcher_whose_snapshot_predates_another_ones_commit_claims_the_rest(self):
        """Events another dispatcher applied after this one's snapshot are left out of its claim, never a failed job."""
        backend_id = self.backend.id
        insert = ("INSERT INTO retail_event (backend_id, source, topic, domain, idempotency_key, aggregate_type, "
                  "aggregate_key, received_at, state, attempts, duplicate_count) VALUES "
                  "(%s, 'webhook', 'orders/create', 'orders', %s, 'order', %s, now(), 'received', 0, 0) RETURNING id")
        with self.env.registry.cursor() as other, self.env.registry.cursor() as dispatching:
            # committed by another transaction (the backend exists only in this test's: references not checked)
            other.execute("SET session_replication_role = replica")
            ids = []
            for key in ("STALE-1", "FRESH-2"):
                other.execute(insert, (backend_id, "evt-" + key, key))
                ids.append(other.fetchone()[0])
            other.commit()
            try:
                dispatching.execute("SELECT count(*) FROM retail_event WHERE id = ANY(%s)", (ids,))  # the snapshot
                self.assertEqual(dispatching.fetchone()[0], 2)
                other.execute("UPDATE retail_event SET state = 'done' WHERE id = %s", (ids[0],))  # applied elsewhere
                other.commit()
                env = api.Environment(dispatching, SUPERUSER_ID, {})
                rows = env["retail.event"]._claim_one_by_one(backend_id, "orders", 20)
                self.assertEqual([row[0] for row in rows], [ids[1]])
                dispatching.execute("SELECT 1")  # the transaction goes on
            finally:
                dispatching.rollback()
                other.execute("DELETE FROM retail_event WHERE id = ANY(%s)", (ids,))
                other.commit()

    def test_a_wake_relies_on_a_waiting_dispatcher_and_never_keeps_it_from_starting(self):
        """An acknowledgement adds no job while one waits to start, and the job runner can start that one at once."""
        self.assertEqual(self._wake_race(None), (False, 1))

    def test_a_wake_whose_snapshot_shows_a_job_that_has_since_run_adds_a_dispatcher(self):
        """A dispatcher that started (even ended) after the acknowledgement's snapshot is not relied on: events are never stranded."""
        self.assertEqual(self._wake_race("done"), (True, 2))
        self.assertEqual(self._wake_race("started"), (True, 2))

    def _acknowledge(self, env):
        """Store one event as the gateway does, its wake in the insert's statement; return whether it queued a
        dispatcher, after checking that the statement took the shared wake lock."""
        env.cr.execute("SET LOCAL session_replication_role = replica")  # the backend is this test's only
        wake = {}
        inbound = InboundEvent(topic="orders/create", domain="orders", aggregate_type="order", aggregate_key="RACE-1",
                               idempotency_key="race-%s" % uuid.uuid4())
        event_id, duplicate = env["retail.event"]._insert_received(
            self.backend, inbound, "{}", "webhook", "corr-race", backend_type=self.backend.backend_type, wake=wake)
        self.assertTrue(event_id and not duplicate)
        env.cr.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' "
                       "AND pid = pg_backend_pid()")
        self.assertEqual(env.cr.fetchone()[0], 1, "the acknowledgement holds the shared wake lock until it commits")
        if wake["queue"]:
            env["retail.event"]._queue_dispatcher(self.backend.id, "orders", wake["identity_key"])
        return wake["queue"]

    def test_an_acknowledgement_relies_on_a_waiting_dispatcher_in_the_insert_statement(self):
        """The gateway's one-statement acknowledgement adds no job while one waits to start, and the runner can start it."""
        RetailEvent = type(self.env["retail.event"])
        with mock.patch.object(RetailEvent, "_connector_env_of", lambda self, _backend_id: self.env):
            self.assertEqual(self._wake_race(None, acknowledge=self._acknowledge), (False, 1))

    def test_an_acknowledgement_whose_snapshot_shows_a_job_that_has_since_run_adds_a_dispatcher(self):
        """A dispatcher that started (even ended) after the acknowledgement's snapshot is not relied on."""
        RetailEvent = type(self.env["retail.event"])
        with mock.patch.object(RetailEvent, "_connector_env_of", lambda self, _backend_id: self.env), \
                mock.patch.object(RetailEvent, "_dispatch_channel", lambda self, _backend_id, _domain: "root.retail.orders"):
            self.assertEqual(self._wake_race("done", acknowledge=self._acknowledge), (True, 2))
            self.assertEqual(self._wake_race("started", acknowledge=self._acknowledge), (True, 2))

    def test_an_acknowledgement_that_saw_its_dispatcher_being_started_looks_again_before_adding_one(self):
        """A waiting job changed after the acknowledgement's snapshot (the runner enqueuing it) but still waiting,
        as committed once the wake lock is held, is relied on: no dispatcher more for it."""
        RetailEvent = type(self.env["retail.event"])
        with mock.patch.object(RetailEvent, "_connector_env_of", lambda self, _backend_id: self.env), \
                mock.patch.object(RetailEvent, "_dispatch_channel", lambda self, _backend_id, _domain: "root.retail.orders"):
            self.assertEqual(self._wake_race("enqueued", acknowledge=self._acknowledge), (False, 1))

    def _leftover_check(self, waiting):
        """Run a dispatcher's closing check while an acknowledgement holds the shared wake lock, with an
        event committed and waiting when ``waiting``; return (its answer, the dispatcher jobs it queued).

        The check must log that the lock was busy when nothing waits, and must not when something does."""
        from ..models.retail_event import wake_key

        backend_id = self.backend.id
        key = wake_key(backend_id, "orders")
        RetailEvent = type(self.env["retail.event"])
        with self.env.registry.cursor() as other, self.env.registry.cursor() as acknowledging, \
                mock.patch.object(RetailEvent, "_connector_env_of", lambda self, _backend_id: self.env), \
                mock.patch.object(RetailEvent, "_dispatch_channel", lambda self, _backend_id, _domain: "root.retail.orders"):
            event_id = None
            if waiting:
                other.execute("SET session_replication_role = replica")  # the backend is this test's only
                other.execute(
                    "INSERT INTO retail_event (backend_id, source, topic, domain, idempotency_key, "
                    "received_at, state, attempts, duplicate_count) VALUES "
                    "(%s, 'webhook', 'orders/create', 'orders', %s, now(), 'received', 0, 0) RETURNING id",
                    (backend_id, "evt-left-%s" % uuid.uuid4()))
                event_id = other.fetchone()[0]
                other.commit()
            acknowledging.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", (key,))
            try:
                with mock.patch.object(retail_event_module._logger, "info") as info:
                    more = self.env["retail.event"].with_context(queue_job__no_delay=False)._dispatch_leftovers(
                        backend_id, "orders", [])
                busy = any("wake lock busy" in call.args[0] for call in info.call_args_list)
                self.assertEqual(busy, not waiting, "the check waited for the wake lock" if waiting else
                                 "the check did not wait for the acknowledgement in flight")
                other.execute("SELECT count(*) FROM queue_job WHERE identity_key = %s AND state = 'pending'", (key,))
                return more, other.fetchone()[0]
            finally:
                acknowledging.rollback()
                other.execute("DELETE FROM queue_job WHERE identity_key = %s", (key,))
                if event_id:
                    other.execute("DELETE FROM retail_event WHERE id = %s", (event_id,))
                other.commit()

    def test_a_dispatchers_closing_check_never_holds_acknowledgements_back_while_events_wait(self):
        """Events seen waiting queue the next dispatcher at once: the check does not wait for the
        acknowledgements in flight (which the wake lock's exclusive side would hold back meanwhile)."""
        self.assertEqual(self._leftover_check(waiting=True), (True, 1))

    def test_a_dispatchers_closing_check_that_sees_nothing_waits_for_the_acknowledgements_in_flight(self):
        """With nothing seen, the check takes the wake lock, so that what an acknowledgement in flight
        stores is seen; should the lock not come, another dispatcher is queued without looking."""
        self.assertEqual(self._leftover_check(waiting=False), (True, 1))

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_a_lock_held_by_another_transaction_never_uses_up_the_events_attempts(self):
        """Contention alone never sends an event to the dead letters: the job retries, the attempts stay."""
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.retry_max", 2)
        event = self._event(ORDER)
        lock = "retail-order-%s-%s" % (self.backend.id, ORDER["external_id"])
        with self.env.registry.cursor() as other:
            self.assertTrue(pg_try_advisory_lock(api.Environment(other, SUPERUSER_ID, {}), lock))
            for _attempt in range(4):
                with self.assertRaises(RetryableJobError) as caught:
                    event._process_aggregate()
                self.assertTrue(caught.exception.ignore_retry, "the job's retries are not used up either")
                self.assertEqual((event.state, event.attempts, event.last_error), ("queued", 0, False))
        # the other transaction ended: its lock is released
        event._process_aggregate()
        self.assertEqual((event.state, event.outcome, event.attempts), ("done", "created", 1))
