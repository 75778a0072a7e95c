# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
from datetime import timedelta

from odoo import fields, models

from ..lib.http import ChannelError
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

# minutes after which a paused run's continuation is taken as lost: the next run of its domain continues it
OVERDUE_MINUTES = 15

DIFFERENCE_KINDS = [
    ("missing_in_odoo", "Missing in Odoo"),
    ("outdated_in_odoo", "Outdated in Odoo"),
    ("missing_on_channel", "Missing on the channel"),
    ("quantity_drift", "Quantity drift"),
    ("price_drift", "Price drift"),
    ("webhook_disabled", "Webhook missing or disabled"),
    ("unmatched_payout", "Unmatched payout movement"),
]


class RetailReconciliationRun(models.Model):
    """One comparison of a channel's view with Odoo's for one domain, and what it repaired.

    A run that repairs anything means a webhook or an export was lost on the way.
    """

    _name = "retail.reconciliation.run"
    _description = "Retail Connector reconciliation run"
    _order = "id desc"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    domain = fields.Selection(DOMAINS, required=True)
    started_at = fields.Datetime(default=fields.Datetime.now, required=True)
    finished_at = fields.Datetime()
    state = fields.Selection([("running", "Running"), ("done", "Done"), ("failed", "Failed")], default="running", required=True)
    checked = fields.Integer(help="Objects compared.")
    difference_count = fields.Integer(string="Differences")
    repaired = fields.Integer()
    failed = fields.Integer()
    message = fields.Text()
    line_ids = fields.One2many("retail.reconciliation.line", "run_id", string="Differences found")
    # a read that stopped at a page boundary for the rate limit: what it had read, and where it goes on
    paused_reads = fields.Json(readonly=True, copy=False)
    resume_at = fields.Datetime(
        string="Continues at", readonly=True, copy=False,
        help="The run's read of the channel stopped at a page for the rate limit: it continues then, from that page.")

    def _add(self, kind, key, odoo_value=None, channel_value=None, action="reported", message=None, res_model=None, res_id=None):
        """Record one difference and what was done about it."""
        self.ensure_one()
        self.env["retail.reconciliation.line"].create(
            {
                "run_id": self.id,
                "kind": kind,
                "key": key,
                "odoo_value": "" if odoo_value is None else str(odoo_value),
                "channel_value": "" if channel_value is None else str(channel_value),
                "action": action,
                "message": message,
                "res_model": res_model,
                "res_id": res_id,
            }
        )

    # ------------------------------------------------------------------ paused reads
    def _pause_read(self, name, wait, reason, state):
        """Keep a read (component ``name``) that stopped at a page boundary, and continue it in ``wait`` seconds.

        ``state`` is what the read needs to continue (its counts, checkpoint bounds and the channel's page
        cursor). One continuation job continues every read of the run that stopped.
        """
        self.ensure_one()
        reads = dict(self.paused_reads or {}, **{name: state})
        resume_at = fields.Datetime.now() + timedelta(seconds=wait)
        self.write({
            "paused_reads": reads,
            "resume_at": max(resume_at, self.resume_at) if self.resume_at else resume_at,
            "message": self.env._("Paused by the rate limit (%(reason)s): continues from the page it stopped at.",
                                  reason=reason),
        })
        backend = self.backend_id
        backend._as_connector(self).with_delay(
            eta=wait,
            channel="root.retail.reconciliation",
            identity_key="retail-reconcile-continue-%d" % self.id,
            description="%s: %s reconciliation, continued" % (backend.name, self.domain),
        )._continue_reads()

    def _paused_of(self, backend, domain):
        """Return the run of ``backend``'s ``domain`` waiting to continue a read the rate limit stopped (empty if
        none): another run of the domain is not started meanwhile. One whose continuation is long overdue (its
        job lost) is continued here."""
        paused = self.search([("backend_id", "=", backend.id), ("domain", "=", domain), ("state", "=", "running"),
                              ("resume_at", "!=", False)], limit=1)
        if paused and paused.resume_at < fields.Datetime.now() - timedelta(minutes=OVERDUE_MINUTES):
            paused._continue_reads()
        return paused

    def _take_paused_read(self, name):
        """Return (and forget) what the read of component ``name`` kept when it stopped; None if it did not."""
        self.ensure_one()
        reads = dict(self.paused_reads or {})
        state = reads.pop(name, None)
        if state is not None:
            self.paused_reads = reads or False
        return state

    def _continue_reads(self):
        """Continue the reads of this run that stopped for the rate limit (job); finish the run when none is left."""
        self.ensure_one()
        if self.state != "running" or not self.paused_reads:
            return "Nothing to continue"
        backend = self.backend_id
        names = sorted(self.paused_reads)
        try:
            with self.env.cr.savepoint(), backend.with_context(retail_paced_read=True).work_on(self._name) as work:
                for name in names:
                    state = (self.paused_reads or {}).get(name) or {}
                    before = state.get("checked", 0)
                    total = work.component_by_name(name, model_name=state.get("model")).reconcile(self) or 0
                    if self.state == "running":  # a read that finishes its run itself (payouts) counted already
                        self.checked += total - before
        except ChannelError as exc:
            self.write({"state": "failed", "finished_at": fields.Datetime.now(), "message": str(exc),
                        "paused_reads": False, "resume_at": False})
            return "Failed: %s" % exc
        if self.paused_reads:
            return "Paused again: continues at %s" % self.resume_at
        if self.state == "running":
            self._finish(self.checked)
        return "%d checked, %d differences, %d repaired, %d failed" % (
            self.checked, self.difference_count, self.repaired, self.failed)

    def _finish(self, checked, message=None):
        self.ensure_one()
        # counted in the database: a run with many differences does not load its lines
        actions = dict(self.env["retail.reconciliation.line"]._read_group(
            [("run_id", "=", self.id)], ["action"], ["__count"]))
        self.write(
            {
                "state": "done",
                "finished_at": fields.Datetime.now(),
                "checked": checked,
                "difference_count": sum(actions.values()),
                "repaired": actions.get("repaired", 0),
                "failed": actions.get("failed", 0),
                "message": message,
                "resume_at": False,
            }
        )

    def action_open_lines(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Differences"),
            "res_model": "retail.reconciliation.line",
            "view_mode": "list",
            "domain": [("run_id", "=", self.id)],
            "context": {"search_default_group_kind": 1},
        }


class RetailReconciliationLine(models.Model):
    """One difference a reconciliation run found between the channel and Odoo."""

    _name = "retail.reconciliation.line"
    _description = "Retail Connector reconciliation difference"
    _order = "id"

    run_id = fields.Many2one("retail.reconciliation.run", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="run_id.backend_id", store=True)
    domain = fields.Selection(related="run_id.domain", store=True)
    kind = fields.Selection(DIFFERENCE_KINDS, required=True)
    key = fields.Char(string="Object", help="SKU, order id...")
    odoo_value = fields.Char(string="In Odoo")
    channel_value = fields.Char(string="On the channel")
    action = fields.Selection(
        [("repaired", "Repaired"), ("reported", "Reported"), ("failed", "Repair failed")], required=True
    )
    message = fields.Char()
    res_model = fields.Char()
    res_id = fields.Many2oneReference(model_field="res_model")


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    reconciliation_run_ids = fields.One2many("retail.reconciliation.run", "backend_id")

    def _reconcile(self, domain):
        """Run the domain's reconciler for this backend; return the run (None if the channel has none)."""
        self.ensure_one()
        # the channel's pages are read and compared in one transaction: they wait a little for their
        # tokens instead of being read again from the first (see ``_throttle_outbound``)
        with self.with_context(retail_paced_read=True).work_on("retail.reconciliation.run") as work:
            reconcilers = work.many_components(usage="%s.reconciler" % domain)
            if not reconcilers:
                return None
            Run = self.env["retail.reconciliation.run"]
            paused = Run._paused_of(self, domain)
            if paused:
                return paused
            run = Run.create({"backend_id": self.id, "domain": domain})
            try:
                with self.env.cr.savepoint():
                    checked = sum(reconciler.reconcile(run) or 0 for reconciler in reconcilers)
            except ChannelError as exc:
                run.write({"state": "failed", "finished_at": fields.Datetime.now(), "message": str(exc),
                           "paused_reads": False, "resume_at": False})
                return run
            if run.paused_reads:
                run.checked = checked  # so far: the continuation adds the rest and finishes the run
                return run
            run._finish(checked)
        if run.repaired:
            _logger.warning(
                "Reconciliation of %s %s repaired %d differences: a webhook or export was lost", self.name, domain, run.repaired
            )
        return run

    def action_reconcile_now(self):
        """Reconcile every domain that has a reconciler now, and show the runs."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        for domain in ("orders", "inventory", "pricing"):
            self._reconcile(domain)
        return self.action_open_reconciliations()

    def action_open_reconciliations(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_reconciliation_run")
        action["domain"] = [("backend_id", "=", self.id)]
        return action
