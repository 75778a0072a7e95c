# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg2.errors
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

import odoo.modules.module

from odoo import api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.http import ChannelError, ChannelRateLimited, ChannelValidationError
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

EXPORT_STATES = [("pending", "Pending"), ("sending", "Sending"), ("done", "Sent"), ("failed", "Failed"),
                 ("cancelled", "Cancelled")]


def _signature(error):
    from .retail_event import error_signature  # noqa: PLC0415

    return error_signature(error) if error else None


class RetailExportRequest(models.Model):
    """A change of one Odoo record that one backend must receive, coalesced until it is sent.

    Changes to the same record for the same backend and domain within the policy's debounce
    window share one pending request: a burst of changes becomes one export of the latest
    state, grouped with other records into the channel's bulk call by the domain's flush job.
    """

    _name = "retail.export.request"
    _description = "Retail Connector export request"
    _order = "id desc"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    domain = fields.Selection(DOMAINS, required=True, index=True)
    res_model = fields.Char(required=True)
    res_id = fields.Many2oneReference(model_field="res_model", required=True)
    state = fields.Selection(EXPORT_STATES, default="pending", required=True, index=True)
    requested_at = fields.Datetime(required=True, default=fields.Datetime.now)
    changes = fields.Integer(default=1, help="How many changes this request stands for.")
    sent_at = fields.Datetime(readonly=True)
    attempts = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)
    error_signature = fields.Char(compute="_compute_error_signature", store=True, index=True)
    correlation_id = fields.Char(index=True)

    _pending_uniq = models.UniqueIndex(
        "(backend_id, domain, res_model, res_id) WHERE state = 'pending'",
        "One pending export per record, backend and domain.",
    )

    @api.model
    def _request(self, backend, domain, records):
        """Record that ``records`` must be exported to ``backend`` for ``domain``; schedule the flush."""
        if not records:
            return
        policy = backend.policy_for(domain)
        if not policy or policy.mode == "off" or policy.direction == "inbound":
            return
        if not backend._sends_domain(domain):
            return  # the channel takes nothing of this domain from Odoo (its policy says so): nothing waits, nothing fails
        cr = self.env.cr
        correlation_id = self.env.context.get("retail_correlation_id")
        # always the same order: two jobs touching the same records never wait on each other in a cycle
        for record in records.sorted("id"):
            cr.execute(
                """
                INSERT INTO retail_export_request
                    (backend_id, company_id, domain, res_model, res_id, state, requested_at, changes, attempts,
                     correlation_id, create_uid, write_uid, create_date, write_date)
                VALUES (%(backend)s, %(company)s, %(domain)s, %(model)s, %(res_id)s, 'pending', now() at time zone 'UTC',
                        1, 0, %(cid)s, %(uid)s, %(uid)s, now() at time zone 'UTC', now() at time zone 'UTC')
                ON CONFLICT (backend_id, domain, res_model, res_id) WHERE state = 'pending'
                DO UPDATE SET changes = retail_export_request.changes + 1, write_date = now() at time zone 'UTC'
                """,
                {"backend": backend.id, "company": backend.company_id.id, "domain": domain, "model": record._name,
                 "res_id": record.id, "cid": correlation_id, "uid": self.env.uid},
            )
        self.invalidate_model()
        if policy._sends_on_change():  # a scheduled batch sends from its run
            self._schedule_flush_after_commit(backend, domain, delay=policy._export_delay(), channel=policy._job_channel())

    @api.model
    def _schedule_flush_after_commit(self, backend, domain, delay=0, channel=None):
        """Schedule the flush of requests this transaction made, once it has committed.

        A flush waiting to start takes the new requests: but this transaction's snapshot may show
        one waiting that has since started and claimed before these requests were committed (a
        long transaction, such as a job applying a batch of orders), and would then rely on it in
        vain. Looked for once committed, in a transaction of its own, a flush still waiting claims
        them when it starts; otherwise another is queued. Under test (one transaction, never
        committed) the flush is scheduled at once.
        """
        if odoo.modules.module.current_test:
            self._schedule_flush(backend, domain, delay=delay, channel=channel)
            return
        flushes = self.env.cr.postcommit.data.setdefault("retail_export_flushes", {})
        if not flushes:
            self.env.cr.postcommit.add(self._flush_committed_requests)
        # the first delay asked wins: the debounce counts from the first change
        flushes.setdefault((backend.id, domain), (delay, channel))

    def _flush_committed_requests(self):
        flushes = self.env.cr.postcommit.data.get("retail_export_flushes") or {}
        try:
            with self.env.registry.cursor() as cr:
                env = self.env(cr=cr)
                for (backend_id, domain), (delay, channel) in sorted(flushes.items()):
                    env["retail.export.request"]._schedule_flush(env["retail.backend"].browse(backend_id), domain,
                                                                 delay=delay, channel=channel)
        except Exception:  # noqa: BLE001 - the requests are committed: the sweep schedules their flush
            _logger.exception("Could not schedule the flush of %s; the sweep will", sorted(flushes))

    @api.depends("last_error")
    def _compute_error_signature(self):
        from .retail_event import error_signature  # noqa: PLC0415

        for request in self:
            request.error_signature = error_signature(request.last_error) if request.last_error else False

    @api.model
    def _schedule_flush(self, backends, domain, delay=0, channel=None):
        """Queue the flush job of one domain per backend, unless one is already waiting (it takes the new work).

        ``delay`` (seconds, fractions kept) is the debounce the policy chose (``_export_delay``);
        ``channel`` the policy's job channel (the domain's by default). The job runs on the backend
        (``retail.backend._flush_exports``) as its connector user.
        """
        for backend in backends:
            backend._as_connector(backend).with_delay(
                channel=channel or "root.retail.%s" % domain,
                eta=timedelta(seconds=delay) if delay else None,
                identity_key="retail-flush-%d-%s" % (backend.id, domain),
                description="%s: send %s" % (backend.name, domain),
            )._flush_exports(domain)

    @api.model
    def _flush_waiting(self, backends):
        """Schedule the flush of every domain with pending exports that sends on change (after a resume)."""
        for backend in backends:
            domains = self.search([("backend_id", "=", backend.id), ("state", "=", "pending")]).mapped("domain")
            for domain in set(domains):
                policy = backend.policy_for(domain)
                if not policy or policy._sends_on_change():
                    self._schedule_flush(backend, domain, channel=policy and policy._job_channel())

    @api.model
    def _flush_domain(self, backend, domain, batch_run=False):
        """Send the pending exports of one backend and domain (its flush job, or the scheduled run with ``batch_run``).

        A policy in scheduled batch sends only from its run: a flush queued before the mode changed
        to batch leaves the exports for the run.

        One flush per backend and domain at a time (a transaction lock), any number of
        backends at once (the domain's job channel runs several): a flush that finds another
        of its backend running comes back in a second, when that one has committed. The flush
        clock records when each began, for the next requests' debounce.
        """
        backend.ensure_one()
        policy = backend.policy_for(domain)
        if policy and policy.mode == "batch" and not batch_run:
            return "%s: waiting for the scheduled run" % domain
        # the lock lives in a transaction of its own, held for the whole flush whatever the flush's
        # transaction does (the flush commits once it has claimed its requests)
        with self._own_cursor() as lock_cr:
            lock_cr.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", ("retail-flush-%d-%s" % (backend.id, domain),))
            if not lock_cr.fetchone()[0]:
                raise RetryableJobError("Another flush of %s %s is running" % (backend.name, domain), seconds=1,
                                        ignore_retry=True)
            Flush = self.env["retail.export.flush"]
            began = time.monotonic()
            Flush._mark(backend, domain, started=True)
            result = self._send_pending(backend, domain)
            Flush._mark(backend, domain)
            # a change committed while this job was starting relied on it, but came after its claim: it is
            # read here (committed state) and gets the next flush at once, instead of waiting for the sweep
            if policy and policy._sends_on_change() and backend._can_send(domain):
                lock_cr.execute(
                    "SELECT 1 FROM retail_export_request WHERE backend_id = %s AND domain = %s AND state = 'pending' "
                    "AND requested_at < now() at time zone 'UTC' LIMIT 1",
                    (backend.id, domain),
                )
                if lock_cr.fetchone() and not odoo.modules.module.current_test:
                    # paced from this flush's start (this transaction, older than the flush clock's
                    # row, would read the previous flush's start and send at once)
                    delay = 0.0 if policy.mode == "realtime" else policy._flush_delay(since=time.monotonic() - began)
                    self._schedule_flush(backend, domain, delay=delay, channel=policy._job_channel())
        return result

    @api.model
    def _send_pending(self, backend, domain):
        """Send the pending requests of one backend and domain in the channel's bulk calls.

        Returns a summary. When the backend is paused or degraded the requests stay pending
        (the probe or the resume flushes them); a channel validation error fails the requests
        of that call with the channel's message; transport errors retry the job.

        The requests are claimed (pending to sending) and settled (sent, failed, or back to
        pending) in short transactions of their own, never held by the flush's: a change made
        while the flush talks to the channel waits for no lock, becomes a new pending request
        for the next flush, and never makes the flush's transaction fail on a concurrent update.

        Each batch's tokens of the backend's rate limit are reserved at once before it is sent
        (as many as the exporter's ``max_requests`` says, see ``_batches_within_burst``): when
        they are not there, the job gives its worker back (``RetryableJobError``, no try counted)
        before sending anything of that batch; the batches sent before are settled, the rest is
        pending again and the job's next run sends it. No batch is ever cut short for want of a
        token, so none is sent again from its first request.
        """
        if not backend._can_send(domain):
            return "%s: waiting, backend %s" % (domain, backend.state)
        claimed = self._claim(backend, domain)
        if not claimed:
            return "%s: nothing to send" % domain
        if odoo.modules.module.current_test:  # a test runs in one transaction, which sees them
            return self._send_claimed(backend, domain, claimed)
        # a transaction begun after the claim, which sees the requests claimed (some made after this job began)
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            return self.with_env(env)._send_claimed(backend.with_env(env), domain, claimed)

    @api.model
    def _send_claimed(self, backend, domain, claimed):
        requests = self.browse(claimed)
        unsettled = set(claimed)
        try:
            with backend.work_on(self._name) as work:
                exporters = work.many_components(usage="%s.exporter" % domain)
                if not exporters:
                    # made before the channel's support was checked: nothing can send them, nothing retries them
                    message = self.env._("%(channel)s backends have no exporter for %(domain)s: not sent.",
                                         channel=backend.backend_type, domain=domain)
                    self._settle(claimed, "cancelled", message)
                    unsettled = set()
                    return "%s: %d cancelled, the channel has no exporter for it" % (domain, len(claimed))
                exporter = exporters[0]
                sent = failed = 0
                for batch, need in self._batches_within_burst(exporter, requests, backend.rate_limit_burst):
                    published = self._published_before(backend, domain, batch)
                    try:
                        # the batch's tokens all at once before its first request, or the worker is given back with
                        # nothing of it sent (the batches before are settled, the rest is released below)
                        with backend._reserved_outbound(need):
                            refused = exporter.export(batch) or {}
                    except ChannelValidationError as exc:
                        self._settle(batch.ids, "failed", str(exc))
                        unsettled -= set(batch.ids)
                        exporter.record_failure(batch, str(exc))
                        failed += len(batch)
                        continue
                    except ChannelError as exc:
                        self._release(sorted(unsettled), str(exc))
                        unsettled = set()
                        if backend._circuit_open():
                            # this failure opened the circuit breaker: the requests wait for the probe,
                            # which sends them when the channel answers again; the job is not a failure
                            return "%s: %d sent, the rest waits, backend degraded: %s" % (domain, sent, exc)
                        # a 429 is the channel saying when to come back, not a failed attempt; jitter:
                        # workers that failed together do not retry together
                        limited = isinstance(exc, ChannelRateLimited)
                        Policy = self.env["retail.retry.policy"]
                        delay = Policy._delay(Policy._job_attempt(), exc.retry_after, rate_limited=limited, jitter=5)
                        raise RetryableJobError(str(exc), seconds=delay, ignore_retry=limited) from None
                    # an exporter may refuse single records (e.g. unknown on the channel) and send the rest
                    for request in batch.filtered(lambda r: r.id in refused):
                        self._settle([request.id], "failed", refused[request.id])
                        exporter.record_failure(request, refused[request.id])
                    done = batch.filtered(lambda r: r.id not in refused)
                    self._settle(done.ids, "done")
                    self._after_publication(backend, domain, done, published)
                    unsettled -= set(batch.ids)
                    pickings = done.filtered(lambda r: r.res_model == "stock.picking").mapped("res_id")
                    if pickings:
                        self.env["retail.workflow"]._wake_for_pickings(self.env["stock.picking"].browse(pickings))
                    sent += len(done)
                    failed += len(batch) - len(done)
        finally:
            if unsettled:
                # anything else interrupted the flush: what it did not settle is pending again
                self._release(sorted(unsettled), None)
        self.invalidate_model()
        return "%s: %d sent, %d failed in %d records" % (domain, sent, failed, len(requests))

    def _batches_within_burst(self, exporter, requests, burst):
        """Yield (batch, requests it needs at most) for the exporter's batches, split to fit the backend's burst.

        A batch is sent once all its tokens are reserved (``_send_claimed``); one needing more
        requests than the bucket ever holds is split in halves until each fits (``max_requests`` is
        asked again for each half, once the halves before it are sent). A single record needing
        more than the burst is sent alone: its reservation waits for a full bucket and borrows
        the rest from the refill (``retail.rate.bucket._reserve``).
        """
        burst = max(int(burst or 1), 1)

        def fit(batch):
            need = max(int(exporter.max_requests(batch) or 1), 1)
            if need <= burst or len(batch) <= 1:
                yield batch, need
                return
            half = (len(batch) + 1) // 2
            yield from fit(batch[:half])
            yield from fit(batch[half:])

        for batch in exporter.batches(requests):
            yield from fit(batch)

    def _published_before(self, backend, domain, batch):
        """Return the products of a catalogue batch already on the channel (bound) before it is sent."""
        if domain != "catalog":
            return None
        products = self.env["product.product"].browse(batch.filtered(lambda r: r.res_model == "product.product").mapped("res_id"))
        return backend._bound(products)

    def _after_publication(self, backend, domain, done, published):
        """Products a catalogue export just published on the channel: their stock and price follow it.

        The exporter binds them in a transaction of its own: what is bound now is read as committed.
        """
        if domain != "catalog" or published is None:
            return
        products = self.env["product.product"].browse(done.filtered(lambda r: r.res_model == "product.product").mapped("res_id"))
        candidates = (products - published).filtered("active")
        if not candidates:
            return
        with self._own_cursor() as cr:
            cr.execute("SELECT odoo_id FROM retail_product_binding WHERE backend_id = %s AND odoo_id = ANY(%s)",
                       (backend.id, candidates.ids))
            new = candidates.browse([row[0] for row in cr.fetchall()])
        if not new:
            return
        # committed at once, with their flush scheduled on that commit: the flush's own transaction is rolled
        # back should a later batch give the worker back, and would take these requests with it while the
        # products stay bound (published), their stock and price then waiting for a reconciliation
        with self._own_cursor() as cr:
            env = self.env(cr=cr)
            Request = self.with_env(env).with_context(retail_published=True)
            Request._request(backend.with_env(env), "inventory", new.with_env(env).filtered("is_storable"))
            Request._request(backend.with_env(env), "pricing", new.with_env(env))

    @contextmanager
    def _own_cursor(self):
        """Yield a cursor of its own, reading what is committed at each statement, committed at the end.

        Under test, the test's cursor: a test runs in one transaction, which others cannot see.
        """
        if odoo.modules.module.current_test:
            yield self.env.cr
            return
        with self.env.registry.cursor() as cr:
            cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            yield cr

    @api.model
    def _claim(self, backend, domain):
        """Return the ids of the pending requests of ``backend`` and ``domain``, now sending (committed)."""
        with self._own_cursor() as cr:
            cr.execute(
                """
                UPDATE retail_export_request SET state = 'sending', write_date = now() at time zone 'UTC'
                WHERE id IN (SELECT id FROM retail_export_request
                             WHERE backend_id = %s AND domain = %s AND state = 'pending'
                             ORDER BY id FOR UPDATE SKIP LOCKED)
                RETURNING id
                """,
                (backend.id, domain),
            )
            return sorted(row[0] for row in cr.fetchall())

    @api.model
    def _settle(self, ids, state, error=None):
        """Record the outcome of sending requests ``ids`` (``done`` or ``failed``), committed at once."""
        if not ids:
            return
        with self._own_cursor() as cr:
            cr.execute(
                """
                UPDATE retail_export_request
                SET state = %(state)s, attempts = attempts + 1, last_error = %(error)s, error_signature = %(signature)s,
                    sent_at = CASE WHEN %(state)s = 'done' THEN now() at time zone 'UTC' ELSE sent_at END,
                    write_date = now() at time zone 'UTC'
                WHERE id IN %(ids)s AND state = 'sending'
                """,
                {"state": state, "error": error, "ids": tuple(ids), "signature": _signature(error)},
            )
        self.browse(ids).invalidate_recordset()

    @api.model
    def _release(self, ids, error):
        """Put claimed requests back to pending (committed): into the newer pending request of the same record when
        one was made meanwhile (its send carries the latest state)."""
        if not ids:
            return
        with self._own_cursor() as cr:
            # flushes that died one after another may each have left a claim on the same record: keep the newest,
            # standing for all of them, so that at most one request per record becomes pending
            cr.execute(
                """
                WITH keep AS (
                    SELECT max(id) AS id, backend_id, domain, res_model, res_id, sum(changes) AS changes
                    FROM retail_export_request
                    WHERE id IN %(ids)s AND state = 'sending'
                    GROUP BY backend_id, domain, res_model, res_id HAVING count(*) > 1
                ), merged AS (
                    UPDATE retail_export_request r SET changes = keep.changes FROM keep WHERE r.id = keep.id
                    RETURNING r.id
                )
                DELETE FROM retail_export_request d USING keep
                WHERE d.id IN %(ids)s AND d.state = 'sending' AND d.id <> keep.id
                  AND d.backend_id = keep.backend_id AND d.domain = keep.domain
                  AND d.res_model = keep.res_model AND d.res_id = keep.res_id
                """,
                {"ids": tuple(ids)},
            )
            # a pending request of the same record may be made (committed) between the merge and the update:
            # the update then meets it on the unique index, and the merge runs again to take it in
            for attempt in range(3):
                try:
                    with cr.savepoint(flush=False):
                        cr.execute(
                            """
                            WITH twin AS (
                                UPDATE retail_export_request p SET changes = p.changes + s.changes
                                FROM retail_export_request s
                                WHERE s.id IN %(ids)s AND s.state = 'sending' AND p.state = 'pending'
                                  AND p.backend_id = s.backend_id AND p.domain = s.domain
                                  AND p.res_model = s.res_model AND p.res_id = s.res_id
                                RETURNING s.id
                            )
                            DELETE FROM retail_export_request WHERE id IN (SELECT id FROM twin)
                            """,
                            {"ids": tuple(ids)},
                        )
                        cr.execute(
                            """
                            UPDATE retail_export_request
                            SET state = 'pending', last_error = COALESCE(%(error)s, last_error),
                                error_signature = COALESCE(%(signature)s, error_signature), write_date = now() at time zone 'UTC'
                            WHERE id IN %(ids)s AND state = 'sending'
                            """,
                            {"ids": tuple(ids), "error": error, "signature": _signature(error)},
                            log_exceptions=False,
                        )
                    break
                except psycopg2.errors.UniqueViolation:
                    if attempt == 2:
                        raise
        self.browse(ids).invalidate_recordset()

    @api.model
    def _cron_sweep(self, grace_minutes=2):
        """Schedule a flush for pending exports that no live job will send (a lost wake-up)."""
        limit = fields.Datetime.now() - timedelta(minutes=grace_minutes)
        # claimed by a flush whose worker died before settling them (a live flush settles within its time limit)
        self.env.cr.execute("SELECT id FROM retail_export_request WHERE state = 'sending' AND write_date < %s",
                            (fields.Datetime.now() - timedelta(minutes=max(grace_minutes, 30)),))
        self._release([row[0] for row in self.env.cr.fetchall()], None)
        groups = self._read_group(
            [("state", "=", "pending"), ("write_date", "<", limit)], ["backend_id", "domain"], ["__count"]
        )
        scheduled = 0
        for backend, domain, _count in groups:
            key = "retail-flush-%d-%s" % (backend.id, domain)
            live = self.env["queue.job"].search_count(
                [("identity_key", "=", key), ("state", "in", ("pending", "enqueued", "started"))]
            )
            policy = backend.policy_for(domain)
            if policy and not policy._sends_on_change():
                continue  # kept for the policy's scheduled run (or off)
            if not live and backend._can_send(domain):
                self._schedule_flush(backend, domain, channel=policy and policy._job_channel())
                scheduled += 1
        return scheduled

    @api.autovacuum
    def _gc_sent(self):
        """Forget sent requests after a week; failed ones stay until handled."""
        limit = fields.Datetime.now() - timedelta(days=7)
        self.search([("state", "in", ("done", "cancelled")), ("sent_at", "<", limit)], limit=10000).unlink()


class RetailExportFlush(models.Model):
    """When the last flush of one backend and domain began and ended (the adaptive debounce's clock).

    Written in short transactions of their own (``_mark``), never by the flush's transaction,
    so that reading it never waits and writing it never conflicts with the flush.
    """

    _name = "retail.export.flush"
    _description = "Retail Connector export flush clock"
    _log_access = False

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade")
    domain = fields.Selection(DOMAINS, required=True)
    started_at = fields.Datetime(readonly=True)
    ended_at = fields.Datetime(readonly=True)
    sent = fields.Integer(readonly=True, help="Records the last flush sent.")

    _backend_domain_uniq = models.Constraint("UNIQUE(backend_id, domain)", "One flush clock per backend and domain.")

    @api.model
    def _mark(self, backend, domain, started=False, sent=None):
        """Record now as the start (``started``) or the end of a flush, committed at once."""
        column = "started_at" if started else "ended_at"
        with self.env["retail.export.request"]._own_cursor() as cr:
            cr.execute(
                """
                INSERT INTO retail_export_flush AS f (backend_id, domain, {col}, sent)
                VALUES (%(backend)s, %(domain)s, now() at time zone 'UTC', %(sent)s)
                ON CONFLICT (backend_id, domain) DO UPDATE
                SET {col} = now() at time zone 'UTC', sent = COALESCE(%(sent)s, f.sent)
                """.format(col=column),
                {"backend": backend.id, "domain": domain, "sent": sent},
            )
