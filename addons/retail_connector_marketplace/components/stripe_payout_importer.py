# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta

from odoo.addons.component.core import Component

from ..lib.stripe.mapping import payout_to_canonical


class StripePayoutImporter(Component):
    """Stripe payouts with the balance transactions each paid out; orders from their charges' metadata."""

    _name = "retail.stripe.payout.importer"
    _inherit = "retail.payout.importer"
    _backend_type = "stripe"
    _resume = "cursor"  # the last payout imported: the list continues after it (``starting_after``)

    def _fetch_payouts(self, since, until):
        client = self.component(usage="backend.adapter").client()
        # by arrival date: the payout's date, what the cut-off compares
        arrival_to = (until - timedelta(seconds=1)) if until else None
        for payout in client.iter_payouts(arrival_from=since, arrival_to=arrival_to, starting_after=self._page_cursor):
            yield self._canonical(client, payout)
            self._keep_cursor(payout["id"])  # imported: a read that stops after it continues with the next one

    def _fetch_payout(self, external_id):
        client = self.component(usage="backend.adapter").client()
        return self._canonical(client, client.get_payout(external_id))

    def _canonical(self, client, payout):
        """Return the canonical payout of a Stripe payout, reading its balance transactions."""
        charges = {}

        def order_of_charge(charge_id):
            if charge_id not in charges:
                charges[charge_id] = (client.get_charge(charge_id).get("metadata") or {}).get("order_id")
            return charges[charge_id]

        # a failed payout keeps its transactions: the base sees the status and does not settle it
        return payout_to_canonical(payout, client.iter_payout_transactions(payout["id"]), order_of_charge)
