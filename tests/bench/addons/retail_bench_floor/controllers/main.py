# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The durable floor of webhook ingest: what any acknowledgement that stores a request must cost.

It verifies nothing, inserts the body in one row and lets the request commit, through the same
Odoo request path (database selection, registry, cursor, commit) as the connector's webhook.
Installed in the benchmark database only, never by the product.
"""

from odoo import http
from odoo.http import request


class DurableFloor(http.Controller):
    @http.route("/retail_bench/floor", type="http", auth="none", methods=["POST"], csrf=False, save_session=False,
                readonly=False)
    def floor(self, **_params):
        request.env.cr.execute("INSERT INTO retail_bench_floor (body) VALUES (%s) RETURNING id",
                               (request.httprequest.get_data().decode("utf-8", "replace"),))
        return request.make_json_response({"id": request.env.cr.fetchone()[0]}, status=202)
