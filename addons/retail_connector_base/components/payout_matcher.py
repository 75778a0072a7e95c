# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Settles an imported payout in the books, the same way for every channel.

The payout becomes one statement line of the backend's clearing journal, for the amount that
reaches the bank. Its counterpart is split by movement: each charge credits the receivable of
its order's invoice (or the outstanding receipt of the payment registered for it) and is
reconciled with it; each refund debits the receivable of its credit note; fees go to the fee
account; disputes, chargebacks, adjustments and currency conversions go to their accounts when
the backend names them. Whatever cannot be matched stays on the journal's suspense account as
an exception with its reason, and can be matched again once the cause is fixed.
"""

from odoo import Command

from odoo.addons.component.core import Component

DISPUTE_TYPES = ("dispute", "chargeback")
# a movement whose source is an Odoo payment (e.g. a store day's card takings) settles that payment
PAYMENT_SOURCE = "account.payment,"


class PayoutMatcher(Component):
    """Posts a payout's statement line and matches its movements; records what stayed unmatched."""

    _name = "retail.payout.matcher"
    _inherit = "retail.base"
    _usage = "payout.matcher"
    _apply_on = "retail.payout"

    def settle(self, payout, retry=False):
        """Post and match ``payout`` (again when ``retry`` or not fully matched yet); return its state."""
        if payout.state == "matched" and not retry:
            return payout.state
        if payout.status != "paid":
            payout.write({"state": "draft", "exception_reason": "not_paid", "message": self.env._(
                "The payout is %(status)s: it is settled once the channel says it is paid.", status=payout.status)})
            return payout.state
        journal = self._journal(payout)
        payout.journal_id = journal
        company = payout.company_id
        lock = company._get_user_fiscal_lock_date(journal)
        if payout.date <= lock and payout.statement_line_id:
            payout.message = self.env._("Not matched again: %(date)s is in a locked period.", date=payout.date)
            return payout.state
        if payout.date <= lock:
            return self._whole_exception(payout, "period_locked", self.env._(
                "The payout is dated %(date)s, in a period locked up to %(lock)s: post it by hand in an open "
                "period, or lift the lock date and match it again.", date=payout.date, lock=lock))
        journal_currency = journal.currency_id or company.currency_id
        if payout.currency_id != journal_currency:
            return self._whole_exception(payout, "currency_mismatch", self.env._(
                "The payout is in %(payout)s but the clearing journal %(journal)s is in %(journal_currency)s.",
                payout=payout.currency_id.name, journal=journal.display_name, journal_currency=journal_currency.name))
        st_line = payout.statement_line_id or self._create_statement_line(payout, journal)
        self._match(payout, st_line)
        return payout.state

    # ------------------------------------------------------------------ setup
    def _journal(self, payout):
        backend = self.backend_record
        if not backend.payout_journal_id:
            # sudo: journals and accounts are an accounting administrator's to create; the
            # connector sets up its own clearing journal and fee account once per backend
            # instead of holding that right for everything
            backend.sudo().payout_journal_id = self.env["account.journal"].sudo().create({
                "name": self.env._("%(backend)s clearing", backend=backend.name)[:64],
                "type": "bank",
                "code": self._journal_code(),
                "company_id": backend.company_id.id,
                "currency_id": payout.currency_id.id if payout.currency_id != backend.company_id.currency_id else False,
            })
        return backend.payout_journal_id

    def _journal_code(self):
        Journal = self.env["account.journal"].sudo().with_context(active_test=False)
        company = self.backend_record.company_id
        for number in range(1, 1000):
            code = "RC%d" % number
            if not Journal.search_count([("code", "=", code), ("company_id", "=", company.id)]):
                return code
        return "RC%d" % self.backend_record.id

    def _fee_account(self):
        backend = self.backend_record
        if not backend.payout_fee_account_id:
            Account = self.env["account.account"].sudo().with_company(backend.company_id)
            code = next(
                c for c in ("6%05d" % (2700 + n) for n in range(1000))
                if not Account.search_count([("code", "=", c), ("company_ids", "in", backend.company_id.id)])
            )
            backend.sudo().payout_fee_account_id = Account.create({
                "name": self.env._("%(backend)s fees", backend=backend.name),
                "code": code,
                "account_type": "expense",
                "company_ids": [Command.set(backend.company_id.ids)],
            })
        return backend.payout_fee_account_id

    def _create_statement_line(self, payout, journal):
        st_line = self.env["account.bank.statement.line"].with_company(payout.company_id).create({
            "journal_id": journal.id,
            "date": payout.date,
            "amount": payout.amount,
            "payment_ref": self.env._("Payout %(id)s from %(backend)s", id=payout.external_id,
                                      backend=self.backend_record.name),
        })
        payout.statement_line_id = st_line
        return st_line

    def _whole_exception(self, payout, reason, message):
        payout.line_ids.filtered(lambda line: line.match_state != "exception").write(
            {"match_state": "exception", "exception_reason": reason, "message": message[:250]})
        payout.line_ids.filtered(lambda line: line.exception_reason != reason).write(
            {"exception_reason": reason, "message": message[:250]})
        payout.write({"state": "exception", "exception_reason": reason, "message": message})
        return payout.state

    # ------------------------------------------------------------------ matching
    def _match(self, payout, st_line):
        move = st_line.move_id
        liquidity, suspense, other = st_line._seek_for_lines()
        if other:
            # matched before: undo, so that every movement is matched again from a clean state
            other.remove_move_reconcile()
        plans = []
        for line in payout.line_ids:
            line.write({"match_state": "pending", "exception_reason": False, "message": False,
                        "move_line_id": False})
            plans.append((line, self._plan(payout, line)))
        counterparts = []
        for line, plan in plans:
            if plan:
                counterparts.append(plan)
        fees = sum(payout.line_ids.mapped("fee"))
        commands = [Command.unlink(aml.id) for aml in suspense | other]
        vals_list = [dict(plan["vals"]) for plan in counterparts]
        if not payout.currency_id.is_zero(fees):
            vals_list.append(self._aml_vals(payout, st_line, self._fee_account(), fees,
                                            self.env._("Fees of payout %(id)s", id=payout.external_id)))
        remaining = -payout.amount - sum(v["amount_currency"] for v in vals_list)
        if not payout.currency_id.is_zero(remaining):
            vals_list.append(self._aml_vals(payout, st_line, st_line.journal_id.suspense_account_id, remaining,
                                            self.env._("Unmatched movements of payout %(id)s", id=payout.external_id)))
        self._fix_rounding(vals_list, liquidity, payout)
        if move.state == "posted":
            move.button_draft()
        move.with_context(skip_readonly_check=True).write({"line_ids": commands + [Command.create(v) for v in vals_list]})
        move.action_post()
        created = move.line_ids - liquidity
        for plan in counterparts:
            aml = created.filtered(lambda a, p=plan: a.name == p["vals"]["name"] and not a.reconciled
                                   and a.account_id.id == p["vals"]["account_id"])[:1]
            plan["line"].move_line_id = aml
            if plan.get("target"):
                (aml | plan["target"]).reconcile()
        self._check_balance(payout)
        self._set_state(payout)

    def _aml_vals(self, payout, st_line, account, amount_currency, name, partner=None):
        company = payout.company_id
        balance = payout.currency_id._convert(amount_currency, company.currency_id, company, payout.date)
        return {
            "name": name,
            "account_id": account.id,
            "partner_id": (partner or st_line.partner_id).id or False,
            "currency_id": payout.currency_id.id,
            "amount_currency": amount_currency,
            "balance": balance,
        }

    def _fix_rounding(self, vals_list, liquidity, payout):
        """Put the conversion rounding of the counterparts on the last line, so that the entry balances."""
        if not vals_list:
            return
        gap = -liquidity.balance - sum(v["balance"] for v in vals_list)
        if not payout.company_id.currency_id.is_zero(gap):
            vals_list[-1]["balance"] += gap

    def _plan(self, payout, line):
        """Return what ``line`` is posted against ({vals, target, line}), or None after recording why not."""
        if line.type in ("charge", "refund") and (line.source_id or "").startswith(PAYMENT_SOURCE):
            return self._plan_payment(payout, line)
        method = {
            "charge": self._plan_charge,
            "refund": self._plan_refund,
            "fee": self._plan_fee,
        }.get(line.type)
        if method:
            return method(payout, line)
        if line.type in DISPUTE_TYPES:
            return self._plan_account(payout, line, self.backend_record.payout_dispute_account_id,
                                      self.env._("No dispute account on the backend: set one, or settle it by hand."))
        return self._plan_account(payout, line, self.backend_record.payout_adjustment_account_id,
                                  self.env._("No adjustment account on the backend: set one, or settle it by hand."))

    def _exception(self, line, reason, message, **vals):
        line.write(dict(vals, match_state="exception", exception_reason=reason, message=message[:250]))

    def _sale_order(self, line):
        orders_backend = self.backend_record._orders_backend()
        if not line.order_external_id:
            return None
        binding = self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", orders_backend.id), ("external_id", "=", line.order_external_id)], limit=1)
        return binding.odoo_id or None

    def _plan_charge(self, payout, line):
        sale = self._sale_order(line)
        if not sale:
            return self._exception(line, "unknown_order", self.env._(
                "No order %(order)s of %(backend)s was imported.", order=line.order_external_id or "-",
                backend=self.backend_record._orders_backend().name))
        invoices = sale.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted")
        if not invoices:
            orders_backend = self.backend_record._orders_backend()
            if orders_backend.invoice_policy == "at_payout":
                invoicer = self.component(usage="order.invoicer", model_name="retail.sale.order.binding")
                invoices = invoicer.invoice(sale, date=payout.date)
            if not invoices:
                return self._exception(line, "not_invoiced", self.env._(
                    "Order %(order)s is not invoiced yet.", order=sale.name), sale_order_id=sale.id)
        return self._plan_open_item(payout, line, sale, invoices, line.amount)

    def _plan_refund(self, payout, line):
        sale = self._sale_order(line)
        if not sale:
            return self._exception(line, "unknown_order", self.env._(
                "No order %(order)s of %(backend)s was imported.", order=line.order_external_id or "-",
                backend=self.backend_record._orders_backend().name))
        # a credit note of a channel refund may credit no order line (an amount only): found by its refund
        refunds = self.env["retail.refund"].search([("sale_order_id", "=", sale.id)])
        credit_notes = (sale.invoice_ids | refunds.credit_note_id).filtered(
            lambda m: m.move_type == "out_refund" and m.state == "posted")
        if not credit_notes:
            return self._exception(line, "no_credit_note", self.env._(
                "Order %(order)s has no posted credit note for the refund of %(amount)s.", order=sale.name,
                amount=-line.amount), sale_order_id=sale.id)
        return self._plan_open_item(payout, line, sale, credit_notes, line.amount)

    def _plan_open_item(self, payout, line, sale, documents, amount):
        """Match ``amount`` (signed for the merchant) to the documents' open receivable or their payments."""
        currency = payout.currency_id
        vals = {"sale_order_id": sale.id}
        receivables = documents.line_ids.filtered(
            lambda a: a.account_id.account_type == "asset_receivable" and not a.reconciled)
        if receivables:
            open_amount = sum(receivables.mapped("amount_residual_currency"))
            document = receivables.move_id[:1]
            if receivables.currency_id != currency:
                return self._exception(line, "currency_mismatch", self.env._(
                    "%(doc)s is in %(doc_currency)s, the payout in %(currency)s.", doc=document.name,
                    doc_currency=receivables.currency_id[:1].name, currency=currency.name), invoice_id=document.id, **vals)
            if currency.compare_amounts(open_amount, amount) != 0:
                return self._exception(line, "amount_mismatch", self.env._(
                    "%(doc)s is open for %(open)s, the channel settled %(amount)s.", doc=document.name,
                    open=open_amount, amount=amount), invoice_id=document.id, **vals)
            return self._planned(payout, line, receivables, amount, document, None, vals)
        # paid already: the payment registered from the channel's data waits in its outstanding account
        payments = documents.matched_payment_ids | documents._get_reconciled_payments()
        for payment in payments:
            outstanding = payment.move_id.line_ids.filtered(
                lambda a, p=payment: a.account_id == p.outstanding_account_id and not a.reconciled)
            if outstanding and currency.compare_amounts(sum(outstanding.mapped("amount_currency")), amount) == 0:
                return self._planned(payout, line, outstanding, amount, documents[:1], payment, vals)
        if payments:
            return self._exception(line, "already_settled" if all(p.is_reconciled or not p.move_id for p in payments)
                                   else "amount_mismatch", self.env._(
                "%(doc)s is paid by %(payments)s, none of which waits for %(amount)s.", doc=documents[:1].name,
                payments=", ".join(payments.mapped("name")), amount=amount), invoice_id=documents[:1].id, **vals)
        return self._exception(line, "already_settled", self.env._(
            "%(doc)s has nothing open left.", doc=documents[:1].name), invoice_id=documents[:1].id, **vals)

    def _planned(self, payout, line, targets, amount, document, payment, vals):
        line.write(dict(vals, invoice_id=document.id, payment_id=payment.id if payment else False,
                        match_state="matched"))
        st_line = payout.statement_line_id
        name = self.env._("%(type)s %(id)s of %(doc)s", type=line.type.capitalize(), id=line.external_id or line.id,
                          doc=document.name or payment.name)
        aml = self._aml_vals(payout, st_line, targets[:1].account_id, -amount, name,
                             partner=targets[:1].partner_id)
        return {"vals": aml, "target": targets, "line": line}

    def _plan_payment(self, payout, line):
        """Match a movement to the outstanding receipt (or payment) of the Odoo payment it names."""
        try:
            payment_id = int(line.source_id[len(PAYMENT_SOURCE):])
        except ValueError:
            payment_id = 0
        payment = self.env["account.payment"].browse(payment_id).exists()
        if not payment or payment.company_id != payout.company_id:
            return self._exception(line, "unknown_order", self.env._(
                "Payment %(ref)s does not exist in this company.", ref=line.source_id))
        outstanding = payment.move_id.line_ids.filtered(
            lambda a: a.account_id == payment.outstanding_account_id and not a.reconciled)
        if not outstanding:
            return self._exception(line, "already_settled", self.env._(
                "Payment %(name)s is settled already.", name=payment.name), payment_id=payment.id)
        open_amount = sum(outstanding.mapped("amount_currency"))
        if payout.currency_id.compare_amounts(open_amount, line.amount) != 0:
            return self._exception(line, "amount_mismatch", self.env._(
                "Payment %(name)s waits for %(open)s, the channel settled %(amount)s.", name=payment.name,
                open=open_amount, amount=line.amount), payment_id=payment.id)
        return self._planned(payout, line, outstanding, line.amount, self.env["account.move"], payment, {})

    def _plan_fee(self, payout, line):
        st_line = payout.statement_line_id
        name = self.env._("Fee %(id)s of payout %(payout)s", id=line.external_id or line.id, payout=payout.external_id)
        line.match_state = "posted"
        return {"vals": self._aml_vals(payout, st_line, self._fee_account(), -line.amount, name), "line": line}

    def _plan_account(self, payout, line, account, missing):
        if not account:
            return self._exception(line, "no_account", missing)
        sale = self._sale_order(line)
        st_line = payout.statement_line_id
        name = self.env._("%(type)s %(id)s of payout %(payout)s%(order)s", type=line.type.replace("_", " ").capitalize(),
                          id=line.external_id or line.id, payout=payout.external_id,
                          order=(" (%s)" % sale.name) if sale else "")
        line.write({"match_state": "posted", "sale_order_id": sale.id if sale else False})
        partner = sale.partner_id.commercial_partner_id if sale else None
        if sale and line.type in DISPUTE_TYPES:
            sale.message_post(body=self.env._("%(type)s of %(amount)s %(currency)s in payout %(payout)s.",
                                              type=line.type.capitalize(), amount=line.amount,
                                              currency=payout.currency_id.name, payout=payout.external_id))
        return {"vals": self._aml_vals(payout, st_line, account, -line.amount, name, partner=partner), "line": line}

    def _check_balance(self, payout):
        nets = sum(payout.line_ids.mapped("net"))
        if payout.currency_id.compare_amounts(nets, payout.amount) != 0:
            payout.write({"exception_reason": "unbalanced", "message": self.env._(
                "The movements add up to %(nets)s but the payout is %(amount)s: the difference stays on the "
                "suspense account.", nets=nets, amount=payout.amount)})
        else:
            payout.write({"exception_reason": False, "message": False})

    def _set_state(self, payout):
        lines = payout.line_ids
        failed = lines.filtered(lambda line: line.match_state == "exception")
        if payout.exception_reason:
            state = "exception" if not (lines - failed) else "partial"
        elif not failed:
            state = "matched"
        elif failed == lines:
            state = "exception"
        else:
            state = "partial"
        payout.state = state
