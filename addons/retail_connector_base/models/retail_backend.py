# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib.http import ChannelError

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "retail_connector_base.group_retail_manager"


class RetailBackend(models.Model):
    """One external system (storefront, marketplace, POS, warehouse) for one company."""

    _name = "retail.backend"
    _inherit = ["connector.backend", "mail.thread"]
    _description = "Retail Connector Backend"
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
    webhook_endpoint = fields.Char(
        string="Webhook URL", compute="_compute_webhook_endpoint", help="Where the channel posts its webhooks."
    )
    timeout = fields.Float(
        string="Timeout (s)", default=30.0, help="Longest wait to connect to the channel, and for each answer."
    )

    # Secrets: the manager group only. Never logged, never passed as job arguments.
    api_key = fields.Char(string="API key / client id", groups=MANAGER_GROUP, copy=False)
    api_secret = fields.Char(string="API secret / access token", groups=MANAGER_GROUP, copy=False)
    webhook_secret = fields.Char(groups=MANAGER_GROUP, copy=False)
    webhook_secret_previous = fields.Char(
        string="Previous webhook secret",
        groups=MANAGER_GROUP,
        copy=False,
        help="Still accepted while the channel switches to the new secret.",
    )
    webhook_secret_rotated_at = fields.Datetime(readonly=True, copy=False)

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
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_event")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

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
            P._policy_vals("orders", "realtime", "inbound", "channel", 15, "minutes"),
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
            vals = [dict(v, backend_id=backend.id) for v in backend._default_policy_values()]
            self.env["retail.sync.policy"].create(vals)

    def action_reset_policies(self):
        """Replace the policies by the channel type's defaults."""
        for backend in self:
            backend.policy_ids.unlink()
            backend._create_default_policies()
        return True

    def policy_for(self, domain):
        """Return the backend's sync policy for a domain (empty if none)."""
        self.ensure_one()
        return self.policy_ids.filtered(lambda p: p.domain == domain)[:1]

    # ------------------------------------------------------------------ secrets
    def write(self, vals):
        if vals.get("webhook_secret"):
            for backend in self:
                current = backend.sudo().webhook_secret
                if current and current != vals["webhook_secret"] and "webhook_secret_previous" not in vals:
                    # Keep the old secret valid while the channel switches over.
                    super(RetailBackend, backend).write(
                        {"webhook_secret_previous": current, "webhook_secret_rotated_at": fields.Datetime.now()}
                    )
        return super().write(vals)

    def _webhook_secrets(self):
        """Return the secrets a signed request may use: current first, then previous."""
        self.ensure_one()
        backend = self.sudo()
        return [s for s in (backend.webhook_secret, backend.webhook_secret_previous) if s]

    # ------------------------------------------------------------------ state
    def action_pause(self):
        self.write({"state": "paused"})

    def action_resume(self):
        self.write({"state": "ok"})

    # ------------------------------------------------------------------ connection test
    def action_test_connection(self):
        """Call the channel with the backend's credentials and show what it answered."""
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

    def _http_client(self):
        """Return an HTTP client for this backend's API, with its timeouts and credentials."""
        from ..lib.http import ChannelHttpClient

        self.ensure_one()
        if not self.endpoint_url:
            raise UserError(
                self.env._("Backend %(name)s has no endpoint URL: set it in the backend form.", name=self.name)
            )
        return ChannelHttpClient(
            self.endpoint_url,
            timeout=self.timeout,
            user_agent="RetailConnector/%s (backend %s)" % (self._module_version(), self.id),
        )

    def _module_version(self):
        return self.env.ref("base.module_retail_connector_base").sudo().latest_version or "19.0"

    # ------------------------------------------------------------------ scheduled runs
    def _run_scheduled_domain(self, domain):
        """Run the scheduled batch of one domain with the channel's batch component, if any.

        Returns a short text for the job's result. Channels provide a component with usage
        ``<domain>.batch`` on the backend model; a domain without one has nothing to run.
        """
        self.ensure_one()
        with self.work_on(self._name) as work:
            batch = work.many_components(usage="%s.batch" % domain)
            if not batch:
                return "No batch run for %s on %s channels" % (domain, self.backend_type)
            return "\n".join(str(component.run() or "") for component in batch)
