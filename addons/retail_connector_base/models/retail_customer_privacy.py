# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Customers from the channels' own customer webhooks, and the privacy requests channels relay.

A channel's customer created or updated is resolved by the same customer resolver as the
customers of its orders (binding, then e-mail or phone among the backend's own customers,
else a new partner). A redaction request anonymises what Odoo holds of that customer from
this channel: the partner's personal fields when no other channel knows the partner, and the
personal data in every stored payload of this backend naming the customer. A data request
gathers what Odoo holds of the customer into an export a person checks and sends.
"""

import base64
import json

from odoo import fields, models

PERSONAL_FIELDS = ("email", "phone", "street", "street2", "city", "zip", "vat", "comment")


class RetailPartnerBinding(models.Model):
    _inherit = "retail.partner.binding"

    accepts_marketing = fields.Boolean(
        string="Accepts marketing", readonly=True,
        help="The customer's consent to marketing e-mails, as the channel last sent it.")
    redacted_at = fields.Datetime(readonly=True, help="When the channel asked for this customer's data to be erased.")


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    def _customer_bindings(self, external_id=None, email=None):
        """Return this backend's bindings of a customer, by channel id or (else) e-mail."""
        self.ensure_one()
        Binding = self.env["retail.partner.binding"].sudo().with_context(active_test=False)
        bindings = Binding.browse()
        if external_id:
            bindings = Binding.search([("backend_id", "=", self.id), ("external_id", "=", str(external_id))])
        if not bindings and email:
            bindings = Binding.search([("backend_id", "=", self.id), ("odoo_id.email_normalized", "=", email.lower())])
        return bindings

    def _events_naming(self, needles):
        """Return this backend's events whose stored payload names one of ``needles`` (ids, e-mails)."""
        self.ensure_one()
        needles = [str(n) for n in needles if n]
        if not needles:
            return self.env["retail.event"]
        self.env.cr.execute(
            "SELECT id FROM retail_event WHERE backend_id = %s AND (payload ILIKE ANY(%s) OR payload_override ILIKE ANY(%s))",
            (self.id, ["%%%s%%" % n for n in needles], ["%%%s%%" % n for n in needles]))
        return self.env["retail.event"].sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _redact_customer(self, external_id, email=None, order_ids=()):
        """Anonymise what Odoo holds of one channel customer; return a summary.

        The partner's name and personal fields are replaced when no other backend knows the
        partner (a customer of other channels keeps what they sent); its binding records the
        redaction. The stored payloads of this backend naming the customer, its e-mail or the
        orders to redact are anonymised whatever their state.
        """
        self.ensure_one()
        bindings = self._customer_bindings(external_id, email)
        anonymised = self.env["res.partner"]
        for binding in bindings:
            partner = binding.odoo_id.sudo()
            others = partner.retail_bind_ids.filtered(lambda b: b.backend_id != self)
            if not others:
                people = partner | partner.child_ids
                people.with_context(retail_origin_backend=self.id, connector_no_export=True).write(
                    dict({name: False for name in PERSONAL_FIELDS},
                         name=self.env._("Redacted customer %(id)s", id=binding.external_id)))
                anonymised |= partner
            binding.write({"redacted_at": fields.Datetime.now(), "accepts_marketing": False})
        events = self._events_naming([external_id, email] + list(order_ids))
        for event in events:
            event._anonymise_payload()
        return self.env._("%(partners)d partners anonymised, %(events)d stored payloads anonymised",
                          partners=len(anonymised), events=len(events))

    def _redact_shop(self):
        """The shop is gone (its owner uninstalled the connection): anonymise every customer it sent."""
        self.ensure_one()
        bindings = self.env["retail.partner.binding"].sudo().with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("redacted_at", "=", False)])
        for binding in bindings:
            self._redact_customer(binding.external_id)
        events = self.env["retail.event"].sudo().search([("backend_id", "=", self.id),
                                                          ("personal_data_removed", "=", False)])
        for event in events:
            event._anonymise_payload()
        return self.env._("%(customers)d customers redacted, %(events)d more stored payloads anonymised",
                          customers=len(bindings), events=len(events))

    def _customer_data_export(self, external_id, email=None, order_ids=(), request_id=None):
        """Gather what Odoo holds of one channel customer into a JSON attachment for a person to send.

        The attachment is on the backend, with an activity for its responsible; returns it.
        """
        self.ensure_one()
        bindings = self._customer_bindings(external_id, email)
        partners = bindings.odoo_id.sudo()
        orders = self.env["sale.order"].sudo().search([("partner_id", "child_of", partners.ids)]) if partners else \
            self.env["sale.order"]
        data = {
            "backend": self.name, "customer_id": str(external_id) if external_id else None, "request_id": request_id,
            "orders_requested": [str(o) for o in order_ids],
            "customers": [{
                "name": p.name, "email": p.email, "phone": p.phone, "street": p.street, "street2": p.street2,
                "city": p.city, "zip": p.zip, "country": p.country_id.code or None, "lang": p.lang,
                "accepts_marketing": any(b.accepts_marketing for b in bindings if b.odoo_id == p),
                "addresses": [{"type": c.type, "name": c.name, "street": c.street, "city": c.city, "zip": c.zip,
                               "country": c.country_id.code or None} for c in p.child_ids],
            } for p in partners],
            "orders": [{"name": o.name, "date": o.date_order.isoformat() if o.date_order else None,
                        "amount_total": o.amount_total, "currency": o.currency_id.name, "state": o.state,
                        "lines": [{"product": line.product_id.display_name, "quantity": line.product_uom_qty,
                                   "price_unit": line.price_unit} for line in o.order_line]} for o in orders],
        }
        attachment = self.env["ir.attachment"].sudo().create({
            "name": "customer-data-%s-%s.json" % (self.id, external_id or "unknown"),
            "res_model": self._name, "res_id": self.id, "mimetype": "application/json",
            "datas": base64.b64encode(json.dumps(data, indent=2, default=str).encode()),
        })
        responsible = self.responsible_user_id.partner_id
        self.sudo().message_post(
            body=self.env._("%(backend)s relayed a customer's request for their data (customer %(id)s): the export "
                            "%(file)s is attached; check it and send it to the customer.",
                            backend=self.name, id=external_id or email or "?", file=attachment.name),
            attachment_ids=attachment.ids, partner_ids=responsible.ids, message_type="comment",
            subtype_xmlid="mail.mt_note")
        return attachment

