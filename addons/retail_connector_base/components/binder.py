# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import Component

BINDING_MODELS = [
    "retail.partner.binding",
    "retail.product.binding",
    "retail.sale.order.binding",
    "retail.picking.binding",
    "retail.warehouse.binding",
]


class RetailBinder(Component):
    """Binds external ids to Odoo records, per backend, for every retail binding model."""

    _name = "retail.binder"
    _inherit = ["retail.base", "base.binder"]
    _apply_on = BINDING_MODELS

    def bind_record(self, external_id, record, **vals):
        """Return the binding of ``record`` under ``external_id``, creating or updating it."""
        binding = self.model.with_context(active_test=False).search(
            [(self._backend_field, "=", self.backend_record.id), (self._odoo_field, "=", record.id)], limit=1
        )
        vals = dict(vals, **{self._external_field: str(external_id)})
        if binding:
            # a binding shared by many orders (a returning customer) is written only when it changes:
            # a write for nothing would make concurrent jobs collide on its row
            changed = {k: v for k, v in vals.items() if binding[k] != v}
            if changed:
                binding.write(changed)
            return binding
        vals.update({self._backend_field: self.backend_record.id, self._odoo_field: record.id})
        # creating an _inherits binding writes the bound record's field defaults (a product's
        # properties) on it, which would need the right to edit products and warehouses the
        # connector does not otherwise need: the binding's own access is checked, the write is sudo
        self.model.check_access("create")
        return self.model.sudo().create(vals).sudo(False)

    def bind_new_records(self, items):
        """Create the bindings of records that have none yet, in one create; return them in order.

        ``items``: [(external id, record, values)]."""
        self.model.check_access("create")
        return self.model.sudo().create([
            dict(vals, **{self._external_field: str(external_id), self._backend_field: self.backend_record.id,
                          self._odoo_field: record.id})
            for external_id, record, vals in items
        ]).sudo(False)
