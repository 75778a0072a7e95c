# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json
import time
from datetime import timedelta
from unittest import mock

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..components.event_processor import GenericEventProcessor
from ..lib.http import ChannelTransportError
from ..lib.signatures import sign_retail
from ..models.retail_event import wake_key
from .jobs import perform_pending_jobs
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestGateway(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = cls.env["retail.backend"].create(
            {"name": "Gateway test", "backend_type": "generic", "webhook_secret": "whsec-new", "inbound_rate_limit": 0}
        )
        cls.env.company.currency_id = cls.env.ref("base.USD")
        Product = cls.env["product.product"]
        Product.create({"name": "Mug", "default_code": "RC-MUG", "type": "consu"})
        Product.create({"name": "Cap", "default_code": "RC-CAP", "type": "consu"})
        cls.url = "/retail/webhook/%d" % cls.backend.id

    def _post(self, data, topic="orders/create", event_id="evt-1", secret="whsec-new", timestamp=None, headers=None, url=None):
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        hdrs = {
            "Content-Type": "application/json",
            "X-Retail-Topic": topic,
            "X-Retail-Event-Id": event_id,
            "X-Retail-Signature": sign_retail(secret, body, timestamp),
        }
        hdrs.update(headers or {})
        return self.url_open(url or self.url, data=body, headers=hdrs)

    def _order(self, **changes):
        data = copy.deepcopy(ORDER)
        data.update(changes)
        return data

    def _events(self, **domain):
        return self.env["retail.event"].search(
            [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()], order="id"
        )

    def _run_jobs(self):
        """Run the dispatcher jobs the requests queued, as the job runner would."""
        return perform_pending_jobs(self.env, method="_dispatch")

    def _sales(self, ref="#1001"):
        return self.env["sale.order"].search([("client_order_ref", "=", ref)])

    # ------------------------------------------------------------------ signatures
    def test_signed_webhook_is_stored_queued_and_applied(self):
        resp = self._post(self._order())
        self.assertEqual(resp.status_code, 202, resp.text)
        answer = resp.json()
        self.assertEqual(answer["status"], "accepted")
        self.assertEqual(resp.headers["X-Correlation-Id"], answer["correlation_id"])
        event = self._events()
        # acknowledged before its payload is read: the job reads it
        self.assertEqual((event.state, event.topic, event.aggregate_key, event.idempotency_key),
                         ("received", "orders/create", False, "evt-1"))
        job = self.env["queue.job"].search([("identity_key", "=", wake_key(self.backend.id, "orders"))])
        # orders are in real time by default: their dispatcher has a job channel of its own
        self.assertEqual((len(job), job.state, job.channel), (1, "pending", "root.retail.realtime"))
        self.assertEqual(self._post(self._order(), event_id="evt-1b").status_code, 202)
        self.assertEqual(len(self.env["queue.job"].search([("identity_key", "=", wake_key(self.backend.id, "orders"))])), 1,
                         "a second event waits for the job already queued")
        self._run_jobs()
        self.assertEqual((event.state, event.outcome, event.aggregate_key), ("done", "created", "G1001"))
        self.assertEqual(event.job_uuid, job.uuid, "the event names the job that applied it")
        sale = self._sales()
        self.assertEqual(event.res_id, sale.id)
        self.assertIn(event.correlation_id, sale.message_ids.mapped("body")[0])

    def test_bad_signature_is_refused_and_recorded(self):
        resp = self._post(self._order(), secret="wrong")
        self.assertEqual(resp.status_code, 401)
        self.assertEqual(resp.json()["error"], "bad_signature")
        rejected = self.env["retail.rejected.request"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual((rejected.status, rejected.code), (401, "bad_signature"))
        self.assertTrue(rejected.body_digest)
        self.assertFalse(rejected.body, "bodies of rejected requests are not kept by default")
        self.assertNotIn("X-Retail-Signature", rejected.headers)
        self.assertFalse(self._events())

    def test_missing_signature_is_refused(self):
        body = json.dumps(self._order()).encode()
        resp = self.url_open(self.url, data=body, headers={"Content-Type": "application/json", "X-Retail-Topic": "orders/create"})
        self.assertEqual(resp.status_code, 401)
        self.assertIn("missing", resp.json()["message"])

    def test_previous_secret_is_accepted_during_rotation(self):
        self.backend.webhook_secret = "whsec-rotated"
        self.assertEqual(self._post(self._order(), secret="whsec-new").status_code, 202)
        self.assertEqual(self._post(self._order(), secret="whsec-rotated", event_id="evt-2").status_code, 202)
        self.backend.webhook_secret_previous = False
        self.assertEqual(self._post(self._order(), secret="whsec-new", event_id="evt-3").status_code, 401)

    def test_previous_secret_is_refused_once_its_window_is_over(self):
        self.backend.webhook_secret = "whsec-rotated"
        self.backend.webhook_secret_rotated_at = fields.Datetime.now() - timedelta(hours=25)
        self.assertEqual(self._post(self._order(), secret="whsec-new").status_code, 401)
        self.assertEqual(self._post(self._order(), secret="whsec-rotated", event_id="evt-2").status_code, 202)

    def test_expired_timestamp_is_refused(self):
        resp = self._post(self._order(), timestamp=time.time() - 301)
        self.assertEqual(resp.status_code, 401)
        self.assertIn("tolerance 300 s", resp.json()["message"])

    # ------------------------------------------------------------------ request checks
    def test_unknown_and_archived_backends_answer_404(self):
        self.assertEqual(self._post(self._order(), url="/retail/webhook/999999").status_code, 404)
        self.backend.active = False
        self.assertEqual(self._post(self._order()).status_code, 404)

    def test_too_large_body_is_refused_before_reading(self):
        self.env["ir.config_parameter"].set_param("retail_connector.max_body_bytes", 1000)
        resp = self._post(self._order(note="x" * 2000))
        self.assertEqual(resp.status_code, 413)
        self.assertEqual(resp.json()["error"], "too_large")

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_malformed_json_unknown_topic_and_bad_schema(self):
        resp = self._post(self._order(), topic="orders/teleported")
        self.assertEqual((resp.status_code, resp.json()["error"]), (422, "unknown_topic"))
        self.assertFalse(self._events(), "an unknown topic is refused before anything is stored")
        # a signed webhook is acknowledged before its payload is read: a payload its channel
        # refuses becomes a failed event, naming the fields, for a person to fix and replay
        self.assertEqual(self._post(b"{not json", event_id="evt-json").status_code, 202)
        bad = self._order(currency="EURO")
        bad["lines"][1]["quantity"] = "-1"
        self.assertEqual(self._post(bad, event_id="evt-bad").status_code, 202)
        self._run_jobs()
        not_json, invalid = self._events(idempotency_key="evt-json"), self._events(idempotency_key="evt-bad")
        self.assertEqual((not_json.state, not_json.error_kind), ("failed", "invalid_payload"))
        self.assertIn("not valid JSON", not_json.last_error)
        self.assertEqual((invalid.state, invalid.error_kind), ("failed", "invalid_payload"))
        self.assertIn("currency", invalid.last_error)
        self.assertIn("lines[1].quantity", invalid.last_error)
        self.assertTrue(invalid.activity_ids, "someone is asked to look at it")
        self.assertFalse(self._sales())
        fixed = json.loads(invalid.payload)
        fixed.update(currency="USD")
        fixed["lines"][1]["quantity"] = "1"
        invalid.payload_override = json.dumps(fixed)
        invalid.action_replay()
        self._run_jobs()
        self.assertEqual((invalid.state, invalid.aggregate_key), ("done", "G1001"), invalid.last_error)

    def test_partner_api_validates_before_storing(self):
        """The partner API answers 422 with the fields at fault, and stores nothing of the request."""
        key = self.env["retail.api.key"].create({"name": "Aggregator", "backend_id": self.backend.id})._generate_secret()
        bad = self._order(currency="EURO")
        bad["lines"][1]["quantity"] = "-1"
        body = json.dumps([self._order(), bad]).encode()
        resp = self.url_open("/retail/api/v1/orders", data=body,
                             headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        self.assertEqual((resp.status_code, resp.json()["error"]), (422, "invalid_payload"), resp.text)
        self.assertEqual({d["field"] for d in resp.json()["details"]}, {"[1].currency", "[1].lines[1].quantity"})
        self.assertFalse(self._events())

    def test_inbound_rate_limit_answers_429_with_retry_after(self):
        self.backend.write({"inbound_rate_limit": 0.5, "inbound_rate_burst": 1})
        self.assertEqual(self._post(self._order()).status_code, 202)
        resp = self._post(self._order(), event_id="evt-2")
        self.assertEqual(resp.status_code, 429)
        self.assertGreaterEqual(int(resp.headers["Retry-After"]), 1)

    # ------------------------------------------------------------------ exactly once, in order
    def test_same_event_three_times_gives_one_order(self):
        statuses = [self._post(self._order()).status_code for _ in range(3)]
        self.assertEqual(statuses, [202, 200, 200])
        event = self._events()
        self.assertEqual((len(event), event.duplicate_count), (1, 2))
        self._run_jobs()
        self.assertEqual(len(self._sales()), 1)

    def test_update_before_create_and_older_update_after_newer(self):
        create = self._order(updated_at="2026-11-20T10:00:00Z", payment_state="pending")
        update = self._order(updated_at="2026-11-20T11:00:00Z", payment_state="paid")
        older = self._order(updated_at="2026-11-20T10:30:00Z", payment_state="authorized")
        self._post(update, topic="orders/updated", event_id="evt-upd")
        self._post(create, topic="orders/create", event_id="evt-create")
        self._run_jobs()
        events = {e.idempotency_key: e for e in self._events()}
        # both were waiting: they are applied in channel time order, the create first
        self.assertEqual((events["evt-create"].state, events["evt-create"].outcome), ("done", "created"))
        self.assertEqual((events["evt-upd"].state, events["evt-upd"].outcome), ("done", "updated"))
        binding = self.env["retail.sale.order.binding"].search([("external_id", "=", "G1001")])
        self.assertEqual(binding.channel_payment_state, "paid")
        self._post(older, topic="orders/updated", event_id="evt-older")
        self._run_jobs()
        stale = self._events(idempotency_key="evt-older")
        self.assertEqual(stale.state, "stale", "an older event never overwrites newer state")
        self.assertIn("newer version", stale.last_error)
        self.assertEqual(binding.channel_payment_state, "paid")
        self.assertEqual(len(self._sales()), 1)

    # ------------------------------------------------------------------ failures and replay
    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_failure_midway_leaves_no_partial_order_then_edit_and_replay(self):
        data = self._order()
        data["lines"][1]["sku"] = "RC-UNKNOWN"
        self._post(data)
        self._run_jobs()
        event = self._events()
        self.assertEqual((event.state, event.error_kind), ("failed", "unknown_product"))
        self.assertIn("RC-UNKNOWN", event.last_error)
        self.assertFalse(self._sales(), "no partial sale order")
        self.assertTrue(event.activity_ids, "someone is asked to look at it")
        fixed = json.loads(event.payload)
        fixed["lines"][1]["sku"] = "RC-CAP"
        event.payload_override = json.dumps(fixed)
        event.action_replay()
        self._run_jobs()
        self.assertEqual(event.state, "done")
        self.assertIn("RC-UNKNOWN", event.payload, "the original payload is kept")
        self.assertEqual(len(self._sales()), 1)
        self.assertFalse(event.activity_ids)

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_transient_errors_retry_with_backoff_then_dead_letter(self):
        self.env["ir.config_parameter"].set_param("retail_connector.retry_max", 3)
        self._post(self._order())
        event = self._events()
        with mock.patch.object(GenericEventProcessor, "process", side_effect=ChannelTransportError("channel timed out")):
            event._process_aggregate()
            self.assertEqual((event.state, event.attempts), ("queued", 1))
            self.assertTrue(event.next_attempt_at)
            for _attempt in range(2):
                event.next_attempt_at = False
                event._process_aggregate()
        self.assertEqual((event.state, event.attempts, event.error_kind), ("dead", 3, "ChannelTransportError"))
        wizard = self.env["retail.event.requeue"].create({"backend_id": self.backend.id, "error_kind": "ChannelTransportError"})
        self.assertEqual(wizard.count, 1)
        wizard.error_kind = "unknown_product"
        self.assertEqual(wizard.count, 0, "only the chosen error class is requeued")
        wizard.error_kind = "ChannelTransportError"
        wizard.action_requeue()
        ran = self._run_jobs()
        self.assertEqual(event.state, "done", ran)

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_a_lost_database_connection_is_not_recorded_as_the_events_error(self):
        """On a terminated connection nothing is written to the event: the job ends, the sweep queues it again."""
        import psycopg2

        self._post(self._order())
        event = self._events()
        lost = psycopg2.InterfaceError("connection already closed")
        with mock.patch.object(GenericEventProcessor, "process", side_effect=lost), \
                mock.patch("odoo.addons.retail_connector_base.models.retail_event.connection_lost", return_value=True), \
                self.assertRaises(psycopg2.InterfaceError):
            event._process_aggregate()
        self.assertEqual((event.state, event.attempts), ("received", 0))
        # with the connection alive, the same error is the event's, retried with back-off
        with mock.patch.object(GenericEventProcessor, "process", side_effect=lost):
            event._process_aggregate()
        self.assertEqual((event.state, event.attempts, event.error_kind), ("queued", 1, "InterfaceError"))

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_a_concurrent_update_retries_the_job_soon_without_counting_an_attempt(self):
        """A serialization failure is another transaction's doing: the job retries in seconds, the event keeps its attempts."""
        import psycopg2.errors

        from odoo.addons.queue_job.exception import RetryableJobError

        self._post(self._order())
        event = self._events()
        conflict = psycopg2.errors.SerializationFailure("could not serialize access due to concurrent update")
        with mock.patch.object(GenericEventProcessor, "process", side_effect=conflict), \
                self.assertRaises(RetryableJobError) as caught:
            event._process_aggregate()
        self.assertLessEqual(caught.exception.seconds, 3)
        self.assertEqual((event.state, event.attempts), ("received", 0))
        self._run_jobs()
        self.assertEqual((event.state, event.outcome), ("done", "created"))

    # ------------------------------------------------------------------ partner API
    def test_partner_api_checks_key_and_scope(self):
        key_rec = self.env["retail.api.key"].create({"name": "Aggregator", "backend_id": self.backend.id, "scopes": "orders:write"})
        key = key_rec._generate_secret()
        self.assertNotIn(key, str(key_rec.read(["key_prefix", "key_hash"])), "only a hash of the key is stored")
        body = json.dumps([self._order(), self._order(external_id="G1002", name="#1002")]).encode()
        url = "/retail/api/v1/orders"
        resp = self.url_open(url, data=body, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        self.assertEqual(resp.status_code, 202, resp.text)
        self.assertEqual(len(resp.json()["events"]), 2)
        self.assertEqual(self._events().mapped("source"), ["api", "api"])
        resp = self.url_open(url, data=body, headers={"Authorization": "Bearer rck_nope"})
        self.assertEqual(resp.status_code, 401)
        key_rec.scopes = "stock:write"
        resp = self.url_open(url, data=body, headers={"Authorization": "Bearer " + key})
        self.assertEqual((resp.status_code, resp.json()["error"]), (403, "missing_scope"))

    def test_sweeper_requeues_events_whose_job_is_gone(self):
        self._post(self._order())
        event = self._events()
        jobs = self.env["queue.job"].search([("identity_key", "=", wake_key(self.backend.id, "orders"))])
        self.assertTrue(jobs)
        jobs.unlink()
        self.env.cr.execute("UPDATE retail_event SET write_date = now() - interval '10 minutes' WHERE id = %s", (event.id,))
        self.env.invalidate_all()
        dispatchers = [("method_name", "=", "_dispatch"), ("state", "=", "pending")]
        self.assertEqual(self.env["retail.event"]._cron_sweep(), 1)
        self.assertEqual(len(self.env["queue.job"].search(dispatchers)), 1, "a new job was queued")
        self.env["queue.job"].search(dispatchers).write({"identity_key": wake_key(self.backend.id, "orders")})
        self.assertEqual(self.env["retail.event"]._cron_sweep(), 0, "an event with a live job is left alone")
        self.backend.active = False
        self.env["queue.job"].search(dispatchers).unlink()
        self.assertEqual(self.env["retail.event"]._cron_sweep(), 0, "an archived backend's events are left alone")
        self.backend.active = True
        self.env["retail.event"]._cron_sweep()
        ran = self._run_jobs()
        self.assertEqual(event.state, "done", ran)

    # ------------------------------------------------------------------ sync modes
    def test_a_domain_in_scheduled_batch_keeps_its_events_for_the_run(self):
        self.backend.policy_for("orders").mode = "batch"
        resp = self._post(self._order())
        self.assertEqual((resp.status_code, resp.json()["status"]), (202, "accepted"))
        event = self._events()
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_dispatch")]), "not applied one by one")
        self.env.cr.execute("UPDATE retail_event SET write_date = now() - interval '10 minutes' WHERE id = %s", (event.id,))
        self.assertEqual(self.env["retail.event"]._cron_sweep(), 0, "the sweep leaves it for the run")
        self.assertIn("1 events kept for this run", self.env["retail.event"]._apply_kept(self.backend, "orders"))
        self._run_jobs()
        self.assertEqual((event.state, event.outcome), ("done", "created"))
        self.assertTrue(self._sales())

    def test_an_event_of_a_domain_turned_off_is_refused_or_kept_as_ignored(self):
        policy = self.backend.policy_for("orders")
        policy.mode = "off"
        resp = self._post(self._order())
        self.assertEqual((resp.status_code, resp.json()["error"]), (409, "policy_off"))
        self.assertIn("orders sync policy of this backend is off", resp.json()["message"])
        rejected = self.env["retail.rejected.request"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual((rejected.status, rejected.code), (409, "policy_off"))
        self.assertFalse(self._events())
        policy.off_inbound = "ignore"
        resp = self._post(self._order(), event_id="evt-2")
        self.assertEqual((resp.status_code, resp.json()["status"]), (202, "ignored"))
        event = self._events()
        self.assertEqual((event.state, event.outcome), ("ignored", "ignored: the orders policy is off"))
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_dispatch")]))
        event.action_replay()  # a person may still apply it
        self._run_jobs()
        self.assertEqual(event.state, "done")
        self.assertTrue(self._sales())

    def test_turning_a_batch_domain_to_real_time_applies_what_it_kept(self):
        policy = self.backend.policy_for("orders")
        policy.mode = "batch"
        self._post(self._order())
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_dispatch")]))
        policy.mode = "realtime"
        [job] = self.env["queue.job"].search([("method_name", "=", "_dispatch")])
        self.assertEqual(job.channel, "root.retail.realtime")
        self._run_jobs()
        self.assertEqual(self._events().state, "done")

    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_nested_json_and_nul_identifiers_fail_visibly_not_crashed(self):
        self.assertEqual(self._post(b"[" * 100000 + b"]" * 100000, event_id="evt-deep").status_code, 202)
        self.assertEqual(self._post(self._order(external_id="G\u00001001"), event_id="evt-nul").status_code, 202)
        self._run_jobs()
        deep, nul = self._events(idempotency_key="evt-deep"), self._events(idempotency_key="evt-nul")
        self.assertEqual(deep.state, "failed")
        self.assertIn("nested too deeply", deep.last_error)
        self.assertEqual(nul.state, "failed")
        self.assertIn("external_id contains a NUL character", nul.last_error)
        # bytes PostgreSQL cannot store at all are refused at once, and never answered 503
        resp = self._post(b'{"external_id": "G\x001001"}', event_id="evt-raw-nul")
        self.assertEqual((resp.status_code, resp.json()["error"]), (400, "malformed_body"))
        resp = self._post(b'{"external_id": "\xed\xa0\x80"}', event_id="evt-surrogate")
        self.assertEqual((resp.status_code, resp.json()["error"]), (400, "malformed_body"))

    def test_a_correlation_id_traces_the_request_to_its_event_job_and_sale_order(self):
        resp = self._post(self._order(external_id="G-TRACE", name="#TRACE"), event_id="evt-trace")
        correlation = resp.headers["X-Correlation-Id"]
        self._run_jobs()
        trace = self.env["retail.trace"].create({"correlation_id": correlation})
        self.assertEqual(trace.event_ids.aggregate_key, "G-TRACE")
        self.assertEqual(trace.job_ids.uuid, trace.event_ids.job_uuid)
        event = trace.event_ids
        self.assertEqual((event.state, event.res_model), ("done", "sale.order"), event.last_error)
        self.assertIn(event.res_id, trace.message_ids.filtered(lambda m: m.model == "sale.order").mapped("res_id"))
        self.assertFalse(self.env["retail.trace"].create({"correlation_id": "no-such-id"}).event_ids)

    # ------------------------------------------------------------------ hardening
    def _api(self, body, key, headers=None):
        hdrs = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
        hdrs.update(headers or {})
        return self.url_open("/retail/api/v1/orders", data=body, headers=hdrs)

    def test_a_batch_with_an_idempotency_key_stores_every_item_and_lists_each_fate(self):
        key = self.env["retail.api.key"].create({"name": "Aggregator", "backend_id": self.backend.id})._generate_secret()
        orders = [self._order(external_id="G-B%d" % i, name="#B%d" % i) for i in range(3)]
        resp = self._api(json.dumps(orders).encode(), key, {"Idempotency-Key": "batch-7"})
        self.assertEqual(resp.status_code, 202, resp.text)
        items = resp.json()["items"]
        self.assertEqual([(i["index"], i["status"]) for i in items], [(0, "accepted"), (1, "accepted"), (2, "accepted")])
        self.assertEqual(sorted(self._events().mapped("idempotency_key")), ["batch-7#0", "batch-7#1", "batch-7#2"])
        # the same batch again: every item is a duplicate, none stored twice
        resp = self._api(json.dumps(orders).encode(), key, {"Idempotency-Key": "batch-7"})
        self.assertEqual(resp.status_code, 200)
        self.assertEqual([i["status"] for i in resp.json()["items"]], ["duplicate"] * 3)
        # without a key, each item is known by its own content
        resp = self._api(json.dumps(orders[:1] + [self._order(external_id="G-B9", name="#B9")]).encode(), key)
        self.assertEqual([i["status"] for i in resp.json()["items"]], ["accepted", "accepted"])
        self.assertEqual(len(self._events()), 5)
        self._run_jobs()
        self.assertEqual(len(self.env["sale.order"].search([("client_order_ref", "like", "#B")])), 4)

    def test_long_idempotency_keys_are_hashed_not_cut(self):
        prefix = "k" * 300
        self.assertEqual(self._post(self._order(), event_id=prefix + "-one").status_code, 202)
        self.assertEqual(self._post(self._order(), event_id=prefix + "-two").status_code, 202,
                         "keys differing after 255 characters are two events")
        keys = self._events().mapped("idempotency_key")
        self.assertEqual(len(set(keys)), 2)
        self.assertTrue(all(k.startswith("sha256:") for k in keys))
        self.assertEqual(self._post(self._order(), event_id=prefix + "-one").status_code, 200, "and still deduplicate")

    def test_repeated_refusals_are_counted_on_one_row_and_floods_answered_429(self):
        from ..controllers import gateway

        gateway.REFUSALS._seen.clear()  # what earlier tests were refused from this address
        self.env["ir.config_parameter"].set_param("retail_connector.refusals_per_minute", 5)
        Rejected = self.env["retail.rejected.request"]
        statuses = [self._post(self._order(), secret="wrong", event_id="evt-%d" % i).status_code for i in range(8)]
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[5:], [429] * 3, "a source refused too often is answered at once")
        rows = Rejected.search([("backend_id", "=", self.backend.id), ("code", "=", "bad_signature")])
        self.assertEqual((len(rows), rows.count), (1, 5), "identical refusals share one row")
        self.assertGreaterEqual(rows.last_seen, rows.received_at)
        flood = Rejected.search([("code", "=", "too_many_refusals")])
        self.assertEqual(sum(flood.mapped("count")), 3)
        # this source is heard again after a minute
        gateway.REFUSALS._seen.clear()
        self.assertEqual(self._post(self._order(), event_id="evt-ok").status_code, 202)

    def test_a_content_length_beyond_two_gigabytes_is_refused_and_recorded(self):
        import socket
        from urllib.parse import urlparse

        from odoo.tests.common import release_test_lock

        port = urlparse(self.base_url()).port
        with release_test_lock(), socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            cookie = "test_request_key=%s" % self.opener.cookies.get("test_request_key", "")
            sock.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nCookie: %s\r\n"
                          "Content-Length: %d\r\nConnection: close\r\n\r\n{}" % (self.url, cookie, 2**31 + 5)).encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        self.assertIn(b" 413 ", answer.split(b"\r\n")[0], answer)
        row = self.env["retail.rejected.request"].search([("code", "=", "too_large")])
        self.assertEqual(row.content_length, 2**31 + 5)

    def test_a_form_body_over_the_cap_is_never_read(self):
        self.env["ir.config_parameter"].set_param("retail_connector.max_body_bytes", 1000)
        resp = self.url_open(self.url, data={"webhook_id": "x" * 5000})
        self.assertEqual(resp.status_code, 413)
        self.assertFalse(self._events())

    def test_values_postgresql_cannot_store_are_a_client_error_never_503(self):
        # an event id with a lone surrogate, in a header, is refused with the field named
        resp = self._post(self._order(), event_id="evt-\udcff".encode("utf-8", "surrogateescape").decode("latin-1"))
        self.assertLess(resp.status_code, 500, resp.text)
        key = self.env["retail.api.key"].create({"name": "Aggregator", "backend_id": self.backend.id})._generate_secret()
        resp = self._api(json.dumps(self._order(external_id="G\ud800")).encode(), key)
        self.assertEqual(resp.status_code, 422, resp.text)
        self.assertEqual(resp.json()["details"][0]["field"], "external_id")
