# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import Command, api, fields, models

from ..lib.canonical import PAYOUT_LINE_TYPES, PAYOUT_STATUSES
from ..models.retail_binding import payload_digest
from .retail_access import GROUP_MANAGER, check_retail_access

PAYOUT_STATES = [
    ("draft", "Draft"),
    ("matched", "Matched"),
    ("partial", "Partially matched"),
    ("exception", "Exception"),
]
LINE_STATES = [
    ("pending", "Pending"),
    ("matched", "Matched"),
    ("posted", "Posted"),
    ("exception", "Exception"),
]
EXCEPTION_REASONS = [
    ("unknown_order", "Unknown order"),
    ("not_invoiced", "Order not invoiced yet"),
    ("no_credit_note", "No credit note for the refund"),
    ("amount_mismatch", "Amount mismatch"),
    ("already_settled", "Already settled"),
    ("no_account", "No account for this kind of line"),
    ("period_locked", "Period locked"),
    ("currency_mismatch", "Currency mismatch"),
    ("unbalanced", "Lines do not add up to the payout"),
    ("not_paid", "Payout not paid yet"),
]
INVOICE_POLICIES = [
    ("on_import", "When the order is imported"),
    ("on_ship", "When the order ships"),
    ("at_payout", "At payout"),
    ("never", "Never (invoiced in Odoo)"),
]


class RetailPayout(models.Model):
    """Money a channel transferred to the merchant, and how its movements were settled in the books."""

    _name = "retail.payout"
    _inherit = ["mail.thread"]
    _description = "Retail Connector payout"
    _order = "date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    external_id = fields.Char(required=True, index=True)
    date = fields.Date(required=True)
    currency_id = fields.Many2one("res.currency", required=True)
    amount = fields.Monetary(help="What reaches the bank; negative when the channel debits the merchant.")
    status = fields.Selection([(s, s.replace("_", " ").capitalize()) for s in PAYOUT_STATUSES], required=True)
    state = fields.Selection(PAYOUT_STATES, default="draft", required=True, index=True, tracking=True)
    exception_reason = fields.Selection(EXCEPTION_REASONS, help="Why the payout as a whole was not settled.")
    message = fields.Text(readonly=True)
    statement_line_id = fields.Many2one("account.bank.statement.line", readonly=True, copy=False, index=True)
    move_id = fields.Many2one(related="statement_line_id.move_id", string="Journal entry")
    journal_id = fields.Many2one("account.journal", readonly=True)
    line_ids = fields.One2many("retail.payout.line", "payout_id", string="Movements")
    run_id = fields.Many2one("retail.reconciliation.run", string="Last run", readonly=True, ondelete="set null")
    payload_digest = fields.Char(readonly=True)
    gross_amount = fields.Monetary(compute="_compute_totals", store=True)
    fee_amount = fields.Monetary(compute="_compute_totals", store=True)
    matched_amount = fields.Monetary(compute="_compute_totals", store=True)
    exception_amount = fields.Monetary(compute="_compute_totals", store=True)
    exception_count = fields.Integer(compute="_compute_totals", store=True)

    _backend_external_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "This payout was already imported from this backend."
    )

    @api.depends("backend_id.name", "external_id")
    def _compute_name(self):
        for payout in self:
            payout.name = "%s %s" % (payout.backend_id.name or "", payout.external_id or "")

    @api.depends("line_ids.amount", "line_ids.fee", "line_ids.match_state")
    def _compute_totals(self):
        for payout in self:
            lines = payout.line_ids
            payout.gross_amount = sum(lines.mapped("amount"))
            payout.fee_amount = sum(lines.mapped("fee"))
            settled = lines.filtered(lambda line: line.match_state in ("matched", "posted"))
            payout.matched_amount = sum(settled.mapped("net"))
            failed = lines.filtered(lambda line: line.match_state == "exception")
            payout.exception_amount = sum(failed.mapped("net"))
            payout.exception_count = len(failed)

    @api.model
    def _store(self, backend, payout):
        """Create or refresh the record of a canonical Payout; lines already settled are kept."""
        digest = payload_digest(payout.to_dict())
        record = self.search([("backend_id", "=", backend.id), ("external_id", "=", payout.external_id)], limit=1)
        currency = self.env["res.currency"].with_context(active_test=False).search([("name", "=", payout.currency)], limit=1)
        vals = {
            "backend_id": backend.id,
            "external_id": payout.external_id,
            "date": payout.date,
            "currency_id": (currency or backend.company_id.currency_id).id,
            "amount": float(payout.amount),
            "status": payout.status,
            "payload_digest": digest,
        }
        if not record:
            vals["line_ids"] = [Command.create(self.env["retail.payout.line"]._line_vals(line, i))
                                for i, line in enumerate(payout.lines)]
            return self.create(vals)
        if record.payload_digest == digest or record.statement_line_id:
            # a posted payout keeps its lines: only its status may move on
            record.write({"status": payout.status})
            return record
        record.line_ids.unlink()
        vals["line_ids"] = [Command.create(self.env["retail.payout.line"]._line_vals(line, i))
                            for i, line in enumerate(payout.lines)]
        record.write(vals)
        return record

    def action_match_again(self):
        """Settle the payouts again: exceptions whose cause was fixed are matched now."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for payout in self:
            with payout.backend_id.work_on(self._name) as work:
                work.component(usage="payout.matcher").settle(payout, retry=True)
        return True

    def action_open_statement_line(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "account.move", "res_id": self.move_id.id,
                "view_mode": "form"}


class RetailPayoutLine(models.Model):
    """One movement of a payout (charge, refund, fee, dispute...) and what it was matched to."""

    _name = "retail.payout.line"
    _description = "Retail Connector payout movement"
    _order = "payout_id, sequence, id"

    payout_id = fields.Many2one("retail.payout", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="payout_id.backend_id", store=True)
    company_id = fields.Many2one(related="payout_id.company_id", store=True)
    currency_id = fields.Many2one(related="payout_id.currency_id")
    sequence = fields.Integer()
    external_id = fields.Char()
    type = fields.Selection([(t, t.replace("_", " ").capitalize()) for t in PAYOUT_LINE_TYPES], required=True)
    amount = fields.Monetary()
    fee = fields.Monetary()
    net = fields.Monetary()
    order_external_id = fields.Char(string="Channel order", index=True)
    source_id = fields.Char(string="Channel transaction")
    sale_order_id = fields.Many2one("sale.order", readonly=True, index="btree_not_null")
    invoice_id = fields.Many2one("account.move", string="Invoice / credit note", readonly=True)
    payment_id = fields.Many2one("account.payment", readonly=True)
    move_line_id = fields.Many2one("account.move.line", string="Counterpart", readonly=True)
    match_state = fields.Selection(LINE_STATES, default="pending", required=True, index=True)
    exception_reason = fields.Selection(EXCEPTION_REASONS)
    message = fields.Char()

    @api.model
    def _line_vals(self, line, sequence):
        return {
            "sequence": sequence,
            "external_id": line.external_id,
            "type": line.type,
            "amount": float(line.amount),
            "fee": float(line.fee or 0),
            "net": float(line.net if line.net is not None else line.amount - (line.fee or 0)),
            "order_external_id": line.order_external_id,
            "source_id": line.source_id,
        }


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    orders_backend_id = fields.Many2one(
        "retail.backend",
        string="Orders from",
        domain="[('company_id', '=', company_id), ('id', '!=', id)]",
        help="For a payment provider: the storefront whose orders its payouts settle (their order ids are that "
        "backend's). Empty: this backend's own orders.",
    )
    payout_journal_id = fields.Many2one(
        "account.journal",
        string="Clearing journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        help="Bank journal where each payout becomes a statement line; created on the first payout when empty.",
    )
    payout_fee_account_id = fields.Many2one(
        "account.account", string="Fee account",
        help="Expense account of the channel's fees; created on the first payout when empty.",
    )
    payout_dispute_account_id = fields.Many2one(
        "account.account", string="Dispute account",
        help="Where disputes and chargebacks are posted; empty: they stay as exceptions for review.",
    )
    payout_adjustment_account_id = fields.Many2one(
        "account.account", string="Adjustment account",
        help="Where adjustments and currency conversions are posted; empty: they stay as exceptions for review.",
    )
    invoice_policy = fields.Selection(
        INVOICE_POLICIES,
        string="Invoice",
        default="never",
        required=True,
        help="When an imported order is invoiced: on import (with its payment registered from the channel's "
        "payment data), when its delivery is done, when a payout settles it, or never (invoiced by hand).",
    )
    payout_ids = fields.One2many("retail.payout", "backend_id", string="Payouts")
    payout_count = fields.Integer(compute="_compute_payout_count")

    def _compute_payout_count(self):
        counts = dict(self.env["retail.payout"]._read_group([("backend_id", "in", self.ids)], ["backend_id"], ["__count"]))
        for backend in self:
            backend.payout_count = counts.get(backend, 0)

    def _orders_backend(self):
        """Return the backend whose sale order bindings this backend's payouts refer to."""
        self.ensure_one()
        return self.orders_backend_id or self

    def action_open_payouts(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_payout")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    def action_import_payouts(self):
        """Run the finance policy's payout batch now, and show the run."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        # the payouts are read page after page in one transaction: a page waits a little for its token
        with self.with_context(retail_paced_read=True).work_on("retail.payout") as work:
            run = work.component(usage="payout.importer").run()
        return {"type": "ir.actions.act_window", "res_model": "retail.reconciliation.run", "res_id": run.id,
                "view_mode": "form"}


class RetailReconciliationRun(models.Model):
    _inherit = "retail.reconciliation.run"

    payout_ids = fields.One2many("retail.payout", "run_id", string="Settled payouts")
    currency_id = fields.Many2one(related="backend_id.company_id.currency_id")
    cutoff = fields.Datetime(string="Cut-off", help="Payouts dated up to this instant's day were taken.")
    payout_count = fields.Integer(string="Payouts")
    matched_count = fields.Integer(string="Matched movements")
    unmatched_count = fields.Integer(string="Unmatched movements")
    matched_amount = fields.Monetary()
    unmatched_amount = fields.Monetary()
    fee_amount = fields.Monetary(string="Fees")

    def _finish_payouts(self, payouts, cutoff, deferred=0, known=0):
        """Record the payouts' movements that stayed unmatched, with their reason, and the run's totals."""
        self.ensure_one()
        reasons = dict(EXCEPTION_REASONS)
        lines = payouts.line_ids
        failed = lines.filtered(lambda line: line.match_state == "exception")
        for line in failed:
            self._add("unmatched_payout", "%s / %s" % (line.payout_id.external_id, line.external_id or line.id),
                      odoo_value=line.sale_order_id.name or None, channel_value="%s %s" % (line.type, line.amount),
                      message=line.message, res_model=line._name, res_id=line.id)
            self.line_ids[-1:].write({"reason": line.exception_reason, "amount": line.amount})
        by_reason = {}
        for line in failed:
            count, amount = by_reason.get(line.exception_reason, (0, 0.0))
            by_reason[line.exception_reason] = (count + 1, amount + line.amount)
        summary = self.env._(
            "%(payouts)s payout(s) up to %(cutoff)s, %(known)s settled already, %(deferred)s after the cut-off "
            "left for the next run; "
            "%(matched)s movement(s) matched for %(matched_amount).2f, %(unmatched)s unmatched for "
            "%(unmatched_amount).2f; fees %(fees).2f",
            payouts=len(payouts), cutoff=cutoff, deferred=deferred, known=known,
            matched=len(lines - failed), matched_amount=sum((lines - failed).mapped("net")),
            unmatched=len(failed), unmatched_amount=sum(failed.mapped("amount")), fees=sum(lines.mapped("fee")),
        )
        if by_reason:
            summary += " (%s)" % ", ".join(
                "%s: %d for %.2f" % (reasons.get(reason, reason), count, amount)
                for reason, (count, amount) in sorted(by_reason.items()))
        self._finish(len(lines), message=summary)
        self.write({
            "cutoff": cutoff,
            "payout_count": len(payouts),
            "matched_count": len(lines - failed),
            "unmatched_count": len(failed),
            "matched_amount": sum((lines - failed).mapped("net")),
            "unmatched_amount": sum(failed.mapped("amount")),
            "fee_amount": sum(lines.mapped("fee")),
        })


class RetailReconciliationLine(models.Model):
    _inherit = "retail.reconciliation.line"

    reason = fields.Selection(EXCEPTION_REASONS, help="Why a payout movement stayed unmatched.")
    amount = fields.Float()
