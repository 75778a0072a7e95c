# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
import logging
import os
from datetime import timedelta

import psycopg2

from odoo import api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from ..lib import workflow as registry
from ..lib.http import ChannelError
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_event import PERMANENT_ERRORS, _error_text, new_correlation_id

_logger = logging.getLogger(__name__)

WORKFLOW_STATES = [
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("paused", "Paused"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
STEP_STATES = [
    ("pending", "Pending"),
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
]
ACTIVE_STATES = ("running", "waiting")
SETTLED_STEP_STATES = ("done", "skipped")


class RetailWorkflow(models.Model):
    """A business process over one record (a return, a sale order), persisted step by step.

    The steps of a kind are declared in Python (``lib/workflow.py``). A queue job advances the
    workflow: it runs the first step not done yet, then the next, until a step waits for an
    outside event (the event wakes the workflow), fails (the workflow pauses with an activity
    for a person; after the fix, Resume runs again from that step), or the last step is done.
    A step done is never run again: its result is kept on the step.
    """

    _name = "retail.workflow"
    _description = "Retail Workflow"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    kind = fields.Selection(selection="_selection_kind", required=True, index=True, readonly=True)
    res_model = fields.Char(string="Subject model", required=True, index=True, readonly=True)
    res_id = fields.Many2oneReference(string="Subject", model_field="res_model", required=True, index=True, readonly=True)
    backend_id = fields.Many2one("retail.backend", ondelete="set null", index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 default=lambda self: self.env.company)
    state = fields.Selection(WORKFLOW_STATES, required=True, default="running", index=True, tracking=True, readonly=True)
    step_ids = fields.One2many("retail.workflow.step", "workflow_id", string="Steps", readonly=True)
    current_step_id = fields.Many2one("retail.workflow.step", string="Current step", readonly=True, ondelete="set null")
    correlation_id = fields.Char(index=True, readonly=True, copy=False, default=lambda self: new_correlation_id())
    responsible_user_id = fields.Many2one("res.users", string="Responsible", readonly=True)
    activity_id = fields.Many2one("mail.activity", string="Open activity", readonly=True, ondelete="set null")
    last_error = fields.Text(readonly=True)
    started_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    finished_at = fields.Datetime(readonly=True)
    progress = fields.Float(compute="_compute_progress", help="Share of the steps done or skipped, in percent.")
    summary = fields.Char(compute="_compute_progress", help="Done steps out of all, and the current one.")

    _subject_idx = models.Index("(res_model, res_id, kind)")

    @api.model
    def _selection_kind(self):
        return registry.kinds()

    @api.depends("kind", "res_model", "res_id")
    def _compute_name(self):
        labels = dict(registry.kinds())
        for workflow in self:
            subject = workflow._subject()
            workflow.name = "%s: %s" % (labels.get(workflow.kind, workflow.kind or "?"),
                                        subject.display_name if subject else "%s,%s" % (workflow.res_model, workflow.res_id))

    @api.depends("step_ids.state", "current_step_id")
    def _compute_progress(self):
        for workflow in self:
            steps = workflow.step_ids
            settled = len(steps.filtered(lambda s: s.state in SETTLED_STEP_STATES))
            workflow.progress = 100.0 * settled / len(steps) if steps else 0.0
            current = workflow.current_step_id if workflow.state not in ("done", "cancelled") else False
            workflow.summary = "%s/%s%s" % (settled, len(steps), " - %s" % current.name if current else "")

    # ------------------------------------------------------------------ creation
    @api.model
    def _start(self, kind_code, subject, backend=None, correlation_id=None, run=True):
        """Return the workflow of ``kind_code`` on ``subject``, created with its steps if new.

        A subject has at most one live workflow of a kind: asking again returns it.
        ``run`` queues its first advance.
        """
        kind = registry.kind(kind_code)
        subject.ensure_one()
        if subject._name != kind.model:
            raise ValueError("a %s workflow runs on %s, not %s" % (kind_code, kind.model, subject._name))
        existing = self.sudo().search(
            [("kind", "=", kind_code), ("res_model", "=", subject._name), ("res_id", "=", subject.id),
             ("state", "!=", "cancelled")], limit=1)
        if existing:
            return existing
        company = subject.company_id if "company_id" in subject._fields and subject.company_id else (
            backend.company_id if backend else self.env.company)
        workflow = self.sudo().create({
            "kind": kind_code,
            "res_model": subject._name,
            "res_id": subject.id,
            "backend_id": backend.id if backend else False,
            "company_id": company.id,
            "correlation_id": correlation_id or self.env.context.get("retail_correlation_id") or new_correlation_id(),
            "responsible_user_id": self._responsible_for(subject, backend).id,
            "step_ids": [
                fields.Command.create({"sequence": (index + 1) * 10, "code": step.code, "name": step.label,
                                       "can_wait": step.waits})
                for index, step in enumerate(kind.steps)
            ],
        })
        if run:
            workflow._enqueue()
        return workflow

    @api.model
    def _responsible_for(self, subject, backend):
        user = backend.responsible_user_id if backend else self.env["res.users"]
        if not user and "user_id" in subject._fields:
            user = subject.user_id
        return user or self.env.ref("base.user_admin", raise_if_not_found=False) or self.env.user

    def _subject(self):
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env or not self.res_id:
            return None
        subject = self.env[self.res_model].browse(self.res_id).exists()
        return subject or None

    # ------------------------------------------------------------------ running
    def _enqueue(self, eta=None):
        """Queue an advance per workflow; one waiting job per workflow at most (identity key)."""
        if eta and (self.env.context.get("queue_job__no_delay") or os.environ.get("QUEUE_JOB__NO_DELAY")):
            # jobs run at once in this mode: a retry now would not wait its back-off; the step
            # keeps its error and next try, and the next wake runs it
            return
        for workflow in self:
            # the steps are the connector's work, whoever started or resumed the workflow
            workflow.with_env(workflow.sudo().company_id.with_env(self.env)._retail_connector_env()).with_delay(
                channel="root.retail.returns" if workflow.kind == "return" else "root.retail.orders",
                eta=eta,
                identity_key="retail-workflow-%s" % workflow.id,
                description="Workflow %s" % workflow.name,
            )._advance()

    def _advance(self):
        """Run the workflow's steps from the first one not done; return a one-line summary."""
        self.ensure_one()
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", ("retail-workflow-%s" % self.id,))
        if not self.env.cr.fetchone()[0]:
            raise RetryableJobError("Workflow %s is being advanced by another job" % self.id, seconds=2, ignore_retry=True)
        # the steps are the connector's own actions (pickings, credit notes, payments, channel
        # calls), whoever asked for them; the job runs as the connector user (_enqueue), which
        # the records keep as their author
        self = self.sudo().with_company(self.company_id)  # noqa: PLW0642
        self.invalidate_recordset()
        if self.state not in ACTIVE_STATES:
            return "nothing to do: %s" % self.state
        subject = self._subject()
        if subject is None:
            self._cancel(self.env._("Its %(model)s record no longer exists.", model=self.res_model))
            return "cancelled: subject gone"
        now = fields.Datetime.now()
        for step in self.step_ids.sorted(lambda s: (s.sequence, s.id)):
            if step.state in SETTLED_STEP_STATES:
                continue
            if step.state == "failed":
                return self._pause(step)
            if step.next_attempt_at and step.next_attempt_at > now:
                # woken before its back-off is over: come back when it is
                self._enqueue(eta=step.next_attempt_at)
                return "%s: retry at %s" % (step.code, step.next_attempt_at)
            outcome = self._run_step(step, subject)
            if outcome != "done":
                return "%s: %s" % (step.code, outcome)
        self._finish()
        return "done"

    def _run_step(self, step, subject):
        """Run one step; return done, waiting, retry or paused."""
        definition = registry.kind(self.kind).step(step.code)
        step.write({"state": "running", "attempts": step.attempts + 1,
                    "started_at": step.started_at or fields.Datetime.now(), "next_attempt_at": False})
        self.write({"current_step_id": step.id, "state": "running"})
        context = dict(retail_workflow_id=self.id, retail_correlation_id=self.correlation_id)
        try:
            with self.env.cr.savepoint():
                target = subject.with_context(**context)
                if callable(definition.method):
                    outcome = definition.method(target, step)
                else:
                    outcome = getattr(target, definition.method)(step)
        except (RetryableJobError, psycopg2.OperationalError) as exc:
            if isinstance(exc, RetryableJobError) and exc.ignore_retry:
                return self._step_contended(step, exc)
            return self._step_transient(step, exc)
        except ChannelError as exc:
            if exc.retryable:
                return self._step_transient(step, exc)
            return self._step_failed(step, exc)
        except PERMANENT_ERRORS as exc:
            return self._step_failed(step, exc)
        except Exception as exc:  # noqa: BLE001 - unknown errors may be transient: retried, then paused
            _logger.exception("Workflow %s step %s failed (correlation %s)", self.id, step.code, self.correlation_id)
            return self._step_transient(step, exc)
        if outcome is None:
            outcome = registry.Done()
        if not isinstance(outcome, registry.OUTCOMES):
            return self._step_failed(step, TypeError(
                "Step %s answered %r; a step answers Done, Wait or Skip." % (step.code, outcome)))
        if isinstance(outcome, registry.Wait):
            if not definition.waits:
                return self._step_failed(step, TypeError(
                    "Step %s asked to wait (%s) but is not declared as waiting." % (step.code, outcome.reason)))
            step.write({"state": "waiting", "message": outcome.reason or False, "retries": 0,
                        "error_message": False, "error_class": False})
            self.write({"state": "waiting"})
            return "waiting"
        values = {"finished_at": fields.Datetime.now(), "retries": 0, "error_message": False, "error_class": False}
        if isinstance(outcome, registry.Skip):
            values.update(state="skipped", message=outcome.reason or False)
        else:
            values.update(state="done", message=outcome.message or False,
                          result=json.dumps(outcome.result or {}, sort_keys=True, default=str))
        step.write(values)
        return "done"

    def _step_contended(self, step, exc):
        """Put back a step that met contention (a lock another job holds, a rate limit), to run again soon.

        Contention is nobody's failure: it uses up neither the step's retries nor its attempts, and
        the steps done before it stay done (raising instead would roll them back and redo them,
        channel calls included).
        """
        delay = max(int(exc.seconds or 0), 1)
        step.write({"state": "pending", "attempts": step.attempts - 1,
                    "next_attempt_at": fields.Datetime.now() + timedelta(seconds=delay)})
        _logger.info("Workflow %s step %s: %s, again in %ss", self.id, step.code, exc, delay)
        self._enqueue(eta=delay)
        return "waiting for another job, again in %ss" % delay

    def _step_transient(self, step, exc):
        retries = step.retries + 1
        max_retries = int(self.env["ir.config_parameter"].sudo().get_param("retail_connector.workflow_retry_max", 5))
        if retries >= max_retries:
            return self._step_failed(step, exc, retries=retries)
        delay = self.env["retail.retry.policy"]._delay(retries, getattr(exc, "retry_after", None))
        step.write({
            "state": "pending", "retries": retries, "error_message": _error_text(exc), "error_class": type(exc).__name__,
            "next_attempt_at": fields.Datetime.now() + timedelta(seconds=delay),
        })
        self.write({"state": "running", "last_error": _error_text(exc)})
        _logger.info("Workflow %s step %s: transient error, retry in %ss: %s", self.id, step.code, delay, exc)
        self._enqueue(eta=delay)
        return "retry in %ss" % delay

    def _step_failed(self, step, exc, retries=None):
        message = _error_text(exc)
        step.write({"state": "failed", "error_message": message, "error_class": type(exc).__name__,
                    "retries": retries if retries is not None else step.retries, "next_attempt_at": False})
        _logger.warning("Workflow %s step %s failed (correlation %s): %s", self.id, step.code, self.correlation_id, message)
        return self._pause(step)

    def _pause(self, step):
        """Pause on a failed step; a person hears of it through an activity on the subject."""
        message = self.env._("Step %(step)s failed: %(error)s", step=step.name, error=step.error_message or "?")
        self.write({"state": "paused", "current_step_id": step.id, "last_error": message})
        if not self.activity_id or not self.activity_id.active:
            target = self._subject() or self
            if not hasattr(target, "activity_schedule"):
                target = self
            activity = target.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("%(workflow)s paused at %(step)s", workflow=self.name, step=step.name),
                note=self.env._("%(message)s Fix the cause, then resume the workflow (or mark this activity done).",
                                message=message),
                user_id=(self.responsible_user_id or self.env.user).id,
            )
            self.activity_id = activity[:1]
        self.message_post(body=message)
        return "paused"

    def _finish(self):
        self.write({"state": "done", "finished_at": fields.Datetime.now(), "current_step_id": False, "last_error": False})
        subject = self._subject()
        if subject is not None and hasattr(subject, "_retail_workflow_done"):
            subject._retail_workflow_done(self)

    def _cancel(self, reason):
        self.write({"state": "cancelled", "finished_at": fields.Datetime.now()})
        self._close_activity(reason)
        for workflow in self:
            workflow.message_post(body=reason)

    def _close_activity(self, feedback):
        for workflow in self:
            activity = workflow.activity_id
            if activity and activity.active:
                activity.sudo().with_context(retail_workflow_closing=True).action_feedback(feedback=feedback)

    # ------------------------------------------------------------------ actions
    def _check_operator(self):
        """Return the workflows in sudo once the user may operate them (write access)."""
        check_retail_access(self, "write")
        return self.sudo()

    def action_resume(self):
        """Run a paused workflow again from its failed step; the steps done stay done."""
        for workflow in self._check_operator().filtered(lambda w: w.state == "paused"):
            failed = workflow.step_ids.filtered(lambda s: s.state == "failed")
            failed.write({"state": "pending", "retries": 0, "next_attempt_at": False})
            workflow.write({"state": "running", "last_error": False})
            workflow._close_activity(self.env._("Resumed by %(user)s", user=self.env.user.name))
            workflow.message_post(body=self.env._("Resumed from step %(step)s by %(user)s.",
                                                   step=", ".join(failed.mapped("name")) or "-", user=self.env.user.name))
            workflow._enqueue()
        return True

    def action_wake(self):
        """Look again at the waiting steps (they also wake on the events that complete them)."""
        self._check_operator().filtered(lambda w: w.state in ACTIVE_STATES)._enqueue()
        return True

    def action_cancel(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self._check_operator().filtered(lambda w: w.state not in ("done", "cancelled"))._cancel(
            self.env._("Cancelled by %(user)s", user=self.env.user.name))
        return True

    def action_open_subject(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id, "view_mode": "form"}

    def _related_action_workflow(self):
        """Open the workflow a queue job advances (queue_job related action)."""
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form"}

    # ------------------------------------------------------------------ waking
    @api.model
    def _wake_for(self, records):
        """Queue the waiting workflows of ``records`` (their subjects); return them."""
        if not records:
            return self.browse()
        waiting = self.sudo().search([("res_model", "=", records._name), ("res_id", "in", records.ids),
                                      ("state", "=", "waiting")])
        waiting._enqueue()
        return waiting

    @api.model
    def _cron_wake_waiting(self, limit=500):
        """Look again at workflows waiting for long: a safety net for an event that was not heard."""
        limit_date = fields.Datetime.now() - timedelta(minutes=30)
        waiting = self.search([("state", "=", "waiting"), ("write_date", "<", limit_date)], limit=limit,
                              order="write_date asc")
        # each advance writes the workflow: one still waiting is looked at again in 30 minutes
        waiting._enqueue()
        return len(waiting)

    def _result(self, code):
        """Return the stored result of step ``code`` (an empty dict when not done)."""
        self.ensure_one()
        step = self.step_ids.filtered(lambda s: s.code == code)[:1]
        return step._result_data() if step else {}


class RetailWorkflowStep(models.Model):
    _name = "retail.workflow.step"
    _description = "Retail Workflow Step"
    _order = "workflow_id, sequence, id"

    workflow_id = fields.Many2one("retail.workflow", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="workflow_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    code = fields.Char(required=True)
    name = fields.Char(required=True)
    state = fields.Selection(STEP_STATES, required=True, default="pending")
    can_wait = fields.Boolean(help="The step may wait for an outside event (a receipt, a payment).")
    attempts = fields.Integer(help="How many times the step was run.")
    retries = fields.Integer(help="Transient failures in a row; the step fails after the maximum.")
    started_at = fields.Datetime(string="Started")
    finished_at = fields.Datetime(string="Finished")
    next_attempt_at = fields.Datetime(string="Next try")
    message = fields.Char(help="What the step did, or what it waits for.")
    error_message = fields.Text(string="Error")
    error_class = fields.Char(string="Error class")
    result = fields.Text(help="What the step produced (JSON), kept so that it is never redone.")

    def _result_data(self):
        self.ensure_one()
        try:
            return json.loads(self.result or "{}")
        except ValueError:
            return {}


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking a paused workflow's activity done resumes the workflow."""
        paused = self.env["retail.workflow"]
        if not self.env.context.get("retail_workflow_closing") and self.ids:
            paused = self.env["retail.workflow"].sudo().search([("activity_id", "in", self.ids), ("state", "=", "paused")])
        result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        paused.with_context(retail_workflow_closing=True).action_resume()
        return result


class RetailWorkflowSubject(models.AbstractModel):
    """A record that workflows run on: its workflows and their steps."""

    _name = "retail.workflow.subject"
    _description = "Retail Workflow Subject"

    retail_workflow_ids = fields.One2many(
        "retail.workflow", "res_id", string="Workflows", domain=lambda self: [("res_model", "=", self._name)],
        groups="retail_connector_base.group_retail_user",
    )

    def _retail_workflow(self, kind):
        """Return the live workflow of ``kind`` on this record (empty when none)."""
        self.ensure_one()
        return self.env["retail.workflow"].sudo().search(
            [("kind", "=", kind), ("res_model", "=", self._name), ("res_id", "=", self.id),
             ("state", "!=", "cancelled")], limit=1)
