# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import copy
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..lib.canonical import Order, Payout, Refund
from .common import INVOICED, OrderCase
from .flows import ChannelFlowCase
from .jobs import perform_pending_jobs
from .test_order_import import ORDER


def payout(external_id="PO-1", day="2026-11-25", lines=(), status="paid"):
    lines = [dict(line) for line in lines]
    for line in lines:
        line.setdefault("fee", "0")
    amount = sum(float(line["amount"]) - float(line["fee"]) for line in lines)
    return Payout.from_dict({"external_id": external_id, "date": day, "currency": "USD",
                             "amount": "%.2f" % amount, "status": status, "lines": lines})


@tagged("post_install", "-at_install")
class PayoutCase(OrderCase):
    PRODUCT = dict(INVOICED, list_price=9)
    STOCK = 50

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.backend.company_id
        cls.company.partner_id.tz = "UTC"
        cls.backend.strict_mappings = False

    def _sale(self, external_id="G1001", **changes):
        data = copy.deepcopy(ORDER)
        data.update(external_id=external_id, name="#" + external_id, shipping_lines=[], **changes)
        binding, _ = self._apply(data)
        return binding.odoo_id

    def _invoice(self, sale):
        invoice = sale._create_invoices()
        invoice.action_post()
        return invoice

    def _credit_note(self, order, amount):
        refund = Refund.from_dict({"external_id": "R-" + order, "order_external_id": order, "currency": "USD",
                                   "amount": amount, "created_at": "2026-11-21T09:00:00Z", "lines": []})
        with self.backend.work_on("retail.refund") as work:
            record, _ = work.component(usage="refund.writer").apply(refund)
        return record.credit_note_id

    @contextmanager
    def _importer(self, fetched=()):
        """The backend's payout importer with the channel's two methods answered from ``fetched``."""
        with self.backend.work_on("retail.payout") as work:
            importer = work.component(usage="payout.importer")
            cls = type(importer)
            by_id = {p.external_id: p for p in fetched}
            with patch.object(cls, "_fetch_payouts", lambda self, since, until: list(fetched)), \
                    patch.object(cls, "_fetch_payout", lambda self, external_id: by_id[external_id]):
                yield importer


class TestPayoutMatching(PayoutCase):
    """Charges to invoices, refunds to credit notes, fees to the expense account, the rest as exceptions."""

    def test_fees_refund_dispute_and_unknown_order(self):
        self.env["retail.sync.policy"].search([("backend_id", "=", self.backend.id)]).filtered(
            lambda p: p.domain == "returns").refund_action = "credit_note"
        first, second = self._sale("G1001"), self._sale("G1002")
        inv1, inv2 = self._invoice(first), self._invoice(second)
        note = self._credit_note("G1002", "10.00")
        self.assertEqual(note.state, "posted")
        lines = [
            {"external_id": "T1", "type": "charge", "amount": "40.00", "fee": "1.41", "order_external_id": "G1001"},
            {"external_id": "T2", "type": "charge", "amount": "40.00", "fee": "1.41", "order_external_id": "G1002"},
            {"external_id": "T3", "type": "refund", "amount": "-10.00", "order_external_id": "G1002"},
            {"external_id": "T4", "type": "dispute", "amount": "-40.00", "fee": "15.00", "order_external_id": "G1001"},
            {"external_id": "T5", "type": "charge", "amount": "5.00", "order_external_id": "G9999"},
        ]
        canonical = payout(lines=lines)
        with self._importer([canonical]) as importer:
            run = importer.run(until=datetime(2026, 11, 25, 23, 0))
        record = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(record), 1)
        self.assertEqual(record.state, "partial")
        self.assertAlmostEqual(record.amount, 17.18, places=2)
        by_id = {line.external_id: line for line in record.line_ids}
        self.assertEqual(by_id["T1"].match_state, "matched")
        self.assertEqual(by_id["T1"].invoice_id, inv1)
        self.assertEqual(by_id["T2"].invoice_id, inv2)
        self.assertEqual(by_id["T3"].invoice_id, note)
        self.assertEqual((by_id["T4"].match_state, by_id["T4"].exception_reason), ("exception", "no_account"))
        self.assertEqual((by_id["T5"].match_state, by_id["T5"].exception_reason), ("exception", "unknown_order"))
        self.assertEqual(inv1.payment_state, "paid")
        self.assertEqual(inv2.payment_state, "paid")
        self.assertEqual(note.payment_state, "paid")
        # the statement line: the payout's amount in the clearing journal, fees on the fee account
        st_line = record.statement_line_id
        self.assertEqual(st_line.journal_id, self.backend.payout_journal_id)
        self.assertEqual(st_line.journal_id.type, "bank")
        self.assertAlmostEqual(st_line.amount, 17.18, places=2)
        self.assertEqual(st_line.move_id.state, "posted")
        fee_lines = st_line.move_id.line_ids.filtered(lambda a: a.account_id == self.backend.payout_fee_account_id)
        self.assertAlmostEqual(sum(fee_lines.mapped("balance")), 17.82, places=2)
        _liquidity, suspense, _other = st_line._seek_for_lines()
        self.assertAlmostEqual(sum(suspense.mapped("balance")), 35.0, places=2)  # -(-40 + 5): dispute and unknown
        # the report: matched, unmatched by reason, amounts
        self.assertEqual(run.domain, "finance")
        self.assertEqual((run.payout_count, run.matched_count, run.unmatched_count), (1, 3, 2))
        self.assertAlmostEqual(run.fee_amount, 17.82, places=2)
        self.assertAlmostEqual(run.unmatched_amount, -35.0, places=2)
        self.assertEqual(sorted(run.line_ids.mapped("reason")), ["no_account", "unknown_order"])
        self.assertIn("Unknown order: 1", run.message)

        # the cause fixed, matching again posts the dispute on the same statement line
        dispute_account = self.env["account.account"].search(
            [("account_type", "=", "expense"), ("company_ids", "in", self.company.id)], limit=1)
        self.backend.payout_dispute_account_id = dispute_account
        record.action_match_again()
        self.assertEqual(by_id["T4"].match_state, "posted")
        self.assertEqual(record.statement_line_id, st_line)
        self.assertEqual(record.state, "partial")  # the unknown order is still unknown
        disputed = st_line.move_id.line_ids.filtered(lambda a: a.account_id == dispute_account and a.name.startswith("Dispute"))
        self.assertAlmostEqual(sum(disputed.mapped("balance")), 40.0, places=2)
        self.assertEqual(inv1.payment_state, "paid")

    def test_rerun_is_idempotent(self):
        sale = self._sale("G1001")
        invoice = self._invoice(sale)
        canonical = payout(lines=[{"external_id": "T1", "type": "charge", "amount": "40.00", "fee": "1.00",
                                   "order_external_id": "G1001"}])
        with self._importer([canonical]) as importer:
            importer.run(until=datetime(2026, 11, 25, 23, 0))
            importer.run(until=datetime(2026, 11, 26, 23, 0))
            importer.import_payout(canonical)
        records = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(records), 1)
        self.assertEqual(records.state, "matched")
        self.assertEqual(len(records.line_ids), 1)
        st_lines = self.env["account.bank.statement.line"].search([("journal_id", "=", self.backend.payout_journal_id.id)])
        self.assertEqual(len(st_lines), 1)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(len(invoice._get_reconciled_amls()), 1)

    def test_amount_mismatch_and_not_invoiced(self):
        self._invoice(self._sale("G1001"))
        self._sale("G1002")
        canonical = payout(lines=[
            {"external_id": "T1", "type": "charge", "amount": "39.00", "order_external_id": "G1001"},
            {"external_id": "T2", "type": "charge", "amount": "40.00", "order_external_id": "G1002"},
        ])
        with self._importer([canonical]) as importer:
            record = importer.import_payout(canonical)
        reasons = record.line_ids.mapped("exception_reason")
        self.assertEqual(reasons, ["amount_mismatch", "not_invoiced"])
        self.assertEqual(record.state, "exception")
        self.assertTrue(record.statement_line_id, "the money is on the bank line even if nothing matched")

    def test_a_payout_that_cannot_be_posted_is_recorded_and_the_others_go_on(self):
        self._invoice(self._sale("G1001"))
        broken = payout("PO-BAD", lines=[{"type": "charge", "amount": "40.00", "order_external_id": "G1001"}])
        good = payout("PO-OK", lines=[{"type": "charge", "amount": "40.00", "order_external_id": "G1001"}])
        with self._importer([broken, good]) as importer:
            matcher_class = type(importer.component(usage="payout.matcher"))
            real_settle = matcher_class.settle

            def settle(matcher, record, retry=False):
                if record.external_id == "PO-BAD":
                    raise UserError("The clearing journal has no suspense account.")
                return real_settle(matcher, record, retry=retry)

            with patch.object(matcher_class, "settle", settle):
                run = importer.run(until=datetime(2026, 11, 25, 23, 0))
        self.assertEqual(run.payout_ids.mapped("external_id"), ["PO-OK"])
        failed = run.line_ids.filtered(lambda line: line.action == "failed")
        self.assertEqual(failed.key, "PO-BAD")
        self.assertIn("no suspense account", failed.message)
        self.assertFalse(self.env["retail.payout"].search([("external_id", "=", "PO-BAD")]))

    def test_unpaid_payout_waits(self):
        canonical = payout(status="in_transit", lines=[{"type": "charge", "amount": "40.00", "order_external_id": "G1"}])
        with self._importer([canonical]) as importer:
            record = importer.import_payout(canonical)
        self.assertEqual((record.state, record.exception_reason), ("draft", "not_paid"))
        self.assertFalse(record.statement_line_id)


class TestPayoutCutoffAndLocks(PayoutCase):
    def test_cutoff_and_checkpoint(self):
        self._invoice(self._sale("G1001"))
        self._invoice(self._sale("G1002"))
        early = payout("PO-A", "2026-11-25", [{"type": "charge", "amount": "40.00", "order_external_id": "G1001"}])
        late = payout("PO-B", "2026-11-26", [{"type": "charge", "amount": "40.00", "order_external_id": "G1002"}])
        policy = self.backend.policy_for("finance")
        policy.cutoff_hour = 23.0
        seen = []
        with self._importer([early, late]) as importer:
            cls = type(importer)
            with patch.object(cls, "_fetch_payouts", lambda self, since, until: seen.append((since, until)) or [early, late]):
                self.assertEqual(importer._last_cutoff(policy, now=datetime(2026, 11, 26, 10, 0)),
                                 datetime(2026, 11, 25, 23, 0))
                first = importer.run(until=datetime(2026, 11, 25, 23, 0))
                self.assertEqual(first.payout_ids.mapped("external_id"), ["PO-A"])
                self.assertEqual(policy.checkpoint, datetime(2026, 11, 25, 23, 0))
                self.assertIn("1 after the cut-off", first.message)
                second = importer.run(until=datetime(2026, 11, 26, 23, 0))
        self.assertEqual(second.payout_ids.mapped("external_id"), ["PO-B"])
        self.assertIn("1 settled already", second.message)
        self.assertEqual(seen[0], (None, datetime(2026, 11, 25, 23, 0)))
        self.assertEqual(seen[1][0], datetime(2026, 11, 25, 23, 0) - timedelta(minutes=policy.overlap_minutes))
        payouts = self.env["retail.payout"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(payouts.mapped("state")), {"matched"})

    def test_locked_period_is_an_exception_not_an_error(self):
        self._invoice(self._sale("G1001"))
        self.env.flush_all()  # the order's transfer is dated in the period about to be locked
        self.company.fiscalyear_lock_date = date(2026, 11, 30)
        canonical = payout(lines=[{"type": "charge", "amount": "40.00", "order_external_id": "G1001"}])
        with self._importer([canonical]) as importer:
            run = importer.run(until=datetime(2026, 11, 30, 23, 0))
        record = run.payout_ids
        self.assertEqual((record.state, record.exception_reason), ("exception", "period_locked"),
                         run.line_ids.mapped("message"))
        self.assertFalse(record.statement_line_id)
        self.assertIn("locked", record.message)
        self.assertEqual(run.line_ids.mapped("reason"), ["period_locked"])
        # the lock lifted, the next run settles it
        self.company.fiscalyear_lock_date = False
        with self._importer([]) as importer:
            importer.run(until=datetime(2026, 12, 1, 23, 0))
        self.assertEqual(record.state, "matched")


class TestInvoicingPolicy(PayoutCase):
    def _payout_of(self, order="G1001", amount="40.00"):
        canonical = payout(lines=[{"external_id": "T1", "type": "charge", "amount": amount, "fee": "1.00",
                                   "order_external_id": order}])
        with self._importer([canonical]) as importer:
            return importer.import_payout(canonical)

    def test_on_import_invoices_and_registers_the_channel_payment(self):
        self.backend.invoice_policy = "on_import"
        sale = self._sale("G1001", payments=[{"external_id": "PAY-1", "kind": "sale", "status": "success",
                                              "amount": "40.00", "currency": "USD"}])
        invoice = sale.invoice_ids
        self.assertEqual((invoice.move_type, invoice.state), ("out_invoice", "posted"))
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        payment = invoice.matched_payment_ids | invoice._get_reconciled_payments()
        self.assertEqual(payment.journal_id, self.backend.payout_journal_id)
        # the payout then settles the payment's outstanding receipt
        record = self._payout_of()
        self.assertEqual(record.state, "matched")
        self.assertEqual(record.line_ids.payment_id, payment)
        self.assertTrue(payment.is_reconciled)

    def test_on_import_pending_payment_registers_nothing(self):
        self.backend.invoice_policy = "on_import"
        sale = self._sale("G1001", payment_state="pending")
        self.assertEqual(sale.invoice_ids.payment_state, "not_paid")

    def test_on_ship_invoices_the_delivery(self):
        self.backend.invoice_policy = "on_ship"
        sale = self._sale("G1001")
        self.assertFalse(sale.invoice_ids)
        picking = sale.picking_ids
        picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        invoice = sale.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertAlmostEqual(invoice.amount_total, 40.0, places=2)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_on_ship_failure_leaves_the_delivery_done_and_says_why(self):
        self.backend.invoice_policy = "on_ship"
        sale = self._sale("G1001")
        with self.backend.work_on("retail.sale.order.binding") as work:
            invoicer_class = type(work.component(usage="order.invoicer"))
        picking = sale.picking_ids
        picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        with patch.object(invoicer_class, "invoice", side_effect=UserError("No income account on Mug")):
            picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertFalse(sale.invoice_ids)
        self.assertIn("No income account on Mug", sale.message_ids[:1].body)

    def test_at_payout_invoices_when_the_charge_is_settled(self):
        self.backend.invoice_policy = "at_payout"
        sale = self._sale("G1001")
        self.assertFalse(sale.invoice_ids)
        record = self._payout_of()
        invoice = sale.invoice_ids
        self.assertEqual(record.state, "matched")
        self.assertEqual(record.line_ids.invoice_id, invoice)
        self.assertEqual(invoice.invoice_date, date(2026, 11, 25))
        self.assertEqual(invoice.payment_state, "paid")

    def test_never_leaves_the_charge_unmatched(self):
        self.backend.invoice_policy = "never"
        sale = self._sale("G1001")
        record = self._payout_of()
        self.assertFalse(sale.invoice_ids)
        self.assertEqual(record.line_ids.exception_reason, "not_invoiced")


class TestPayoutEvents(PayoutCase):
    def test_payout_event_imports_through_the_importer(self):
        self._invoice(self._sale("G1001"))
        canonical = payout("PO-EV", lines=[{"type": "charge", "amount": "40.00", "order_external_id": "G1001"}])
        event = self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "payout.paid", "domain": "finance", "aggregate_type": "payout",
            "aggregate_key": "PO-EV", "idempotency_key": "evt-1", "payload": '{"id": "PO-EV"}', "state": "queued",
        })
        with self._importer([canonical]):
            outcome = event._apply_one()
        self.assertEqual(outcome, "created", event.last_error)
        self.assertEqual(event.res_model, "retail.payout")
        self.assertEqual(self.env["retail.payout"].browse(event.res_id).state, "matched")


@tagged("post_install", "-at_install")
class TestGenericPayoutsOverHttp(ChannelFlowCase):
    """The generic channel's payouts, read by the finance run and announced by webhook, over real HTTP."""

    SKUS = ("RC-PAY-A", "RC-PAY-B")
    PRODUCT = {"type": "consu", "list_price": 10, "invoice_policy": "order", "taxes_id": [(5, 0, 0)]}
    PRICELIST = None
    COMPANY_CURRENCY = "base.USD"
    STOCK = 0

    def setUp(self):
        super().setUp()
        from simulators.generic import GenericChannel  # noqa: PLC0415

        self.backend = self._channel_backend(
            name="Generic payouts", backend_type="generic", api_secret="pay-token", webhook_secret="pay-secret",
            invoice_policy="at_payout", warehouse_id=False,
        )
        catalogue = [{"sku": p.default_code, "name": p.name, "price": "10.00"} for p in self.products]
        self.channel = self._start(GenericChannel(
            token="pay-token", currency="USD", tax_rate="0", catalogue=catalogue,
            webhook_url=self._webhook_url(self.backend), webhook_secret="pay-secret",
        ))
        self.backend.endpoint_url = self.channel.url
        self.backend.policy_for("finance").cutoff_hour = 0

    def _order(self):
        order = self.channel.place_order(notify=False, shipping_lines=[])
        with self.backend.work_on("retail.sale.order.binding") as work:
            binding, _ = work.component(usage="order.writer").apply(Order.from_dict(order))
        return order, binding.odoo_id

    def test_finance_run_and_payout_webhook(self):
        order, sale = self._order()
        issued = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.channel.add_payout([
            {"type": "charge", "amount": "%.2f" % sale.amount_total, "fee": "0.60", "order_external_id": order["external_id"]},
            {"type": "fee", "amount": "-1.00"},
        ], external_id="PO-1", issued_at=issued)
        summary = self.backend._run_scheduled_domain("finance")
        self.assertIn("payouts: 1 payout(s)", summary)
        first = self.env["retail.payout"].search([("backend_id", "=", self.backend.id), ("external_id", "=", "PO-1")])
        self.assertEqual(first.state, "matched", first.line_ids.mapped("message"))
        self.assertEqual(sale.invoice_ids.payment_state, "paid", "invoiced at payout and settled by it")
        self.assertIn("until", self.channel.calls_to("GET", "/api/v1/payouts")[0].query)

        # a payout announced by webhook is fetched and settled through the inbox (event-driven: as it comes;
        # a scheduled batch would keep it for its run)
        self.backend.policy_for("finance").mode = "event"
        order2, sale2 = self._order()
        self.channel.add_payout([{"type": "charge", "amount": "%.2f" % sale2.amount_total,
                                  "order_external_id": order2["external_id"]}], external_id="PO-2", notify=True)
        perform_pending_jobs(self.env)
        event = self.env["retail.event"].search([("backend_id", "=", self.backend.id), ("topic", "=", "payouts/paid")])
        self.assertEqual((event.state, event.outcome), ("done", "created"), event.last_error)
        second = self.env["retail.payout"].browse(event.res_id)
        self.assertEqual((second.external_id, second.state), ("PO-2", "matched"))
        self.assertTrue(self.channel.calls_to("GET", "/api/v1/payouts/PO-2"))
        self.assertEqual(sale2.invoice_ids.payment_state, "paid")

    def test_a_finance_run_the_rate_limit_stops_continues_from_its_page_in_a_later_job(self):
        from ..components.payout_importer import GenericPayoutImporter  # noqa: PLC0415

        issued = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sales = []
        for number in (1, 2):
            order, sale = self._order()
            sales.append(sale)
            self.channel.add_payout([{"type": "charge", "amount": "%.2f" % sale.amount_total,
                                      "order_external_id": order["external_id"]}],
                                    external_id="PO-R%d" % number, issued_at=issued)
        # one page's token now, the next in ten seconds; a payout a page
        key = self.backend._outbound_bucket()
        self.backend.write({"rate_limit_rps": 0.1, "rate_limit_burst": 1})
        with self.env.registry.cursor() as cr:
            cr.execute("""
                INSERT INTO retail_rate_bucket (key, tokens, stamp, last_granted)
                VALUES (%s, 1, extract(epoch from clock_timestamp()), false)
                ON CONFLICT (key) DO UPDATE SET tokens = 1, stamp = extract(epoch from clock_timestamp())
            """, (key,))
        backend = self.backend.with_context(queue_job__no_delay=False, job_uuid="finance-run")
        with patch.object(GenericPayoutImporter, "_page_limit", 1):
            summary = backend._run_scheduled_domain("finance")
            self.assertIn("Paused by the rate limit", summary)
            run = self.env["retail.reconciliation.run"].search(
                [("backend_id", "=", self.backend.id), ("domain", "=", "finance")])
            self.assertEqual((len(run), run.state), (1, "running"))
            self.assertTrue(run.resume_at and run.paused_reads["retail.generic.payout.importer"]["cursor"])
            self.assertEqual(len(run.payout_ids), 1, "the first page's payout is settled and kept")
            self.assertEqual(len(self.channel.calls_to("GET", "/api/v1/payouts")), 1)
            # the next scheduled run meanwhile starts no second one
            backend._run_scheduled_domain("finance")
            self.assertEqual(self.env["retail.reconciliation.run"].search_count(
                [("backend_id", "=", self.backend.id), ("domain", "=", "finance")]), 1)

            with self.env.registry.cursor() as cr:
                cr.execute("UPDATE retail_rate_bucket SET tokens = 100 WHERE key = %s", (key,))
            self.backend.write({"rate_limit_rps": 100, "rate_limit_burst": 100})
            perform_pending_jobs(self.env, method="_continue_reads")
        self.assertEqual((run.state, run.resume_at, run.payout_count), ("done", False, 2), run.message)
        self.assertEqual(sorted(run.payout_ids.mapped("external_id")), ["PO-R1", "PO-R2"])
        self.assertEqual(set(run.payout_ids.mapped("state")), {"matched"})
        self.assertEqual([s.invoice_ids.payment_state for s in sales], ["paid", "paid"])
        pages = [call.query.get("cursor") for call in self.channel.calls_to("GET", "/api/v1/payouts")]
        self.assertEqual(len(pages), len(set(map(str, pages))), "no page read twice")
        self.assertTrue(self.backend.policy_for("finance").checkpoint)
