# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What a channel may still change on an order Odoo already holds, applied field by field.

Once an order is confirmed its lines belong to Odoo (stock is reserved, a warehouse may be
picking them), but the channel keeps owning what a shopper or a merchant edits later: the
order's note, its tags, the customer's e-mail and phone, and the delivery address until the
goods leave. An update applies each of them only when the channel changed it since the version
last applied (the binding's ``channel_values``): an unrelated update (a payment captured, a
fulfilment echoed back) never undoes what a person changed in Odoo.

What changed is posted on the order field by field, old value and new. What cannot be applied
is posted too, with both values and why: the orders policy makes Odoo the system of record, the
goods already left, or the customer's partner is not the channel's to change.
"""

from markupsafe import Markup, escape

from odoo.tools import html2plaintext, plaintext2html

from odoo.addons.component.core import Component
from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.text import storable


def lines_signature(order):
    """Return the order's product lines as sorted [sku or barcode, quantity] pairs."""
    return sorted([storable(line.sku or line.barcode or ""), float(line.quantity)] for line in order.lines)


def channel_view(order):
    """Return what the channel says of the fields it may still change after confirmation, as JSON data."""
    customer = order.customer
    address = order.shipping_address
    return {
        "note": storable(order.note or ""),
        "tags": [storable(tag) for tag in order.tags],
        "email": storable(customer.email or "") if customer else "",
        "phone": storable(customer.phone or "") if customer else "",
        "shipping_address": {
            key: storable(getattr(address, key) or "")
            for key in ("street", "street2", "zip", "city", "state_code", "country_code")
        } if address else None,
        "lines": lines_signature(order),
    }


def note_html(text):
    """Return a channel's plain-text note as the sale order's note (HTML), or False."""
    return plaintext2html(storable(text)) if text else False


def note_text(html):
    """Return a sale order's note as plain text, as channels write notes."""
    return html2plaintext(html).strip() if html else ""


def one_line(partner):
    """Return a partner's postal address on one line."""
    parts = [partner.name, partner.street, partner.street2,
             " ".join(p for p in (partner.zip, partner.city) if p), partner.state_id.code, partner.country_id.code]
    return ", ".join(p for p in parts if p)


def channel_line(address):
    """Return a canonical address on one line."""
    name = " ".join(p for p in (address.first_name, address.last_name) if p) or address.company
    parts = [name, address.street, address.street2, " ".join(p for p in (address.zip, address.city) if p),
             address.state_code, address.country_code]
    return ", ".join(p for p in parts if p)


class OrderChanges:
    """What an update applied to an order, and what it could not apply, field by field."""

    def __init__(self):
        self.applied = []  # (label, old, new)
        self.refused = []  # (label, old, new, reason)

    def __bool__(self):
        return bool(self.applied or self.refused)

    def apply(self, label, old, new):
        self.applied.append((label, old, new))

    def refuse(self, label, old, new, reason):
        self.refused.append((label, old, new, reason))


def _value(value):
    return escape(value) if value not in (None, "", False) else Markup("<i>(empty)</i>")


class OrderUpdater(Component):
    """Applies to an existing sale order what its channel changed of note, tags, contact and delivery address."""

    _name = "retail.order.updater"
    _inherit = "retail.base"
    _usage = "order.updater"
    _apply_on = "retail.sale.order.binding"

    def update(self, binding, order):
        """Apply what the channel changed since the version last applied; return the OrderChanges."""
        sale = binding.odoo_id
        before = binding.channel_values or None
        after = channel_view(order)
        changes = OrderChanges()

        def changed(key):
            # an order applied before the channel's values were kept: Odoo's values stand for them
            return before is None or before.get(key) != after[key]

        if changed("note"):
            self._update_note(sale, order, changes)
        if changed("tags"):
            self._update_tags(sale, order, None if before is None else before.get("tags") or [], changes)
        if order.customer and (changed("email") or changed("phone")):
            self._update_contact(sale, order, changed, changes)
        if order.shipping_address and changed("shipping_address"):
            self._update_shipping(sale, order, changes)
        self._channel_state(binding, order, changes)
        return changes

    def _odoo_wins(self):
        """Whether the orders policy makes Odoo the system of record (a channel's change is then only recorded)."""
        policy = self.backend_record.policy_for("orders")
        return bool(policy) and policy.system_of_record == "odoo"

    def _odoo_wins_reason(self):
        return self.env._("Odoo is the system of record of %(backend)s's orders (orders policy).",
                          backend=self.backend_record.name)

    # ------------------------------------------------------------------ fields
    def _update_note(self, sale, order, changes):
        label = self.env._("Note")
        old, new = note_text(sale.note), storable(order.note or "")
        if old == new:
            return
        if self._odoo_wins():
            changes.refuse(label, old, new, self._odoo_wins_reason())
            return
        sale.note = note_html(new)
        changes.apply(label, old, new)

    def _update_tags(self, sale, order, before, changes):
        """The channel's tags added, the ones it removed taken off; tags only Odoo has stay."""
        label = self.env._("Tags")
        current = sale.tag_ids
        names = [storable(tag) for tag in order.tags]
        removed = current.filtered(lambda t: before is not None and t.name in before and t.name not in names)
        missing = [name for name in names if name not in current.mapped("name")]
        if not removed and not missing:
            return
        old = ", ".join(current.mapped("name"))
        new_names = [t.name for t in current - removed] + missing
        if self._odoo_wins():
            changes.refuse(label, old, ", ".join(names), self._odoo_wins_reason())
            return
        sale.tag_ids = [(3, tag.id) for tag in removed] + [(4, tag.id) for tag in self.tags(missing)]
        changes.apply(label, old, ", ".join(new_names))

    def _update_contact(self, sale, order, changed, changes):
        """The e-mail and phone of a customer account the channel owns; never another partner's."""
        customer = order.customer
        partner = sale.partner_id
        owned = self._owned_customer(partner, customer)
        fields_ = [("email", self.env._("Customer e-mail"), customer.email, partner.email),
                   ("phone", self.env._("Customer phone"), customer.phone, partner.phone)]
        vals = {}
        for key, label, new, old in fields_:
            if not changed(key) or not new or _same_contact(key, partner, new):
                continue
            if self._odoo_wins():
                changes.refuse(label, old, new, self._odoo_wins_reason())
            elif not owned:
                changes.refuse(label, old, new, self.env._(
                    "%(partner)s is not a customer account of %(backend)s: the contact of a guest, or of a "
                    "partner entered in Odoo, is not changed by the channel.",
                    partner=partner.display_name, backend=self.backend_record.name))
            else:
                vals[key] = storable(new)
                changes.apply(label, old, new)
        if vals:
            partner.write(vals)

    def _owned_customer(self, partner, customer):
        """Whether ``partner`` is the channel's own customer account: bound by this backend to the customer's id.

        The customer resolver matches a shopper's e-mail or phone only among the partners the
        backend knows; a guest's partner or a user's is never rewritten from an order."""
        if not customer.external_id or partner.sudo().user_ids:
            return False
        binding = self.binder_for("retail.partner.binding").to_internal(customer.external_id)
        return bool(binding) and binding.odoo_id == partner

    def _update_shipping(self, sale, order, changes):
        """A new delivery address on the order and its deliveries until the goods leave; the warehouse is told."""
        label = self.env._("Delivery address")
        resolver = self.component(usage="customer.resolver", model_name="retail.partner.binding")
        address = order.shipping_address
        current = sale.partner_shipping_id
        if resolver.same_address(current, address):
            return
        old, new = one_line(current), channel_line(address)
        if self._odoo_wins():
            changes.refuse(label, old, new, self._odoo_wins_reason())
            return
        deliveries = sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        left = deliveries.filtered(lambda p: p.state == "done")
        if left:
            reason = self.env._(
                "The change arrived too late: the goods already left (%(pickings)s). Contact the customer or the "
                "carrier to redirect the parcel.", pickings=", ".join(left.mapped("name")))
            changes.refuse(label, old, new, reason)
            sale.activity_schedule(
                "mail.mail_activity_data_todo", summary=self.env._("Delivery address changed after shipping"),
                note=self.env._("%(backend)s changed the delivery address of %(order)s to %(new)s. %(reason)s",
                                backend=self.backend_record.name, order=sale.name, new=new, reason=reason),
                user_id=sale.user_id.id or self.backend_record.responsible_user_id.id or self.env.uid,
            )
            return
        delivery = resolver.delivery_address(sale.partner_id, address)
        if delivery == current:
            return
        open_deliveries = deliveries.filtered(lambda p: p.state != "cancel")
        # the order's transfers follow it (sale_stock's own switch, instead of an activity asking a
        # person to); the fiscal position stays: the channel charged what it charged
        sale.with_context(update_delivery_shipping_partner=True).write(
            {"partner_shipping_id": delivery.id, "fiscal_position_id": sale.fiscal_position_id.id})
        new = one_line(delivery)
        told = self._tell_warehouses(open_deliveries)
        detail = new
        if open_deliveries:
            detail = self.env._("%(address)s (also on %(pickings)s)", address=new,
                                pickings=", ".join(open_deliveries.mapped("name")))
        if told:
            detail = self.env._("%(detail)s; %(warehouses)s told", detail=detail,
                                warehouses=", ".join(told.mapped("name")))
        changes.apply(label, old, detail)
        for picking in open_deliveries:
            picking.message_post(body=self.env._(
                "The delivery address was changed on %(backend)s: %(old)s → %(new)s.",
                backend=self.backend_record.name, old=old, new=new))

    def _tell_warehouses(self, pickings):
        """Ask the warehouses that were released these transfers to ship them to their new address; return them."""
        released = self.env["retail.picking.binding"].search(
            [("odoo_id", "in", pickings.ids), ("warehouse_status", "=", "released")])
        Request = self.env["retail.export.request"]
        for binding in released:
            binding.sync_state = "pending"
            Request._request(binding.backend_id, "fulfilment", binding.odoo_id)
        return released.backend_id

    def _channel_state(self, binding, order, changes):
        """The channel's own facts kept on the binding (reference, payment state, status), as changes."""
        gateway = order.payment_gateway or (order.payments[0].gateway if order.payments else None)
        for name, label, new in (
            ("channel_order_name", self.env._("Channel reference"), order.name),
            ("channel_payment_state", self.env._("Payment state on the channel"), order.payment_state),
            ("channel_payment_gateway", self.env._("Payment gateway"), gateway),
            ("channel_status", self.env._("Status on the channel"), order.status),
        ):
            old = binding[name] or False
            if (storable(new) or False) != old:
                changes.apply(label, old, new)

    # ------------------------------------------------------------------ tags
    def tags(self, names):
        """Return the sale order tags (crm.tag) of the channel's tag names, created once each."""
        Tag = self.env["crm.tag"]
        names = list(dict.fromkeys(storable(name) for name in names if name))
        if not names:
            return Tag.browse()
        found = {tag.name: tag for tag in Tag.search([("name", "in", names)])}
        for name in names:
            if name in found:
                continue
            # two orders bringing one new tag: the second waits, then finds the first's
            self.advisory_lock_or_retry("retail-tag-%s" % name, retry_seconds=1)
            if self._tag_committed_since_snapshot(name):
                raise RetryableJobError("Tag %s was just created by another job" % name, seconds=1, ignore_retry=True)
            found[name] = Tag.create({"name": name})
        return Tag.browse([found[name].id for name in names])

    def _tag_committed_since_snapshot(self, name):
        """Whether a tag of that name was committed that this transaction cannot see (read in a fresh one)."""
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT 1 FROM crm_tag WHERE name->>'en_US' = %s LIMIT 1", (name,))
            return bool(cr.fetchone())

    # ------------------------------------------------------------------ the order's history
    def post(self, sale, changes):
        """Post on the order what the channel changed, field by field: applied, then not applied."""
        if not changes:
            return
        backend = self.backend_record.name
        body = Markup()
        if changes.applied:
            body += Markup("<p>%s</p><ul>") % self.env._("Changed on %(backend)s:", backend=backend)
            for label, old, new in changes.applied:
                body += Markup("<li><b>%s</b>: %s → %s</li>") % (label, _value(old), _value(new))
            body += Markup("</ul>")
        if changes.refused:
            body += Markup("<p>%s</p><ul>") % self.env._("Changed on %(backend)s, not applied:", backend=backend)
            for label, old, new, reason in changes.refused:
                body += Markup("<li><b>%s</b>: %s (Odoo) → %s (channel). %s</li>") % (
                    label, _value(old), _value(new), reason)
            body += Markup("</ul>")
        sale.message_post(body=body)


def _same_contact(key, partner, value):
    if key == "email":
        return (partner.email_normalized or (partner.email or "").strip().lower()) == value.strip().lower()
    return (partner.phone_sanitized or partner.phone or "") == value
