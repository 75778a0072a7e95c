# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib.workflow import Done, Skip, Wait, register_kind
from .retail_access import check_retail_access
from .retail_workflow import WORKFLOW_STATES

ORDER_KIND = register_kind("order", "Order orchestration", "sale.order", [
    ("customer", "Customer valid", "_wf_order_customer"),
    ("payment", "Payment", "_wf_order_payment", True),
    ("taxes", "Taxes computed", "_wf_order_taxes"),
    ("reservation", "Stock reserved", "_wf_order_reservation", True),
    ("release", "Released to the warehouse", "_wf_order_release", True),
    ("shipment", "Shipped", "_wf_order_shipment", True),
    ("invoice", "Invoiced", "_wf_order_invoice", True),
    ("notify", "Channel notified", "_wf_order_notify", True),
])
PAID_STATES = ("paid", "authorized", "partially_refunded", "refunded")


class SaleOrder(models.Model):
    """A channel order's way from capture to the channel's notification, as a timeline.

    The steps observe what the pipeline and the users do (payment, reservation, warehouse
    release, shipment, invoicing, fulfilment export); a waiting step costs nothing until an
    event of its order wakes it.
    """

    _name = "sale.order"
    _inherit = ["sale.order", "retail.workflow.subject"]

    retail_order_workflow_id = fields.Many2one(
        "retail.workflow", string="Orchestration", compute="_compute_retail_order_workflow",
        groups="retail_connector_base.group_retail_user")
    retail_order_step_ids = fields.One2many(
        "retail.workflow.step", string="Orchestration steps", compute="_compute_retail_order_workflow",
        groups="retail_connector_base.group_retail_user")
    retail_order_workflow_state = fields.Selection(
        WORKFLOW_STATES, string="Orchestration state", compute="_compute_retail_order_workflow",
        groups="retail_connector_base.group_retail_user")

    def _compute_retail_order_workflow(self):
        workflows = self.env["retail.workflow"].sudo().search(
            [("kind", "=", "order"), ("res_model", "=", self._name), ("res_id", "in", self.ids),
             ("state", "!=", "cancelled")])
        by_order = {w.res_id: w for w in workflows}
        for order in self:
            workflow = by_order.get(order.id, self.env["retail.workflow"])
            order.retail_order_workflow_id = workflow
            order.retail_order_step_ids = workflow.step_ids
            order.retail_order_workflow_state = workflow.state

    def action_retail_workflow_resume(self):
        """Resume the order's paused workflow (for those who may operate workflows, not every salesperson)."""
        self.check_access("write")
        check_retail_access(self.env["retail.workflow"], "write")
        self.sudo().retail_order_workflow_id.action_resume()
        return True

    def _retail_deliveries(self):
        return self.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "cancel")

    def _retail_channel_binding(self):
        return self.sudo().retail_bind_ids.filtered(lambda b: not b.backend_id.is_warehouse)[:1]

    def _wf_order_customer(self, step):
        """A customer and, for goods to ship, a delivery address."""
        partner, shipping = self.partner_id, self.partner_shipping_id
        missing = []
        if not partner:
            missing.append(self.env._("customer"))
        if any(line.product_id.type == "consu" for line in self.order_line):
            for field_name, label in (("street", self.env._("street")), ("city", self.env._("city")),
                                      ("country_id", self.env._("country"))):
                if not shipping[field_name]:
                    missing.append(label)
        if missing:
            raise UserError(self.env._(
                "Order %(order)s: the delivery address of %(partner)s lacks %(missing)s. Complete the address, then resume.",
                order=self.name, partner=shipping.display_name or "-", missing=", ".join(missing)))
        return Done({"partner_id": partner.id, "shipping_id": shipping.id}, shipping.display_name)

    def _wf_order_payment(self, step):
        """The channel says the order is paid (or authorised)."""
        binding = self._retail_channel_binding()
        if not binding:
            return Skip(self.env._("Not a channel order."))
        state = binding.channel_payment_state or ""
        if state in PAID_STATES:
            return Done({"payment_state": state, "gateway": binding.channel_payment_gateway or ""},
                        "%s%s" % (state, " (%s)" % binding.channel_payment_gateway if binding.channel_payment_gateway else ""))
        return Wait(self.env._("Payment %(state)s on the channel", state=state or "unknown"))

    def _wf_order_taxes(self, step):
        """Every line of a taxed product carries its taxes."""
        untaxed = self.order_line.filtered(lambda l: l.product_id and not l.display_type and not l.tax_ids
                                           and l.product_id.taxes_id.filtered(lambda t: t.company_id == self.company_id))
        if untaxed:
            raise UserError(self.env._(
                "Order %(order)s: %(products)s carry no tax although their products are taxed. Check the tax mapping "
                "of the channel, correct the lines, then resume.",
                order=self.name, products=", ".join(untaxed.product_id.mapped("display_name"))))
        return Done({"amount_untaxed": self.amount_untaxed, "amount_tax": self.amount_tax},
                    "%s + %s %s" % (self.amount_untaxed, self.amount_tax, self.currency_id.name))

    def _wf_order_reservation(self, step):
        """The deliveries have their stock reserved."""
        deliveries = self._retail_deliveries()
        if not deliveries:
            if self.state != "sale":
                return Wait(self.env._("The order is not confirmed"))
            return Skip(self.env._("Nothing to deliver."))
        waiting = deliveries.filtered(lambda p: p.state not in ("assigned", "done"))
        if waiting:
            return Wait(self.env._("Waiting for stock: %(pickings)s", pickings=", ".join(waiting.mapped("name"))))
        return Done({"picking_ids": deliveries.ids}, ", ".join(deliveries.mapped("name")))

    def _wf_order_release(self, step):
        """The deliveries run by a warehouse system are released to it."""
        deliveries = self._retail_deliveries()
        Route = self.env["retail.warehouse.route"]
        released, pending, local = [], [], []
        for picking in deliveries:
            backend = Route._route(picking)
            if not backend or not backend.is_warehouse:
                local.append(picking)
            elif picking.sudo().retail_bind_ids.filtered(lambda b, backend=backend: b.backend_id == backend):
                released.append((picking, backend))
            elif picking.state == "done":
                local.append(picking)
            else:
                pending.append((picking, backend))
        if pending:
            return Wait(self.env._("Waiting for the release of %(items)s", items=", ".join(
                "%s to %s" % (p.name, b.name) for p, b in pending)))
        if not released:
            return Skip(self.env._("Shipped from a warehouse run in Odoo."))
        return Done({"released": {p.name: b.name for p, b in released}},
                    ", ".join("%s: %s" % (p.name, b.name) for p, b in released))

    def _wf_order_shipment(self, step):
        """Every delivery is done."""
        deliveries = self._retail_deliveries()
        if not deliveries:
            return Skip(self.env._("Nothing to deliver."))
        open_ = deliveries.filtered(lambda p: p.state != "done")
        if open_:
            return Wait(self.env._("Waiting for %(pickings)s to ship", pickings=", ".join(open_.mapped("name"))))
        # tracking numbers come with the delivery carriers module, when installed
        refs = [p.carrier_tracking_ref for p in deliveries
                if "carrier_tracking_ref" in p._fields and p.carrier_tracking_ref]
        return Done({"picking_ids": deliveries.ids, "tracking": refs},
                    ", ".join(deliveries.mapped("name")) + (" (%s)" % ", ".join(refs) if refs else ""))

    def _wf_order_invoice(self, step):
        """The order is invoiced (by whatever invoicing policy applies)."""
        invoices = self.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted")
        if self.invoice_status == "invoiced" or (invoices and self.invoice_status != "to invoice"):
            return Done({"invoice_ids": invoices.ids}, ", ".join(invoices.mapped("name")))
        return Wait(self.env._("Invoice status: %(status)s", status=dict(
            self._fields["invoice_status"]._description_selection(self.env)).get(self.invoice_status, "-")))

    def _wf_order_notify(self, step):
        """The channel heard of the shipment (fulfilment export sent)."""
        binding = self._retail_channel_binding()
        if not binding:
            return Skip(self.env._("Not a channel order."))
        backend = binding.backend_id
        policy = backend.policy_for("fulfilment")
        if not policy or policy.mode == "off" or policy.direction == "inbound":
            return Skip(self.env._("%(backend)s is not told of shipments.", backend=backend.name))
        deliveries = self._retail_deliveries().filtered(lambda p: p.state == "done")
        sent = self.env["retail.export.request"].sudo().search([
            ("backend_id", "=", backend.id), ("domain", "=", "fulfilment"), ("res_model", "=", "stock.picking"),
            ("res_id", "in", deliveries.ids), ("state", "=", "done")])
        missing = deliveries.filtered(lambda p: p.id not in sent.mapped("res_id"))
        if missing or not deliveries:
            return Wait(self.env._("Waiting for %(backend)s to hear of %(pickings)s", backend=backend.name,
                                   pickings=", ".join(missing.mapped("name")) or "-"))
        return Done({"export_ids": sent.ids}, self.env._("%(backend)s notified", backend=backend.name))

    def action_view_retail_workflow(self):
        check_retail_access(self.env["retail.workflow"], "read")
        self.ensure_one()
        workflow = self._retail_workflow("order")
        return {"type": "ir.actions.act_window", "res_model": "retail.workflow", "res_id": workflow.id,
                "view_mode": "form"}


class RetailWorkflow(models.Model):
    _inherit = "retail.workflow"

    @api.model
    def _wake_for_pickings(self, pickings):
        """Wake the workflows whose step waits on these transfers: their orders' and returns'."""
        if not pickings:
            return
        self._wake_for(pickings.sale_id)
        self.env["retail.return"]._wake_for_pickings(pickings)
