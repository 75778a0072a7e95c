# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
import time
from datetime import timedelta
from unittest import mock

from odoo import fields
from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.event_processor import GenericEventProcessor
from ..lib import workflow as registry
from ..lib.http import ChannelTransportError
from .jobs import perform_pending_jobs
from .test_order_import import ORDER
from .test_outbound import OutboundCase

KIND = "test_retry_policy"


def _failing_step(subject, step):
    raise ChannelTransportError("connection reset")


@tagged("post_install", "-at_install")
class TestRetryPolicy(OutboundCase):
    """One back-off (Settings) for events, workflow steps and export flushes; a rate-limit wait frees the worker."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        registry.register_kind(KIND, "Retry test", "res.partner", [("call", "Call the channel", _failing_step)])
        cls.addClassCleanup(registry._KINDS.pop, KIND, None)

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.retry_pattern", "1:7,2:13")

    def _assert_waits(self, seconds, run):
        """Call ``run()``, which schedules a retry, and check that the retry comes ``seconds`` after the moment it
        was scheduled: between the call's start and end, plus ``seconds`` (whatever time the call took)."""
        before = fields.Datetime.now()
        when = run()
        after = fields.Datetime.now()
        self.assertTrue(before + timedelta(seconds=seconds) <= when <= after + timedelta(seconds=seconds),
                        "retry at %s, %s s after a call between %s and %s" % (when, seconds, before, after))

    def test_an_event_waits_what_the_configured_pattern_says(self):
        event = self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": "R1", "idempotency_key": "evt-R1", "state": "queued", "payload": json.dumps(ORDER),
        })
        with mock.patch.object(GenericEventProcessor, "process", side_effect=ChannelTransportError("connection reset")):
            self._assert_waits(7, lambda: (event._process_aggregate(), event.next_attempt_at)[1])
            self.assertEqual((event.state, event.attempts), ("queued", 1))
            event.next_attempt_at = False
            self._assert_waits(13, lambda: (event._process_aggregate(), event.next_attempt_at)[1])
        self.assertEqual((event.state, event.attempts), ("queued", 2))

    def test_a_workflow_step_waits_what_the_configured_pattern_says(self):
        partner = self.env["res.partner"].create({"name": "Subject"})
        workflow = self.env["retail.workflow"]._start(KIND, partner, backend=self.backend)
        self._assert_waits(7, lambda: (perform_pending_jobs(self.env, max_rounds=1, method="_advance"),
                                       workflow.step_ids.next_attempt_at)[1])
        step = workflow.step_ids
        self.assertEqual((step.state, step.retries), ("pending", 1))

    def test_an_export_flush_waits_what_the_configured_pattern_says(self):
        self.channel.inject("POST", "/api/v1/stock/batch", status=503, times=1)
        self._receive(1, self.products[:2])
        log = perform_pending_jobs(self.env, max_rounds=1, method="_flush_exports")
        error = log[-1][1]
        self.assertIsInstance(error, RetryableJobError)
        self.assertIn(error.seconds, range(7, 7 + 6), "the pattern's first wait, and up to 5 s of jitter")
        self.assertFalse(error.ignore_retry, "a failed attempt counts")
        self.assertEqual(len(self._pending()), 2, "the exports wait for the retry")

    def test_a_wait_for_a_token_gives_the_worker_back_instead_of_sleeping(self):
        self.backend.write({"rate_limit_rps": 0.25, "rate_limit_burst": 1})
        backend = self.backend.with_context(job_uuid="retry-policy-test")  # as in a job
        with mock.patch("time.sleep", side_effect=AssertionError("a rate-limit wait must not sleep in a worker")):
            backend._throttle_outbound("GET", "/api/v1/ping")  # the burst's one token
            with self.assertRaises(RetryableJobError) as caught:
                backend._throttle_outbound("GET", "/api/v1/ping")
            self.assertTrue(caught.exception.ignore_retry, "waiting for a token is not a failed attempt")
            self.assertIn(caught.exception.seconds, (3, 4), "back when the next token is due")
            # a flush job meeting the limit ends at once and stays queued, its exports pending
            self._receive(1, self.products[:2])
            log = perform_pending_jobs(self.env, max_rounds=1, method="_flush_exports")
        self.assertIsInstance(log[-1][1], RetryableJobError)
        self.assertIn("Rate limit", str(log[-1][1]))
        self.assertEqual(len(self._pending()), 2)
        self.assertEqual(self.channel.stock_level("OUT-000", self.warehouse.code), None)

    def test_a_read_of_a_whole_listing_waits_a_little_for_its_tokens(self):
        """A polling run or a reconciliation reads every page in one transaction: starting it over would read
        them all again, so a short wait for its next token is spent in the job (and only there)."""
        self.backend.write({"rate_limit_rps": 10, "rate_limit_burst": 1})
        naps, real_sleep = [], time.sleep
        with mock.patch("time.sleep", side_effect=lambda seconds: (naps.append(seconds), real_sleep(seconds))):
            for _request in range(3):
                self.backend.with_context(retail_paced_read=True)._throttle_outbound("GET", "/api/v1/ping")
        self.assertEqual(len(naps), 2, "one short wait for each request past the burst")
        self.assertTrue(all(0 < nap <= 0.2 for nap in naps), naps)
