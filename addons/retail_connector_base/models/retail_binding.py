# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json

from odoo import api, fields, models

SYNC_STATES = [
    ("new", "New"),
    ("synced", "Synchronised"),
    ("pending", "Pending export"),
    ("failed", "Failed"),
    ("ignored", "Ignored"),
]


def payload_digest(payload):
    """Return the SHA-256 hex digest of a payload (dict or bytes), stable across key order."""
    if not isinstance(payload, (bytes, bytearray)):
        payload = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(payload).hexdigest()


class RetailBinding(models.AbstractModel):
    """Link between an Odoo record and its counterpart on one backend.

    Concrete bindings ``_inherits`` the Odoo model through ``odoo_id``. One external id maps to
    one record per backend, and one record has at most one binding per backend.
    """

    _name = "retail.binding"
    _inherit = "external.binding"
    _description = "Retail Connector Binding (abstract)"

    backend_id = fields.Many2one("retail.backend", string="Backend", required=True, ondelete="restrict", index=True)
    backend_type = fields.Selection(related="backend_id.backend_type")
    external_id = fields.Char(string="External ID", index=True)
    sync_state = fields.Selection(SYNC_STATES, default="new", required=True, index=True)
    external_updated_at = fields.Datetime(
        string="External update time", help="Update time of the record on the channel, as last seen."
    )
    payload_digest = fields.Char(help="SHA-256 of the last payload applied, to skip unchanged updates.")
    channel_ref = fields.Char(
        string="Channel reference", help="A second id the channel needs for this record, e.g. its inventory item."
    )
    last_error = fields.Text(readonly=True)
    legacy = fields.Boolean(
        string="Imported identifier", help="Bound from an existing estate's identifiers rather than synchronised."
    )

    _backend_external_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "This external ID is already bound to another record of this backend."
    )
    _backend_record_uniq = models.Constraint(
        "UNIQUE(backend_id, odoo_id)", "This record is already bound to this backend."
    )

    def _mark_synced(self, payload=None, external_updated_at=None):
        """Record a successful synchronisation with the payload applied."""
        self.write(self._synced_values(payload, external_updated_at))

    @api.model
    def _synced_values(self, payload=None, external_updated_at=None):
        """Return the values of a binding synchronised with ``payload``."""
        vals = {"sync_state": "synced", "sync_date": fields.Datetime.now(), "last_error": False}
        if payload is not None:
            vals["payload_digest"] = payload_digest(payload)
        if external_updated_at:
            vals["external_updated_at"] = external_updated_at
        return vals

    def _mark_failed(self, message):
        self.write({"sync_state": "failed", "last_error": message})
