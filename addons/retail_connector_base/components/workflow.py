# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What wakes the waiting workflows, and the channel side of a return's refund.

A waiting step costs nothing: it is looked at again when an event of its subject happens
(a transfer reserved, received or shipped, an invoice or credit note posted).
"""

from odoo.addons.component.core import AbstractComponent, Component

WAKING_MOVE_STATES = ("assigned", "partially_available", "done", "cancel")


class WorkflowMoveListener(Component):
    """A transfer's stock move reserved, done or cancelled: its order's and return's workflows look again."""

    _name = "retail.workflow.move.listener"
    _inherit = "base.connector.listener"
    _apply_on = ["stock.move"]

    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()) or record.state not in WAKING_MOVE_STATES or not record.picking_id:
            return
        self.env["retail.workflow"]._wake_for_pickings(record.picking_id)


class WorkflowInvoiceListener(Component):
    """An invoice posted: its orders' workflows look again."""

    _name = "retail.workflow.invoice.listener"
    _inherit = "base.connector.listener"
    _apply_on = ["account.move"]

    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()) or record.state != "posted" or not record.is_sale_document():
            return
        self.env["retail.workflow"]._wake_for(record.line_ids.sale_line_ids.order_id)


class RefundExporter(AbstractComponent):
    """Refunds a return's customer on the channel; each channel implements ``refund``.

    A channel without an implementation has its returns' channel refund skipped, with a note
    for a person to refund there by hand.
    """

    _name = "retail.refund.exporter"
    _inherit = "retail.base"
    _usage = "refund.exporter"
    _apply_on = "retail.return"

    def refund(self, ret, binding):
        """Refund ``ret`` (retail.return) on the channel order of ``binding``; return a dict with its ``external_id``.

        Called again after a transient failure: an implementation first looks for a refund it
        already made for this return (the return's name is in its reason or note).
        """
        raise NotImplementedError

    def _reason(self, ret):
        return "%s%s" % (ret.name, ": %s" % ret.reason if ret.reason else "")
