# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json
from decimal import Decimal

from odoo import Command, fields

from odoo.addons.component.core import Component
from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.text import storable


APPLIED, UNCHANGED = "refunded", "unchanged"


def _naive_utc(value):
    return value.replace(tzinfo=None) if value else None


class RefundWriter(Component):
    """Applies a channel refund to its sale order, as the backend's returns policy says.

    Every channel sends its refunds here as canonical ``Refund`` objects. A refund is recorded
    once per backend (``retail.refund``); the policy then makes a credit note for the refunded
    lines and amount, a return picking for restocked goods that shipped (restocked goods that
    did not ship are taken off the order), both, or an activity for a person. Whatever cannot be
    done automatically leaves the refund "to review" with the reason and an activity.
    """

    _name = "retail.refund.writer"
    _inherit = "retail.base"
    _usage = "refund.writer"
    _apply_on = "retail.refund"

    def apply(self, refund):
        """Record and apply a canonical Refund; return (retail.refund, "refunded" or "unchanged")."""
        if self.env.context.get("retail_origin_backend") != self.backend_record.id:
            # what the refund changes (stock, order quantities) is not echoed back to its channel
            backend = self.backend_record.with_context(retail_origin_backend=self.backend_record.id)
            with backend.work_on(self.model._name) as work:
                return work.component(usage=self._usage).apply(refund)
        backend = self.backend_record
        self.advisory_lock_or_retry("retail-refund-%s-%s" % (backend.id, refund.external_id), retry_seconds=2)
        Refund = self.env["retail.refund"]
        existing = Refund.search([("backend_id", "=", backend.id), ("external_id", "=", refund.external_id)], limit=1)
        if existing:
            return existing, UNCHANGED
        binding = self.binder_for("retail.sale.order.binding").to_internal(refund.order_external_id)
        if not binding:
            # The order may still be waiting in the inbox (import rule, retry): try again later,
            # and after the retry pattern the event waits in the dead letters for a replay.
            raise RetryableJobError(
                self.env._(
                    "Refund %(refund)s is for order %(order)s, which is not imported from %(backend)s yet.",
                    refund=refund.external_id,
                    order=refund.order_external_id,
                    backend=backend.name,
                ),
                seconds=30,
            )
        sale = binding.odoo_id
        made_by = self._made_by_return(sale, refund)
        if made_by:
            return self._record_return_refund(made_by, refund), UNCHANGED
        action = backend.policy_for("returns").refund_action or "credit_note"
        record = Refund.create(
            {
                "backend_id": backend.id,
                "external_id": refund.external_id,
                "sale_order_id": sale.id,
                "refunded_at": _naive_utc(refund.created_at) or fields.Datetime.now(),
                "currency_id": self.component(usage="order.writer", model_name="retail.sale.order.binding")
                ._currency(refund.currency).id,
                "amount": float(refund.amount),
                "gateway": refund.gateway or False,
                "reason": storable(refund.reason) or False,
                "action": action,
                "payload": json.dumps(refund.to_dict(), indent=1, sort_keys=True),
                "line_ids": [Command.create(vals) for vals in self._line_values(sale, refund)],
            }
        )
        done, review = [], []
        if action == "review":
            review.append(self.env._("The returns policy asks a person to decide what this refund means in Odoo."))
        if action in ("return", "return_credit_note"):
            self._return_goods(record, done, review)
        if action in ("credit_note", "return_credit_note"):
            self._credit_note(record, done, review)
        unmatched = record.line_ids.filtered(lambda line: not line.sale_line_id)
        if unmatched:
            review.append(
                self.env._(
                    "Refunded SKUs not on the sale order: %(skus)s.", skus=", ".join(unmatched.mapped("sku") or ["?"])
                )
            )
        self._finish(record, done, review)
        return record, APPLIED

    # ------------------------------------------------------------------ returns
    def _made_by_return(self, sale, refund):
        """Return the Odoo return that made this refund on the channel (its name leads the reason), if any."""
        reason = refund.reason or ""
        if not reason:
            return None
        for ret in self.env["retail.return"].search([("sale_order_id", "=", sale.id), ("state", "!=", "draft")]):
            if reason.startswith(ret.name):
                return ret
        return None

    def _record_return_refund(self, ret, refund):
        """Record the channel's echo of a return's refund without applying it again."""
        return self.env["retail.refund"].create({
            "backend_id": self.backend_record.id, "external_id": refund.external_id, "sale_order_id": ret.sale_order_id.id,
            "refunded_at": _naive_utc(refund.created_at) or fields.Datetime.now(),
            "currency_id": self.component(usage="order.writer", model_name="retail.sale.order.binding")
            ._currency(refund.currency).id,
            "amount": float(refund.amount), "gateway": refund.gateway or False, "reason": storable(refund.reason) or False,
            "action": "credit_note", "state": "done", "credit_note_id": ret.credit_note_id.id,
            "return_picking_id": ret.return_picking_id.id,
            "message": self.env._("Refund made by return %(name)s.", name=ret.name),
            "payload": json.dumps(refund.to_dict(), indent=1, sort_keys=True),
        })

    # ------------------------------------------------------------------ lines
    def _line_values(self, sale, refund):
        """Return refund line values, each matched to the sale order line it refunds."""
        lines = sale.order_line.filtered(lambda line: line.product_id and not line.display_type)
        values = []
        for item in refund.lines:
            sale_line = self._sale_line(lines, item)
            values.append(
                {
                    "sale_line_id": sale_line.id or False,
                    "product_id": sale_line.product_id.id or False,
                    "sku": item.sku or sale_line.product_id.default_code or False,
                    "quantity": float(item.quantity),
                    "amount": float(item.amount) if item.amount is not None else 0.0,
                    "restock": bool(item.restock),
                }
            )
        return values

    def _sale_line(self, lines, item):
        """Return the sale line of a refunded item: by SKU, else by barcode (empty if none)."""
        wanted = item.sku
        match = lines.filtered(lambda line: wanted and line.product_id.default_code == wanted)
        if not match and wanted:
            match = lines.filtered(lambda line: line.product_id.barcode == wanted)
        return match[:1]

    # ------------------------------------------------------------------ goods
    def _return_goods(self, record, done, review):
        """Return restocked goods: a return picking for what shipped, the rest taken off the order."""
        sale = record.sale_order_id
        wanted = {}
        for line in record.line_ids.filtered(lambda line: line.restock and line.sale_line_id):
            wanted[line] = line.quantity
        if not wanted:
            if record.line_ids:
                done.append(self.env._("No goods to take back: the channel did not restock the refunded items."))
            return
        delivered = sale.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        returns = self.env["stock.picking"]
        for picking in delivered.sorted("date_done"):
            picked = {line: qty for line, qty in wanted.items() if qty > 0}
            if not picked:
                break
            wizard = (
                self.env["stock.return.picking"]
                .with_context(active_id=picking.id, active_model="stock.picking")
                .create({"picking_id": picking.id})
            )
            any_line = False
            for return_line in wizard.product_return_moves:
                move = return_line.move_id
                refund_line = next((r for r in picked if r.sale_line_id == move.sale_line_id and wanted[r] > 0), None)
                if not refund_line:
                    continue
                returnable = move.quantity - sum(
                    m.quantity for m in move.move_dest_ids if m.origin_returned_move_id == move and m.state != "cancel"
                )
                qty = min(wanted[refund_line], max(returnable, 0.0))
                if qty > 0:
                    return_line.quantity = qty
                    wanted[refund_line] -= qty
                    refund_line.returned_qty += qty
                    any_line = True
            if any_line:
                returns |= wizard._create_return()
        if returns:
            record.return_picking_id = returns[:1]
            done.append(self.env._("Return %(names)s created for the goods coming back.", names=", ".join(returns.mapped("name"))))
        # Restocked goods that never left: take them off the order, which shrinks its delivery.
        for line, qty in wanted.items():
            if qty <= 0:
                continue
            sale_line = line.sale_line_id
            open_qty = sale_line.product_uom_qty - sale_line.qty_delivered
            removable = min(qty, max(open_qty, 0.0))
            if removable > 0:
                sale_line.product_uom_qty -= removable
                line.removed_qty = removable
                qty -= removable
                done.append(
                    self.env._(
                        "%(qty)s x %(product)s taken off the order before shipping.",
                        qty=removable,
                        product=sale_line.product_id.display_name,
                    )
                )
            if qty > 0:
                review.append(
                    self.env._(
                        "%(qty)s x %(product)s were restocked on the channel but neither shipped nor open on the order.",
                        qty=qty,
                        product=sale_line.product_id.display_name,
                    )
                )

    # ------------------------------------------------------------------ money
    def _credit_note(self, record, done, review):
        """Credit the refunded lines at the order's prices; any difference goes on a refund line."""
        sale = record.sale_order_id
        if not record.amount and not record.line_ids:
            return
        move_vals = sale._prepare_invoice()
        move_vals.update(
            move_type="out_refund",
            transaction_ids=[Command.clear()],
            ref=self.env._("Refund %(refund)s on %(backend)s", refund=record.external_id, backend=self.backend_record.name),
            invoice_line_ids=[],
        )
        for line in record.line_ids.filtered("sale_line_id"):
            vals = line.sale_line_id._prepare_invoice_line(quantity=line.quantity)
            move_vals["invoice_line_ids"].append(Command.create(vals))
        move = self.env["account.move"].with_company(sale.company_id).create(move_vals)
        difference = Decimal(str(record.amount)) - Decimal(str(move.amount_total))
        if not record.currency_id.is_zero(float(difference)):
            product = self.env.ref("retail_connector_base.product_channel_refund")
            move.write(
                {
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "name": record.reason or product.name,
                                "quantity": 1.0,
                                "price_unit": float(difference),
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ]
                }
            )
        if move.currency_id.compare_amounts(move.amount_total, record.amount) != 0 or move.amount_total <= 0:
            move.unlink()
            review.append(
                self.env._(
                    "No credit note: the refunded lines do not add up to the refund of %(amount)s.", amount=record.amount
                )
            )
            return
        record.credit_note_id = move
        invoiced = sale.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted")
        if invoiced:
            move.action_post()
            done.append(self.env._("Credit note %(name)s posted.", name=move.name))
        else:
            review.append(
                self.env._(
                    "Credit note left in draft: the order is not invoiced yet. Post it once the invoice is posted."
                )
            )

    # ------------------------------------------------------------------ outcome
    def _finish(self, record, done, review):
        sale = record.sale_order_id
        header = self.env._(
            "Refund %(refund)s of %(amount)s %(currency)s on %(backend)s.",
            refund=record.external_id,
            amount=record.amount,
            currency=record.currency_id.name,
            backend=self.backend_record.name,
        )
        message = "\n".join([header] + done + review)
        record.write({"message": message, "state": "review" if review else "done"})
        sale.message_post(body=message)
        if review:
            record.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Channel refund to review"),
                note=message,
                user_id=(self.backend_record.responsible_user_id or sale.user_id or self.env.user).id,
            )
