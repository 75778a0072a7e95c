# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The cockpit's tiles show the open anomalies and the capacity forecast of their backend and domain."""

from odoo import fields, models

from .retail_access import check_retail_access


class RetailCockpit(models.Model):
    _inherit = "retail.cockpit"

    open_anomaly_count = fields.Integer(string="Anomalies", compute="_compute_intelligence")
    forecast_state = fields.Selection([("breached", "Breached"), ("at_risk", "At risk"), ("ok", "OK")],
                                      string="Capacity", compute="_compute_intelligence")
    forecast_breach_at = fields.Datetime(string="Breach expected", compute="_compute_intelligence")
    suggested_capacity = fields.Integer(compute="_compute_intelligence")

    def _compute_intelligence(self):
        Anomaly = self.env["retail.anomaly"]
        Forecast = self.env["retail.capacity.forecast"]
        for tile in self:
            scope = [("backend_id", "=", tile.backend_id.id), ("domain", "=", tile.domain)]
            tile.open_anomaly_count = Anomaly.search_count(scope + [("state", "=", "open")])
            forecast = Forecast.search(scope, limit=1)
            tile.forecast_state = forecast.state or False
            tile.forecast_breach_at = forecast.breach_at
            tile.suggested_capacity = forecast.suggested_capacity

    def action_open_anomalies(self):
        check_retail_access(self, "read")
        return self._open("retail.anomaly", self.env._("Anomalies"), [])

    def action_open_forecast(self):
        check_retail_access(self, "read")
        return self._open("retail.capacity.forecast", self.env._("Capacity forecast"), [])
