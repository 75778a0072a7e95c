# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Suggest mappings: channel products and values that match nothing, with ranked Odoo candidates.

What matches nothing comes from the backend's failed events (the unknown SKU, the unmapped
payment gateway, shipping method or tax they name) and from its latest reconciliations (channel
SKUs missing in Odoo). Each gets up to three scored suggestions with their reasons; accepting
them binds the channel SKU to the product or adds the value mapping, then replays the events
that failed for it.
"""

from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib.intelligence.matching import Candidate, Item, ProductMatcher, ValueMatcher, rate_in
from ..models.retail_access import GROUP_MANAGER, check_retail_access

ITEM_KINDS = [
    ("product", "Product"),
    ("payment_gateway", "Payment gateway"),
    ("shipping", "Shipping method"),
    ("carrier", "Carrier"),
    ("tax", "Tax"),
]
# item kind -> Odoo model its suggestions come from
TARGET_MODELS = {
    "product": "product.product",
    "payment_gateway": "account.journal",
    "shipping": "product.product",
    "carrier": "delivery.carrier",
    "tax": "account.tax",
}
RECONCILED_DOMAINS = ("inventory", "pricing", "catalog")


class RetailMappingSuggestion(models.TransientModel):
    """Ranked Odoo suggestions for a backend's unmatched channel products and values, accepted in bulk."""

    _name = "retail.mapping.suggestion"
    _description = "Suggest mappings"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade")
    line_ids = fields.One2many("retail.mapping.suggestion.line", "wizard_id", string="Suggestions")
    unmatched_count = fields.Integer(string="Unmatched channel items", readonly=True)
    min_score = fields.Float(
        string="Preselect from score", default=0.75, help="The best suggestion of an item is ticked when it scores at least this."
    )
    replay = fields.Boolean(string="Replay the failed events", default=True,
                            help="Apply again the failed events of the accepted items once they are mapped.")

    # ------------------------------------------------------------------ collect
    def _unmatched_items(self):
        """Return {(kind, key): item dict} of what matches nothing: from failed events, then reconciliations."""
        self.ensure_one()
        backend = self.backend_id
        items = {}
        events = self.env["retail.event"].search(
            [("backend_id", "=", backend.id), ("state", "in", ("failed", "dead")), ("failure_subject", "!=", False)]
        )
        for event in events:
            subject = event._failure_subject()
            kind = subject.get("type")
            if kind == "product":
                code = subject.get("sku") or subject.get("barcode")
                if not code:
                    continue
                item = items.setdefault(("product", code), {
                    "kind": "product", "value": code, "sku": subject.get("sku") or "",
                    "barcode": subject.get("barcode") or "", "name": subject.get("name") or "",
                    "rate": None, "events": self.env["retail.event"], "sources": set()})
            elif kind in TARGET_MODELS and subject.get("value"):
                value = str(subject["value"])
                rate = subject.get("rate")
                item = items.setdefault((kind, value.lower()), {
                    "kind": kind, "value": value, "sku": "", "barcode": "", "name": value,
                    "rate": rate if rate is not None else rate_in(value), "events": self.env["retail.event"],
                    "sources": set()})
            else:
                continue
            item["events"] |= event
            item["sources"].add("events")
        Run = self.env["retail.reconciliation.run"]
        for domain in RECONCILED_DOMAINS:
            run = Run.search([("backend_id", "=", backend.id), ("domain", "=", domain), ("state", "=", "done")], limit=1)
            for line in run.line_ids.filtered(lambda line: line.kind == "missing_in_odoo" and line.key):
                item = items.setdefault(("product", line.key), {
                    "kind": "product", "value": line.key, "sku": line.key, "barcode": "", "name": "", "rate": None,
                    "events": self.env["retail.event"], "sources": set()})
                item["sources"].add("%s reconciliation" % domain)
        return {key: item for key, item in items.items() if not self._resolved(item)}

    def _resolved(self, item):
        """Return whether an item maps to something already (it was fixed since it failed)."""
        backend = self.backend_id
        if item["kind"] == "product":
            codes = [c for c in (item["sku"], item["barcode"]) if c]
            if self.env["retail.product.binding"].search_count(
                [("backend_id", "=", backend.id), ("channel_sku", "in", codes)], limit=1
            ):
                return True
            company = [("company_id", "in", [False, backend.company_id.id])]
            Product = self.env["product.product"]
            return bool(
                (item["sku"] and Product.search_count(company + [("default_code", "=", item["sku"])], limit=1))
                or (item["barcode"] and Product.search_count(company + [("barcode", "=", item["barcode"])], limit=1))
            )
        return bool(backend._mapped(item["kind"], item["value"], TARGET_MODELS[item["kind"]]))

    def _candidates(self, kind):
        """Return (records, Candidates) an item of ``kind`` may map to, in the backend's company."""
        model = TARGET_MODELS[kind]
        if model not in self.env:
            return self.env["product.product"].browse(), []
        company = self.backend_id.company_id
        if kind == "product":
            records = self.env[model].search([("company_id", "in", [False, company.id]), ("sale_ok", "=", True),
                                              ("type", "!=", "service")])
            return records, [Candidate(r.id, r.name, sku=r.default_code or "", barcode=r.barcode or "") for r in records]
        if kind == "shipping":
            records = self.env[model].search([("company_id", "in", [False, company.id]), ("type", "=", "service")])
        elif kind == "payment_gateway":
            records = self.env[model].search([("company_id", "=", company.id), ("type", "in", ("bank", "cash"))])
        elif kind == "tax":
            records = self.env[model].search([("company_id", "=", company.id), ("type_tax_use", "=", "sale")])
            return records, [
                Candidate(r.id, r.name, rate=r.amount if r.amount_type == "percent" else None) for r in records
            ]
        else:
            records = self.env[model].search([("company_id", "in", [False, company.id])])
        return records, [Candidate(r.id, r.name) for r in records]

    def _fill(self):
        """Compute the suggestions of every unmatched item into the wizard's lines."""
        self.ensure_one()
        items = self._unmatched_items()
        by_kind = defaultdict(list)
        for item in items.values():
            by_kind[item["kind"]].append(item)
        commands = []
        for kind, kind_items in by_kind.items():
            records, candidates = self._candidates(kind)
            matcher = (ProductMatcher if kind == "product" else ValueMatcher)(candidates)
            model = TARGET_MODELS[kind]
            for item in sorted(kind_items, key=lambda i: (-len(i["events"]), i["value"])):
                query = Item(sku=item["sku"], barcode=item["barcode"], name=item["name"], rate=item["rate"])
                suggestions = matcher.suggest(query, limit=3) if candidates else []
                common = {
                    "item_key": "%s:%s" % (kind, item["value"]),
                    "kind": kind,
                    "channel_value": item["value"],
                    "channel_name": item["name"] if item["name"] != item["value"] else False,
                    "channel_barcode": item["barcode"] or False,
                    "source": ", ".join(sorted(
                        ["%d failed events" % len(item["events"]) if s == "events" else s for s in item["sources"]]
                    )),
                    "event_ids": [fields.Command.set(item["events"].ids)],
                }
                if not suggestions:
                    commands.append(fields.Command.create(dict(common, rank=0, reasons=self.env._("nothing similar found"))))
                for rank, suggestion in enumerate(suggestions, 1):
                    commands.append(fields.Command.create(dict(
                        common,
                        rank=rank,
                        target="%s,%d" % (model, suggestion.candidate.id),
                        score=suggestion.score,
                        reasons="\n".join(suggestion.reasons),
                        accept=rank == 1 and suggestion.score >= self.min_score,
                    )))
        self.write({"line_ids": [fields.Command.clear(), *commands], "unmatched_count": len(items)})

    # ------------------------------------------------------------------ accept
    def action_accept(self):
        """Map every ticked suggestion (one per channel item), then replay the events that failed for them."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        chosen = self.line_ids.filtered(lambda line: line.accept and line.target)
        if not chosen:
            raise UserError(self.env._("Tick the suggestions to accept first."))
        per_item = defaultdict(list)
        for line in chosen:
            per_item[line.item_key].append(line)
        doubled = [lines[0].channel_value for lines in per_item.values() if len(lines) > 1]
        if doubled:
            raise UserError(self.env._(
                "Tick one suggestion per channel item; several are ticked for %(items)s.", items=", ".join(doubled)))
        for line in chosen:
            line._apply()
        events = chosen.event_ids.filtered(lambda e: e.state in ("failed", "dead"))
        self.env["retail.audit.log"]._log(
            self.backend_id, "write",
            {self.backend_id.id: "\n".join("%s %s -> %s (score %.2f)" % (
                line.kind, line.channel_value, line.target.display_name, line.score) for line in chosen)},
            summary=self.env._("Mapping suggestions accepted"),
        )
        if self.replay and events:
            events.action_replay()
        done = events.filtered(lambda e: e.state == "done")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Mappings accepted"),
                "message": self.env._(
                    "%(count)s mappings added; %(replayed)s failed events replayed, %(done)s applied already.",
                    count=len(chosen), replayed=len(events) if self.replay else 0, done=len(done)),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class RetailMappingSuggestionLine(models.TransientModel):
    """One suggested Odoo record for one unmatched channel item, with its score and reasons."""

    _name = "retail.mapping.suggestion.line"
    _description = "Suggested mapping"
    _order = "item_key, rank"

    wizard_id = fields.Many2one("retail.mapping.suggestion", required=True, ondelete="cascade")
    item_key = fields.Char(required=True)
    kind = fields.Selection(ITEM_KINDS, required=True)
    channel_value = fields.Char(string="Channel value", help="The channel's SKU or value.")
    channel_name = fields.Char(string="Channel title")
    channel_barcode = fields.Char()
    source = fields.Char(string="Found in")
    event_ids = fields.Many2many("retail.event", string="Failed events")
    rank = fields.Integer()
    target = fields.Reference(selection="_selection_targets", string="Suggestion")
    score = fields.Float(digits=(3, 2))
    reasons = fields.Text()
    accept = fields.Boolean()

    @api.model
    def _selection_targets(self):
        labels = {"product.product": "Product", "account.journal": "Journal", "delivery.carrier": "Carrier",
                  "account.tax": "Tax"}
        return [(model, label) for model, label in labels.items() if model in self.env]

    def _apply(self):
        """Bind the channel SKU to the product, or map the channel value to the record."""
        self.ensure_one()
        backend = self.wizard_id.backend_id
        if self.kind == "product":
            Binding = self.env["retail.product.binding"].with_context(active_test=False)
            taken = Binding.search([("backend_id", "=", backend.id), ("channel_sku", "=", self.channel_value),
                                    ("odoo_id", "!=", self.target.id)], limit=1)
            if taken:
                raise UserError(self.env._(
                    "Channel SKU %(sku)s is already bound to %(product)s on %(backend)s.",
                    sku=self.channel_value, product=taken.odoo_id.display_name, backend=backend.name))
            binding = Binding.search([("backend_id", "=", backend.id), ("odoo_id", "=", self.target.id)], limit=1)
            if binding:
                binding.channel_sku = self.channel_value
            else:
                Binding.create({"backend_id": backend.id, "odoo_id": self.target.id, "channel_sku": self.channel_value})
            return
        ValueMap = self.env["retail.value.map"]
        existing = ValueMap.search([("backend_id", "=", backend.id), ("kind", "=", self.kind),
                                    ("external_value", "=ilike", self.channel_value)], limit=1)
        ref = "%s,%d" % (self.target._name, self.target.id)
        if existing:
            existing.odoo_ref = ref
        else:
            ValueMap.create({"backend_id": backend.id, "kind": self.kind, "external_value": self.channel_value,
                             "odoo_ref": ref})


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    def action_suggest_mappings(self):
        """Open the suggestions for this backend's channel products and values that match nothing."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        wizard = self.env["retail.mapping.suggestion"].create({"backend_id": self.id})
        wizard._fill()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Suggest mappings: %(backend)s", backend=self.name),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }


class RetailEventGroup(models.Model):
    _inherit = "retail.event.group"

    def action_suggest_mappings(self):
        """Open the mapping suggestions of the group's backend."""
        check_retail_access(self, "read", GROUP_MANAGER)
        self.ensure_one()
        return self.backend_id.action_suggest_mappings()
