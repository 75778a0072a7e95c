# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging
from contextlib import contextmanager
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib.http import ChannelError
from .fields_secret import SecretChar
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_rate_bucket import RESUMABLE

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "retail_connector_base.group_retail_manager"
# hours the previous webhook secret stays valid after a rotation (Settings)
SECRET_GRACE_PARAM = "retail_connector.webhook_secret_grace_hours"


class RetailBackend(models.Model):
    """One external system (storefront, marketplace, POS, warehouse) for one company."""

    _name = "retail.backend"
    _inherit = ["connector.backend", "mail.thread", "retail.audited", "retail.circuit.breaker"]
    _description = "Retail Connector Backend"
    # kept up to date by the pipeline (circuit breaker, checks, rotation), not configuration;
    # pausing and resuming are logged by their actions, as the expiry and revocation of a secret
    _audit_exclude = frozenset({"state", "consecutive_failures", "degraded_since", "last_check_date", "last_check_ok",
                                "last_check_message", "webhook_secret_rotated_at"})
    _order = "sequence, name, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    backend_type = fields.Selection(
        selection=[("generic", "Generic (canonical JSON)")],
        string="Channel",
        required=True,
        default="generic",
        tracking=True,
        help="The protocol this backend speaks. Channel addons add their types.",
    )
    endpoint_url = fields.Char(
        string="Endpoint URL",
        tracking=True,
        help="Base URL of the channel's API, e.g. https://shop.example.com",
    )
    api_version = fields.Char(string="API version", tracking=True)
    state = fields.Selection(
        [("ok", "OK"), ("degraded", "Degraded"), ("paused", "Paused")],
        default="ok",
        required=True,
        tracking=True,
        help="Degraded: transport failures, exports wait and a probe resumes them. "
        "Paused: stopped by a user until resumed.",
    )
    rate_limit_rps = fields.Float(
        string="Rate limit (requests/s)",
        default=2.0,
        help="Sustained request rate allowed towards the channel.",
    )
    rate_limit_burst = fields.Integer(
        string="Burst", default=10, help="Requests allowed at once before the rate applies."
    )
    inbound_rate_limit = fields.Float(
        string="Inbound limit (requests/s)",
        default=50.0,
        help="Webhooks and API calls accepted per second from this channel; more are answered 429. 0: no limit.",
    )
    inbound_rate_burst = fields.Integer(string="Inbound burst", default=200)
    responsible_user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="Gets an activity for each event that needs a person (failed or dead).",
    )
    event_count = fields.Integer(compute="_compute_event_count")
    is_warehouse = fields.Boolean(
        compute="_compute_is_warehouse", store=True, help="A warehouse or 3PL: it executes Odoo's transfers."
    )
    warehouse_route_ids = fields.One2many("retail.warehouse.route", "backend_id", string="Warehouse routes")
    webhook_endpoint = fields.Char(
        string="Webhook URL", compute="_compute_webhook_endpoint", help="Where the channel posts its webhooks."
    )
    timeout = fields.Float(
        string="Timeout (s)", default=30.0, help="Longest wait to connect to the channel, and for each answer."
    )

    # Secrets: the manager group only. Never logged, never passed as job arguments.
    # stored encrypted with the server's key (retail_connector_secret_key), never in clear
    api_key = SecretChar(string="API key / client id", groups=MANAGER_GROUP, copy=False)
    api_secret = SecretChar(string="API secret / access token", groups=MANAGER_GROUP, copy=False)
    webhook_secret = SecretChar(groups=MANAGER_GROUP, copy=False)
    webhook_secret_previous = SecretChar(
        string="Previous webhook secret",
        groups=MANAGER_GROUP,
        copy=False,
        help="Still accepted while the channel switches to the new secret, until it expires (Settings) or is revoked.",
    )
    webhook_secret_rotated_at = fields.Datetime(readonly=True, copy=False)
    webhook_secret_previous_expires_at = fields.Datetime(
        string="Previous secret accepted until", compute="_compute_webhook_secret_previous_expires_at",
        compute_sudo=True, groups=MANAGER_GROUP,
        help="After this time a webhook signed with the previous secret is refused, and the secret is deleted.",
    )
    webhook_max_age_hours = fields.Integer(
        string="Maximum webhook age (h)", compute="_compute_webhook_max_age_hours", store=True, readonly=False,
        help="A webhook whose channel timestamp is older than this is refused as a possible replay (its signature "
        "carries no time of its own). The default covers the channel's retries; 0 turns the check off.",
    )

    warehouse_id = fields.Many2one(
        "stock.warehouse",
        domain="[('company_id', '=', company_id)]",
        help="Warehouse whose stock this channel sells and where its orders ship from.",
    )
    pricelist_id = fields.Many2one("product.pricelist", help="Prices sent to and expected from the channel.")
    default_country_id = fields.Many2one(
        "res.country", help="Region used to read phone numbers given without a country code."
    )
    sale_team_id = fields.Many2one("crm.team", string="Sales team")
    order_state_on_import = fields.Selection(
        [("draft", "Quotation"), ("confirmed", "Confirmed sale order")],
        default="confirmed",
        required=True,
    )

    # Outbound: available to sell, rate (the circuit breaker's fields are in retail.circuit.breaker)
    stock_location_ids = fields.Many2many(
        "stock.location",
        string="Stock locations",
        domain="[('usage', '=', 'internal')]",
        help="Where the stock this channel sells lies; empty: the warehouse's stock location.",
    )
    stock_buffer = fields.Float(string="Safety buffer", help="Units kept back from the channel per product.")
    stock_max_percent = fields.Float(string="Share of stock (%)", help="Offer at most this share of the free stock; 0: all.")
    stock_max_qty = fields.Float(string="Most per product", help="Offer at most this many units per product; 0: no cap.")
    location_map_ids = fields.One2many(
        "retail.location.map", "backend_id", string="Channel locations",
        help="Channel locations and the Odoo stock locations whose stock each one sells.",
    )
    pending_export_count = fields.Integer(compute="_compute_pending_export_count")
    policy_ids = fields.One2many("retail.sync.policy", "backend_id", string="Sync policies")
    last_check_date = fields.Datetime(string="Last connection test", readonly=True)
    last_check_ok = fields.Boolean(readonly=True)
    last_check_message = fields.Text(string="Connection test result", readonly=True)

    _name_company_uniq = models.Constraint(
        "UNIQUE(name, company_id)", "A backend with this name already exists in this company."
    )
    _rate_positive = models.Constraint(
        "CHECK(rate_limit_rps > 0 AND rate_limit_burst >= 1)",
        "The rate limit must be positive and the burst at least 1.",
    )

    def _compute_event_count(self):
        counts = dict(
            self.env["retail.event"]._read_group([("backend_id", "in", self.ids)], ["backend_id"], ["__count"])
        )
        for backend in self:
            backend.event_count = counts.get(backend, 0)

    def action_open_events(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_event")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    @api.depends("backend_type")
    def _compute_is_warehouse(self):
        """Warehouse channels execute transfers; channel addons say which types are warehouses."""
        for backend in self:
            backend.is_warehouse = False

    @api.depends("backend_type")
    def _compute_webhook_max_age_hours(self):
        for backend in self:
            backend.webhook_max_age_hours = backend._default_webhook_max_age_hours()

    def _default_webhook_max_age_hours(self):
        """Return how old a webhook of this channel type may be, in hours (0: not checked).

        Channel addons whose signature carries no timestamp give their retry window here.
        """
        return 0

    def _compute_webhook_endpoint(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        for backend in self:
            backend.webhook_endpoint = "%s/retail/webhook/%d" % (base, backend.id) if backend.id else False

    # ------------------------------------------------------------------ creation and policies
    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        for backend in backends:
            if not backend.policy_ids:
                backend._create_default_policies()
        return backends

    def _default_policy_values(self):
        """Return the default sync policy values per domain for this backend's channel type.

        The defaults follow the source document: orders in real time with webhooks and a
        reconciliation batch, inventory event-driven, catalog and pricing in batch, finance
        in batch with a cut-off, returns orchestrated. Channel addons refine per type.
        """
        self.ensure_one()
        P = self.env["retail.sync.policy"]
        return [
            P._policy_vals("orders", "realtime", "both", "channel", 15, "minutes"),
            P._policy_vals("customers", "realtime", "inbound", "channel", 1, "hours"),
            P._policy_vals("inventory", "event", "outbound", "odoo", 1, "hours"),
            P._policy_vals("catalog", "batch", "outbound", "odoo", 1, "days"),
            P._policy_vals("pricing", "batch", "outbound", "odoo", 6, "hours"),
            P._policy_vals("fulfilment", "event", "outbound", "odoo", 1, "hours"),
            P._policy_vals("returns", "orchestrated", "both", "odoo", 1, "hours"),
            dict(
                P._policy_vals("finance", "batch", "inbound", "channel", 1, "days"),
                cutoff_hour=23.0,
            ),
        ]

    def _create_default_policies(self):
        for backend in self:
            # what the channel has no component for is created off (its policy says why)
            vals = [dict(v, backend_id=backend.id) for v in backend._fit_policy_values(backend._default_policy_values())]
            self.env["retail.sync.policy"].create(vals)

    def action_reset_policies(self):
        """Replace the policies by the channel type's defaults."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for backend in self:
            backend.policy_ids.unlink()
            backend._create_default_policies()
        return True

    # ------------------------------------------------------------------ service identity
    @api.model
    def _connector_env(self, backend):
        """Return an environment as the connector user of ``backend``'s company, in that company only.

        The pipeline (gateway after authentication, event, export and batch jobs) runs as this
        user, with its rights and not the superuser's, and is recorded as the author of what
        it creates. The current context is kept.
        """
        return backend.sudo().company_id.with_env(self.env)._retail_connector_env()

    def _as_connector(self, records):
        """Return ``records`` in the environment of this backend's connector user."""
        self.ensure_one()
        return records.with_env(self._connector_env(self))

    @api.private
    def policy_for(self, domain):
        """Return the backend's sync policy for a domain (empty if none); not callable over RPC."""
        self.ensure_one()
        return self.policy_ids.filtered(lambda p: p.domain == domain)[:1]

    # ------------------------------------------------------------------ secrets
    def write(self, vals):
        if vals.get("webhook_secret_previous") and "webhook_secret_rotated_at" not in vals:
            # a previous secret set by hand expires like a rotated one
            vals = dict(vals, webhook_secret_rotated_at=fields.Datetime.now())
        if vals.get("webhook_secret") and "webhook_secret_previous" not in vals:
            rotated = self.browse()
            for backend in self:
                current = backend.sudo().webhook_secret
                if current and current != vals["webhook_secret"]:
                    # Keep the old secret valid while the channel switches over, until it expires;
                    # written with the new one, so that the rotation is one audited change
                    super(RetailBackend, backend).write(
                        dict(vals, webhook_secret_previous=current, webhook_secret_rotated_at=fields.Datetime.now())
                    )
                    rotated |= backend
            if rotated:
                rest = self - rotated
                return super(RetailBackend, rest).write(vals) if rest else True
        return super().write(vals)

    @api.model
    def _webhook_secret_grace(self):
        """Return how long the previous webhook secret stays valid after a rotation (Settings, 24 h by default)."""
        hours = self.env["ir.config_parameter"].sudo().get_param(SECRET_GRACE_PARAM, "24")
        try:
            return timedelta(hours=max(float(hours or 0), 0))
        except ValueError:
            return timedelta(hours=24)

    @api.depends("webhook_secret_previous", "webhook_secret_rotated_at")
    def _compute_webhook_secret_previous_expires_at(self):
        grace = self._webhook_secret_grace()
        for backend in self:
            rotated = backend.webhook_secret_rotated_at
            backend.webhook_secret_previous_expires_at = (
                rotated + grace if backend.webhook_secret_previous and rotated else False
            )

    def _webhook_secrets(self):
        """Return the secrets a signed request may use: current first, then previous until it expires."""
        self.ensure_one()
        backend = self.sudo()
        secrets = [backend.webhook_secret] if backend.webhook_secret else []
        # computed at each check, not read from the field's cache: the window may just have changed
        rotated = backend.webhook_secret_rotated_at
        expires_at = rotated + self._webhook_secret_grace() if rotated else None
        if backend.webhook_secret_previous and expires_at and fields.Datetime.now() < expires_at:
            secrets.append(backend.webhook_secret_previous)
        return secrets

    def action_revoke_previous_webhook_secret(self):
        """Stop accepting the previous webhook secret at once (after a leak); managers only, audited."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._(
                "Only Retail Connector managers can revoke a webhook secret: ask one to revoke it on the backend."))
        backends = self.sudo().filtered("webhook_secret_previous")
        backends.with_context(retail_no_audit=True).write({"webhook_secret_previous": False})
        self.env["retail.audit.log"]._log(
            backends, "write", {b.id: "Previous webhook secret: revoked" for b in backends},
            summary=self.env._("Previous webhook secret revoked"),
        )
        return True

    @api.model
    def _cron_expire_webhook_secrets(self):
        """Delete previous webhook secrets whose validity is over; return how many."""
        grace = self._webhook_secret_grace()
        backends = self.sudo().with_context(active_test=False).search([
            ("webhook_secret_previous", "!=", False),
            "|", ("webhook_secret_rotated_at", "=", False),
            ("webhook_secret_rotated_at", "<=", fields.Datetime.now() - grace),
        ])
        backends.with_context(retail_no_audit=True).write({"webhook_secret_previous": False})
        self.env["retail.audit.log"]._log(
            backends, "write",
            {b.id: "Previous webhook secret: expired, %g h after the rotation" % (grace.total_seconds() / 3600)
             for b in backends},
            summary=self.env._("Previous webhook secret expired"),
        )
        return len(backends)

    # ------------------------------------------------------------------ state
    def action_pause(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.write({"state": "paused"})
        self.env["retail.audit.log"]._log(self, "write", {b.id: "State: paused" for b in self})

    def action_resume(self):
        """Resume a paused or degraded backend and send what waited."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.env["retail.audit.log"]._log(self, "write", {b.id: "State: %s → ok" % b.state for b in self})
        self.write({"state": "ok", "consecutive_failures": 0, "degraded_since": False})
        self.env["retail.export.request"]._flush_waiting(self)

    def _compute_pending_export_count(self):
        counts = dict(
            self.env["retail.export.request"]._read_group(
                [("backend_id", "in", self.ids), ("state", "=", "pending")], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.pending_export_count = counts.get(backend, 0)

    def action_open_exports(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_export_request")
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    def _can_send(self, domain):
        """Return whether exports of ``domain`` may go out now (backend ok, policy not paused)."""
        self.ensure_one()
        policy = self.policy_for(domain)
        return self.state == "ok" and not policy.paused

    def _flush_exports(self, domain, batch_run=False):
        """Send the pending exports of one domain (queue job); see ``retail.export.request._flush_domain``."""
        self.ensure_one()
        return self.env["retail.export.request"]._flush_domain(self, domain, batch_run=batch_run)

    # ------------------------------------------------------------------ rate limit
    def _outbound_bucket(self):
        """Return the key of the backend's shared bucket of outbound requests."""
        self.ensure_one()
        return "outbound:%d" % self.id

    @contextmanager
    def _reserved_outbound(self, count):
        """Reserve ``count`` tokens of the backend's bucket at once for the requests sent in the block.

        Raises the rate limit's wait (a ``RetryableJobError`` in a job) before the block when they
        are not all there: work that must not stop halfway for want of a token (an export batch,
        a refund) starts only once it can finish. ``count`` above the burst waits for a full
        bucket and borrows the rest (``retail.rate.bucket._reserve``). The tokens are used by
        ``_throttle_outbound`` before the bucket's; those left unused at the end of the block go back.
        """
        self.ensure_one()
        Bucket = self.env["retail.rate.bucket"]
        key = self._outbound_bucket()
        wait = Bucket._reserve(key, self.rate_limit_rps, self.rate_limit_burst, count)
        if wait:
            raise Bucket._wait_error(self.name, wait)
        with Bucket._reserved(key, self.rate_limit_rps, self.rate_limit_burst, count):
            yield

    def _throttle_outbound(self, method=None, path=None):
        """Take a token of the backend's shared bucket before a request (client hook).

        A job never waits for it (``retail.rate.bucket._throttle``): it frees its worker. A read of a
        whole channel listing in one transaction (a polling run, a reconciliation) or of a catalogue
        onboarding page, marked ``retail_paced_read`` in the context, waits a little instead
        (``_throttle_paced``), since starting it over would read every page again; so does a
        person's request (no job: a readiness check, a connection test), which would otherwise fail
        half-way through its calls. A longer wait tells the person how long to wait. A reconciliation's
        read of the channel's changes in a job, which keeps what it read and continues from its page
        cursor (``RESUMABLE`` in the cursor's cache), stops at the page instead of waiting longer.
        """
        self.ensure_one()
        Bucket = self.env["retail.rate.bucket"]
        if self.env.cr.cache.get(RESUMABLE) and self.env.context.get("job_uuid"):
            # a read that continues from its page cursor in a later job stops at this page instead of waiting
            Bucket._throttle_paced(self._outbound_bucket(), self.rate_limit_rps, self.rate_limit_burst, self.name,
                                   pause=True)
            return
        paced = self.env.context.get("retail_paced_read") or not self.env.context.get("job_uuid")
        throttle = Bucket._throttle_paced if paced else Bucket._throttle
        throttle(self._outbound_bucket(), self.rate_limit_rps, self.rate_limit_burst, self.name)

    # ------------------------------------------------------------------ connection test
    def action_test_connection(self):
        """Call the channel with the backend's credentials and show what it answered."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        now = fields.Datetime.now()
        try:
            with self.work_on(self._name) as work:
                tester = work.component(usage="connection.tester")
                message = tester.test_connection()
            ok = True
        except ChannelError as exc:
            ok, message = False, str(exc)
        except UserError as exc:
            ok, message = False, exc.args[0]
        self.write({"last_check_date": now, "last_check_ok": ok, "last_check_message": message})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Connection OK") if ok else self.env._("Connection failed"),
                "message": message,
                "type": "success" if ok else "danger",
                "sticky": not ok,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _channel_client(self, **options):
        """Return this backend's channel client, made by its ``backend.adapter`` component (for code outside
        components); ``options`` are the channel client's own."""
        self.ensure_one()
        with self.work_on(self._name) as work:
            return work.component(usage="backend.adapter").client(**options)

    def _module_version(self):
        return self.env.ref("base.module_retail_connector_base").sudo().latest_version or "19.0"

    # ------------------------------------------------------------------ scheduled runs
    def _run_scheduled_domain(self, domain):
        """Run the scheduled batch of one domain with the channel's batch component, if any.

        Returns a short text for the job's result. Channels provide a component with usage
        ``<domain>.batch`` on the backend model; a domain without one has nothing to run.
        """
        self.ensure_one()
        policy = self.policy_for(domain)
        batch_mode = policy and policy.mode == "batch"
        results = []
        if batch_mode:
            # what changed since the last run, in the channel's bulk calls; then the events kept for the run
            results.append(policy._send_kept_exports())
            results.append(self.env["retail.event"]._apply_kept(self, domain))
        # a scheduled read takes the whole listing in one transaction: it waits a little for its tokens
        # instead of reading every page again (see ``_throttle_outbound``)
        with self.with_context(retail_paced_read=True).work_on(self._name) as work:
            batch = work.many_components(usage="%s.batch" % domain)
            results += [str(component.run() or "") for component in batch]
        run = self._reconcile(domain)
        if run and run.resume_at:
            results.append("reconciliation: paused by the rate limit after %d checked, continues at %s" % (
                run.checked, run.resume_at))
        elif run:
            results.append(
                "reconciliation: %d checked, %d differences, %d repaired, %d failed"
                % (run.checked, run.difference_count, run.repaired, run.failed)
            )
            if batch_mode and run.repaired:
                results.append(policy._send_kept_exports())  # the repairs, in this run
        results = [r for r in results if r]
        return "\n".join(results) or "No batch run for %s on %s channels" % (domain, self.backend_type)
