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


@tagged("post_install", "-at_install")
class TestCockpitCards(RetailCase):
    """The cockpit: a card per backend with its domains as rows, worst first, and its charts."""

    def _event(self, backend, key, state, received, seconds=None, domain="orders"):
        return self.env["retail.event"].create({
            "backend_id": backend.id, "topic": "orders/create", "domain": domain, "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "card-%s" % key, "state": state, "payload": "{}",
            "received_at": received,
            "processed_at": received + timedelta(seconds=seconds) if seconds is not None else False})

    def test_cards_put_the_failing_backend_and_domain_first(self):
        quiet = self.env["retail.backend"].create({"name": "AAA quiet shop", "backend_type": "generic",
                                                   "endpoint_url": "http://127.0.0.1:9"})
        now = fields.Datetime.now()
        self._event(self.backend, "ok", "done", now - timedelta(minutes=5), seconds=2, domain="orders")
        self._event(self.backend, "bad", "failed", now - timedelta(minutes=5), domain="inventory")
        self._event(self.backend, "wait", "queued", now - timedelta(minutes=5), domain="customers")
        cards = self.env["retail.cockpit"].get_cockpit_cards()
        names = [card["name"] for card in cards]
        self.assertLess(names.index(self.backend.name), names.index(quiet.name), "worst first, not by name")
        card = cards[names.index(self.backend.name)]
        self.assertEqual(card["severity"], 3)
        self.assertEqual([row["domain"] for row in card["rows"]][:2], ["inventory", "customers"])
        self.assertEqual(card["rows"][0]["failed"], 1)
        self.assertEqual(len(card["rows"]), len(self.backend.policy_ids.filtered(lambda p: p.mode != "off")))
        self.assertEqual(cards[names.index(quiet.name)]["severity"], 0)

    def test_latencies_are_never_negative(self):
        # an event whose application was stamped before its receipt (two clocks, or a transaction's start)
        now = fields.Datetime.now()
        self._event(self.backend, "early", "done", now - timedelta(minutes=3), seconds=-2)
        tile = self.env["retail.cockpit"].search([("backend_id", "=", self.backend.id), ("domain", "=", "orders")])
        self.assertEqual(tile.latency_p50, 0.0)
        series = self.env["retail.cockpit"].get_backend_series(self.backend.id, "hour")
        self.assertTrue(all(value >= 0 for value in series["series"]["p50"] + series["series"]["p95"]))

    def test_applying_an_event_stamps_it_with_the_database_clock_now(self):
        event = self._event(self.backend, "stamp", "processing", fields.Datetime.now())
        self.env.cr.execute("SELECT now() at time zone 'UTC'")
        transaction_start = self.env.cr.fetchone()[0]
        event._record_applied(1, "created", self.env["res.partner"])
        self.assertGreater(event.processed_at, transaction_start, "not the transaction's start")

    def test_backend_series_buckets_events_backlog_latency_and_exports(self):
        now = fields.Datetime.now()
        for index in range(3):
            self._event(self.backend, "s%d" % index, "done", now - timedelta(minutes=12), seconds=4 + index)
        self._event(self.backend, "w", "queued", now - timedelta(minutes=2))
        product = self.env["product.product"].create({"name": "Series mug", "default_code": "SER-MUG"})
        self.env["retail.export.request"].create({"backend_id": self.backend.id, "domain": "inventory",
                                                  "res_model": "product.product", "res_id": product.id,
                                                  "requested_at": now - timedelta(minutes=1)})
        data = self.env["retail.cockpit"].get_backend_series(self.backend.id, "hour")
        series = data["series"]
        self.assertEqual(len(data["labels"]), 12)
        self.assertEqual(data["step_seconds"], 300)
        self.assertEqual(sum(series["received"]), 4)
        self.assertEqual(sum(series["applied"]), 3)
        self.assertEqual(series["backlog"][-1], 1, "the waiting event is in the last bucket's backlog")
        self.assertEqual(max(series["p95"]), 5.9)
        self.assertEqual(sum(series["exports"]), 1)
        self.assertEqual(data["latency_target"], 5 * 60, "the tightest target of the backend's policies")
        self.assertEqual(len(self.env["retail.cockpit"].get_backend_series(self.backend.id, "week")["labels"]), 28)
        orders_only = self.env["retail.cockpit"].get_backend_series(self.backend.id, "day", domain="inventory")
        self.assertEqual(sum(orders_only["series"]["received"]), 0)

    def test_each_row_has_a_sparkline_of_the_last_hour(self):
        now = fields.Datetime.now()
        self._event(self.backend, "sp1", "done", now - timedelta(minutes=1), seconds=1)
        self._event(self.backend, "sp2", "done", now - timedelta(minutes=2), seconds=1)
        self._event(self.backend, "sp3", "done", now - timedelta(minutes=50), seconds=1)
        self._event(self.backend, "sp4", "done", now - timedelta(minutes=90), seconds=1)
        card = next(c for c in self.env["retail.cockpit"].get_cockpit_cards() if c["backend_id"] == self.backend.id)
        orders = next(r for r in card["rows"] if r["domain"] == "orders")
        self.assertEqual(len(orders["spark"]), 12)
        self.assertEqual(orders["spark"][-1], 2, "the last five minutes, newest last")
        self.assertEqual(sum(orders["spark"]), 3, "nothing older than the hour")
