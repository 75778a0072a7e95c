# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestWmsBackend(TransactionCase):
    def test_warehouse_backend_owns_stock_and_takes_no_orders(self):
        backend = self.env["retail.backend"].create({"name": "3PL East", "backend_type": "wms_x12"})
        inventory = backend.policy_for("inventory")
        self.assertEqual((inventory.mode, inventory.direction, inventory.system_of_record), ("batch", "inbound", "channel"))
        orders = backend.policy_for("orders")
        self.assertEqual(orders.mode, "off")
        self.assertFalse(orders.cron_id.active, "a policy that is off has no running schedule")
        self.assertEqual(backend.policy_for("fulfilment").interval_number, 15)
