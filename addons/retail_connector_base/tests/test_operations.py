# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json

from odoo.tests import HttpCase, tagged

from ..lib.signatures import sign_retail
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestOperationsEndpoints(HttpCase):
    """Health for load balancers, Prometheus metrics behind a token."""

    def test_health_answers_with_its_checks(self):
        resp = self.url_open("/retail/health")
        self.assertEqual(resp.status_code, 200)
        report = resp.json()
        self.assertIn(report["status"], ("pass", "warn"))
        self.assertEqual(report["checks"]["database"]["status"], "pass")
        self.assertIn("pending_events", report["checks"]["backlog"])

    def test_metrics_need_the_token_and_count_events_and_refusals(self):
        self.assertEqual(self.url_open("/retail/metrics").status_code, 401, "no token configured: closed")
        self.env["ir.config_parameter"].set_param("retail_connector.metrics_token", "m-token")
        self.assertEqual(self.url_open("/retail/metrics", headers={"Authorization": "Bearer nope"}).status_code, 401)
        backend = self.env["retail.backend"].create(
            {"name": "Metrics shop", "backend_type": "generic", "webhook_secret": "s", "inbound_rate_limit": 0}
        )
        body = json.dumps(ORDER).encode()
        url = "/retail/webhook/%d" % backend.id
        headers = {"X-Retail-Topic": "orders/create", "X-Retail-Event-Id": "m-1", "Content-Type": "application/json"}
        self.url_open(url, data=body, headers=dict(headers, **{"X-Retail-Signature": sign_retail("s", body)}))
        self.url_open(url, data=body, headers=dict(headers, **{"X-Retail-Signature": sign_retail("s", body)}))
        self.url_open(url, data=body, headers=dict(headers, **{"X-Retail-Signature": sign_retail("bad", body)}))
        resp = self.url_open("/retail/metrics", headers={"Authorization": "Bearer m-token"})
        self.assertEqual(resp.status_code, 200)
        self.assertTrue(resp.headers["Content-Type"].startswith("text/plain"))
        text = resp.text
        self.assertIn('retail_events_total{backend="Metrics shop",channel="generic",domain="orders",state="received"} 1.0', text)
        self.assertIn('retail_event_duplicates_total{backend="Metrics shop",domain="orders"} 1.0', text)
        self.assertIn('retail_rejected_requests_total{backend="Metrics shop",reason="bad_signature"} 1.0', text)
        self.assertIn('retail_backend_up{backend="Metrics shop",channel="generic",state="ok"} 1.0', text)
