# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from odoo.tests import HttpCase, tagged


def _iso(hours_ago=0):
    return (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat(timespec="seconds").replace("+00:00", "Z")


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
        body = json.dumps({"merchant_id": "M1", "type": "order.updated", "event_id": "e-1", "created_at": _iso()}).encode()

        def signed(url, secret="sq-key"):
            digest = hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).digest()
            return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}

        ok = self.url_open(path, data=body, headers=signed(public_url))
        self.assertNotIn(ok.status_code, (401, 500), ok.text)
        wrong_url = self.url_open(path, data=body, headers=signed(self.base_url() + path))
        self.assertEqual(wrong_url.status_code, 401)
        wrong_key = self.url_open(path, data=body, headers=signed(public_url, "other"))
        self.assertEqual(wrong_key.status_code, 401)

    def test_a_notification_older_than_the_window_is_refused_and_recorded(self):
        backend = self.env["retail.backend"].create(
            {"name": "Stores", "backend_type": "square", "webhook_secret": "sq-key", "inbound_rate_limit": 0}
        )
        self.assertEqual(backend.webhook_max_age_hours, 25, "Square retries for 24 hours; an hour of margin")
        path = "/retail/webhook/%d" % backend.id

        def post(hours_ago):
            created = _iso(hours_ago)
            body = json.dumps({"merchant_id": "M1", "type": "order.updated", "event_id": "e-%s" % hours_ago,
                               "created_at": created, "data": {"id": "O-1", "object": {}}}).encode()
            digest = hmac.new(b"sq-key", (self.base_url() + path).encode() + body, hashlib.sha256).digest()
            headers = {"x-square-hmacsha256-signature": base64.b64encode(digest).decode(),
                       "Content-Type": "application/json"}
            return created, self.url_open(path, data=body, headers=headers)

        created, old = post(48)
        self.assertEqual(old.status_code, 401, old.text)
        self.assertEqual(old.json()["error"], "bad_signature")
        self.assertIn("created_at %s is 48 h old, more than the 25 h" % created, old.json()["message"])
        rejected = self.env["retail.rejected.request"].search([("backend_id", "=", backend.id)])
        self.assertEqual((rejected.status, rejected.code), (401, "bad_signature"))
        _created, late_retry = post(23)
        self.assertNotIn(late_retry.status_code, (401, 500), late_retry.text)
