# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Store sales of any POS booked in Odoo's own point of sale.

A completed store sale (a canonical Order carrying its POS location in ``extra``) becomes a
``pos.order`` in the Odoo session of its store and business day, created through
``pos.order.sync_from_ui`` as Odoo's POS front end does: lines with their taxes and discounts,
one payment per tender on the mapped payment method, the customer when known, and the
picking that takes the goods out of the store's location. A return becomes a return POS order
linked line by line to the sale. At the store's cut-off the day's session is closed (Odoo's POS
accounting posts its entries) once the POS's own list of the day's sales has been compared with
Odoo's and the missing ones imported; the takings per tender are then compared and any
difference is flagged on the day.
"""

import uuid
from decimal import Decimal

from odoo import fields

from odoo.addons.component.core import AbstractComponent, Component
from odoo.addons.retail_connector_base.components.errors import RetailMappingError
from odoo.addons.queue_job.exception import RetryableJobError

CREATED, UNCHANGED = "created", "unchanged"
SALE_KINDS = ("sale", "capture", "authorization")


def _naive_utc(value):
    return value.replace(tzinfo=None) if value and value.tzinfo else value


class PosOrderWriter(Component):
    _name = "retail.pos.order.writer"
    _inherit = "retail.base"
    _usage = "pos.order.writer"
    _apply_on = "retail.pos.order.binding"

    def apply(self, order, returned_from=None):
        """Book a canonical store sale (or, with ``returned_from``, a return); return (binding, outcome)."""
        if self.env.context.get("retail_origin_backend") != self.backend_record.id:
            backend = self.backend_record.with_context(retail_origin_backend=self.backend_record.id)
            with backend.work_on(self.model._name) as work:
                return work.component(usage=self._usage).apply(order, returned_from)
        backend = self.backend_record
        self.advisory_lock_or_retry("retail-pos-order-%s-%s" % (backend.id, order.external_id), retry_seconds=2)
        binder = self.binder_for("retail.pos.order.binding")
        binding = binder.to_internal(order.external_id)
        if binding:
            return binding, UNCHANGED
        store = self._store(order.extra.get("location_id"))
        moment = _naive_utc(order.updated_at or order.created_at)
        business_date = store._business_date(moment)
        session = self.component(usage="pos.session.keeper", model_name="retail.pos.day").session_for(
            store, business_date)
        if order.currency and order.currency != session.currency_id.name:
            raise RetailMappingError(
                self.env._("Store %(store)s sells in %(pos)s but its Odoo point of sale %(config)s books in %(odoo)s: "
                           "map the store to a point of sale in %(pos)s.", store=store.name, pos=order.currency,
                           config=store.pos_config_id.name, odoo=session.currency_id.name),
                kind="currency",
            )
        data = self._ui_order(order, session, returned_from)
        self.env["pos.order"].sync_from_ui([data])
        pos_order = self.env["pos.order"].search([("uuid", "=", data["uuid"])], limit=1)
        if pos_order.state == "draft":
            raise RetailMappingError(
                self.env._("Store sale %(ref)s could not be booked as paid: %(paid)s paid for %(total)s.",
                           ref=order.name or order.external_id, paid=data["amount_paid"], total=data["amount_total"]),
                kind="validation",
            )
        binding = binder.bind_record(order.external_id, pos_order, store_id=store.id, business_date=business_date,
                                     sync_state="synced")
        return binding, CREATED

    def _store(self, location):
        store = self.env["retail.pos.store"].search(
            [("backend_id", "=", self.backend_record.id), ("external_id", "=", str(location or ""))], limit=1)
        if not store:
            raise RetailMappingError(
                self.env._("Store location %(loc)s of %(backend)s is not mapped to an Odoo point of sale: add it to "
                           "the backend's Stores tab, then replay the event.", loc=location, backend=self.backend_record.name),
                kind="missing_mapping",
            )
        return store

    def _payment_method(self, tender, config):
        mappings = self.backend_record.pos_tender_ids.filtered(lambda t: t.tender_type == (tender or "OTHER"))
        # a store's own mapping first (each point of sale has its own cash method), then the backend's
        mapping = mappings.filtered(lambda t: t.store_id.pos_config_id == config)[:1] or \
            mappings.filtered(lambda t: not t.store_id)[:1]
        method = mapping.payment_method_id
        if not method:
            raise RetailMappingError(
                self.env._("Tender %(tender)s of %(backend)s has no Odoo payment method: map it on the backend's "
                           "Tenders tab, then replay the event.", tender=tender, backend=self.backend_record.name),
                kind="missing_mapping",
            )
        if method not in config.payment_method_ids:
            raise RetailMappingError(
                self.env._("Payment method %(method)s is not offered by point of sale %(pos)s: add it there.",
                           method=method.name, pos=config.name),
                kind="missing_mapping",
            )
        return method

    def _ui_order(self, order, session, returned_from=None):
        """Return the order as Odoo's POS front end sends it to ``sync_from_ui``."""
        backend = self.backend_record
        config = session.config_id
        currency = session.currency_id
        sign = -1 if returned_from else 1
        resolver = self.component(usage="product.resolver", model_name="retail.product.binding")
        writer = self.component(usage="order.writer", model_name="retail.sale.order.binding")
        fpos = config.default_fiscal_position_id
        lines, total, base = [], Decimal(0), Decimal(0)
        for line in order.lines:
            product = resolver.resolve(sku=line.sku, barcode=line.barcode, label=line.name)
            qty = float(line.quantity) * sign
            price = float(line.unit_price)
            gross = line.quantity * line.unit_price
            discount = float(line.discount_amount / gross * 100) if gross and line.discount_amount else 0.0
            # a POS reports every tax it charged: a line without tax lines was not taxed
            taxes = writer._taxes(line.tax_lines, product, fpos, order.taxes_included) if line.tax_lines \
                else self.env["account.tax"]
            computed = taxes.compute_all(price * (1 - discount / 100), currency, qty, product=product)
            vals = {
                "product_id": product.id, "qty": qty, "price_unit": price, "discount": discount,
                "tax_ids": [(6, 0, taxes.ids)], "price_subtotal": computed["total_excluded"],
                "price_subtotal_incl": computed["total_included"], "pack_lot_ids": [],
                "full_product_name": line.name or product.display_name,
            }
            if returned_from:
                original = returned_from.lines.filtered(
                    lambda ol, p=product: ol.product_id == p and ol.qty > 0 and ol.qty > -sum(ol.refund_orderline_ids.mapped("qty")))[:1]
                if original:
                    vals["refunded_orderline_id"] = original.id
            lines.append((0, 0, vals))
            total += Decimal(str(computed["total_included"]))
            base += Decimal(str(computed["total_excluded"]))
        payments = []
        paid = Decimal(0)
        tenders = [p for p in order.payments if p.kind in SALE_KINDS + ("refund",) and p.status in ("success", None)]
        for payment in tenders:
            method = self._payment_method(payment.gateway, config)
            amount = Decimal(payment.amount) * sign
            paid += amount
            payments.append((0, 0, {"amount": float(amount), "payment_method_id": method.id,
                                    "name": fields.Datetime.to_string(_naive_utc(payment.processed_at) or fields.Datetime.now())}))
        total = currency.round(float(total))
        if order.total_amount is not None and currency.compare_amounts(total, float(order.total_amount) * sign):
            raise RetailMappingError(
                self.env._("Store sale %(ref)s totals %(pos)s on the POS but %(odoo)s with Odoo's taxes and prices: "
                           "check the tax mapping of the backend.", ref=order.name or order.external_id,
                           pos=order.total_amount, odoo=abs(total)),
                kind="validation",
            )
        change = max(float(paid) - total, 0.0) if sign > 0 else 0.0
        partner = False
        if order.customer and (order.customer.email or order.customer.phone):
            resolver_c = self.component(usage="customer.resolver", model_name="retail.partner.binding")
            partner = resolver_c.resolve(order.customer, order.billing_address, order.shipping_address)[0].id
        return {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "retail-pos-%s-%s" % (backend.id, order.external_id))),
            "name": order.name or order.external_id,
            "session_id": session.id,
            "user_id": self.env.uid,
            "pricelist_id": config.pricelist_id.id,
            "fiscal_position_id": fpos.id,
            "partner_id": partner,
            "date_order": fields.Datetime.to_string(_naive_utc(order.updated_at or order.created_at)),
            "lines": lines,
            "payment_ids": payments,
            "amount_total": total,
            "amount_tax": currency.round(float(total) - float(base)),
            "amount_paid": float(paid),
            "amount_return": change,
            "to_invoice": False,
            "last_order_preparation_change": "{}",
        }

    def apply_return(self, refund):
        """Book a canonical Refund of a store sale as a return POS order; return (binding, outcome)."""
        original = self.binder_for("retail.pos.order.binding").to_internal(refund.order_external_id)
        if not original:
            raise RetryableJobError(
                self.env._("Return %(ref)s is for sale %(sale)s, which is not booked yet.", ref=refund.external_id,
                           sale=refund.order_external_id), seconds=30)
        sale = original.odoo_id
        from odoo.addons.retail_connector_base.lib.canonical import Order  # noqa: PLC0415

        lines = []
        for item in refund.lines:
            sale_line = sale.lines.filtered(lambda ol, sku=item.sku: ol.product_id.default_code == sku)[:1]
            unit = Decimal(str(sale_line.price_unit)) if sale_line else (item.amount or Decimal(0)) / item.quantity
            lines.append({"sku": item.sku, "quantity": item.quantity, "unit_price": unit,
                          "discount_amount": Decimal(str(sale_line.discount or 0)) * unit * item.quantity / 100})
        tender = sale.payment_ids[:1]
        mapping = self.backend_record.pos_tender_ids.filtered(lambda t: t.payment_method_id == tender.payment_method_id)
        order = Order.from_dict({
            "external_id": "return-%s" % refund.external_id, "name": "%s REFUND" % sale.name,
            "created_at": refund.created_at or fields.Datetime.now().isoformat() + "Z",
            "currency": refund.currency, "lines": lines,
            "payments": [{"gateway": mapping[:1].tender_type or "OTHER", "kind": "refund", "status": "success",
                          "amount": format(refund.amount, "f"), "currency": refund.currency}],
            "extra": {"location_id": original.store_id.external_id},
        })
        return self.apply(order, returned_from=sale)


class PosSessionKeeper(Component):
    """One Odoo session per store and business day; the previous day is closed when the next begins."""

    _name = "retail.pos.session.keeper"
    _inherit = "retail.base"
    _usage = "pos.session.keeper"
    _apply_on = "retail.pos.day"

    def session_for(self, store, business_date):
        Day = self.env["retail.pos.day"]
        day = Day.search([("store_id", "=", store.id), ("business_date", "=", business_date)], limit=1)
        if day and day.session_id.state == "opened":
            return day.session_id
        config = store.pos_config_id
        current = config.current_session_id
        if current and current.state == "opened":
            current_day = Day.search([("session_id", "=", current.id)], limit=1)
            if current_day and current_day.business_date < business_date:
                self.component(usage="pos.day.closer").close(current_day)
            else:
                # a late sale of a closed day, or a session opened by hand: book it in the open session
                if not current_day:
                    Day.create({"store_id": store.id, "business_date": business_date, "session_id": current.id})
                elif current_day.business_date != business_date:
                    current_day.message_post(body=self.env._(
                        "A sale of %(day)s arrived after that day was closed: booked in this session.",
                        day=business_date))
                return current
        session = self.env["pos.session"].create({"config_id": config.id, "user_id": self.env.uid})
        session.set_opening_control(0, None)
        if day:
            day.session_id = session
        else:
            Day.create({"store_id": store.id, "business_date": business_date, "session_id": session.id})
        return session


class PosDayCloser(AbstractComponent):
    """The end of a store's day: missed sales imported, session closed, takings compared.

    Channels implement ``_fetch_day_orders`` (the POS's own list of the day's completed sales as
    canonical Orders, the record of reference).
    """

    _name = "retail.pos.day.closer"
    _inherit = "retail.base"
    _usage = "pos.day.closer"
    _apply_on = "retail.pos.day"

    def _fetch_day_orders(self, store, start, end):
        raise NotImplementedError

    def close(self, day):
        store = day.store_id
        start, end = store._day_window(day.business_date)
        orders = list(self._fetch_day_orders(store, start, end))
        binder = self.binder_for("retail.pos.order.binding")
        writer = self.component(usage="pos.order.writer", model_name="retail.pos.order.binding")
        missing = [order for order in orders if not binder.to_internal(order.external_id)]
        for order in missing:
            writer.apply(order)
        session = day.session_id
        if session.state == "opened":
            if session.config_id.cash_control:
                session.cash_register_balance_end_real = session.cash_register_balance_end
            session.action_pos_session_closing_control()
        totals = self._compare(day, orders)
        differs = any(not session.currency_id.is_zero(line["difference"]) for line in totals)
        day.write({
            "imported_at_close": len(missing), "state": "difference" if differs else "closed",
            "total_line_ids": [(5, 0, 0)] + [(0, 0, line) for line in totals],
        })
        summary = ", ".join("%s: Odoo %s / POS %s" % (t["tender_type"], t["odoo_amount"], t["pos_amount"]) for t in totals)
        day.message_post(body=self.env._("Day closed (%(n)s sale(s) imported at close). Takings: %(summary)s.",
                                         n=len(missing), summary=summary or "-"))
        if differs:
            day.activity_schedule("mail.mail_activity_data_warning", summary=self.env._("Store takings differ"),
                                  note=summary, user_id=(self.backend_record.responsible_user_id or self.env.user).id)
        return day

    def _compare(self, day, orders):
        tender_of = {t.payment_method_id.id: t.tender_type for t in self.backend_record.pos_tender_ids}
        odoo, pos = {}, {}
        for payment in day.session_id.order_ids.payment_ids:
            tender = tender_of.get(payment.payment_method_id.id, payment.payment_method_id.name)
            odoo[tender] = odoo.get(tender, 0.0) + payment.amount
        for order in orders:
            for payment in order.payments:
                if payment.kind in SALE_KINDS and payment.status in ("success", None):
                    pos[payment.gateway or "OTHER"] = pos.get(payment.gateway or "OTHER", 0.0) + float(payment.amount)
                elif payment.kind == "refund":
                    pos[payment.gateway or "OTHER"] = pos.get(payment.gateway or "OTHER", 0.0) - float(payment.amount)
        currency = day.session_id.currency_id
        return [{"tender_type": tender, "odoo_amount": currency.round(odoo.get(tender, 0.0)),
                 "pos_amount": currency.round(pos.get(tender, 0.0)),
                 "difference": currency.round(odoo.get(tender, 0.0) - pos.get(tender, 0.0))}
                for tender in sorted(set(odoo) | set(pos))]


class PosDayBatch(AbstractComponent):
    """The orders policy's run closes every store day whose cut-off has passed."""

    _name = "retail.pos.day.batch"
    _inherit = "retail.base"
    _usage = "orders.batch"
    _apply_on = "retail.backend"

    def run(self):
        now = fields.Datetime.now()
        closed = []
        for store in self.backend_record.pos_store_ids:
            today = store._business_date(now)
            for day in store.day_ids.filtered(lambda d: d.state == "open" and d.business_date < today):
                with self.backend_record.work_on("retail.pos.day") as work:
                    work.component(usage="pos.day.closer").close(day)
                closed.append(day.display_name)
        return "closed %d store day(s): %s" % (len(closed), ", ".join(closed) or "-")


class PosOrderBinder(Component):
    """The shared binder, for store sales booked as POS orders."""

    _name = "retail.pos.order.binder"
    _inherit = "retail.binder"
    _apply_on = ["retail.pos.order.binding"]
