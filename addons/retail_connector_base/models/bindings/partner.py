# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class RetailPartnerBinding(models.Model):
    """Partner known to a retail backend."""

    _name = "retail.partner.binding"
    _inherit = "retail.binding"
    _inherits = {"res.partner": "odoo_id"}
    _description = "Retail Partner Binding"

    odoo_id = fields.Many2one("res.partner", string="Odoo partner", required=True, ondelete="cascade", index=True)


class ResPartner(models.Model):
    _inherit = "res.partner"

    retail_bind_ids = fields.One2many(
        "retail.partner.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )
    retail_duplicate_of_id = fields.Many2one(
        "res.partner", string="Possible duplicate of", index="btree_not_null", copy=False,
        groups="retail_connector_base.group_retail_user",
        help="A channel customer gave this partner's e-mail or phone, but the channel did not know this partner: "
        "a new partner was made. Merge them if they are the same person, otherwise clear this field.",
    )
