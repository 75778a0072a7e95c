# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
import time
from datetime import datetime, timedelta, timezone

from odoo import fields
from odoo.tests import tagged

from odoo.addons.retail_connector_base.models.retail_event import new_correlation_id
from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from ..components import amazon as amazon_components

SKUS = ("AR-MUG", "AR-CAP")
MARKET = "A1PA6795UKMFR9"


@tagged("post_install", "-at_install")
class TestAmazonReturns(ChannelFlowCase):
    """Returns of the Amazon returns reports (Reports API simulator over real HTTP) through the inbox and the
    shared return writer."""

    SKUS = SKUS

    def setUp(self):
        super().setUp()
        from simulators.amazon import AmazonSimulator  # noqa: PLC0415

        self.sim = self._start(AmazonSimulator(rate_scale=100.0, report_delay=0.2, sqs=False, currency="EUR"))
        self.backend = self._channel_backend(
            name="Amazon returns", backend_type="amazon", endpoint_url=self.sim.url, api_key=self.sim.client_id,
            api_secret=self.sim.client_secret, amazon_refresh_token=self.sim.refresh_token,
            amazon_lwa_token_url=self.sim.token_url, amazon_marketplace_ids=MARKET,
            amazon_seller_id=self.sim.seller_id,
        )
        self.policy = self.backend.policy_for("returns")
        # the first run reads the last month: start an hour ago instead, and poll the report without waiting long
        self.policy.checkpoint = fields.Datetime.now() - timedelta(hours=1)
        self.patch(amazon_components, "REPORT_POLL_INTERVAL", 0.1)

    def _import_order(self, order_id):
        client = self.backend._channel_client()
        data = self.backend._amazon_order_data(client, client.get_order(order_id))
        with self.backend.work_on("retail.event") as work:
            parser = work.component(usage="event.parser")
        body = json.dumps(data, sort_keys=True, separators=(",", ":"))
        inbound = parser.parse("amazon/order", {}, data, body.encode())
        event_id, _dup = self.env["retail.event"]._insert_received(self.backend, inbound, body, "poll",
                                                                   new_correlation_id())
        self.env["retail.event"].browse(event_id)._enqueue()
        perform_pending_jobs(self.env)
        return self._sale({"id": order_id})

    def _run_returns(self):
        summary = self.backend._run_scheduled_domain("returns")
        perform_pending_jobs(self.env)
        return summary

    def _events(self):
        return self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("domain", "=", "returns")])

    def test_the_returns_policy_reads_the_returns_reports_on_its_schedule(self):
        support = self.backend._domain_support("returns")
        self.assertTrue(support["receive"] and support["scheduled"])
        self.assertEqual((self.policy.mode, self.policy.interval_number, self.policy.interval_type,
                          self.policy.overlap_minutes), ("orchestrated", 1, "hours", 1440))
        self.assertTrue(self.policy.cron_id.active)
        self.assertEqual(self.backend._amazon_returns_reports(), ["GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"])
        self.backend._amazon_afn_warehouse()
        self.assertIn("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", self.backend._amazon_returns_reports())

    def test_a_reported_return_is_authorised_once_for_its_order_line(self):
        order_id = self.sim.add_order(items=[("AR-MUG", 2, "12.00"), ("AR-CAP", 1, "8.00")], notify=False)
        sale = self._import_order(order_id)
        self.assertEqual(sale.state, "sale")
        rma = self.sim.add_return(order_id, "AR-MUG", 1, "DEFECTIVE", refunded="12.00")
        summary = self._run_returns()
        self.assertIn("returns: 1 new", summary)
        ret = self.env["retail.return"].search([("backend_id", "=", self.backend.id), ("external_id", "=", rma)])
        self.assertEqual((ret.state, ret.origin, ret.sale_order_id), ("open", "channel", sale))
        mug_line = sale.order_line.filtered(lambda line: line.product_id.default_code == "AR-MUG")
        self.assertEqual((ret.line_ids.sale_line_id, ret.line_ids.quantity), (mug_line, 1.0))
        self.assertEqual(ret.reason, "DEFECTIVE")
        created = self.sim.calls_to("POST", "/reports/2021-06-30/reports")[-1].json()
        self.assertEqual((created["reportType"], created["marketplaceIds"]),
                         ("GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE", [MARKET]))
        # the checkpoint moved to the return's date; the next run reads it again (the overlap) and records nothing
        self.assertTrue(self.policy.checkpoint)
        summary = self._run_returns()
        self.assertIn("returns: 0 new, 1 already known", summary)
        self.assertEqual(self.env["retail.return"].search_count([("backend_id", "=", self.backend.id)]), 1)
        start = self.sim.calls_to("POST", "/reports/2021-06-30/reports")[-1].json()["dataStartTime"]
        self.assertLessEqual(datetime.fromisoformat(start.replace("Z", "+00:00")),
                             ret.create_date.replace(tzinfo=timezone.utc))

    def test_a_return_of_an_order_not_imported_yet_waits_for_it(self):
        order_id = self.sim.add_order(items=[("AR-CAP", 1, "8.00")], notify=False)
        rma = self.sim.add_return(order_id, "AR-CAP", 1, "NO_LONGER_NEEDED")
        self._run_returns()
        event = self._events()
        self.assertEqual((event.aggregate_key, event.state), (rma, "queued"))
        self.assertIn("not imported", event.last_error)
        self.assertFalse(self.env["retail.return"].search([("external_id", "=", rma)]))
        self._import_order(order_id)
        event.next_attempt_at = False  # its retry is due
        event._enqueue()
        perform_pending_jobs(self.env)
        self.assertEqual((event.state, event.outcome), ("done", "created"))
        self.assertEqual(self.env["retail.return"].search([("external_id", "=", rma)]).state, "open")

    def test_a_bad_report_row_fails_its_event_naming_the_column(self):
        order_id = self.sim.add_order(items=[("AR-MUG", 1, "12.00")], notify=False)
        self._import_order(order_id)
        self.sim.add_return(order_id, "AR-MUG", 1)
        good = self.sim.returns[-1]["row"]
        self.sim.add_return_row(dict(good, **{"Amazon RMA ID": "DBADROW1", "Return quantity": "one"}))
        self._run_returns()
        events = self._events()
        bad = events.filtered(lambda e: e.aggregate_key == "DBADROW1")
        self.assertEqual(bad.state, "failed")
        self.assertIn("Return quantity 'one' is not a number", bad.last_error)
        self.assertIn("row 3", bad.last_error)
        self.assertEqual((events - bad).outcome, "created")
        # read again: the same failed event, not a second one
        self._run_returns()
        self.assertEqual(len(self._events()), 2)

    def _reports_created(self):
        return [c.json() for c in self.sim.calls_to("POST", "/reports/2021-06-30/reports")]

    def test_a_report_amazon_is_still_making_is_read_by_the_next_run(self):
        order_id = self.sim.add_order(items=[("AR-MUG", 1, "12.00")], notify=False)
        self._import_order(order_id)
        rma = self.sim.add_return(order_id, "AR-MUG", 1)
        self.sim.report_delay = 1.5
        self.patch(amazon_components, "REPORT_TIMEOUT", 0.2)
        checkpoint = self.policy.checkpoint
        summary = self._run_returns()
        self.assertIn("the next run reads them", summary)
        self.assertEqual(self.policy.checkpoint, checkpoint, "nothing read: the checkpoint stays")
        self.assertFalse(self._events())
        report_id = self.backend.amazon_pending_reports["GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"]["id"]
        time.sleep(1.6)
        self._run_returns()
        self.assertEqual(len(self._reports_created()), 1, "the report asked for is read, no second one")
        self.assertTrue(self.sim.calls_to("GET", "/reports/2021-06-30/reports/%s" % report_id))
        self.assertEqual((self._events().aggregate_key, self._events().outcome), (rma, "created"))
        self.assertFalse(self.backend.amazon_pending_reports)
        self.assertGreater(self.policy.checkpoint, checkpoint)

    def test_a_job_gives_its_worker_back_while_amazon_makes_the_report_and_comes_back_for_it(self):
        order_id = self.sim.add_order(items=[("AR-MUG", 1, "12.00")], notify=False)
        self._import_order(order_id)
        rma = self.sim.add_return(order_id, "AR-MUG", 1)
        self.sim.report_delay = 1.5
        self.patch(amazon_components, "REPORT_JOB_WAIT", 0.2)
        backend = self.backend.with_context(queue_job__no_delay=False, job_uuid="returns-run")
        summary = backend._run_scheduled_domain("returns")
        self.assertIn("the next run reads them, in %d s" % amazon_components.REPORT_RECHECK, summary)
        self.assertFalse(self._events())
        [again] = self.env["queue.job"].search([("method_name", "=", "_run_scheduled_domain"),
                                                ("identity_key", "=", "retail-policy-again-%d" % self.policy.id)])
        self.assertGreater(again.eta, fields.Datetime.now() + timedelta(seconds=20))
        self.assertEqual(again.channel, "root.retail.returns")
        time.sleep(1.6)
        perform_pending_jobs(self.env, method="_run_scheduled_domain")
        self.assertEqual(len(self._reports_created()), 1, "the report asked for is read, no second one")
        perform_pending_jobs(self.env)
        self.assertEqual((self._events().aggregate_key, self._events().outcome), (rma, "created"))
        self.assertFalse(self.backend.amazon_pending_reports)

    def test_a_fatal_report_is_noted_and_asked_again(self):
        order_id = self.sim.add_order(items=[("AR-CAP", 1, "8.00")], notify=False)
        self._import_order(order_id)
        rma = self.sim.add_return(order_id, "AR-CAP", 1)
        self.sim.fail_reports(1)
        checkpoint = self.policy.checkpoint
        self.assertIn("FATAL", self._run_returns())
        self.assertEqual(self.policy.checkpoint, checkpoint)
        self.assertIn("could not make", self.backend.message_ids[0].body)
        self.assertFalse(self.backend.amazon_pending_reports)
        self._run_returns()
        self.assertEqual(len(self._reports_created()), 2)
        self.assertEqual(self.env["retail.return"].search([("external_id", "=", rma)]).state, "open")

    def test_an_amazon_fulfilled_return_comes_from_the_fba_customer_returns_report(self):
        order_id = self.sim.add_order(channel="AFN", status="Shipped", items=[("AR-MUG", 2, "12.00")], notify=False)
        sale = self._import_order(order_id)
        self.assertTrue(self.backend.amazon_afn_warehouse_id, "an Amazon-fulfilled order made the AFN warehouse")
        self.sim.add_return(order_id, "AR-MUG", 1, "UNWANTED_ITEM", disposition="SELLABLE")
        self._run_returns()
        types = [r["reportType"] for r in self._reports_created()]
        self.assertEqual(sorted(types), ["GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
                                         "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"])
        ret = self.env["retail.return"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual((ret.sale_order_id, ret.state), (sale, "open"))
        self.assertTrue(ret.external_id.startswith("FBA-%s-" % order_id))
        self.assertEqual((ret.line_ids.quantity, ret.line_ids.disposition), (1.0, "restock"))
