# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Product images at a public URL, for the storefronts to fetch when a catalogue export names them.

Shopify (``productSet`` files) and WooCommerce (``images: [{src}]``) take a product's images by URL
and download them. The URL names the image's content checksum: it serves that image only, is not
guessable from a product id, and changes when the image does (a shop fetches a changed image anew).
"""

import base64

from odoo import SUPERUSER_ID, api, http
from odoo.http import request

from ..components.catalog_media import IMAGE_FIELDS


class CatalogImages(http.Controller):
    @http.route("/retail/catalog/image/<string:kind>/<int:res_id>/<string:checksum>", type="http", auth="none",
                methods=["GET"], save_session=False)
    def catalog_image(self, kind, res_id, checksum, **_params):
        if kind not in IMAGE_FIELDS:
            return request.not_found()
        model, field_name = IMAGE_FIELDS[kind]
        env = api.Environment(request.env.cr, SUPERUSER_ID, {})
        attachment = env["ir.attachment"].search([("res_model", "=", model), ("res_field", "=", field_name),
                                                  ("res_id", "=", res_id)], limit=1)
        if not attachment or attachment.checksum != checksum.split(".")[0]:
            return request.not_found()
        return request.make_response(base64.b64decode(attachment.datas), headers=[
            ("Content-Type", attachment.mimetype or "application/octet-stream"),
            ("Cache-Control", "public, max-age=31536000, immutable"),
        ])
