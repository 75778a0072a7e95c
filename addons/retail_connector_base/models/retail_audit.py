# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Who changed the connector's configuration, when, and what; who replayed what.

Configuration models inherit ``retail.audited``: their creations, changes (old and new value
per field) and deletions are written to ``retail.audit.log``; secrets are logged as changed,
never with their value; fields the pipeline itself keeps up to date (checkpoints, failure
counters) are left out. Replays, requeues and ignores of events are logged by their actions.
The log is read by the Auditor group and cannot be edited from the interface.
"""

from odoo import api, fields, models

SECRET_FIELDS = {"api_key", "api_secret", "webhook_secret", "webhook_secret_previous", "key_hash", "token",
                 "legacy_relay_secret", "legacy_outcomes_token"}


class RetailAuditLog(models.Model):
    _name = "retail.audit.log"
    _description = "Retail Connector audit log"
    _order = "id desc"
    _rec_name = "summary"

    user_id = fields.Many2one("res.users", required=True, default=lambda self: self.env.user, readonly=True)
    identity = fields.Selection(
        [("service", "Connector service"), ("person", "Person"), ("system", "System")],
        readonly=True, index=True,
        help="Connector service: the connector user of a company (gateway, queue jobs). System: the superuser "
        "(scheduled actions, installation). Person: anyone else.",
    )
    backend_id = fields.Many2one("retail.backend", ondelete="set null", index=True, readonly=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    action = fields.Selection(
        [("create", "Created"), ("write", "Changed"), ("unlink", "Deleted"), ("replay", "Replayed"),
         ("ignore", "Ignored"), ("requeue", "Requeued")],
        required=True, readonly=True,
    )
    res_model = fields.Char(string="Model", required=True, readonly=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", readonly=True)
    record_name = fields.Char(readonly=True)
    summary = fields.Char(readonly=True)
    changes = fields.Text(readonly=True, help="One line per field: old value, new value.")

    @api.model
    def _log(self, records, action, changes=None, summary=None):
        """Record one line per record; ``changes`` maps record id -> text."""
        Log = self.sudo()
        identity = self._identity_of(self.env.user)
        for record in records:
            backend = record if record._name == "retail.backend" else getattr(record, "backend_id", False)
            Log.create({
                "user_id": self.env.uid, "identity": identity, "backend_id": backend.id if backend else False,
                "company_id": (backend.company_id.id if backend else False) or self.env.company.id,
                "action": action, "res_model": record._name, "res_id": record.id,
                "record_name": record.display_name,
                "summary": summary or "%s %s" % (dict(self._fields["action"].selection)[action],
                                                 record._description),
                "changes": (changes or {}).get(record.id) or False,
            })

    @api.model
    def _identity_of(self, user):
        """Return the kind of identity ``user`` is: the connector's service, the system or a person."""
        if user._is_superuser():
            return "system"
        if user.sudo().has_group("retail_connector_base.group_retail_service"):
            return "service"
        return "person"


class RetailAudited(models.AbstractModel):
    """Configuration records whose changes are audited."""

    _name = "retail.audited"
    _description = "Retail Connector audited configuration"
    # fields the pipeline keeps up to date itself, not configuration
    _audit_exclude = frozenset()

    def _audited_fields(self, names):
        excluded = set(self._audit_exclude) | set(models.MAGIC_COLUMNS) | {"display_name"}
        return [n for n in names if n in self._fields and n not in excluded and self._fields[n].store
                and self._fields[n].type not in ("one2many",)]

    def _audit_value(self, name, value):
        if name in SECRET_FIELDS:
            return "***" if value else "(empty)"
        field = self._fields[name]
        if field.type in ("many2one",):
            return value.display_name if value else "(empty)"
        if field.type == "many2many":
            return ", ".join(value.mapped("display_name")) or "(empty)"
        if field.type == "reference":
            return value.display_name if value else "(empty)"
        return "(empty)" if value in (False, None, "") else str(value)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if not self.env.context.get("retail_no_audit"):
            self.env["retail.audit.log"]._log(records, "create")
        return records

    def write(self, vals):
        if self.env.context.get("retail_no_audit"):
            return super().write(vals)
        names = self._audited_fields(list(vals))
        if not names:
            return super().write(vals)
        before = {r.id: {n: self._audit_value(n, r.sudo()[n]) for n in names} for r in self}
        result = super().write(vals)
        changes = {}
        for record in self:
            lines = []
            for name in names:
                new = record._audit_value(name, record.sudo()[name])
                if new != before[record.id][name] or (name in SECRET_FIELDS and vals.get(name)):
                    label = record._fields[name].string
                    lines.append("%s: %s → %s" % (label, before[record.id][name], new)
                                 if name not in SECRET_FIELDS else "%s: changed" % label)
            if lines:
                changes[record.id] = "\n".join(lines)
        changed = self.filtered(lambda r: r.id in changes)
        if changed:
            self.env["retail.audit.log"]._log(changed, "write", changes)
        return result

    def unlink(self):
        if not self.env.context.get("retail_no_audit"):
            self.env["retail.audit.log"]._log(self, "unlink")
        return super().unlink()
