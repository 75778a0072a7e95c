# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A closed store day's card takings, settled as a payout of the store's backend.

Closing an Odoo POS session books each card payment method's takings as one payment whose
receipt waits in its outstanding account; the card acquirer then pays the day into the bank.
Each closed day becomes a payout (one movement per card payment method, matched to that
payment) taken by the finance policy's run like any channel's payouts, with its cut-off.
Cash stays out: it is counted in the session and deposited by the store.
"""

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.components.payout_matcher import PAYMENT_SOURCE
from odoo.addons.retail_connector_base.lib.canonical import Payout


class PosDayPayoutImporter(Component):
    """Store days closed in Odoo as payouts: the card payments of their sessions."""

    _name = "retail.pos.day.payout.importer"
    _inherit = "retail.payout.importer"
    _backend_type = "square"

    def _fetch_payouts(self, since, until):
        for day in self._closed_days():
            payout = self._day_payout(day)
            if payout:
                yield payout

    def _fetch_payout(self, external_id):
        for day in self._closed_days(settled=True):
            if day._payout_key() == external_id:
                return self._day_payout(day)
        raise ValueError("No closed store day of %s is payout %s." % (self.backend_record.name, external_id))

    def _closed_days(self, settled=False):
        """Return the store days whose session is closed and whose payout is not settled yet."""
        days = self.env["retail.pos.day"].search([
            ("backend_id", "=", self.backend_record.id), ("state", "!=", "open"), ("session_id.state", "=", "closed"),
        ], order="business_date, id")
        return days if settled else days.filtered(lambda d: d.payout_id.state != "matched")

    def _day_payout(self, day):
        """Return the canonical payout of a store day's card takings (None without any)."""
        session = day.session_id
        lines = []
        for payment in session.bank_payment_ids.filtered(lambda p: p.state != "draft" and p.move_id):
            if payment.pos_payment_method_id.is_cash_count:
                continue
            amount = payment.amount if payment.payment_type == "inbound" else -payment.amount
            lines.append({
                "external_id": "%s-%s" % (payment.pos_payment_method_id.id, payment.id),
                "type": "charge" if amount >= 0 else "refund",
                "amount": "%.*f" % (session.currency_id.decimal_places, amount),
                "fee": "0",
                "source_id": "%s%d" % (PAYMENT_SOURCE, payment.id),
                "extra": {"payment_method": payment.pos_payment_method_id.name},
            })
        if not lines:
            return None
        return Payout.from_dict({
            "external_id": day._payout_key(),
            "date": day.business_date.isoformat(),
            "currency": session.currency_id.name,
            "amount": "%.*f" % (session.currency_id.decimal_places, sum(float(line["amount"]) for line in lines)),
            "status": "paid",
            "lines": lines,
            "extra": {"store": day.store_id.name, "session": session.name},
        })
