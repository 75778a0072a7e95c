# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Phased migration from a legacy integration platform, per backend and per domain.

Each sync policy has a *phase*:

- **legacy**: the legacy platform owns the domain. Events the channel sends to Odoo are kept
  (as ignored events, for the record) and relayed to the legacy platform unchanged (outbox
  ``retail.relay``); Odoo applies none and sends nothing of the domain to the channel.
- **shadow**: as legacy, and Odoo also works out what it would have done with each event (an
  order's lines, taxes, totals, customer) in a transaction rolled back at once, to compare
  with what the legacy platform did (``retail.shadow.outcome``).
- **odoo**: Odoo owns the domain (the default, and the only phase before migrations existed).

A phase changes only through a ``retail.phase.change``: an audited action whose checklist
(relay target set, relays delivered, mappings complete, shadow agreement above the backend's
threshold, reconciliation clean, identifier continuity) must pass, or be overridden by a manager
with a reason. Going back to legacy (rollback) resumes the relaying, holds Odoo's outbound
traffic again and lists what Odoo did while it owned the domain.
"""

import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .fields_secret import SecretChar
from .retail_neutralize import is_neutralized
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_backend import MANAGER_GROUP

PHASES = [("legacy", "Legacy platform"), ("shadow", "Shadow (both run, Odoo compares)"), ("odoo", "Odoo")]
# phases in which the legacy platform owns the domain: events relayed, Odoo's outbound held
LEGACY_PHASES = ("legacy", "shadow")
PHASE_HELP = (
    "Legacy: the legacy platform owns the domain; Odoo keeps the channel's events, relays them to the legacy "
    "platform and sends nothing to the channel. Shadow: as legacy, and Odoo works out what it would have done with "
    "each event, without changing any record, to compare with the legacy platform's outcome. Odoo: Odoo owns the "
    "domain. Changed only by a phase change (Migration), whose checklist must pass or be overridden."
)
# binding models whose legacy identifiers an orders, customers or catalog cutover relies on
CONTINUITY_MODELS = {
    "orders": ("retail.sale.order.binding", "retail.partner.binding", "retail.product.binding"),
    "customers": ("retail.partner.binding",),
    "catalog": ("retail.product.binding",),
    "inventory": ("retail.product.binding",),
    "pricing": ("retail.product.binding",),
}
CHECKS = [
    ("relay_target", "Legacy endpoint set"),
    ("relays_delivered", "Every relayed event delivered"),
    ("mappings", "Mappings complete"),
    ("agreement", "Shadow agreement above the threshold"),
    ("reconciliation", "Reconciliation clean"),
    ("continuity", "Identifier continuity"),
]
# what each target phase checks
CHECKS_FOR = {
    "legacy": ("relay_target",),
    "shadow": ("relay_target", "mappings"),
    "odoo": ("relays_delivered", "mappings", "agreement", "reconciliation", "continuity"),
}


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    legacy_endpoint_url = fields.Char(
        string="Legacy endpoint", tracking=True,
        help="Where the events of the domains still owned by the legacy platform (phase Legacy or Shadow) are "
        "relayed, as the channel sent them.",
    )
    legacy_relay_signing = fields.Selection(
        [("forward", "Forward the channel's headers"), ("resign", "Re-sign with the relay secret")],
        string="Relay signature", default="forward", required=True,
        help="Forward: the original body with the channel's own headers (its signature still verifies when the "
        "legacy platform shares the channel's secret). Re-sign: the original body, signed with the relay secret "
        "(X-Retail-Relay-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">).",
    )
    legacy_relay_secret = SecretChar(string="Relay secret", groups=MANAGER_GROUP, copy=False)
    legacy_outcomes_url = fields.Char(
        string="Legacy outcomes export",
        help="URL of the legacy platform's outcomes export (JSON), read to compare the shadowed events. "
        "A CSV or JSON file may be imported instead (Migration > Import legacy outcomes).",
    )
    legacy_outcomes_token = SecretChar(
        string="Legacy API token", groups=MANAGER_GROUP, copy=False,
        help="Sent as a bearer token when the legacy outcomes export is read from its URL.")
    shadow_agreement_threshold = fields.Float(
        string="Agreement needed (%)", default=98.0,
        help="Shadow agreement a domain needs before it is cut over to Odoo without an override.",
    )
    relay_ids = fields.One2many("retail.relay", "backend_id", string="Relayed events")

    def _phase_of(self, domain):
        """Return the migration phase of ``domain`` on this backend (odoo without a policy)."""
        self.ensure_one()
        policy = self.policy_for(domain)
        return policy.phase if policy else "odoo"

    def _can_send(self, domain):
        # Odoo's outbound traffic of a domain the legacy platform owns is held: never sent twice by two systems
        if self._phase_of(domain) in LEGACY_PHASES:
            return False
        return super()._can_send(domain)

    def _can_export(self, domain):
        if self._phase_of(domain) in LEGACY_PHASES:
            return False
        return super()._can_export(domain)

    def _run_scheduled_domain(self, domain):
        # the legacy platform polls and sends for a domain it owns: Odoo's batch run would do it a second time
        if self._phase_of(domain) in LEGACY_PHASES:
            return "%s: held, the legacy platform owns the domain (phase %s)" % (domain, self._phase_of(domain))
        return super()._run_scheduled_domain(domain)


class RetailExportRequestMigration(models.Model):
    _inherit = "retail.export.request"

    @api.model
    def _request(self, backend, domain, records):
        """Nothing is requested for a domain the legacy platform owns: it sends that domain to the channel itself."""
        if records and backend._phase_of(domain) in LEGACY_PHASES:
            return None
        return super()._request(backend, domain, records)


class RetailEventMigration(models.Model):
    _inherit = "retail.event"

    def action_replay(self):
        """An event of a domain the legacy platform owns is its to apply: Odoo replaying it would apply it twice."""
        check_retail_access(self, "write", GROUP_MANAGER)
        owned = self.filtered(lambda e: e.backend_id._phase_of(e.domain or "orders") in LEGACY_PHASES)
        if owned:
            raise UserError(self.env._(
                "The legacy platform owns %(domains)s on %(backends)s (migration phase): its events are relayed to it, "
                "not applied by Odoo. Change the phase first.", domains=", ".join(sorted(set(owned.mapped("domain")))),
                backends=", ".join(owned.backend_id.mapped("name"))))
        return super().action_replay()


class RetailSyncPolicyMigration(models.Model):
    _inherit = "retail.sync.policy"

    phase = fields.Selection(PHASES, default="odoo", required=True, readonly=True, help=PHASE_HELP)
    phase_since = fields.Datetime(readonly=True, copy=False)
    phase_change_ids = fields.One2many("retail.phase.change", "policy_id", string="Phase changes", readonly=True)
    shadow_compared = fields.Integer(compute="_compute_shadow_agreement", string="Shadowed events compared")
    shadow_agreement = fields.Float(compute="_compute_shadow_agreement", string="Shadow agreement (%)")

    def _compute_shadow_agreement(self):
        Outcome = self.env["retail.shadow.outcome"]
        for policy in self:
            rate, compared = Outcome._agreement(policy.backend_id, policy.domain)
            policy.shadow_agreement, policy.shadow_compared = rate, compared

    def write(self, vals):
        if "phase" in vals and not self.env.context.get("retail_phase_change"):
            raise UserError(self.env._("A domain's phase changes through a phase change (Migration), whose checklist "
                                       "must pass or be overridden."))
        return super().write(vals)

    def action_change_phase(self):
        """Open a new phase change of this policy."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        target = {"legacy": "shadow", "shadow": "odoo", "odoo": "legacy"}[self.phase]
        change = self.env["retail.phase.change"].create({"policy_id": self.id, "to_phase": target})
        change._run_checks()
        return {"type": "ir.actions.act_window", "res_model": "retail.phase.change", "res_id": change.id,
                "view_mode": "form", "target": "current"}

    # ------------------------------------------------------------------ checks
    def _check_relay_target(self):
        self.ensure_one()
        url = self.backend_id.legacy_endpoint_url
        return bool(url), (self.env._("Events are relayed to %(url)s", url=url) if url
                           else self.env._("The backend has no legacy endpoint to relay events to"))

    def _check_relays_delivered(self):
        self.ensure_one()
        waiting = self.env["retail.relay"].search_count([
            ("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain),
            ("state", "in", ("pending", "sending", "dead"))])
        return not waiting, self.env._("%(count)s relayed event(s) not delivered to the legacy platform",
                                       count=waiting)

    def _check_mappings(self):
        self.ensure_one()
        unmapped = self.env["retail.shadow.outcome"].search_count([
            ("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain), ("cause", "=", "unmapped")])
        failing = self.env["retail.event"].search_count([
            ("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain),
            ("state", "in", ("failed", "dead")), ("error_kind", "in", ("mapping", "unknown_product"))])
        missing = unmapped + failing
        return not missing, self.env._(
            "%(shadow)s shadowed event(s) and %(events)s failed event(s) name a product, customer or value with no "
            "mapping", shadow=unmapped, events=failing)

    def _check_agreement(self):
        self.ensure_one()
        rate, compared = self.env["retail.shadow.outcome"]._agreement(self.backend_id, self.domain)
        threshold = self.backend_id.shadow_agreement_threshold
        if not compared:
            return False, self.env._("No shadowed event was compared with the legacy platform's outcome yet")
        return rate >= threshold, self.env._("%(rate).1f%% of %(count)s compared event(s) agree (needed: %(needed).1f%%)",
                                             rate=rate, count=compared, needed=threshold)

    def _check_reconciliation(self):
        self.ensure_one()
        run = self.env["retail.reconciliation.run"].search([
            ("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain), ("state", "=", "done")],
            order="finished_at desc, id desc", limit=1)
        conflicts = self.env["retail.conflict"].search_count([
            ("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain), ("state", "=", "open")])
        if not run:
            return False, self.env._("No reconciliation of the domain has run")
        left = run.difference_count - run.repaired
        return not left and not conflicts, self.env._(
            "Last reconciliation (%(date)s): %(left)s difference(s) left; %(conflicts)s open conflict(s)",
            date=run.finished_at, left=left, conflicts=conflicts)

    def _check_continuity(self):
        self.ensure_one()
        problems = self._identifier_continuity()
        return not problems, "; ".join(problems[:5]) + ("..." if len(problems) > 5 else "") if problems else \
            self.env._("Every legacy identifier resolves to its record")

    def _identifier_continuity(self):
        """Return the problems of identifier continuity: a record that the old and the new id do not both find.

        For each binding imported from the legacy platform (``legacy``), the record must be found
        under the legacy id (the channel's binder) and under the key the channel sends once Odoo
        owns the domain (a product's SKU through the product resolver, a customer's e-mail among
        the partners, an order's reference), and both must be the binding's record.
        """
        self.ensure_one()
        problems = []
        backend = self.backend_id
        for model in CONTINUITY_MODELS.get(self.domain, ()):
            Binding = self.env[model].sudo().with_context(active_test=False)
            with backend.work_on(model) as work:
                binder = work.component(usage="binder")
                for binding in Binding.search([("backend_id", "=", backend.id), ("legacy", "=", True)]):
                    record = binding.odoo_id
                    label = "%s %s" % (Binding._description, binding.external_id)
                    if not record.exists() or ("active" in record._fields and not record.active):
                        problems.append(self.env._("%(label)s: its record is gone", label=label))
                        continue
                    found = binder.to_internal(binding.external_id, unwrap=True)
                    if found != record:
                        problems.append(self.env._("%(label)s (legacy id) finds %(found)s, not %(record)s",
                                                   label=label, found=found.display_name or "nothing",
                                                   record=record.display_name))
                    try:
                        by_key, key = self._find_by_new_key(work, record)
                    except UserError as exc:
                        problems.append("%s: %s" % (label, exc.args[0]))
                        continue
                    if key and by_key != record:
                        problems.append(self.env._("%(label)s: %(key)s (the new id) finds %(found)s, not %(record)s",
                                                   label=label, key=key, found=", ".join(by_key.mapped("display_name")) or "nothing",
                                                   record=record.display_name))
        return problems

    def _find_by_new_key(self, work, record):
        """Return (the record the channel's own key of ``record`` finds, that key), or (None, None) without a key."""
        company = [("company_id", "in", [False, self.backend_id.company_id.id])]
        if record._name == "product.product":
            if not record.default_code and not record.barcode:
                return None, None
            resolver = work.component(usage="product.resolver", model_name="retail.product.binding")
            return resolver._find(record.default_code, record.barcode, None), record.default_code or record.barcode
        if record._name == "res.partner":
            if not record.email:
                return None, None
            return self.env["res.partner"].search(company + [("email", "=ilike", record.email)]), record.email
        if record._name == "sale.order":
            if not record.client_order_ref:
                return None, None
            found = self.env["sale.order"].search(company + [("client_order_ref", "=", record.client_order_ref)])
            return found, record.client_order_ref
        return None, None

    def action_check_continuity(self):
        """Show whether every legacy identifier of the domain resolves to the same record as its new one."""
        check_retail_access(self, "read")
        self.ensure_one()
        problems = self._identifier_continuity()
        return {"type": "ir.actions.client", "tag": "display_notification", "params": {
            "title": self.env._("Identifier continuity"),
            "message": "\n".join(problems) or self.env._("Every legacy identifier resolves to its record."),
            "type": "danger" if problems else "success", "sticky": bool(problems)}}


class RetailPhaseChange(models.Model):
    """One change of a domain's migration phase: its checklist, who decided and why, what it left to do."""

    _name = "retail.phase.change"
    _inherit = ["retail.audited"]
    _description = "Retail Connector migration phase change"
    _order = "id desc"

    policy_id = fields.Many2one("retail.sync.policy", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="policy_id.backend_id", store=True)
    company_id = fields.Many2one(related="policy_id.company_id", store=True)
    domain = fields.Selection(related="policy_id.domain", store=True)
    from_phase = fields.Selection(PHASES, readonly=True)
    to_phase = fields.Selection(PHASES, required=True)
    state = fields.Selection([("draft", "Draft"), ("done", "Done"), ("cancelled", "Cancelled")], default="draft",
                             required=True, readonly=True)
    check_ids = fields.One2many("retail.phase.check", "change_id", string="Checklist", readonly=True)
    checks_passed = fields.Boolean(readonly=True)
    override = fields.Boolean(help="Change the phase although the checklist does not pass (a manager, with a reason).")
    override_reason = fields.Text()
    user_id = fields.Many2one("res.users", string="Done by", readonly=True)
    done_at = fields.Datetime(readonly=True)
    duration_ms = fields.Integer(string="Duration (ms)", readonly=True, help="How long the change itself took.")
    owned_from = fields.Datetime(readonly=True, help="Rollback: when Odoo began owning the domain.")
    applied_event_count = fields.Integer(string="Events Odoo applied", readonly=True)
    sent_export_count = fields.Integer(string="Exports Odoo sent", readonly=True)
    report = fields.Text(readonly=True, help="Rollback: what Odoo did while it owned the domain, for the legacy "
                                             "platform to be brought level.")
    rehearsal = fields.Boolean(readonly=True, help="Rehearsed on a neutralised copy of the database.")
    rehearsal_report = fields.Text(readonly=True, help="Each step of the rehearsal with its duration, and what "
                                                       "would break.")

    @api.depends("policy_id", "to_phase")
    def _compute_display_name(self):
        labels = dict(PHASES)
        for change in self:
            change.display_name = "%s: %s → %s" % (change.policy_id.display_name, labels.get(change.from_phase, "?"),
                                                     labels.get(change.to_phase, "?"))

    @api.model_create_multi
    def create(self, vals_list):
        changes = super().create(vals_list)
        for change in changes:
            change.from_phase = change.policy_id.phase
        return changes

    @api.constrains("to_phase", "policy_id")
    def _check_target(self):
        for change in self:
            if change.state == "draft" and change.to_phase == change.policy_id.phase:
                raise ValidationError(self.env._("%(policy)s is already in phase %(phase)s.",
                                                 policy=change.policy_id.display_name, phase=change.to_phase))

    def _run_checks(self):
        """Run the checklist of the target phase; return whether it passes."""
        self.ensure_one()
        labels = dict(CHECKS)
        lines = [(5, 0, 0)]
        passed = True
        for code in CHECKS_FOR[self.to_phase]:
            ok, detail = getattr(self.policy_id, "_check_%s" % code)()
            passed = passed and ok
            lines.append((0, 0, {"code": code, "name": labels[code], "passed": ok, "detail": detail}))
        self.sudo().write({"check_ids": lines, "checks_passed": passed})
        return passed

    def action_check(self):
        """Run the checklist again."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for change in self:
            if change.state != "draft":
                raise UserError(self.env._("Only a draft phase change is checked."))
            change._run_checks()
        return True

    def action_apply(self):
        """Change the phase: the checklist must pass, or the change be overridden with a reason."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for change in self:
            change._apply()
        return True

    def action_cancel(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.filtered(lambda c: c.state == "draft").write({"state": "cancelled"})
        return True

    def _apply(self):
        self.ensure_one()
        started = fields.Datetime.now()
        if self.state != "draft":
            raise UserError(self.env._("This phase change was already %(state)s.", state=self.state))
        policy = self.policy_id
        if policy.phase != self.from_phase:
            raise UserError(self.env._("The phase of %(policy)s changed since this change was prepared.",
                                       policy=policy.display_name))
        if not self._run_checks():
            if not self.override:
                failed = ", ".join(self.check_ids.filtered(lambda c: not c.passed).mapped("name"))
                raise UserError(self.env._("The checklist does not pass (%(failed)s): fix it, or override the "
                                           "change with a reason.", failed=failed))
            if not (self.override_reason or "").strip():
                raise UserError(self.env._("An overridden phase change needs a reason."))
        vals = {}
        if self.to_phase == "legacy" and self.from_phase == "odoo":
            vals.update(self._owned_report())
        policy.with_context(retail_phase_change=True).write({"phase": self.to_phase, "phase_since": started})
        policy.flush_recordset()
        self.env.registry.clear_cache()  # the gateway of every server reads the phases from its cache
        if self.to_phase == "odoo":
            # what waited for the domain while the legacy platform owned it goes now
            policy._mode_changed()
        elapsed = fields.Datetime.now() - started
        vals.update(state="done", user_id=self.env.uid, done_at=fields.Datetime.now(),
                    duration_ms=int(elapsed.total_seconds() * 1000))
        self.sudo().write(vals)

    def _owned_report(self):
        """Return the values describing what Odoo did while it owned the domain (a rollback's report)."""
        self.ensure_one()
        policy = self.policy_id
        cutover = self.search([("policy_id", "=", policy.id), ("state", "=", "done"), ("to_phase", "=", "odoo")],
                              order="done_at desc, id desc", limit=1)
        since = cutover.done_at or policy.phase_since or policy.create_date
        events = self.env["retail.event"].search([
            ("backend_id", "=", policy.backend_id.id), ("domain", "=", policy.domain), ("state", "=", "done"),
            ("processed_at", ">=", since)], order="id")
        exports = self.env["retail.export.request"].search([
            ("backend_id", "=", policy.backend_id.id), ("domain", "=", policy.domain), ("state", "=", "done"),
            ("sent_at", ">=", since)], order="id")
        lines = [self.env._("Odoo owned %(domain)s from %(since)s:", domain=policy.domain, since=since)]
        for event in events:
            record = event.res_model and event.res_id and self.env[event.res_model].browse(event.res_id).exists()
            lines.append("- event %s %s %s: %s %s" % (event.id, event.topic, event.aggregate_key or "",
                                                      event.outcome or "", record.display_name if record else ""))
        for export in exports:
            record = self.env[export.res_model].browse(export.res_id).exists()
            lines.append("- sent %s %s" % (export.res_model, record.display_name if record else export.res_id))
        return {"owned_from": since, "applied_event_count": len(events), "sent_export_count": len(exports),
                "report": "\n".join(lines)}

    def action_rehearse(self):
        """Rehearse this change on a neutralised copy: each step timed, the last day's events replayed."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        if not is_neutralized(self.env):
            raise UserError(self.env._("A cutover is rehearsed on a neutralised copy of the database only (Odoo's "
                                       "neutralisation: no backend of the copy calls a channel)."))
        if self.state != "draft":
            raise UserError(self.env._("Only a draft phase change is rehearsed."))
        policy = self.policy_id
        steps, breaks = [], []

        def timed(label, func):
            started = time.monotonic()
            result = func()
            steps.append("%s: %d ms" % (label, (time.monotonic() - started) * 1000))
            return result

        if not timed(self.env._("checklist"), self._run_checks):
            breaks.extend("%s: %s" % (c.name, c.detail) for c in self.check_ids if not c.passed)
        since = fields.Datetime.now() - timedelta(days=1)
        relayed = self.env["retail.relay"].sudo().search([
            ("backend_id", "=", policy.backend_id.id), ("domain", "=", policy.domain),
            ("create_date", ">=", since)], order="id").event_id
        timed(self.env._("phase %(phase)s", phase=self.to_phase), lambda: policy.with_context(
            retail_phase_change=True).write({"phase": self.to_phase, "phase_since": fields.Datetime.now()}))
        self.env.registry.clear_cache()
        if self.to_phase == "odoo":
            def replay():
                outcomes = {}
                for event in relayed:
                    event.sudo().write({"state": "received", "next_attempt_at": False})
                    if not event.aggregate_key:
                        event.sudo()._read_payloads()
                    outcome = event.sudo().with_context(retail_order_batch=False)._apply_one() \
                        if event.state == "received" else event.state
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    if event.state in ("failed", "dead"):
                        breaks.append(self.env._("event %(id)s %(topic)s: %(error)s", id=event.id,
                                                 topic=event.topic, error=event.last_error))
                return outcomes

            outcomes = timed(self.env._("%(count)s events of the last day replayed", count=len(relayed)), replay)
            steps.append(", ".join("%s %s" % (count, outcome) for outcome, count in sorted(outcomes.items())))
        self.sudo().write({
            "rehearsal": True, "state": "done", "user_id": self.env.uid, "done_at": fields.Datetime.now(),
            "rehearsal_report": "\n".join(steps + [self.env._("What would break:")] + (breaks or ["-"])),
        })
        return True

    def action_open_owned_events(self):
        """The events Odoo applied while it owned the domain (a rollback)."""
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_event")
        action["domain"] = [("backend_id", "=", self.backend_id.id), ("domain", "=", self.domain),
                            ("state", "=", "done"), ("processed_at", ">=", self.owned_from),
                            ("processed_at", "<=", self.done_at)]
        action["context"] = {}
        return action


class RetailPhaseCheck(models.Model):
    _name = "retail.phase.check"
    _description = "Retail Connector phase change check"
    _order = "id"

    change_id = fields.Many2one("retail.phase.change", required=True, ondelete="cascade", index=True)
    code = fields.Selection(CHECKS, required=True)
    name = fields.Char(required=True)
    passed = fields.Boolean()
    detail = fields.Char()

