# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Health and Prometheus metrics for load balancers and monitoring.

Both are computed from the database on each call, so every Odoo process and node answers the
same figures.
"""

import hmac
import logging

import psycopg2

from odoo import SUPERUSER_ID, api, http
from odoo.http import request

from ..lib.metrics import render_metrics

_logger = logging.getLogger(__name__)


class Operations(http.Controller):
    @http.route("/retail/health", type="http", auth="none", methods=["GET"], save_session=False)
    def health(self, **_params):
        """Answer 200 when the database answers and jobs are not stuck, 503 otherwise."""
        try:
            env = api.Environment(request.env.cr, SUPERUSER_ID, {})
            report = env["retail.event"]._health_report()
        except psycopg2.Error as exc:
            _logger.warning("Health check: database error %s", exc)
            report = {"status": "fail", "checks": {"database": {"status": "fail", "message": str(exc).splitlines()[0]}}}
        status = 503 if report["status"] == "fail" else 200
        return request.make_json_response(report, status=status)

    @http.route("/retail/metrics", type="http", auth="none", methods=["GET"], save_session=False)
    def metrics(self, **_params):
        """Prometheus text exposition, for a bearer token set in Settings."""
        env = api.Environment(request.env.cr, SUPERUSER_ID, {})
        token = env["ir.config_parameter"].get_param("retail_connector.metrics_token") or ""
        given = request.httprequest.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), ("Bearer " + token).encode()):
            return request.make_json_response(
                {"error": "unauthorized", "message": "send 'Authorization: Bearer <metrics token>' (Settings > Retail Connector)"},
                status=401,
            )
        body, content_type = render_metrics(env["retail.event"]._metric_samples())
        return request.make_response(body, headers=[("Content-Type", content_type)])
