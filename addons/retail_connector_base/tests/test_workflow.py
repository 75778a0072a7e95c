# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from collections import Counter

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..lib import workflow as registry
from ..lib.http import ChannelTransportError, ChannelValidationError
from .jobs import perform_pending_jobs

KIND = "test_three_steps"


class Script:
    """What each step of the test kind answers, call by call; counts the calls."""

    def __init__(self):
        self.calls = Counter()
        self.answers = {}

    def step(self, code):
        def run(subject, step):
            self.calls[code] += 1
            answers = self.answers.get(code) or [registry.Done({"code": code, "partner": subject.id})]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer
        return run


@tagged("post_install", "-at_install")
class TestWorkflowEngine(TransactionCase):
    """The engine: order of steps, waiting, retries, pauses, resume without redoing, one run at a time."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.script = Script()
        registry.register_kind(KIND, "Test", "res.partner", [
            ("first", "First", cls.script.step("first")),
            ("second", "Second", cls.script.step("second"), True),
            ("third", "Third", cls.script.step("third")),
        ])
        cls.addClassCleanup(registry._KINDS.pop, KIND, None)
        cls.manager = cls.env["res.users"].create({"name": "Returns manager", "login": "wf-manager"})
        cls.backend = cls.env["retail.backend"].create({
            "name": "Workflow shop", "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "responsible_user_id": cls.manager.id,
        })
        cls.env["ir.config_parameter"].sudo().set_param("retail_connector.workflow_retry_max", 3)

    def setUp(self):
        super().setUp()
        self.script.calls.clear()
        self.script.answers.clear()
        self.partner = self.env["res.partner"].create({"name": "Subject"})

    def _start(self):
        return self.env["retail.workflow"]._start(KIND, self.partner, backend=self.backend)

    def _states(self, workflow):
        return [(s.code, s.state) for s in workflow.step_ids]

    def _past_backoff(self, workflow):
        workflow.step_ids.write({"next_attempt_at": False})

    def test_steps_run_in_order_and_results_are_kept(self):
        workflow = self._start()
        self.assertEqual(self._states(workflow), [("first", "pending"), ("second", "pending"), ("third", "pending")])
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")
        self.assertEqual([s.state for s in workflow.step_ids], ["done"] * 3)
        self.assertEqual(workflow._result("second"), {"code": "second", "partner": self.partner.id})
        self.assertEqual(dict(self.script.calls), {"first": 1, "second": 1, "third": 1})
        self.assertTrue(all(s.started_at and s.finished_at and s.attempts == 1 for s in workflow.step_ids))
        self.assertEqual(self._start(), workflow, "one workflow of a kind per subject")

    def test_waiting_step_is_woken_without_redoing_the_first(self):
        self.script.answers["second"] = [registry.Wait("parcel on its way"), registry.Done({"ok": True})]
        workflow = self._start()
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "waiting")
        self.assertEqual(self._states(workflow), [("first", "done"), ("second", "waiting"), ("third", "pending")])
        self.assertEqual(workflow.step_ids[1].message, "parcel on its way")
        self.assertFalse(self.env["queue.job"].search([("state", "=", "pending")]), "a waiting step costs no job")
        self.env["retail.workflow"]._wake_for(self.partner)
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")
        self.assertEqual(dict(self.script.calls), {"first": 1, "second": 2, "third": 1})

    def test_transient_errors_retry_with_backoff_then_succeed(self):
        self.script.answers["second"] = [ChannelTransportError("connection reset"), registry.Done()]
        workflow = self._start()
        perform_pending_jobs(self.env, max_rounds=1)
        step = workflow.step_ids[1]
        self.assertEqual((workflow.state, step.state, step.retries), ("running", "pending", 1))
        self.assertEqual(step.error_class, "ChannelTransportError")
        self.assertTrue(step.next_attempt_at)
        job = self.env["queue.job"].search([("state", "=", "pending"), ("method_name", "=", "_advance")])
        self.assertEqual(len(job), 1)
        self.assertTrue(job.eta, "the retry waits its back-off")
        self._past_backoff(workflow)
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")
        self.assertEqual((step.attempts, step.retries, step.error_message), (2, 0, False))

    def test_transient_errors_pause_after_the_maximum(self):
        self.script.answers["third"] = [RetryableJobError("busy")]
        workflow = self._start()
        for _attempt in range(3):
            self._past_backoff(workflow)
            perform_pending_jobs(self.env, max_rounds=1)
        step = workflow.step_ids[2]
        self.assertEqual((workflow.state, step.state, step.attempts), ("paused", "failed", 3))
        self.assertTrue(workflow.activity_id)

    def test_a_lock_miss_uses_up_no_retry_and_keeps_the_steps_done(self):
        """Contention (advisory_lock_or_retry's error) more often than the retry maximum never pauses the workflow."""
        lock_miss = RetryableJobError("Could not acquire advisory lock", seconds=2, ignore_retry=True)
        self.script.answers["second"] = [lock_miss] * 5 + [registry.Done()]
        workflow = self._start()
        for _attempt in range(5):
            self._past_backoff(workflow)
            perform_pending_jobs(self.env, max_rounds=1)
        first, second = workflow.step_ids[:2]
        self.assertEqual((workflow.state, second.state, second.retries, second.attempts), ("running", "pending", 0, 0))
        self.assertFalse(workflow.activity_id)
        self._past_backoff(workflow)
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")
        self.assertEqual((first.attempts, second.attempts), (1, 1))
        self.assertEqual(dict(self.script.calls), {"first": 1, "second": 6, "third": 1}, "the first step is not redone")

    def test_permanent_failure_pauses_with_an_activity_and_resume_continues(self):
        self.script.answers["second"] = [ChannelValidationError("refund refused: amount too high", 422), registry.Done()]
        workflow = self._start()
        perform_pending_jobs(self.env)
        step = workflow.step_ids[1]
        self.assertEqual((workflow.state, step.state), ("paused", "failed"))
        self.assertEqual(step.error_class, "ChannelValidationError")
        self.assertIn("amount too high", workflow.last_error)
        activity = workflow.activity_id
        self.assertEqual((activity.res_model, activity.res_id, activity.user_id), ("res.partner", self.partner.id, self.manager))
        self.assertIn("Second", activity.summary)
        self.assertFalse(self.env["queue.job"].search([("state", "=", "pending")]), "a paused workflow waits for a person")
        workflow.action_resume()
        self.assertFalse(activity.active, "the activity is closed on resume")
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")
        self.assertEqual(dict(self.script.calls), {"first": 1, "second": 2, "third": 1}, "the first step is not redone")
        self.assertEqual(step.attempts, 2)

    def test_marking_the_activity_done_resumes(self):
        self.script.answers["first"] = [UserError("customer has no email"), registry.Done()]
        workflow = self._start()
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "paused")
        workflow.activity_id.action_feedback(feedback="email added")
        self.assertEqual(workflow.state, "running")
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")

    def test_a_step_answering_nonsense_fails_clearly(self):
        self.script.answers["first"] = ["yes"]
        workflow = self._start()
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "paused")
        self.assertIn("answered 'yes'", workflow.step_ids[0].error_message)

    def test_never_two_advances_at_once(self):
        workflow = self._start()
        workflow._enqueue()
        workflow._enqueue()
        jobs = self.env["queue.job"].search([("method_name", "=", "_advance"), ("state", "=", "pending")])
        self.assertEqual(len(jobs), 1, "one waiting job per workflow")
        with self.env.registry.cursor() as other:
            other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", ("retail-workflow-%s" % workflow.id,))
            try:
                with self.assertRaises(RetryableJobError):
                    workflow._advance()
            finally:
                other.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", ("retail-workflow-%s" % workflow.id,))
        self.assertEqual(sum(self.script.calls.values()), 0)
        perform_pending_jobs(self.env)
        self.assertEqual(workflow.state, "done")

    def test_cancel_closes_the_activity(self):
        self.script.answers["first"] = [UserError("no")]
        workflow = self._start()
        perform_pending_jobs(self.env)
        activity = workflow.activity_id
        workflow.action_cancel()
        self.assertEqual(workflow.state, "cancelled")
        self.assertFalse(activity.active)
        self.assertNotEqual(self._start(), workflow, "a cancelled workflow can be started afresh")
