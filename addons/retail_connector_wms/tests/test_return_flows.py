# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy

from odoo.tests import tagged

from odoo.addons.retail_connector_base.lib.canonical import Order
from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs
from odoo.addons.retail_connector_base.tests.test_order_import import ORDER

from .common import WarehouseFlowMixin


@tagged("post_install", "-at_install")
class TestThreePLReturnFlow(WarehouseFlowMixin, ChannelFlowCase):
    """A return received by a 3PL: announced as a receiving order, validated by the 3PL's receipt."""

    WAREHOUSE = {"name": "3PL Returns", "code": "3PLR"}
    PRODUCT = dict(WarehouseFlowMixin.PRODUCT, invoice_policy="order", taxes_id=[(5, 0, 0)])
    COMPANY_CURRENCY = "base.USD"

    def setUp(self):
        super().setUp()
        self._threepl("ShipBob returns", seed=11)
        self.channel = self._unreachable_shop("Generic shop", "token", "whsec")
        # the shop hears of nothing here: only its orders come in
        self.channel.policy_ids.filtered(lambda p: p.domain != "orders").write({"mode": "off"})

    def _shipped_order(self):
        data = copy.deepcopy(ORDER)
        data["shipping_lines"] = []
        data["shipping_address"].update(street="1 Main St", city="Springfield", zip="62701", state_code="IL")
        with self.channel.work_on("retail.sale.order.binding") as work:
            binding, _ = work.component(usage="order.writer").apply(Order.from_dict(data))
        sale = binding.odoo_id
        perform_pending_jobs(self.env)
        delivery = sale.picking_ids
        self.assertTrue(delivery.retail_bind_ids, "the delivery is released to the 3PL")
        self.wms.ship(delivery.name, tracking="9400100000000000000009")
        perform_pending_jobs(self.env)
        self.assertEqual(delivery.state, "done")
        sale._create_invoices().action_post()
        return sale

    def test_return_is_expected_then_received_by_the_3pl(self):
        sale = self._shipped_order()
        action = sale.action_new_retail_return()
        ret = self.env["retail.return"].browse(action["res_id"])
        ret.line_ids.filtered(lambda l: l.product_id == self.mug).quantity = 1
        ret.line_ids.filtered(lambda l: l.product_id == self.cap).disposition = "scrap"
        ret.action_authorise()
        perform_pending_jobs(self.env)
        steps = {s.code: s for s in ret.step_ids}
        self.assertEqual(steps["expect_warehouse"].state, "done", steps["expect_warehouse"].message)
        self.assertEqual(ret.warehouse_backend_id, self.backend)
        self.assertEqual(steps["receive"].state, "waiting")
        binding = ret.return_picking_id.retail_bind_ids
        self.assertTrue(binding.external_id.startswith("wro-"), binding.external_id)

        self.wms.receive(int(binding.external_id[4:]), {"RC-MUG": 1, "RC-CAP": 1})
        perform_pending_jobs(self.env)
        self.assertEqual(ret.return_picking_id.state, "done")
        self.assertEqual(ret.state, "done", [(s.code, s.state, s.error_message) for s in ret.step_ids])
        self.assertEqual(ret.line_ids.filtered(lambda l: l.product_id == self.cap).scrap_id.state, "done")
        self.assertEqual(ret.credit_note_id.state, "posted")
        self.assertEqual({s.code: s.state for s in ret.step_ids}["refund_channel"], "skipped")
