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

    def max_requests(self, ret):
        """Return how many requests ``refund`` makes at most: the order's refunds, the order, the refund."""
        return 3

    def refund(self, ret, binding):
        """Refund ``ret`` (retail.return) on the channel order of ``binding``; return a dict with its ``external_id``.

        Called again after a transient failure: a refund already made for this return (found by
        ``_find_refund``) is returned with ``found`` instead of made twice.
        """
        found = self._find_refund(ret, binding)
        if found is not None:
            return dict(found, found=True)
        return self._make_refund(ret, binding)

    def _find_refund(self, ret, binding):
        """Return the result of a refund the channel order already has for ``ret`` (its reason or note starts
        with the return's name), or None."""
        for reason, result in self._channel_refunds(binding):
            if (reason or "").startswith(ret.name):
                return result
        return None

    def _channel_refunds(self, binding):
        """Yield (reason or note, result dict) of the refunds made on the channel order of ``binding``."""
        return ()

    def _make_refund(self, ret, binding):
        """Refund ``ret`` on the channel, its reason starting with the return's name; return the result dict."""
        raise NotImplementedError

    def _reason(self, ret):
        return "%s%s" % (ret.name, ": %s" % ret.reason if ret.reason else "")
