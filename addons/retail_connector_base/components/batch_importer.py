# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import hashlib
import json
from datetime import timedelta

from odoo import fields

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.inbound import InboundError
from ..models.retail_event import new_correlation_id


class ChangesBatchImporter(AbstractComponent):
    """Reads a channel's changes since the policy's checkpoint into the event inbox.

    The polling fallback and the reconciliation of real-time flows: what it reads goes through
    the same inbox, idempotency and processing as webhooks, so there is one processing path.
    Channels implement ``_fetch_changes``.
    """

    _name = "retail.changes.batch.importer"
    _inherit = "retail.base"
    _apply_on = ["retail.backend", "retail.reconciliation.run"]
    _domain = None  # the sync policy domain this batch serves
    _topic = None  # the topic given to polled changes
    _binding_model = None  # where imported objects are bound, to tell missing from outdated
    _run = None
    _checked = 0

    def reconcile(self, run):
        """Import what the channel changed since the checkpoint, recording each repair on ``run``.

        Returns how many channel objects were compared.
        """
        self._run = run
        try:
            self.run()
        finally:
            self._run = None
        return self._checked

    def run(self):
        """Import every change since checkpoint - overlap; return a one-line summary."""
        backend = self.backend_record
        policy = backend.policy_for(self._domain)
        started = fields.Datetime.now()
        since = policy.checkpoint - timedelta(minutes=policy.overlap_minutes) if policy.checkpoint else None
        Event = self.env["retail.event"]
        correlation_id = new_correlation_id()
        new, known, rejected, newest = [], 0, [], None
        self._checked = 0
        with backend.work_on("retail.event") as work:
            parser = work.component(usage="event.parser")
            for data in self._fetch_changes(since):
                body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
                try:
                    inbound = parser.parse(self._topic, {}, data, body)
                except InboundError as exc:
                    rejected.append("%s" % exc)
                    continue
                inbound.idempotency_key = "poll:%s" % hashlib.sha256(
                    ("%s|%s" % (inbound.aggregate_key, inbound.channel_timestamp)).encode()
                ).hexdigest()
                self._checked += 1
                event_id, duplicate = Event._insert_received(backend, inbound, body.decode(), "poll", correlation_id)
                if duplicate:
                    known += 1
                else:
                    new.append(event_id)
                    self._record_repair(inbound, event_id)
                stamp = inbound.channel_timestamp and inbound.channel_timestamp.replace(tzinfo=None)
                newest = max(newest, stamp) if newest and stamp else (stamp or newest)
        Event.browse(new)._enqueue()
        # never move the checkpoint past what was read, nor past when the read started
        policy.checkpoint = min(newest, started) if newest else (policy.checkpoint or started)
        for reason in rejected:
            backend.message_post(body=self.env._("A polled change was refused: %(reason)s", reason=reason))
        return "%s: %d new, %d already known, %d refused (checkpoint %s)" % (
            self._domain, len(new), known, len(rejected), policy.checkpoint
        )

    def _record_repair(self, inbound, event_id):
        run = getattr(self, "_run", None)
        if not run:
            return
        binder = self.binder_for(self._binding_model)
        binding = binder.to_internal(inbound.aggregate_key)
        if binding and binding.external_updated_at and inbound.channel_timestamp and (
            binding.external_updated_at >= inbound.channel_timestamp.replace(tzinfo=None)
        ):
            return  # the same version read again through the overlap
        run._add(
            "outdated_in_odoo" if binding else "missing_in_odoo",
            inbound.aggregate_key,
            odoo_value=binding.external_updated_at if binding else None,
            channel_value=inbound.channel_timestamp,
            action="repaired",
            message=self.env._("imported through the inbox as event %(event)s", event=event_id),
            res_model="retail.event",
            res_id=event_id,
        )

    def _fetch_changes(self, since):
        """Yield the channel's changed objects (JSON data) updated at or after ``since``."""
        raise NotImplementedError


class GenericOrdersBatchImporter(Component):
    """Polls ``GET /api/v1/orders?updated_since=`` of a generic channel, page by page.

    It is the orders reconciliation of the generic channel: what webhooks missed is imported.
    """

    _name = "retail.generic.orders.batch.importer"
    _inherit = "retail.changes.batch.importer"
    _usage = "orders.reconciler"
    _binding_model = "retail.sale.order.binding"
    _backend_type = "generic"
    _domain = "orders"
    _topic = "orders/updated"

    def _fetch_changes(self, since):
        backend = self.backend_record
        client = backend._http_client()
        headers = {"Authorization": "Bearer " + (backend.sudo().api_secret or "")}
        params = {"limit": 100}
        if since:
            params["updated_since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        while True:
            page = client.request("GET", "/api/v1/orders", headers=headers, params=params).data or {}
            yield from page.get("orders", [])
            if not page.get("next_cursor"):
                return
            params = {"limit": 100, "cursor": page["next_cursor"]}
