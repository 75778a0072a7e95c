# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Amazon (Selling Partner API) backends: credentials, the shared access token, the SQS notifications queue."""

import hashlib
import json
import logging
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.retail_connector_base.lib.http import ChannelError
from odoo.addons.retail_connector_base.lib.inbound import InboundError
from odoo.addons.retail_connector_base.models.fields_secret import SecretChar
from odoo.addons.retail_connector_base.models.retail_access import GROUP_MANAGER, check_retail_access
from odoo.addons.retail_connector_base.models.retail_event import new_correlation_id

from ..lib.amazon.auth import LWA_TOKEN_URL, AccessToken
from ..lib.amazon.client import ENDPOINTS
from ..lib.amazon.mapping import WAITING, needs_personal_data, notification_order_id, order_status, order_to_canonical
from ..lib.amazon.returns import FBA_RETURNS, MFN_RETURNS

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "retail_connector_base.group_retail_manager"
ORDER_TOPIC = "amazon/order"
RETURN_TOPIC = "amazon/return"
AFN_WAREHOUSE_CODE = "AFN"
# the operation buckets of one process, per database and backend: every client of a backend shares them
_LIMITERS = {}
_LIMITERS_LOCK = threading.Lock()
# notifications read per run: at most this many SQS batches of 10
SQS_BATCHES = 10


class RetailAmazonToken(models.Model):
    """The current LWA access token of an Amazon backend, shared by every worker, stored encrypted.

    Kept apart from the backend so that refreshing it (under a lock of its own, in a transaction
    of its own) never waits for a transaction that changed the backend."""

    _name = "retail.amazon.token"
    _description = "Amazon access token"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    access_token = SecretChar(groups="base.group_system")
    expires_at = fields.Float(help="Epoch seconds")

    _backend_unique = models.Constraint("UNIQUE(backend_id)", "One access token per backend.")


class _DatabaseTokenStore:
    """LwaAuth's token store on ``retail.amazon.token``: one refresh at a time across processes.

    ``exclusive`` holds a transaction-level advisory lock in a cursor of its own, and what
    ``save`` writes there is committed when it ends: other workers read it at once.
    """

    def __init__(self, backend):
        self._backend_id = backend.id
        self._env = backend.env
        self._locked_env = None

    def _record(self, env):
        return env["retail.amazon.token"].sudo().search([("backend_id", "=", self._backend_id)], limit=1)

    def load(self):
        env = self._locked_env
        if env is None:
            # a token this process saw is taken from the process cache, else from the database
            cached = _TOKENS.get((self._env.cr.dbname, self._backend_id))
            if cached:
                return cached
            with self._env.registry.cursor() as cr:
                return self._read(api.Environment(cr, SUPERUSER_ID, {}))
        return self._read(env)

    def _read(self, env):
        record = self._record(env)
        token = AccessToken(record.access_token, record.expires_at) if record and record.access_token else None
        if token:
            _TOKENS[(env.cr.dbname, self._backend_id)] = token
        return token

    @contextmanager
    def exclusive(self):
        with self._env.registry.cursor() as cr:
            cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (hash_key("retail-amazon-token"), self._backend_id))
            self._locked_env = api.Environment(cr, SUPERUSER_ID, {})
            try:
                yield self
            finally:
                self._locked_env = None

    def save(self, token):
        env = self._locked_env
        record = self._record(env)
        values = {"access_token": token.value, "expires_at": token.expires_at}
        if record:
            record.write(values)
        else:
            env["retail.amazon.token"].sudo().create(dict(values, backend_id=self._backend_id))
        _TOKENS[(env.cr.dbname, self._backend_id)] = token


_TOKENS = {}  # (database, backend id) -> the AccessToken this process last saw


def hash_key(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


class RetailBackendAmazon(models.Model):
    _inherit = "retail.backend"

    backend_type = fields.Selection(selection_add=[("amazon", "Amazon (Selling Partner API)")],
                                    ondelete={"amazon": "cascade"})
    amazon_region = fields.Selection([("na", "North America"), ("eu", "Europe"), ("fe", "Far East")],
                                     string="SP-API region", default="eu",
                                     help="The endpoint is the region's unless the endpoint URL says otherwise.")
    amazon_marketplace_ids = fields.Char(string="Marketplace ids",
                                         help="Comma-separated, e.g. A1PA6795UKMFR9 (Germany), A1F83G8C2ARO7P (UK).")
    amazon_seller_id = fields.Char(string="Seller id (merchant token)")
    amazon_refresh_token = SecretChar(string="LWA refresh token", groups=MANAGER_GROUP, copy=False,
                                      help="Given when the seller authorised the app (Atzr|...).")
    amazon_lwa_token_url = fields.Char(string="LWA token URL", default=LWA_TOKEN_URL)
    amazon_sqs_queue_url = fields.Char(string="Notifications queue (SQS URL)",
                                       help="The SQS queue the ORDER_CHANGE subscription's destination delivers to.")
    amazon_aws_region = fields.Char(string="SQS region", default="eu-west-1")
    amazon_aws_access_key_id = fields.Char(string="AWS access key id", groups=MANAGER_GROUP, copy=False)
    amazon_aws_secret_access_key = SecretChar(string="AWS secret access key", groups=MANAGER_GROUP, copy=False)
    amazon_afn_warehouse_id = fields.Many2one(
        "stock.warehouse", string="Amazon fulfilment warehouse",
        help="Orders Amazon fulfils (FBA) are recorded against this warehouse's stock, without a delivery to ship. "
             "Made on the first such order when empty.")
    amazon_pending_reports = fields.Json(
        string="Reports being made", copy=False, readonly=True,
        help="Reports asked for that Amazon had not made yet when the run gave up waiting: the next run reads "
             "them instead of asking again ({report type: {id, since}}).")

    # ------------------------------------------------------------------ set-up
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("backend_type") == "amazon" and not vals.get("endpoint_url"):
                vals["endpoint_url"] = ENDPOINTS[vals.get("amazon_region") or "eu"]
        return super().create(vals_list)

    @api.onchange("amazon_region")
    def _onchange_amazon_region(self):
        if self.backend_type == "amazon" and self.amazon_region:
            self.endpoint_url = ENDPOINTS[self.amazon_region]

    def _readiness_required_fields(self):
        if self.backend_type == "amazon":
            return [("api_key", self.env._("LWA client id")), ("api_secret", self.env._("LWA client secret")),
                    ("amazon_refresh_token", self.env._("LWA refresh token")),
                    ("amazon_marketplace_ids", self.env._("Marketplace ids")),
                    ("amazon_seller_id", self.env._("Seller id"))]
        return super()._readiness_required_fields()

    def _default_policy_values(self):
        values = super()._default_policy_values()
        if self.backend_type == "amazon":
            for vals in values:
                if vals["domain"] == "orders":
                    # notifications in near real time, polling by LastUpdatedAfter as the reconciliation
                    vals.update(interval_number=10, interval_type="minutes")
                elif vals["domain"] == "inventory":
                    vals.update(interval_number=30, interval_type="minutes")
                elif vals["domain"] == "returns":
                    # the returns reports, hourly; a day read again each time for the rows Amazon adds late
                    # (a return already read is known by its RMA and not recorded twice)
                    vals.update(interval_number=1, interval_type="hours", overlap_minutes=24 * 60)
        return values

    def _amazon_marketplaces(self):
        self.ensure_one()
        ids = [m.strip() for m in (self.amazon_marketplace_ids or "").split(",") if m.strip()]
        if not ids:
            raise UserError(self.env._("Backend %(name)s has no Amazon marketplace id.", name=self.name))
        return ids

    # ------------------------------------------------------------------ clients
    def _amazon_sqs(self):
        """Return a boto3 SQS client of the notifications queue's endpoint."""
        self.ensure_one()
        import boto3

        backend = self.sudo()
        parts = urlsplit(backend.amazon_sqs_queue_url or "")
        if parts.scheme not in ("http", "https"):
            raise UserError(self.env._("Backend %(name)s has no SQS queue URL.", name=self.name))
        return boto3.client("sqs", region_name=backend.amazon_aws_region or "eu-west-1",
                            endpoint_url="%s://%s" % (parts.scheme, parts.netloc),
                            aws_access_key_id=backend.amazon_aws_access_key_id or None,
                            aws_secret_access_key=backend.amazon_aws_secret_access_key or None)

    # ------------------------------------------------------------------ orders in
    def _amazon_order_data(self, client, order):
        """Return the canonical order (JSON data) of an SP-API order, or None while it is pending.

        Its items are read, and its buyer and shipping address through a Restricted Data Token
        when it is a merchant-fulfilled order to ship.
        """
        if order_status(order) in WAITING:
            return None
        items = client.get_order_items(order["AmazonOrderId"])
        if needs_personal_data(order):
            order = client.get_order_with_pii(order["AmazonOrderId"])
        return order_to_canonical(order, items).to_dict()

    def _amazon_read_notifications(self):
        """Read the ORDER_CHANGE notifications waiting on the SQS queue into the inbox; return a summary.

        Each notified order is read from the SP-API (the notification carries only its summary)
        and stored as an event; the messages are deleted from the queue once that is committed.
        A message that cannot be read is deleted with a note on the backend; one whose order
        cannot be fetched now stays on the queue and comes back after its visibility timeout.
        """
        self.ensure_one()
        if not self.amazon_sqs_queue_url:
            return "no notifications queue"
        sqs = self._amazon_sqs()
        queue_url = self.sudo().amazon_sqs_queue_url
        client = self._channel_client()
        Event = self.env["retail.event"]
        correlation_id = new_correlation_id()
        with self.work_on("retail.event") as work:
            parser = work.component(usage="event.parser")
        done, new, waiting, refused, wake = [], 0, 0, 0, {}
        for _batch in range(SQS_BATCHES):
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           VisibilityTimeout=60).get("Messages", [])
            if not messages:
                break
            for message in messages:
                try:
                    order_id, summary = notification_order_id(message.get("Body") or "")
                except ValueError as exc:
                    self.message_post(body=self.env._("An Amazon notification was not read: %(reason)s", reason=exc))
                    refused += 1
                    done.append(message["ReceiptHandle"])
                    continue
                if summary.get("OrderStatus") in WAITING:
                    waiting += 1  # a pending order waits for the notification of its next status
                    done.append(message["ReceiptHandle"])
                    continue
                try:
                    data = self._amazon_order_data(client, client.get_order(order_id))
                except ChannelError as exc:
                    _logger.info("Amazon order %s of a notification not read now: %s", order_id, exc)
                    continue
                if data is None:
                    waiting += 1
                    done.append(message["ReceiptHandle"])
                    continue
                body = json.dumps(data, sort_keys=True, separators=(",", ":"))
                try:
                    inbound = parser.parse(ORDER_TOPIC, {}, data, body.encode())
                except InboundError as exc:
                    self.message_post(body=self.env._("Amazon order %(order)s was refused: %(reason)s",
                                                      order=order_id, reason=exc))
                    refused += 1
                    done.append(message["ReceiptHandle"])
                    continue
                event_id, duplicate = Event._insert_received(self, inbound, body, "webhook", correlation_id)
                if not duplicate:
                    new += 1
                    wake.setdefault(inbound.domain or "orders", event_id)
                done.append(message["ReceiptHandle"])
        Event.browse(sorted(wake.values()))._enqueue()
        if done:
            handles = list(done)

            def delete():
                for start in range(0, len(handles), 10):
                    sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start:start + 10])])

            self.env.cr.postcommit.add(delete)
        return "notifications: %d new order version(s), %d pending, %d refused" % (new, waiting, refused)

    def action_amazon_read_notifications(self):
        """Read the waiting ORDER_CHANGE notifications now and say what came."""
        check_retail_access(self, "write", GROUP_MANAGER)
        self.ensure_one()
        message = self._amazon_read_notifications()
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Amazon notifications"), "message": message, "type": "success"}}

    @api.model
    def _cron_amazon_notifications(self):
        """Read every Amazon backend's notifications queue (scheduled every minute)."""
        backends = self.search([("backend_type", "=", "amazon"), ("amazon_sqs_queue_url", "!=", False)])
        for backend in backends:
            if backend.state == "paused":
                continue
            policy = backend.policy_for("orders")
            if not policy or policy.mode == "off":
                continue
            try:
                with self.env.cr.savepoint():
                    backend._amazon_read_notifications()
            except (ChannelError, UserError) as exc:
                _logger.warning("Amazon notifications of %s not read: %s", backend.name, exc)
            self.env.cr.commit()

    # ------------------------------------------------------------------ returns
    def _amazon_returns_reports(self):
        """Return the returns reports to read: the merchant-fulfilled one, and the FBA customer returns once the
        backend has Amazon-fulfilled orders (its Amazon fulfilment warehouse)."""
        self.ensure_one()
        return [MFN_RETURNS, FBA_RETURNS] if self.amazon_afn_warehouse_id else [MFN_RETURNS]

    # ------------------------------------------------------------------ Amazon-fulfilled orders
    def _amazon_afn_warehouse(self):
        """Return the warehouse of the stock Amazon holds and ships (made on first use)."""
        self.ensure_one()
        if self.amazon_afn_warehouse_id:
            return self.amazon_afn_warehouse_id
        Warehouse = self.env["stock.warehouse"].sudo().with_company(self.company_id)
        warehouse = Warehouse.search([("company_id", "=", self.company_id.id), ("code", "=", AFN_WAREHOUSE_CODE)], limit=1)
        if not warehouse:
            warehouse = Warehouse.create({"name": "Amazon fulfilment", "code": AFN_WAREHOUSE_CODE,
                                         "company_id": self.company_id.id})
        self.sudo().amazon_afn_warehouse_id = warehouse
        return warehouse

