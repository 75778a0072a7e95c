# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""New channel: from the channel type to going live, one step at a time.

The assistant walks a person through what a new backend needs before its traffic can flow:
the channel type, its name and credentials, a connection test, the webhooks (registered on the
channel where the channel type can, or the URL and secret to give the channel), the catalogue
and mappings, the readiness check, and going live. The backend is created at the credentials
step, held not live (it sends and schedules nothing) until the last step puts it live.
"""

import secrets

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.retail_access import GROUP_MANAGER, check_retail_access

STEPS = [
    ("channel", "Channel"),
    ("credentials", "Credentials"),
    ("connection", "Connection"),
    ("webhooks", "Webhooks"),
    ("catalogue", "Catalogue"),
    ("readiness", "Readiness"),
    ("live", "Live"),
]
STEP_ORDER = [step for step, _label in STEPS]


class RetailChannelAssistant(models.TransientModel):
    _name = "retail.channel.assistant"
    _description = "Retail Connector new channel assistant"

    step = fields.Selection(STEPS, default="channel", required=True, readonly=True)
    backend_type = fields.Selection(selection="_selection_backend_type", string="Channel", required=True,
                                    default="generic")
    name = fields.Char(string="Backend name", help="How the backend is called in Odoo, e.g. EU web shop.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    endpoint_url = fields.Char(string="Endpoint URL", help="Base URL of the channel's API, e.g. https://shop.example.com")
    # copied to the backend (encrypted) and emptied here when the backend is saved
    api_key = fields.Char(string="API key / client id")
    api_secret = fields.Char(string="API secret / access token")
    credential_hint = fields.Text(compute="_compute_credential_hint")
    backend_id = fields.Many2one("retail.backend", readonly=True, ondelete="cascade")

    last_check_ok = fields.Boolean(related="backend_id.last_check_ok")
    last_check_date = fields.Datetime(related="backend_id.last_check_date")
    last_check_message = fields.Text(related="backend_id.last_check_message")
    webhook_endpoint = fields.Char(related="backend_id.webhook_endpoint", string="Webhook URL")
    webhook_secret_shown = fields.Char(string="Webhook secret", compute="_compute_webhook_secret_shown")
    can_register_webhooks = fields.Boolean(compute="_compute_can_register_webhooks")
    webhooks_registered = fields.Boolean(readonly=True)
    readiness_item_ids = fields.One2many(related="backend_id.readiness_item_ids", string="Findings")
    readiness_blocking_count = fields.Integer(related="backend_id.readiness_blocking_count")
    readiness_checked_at = fields.Datetime(related="backend_id.readiness_checked_at")
    go_live_state = fields.Selection(related="backend_id.go_live_state")
    assortment_count = fields.Integer(related="backend_id.assortment_count")

    @api.model
    def _selection_backend_type(self):
        return self.env["retail.backend"]._fields["backend_type"]._description_selection(self.env)

    @api.depends("backend_type")
    def _compute_credential_hint(self):
        for wizard in self:
            probe = self.env["retail.backend"].new({"backend_type": wizard.backend_type or "generic"})
            labels = [label for _field, label in probe._readiness_required_fields()]
            wizard.credential_hint = self.env._("This channel needs: %(fields)s.", fields=", ".join(labels)) \
                if labels else False

    @api.depends("backend_id")
    def _compute_webhook_secret_shown(self):
        for wizard in self:
            # managers only: the assistant is theirs, and the secret must be given to the channel
            wizard.webhook_secret_shown = wizard.backend_id.sudo().webhook_secret if wizard.backend_id else False

    @api.depends("backend_id", "backend_type")
    def _compute_can_register_webhooks(self):
        for wizard in self:
            wizard.can_register_webhooks = bool(wizard._webhook_registration())

    def _webhook_registration(self):
        """Return the backend's method that registers its webhooks on the channel, or None."""
        self.ensure_one()
        if not self.backend_id:
            return None
        return getattr(self.backend_id, "action_%s_ensure_webhooks" % self.backend_type, None)

    # ------------------------------------------------------------------ navigation
    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New channel"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def _go(self, step):
        self.step = step
        if step == "readiness":
            self.backend_id.action_check_readiness()
        return self._reopen()

    def action_next(self):
        """Save what this step asked for and go to the next one."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if self.step == "channel":
            if not self.name:
                raise UserError(self.env._("Give the backend a name: it is how it shows in the cockpit and lists."))
        elif self.step == "credentials":
            self._save_backend()
            self._test_connection()
        elif self.step == "live":
            return self.action_open_backend()
        return self._go(STEP_ORDER[STEP_ORDER.index(self.step) + 1])

    def action_back(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        index = STEP_ORDER.index(self.step)
        if index and self.step != "live":
            self.step = STEP_ORDER[index - 1]
        return self._reopen()

    def _save_backend(self):
        """Create the backend (or update it when the person came back), held not live until the last step."""
        vals = {"name": self.name, "backend_type": self.backend_type, "company_id": self.company_id.id,
                "endpoint_url": self.endpoint_url or False}
        for secret in ("api_key", "api_secret"):
            if self[secret]:
                vals[secret] = self[secret]
        Backend = self.env["retail.backend"]
        if self.backend_id:
            self.backend_id.write(vals)
        else:
            vals.update(go_live_state="setup", go_live_auto=False, webhook_secret=secrets.token_urlsafe(32))
            self.backend_id = Backend.create(vals)
            self.backend_id.message_post(body=self.env._(
                "Created by the New channel assistant: not live until its readiness check passes."))
        # the secrets live encrypted on the backend only
        self.write({"api_key": False, "api_secret": False})

    def _test_connection(self):
        self.backend_id.action_test_connection()

    def action_test_connection(self):
        """Call the channel with the credentials given and show its answer in the assistant."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if self.backend_id:
            self._test_connection()
        return self._reopen()

    def action_register_webhooks(self):
        """Register the backend's webhooks on the channel (channel types that can)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        register = self._webhook_registration()
        if not register:
            raise UserError(self.env._(
                "%(channel)s channels do not register webhooks through their API: give the channel the webhook URL "
                "and secret shown here.", channel=dict(self._selection_backend_type()).get(self.backend_type)))
        register()
        self.webhooks_registered = True
        return self._reopen()

    def action_check_readiness(self):
        """Run the readiness check again and show its findings in the assistant."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        return self._go("readiness")

    def action_go_live(self):
        """Put the backend live when nothing blocks; otherwise show what does."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        self.backend_id.action_go_live()
        if self.backend_id.go_live_state != "live":
            self.step = "readiness"
            return self._reopen()
        return self._go("live")

    # ------------------------------------------------------------------ where the next things are done
    def action_open_backend(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "retail.backend",
            "res_id": self.backend_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def action_open_assortment(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return self.backend_id.action_open_assortment()

    def action_suggest_mappings(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        return self.backend_id.action_suggest_mappings()
