# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .test_outbound import OutboundCase


@tagged("post_install", "-at_install")
class TestProgress(OutboundCase):
    """Reconciliation runs show how far they are while they run, on the bus, and can be cancelled."""

    def _progress(self):
        return self.env["retail.progress"].search([("backend_id", "=", self.backend.id)], order="id desc", limit=1)

    def _notifications(self):
        """The bus notifications of this transaction (sent when it commits) about long work."""
        values = self.env.cr.precommit.data.get("bus.bus.values", [])
        return [v for v in values if "retail_progress" in v["message"]]

    def test_a_run_reports_done_total_and_rate_and_ends_done(self):
        self.channel.set_stock_level("OUT-001", self.warehouse.code, 99, notify=False)
        self.channel.set_stock_level("OUT-002", self.warehouse.code, 5, notify=False)
        before = len(self._notifications())
        steps = []
        original = type(self.env["retail.progress"])._step

        def record(model, progress_id, done, total=None, force=False):
            steps.append((done, total))
            return original(model, progress_id, done, total=total, force=force)

        with patch.object(type(self.env["retail.progress"]), "_step", record):
            run = self.backend.with_context(retail_progress_every_step=True)._reconcile("inventory")
        progress = self._progress()
        self.assertEqual(run.progress_id, progress)
        self.assertEqual((progress.state, progress.kind), ("done", "reconciliation"))
        self.assertEqual(progress.done, run.checked)
        self.assertGreaterEqual(progress.total, progress.done)
        self.assertEqual(progress.percent, 100.0)
        self.assertEqual(steps[0], (0, 2), "the total is known from the first step")
        self.assertGreater(len(self._notifications()), before, "the browser hears of each step on the bus")
        self.assertEqual(run.difference_count, 2)

    def test_cancelling_stops_the_run_at_its_next_step_and_undoes_it(self):
        for index in range(1, 4):
            self.channel.set_stock_level("OUT-%03d" % index, self.warehouse.code, 50 + index, notify=False)
        original = type(self.env["retail.progress"])._step
        calls = []

        def cancel_midway(model, progress_id, done, total=None, force=False):
            calls.append(done)
            if len(calls) == 2:  # a person presses Cancel while the run is going
                model.browse(progress_id).action_cancel()
            return original(model, progress_id, done, total=total, force=force)

        requests_before = self.env["retail.export.request"].search_count([("backend_id", "=", self.backend.id)])
        with patch.object(type(self.env["retail.progress"]), "_step", cancel_midway):
            run = self.backend.with_context(retail_progress_every_step=True)._reconcile("inventory")
        self.assertEqual(run.state, "cancelled")
        self.assertFalse(run.line_ids, "the differences it had recorded are undone")
        self.assertEqual(self.env["retail.export.request"].search_count([("backend_id", "=", self.backend.id)]),
                         requests_before, "and so are its repairs")
        progress = self._progress()
        self.assertEqual(progress.state, "cancelled")
        with self.assertRaises(UserError):
            progress.action_cancel()

    def test_only_managers_cancel(self):
        progress_id = self.env["retail.progress"]._start("Some work", "import", backend=self.backend, total=10)
        user = new_test_user(self.env, login="progress_user", groups="retail_connector_base.group_retail_user")
        progress = self.env["retail.progress"].browse(progress_id)
        self.assertEqual(progress.with_user(user).name, "Some work", "users see it")
        with self.assertRaises(AccessError):
            progress.with_user(user).action_cancel()
        self.env["retail.progress"]._step(progress_id, 4, force=True)
        self.assertEqual((progress.done, progress.total), (4, 10))
