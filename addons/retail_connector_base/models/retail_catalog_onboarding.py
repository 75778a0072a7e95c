# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Onboarding of an existing shop's catalogue: read page after page, matched, bound, created, reviewed.

The channel's catalogue is read in pages by the channel's ``catalog.reader`` component, one
queue job per page: each page's matches, bindings, new products and report lines are committed
with the channel's cursor reached, so an interruption (a channel failure, a person pausing it,
a server restart) loses nothing and the next page is read from where it stopped.

Each channel variant is matched to an Odoo product by its binding on the backend, then by SKU
(internal reference), then by barcode. What matches nothing is created when the catalogue
policy lets the channel bring products in; what contradicts Odoo (same SKU with a different
barcode, two channel variants on one SKU, a barcode on a product with another SKU) is kept as a
line for a person to review. A dry run reads the same pages and writes only its report.
"""

import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib.http import ChannelError
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_progress import WorkCancelled

_logger = logging.getLogger(__name__)

LINE_ACTIONS = [
    ("bound", "Already bound"),
    ("match_sku", "Matched by SKU"),
    ("match_barcode", "Matched by barcode"),
    ("create", "New product"),
    ("missing", "Not in Odoo"),
    ("conflict", "Conflict"),
    ("review", "No SKU or barcode"),
]
# actions of a line whose channel variant ends bound to a product
BINDING_ACTIONS = ("bound", "match_sku", "match_barcode", "create")
# option names storefronts give a product without options
DEFAULT_OPTIONS = {("title", "default title")}


class RetailCatalogOnboarding(models.Model):
    """One reading of a channel's whole catalogue into Odoo (or a dry run of it), resumable page by page."""

    _name = "retail.catalog.onboarding"
    _description = "Retail Connector catalogue onboarding"
    _order = "id desc"

    name = fields.Char(compute="_compute_name")
    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    dry_run = fields.Boolean(
        default=True, readonly=True,
        help="A dry run reads the catalogue and reports what importing it would match, create and leave for review, "
        "without binding or creating anything.")
    create_missing = fields.Boolean(
        string="Create missing products", default=True,
        help="Create the products the channel has and Odoo does not (with their options as attributes). Only when "
        "the backend's catalogue policy lets the channel bring products in.")
    creation_allowed = fields.Boolean(compute="_compute_creation_allowed")
    page_size = fields.Integer(default=0, help="Products read per call (0: the channel's usual page).")
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("paused", "Paused"), ("interrupted", "Interrupted"),
         ("done", "Done")], default="draft", required=True, readonly=True)
    cursor = fields.Char(readonly=True, copy=False, help="Where the next page starts on the channel.")
    pages_done = fields.Integer(readonly=True, copy=False)
    variants_read = fields.Integer(readonly=True, copy=False)
    message = fields.Text(readonly=True, copy=False)
    started_at = fields.Datetime(readonly=True, copy=False)
    finished_at = fields.Datetime(readonly=True, copy=False)
    # the progress row is committed apart while a page's transaction is open: its id, not a foreign key
    progress_ref = fields.Integer(readonly=True, copy=False)
    progress_id = fields.Many2one("retail.progress", compute="_compute_progress_id")
    line_ids = fields.One2many("retail.catalog.onboarding.line", "onboarding_id", readonly=True)
    matched_count = fields.Integer(compute="_compute_counts", string="Matched")
    create_count = fields.Integer(compute="_compute_counts", string="New products")
    missing_count = fields.Integer(compute="_compute_counts", string="Not in Odoo")
    conflict_count = fields.Integer(compute="_compute_counts", string="To review")

    @api.depends("backend_id", "dry_run")
    def _compute_name(self):
        for onboarding in self:
            onboarding.name = self.env._("%(kind)s of %(backend)s's catalogue",
                                         kind=self.env._("Dry run") if onboarding.dry_run else self.env._("Import"),
                                         backend=onboarding.backend_id.name or "")

    @api.depends("backend_id")
    def _compute_creation_allowed(self):
        for onboarding in self:
            onboarding.creation_allowed = bool(onboarding.backend_id) and onboarding.backend_id._catalog_may_create()

    @api.depends("progress_ref")
    def _compute_progress_id(self):
        for onboarding in self:
            onboarding.progress_id = self.env["retail.progress"].browse(onboarding.progress_ref).exists() \
                if onboarding.progress_ref else False

    def _compute_counts(self):
        groups = self.env["retail.catalog.onboarding.line"]._read_group(
            [("onboarding_id", "in", self.ids)], ["onboarding_id", "action"], ["__count"])
        counts = defaultdict(int)
        for onboarding, action, count in groups:
            counts[(onboarding.id, action)] = count
        for onboarding in self:
            get = lambda *actions: sum(counts[(onboarding.id, a)] for a in actions)  # noqa: E731
            onboarding.matched_count = get("bound", "match_sku", "match_barcode")
            onboarding.create_count = get("create")
            onboarding.missing_count = get("missing")
            onboarding.conflict_count = get("conflict", "review")

    # ------------------------------------------------------------------ actions
    def action_dry_run(self):
        """Read the channel's catalogue and report what importing it would do; nothing is bound or created."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        self._begin(dry_run=True)
        return self._reopen()

    def action_import(self):
        """Read the channel's catalogue again and bind, create and report, page after page."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        self._begin(dry_run=False)
        return self._reopen()

    def action_resume(self):
        """Go on from the page where an interrupted or paused onboarding stopped."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if self.state not in ("paused", "interrupted", "running"):
            raise UserError(self.env._("Only a paused or interrupted onboarding can be resumed."))
        self._start_progress()
        self.write({"state": "running", "message": False})
        self._enqueue_page()
        return self._reopen()

    def action_pause(self):
        """Stop after the page being read; what the pages read did is kept."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if self.state != "running":
            raise UserError(self.env._("Only a running onboarding can be paused."))
        progress = self.progress_id
        if progress and progress.state == "running":
            progress.sudo().write({"cancel_requested": True})
        else:
            self.write({"state": "paused"})
        return self._reopen()

    def action_reconcile_catalog(self):
        """Compare the backend's catalogue on the channel with Odoo's now (see the backend's reconciliations)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        return self.backend_id.action_reconcile_catalog()

    def action_open_lines(self):
        check_retail_access(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Catalogue onboarding report"),
            "res_model": "retail.catalog.onboarding.line",
            "view_mode": "list,form",
            "domain": [("onboarding_id", "=", self.id)],
            "context": {"search_default_to_review": 1},
        }

    def _reopen(self):
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "current"}

    # ------------------------------------------------------------------ running
    def _begin(self, dry_run):
        if self.state == "running":
            raise UserError(self.env._("This onboarding is running: pause it first."))
        with self.backend_id.work_on(self._name) as work:
            if not work.many_components(usage="catalog.reader"):
                raise UserError(self.env._("%(backend)s's channel cannot read its catalogue into Odoo.",
                                           backend=self.backend_id.name))
        self.line_ids.unlink()
        self.write({"dry_run": dry_run, "state": "running", "cursor": False, "pages_done": 0, "variants_read": 0,
                    "message": False, "started_at": fields.Datetime.now(), "finished_at": False})
        self._start_progress()
        self._enqueue_page()

    def _start_progress(self):
        self.progress_ref = self.env["retail.progress"]._start(self.name, "import", backend=self.backend_id,
                                                               record=self)
        self.env["retail.progress"]._step(self.progress_ref, self.variants_read, force=True)

    def _enqueue_page(self):
        if self.env.context.get("retail_onboarding_sync"):
            return self._run_page()
        return self.with_delay(
            channel="root.retail", identity_key="retail.catalog.onboarding-%d-%d" % (self.id, self.pages_done),
            description=self.env._("%(name)s: page %(page)d", name=self.name, page=self.pages_done + 1),
        )._run_page()

    def _run_page(self):
        """Queue job: read the next page, match it and (unless a dry run) bind and create; queue the next page.

        The page's work and the cursor reached are committed together with the job.
        """
        self.ensure_one()
        if self.state != "running":
            return False
        Progress = self.env["retail.progress"]
        try:
            Progress._step(self.progress_ref, self.variants_read, force=True)
        except WorkCancelled:
            self.write({"state": "paused", "message": self.env._(
                "Paused after %(pages)d pages (%(variants)d variants): resume to read the rest.",
                pages=self.pages_done, variants=self.variants_read)})
            Progress._end(self.progress_ref, "cancelled", self.env._("Paused: the pages read are kept."),
                          done=self.variants_read)
            return False
        # a page is read whole or read again: one making more requests than the burst (a shop's page of
        # variable products, each with its variations) waits a little for its tokens instead of starting over
        with self.backend_id.with_context(retail_paced_read=True).work_on(self._name) as work:
            reader = work.component(usage="catalog.reader")
            try:
                items, next_cursor, total = reader.read_page(self.cursor or None, self.page_size or None)
            except ChannelError as exc:
                self.write({"state": "interrupted", "message": self.env._(
                    "The channel failed on page %(page)d: %(error)s. Resume to read from this page again.",
                    page=self.pages_done + 1, error=exc)})
                Progress._end(self.progress_ref, "failed", str(exc)[:200], done=self.variants_read)
                return False
        self._process(items)
        read = self.variants_read + len(items)
        self.write({"cursor": next_cursor or False, "pages_done": self.pages_done + 1, "variants_read": read})
        if next_cursor:
            try:
                Progress._step(self.progress_ref, read, total=total, force=True)
            except WorkCancelled:
                pass  # the next page stops at its first step, with this page's work kept
            return self._enqueue_page()
        self.write({"state": "done", "finished_at": fields.Datetime.now(), "message": self._summary()})
        Progress._end(self.progress_ref, "done", self.message[:200], done=read)
        return True

    def _summary(self):
        self.invalidate_recordset(["matched_count", "create_count", "missing_count", "conflict_count"])
        return self.env._(
            "%(variants)d variants read: %(matched)d matched, %(created)d %(verb)s, %(missing)d not in Odoo, "
            "%(review)d to review.", variants=self.variants_read, matched=self.matched_count,
            created=self.create_count, verb=self.env._("to create") if self.dry_run else self.env._("created"),
            missing=self.missing_count, review=self.conflict_count)

    # ------------------------------------------------------------------ one page
    def _process(self, items):
        """Match one page of channel variants, bind and create unless a dry run, and write its report lines."""
        self.ensure_one()
        backend = self.backend_id
        create = self.create_missing and backend._catalog_may_create()
        earlier = self._earlier_skus({i["sku"] for i in items if i.get("sku")})
        plan = backend._plan_catalog_matches(items, earlier, create)
        if not self.dry_run:
            backend._apply_catalog_plan(plan, self._earlier_templates(plan))
        self.env["retail.catalog.onboarding.line"].create([
            {"onboarding_id": self.id, "external_id": p["item"]["external_id"],
             "product_ref": p["item"].get("product_ref"), "sku": p["item"].get("sku"),
             "barcode": p["item"].get("barcode"), "name": p["item"].get("name"), "action": p["action"],
             "message": p["message"], "product_id": p["product"].id if p["product"] else False}
            for p in plan])

    def _earlier_skus(self, skus):
        """Return {sku: channel id} of the SKUs earlier pages of this run took."""
        if not skus:
            return {}
        lines = self.env["retail.catalog.onboarding.line"].search_read(
            [("onboarding_id", "=", self.id), ("sku", "in", list(skus)), ("action", "in", BINDING_ACTIONS)],
            ["sku", "external_id"])
        return {line["sku"]: line["external_id"] for line in lines}

    def _earlier_templates(self, plan):
        """Return {channel product id: template} of products earlier pages of this run created."""
        refs = {p["item"].get("product_ref") for p in plan if p["action"] == "create" and p["item"].get("product_ref")}
        if not refs:
            return {}
        lines = self.env["retail.catalog.onboarding.line"].search(
            [("onboarding_id", "=", self.id), ("product_ref", "in", list(refs)), ("action", "=", "create"),
             ("product_id", "!=", False)])
        return {line.product_ref: line.product_id.product_tmpl_id for line in lines}


class RetailCatalogOnboardingLine(models.Model):
    """One channel variant read by an onboarding, and what was (or would be) done with it."""

    _name = "retail.catalog.onboarding.line"
    _description = "Retail Connector catalogue onboarding line"
    _order = "id"

    onboarding_id = fields.Many2one("retail.catalog.onboarding", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="onboarding_id.backend_id", store=True)
    external_id = fields.Char(string="Channel ID", index=True)
    product_ref = fields.Char(string="Channel product", help="The channel's product this variant belongs to.")
    sku = fields.Char(string="SKU", index=True)
    barcode = fields.Char()
    name = fields.Char()
    action = fields.Selection(LINE_ACTIONS, required=True, index=True)
    message = fields.Char()
    product_id = fields.Many2one("product.product", string="Odoo product", ondelete="set null")
    reviewed = fields.Boolean(help="A person has dealt with this line.")

    def action_mark_reviewed(self):
        """Mark the lines as dealt with by a person."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.write({"reviewed": True})
        return True


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    catalog_onboarding_ids = fields.One2many("retail.catalog.onboarding", "backend_id")

    def action_open_catalog_onboarding(self):
        """Open the backend's latest catalogue onboarding (a new one when it has none)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        onboarding = self.catalog_onboarding_ids[:1] or self.env["retail.catalog.onboarding"].create(
            {"backend_id": self.id})
        return onboarding._reopen()

    def action_reconcile_catalog(self):
        """Compare the channel's catalogue with Odoo's now, repair by the system of record, and show the runs."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        self.with_context(retail_reconcile_catalog=True)._reconcile("catalog")
        return self.action_open_reconciliations()

    def _reconcile(self, domain):
        """The catalogue is compared when a person asks (Reconcile catalogue), not at each scheduled catalogue
        run: reading a whole catalogue spends much of a shop's API budget, and the exports keep it in step."""
        if domain == "catalog" and not self.env.context.get("retail_reconcile_catalog"):
            return None
        return super()._reconcile(domain)

    def _catalog_may_create(self):
        """Return whether the channel may bring new products into Odoo (its catalogue policy reads from it, or it
        is the catalogue's system of record)."""
        self.ensure_one()
        policy = self.policy_for("catalog")
        return bool(policy) and (policy.system_of_record == "channel" or policy.direction in ("inbound", "both"))

    # ------------------------------------------------------------------ matching, shared with the reconciliation
    def _plan_catalog_matches(self, items, earlier=None, create=False):
        """Return one plan entry per channel variant: {item, action, message, product}.

        Set-based: the page's bindings, SKUs and barcodes are each read in one search. ``earlier``
        ({sku: channel id}) are SKUs already taken by variants read before this page.
        """
        self.ensure_one()
        earlier = earlier or {}
        Product = self.env["product.product"].sudo().with_context(active_test=False)
        Binding = self.env["retail.product.binding"].sudo().with_context(active_test=False)
        company = [("company_id", "in", [False, self.company_id.id])]
        ext_ids = [str(i["external_id"]) for i in items]
        by_ext = {b.external_id: b.odoo_id for b in Binding.search(
            [("backend_id", "=", self.id), ("external_id", "in", ext_ids)])}
        skus = {i["sku"] for i in items if i.get("sku")}
        barcodes = {i["barcode"] for i in items if i.get("barcode")}
        by_sku, by_barcode = defaultdict(list), defaultdict(list)
        if skus:
            for product in Product.search([("default_code", "in", list(skus))] + company):
                by_sku[product.default_code].append(product)
        if barcodes:
            for product in Product.search([("barcode", "in", list(barcodes))] + company):
                by_barcode[product.barcode].append(product)
        candidates = {p.id for found in list(by_sku.values()) + list(by_barcode.values()) for p in found}
        bound_as = {b.odoo_id.id: b.external_id for b in Binding.search(
            [("backend_id", "=", self.id), ("odoo_id", "in", list(candidates))])} if candidates else {}
        taken_sku, taken_barcode = dict(earlier), {}
        plan = []
        for item in items:
            ext, sku, barcode = str(item["external_id"]), item.get("sku") or None, item.get("barcode") or None
            entry = {"item": dict(item, external_id=ext), "product": None}
            plan.append(entry)
            other = taken_sku.get(sku) if sku else None
            if other and other != ext:
                entry.update(action="conflict", message=self.env._(
                    "Two channel variants have the SKU %(sku)s (%(first)s and %(second)s): one SKU is one product "
                    "in Odoo; give one of them another SKU on the channel.", sku=sku, first=other, second=ext))
                continue
            if ext in by_ext:
                entry.update(action="bound", product=by_ext[ext], message=self.env._("bound to %(product)s",
                                                                                   product=by_ext[ext].display_name))
                if sku:
                    taken_sku[sku] = ext
                continue
            matches, how = (by_sku.get(sku) or [], "match_sku") if sku and by_sku.get(sku) else (
                (by_barcode.get(barcode) or [], "match_barcode") if barcode else ([], None))
            if len(matches) > 1:
                entry.update(action="conflict", message=self.env._(
                    "%(count)d Odoo products have the %(what)s %(value)s: %(products)s.", count=len(matches),
                    what=self.env._("SKU") if how == "match_sku" else self.env._("barcode"),
                    value=sku if how == "match_sku" else barcode,
                    products=", ".join(p.display_name for p in matches)))
                continue
            if matches:
                product = matches[0]
                entry["product"] = product
                if product.id in bound_as and bound_as[product.id] != ext:
                    entry.update(action="conflict", message=self.env._(
                        "%(product)s is already bound to the channel's variant %(other)s: two channel variants on "
                        "one product.", product=product.display_name, other=bound_as[product.id]))
                elif how == "match_sku" and barcode and product.barcode and product.barcode != barcode:
                    entry.update(action="conflict", message=self.env._(
                        "Same SKU %(sku)s, different barcode: %(ours)s in Odoo, %(theirs)s on the channel.",
                        sku=sku, ours=product.barcode, theirs=barcode))
                elif how == "match_barcode" and sku and product.default_code and product.default_code != sku:
                    entry.update(action="conflict", message=self.env._(
                        "Same barcode %(barcode)s, different SKU: %(ours)s in Odoo, %(theirs)s on the channel.",
                        barcode=barcode, ours=product.default_code, theirs=sku))
                else:
                    entry.update(action=how, message=self.env._("matched %(product)s", product=product.display_name))
                    bound_as[product.id] = ext
                    if sku:
                        taken_sku[sku] = ext
                continue
            if not sku and not barcode:
                entry.update(action="review", message=self.env._(
                    "The channel's variant has no SKU and no barcode: bind it by hand or give it a SKU."))
                continue
            if barcode and taken_barcode.get(barcode, ext) != ext:
                entry.update(action="conflict", message=self.env._(
                    "Two channel variants have the barcode %(barcode)s (%(first)s and %(second)s).",
                    barcode=barcode, first=taken_barcode[barcode], second=ext))
                continue
            if barcode:
                taken_barcode[barcode] = ext
            if create:
                entry.update(action="create", message=self.env._("new product"))
                if sku:
                    taken_sku[sku] = ext
            else:
                entry.update(action="missing", message=self.env._(
                    "No Odoo product has this SKU or barcode, and the catalogue policy does not let the channel "
                    "create products."))
        return plan

    def _apply_catalog_plan(self, plan, templates=None):
        """Bind the matched variants and create (then bind) the new ones; set each entry's product."""
        self.ensure_one()
        to_create = [p for p in plan if p["action"] == "create"]
        if to_create:
            made = self._create_catalog_products([p["item"] for p in to_create], templates or {})
            for entry in to_create:
                entry["product"] = made.get(entry["item"]["external_id"])
                if not entry["product"]:
                    entry.update(action="conflict", message=self.env._(
                        "Odoo could not create the product: its options do not make a variant of the product."))
        to_bind = [p for p in plan if p["action"] in ("match_sku", "match_barcode", "create") and p["product"]]
        if to_bind:
            with self.work_on("retail.product.binding") as work:
                work.component(usage="binder").bind_new_records([
                    (p["item"]["external_id"], p["product"],
                     {"sync_state": "synced", "channel_ref": p["item"].get("channel_ref") or False})
                    for p in to_bind])

    def _create_catalog_products(self, items, templates=None):
        """Create the products of channel variants; return {channel id: product}.

        Variants of one channel product with options become one template with attributes (added
        to the template an earlier page made for that product, ``templates``); the others are
        products of their own.
        """
        self.ensure_one()
        templates = templates or {}
        env = self.env(su=True)
        Product = env["product.product"].with_context(
            retail_origin_backend=self.id, tracking_disable=True, mail_create_nolog=True, mail_notrack=True)
        groups = defaultdict(list)
        for item in items:
            groups[item.get("product_ref") or item["external_id"]].append(item)
        made, simple = {}, []
        for ref, group in groups.items():
            if _options(group[0]) or ref in templates or len(group) > 1:
                made.update(self._create_template(Product, group, templates.get(ref)))
            else:
                simple += group
        if simple:
            products = Product.create([_product_values(self, item) for item in simple])
            made.update({item["external_id"]: product for item, product in zip(simple, products)})
        return made

    def _create_template(self, Product, items, template=None):
        """Return {channel id: variant} of one channel product's variants, made as a template's variants."""
        names = []
        for item in items:
            for name, _value in _options(item):
                if name not in names:
                    names.append(name)
        if not names or any(len(_options(i)) != len(names) for i in items):
            # no usable options: each variant a product of its own
            products = Product.create([_product_values(self, item) for item in items])
            return {item["external_id"]: product for item, product in zip(items, products)}
        env = Product.env
        Attribute, Value = env["product.attribute"], env["product.attribute.value"]
        attributes = {}
        for name in names:
            attributes[name] = Attribute.search([("name", "=", name), ("create_variant", "=", "always")],
                                                limit=1) or Attribute.create(
                {"name": name, "create_variant": "always"})
        values = {}
        for name in names:
            wanted = {dict(_options(i))[name] for i in items}
            existing = {v.name: v for v in Value.search([("attribute_id", "=", attributes[name].id),
                                                          ("name", "in", list(wanted))])}
            for text in wanted - set(existing):
                existing[text] = Value.create({"attribute_id": attributes[name].id, "name": text})
            values[name] = existing
        Template = env["product.template"].with_context(Product.env.context)
        if template:
            for name in names:
                line = template.attribute_line_ids.filtered(lambda ln, a=attributes[name]: ln.attribute_id == a)
                ids = [values[name][dict(_options(i))[name]].id for i in items]
                if line:
                    line.write({"value_ids": [(4, v) for v in ids]})
                else:
                    template.write({"attribute_line_ids": [(0, 0, {"attribute_id": attributes[name].id,
                                                                    "value_ids": [(6, 0, ids)]})]})
        else:
            first = items[0]
            template = Template.create(dict(
                _template_values(self, first),
                attribute_line_ids=[(0, 0, {"attribute_id": attributes[n].id,
                                            "value_ids": [(6, 0, [v.id for v in values[n].values()])]})
                                    for n in names]))
        variants = template.with_context(active_test=False).product_variant_ids
        by_values = {frozenset(v.product_template_attribute_value_ids.product_attribute_value_id.ids): v
                     for v in variants}
        made = {}
        for item in items:
            key = frozenset(values[name][dict(_options(item))[name]].id for name in names)
            variant = by_values.get(key)
            if variant is None:
                continue
            vals = {"default_code": item.get("sku") or False, "active": True}
            if item.get("barcode"):
                vals["barcode"] = item["barcode"]
            variant.write(vals)
            made[item["external_id"]] = variant
        # combinations Odoo made that the channel does not sell are archived, not invented on the channel
        unused = variants.filtered(lambda v: v not in made.values() and not v.default_code)
        if unused:
            unused.write({"active": False})
        return made


def _options(item):
    """Return the variant's real options as [(name, value)] (the storefronts' 'Title: Default Title' left out)."""
    return [(o["name"], o["value"]) for o in item.get("options") or []
            if o.get("name") and o.get("value") not in (None, "")
            and (str(o["name"]).lower(), str(o["value"]).lower()) not in DEFAULT_OPTIONS]


def _template_values(backend, item):
    values = {"name": item.get("product_name") or item.get("name") or item.get("sku") or item["external_id"],
              "type": "consu", "is_storable": True, "sale_ok": True,
              "company_id": False}
    if item.get("price") not in (None, ""):
        try:
            values["list_price"] = float(item["price"])
        except (TypeError, ValueError):
            pass
    if item.get("description"):
        values["description_sale"] = item["description"]
    return values


def _product_values(backend, item):
    values = _template_values(backend, item)
    values.update(default_code=item.get("sku") or False, barcode=item.get("barcode") or False)
    return values


class RetailReconciliationLineCatalog(models.Model):
    _inherit = "retail.reconciliation.line"

    kind = fields.Selection(selection_add=[("catalog_drift", "Catalogue difference")],
                            ondelete={"catalog_drift": "cascade"})

