# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import math
import time

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models
from odoo.sql_db import Cursor

from odoo.addons.queue_job.exception import RetryableJobError

from .retail_access import GROUP_MANAGER, check_retail_access

# a request waits for its token in the job at most this long, so many times; a longer wait frees the worker
MAX_SHORT_WAIT = 2.0
MAX_SHORT_WAITS = 20


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
        """Take one token before a request; wait a short while for it, or give the worker back.

        A wait of up to ``MAX_SHORT_WAIT`` seconds is spent in the job: a batch needing more
        requests than the burst goes on to its end instead of starting over (which would send its
        first requests again, and might never reach the end). A longer wait raises a
        ``RetryableJobError`` that asks the job queue to run the job again when the token is due,
        without counting a failed try.
        """
        wait = 0.0
        for _attempt in range(MAX_SHORT_WAITS):
            wait = self._take(key, rate, burst)
            if not wait:
                return
            if wait > MAX_SHORT_WAIT:
                break
            time.sleep(wait)
        raise RetryableJobError(
            "Rate limit of %s: next request in %.1f s" % (label, wait), seconds=max(1, math.ceil(wait)),
            ignore_retry=True,
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
        with self.env.registry.cursor() as cr:
            if isinstance(cr, Cursor):
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
            granted = int(min(max(int(count), 1), math.floor(available)))
            cr.execute(
                """
                UPDATE retail_rate_bucket SET tokens = %s, stamp = extract(epoch from clock_timestamp()), last_granted = %s
                WHERE key = %s
                """,
                (available - granted, granted > 0, key),
            )
        if granted:
            return granted, 0.0
        return 0, ((1.0 - available) / rate if rate > 0 else 60.0)
