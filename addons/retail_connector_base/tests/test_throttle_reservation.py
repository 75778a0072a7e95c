# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest import mock

from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.exporter import GenericInventoryExporter
from ..models.retail_rate_bucket import RateLimitWait, RetailRateBucket
from .test_outbound import OutboundCase


@tagged("post_install", "-at_install")
class TestThrottleReservation(OutboundCase):
    """A flush reserves each batch's tokens before sending it; no job ever sleeps for a token.

    The exporter is a stand-in making ``per_record`` requests per product (each through the
    backend's throttle, as a channel client does); the bucket is set in SQL, its rate so slow that
    it does not refill during a test.
    """

    RATE = 0.001

    def setUp(self):
        super().setUp()
        self.sent = []  # (product id, request number) of each request that went out
        self.per_record = 1
        self.estimate = None  # requests a batch needs, as the exporter says (default: the truth)
        test = self

        def send_levels(exporter, requests, products, levels):
            for product in products:
                for number in range(test.per_record):
                    exporter.backend_record._throttle_outbound("POST", "/api/v1/stock/batch")
                    test.sent.append((product.id, number))

        def max_requests(exporter, requests):
            return (test.estimate or test.per_record) * len(requests)

        self.startPatcher(mock.patch.object(GenericInventoryExporter, "_send_levels", send_levels))
        self.startPatcher(mock.patch.object(GenericInventoryExporter, "max_requests", max_requests))
        self.startPatcher(mock.patch("time.sleep", side_effect=AssertionError("a job never sleeps for a token")))
        self.key = "outbound:%d" % self.backend.id
        self.addCleanup(self._drop_bucket)

    def _limit(self, burst, batch_size=100):
        self.backend.write({"rate_limit_rps": self.RATE, "rate_limit_burst": burst})
        self.startPatcher(mock.patch.object(GenericInventoryExporter, "_batch_size", batch_size, create=True))

    def _tokens(self, tokens=None):
        """Set the bucket's tokens now (and return them), or return what it holds.

        The bucket lives in transactions of its own (committed at once, seen by every worker):
        it is driven the same way here, never through the test's transaction.
        """
        with self.env.registry.cursor() as cr:
            if tokens is not None:
                cr.execute(
                    """
                    INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                    VALUES (%(key)s, %(tokens)s, extract(epoch from clock_timestamp()), false)
                    ON CONFLICT (key) DO UPDATE SET tokens = %(tokens)s, stamp = extract(epoch from clock_timestamp())
                    """,
                    {"key": self.key, "tokens": tokens},
                )
            cr.execute("SELECT tokens FROM retail_rate_bucket WHERE key = %s", (self.key,))
            row = cr.fetchone()
        return row and row[0]

    def _drop_bucket(self):
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM retail_rate_bucket WHERE key = %s", (self.key,))

    def _flush(self):
        """Run the inventory flush as its job does; return its result, or the RetryableJobError it raised."""
        Request = self.env["retail.export.request"].with_context(job_uuid="flush-test")
        try:
            return Request._flush_domain(self.backend.with_context(job_uuid="flush-test"), "inventory")
        except RetryableJobError as exc:
            return exc

    def _requests(self, state):
        return self.env["retail.export.request"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "inventory"), ("state", "=", state)])

    def test_a_batch_is_sent_only_once_all_its_tokens_are_reserved(self):
        self._limit(burst=10)
        self.per_record = 4
        self._receive(1, self.products[:1])
        self._tokens(3)
        outcome = self._flush()
        self.assertIsInstance(outcome, RetryableJobError)
        self.assertTrue(outcome.ignore_retry, "waiting for tokens is no failed try")
        self.assertGreaterEqual(outcome.seconds, 1)
        self.assertEqual(self.sent, [], "nothing of the batch went out")
        self.assertEqual(len(self._requests("pending")), 1, "the request is pending again")
        self.assertAlmostEqual(self._tokens(), 3, places=1, msg="no token taken for a batch not sent")

        self._tokens(4)
        with mock.patch.object(RetailRateBucket, "_take", side_effect=AssertionError("the bucket is asked mid-batch")):
            outcome = self._flush()
        self.assertNotIsInstance(outcome, Exception)
        self.assertEqual(len(self.sent), 4, "the batch's four requests")
        self.assertEqual(len(self._requests("done")), 1)
        self.assertAlmostEqual(self._tokens(), 0, places=1, msg="the four tokens, taken at once")

    def test_a_flush_running_out_of_tokens_settles_its_first_batches_and_sends_only_the_rest_again(self):
        self._limit(burst=10, batch_size=1)
        self.per_record = 2
        self._receive(1, self.products[:3])
        self._tokens(2)
        outcome = self._flush()
        self.assertIsInstance(outcome, RetryableJobError)
        self.assertEqual(len(self._requests("done")), 1, "the first batch is settled")
        self.assertEqual(len(self._requests("pending")), 2, "the rest is pending for the next run")
        self.assertFalse(self._requests("sending"))
        first = {product_id for product_id, _number in self.sent}

        runs = 1
        while self._requests("pending"):
            self.assertLess(runs, 10, "the flush ends")
            self._tokens(2)  # refilled while the job waited
            self._flush()
            runs += 1
        self.assertEqual(len(self._requests("done")), 3)
        self.assertEqual(len(self.sent), 6, "each request of each batch went out once")
        self.assertEqual(len(set(self.sent)), 6, "no request was sent twice")
        self.assertFalse(first & {product_id for product_id, _number in self.sent[2:]}, "the first batch was not sent again")

    def test_a_batch_needing_more_than_the_burst_is_split_and_completes(self):
        self._limit(burst=2)
        self._receive(1, self.products[:5])
        runs = 0
        while self._requests("pending"):
            self.assertLess(runs, 10, "the flush ends")
            self._tokens(2)
            self._flush()
            runs += 1
        self.assertEqual(len(self._requests("done")), 5)
        self.assertEqual(len(self.sent), 5, "each product sent once")
        self.assertEqual(runs, 3, "pieces of two, one and two products, as many as the bucket holds per run")

    def test_a_single_record_needing_more_than_the_burst_borrows_from_the_refill(self):
        self._limit(burst=2)
        self.per_record = 3
        self._receive(1, self.products[:2])
        self._tokens(1)
        self.assertIsInstance(self._flush(), RetryableJobError, "a single record waits for a full bucket")
        self.assertEqual(self.sent, [])
        runs = 0
        while self._requests("pending"):
            self.assertLess(runs, 10, "the flush ends")
            self._tokens(2)
            outcome = self._flush()
            runs += 1
            if self._requests("pending"):
                self.assertIsInstance(outcome, RetryableJobError)
                self.assertAlmostEqual(self._tokens(), -1, places=1, msg="the third request borrowed from the refill")
        self.assertEqual(runs, 2)
        self.assertEqual(len(self.sent), 6)
        self.assertEqual(len(set(self.sent)), 6, "no request sent twice")

    def test_a_request_beyond_the_reservation_takes_a_token_or_gives_the_worker_back(self):
        self._limit(burst=10)
        self.per_record, self.estimate = 2, 1  # the exporter says one request, makes two
        self._receive(1, self.products[:1])
        self._tokens(1)
        outcome = self._flush()
        self.assertIsInstance(outcome, RetryableJobError, "no token for the request beyond the reservation")
        self.assertEqual(len(self._requests("pending")), 1, "the batch is pending again")
        self._tokens(2)
        self.assertNotIsInstance(self._flush(), Exception)
        self.assertEqual(len(self._requests("done")), 1)
        self.assertAlmostEqual(self._tokens(), 0, places=1, msg="the reserved token, then one from the bucket")

    def test_tokens_reserved_and_not_used_go_back_to_the_bucket(self):
        self._limit(burst=10)
        self.per_record, self.estimate = 1, 3  # the exporter says three requests, makes one
        self._receive(1, self.products[:2])
        self._tokens(6)
        self.assertNotIsInstance(self._flush(), Exception)
        self.assertEqual(len(self.sent), 2)
        self.assertAlmostEqual(self._tokens(), 4, places=1, msg="six reserved, two used, four back")

    def test_reserved_tokens_serve_only_their_block(self):
        self._limit(burst=5)
        self._tokens(0)
        Bucket = self.env["retail.rate.bucket"]
        backend = self.backend.with_context(job_uuid="reserved-test")
        with Bucket._reserved(self.key, self.RATE, 5, 1):
            backend._throttle_outbound("GET", "/api/v1/ping")
            with self.assertRaises(RetryableJobError):
                backend._throttle_outbound("GET", "/api/v1/ping")
        with self.assertRaises(RetryableJobError):
            backend._throttle_outbound("GET", "/api/v1/ping")
        self.assertGreater(Bucket._reserve(self.key, self.RATE, 5, 2), 0, "all or none: none")
        self.assertAlmostEqual(self._tokens(), 0, places=1)

    def test_throttle_never_sleeps(self):
        self._limit(burst=1)
        backend = self.backend.with_context(job_uuid="sleep-test")
        backend._throttle_outbound("GET", "/api/v1/ping")  # the burst's one token
        for _request in range(3):
            with self.assertRaises(RetryableJobError) as caught:
                backend._throttle_outbound("GET", "/api/v1/ping")
            self.assertTrue(caught.exception.ignore_retry)

    def test_a_person_is_told_how_long_to_wait(self):
        self._limit(burst=1)
        self._tokens(0)
        with self.assertRaises(RateLimitWait) as caught:
            self.backend._throttle_outbound("GET", "/api/v1/ping")
        self.assertNotIsInstance(caught.exception, RetryableJobError)
        self.assertIn("try again", str(caught.exception))
        self.backend.action_test_connection()
        self.assertFalse(self.backend.last_check_ok)
        self.assertIn("rate limit", self.backend.last_check_message)
