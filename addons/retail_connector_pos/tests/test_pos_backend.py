# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestPosBackend(TransactionCase):
    def test_pos_backend_runs_its_daily_batch_at_the_store_cutoff(self):
        backend = self.env["retail.backend"].create({"name": "Stores", "backend_type": "square"})
        self.assertEqual(backend.api_version, "2025-10-16")
        orders = backend.policy_for("orders")
        self.assertEqual((orders.mode, orders.cutoff_hour), ("realtime", 23.0))
        cron = orders.cron_id
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "days"))
        self.assertEqual(cron.nextcall, orders._next_cutoff(), "the end-of-day batch starts at the cut-off")
        self.assertEqual(backend.policy_for("fulfilment").mode, "off")
