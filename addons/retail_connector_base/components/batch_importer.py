# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json
from datetime import timedelta

from odoo import fields

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.canonical.errors import RuleError
from ..lib.canonical.normalize import parse_timestamp
from ..lib.http import ChannelRateLimited
from ..lib.inbound import InboundError
from ..models.retail_event import new_correlation_id


class ChangesBatchImporter(AbstractComponent):
    """Reads a channel's changes since the policy's checkpoint into the event inbox.

    The polling fallback and the reconciliation of real-time flows: what it reads goes through
    the same inbox, idempotency and processing as webhooks, so there is one processing path.
    Channels implement ``_fetch_changes``.
    """

    _name = "retail.changes.batch.importer"
    _inherit = "retail.resumable.read"
    # the canonical field saying when an object changed: the checkpoint follows it
    _stamp_field = "updated_at"
    _apply_on = ["retail.backend", "retail.reconciliation.run"]
    _domain = None  # the sync policy domain this batch serves
    _topic = None  # the topic given to polled changes
    _binding_model = None  # where imported objects are bound, to tell missing from outdated
    _run = None
    _checked = 0
    _channel_total = None  # how many changed objects the channel says it holds, when its protocol tells

    def reconcile(self, run):
        """Import what the channel changed since the checkpoint, recording each repair on ``run``.

        Returns how many channel objects were compared.
        """
        self._run = run
        try:
            self.run()
        finally:
            self._run = None
        return self._checked

    def run(self):
        """Import every change since checkpoint - overlap; return a one-line summary.

        The channel's objects are read page by page and never held all at once. Within a
        reconciliation, each page is compared with the bindings in one query (external id and
        update time), and only the objects missing or outdated in Odoo are parsed into the
        inbox: a reconciliation that finds nothing wrong writes nothing but its run (and the
        checkpoint when the channel changed since).

        A reconciliation's read in a job whose channel can say where a page starts (``_resume``) does
        not wait in the job for a rate limit: it stops at the page it was about to ask for, keeps what
        it read (its events, counts and the channel's page cursor, on the run), and a later job
        continues from there (``retail.reconciliation.run._continue_reads``). The checkpoint moves when
        the last page is read.
        """
        backend = self.backend_record
        policy = backend.policy_for(self._domain)
        state = self._run._take_paused_read(self._name) if self._run is not None else None
        if state:
            started = fields.Datetime.to_datetime(state["started"])
            newest = fields.Datetime.to_datetime(state["newest"]) if state.get("newest") else None
            since = self._resume_since(state, newest)
            new, known, self._checked = state["new"], state["known"], state["checked"]
            self._channel_total = state.get("total")
            self._page_cursor = state.get("cursor")
        else:
            started = fields.Datetime.now()
            since = policy.checkpoint - timedelta(minutes=policy.overlap_minutes) if policy.checkpoint else None
            new, known, newest = 0, 0, None
            self._checked = 0
            self._channel_total = None
            self._page_cursor = None
        Event = self.env["retail.event"]
        correlation_id = new_correlation_id()
        # what is kept across pages does not grow with the differences: counts, and one event per
        # domain to wake its dispatcher with (it applies every waiting event of the domain)
        rejected, wake, paused = [], {}, None
        with self._reading(self._run) as pausable:
            try:
                with backend.work_on("retail.event") as work:
                    parser = work.component(usage="event.parser")
                    for page in self._pages(self._fetch_changes(since)):
                        stamps = [self._stamp_of(data) for data in page]
                        for stamp in stamps:
                            newest = max(newest, stamp) if newest and stamp else (stamp or newest)
                        if self._run is not None:
                            page, differing = self._differing(page, stamps)
                            self._checked += differing
                            self._run._progress(self._checked, self._known_total(page))
                        for data in page:
                            body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
                            try:
                                inbound = parser.parse(self._topic, {}, data, body)
                            except InboundError as exc:
                                rejected.append("%s" % exc)
                                continue
                            inbound.idempotency_key = "poll:%s" % hashlib.sha256(
                                ("%s|%s" % (inbound.aggregate_key, inbound.channel_timestamp)).encode()
                            ).hexdigest()
                            if self._run is None:
                                self._checked += 1
                            event_id, duplicate = Event._insert_received(backend, inbound, body.decode(), "poll", correlation_id)
                            if duplicate:
                                known += 1
                            else:
                                new += 1
                                wake.setdefault(inbound.domain or self._domain, event_id)
                                self._record_repair(inbound, event_id)
                        if self._run is not None:
                            # what this page loaded (bindings, events, lines) is written: memory stays that of one page
                            self.env.invalidate_all()
            except ChannelRateLimited as exc:
                if not pausable:
                    raise
                paused = exc
        Event.browse(sorted(wake.values()))._enqueue()
        for reason in rejected:
            backend.message_post(body=self.env._("A polled change was refused: %(reason)s", reason=reason))
        if paused is not None:
            wait = self._pause(self._run, paused, {
                "started": fields.Datetime.to_string(started),
                "newest": fields.Datetime.to_string(newest) if newest else None,
                "since": fields.Datetime.to_string(since) if since else None,
                "new": new, "known": known, "checked": self._checked, "total": self._channel_total,
            })
            return "%s: %d new, %d already known so far, %d refused; paused for %d s by the rate limit" % (
                self._domain, new, known, len(rejected), wait)
        # never move the checkpoint past what was read, nor past when the read started
        checkpoint = min(newest, started) if newest else (policy.checkpoint or started)
        if policy.checkpoint != checkpoint:
            policy.checkpoint = checkpoint
        return "%s: %d new, %d already known, %d refused (checkpoint %s)" % (
            self._domain, new, known, len(rejected), policy.checkpoint
        )

    def _resume_since(self, state, newest):
        """Return the ``since`` a paused read continues with: by stamp, the newest change read."""
        if self._resume == "stamp" and newest:
            return newest
        return fields.Datetime.to_datetime(state["since"]) if state.get("since") else None

    _page_size = 500

    def _pages(self, objects):
        """Yield lists of at most ``_page_size`` of ``objects`` (an iterator), reading no further ahead."""
        page = []
        try:
            for data in objects:
                page.append(data)
                if len(page) >= self._page_size:
                    yield page
                    page = []
        except ChannelRateLimited:
            # the read stops: what it read before the page it could not ask for is imported first
            if page:
                yield page
            raise
        if page:
            yield page

    def _found_total(self, count):
        """Record how many changed objects the channel holds, as its protocol counts them (a total header)."""
        try:
            self._channel_total = max(int(count), 0)
        except (TypeError, ValueError):
            pass

    def _known_total(self, page):
        """Return how many objects the run compares as far as known while it runs: the channel's count when
        its protocol gives one, else those read so far and one more page while pages come full."""
        if self._channel_total is not None:
            return max(self._channel_total, self._checked)  # changes made during the walk add to it
        return self._checked + (self._page_size if len(page) >= self._page_size else 0)

    def _key_of(self, data):
        """Return the channel object's external id, as its binding holds it (canonical data)."""
        value = data.get("external_id") if isinstance(data, dict) else None
        return str(value) if value not in (None, "") else None

    def _stamp_of(self, data):
        """Return the channel object's update time (naive UTC), or None when it has none or it is unreadable.

        Read from ``_stamp_field`` of the canonical data (``updated_at`` unless a channel's objects say
        when they changed in another field)."""
        value = data.get(self._stamp_field) if isinstance(data, dict) else None
        if not value:
            return None
        try:
            return parse_timestamp(value).replace(tzinfo=None)
        except (ValueError, TypeError, RuleError):
            return None

    def _differing(self, page, stamps):
        """Return (objects of ``page`` missing or outdated in Odoo, how many were compared): one query.

        An object without a readable id or update time is kept: the parser decides about it.
        """
        keys = [self._key_of(data) for data in page]
        comparable = [(k, t) for k, t in zip(keys, stamps) if k and t]
        current = set()
        if comparable:
            table = self.env[self._binding_model]._table
            self.env.cr.execute(
                """
                SELECT v.ext FROM unnest(%s::varchar[], %s::timestamp[]) AS v(ext, stamp)
                JOIN {table} b ON b.backend_id = %s AND b.external_id = v.ext
                WHERE b.external_updated_at >= v.stamp
                """.format(table=table),
                ([k for k, _t in comparable], [t for _k, t in comparable], self.backend_record.id),
            )
            current = {row[0] for row in self.env.cr.fetchall()}
        return [data for data, key in zip(page, keys) if key not in current], len(page)

    def _record_repair(self, inbound, event_id):
        run = getattr(self, "_run", None)
        if not run:
            return
        binder = self.binder_for(self._binding_model)
        binding = binder.to_internal(inbound.aggregate_key)
        if binding and binding.external_updated_at and inbound.channel_timestamp and (
            binding.external_updated_at >= inbound.channel_timestamp.replace(tzinfo=None)
        ):
            return  # the same version read again through the overlap
        run._add(
            "outdated_in_odoo" if binding else "missing_in_odoo",
            inbound.aggregate_key,
            odoo_value=binding.external_updated_at if binding else None,
            channel_value=inbound.channel_timestamp,
            action="repaired",
            message=self.env._("imported through the inbox as event %(event)s", event=event_id),
            res_model="retail.event",
            res_id=event_id,
        )

    def _fetch_changes(self, since):
        """Yield the channel's changed objects (JSON data) updated at or after ``since``."""
        raise NotImplementedError


class GenericOrdersBatchImporter(Component):
    """Polls ``GET /api/v1/orders?updated_since=`` of a generic channel, page by page.

    It is the orders reconciliation of the generic channel: what webhooks missed is imported.
    """

    _name = "retail.generic.orders.batch.importer"
    _inherit = "retail.changes.batch.importer"
    _usage = "orders.reconciler"
    _binding_model = "retail.sale.order.binding"
    _backend_type = "generic"
    _domain = "orders"
    _topic = "orders/updated"
    _resume = "cursor"

    def _fetch_changes(self, since):
        params = {"limit": 100}
        if since:
            params["updated_since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")

        def count(resp):
            # the first page counts every order changed since: the run's total
            self._found_total(next((v for k, v in resp.headers.items() if k.lower() == "x-total-count"), None))

        for page in self.component(usage="backend.adapter").iter_pages(
                "/api/v1/orders", params, on_first=count, cursor=self._page_cursor, on_cursor=self._keep_cursor):
            yield from page.get("orders", [])
