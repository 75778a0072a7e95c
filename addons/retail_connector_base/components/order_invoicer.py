# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Invoices of imported orders, by the backend's invoicing policy.

- on import: the order writer invoices the confirmed order and registers what the channel
  says was paid (its payment transactions), in the journal its payment gateway is mapped to,
  else the backend's clearing journal;
- on ship: a done delivery of a channel order invoices what was delivered, paid as above when
  the channel said the order is paid;
- at payout: the payout matcher invoices an order whose charge it settles;
- never: invoices are made in Odoo by hand.
"""

import logging
from decimal import Decimal

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare

from odoo.addons.component.core import Component


_logger = logging.getLogger(__name__)

PAID_STATES = ("paid", "partially_refunded", "refunded")
CAPTURED_KINDS = ("sale", "capture")


class OrderInvoicer(Component):
    """Creates and posts the invoice of a channel order and registers its channel payments."""

    _name = "retail.order.invoicer"
    _inherit = "retail.base"
    _usage = "order.invoicer"
    _apply_on = "retail.sale.order.binding"

    def invoice(self, sale, date=None, delivered=False):
        """Return the posted invoice of what is left to invoice on ``sale`` (ordered or delivered), if any."""
        if sale.state != "sale":
            return self.env["account.move"]
        lines = []
        for line in sale.order_line.filtered(lambda sol: not sol.display_type and not sol.is_downpayment):
            done = line.qty_delivered if delivered and line.product_id.type == "consu" else line.product_uom_qty
            quantity = done - line.qty_invoiced
            if float_compare(quantity, 0, precision_rounding=line.product_uom_id.rounding or 0.01) > 0:
                lines.append(Command.create(line._prepare_invoice_line(quantity=quantity)))
        if not lines:
            return self.env["account.move"]
        vals = sale._prepare_invoice()
        vals["invoice_line_ids"] = lines
        if date:
            vals["invoice_date"] = date
        invoice = self.env["account.move"].with_company(sale.company_id).create(vals)
        invoice.action_post()
        sale.message_post(body=self.env._("Invoiced as %(name)s by the invoicing policy of %(backend)s.",
                                          name=invoice.name, backend=self.backend_record.name))
        return invoice

    def on_import(self, binding, order):
        """Invoice a newly imported or updated order and register what the channel says was paid."""
        sale = binding.odoo_id
        invoices = sale.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted")
        if not invoices:
            invoices = self.invoice(sale)
        if invoices:
            self.register_payment(invoices, self._paid_amount(order, invoices), order.payment_gateway
                                  or (order.payments[0].gateway if order.payments else None))
        return invoices

    def on_ship(self, binding):
        """Invoice what a channel order delivered; register its payment if the channel said it is paid."""
        sale = binding.odoo_id
        invoice = self.invoice(sale, delivered=True)
        if invoice and binding.channel_payment_state in PAID_STATES:
            self.register_payment(invoice, Decimal(str(invoice.amount_residual)), binding.channel_payment_gateway)
        return invoice

    def _paid_amount(self, order, invoices):
        """Return what the channel took for the order and Odoo has not registered yet."""
        captured = sum(
            (p.amount for p in order.payments if p.kind in CAPTURED_KINDS and p.status in (None, "success")),
            Decimal(0),
        )
        if not captured and order.payment_state in PAID_STATES:
            captured = order.total_amount if order.total_amount is not None else Decimal(str(sum(invoices.mapped("amount_total"))))
        registered = Decimal(str(sum(invoices.mapped("amount_total")) - sum(invoices.mapped("amount_residual"))))
        return max(Decimal(0), captured - registered)

    def register_payment(self, invoices, amount, gateway=None):
        """Register ``amount`` on the open invoices in the gateway's journal (else the clearing journal)."""
        invoices = invoices.filtered(lambda m: m.payment_state not in ("paid", "in_payment") and m.amount_residual > 0)
        if not invoices or amount <= 0:
            return self.env["account.payment"]
        amount = min(float(amount), sum(invoices.mapped("amount_residual")))
        journal = self._payment_journal(gateway, invoices[:1])
        wizard = self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids
        ).create({"journal_id": journal.id, "amount": amount, "group_payment": True,
                  "payment_date": invoices[:1].invoice_date})
        payments = wizard._create_payments()
        return payments

    def _payment_journal(self, gateway, invoice):
        backend = self.backend_record
        mapped = backend._mapped("payment_gateway", gateway) if gateway else None
        if mapped and mapped._name == "account.journal":
            return mapped
        if not backend.payout_journal_id:
            with backend.work_on("retail.payout") as work:
                work.component(usage="payout.matcher")._journal(
                    self.env["retail.payout"].new({"currency_id": invoice.currency_id.id}))
        return backend.payout_journal_id


class DeliveryInvoiceListener(Component):
    """A delivery of a channel order done: invoice it when its backend invoices on shipping."""

    _name = "retail.delivery.invoice.listener"
    _inherit = "base.connector.listener"
    _apply_on = ["stock.move"]

    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()) or record.state != "done":
            return
        picking = record.picking_id
        if not picking or picking.picking_type_code != "outgoing" or not picking.sale_id or picking.state != "done":
            return
        for binding in picking.sale_id.sudo().retail_bind_ids:
            backend = binding.backend_id
            if backend.invoice_policy != "on_ship":
                continue
            try:
                with self.env.cr.savepoint(), backend.work_on(binding._name) as work:
                    work.component(usage="order.invoicer").on_ship(binding)
            except (UserError, ValidationError) as exc:
                # the delivery stands: the invoice waits for a person, with the reason
                _logger.warning("Invoice of %s on shipping failed: %s", picking.sale_id.name, exc)
                picking.sale_id.message_post(body=self.env._(
                    "Not invoiced on shipping (policy of %(backend)s): %(error)s Invoice it by hand.",
                    backend=backend.name, error=exc.args[0] if exc.args else exc))
