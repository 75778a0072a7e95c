# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailLocationMap(models.Model):
    """A channel location (store, fulfilment location) and the Odoo locations it sells from."""

    _name = "retail.location.map"
    _inherit = ["retail.audited"]
    _description = "Retail Connector channel location"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    external_id = fields.Char(string="Channel location ID", required=True)
    name = fields.Char()
    location_ids = fields.Many2many("stock.location", string="Odoo locations", required=True, domain="[('usage', '=', 'internal')]")

    _backend_external_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "This channel location is already mapped on this backend."
    )
