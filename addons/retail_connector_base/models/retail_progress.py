# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Progress of long work (reconciliation runs, imports): done / total, rate, time left, cancel.

The work runs in one transaction that nobody sees until it commits. Its progress lives apart,
in rows written by short transactions of their own: committed at once, read by the browser,
announced on Odoo's bus to the connector's users (who refresh what they show), and read back
by the work, which stops at the next step when a person asked to cancel it. A cancelled
reconciliation rolls back what it had done (its savepoint) and ends as cancelled.
"""

import time
from contextlib import contextmanager

import odoo.modules.module

from odoo import api, fields, models
from odoo.exceptions import UserError

from .retail_access import GROUP_MANAGER, check_retail_access

BUS_TYPE = "retail_progress"
RECONCILED_DOMAINS = ("orders", "inventory", "pricing")
# a step is written at most this often (seconds); the first and the last always
MIN_INTERVAL = 0.5


class WorkCancelled(Exception):
    """A person cancelled the work: stop at this step and undo it."""


class RetailProgress(models.Model):
    _name = "retail.progress"
    _description = "Retail Connector progress of long work"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True)
    backend_id = fields.Many2one("retail.backend", ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    kind = fields.Selection([("reconciliation", "Reconciliation"), ("import", "Import")], required=True, readonly=True)
    state = fields.Selection(
        [("waiting", "Waiting"), ("running", "Running"), ("done", "Done"), ("cancelled", "Cancelled"),
         ("failed", "Failed")],
        default="running", required=True, readonly=True)
    total = fields.Integer(readonly=True, help="How many objects the work has to go through (0: not known yet).")
    done = fields.Integer(readonly=True)
    started_at = fields.Datetime(readonly=True)
    updated_at = fields.Datetime(readonly=True)
    finished_at = fields.Datetime(readonly=True)
    cancel_requested = fields.Boolean(readonly=True)
    message = fields.Char(readonly=True)
    res_model = fields.Char(readonly=True)
    res_id = fields.Many2oneReference(model_field="res_model", readonly=True)
    percent = fields.Float(compute="_compute_rate", string="Progress (%)")
    rate = fields.Float(compute="_compute_rate", string="Per second", digits=(16, 1))
    seconds_left = fields.Integer(compute="_compute_rate", string="Time left (s)")

    @api.depends("done", "total", "started_at", "updated_at")
    def _compute_rate(self):
        for progress in self:
            end = progress.finished_at or progress.updated_at
            elapsed = (end - progress.started_at).total_seconds() if end and progress.started_at else 0
            progress.rate = progress.done / elapsed if elapsed > 0 else 0.0
            progress.percent = min(100.0, 100.0 * progress.done / progress.total) if progress.total else 0.0
            left = max(progress.total - progress.done, 0)
            progress.seconds_left = int(left / progress.rate) if progress.rate and progress.state == "running" else 0

    # ------------------------------------------------------------------ written apart from the work
    @api.model
    @contextmanager
    def _own_env(self):
        """Yield an environment on a transaction of its own, committed at the end (the test's in tests)."""
        if odoo.modules.module.current_test:
            yield self.env
            return
        with self.env.registry.cursor() as cr:
            yield self.env(cr=cr)

    @api.model
    def _start(self, name, kind, backend=None, total=0, record=None, waiting=False):
        """Create the progress of a piece of work, committed at once; return its id.

        ``waiting``: the work is queued, not started (its job says when it starts, see _run).
        """
        now = fields.Datetime.now()
        with self._own_env() as env:
            progress = env[self._name].sudo().create({
                "state": "waiting" if waiting else "running",
                "name": name, "kind": kind, "backend_id": backend.id if backend else False,
                "company_id": (backend.company_id if backend else self.env.company).id, "total": total or 0,
                "started_at": now, "updated_at": now, "res_model": record._name if record else False,
                "res_id": record.id if record else False})
            progress._notify()
            return progress.id

    @api.model
    def _step(self, progress_id, done, total=None, force=False):
        """Record how far the work is; raise WorkCancelled if a person asked to stop it."""
        now = time.monotonic()
        force = force or self.env.context.get("retail_progress_every_step")
        if not force and now - _CLOCK.get(progress_id, 0) < MIN_INTERVAL:
            return
        _CLOCK[progress_id] = now
        with self._own_env() as env:
            env[self._name].flush_model()
            env.cr.execute(
                "UPDATE retail_progress SET done = %s, total = GREATEST(COALESCE(%s, total), %s), "
                "updated_at = now() at time zone 'UTC' WHERE id = %s RETURNING cancel_requested",
                (done, total, done if total is not None else 0, progress_id))
            row = env.cr.fetchone()
            progress = env[self._name].sudo().browse(progress_id)
            progress.invalidate_recordset()
            if row:
                progress._notify()
        if row and row[0]:
            raise WorkCancelled(progress_id)

    @api.model
    def _run(self, progress_id):
        """Mark queued work as started; raise WorkCancelled if it was cancelled while it waited."""
        with self._own_env() as env:
            progress = env[self._name].sudo().browse(progress_id).exists()
            if not progress:
                return
            if progress.cancel_requested:
                raise WorkCancelled(progress_id)
            now = fields.Datetime.now()
            progress.write({"state": "running", "started_at": now, "updated_at": now})
            progress._notify()

    @api.model
    def _end(self, progress_id, state, message=None, done=None):
        _CLOCK.pop(progress_id, None)
        with self._own_env() as env:
            progress = env[self._name].sudo().browse(progress_id).exists()
            if progress:
                vals = {"state": state, "finished_at": fields.Datetime.now(), "updated_at": fields.Datetime.now(),
                        "message": message}
                if done is not None:
                    vals["done"] = done
                    if state == "done":
                        vals["total"] = max(done, progress.total)
                progress.write(vals)
                progress._notify()

    def _notify(self):
        """Tell the connector's users (their group's bus channel) how far the work is."""
        group = self.env.ref("retail_connector_base.group_retail_user")
        for progress in self:
            self.env["bus.bus"]._sendone(group, BUS_TYPE, {
                "id": progress.id, "state": progress.state, "done": progress.done, "total": progress.total,
                "res_model": progress.res_model, "res_id": progress.res_id})

    # ------------------------------------------------------------------ actions
    def action_cancel(self):
        """Ask the running work to stop at its next step and undo what it did."""
        check_retail_access(self, "write", GROUP_MANAGER)
        if self.filtered(lambda p: p.state not in ("waiting", "running")):
            raise UserError(self.env._("Only waiting or running work can be cancelled."))
        self.sudo().write({"cancel_requested": True})
        self._notify()
        return True


_CLOCK = {}


class RetailReconciliationRun(models.Model):
    _inherit = "retail.reconciliation.run"

    state = fields.Selection(selection_add=[("cancelled", "Cancelled")], ondelete={"cancelled": "set default"})
    # the progress row is committed by a transaction of its own while the run's is still open: a
    # foreign key from the run would not see it, so the run keeps its id and reads it back
    progress_ref = fields.Integer(readonly=True, copy=False)
    progress_id = fields.Many2one("retail.progress", compute="_compute_progress_id")

    @api.depends("progress_ref")
    def _compute_progress_id(self):
        for run in self:
            run.progress_id = self.env["retail.progress"].browse(run.progress_ref).exists() if run.progress_ref else False

    def _progress(self, done, total=None):
        """Report how many objects the run compared so far (reconcilers call it as they go)."""
        progress_id = self.env.context.get("retail_progress_id")
        if progress_id:
            self.env["retail.progress"]._step(progress_id, done, total)


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    def _reconcile(self, domain):
        """Run the domain's reconciliation with its progress shown and cancellable."""
        self.ensure_one()
        with self.work_on("retail.reconciliation.run") as work:
            if not work.many_components(usage="%s.reconciler" % domain):
                return None
        if self.env.context.get("retail_progress_id"):
            return super()._reconcile(domain)
        Progress = self.env["retail.progress"]
        progress_id = self.env.context.get("retail_progress_queued")
        if progress_id:
            try:
                Progress._run(progress_id)
            except WorkCancelled:
                Progress._end(progress_id, "cancelled", self.env._("Cancelled before it started."))
                return self.env["retail.reconciliation.run"]
        else:
            progress_id = Progress._start(self._reconciliation_title(domain), "reconciliation", backend=self)
        try:
            run = super(RetailBackend, self.with_context(retail_progress_id=progress_id))._reconcile(domain)
        except WorkCancelled:
            # the run's savepoint undid its differences and repairs; the run itself says it was cancelled
            run = self.env["retail.reconciliation.run"].search(
                [("backend_id", "=", self.id), ("domain", "=", domain), ("state", "=", "running")], order="id desc",
                limit=1)
            run.write({"state": "cancelled", "finished_at": fields.Datetime.now(), "progress_ref": progress_id,
                       "message": self.env._("Cancelled: what it had repaired was undone.")})
            Progress._end(progress_id, "cancelled", self.env._("Cancelled: nothing it did was kept."))
            return run.with_env(self.env)
        except Exception as exc:
            Progress._end(progress_id, "failed", str(exc)[:200])
            raise
        if run:
            run = run.with_env(self.env)
            run.progress_ref = progress_id
            Progress._end(progress_id, "failed" if run.state == "failed" else "done", run.message and run.message[:200],
                          done=run.checked)
        return run

    def _reconciliation_title(self, domain):
        return self.env._("Reconciliation of %(domain)s on %(backend)s", domain=domain, backend=self.name)

    def _has_reconciler(self, domain):
        with self.work_on("retail.reconciliation.run") as work:
            return bool(work.many_components(usage="%s.reconciler" % domain))

    def action_reconcile_in_background(self):
        """Queue the reconciliation of every domain that has a reconciler and show its progress, live."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        Progress = self.env["retail.progress"]
        queued = 0
        for domain in RECONCILED_DOMAINS:
            if not self._has_reconciler(domain):
                continue
            progress_id = Progress._start(self._reconciliation_title(domain), "reconciliation", backend=self,
                                          waiting=True)
            self._as_connector(self).with_delay(
                channel="root.retail.reconciliation",
                description="%s: reconcile %s" % (self.name, domain),
            )._reconcile_queued(domain, progress_id)
            queued += 1
        if not queued:
            raise UserError(self.env._("%(backend)s has nothing to reconcile: its channel has no reconciler.",
                                       backend=self.name))
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_progress")
        action["domain"] = [("backend_id", "=", self.id)]
        action["name"] = self.env._("Long work of %(backend)s", backend=self.name)
        return action

    def _reconcile_queued(self, domain, progress_id):
        """Reconcile one domain in a job, its progress created when it was queued (queue job)."""
        self.ensure_one()
        run = self.with_context(retail_progress_queued=progress_id)._reconcile(domain)
        if not run:
            return "nothing reconciled"
        return "%s: %d checked, %d differences, %d repaired" % (run.state, run.checked, run.difference_count,
                                                                run.repaired)
