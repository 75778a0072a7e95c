# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from decimal import Decimal

import psycopg2

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.component.exception import NoComponentError

from ..lib.workflow import Done, Skip, Wait, register_kind
from .retail_access import check_retail_access

RETURN_KIND = register_kind("return", "Return", "retail.return", [
    ("authorise", "Authorise", "_wf_authorise"),
    ("return_picking", "Return picking", "_wf_return_picking"),
    ("expect_warehouse", "Expected at the warehouse", "_wf_expect_warehouse", True),
    ("receive", "Receive and inspect", "_wf_receive", True),
    ("refund_odoo", "Refund in Odoo", "_wf_refund_odoo"),
    ("refund_channel", "Refund on the channel", "_wf_refund_channel"),
    ("close", "Close", "_wf_close"),
])


class RetailReturn(models.Model):
    """A customer return of goods from a sale order, run as a workflow across systems.

    Authorised from a channel's return or by a person in Odoo, a return takes the goods back
    (return picking, announced to the warehouse that receives it), restocks or scraps each
    line once received, refunds in Odoo (credit note and payment) and on the channel, then
    closes. Each step's state, tries and errors show on the return; a failed step pauses it
    with an activity, and Resume continues from that step.
    """

    _name = "retail.return"
    _description = "Retail Return"
    _inherit = ["mail.thread", "mail.activity.mixin", "retail.workflow.subject"]
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, copy=False, default=lambda self: self.env._("New"))
    backend_id = fields.Many2one("retail.backend", string="Channel", ondelete="restrict", index=True,
                                 help="The channel the order came from; it is refunded there too.")
    sale_order_id = fields.Many2one("sale.order", required=True, ondelete="restrict", index=True)
    company_id = fields.Many2one(related="sale_order_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="sale_order_id.partner_id")
    currency_id = fields.Many2one(related="sale_order_id.currency_id")
    external_id = fields.Char(string="Channel return id", index=True, copy=False)
    origin = fields.Selection([("channel", "Channel"), ("odoo", "Odoo")], required=True, default="odoo")
    reason = fields.Char()
    state = fields.Selection(
        [("draft", "Draft"), ("open", "In progress"), ("done", "Closed"), ("cancelled", "Cancelled")],
        required=True, default="draft", tracking=True, readonly=True,
    )
    line_ids = fields.One2many("retail.return.line", "return_id", string="Lines", copy=True)
    amount = fields.Monetary(compute="_compute_amount", store=True, help="What the customer gets back, taxes included.")
    return_picking_id = fields.Many2one("stock.picking", string="Return picking", readonly=True, copy=False,
                                        ondelete="set null")
    warehouse_backend_id = fields.Many2one("retail.backend", string="Receiving warehouse", readonly=True, copy=False,
                                           ondelete="set null")
    credit_note_id = fields.Many2one("account.move", string="Credit note", readonly=True, copy=False, ondelete="set null")
    payment_id = fields.Many2one("account.payment", string="Refund payment", readonly=True, copy=False,
                                 ondelete="set null")
    refund_id = fields.Many2one("retail.refund", string="Channel refund", copy=False, ondelete="set null",
                                help="The refund the channel made itself; the channel is then not refunded again.")
    channel_refund_ref = fields.Char(string="Refund on the channel", readonly=True, copy=False,
                                     help="The id of the refund this return made on the channel.")
    workflow_id = fields.Many2one("retail.workflow", readonly=True, copy=False, ondelete="set null")
    workflow_state = fields.Selection(related="workflow_id.state", string="Workflow state")
    step_ids = fields.One2many(related="workflow_id.step_ids", string="Steps")
    workflow_summary = fields.Char(related="workflow_id.summary", string="Progress")

    _backend_external_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "A channel return is recorded once per channel."
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", self.env._("New")) == self.env._("New"):
                vals["name"] = self.env["ir.sequence"].next_by_code("retail.return") or "/"
        return super().create(vals_list)

    @api.depends("line_ids.amount")
    def _compute_amount(self):
        for ret in self:
            ret.amount = sum(ret.line_ids.mapped("amount"))

    @api.onchange("sale_order_id")
    def _onchange_sale_order_id(self):
        sale = self.sale_order_id
        if sale and not self.backend_id and "retail_bind_ids" in sale._fields:
            self.backend_id = sale.sudo().retail_bind_ids[:1].backend_id

    # ------------------------------------------------------------------ actions
    def action_authorise(self):
        """Authorise the return and start its workflow."""
        check_retail_access(self, "write")
        for ret in self.filtered(lambda r: r.state == "draft"):
            if not ret.line_ids:
                raise UserError(self.env._("Return %(name)s has no line: add what comes back.", name=ret.name))
            ret.state = "open"
            ret.workflow_id = self.env["retail.workflow"].sudo()._start("return", ret, backend=ret.backend_id)
        return True

    def action_resume(self):
        check_retail_access(self, "write")
        self.sudo().workflow_id.action_resume()
        return True

    def action_wake(self):
        check_retail_access(self, "write")
        self.sudo().workflow_id.action_wake()
        return True

    def action_cancel(self):
        check_retail_access(self, "write")
        for ret in self.filtered(lambda r: r.state in ("draft", "open")):
            ret.sudo().workflow_id.action_cancel()
            ret.state = "cancelled"
        return True

    def _retail_workflow_done(self, workflow):
        self.state = "done"

    def _work_on_backend(self, backend, model_name="retail.return"):
        return backend.with_context(retail_origin_backend=backend.id).work_on(model_name)

    # ------------------------------------------------------------------ steps
    def _wf_authorise(self, step):
        """Check each line against what the order delivered."""
        problems = []
        for line in self.line_ids:
            if not line.sale_line_id:
                problems.append(self.env._("%(sku)s is not on order %(order)s", sku=line.sku or line.product_id.display_name,
                                           order=self.sale_order_id.name))
            elif line.quantity <= 0:
                problems.append(self.env._("%(product)s has no quantity", product=line.product_id.display_name))
        if problems:
            raise UserError(self.env._("Return %(name)s cannot be authorised: %(problems)s. Correct its lines, then resume.",
                                       name=self.name, problems="; ".join(problems)))
        return Done({"lines": len(self.line_ids), "amount": self.amount},
                    self.env._("%(count)s line(s), %(amount)s to refund", count=len(self.line_ids), amount=self.amount))

    def _wf_return_picking(self, step):
        """Create the return of the delivered goods (Odoo's return of the delivery)."""
        if self.return_picking_id:
            return Done({"picking_id": self.return_picking_id.id}, self.return_picking_id.name)
        wanted = {line: line.quantity for line in self.line_ids if line.sale_line_id}
        delivered = self.sale_order_id.picking_ids.filtered(
            lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        returns = self.env["stock.picking"]
        for picking in delivered.sorted("date_done"):
            wizard = (self.env["stock.return.picking"].with_context(active_id=picking.id, active_model="stock.picking")
                      .create({"picking_id": picking.id}))
            any_line = False
            for return_line in wizard.product_return_moves:
                move = return_line.move_id
                line = next((r for r, qty in wanted.items() if qty > 0 and r.sale_line_id == move.sale_line_id), None)
                if not line:
                    return_line.quantity = 0
                    continue
                returned = sum(m.quantity for m in move.move_dest_ids
                               if m.origin_returned_move_id == move and m.state != "cancel")
                qty = min(wanted[line], max(move.quantity - returned, 0.0))
                return_line.quantity = qty
                if qty > 0:
                    wanted[line] -= qty
                    any_line = True
            if any_line:
                returns |= wizard._create_return()
        if not returns:
            return Skip(self.env._("Nothing of this return was delivered: no goods come back."))
        returns.write({"origin": "%s %s" % (self.name, self.sale_order_id.name)})
        self.return_picking_id = returns[:1]
        return Done({"picking_ids": returns.ids}, ", ".join(returns.mapped("name")))

    def _wf_expect_warehouse(self, step):
        """Announce the return to the warehouse backend that receives it, and wait for it to hear."""
        picking = self.return_picking_id
        if not picking:
            return Skip(self.env._("No goods come back."))
        backend = self.env["retail.warehouse.route"]._route(picking)
        if not backend or not backend.is_warehouse:
            return Skip(self.env._("%(warehouse)s is run in Odoo: no warehouse system to tell.",
                                   warehouse=picking.picking_type_id.warehouse_id.name or "-"))
        self.warehouse_backend_id = backend
        if picking.sudo().retail_bind_ids.filtered(lambda b: b.backend_id == backend):
            return Done({"backend_id": backend.id}, self.env._("%(backend)s expects %(picking)s",
                                                               backend=backend.name, picking=picking.name))
        if picking.state == "done":
            return Skip(self.env._("%(picking)s was received before the warehouse was told.", picking=picking.name))
        self.env["retail.export.request"].sudo()._request(backend, "fulfilment", picking)
        return Wait(self.env._("Waiting for %(backend)s to take %(picking)s", backend=backend.name, picking=picking.name))

    def _wf_receive(self, step):
        """Wait for the goods; once received, put each line back to stock or scrap it."""
        picking = self.return_picking_id
        if not picking:
            return Skip(self.env._("No goods come back."))
        if picking.state == "cancel":
            raise UserError(self.env._("Return picking %(picking)s was cancelled: make a new one or cancel the return.",
                                       picking=picking.name))
        if picking.state != "done":
            return Wait(self.env._("Waiting for %(picking)s to be received", picking=picking.name))
        received = {}
        for move in picking.move_ids.filtered(lambda m: m.state == "done"):
            received[move.sale_line_id.id or move.product_id.id] = received.get(move.sale_line_id.id or move.product_id.id, 0.0) + move.quantity
        scrapped = []
        for line in self.line_ids:
            key = line.sale_line_id.id or line.product_id.id
            qty = min(line.quantity, received.get(key, 0.0))
            received[key] = received.get(key, 0.0) - qty
            values = {"received_qty": qty}
            if line.disposition == "scrap" and qty > 0 and not line.scrap_id:
                scrap = self.env["stock.scrap"].create({
                    "product_id": line.product_id.id, "scrap_qty": qty, "product_uom_id": line.product_id.uom_id.id,
                    "location_id": picking.location_dest_id.id, "picking_id": picking.id,
                    "company_id": picking.company_id.id, "origin": self.name,
                })
                scrap.do_scrap()
                values["scrap_id"] = scrap.id
                scrapped.append("%s x %s" % (qty, line.product_id.display_name))
            line.write(values)
        message = self.env._("Received %(picking)s", picking=picking.name)
        if scrapped:
            message += self.env._("; scrapped %(items)s", items=", ".join(scrapped))
        return Done({"received": {str(k): v for k, v in received.items()}, "scrapped": scrapped}, message)

    def _wf_refund_odoo(self, step):
        """Credit the returned lines and pay the customer back."""
        sale = self.sale_order_id
        if self.refund_id and self.refund_id.credit_note_id and not self.credit_note_id:
            self.credit_note_id = self.refund_id.credit_note_id
        if not self.credit_note_id:
            if not sale.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted"):
                raise UserError(self.env._(
                    "Order %(order)s has no posted invoice to credit: invoice it, then resume return %(name)s.",
                    order=sale.name, name=self.name))
            self.credit_note_id = self._make_credit_note()
        move = self.credit_note_id
        if move.state == "draft":
            move.action_post()
        if self.refund_id:
            # the channel paid the money back itself: its settlement books the payment
            return Done({"credit_note_id": move.id}, move.name)
        if not self.payment_id and move.payment_state not in ("paid", "in_payment", "reversed"):
            register = self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=move.ids).create({})
            payments = register._create_payments()
            self.payment_id = payments[:1]
        return Done({"credit_note_id": move.id, "payment_id": self.payment_id.id},
                    " / ".join(filter(None, [move.name, self.payment_id.name])))

    def _make_credit_note(self):
        sale = self.sale_order_id
        move_vals = sale._prepare_invoice()
        move_vals.update(move_type="out_refund", transaction_ids=[Command.clear()], invoice_line_ids=[],
                         ref=self.env._("Return %(name)s", name=self.name))
        for line in self.line_ids.filtered("sale_line_id"):
            move_vals["invoice_line_ids"].append(Command.create(line.sale_line_id._prepare_invoice_line(quantity=line.quantity)))
        move = self.env["account.move"].with_company(sale.company_id).create(move_vals)
        difference = Decimal(str(self.amount)) - Decimal(str(move.amount_total))
        if self.amount and not move.currency_id.is_zero(float(difference)):
            product = self.env.ref("retail_connector_base.product_channel_refund")
            move.write({"invoice_line_ids": [Command.create({
                "product_id": product.id, "name": self.reason or product.name, "quantity": 1.0,
                "price_unit": float(difference), "tax_ids": [Command.clear()]})]})
        if move.amount_total <= 0:
            raise UserError(self.env._("Return %(name)s credits nothing: check its lines and amounts.", name=self.name))
        return move

    def _wf_refund_channel(self, step):
        """Refund the customer on the channel, unless the channel refunded them itself."""
        if self.refund_id:
            return Skip(self.env._("The channel made the refund (%(ref)s).", ref=self.refund_id.external_id))
        if self.channel_refund_ref:
            return Done({"external_id": self.channel_refund_ref}, self.channel_refund_ref)
        backend = self.backend_id
        if not backend or backend.is_warehouse:
            return Skip(self.env._("The order did not come from a channel."))
        binding = self.sale_order_id.sudo().retail_bind_ids.filtered(lambda b: b.backend_id == backend)[:1]
        if not binding:
            return Skip(self.env._("Order %(order)s is not bound to %(backend)s.", order=self.sale_order_id.name,
                                   backend=backend.name))
        with self._work_on_backend(backend) as work:
            try:
                exporter = work.component(usage="refund.exporter")
            except NoComponentError:
                return Skip(self.env._("%(backend)s offers no refund API: refund the customer there by hand.",
                                       backend=backend.name))
            # the look-ups and the refund's tokens reserved at once: a step cut short would look them up again
            with backend._reserved_outbound(min(exporter.max_requests(self), backend.rate_limit_burst)):
                refund = exporter.refund(self, binding)
        external_id = str(refund["external_id"])
        self.channel_refund_ref = external_id
        # the channel announces the refund back (order update, webhook): it is known, so not applied twice
        Refund = self.env["retail.refund"].sudo()
        if not Refund.search([("backend_id", "=", backend.id), ("external_id", "=", external_id)], limit=1):
            try:
                with self.env.cr.savepoint():
                    Refund.create({
                        "backend_id": backend.id, "external_id": external_id, "sale_order_id": self.sale_order_id.id,
                        "refunded_at": fields.Datetime.now(), "currency_id": self.currency_id.id, "amount": self.amount,
                        "reason": self.reason or False, "action": "credit_note", "state": "done",
                        "credit_note_id": self.credit_note_id.id, "return_picking_id": self.return_picking_id.id,
                        "message": self.env._("Refund made by return %(name)s.", name=self.name),
                    })
            except psycopg2.IntegrityError:
                pass  # the channel's announcement of this refund was recorded meanwhile
        return Done(dict(refund), self.env._("Refund %(ref)s on %(backend)s", ref=external_id, backend=backend.name))

    def _wf_close(self, step):
        """Close the return."""
        self.message_post(body=self.env._("Return closed: %(steps)s", steps="; ".join(
            "%s: %s" % (s.name, s.message or s.state) for s in self.workflow_id.step_ids if s.code != "close")))
        return Done({}, self.env._("Closed"))

    # ------------------------------------------------------------------ waking
    @api.model
    def _wake_for_pickings(self, pickings):
        """Wake the returns waiting on these pickings (received, or taken by their warehouse)."""
        returns = self.sudo().search([("return_picking_id", "in", pickings.ids), ("state", "=", "open")])
        if returns:
            self.env["retail.workflow"]._wake_for(returns)
        return returns


class RetailReturnLine(models.Model):
    _name = "retail.return.line"
    _description = "Retail Return Line"

    return_id = fields.Many2one("retail.return", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="return_id.company_id", store=True)
    sale_line_id = fields.Many2one(
        "sale.order.line", string="Order line", ondelete="set null",
        domain="[('order_id', '=', parent.sale_order_id), ('display_type', '=', False)]",
    )
    product_id = fields.Many2one("product.product", compute="_compute_product", store=True, readonly=False)
    sku = fields.Char(string="SKU")
    quantity = fields.Float(digits="Product Unit", default=1.0)
    amount = fields.Monetary(currency_field="currency_id", compute="_compute_amount", store=True, readonly=False,
                             help="Refunded for this line, taxes included; the order's price by default.")
    currency_id = fields.Many2one(related="return_id.currency_id")
    disposition = fields.Selection([("restock", "Restock"), ("scrap", "Scrap")], required=True, default="restock",
                                   help="What happens to the goods once received and inspected.")
    received_qty = fields.Float(string="Received", digits="Product Unit", readonly=True)
    scrap_id = fields.Many2one("stock.scrap", readonly=True, ondelete="set null")

    @api.depends("sale_line_id")
    def _compute_product(self):
        for line in self:
            if line.sale_line_id:
                line.product_id = line.sale_line_id.product_id

    @api.depends("sale_line_id", "quantity")
    def _compute_amount(self):
        for line in self:
            sale_line = line.sale_line_id
            if sale_line and sale_line.product_uom_qty:
                line.amount = line.currency_id.round(sale_line.price_total / sale_line.product_uom_qty * line.quantity)
            else:
                line.amount = line.amount or 0.0


class SaleOrder(models.Model):
    _inherit = "sale.order"

    retail_return_ids = fields.One2many("retail.return", "sale_order_id", string="Returns",
                                        groups="retail_connector_base.group_retail_user")
    retail_return_count = fields.Integer(compute="_compute_retail_return_count",
                                         groups="retail_connector_base.group_retail_user")

    @api.depends("retail_return_ids")
    def _compute_retail_return_count(self):
        for order in self:
            order.retail_return_count = len(order.retail_return_ids)

    def action_view_retail_returns(self):
        check_retail_access(self.env["retail.return"], "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_return")
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {"default_sale_order_id": self.id}
        return action

    def action_new_retail_return(self):
        """Open a draft return of this order with its delivered lines."""
        check_retail_access(self.env["retail.return"], "create")
        self.ensure_one()
        ret = self.env["retail.return"].create({
            "sale_order_id": self.id,
            "backend_id": self.sudo().retail_bind_ids[:1].backend_id.id,
            "line_ids": [Command.create({"sale_line_id": line.id, "quantity": line.qty_delivered,
                                         "sku": line.product_id.default_code})
                         for line in self.order_line
                         if not line.display_type and line.product_id.type == "consu" and line.qty_delivered > 0],
        })
        return {"type": "ir.actions.act_window", "res_model": "retail.return", "res_id": ret.id, "view_mode": "form"}
