# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.retail_connector_base.lib.http import ChannelError
from odoo.addons.retail_connector_base.models.retail_access import GROUP_MANAGER, check_retail_access

TRANSACTION_SETS = [
    ("940", "940 Warehouse Shipping Order"),
    ("945", "945 Warehouse Shipping Advice"),
    ("943", "943 Stock Transfer Shipment Advice"),
    ("944", "944 Stock Transfer Receipt Advice"),
    ("846", "846 Inventory Inquiry/Advice"),
    ("997", "997 Functional Acknowledgment"),
]


class RetailEdiDocument(models.Model):
    """One X12 interchange sent to or received from a warehouse, with its control numbers.

    Outgoing files wait for the warehouse's 997; incoming files are applied through the event
    inbox, then archived, or quarantined with the reason when they cannot be read.
    """

    _name = "retail.edi.document"
    _description = "Retail Connector EDI file"
    _order = "id desc"
    _rec_name = "filename"
    _inherit = ["mail.thread", "mail.activity.mixin"]

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    direction = fields.Selection([("out", "Sent"), ("in", "Received")], required=True)
    transaction_set = fields.Selection(TRANSACTION_SETS, string="Transaction set")
    filename = fields.Char(required=True)
    interchange_control = fields.Char(string="Interchange control number", index=True)
    group_control = fields.Char(string="Group control number", index=True)
    reference = fields.Char(help="The transfer or document the file is about.")
    picking_id = fields.Many2one("stock.picking", string="Transfer", ondelete="set null", index=True)
    event_id = fields.Many2one("retail.event", ondelete="set null", help="The inbox event that applied the file.")
    state = fields.Selection(
        [("sent", "Sent"), ("received", "Received"), ("processed", "Processed"), ("duplicate", "Duplicate"),
         ("quarantined", "Quarantined"), ("failed", "Failed"), ("test", "Test interchange")],
        required=True, index=True,
    )
    ack_state = fields.Selection(
        [("none", "Not expected"), ("pending", "Awaiting 997"), ("accepted", "Accepted"),
         ("accepted_errors", "Accepted with errors"), ("rejected", "Rejected"), ("overdue", "997 overdue")],
        string="Acknowledgement", default="none", required=True, index=True,
        help="Sent files: the partner's 997. Received files: the 997 we answered with.",
    )
    is_test = fields.Boolean(string="Test (ISA15 T)", readonly=True)
    x12_problems = fields.Text(
        string="Syntax problems", readonly=True,
        help="What the file breaks of the X12 syntax, segment and element named, with each problem's key.",
    )
    x12_problem_keys = fields.Text(string="Problem keys", readonly=True)
    review_state = fields.Selection(
        [("none", "Nothing to review"), ("to_review", "To review"), ("accepted", "Accepted for this partner")],
        string="Review", default="none", required=True, index=True,
        help="To review: the file has problems not yet accepted for this partner. Accepting them adds them to the "
        "partner's accepted problems: a strict partner's next file with them is applied.",
    )
    error = fields.Text()
    quarantined_as = fields.Char(
        string="Name in quarantine", readonly=True, copy=False,
        help="The file's name in the SFTP server's quarantine folder, while it is there.",
    )
    content = fields.Text(help="The interchange as sent or received.")

    _backend_interchange_uniq = models.Constraint(
        "UNIQUE(backend_id, direction, interchange_control)",
        "An interchange control number is used once per backend and direction.",
    )

    def action_accept_x12_problems(self):
        """Accept this file's syntax problems for its partner; a quarantined file is read again and applied.

        Later files with these problems are applied too. Accepting a file already accepted
        changes nothing.
        """
        check_retail_access(self, "write", GROUP_MANAGER)
        for document in self:
            if document.review_state == "accepted":
                continue  # accepted before (a second click): its problems are on the partner's list
            keys = (document.x12_problem_keys or "").split()
            if not keys:
                raise UserError(self.env._("%(file)s has no syntax problem a person can accept (broken envelopes "
                                           "and control numbers are always refused).", file=document.filename))
            added = document.backend_id._x12_tolerate(
                keys, self.env._("accepted by %(user)s from %(file)s", user=self.env.user.name,
                                 file=document.filename))
            document.review_state = "accepted"
            document.message_post(body=self.env._(
                "%(user)s accepted these problems for %(backend)s: %(keys)s.", user=self.env.user.name,
                backend=document.backend_id.name, keys=", ".join(added or keys)))
            if document.state == "quarantined":
                document._x12_read_again()
        return True

    def action_x12_read_again(self):
        """Read quarantined files again under their partner's current policy, applying those it now allows."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for document in self:
            if document.state == "quarantined" and document.direction == "in":
                document._x12_read_again()
        return True

    def _x12_read_again(self):
        """Read this quarantined file again through the warehouse files' path; post on it what happened."""
        self.ensure_one()
        backend = self.backend_id
        try:
            # a savepoint: a server out of reach leaves the acceptance done and the file as it was
            with self.env.cr.savepoint(), backend.work_on("retail.backend") as work:
                outcome, detail = work.component(usage="x12.poller").read_again(self)
        except (ChannelError, UserError) as exc:
            self.env.invalidate_all()
            self.message_post(body=self.env._(
                "%(file)s could not be read again now: %(error)s. It stays quarantined; use Read again once "
                "the SFTP server is reachable.", file=self.filename, error=str(exc)))
            return "unreachable"
        if outcome == "skipped":
            return outcome  # read again already (a second click): nothing more to say
        file = self.filename
        if outcome == "queued":
            ack = dict(self._fields["ack_state"]._description_selection(self.env)).get(self.ack_state)
            body = self.env._("%(file)s was read again under the partner's policy and sent to the inbox, which "
                              "applies it (the file shows Processed once it has). The warehouse was answered with "
                              "a 997: %(ack)s.", file=file, ack=ack)
        elif outcome == "duplicate":
            body = self.env._("%(file)s was read again: the inbox already held its documents (the same interchange "
                              "arrived again and was applied), so nothing was applied twice.", file=file)
        elif outcome == "acknowledgement":
            body = self.env._("%(file)s was read again and applied: its acknowledgements are on the files they "
                              "answer.", file=file)
        elif outcome == "test":
            body = self.env._("%(file)s was read again: it is a test interchange (ISA15 T), acknowledged and never "
                              "applied.", file=file)
        else:
            body = self.env._("%(file)s was read again and still cannot be applied: %(reason)s", file=file,
                              reason=detail)
        self.message_post(body=body)
        return outcome

    @api.model
    def _cron_flag_overdue(self):
        """Flag sent files whose acknowledgement is overdue, and tell the backend's responsible."""
        for backend in self.env["retail.backend"].search([("backend_type", "=", "wms_x12")]):
            limit = fields.Datetime.now() - timedelta(minutes=backend.x12_ack_minutes or 60)
            late = self.search([("backend_id", "=", backend.id), ("ack_state", "=", "pending"),
                                ("create_date", "<", limit)])
            if not late:
                continue
            late.ack_state = "overdue"
            user = backend.responsible_user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
            message = self.env._(
                "%(count)s file(s) sent to %(backend)s were not acknowledged within %(minutes)s minutes: %(files)s. "
                "Ask the warehouse whether they arrived; resend them from the file if not.",
                count=len(late), backend=backend.name, minutes=backend.x12_ack_minutes,
                files=", ".join(late.mapped("filename")),
            )
            if user:
                late[:1].activity_schedule("mail.mail_activity_data_warning", summary=self.env._("997 overdue"),
                                           note=message, user_id=user.id)
