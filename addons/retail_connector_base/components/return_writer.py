# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import Command

from odoo.addons.component.core import Component
from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.text import storable
from .errors import RetailMappingError

CREATED, UNCHANGED, CANCELLED = "created", "unchanged", "cancelled"


class ReturnWriter(Component):
    """Records a channel's return (canonical ``Return``) as an authorised return with its workflow.

    A return is recorded once per channel (its id); a later version that rejects or cancels it
    cancels the return and its workflow while nothing was received. A line that does not go
    back to stock (``restock`` false) is scrapped once received.
    """

    _name = "retail.return.writer"
    _inherit = "retail.base"
    _usage = "return.writer"
    _apply_on = "retail.return"

    def apply(self, canonical):
        """Record and authorise a canonical Return; return (retail.return, created/unchanged/cancelled)."""
        backend = self.backend_record
        self.advisory_lock_or_retry("retail-return-%s-%s" % (backend.id, canonical.external_id), retry_seconds=2)
        Return = self.env["retail.return"]
        existing = Return.search([("backend_id", "=", backend.id), ("external_id", "=", canonical.external_id)], limit=1)
        if existing:
            if canonical.status in ("rejected", "cancelled") and existing.state in ("draft", "open") and not (
                existing.return_picking_id.state == "done"
            ):
                existing.action_cancel()
                return existing, CANCELLED
            return existing, UNCHANGED
        binding = self.binder_for("retail.sale.order.binding").to_internal(canonical.order_external_id)
        if not binding:
            raise RetryableJobError(
                self.env._("Return %(ret)s is for order %(order)s, which is not imported from %(backend)s yet.",
                           ret=canonical.external_id, order=canonical.order_external_id, backend=backend.name),
                seconds=30,
            )
        sale = binding.odoo_id
        ret = Return.create({
            "backend_id": backend.id,
            "external_id": canonical.external_id,
            "origin": "channel",
            "sale_order_id": sale.id,
            "reason": storable(canonical.note or next((line.reason for line in canonical.lines if line.reason), False)),
            "line_ids": [Command.create(self._line_values(sale, line)) for line in canonical.lines],
        })
        if canonical.status in ("rejected", "cancelled"):
            ret.state = "cancelled"
            return ret, CANCELLED
        ret.action_authorise()
        return ret, CREATED

    def _line_values(self, sale, line):
        """Return the values of a return line, matched to its order line by SKU (then barcode)."""
        lines = sale.order_line.filtered(lambda l: l.product_id and not l.display_type)
        match = lines.filtered(lambda l: line.sku and l.product_id.default_code == line.sku)[:1] or lines.filtered(
            lambda l: line.sku and l.product_id.barcode == line.sku)[:1]
        if not match:
            raise RetailMappingError(
                self.env._("Return line %(sku)s is not on order %(order)s: check the SKU on the channel.",
                           sku=line.sku or line.order_line_external_id, order=sale.name),
                kind="unknown_product",
            )
        values = {"sale_line_id": match.id, "product_id": match.product_id.id, "sku": line.sku,
                  "quantity": float(line.quantity), "disposition": "restock" if line.restock else "scrap"}
        if line.amount is not None:
            values["amount"] = float(line.amount)
        return values
