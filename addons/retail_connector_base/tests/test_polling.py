# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import time
from unittest import SkipTest
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..components.batch_importer import ChangesBatchImporter
from .common import RetailCase
from .jobs import perform_pending_jobs
from .simulators import load_simulators


@tagged("post_install", "-at_install")
class TestPolling(RetailCase):
    """The polling fallback reads missed changes into the same inbox, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import DEFAULT_CATALOGUE  # noqa: PLC0415

        cls.env.company.currency_id = cls.env.ref("base.USD")
        cls.env["account.tax"].create({"name": "Sales 21%", "amount": 21, "amount_type": "percent", "type_tax_use": "sale"})
        for item in DEFAULT_CATALOGUE:
            cls.env["product.product"].create({"name": item["name"], "default_code": item["sku"], "type": "consu"})

    def setUp(self):
        super().setUp()
        from simulators.generic import GenericChannel  # noqa: PLC0415

        self.channel = GenericChannel(token="poll-token", currency="USD", seed=7).start()
        self.addCleanup(self.channel.stop)
        self.backend.write({"endpoint_url": self.channel.url, "api_secret": "poll-token"})

    def test_missed_orders_are_read_once_through_the_inbox(self):
        self.channel.drop_webhooks(count=3)
        placed = [self.channel.place_order() for _ in range(3)]
        summary = self.backend._run_scheduled_domain("orders")
        self.assertIn("3 checked, 3 differences, 3 repaired", summary)
        run = self.backend.reconciliation_run_ids[:1]
        self.assertEqual(set(run.line_ids.mapped("kind")), {"missing_in_odoo"})
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(events.mapped("source")), {"poll"})
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))
        bindings = self.env["retail.sale.order.binding"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(bindings.mapped("external_id")), {o["external_id"] for o in placed})
        policy = self.backend.policy_for("orders")
        self.assertTrue(policy.checkpoint)

        # the next run overlaps the checkpoint: it sees the same orders, imports nothing twice
        summary = self.backend._run_scheduled_domain("orders")
        self.assertIn("3 checked, 0 differences", summary)
        self.assertEqual(self.env["retail.event"].search_count([("backend_id", "=", self.backend.id)]), 3)

        # an update made on the channel after the checkpoint is picked up
        self.channel.update_order(placed[0]["external_id"], notify=False, status="cancelled")
        summary = self.backend._run_scheduled_domain("orders")
        self.assertIn("1 repaired", summary)
        self.assertEqual(self.backend.reconciliation_run_ids[:1].line_ids.kind, "outdated_in_odoo")
        cancelled = bindings.filtered(lambda b: b.external_id == placed[0]["external_id"])
        self.assertEqual(cancelled.odoo_id.state, "cancel")

    def test_a_reconciliation_that_finds_nothing_wrong_writes_only_its_run(self):
        self.channel.drop_webhooks(count=3)
        for _ in range(3):
            self.channel.place_order()
        self.backend._run_scheduled_domain("orders")
        policy = self.backend.policy_for("orders")
        self.env.flush_all()

        def written():
            self.env.cr.execute(
                "SELECT (SELECT count(*) FROM retail_event WHERE backend_id = %(b)s), "
                "(SELECT sum(duplicate_count) FROM retail_event WHERE backend_id = %(b)s), "
                "(SELECT count(*) FROM retail_reconciliation_line l JOIN retail_reconciliation_run r ON r.id = l.run_id "
                " WHERE r.backend_id = %(b)s), "
                "(SELECT count(*) FROM retail_export_request WHERE backend_id = %(b)s), "
                "(SELECT count(*) FROM retail_reconciliation_run WHERE backend_id = %(b)s)", {"b": self.backend.id})
            return self.env.cr.fetchone()

        before, checkpoint = written(), policy.checkpoint
        run = self.backend._reconcile("orders")
        self.env.flush_all()
        self.assertEqual((run.state, run.checked, run.difference_count), ("done", 3, 0))
        after = written()
        self.assertEqual(after[:4], before[:4], "no event, no duplicate counted, no difference, no export")
        self.assertEqual(after[4], before[4] + 1, "the run's own record")
        self.assertEqual(policy.checkpoint, checkpoint, "nothing newer on the channel: the checkpoint stays")

    def test_pagination_reads_every_page(self):
        self.channel.add_orders(230)
        summary = self.backend._run_scheduled_domain("orders")
        self.assertIn("230 checked, 230 differences, 230 repaired", summary)
        self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/orders")), 3)

    def _progress_while_reconciling(self):
        """Reconcile the orders in pages of 3; return the progress rows' (done, total, percent) at each step."""
        seen = []
        Progress = type(self.env["retail.progress"])
        original = Progress._step

        def step(model, progress_id, done, total=None, force=False):
            result = original(model, progress_id, done, total=total, force=force)
            progress = model.browse(progress_id)
            seen.append((progress.state, progress.done, progress.total, progress.percent))
            return result

        with patch.object(Progress, "_step", step), patch.object(ChangesBatchImporter, "_page_size", 3):
            run = self.backend.with_context(retail_progress_every_step=True)._reconcile("orders")
        self.assertEqual((run.state, run.checked), ("done", 7))
        self.assertEqual((run.progress_id.state, run.progress_id.done, run.progress_id.total), ("done", 7, 7))
        return seen

    def test_the_orders_reconciliation_has_the_channels_count_as_total_while_it_runs(self):
        self.channel.add_orders(7)
        seen = self._progress_while_reconciling()
        self.assertEqual(seen, [("running", 3, 7, 300 / 7), ("running", 6, 7, 600 / 7), ("running", 7, 7, 100.0)])

    def test_without_a_count_the_total_is_the_pages_known_so_far(self):
        self.channel.add_orders(7)
        with patch.object(ChangesBatchImporter, "_found_total", lambda importer, count: None):
            seen = self._progress_while_reconciling()
        # a full page announces one more: the total grows as the pages come, and is never 0
        self.assertEqual([(done, total) for _state, done, total, _percent in seen], [(3, 6), (6, 9), (7, 7)])

    def test_a_reconciliation_stopped_by_the_rate_limit_continues_from_its_page(self):
        self.channel.add_orders(230)
        # two pages' tokens now, the next one in ten seconds: the read stops at the third page (the shared
        # bucket, kept by its own transactions, is filled first: other tests may have emptied it)
        time.sleep(0.01)
        self.env["retail.rate.bucket"]._take(self.backend._outbound_bucket(), 1000, 1000)
        self.backend.write({"rate_limit_rps": 0.1, "rate_limit_burst": 2})
        policy = self.backend.policy_for("orders")
        checkpoint = policy.checkpoint
        # as the scheduled run's job runs it, with its continuation queued rather than run in line
        backend = self.backend.with_context(queue_job__no_delay=False, job_uuid="scheduled-orders-run")
        run = backend._reconcile("orders")
        self.assertEqual((run.state, run.checked), ("running", 200), run.message)
        self.assertIn("rate limit", run.message)
        self.assertTrue(run.resume_at)
        self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/orders")), 2, "the third page was not asked for")
        state = run.paused_reads["retail.generic.orders.batch.importer"]
        self.assertTrue(state["cursor"])
        self.assertEqual(state["new"], 200)
        Event = self.env["retail.event"]
        self.assertEqual(Event.search_count([("backend_id", "=", self.backend.id)]), 200, "what was read is kept")
        self.assertEqual(policy.checkpoint, checkpoint, "the checkpoint moves once every page is read")
        job = self.env["queue.job"].search([("method_name", "=", "_continue_reads")])
        self.assertEqual((len(job), job.channel), (1, "root.retail.reconciliation"))
        self.assertGreater(job.eta, fields.Datetime.now())

        # the next scheduled run meanwhile starts no second read
        self.assertEqual(backend._reconcile("orders"), run)
        self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/orders")), 2)

        # the continuation reads from the third page on, once the limit allows it
        self.backend.write({"rate_limit_rps": 1000, "rate_limit_burst": 1000})
        perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual((run.state, run.checked, run.repaired, run.resume_at, run.paused_reads),
                         ("done", 230, 230, False, False), run.message)
        calls = self.channel.calls_to("GET", "/api/v1/orders")
        self.assertEqual(len(calls), 3, "no page read twice")
        self.assertEqual(Event.search_count([("backend_id", "=", self.backend.id)]), 230)
        self.assertTrue(policy.checkpoint and policy.checkpoint != checkpoint)

    def test_a_reconciliation_a_person_starts_waits_for_the_rate_limit_instead(self):
        self.channel.add_orders(230)
        # a token every half second: each of the three pages after the first waits for its own
        self.backend.write({"rate_limit_rps": 2, "rate_limit_burst": 1})
        run = self.backend.with_context(queue_job__no_delay=False)._reconcile("orders")
        self.assertEqual((run.state, run.checked, run.resume_at), ("done", 230, False), run.message)
        self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/orders")), 3)
        self.assertFalse(self.env["queue.job"].search_count([("method_name", "=", "_continue_reads")]))
