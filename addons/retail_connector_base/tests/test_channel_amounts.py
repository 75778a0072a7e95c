from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestChannelAmounts(TransactionCase):
    """Amounts sent to channels are written with their currency's decimals."""

    def _currency(self, code):
        return self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)

    def test_amounts_take_the_currency_decimals(self):
        self.assertEqual(self._currency("USD")._channel_amount(12.3), "12.30")
        self.assertEqual(self._currency("JPY")._channel_amount(1200.0), "1200")
        self.assertEqual(self._currency("JPY")._channel_amount(1199.6), "1200")
        self.assertEqual(self._currency("KWD")._channel_amount(1.25), "1.250")
        self.assertEqual(self._currency("EUR")._channel_amount(0.005), "0.01")
