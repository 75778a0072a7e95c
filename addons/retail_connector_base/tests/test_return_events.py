# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
import json

from odoo.tests import HttpCase, tagged

from ..lib.canonical import Order
from ..lib.signatures import sign_retail
from .common import INVOICED, MUG_AND_CAP
from .flows import CatalogueMixin
from .jobs import perform_pending_jobs
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestChannelReturnEvents(CatalogueMixin, HttpCase):
    """A channel's return arrives through the signed webhook and the inbox, and starts its workflow."""

    SKUS = MUG_AND_CAP
    NAMED_PRODUCTS = {"mug": "RC-MUG", "cap": "RC-CAP"}
    PRODUCT = INVOICED
    PRICELIST = None
    COMPANY_CURRENCY = "base.USD"
    STOCK = 20

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls.env["retail.backend"].create({
            "name": "Returns partner", "backend_type": "generic", "endpoint_url": "http://127.0.0.1:9",
            "api_secret": "token", "webhook_secret": "whsec-ret", "inbound_rate_limit": 0,
        })
        # orders and returns come in; nothing goes out
        cls.backend.policy_ids.filtered(lambda p: p.domain not in ("orders", "returns")).write({"mode": "off"})
        cls.backend.policy_for("returns").write({"mode": "event", "direction": "inbound"})

    def _post(self, data, event_id, topic="returns/create"):
        body = json.dumps(data).encode()
        headers = {"Content-Type": "application/json", "X-Retail-Topic": topic, "X-Retail-Event-Id": event_id,
                   "X-Retail-Signature": sign_retail("whsec-ret", body, None)}
        return self.url_open("/retail/webhook/%d" % self.backend.id, data=body, headers=headers)

    def test_return_event_starts_a_return_once(self):
        data = copy.deepcopy(ORDER)
        data["shipping_lines"] = []
        with self.backend.work_on("retail.sale.order.binding") as work:
            sale = work.component(usage="order.writer").apply(Order.from_dict(data))[0].odoo_id
        picking = sale.picking_ids
        picking.action_assign()
        self._validate(picking)
        ret_data = {"external_id": "RMA-77", "order_external_id": "G1001", "status": "approved", "note": "too big",
                    "lines": [{"sku": "RC-MUG", "quantity": "1", "restock": True}]}
        self.assertEqual(self._post(ret_data, "ret-evt-1").status_code, 202)
        self.assertEqual(self._post(ret_data, "ret-evt-1").status_code, 200, "a repeated delivery is a duplicate")
        perform_pending_jobs(self.env, method="_dispatch")
        ret = self.env["retail.return"].search([("backend_id", "=", self.backend.id), ("external_id", "=", "RMA-77")])
        self.assertEqual((len(ret), ret.origin, ret.state, ret.reason), (1, "channel", "open", "too big"))
        self.assertEqual((ret.line_ids.product_id, ret.line_ids.quantity, ret.line_ids.disposition),
                         (self.mug, 1.0, "restock"))
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("topic", "=", "returns/create")])
        self.assertEqual((event.state, event.res_model, event.res_id), ("done", "retail.return", ret.id))
        self.assertEqual(ret.workflow_id.correlation_id, event.correlation_id, "the workflow carries the request's id")
        perform_pending_jobs(self.env, method="_advance")
        self.assertEqual({s.code: s.state for s in ret.step_ids}["receive"], "waiting")
        # the same return again (another delivery id) changes nothing; a rejection cancels it
        self.assertEqual(self._post(ret_data, "ret-evt-2", "returns/updated").status_code, 202)
        self._post(dict(ret_data, status="rejected"), "ret-evt-3", "returns/updated")
        perform_pending_jobs(self.env, method="_dispatch")
        self.assertEqual(len(self.env["retail.return"].search([("external_id", "=", "RMA-77")])), 1)
        self.assertEqual((ret.state, ret.workflow_state), ("cancelled", "cancelled"))

    def test_return_without_id_fails_naming_the_field(self):
        response = self._post({"order_external_id": "G1001", "lines": [{"sku": "RC-MUG", "quantity": "1"}]}, "ret-evt-x")
        self.assertEqual(response.status_code, 202, "acknowledged, then read by the job")
        perform_pending_jobs(self.env, method="_dispatch")
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("idempotency_key", "=", "ret-evt-x")])
        self.assertEqual((event.state, event.error_kind), ("failed", "invalid_payload"))
        self.assertIn("external_id", event.last_error)
        self.assertFalse(self.env["retail.return"].search([("backend_id", "=", self.backend.id)]))
