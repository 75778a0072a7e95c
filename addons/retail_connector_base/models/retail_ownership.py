# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Who owns each synchronised value, per backend: the domain's system of record, or a field's owner.

The sync policy of a domain names its system of record (Odoo or the channel). For products
and customers a backend's *Ownership* lines can give single fields to the other side, e.g. the
channel owns the description while Odoo owns the prices and SKUs. Where the channel owns a
value of a record bound to it:

- Odoo's edits of the value are refused with a message naming the owner, unless the policy
  accepts them to be overwritten at its next run (``on_odoo_edit``); edits made by the
  connector itself (``connector_no_export``, ``retail_origin_backend``) and a person's
  resolution of a conflict are never refused;
- Odoo does not send the value to that channel.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .retail_access import check_retail_access
from .retail_conflict import OWNERS
from .retail_sync_policy import DOMAINS

# synchronised fields of each kind of record -> the domain they belong to
SYNCED_FIELDS = {
    "product": {
        "list_price": "pricing",
        "name": "catalog",
        "description_sale": "catalog",
        "description": "catalog",
        "default_code": "catalog",
        "barcode": "catalog",
    },
    "customer": {f: "customers" for f in ("name", "email", "phone", "street", "street2", "city", "zip", "state_id",
                                          "country_id")},
}
# fields written on one model that are another's value (a variant's price is its template's plus extras)
FIELD_ALIASES = {"lst_price": "list_price"}
OWNED_FIELDS = [
    ("list_price", "Sales price"),
    ("name", "Name"),
    ("description_sale", "Sales description"),
    ("description", "Description"),
    ("default_code", "Internal reference (SKU)"),
    ("barcode", "Barcode"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("street", "Street"),
    ("street2", "Street 2"),
    ("city", "City"),
    ("zip", "ZIP"),
    ("state_id", "State"),
    ("country_id", "Country"),
]
FIELD_MODELS = [("product", "Products"), ("customer", "Customers")]
# domains whose exports carry values a channel may own; an owner's value is never sent to it
EXPORTED_VALUES = {"pricing": ("product", ["list_price"]),
                   "catalog": ("product", ["name", "description_sale", "description", "default_code", "barcode"]),
                   "inventory": (None, [])}
# contexts of the connector's own writes and of a person's decision on a conflict: never refused
OWN_WRITE_KEYS = ("connector_no_export", "retail_origin_backend", "retail_conflict_resolution")


class RetailFieldOwner(models.Model):
    """One product or customer field whose owner differs from its domain's system of record, for one backend."""

    _name = "retail.field.owner"
    _inherit = ["retail.audited"]
    _description = "Retail Connector field ownership"
    _order = "backend_id, model, field_name"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    model = fields.Selection(FIELD_MODELS, string="Records", required=True, default="product")
    field_name = fields.Selection(OWNED_FIELDS, string="Field", required=True)
    domain = fields.Selection(DOMAINS, compute="_compute_domain", store=True,
                              help="The domain whose policy governs the field otherwise.")
    owner = fields.Selection(OWNERS, required=True, default="channel",
                             help="Which system's value wins for this field, whatever the domain's system of record.")

    _uniq = models.Constraint("UNIQUE(backend_id, model, field_name)",
                              "A field has one owner per backend.")

    @api.depends("model", "field_name")
    def _compute_domain(self):
        for line in self:
            line.domain = SYNCED_FIELDS.get(line.model, {}).get(line.field_name, False)

    @api.constrains("model", "field_name")
    def _check_field(self):
        models_ = dict(FIELD_MODELS)
        fields_ = dict(OWNED_FIELDS)
        for line in self:
            if line.field_name not in SYNCED_FIELDS[line.model]:
                allowed = ", ".join(fields_[f] for f in SYNCED_FIELDS[line.model])
                raise ValidationError(self.env._(
                    "%(field)s is not a synchronised field of %(records)s on %(backend)s; choose one of: %(allowed)s.",
                    field=fields_[line.field_name], records=models_[line.model].lower(),
                    backend=line.backend_id.name, allowed=allowed))


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    field_owner_ids = fields.One2many(
        "retail.field.owner", "backend_id", string="Field owners",
        help="Product and customer fields owned by another system than their domain's system of record.")
    conflict_ids = fields.One2many("retail.conflict", "backend_id")
    open_conflict_count = fields.Integer(compute="_compute_open_conflict_count")

    def _compute_open_conflict_count(self):
        counts = dict(self.env["retail.conflict"]._read_group(
            [("backend_id", "in", self.ids), ("state", "=", "open")], ["backend_id"], ["__count"]))
        for backend in self:
            backend.open_conflict_count = counts.get(backend, 0)

    def action_open_conflicts(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_conflict")
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    def _owner_of(self, domain, model=None, field_name=None):
        """Return who owns a value of this backend: the field's owner if a line names it, else the domain's."""
        self.ensure_one()
        if model and field_name:
            field_name = FIELD_ALIASES.get(field_name, field_name)
            for line in self.field_owner_ids:
                if line.model == model and line.field_name == field_name:
                    return line.owner
        policy = self.policy_for(domain)
        return policy.system_of_record if policy else "odoo"

    def _channel_owns_exports(self, domain):
        """Return whether what ``domain``'s exports would send is all owned by the channel (then none is sent)."""
        self.ensure_one()
        if domain not in EXPORTED_VALUES:
            return False
        model, names = EXPORTED_VALUES[domain]
        if not names:
            return self._owner_of(domain) == "channel"
        return all(self._owner_of(domain, model, name) == "channel" for name in names)

    def _can_export(self, domain):
        """Return whether Odoo sends ``domain`` to this channel at all (a policy sending it, an exporter)."""
        self.ensure_one()
        policy = self.policy_for(domain)
        if not policy or policy.mode == "off" or policy.direction == "inbound":
            return False
        with self.work_on("retail.export.request") as work:
            return bool(work.many_components(usage="%s.exporter" % domain))

    def _apply_channel_price(self, product, price, currency):
        """Make Odoo's price of ``product`` for this channel the channel's; return False if the currencies differ.

        With a pricelist, a fixed price rule of the variant in it; otherwise the product's sales price.
        """
        self.ensure_one()
        pricelist = self.pricelist_id
        odoo_currency = pricelist.currency_id or self.company_id.currency_id
        if currency != odoo_currency.name:
            return False
        value = float(price)
        if not pricelist:
            product.lst_price = value
            return True
        Item = self.env["product.pricelist.item"].with_context(product.env.context)
        item = Item.search([("pricelist_id", "=", pricelist.id), ("applied_on", "=", "0_product_variant"),
                            ("product_id", "=", product.id), ("compute_price", "=", "fixed"),
                            ("min_quantity", "<=", 1), ("date_start", "=", False), ("date_end", "=", False)], limit=1)
        if item:
            item.fixed_price = value
        else:
            Item.create({"pricelist_id": pricelist.id, "applied_on": "0_product_variant", "product_id": product.id,
                         "product_tmpl_id": product.product_tmpl_id.id, "compute_price": "fixed",
                         "fixed_price": value})
        return True


class RetailSyncPolicyOwnership(models.Model):
    _inherit = "retail.sync.policy"

    def _refuses_odoo_edits(self):
        """Return whether Odoo's edits of the values the channel owns in this policy's domain are refused."""
        self.ensure_one()
        return self.mode != "off" and self.on_odoo_edit == "refuse"


class RetailExportRequestOwnership(models.Model):
    _inherit = "retail.export.request"

    @api.model
    def _request(self, backend, domain, records):
        """Odoo sends no value the channel owns: exports of such a domain are not requested.

        A person keeping Odoo's value on a conflict (``retail_keep_odoo_value``) sends it all the same.
        """
        if records and not self.env.context.get("retail_keep_odoo_value") and backend._channel_owns_exports(domain):
            return None
        return super()._request(backend, domain, records)


# ---------------------------------------------------------------------- Odoo edits of owned values
def _differs(record, name, value):
    """Return whether writing ``value`` to ``record.name`` changes it."""
    field = record._fields[name]
    try:
        new = field.convert_to_record(field.convert_to_cache(value, record), record)
    except (ValueError, TypeError):
        return True
    old = record[name]
    if field.type == "float":
        return abs((old or 0.0) - (new or 0.0)) > 1e-9
    if field.type == "many2one":
        return old.id != new.id
    return (old or False) != (new or False)


def _readable(record, name, value):
    """Return a field's value as a person reads it (a related record by its name)."""
    field = record._fields[name]
    if field.type == "many2one":
        related = value if isinstance(value, models.BaseModel) else record.env[field.comodel_name].browse(value or [])
        return related.display_name or ""
    return value


def _check_owned_edit(records, vals, kind, bindings_of):
    """Refuse an Odoo edit of values the channel owns on records bound to it (see the module's docstring).

    ``bindings_of(records)`` returns the bindings of ``records`` with, for each, the record of
    ``records`` it binds. Cheap when no synchronised field is written (a set intersection).
    """
    if not records or not vals:
        return
    env = records.env
    synced = SYNCED_FIELDS[kind]
    written = [name for name in vals if FIELD_ALIASES.get(name, name) in synced]
    if not written or any(env.context.get(key) for key in OWN_WRITE_KEYS) or not env.registry.ready:
        return
    refusals, messages = [], []
    for binding, record in bindings_of(records):
        backend = binding.backend_id
        for name in written:
            owned = FIELD_ALIASES.get(name, name)
            domain = synced[owned]
            policy = backend.policy_for(domain)
            if not policy or not policy._refuses_odoo_edits() or backend._owner_of(domain, kind, owned) != "channel":
                continue
            if not _differs(record, name, vals[name]):
                continue
            label = env["retail.conflict"]._field_label(record, owned)
            messages.append(env._(
                "%(field)s of %(record)s is owned by %(backend)s (%(domain)s policy): change it on that channel, "
                "from where it comes to Odoo.",
                field=label, record=record.display_name, backend=backend.name, domain=dict(DOMAINS)[domain]))
            # recorded on the bound record (a variant, not its template), as the reconciliations record theirs
            bound = binding.odoo_id.with_env(env)
            refusals.append(((backend, domain, bound, owned, _readable(record, name, vals[name]),
                              _readable(record, name, record[name]), "channel", "refused_edit"),
                             {"field_label": label, "message": messages[-1]}))
    if refusals:
        env["retail.conflict"].sudo()._record_refusals(refusals)
        raise UserError("\n".join(dict.fromkeys(messages)) + "\n" + env._(
            "A manager may let Odoo's edits through on the policy (On an Odoo edit: overwritten at the next run)."))


def _product_bindings(products):
    bindings = products.env["retail.product.binding"].sudo().search(
        [("odoo_id", "in", products.ids), ("backend_id.active", "=", True)])
    return [(b, products.browse(b.odoo_id.id)) for b in bindings]


def _template_bindings(templates):
    bindings = templates.env["retail.product.binding"].sudo().search(
        [("odoo_id.product_tmpl_id", "in", templates.ids), ("backend_id.active", "=", True)])
    return [(b, templates.browse(b.odoo_id.product_tmpl_id.id)) for b in bindings]


def _partner_bindings(partners):
    bindings = partners.env["retail.partner.binding"].sudo().search(
        [("odoo_id", "in", partners.ids), ("backend_id.active", "=", True)])
    return [(b, partners.browse(b.odoo_id.id)) for b in bindings]


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def write(self, vals):
        _check_owned_edit(self, vals, "product", _template_bindings)
        return super().write(vals)


class ProductProduct(models.Model):
    _inherit = "product.product"

    def write(self, vals):
        # checked before anything is written, the template's fields too (the template's write checks them
        # again): a variant's write puts their new values in the cache before it calls the template's
        _check_owned_edit(self, vals, "product", _product_bindings)
        return super().write(vals)


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        _check_owned_edit(self, vals, "customer", _partner_bindings)
        return super().write(vals)
