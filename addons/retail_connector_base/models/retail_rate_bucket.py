# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import math
import time
from contextlib import contextmanager

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.sql_db import Cursor

from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.http import ReadPaused
from .retail_access import GROUP_MANAGER, check_retail_access

# the cursor's cache entry holding the tokens reserved for the requests being sent: {bucket key: count}
# (a cursor serves one job run, or one flush's transaction: what it holds never reaches another job)
RESERVED = "retail_throttle_reserved"
# a read of a whole channel listing in one transaction (polling, reconciliation) waits for its next
# token at most this long, so many times, in the job; see ``_throttle_paced``
READ_WAIT = 2.0
READ_WAITS = 20
# the cursor's cache entry set while a read that can stop at a page boundary runs in a job (a
# reconciliation's read of the channel's changes): a longer wait stops it there (``ReadPaused``)
RESUMABLE = "retail_read_resumable"


class RateLimitWait(UserError):
    """A person's request (no job) met the backend's rate limit: it says how long to wait."""


class RetailRateBucket(models.Model):
    """Token buckets shared by every Odoo worker and server, held in PostgreSQL.

    One row per key (e.g. ``inbound:7`` or ``outbound:7``). Taking a token is one upsert run
    in its own short READ COMMITTED transaction: concurrent takers queue on the row for a
    moment instead of failing on serialization, and together never exceed the rate.
    """

    _name = "retail.rate.bucket"
    _description = "Retail Connector rate limit bucket"
    _log_access = False

    key = fields.Char(required=True, index=True)
    tokens = fields.Float(required=True)
    stamp = fields.Float(required=True, help="Unix time of the last refill.")
    last_granted = fields.Boolean()

    _key_uniq = models.Constraint("UNIQUE(key)", "One bucket per key.")

    @api.model
    def take(self, key, rate, burst):
        """Take one token as a retail manager (e.g. to probe a limit); see ``_take``."""
        check_retail_access(self, "read", GROUP_MANAGER)
        return self._take(key, rate, burst)

    @api.model
    def _take(self, key, rate, burst):
        """Take one token; return 0.0 if granted, else the seconds until one is available."""
        rate, burst = float(rate), float(max(burst, 1))
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):  # a test cursor shares the test's transaction
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute(
                """
                INSERT INTO retail_rate_bucket AS r (key, tokens, stamp, last_granted)
                VALUES (%(key)s, %(burst)s - 1, extract(epoch from clock_timestamp()), true)
                ON CONFLICT (key) DO UPDATE SET
                    last_granted = LEAST(%(burst)s, r.tokens + GREATEST(0, extract(epoch from clock_timestamp()) - r.stamp) * %(rate)s) >= 1,
                    tokens = LEAST(%(burst)s, r.tokens + GREATEST(0, extract(epoch from clock_timestamp()) - r.stamp) * %(rate)s)
                             - CASE WHEN LEAST(%(burst)s, r.tokens + GREATEST(0, extract(epoch from clock_timestamp()) - r.stamp) * %(rate)s) >= 1
                                    THEN 1 ELSE 0 END,
                    stamp = extract(epoch from clock_timestamp())
                RETURNING r.last_granted, r.tokens
                """,
                {"key": key, "rate": rate, "burst": burst},
            )
            granted, tokens = cr.fetchone()
        if granted:
            return 0.0
        return (1.0 - tokens) / rate if rate > 0 else 60.0

    @api.model
    def _throttle(self, key, rate, burst, label):
        """Take one token before a request; never wait for it: free the worker instead.

        A token reserved for the batch being sent (``_reserved``) is used first. Otherwise one is
        taken from the shared bucket; when none is left, a job raises a ``RetryableJobError`` that
        asks the job queue to run it again when the token is due, without counting a failed try
        (the job's work must therefore be restartable from what it committed: an export flush
        reserves each batch's tokens before sending it, see ``retail.export.request._send_claimed``).
        A person's request (no job, e.g. a connection test) gets a ``RateLimitWait`` naming the wait.
        """
        held = self.env.cr.cache.get(RESERVED)
        if held and held.get(key, 0) > 0:
            held[key] -= 1
            return
        wait = self._take(key, rate, burst)
        if wait:
            raise self._wait_error(label, wait)

    @api.model
    def _throttle_paced(self, key, rate, burst, label, pause=False):
        """Take one token before a request of a read that cannot start over page by page; wait a little for it.

        For the callers that read a whole channel listing in one transaction (a polling run, a
        reconciliation) or a page that is read whole or again (catalogue onboarding), marked by
        ``retail_paced_read`` in the context (see ``retail.backend._throttle_outbound``), giving the
        worker back would throw the pages read away and read them again, possibly for ever. A wait of up to ``READ_WAIT`` seconds is spent in the job, at most
        ``READ_WAITS`` times in a row; a longer one frees the worker as ``_throttle`` does.

        With ``pause`` (a read that keeps what it has read and continues from its page cursor in a later
        job, see ``retail.changes.batch.importer``), a longer wait raises ``ReadPaused`` instead: the read
        stops at the page it was about to ask for.
        """
        wait = 0.0
        for _attempt in range(READ_WAITS):
            wait = self._take(key, rate, burst)
            if not wait:
                return
            if wait > READ_WAIT:
                break
            time.sleep(wait)
        if pause:
            raise ReadPaused("Rate limit of %s: next request in %.1f s" % (label, wait), 429, wait)
        raise self._wait_error(label, wait)

    @api.model
    def _wait_error(self, label, wait):
        """Return the error saying the rate limit of ``label`` allows the next request in ``wait`` seconds.

        In a job, a ``RetryableJobError`` running it again then, no try counted; for a person, a
        ``RateLimitWait`` naming the wait (a job queue's error means nothing in a form).
        """
        if self.env.context.get("job_uuid"):
            return RetryableJobError(
                "Rate limit of %s: next request in %.1f s" % (label, wait), seconds=max(1, math.ceil(wait)),
                ignore_retry=True,
            )
        return RateLimitWait(self.env._(
            "The rate limit of %(backend)s allows its next request to the channel in %(seconds)s s: try again then.",
            backend=label, seconds=max(1, math.ceil(wait))))

    @api.model
    def _reserve(self, key, rate, burst, count):
        """Take ``count`` tokens at once, or none; return the seconds until they are all there (0.0: taken).

        All or nothing in one short READ COMMITTED transaction with the bucket's row locked, so
        that the processes together never exceed the rate. ``count`` is normally at most the
        burst; a larger one (a single record whose export needs more requests than the burst)
        is granted once the bucket is full and leaves it below zero: its extra requests borrow
        from the coming refill, and the next takers wait for it.
        """
        rate, burst, count = float(rate), float(max(burst, 1)), max(int(count), 1)
        needed = min(float(count), burst)
        taken, available = self._take_locked(key, rate, burst, lambda available: count if available >= needed - 1e-9 else 0)
        if taken:
            return 0.0
        return (needed - available) / rate if rate > 0 else 60.0

    @contextmanager
    def _reserved(self, key, rate, burst, count):
        """Hold ``count`` tokens of bucket ``key``, taken already (``_reserve``), for the requests sent in the block.

        ``_throttle`` uses them before the bucket's. Held in the cursor's cache: only the requests
        made on this transaction use them, and none outlives the block; those left unused at its
        end (a batch needing fewer requests than it could) go back to the bucket.
        """
        held = self.env.cr.cache.setdefault(RESERVED, {})
        held[key] = max(int(count), 0)
        try:
            yield
        finally:
            unused = held.pop(key, 0)
            if unused > 0:
                self._give_back(key, rate, burst, unused)

    @api.model
    def _give_back(self, key, rate, burst, count):
        """Return ``count`` tokens taken and not used to bucket ``key`` (never above the burst)."""
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute(
                """
                UPDATE retail_rate_bucket
                SET tokens = LEAST(%(burst)s, tokens + GREATEST(0, extract(epoch from clock_timestamp()) - stamp) * %(rate)s
                                              + %(count)s),
                    stamp = extract(epoch from clock_timestamp())
                WHERE key = %(key)s
                """,
                {"key": key, "rate": float(rate), "burst": float(max(burst, 1)), "count": float(count)},
            )

    @api.model
    def _drain(self, key, seconds, rate):
        """Empty a bucket so that its next token comes in ``seconds`` (a channel said to wait)."""
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute(
                """
                INSERT INTO retail_rate_bucket AS r (key, tokens, stamp, last_granted)
                VALUES (%(key)s, %(tokens)s, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO UPDATE SET tokens = LEAST(r.tokens, %(tokens)s),
                    stamp = extract(epoch from clock_timestamp())
                """,
                {"key": key, "tokens": 1.0 - float(seconds) * float(rate)},
            )

    @api.model
    def _take_many(self, key, rate, burst, count):
        """Take up to ``count`` tokens at once; return (tokens granted, seconds until the next one).

        Lets a process hold a few tokens for its next requests instead of asking for each one:
        what it holds was taken from the shared bucket, so together the processes never exceed
        the rate.
        """
        rate, burst = float(rate), float(max(burst, 1))
        granted, available = self._take_locked(
            key, rate, burst, lambda available: int(min(max(int(count), 1), math.floor(available))))
        if granted:
            return granted, 0.0
        return 0, ((1.0 - available) / rate if rate > 0 else 60.0)

    @api.model
    def _take_locked(self, key, rate, burst, take):
        """Take ``take(tokens available now)`` tokens of bucket ``key``; return (tokens taken, tokens available).

        One short READ COMMITTED transaction of its own, the bucket's row locked: concurrent takers
        queue on it for a moment, and together never exceed the rate.
        """
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):  # a test cursor shares the test's transaction
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute(
                """
                INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                VALUES (%s, %s, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO NOTHING
                """,
                (key, burst),
            )
            cr.execute(
                """
                SELECT LEAST(%s, tokens + GREATEST(0, extract(epoch from clock_timestamp()) - stamp) * %s)
                FROM retail_rate_bucket WHERE key = %s FOR UPDATE
                """,
                (burst, rate, key),
            )
            available = cr.fetchone()[0]
            taken = take(available)
            cr.execute(
                """
                UPDATE retail_rate_bucket SET tokens = %s, stamp = extract(epoch from clock_timestamp()), last_granted = %s
                WHERE key = %s
                """,
                (available - taken, taken > 0, key),
            )
        return taken, available
