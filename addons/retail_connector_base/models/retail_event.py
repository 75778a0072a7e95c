# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json
import logging
import random
import re
import uuid
from datetime import timedelta

import psycopg2
import psycopg2.errors
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.sql_db import Cursor

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.errors import RetailMappingError
from ..components.event_processor import note_applied_orders
from ..lib.canonical import CanonicalValidationError
from ..lib.batches import BATCHED, close_batch, open_batch
from ..lib.http import ChannelError
from ..lib.inbound import PAYOUT_AGGREGATE, InboundError, InvalidPayload, check_storable
from ..lib.text import storable
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_gateway import inbound_handling, inbound_phase
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

EVENT_STATES = [
    ("received", "Received"),
    ("queued", "Queued"),
    ("processing", "Processing"),
    ("done", "Done"),
    ("duplicate", "Duplicate"),
    ("stale", "Stale"),
    ("failed", "Failed"),
    ("dead", "Dead letter"),
    ("ignored", "Ignored"),
]
PENDING_STATES = ("received", "queued", "processing")
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure, psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable,
)
# Failures a retry cannot fix: they wait for a person, with the reason. Data PostgreSQL
# refuses (a NUL character, a value out of range) and structures too deep are among them.
PERMANENT_ERRORS = (
    RetailMappingError, CanonicalValidationError, UserError, ValidationError,
    psycopg2.DataError, RecursionError, ValueError,
)


def connection_lost(cr):
    """Return whether the cursor's database connection is gone (terminated or server restarted)."""
    cnx = getattr(cr, "_cnx", None)
    return cnx is None or bool(cnx.closed)


def new_correlation_id():
    return uuid.uuid4().hex


# Longest idempotency key stored as given; longer ones are stored as their SHA-256, so that two
# keys differing after the limit never collide.
MAX_KEY_LENGTH = 255


def storable_key(key):
    """Return ``key`` as stored: itself when short, else ``sha256:<hex>`` of it."""
    if key is None or len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _drop_full_indexes(cr, table, columns):
    """Drop the full single-column indexes of earlier versions on ``columns``.

    The registry keeps an index it no longer expects, and does not replace a full index by a
    partial one of the same name: it creates the partial ones afterwards, where asked.
    """
    cr.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname = ANY(%s) AND indexdef NOT LIKE '%% WHERE %%'",
        (table, ["%s__%s_index" % (table, column) for column in columns]),
    )
    for (name,) in cr.fetchall():
        cr.execute('DROP INDEX "%s"' % name)


def wake_key(backend_id, domain):
    """Return the identity of the dispatcher job of a backend's domain (and the name of its wake lock)."""
    return "retail-dispatch-%s-%s" % (backend_id, domain or "orders")


class RetailEvent(models.Model):
    """One message received from a channel, kept until applied, and after as its record.

    Every webhook, partner API call and polled change is stored here first, with its
    idempotency key (unique per backend), then applied by a queue job, in channel time order
    per aggregate (one order, one SKU...).
    """

    _name = "retail.event"
    _description = "Retail Connector Event"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _rec_name = "display_name"

    # Indexes are few on purpose: every acknowledgement inserts a row and updates each of them. So
    # are the references its insert checks: the backend and the creating user (the company is the
    # backend's, not stored; the last writer is set by the first write).
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id")
    backend_type = fields.Selection(related="backend_id.backend_type", store=True)
    source = fields.Selection(
        [("webhook", "Webhook"), ("api", "Partner API"), ("poll", "Polling"), ("replay", "Replay")],
        required=True,
        default="webhook",
    )
    topic = fields.Char(required=True)
    domain = fields.Selection(DOMAINS)
    idempotency_key = fields.Char(required=True)
    aggregate_type = fields.Char()
    aggregate_key = fields.Char(help="Empty until the event's payload is read: webhooks are read after they are acknowledged.")
    channel_timestamp = fields.Datetime(help="When the channel says the change happened; orders the events of one aggregate.")
    received_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    processed_at = fields.Datetime(readonly=True)
    correlation_id = fields.Char(index="btree_not_null", readonly=True, copy=False)
    payload = fields.Text(readonly=True, help="The body as received, never changed.")
    payload_override = fields.Text(
        string="Edited payload", help="Applied instead of the original on the next replay; the original is kept."
    )
    # not tracked: the connector's own state changes would write a message per event; a person's
    # replay or ignore is in the audit log
    state = fields.Selection(EVENT_STATES, required=True, default="received")
    attempts = fields.Integer(readonly=True)
    duplicate_count = fields.Integer(string="Duplicates received", readonly=True)
    last_error = fields.Text(readonly=True)
    error_kind = fields.Char(readonly=True, index="btree_not_null")
    error_signature = fields.Char(
        compute="_compute_error_signature", store=True, index="btree_not_null",
        help="The error message with its ids, numbers and quoted values blanked: events failing for the same "
        "reason share it.",
    )
    assigned_user_id = fields.Many2one("res.users", string="Assigned to", index="btree_not_null", tracking=True)
    next_attempt_at = fields.Datetime(readonly=True)
    job_uuid = fields.Char(readonly=True, copy=False)
    outcome = fields.Char(readonly=True, help="What applying the event did, e.g. created or unchanged.")
    res_model = fields.Char(string="Resulting model", readonly=True)
    res_id = fields.Many2oneReference(string="Resulting record", model_field="res_model", readonly=True)

    _backend_key_uniq = models.Constraint(
        "UNIQUE(backend_id, idempotency_key)", "This event was already received from this backend."
    )
    # only events read have an aggregate: a webhook's acknowledgement stores none, and adds no entry here
    _aggregate_read_idx = models.Index(
        "(backend_id, aggregate_type, aggregate_key, channel_timestamp, id) WHERE aggregate_key IS NOT NULL")
    # what the dispatchers claim, and what waits for a person
    _pending_idx = models.Index("(backend_id, domain, id) WHERE state IN ('received', 'queued', 'processing')")
    _attention_idx = models.Index("(state, backend_id) WHERE state IN ('failed', 'dead')")

    @api.private
    def init(self):
        super().init()
        self.env.cr.execute("DROP INDEX IF EXISTS retail_event_aggregate_idx")  # the earlier full one
        _drop_full_indexes(self.env.cr, self._table, (
            "backend_id", "company_id", "topic", "domain", "aggregate_type", "aggregate_key", "state",
            "error_kind", "error_signature", "assigned_user_id", "correlation_id", "failure_class", "failure_cluster",
        ))

    @api.depends("topic", "aggregate_key")
    def _compute_display_name(self):
        for event in self:
            event.display_name = "%s %s" % (event.topic or "", event.aggregate_key or "")

    # ------------------------------------------------------------------ intake
    @api.model
    def _receive(self, backend, inbound_events, payloads, source, correlation_id, backend_type=None,
                 coalesce=False, relay_headers=None, config=None):
        """Store events in the inbox and wake their domains' dispatchers; return [(event id, is_duplicate)].

        The one way into the inbox, for webhooks, the partner API and polling alike. Each event is
        one idempotent INSERT; what applies it is woken once per domain, not once per event.
        ``coalesce`` (the gateway's short transactions only) lets a dispatcher already queued take
        the events instead of queueing another. ``relay_headers``: the channel's headers, relayed with
        the body while the legacy platform owns the event's domain (any mapping with ``items()``, read
        only then). ``config``: the backend's gateway configuration, when the caller holds it already.
        """
        results, domains = [], set()
        relayed = shadowed = False
        config = config or self.env["retail.backend"]._gateway_config(backend.id)
        for inbound, payload in zip(inbound_events, payloads, strict=True):
            action, _channel = inbound_handling(config, inbound.domain)
            domain = inbound.domain or "orders"
            outcome = None
            if action == "relay":
                phase = inbound_phase(config, domain)
                outcome = "kept: the %s domain is in its %s phase, owned by the legacy platform" % (domain, phase)
            # one event to apply, in a short transaction: its wake goes in the insert's statement
            wake = {} if coalesce and action == "apply" and len(inbound_events) == 1 else None
            event_id, duplicate = self._insert_received(
                backend, inbound, payload, source, correlation_id, backend_type=backend_type,
                # refused at the gateway; kept as ignored from elsewhere; or the legacy platform's to apply
                ignored=action in ("ignore", "refuse", "relay"), outcome=outcome, wake=wake)
            results.append((event_id, duplicate))
            if wake is not None:
                if not duplicate and wake.get("queue"):
                    self._queue_dispatcher(backend.id, domain, wake["identity_key"])
            elif not duplicate and action == "apply":  # kept for a scheduled run, or ignored: nothing to wake
                domains.add(domain)
            if not duplicate and action == "relay":
                # what the channel sent to Odoo, the legacy platform receives too (webhooks: polled and partner
                # API events are the legacy platform's own to fetch); in shadow, Odoo works out its own outcome
                if source == "webhook":
                    relayed = self.env["retail.relay"].sudo()._store(
                        backend, event_id, domain, inbound.topic, payload,
                        dict(relay_headers.items()) if relay_headers is not None else None) or relayed
                if phase == "shadow":
                    self.env["retail.shadow.outcome"].sudo()._store(backend, event_id, domain)
                    shadowed = True
        for domain in sorted(domains):
            self._wake(backend.id, domain, coalesce=coalesce)
        if relayed:
            self.env["retail.relay"]._wake(backend.id)
        if shadowed:
            self.env["retail.shadow.outcome"]._wake(backend.id)
        return results

    @api.model
    def _insert_received(self, backend, inbound, payload, source, correlation_id, backend_type=None,
                         ignored=False, outcome=None, wake=None):
        """Store an accepted event unless its key is known; return (event id, is_duplicate).

        ``ignored``: stored as ignored (its domain's policy is off and keeps such events).

        A plain INSERT ... ON CONFLICT keeps the acknowledgement to one statement, and makes two
        simultaneous deliveries of one event safe: one row wins, the other counts a duplicate.

        ``wake`` (a dict, for a coalescing wake of the event's dispatcher as ``_wake`` does it): the same
        statement takes the shared wake lock once the row is in, then looks for a waiting
        dispatcher (in that order: the look-up is parameterised by the lock's row). ``wake`` is
        then set to a dict saying whether a dispatcher must be queued (``queue``) and with which
        identity key (``identity_key``).
        """
        cr = self.env.cr
        key = storable_key(inbound.idempotency_key)
        insert = """
            INSERT INTO retail_event (backend_id, backend_type, source, topic, domain,
                idempotency_key, aggregate_type, aggregate_key, channel_timestamp, received_at,
                correlation_id, payload, state, outcome, attempts, duplicate_count,
                create_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', %s, %s,
                    %s, %s, 0, 0, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (backend_id, idempotency_key) DO NOTHING
            RETURNING id
        """
        lock_key = wake_key(backend.id, inbound.domain) if wake is not None else None
        if lock_key:
            # the lock is a volatile function in a lateral subquery of the inserted row: PostgreSQL
            # evaluates it for that row, before the look-up that depends on it
            insert = """
                WITH ins AS (%s)
                SELECT ins.id, waiting.version
                FROM ins
                CROSS JOIN LATERAL (
                    SELECT pg_advisory_xact_lock_shared(hashtextextended(%%s, 0)) AS locked, ins.id AS event_id
                ) wake
                LEFT JOIN LATERAL (
                    SELECT xmax::text AS version FROM queue_job
                    WHERE identity_key = %%s AND state IN ('pending', 'enqueued') AND wake.event_id IS NOT NULL
                    LIMIT 1
                ) waiting ON true
            """ % insert
        cr.execute(
            insert,
            (
                backend.id, backend_type or backend.backend_type, source,
                inbound.topic, inbound.domain, key, inbound.aggregate_type, inbound.aggregate_key,
                inbound.channel_timestamp.replace(tzinfo=None) if inbound.channel_timestamp else None,
                correlation_id, payload, "ignored" if ignored else "received",
                (outcome or "ignored: the %s policy is off" % (inbound.domain or "orders")) if ignored else None,
                self.env.uid,
            ) + ((lock_key, lock_key) if lock_key else ()),
        )
        row = cr.fetchone()
        if row:
            if lock_key:
                # as in _wake: a waiting job's version nobody has touched is relied on; one that was
                # (the job runner starting the job, or the job since ended) is looked at again, as
                # committed now
                version = row[1]
                if version not in (None, "0") and self._dispatcher_waiting(lock_key):
                    version = "0"
                wake.clear()
                wake.update(queue=version != "0", identity_key=None if version else lock_key)
            return row[0], False
        cr.execute(
            """
            UPDATE retail_event SET duplicate_count = duplicate_count + 1
            WHERE backend_id = %s AND idempotency_key = %s RETURNING id
            """,
            (backend.id, key),
        )
        return cr.fetchone()[0], True

    def _enqueue(self, eta=None):
        """Wake the dispatchers of these events' backends and domains (after ``eta`` seconds if given)."""
        for backend_id, domain in sorted({(e.backend_id.id, e.domain or "orders") for e in self}):
            self._wake(backend_id, domain, eta=eta)

    @api.model
    def _apply_kept(self, backend, domain):
        """Apply the events of ``domain`` that a scheduled-batch policy kept for its run; return a summary."""
        self.env.cr.execute(
            "SELECT count(*) FROM retail_event WHERE backend_id = %s AND domain = %s "
            "AND state IN ('received', 'queued', 'processing')",
            (backend.id, domain),
        )
        waiting = self.env.cr.fetchone()[0]
        if not waiting:
            return ""
        self._wake(backend.id, domain)
        return "%s: %d events kept for this run are being applied" % (domain, waiting)

    @api.model
    def _wake(self, backend_id, domain, eta=None, coalesce=False):
        """Make sure a dispatcher will apply what is waiting in a backend's domain.

        With ``coalesce``, no job is added while one is still waiting to start: it will see this
        transaction's events. A job that started before this transaction commits may not see
        them; every dispatcher therefore checks, when it ends, for events left waiting
        (``_dispatch_leftovers``) after taking the exclusive side of the lock whose shared side is
        held here until commit. Only short transactions may coalesce (the gateway's): a long one
        holding the shared side would hold up that check.
        """
        key = wake_key(backend_id, domain)
        identity_key = None  # only coalescing wakes rely on a queued job: the others always add their own
        if eta is None and coalesce:
            cr = self.env.cr
            cr.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", (key,))
            # The waiting job this transaction's snapshot shows may have started (even ended) since:
            # then the row version seen has been replaced, and carries the replacing transaction in
            # its xmax. Only a version nobody has touched is relied on; otherwise a new job is
            # added, without the identity key, which the stale snapshot would find taken. A job that
            # starts after this look sees these events through _dispatch_leftovers. (No row lock:
            # one on the waiting job's row would be taken by every acknowledgement at once.)
            cr.execute(
                """
                SELECT xmax::text FROM queue_job
                WHERE identity_key = %s AND state IN ('pending', 'enqueued')
                LIMIT 1
                """,
                (key,),
            )
            row = cr.fetchone()
            if row and row[0] == "0":
                return False
            if not row:
                identity_key = key
        self._queue_dispatcher(backend_id, domain, identity_key, eta=eta)
        return True

    @api.model
    def _dispatcher_waiting(self, key):
        """Return whether a dispatcher of wake key ``key`` waits to start, as committed now.

        For an acknowledgement that holds the shared wake lock and saw the waiting job's row being
        changed (the job runner starting it, or the job since ended): read in a transaction of its
        own, begun after that lock, a job still waiting has not run its end-of-job check yet, which
        waits for this lock, so it will see the event. Saves queueing one more dispatcher for each
        acknowledgement in flight whenever a dispatcher starts.
        """
        with self.env.registry.cursor() as cr:
            if not isinstance(cr, Cursor):  # a test cursor shares the test's transaction
                return False
            cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute("SELECT 1 FROM queue_job WHERE identity_key = %s AND state IN ('pending', 'enqueued') LIMIT 1",
                       (key,))
            return bool(cr.fetchone())

    @api.model
    def _queue_dispatcher(self, backend_id, domain, identity_key, eta=None):
        """Queue a dispatcher job of a backend's domain (``identity_key``: the wake key, or None)."""
        # applying events is the connector's work, whoever received or replayed them
        self.with_env(self._connector_env_of(backend_id)).with_delay(
            channel=self._dispatch_channel(backend_id, domain),
            eta=eta,
            identity_key=identity_key,
            description="Apply %s events of backend %s" % (domain, backend_id),
        )._dispatch(backend_id, domain)

    def _dispatch_channel(self, backend_id, domain):
        """Return the job channel of a domain's dispatchers: real time has its own."""
        return inbound_handling(self.env["retail.backend"]._gateway_config(backend_id), domain)[1]

    def _connector_env_of(self, backend_id):
        """Return the environment of the connector user of a backend's company (this one when it is)."""
        config = self.env["retail.backend"]._gateway_config(backend_id)
        return self.env["res.company"]._retail_connector_env_of(config.company_id)

    # ------------------------------------------------------------------ processing
    @api.model
    def _dispatch(self, backend_id, domain):
        """Apply waiting events of a backend's domain, a batch of aggregates in one transaction.

        The job of the inbox. It claims waiting events (``FOR UPDATE SKIP LOCKED``: dispatchers
        running side by side take different ones), reads the payloads not read yet, then applies
        each aggregate's events in channel time order, each event in its own savepoint. An
        aggregate another job holds is left for later; so is anything past the batch size
        (``retail_connector.dispatch_batch``). Returns a one-line summary for the job.
        """
        backend = self.env["retail.backend"].browse(backend_id)
        batch = max(1, int(self.env["ir.config_parameter"].sudo().get_param("retail_connector.dispatch_batch", 20)))
        cr = self.env.cr
        self.flush_model()  # what this transaction changed is what the claim must see
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    """
                    SELECT id FROM retail_event
                    WHERE backend_id = %s AND domain IS NOT DISTINCT FROM %s
                      AND state IN ('received', 'queued', 'processing')
                      AND (next_attempt_at IS NULL OR next_attempt_at <= now() at time zone 'UTC')
                    ORDER BY id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED
                    """,
                    (backend_id, domain, batch),
                    log_exceptions=False,
                )
                rows = cr.fetchall()
        except CONCURRENCY_ERRORS:
            # another dispatcher applied some of them after this job's snapshot (it committed just
            # after this job began): the others are claimed one by one, those it applied left out
            rows = self._claim_one_by_one(backend_id, domain, batch)
        claimed = self.browse([row[0] for row in rows])
        if not claimed:
            self._dispatch_leftovers(backend_id, domain, claimed.ids)
            return "nothing waiting"
        if len(claimed) >= batch:
            self._dispatch_alongside(backend_id, domain)
        counts = {}
        # new orders wait to be created together, when every aggregate of the batch has had its turn
        token = uuid.uuid4().hex
        claimed = claimed.with_context(retail_dispatching=True, retail_order_batch=token)
        unread = claimed.filtered(lambda e: not e.aggregate_key)
        if unread:
            unread._read_payloads()
        handled = set(claimed.filtered(lambda e: e.state not in PENDING_STATES).ids)
        if handled:
            counts["failed"] = len(handled)
        aggregates = []
        for event in claimed:
            if event.state in PENDING_STATES and (event.aggregate_type, event.aggregate_key) not in aggregates:
                aggregates.append((event.aggregate_type, event.aggregate_key))
        deferred = False

        retried = set()

        def count(event, outcome):
            handled.add(event.id)
            if outcome == "retry":
                retried.add(event.id)
            label = outcome if outcome in ("created", "updated", "unchanged", "cancelled", "stale", "failed", "retry") \
                else event.state
            counts[label] = counts.get(label, 0) + 1
            return outcome == "retry"

        open_batch(token)
        try:
            for aggregate_type, key in aggregates:
                events = claimed.filtered(lambda e, t=aggregate_type, k=key: e.aggregate_type == t and e.aggregate_key == k)
                applied = events[:1]._apply_aggregate()
                if applied is None:
                    # another job applies this aggregate: a later dispatcher takes these, with no attempt counted
                    counts["busy"] = counts.get("busy", 0) + 1
                    handled.update(events.ids)
                    deferred = True
                    continue
                for event, outcome in applied:
                    if outcome != BATCHED:
                        deferred = count(event, outcome) or deferred
            entries = close_batch(token)
            if entries:
                for event, outcome in claimed.browse()._create_batched_orders(backend_id, entries):
                    deferred = count(event, outcome) or deferred
        finally:
            close_batch(token)
        # one job for each moment something is to be tried again (events deferred by a concurrent
        # update, retries of failed attempts), so that none waits for the events sweep
        now = fields.Datetime.now()
        moments = {max(1, int((e.next_attempt_at - now).total_seconds()) + 1)
                   for e in self.browse(list(handled)) if e.state == "queued" and e.next_attempt_at}
        if any(e.state == "queued" and not e.next_attempt_at for e in self.browse(list(retried))):
            moments.add(0)  # what they met is committed: a new transaction applies them
        if deferred and not moments:
            moments = {3}
        for delay in sorted(moments):
            self._wake(backend_id, domain, eta=delay or None)
        # what was applied becomes visible when this job commits, right after: that is when it was processed
        self.flush_model()
        cr.execute("UPDATE retail_event SET processed_at = clock_timestamp() AT TIME ZONE 'UTC' "
                   "WHERE id = ANY(%s) AND state IN ('done', 'stale')", (list(handled),))
        self.invalidate_model(["processed_at"])
        self._dispatch_leftovers(backend_id, domain, list(handled))
        return "%d events of %s: %s" % (
            len(handled), backend.display_name, ", ".join("%s %d" % item for item in sorted(counts.items())) or "none")

    def _claim_one_by_one(self, backend_id, domain, batch):
        """Claim up to ``batch`` waiting events, each in a savepoint: one that a dispatcher which
        committed after this transaction's snapshot has changed cannot be locked, and is left out."""
        cr = self.env.cr
        cr.execute(
            """
            SELECT id FROM retail_event
            WHERE backend_id = %s AND domain IS NOT DISTINCT FROM %s AND state IN ('received', 'queued', 'processing')
              AND (next_attempt_at IS NULL OR next_attempt_at <= now() at time zone 'UTC')
            ORDER BY id
            LIMIT %s
            """,
            (backend_id, domain, batch * 3),
        )
        rows = []
        for (event_id,) in cr.fetchall():
            try:
                with cr.savepoint(flush=False):
                    cr.execute("SELECT id FROM retail_event WHERE id = %s FOR UPDATE SKIP LOCKED", (event_id,),
                               log_exceptions=False)
                    row = cr.fetchone()
            except CONCURRENCY_ERRORS:
                continue
            if row:
                rows.append(row)
                if len(rows) >= batch:
                    break
        return rows

    def _dispatch_alongside(self, backend_id, domain):
        """Queue, at once, a second dispatcher to take the next batch while this one applies its own.

        Committed in a transaction of its own so that the job runner can start it now (up to the
        capacity of the domain's job channel); not added while another one waits to start.
        """
        if self.env.context.get("queue_job__no_delay") or not isinstance(self.env.cr, Cursor):
            return  # run synchronously (tests): the batches follow one another
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["retail.event"].with_delay(
                channel=self._dispatch_channel(backend_id, domain), identity_key=wake_key(backend_id, domain),
                description="Apply %s events of backend %s" % (domain, backend_id),
            )._dispatch(backend_id, domain)

    def _dispatch_leftovers(self, backend_id, domain, handled_ids):
        """Queue another dispatcher when events are waiting that this job did not apply.

        Reads in a transaction of its own (READ COMMITTED). Events seen waiting at once queue the
        next dispatcher without a lock: that one ends with the same check. Only when none is seen
        does the check take the exclusive side of the domain's wake lock and look again: every
        acknowledgement that relied on a dispatcher already queued has committed by then, so what
        it stored is seen here. A job queued now or waiting to start takes its snapshot later, so
        it sees them too. Should the lock not come within seconds, another dispatcher is queued
        without looking.
        """
        more = True
        depth = self.env.context.get("retail_dispatch_depth", 0)
        self.flush_model()
        with self.env.registry.cursor() as cr:
            fresh = isinstance(cr, Cursor)  # a test cursor shares the test's transaction
            if fresh:
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
                cr.execute("SET LOCAL lock_timeout = '2s'")
            try:
                with cr.savepoint(flush=False):
                    # Events already committed and waiting need no lock to be seen: another dispatcher
                    # is queued for them, and that one's own check will cover the acknowledgements
                    # still in flight. Only when nothing is seen does this check wait for those
                    # (the lock's exclusive side), which holds new acknowledgements back meanwhile.
                    more = self._leftover_waiting(cr, backend_id, domain, handled_ids)
                    if not more:
                        cr.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (wake_key(backend_id, domain),),
                                   log_exceptions=False)  # a lock not coming is expected, and handled below
                        more = self._leftover_waiting(cr, backend_id, domain, handled_ids)
            except psycopg2.errors.LockNotAvailable:
                more = True
                _logger.info("Dispatcher of %s events of backend %s: wake lock busy, another dispatcher queued",
                             domain, backend_id)
            if more and depth < 50:
                # queued from this transaction, which reads queue_job as it is now: a job found waiting
                # has not started, so it will see these events; this job's older snapshot could
                # take a job that has since ended for one still waiting
                env = self.env(cr=cr) if fresh else self.env
                env["retail.event"].with_context(retail_dispatch_depth=depth + 1).with_delay(
                    channel=self._dispatch_channel(backend_id, domain), identity_key=wake_key(backend_id, domain),
                    description="Apply %s events of backend %s" % (domain, backend_id),
                )._dispatch(backend_id, domain)
        return more

    @api.model
    def _leftover_waiting(self, cr, backend_id, domain, handled_ids):
        """Return whether an event of a backend's domain waits, that nobody has claimed, outside ``handled_ids``.

        Read on ``cr`` (READ COMMITTED: each call sees what has been committed by then).
        """
        # events another dispatcher has claimed (locked) are its own: only what nobody holds counts
        cr.execute(
            """
            SELECT id FROM retail_event
            WHERE backend_id = %s AND domain IS NOT DISTINCT FROM %s
              AND state IN ('received', 'queued', 'processing')
              AND (next_attempt_at IS NULL OR next_attempt_at <= now() at time zone 'UTC')
              AND NOT (id = ANY(%s))
            LIMIT 1
            FOR UPDATE SKIP LOCKED
            """,
            (backend_id, domain, list(handled_ids)),
        )
        return bool(cr.fetchone())

    def _read_payloads(self):
        """Read the payloads of events acknowledged before being read: their aggregate and channel time.

        A payload the channel's parser refuses fails its event, with the field named.
        """
        for backend in self.backend_id:
            events = self.filtered(lambda e, b=backend: e.backend_id == b)
            with backend.work_on(self._name) as work:
                parser = work.component(usage="event.parser")
                for event in events:
                    try:
                        with self.env.cr.savepoint():
                            body = (event.payload_override or event.payload or "").encode()
                            data = event._payload_data()
                            inbound = parser.parse(event.topic, {}, data, body)
                            check_storable(inbound, parser._aggregate_field)
                            event.write({
                                "aggregate_key": inbound.aggregate_key,
                                "aggregate_type": inbound.aggregate_type,
                                "channel_timestamp": inbound.channel_timestamp.replace(tzinfo=None)
                                if inbound.channel_timestamp else False,
                            })
                    except InboundError as exc:
                        event._fail(event.attempts + 1, InvalidPayload(exc), permanent=True)
                    except RecursionError:
                        event._fail(event.attempts + 1, InvalidPayload(InboundError("payload is nested too deeply")),
                                    permanent=True)
                    except PERMANENT_ERRORS + (TypeError, KeyError, AttributeError) as exc:
                        event._fail(event.attempts + 1, InvalidPayload(InboundError(_error_text(exc))), permanent=True)

    def _apply_aggregate(self):
        """Apply every waiting event of this event's aggregate, oldest channel time first.

        Returns [(event, outcome)], or None when another job holds the aggregate (nothing is
        counted against the events: they are applied by a later job).
        """
        self.ensure_one()
        lock = "retail-aggregate-%s-%s-%s" % (self.backend_id.id, self.aggregate_type, self.aggregate_key)
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
        if not self.env.cr.fetchone()[0]:
            return None
        self.flush_model()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    SELECT id FROM retail_event
                    WHERE backend_id = %s AND aggregate_type IS NOT DISTINCT FROM %s AND aggregate_key = %s
                      AND state IN ('received', 'queued', 'processing')
                      AND (next_attempt_at IS NULL OR next_attempt_at <= now() at time zone 'UTC')
                    ORDER BY channel_timestamp ASC NULLS FIRST, id ASC
                    FOR UPDATE SKIP LOCKED
                    """,
                    (self.backend_id.id, self.aggregate_type, self.aggregate_key),
                    log_exceptions=False,
                )
                rows = self.env.cr.fetchall()
        except CONCURRENCY_ERRORS:
            # an event of the aggregate was applied by a job that committed after this one began:
            # the aggregate is left to a later dispatcher, which sees it as it is now
            return None
        pending = self.browse([row[0] for row in rows])
        if len(pending) > 1:
            # the aggregate's later events need its order as the earlier ones leave it
            pending = pending.with_context(retail_order_batch=False)
        applied = []
        for index, event in enumerate(pending):
            try:
                outcome = event._apply_one()
            except RetryableJobError as exc:
                # a concurrent update: this event and the aggregate's later ones wait a moment,
                # without an attempt counted, so that they stay in channel order; no wait when
                # what they met is already committed (a new transaction sees it)
                later = pending[index:]
                later.write({"state": "queued", "next_attempt_at": False if exc.seconds == 0
                             else fields.Datetime.now() + timedelta(seconds=random.randint(1, 3))})
                applied.extend((e, "retry") for e in later)
                break
            applied.append((event, outcome))
        return applied

    def _process_aggregate(self):
        """Apply every pending event of this event's aggregate; return a one-line summary.

        Raises RetryableJobError when another job holds the aggregate, or when an event meets a
        concurrent update (the job runs again within seconds; no attempt is counted).
        """
        self.ensure_one()
        if not self.aggregate_key and self.state in PENDING_STATES:
            self._read_payloads()
            if self.state not in PENDING_STATES:
                return "%s: %s" % (self.id, self.state)
        lock = "retail-aggregate-%s-%s-%s" % (self.backend_id.id, self.aggregate_type, self.aggregate_key)
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
        if not self.env.cr.fetchone()[0]:
            raise RetryableJobError("Aggregate %s is being processed by another job" % self.aggregate_key,
                                    seconds=2, ignore_retry=True)
        pending = self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("aggregate_type", "=", self.aggregate_type),
                ("aggregate_key", "=", self.aggregate_key),
                ("state", "in", PENDING_STATES),
                "|", ("next_attempt_at", "=", False), ("next_attempt_at", "<=", fields.Datetime.now()),
            ],
            order="channel_timestamp asc nulls first, id asc",
        )
        summary = []
        for event in pending:
            summary.append("%s: %s" % (event.id, event._apply_one()))
        return "; ".join(summary) or "nothing pending"

    def _apply_one(self):
        """Apply this event through its channel's processor; record the outcome or the error.

        Returns the outcome; ``batched`` when the dispatcher creates the event's new order with
        the other new orders of its batch (nothing is recorded on the event yet)."""
        self.ensure_one()
        attempt = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                with self.backend_id.with_context(
                    retail_origin_backend=self.backend_id.id, retail_correlation_id=self.correlation_id,
                    retail_event_id=self.id,
                ).work_on(
                    self._name
                ) as work:
                    if self.aggregate_type == PAYOUT_AGGREGATE:
                        # every channel's payout events go to its payout importer
                        importer = work.component(usage="payout.importer", model_name="retail.payout")
                        outcome, record = importer.process_event(self, self._payload_data())
                    else:
                        processor = work.component(usage="event.processor")
                        outcome, record = processor.process(self, self._payload_data())
        except Exception as exc:  # noqa: BLE001 - classified by _apply_failed
            return self._apply_failed(attempt, exc)
        if outcome == BATCHED:
            return outcome
        return self._record_applied(attempt, outcome, record)

    def _apply_failed(self, attempt, exc):
        """Record an attempt that raised ``exc``; return the event's state, or raise what the job must see.

        A lost connection is raised as it is; a concurrent update, a lock another job holds or a
        rate limit raise RetryableJobError (contention: no attempt counted)."""
        if isinstance(exc, (psycopg2.InterfaceError, psycopg2.OperationalError)):
            if connection_lost(self.env.cr):
                # nothing can be written on this connection: the job fails, and the sweep
                # queues the event again (_cron_sweep)
                raise exc
            if isinstance(exc, CONCURRENCY_ERRORS):
                # another transaction changed the same rows (the stock of a product sold on two
                # channels at once): not the event's fault, nor the job's; it runs again soon on a fresh snapshot
                raise RetryableJobError(
                    "Event %s met a concurrent update: %s" % (self.id, _error_text(exc)), seconds=random.randint(1, 3),
                    ignore_retry=True,
                ) from None
            self._fail(attempt, exc, permanent=False)
            return self.state
        if isinstance(exc, psycopg2.errors.UniqueViolation):
            # most often two jobs creating the same record at once (a new customer in two orders):
            # tried again within seconds, the attempt counted so that a lasting conflict ends dead
            self._fail(attempt, exc, permanent=False, quick=True)
            return self.state
        if isinstance(exc, PERMANENT_ERRORS):
            self._fail(attempt, exc, permanent=True)
            return "failed"
        if isinstance(exc, (RetryableJobError, ChannelError)):
            if isinstance(exc, RetryableJobError) and exc.ignore_retry:
                # a lock held by another job (advisory_lock_or_retry) or a rate limit: contention,
                # not a failure of the event; the job runs again later and nothing is counted
                raise exc
            self._fail(attempt, exc, permanent=False)
            return self.state
        # an unknown error may be transient: retry, then dead letter
        _logger.error("Event %s (correlation %s) failed", self.id, self.correlation_id, exc_info=exc)
        self._fail(attempt, exc, permanent=False)
        return self.state

    def _db_clock(self):
        """Return the database's clock now (not the transaction's start), as a naive UTC datetime."""
        self.env.cr.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC'")
        return self.env.cr.fetchone()[0]

    def _record_applied(self, attempt, outcome, record):
        """Record a successful attempt: done (or stale), its outcome and the resulting record."""
        vals = {
            "job_uuid": self.env.context.get("job_uuid") or self.job_uuid,
            "state": "stale" if outcome == "stale" else "done",
            "attempts": attempt,
            "outcome": outcome,
            # the database's clock now, like received_at (the dispatcher sets it again when its batch ends):
            # not the transaction's start, which can come before the receipt of an event claimed by a
            # job already running, and made latencies negative
            "processed_at": self._db_clock(),
            "last_error": False,
            "error_kind": False,
            "next_attempt_at": False,
        }
        if outcome == "stale":
            vals["last_error"] = self.env._("A newer version of %(key)s was already applied.", key=self.aggregate_key)
        if record:
            vals.update(res_model=record._name, res_id=record.id)
        self.write(vals)
        _logger.info("Event %s %s %s: %s (correlation %s)", self.id, self.topic, self.aggregate_key, outcome, self.correlation_id)
        return outcome

    def _create_batched_orders(self, backend_id, entries):
        """Create the new orders the batch's events left to their dispatcher; return [(event, outcome)].

        All at once when they can be, else one by one (the order writer's ``create_batch``); each
        event then records its order, or its failure as if it had been applied alone."""
        Event = self.with_context(retail_order_batch=False)
        backend = self.env["retail.backend"].browse(backend_id)
        with backend.with_context(retail_origin_backend=backend_id).work_on("retail.sale.order.binding") as work:
            results = work.component(usage="order.writer").create_batch(entries)
        created = [(Event.browse(entry["event_id"]), binding.odoo_id) for entry, binding, exc in results if exc is None]
        if created:
            note_applied_orders(self.env["sale.order"].concat(*(sale for _event, sale in created)), "created", backend,
                                Event.concat(*(event for event, _sale in created)))
        applied = []
        for entry, binding, exc in results:
            event = Event.browse(entry["event_id"])
            attempt = event.attempts + 1
            if exc is None:
                applied.append((event, event._record_applied(attempt, "created", binding.odoo_id)))
                continue
            try:
                applied.append((event, event._apply_failed(attempt, exc)))
            except RetryableJobError:
                # a concurrent update or a lock: the event waits a moment, no attempt counted
                event.write({"state": "queued", "next_attempt_at": fields.Datetime.now()
                             + timedelta(seconds=random.randint(1, 3))})
                applied.append((event, "retry"))
        return applied

    def _payload_data(self):
        """Return the JSON data to apply: the edited payload when there is one."""
        text = self.payload_override or self.payload or "null"
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValidationError(self.env._("The event's payload is not valid JSON: %(error)s", error=exc)) from None

    @api.depends("last_error")
    def _compute_error_signature(self):
        for event in self:
            event.error_signature = error_signature(event.last_error) if event.last_error else False

    def _fail(self, attempt, exc, permanent, quick=False):
        """Record a failed attempt: failed (permanent), dead (out of attempts) or queued for a retry.

        The failure is always recorded: should its message still be refused by the database, a
        message of our own naming the error class takes its place (the original is in the log).
        """
        kind = storable(getattr(exc, "kind", None) or type(exc).__name__)
        message = _error_text(exc)
        try:
            with self.env.cr.savepoint():
                self._record_failure(attempt, kind, message, permanent, getattr(exc, "retry_after", None), quick=quick)
        except (psycopg2.DataError, ValueError):
            _logger.exception("Event %s: its error could not be stored (correlation %s)", self.id, self.correlation_id)
            message = self.env._(
                "Applying the event failed with %(error)s, whose message could not be stored; read it in the server "
                "log under correlation %(correlation)s.",
                error=type(exc).__name__, correlation=self.correlation_id or "-",
            )
            with self.env.cr.savepoint():
                self._record_failure(attempt, type(exc).__name__, message, permanent, getattr(exc, "retry_after", None))
        _logger.warning(
            "Event %s %s %s attempt %s: %s (correlation %s)", self.id, self.topic, self.aggregate_key, attempt, message, self.correlation_id
        )

    def _record_failure(self, attempt, kind, message, permanent, retry_after=None, quick=False):
        vals = {"attempts": attempt, "last_error": message, "error_kind": kind}
        max_attempts = int(self.env["ir.config_parameter"].sudo().get_param("retail_connector.retry_max", 5))
        if permanent:
            vals.update(state="failed", next_attempt_at=False)
            self.write(vals)
            self._notify_responsible(message)
        elif attempt >= max_attempts:
            vals.update(state="dead", next_attempt_at=False)
            self.write(vals)
            self._notify_responsible(message)
        else:
            delay = random.randint(1, 3) if quick else self.env["retail.retry.policy"]._delay(attempt, retry_after)
            vals.update(state="queued", next_attempt_at=fields.Datetime.now() + timedelta(seconds=delay))
            self.write(vals)
            if not self.env.context.get("retail_dispatching"):
                self._enqueue(eta=delay)  # a dispatcher wakes one job for all its retries

    def _notify_responsible(self, message):
        user = self.backend_id.responsible_user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
        if not user:
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Retail event needs attention: %(topic)s %(key)s", topic=self.topic, key=self.aggregate_key or ""),
            note=storable(message),
            user_id=user.id,
        )

    # ------------------------------------------------------------------ replay
    def action_replay(self):
        """Apply the events again (with their edited payload if any), whatever their state."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.env["retail.audit.log"]._log(self, "replay", {e.id: "Replayed in state %s%s" % (
            e.state, ", with an edited payload" if e.payload_override else "") for e in self})
        for event in self:
            event.write({"state": "received", "next_attempt_at": False, "attempts": 0, "source": event.source})
            event.activity_ids.action_feedback(feedback=self.env._("Replayed"))
        self._enqueue()
        return True

    def action_ignore(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.env["retail.audit.log"]._log(self, "ignore", {e.id: "Ignored in state %s: %s" % (
            e.state, e.last_error or "") for e in self})
        self.write({"state": "ignored", "next_attempt_at": False})
        self.activity_ids.action_feedback(feedback=self.env._("Ignored"))
        return True

    @api.model
    def _cron_sweep(self, grace_minutes=2):
        """Wake the dispatchers of domains whose events wait past a grace period with no job
        that will apply them (a lost job, a crashed worker, a dropped connection); return how
        many events were found waiting. Archived backends' events are left as they are."""
        limit = fields.Datetime.now() - timedelta(minutes=grace_minutes)
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT e.backend_id, e.domain, count(*)
            FROM retail_event e JOIN retail_backend b ON b.id = e.backend_id AND b.active
            WHERE e.state IN ('received', 'queued', 'processing') AND e.write_date < %s
              AND (e.next_attempt_at IS NULL OR e.next_attempt_at < %s)
            GROUP BY e.backend_id, e.domain
            """,
            (limit, limit),
        )
        found = 0
        for backend_id, domain, count in self.env.cr.fetchall():
            if inbound_handling(self.env["retail.backend"]._gateway_config(backend_id), domain)[0] != "apply":
                continue  # kept for the policy's scheduled run, or the policy is off
            self.env.cr.execute(
                """
                SELECT 1 FROM queue_job
                WHERE identity_key = %s AND state IN ('pending', 'enqueued', 'started')
                  AND (eta IS NULL OR eta <= now() at time zone 'UTC') LIMIT 1
                """,
                (wake_key(backend_id, domain),),
            )
            if self.env.cr.fetchone():
                continue
            self._wake(backend_id, domain)
            found += count
        return found

    def _related_action_event(self):
        """Open the event a queue job works on (queue_job related action)."""
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form"}

    def _related_action_dispatch(self):
        """Open the events a dispatcher job applied (queue_job related action)."""
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_event")
        action["domain"] = [("job_uuid", "=", self.env.context.get("job_uuid"))]
        action["context"] = {}
        return action

    def action_open_result(self):
        check_retail_access(self, "read")
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return False
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id, "view_mode": "form"}

    @api.model
    def _requeue_dead(self, backend=None, topic=None, error_kind=None):
        """Replay every dead (and failed) event of a backend, topic or error class; return how many."""
        domain = [("state", "in", ("dead", "failed"))]
        if backend:
            domain.append(("backend_id", "=", backend.id))
        if topic:
            domain.append(("topic", "=", topic))
        if error_kind:
            domain.append(("error_kind", "=", error_kind))
        events = self.search(domain)
        events.action_replay()
        return len(events)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»")
_NUMBERS = re.compile(r"\b[0-9a-f]{8,}\b|\d+(?:[.,]\d+)*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def error_signature(message):
    """Return the first line of an error with quoted values, ids and numbers blanked, shortened."""
    first = (message or "").strip().splitlines()[0] if message and message.strip() else ""
    text = _NUMBERS.sub("#", _QUOTED.sub("'…'", first))
    return _SPACES.sub(" ", text).strip()[:200]


def _error_text(exc):
    """Return the storable text of an error: channel data in it may hold a NUL or a lone surrogate."""
    if isinstance(exc, UserError):
        text = exc.args[0]
    else:
        text = str(exc) or type(exc).__name__
    return storable(text)
