# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime, time, timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .retail_access import GROUP_MANAGER, check_retail_access

DOMAINS = [
    ("orders", "Orders"),
    ("customers", "Customers"),
    ("inventory", "Inventory"),
    ("catalog", "Catalog"),
    ("pricing", "Pricing"),
    ("fulfilment", "Fulfilment"),
    ("returns", "Returns"),
    ("finance", "Finance"),
]
MODES = [
    ("realtime", "Real time (API + webhooks)"),
    ("event", "Event-driven"),
    ("batch", "Scheduled batch"),
    ("orchestrated", "Workflow orchestration"),
    ("off", "Off"),
]
MODE_HELP = (
    "Real time: events from the channel are applied as soon as they are stored, and Odoo's changes are sent at "
    "once (only the channel's rate limit holds them), both in a job channel of their own that no backlog elsewhere "
    "delays; partner systems may also read availability and order state live over the API. "
    "Event-driven: changes are queued, gathered over the latency target and sent in the channel's bulk calls; "
    "events are applied by the domain's jobs. "
    "Scheduled batch: nothing moves per change. Odoo's changes wait for the scheduled run, which sends every record "
    "changed since the last run in the bulk calls; events that arrive wait for the run too, which applies them and "
    "reads the channel's changes since its checkpoint. "
    "Workflow orchestration: as event-driven, and the domain's records (orders, returns) go through the workflow "
    "engine. Off: nothing is sent, and events that arrive are refused or kept as ignored (see Events while off)."
)
# the job channel of real-time work, apart from the domains' own (odoo.conf gives it its capacity)
REALTIME_CHANNEL = "root.retail.realtime"
# the wait of a change when no flush ran lately: what one transaction changes goes in one flush
CALM_DEBOUNCE = 0.5
# under a burst, flushes follow one another this share of the latency target apart
BURST_PACE = 0.75
REFUND_ACTIONS = [
    ("credit_note", "Credit note"),
    ("return", "Return of goods"),
    ("return_credit_note", "Return and credit note"),
    ("review", "Activity for review"),
]


class RetailSyncPolicy(models.Model):
    """How one business domain synchronises with one backend, and when its batch runs."""

    _name = "retail.sync.policy"
    _inherit = ["retail.audited"]
    _audit_exclude = frozenset({"checkpoint", "last_run", "cron_id"})
    _description = "Retail Connector Sync Policy"
    _order = "backend_id, sequence, id"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    domain = fields.Selection(DOMAINS, required=True)
    mode = fields.Selection(MODES, required=True, default="batch", help=MODE_HELP)
    scheduled_run = fields.Boolean(
        string="On schedule",
        default=True,
        help="Run the policy's batch (and its reconciliation) on its schedule. Unticked: only when a person clicks "
        "Run now, the mode's per-change behaviour unchanged (e.g. orders by webhook only, no polling).",
    )
    off_inbound = fields.Selection(
        [("refuse", "Refuse them"), ("ignore", "Keep them as ignored")],
        string="Events while off",
        required=True,
        default="refuse",
        help="What happens to the channel's events of this domain while the policy is off: refused (the channel "
        "is answered 409, naming the policy, and the refusal is recorded) or stored as ignored events, kept "
        "for the record and replayable by a person.",
    )
    direction = fields.Selection(
        [("inbound", "Channel to Odoo"), ("outbound", "Odoo to channel"), ("both", "Both ways")],
        required=True,
        default="inbound",
    )
    system_of_record = fields.Selection(
        [("odoo", "Odoo"), ("channel", "Channel")],
        required=True,
        default="odoo",
        help="Which system owns the domain's values (for products and customers, the backend's Ownership tab may "
        "give single fields to the other side). Enforced everywhere: when Odoo owns them, a different value on the "
        "channel is put back by the next reconciliation or export and recorded as a conflict; when the channel owns "
        "them, Odoo sends none of them to the channel, Odoo's edits of them on records bound to this backend are "
        "refused or overwritten at the next run (On an Odoo edit), and a reconciliation that finds Odoo's value "
        "different sets it to the channel's and records a conflict (Synchronisation > Conflicts). Changes made by "
        "the connector itself are never refused.",
    )
    on_odoo_edit = fields.Selection(
        [("refuse", "Refused"), ("overwrite", "Accepted, overwritten at the next run")],
        string="On an Odoo edit",
        default="refuse",
        required=True,
        help="When the channel owns the domain (or a field of it): what happens to an edit made in Odoo of a value "
        "the channel owns, on a record bound to this backend. Refused: the edit fails with a message naming the "
        "owner, and the refusal is recorded as a conflict. Accepted: the edit is saved but not sent to the channel, "
        "and the next reconciliation sets Odoo back to the channel's value, recording a conflict.",
    )
    interval_number = fields.Integer(
        string="Every", default=1, help="How often the batch or reconciliation run happens."
    )
    interval_type = fields.Selection(
        [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days")], default="hours", required=True
    )
    cutoff_hour = fields.Float(
        string="Cut-off time",
        help="Daily cut-off (in the backend company's time zone) for finance batches: "
        "the run starts at this time and takes what happened before it.",
    )
    debounce_seconds = fields.Float(
        string="Latency target (s)",
        default=2.0,
        help="Longest a change waits before the flush that sends it starts. The wait adapts: about half a "
        "second when the channel is calm; under a burst, flushes follow one another three quarters of it apart, so that "
        "changes to one object in between are sent as one export.",
    )
    paused = fields.Boolean(help="Stop sending this domain to the channel; changes wait until resumed.")
    checkpoint = fields.Datetime(
        help="Changes up to this time were read from the channel; the next batch reads from here, minus the overlap."
    )
    overlap_minutes = fields.Integer(
        default=5, help="How far before the checkpoint the next batch starts again, for changes that arrive late."
    )
    refund_action = fields.Selection(
        REFUND_ACTIONS,
        string="On a channel refund",
        default="credit_note",
        help="Returns policy: what a refund made on the channel creates in Odoo. Credit note: a credit note "
        "for the refunded lines and amount. Return of goods: a return picking for restocked goods that "
        "shipped, and restocked goods that did not ship taken off the order. Both, or an activity for a "
        "person to decide.",
    )
    orchestrate = fields.Boolean(
        string="Orchestrate",
        help="Orders policy: each new order from this channel gets a workflow (customer, payment, taxes, "
        "reservation, warehouse release, shipment, invoice, channel notification) shown as a timeline on the "
        "sale order.",
    )
    release_trigger = fields.Selection(
        [("confirm", "On confirmation"), ("availability", "When available"), ("wave", "In waves, on schedule")],
        string="Release to the warehouse",
        default="availability",
        help="Fulfilment policy of a warehouse: when a transfer is sent to the warehouse. On confirmation: "
        "as soon as it is confirmed; when available: once its goods are reserved; in waves: every ready "
        "transfer at each run of this policy.",
    )
    drift_tolerance = fields.Float(
        string="Adjust up to",
        default=2.0,
        help="Inventory policy of a warehouse: a stock snapshot that differs from Odoo by at most this "
        "quantity (per product and location) is applied as an inventory adjustment; a larger drift waits "
        "for review.",
    )
    drift_tolerance_percent = fields.Float(
        string="or up to (%)",
        default=5.0,
        help="...or by at most this share of Odoo's quantity, whichever is larger.",
    )
    cron_id = fields.Many2one("ir.cron", string="Scheduled action", readonly=True, copy=False, ondelete="set null")
    next_run = fields.Datetime(related="cron_id.nextcall", string="Next run")
    last_run = fields.Datetime(readonly=True, copy=False)

    _backend_domain_uniq = models.Constraint(
        "UNIQUE(backend_id, domain)", "A backend has one sync policy per domain."
    )
    _interval_positive = models.Constraint("CHECK(interval_number > 0)", "The interval must be positive.")

    @api.model
    def _policy_vals(self, domain, mode, direction, system_of_record, interval_number, interval_type):
        """Return the values of one policy line, ordered as the domains list."""
        order = [d for d, _label in DOMAINS]
        return {
            "domain": domain,
            "sequence": order.index(domain) + 1,
            "mode": mode,
            "direction": direction,
            "system_of_record": system_of_record,
            "interval_number": interval_number,
            "interval_type": interval_type,
        }

    @api.constrains("cutoff_hour")
    def _check_cutoff(self):
        for policy in self:
            if policy.cutoff_hour and not 0 <= policy.cutoff_hour < 24:
                raise ValidationError(
                    self.env._(
                        "Cut-off time %(value)s of the %(domain)s policy of %(backend)s must be between 00:00 and 23:59.",
                        value=policy.cutoff_hour,
                        domain=policy.domain,
                        backend=policy.backend_id.name,
                    )
                )

    @api.depends("backend_id", "domain")
    def _compute_display_name(self):
        labels = dict(DOMAINS)
        for policy in self:
            policy.display_name = "%s / %s" % (policy.backend_id.name, labels.get(policy.domain, policy.domain))

    # ------------------------------------------------------------------ crons from policies
    @api.model_create_multi
    def create(self, vals_list):
        policies = super().create(vals_list)
        policies._sync_cron()
        self.env.registry.clear_cache()  # the gateways' cached modes
        return policies

    def write(self, vals):
        before = {policy.id: policy.mode for policy in self} if "mode" in vals else {}
        res = super().write(vals)
        if {"mode", "interval_number", "interval_type", "cutoff_hour", "backend_id", "scheduled_run"} & set(vals):
            self._sync_cron()
        if {"mode", "off_inbound", "direction", "domain", "backend_id"} & set(vals):
            self.flush_recordset()  # what the gateway reads again once its cache is cleared
            self.env.registry.clear_cache()  # the gateway of every server reads the modes from its cache
        for policy in self.filtered(lambda p: before.get(p.id) not in (None, p.mode)):
            policy._mode_changed()
        return res

    def _mode_changed(self):
        """Take the new mode into account for what waits: from the next change on, nothing else to do.

        What a batch or an off policy kept waiting goes now when the new mode sends on change; events
        the old mode kept for the batch run are applied now when the new one applies them on arrival.
        """
        self.ensure_one()
        backend = self.backend_id
        if self._sends_on_change() and backend.active:
            self.env.cr.execute(
                "SELECT 1 FROM retail_export_request WHERE backend_id = %s AND domain = %s AND state = 'pending' LIMIT 1",
                (backend.id, self.domain),
            )
            if self.env.cr.fetchone():
                self.env["retail.export.request"]._schedule_flush(backend, self.domain, channel=self._job_channel())
        if self._applies_on_arrival() and backend.active:
            self.env.cr.execute(
                "SELECT 1 FROM retail_event WHERE backend_id = %s AND domain = %s "
                "AND state IN ('received', 'queued', 'processing') LIMIT 1",
                (backend.id, self.domain),
            )
            if self.env.cr.fetchone():
                self.env["retail.event"]._wake(backend.id, self.domain)

    # ------------------------------------------------------------------ what the mode means
    def _sends_on_change(self):
        """Return whether a change of this domain in Odoo is sent without waiting for the scheduled run."""
        self.ensure_one()
        return self.mode in ("realtime", "event", "orchestrated") and self.direction in ("outbound", "both")

    def _applies_on_arrival(self):
        """Return whether the channel's events of this domain are applied as they arrive (not by the run)."""
        self.ensure_one()
        return self.mode in ("realtime", "event", "orchestrated")

    def _job_channel(self):
        """Return the job channel of this domain's flushes and dispatchers."""
        self.ensure_one()
        return REALTIME_CHANNEL if self.mode == "realtime" else "root.retail.%s" % self.domain

    def _export_delay(self):
        """Return the seconds a new change waits for its flush: none in real time, the adaptive debounce else."""
        self.ensure_one()
        return 0.0 if self.mode == "realtime" else self._flush_delay()

    def _orchestrated(self):
        """Return whether the domain's records go through the workflow engine."""
        self.ensure_one()
        return self.mode == "orchestrated" or self.orchestrate

    def unlink(self):
        crons = self.sudo().cron_id
        res = super().unlink()
        crons.unlink()
        self.env.registry.clear_cache()
        return res

    def _needs_cron(self):
        self.ensure_one()
        return self.mode != "off" and self.scheduled_run

    def _cron_values(self):
        """Return the ir.cron values that run this policy's batch on its schedule."""
        self.ensure_one()
        labels = dict(DOMAINS)
        vals = {
            "name": "Retail Connector: %s %s" % (self.backend_id.name, labels[self.domain].lower()),
            "model_id": self.env["ir.model"]._get_id(self._name),
            "state": "code",
            "code": "model._cron_run(%d)" % self.id,
            "interval_number": self.interval_number,
            "interval_type": self.interval_type,
            "active": self.backend_id.active and self.mode != "off",
        }
        if self.cutoff_hour and self.interval_type == "days":
            vals["nextcall"] = self._next_cutoff()
        return vals

    def _next_cutoff(self, now=None):
        """Return the next cut-off instant (naive UTC) after ``now``."""
        self.ensure_one()
        tz = pytz.timezone(self.backend_id.company_id.partner_id.tz or self.env.user.tz or "UTC")
        now = now or fields.Datetime.now()
        local_now = pytz.utc.localize(now).astimezone(tz)
        hours = int(self.cutoff_hour)
        minutes = round((self.cutoff_hour - hours) * 60)
        local_cut = tz.localize(datetime.combine(local_now.date(), time(hours, min(minutes, 59))))
        if local_cut <= local_now:
            local_cut = tz.localize(datetime.combine(local_now.date() + timedelta(days=1), time(hours, min(minutes, 59))))
        return local_cut.astimezone(pytz.utc).replace(tzinfo=None)

    def _sync_cron(self):
        """Create, update or archive each policy's scheduled action to match the policy."""
        Cron = self.env["ir.cron"].sudo()
        for policy in self:
            if not policy._needs_cron():
                if policy.cron_id:
                    policy.cron_id.sudo().active = False
                continue
            vals = policy._cron_values()
            if policy.cron_id:
                policy.cron_id.sudo().write(vals)
            else:
                # a new schedule's first run comes one interval on (a person may run it now), not
                # the moment its backend is saved, half configured
                vals.setdefault("nextcall", fields.Datetime.now() + relativedelta(
                    **{policy.interval_type: policy.interval_number}))
                policy.sudo().cron_id = Cron.create(vals)

    @api.model
    def _cron_run(self, policy_id):
        """Run one policy's scheduled batch: enqueue the domain's batch job for its backend."""
        policy = self.browse(policy_id).exists()
        if not policy or policy.mode == "off" or policy.backend_id.state == "paused":
            return
        policy._enqueue_run()

    def action_pause(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.paused = True

    def action_resume(self):
        check_retail_access(self, "write", GROUP_MANAGER)
        self.paused = False
        for policy in self.filtered(lambda p: p._sends_on_change()):
            self.env["retail.export.request"]._schedule_flush(policy.backend_id, policy.domain,
                                                              channel=policy._job_channel())

    def action_run_now(self):
        """Enqueue each policy's batch run now, whatever its schedule; return the jobs."""
        check_retail_access(self, "write", GROUP_MANAGER)
        return self._enqueue_run()

    def _send_kept_exports(self):
        """Send what a scheduled-batch policy kept for its run (every record changed since the last one); return a summary."""
        self.ensure_one()
        if self.direction not in ("outbound", "both"):
            return ""
        self.env.cr.execute(
            "SELECT 1 FROM retail_export_request WHERE backend_id = %s AND domain = %s AND state = 'pending' LIMIT 1",
            (self.backend_id.id, self.domain),
        )
        if not self.env.cr.fetchone():
            return ""
        return self.env["retail.export.request"]._flush_domain(self.backend_id, self.domain, batch_run=True)

    def _enqueue_run(self):
        jobs = self.env["queue.job"]
        for policy in self:
            policy.last_run = fields.Datetime.now()
            delayable = policy.backend_id._as_connector(policy.backend_id).with_delay(
                channel="root.retail.%s" % policy._job_channel_suffix(),
                description="%s: %s run" % (policy.backend_id.name, policy.domain),
                identity_key="retail-policy-%d-%s" % (policy.id, policy.last_run),
            )._run_scheduled_domain(policy.domain)
            if delayable and getattr(delayable, "db_record", None):
                jobs |= delayable.db_record()
        return jobs.ids

    def _run_again_later(self, seconds):
        """Queue this policy's run again in ``seconds``: a run that left work the channel is still preparing (a
        report being made) comes back for it instead of holding its worker until it is ready."""
        self.ensure_one()
        backend = self.backend_id
        backend._as_connector(backend).with_delay(
            eta=seconds,
            channel="root.retail.%s" % self._job_channel_suffix(),
            description="%s: %s run, again for what the channel was preparing" % (backend.name, self.domain),
            identity_key="retail-policy-again-%d" % self.id,
        )._run_scheduled_domain(self.domain)

    def _flush_delay(self, since=None):
        """Return the seconds a new export request of this policy waits for its flush (adaptive debounce).

        Calm (no flush began within the latency target): half a second, enough to gather what
        one transaction changed. Burst (a flush began lately): flushes follow one another three
        quarters of a target apart, at once when that time is past, so that each carries everything
        that changed meanwhile (one call for many changes) and a change waits at most three
        quarters of the target for its flush, the rest being for the flush itself.

        ``since``: seconds since the last flush began, when the caller knows them (the flush
        itself, whose transaction began before it recorded its start).
        """
        self.ensure_one()
        target = max(self.debounce_seconds or 0.0, 0.0)
        if since is None:
            self.env.cr.execute(
                "SELECT started_at, now() at time zone 'UTC' FROM retail_export_flush "
                "WHERE backend_id = %s AND domain = %s",
                (self.backend_id.id, self.domain),
            )
            started, now = self.env.cr.fetchone() or (None, None)
            since = (now - started).total_seconds() if started else None
        if since is None or since >= target or since < 0:
            return min(CALM_DEBOUNCE, target)
        return max(target * BURST_PACE - since, 0.0)

    def _job_channel_suffix(self):
        return "reconciliation" if self.domain in ("orders", "inventory", "pricing") else self.domain
