# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import hmac
import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .retail_access import GROUP_MANAGER, check_retail_access

SCOPES = {
    "orders:write": "Send orders",
    "orders:read": "Read an order's state in Odoo (GET /retail/api/v1/orders/<id>)",
    "availability:read": "Read the live available to sell (GET /retail/api/v1/availability)",
    "stock:write": "Send stock levels",
    "shipments:write": "Send shipments",
    "returns:write": "Send returns",
}
KEY_PREFIX = "rck_"
# how precisely the last use of a key is recorded: at most one write per key in this many seconds
LAST_USE_PRECISION = 60


def _hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class RetailApiKey(models.Model):
    """A credential for a partner system on the generic channel's API, with scopes and expiry.

    Only a SHA-256 hash of the key is stored; the key itself is shown once, when generated.
    """

    _name = "retail.api.key"
    _inherit = ["retail.audited"]
    _audit_exclude = frozenset({"last_used_at"})
    _description = "Retail Connector API key"
    _order = "id desc"

    name = fields.Char(required=True, help="Who uses this key, e.g. 'Marketplace aggregator X'.")
    backend_id = fields.Many2one(
        "retail.backend", required=True, ondelete="cascade", domain="[('backend_type', '=', 'generic')]", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    scopes = fields.Char(
        required=True, default="orders:write",
        help="Space-separated: " + "; ".join("%s: %s" % item for item in SCOPES.items()) + ".",
    )
    expires_at = fields.Datetime(string="Expires")
    active = fields.Boolean(default=True)
    key_prefix = fields.Char(readonly=True, index=True, copy=False, help="First characters, to recognise the key.")
    key_hash = fields.Char(readonly=True, copy=False, groups="base.group_system")
    last_used_at = fields.Datetime(readonly=True, help="Last request the key was accepted for, to the minute.")
    new_key = fields.Char(store=False, readonly=True, help="Shown once after generation.")

    @api.constrains("scopes")
    def _check_scopes(self):
        for key in self:
            unknown = set((key.scopes or "").split()) - set(SCOPES)
            if unknown:
                raise ValidationError(
                    self.env._(
                        "Unknown API key scope(s) %(unknown)s; known scopes: %(known)s.",
                        unknown=", ".join(sorted(unknown)),
                        known=", ".join(SCOPES),
                    )
                )

    @api.constrains("backend_id")
    def _check_backend_generic(self):
        for key in self:
            if key.backend_id.backend_type != "generic":
                raise ValidationError(
                    self.env._(
                        "API key %(key)s cannot belong to backend %(backend)s: partner API keys authenticate on "
                        "the generic channel's API only. Choose a backend of type Generic.",
                        key=key.name,
                        backend=key.backend_id.display_name,
                    )
                )

    def _generate_secret(self):
        """Give the key a new secret; return the full key (the only time it is visible).

        Private: the caller checks that the user may manage the key first (``action_generate``).
        """
        self.ensure_one()
        body = secrets.token_urlsafe(32)
        key = KEY_PREFIX + body
        self.sudo().write({"key_prefix": key[:12], "key_hash": _hash(key)})
        return key

    def action_generate(self):
        """Give the key a new secret and show it once (retail managers only: the old secret stops working)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        key = self._generate_secret()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("API key for %(name)s", name=self.name),
                "message": self.env._("Copy it now, it will not be shown again: %(key)s", key=key),
                "type": "warning",
                "sticky": True,
            },
        }

    @api.model
    def _authenticate(self, token):
        """Return the active, unexpired key record matching a bearer token, or an empty set."""
        if not token or not token.startswith(KEY_PREFIX):
            return self.browse()
        candidates = self.sudo().search([("key_prefix", "=", token[:12]), ("active", "=", True)])
        digest = _hash(token)
        for key in candidates:
            if hmac.compare_digest(key.key_hash or "", digest):
                if key.expires_at and key.expires_at < fields.Datetime.now():
                    return self.browse()
                return key
        return self.browse()

    def _has_scope(self, scope):
        """Return whether the key grants ``scope`` (e.g. ``orders:write``)."""
        self.ensure_one()
        return scope in (self.scopes or "").split()

    def _mark_used(self):
        """Record that the key was just accepted, at most once a minute per key.

        Reads stay cheap and requests with one key never wait on each other: the time is written
        in a short transaction of its own, and skipped while another request is writing it.
        """
        self.ensure_one()
        last = self.sudo().last_used_at
        if last and fields.Datetime.now() - last < timedelta(seconds=LAST_USE_PRECISION):
            return
        with self.env["retail.export.request"]._own_cursor() as cr:
            cr.execute(
                """
                UPDATE retail_api_key SET last_used_at = now() at time zone 'UTC'
                WHERE id IN (SELECT id FROM retail_api_key
                             WHERE id = %s AND (last_used_at IS NULL
                                                OR last_used_at < now() at time zone 'UTC' - %s * interval '1 second')
                             FOR UPDATE SKIP LOCKED)
                """,
                (self.id, LAST_USE_PRECISION),
            )
        self.invalidate_recordset(["last_used_at"])
