# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What the inbound gateway needs of a backend on every request, cached per server process.

The acknowledgement of a webhook is the hot path: it reads the backend's settings and secrets
from this process's cache (Odoo's ormcache, cleared on every server when they change) instead
of loading and decrypting the backend for each request.
"""

import time
from collections import namedtuple

from odoo import api, models
from odoo.tools import ormcache

from .retail_sync_policy import REALTIME_CHANNEL

GatewayConfig = namedtuple("GatewayConfig", "id active backend_type company_id inbound_rate_limit inbound_rate_burst "
                                            "webhook_max_age_hours modes")
# what the inbox does with an event of a domain, by its policy's mode (no policy: as event-driven)
INBOUND_ACTIONS = {"realtime": "apply", "event": "apply", "orchestrated": "apply", "batch": "keep", "off": "off"}


def inbound_handling(config, domain):
    """Return (action, job channel) for an event of ``domain`` under a backend's cached policies.

    action: ``apply`` (wake the domain's dispatcher), ``keep`` (stored for the scheduled run),
    ``refuse`` or ``ignore`` (the policy is off), ``relay`` (the legacy platform owns the domain:
    kept, relayed to it, and shadowed in the shadow phase; see retail_migration).
    """
    domain = domain or "orders"
    for policy_domain, mode, off_inbound, phase in (config.modes if config else ()):
        if policy_domain == domain:
            if phase in ("legacy", "shadow"):
                return "relay", "root.retail.%s" % domain
            action = INBOUND_ACTIONS.get(mode, "apply")
            if action == "off":
                action = off_inbound or "refuse"
            return action, REALTIME_CHANNEL if mode == "realtime" else "root.retail.%s" % domain
    return "apply", "root.retail.%s" % domain

def inbound_phase(config, domain):
    """Return the migration phase of ``domain`` under a backend's cached policies (odoo without a policy)."""
    domain = domain or "orders"
    for policy_domain, _mode, _off_inbound, phase in (config.modes if config else ()):
        if policy_domain == domain:
            return phase
    return "odoo"


# fields whose change the gateway must see at once
GATEWAY_FIELDS = frozenset({
    "active", "backend_type", "company_id", "inbound_rate_limit", "inbound_rate_burst",
    "webhook_secret", "webhook_secret_previous", "webhook_secret_rotated_at", "webhook_max_age_hours",
})
# secrets are read again at least this often, so that a rotation's grace period ends on time
SECRETS_TTL = 60


DEFAULT_MAX_BODY = 2 * 1024 * 1024
# refusals a source address may cause per minute, per server process, before being answered 429
# at once (before any backend, body or signature is looked at)
DEFAULT_REFUSALS_PER_MINUTE = 60
# the gateway's settings (system parameters) and their defaults
GATEWAY_LIMITS = (("retail_connector.max_body_bytes", DEFAULT_MAX_BODY),
                  ("retail_connector.refusals_per_minute", DEFAULT_REFUSALS_PER_MINUTE))


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    @api.model
    @ormcache()
    def _gateway_limits(self):
        """Return the gateway's (largest body read, refusals per minute from one address), cached.

        Changing a system parameter clears Odoo's caches on every server, this one included."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        limits = []
        for key, default in GATEWAY_LIMITS:
            try:
                limits.append(int(get_param(key, default)))
            except (TypeError, ValueError):
                limits.append(default)
        return tuple(limits)

    @ormcache("backend_id")
    def _gateway_config(self, backend_id):
        """Return the backend's GatewayConfig, or None when there is no such backend."""
        backend = self.sudo().with_context(active_test=False).browse(backend_id).exists()
        if not backend:
            return None
        modes = tuple((p.domain, p.mode, p.off_inbound, p.phase) for p in backend.policy_ids)
        return GatewayConfig(backend.id, backend.active, backend.backend_type, backend.company_id.id,
                             backend.inbound_rate_limit, backend.inbound_rate_burst, backend.webhook_max_age_hours or 0,
                             modes)

    def _webhook_max_age(self):
        """Return the oldest a webhook may be, in seconds (0: no limit), from the gateway's cache."""
        self.ensure_one()
        config = self._gateway_config(self.id)
        return (config.webhook_max_age_hours if config else 0) * 3600

    def _webhook_secrets(self):
        """Return the secrets a signed request may use, current first (cached, see SECRETS_TTL)."""
        self.ensure_one()
        return list(self._cached_webhook_secrets(self.id, int(time.time() // SECRETS_TTL)))

    @ormcache("backend_id", "period")
    def _cached_webhook_secrets(self, backend_id, period):
        return tuple(super(RetailBackend, self.browse(backend_id))._webhook_secrets())

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        self.env.registry.clear_cache()  # a request may have found no backend under this id before
        return backends

    def write(self, vals):
        result = super().write(vals)
        if GATEWAY_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
