# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
import csv
import io

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.retail_access import GROUP_MANAGER, check_retail_access
from ..models.retail_progress import WorkCancelled

IMPORT_CHUNK = 500

# binding model -> (label, Odoo fields an existing record may be matched on)
LEGACY_TARGETS = {
    "retail.partner.binding": ("Customers", ["email", "ref", "id"]),
    "retail.product.binding": ("Products", ["default_code", "barcode", "id"]),
    "retail.sale.order.binding": ("Sale orders", ["client_order_ref", "name", "id"]),
    "retail.picking.binding": ("Transfers", ["name", "origin", "id"]),
    "retail.warehouse.binding": ("Warehouses", ["code", "name", "id"]),
}


class RetailLegacyIdImport(models.TransientModel):
    """Binds existing Odoo records to the identifiers an estate already uses, from a CSV file.

    The file has two columns, ``external_id`` and ``odoo_key``: the channel's id and the value
    of the chosen Odoo field (e.g. a product's internal reference). A dry run shows what would
    happen; applying creates the bindings, so the first synchronisation finds them instead of
    creating duplicates.
    """

    _name = "retail.legacy.id.import"
    _description = "Import legacy identifiers"

    backend_id = fields.Many2one("retail.backend", required=True)
    binding_model = fields.Selection(
        [(model, label) for model, (label, _keys) in LEGACY_TARGETS.items()],
        string="Records",
        required=True,
        default="retail.product.binding",
    )
    match_field = fields.Selection(
        [
            ("email", "E-mail"),
            ("ref", "Reference"),
            ("default_code", "Internal reference (SKU)"),
            ("barcode", "Barcode"),
            ("client_order_ref", "Customer reference"),
            ("name", "Name"),
            ("origin", "Source document"),
            ("code", "Short name"),
            ("id", "Database ID"),
        ],
        string="Match on",
        required=True,
        default="default_code",
    )
    csv_file = fields.Binary(string="CSV file", required=True)
    csv_filename = fields.Char()
    state = fields.Selection([("draft", "Draft"), ("checked", "Dry run done"), ("done", "Applied")], default="draft")
    line_ids = fields.One2many("retail.legacy.id.import.line", "wizard_id", readonly=True)
    count_bind = fields.Integer(compute="_compute_counts")
    count_skip = fields.Integer(compute="_compute_counts")
    count_error = fields.Integer(compute="_compute_counts")

    @api.depends("line_ids.action")
    def _compute_counts(self):
        for wizard in self:
            actions = wizard.line_ids.mapped("action")
            wizard.count_bind = actions.count("bind")
            wizard.count_skip = actions.count("already")
            wizard.count_error = len(actions) - wizard.count_bind - wizard.count_skip

    @api.onchange("binding_model")
    def _onchange_binding_model(self):
        keys = LEGACY_TARGETS[self.binding_model][1] if self.binding_model else []
        if self.match_field not in keys:
            self.match_field = keys[0] if keys else False

    def _read_rows(self):
        """Return the (line number, external id, key) rows of the CSV file."""
        self.ensure_one()
        try:
            text = base64.b64decode(self.csv_file).decode("utf-8-sig")
        except (ValueError, UnicodeDecodeError) as exc:
            raise UserError(self.env._("The file is not UTF-8 text: %(error)s", error=exc)) from None
        dialect = csv.excel
        try:
            dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
        except csv.Error:
            pass
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        missing = {"external_id", "odoo_key"} - set(reader.fieldnames or [])
        if missing:
            raise UserError(
                self.env._(
                    "The CSV file needs the columns external_id and odoo_key; missing: %(missing)s (found: %(found)s).",
                    missing=", ".join(sorted(missing)),
                    found=", ".join(reader.fieldnames or []) or "none",
                )
            )
        return [
            (lineno, (row.get("external_id") or "").strip(), (row.get("odoo_key") or "").strip())
            for lineno, row in enumerate(reader, start=2)
        ]

    def _plan(self):
        """Return one line value dict per CSV row, saying what applying it would do."""
        self.ensure_one()
        if self.match_field not in LEGACY_TARGETS[self.binding_model][1]:
            raise UserError(
                self.env._(
                    "%(records)s cannot be matched on %(field)s.",
                    records=LEGACY_TARGETS[self.binding_model][0],
                    field=self.match_field,
                )
            )
        Binding = self.env[self.binding_model].with_context(active_test=False)
        Target = self.env[Binding._fields["odoo_id"].comodel_name].with_context(active_test=False)
        seen_ext, seen_rec, plan = set(), set(), []
        for lineno, external_id, key in self._read_rows():
            line = {"line": lineno, "external_id": external_id, "odoo_key": key}
            if not external_id or not key:
                plan.append(dict(line, action="error", message="external_id and odoo_key are both required"))
                continue
            if external_id in seen_ext:
                plan.append(dict(line, action="error", message="external_id %s appears twice in the file" % external_id))
                continue
            seen_ext.add(external_id)
            records = self._match(Target, key)
            if len(records) != 1:
                reason = "no record" if not records else "%d records" % len(records)
                plan.append(dict(line, action="error", message="%s match %s = %s" % (reason, self.match_field, key)))
                continue
            line["res_id"] = records.id
            if records.id in seen_rec:
                plan.append(dict(line, action="error", message="%s is given two external ids in the file" % records.display_name))
                continue
            seen_rec.add(records.id)
            by_ext = Binding.search([("backend_id", "=", self.backend_id.id), ("external_id", "=", external_id)])
            by_rec = Binding.search([("backend_id", "=", self.backend_id.id), ("odoo_id", "=", records.id)])
            if by_ext and by_ext == by_rec:
                plan.append(dict(line, action="already", message="already bound"))
            elif by_ext:
                plan.append(dict(line, action="error", message="external id already bound to %s" % by_ext.odoo_id.display_name))
            elif by_rec:
                plan.append(dict(line, action="error", message="%s already bound to external id %s" % (records.display_name, by_rec.external_id)))
            else:
                plan.append(dict(line, action="bind", message="will bind %s" % records.display_name))
        return plan

    def _match(self, Target, key):
        if self.match_field == "id":
            return Target.browse(int(key)).exists() if key.isdigit() else Target.browse()
        operator = "=ilike" if self.match_field == "email" else "="
        return Target.search([(self.match_field, operator, key)], limit=2)

    def action_dry_run(self):
        """Fill the report of what applying the file would do, without binding anything."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        self.line_ids.unlink()
        self.write({"line_ids": [(0, 0, vals) for vals in self._plan()], "state": "checked"})
        return self._reopen()

    def action_apply(self):
        """Create the bindings the dry run announced (recomputed now) and return the report."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        plan = self._plan()
        Binding = self.env[self.binding_model].with_context(connector_no_export=True)
        to_create = [
            {"backend_id": self.backend_id.id, "external_id": line["external_id"], "odoo_id": line["res_id"],
             "sync_state": "synced", "legacy": True}
            for line in plan
            if line["action"] == "bind"
        ]
        Progress = self.env["retail.progress"]
        progress_id = Progress._start(
            self.env._("Import of legacy identifiers for %(backend)s", backend=self.backend_id.name), "import",
            backend=self.backend_id, total=len(to_create))
        try:
            for start in range(0, len(to_create), IMPORT_CHUNK):
                Binding.create(to_create[start:start + IMPORT_CHUNK])
                Progress._step(progress_id, min(start + IMPORT_CHUNK, len(to_create)), len(to_create))
        except WorkCancelled:
            Progress._end(progress_id, "cancelled", self.env._("Cancelled: no identifier was imported."))
            # the whole import is undone with the request's transaction
            raise UserError(self.env._("The import was cancelled: no identifier was imported.")) from None
        except Exception as exc:
            Progress._end(progress_id, "failed", str(exc)[:200])
            raise
        Progress._end(progress_id, "done", done=len(to_create))
        for line in plan:
            if line["action"] == "bind":
                line["message"] = line["message"].replace("will bind", "bound")
        self.line_ids.unlink()
        self.write({"line_ids": [(0, 0, vals) for vals in plan], "state": "done"})
        return self._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class RetailLegacyIdImportLine(models.TransientModel):
    """One CSV row of a legacy identifier import and what happens to it."""

    _name = "retail.legacy.id.import.line"
    _description = "Legacy identifier import line"
    _order = "line"

    wizard_id = fields.Many2one("retail.legacy.id.import", required=True, ondelete="cascade")
    line = fields.Integer(string="CSV line")
    external_id = fields.Char()
    odoo_key = fields.Char(string="Odoo key")
    res_id = fields.Integer(string="Record ID")
    action = fields.Selection([("bind", "Bind"), ("already", "Already bound"), ("error", "Error")])
    message = fields.Char()
