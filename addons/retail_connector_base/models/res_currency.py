# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import models


class ResCurrency(models.Model):
    _inherit = "res.currency"

    def _channel_amount(self, amount):
        """Return ``amount`` as text for a channel: rounded to this currency's decimals and written
        with exactly that many (USD ``"12.30"``, JPY ``"1200"``, KWD ``"1.250"``)."""
        self.ensure_one()
        return "%.*f" % (self.decimal_places, self.round(amount))
