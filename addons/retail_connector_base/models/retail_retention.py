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
import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

PERSONAL_KEYS = frozenset({
    "email", "phone", "first_name", "last_name", "name", "company", "street", "street2", "address1", "address2",
    "city", "zip", "postcode", "province", "state", "customer_note", "note", "ip_address", "browser_ip",
    "billing_address", "shipping_address", "customer", "contact_email", "phone_number", "given_name", "family_name",
})
SETTLED_STATES = ("done", "stale", "ignored")
ANONYMISED = "(anonymised)"
CHUNK = 500


def anonymise(data):
    """Return a copy of ``data`` with every value under a personal key replaced, structure and other values kept.

    Walks the structure with a stack of its own, not by recursion: a payload nested thousands of
    levels deep is anonymised like any other.
    """
    if not isinstance(data, (dict, list)):
        return data
    result = _empty_like(data)
    stack = [(data, result, False)]
    while stack:
        source, target, personal = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            blank = personal or (isinstance(source, dict) and key in PERSONAL_KEYS)
            if isinstance(value, (dict, list)):
                target[key] = _empty_like(value)
                stack.append((value, target[key], blank))
            elif blank and value not in (None, ""):
                target[key] = ANONYMISED
            else:
                target[key] = value
    return result


def _empty_like(container):
    # a list is filled by index: its slots exist before its items are walked
    return {} if isinstance(container, dict) else [None] * len(container)


def _anonymised_text(text):
    """Return a JSON payload's text anonymised, or False when it cannot be read (nothing can be kept safely)."""
    try:
        return json.dumps(anonymise(json.loads(text)))
    except ValueError:
        return False
    except RecursionError:
        # deeper than the JSON reader goes: its personal data cannot be found, so none of it is kept
        _logger.warning("Retention: a payload nested too deeply to read was removed instead of anonymised")
        return False


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
            skipped = []
            while True:
                events = self.sudo().search([("received_at", "<", limit), ("state", "in", SETTLED_STATES),
                                             ("personal_data_removed", "=", False), ("payload_purged", "=", False),
                                             ("id", "not in", skipped)], limit=CHUNK)
                if not events:
                    break
                for event in events:
                    if event._anonymise_payload():
                        anonymised += 1
                    else:
                        skipped.append(event.id)
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

    def _anonymise_payload(self):
        """Anonymise this event's payloads; return False (logged, left for the next run) when that failed.

        One bad record never stops the retention of the others: each one is written in a
        savepoint, and an error is logged with the event's id.
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                vals = {"personal_data_removed": True}
                for name in ("payload", "payload_override"):
                    if self[name]:
                        vals[name] = _anonymised_text(self[name])
                self.write(vals)
        except Exception:  # noqa: BLE001 - any one record's failure must leave the others to be processed
            _logger.exception("Retention: the payload of event %s could not be anonymised; it is retried next run",
                              self.id)
            return False
        return True


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    retail_anonymise_days = fields.Integer(
        string="Anonymise personal data after (days)",
        config_parameter="retail_connector.anonymise_days",
        default=30,
        help="Names, emails, phones and addresses in settled events' payloads are replaced after this delay.",
    )
