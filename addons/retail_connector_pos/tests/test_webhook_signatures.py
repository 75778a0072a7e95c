# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import hashlib
import hmac
import json

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestSquareWebhookSignature(HttpCase):
    """Square signs the notification URL followed by the body."""

    def test_square_signature_with_notification_url(self):
        backend = self.env["retail.backend"].create(
            {"name": "Stores", "backend_type": "square", "webhook_secret": "sq-key", "inbound_rate_limit": 0}
        )
        path = "/retail/webhook/%d" % backend.id
        public_url = "https://shop.example.com" + path
        backend.webhook_notification_url = public_url
        body = json.dumps({"merchant_id": "M1", "type": "order.updated", "event_id": "e-1"}).encode()

        def signed(url, secret="sq-key"):
            digest = hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).digest()
            return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}

        ok = self.url_open(path, data=body, headers=signed(public_url))
        self.assertNotIn(ok.status_code, (401, 500), ok.text)
        wrong_url = self.url_open(path, data=body, headers=signed(self.base_url() + path))
        self.assertEqual(wrong_url.status_code, 401)
        wrong_key = self.url_open(path, data=body, headers=signed(public_url, "other"))
        self.assertEqual(wrong_key.status_code, 401)
