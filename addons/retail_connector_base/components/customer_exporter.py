# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Customers out: where Odoo owns a backend's customers, a partner's change is sent to the channel.

The listener records the change as a ``customers`` export request of the partner (coalesced with
the partner's other changes until the flush); a channel's ``customers.exporter`` sends the
partner's latest state with the channel's own calls. What a customer is on a channel is the
canonical Customer built here once for every channel: its binding's id, its name, e-mail, phone,
language, invoice address and marketing consent.

Marketing consent, Odoo to channel: the consent the channel last sent (kept on the binding), unless
the partner's e-mail is on Odoo's blacklist (an unsubscription recorded in Odoo), which sends it as
withdrawn. A partner the channel does not know yet is sent without consent.
"""

from datetime import timezone

from odoo.addons.component.core import AbstractComponent, Component
from odoo.addons.component_event import skip_if

from ..lib.canonical import Address, Customer

# partner fields a channel's customer shows
CUSTOMER_FIELDS = {"name", "email", "phone", "street", "street2", "city", "zip", "country_id", "state_id", "lang",
                   "company_name", "parent_id"}



def remember_customer_version(component, external_id, stamp):
    """Write the channel's update time of a customer on its binding (when newer than the one it holds).

    What a storefront's customer importer and its polled run share: a later read of the same
    version is then known and skipped.
    """
    if not external_id or not stamp:
        return
    binding = component.binder_for("retail.partner.binding").to_internal(external_id)
    stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp
    if binding and (not binding.external_updated_at or binding.external_updated_at < stamp):
        binding.with_context(connector_no_export=True).external_updated_at = stamp


def _skip(self, record, *args, **kwargs):
    return self.no_connector_export(record)


class PartnerListener(Component):
    """A customer created or changed in Odoo goes to the channels whose customers Odoo owns.

    Only customers are sent: partners a backend bound (its channel's customers), and persons or
    companies that bought (customer rank) with an e-mail, never their addresses (children), suppliers or
    employees that never bought.
    """

    _name = "retail.partner.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["res.partner"]

    @skip_if(_skip)
    def on_record_create(self, record, fields=None):
        self._changed(record)

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        if set(fields or ()) & CUSTOMER_FIELDS:
            self._changed(record)

    def _changed(self, partners):
        backends = self._backends("customers").filtered(lambda b: b.policy_for("customers").system_of_record == "odoo")
        if not backends:
            return
        partners = partners.sudo()
        for backend in backends:
            sent = partners.filtered(lambda p: p.active and p.email and not p.parent_id and (
                p.company_id in (backend.company_id, p.env["res.company"])) and (
                backend in p.retail_bind_ids.backend_id or p.customer_rank > 0))
            if sent:
                self._request(backend, "customers", sent)


class CustomerExporterMixin(AbstractComponent):
    """What a customer export says of a partner, whatever the channel (the canonical Customer)."""

    _name = "retail.customer.exporter.base"
    _inherit = "retail.exporter"
    _usage = "customers.exporter"

    def _partners(self, requests):
        return self.env["res.partner"].with_context(active_test=False).browse(requests.mapped("res_id")).exists()

    def _binding_of(self, partner):
        return partner.retail_bind_ids.filtered(lambda b: b.backend_id == self.backend_record)[:1]

    def _canonical_customer(self, partner):
        """Return the canonical Customer of ``partner`` as this backend sends it."""
        binding = self._binding_of(partner)
        first, _sep, last = (partner.name or "").strip().rpartition(" ")
        if not first:
            first, last = last, ""
        address = Address(
            first_name=first or None, last_name=last or None, company=partner.company_name or partner.parent_id.name or None,
            street=partner.street or None, street2=partner.street2 or None, city=partner.city or None,
            zip=partner.zip or None, state_code=partner.state_id.code or None, country_code=partner.country_id.code or None,
            phone=partner.phone or None,
        )
        has_address = any((address.street, address.city, address.zip, address.country_code))
        return Customer(
            external_id=binding.external_id if binding else None, email=partner.email or None,
            phone=partner.phone or None, first_name=first or None, last_name=last or None,
            company=address.company, language=(partner.lang or "").replace("_", "-") or None,
            accepts_marketing=self._accepts_marketing(partner, binding),
            addresses=[address] if has_address else [],
        )

    def _accepts_marketing(self, partner, binding):
        if not (binding and binding.accepts_marketing):
            return False
        # read from the blacklist itself: the partner's computed flag is not recomputed when the blacklist changes
        email = partner.email_normalized
        return not (email and self.env["mail.blacklist"].sudo().search_count([("email", "=", email), ("active", "=", True)]))

    def _bind_customers(self, made):
        """Bind partners to the customers made for them on the channel ``[(external id, partner, values)]``.

        In a transaction of its own, committed at once: the channel's webhook of the new customer may be
        processed while this export is still open, and must find the customer bound rather than make it
        again. Returns {partner id: refusal} for a customer the channel's webhook bound to another partner first.
        """
        refused = {}
        if not made:
            return refused
        with self.env["retail.export.request"]._own_cursor() as cr:
            env = self.env(cr=cr, context=dict(self.env.context, connector_no_export=True))
            with self.backend_record.with_env(env).work_on("retail.partner.binding") as work:
                binder = work.component(usage="binder")
                for external_id, partner, values in made:
                    taken = binder.to_internal(external_id)
                    if taken and taken.odoo_id.id != partner.id:
                        refused[partner.id] = self.env._(
                            "The channel's customer %(id)s is already bound to %(other)s: merge the partners.",
                            id=external_id, other=taken.odoo_id.display_name)
                        continue
                    binder.bind_record(external_id, partner.with_env(env), sync_state="synced", **values)
        return refused
