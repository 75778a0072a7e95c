# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Payouts and settlements, whatever the channel: a payment provider, a marketplace or a store POS.

Channels implement two methods of ``retail.payout.importer``; the base does the rest (storing,
cut-off, checkpoint, matching, posting, report).
"""

from datetime import timedelta

import pytz

from odoo import fields
from odoo.exceptions import UserError, ValidationError

from odoo.addons.component.core import AbstractComponent, Component
from odoo.addons.component.exception import NoComponentError

from ..lib.canonical import CanonicalValidationError, Payout
from ..lib.http import ChannelRateLimited, ChannelValidationError
from ..models.retail_binding import payload_digest
from .errors import RetailMappingError



class PayoutImporter(AbstractComponent):
    """Imports a channel's payouts into ``retail.payout`` and settles them in the books.

    Contract for channels (one concrete component per backend type, ``_backend_type`` set):

    - ``_fetch_payouts(since, until)``: yield the canonical ``Payout`` objects (with their
      ``lines``) issued at or after ``since`` and before ``until`` (naive UTC datetimes;
      ``since`` is None on the first run). A payout dated after ``until`` may be returned: the
      base leaves it for a later run.
    - ``_fetch_payout(external_id)``: return the canonical ``Payout`` (with its lines) of one
      payout id, e.g. for a webhook that only names it.

    Payout lines name the order they settle by ``order_external_id``: the external id of a
    sale order binding of the backend's *Orders from* backend (``orders_backend_id``), or of
    the backend itself when that is empty. Amounts are signed as the money moves for the
    merchant: charges positive, refunds, disputes and chargebacks negative; ``fee`` is what the
    provider kept (positive), ``net = amount - fee``; the payout's amount is what reaches the bank
    (the sum of the lines' nets).

    What the base does with them:

    - ``run()`` (the finance policy's batch): fetches from the policy's checkpoint (less its
      overlap) up to the last cut-off, keeps only payouts dated up to the cut-off's day, imports
      each one and moves the checkpoint to the cut-off. Runs are idempotent: a payout is stored
      once per backend (by external id) and its statement line is created once.
    - ``import_payout(payout)``: stores or refreshes one payout, then matches it (see
      ``retail.payout.matcher``): a bank statement line in the backend's clearing journal,
      charges against invoices or payments, refunds against credit notes, fees to the fee
      account, the rest as exceptions with their reason.
    - ``process_event(event, data)``: an inbox event of aggregate type ``payout`` (the parser
      maps e.g. Stripe ``payout.paid`` to domain ``finance``, aggregate ``payout``, key = the
      payout id) imports that payout through ``_fetch_payout``.
    """

    _name = "retail.payout.importer"
    _inherit = "retail.resumable.read"
    _usage = "payout.importer"
    _apply_on = "retail.payout"
    _domain = "finance"

    # ------------------------------------------------------------------ channel contract
    def _fetch_payouts(self, since, until):
        """Yield canonical Payouts issued in [since, until) (naive UTC; since may be None)."""
        raise NotImplementedError

    def _fetch_payout(self, external_id):
        """Return the canonical Payout (with lines) of one channel payout id."""
        raise NotImplementedError

    # ------------------------------------------------------------------ batch
    def run(self, until=None):
        """Import and settle the payouts up to the cut-off; return the reconciliation run.

        Run by a job, a read of the channel's payouts the rate limit holds back (a channel whose
        page reader keeps its cursor, ``_resume``) stops at the payout it was about to read; what it
        settled stays on the run, and a later job continues from there (``reconcile``). A finance run
        still waiting to continue is not started twice.
        """
        backend = self.backend_record
        Run = self.env["retail.reconciliation.run"]
        paused = Run._paused_of(backend, self._domain)
        if paused:
            return paused
        policy = backend.policy_for(self._domain)
        until = until or self._last_cutoff(policy)
        since = policy.checkpoint - timedelta(minutes=policy.overlap_minutes or 0) if policy.checkpoint else None
        run = Run.create({"backend_id": backend.id, "domain": self._domain})
        self._page_cursor = None
        return self._import(run, since, until, 0, 0)

    def reconcile(self, run):
        """Continue a finance run that stopped for the rate limit, from the payout it stopped at; return how many
        movements it compared (the run is finished when the last payout is read)."""
        state = run._take_paused_read(self._name)
        if state is None:
            return run.checked
        self._page_cursor = state.get("cursor")
        since = fields.Datetime.to_datetime(state["since"]) if state.get("since") else None
        self._import(run, since, fields.Datetime.to_datetime(state["until"]), state["deferred"], state["known"])
        return run.checked

    def _import(self, run, since, until, deferred, known):
        """Import the payouts of [since, until) into ``run`` (those it settled already kept), then finish it."""
        backend = self.backend_record
        policy = backend.policy_for(self._domain)
        last_day = self._local_date(until)
        Payout = self.env["retail.payout"]
        payouts = run.payout_ids
        with self._reading(run) as pausable:
            try:
                for payout in self._fetch_payouts(since, until):
                    if payout.date > last_day:
                        deferred += 1  # after the cut-off: the next run takes it
                        continue
                    record = Payout.search([("backend_id", "=", backend.id), ("external_id", "=", payout.external_id)])
                    if record.state == "matched" and record.payload_digest == payload_digest(payout.to_dict()):
                        known += 1  # read again through the overlap: settled already
                        continue
                    payouts |= self._guarded(run, payout.external_id, lambda p=payout: self.import_payout(p, run=run))
            except ChannelRateLimited as exc:
                if not pausable:
                    raise
                self._pause(run, exc, {
                    "since": fields.Datetime.to_string(since) if since else None,
                    "until": fields.Datetime.to_string(until), "deferred": deferred, "known": known})
                return run
        payouts |= self._retry_unsettled(payouts, run)
        if policy and (not policy.checkpoint or until > policy.checkpoint):
            policy.checkpoint = until
        run._finish_payouts(payouts, until, deferred, known)
        return run

    def _retry_unsettled(self, done, run):
        """Settle again the earlier payouts not fully matched: unpaid ones are read again from the channel."""
        backend = self.backend_record
        retried = self.env["retail.payout"]
        waiting = self.env["retail.payout"].search([
            ("backend_id", "=", backend.id), ("state", "in", ("draft", "partial", "exception")), ("id", "not in", done.ids),
        ])
        matcher = self.component(usage="payout.matcher")
        for record in waiting:
            if record.status != "paid":
                retried |= self._guarded(run, record.external_id, lambda r=record: self.import_payout(
                    self._fetch_payout(r.external_id), run=run))
            else:
                retried |= self._guarded(run, record.external_id, lambda r=record: self._settle_again(r, matcher, run))
        return retried

    def _settle_again(self, record, matcher, run):
        matcher.settle(record, retry=True)
        record.run_id = run
        return record

    def _guarded(self, run, external_id, import_one):
        """Run ``import_one`` in a savepoint; a payout that cannot be read or posted is recorded on the run."""
        try:
            with self.env.cr.savepoint():
                return import_one()
        except (UserError, ValidationError, CanonicalValidationError, RetailMappingError, ChannelValidationError) as exc:
            message = exc.args[0] if isinstance(exc, UserError) and exc.args else str(exc)
            run._add("unmatched_payout", external_id, action="failed", message=self.env._(
                "Payout not imported: %(error)s", error=message)[:250])
            self.backend_record.message_post(body=self.env._(
                "Payout %(id)s could not be imported: %(error)s", id=external_id, error=message))
            return self.env["retail.payout"]

    def _last_cutoff(self, policy, now=None):
        """Return the latest cut-off instant (naive UTC) at or before now; now without a cut-off."""
        now = now or fields.Datetime.now()
        if not policy or not policy.cutoff_hour:
            return now
        return policy._next_cutoff(now) - timedelta(days=1)

    def _local_date(self, instant):
        """Return the company-local date of a naive UTC instant."""
        tz = pytz.timezone(self.backend_record.company_id.partner_id.tz or self.env.user.tz or "UTC")
        return pytz.utc.localize(instant).astimezone(tz).date()

    # ------------------------------------------------------------------ one payout
    def import_payout(self, payout, run=None):
        """Store or refresh a canonical Payout, then settle it; return the ``retail.payout``."""
        backend = self.backend_record
        self.advisory_lock_or_retry("retail-payout-%s-%s" % (backend.id, payout.external_id), retry_seconds=2)
        record = self.env["retail.payout"]._store(backend, payout)
        matcher = self.component(usage="payout.matcher")
        matcher.settle(record)
        if run:
            record.run_id = run
        return record

    def import_external_id(self, external_id):
        """Fetch one payout by its channel id and import it; return the ``retail.payout``."""
        return self.import_payout(self._fetch_payout(external_id))

    def process_event(self, event, data):
        """Apply an inbox event about a payout; return (outcome, retail.payout)."""
        known = self.env["retail.payout"].search(
            [("backend_id", "=", self.backend_record.id), ("external_id", "=", event.aggregate_key)], limit=1
        )
        state_before = known.state
        record = self.import_external_id(event.aggregate_key)
        if not known:
            return "created", record
        return ("updated" if record.state != state_before else "unchanged"), record


class PayoutBatch(Component):
    """The finance policy's scheduled batch: the channel's payout importer, if it has one."""

    _name = "retail.payout.batch"
    _inherit = "retail.base"
    _usage = "finance.batch"
    _apply_on = "retail.backend"

    def run(self):
        try:
            importer = self.component(usage="payout.importer", model_name="retail.payout")
        except NoComponentError:
            return "payouts: none on %s channels" % self.backend_record.backend_type
        run = importer.run()
        return "payouts: %s" % run.message



class GenericPayoutImporter(Component):
    """The generic channel's payouts: canonical JSON at ``GET /api/v1/payouts`` and ``/api/v1/payouts/<id>``."""

    _name = "retail.generic.payout.importer"
    _inherit = "retail.payout.importer"
    _backend_type = "generic"
    _resume = "cursor"
    _page_limit = 100

    def _fetch_payouts(self, since, until):
        params = {"until": until.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": self._page_limit}
        if since:
            params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in self.component(usage="backend.adapter").iter_pages(
                "/api/v1/payouts", params, cursor=self._page_cursor, on_cursor=self._keep_cursor):
            for data in page.get("payouts", []):
                yield Payout.from_dict(data)

    def _fetch_payout(self, external_id):
        return Payout.from_dict(self.component(usage="backend.adapter").get_data("/api/v1/payouts/%s" % external_id))
