# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component
from odoo.addons.queue_job.exception import RetryableJobError

from ..lib.text import storable_values

class CustomerResolver(Component):
    """Finds or creates the Odoo partner of a canonical customer.

    Matching order: the backend's binding of the customer's external id, then the normalised
    e-mail, then the normalised (E.164) phone; only then a new partner. The match is bound, so
    the next order of the same customer resolves by binding.

    An e-mail or a phone number is typed by the shopper and proves nothing: it only matches a
    partner this backend already knows, one it bound or one with an order from it. Anyone else
    with that e-mail or phone (an employee, a supplier, a customer entered by hand or from
    another channel) is never given the order: a new partner is made, marked as a possible
    duplicate of that partner, with an activity for a person to merge them if they are the same.
    """

    _name = "retail.customer.resolver"
    _inherit = "retail.base"
    _usage = "customer.resolver"
    _apply_on = "retail.partner.binding"

    def resolve(self, customer, billing=None, shipping=None):
        """Return (customer, invoice address, delivery address) partners for an order."""
        Partner = self.env["res.partner"].with_context(active_test=False)
        identity = customer or _customer_from_address(billing or shipping)
        bound = self._bound(identity.external_id) if identity and identity.external_id else Partner.browse()
        partner = bound or (self._find(identity) if identity else Partner.browse())
        if not partner:
            partner = Partner.create(self._partner_values(identity, billing or shipping))
            if identity:
                self._flag_possible_duplicate(partner, identity)
        elif identity:
            self._complete(partner, identity)
            if bound:
                self._settle_ownership(partner, identity)
        if identity and identity.external_id and not bound:
            self.binder.bind_record(identity.external_id, partner, sync_state="synced")
        invoice = self._address(partner, billing, "invoice")
        delivery = self._address(partner, shipping, "delivery")
        return partner, invoice, delivery

    @property
    def binder(self):
        return self.binder_for("retail.partner.binding")

    def _find(self, customer):
        """Return the existing partner of a customer (binding, e-mail, phone), or an empty set."""
        # A customer seen before resolves with no lock: only one about to be created takes one, so
        # that two jobs do not both create it; the second tries again, and then finds it.
        if customer.external_id and (bound := self._bound(customer.external_id)):
            return bound
        # a lookup among the backend's own customers, whoever runs the job
        Partner = self.env["res.partner"].sudo()
        known = self._known_to_backend()
        if customer.email:
            found = Partner.search(known + [("email_normalized", "=", customer.email.lower())], order="id", limit=1)
            if found:
                return found.with_env(self.env)
        if customer.external_id:
            self.advisory_lock_or_retry("retail-customer-%s-%s" % (self.backend_record.id, customer.external_id),
                                        retry_seconds=2)
            if self._bound_since_snapshot(customer.external_id):
                # another job created the customer after this transaction's snapshot: created here
                # too, it would only break the binding's uniqueness; a fresh transaction will find it,
                # so the order is tried again at once, by the next dispatcher
                raise RetryableJobError("Customer %s was just created by another job" % customer.external_id,
                                        seconds=0, ignore_retry=True)
        if customer.email:
            self.advisory_lock_or_retry("retail-customer-email-%s" % customer.email, retry_seconds=2)
        if customer.phone:
            found = Partner.search(known + [("phone_sanitized", "=", customer.phone)], order="id", limit=1)
            if found:
                return found.with_env(self.env)
        return self.env["res.partner"].browse()

    def _bound(self, external_id):
        """Return the partner this backend bound to a customer id, or an empty set (its binding marked synced)."""
        binding = self.binder.to_internal(external_id)
        if not binding:
            return self.env["res.partner"].browse()
        if binding.sync_state != "synced":
            binding.sync_state = "synced"
        return binding.odoo_id

    def _bound_since_snapshot(self, external_id):
        """Whether a binding of the customer id was committed that this transaction cannot see.

        Read in a transaction of its own (it sees what is committed now); only asked before
        creating a customer, which is rare once a channel's customers are known."""
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT 1 FROM retail_partner_binding WHERE backend_id = %s AND external_id = %s LIMIT 1",
                       (self.backend_record.id, str(external_id)))
            return bool(cr.fetchone())

    def _known_to_backend(self):
        """Return the domain of the partners an e-mail or phone may match: those this backend knows.

        A partner this backend bound (a customer of the channel) or the customer of a sale order
        it imported (a guest checkout), of the backend's company or shared, and not a user's own.
        """
        backend = self.backend_record
        return [
            ("parent_id", "=", False), ("user_ids", "=", False),
            ("company_id", "in", [False, backend.company_id.id]),
            "|", ("retail_bind_ids.backend_id", "=", backend.id),
            ("sale_order_ids.retail_bind_ids.backend_id", "=", backend.id),
        ]

    def _flag_possible_duplicate(self, partner, customer):
        """Mark a new partner whose e-mail or phone another partner has, for a person to check."""
        Partner = self.env["res.partner"].with_context(active_test=False)
        others = [("id", "!=", partner.id), ("parent_id", "=", False),
                  ("company_id", "in", [False, self.backend_record.company_id.id])]
        other = Partner.browse()
        if customer.email:
            other = Partner.search(others + [("email_normalized", "=", customer.email.lower())], order="id", limit=1)
        if not other and customer.phone:
            other = Partner.search(others + [("phone_sanitized", "=", customer.phone)], order="id", limit=1)
        if not other:
            return
        partner.retail_duplicate_of_id = other
        backend = self.backend_record
        same = self.env._("e-mail") if customer.email and other.email_normalized == customer.email.lower() \
            else self.env._("phone number")
        partner.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Possible duplicate customer"),
            note=self.env._(
                "A customer of %(backend)s gave the %(what)s of %(other)s (#%(id)s), a partner this backend does not "
                "know: a new partner was made rather than giving the order to %(other)s. If they are the same "
                "person, merge the two partners; otherwise clear the possible duplicate.",
                backend=backend.name, what=same, other=other.display_name, id=other.id,
            ),
            user_id=backend.responsible_user_id.id or self.env.uid,
        )

    def _partner_values(self, customer, address):
        vals = {"company_id": False, "customer_rank": 1, "lang": self._lang(customer)}
        if customer:
            vals.update(email=customer.email, phone=customer.phone, name=_full_name(customer))
            if customer.company:
                vals["company_name"] = customer.company
        if address:
            vals.update(self._address_values(address))
        vals["name"] = vals.get("name") or customer and customer.email or self.env._("Channel customer")
        # names and addresses come from the channel: a NUL or a lone surrogate in them would not store
        return {k: v for k, v in storable_values(vals).items() if v not in (None, "")}

    def _complete(self, partner, customer):
        """Fill what the partner lacks from the customer; never overwrite what a user entered."""
        vals = {}
        if customer.email and not partner.email:
            vals["email"] = customer.email
        if customer.phone and not partner.phone:
            vals["phone"] = customer.phone
        if vals:
            partner.write(storable_values(vals))

    def _settle_ownership(self, partner, customer):
        """The channel's e-mail or phone of a customer it bound differs from Odoo's: the owner's value wins.

        The channel owns it (the customers policy's system of record, or the field's owner on the
        backend): written into Odoo. Odoo owns it: left as it is, and a conflict waits for a person
        to take the channel's value or keep Odoo's. Either way the difference is recorded.
        """
        backend = self.backend_record
        policy = backend.policy_for("customers")
        if not policy or policy.mode == "off":
            return
        theirs = {"email": customer.email, "phone": customer.phone}
        for name, value in theirs.items():
            ours = partner[name]
            if not value or not ours or ours == value or (name == "email" and ours.lower() == value.lower()):
                continue
            owner = backend._owner_of("customers", "customer", name)
            if owner == "channel":
                partner.with_context(retail_origin_backend=backend.id).write(storable_values({name: value}))
                action, message = "applied_odoo", None
            else:
                action = "waiting"
                message = self.env._("Odoo owns the customers' %(field)s: the channel's value was not applied.",
                                     field=name)
            self.env["retail.conflict"]._record(backend, "customers", partner, name, ours, value, owner, action,
                                                key=customer.external_id or "", channel_raw={"value": value},
                                                message=message)

    def _lang(self, customer):
        code = customer and customer.language
        if not code:
            return None
        langs = self.env["res.lang"].search([("active", "=", True)]).mapped("code")
        for lang in langs:
            if lang.replace("_", "-").lower() == code.lower() or lang.split("_")[0] == code.split("-")[0].lower():
                return lang
        return None

    def _address_values(self, address):
        """Return res.partner values for a canonical address."""
        country = self.env["res.country"].search([("code", "=", address.country_code)], limit=1) if address.country_code else None
        state = None
        if country and address.state_code:
            state = self.env["res.country.state"].search(
                [("country_id", "=", country.id), ("code", "=", address.state_code)], limit=1
            )
        vals = {
            "street": address.street,
            "street2": address.street2,
            "city": address.city,
            "zip": address.zip,
            "country_id": country.id if country else False,
            "state_id": state.id if state else False,
        }
        if address.phone:
            vals["phone"] = address.phone
        name = _full_name(address)
        if name:
            vals["name"] = name
        return vals

    def delivery_address(self, partner, address):
        """Return the delivery contact of ``partner`` at ``address``: the partner, a child found, or a new child.

        An existing contact is never rewritten: other orders may ship to it."""
        return self._address(partner, address, "delivery")

    def same_address(self, partner, address):
        """Whether ``partner`` is at the canonical ``address`` (street, street2, zip, city, state, country)."""
        vals = storable_values(self._address_values(address))
        return all(_field_value(partner, f) == (vals.get(f) or False) for f in ADDRESS_KEY)

    def _address(self, partner, address, kind):
        """Return the partner's child address matching ``address`` (created once), or the partner."""
        if not address:
            return partner
        vals = storable_values(self._address_values(address))
        if all(_field_value(partner, f) == (vals.get(f) or False) for f in ADDRESS_KEY):
            return partner
        domain = [("parent_id", "=", partner.id), ("type", "=", kind)] + [
            (f, "=", vals.get(f) or False) for f in ADDRESS_KEY
        ]
        existing = self.env["res.partner"].search(domain, limit=1)
        if existing:
            return existing
        vals.update(parent_id=partner.id, type=kind)
        vals.setdefault("name", partner.name)
        return self.env["res.partner"].create({k: v for k, v in vals.items() if v not in (None, "")})


# what makes two addresses the same place; the name or phone at it does not
ADDRESS_KEY = ("street", "street2", "zip", "city", "state_id", "country_id")


def _field_value(partner, name):
    return partner[name].id if name.endswith("_id") else partner[name] or False


def _full_name(person):
    return " ".join(p for p in (person.first_name, person.last_name) if p) or getattr(person, "company", None)


def _customer_from_address(address):
    """Return a customer identity from a guest checkout's address (phone only), or None."""
    if not address or not address.phone:
        return None
    from ..lib.canonical import Customer

    return Customer(phone=address.phone, first_name=address.first_name, last_name=address.last_name)
