# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime

from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError

from .flows import GenericChannelCase, numbered_catalogue
from .jobs import perform_pending_jobs


class OutboundCase(GenericChannelCase):
    """A generic channel's simulator, a backend selling 100 products from the main warehouse."""

    SKUS = numbered_catalogue("OUT-%03d", "Item %03d", 100)
    TOKEN = "out-token"
    BACKEND = {"name": "Outbound test", "failure_threshold": 3}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.supplier = cls.env.ref("stock.stock_location_suppliers")

    def _receive(self, moves_per_product, products=None):
        """Receive goods into stock with one done move per unit (a burst of stock changes)."""
        products = products or self.products
        moves = self.env["stock.move"].create(
            [
                {"product_id": p.id, "product_uom_qty": 1, "location_id": self.supplier.id, "location_dest_id": self.stock.id,
                 "product_uom": p.uom_id.id}
                for p in products
                for _i in range(moves_per_product)
            ]
        )
        moves._action_confirm()
        for move in moves:
            move.quantity = 1
        moves.picked = True
        moves._action_done()
        return moves

    def _pending(self, domain="inventory"):
        return self.env["retail.export.request"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", domain), ("state", "=", "pending")]
        )


@tagged("post_install", "-at_install")
class TestOutbound(OutboundCase):
    """Odoo changes reach the channel coalesced, rate limited, and survive a failing channel."""

    def setUp(self):
        super().setUp()
        self.backend.policy_for("pricing").mode = "event"  # the generic channel's default is a daily batch

    def test_a_burst_of_1000_moves_over_100_skus_is_one_bulk_call(self):
        self._receive(10)
        pending = self._pending()
        self.assertEqual(len(pending), 100, "one pending export per SKU")
        # each receipt move changes free stock twice: reserved, then done
        self.assertEqual(sum(pending.mapped("changes")), 2000)
        flush_jobs = self.env["queue.job"].search([("method_name", "=", "_flush_exports"), ("state", "=", "pending")])
        self.assertEqual(len(flush_jobs), 1, "one flush job for the burst")
        perform_pending_jobs(self.env)
        calls = self.channel.calls_to("POST", "/api/v1/stock/batch")
        self.assertEqual(len(calls), 1, "100 SKUs fit one bulk call")
        items = calls[0].json()["items"]
        self.assertEqual(len(items), 100)
        self.assertEqual({i["quantity"] for i in items}, {10})
        self.assertEqual(self.channel.stock_level("OUT-007", self.warehouse.code), 10)
        self.assertFalse(self._pending())

    def test_the_debounce_is_short_when_calm_and_paced_under_a_burst(self):
        policy = self.backend.policy_for("inventory")
        policy.debounce_seconds = 2.0
        self.assertEqual(policy._flush_delay(), 0.5, "calm: no flush yet")
        self._receive(1, self.products[:1])
        [job] = self.env["queue.job"].search([("method_name", "=", "_flush_exports"), ("state", "=", "pending")])
        self.assertAlmostEqual((job.eta - datetime.utcnow()).total_seconds(), 0.5, delta=0.4,
                               msg="the job waits the calm debounce, to a fraction of a second")
        perform_pending_jobs(self.env)
        clock = self.env["retail.export.flush"].search([("backend_id", "=", self.backend.id), ("domain", "=", "inventory")])
        self.assertTrue(clock.started_at and clock.ended_at)

        def began(seconds_ago):
            self.env.cr.execute("UPDATE retail_export_flush SET started_at = now() at time zone 'UTC' - %s * interval '1 second' "
                                "WHERE id = %s", (seconds_ago, clock.id))

        began(0.2)
        self.assertAlmostEqual(policy._flush_delay(), 1.3, places=3,
                               msg="burst: three quarters of the target after the last began")
        began(1.5)
        self.assertEqual(policy._flush_delay(), 0.0, "burst, the pace is past: at once")
        began(5)
        self.assertEqual(policy._flush_delay(), 0.5, "calm again")
        self.assertAlmostEqual(policy._flush_delay(since=0.5), 1.0, places=3,
                               msg="a flush ending paces the next from its own start, not from the clock its "
                               "transaction read before the start was recorded")
        policy.debounce_seconds = 0.2
        self.assertEqual(policy._flush_delay(), 0.2, "never longer than the target")

    def test_available_to_sell_keeps_buffer_and_caps(self):
        product = self.products[0]
        self._receive(20, product)
        with self.backend.work_on("retail.backend") as work:
            ats = work.component(usage="availability").available_to_sell
        self.assertEqual(ats(product)[product.id], 20)
        self.backend.stock_buffer = 3
        self.assertEqual(ats(product)[product.id], 17)
        self.backend.stock_max_percent = 50
        self.assertEqual(ats(product)[product.id], 10)
        self.backend.stock_max_qty = 4
        self.assertEqual(ats(product)[product.id], 4)
        self.backend.write({"stock_buffer": 50, "stock_max_percent": 0, "stock_max_qty": 0})
        self.assertEqual(ats(product)[product.id], 0, "never negative")

    def test_failing_channel_degrades_the_backend_and_it_recovers_by_itself(self):
        self.channel.inject("POST", "/api/v1/stock/batch", status=503, times=3)
        self.channel.inject("GET", "/api/v1/ping", status=503, times=1)
        self._receive(1, self.products[:5])
        log = perform_pending_jobs(self.env, max_rounds=3, method="_flush_exports")
        self.assertEqual(self.backend.state, "degraded")
        self.assertEqual(len(log), 3, log)
        self.assertEqual(len(self._pending()), 5, "exports wait, they are not failed")
        self.assertTrue(self.env["queue.job"].search([("method_name", "=", "_probe"), ("state", "=", "pending")]))
        # while degraded a flush sends nothing
        self.assertIn("waiting", self.backend._flush_exports("inventory"))
        # the first probe still fails, the next one finds the channel healed and resumes
        perform_pending_jobs(self.env, max_rounds=1, method="_probe")
        self.assertEqual(self.backend.state, "degraded")
        perform_pending_jobs(self.env)
        self.assertEqual(self.backend.state, "ok")
        self.assertFalse(self._pending())
        self.assertEqual(self.channel.stock_level("OUT-003", self.warehouse.code), 1)

    def test_a_429_waits_without_a_retry_and_a_failure_opening_the_circuit_ends_the_job(self):
        self.channel.inject("POST", "/api/v1/stock/batch", status=429, retry_after=1, times=1)
        self._receive(1, self.products[:2])
        log = perform_pending_jobs(self.env, max_rounds=1, method="_flush_exports")
        self.assertIsInstance(log[-1][1], RetryableJobError)
        job = self.env["queue.job"].search([("method_name", "=", "_flush_exports")], order="id desc", limit=1)
        self.assertEqual((job.state, job.retry), ("pending", 0), "a 429 is not a failed attempt")
        # the channel's Retry-After (1 s) emptied the bucket: until then the job gives its worker back, sending nothing
        log = perform_pending_jobs(self.env, max_rounds=1, method="_flush_exports")
        self.assertIn("Rate limit", str(log[-1][1]))
        self.assertEqual(len(self._pending()), 2)
        # the Retry-After over (the bucket's clock set back rather than waited for), the next run sends them
        with self.env.registry.cursor() as cr:
            cr.execute("UPDATE retail_rate_bucket SET stamp = stamp - 2 WHERE key = %s", ("outbound:%d" % self.backend.id,))
        log = perform_pending_jobs(self.env, method="_flush_exports")
        self.assertFalse(self._pending(), log)
        # a failure that opens the circuit ends the job: its exports wait for the probe, nothing fails
        self.backend.failure_threshold = 1
        self.channel.inject("POST", "/api/v1/stock/batch", status=503, times=1)
        self._receive(2, self.products[:2])
        log = perform_pending_jobs(self.env, max_rounds=1, method="_flush_exports")
        self.assertIn("backend degraded", log[-1][1])
        self.assertEqual(self.backend.state, "degraded")
        self.assertEqual(len(self._pending()), 2)
        self.assertFalse(self.env["queue.job"].search([("method_name", "=", "_flush_exports"), ("state", "=", "failed")]))

    def test_claims_left_by_flushes_that_died_become_one_pending_request_per_record(self):
        requests = self.env["retail.export.request"]
        item, other = self.products[:2]
        requests._request(self.backend, "inventory", item | other)
        first = requests._claim(self.backend, "inventory")  # a flush claims both, then its worker dies
        requests._request(self.backend, "inventory", item)
        requests._request(self.backend, "inventory", item)
        second = requests._claim(self.backend, "inventory")  # the next flush claims the newer one and dies too
        self.assertEqual((len(first), len(second)), (2, 1))
        requests._request(self.backend, "inventory", other)  # a change made since: a pending twin
        self.env.cr.execute("UPDATE retail_export_request SET write_date = now() at time zone 'UTC' - interval '1 hour' "
                            "WHERE id IN %s", (tuple(first + second),))
        requests._cron_sweep()
        mine = requests.search([("backend_id", "=", self.backend.id), ("domain", "=", "inventory")])
        self.assertEqual(mine.mapped("state"), ["pending", "pending"], "nothing left sending, one request per record")
        self.assertEqual({r.res_id: r.changes for r in mine}, {item.id: 3, other.id: 2},
                         "each pending request stands for every change it replaced")
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.stock_level(item.default_code, self.warehouse.code), 0)
        self.assertFalse(self._pending())

    def test_paused_domain_keeps_its_exports_until_resumed(self):
        policy = self.backend.policy_for("inventory")
        policy.action_pause()
        self._receive(1, self.products[:2])
        perform_pending_jobs(self.env)
        self.assertFalse(self.channel.calls_to("POST", "/api/v1/stock/batch"))
        self.assertEqual(len(self._pending()), 2)
        policy.action_resume()
        perform_pending_jobs(self.env)
        self.assertEqual(len(self.channel.calls_to("POST", "/api/v1/stock/batch")), 1)

    def test_channel_validation_error_fails_the_export_with_its_message(self):
        nosku = self.env["product.product"].create({"name": "No SKU", "type": "consu", "is_storable": True})
        self._receive(1, nosku)
        perform_pending_jobs(self.env)
        request = self.env["retail.export.request"].search([("backend_id", "=", self.backend.id), ("res_id", "=", nosku.id)])
        self.assertEqual(request.state, "failed")
        self.assertIn("has no internal reference", request.last_error)

    def test_reconciliation_repairs_lost_exports_to_zero_drift(self):
        self._receive(4, self.products[:3])
        perform_pending_jobs(self.env)
        # exports "lost": the channel shows other quantities and prices
        self.channel.set_stock_level("OUT-001", self.warehouse.code, 99, notify=False)
        self.channel.set_stock_level("OUT-002", self.warehouse.code, 0, notify=False)
        run = self.backend._reconcile("inventory")
        self.assertEqual((run.state, run.checked, run.difference_count, run.repaired), ("done", 3, 2, 2))
        self.assertEqual(set(run.line_ids.mapped("kind")), {"quantity_drift"})
        perform_pending_jobs(self.env)
        self.assertEqual(self.backend._reconcile("inventory").difference_count, 0, "zero drift after the repair")

        # a scheduled batch: its run sends what changed, reconciles, and sends the repairs in the same pass
        self.backend.policy_for("pricing").write({"mode": "batch"})
        self.env["retail.export.request"]._request(self.backend, "pricing", self.products[:3])
        perform_pending_jobs(self.env)
        self.assertFalse(self.channel.price_of("OUT-000"), "nothing before the run")
        self.backend._run_scheduled_domain("pricing")
        self.assertEqual(self.channel.price_of("OUT-000")["price"], "10.00")
        self.products[1].with_context(connector_no_export=True).list_price = 42
        self.backend._run_scheduled_domain("pricing")
        run = self.env["retail.reconciliation.run"].search([("backend_id", "=", self.backend.id),
                                                            ("domain", "=", "pricing")], order="id desc", limit=1)
        self.assertEqual((run.difference_count, run.line_ids.kind), (1, "price_drift"))
        self.assertEqual(self.channel.price_of("OUT-001")["price"], "42.00", "repaired within the run")
        self.assertEqual(self.backend._reconcile("pricing").difference_count, 0)

    def test_price_change_is_exported_but_changes_from_the_connector_are_not_echoed(self):
        self.products[5].list_price = 55
        self.assertEqual(len(self._pending("pricing")), 1)
        self.products[6].with_context(connector_no_export=True).list_price = 66
        self.assertEqual(len(self._pending("pricing")), 1)
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OUT-005")["price"], "55.00")

    def test_pricelist_rule_change_sends_the_prices_it_governs(self):
        pricelist = self.env["product.pricelist"].create({"name": "Channel prices", "currency_id": self.env.company.currency_id.id})
        self.backend.write({"pricelist_id": pricelist.id})
        self.backend.policy_for("pricing").mode = "event"
        product = self.products[9]
        self.env["product.pricelist.item"].create(
            {"pricelist_id": pricelist.id, "applied_on": "0_product_variant", "product_id": product.id,
             "compute_price": "fixed", "fixed_price": 7.5}
        )
        self.assertEqual(self._pending("pricing").mapped("res_id"), [product.id])
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OUT-009")["price"], "7.50")
        self.assertEqual(self.channel.price_of("OUT-009")["compare_at_price"], "19.00")

    def test_a_429_empties_the_shared_bucket_for_every_worker(self):
        self.channel.inject("POST", "/api/v1/stock/batch", status=429, retry_after=30, times=1)
        self._receive(1, self.products[:1])
        log = perform_pending_jobs(self.env, max_rounds=1)
        self.assertIn("429", str(log[0][1]))
        wait = self.env["retail.rate.bucket"]._take("outbound:%d" % self.backend.id, 1000, 1000)
        self.assertGreater(wait, 0, "no token before the channel's Retry-After")
        self.assertEqual(self.backend.state, "ok", "a rate limit is not a transport failure")

    def test_delivery_of_a_channel_order_is_sent_as_a_shipment_and_cancel_goes_back(self):
        from simulators.generic import GenericChannel  # noqa: PLC0415

        from ..lib.canonical import Order  # noqa: PLC0415

        self.env.company.currency_id = self.env.ref("base.USD")
        catalogue = [{"sku": p.default_code, "name": p.name, "price": "10.00"} for p in self.products[:2]]
        channel = GenericChannel(token="out-token", currency="USD", tax_rate="0", catalogue=catalogue).start()
        self.addCleanup(channel.stop)
        self.backend.endpoint_url = channel.url
        self._receive(5, self.products[:2])
        perform_pending_jobs(self.env)
        shipped, cancelled = channel.place_order(notify=False), channel.place_order(notify=False)
        with self.backend.work_on("retail.sale.order.binding") as work:
            writer = work.component(usage="order.writer")
            sale = writer.apply(Order.from_dict(shipped))[0].odoo_id.with_env(self.env)
            other = writer.apply(Order.from_dict(cancelled))[0].odoo_id.with_env(self.env)
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "TRK-42"
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        other._action_cancel()
        perform_pending_jobs(self.env)
        [shipment] = channel.shipments
        self.assertEqual(shipment["order_id"], shipped["external_id"])
        self.assertEqual(shipment["tracking_numbers"], ["TRK-42"])
        self.assertEqual(channel.get_order(shipped["external_id"])["fulfillment_status"], "fulfilled")
        self.assertEqual(channel.get_order(cancelled["external_id"])["status"], "cancelled")


@tagged("post_install", "-at_install")
class TestSyncModes(OutboundCase):
    """A policy's mode decides when Odoo's changes reach the channel, and what happens to the channel's events."""

    def _flush_jobs(self, domain):
        return self.env["queue.job"].search([("method_name", "=", "_flush_exports"), ("state", "=", "pending"),
                                             ("identity_key", "=", "retail-flush-%d-%s" % (self.backend.id, domain))])

    def _price_calls(self):
        return self.channel.calls_to("POST", "/api/v1/prices/batch")

    def test_real_time_sends_at_once_in_a_job_channel_of_its_own(self):
        self.backend.policy_for("pricing").mode = "realtime"
        self.products[0].list_price = 21
        [job] = self._flush_jobs("pricing")
        self.assertEqual(job.channel, "root.retail.realtime")
        self.assertLessEqual(job.eta or datetime.utcnow(), datetime.utcnow(), "no debounce")
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OUT-000")["price"], "21.00")

    def test_event_gathers_a_burst_into_one_bulk_call_after_the_debounce(self):
        self.backend.policy_for("pricing").mode = "event"
        for product in self.products[:20]:
            product.list_price += 1
        [job] = self._flush_jobs("pricing")
        self.assertEqual(job.channel, "root.retail.pricing")
        self.assertGreater(job.eta, job.date_created, "waits the debounce")
        perform_pending_jobs(self.env)
        [call] = self._price_calls()
        self.assertEqual(len(call.json()["items"]), 20)

    def test_batch_sends_nothing_until_its_run_then_everything_changed_in_one_pass(self):
        policy = self.backend.policy_for("inventory")
        policy.mode = "batch"
        self._receive(3, self.products[:30])
        self.assertFalse(self._flush_jobs("inventory"), "no flush per change")
        self.assertEqual(len(self._pending()), 30)
        self.env.cr.execute("UPDATE retail_export_request SET write_date = write_date - interval '1 hour' "
                            "WHERE backend_id = %s", (self.backend.id,))
        self.env["retail.export.request"]._cron_sweep()
        perform_pending_jobs(self.env)
        self.assertFalse(self.channel.calls_to("POST", "/api/v1/stock/batch"), "the sweep leaves them for the run")
        policy._cron_run(policy.id)
        perform_pending_jobs(self.env)
        [call] = self.channel.calls_to("POST", "/api/v1/stock/batch")
        self.assertEqual(len(call.json()["items"]), 30, "every SKU changed since the last run, in one call")
        self.assertEqual(self.channel.stock_level("OUT-029", self.warehouse.code), 3)
        self.assertFalse(self._pending())

    def test_off_sends_nothing(self):
        self.backend.policy_for("pricing").mode = "off"
        self.products[0].list_price = 33
        self.assertFalse(self._pending("pricing"))
        perform_pending_jobs(self.env)
        self.assertFalse(self._price_calls())

    def test_leaving_batch_sends_what_waited_and_the_audit_log_keeps_the_change(self):
        policy = self.backend.policy_for("pricing")
        policy.mode = "batch"
        self.products[:3].write({"list_price": 44})
        perform_pending_jobs(self.env)
        self.assertFalse(self._price_calls())
        policy.mode = "realtime"
        perform_pending_jobs(self.env)
        self.assertEqual(len(self._price_calls()), 1)
        self.assertEqual(self.channel.price_of("OUT-002")["price"], "44.00")
        log = self.env["retail.audit.log"].search([("res_model", "=", "retail.sync.policy"), ("res_id", "=", policy.id)],
                                                  order="id desc", limit=1)
        self.assertIn("Mode: batch → realtime", log.changes)

    def test_a_flush_queued_before_the_policy_became_batch_leaves_the_exports_for_the_run(self):
        policy = self.backend.policy_for("pricing")
        policy.mode = "event"
        self.products[0].list_price = 12
        self.assertTrue(self._flush_jobs("pricing"))
        policy.mode = "batch"
        perform_pending_jobs(self.env)
        self.assertFalse(self._price_calls())
        self.assertEqual(len(self._pending("pricing")), 1)
