# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Conflicts: a value of one record that Odoo and a channel disagree on, and who won.

Each backend's sync policies say which side owns a domain (its *system of record*), and the
backend's *Ownership* lines may give single product or customer fields to the other side. A
change from the side that does not own a value is never applied silently: reconciliations put
the owner's value back and record a conflict, Odoo edits of a channel's values are refused (or
accepted, to be overwritten at the next run) and the refusal is recorded. Conflicts that the
owner rule settled are recorded as resolved; those that need a person stay open. A person may
keep Odoo's value (sent to the channel again) or take the channel's (written into Odoo).
"""

import json
import logging

import odoo.modules.module

from odoo import api, fields, models
from odoo.exceptions import UserError

from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

OWNERS = [("odoo", "Odoo"), ("channel", "Channel")]
CONFLICT_ACTIONS = [
    ("reverted_channel", "Reverted on the channel"),
    ("applied_odoo", "Applied to Odoo"),
    ("refused_edit", "Refused Odoo edit"),
    ("waiting", "Waiting for a person"),
]
CONFLICT_STATES = [("open", "Open"), ("resolved", "Resolved")]
RESOLUTIONS = [
    ("owner", "By the owner rule"),
    ("odoo", "Odoo's value kept"),
    ("channel", "Channel's value taken"),
]
# the columns one conflict is inserted with, in this order (``_insert``)
_COLUMNS = ("backend_id", "company_id", "domain", "res_model", "res_id", "res_name", "field_name", "field_label",
            "key", "odoo_value", "channel_value", "channel_raw", "owner", "action", "state", "resolution",
            "message", "run_id", "event_id", "correlation_id")


def _text(value, size=None):
    """Return a value as the text a conflict shows (empty for None), cut to ``size`` characters."""
    text = "" if value is None or value is False else str(value)
    return text[:size] if size else text


class RetailConflict(models.Model):
    _name = "retail.conflict"
    _description = "Retail Connector conflict"
    _order = "id desc"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    domain = fields.Selection(DOMAINS, required=True, index=True, readonly=True)
    res_model = fields.Char(string="Model", required=True, readonly=True)
    res_id = fields.Many2oneReference(model_field="res_model", string="Record id", readonly=True, index=True)
    res_name = fields.Char(string="Record", readonly=True)
    field_name = fields.Char(string="Field (technical)", required=True, readonly=True)
    field_label = fields.Char(string="Field", readonly=True)
    key = fields.Char(string="Channel key", default="", readonly=True,
                      help="How the channel names the value, e.g. the SKU and location of a stock level.")
    odoo_value = fields.Char(string="Odoo's value", readonly=True)
    channel_value = fields.Char(string="Channel's value", readonly=True)
    channel_raw = fields.Text(readonly=True, help="The channel's value as Odoo writes it when it is taken (JSON).")
    owner = fields.Selection(OWNERS, required=True, readonly=True, help="The system of record of this value.")
    action = fields.Selection(CONFLICT_ACTIONS, string="What was done", required=True, readonly=True)
    state = fields.Selection(CONFLICT_STATES, default="open", required=True, index=True, readonly=True)
    resolution = fields.Selection(RESOLUTIONS, readonly=True)
    message = fields.Text(readonly=True)
    detected_at = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True, index=True)
    last_seen = fields.Datetime(default=fields.Datetime.now, readonly=True,
                                help="Last time a run found this difference while it waited for a person.")
    times = fields.Integer(default=1, readonly=True, help="How many runs found it while it waited for a person.")
    resolved_at = fields.Datetime(readonly=True)
    resolved_by = fields.Many2one("res.users", readonly=True)
    run_id = fields.Many2one("retail.reconciliation.run", string="Reconciliation", ondelete="set null",
                             index="btree_not_null", readonly=True)
    event_id = fields.Many2one("retail.event", string="Event", ondelete="set null", index="btree_not_null",
                               readonly=True)
    correlation_id = fields.Char(readonly=True, index="btree_not_null")

    # one open conflict per value: a difference found again while it waits for a person is counted on it
    _open_uniq = models.UniqueIndex(
        "(backend_id, res_model, res_id, field_name, key) WHERE state = 'open'",
        "One open conflict per backend, record and field.",
    )

    @api.depends("res_name", "field_label", "field_name")
    def _compute_display_name(self):
        for conflict in self:
            conflict.display_name = "%s: %s" % (conflict.res_name or conflict.res_model,
                                                conflict.field_label or conflict.field_name)

    # ------------------------------------------------------------------ recording
    @api.model
    def _record(self, backend, domain, record, field_name, odoo_value, channel_value, owner, action, *,
                field_label=None, key="", channel_raw=None, message=None, run=None, cr=None):
        """Insert one conflict; return its id. One statement (the reconciliations' hot path).

        A conflict waiting for a person is open, the others are settled by the owner rule: a
        difference found again while its conflict waits is counted on that conflict (the
        values updated) instead of a new row.
        """
        state = "open" if action == "waiting" else "resolved"
        ctx = self.env.context
        values = {
            "backend_id": backend.id, "company_id": backend.company_id.id, "domain": domain,
            "res_model": record._name, "res_id": record.id,
            "res_name": _text(record.display_name, 250), "field_name": field_name,
            "field_label": field_label or self._field_label(record, field_name),
            "key": _text(key, 250), "odoo_value": _text(odoo_value, 250), "channel_value": _text(channel_value, 250),
            "channel_raw": json.dumps(channel_raw) if channel_raw is not None else None,
            "owner": owner, "action": action, "state": state, "resolution": None if state == "open" else "owner",
            "message": message, "run_id": run.id if run else None,
            "event_id": ctx.get("retail_event_id") or None, "correlation_id": ctx.get("retail_correlation_id") or None,
        }
        return self._insert(cr or self.env.cr, values)

    def _insert(self, cr, values):
        cr.execute(
            """
            INSERT INTO retail_conflict AS c (%s, detected_at, last_seen, times, resolved_at,
                                             create_uid, write_uid, create_date, write_date)
            VALUES (%s, now() at time zone 'UTC', now() at time zone 'UTC', 1,
                    CASE WHEN %%(state)s = 'resolved' THEN now() at time zone 'UTC' END,
                    %%(uid)s, %%(uid)s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (backend_id, res_model, res_id, field_name, key) WHERE state = 'open'
            DO UPDATE SET odoo_value = EXCLUDED.odoo_value, channel_value = EXCLUDED.channel_value,
                          channel_raw = EXCLUDED.channel_raw, message = EXCLUDED.message,
                          run_id = COALESCE(EXCLUDED.run_id, c.run_id), last_seen = EXCLUDED.last_seen,
                          times = c.times + 1, write_date = EXCLUDED.write_date
            RETURNING id
            """ % (", ".join(_COLUMNS), ", ".join("%%(%s)s" % column for column in _COLUMNS)),
            dict(values, uid=self.env.uid),
        )
        if cr is self.env.cr:
            self.invalidate_model()
        return cr.fetchone()[0]

    @api.model
    def _record_refusals(self, refusals):
        """Record refused Odoo edits in a transaction of their own, so that they outlive the refusal.

        ``refusals`` is a list of ``_record`` argument tuples. A refusal is an error of the
        current transaction, which is rolled back: only a record committed apart survives it.
        Under test, the test's transaction is the only one that sees its records.
        """
        if not refusals:
            return
        if odoo.modules.module.current_test:
            for args, kwargs in refusals:
                self._record(*args, **kwargs)
            return
        try:
            with self.env.registry.cursor() as cr:
                for args, kwargs in refusals:
                    self._record(*args, cr=cr, **kwargs)
        except Exception:  # noqa: BLE001 - the refusal itself must reach the user whatever happens here
            _logger.exception("Could not record %d refused edits", len(refusals))

    @api.model
    def _field_label(self, record, field_name):
        field = record._fields.get(field_name)
        return field.get_description(self.env)["string"] if field else field_name

    # ------------------------------------------------------------------ resolution by a person
    def action_keep_odoo_value(self):
        """Keep Odoo's value: send it to the channel again where the channel receives it; resolve."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for conflict in self:
            conflict._check_decidable()
            record = conflict._record_or_error()
            backend = conflict.backend_id
            if conflict.domain in ("pricing", "catalog", "inventory") and backend._can_export(conflict.domain):
                self.env["retail.export.request"].with_context(retail_keep_odoo_value=True)._request(
                    backend, conflict.domain, record)
                note = self.env._("Odoo's value is sent to %(backend)s again.", backend=backend.name)
            else:
                note = self.env._("Odoo's value is kept; %(backend)s receives no %(domain)s from Odoo, change it there.",
                                  backend=backend.name, domain=dict(DOMAINS)[conflict.domain].lower())
            conflict._resolve("odoo", note)
        return True

    def action_take_channel_value(self):
        """Take the channel's value: write it into Odoo (and to the channel again if it was reverted); resolve."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for conflict in self:
            conflict._check_decidable()
            record = conflict._record_or_error()
            if not conflict.channel_raw:
                raise UserError(self.env._(
                    "%(field)s of %(record)s cannot be taken from %(backend)s: Odoo does not write it from a "
                    "channel's figure. Change it in Odoo (e.g. an inventory adjustment), then keep Odoo's value.",
                    field=conflict.field_label, record=conflict.res_name, backend=conflict.backend_id.name))
            conflict._apply_channel_value(record, json.loads(conflict.channel_raw))
            conflict._resolve("channel", self.env._("The channel's value %(value)s is now Odoo's.",
                                                    value=conflict.channel_value))
        return True

    def action_open_record(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "view_mode": "form", "target": "current"}

    def _check_decidable(self):
        if self.state == "resolved" and self.resolution != "owner":
            raise UserError(self.env._(
                "The conflict on %(field)s of %(record)s was already decided by %(user)s on %(date)s.",
                field=self.field_label, record=self.res_name, user=self.resolved_by.name, date=self.resolved_at))
        if self.action == "refused_edit":
            raise UserError(self.env._(
                "The edit of %(field)s of %(record)s was refused and never applied: there is nothing to decide.",
                field=self.field_label, record=self.res_name))

    def _record_or_error(self):
        record = self.env[self.res_model].browse(self.res_id).exists() if self.res_model in self.env else None
        if not record:
            raise UserError(self.env._("%(record)s (%(model)s #%(id)s) no longer exists: nothing to apply.",
                                       record=self.res_name, model=self.res_model, id=self.res_id))
        return record

    def _apply_channel_value(self, record, raw):
        """Write the channel's value into Odoo as a person's decision, whoever owns the field."""
        backend = self.backend_id
        # a person's decision on this conflict: not refused by the owner rule, and heard by every channel
        # (the one that had it reverted gets it back)
        record = record.with_context(retail_conflict_resolution=True)
        if self.field_name == "list_price" and record._name == "product.product":
            if not backend._apply_channel_price(record, raw["price"], raw["currency"]):
                raise UserError(self.env._(
                    "The price of %(record)s on %(backend)s is in %(currency)s, not in the currency of its Odoo "
                    "prices: set it in Odoo by hand.", record=self.res_name, backend=backend.name,
                    currency=raw["currency"]))
            return
        record.write({self.field_name: raw["value"]})

    def _resolve(self, resolution, note):
        self.write({"state": "resolved", "resolution": resolution, "resolved_at": fields.Datetime.now(),
                    "resolved_by": self.env.uid,
                    "message": "\n".join(m for m in (self.message, note) if m)})
        self.env["retail.audit.log"]._log(self, "write", {self.id: note},
                                          summary=self.env._("Conflict resolved: %(name)s", name=self.display_name))
