# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models

WMS_TYPES = ("wms_rest", "wms_x12")


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    backend_type = fields.Selection(
        selection_add=[("wms_rest", "3PL (REST/JSON)"), ("wms_x12", "3PL (X12 EDI over SFTP)")],
        ondelete={"wms_rest": "cascade", "wms_x12": "cascade"},
    )

    def _default_policy_values(self):
        """A warehouse executes fulfilment and owns on-hand stock; it takes no orders or prices."""
        values = super()._default_policy_values()
        if self.backend_type not in WMS_TYPES:
            return values
        P = self.env["retail.sync.policy"]
        return [
            P._policy_vals("fulfilment", "event", "both", "channel", 15, "minutes"),
            P._policy_vals("inventory", "batch", "inbound", "channel", 1, "hours"),
            P._policy_vals("catalog", "batch", "outbound", "odoo", 1, "days"),
            P._policy_vals("returns", "orchestrated", "both", "odoo", 1, "hours"),
            P._policy_vals("orders", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("customers", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("pricing", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("finance", "off", "inbound", "odoo", 1, "days"),
        ]
