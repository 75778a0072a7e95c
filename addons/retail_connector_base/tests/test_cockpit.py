# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestCockpit(RetailCase):

    def _event(self, key, state, minutes_ago=10, seconds=None, domain="orders"):
        received = fields.Datetime.now() - timedelta(minutes=minutes_ago)
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": domain, "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "cockpit-%s" % key, "state": state, "payload": "{}",
            "received_at": received,
            "processed_at": received + timedelta(seconds=seconds) if seconds is not None else False})

    def test_tiles_count_traffic_backlog_latency_failures_and_open_their_records(self):
        for index, seconds in enumerate((1, 2, 3, 4, 20)):
            self._event("done%d" % index, "done", seconds=seconds)
        self._event("wait", "queued")
        self._event("bad", "failed")
        self._event("dead", "dead")
        self._event("old", "done", minutes_ago=600, seconds=1)
        tile = self.env["retail.cockpit"].search([("backend_id", "=", self.backend.id), ("domain", "=", "orders")])
        self.assertEqual((tile.backlog, tile.failed, tile.dead), (1, 1, 1))
        self.assertAlmostEqual(tile.received_per_minute, 8 / 60, places=3)
        self.assertAlmostEqual(tile.processed_per_minute, 5 / 60, places=3)
        self.assertEqual(tile.latency_p50, 3.0)
        self.assertGreater(tile.latency_p95, 10)
        self.assertTrue(tile.attention)
        action = tile.action_open_failures()
        self.assertEqual(self.env["retail.event"].search(action["domain"]).mapped("aggregate_key"), ["dead", "bad"])
        quiet = self.env["retail.cockpit"].search([("backend_id", "=", self.backend.id), ("domain", "=", "inventory")])
        self.assertFalse(quiet.attention if quiet else False)

    def test_each_tile_shows_the_mode_against_what_it_achieves(self):
        products = self.env["product.product"].create([{"name": "Tile %d" % i, "default_code": "TILE-%d" % i}
                                                       for i in range(4)])
        Request = self.env["retail.export.request"]
        now = fields.Datetime.now()
        for product in products[:3]:  # pricing is a scheduled batch on this channel: kept for the run
            Request.create({"backend_id": self.backend.id, "domain": "pricing", "res_model": "product.product",
                            "res_id": product.id})
        for product, seconds in zip(products, (1, 1, 1, 9), strict=True):  # inventory is event-driven, target 2 s
            Request.create({"backend_id": self.backend.id, "domain": "inventory", "res_model": "product.product",
                            "res_id": product.id, "state": "done", "requested_at": now - timedelta(seconds=seconds),
                            "sent_at": now})
        Cockpit = self.env["retail.cockpit"]
        pricing = Cockpit.search([("backend_id", "=", self.backend.id), ("domain", "=", "pricing")])
        policy = self.backend.policy_for("pricing")
        self.assertEqual((pricing.mode, pricing.waiting_changes, pricing.next_run), ("batch", 3, policy.next_run))
        self.assertTrue(pricing.next_run)
        self.assertEqual(Request.search(pricing.action_open_waiting_changes()["domain"]).mapped("domain"), ["pricing"] * 3)
        inventory = Cockpit.search([("backend_id", "=", self.backend.id), ("domain", "=", "inventory")])
        self.assertEqual((inventory.mode, inventory.export_target), ("event", 2.0))
        self.assertGreater(inventory.export_p95, 2.0)
        self.assertFalse(inventory.on_target, "one change of four took 9 s against a 2 s target")
        self.backend.policy_for("inventory").debounce_seconds = 10
        Cockpit.invalidate_model()
        inventory = Cockpit.search([("backend_id", "=", self.backend.id), ("domain", "=", "inventory")])
        self.assertTrue(inventory.on_target)
