# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, models

from ..lib import retry

RETRY_PATTERN_PARAM = "retail_connector.retry_pattern"


class RetailRetryPolicy(models.AbstractModel):
    """The one retry back-off of the pipeline, as configured in Settings (*Retry back-off*).

    Events, workflow steps, relays and export flushes all take their wait from ``_delay``.
    """

    _name = "retail.retry.policy"
    _description = "Retail Connector retry back-off"

    @api.model
    def _pattern(self):
        """Return the configured ``(attempt, seconds)`` steps (Settings, ``1:10,3:60,5:300`` by default)."""
        text = self.env["ir.config_parameter"].sudo().get_param(RETRY_PATTERN_PARAM, retry.DEFAULT_PATTERN_TEXT)
        return retry.parse_pattern(text)

    @api.model
    def _delay(self, attempt, retry_after=None, rate_limited=False, jitter=0):
        """Return the seconds to wait after ``attempt`` failed tries; see ``lib.retry.retry_delay``."""
        return retry.retry_delay(attempt, self._pattern(), retry_after=retry_after, rate_limited=rate_limited,
                                 jitter=jitter)

    @api.model
    def _job_attempt(self):
        """Return which try of the running queue job this is (1 for the first; 1 outside a job)."""
        uuid = self.env.context.get("job_uuid")
        if not uuid:
            return 1
        job = self.env["queue.job"].sudo().search([("uuid", "=", uuid)], limit=1)
        return (job.retry or 0) + 1
