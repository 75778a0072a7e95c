# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
from decimal import Decimal

from odoo import fields
from odoo.tools import float_compare

from odoo.addons.component.core import Component

from ..lib.batches import BATCHED, add_to_batch
from ..lib.text import storable, storable_values
from ..models.retail_binding import payload_digest
from .errors import RetailMappingError
from .order_updater import channel_view, lines_signature, note_html

_logger = logging.getLogger(__name__)

# Outcomes of applying a canonical order, for the caller's record of what happened. BATCHED: the
# order is to be created with the other new orders of its dispatcher's batch (create_batch).
CREATED, UPDATED, UNCHANGED, STALE, CANCELLED = "created", "updated", "unchanged", "stale", "cancelled"


def _connection_lost(cr):
    cnx = getattr(cr, "_cnx", None)
    return cnx is None or bool(cnx.closed)


def _naive_utc(value):
    return value.replace(tzinfo=None) if value else None


class OrderWriter(Component):
    """Creates, updates and cancels the sale order of a canonical order, for every channel.

    One canonical order gives one sale order per backend, whatever how often it arrives: the
    binding is found under an advisory lock, an identical payload changes nothing, and an older
    version of the order never overwrites a newer one. Everything runs with the backend as
    ``retail_origin_backend``, so that nothing written here is echoed back to that channel.
    """

    _name = "retail.order.writer"
    _inherit = "retail.base"
    _usage = "order.writer"
    _apply_on = "retail.sale.order.binding"

    def apply(self, order):
        """Apply a canonical Order; return (binding, outcome) with outcome created/updated/unchanged/stale/cancelled."""
        if self.env.context.get("retail_origin_backend") != self.backend_record.id:
            backend = self.backend_record.with_context(retail_origin_backend=self.backend_record.id)
            with backend.work_on(self.model._name) as work:
                return work.component(usage=self._usage).apply(order)
        backend = self.backend_record
        self.advisory_lock_or_retry("retail-order-%s-%s" % (backend.id, order.external_id), retry_seconds=2)
        binder = self.binder_for("retail.sale.order.binding")
        binding = binder.to_internal(order.external_id)
        payload = order.to_dict()
        changed_at = _naive_utc(order.updated_at or order.created_at)
        if binding:
            if binding.external_updated_at and changed_at and changed_at < binding.external_updated_at:
                return binding, STALE
            if binding.payload_digest == payload_digest(payload):
                return binding, UNCHANGED
            outcome = self._update(binding, order)
        else:
            if self._batchable(order):
                vals, currency = self._sale_order_values(order)
                entry = {"event_id": self.env.context.get("retail_event_id"), "order": order, "vals": vals,
                         "currency_id": currency.id, "confirm": backend.order_state_on_import == "confirmed"}
                if add_to_batch(self.env.context["retail_order_batch"], entry):
                    return None, BATCHED
            sale = self._create_sale_order(order)
            binding = binder.bind_record(order.external_id, sale)
            outcome = CREATED
            if (policy := backend.policy_for("orders")) and policy._orchestrated():
                self.env["retail.workflow"]._start("order", sale, backend=backend)
        if order.status == "cancelled" and binding.odoo_id.state != "cancel":
            self._cancel(binding, order)
            outcome = CANCELLED
        self._mark_applied(binding, order, payload, changed_at)
        if backend.invoice_policy == "on_import" and outcome in (CREATED, UPDATED) and binding.odoo_id.state == "sale":
            self.component(usage="order.invoicer").on_import(binding, order)
        if outcome == UPDATED:
            # a payment state changed on the channel: a waiting payment step looks again
            self.env["retail.workflow"]._wake_for(binding.odoo_id)
        return binding, outcome

    def _mark_applied(self, binding, order, payload, changed_at):
        """Record on the binding the version of the channel order just applied."""
        binding.write(self._applied_values(order, payload, changed_at))

    def _applied_values(self, order, payload, changed_at):
        """Return the binding's values for the version of the channel order just applied."""
        return dict(self.model._synced_values(payload, external_updated_at=changed_at), **storable_values(
            {
                "channel_order_name": order.name,
                "channel_payment_state": order.payment_state,
                "channel_payment_gateway": order.payment_gateway or (order.payments[0].gateway if order.payments else False),
                "channel_status": order.status,
                "channel_values": channel_view(order),
            }
        ))

    # ------------------------------------------------------------------ batches of new orders
    def _batchable(self, order):
        """Whether a new order may wait to be created with the other new orders of its dispatcher's batch.

        Only a plain new order: one whose creation nothing else in its event depends on (no
        cancellation, refund, invoice on import or orchestrated workflow to start right after).
        """
        backend = self.backend_record
        if not self.env.context.get("retail_order_batch") or not self.env.context.get("retail_event_id"):
            return False
        if order.status == "cancelled" or any(p.kind == "refund" for p in order.payments):
            return False
        if backend.invoice_policy == "on_import":
            return False
        policy = backend.policy_for("orders")
        return not (policy and policy._orchestrated())

    def create_batch(self, entries):
        """Create (and confirm, by backend) the sale orders of several new orders at once.

        ``entries`` were prepared by ``apply`` (outcome BATCHED). Odoo creates and confirms a
        recordset of orders at a fraction of the cost of one order at a time. Should the batch
        fail, each order is created alone, in a savepoint of its own, so that one bad order fails
        alone. Returns [(entry, binding, exception)] with either the binding or the exception.
        """
        if self.env.context.get("retail_origin_backend") != self.backend_record.id:
            backend = self.backend_record.with_context(retail_origin_backend=self.backend_record.id)
            with backend.work_on(self.model._name) as work:
                return work.component(usage=self._usage).create_batch(entries)
        if len(entries) > 1:
            try:
                with self.env.cr.savepoint():
                    bindings = self._create_entries(entries)
                return [(entry, binding, None) for entry, binding in zip(entries, bindings, strict=True)]
            except Exception as exc:  # noqa: BLE001 - each order alone says which one failed, and why
                if _connection_lost(self.env.cr):
                    raise
                _logger.info("Batch of %d new orders of %s failed (%s): created one by one",
                             len(entries), self.backend_record.name, exc)
        results = []
        for entry in entries:
            try:
                with self.env.cr.savepoint():
                    [binding] = self._create_entries([entry])
                results.append((entry, binding, None))
            except Exception as exc:  # noqa: BLE001 - recorded on the order's event by the dispatcher
                if _connection_lost(self.env.cr):
                    raise
                results.append((entry, None, exc))
        return results

    def _create_entries(self, entries):
        """Create, bind and (by backend) confirm the sale orders of prepared entries; return their bindings."""
        backend = self.backend_record
        Sale = self.env["sale.order"].with_company(backend.company_id)
        # no creation log, followers or tracked state change: the connector's own note says where the
        # order came from (the pickings Odoo creates on confirmation are quiet too)
        sales = Sale.with_context(tracking_disable=True).create([entry["vals"] for entry in entries]).with_env(Sale.env)
        values = []
        for entry, sale in zip(entries, sales, strict=True):
            order = entry["order"]
            self._check_currency(sale, self.env["res.currency"].browse(entry["currency_id"]))
            values.append((order.external_id, sale, self._applied_values(
                order, order.to_dict(), _naive_utc(order.updated_at or order.created_at))))
        # orders just created have no binding yet: theirs are created together
        bindings = self.binder_for("retail.sale.order.binding").bind_new_records(values)
        confirm = sales.browse([sale.id for entry, sale in zip(entries, sales, strict=True) if entry["confirm"]])
        confirm.with_context(tracking_disable=True, retail_quiet_pickings=True).action_confirm()
        return bindings

    # ------------------------------------------------------------------ create
    def _create_sale_order(self, order):
        """Return a new sale order (confirmed or quotation, by backend) for a canonical order."""
        vals, currency = self._sale_order_values(order)
        Sale = self.env["sale.order"].with_company(self.backend_record.company_id)
        # its creation is noted by whoever applies the order, saying where it came from; no creation
        # log, followers or tracked state change besides
        sale = Sale.with_context(tracking_disable=True).create(vals).with_env(Sale.env)
        self._check_currency(sale, currency)
        if self.backend_record.order_state_on_import == "confirmed":
            sale.with_context(tracking_disable=True, retail_quiet_pickings=True).action_confirm()
        return sale

    def _sale_order_values(self, order):
        """Return (values of the sale order, currency) of a new canonical order: customer resolved, lines mapped."""
        backend = self.backend_record
        self._check_payment_gateway(order)
        resolver = self.component(usage="customer.resolver", model_name="retail.partner.binding")
        partner, invoice, delivery = resolver.resolve(order.customer, order.billing_address, order.shipping_address)
        currency = self._currency(order.currency)
        vals = {
            "partner_id": partner.id,
            "partner_invoice_id": invoice.id,
            "partner_shipping_id": delivery.id,
            "company_id": backend.company_id.id,
            "client_order_ref": order.name or order.external_id,
            "origin": "%s %s" % (backend.name, order.name or order.external_id),
            "date_order": _naive_utc(order.created_at),
            "note": note_html(order.note),
        }
        # names and notes come from the channel: a NUL or a lone surrogate in them would not store
        vals = storable_values(vals)
        pricelist = self._pricelist(currency)
        if pricelist:
            vals["pricelist_id"] = pricelist.id
        if backend.warehouse_id:
            vals["warehouse_id"] = backend.warehouse_id.id
        if backend.sale_team_id:
            vals["team_id"] = backend.sale_team_id.id
        if order.tags:
            vals["tag_ids"] = [(6, 0, self.component(usage="order.updater").tags(order.tags).ids)]
        carrier = self._carrier(order)
        if carrier:
            vals["carrier_id"] = carrier.id
        # the order and its lines in one create, as sale.order would compute its fiscal position
        fpos = self.env["account.fiscal.position"].with_company(backend.company_id)._get_fiscal_position(partner, delivery)
        if fpos:
            vals["fiscal_position_id"] = fpos.id
        vals["order_line"] = [(0, 0, storable_values(line)) for line in self._line_values(order, fpos)]
        return vals, currency

    def _missing_mapping(self, kind_label, value, where, map_kind=None, rate=None):
        subject = {"type": map_kind, "value": str(value)} if map_kind else None
        if subject and rate is not None:
            subject["rate"] = float(rate)
        return RetailMappingError(
            self.env._(
                "%(kind)s %(value)s of %(where)s is not mapped on backend %(backend)s: add it to the backend's "
                "Mappings tab, then replay the event.",
                kind=kind_label,
                value=repr(value),
                where=where,
                backend=self.backend_record.name,
            ),
            kind="missing_mapping",
            subject=subject,
        )

    def _check_payment_gateway(self, order):
        backend = self.backend_record
        gateway = order.payment_gateway or (order.payments[0].gateway if order.payments else None)
        if gateway and backend.strict_mappings and not backend._mapped("payment_gateway", gateway):
            raise self._missing_mapping(self.env._("Payment gateway"), gateway, order.name or order.external_id,
                                        map_kind="payment_gateway")
        return gateway

    def _currency(self, code):
        mapped = self.backend_record._mapped("currency", code)
        if mapped:
            return mapped
        currency = self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)
        if not currency:
            raise RetailMappingError(
                self.env._("Currency %(code)s does not exist in Odoo.", code=code), kind="currency"
            )
        if not currency.active:
            raise RetailMappingError(
                self.env._("Currency %(code)s is not active: activate it in Accounting settings.", code=code),
                kind="currency",
            )
        return currency

    def _carrier(self, order):
        """Return the delivery carrier mapped to the order's first shipping line, if any."""
        if "carrier_id" not in self.env["sale.order"]._fields:
            return None
        for ship in order.shipping_lines:
            carrier = self._mapped_carrier(ship)
            if carrier:
                return carrier
        return None

    def _mapped_carrier(self, ship, key=None):
        """Return the delivery carrier mapped to a shipping line's carrier, else to its method (code or name)."""
        backend = self.backend_record
        for value in dict.fromkeys(v for v in (ship.carrier, key or ship.code or ship.name) if v):
            carrier = backend._mapped("carrier", value, "delivery.carrier")
            if carrier:
                return carrier
        return None

    def _pricelist(self, currency):
        """Return the backend's pricelist when in the order's currency, else one in that currency."""
        backend = self.backend_record
        if backend.pricelist_id and backend.pricelist_id.currency_id == currency:
            return backend.pricelist_id
        if currency == backend.company_id.currency_id and not backend.pricelist_id:
            return self.env["product.pricelist"]
        pricelist = self.env["product.pricelist"].search(
            [("currency_id", "=", currency.id), ("company_id", "in", [False, backend.company_id.id])], limit=1
        )
        if not pricelist:
            raise RetailMappingError(
                self.env._(
                    "Order in %(currency)s on backend %(backend)s, but no pricelist in %(currency)s exists: "
                    "create one (or set the backend's pricelist) to take orders in this currency.",
                    currency=currency.name,
                    backend=backend.name,
                ),
                kind="missing_mapping",
            )
        return pricelist

    def _check_currency(self, sale, currency):
        if sale.currency_id != currency:
            raise RetailMappingError(
                self.env._(
                    "The sale order would be in %(odoo)s but the channel order is in %(channel)s: "
                    "set a pricelist in %(channel)s on backend %(backend)s.",
                    odoo=sale.currency_id.name,
                    channel=currency.name,
                    backend=self.backend_record.name,
                ),
                kind="currency",
            )

    def _line_values(self, order, fpos):
        """Return the order line values (``fpos``: the order's fiscal position): products, then shipping,
        then order discounts."""
        resolver = self.component(usage="product.resolver", model_name="retail.product.binding")
        lines = []
        for line in order.lines:
            product = resolver.resolve(sku=line.sku, barcode=line.barcode, label=line.name)
            gross = line.quantity * line.unit_price
            discount = float(line.discount_amount / gross * 100) if gross and line.discount_amount else 0.0
            lines.append(
                {
                    "product_id": product.id,
                    "name": line.name or product.display_name,
                    "product_uom_qty": float(line.quantity),
                    "price_unit": float(line.unit_price),
                    "discount": discount,
                    "tax_ids": [(6, 0, self._taxes(line.tax_lines, product, fpos, order.taxes_included).ids)],
                }
            )
        backend = self.backend_record
        default_shipping = self.env.ref("retail_connector_base.product_channel_shipping")
        for ship in order.shipping_lines:
            key = ship.code or ship.name
            shipping = backend._mapped("shipping", key, "product.product")
            if not shipping and backend.strict_mappings and not self._mapped_carrier(ship, key):
                raise self._missing_mapping(self.env._("Shipping method"), key, order.name or order.external_id,
                                            map_kind="shipping")
            shipping = shipping or default_shipping
            lines.append(
                {
                    "product_id": shipping.id,
                    "name": ship.name or ship.code or shipping.name,
                    "product_uom_qty": 1.0,
                    "price_unit": float(ship.price - ship.discount_amount),
                    "tax_ids": [(6, 0, self._taxes(ship.tax_lines, shipping, fpos, order.taxes_included).ids)],
                }
            )
        default_discount = self.env.ref("retail_connector_base.product_channel_discount")
        for disc in order.discount_lines:
            discount_product = backend._mapped("discount", disc.code or disc.name, "product.product") or default_discount
            lines.append(
                {
                    "product_id": discount_product.id,
                    "name": disc.name or disc.code or discount_product.name,
                    "product_uom_qty": 1.0,
                    "price_unit": -float(disc.amount),
                    "tax_ids": [(6, 0, [])],
                }
            )
        return lines

    def _taxes(self, tax_lines, product, fpos, taxes_included):
        """Return the Odoo sales taxes of a line: from the channel's tax lines, else the product's."""
        company = self.backend_record.company_id
        if not tax_lines:
            taxes = product.taxes_id.filtered(lambda t: t.company_id == company)
            return fpos.map_tax(taxes) if fpos else taxes
        Tax = self.env["account.tax"].with_company(company)
        backend = self.backend_record
        result = Tax.browse()
        for tax_line in tax_lines:
            mapped = backend._mapped("tax", tax_line.name, "account.tax") if tax_line.name else None
            if mapped:
                result |= mapped
                continue
            if backend.strict_mappings:
                raise self._missing_mapping(
                    self.env._("Tax"), tax_line.name or tax_line.rate, product.display_name,
                    map_kind="tax" if tax_line.name else None,
                    rate=tax_line.rate * 100 if tax_line.rate is not None else None,
                )
            if tax_line.rate is None or (tax_line.rate == 0 and not tax_line.amount):
                continue
            percent = float(tax_line.rate * Decimal(100))
            candidates = Tax.search(
                [("type_tax_use", "=", "sale"), ("amount_type", "=", "percent"), ("company_id", "=", company.id)]
            ).filtered(
                lambda t: float_compare(t.amount, percent, precision_digits=4) == 0
                and bool(t.price_include) == bool(taxes_included)
            )
            if not candidates:
                raise RetailMappingError(
                    self.env._(
                        "No sales tax of %(rate)s%% (%(incl)s) in company %(company)s for the channel tax %(name)s: "
                        "create that tax in Accounting, or map the channel tax on the backend's Mappings tab.",
                        rate=percent,
                        incl=self.env._("price included") if taxes_included else self.env._("price excluded"),
                        company=company.name,
                        name=tax_line.name or "",
                    ),
                    kind="missing_mapping",
                    subject={"type": "tax", "value": tax_line.name, "rate": percent} if tax_line.name else None,
                )
            result |= candidates[:1]
        return result

    # ------------------------------------------------------------------ update and cancel
    def _update(self, binding, order):
        """Bring an existing sale order up to date with a newer version of the channel order.

        Returns UPDATED when something was applied, UNCHANGED when nothing the connector applies
        changed (what it could not apply is posted on the order all the same)."""
        sale = binding.odoo_id
        updater = self.component(usage="order.updater")
        lines_changed = self._lines_changed(binding, order)
        changes = updater.update(binding, order)
        updater.post(sale, changes)
        if sale.state in ("draft", "sent"):
            sale.order_line.unlink()
            sale.write({"order_line": [(0, 0, storable_values(line)) for line in self._line_values(order, sale.fiscal_position_id)]})
            return UPDATED
        if lines_changed:
            sale.message_post(
                body=self.env._(
                    "The channel changed the lines of order %(name)s after it was confirmed in Odoo; "
                    "the sale order was left as it is. Check the channel's order and adjust by hand.",
                    name=storable(order.name or order.external_id),
                ),
            )
        return UPDATED if changes.applied else UNCHANGED

    def _lines_changed(self, binding, order):
        """Whether the channel changed the order's product lines since the version last applied, unlike Odoo's."""
        signature = lines_signature(order)
        before = (binding.channel_values or {}).get("lines")
        if before is not None and before == signature:
            return False
        return signature != self._sale_signature(binding.odoo_id)

    def _sale_signature(self, sale):
        service = {
            self.env.ref("retail_connector_base.product_channel_shipping"),
            self.env.ref("retail_connector_base.product_channel_discount"),
        }
        return sorted(
            [line.product_id.default_code or line.product_id.barcode or "", line.product_uom_qty]
            for line in sale.order_line
            if line.product_id not in service and not line.display_type
        )

    def cancel_binding(self, binding):
        """Cancel the sale order of a binding (the channel deleted or voided the order)."""
        self._cancel(binding, None)
        binding.channel_status = "cancelled"

    def _cancel(self, binding, order):
        """Cancel the sale order, or flag it for a person when goods already left."""
        sale = binding.odoo_id
        name = storable(order.name or order.external_id) if order else (binding.channel_order_name or binding.external_id)
        if sale.picking_ids.filtered(lambda p: p.state == "done"):
            message = self.env._(
                "Order %(name)s was cancelled on %(backend)s after goods were shipped: "
                "arrange the return or refund with the customer.",
                name=name,
                backend=self.backend_record.name,
            )
            sale.message_post(body=message)
            sale.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Cancelled on the channel after shipping"),
                note=message,
                user_id=sale.user_id.id or self.env.uid,
            )
            return
        sale._action_cancel()
        sale.message_post(
            body=self.env._("Cancelled because the order was cancelled on %(backend)s.", backend=self.backend_record.name)
        )
        binding.sync_date = fields.Datetime.now()
