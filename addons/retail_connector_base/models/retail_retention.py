# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Retention of what channels sent: personal data anonymised first, payloads purged later.

Events keep their metadata (topic, keys, times, outcome, errors) for good. After the
anonymisation delay the personal data in their payloads (names, emails, phones, addresses) is
replaced, the rest of the payload kept for support; after the retention delay the payload
itself is purged. Only events that are settled (done, stale or ignored) are touched: a failed or
dead event keeps its payload until someone has dealt with it. Rejected requests' bodies follow
the retention delay, and their rows with it.
"""

import json
from datetime import timedelta

from odoo import api, fields, models

PERSONAL_KEYS = frozenset({
    "email", "phone", "first_name", "last_name", "name", "company", "street", "street2", "address1", "address2",
    "city", "zip", "postcode", "province", "state", "customer_note", "note", "ip_address", "browser_ip",
    "billing_address", "shipping_address", "customer", "contact_email", "phone_number", "given_name", "family_name",
})
SETTLED_STATES = ("done", "stale", "ignored")
ANONYMISED = "(anonymised)"
CHUNK = 500


def anonymise(data):
    """Return ``data`` with the values of personal keys replaced, structure and other values kept."""
    if isinstance(data, dict):
        return {k: (_blank(v) if k in PERSONAL_KEYS else anonymise(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [anonymise(v) for v in data]
    return data


def _blank(value):
    if isinstance(value, (dict, list)):
        return anonymise(value) if isinstance(value, list) else {k: _blank(v) for k, v in value.items()}
    return ANONYMISED if value not in (None, "") else value


class RetailEvent(models.Model):
    _inherit = "retail.event"

    personal_data_removed = fields.Boolean(readonly=True, help="Personal data in the payload was anonymised.")
    payload_purged = fields.Boolean(readonly=True, help="The payload was purged by the retention policy.")

    @api.model
    def _cron_retention(self):
        """Anonymise, then purge, settled events' payloads by the configured delays; return the counts."""
        params = self.env["ir.config_parameter"].sudo()
        retention = int(params.get_param("retail_connector.retention_days", 90) or 0)
        anonymise_after = int(params.get_param("retail_connector.anonymise_days", 30) or 0)
        now = fields.Datetime.now()
        anonymised = purged = 0
        if anonymise_after:
            limit = now - timedelta(days=anonymise_after)
            while True:
                events = self.sudo().search([("received_at", "<", limit), ("state", "in", SETTLED_STATES),
                                             ("personal_data_removed", "=", False), ("payload_purged", "=", False)],
                                            limit=CHUNK)
                if not events:
                    break
                for event in events:
                    vals = {"personal_data_removed": True}
                    for name in ("payload", "payload_override"):
                        if event[name]:
                            try:
                                vals[name] = json.dumps(anonymise(json.loads(event[name])))
                            except ValueError:
                                vals[name] = False  # not JSON: nothing can be kept safely
                    event.write(vals)
                anonymised += len(events)
        if retention:
            limit = now - timedelta(days=retention)
            events = self.sudo().search([("received_at", "<", limit), ("state", "in", SETTLED_STATES),
                                         ("payload_purged", "=", False)])
            events.write({"payload": False, "payload_override": False, "payload_purged": True,
                          "personal_data_removed": True})
            purged = len(events)
            # rejected requests last seen before the delay go altogether
            self.env["retail.rejected.request"].sudo().search([("last_seen", "<", limit)]).unlink()
        return {"anonymised": anonymised, "purged": purged}


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    retail_anonymise_days = fields.Integer(
        string="Anonymise personal data after (days)",
        config_parameter="retail_connector.anonymise_days",
        default=30,
        help="Names, emails, phones and addresses in settled events' payloads are replaced after this delay.",
    )
