# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import io

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from odoo import models
from odoo.http import request


def _gateway_request():
    return bool(request) and request.httprequest.path.startswith(("/retail/webhook/", "/retail/api/"))


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        super()._pre_dispatch(rule, args)
        if not rule.endpoint.routing.get("retail_gateway"):  # the gateway's routes say so
            return
        from ..controllers.gateway import _max_body  # noqa: PLC0415

        # The framework parses form bodies before the handler runs, and drains (reads whole) a
        # body announced over its limit: the gateway's cap applies to both, and a body announced
        # over it is left unread for the gateway to refuse.
        cap = _max_body()
        wrapped = request.httprequest._HTTPRequest__wrapped
        wrapped.max_content_length = cap
        length = wrapped.content_length
        if length is not None and length > cap:
            wrapped.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict(), stream=io.BytesIO())

    @classmethod
    def _handle_error(cls, exception):
        # a body over the cap found while reading (no length announced): answered and recorded
        # like the gateway's other refusals
        if isinstance(exception, RequestEntityTooLarge) and _gateway_request():
            from ..controllers.gateway import refuse_too_large  # noqa: PLC0415

            return refuse_too_large()
        return super()._handle_error(exception)
