# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The relay outbox: events of a domain the legacy platform owns, forwarded to it unchanged.

Stored in the transaction that stores the event (one row per event, unique: a channel's
retry of the same webhook relays nothing more), then sent by a job in event order: the
original body with the channel's headers, or re-signed with the backend's relay secret, and
``X-Retail-Relay-Id`` for the legacy platform to recognise a delivery it already took. A
transport failure or a 5xx/429 waits and retries with back-off; a refusal (4xx), or too many
attempts, makes a dead letter that a person sends again. Waits follow the events' retry pattern. Each row is marked sent in a
transaction of its own as soon as the legacy platform acknowledged it.
"""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib.http import parse_retry_after
from .retail_access import GROUP_MANAGER, check_retail_access
from .retail_sync_policy import DOMAINS

_logger = logging.getLogger(__name__)

RELAY_STATES = [("pending", "Waiting"), ("sending", "Sending"), ("done", "Delivered"), ("dead", "Dead letter"),
                ("cancelled", "Cancelled")]
MAX_ATTEMPTS = 8
BATCH = 50
# headers of the hop, not of the message: never forwarded
HOP_HEADERS = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-connection", "accept-encoding", "cookie",
                         "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"})
RELAY_CHANNEL = "root.retail.relay"


def relay_signature(secret, body, timestamp):
    """Return ``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``, the relay's own signature."""
    signed = str(int(timestamp)).encode() + b"." + body
    return "t=%d,v1=%s" % (int(timestamp), hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())


def forwardable_headers(headers):
    """Return the headers of a request worth relaying (the hop's own left out), as a dict."""
    return {name: value for name, value in (headers or {}).items() if name.lower() not in HOP_HEADERS}


class RetailRelay(models.Model):
    _name = "retail.relay"
    _description = "Retail Connector event relayed to the legacy platform"
    _order = "id desc"
    _rec_name = "topic"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    domain = fields.Selection(DOMAINS, readonly=True)
    event_id = fields.Many2one("retail.event", required=True, ondelete="cascade", readonly=True)
    topic = fields.Char(readonly=True)
    idempotency_key = fields.Char(related="event_id.idempotency_key", string="Event key")
    state = fields.Selection(RELAY_STATES, default="pending", required=True, readonly=True, index=True)
    body = fields.Text(readonly=True, help="The body as the channel sent it.")
    # the channel's signature and any credential it sends: managers only
    headers = fields.Text(readonly=True, groups="retail_connector_base.group_retail_manager",
                          help="The channel's headers, as JSON.")
    attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    sent_at = fields.Datetime(readonly=True)
    response_status = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)

    _event_uniq = models.Constraint("UNIQUE(event_id)", "An event is relayed once.")
    _due_idx = models.Index("(backend_id, id) WHERE state = 'pending'")

    # ------------------------------------------------------------------ intake
    @api.model
    def _store(self, backend, event_id, domain, topic, body, headers):
        """Put one stored event in the outbox (nothing when it is there already); return whether it was added."""
        self.env.cr.execute(
            """
            INSERT INTO retail_relay (backend_id, company_id, domain, event_id, topic, state, body, headers, attempts,
                                      create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, 0, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id
            """,
            (backend.id, backend.company_id.id, domain, event_id, topic, body,
             json.dumps(forwardable_headers(headers)), self.env.uid, self.env.uid),
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _wake(self, backend_id, eta=None):
        """Queue a job sending what waits for the backend's legacy platform."""
        self.sudo().with_delay(channel=RELAY_CHANNEL, eta=eta,
                               description="Relay events of backend %s to the legacy platform" % backend_id
                               )._send_due(backend_id)

    # ------------------------------------------------------------------ sending
    @api.model
    def _send_due(self, backend_id):
        """Send the backend's due relays, oldest first; return a summary for the job."""
        backend = self.env["retail.backend"].sudo().with_context(active_test=False).browse(backend_id).exists()
        if not backend:
            return "no backend"
        backend._check_channel_calls_allowed()  # a neutralised copy relays nothing
        if not backend.legacy_endpoint_url:
            return "no legacy endpoint: the relays wait"
        self.flush_model()  # what a person changed in this transaction (a retry) is what the claim must see
        Requests = self.env["retail.export.request"]
        with Requests._own_cursor() as cr:
            cr.execute(
                """
                UPDATE retail_relay SET state = 'sending', write_date = now() at time zone 'UTC'
                WHERE id IN (SELECT id FROM retail_relay
                             WHERE backend_id = %s AND state = 'pending'
                               AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING id
                """,
                (backend.id, fields.Datetime.now(), BATCH),
            )
            claimed = sorted(row[0] for row in cr.fetchall())
        sent = failed = 0
        waiting = list(claimed)
        try:
            for relay_id in claimed:
                relay = self.sudo().browse(relay_id)
                relay.invalidate_recordset()
                ok, status, error, permanent, retry_after = relay._post(backend)
                waiting.remove(relay_id)
                self._settle(relay_id, ok, status, error, permanent, retry_after)
                if ok:
                    sent += 1
                    continue
                failed += 1
                if not permanent:
                    # in event order: what follows waits for this one
                    break
        finally:
            if waiting:
                self._settle_many(waiting, "pending")
        self.invalidate_model()
        if len(claimed) == BATCH and not failed:
            self._wake(backend.id)
        return "%d relayed, %d failed, %d waiting" % (sent, failed, len(waiting))

    def _post(self, backend):
        """POST this relay to the legacy endpoint; return (ok, status, error, permanent, retry after seconds)."""
        self.ensure_one()
        body = (self.body or "").encode()
        original = json.loads(self.headers or "{}")
        if backend.legacy_relay_signing == "resign":
            secret = backend.sudo().legacy_relay_secret or ""
            if not secret:
                return False, None, "no relay secret to sign with: set it on the backend's Migration tab", True, None
            headers = {"Content-Type": original.get("Content-Type") or "application/json",
                       "X-Retail-Topic": self.topic or "",
                       "X-Retail-Relay-Signature": relay_signature(secret, body, time.time())}
        else:
            headers = dict(original)
        headers.update({"X-Retail-Relay-Id": str(self.id), "X-Retail-Event-Key": self.event_id.idempotency_key or "",
                        "X-Retail-Relayed-By": "Retail Connector"})
        try:
            resp = requests.post(backend.legacy_endpoint_url, data=body, headers=headers,
                                 timeout=backend.timeout or 30, allow_redirects=False)
        except requests.RequestException as exc:
            return False, None, "%s: %s" % (type(exc).__name__, exc), False, None
        if 200 <= resp.status_code < 300:
            return True, resp.status_code, None, False, None
        error = "HTTP %s: %s" % (resp.status_code, (resp.text or "")[:500])
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 409, 425, 429)
        return False, resp.status_code, error, permanent, parse_retry_after(resp.headers.get("Retry-After"))

    @api.model
    def _settle(self, relay_id, ok, status, error, permanent, retry_after=None):
        """Record one attempt in a transaction of its own (sent stays sent whatever happens next)."""
        with self.env["retail.export.request"]._own_cursor() as cr:
            if ok:
                cr.execute("UPDATE retail_relay SET state = 'done', attempts = attempts + 1, response_status = %s, "
                           "sent_at = now() at time zone 'UTC', last_error = NULL, next_attempt_at = NULL, "
                           "write_date = now() at time zone 'UTC' WHERE id = %s", (status, relay_id))
                return
            cr.execute("SELECT attempts FROM retail_relay WHERE id = %s", (relay_id,))
            attempts = cr.fetchone()[0] + 1
            dead = permanent or attempts >= MAX_ATTEMPTS
            # the retry back-off (Settings), the legacy platform's Retry-After when it gives a longer wait
            delay = self.env["retail.retry.policy"]._delay(attempts, retry_after)
            cr.execute(
                "UPDATE retail_relay SET state = %s, attempts = %s, response_status = %s, last_error = %s, "
                "next_attempt_at = %s, write_date = now() at time zone 'UTC' WHERE id = %s",
                ("dead" if dead else "pending", attempts, status, error,
                 None if dead else fields.Datetime.now() + timedelta(seconds=delay), relay_id))
        if not permanent and attempts < MAX_ATTEMPTS and not self.env.context.get("retail_relay_no_retry_job"):
            self._wake(self.env["retail.relay"].sudo().browse(relay_id).backend_id.id, eta=delay)

    @api.model
    def _settle_many(self, ids, state):
        with self.env["retail.export.request"]._own_cursor() as cr:
            cr.execute("UPDATE retail_relay SET state = %s, write_date = now() at time zone 'UTC' "
                       "WHERE id IN %s AND state = 'sending'", (state, tuple(ids)))

    @api.model
    def _cron_sweep(self, grace_minutes=5):
        """Send what waits (due retries, rows of a job that died); free rows a dead job left sending."""
        self.env.cr.execute("UPDATE retail_relay SET state = 'pending' WHERE state = 'sending' AND write_date < %s",
                            (fields.Datetime.now() - timedelta(minutes=grace_minutes),))
        self.env.cr.execute(
            "SELECT DISTINCT r.backend_id FROM retail_relay r JOIN retail_backend b ON b.id = r.backend_id "
            "WHERE r.state = 'pending' AND b.active AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= %s)",
            (fields.Datetime.now(),))
        for (backend_id,) in self.env.cr.fetchall():
            self._wake(backend_id)
        # shadowed events whose job died before it computed them
        self.env.cr.execute("SELECT DISTINCT backend_id FROM retail_shadow_outcome WHERE verdict = 'pending' "
                            "AND create_date < %s", (fields.Datetime.now() - timedelta(minutes=grace_minutes),))
        for (backend_id,) in self.env.cr.fetchall():
            self.env["retail.shadow.outcome"]._wake(backend_id)

    # ------------------------------------------------------------------ people
    def action_retry(self):
        """Send dead or waiting relays again now."""
        check_retail_access(self, "write", GROUP_MANAGER)
        relays = self.filtered(lambda r: r.state in ("dead", "pending"))
        if not relays:
            raise UserError(self.env._("Only dead or waiting relays are sent again."))
        relays.sudo().write({"state": "pending", "next_attempt_at": False})
        for backend in relays.backend_id:
            self._wake(backend.id)
        return True

    def action_cancel(self):
        """Give up relays a person knows the legacy platform does not need."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.filtered(lambda r: r.state in ("dead", "pending")).sudo().write({"state": "cancelled"})
        return True
