# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Go-live readiness: a backend sends and schedules nothing until it is ready.

A new backend is *not live* until what its traffic needs is there. The essentials (endpoint,
credentials the channel type requires) are checked without calling the channel, on every
save: a backend saved with them goes live by itself, one saved without them (a Shopify shop
without its shop URL) stays not live, creates no export request, queues no flush and runs no
scheduled work, and its form says why. Receiving needs none of what it lacks: what its channel
posts is applied as usual. A backend held not live on purpose (created by the New channel
assistant or not live by its creator, or taken off live by a manager) is in set-up, its mappings
not confirmed yet: what its channel posts is accepted and stored, not applied (a domain applied
as it comes is taken as one kept for a scheduled run), and applied when it goes live.

The readiness check (a button on the backend, and run before a policy is switched on) adds
what can only be known by asking the channel or reading Odoo: the connection test, channel
taxes, payment gateways, carriers and shipping methods without a mapping, products without
SKU, warehouse and pricelist, the webhook secret, the channel's clock. Each finding has a
button that fixes it or opens where it is fixed. A manager may put a backend live despite
warnings (or errors), and take it off live.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import ormcache

from ..lib.http import ChannelError
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_gateway import INBOUND_ACTIONS, inbound_handling
from .retail_value_map import MAP_TARGETS

GO_LIVE_STATES = [("setup", "Not live"), ("live", "Live")]
SEVERITIES = [("blocking", "Blocks traffic"), ("warning", "Warning")]
CHECKS = [
    ("field", "Configuration"),
    ("connection", "Connection"),
    ("mapping", "Unmapped channel value"),
    ("sku", "Products without SKU"),
    ("warehouse", "Warehouse"),
    ("pricelist", "Pricelist"),
    ("webhook", "Webhooks"),
    ("clock", "Clock skew"),
]
# channel value kinds read from the channel's settings -> value map kind
CHANNEL_VALUE_KINDS = {
    "taxes": "tax",
    "payment_gateways": "payment_gateway",
    "carriers": "carrier",
    "shipping_methods": "shipping",
}
# a channel timestamp this far ahead of Odoo's clock on receipt means the clocks disagree
CLOCK_SKEW_SECONDS = 60
# fields whose change may complete (or break) a backend's essentials
GO_LIVE_FIELDS = frozenset({"go_live_state", "go_live_auto", "go_live_date", "readiness_checked_at"})


class RetailReadinessItem(models.Model):
    """One thing that would make a backend's traffic fail, with the action that fixes it."""

    _name = "retail.readiness.item"
    _description = "Retail Connector go-live readiness finding"
    _order = "backend_id, severity, sequence, id"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    check = fields.Selection(CHECKS, required=True)
    severity = fields.Selection(SEVERITIES, required=True, default="blocking")
    name = fields.Char(string="Finding", required=True)
    fix_label = fields.Char(string="Fix", help="What the fix button does.")
    map_kind = fields.Char(help="The value map kind of an unmapped channel value.")
    channel_value = fields.Char(help="The channel's value (tax title, gateway, carrier) without a mapping.")
    field_name = fields.Char(help="The backend field to fill.")

    def action_fix(self):
        """Open (or run) what fixes this finding."""
        check_retail_access(self, "read")
        self.ensure_one()
        backend = self.backend_id
        if self.check == "mapping":
            check_retail_access(backend, "write", GROUP_MANAGER)
            targets = [m for m in MAP_TARGETS.get(self.map_kind, []) if m in self.env]
            context = {
                "default_backend_id": backend.id,
                "default_kind": self.map_kind,
                "default_external_value": self.channel_value,
                "retail_readiness_item_id": self.id,
            }
            if targets:
                context["default_odoo_ref"] = "%s,0" % targets[0]
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Map %(value)s", value=self.channel_value),
                "res_model": "retail.value.map",
                "view_mode": "form",
                "views": [(self.env.ref("retail_connector_base.retail_value_map_view_form_readiness").id, "form")],
                "target": "new",
                "context": context,
            }
        if self.check == "connection":
            return backend.action_test_connection()
        if self.check == "webhook" and self.field_name == "registration":
            return backend.action_open_reconciliations()
        if self.check == "sku" and self.field_name == "channel_sku":
            return backend.action_suggest_mappings()
        if self.check == "sku":
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Products without SKU"),
                "res_model": "product.product",
                "view_mode": "list,form",
                "domain": backend._products_without_sku_domain(),
            }
        if self.check == "warehouse" and not backend.warehouse_id:
            check_retail_access(backend, "write", GROUP_MANAGER)
            warehouse = self.env["stock.warehouse"].search([("company_id", "=", backend.company_id.id)], limit=1)
            if warehouse:
                backend.warehouse_id = warehouse
                return backend.action_check_readiness()
        return {
            "type": "ir.actions.act_window",
            "res_model": "retail.backend",
            "res_id": backend.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }


class RetailValueMap(models.Model):
    _inherit = "retail.value.map"

    def action_map_and_check_again(self):
        """Save the mapping (done by the form) and show the backend's readiness checked again."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        return self.backend_id.action_check_readiness()

    @api.model_create_multi
    def create(self, vals_list):
        maps = super().create(vals_list)
        item = self.env["retail.readiness.item"].browse(self.env.context.get("retail_readiness_item_id")).exists()
        if item and item.backend_id in maps.backend_id:
            # the finding is fixed: the list no longer shows it
            item.sudo().unlink()
        return maps


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    go_live_state = fields.Selection(
        GO_LIVE_STATES, string="Go-live", default="live", required=True, tracking=True, copy=False,
        help="Not live: the backend sends and schedules nothing (no export, no flush, no scheduled run) until "
        "its readiness check passes or a manager puts it live.",
    )
    go_live_auto = fields.Boolean(
        string="Go live once configured", default=True, copy=False,
        help="A backend not live goes live by itself as soon as its essentials (endpoint, credentials) are saved. "
        "Off once a manager takes it off live.",
    )
    go_live_date = fields.Datetime(string="Live since", readonly=True, copy=False)
    go_live_reason = fields.Text(string="Why not live", compute="_compute_go_live_reason")
    readiness_item_ids = fields.One2many("retail.readiness.item", "backend_id", string="Readiness findings")
    readiness_checked_at = fields.Datetime(string="Readiness checked", readonly=True, copy=False)
    readiness_blocking_count = fields.Integer(compute="_compute_readiness_counts")
    readiness_warning_count = fields.Integer(compute="_compute_readiness_counts")

    @api.depends("readiness_item_ids.severity")
    def _compute_readiness_counts(self):
        for backend in self:
            items = backend.readiness_item_ids
            backend.readiness_blocking_count = len(items.filtered(lambda i: i.severity == "blocking"))
            backend.readiness_warning_count = len(items) - backend.readiness_blocking_count

    @api.depends("go_live_state", "endpoint_url", "backend_type", "readiness_item_ids")
    def _compute_go_live_reason(self):
        for backend in self:
            if backend.go_live_state == "live":
                backend.go_live_reason = False
                continue
            missing = [item["name"] for item in backend._readiness_essentials()]
            blocking = backend.readiness_item_ids.filtered(lambda i: i.severity == "blocking").mapped("name")
            reasons = list(dict.fromkeys(missing + blocking))
            if reasons:
                reason = self.env._(
                    "Not live: nothing is sent to the channel and nothing is scheduled until this is fixed:\n%s",
                    "\n".join("• %s" % r for r in reasons))
            elif not backend.go_live_auto:
                reason = self.env._(
                    "Not live: held by a manager until its readiness check passes and it goes live.")
            else:
                reason = self.env._(
                    "Not live: run the readiness check and go live to start sending.")
            waiting = backend._waiting_event_count() if backend.id and not backend.go_live_auto else 0
            if waiting:
                reason += "\n" + self.env._(
                    "%(count)s events received from the channel wait: they are applied when it goes live.",
                    count=waiting)
            backend.go_live_reason = reason

    def _waiting_event_count(self):
        """Return how many events of the backend wait to be applied."""
        self.ensure_one()
        return self.env["retail.event"].sudo().search_count(
            [("backend_id", "=", self.id), ("state", "in", ("received", "queued"))])

    # ------------------------------------------------------------------ live or not
    def _is_live(self):
        """Return whether the backend may send and schedule (go-live passed)."""
        self.ensure_one()
        return self.go_live_state == "live"

    def _can_send(self, domain):
        return self._is_live() and super()._can_send(domain)

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        explicit = {i for i, vals in enumerate(vals_list) if "go_live_state" in vals}
        for index, backend in enumerate(backends):
            quiet = backend.with_context(tracking_disable=True, retail_no_audit=True)
            if index in explicit and backend.go_live_state == "setup" and "go_live_auto" not in vals_list[index]:
                quiet.go_live_auto = False  # created not live on purpose: it waits for its check
            elif index not in explicit and backend._readiness_essentials():
                # saved without what its traffic needs: not live until it is there
                quiet.write({"go_live_state": "setup"})
            elif backend.go_live_state == "live" and not backend.go_live_date:
                quiet.go_live_date = fields.Datetime.now()
        return backends

    def write(self, vals):
        res = super().write(vals)
        if {"go_live_state", "go_live_auto"} & set(vals):
            self.env.registry.clear_cache()  # the gateway's cached view of the backend (_gateway_applies)
        if set(vals) - GO_LIVE_FIELDS:
            self._auto_go_live()
        return res

    # ------------------------------------------------------------------ inbound while not live
    @ormcache("backend_id")
    def _gateway_applies(self, backend_id):
        """Return whether what a backend's channel posts is applied: not when it is held not live on purpose.

        Cached for the gateway, cleared when the backend goes live or off.
        """
        backend = self.sudo().with_context(active_test=False).browse(backend_id).exists()
        return not backend or backend.go_live_state == "live" or backend.go_live_auto

    def _gateway_config(self, backend_id):
        """A backend held not live keeps what its channel posts: stored, not applied, until it is live."""
        config = super()._gateway_config(backend_id)
        if config is None or self._gateway_applies(backend_id):
            return config
        return config._replace(modes=tuple(
            (domain, "batch" if INBOUND_ACTIONS.get(mode, "apply") == "apply" else mode, off_inbound, phase)
            for domain, mode, off_inbound, phase in config.modes))

    def _wake_waiting_events(self):
        """Have the events kept while the backend was not live applied, domain by domain."""
        self.ensure_one()
        Event = self.env["retail.event"].sudo()
        self.env["retail.event"].flush_model(["backend_id", "domain", "state"])
        self.env.cr.execute(
            "SELECT DISTINCT domain FROM retail_event WHERE backend_id = %s AND state IN ('received', 'queued')",
            (self.id,))
        for (domain,) in self.env.cr.fetchall():
            if inbound_handling(self._gateway_config(self.id), domain)[0] == "apply":
                Event._wake(self.id, domain or "orders")

    def _run_scheduled_domain(self, domain):
        if not self._is_live():
            # a run queued before the backend was taken off live
            return "Not live: nothing run for %s on %s" % (domain, self.name)
        return super()._run_scheduled_domain(domain)

    def _auto_go_live(self):
        """Put live the backends waiting for their essentials, once they are all there."""
        for backend in self.filtered(lambda b: b.go_live_state == "setup" and b.go_live_auto):
            if not backend._readiness_essentials():
                backend._go_live(self.env._("its endpoint and credentials are set"))

    def _go_live(self, why):
        self.ensure_one()
        # logged below with the reason, not as a plain field change
        self.sudo().with_context(retail_no_audit=True).write(
            {"go_live_state": "live", "go_live_date": fields.Datetime.now()})
        self.env["retail.audit.log"]._log(self, "write", {self.id: "Go-live: not live → live (%s)" % why})
        self.message_post(body=self.env._("Live: %(why)s. Changes are now sent to the channel.", why=why))
        self.env["retail.export.request"]._flush_waiting(self)
        self._wake_waiting_events()

    # ------------------------------------------------------------------ what is checked
    def _readiness_required_fields(self):
        """Return [(field, label)] the channel type needs before any traffic; channel addons refine."""
        self.ensure_one()
        return [("endpoint_url", self.env._("Endpoint URL"))]

    def _readiness_essentials(self):
        """Return the blocking findings known without calling the channel: required fields left empty."""
        self.ensure_one()
        backend = self.sudo()
        items = []
        for field_name, label in self._readiness_required_fields():
            if not backend[field_name]:
                items.append({
                    "check": "field", "severity": "blocking", "sequence": 1, "field_name": field_name,
                    "name": self.env._("%(label)s is not set: every call to the channel would fail.", label=label),
                    "fix_label": self.env._("Set %(label)s", label=label),
                })
        return items

    def _readiness_channel_values(self, unreadable=None):
        """Return {value map kind: {channel value: details}} the channel names (taxes, gateways, carriers).

        Read from the channel by its ``channel.settings`` component when it has one (a tax's details
        give its ``rate``, a fraction), and from what its failed events named without a mapping (a
        tax's ``percent``). A component that could read only part of them lists what it could not
        under ``errors`` (``[{"what", "error"}]``): those are added to ``unreadable``.
        """
        self.ensure_one()
        values = {}
        with self.work_on(self._name) as work:
            for component in work.many_components(usage="channel.settings"):
                settings = dict(component.read_settings() or {})
                for problem in settings.pop("errors", None) or ():
                    if unreadable is not None:
                        unreadable.append(problem)
                for key, found in settings.items():
                    kind = CHANNEL_VALUE_KINDS.get(key, key)
                    for item in found or ():
                        details = dict(item) if isinstance(item, dict) else {"code": item}
                        value = details.get("code") or details.get("name")
                        if value:
                            values.setdefault(kind, {})[str(value)] = details
        events = self.env["retail.event"].sudo().search(
            [("backend_id", "=", self.id), ("state", "in", ("failed", "dead")), ("failure_subject", "!=", False)],
            limit=500)
        for event in events:
            subject = event._failure_subject()
            if subject.get("type") in MAP_TARGETS and subject.get("value"):
                details = {"percent": subject["rate"]} if subject.get("rate") is not None else {}
                values.setdefault(subject["type"], {}).setdefault(str(subject["value"]), details)
        return values

    def _tax_by_rate(self, details):
        """Return the Odoo sales tax an unmapped channel tax falls back to (same rate), or an empty recordset."""
        Tax = self.env["account.tax"].sudo()
        try:
            percent = float(details["percent"]) if details.get("percent") is not None else float(details["rate"]) * 100
        except (KeyError, TypeError, ValueError):
            return Tax
        return Tax.search([("type_tax_use", "=", "sale"), ("amount_type", "=", "percent"),
                           ("company_id", "=", self.company_id.id)]).filtered(
            lambda t: abs(t.amount - percent) < 1e-4)[:1]

    def _products_without_sku_domain(self):
        return [("sale_ok", "=", True), ("default_code", "=", False), ("type", "!=", "service"),
                "|", ("company_id", "=", False), ("company_id", "=", self.company_id.id)]

    def _readiness_findings(self):
        """Return every finding of the readiness check, the channel asked (connection, settings)."""
        self.ensure_one()
        items = self._readiness_essentials()
        if not items:
            try:
                with self.work_on(self._name) as work:
                    work.component(usage="connection.tester").test_connection()
            except (ChannelError, UserError) as exc:
                items.append({
                    "check": "connection", "severity": "blocking", "sequence": 2,
                    "name": self.env._("The connection test fails: %(error)s", error=exc.args[0] if exc.args else exc),
                    "fix_label": self.env._("Test again"),
                })
            else:
                unreadable = []
                try:
                    channel_values = self._readiness_channel_values(unreadable)
                except (ChannelError, UserError) as exc:
                    channel_values = {}
                    items.append({
                        "check": "connection", "severity": "warning", "sequence": 3,
                        "name": self.env._("The channel's settings could not be read: %(error)s",
                                           error=exc.args[0] if exc.args else exc),
                        "fix_label": self.env._("Test again"),
                    })
                for problem in unreadable:
                    items.append({
                        "check": "connection", "severity": "warning", "sequence": 3,
                        "name": self.env._("The channel's %(what)s could not be read, so they are not checked: "
                                           "%(error)s", what=problem.get("what"), error=problem.get("error")),
                        "fix_label": self.env._("Test again"),
                    })
                labels = dict(self.env["retail.value.map"]._fields["kind"].selection)
                for kind, found in sorted(channel_values.items()):
                    for value, details in sorted(found.items()):
                        if self._mapped(kind, value):
                            continue
                        label = labels.get(kind, kind)
                        fallback = self._tax_by_rate(details) if kind == "tax" else None
                        if self.strict_mappings:
                            severity = "blocking"
                            name = self.env._("%(kind)s “%(value)s” of the channel has no mapping in Odoo: with strict "
                                              "mappings, its orders stop.", kind=label, value=value)
                        elif kind == "tax" and not fallback:
                            severity = "blocking"
                            name = self.env._("Tax “%(value)s” of the channel has no mapping and no Odoo sales tax has "
                                              "its rate: its orders fail.", value=value)
                        else:
                            # Odoo's default (or the tax of the same rate) is used: right only by chance
                            severity = "warning"
                            name = self.env._("%(kind)s “%(value)s” of the channel has no mapping: %(fallback)s is "
                                              "used.", kind=label, value=value,
                                              fallback=fallback.display_name if fallback else self.env._("Odoo's default"))
                        items.append({
                            "check": "mapping", "severity": severity, "sequence": 5, "map_kind": kind,
                            "channel_value": value, "name": name, "fix_label": self.env._("Map it"),
                        })
        if not self.warehouse_id:
            items.append({"check": "warehouse", "severity": "warning", "sequence": 6,
                          "name": self.env._("No warehouse: orders ship from, and stock is read in, the company's first "
                                             "warehouse."), "fix_label": self.env._("Use the company's warehouse")})
        if not self.pricelist_id:
            items.append({"check": "pricelist", "severity": "warning", "sequence": 7,
                          "name": self.env._("No pricelist: the channel gets the products' sales prices."),
                          "fix_label": self.env._("Set a pricelist")})
        no_sku = self.env["product.product"].search_count(self._products_without_sku_domain())
        if no_sku:
            items.append({"check": "sku", "severity": "warning", "sequence": 8,
                          "name": self.env._("%(count)s products sold have no SKU (internal reference): the channel "
                                             "cannot match them.", count=no_sku),
                          "fix_label": self.env._("Open them")})
        items += self._reconciliation_findings()
        if not self.sudo().webhook_secret:
            items.append({"check": "webhook", "severity": "warning", "sequence": 9,
                          "name": self.env._("No webhook secret: the channel's webhooks to %(url)s are refused until "
                                             "it is set and registered with the channel.", url=self.webhook_endpoint),
                          "fix_label": self.env._("Set the webhook secret")})
        skew = self._clock_skew()
        if skew:
            items.append({"check": "clock", "severity": "warning", "sequence": 10,
                          "name": self.env._("The channel's clock is about %(s)d s ahead of Odoo's: events look "
                                             "newer than they are and recent changes may be taken as stale.", s=skew),
                          "fix_label": self.env._("Open the backend")})
        return items

    def _reconciliation_findings(self):
        """Return findings from the backend's latest reconciliations: channel SKUs that match no Odoo product,
        webhooks the channel had missing or disabled."""
        self.ensure_one()
        Line = self.env["retail.reconciliation.line"].sudo()
        runs = self.env["retail.reconciliation.run"].sudo().search(
            [("backend_id", "=", self.id), ("state", "=", "done")], order="id desc", limit=20)
        latest = {}
        for run in runs:
            latest.setdefault(run.domain, run)
        run_ids = [run.id for run in latest.values()]
        items = []
        skus = Line.search_count([("run_id", "in", run_ids), ("kind", "=", "missing_in_odoo"),
                                  ("domain", "in", ("inventory", "pricing", "catalog"))])
        if skus:
            items.append({"check": "sku", "severity": "warning", "sequence": 8, "field_name": "channel_sku",
                          "name": self.env._("%(count)s channel SKUs match no Odoo product: their orders fail.",
                                             count=skus),
                          "fix_label": self.env._("Suggest mappings")})
        webhooks = Line.search([("run_id", "in", run_ids), ("kind", "=", "webhook_disabled")])
        if webhooks:
            items.append({"check": "webhook", "severity": "warning", "sequence": 9, "field_name": "registration",
                          "name": self.env._("Webhooks were not registered on the channel (%(topics)s): the last "
                                             "reconciliation registered them again.",
                                             topics=", ".join(sorted(set(webhooks.mapped("key"))))),
                          "fix_label": self.env._("Open the reconciliation")})
        return items

    def _clock_skew(self):
        """Return how many seconds the channel's clock runs ahead of Odoo's, from recent events (0: none seen)."""
        self.ensure_one()
        self.env["retail.event"].flush_model(["channel_timestamp", "received_at", "backend_id"])
        self.env.cr.execute(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM channel_timestamp - received_at))
            FROM (SELECT channel_timestamp, received_at FROM retail_event
                  WHERE backend_id = %s AND channel_timestamp IS NOT NULL AND received_at >= %s
                  ORDER BY id DESC LIMIT 200) recent
            """,
            (self.id, fields.Datetime.now() - timedelta(days=1)),
        )
        ahead = self.env.cr.fetchone()[0] or 0
        return int(ahead) if ahead > CLOCK_SKEW_SECONDS else 0

    # ------------------------------------------------------------------ actions
    def action_check_readiness(self):
        """Run the readiness check; list what would make traffic fail, each with its fix."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        findings = self._readiness_findings()
        Item = self.env["retail.readiness.item"].sudo()
        Item.search([("backend_id", "=", self.id)]).unlink()
        Item.create([dict(item, backend_id=self.id) for item in findings])
        self.sudo().with_context(retail_no_audit=True).readiness_checked_at = fields.Datetime.now()
        return self._readiness_action()

    def _readiness_action(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Readiness of %(name)s", name=self.name),
            "res_model": "retail.backend",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("retail_connector_base.retail_backend_view_form_readiness").id, "form")],
            "target": "new",
        }

    def action_go_live(self):
        """Run the readiness check and put the backend live when nothing blocks."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        action = self.action_check_readiness()
        if self.readiness_blocking_count:
            return action
        self.with_context(retail_no_audit=True).go_live_auto = True
        if self.go_live_state != "live":
            self._go_live(self.env._("the readiness check passed"))
        return {"type": "ir.actions.act_window_close", "infos": {"live": True}}

    def action_go_live_anyway(self):
        """Put the backend live despite its findings (managers, audited)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for backend in self.filtered(lambda b: b.go_live_state != "live"):
            backend._go_live(self.env._("put live by %(user)s despite the readiness check", user=self.env.user.name))
        return True

    def action_take_off_live(self):
        """Stop all traffic of the backend until it goes live again (managers, audited)."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.with_context(retail_no_audit=True).write({"go_live_state": "setup", "go_live_auto": False})
        self.env["retail.audit.log"]._log(self, "write", {b.id: "Go-live: live → not live" for b in self})
        for backend in self:
            backend.message_post(body=self.env._("Taken off live: nothing is sent or scheduled until it goes live."))
        return True


class RetailSyncPolicy(models.Model):
    _inherit = "retail.sync.policy"

    @api.model
    def _cron_run(self, policy_id):
        policy = self.browse(policy_id).exists()
        if policy and not policy.backend_id._is_live():
            return  # not live: no scheduled work
        return super()._cron_run(policy_id)

    def action_run_now(self):
        """Refuse to run a backend's policies while it is not live, saying why."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for backend in self.backend_id.filtered(lambda b: not b._is_live()):
            raise UserError(self.env._(
                "%(backend)s is not live, so nothing of it runs or is sent to the channel.\n%(why)s\n"
                "Run its readiness check and put it live first (Check readiness, then Go live on the backend).",
                backend=backend.name, why=backend.go_live_reason or ""))
        return super().action_run_now()

    def write(self, vals):
        switched_on = self.browse()
        if vals.get("mode") and vals["mode"] != "off":
            switched_on = self.filtered(lambda p: p.mode == "off")
        for policy in switched_on:
            backend = policy.backend_id
            missing = backend._readiness_essentials() if backend._is_live() else []
            if missing:
                raise UserError(self.env._(
                    "%(domain)s cannot be switched on for %(backend)s, its traffic would fail:\n%(items)s",
                    domain=policy.domain, backend=backend.name, items="\n".join("• %s" % i["name"] for i in missing)))
        return super().write(vals)


class RetailExportRequest(models.Model):
    _inherit = "retail.export.request"

    @api.model
    def _request(self, backend, domain, records):
        if not backend._is_live():
            return None  # not live: it hears of nothing until it goes live
        return super()._request(backend, domain, records)

    @api.model
    def _schedule_flush(self, backends, domain, delay=0, channel=None):
        live = backends.filtered(lambda b: b.go_live_state == "live")
        if live:
            return super()._schedule_flush(live, domain, delay=delay, channel=channel)
        return None
