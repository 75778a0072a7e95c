# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models

MAP_KINDS = [
    ("payment_gateway", "Payment gateway"),
    ("carrier", "Carrier"),
    ("shipping", "Shipping method"),
    ("tax", "Tax"),
    ("discount", "Discount"),
    ("currency", "Currency"),
]
# kind -> Odoo models a value may map to (the first is the usual one)
MAP_TARGETS = {
    "payment_gateway": ["account.journal"],
    "carrier": ["delivery.carrier"],
    "shipping": ["product.product", "delivery.carrier"],
    "tax": ["account.tax"],
    "discount": ["product.product"],
    "currency": ["res.currency"],
}


class RetailValueMap(models.Model):
    """A channel's code (payment gateway, carrier, tax title...) and the Odoo record it means.

    Channels name things their own way; these lines say what each name is in Odoo. With the
    backend's strict mappings on, an unmapped name stops the order with a message naming it.
    """

    _name = "retail.value.map"
    _inherit = ["retail.audited"]
    _description = "Retail Connector value mapping"
    _order = "backend_id, kind, external_value"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    kind = fields.Selection(MAP_KINDS, required=True)
    external_value = fields.Char(string="Channel value", required=True, help="As the channel writes it, e.g. 'credit_card'.")
    odoo_ref = fields.Reference(selection="_selection_targets", string="Odoo record", required=True)

    _uniq = models.Constraint(
        "UNIQUE(backend_id, kind, external_value)", "This channel value is already mapped for this backend."
    )

    @api.model
    def _selection_targets(self):
        labels = {"account.journal": "Journal", "delivery.carrier": "Carrier", "product.product": "Product",
                  "account.tax": "Tax", "res.currency": "Currency"}
        return [(model, label) for model, label in labels.items() if model in self.env]

    @api.onchange("kind")
    def _onchange_kind(self):
        targets = [m for m in MAP_TARGETS.get(self.kind, []) if m in self.env]
        if targets and (not self.odoo_ref or self.odoo_ref._name not in targets):
            self.odoo_ref = "%s,0" % targets[0]


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    value_map_ids = fields.One2many("retail.value.map", "backend_id", string="Mappings")
    strict_mappings = fields.Boolean(
        help="Every payment gateway, shipping method and tax the channel names must be mapped; "
        "an unmapped one stops the order with a message naming it. Off: Odoo's defaults are used."
    )

    def _mapped(self, kind, value, model=None):
        """Return the Odoo record mapped to a channel value (empty if none)."""
        self.ensure_one()
        if not value:
            return self.env[model or MAP_TARGETS[kind][0]].browse() if (model or MAP_TARGETS[kind][0]) in self.env else None
        line = self.value_map_ids.filtered(lambda m: m.kind == kind and m.external_value.lower() == str(value).lower())[:1]
        record = line.odoo_ref if line else None
        if record and (model is None or record._name == model):
            return record
        target = model or MAP_TARGETS[kind][0]
        return self.env[target].browse() if target in self.env else None
