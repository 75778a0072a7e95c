# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""What each channel type can do for each domain, read from the components it has.

A domain can be switched on (policy mode other than off) only for what the channel has a
component for: Odoo's changes need the domain's exporter, the channel's changes need its
webhook topics, a batch importer or a reconciler. A policy that asks for nothing the channel
can do stays off and says why; a direction the channel lacks (e.g. orders both ways on a
storefront that takes no cancellation from Odoo) is skipped, never a failed job.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.component.core import ComponentRegistry, MetaComponent, WorkContext, _component_databases

from .retail_sync_policy import DOMAINS

# components that send a domain to the channel: (collection model of the work, usage)
SENDERS = {domain: [("retail.export.request", "%s.exporter" % domain)] for domain, _label in DOMAINS}
SENDERS["returns"] = SENDERS["returns"] + [("retail.return", "refund.exporter")]
# components that read a domain from the channel, besides the webhook topics of its parser
RECEIVERS = {domain: [("retail.backend", "%s.batch" % domain), ("retail.reconciliation.run", "%s.reconciler" % domain)]
             for domain, _label in DOMAINS}
RECEIVERS["finance"] = [("retail.payout", "payout.importer")]  # the finance batch runs a channel's payout importer
RECEIVERS["customers"] = RECEIVERS["customers"] + [("retail.backend", "customers.importer")]
# domains read along with another: a channel's customers come with its orders (the customer resolver)
READ_WITH = {"customers": "orders"}
# components run by a policy's scheduled run
SCHEDULED = {domain: [("retail.backend", "%s.batch" % domain), ("retail.reconciliation.run", "%s.reconciler" % domain)]
             for domain, _label in DOMAINS}
SCHEDULED["finance"] = RECEIVERS["finance"]


class RetailBackend(models.Model):
    _inherit = "retail.backend"

    def _components_registry(self):
        """Return the component registry of this database; while modules load, one built for the occasion.

        While modules load (an installation or an update, of one addon or of several in one go),
        the database's registry may predate the addon being loaded (its components are missing),
        so one is built from the components loaded so far, in the order of the addons'
        dependencies.
        """
        registry = _component_databases.get(self.env.cr.dbname)
        if registry and registry.ready and self.env.registry.ready:
            return registry
        # built once per transaction for the components loaded so far (modules load one after another)
        key = ("retail_components", tuple(sorted((m, len(c)) for m, c in MetaComponent._modules_components.items())))
        registry = self.env.cr.cache.get(key)
        if registry is None:
            registry = ComponentRegistry()
            for module in self._component_modules_in_order():
                registry.load_components(module)
            registry.ready = True
            self.env.cr.cache[key] = registry
        return registry

    def _component_modules_in_order(self):
        """Return the addons installed or being installed whose components are loaded, dependencies first."""
        cr = self.env.cr
        cr.execute("SELECT name FROM ir_module_module WHERE state IN ('installed', 'to upgrade', 'to install')")
        wanted = {name for (name,) in cr.fetchall()} & {m for m, c in MetaComponent._modules_components.items() if c}
        cr.execute(
            """
            SELECT m.name, d.name FROM ir_module_module_dependency d
            JOIN ir_module_module m ON m.id = d.module_id
            """
        )
        depends = {}
        for module, dependency in cr.fetchall():
            depends.setdefault(module, set()).add(dependency)
        order, seen = [], set()

        def visit(module):
            if module in seen:
                return
            seen.add(module)
            for dependency in sorted(depends.get(module, ())):
                visit(dependency)
            if module in wanted:
                order.append(module)

        for module in sorted(wanted):
            visit(module)
        return order

    def _has_component(self, model, usage, registry=None):
        self.ensure_one()
        work = WorkContext(model_name=model, collection=self, components_registry=registry or self._components_registry())
        return bool(work.many_components(usage=usage))

    def _topic_domains(self, registry=None):
        """Return the domains of the channel's webhook topics."""
        self.ensure_one()
        work = WorkContext(model_name="retail.event", collection=self,
                           components_registry=registry or self._components_registry())
        parsers = work.many_components(usage="event.parser")
        return {domain for parser in parsers for domain, _type in parser._topics.values()}

    def _domain_support(self, domain, registry=None):
        """Return {"send", "receive", "scheduled"}: whether this channel type sends, reads, runs ``domain``."""
        self.ensure_one()
        registry = registry or self._components_registry()
        topics = self._topic_domains(registry)

        def receives(name):
            return name in topics or any(self._has_component(m, u, registry) for m, u in RECEIVERS[name])

        receive = receives(domain) or (domain in READ_WITH and receives(READ_WITH[domain]))
        return {
            "send": any(self._has_component(m, u, registry) for m, u in SENDERS[domain]),
            "receive": receive,
            "scheduled": any(self._has_component(m, u, registry) for m, u in SCHEDULED[domain]),
            "events": domain in topics,
        }

    def _domain_refusal(self, domain, direction, support=None):
        """Return why ``domain`` cannot be switched on in ``direction`` on this backend, or None if it can."""
        self.ensure_one()
        support = support or self._domain_support(domain)
        sends = direction in ("outbound", "both") and support["send"]
        reads = direction in ("inbound", "both") and support["receive"]
        if sends or reads:
            return None
        label = dict(DOMAINS)[domain].lower()
        channel = dict(self._fields["backend_type"]._description_selection(self.env)).get(self.backend_type,
                                                                                          self.backend_type)
        if direction == "outbound":
            return self.env._("%(channel)s backends have no exporter for %(domain)s: Odoo cannot send it to the channel.",
                              channel=channel, domain=label)
        if direction == "inbound":
            return self.env._("%(channel)s backends read no %(domain)s from the channel (no webhook, import or "
                              "reconciliation for it).", channel=channel, domain=label)
        return self.env._("%(channel)s backends neither send %(domain)s to the channel nor read it from the channel.",
                          channel=channel, domain=label)

    def _fit_policy_values(self, values):
        """Switch off the default policies the channel cannot run, saying why."""
        self.ensure_one()
        registry = self._components_registry()
        for vals in values:
            if vals.get("mode", "batch") == "off":
                continue
            reason = self._domain_refusal(vals["domain"], vals.get("direction", "inbound"),
                                          self._domain_support(vals["domain"], registry))
            if reason:
                vals["mode"] = "off"
        return values

    def _sends_domain(self, domain):
        """Return whether this channel type has an exporter for ``domain`` (asked once per transaction)."""
        self.ensure_one()
        cache = self.env.cr.cache.setdefault("retail_domain_exporters", {})
        key = (self.backend_type, domain)
        if key not in cache:
            cache[key] = any(self._has_component(m, u) for m, u in SENDERS[domain][:1])
        return cache[key]


class RetailSyncPolicy(models.Model):
    _inherit = "retail.sync.policy"

    support_note = fields.Char(
        string="Channel support", compute="_compute_support_note",
        help="What this channel can do for the domain: a domain stays off when the channel has nothing for it, "
        "and a direction it lacks is skipped.")

    @api.depends("backend_id.backend_type", "domain", "direction", "mode")
    def _compute_support_note(self):
        registry = None
        for policy in self:
            backend = policy.backend_id
            if not backend or not policy.domain:
                policy.support_note = False
                continue
            registry = registry or backend._components_registry()
            support = backend._domain_support(policy.domain, registry)
            refusal = backend._domain_refusal(policy.domain, policy.direction, support)
            if refusal:
                policy.support_note = refusal
            elif policy.direction == "both" and not support["send"]:
                policy.support_note = self.env._("Read from the channel only: the channel takes no %(domain)s from Odoo.",
                                                 domain=dict(DOMAINS)[policy.domain].lower())
            elif policy.direction == "both" and not support["receive"]:
                policy.support_note = self.env._("Sent to the channel only: nothing of it is read from the channel.")
            else:
                policy.support_note = False

    @api.constrains("mode", "direction", "domain", "backend_id")
    def _check_channel_support(self):
        for policy in self.filtered(lambda p: p.mode != "off"):
            refusal = policy.backend_id._domain_refusal(policy.domain, policy.direction)
            if refusal:
                raise ValidationError(self.env._("The %(domain)s policy of %(backend)s stays off: %(reason)s",
                                                 domain=dict(DOMAINS)[policy.domain], backend=policy.backend_id.name,
                                                 reason=refusal))

    def _needs_cron(self):
        """A scheduled run only where it has something to do: the channel's batch or reconciliation, or what a
        scheduled-batch policy keeps for its run."""
        if not super()._needs_cron():
            return False
        support = self.backend_id._domain_support(self.domain)
        return support["scheduled"] or (self.mode == "batch" and (support["send"] or support["events"]))

    @api.model
    def _switch_off_unsupported(self, backend_types):
        """Switch off the policies of ``backend_types`` (made before the channel's support was checked) that the
        channel cannot run, and the scheduled runs with nothing to run.

        Called by the data of the addon of each channel type, once its components are loaded.
        """
        registry = None
        policies = self.with_context(active_test=False).search([("backend_id.backend_type", "in", backend_types)])
        for policy in policies.filtered(lambda p: p.mode != "off"):
            backend = policy.backend_id
            registry = registry or backend._components_registry()
            if backend._domain_refusal(policy.domain, policy.direction, backend._domain_support(policy.domain, registry)):
                policy.mode = "off"
        policies.filtered(lambda p: p.cron_id.active and not p._needs_cron())._sync_cron()
