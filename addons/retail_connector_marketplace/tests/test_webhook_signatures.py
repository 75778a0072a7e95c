# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from odoo.tests import HttpCase, tagged


def b64_hmac(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def triggered_at(hours_ago=0):
    moment = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@tagged("post_install", "-at_install")
class TestMarketplaceWebhookSignatures(HttpCase):
    """Shopify and WooCommerce webhooks are authenticated by the shared gateway with their scheme."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Backend = cls.env["retail.backend"]
        cls.shopify = Backend.create({"name": "Shop", "backend_type": "shopify", "webhook_secret": "shp-new", "inbound_rate_limit": 0})
        cls.woo = Backend.create({"name": "Woo", "backend_type": "woocommerce", "webhook_secret": "wc-new", "inbound_rate_limit": 0})
        cls.body = json.dumps({"id": 450789469, "name": "#1001", "updated_at": "2026-11-20T10:00:00-05:00"}).encode()

    def _post(self, backend, headers, body=None):
        return self.url_open("/retail/webhook/%d" % backend.id, data=body or self.body, headers=headers)

    def _refused_as_bad_signature(self, resp):
        self.assertEqual(resp.status_code, 401, resp.text)
        self.assertEqual(resp.json()["error"], "bad_signature")

    def _authenticated(self, resp):
        self.assertNotEqual(resp.status_code, 401, resp.text)
        self.assertLess(resp.status_code, 500, resp.text)

    def test_shopify_hmac(self):
        topic = {"X-Shopify-Topic": "orders/create", "Content-Type": "application/json",
                 "X-Shopify-Triggered-At": triggered_at()}
        self._authenticated(self._post(self.shopify, dict(topic, **{"X-Shopify-Hmac-Sha256": b64_hmac("shp-new", self.body)})))
        self._refused_as_bad_signature(self._post(self.shopify, dict(topic, **{"X-Shopify-Hmac-Sha256": b64_hmac("nope", self.body)})))
        self._refused_as_bad_signature(self._post(self.shopify, topic))
        self.shopify.webhook_secret = "shp-rotated"
        self._authenticated(self._post(self.shopify, dict(topic, **{"X-Shopify-Hmac-Sha256": b64_hmac("shp-new", self.body)})))

    def test_shopify_delivery_older_than_the_window_is_refused_and_recorded(self):
        """A captured delivery resent later, even under a new webhook id, is refused by its trigger time."""
        self.assertEqual(self.shopify.webhook_max_age_hours, 24, "Shopify retries over 4 hours; a day of margin")
        signed = {"X-Shopify-Topic": "orders/updated", "Content-Type": "application/json",
                  "X-Shopify-Hmac-Sha256": b64_hmac("shp-new", self.body), "X-Shopify-Webhook-Id": "replayed-1"}
        old = triggered_at(hours_ago=30)
        resp = self._post(self.shopify, dict(signed, **{"X-Shopify-Triggered-At": old}))
        self._refused_as_bad_signature(resp)
        self.assertIn("X-Shopify-Triggered-At %s is 30 h old" % old, resp.json()["message"])
        rejected = self.env["retail.rejected.request"].search([("backend_id", "=", self.shopify.id)])
        self.assertEqual(len(rejected), 1)
        self.assertEqual((rejected.status, rejected.code, rejected.topic), (401, "bad_signature", False))
        self.assertIn("possible replay", rejected.reason)
        self._refused_as_bad_signature(self._post(self.shopify, signed))  # no trigger time: no age to check
        self.assertFalse(self.env["retail.event"].search([("backend_id", "=", self.shopify.id)]))

        self._authenticated(self._post(self.shopify, dict(signed, **{"X-Shopify-Triggered-At": triggered_at(3.5)})))
        self.shopify.webhook_max_age_hours = 0  # the check is off
        self._authenticated(self._post(self.shopify, dict(signed, **{"X-Shopify-Triggered-At": old,
                                                                     "X-Shopify-Webhook-Id": "replayed-2"})))

    def test_woocommerce_hmac_and_unsigned_activation_ping(self):
        topic = {"X-WC-Webhook-Topic": "order.created", "Content-Type": "application/json"}
        self._authenticated(self._post(self.woo, dict(topic, **{"X-WC-Webhook-Signature": b64_hmac("wc-new", self.body)})))
        self._refused_as_bad_signature(self._post(self.woo, dict(topic, **{"X-WC-Webhook-Signature": b64_hmac("x", self.body)})))
        before = self.env["retail.event"].search_count([("backend_id", "=", self.woo.id)])
        ping = self._post(self.woo, {"Content-Type": "application/x-www-form-urlencoded"}, body=b"webhook_id=17")
        self.assertEqual(ping.status_code, 200, "WooCommerce disables a webhook whose ping fails")
        self.assertEqual(ping.json()["status"], "ok")
        self.assertEqual(self.env["retail.event"].search_count([("backend_id", "=", self.woo.id)]), before,
                         "a ping carries no event")
