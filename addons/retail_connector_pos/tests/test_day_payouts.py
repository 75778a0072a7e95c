# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime

from odoo.tests import tagged

from .common import StoreCase


@tagged("post_install", "-at_install")
class TestDayPayouts(StoreCase):
    """A closed store day's card takings become a payout matched to the session's card payment."""

    def _close(self, day):
        session = day.session_id
        if session.config_id.cash_control:
            session.cash_register_balance_end_real = session.cash_register_balance_end
        session.action_pos_session_closing_control()
        day.state = "closed"

    def _run(self, until):
        with self.backend.work_on("retail.payout") as work:
            return work.component(usage="payout.importer").run(until=until)

    def test_card_takings_settle_the_session_payment_and_cash_stays_out(self):
        self.env.company.partner_id.tz = "UTC"
        self._book(self._sale("S1", [("POS-MUG", 2, "10.00")], [("CASH", "5.00"), ("CARD", "15.00")], total="20.00"))
        self._book(self._sale("S2", [("POS-CAP", 1, "15.00")], [("CARD", "15.00")], total="15.00"))
        day = self.env["retail.pos.day"].search([("store_id", "=", self.store.id)])
        # an open day is not settled: its takings are not final
        self.assertEqual(self._run(datetime(2026, 11, 21, 23, 0)).payout_count, 0)
        self._close(day)
        card_payment = day.session_id.bank_payment_ids.filtered(lambda p: p.pos_payment_method_id == self.card)
        self.assertAlmostEqual(card_payment.amount, 30.0)
        # the cut-off is before the day: nothing yet
        self.assertEqual(self._run(datetime(2026, 11, 19, 23, 0)).payout_count, 0)
        run = self._run(datetime(2026, 11, 21, 23, 0))
        payout = day.payout_id
        self.assertEqual(run.payout_ids, payout)
        self.assertEqual((payout.external_id, str(payout.date)), ("LOC-BXL-2026-11-20", "2026-11-20"))
        self.assertAlmostEqual(payout.amount, 30.0, msg="card only: the 5.00 cash is deposited by the store")
        self.assertEqual(payout.state, "matched", payout.line_ids.mapped("message"))
        self.assertEqual(payout.line_ids.payment_id, card_payment)
        self.assertTrue(card_payment.is_reconciled)
        self.assertEqual(payout.statement_line_id.journal_id, self.backend.payout_journal_id)
        # the next run finds nothing new to settle
        again = self._run(datetime(2026, 11, 22, 23, 0))
        self.assertEqual(again.payout_count, 0)
        self.assertEqual(self.env["retail.payout"].search_count([("backend_id", "=", self.backend.id)]), 1)
