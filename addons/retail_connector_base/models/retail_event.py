# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
import logging
import random
import re
import uuid
from datetime import timedelta

import psycopg2
import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.errors import RetailMappingError
from ..lib.canonical import CanonicalValidationError
from ..lib.http import ChannelError
from ..lib.inbound import PAYOUT_AGGREGATE
from ..lib.text import storable
from .retail_access import GROUP_MANAGER, check_retail_access
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

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    backend_type = fields.Selection(related="backend_id.backend_type", store=True)
    source = fields.Selection(
        [("webhook", "Webhook"), ("api", "Partner API"), ("poll", "Polling"), ("replay", "Replay")],
        required=True,
        default="webhook",
    )
    topic = fields.Char(required=True, index=True)
    domain = fields.Selection(DOMAINS, index=True)
    idempotency_key = fields.Char(required=True)
    aggregate_type = fields.Char(index=True)
    aggregate_key = fields.Char(index=True)
    channel_timestamp = fields.Datetime(help="When the channel says the change happened; orders the events of one aggregate.")
    received_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    processed_at = fields.Datetime(readonly=True)
    correlation_id = fields.Char(index=True, readonly=True, copy=False)
    payload = fields.Text(readonly=True, help="The body as received, never changed.")
    payload_override = fields.Text(
        string="Edited payload", help="Applied instead of the original on the next replay; the original is kept."
    )
    state = fields.Selection(EVENT_STATES, required=True, default="received", index=True, tracking=True)
    attempts = fields.Integer(readonly=True)
    duplicate_count = fields.Integer(string="Duplicates received", readonly=True)
    last_error = fields.Text(readonly=True)
    error_kind = fields.Char(readonly=True, index=True)
    error_signature = fields.Char(
        compute="_compute_error_signature", store=True, index=True,
        help="The error message with its ids, numbers and quoted values blanked: events failing for the same "
        "reason share it.",
    )
    assigned_user_id = fields.Many2one("res.users", string="Assigned to", index=True, tracking=True)
    next_attempt_at = fields.Datetime(readonly=True)
    job_uuid = fields.Char(readonly=True, copy=False)
    outcome = fields.Char(readonly=True, help="What applying the event did, e.g. created or unchanged.")
    res_model = fields.Char(string="Resulting model", readonly=True)
    res_id = fields.Many2oneReference(string="Resulting record", model_field="res_model", readonly=True)

    _backend_key_uniq = models.Constraint(
        "UNIQUE(backend_id, idempotency_key)", "This event was already received from this backend."
    )
    _aggregate_idx = models.Index("(backend_id, aggregate_type, aggregate_key, channel_timestamp, id)")

    @api.depends("topic", "aggregate_key")
    def _compute_display_name(self):
        for event in self:
            event.display_name = "%s %s" % (event.topic or "", event.aggregate_key or "")

    # ------------------------------------------------------------------ intake
    @api.model
    def _insert_received(self, backend, inbound, payload, source, correlation_id):
        """Store an accepted event unless its key is known; return (event id, is_duplicate).

        A plain INSERT ... ON CONFLICT keeps the acknowledgement to one statement, and makes two
        simultaneous deliveries of one event safe: one row wins, the other counts a duplicate.
        """
        cr = self.env.cr
        cr.execute(
            """
            INSERT INTO retail_event (backend_id, company_id, backend_type, source, topic, domain,
                idempotency_key, aggregate_type, aggregate_key, channel_timestamp, received_at,
                correlation_id, payload, state, attempts, duplicate_count,
                create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', %s, %s,
                    'received', 0, 0, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (backend_id, idempotency_key) DO NOTHING
            RETURNING id
            """,
            (
                backend.id, backend.company_id.id, backend.backend_type, source, inbound.topic, inbound.domain,
                inbound.idempotency_key, inbound.aggregate_type, inbound.aggregate_key,
                inbound.channel_timestamp.replace(tzinfo=None) if inbound.channel_timestamp else None,
                correlation_id, payload, self.env.uid, self.env.uid,
            ),
        )
        row = cr.fetchone()
        if row:
            return row[0], False
        cr.execute(
            """
            UPDATE retail_event SET duplicate_count = duplicate_count + 1
            WHERE backend_id = %s AND idempotency_key = %s RETURNING id
            """,
            (backend.id, inbound.idempotency_key),
        )
        return cr.fetchone()[0], True

    def _enqueue(self, eta=None):
        """Queue one job per event; each job applies every pending event of its aggregate.

        One job per event, not one per aggregate: a job already handed to a worker may have
        started its transaction before this event was committed and would never see it.
        Jobs that find their event already applied by an earlier one end at once.
        """
        connector_envs = {}
        for event in self:
            # applying an event is the connector's work, whoever received or replayed it
            if event.backend_id not in connector_envs:
                connector_envs[event.backend_id] = self.env["retail.backend"]._connector_env(event.backend_id)
            job = event.with_env(connector_envs[event.backend_id]).with_delay(
                channel="root.retail.%s" % (event.domain or "orders"),
                eta=eta,
                description="%s: %s %s" % (event.backend_id.name, event.topic, event.aggregate_key),
            )._process_aggregate()
            vals = {"state": "queued"}
            if getattr(job, "uuid", None):
                vals["job_uuid"] = job.uuid
            # the aggregate's job may have run synchronously already (tests): keep its result
            if event.state in PENDING_STATES:
                event.write(vals)

    # ------------------------------------------------------------------ processing
    def _process_aggregate(self):
        """Apply every pending event of this event's aggregate, oldest channel time first.

        Returns a one-line summary for the job. Each event runs in its own savepoint: a failure
        leaves nothing half-written and does not stop the events after it.
        """
        self.ensure_one()
        key = self.aggregate_key
        lock = "retail-aggregate-%s-%s-%s" % (self.backend_id.id, self.aggregate_type, key)
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
        if not self.env.cr.fetchone()[0]:
            raise RetryableJobError("Aggregate %s is being processed by another job" % key, seconds=2, ignore_retry=True)
        pending = self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("aggregate_type", "=", self.aggregate_type),
                ("aggregate_key", "=", key),
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
        """Apply this event through its channel's processor; record the outcome or the error."""
        self.ensure_one()
        attempt = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                with self.backend_id.with_context(
                    retail_origin_backend=self.backend_id.id, retail_correlation_id=self.correlation_id
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
        except (psycopg2.InterfaceError, psycopg2.OperationalError) as exc:
            if connection_lost(self.env.cr):
                # nothing can be written on this connection: the job fails, and the sweep
                # queues the event again (_cron_sweep)
                raise
            if isinstance(exc, CONCURRENCY_ERRORS):
                # another transaction changed the same rows (the stock of a product sold on two
                # channels at once): not the event's fault, nor the job's; it runs again soon on a fresh snapshot
                raise RetryableJobError(
                    "Event %s met a concurrent update: %s" % (self.id, _error_text(exc)), seconds=random.randint(1, 3),
                    ignore_retry=True,
                ) from None
            self._fail(attempt, exc, permanent=False)
            return self.state
        except PERMANENT_ERRORS as exc:
            self._fail(attempt, exc, permanent=True)
            return "failed"
        except (RetryableJobError, ChannelError) as exc:
            if isinstance(exc, RetryableJobError) and exc.ignore_retry:
                # a lock held by another job (advisory_lock_or_retry) or a rate limit: contention,
                # not a failure of the event; the job runs again later and nothing is counted
                raise
            self._fail(attempt, exc, permanent=False)
            return self.state
        except Exception as exc:  # noqa: BLE001 - an unknown error may be transient: retry, then dead letter
            _logger.exception("Event %s (correlation %s) failed", self.id, self.correlation_id)
            self._fail(attempt, exc, permanent=False)
            return self.state
        vals = {
            "state": "stale" if outcome == "stale" else "done",
            "attempts": attempt,
            "outcome": outcome,
            "processed_at": fields.Datetime.now(),
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

    def _fail(self, attempt, exc, permanent):
        """Record a failed attempt: failed (permanent), dead (out of attempts) or queued for a retry.

        The failure is always recorded: should its message still be refused by the database, a
        message of our own naming the error class takes its place (the original is in the log).
        """
        kind = storable(getattr(exc, "kind", None) or type(exc).__name__)
        message = _error_text(exc)
        try:
            with self.env.cr.savepoint():
                self._record_failure(attempt, kind, message, permanent, getattr(exc, "retry_after", None))
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

    def _record_failure(self, attempt, kind, message, permanent, retry_after=None):
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
            delay = self._retry_delay(attempt, retry_after)
            vals.update(state="queued", next_attempt_at=fields.Datetime.now() + timedelta(seconds=delay))
            self.write(vals)
            self._enqueue(eta=delay)

    def _retry_delay(self, attempt, retry_after=None):
        """Return the seconds to wait before attempt ``attempt + 1``, from the retry pattern."""
        pattern = self.env["ir.config_parameter"].sudo().get_param("retail_connector.retry_pattern", "1:10,3:60,5:300")
        delay = 10
        for item in pattern.split(","):
            try:
                start, seconds = (int(x) for x in item.split(":"))
            except ValueError:
                continue
            if attempt >= start:
                delay = seconds
        return max(delay, int(retry_after or 0))

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
        """Re-queue events left waiting without a live job (a lost job, a crashed worker)."""
        limit = fields.Datetime.now() - timedelta(minutes=grace_minutes)
        waiting = self.search(
            [("state", "in", PENDING_STATES), ("write_date", "<", limit),
             "|", ("next_attempt_at", "=", False), ("next_attempt_at", "<", limit)],
            limit=1000,
        )
        live = set(
            self.env["queue.job"].search(
                [("uuid", "in", waiting.mapped("job_uuid")), ("state", "in", ("wait_dependencies", "pending", "enqueued", "started"))]
            ).mapped("uuid")
        )
        orphans = waiting.filtered(lambda e: e.job_uuid not in live)
        orphans._enqueue()
        return len(orphans)

    def _related_action_event(self):
        """Open the event a queue job works on (queue_job related action)."""
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form"}

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
