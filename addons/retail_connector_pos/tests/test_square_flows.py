# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import requests

from odoo.tests import tagged

from odoo.addons.retail_connector_base.tests.flows import ChannelFlowCase
from odoo.addons.retail_connector_base.tests.jobs import perform_pending_jobs

from .common import StoreMixin

LOCATIONS = ({"id": "LOC-BXL", "name": "Brussels", "timezone": "Europe/Brussels", "currency": "USD"},
             {"id": "LOC-ANT", "name": "Antwerp", "timezone": "Europe/Brussels", "currency": "USD"})
CATALOGUE = (("POS-MUG", "Mug", "10.00"), ("POS-CAP", "Cap", "15.00"))


@tagged("post_install", "-at_install")
class TestSquareFlows(StoreMixin, ChannelFlowCase):
    """A store POS on Square's APIs: every flow over real HTTP both ways."""

    def setUp(self):
        super().setUp()
        from simulators.square_pos import SquarePOS  # noqa: PLC0415

        self.pos = self._start(SquarePOS(token="sq-token", signature_key="sq-key", locations=LOCATIONS,
                                         catalogue=CATALOGUE, webhook_url=self._webhook_url(self.backend)))
        self.backend.endpoint_url = self.pos.url
        self.backend.policy_for("catalog").mode = "event"
        self.env["retail.export.request"]._request(self.backend, "catalog", self.mug | self.cap)
        perform_pending_jobs(self.env)

    def _pos_orders(self):
        return self.env["retail.pos.order.binding"].search([("backend_id", "=", self.backend.id)]).odoo_id

    def test_catalogue_export_binds_variations_and_is_idempotent(self):
        mug_binding = self.env["retail.product.binding"].search([("backend_id", "=", self.backend.id),
                                                                 ("odoo_id", "=", self.mug.id)])
        self.assertEqual(mug_binding.external_id, self.pos.variation_of("POS-MUG"))
        requests = self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                             ("domain", "=", "catalog")])
        # a retry after a lost answer sends the same content under the same idempotency key
        with self.backend.work_on("retail.export.request") as work:
            exporter = work.component(usage="catalog.exporter")
            exporter.export(requests)
            exporter.export(requests)
        calls = self.pos.calls_to("POST", "/v2/catalog/batch-upsert")
        self.assertEqual(len({call.json()["idempotency_key"] for call in calls[-2:]}), 1)
        self.assertEqual(len(self.pos.items), 2, "nothing was created twice")
        self.mug.list_price = 11.0
        self.cap.active = False
        with self.backend.work_on("retail.export.request") as work:
            work.component(usage="catalog.exporter").export(requests)
        self.assertNotEqual(self.pos.calls_to("POST", "/v2/catalog/batch-upsert")[-1].json()["idempotency_key"],
                            calls[-1].json()["idempotency_key"])
        self.assertEqual((self.pos.catalog_item("POS-MUG")["price"], self.pos.catalog_item("POS-CAP")["archived"]),
                         (Decimal("11"), True))

    def test_a_store_price_list_is_the_store_price_on_the_pos(self):
        outlet = self.env["product.pricelist"].create({
            "name": "Outlet", "currency_id": self.config.currency_id.id,
            "item_ids": [(0, 0, {"applied_on": "0_product_variant", "product_id": self.mug.id, "compute_price": "fixed",
                                 "fixed_price": 8.0})]})
        self.config.pricelist_id = outlet
        requests = self.env["retail.export.request"].search([("backend_id", "=", self.backend.id),
                                                             ("domain", "=", "catalog")])
        with self.backend.work_on("retail.export.request") as work:
            work.component(usage="catalog.exporter").export(requests)
        mug = self.pos.catalog_item("POS-MUG")
        self.assertEqual((mug["price"], mug["location_prices"]), (Decimal("10"), {"LOC-BXL": Decimal("8")}))
        self.assertEqual(self.pos.catalog_item("POS-CAP")["location_prices"], {})

    def test_store_sale_by_webhook_and_stock_back_to_the_store(self):
        sale = self.pos.sell("LOC-BXL", [{"sku": "POS-MUG", "quantity": 2}, {"sku": "POS-CAP", "quantity": 1}],
                             tenders=[{"type": "CASH", "amount": "15.00"}, {"type": "CARD", "amount": "20.00"}])
        perform_pending_jobs(self.env)
        order = self._pos_orders()
        self.assertEqual(order.retail_bind_ids.external_id, sale["id"])
        self.assertEqual(order.state, "paid")
        self.assertEqual({p.payment_method_id: p.amount for p in order.payment_ids}, {self.cash: 15.0, self.card: 20.0})
        self.assertEqual(order.picking_ids.move_ids.location_id, self.location)
        self.policy = self.backend.policy_for("inventory")
        self.policy.mode = "event"
        self.env["retail.export.request"]._request(self.backend, "inventory", self.mug)
        perform_pending_jobs(self.env)
        self.assertEqual(self.pos.stock("LOC-BXL", "POS-MUG"), 48)
        events = self.env["retail.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))

    def test_end_of_day_imports_a_dropped_sale_closes_the_session_and_checks_takings(self):
        self.pos.sell("LOC-BXL", [{"sku": "POS-MUG", "quantity": 1}], tenders=[{"type": "CASH", "amount": "10.00"}])
        perform_pending_jobs(self.env)
        self.pos.drop_webhooks(count=10)
        missed = self.pos.sell("LOC-BXL", [{"sku": "POS-CAP", "quantity": 2}])
        perform_pending_jobs(self.env)
        self.assertEqual(len(self._pos_orders()), 1)
        day = self.env["retail.pos.day"].search([("store_id", "=", self.store.id)])
        day.action_close()
        self.assertEqual(day.imported_at_close, 1)
        self.assertIn(missed["id"], self._pos_orders().retail_bind_ids.mapped("external_id"))
        self.assertEqual(day.session_id.state, "closed")
        self.assertTrue(day.session_id.move_id, "Odoo's POS accounting posted the day's entry")
        self.assertEqual(day.state, "closed")
        totals = {t.tender_type: (t.odoo_amount, t.pos_amount) for t in day.total_line_ids}
        self.assertEqual(totals, {"CASH": (10.0, 10.0), "CARD": (30.0, 30.0)})

    def test_a_known_customer_is_the_partner_of_the_sale(self):
        customer = self.pos.add_customer("Ann", "Lee", email="ann.lee@example.com", phone="+32 470 12 34 56")
        self.pos.sell("LOC-BXL", [{"sku": "POS-CAP", "quantity": 1}], customer_id=customer)
        self.pos.sell("LOC-BXL", [{"sku": "POS-MUG", "quantity": 1}])
        perform_pending_jobs(self.env)
        orders = self._pos_orders()
        named = orders.filtered("partner_id")
        self.assertEqual(len(named), 1)
        self.assertEqual((named.partner_id.email, named.partner_id.name), ("ann.lee@example.com", "Ann Lee"))

    def test_return_in_store_is_linked_to_its_sale(self):
        sale = self.pos.sell("LOC-BXL", [{"sku": "POS-MUG", "quantity": 3}])
        perform_pending_jobs(self.env)
        self.pos.refund(sale["id"], [{"sku": "POS-MUG", "quantity": 1}])
        perform_pending_jobs(self.env)
        refund = self._pos_orders().filtered(lambda o: o.amount_total < 0)
        self.assertEqual(refund.refunded_order_id.retail_bind_ids.external_id, sale["id"])
        self.assertAlmostEqual(refund.amount_total, -10.0)
        self.assertEqual(self.mug.with_context(location=self.location.id).qty_available, 48)

    def _take_counts(self):
        """Store counts are inventory events: the policy takes them (and sends nothing back)."""
        self.backend.policy_for("inventory").write({"mode": "event", "direction": "inbound"})

    def test_store_count_is_compared_with_odoo(self):
        self._take_counts()
        self.pos.count("LOC-BXL", "POS-MUG", 44)
        perform_pending_jobs(self.env)
        run = self.env["retail.reconciliation.run"].search([("backend_id", "=", self.backend.id)], limit=1)
        self.assertEqual((run.line_ids.kind, run.line_ids.odoo_value, run.line_ids.channel_value),
                         ("quantity_drift", "50", "44"))
        self.assertEqual(run.line_ids.action, "reported", "Odoo is the system of record of store stock by default")

    def test_an_older_count_delivered_late_is_stale(self):
        """A count is a level: one calculated before the count already applied changes nothing."""
        self._take_counts()
        self.pos.count("LOC-BXL", "POS-MUG", 44)
        perform_pending_jobs(self.env)
        Run = self.env["retail.reconciliation.run"]
        runs = Run.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(runs), 1)
        [delivery] = self.pos.webhooks.for_topic("inventory.count.updated")
        notification = delivery.json()
        count = notification["data"]["object"]["inventory_counts"][0]
        calculated = datetime.fromisoformat(count["calculated_at"].replace("Z", "+00:00"))
        count.update(quantity="40", calculated_at=(calculated - timedelta(minutes=10)).isoformat().replace("+00:00", "Z"))
        notification.update(event_id=str(uuid.uuid4()),
                            created_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"))
        body = json.dumps(notification).encode()
        url = self.base_url() + "/retail/webhook/%d" % self.backend.id
        signature = base64.b64encode(hmac.new(b"sq-key", url.encode() + body, hashlib.sha256).digest()).decode()
        resp = requests.post(url, data=body, timeout=30, headers={"Content-Type": "application/json",
                                                                  "x-square-hmacsha256-signature": signature})
        self.assertEqual(resp.status_code, 202, resp.text)
        perform_pending_jobs(self.env)
        late = self.env["retail.event"].browse(resp.json()["events"])
        self.assertEqual((late.state, late.outcome), ("stale", "stale"))
        self.assertEqual(Run.search([("backend_id", "=", self.backend.id)]), runs, "no report of the older count")
