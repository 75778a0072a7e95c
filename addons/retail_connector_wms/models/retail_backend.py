# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.retail_connector_base.models.retail_access import GROUP_MANAGER, check_retail_access
from odoo.addons.retail_connector_base.models.retail_backend import RetailBackend as BaseRetailBackend
from odoo.addons.retail_connector_base.lib.http import ChannelAuthError, ChannelError

WMS_TYPES = ("wms_rest", "wms_x12")


class RetailBackend(models.Model):
    _inherit = "retail.backend"
    # the control numbers' sequences move with every interchange sent: not configuration
    _audit_exclude = BaseRetailBackend._audit_exclude | {"x12_interchange_sequence_id", "x12_group_sequence_id"}

    backend_type = fields.Selection(
        selection_add=[("wms_rest", "3PL (REST/JSON)"), ("wms_x12", "3PL (X12 EDI over SFTP)")],
        ondelete={"wms_rest": "cascade", "wms_x12": "cascade"},
    )

    # X12 over SFTP: the drop, the envelope identities and the control numbers
    sftp_host = fields.Char(string="SFTP host")
    sftp_port = fields.Integer(string="SFTP port", default=22)
    sftp_host_key = fields.Char(
        string="Trusted host key", tracking=True, copy=False,
        help="SHA256 fingerprint of the server's host key (as ssh-keygen -l prints it). Nothing is sent to the "
        "server until it is set, and a server offering any other key is refused. Enter the fingerprint the "
        "warehouse gives you, or fetch the host key and trust it once it matches.",
    )
    sftp_offered_host_key = fields.Char(
        string="Offered host key", readonly=True, copy=False,
        help="SHA256 fingerprint of the host key the server offered when it was last fetched; not trusted until "
        "a person trusts it.",
    )
    sftp_offered_host_key_type = fields.Char(string="Offered key type", readonly=True, copy=False)
    sftp_offered_host_key_from = fields.Char(
        string="Offered by", readonly=True, copy=False, help="The host:port the offered key was read from."
    )
    sftp_inbound_dir = fields.Char(string="Files from the warehouse", default="/out")
    sftp_outbound_dir = fields.Char(string="Files to the warehouse", default="/in")
    sftp_archive_dir = fields.Char(string="Archive folder", default="/archive")
    sftp_quarantine_dir = fields.Char(string="Quarantine folder", default="/quarantine")
    x12_sender_qualifier = fields.Char(string="Our ISA qualifier", default="ZZ")
    x12_sender_id = fields.Char(string="Our ISA id")
    x12_receiver_qualifier = fields.Char(string="Warehouse ISA qualifier", default="ZZ")
    x12_receiver_id = fields.Char(string="Warehouse ISA id")
    x12_usage = fields.Selection([("P", "Production"), ("T", "Test")], string="Usage indicator", default="P")
    x12_version = fields.Selection(
        [("004010", "004010"), ("005010", "005010")], string="X12 release", default="004010", required=True,
        help="The release written to this partner (ISA12, GS08). Files in either release are read.",
    )
    x12_validation = fields.Selection(
        [("lenient", "Lenient"), ("strict", "Strict")], string="Validation", default="lenient", required=True,
        tracking=True,
        help="Lenient: a file whose content can be applied safely is applied; its segment and element problems "
        "are acknowledged as accepted with errors (997 AK5/AK9 E) and shown on the EDI file for review. "
        "Strict: any problem refuses the file (quarantine, rejecting 997), except the problems accepted below. "
        "Broken envelopes, control numbers and unusable content are refused in both.",
    )
    x12_tolerated_problems = fields.Text(
        string="Accepted problems", tracking=True,
        help="Problems accepted for this partner, one per line: <set>:<segment>:<element>:<997 code>, e.g. "
        "945:N1:02:2 (N102 missing in a 945). Filled by Accept these problems on an EDI file; text after # is a "
        "comment.",
    )
    x12_test_document_id = fields.Many2one("retail.edi.document", string="Test interchange", readonly=True,
                                           copy=False)
    x12_test_ack_state = fields.Selection(related="x12_test_document_id.ack_state", string="Test answer")
    x12_test_ack_detail = fields.Text(related="x12_test_document_id.error", string="Test answer detail")
    x12_ack_minutes = fields.Integer(
        string="Acknowledgement expected within (min)", default=60,
        help="A file the warehouse has not acknowledged (997) by then is flagged for follow-up.",
    )
    x12_interchange_sequence_id = fields.Many2one("ir.sequence", readonly=True, copy=False)
    x12_group_sequence_id = fields.Many2one("ir.sequence", readonly=True, copy=False)
    edi_document_ids = fields.One2many("retail.edi.document", "backend_id", string="EDI files")
    edi_document_count = fields.Integer(compute="_compute_edi_document_count")

    def _readiness_required_fields(self):
        """A REST warehouse needs its URL and token; an X12 one its SFTP host and login."""
        if self.backend_type == "wms_rest":
            return [("endpoint_url", self.env._("API URL")), ("api_secret", self.env._("API token"))]
        if self.backend_type == "wms_x12":
            return [("sftp_host", self.env._("SFTP host")), ("api_key", self.env._("SFTP user"))]
        return super()._readiness_required_fields()

    @api.depends("backend_type")
    def _compute_is_warehouse(self):
        super()._compute_is_warehouse()
        for backend in self:
            if backend.backend_type in WMS_TYPES:
                backend.is_warehouse = True

    def _compute_edi_document_count(self):
        counts = dict(self.env["retail.edi.document"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]))
        for backend in self:
            backend.edi_document_count = counts.get(backend, 0)

    def _default_policy_values(self):
        """A warehouse executes fulfilment and owns on-hand stock; it takes no orders or prices."""
        values = super()._default_policy_values()
        if self.backend_type not in WMS_TYPES:
            return values
        P = self.env["retail.sync.policy"]
        return [
            P._policy_vals("fulfilment", "event", "both", "channel", 15, "minutes"),
            P._policy_vals("inventory", "batch", "inbound", "channel", 1, "hours"),
            P._policy_vals("catalog", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("returns", "orchestrated", "both", "odoo", 1, "hours"),
            P._policy_vals("orders", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("customers", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("pricing", "off", "outbound", "odoo", 1, "days"),
            P._policy_vals("finance", "off", "inbound", "odoo", 1, "days"),
        ]

    # ------------------------------------------------------------------ X12 control numbers
    def _x12_next(self, kind):
        """Return the next interchange or group control number: a PostgreSQL sequence, never reused."""
        self.ensure_one()
        field = "x12_%s_sequence_id" % kind
        sequence = self.sudo()[field]
        if not sequence:
            sequence = self.env["ir.sequence"].sudo().create({
                "name": "%s X12 %s control number" % (self.name, kind),
                "code": "retail.x12.%s.%s" % (kind, self.id),
                "implementation": "standard",
                "number_next": 1,
                "padding": 9 if kind == "interchange" else 1,
                "company_id": False,
            })
            self.sudo()[field] = sequence
        number = int(sequence._next())
        if number > 999999999:
            raise UserError(self.env._("The X12 %(kind)s control numbers of %(backend)s are exhausted.", kind=kind,
                                       backend=self.name))
        return number

    def _x12_policy(self):
        """Return this partner's validation policy: its strictness and the problems accepted for it."""
        self.ensure_one()
        from ..lib import x12  # noqa: PLC0415

        return x12.ValidationPolicy(self.x12_validation or "lenient", x12.parse_keys(self.x12_tolerated_problems))

    def _x12_tolerate(self, keys, reason=""):
        """Add problem keys to the partner's accepted problems (each once), with ``reason`` as a comment."""
        self.ensure_one()
        from ..lib import x12  # noqa: PLC0415

        known = x12.parse_keys(self.x12_tolerated_problems)
        new = [key for key in dict.fromkeys(keys) if key not in known]
        if new:
            lines = (self.x12_tolerated_problems or "").rstrip("\n").splitlines()
            lines += ["%s  # %s" % (key, reason) if reason else key for key in new]
            self.x12_tolerated_problems = "\n".join(lines)
        return new

    def action_x12_send_test_interchange(self):
        """Send the partner a test 940 (ISA15 T); its 997 is shown on the backend when it arrives."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        from ..components.x12 import send_test_interchange  # noqa: PLC0415

        document = send_test_interchange(self)
        self.x12_test_document_id = document
        self.message_post(body=self.env._("%(user)s sent the test interchange %(file)s (ISA15 T, release %(v)s).",
                                          user=self.env.user.name, file=document.filename, v=self.x12_version))
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Test interchange sent"), "type": "info",
                           "message": self.env._("%(file)s was sent; its 997 shows here once the partner's files "
                                                 "are read.", file=document.filename)}}

    # ------------------------------------------------------------------ REST/JSON 3PL
    def action_threepl_ensure_webhooks(self):
        """Subscribe this backend's webhook URL to the warehouse's shipment and receiving topics."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        from ..components.threepl import ensure_webhooks  # noqa: PLC0415

        result = ensure_webhooks(self)
        subscription = result.get("subscription") or {}
        if result.get("created") and subscription.get("secret") and subscription["secret"] != self.sudo().webhook_secret:
            self.sudo().webhook_secret = subscription["secret"]
        message = self.env._("Webhook subscription %(id)s %(what)s.", id=subscription.get("id"),
                             what=self.env._("created") if result.get("created") else self.env._("already complete"))
        self.message_post(body=message)
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Warehouse webhooks"), "message": message, "type": "success"}}

    def _sftp_drop(self):
        """Return an SftpDrop on the backend's SFTP server (X12 backends)."""
        self.ensure_one()
        from ..lib.sftp import SftpDrop  # noqa: PLC0415

        self._check_channel_calls_allowed()
        if not self.sftp_host or not self.x12_sender_id or not self.x12_receiver_id:
            raise UserError(self.env._(
                "Backend %(name)s needs its SFTP host and both ISA identities (ours and the warehouse's).",
                name=self.name))
        if not self.sftp_host_key:
            raise ChannelAuthError(self.env._(
                "Backend %(name)s does not know the host key of %(host)s: nothing is sent to that server until it "
                "does. On the backend's Credentials tab, use Fetch host key, compare the fingerprint shown with "
                "the one the warehouse gives you, then Trust this host key (or enter the warehouse's "
                "fingerprint).", name=self.name, host=self._sftp_address()))
        return SftpDrop(
            self.sftp_host, self.sudo().api_key or "", port=self.sftp_port or 22, password=self.sudo().api_secret or None,
            host_key_fingerprint=self.sftp_host_key or None, timeout=self.timeout or 30,
            incoming_dir=self.sftp_inbound_dir, outgoing_dir=self.sftp_outbound_dir,
            archive_dir=self.sftp_archive_dir, quarantine_dir=self.sftp_quarantine_dir,
        )

    def _sftp_address(self):
        return "%s:%s" % (self.sftp_host or "", self.sftp_port or 22)

    def action_sftp_fetch_host_key(self):
        """Read the host key the SFTP server offers, without logging in, for a person to compare and trust."""
        self.ensure_one()
        # managers only, checked before the server is called
        check_retail_access(self, "write", GROUP_MANAGER)
        from ..lib.sftp import fetch_host_key  # noqa: PLC0415

        self._check_channel_calls_allowed()

        if not self.sftp_host:
            raise UserError(self.env._("Backend %(name)s has no SFTP host to fetch a host key from.", name=self.name))
        try:
            offered = fetch_host_key(self.sftp_host, self.sftp_port or 22, timeout=self.timeout or 30)
        except ChannelError as exc:
            raise UserError(self.env._("The host key of %(address)s could not be read for backend %(name)s: "
                                       "%(error)s", address=self._sftp_address(), name=self.name, error=exc)) from None
        self.write({
            "sftp_offered_host_key": offered.fingerprint, "sftp_offered_host_key_type": offered.key_type,
            "sftp_offered_host_key_from": self._sftp_address(),
        })
        return True

    def action_sftp_trust_host_key(self):
        """Trust the host key last fetched from the server: connections are allowed to a server offering it."""
        self.ensure_one()
        check_retail_access(self, "write", GROUP_MANAGER)
        if not self.sftp_offered_host_key:
            raise UserError(self.env._("Backend %(name)s has no fetched host key to trust: use Fetch host key first.",
                                       name=self.name))
        if self.sftp_offered_host_key_from != self._sftp_address():
            raise UserError(self.env._(
                "The host key of backend %(name)s was fetched from %(then)s, but the SFTP server is now %(now)s: "
                "fetch the host key again.", name=self.name, then=self.sftp_offered_host_key_from,
                now=self._sftp_address()))
        fingerprint, key_type = self.sftp_offered_host_key, self.sftp_offered_host_key_type
        self.write({"sftp_host_key": fingerprint, "sftp_offered_host_key": False,
                    "sftp_offered_host_key_type": False, "sftp_offered_host_key_from": False})
        self.message_post(body=self.env._("%(user)s trusted the %(type)s host key %(fingerprint)s of %(address)s.",
                                          user=self.env.user.name, type=key_type or "",
                                          fingerprint=fingerprint, address=self._sftp_address()))
        return True

    def action_x12_poll_now(self):
        """Read the warehouse's new files now (they are read at each run of the fulfilment policy too)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        with self.work_on(self._name) as work:
            summary = work.component(usage="x12.poller").run()
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Warehouse files"), "message": summary, "type": "info"}}

    def action_open_edi_documents(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_wms.action_retail_edi_document")
        action["domain"] = [("backend_id", "=", self.id)]
        return action
