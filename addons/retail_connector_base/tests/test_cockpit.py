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
