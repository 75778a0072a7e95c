# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import threading
from unittest import SkipTest
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, tagged

from .jobs import perform_pending_jobs
from .simulators import load_simulators


@tagged("post_install", "-at_install")
class TestProgressTour(HttpCase):
    def test_follow_a_reconciliation_to_its_end(self):
        if load_simulators() is None:
            raise SkipTest("the channel simulators are not beside this addon")
        from simulators.generic import GenericChannel  # noqa: PLC0415

        warehouse = self.env.ref("stock.warehouse0")
        products = self.env["product.product"].create([
            {"name": "Progress item %d" % i, "default_code": "PRG-%d" % i, "type": "consu", "is_storable": True}
            for i in range(3)])
        Progress = type(self.env["retail.progress"])
        listed = threading.Event()
        original = Progress.web_search_read

        @api.model
        def web_search_read(model, domain, *args, **kwargs):
            result = original(model, domain, *args, **kwargs)
            if any(r.get("state") == "waiting" for r in result.get("records", [])):
                listed.set()  # the browser shows the queued work: the job runner may take it
            return result

        failures = []

        def job_runner():
            # the job runner of the test: it takes the queued reconciliations once the browser lists them
            try:
                if not listed.wait(timeout=60):
                    failures.append("the browser never listed the queued reconciliations")
                    return
                with self.registry.cursor() as cr:
                    perform_pending_jobs(api.Environment(cr, SUPERUSER_ID, {}), method="_reconcile_queued")
            except Exception as exc:  # reported by the test's thread
                failures.append(repr(exc))

        with GenericChannel(token="progress-token", currency="USD") as channel:
            for product in products:
                channel.set_stock_level(product.default_code, warehouse.code, 7, notify=False)
            backend = self.env["retail.backend"].create({
                "name": "Progress shop", "backend_type": "generic", "endpoint_url": channel.url,
                "api_secret": "progress-token", "warehouse_id": warehouse.id, "rate_limit_rps": 1000,
                "rate_limit_burst": 1000})
            runner = threading.Thread(target=job_runner, daemon=True)
            runner.start()
            with patch.object(Progress, "web_search_read", web_search_read):
                self.start_tour("/odoo/action-retail_connector_base.action_retail_backend/%d" % backend.id,
                                "retail_connector_progress_tour", login="admin")
            runner.join(timeout=60)
        self.assertFalse(failures)
        progress = self.env["retail.progress"].search([("backend_id", "=", backend.id)])
        self.assertEqual(set(progress.mapped("state")), {"done"})
        inventory = progress.filtered(lambda p: "inventory" in p.name)
        self.assertEqual((inventory.done, inventory.total, inventory.percent), (3, 3, 100.0))
        run = self.env["retail.reconciliation.run"].search([("backend_id", "=", backend.id), ("domain", "=", "inventory")])
        self.assertEqual(run.progress_id, inventory)
        self.assertEqual(run.difference_count, 3, "Odoo has none of the 7 units the channel shows")
