# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Shadow comparison: what Odoo would have done with an event, against what the legacy platform did.

In the shadow phase each event of the domain is applied by its channel's processor inside a
savepoint that is rolled back at once: the order it would create (customer, lines, taxes,
totals) is read, then every record it made is gone (only sequence numbers stay consumed). The
legacy platform's outcomes come from its export (a CSV or JSON file, or its outcomes URL);
each shadowed event is then agreed or different, with the cause of the first difference.
"""

import base64
import csv
import io
import json
import logging

import requests

from odoo import api, fields, models
from odoo.exceptions import UserError

from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

CAUSES = [
    ("customer", "Customer"),
    ("lines", "Lines"),
    ("taxes", "Taxes"),
    ("totals", "Totals"),
    ("currency", "Currency"),
    ("unmapped", "Unmapped product or value"),
    ("odoo_error", "Odoo could not apply it"),
    ("not_comparable", "Nothing to compare"),
]
VERDICTS = [("waiting", "Waiting for the legacy outcome"), ("agree", "Agree"), ("differ", "Differ"),
            ("pending", "Not computed yet")]
MONEY_TOLERANCE = 0.005


def _money(value):
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None


def order_summary(order):
    """Return the comparable outcome of a sale order: customer, currency, product lines, taxes and totals."""
    lines = {}
    for line in order.order_line:
        product = line.product_id
        if line.display_type or not product or product.type == "service":
            continue  # shipping and notes: in the totals
        key = product.default_code or "id:%d" % product.id
        lines[key] = round(lines.get(key, 0.0) + line.product_uom_qty, 3)
    return {
        "customer_email": (order.partner_id.email or "").strip().lower() or None,
        "customer": order.partner_id.name,
        "currency": order.currency_id.name,
        "lines": lines,
        "amount_untaxed": _money(order.amount_untaxed),
        "amount_tax": _money(order.amount_tax),
        "amount_total": _money(order.amount_total),
    }


def normalise_legacy(item):
    """Return a legacy outcome (JSON object) in the shape of ``order_summary``."""
    lines = item.get("lines") or {}
    if isinstance(lines, list):
        merged = {}
        for line in lines:
            sku = str(line.get("sku") or "")
            merged[sku] = round(merged.get(sku, 0.0) + float(line.get("quantity") or 0), 3)
        lines = merged
    customer = item.get("customer_email")
    if not customer and isinstance(item.get("customer"), dict):
        customer = item["customer"].get("email")
    return {
        "order_id": str(item.get("order_id") or item.get("external_id") or ""),
        "customer_email": (customer or "").strip().lower() or None,
        "currency": item.get("currency"),
        "lines": {str(k): float(v) for k, v in lines.items()},
        "amount_untaxed": _money(item.get("amount_untaxed")),
        "amount_tax": _money(item.get("amount_tax")),
        "amount_total": _money(item.get("amount_total", item.get("total"))),
    }


def compare(odoo, legacy):
    """Return [(cause, text)] for every difference between Odoo's and the legacy platform's outcome.

    A value the legacy export does not carry (None) is not compared.
    """
    differences = []
    if legacy.get("customer_email") and legacy["customer_email"] != odoo.get("customer_email"):
        differences.append(("customer", "customer %s in Odoo, %s on the legacy platform"
                            % (odoo.get("customer_email"), legacy["customer_email"])))
    if legacy.get("currency") and legacy["currency"] != odoo.get("currency"):
        differences.append(("currency", "currency %s in Odoo, %s on the legacy platform"
                            % (odoo.get("currency"), legacy["currency"])))
    if legacy.get("lines") and legacy["lines"] != odoo.get("lines"):
        differences.append(("lines", "lines %s in Odoo, %s on the legacy platform"
                            % (json.dumps(odoo.get("lines"), sort_keys=True), json.dumps(legacy["lines"], sort_keys=True))))
    if legacy.get("amount_tax") is not None and abs(legacy["amount_tax"] - (odoo.get("amount_tax") or 0)) > MONEY_TOLERANCE:
        differences.append(("taxes", "taxes %s in Odoo, %s on the legacy platform"
                            % (odoo.get("amount_tax"), legacy["amount_tax"])))
    for key in ("amount_untaxed", "amount_total"):
        if legacy.get(key) is not None and abs(legacy[key] - (odoo.get(key) or 0)) > MONEY_TOLERANCE:
            differences.append(("totals", "%s %s in Odoo, %s on the legacy platform"
                                % (key.replace("_", " "), odoo.get(key), legacy[key])))
    return differences


class RetailShadowOutcome(models.Model):
    _name = "retail.shadow.outcome"
    _description = "Retail Connector shadow comparison of one event"
    _order = "id desc"
    _rec_name = "order_ref"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    domain = fields.Selection(DOMAINS, readonly=True, index=True)
    event_id = fields.Many2one("retail.event", required=True, ondelete="cascade", readonly=True)
    topic = fields.Char(related="event_id.topic")
    order_ref = fields.Char(string="Channel id", readonly=True, index=True,
                            help="The channel's id of the order (the event's aggregate).")
    verdict = fields.Selection(VERDICTS, default="pending", required=True, readonly=True, index=True)
    cause = fields.Selection(CAUSES, readonly=True, help="The first difference found.")
    differences = fields.Text(readonly=True)
    odoo_result = fields.Text(string="What Odoo would do", readonly=True)
    legacy_result = fields.Text(string="What the legacy platform did", readonly=True)
    computed_at = fields.Datetime(readonly=True)

    _event_uniq = models.Constraint("UNIQUE(event_id)", "An event is shadowed once.")

    @api.model
    def _store(self, backend, event_id, domain):
        self.env.cr.execute(
            """
            INSERT INTO retail_shadow_outcome (backend_id, company_id, domain, event_id, verdict,
                                               create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, 'pending', %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (event_id) DO NOTHING
            """,
            (backend.id, backend.company_id.id, domain, event_id, self.env.uid, self.env.uid),
        )

    @api.model
    def _wake(self, backend_id):
        self.sudo().with_delay(channel="root.retail.relay",
                               description="Shadow events of backend %s" % backend_id)._compute_pending(backend_id)

    @api.model
    def _compute_pending(self, backend_id):
        """Work out what Odoo would do with each shadowed event not computed yet; return a summary."""
        outcomes = self.sudo().search([("backend_id", "=", backend_id), ("verdict", "=", "pending")], order="id")
        for outcome in outcomes:
            outcome._compute_one()
        return "%d shadowed" % len(outcomes)

    def _compute_one(self):
        """Apply the event in a savepoint rolled back at once; keep what the order would have been."""
        self.ensure_one()
        event = self.event_id.with_context(retail_order_batch=False)
        backend = event.backend_id
        if not event.aggregate_key:
            event._read_payloads()
        summary, error, kind = None, None, None
        cr = self.env.cr
        savepoint = cr.savepoint()
        try:
            with backend.with_context(retail_origin_backend=backend.id, retail_shadow=True,
                                      retail_event_id=event.id).work_on("retail.event") as work:
                processor = work.component(usage="event.processor")
                _outcome, record = processor.process(event, event._payload_data())
            if record and record._name.endswith(".binding") and "odoo_id" in record._fields:
                record = record.odoo_id
            if record and record._name == "sale.order":
                record.flush_recordset()
                summary = order_summary(record)
            else:
                summary = {"record": record.display_name if record else None, "model": record._name if record else None}
        except Exception as exc:  # noqa: BLE001 - any failure is the shadow's finding
            kind = getattr(exc, "kind", None) or type(exc).__name__
            error = str(exc) or kind
        finally:
            savepoint.close(rollback=True)  # nothing the event made stays: the cache is cleared with it
        vals = {"computed_at": fields.Datetime.now(), "order_ref": event.aggregate_key}
        if error:
            unmapped = kind in ("mapping", "unknown_product") or "RetailMappingError" in str(kind)
            vals.update(verdict="differ", cause="unmapped" if unmapped else "odoo_error", differences=error,
                        odoo_result=False)
        else:
            summary["order_id"] = event.aggregate_key
            vals.update(odoo_result=json.dumps(summary, sort_keys=True, indent=1), verdict="waiting")
        self.write(vals)
        if not error and self.legacy_result:
            self._compare()

    def _compare(self):
        for outcome in self:
            if not outcome.odoo_result or not outcome.legacy_result:
                continue
            odoo, legacy = json.loads(outcome.odoo_result), json.loads(outcome.legacy_result)
            differences = compare(odoo, legacy)
            outcome.write({
                "verdict": "differ" if differences else "agree",
                "cause": differences[0][0] if differences else False,
                "differences": "\n".join(text for _cause, text in differences) or False,
            })

    @api.model
    def _agreement(self, backend, domain):
        """Return (agreement in %, events compared) of a backend's shadowed domain."""
        groups = dict(self.sudo()._read_group(
            [("backend_id", "=", backend.id), ("domain", "=", domain), ("verdict", "in", ("agree", "differ"))],
            ["verdict"], ["__count"]))
        compared = groups.get("agree", 0) + groups.get("differ", 0)
        return (100.0 * groups.get("agree", 0) / compared if compared else 0.0), compared

    @api.model
    def _load_legacy(self, backend, items):
        """Attach the legacy platform's outcomes (normalised dicts) to the shadowed events; return how many matched."""
        by_ref = {item["order_id"]: item for item in items if item.get("order_id")}
        outcomes = self.sudo().search([("backend_id", "=", backend.id), ("order_ref", "in", list(by_ref))])
        for outcome in outcomes:
            outcome.legacy_result = json.dumps(by_ref[outcome.order_ref], sort_keys=True, indent=1)
        outcomes.filtered(lambda o: o.odoo_result)._compare()
        return len(outcomes)

    def action_open_event(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "retail.event", "res_id": self.event_id.id,
                "view_mode": "form"}


class RetailShadowLegacyImport(models.TransientModel):
    """Reads the legacy platform's outcomes export (CSV or JSON, or its URL) and compares the shadowed events.

    JSON: a list of objects ``{"order_id", "customer_email", "currency", "lines": [{"sku", "quantity"}],
    "amount_untaxed", "amount_tax", "amount_total"}``. CSV: one row per line with the columns
    ``order_id, customer_email, currency, sku, quantity, amount_untaxed, amount_tax, amount_total``
    (the order's values repeated on each of its rows). A value left out is not compared.
    """

    _name = "retail.shadow.legacy.import"
    _description = "Import the legacy platform's outcomes"

    backend_id = fields.Many2one("retail.backend", required=True)
    source = fields.Selection([("file", "File (CSV or JSON)"), ("url", "The backend's legacy outcomes URL")],
                              default="file", required=True)
    data_file = fields.Binary(string="File")
    filename = fields.Char()
    matched = fields.Integer(readonly=True)
    read_count = fields.Integer(string="Outcomes read", readonly=True)

    @api.model
    def _parse(self, text, filename=""):
        text = text.lstrip("\ufeff")
        if text.lstrip().startswith(("[", "{")):
            data = json.loads(text)
            items = data.get("outcomes", data.get("orders", [])) if isinstance(data, dict) else data
            return [normalise_legacy(item) for item in items]
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t") if text.strip() else csv.excel
        orders = {}
        for row in csv.DictReader(io.StringIO(text), dialect=dialect):
            ref = (row.get("order_id") or "").strip()
            if not ref:
                continue
            order = orders.setdefault(ref, {"order_id": ref, "customer_email": row.get("customer_email"),
                                            "currency": row.get("currency") or None, "lines": [],
                                            "amount_untaxed": row.get("amount_untaxed") or None,
                                            "amount_tax": row.get("amount_tax") or None,
                                            "amount_total": row.get("amount_total") or None})
            if row.get("sku"):
                order["lines"].append({"sku": row["sku"].strip(), "quantity": row.get("quantity") or 0})
        return [normalise_legacy(order) for order in orders.values()]

    def action_import(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if self.source == "url":
            url = self.backend_id.legacy_outcomes_url
            if not url:
                raise UserError(self.env._("Backend %(name)s has no legacy outcomes URL.", name=self.backend_id.name))
            self.backend_id._check_channel_calls_allowed()
            try:
                token = self.backend_id.sudo().legacy_outcomes_token
                resp = requests.get(url, timeout=self.backend_id.timeout or 30,
                                    headers={"Authorization": "Bearer %s" % token} if token else {})
                resp.raise_for_status()
            except requests.RequestException as exc:
                raise UserError(self.env._("The legacy outcomes could not be read: %(error)s", error=exc)) from None
            text = resp.text
        else:
            if not self.data_file:
                raise UserError(self.env._("Choose the legacy platform's export file."))
            text = base64.b64decode(self.data_file).decode("utf-8-sig")
        try:
            items = self._parse(text, self.filename or "")
        except (ValueError, csv.Error, AttributeError) as exc:
            raise UserError(self.env._("The legacy outcomes could not be read: %(error)s", error=exc)) from None
        self.write({"read_count": len(items),
                    "matched": self.env["retail.shadow.outcome"]._load_legacy(self.backend_id, items)})
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_shadow_outcome")
        action["domain"] = [("backend_id", "=", self.backend_id.id)]
        return action
