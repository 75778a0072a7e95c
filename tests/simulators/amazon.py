"""Amazon Selling Partner API simulator: LWA, Orders v0, Tokens, Listings Items, Feeds and Reports on loopback,
with ORDER_CHANGE notifications on an SQS queue served by moto in server mode.

API (the documented shapes; the SP-API endpoint and the LWA token endpoint on one server)::

    POST /auth/o2/token                       grant_type=refresh_token&refresh_token&client_id&client_secret
         -> {"access_token": "Atza|...", "token_type": "bearer", "expires_in": 3600, "refresh_token": ...}
    GET  /orders/v0/orders?MarketplaceIds&LastUpdatedAfter[&OrderStatuses][&MaxResultsPerPage] | ?NextToken
         -> {"payload": {"Orders": [...], "NextToken": "...", "LastUpdatedBefore": "..."}}
    GET  /orders/v0/orders/{orderId}          -> {"payload": {order}}   (buyer and address with an RDT only)
    GET  /orders/v0/orders/{orderId}/orderItems[?NextToken] -> {"payload": {"AmazonOrderId", "OrderItems", "NextToken"}}
    POST /orders/v0/orders/{orderId}/shipmentConfirmation {"packageDetail": {...}, "marketplaceId"} -> 204
    POST /tokens/2021-03-01/restrictedDataToken {"restrictedResources": [...]} -> {"restrictedDataToken", "expiresIn"}
    PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds -> {"sku", "status", "submissionId", "issues"}
    POST /feeds/2021-06-30/documents {"contentType"} -> {"feedDocumentId", "url"}   (PUT the content to url)
    POST /feeds/2021-06-30/feeds {"feedType", "marketplaceIds", "inputFeedDocumentId"} -> 202 {"feedId"}
    GET  /feeds/2021-06-30/feeds/{feedId}     -> {"processingStatus": IN_QUEUE|IN_PROGRESS|DONE, "resultFeedDocumentId"}
    GET  /feeds/2021-06-30/documents/{id}     -> {"feedDocumentId", "url"}
    GET  /finances/v0/financialEventGroups?FinancialEventGroupStartedAfter[&...Before] | ?NextToken
         -> {"payload": {"FinancialEventGroupList": [...], "NextToken"}}
    GET  /finances/v0/financialEventGroups/{id}/financialEvents -> {"payload": {"FinancialEvents": {...}}}
    POST /reports/2021-06-30/reports {"reportType", "marketplaceIds", "dataStartTime"[, "dataEndTime"]} -> 202 {"reportId"}
    GET  /reports/2021-06-30/reports/{reportId} -> {"reportId", "reportType", "processingStatus": IN_QUEUE|IN_PROGRESS|
         DONE|CANCELLED|FATAL, "dataStartTime", "dataEndTime", "createdTime", "reportDocumentId" (DONE)}
    GET  /reports/2021-06-30/documents/{id}   -> {"reportDocumentId", "url"[, "compressionAlgorithm": "GZIP"]}

Every SP-API call needs ``x-amz-access-token``: a missing or unknown token answers 403
``Unauthorized`` (``Access to requested resource is denied.``), an expired one 403 with the
details ``The access token you provided has expired.``; errors are ``{"errors": [{"code",
"message", "details"}]}``. Each operation has its own token bucket (the documented usage plans,
scaled by ``rate_scale`` for tests); answers carry ``x-amzn-RateLimit-Limit`` and
``x-amzn-RequestId``, and a request past the bucket answers 429 ``QuotaExceeded``.
``throttle(operation, times)`` answers the next calls of an operation 429 (a storm),
``expire_tokens()`` makes every issued access token expired at once.

Feeds are processed ``feed_delay`` seconds after their creation: a JSON_LISTINGS_FEED's PATCH
messages set the SKUs' quantities, and a message of a SKU the seller has no listing of (or one
named by ``reject_sku``) is rejected in the processing report (``issues`` of severity ERROR).

Reports are processed ``report_delay`` seconds after their creation. The returns reports
(``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` for merchant-fulfilled orders,
``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA`` for Amazon-fulfilled ones) are tab-separated
flat files with the documented header, of the returns ``add_return`` made whose request date is
within [dataStartTime, dataEndTime or the report's creation]; a report with no row ends
CANCELLED, as Amazon cancels a report without data. ``report_gzip`` serves the documents
gzipped (``compressionAlgorithm`` GZIP); ``fail_reports(n)`` makes the next n reports FATAL.

Notifications: ``start()`` also starts moto's ThreadedMotoServer and creates the queue
``queue_url``; a status change sends the ORDER_CHANGE notification (``NotificationVersion``
1.0, ``Payload.OrderChangeNotification``) to it, unless ``drop_notifications(n)`` loses the next n.

For the demo, from the ``tests/`` directory::

    python -m simulators.amazon --port 8808 --sqs-port 8809 --sku RC-MUG --sku RC-CAP --orders 5 --trickle 60 \
        --settle-every 300
"""

from __future__ import annotations

import argparse
import copy
import gzip
import itertools
import json
import random
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

from .base import HttpError, Response, Simulator, TokenBucket, route

# Documented usage plans (requests per second, burst).
USAGE_PLANS = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "patchListingsItem": (5.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "listFinancialEventGroups": (0.5, 30),
    "listFinancialEventsByGroupId": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}
MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURN_COLUMNS = (
    "Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID", "Merchant RMA ID",
    "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID", "Label to be paid by",
    "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU", "Item Name", "Return quantity", "Return Reason", "In policy",
    "Return type", "Resolution", "Invoice number", "Return delivery date", "Order Amount", "Order quantity",
    "SafeT Action reason", "SafeT claim id", "SafeT claim state", "SafeT claim creation time",
    "SafeT claim reimbursement amount", "Refunded Amount",
)
FBA_RETURN_COLUMNS = (
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
    "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments",
)
AWS_ACCOUNT = "123456789012"
PII_FIELDS = ("Name", "AddressLine1", "AddressLine2", "AddressLine3", "Phone", "CompanyName")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, AttributeError):
        raise SpError(400, "InvalidInput", "%s is not an ISO 8601 date-time: %r" % (name, value)) from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpError(HttpError):
    """An SP-API error answer ``{"errors": [{"code", "message", "details"}]}``."""

    def __init__(self, status, code, message, details="", headers=None):
        super().__init__(status, code, message, headers=headers)
        self.code = code
        self.details_text = details

    def response(self) -> Response:
        return Response(self.status, {"errors": [{"code": self.code, "message": self.message,
                                                  "details": self.details_text}]}, dict(self.headers))


class AmazonSimulator(Simulator):
    name = "amazon"

    def __init__(self, *, client_id="amzn1.application-oa2-client.sim", client_secret="amzn-sim-secret",
                 refresh_token="Atzr|sim-refresh", seller_id="A3SIMSELLER", marketplace_id="A1PA6795UKMFR9",
                 token_ttl=3600, rate_scale=1.0, feed_delay=1.0, sqs=True, queue_name="sp-api-notifications",
                 currency="EUR", sqs_port=0, report_delay=1.0, report_gzip=False, **kw):
        super().__init__(**kw)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.token_ttl = token_ttl
        self.currency = currency
        self.sqs_port = sqs_port
        self.rate_scale = rate_scale
        self.feed_delay = feed_delay
        self.report_delay = report_delay
        self.report_gzip = report_gzip
        self.use_sqs = sqs
        self.queue_name = queue_name
        self.queue_url = None
        self.sqs_endpoint = None
        self._moto = None
        self._sqs = None
        self._lock = threading.RLock()
        self.tokens = {}  # access token -> expiry (epoch)
        self.rdts = {}  # restricted data token -> (expiry, {paths})
        self.token_requests = 0
        self.orders = {}  # AmazonOrderId -> order document (with PII)
        self.items = {}  # AmazonOrderId -> [order items]
        self.shipments = []  # confirmShipment bodies, with the order id
        self.listings = {}  # sku -> {"quantity": int}
        self.rejected_skus = {}  # sku -> reason
        self.documents = {}  # document id -> {"content": bytes, "contentType": str}
        self.feeds = {}  # feed id -> feed
        self.event_groups = {}  # financial event group id -> (group, FinancialEvents)
        self.returns = []  # report rows of the returns made by add_return: {"fba": bool, "at": datetime, "row": {...}}
        self.reports = {}  # report id -> report
        self._fatal_reports = 0
        self._storms = {}  # operation -> 429s left
        self._drops = 0
        self.notifications_sent = []
        self.notifications_dropped = []
        self.throttled = {}  # operation -> 429 answers
        self._buckets = {}
        self._seq = itertools.count(1)
        self.set_rate_scale(rate_scale)

    # ----------------------------------------------------------------- lifecycle

    def start(self):
        super().start()
        if self.use_sqs and self._moto is None:
            import logging

            import boto3
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request

            port = self.sqs_port or _free_port()
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto.start()
            self.sqs_endpoint = "http://127.0.0.1:%d" % port
            self._sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=self.sqs_endpoint,
                                     aws_access_key_id="testing", aws_secret_access_key="testing")
            self.queue_url = self._sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        return self

    def stop(self):
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        super().stop()

    @property
    def token_url(self):
        return self.url + "/auth/o2/token"

    def set_rate_scale(self, scale):
        """Scale every operation's rate (tests: a getOrders plan of one a minute is slow to wait for)."""
        self.rate_scale = scale
        self._buckets = {op: TokenBucket(rate * scale, burst) for op, (rate, burst) in USAGE_PLANS.items()}

    def set_plan(self, operation, rate, burst):
        self._buckets[operation] = TokenBucket(rate, burst)

    # ----------------------------------------------------------------- test controls

    def expire_tokens(self):
        """Every access token issued so far is expired from now on."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = time.time() - 1

    def throttle(self, operation, times):
        """The next ``times`` calls of ``operation`` answer 429 QuotaExceeded."""
        with self._lock:
            self._storms[operation] = self._storms.get(operation, 0) + times

    def drop_notifications(self, count=1):
        """The next ``count`` ORDER_CHANGE notifications are lost."""
        with self._lock:
            self._drops += count

    def reject_sku(self, sku, reason="The SKU is not eligible for this marketplace."):
        self.rejected_skus[sku] = reason

    def add_listing(self, sku, quantity=0):
        self.listings[sku] = {"quantity": quantity}

    def add_order(self, order_id=None, *, status="Unshipped", channel="MFN", items=(("SKU-1", 1, "10.00"),),
                  currency=None, shipping="0.00", buyer_email=None, name="Jane Doe", notify=True, purchase_date=None):
        """Add an order of ``items`` ((sku, quantity, unit price)); return its id. Notifies unless told not to."""
        currency = currency or self.currency
        order_id = order_id or "%03d-%07d-%07d" % (100 + next(self._seq) % 900, int(time.time()) % 10**7, next(self._seq))
        now = datetime.now(timezone.utc)
        total = sum(Decimal(price) * qty for _sku, qty, price in items) + Decimal(shipping)
        order = {
            "AmazonOrderId": order_id, "SellerOrderId": order_id,
            "PurchaseDate": _iso(purchase_date or now), "LastUpdateDate": _iso(now),
            "OrderStatus": status, "FulfillmentChannel": channel, "SalesChannel": "Amazon.de",
            "ShipServiceLevel": "Std DE Dom_1", "ShipmentServiceLevelCategory": "Standard",
            "OrderTotal": {"CurrencyCode": currency, "Amount": "%.2f" % total},
            "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": sum(q for _s, q, _p in items),
            "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "MarketplaceId": self.marketplace_id,
            "OrderType": "StandardOrder", "IsBusinessOrder": False, "IsPrime": False, "IsPremiumOrder": False,
            "IsReplacementOrder": False, "IsISPU": False,
            "LatestShipDate": _iso(now + timedelta(days=2)),
            "BuyerInfo": {"BuyerEmail": buyer_email or "%s@marketplace.amazon.de" % uuid.uuid4().hex[:16]},
            "ShippingAddress": {"Name": name, "AddressLine1": "Hauptstrasse 1", "City": "Berlin",
                                "PostalCode": "10115", "CountryCode": "DE", "StateOrRegion": "Berlin",
                                "Phone": "+49 30 1234567"},
        }
        rows = []
        for index, (sku, quantity, price) in enumerate(items):
            rows.append({
                "ASIN": "B0%08d" % (abs(hash(sku)) % 10**8), "SellerSKU": sku,
                "OrderItemId": "%014d" % (next(self._seq) * 1000 + index), "Title": "Item %s" % sku,
                "QuantityOrdered": quantity, "QuantityShipped": 0,
                "ItemPrice": {"CurrencyCode": currency, "Amount": "%.2f" % (Decimal(price) * quantity)},
                "ItemTax": {"CurrencyCode": currency, "Amount": "0.00"},
                "ShippingPrice": {"CurrencyCode": currency, "Amount": shipping if index == 0 else "0.00"},
                "PromotionDiscount": {"CurrencyCode": currency, "Amount": "0.00"},
            })
        if status == "Pending":  # Amazon gives no price of a pending order's items
            for row in rows:
                row.pop("ItemPrice")
        with self._lock:
            self.orders[order_id] = order
            self.items[order_id] = rows
        if notify:
            self.notify(order_id)
        return order_id

    def set_status(self, order_id, status, *, notify=True):
        """Change an order's status (``Pending`` -> ``Unshipped`` fills in its prices) and notify it."""
        with self._lock:
            order = self.orders[order_id]
            order["OrderStatus"] = status
            # a change is always later than the one before, to the second (the API's precision)
            order["LastUpdateDate"] = _iso(max(datetime.now(timezone.utc),
                                               _parse(order["LastUpdateDate"], "LastUpdateDate") + timedelta(seconds=1)))
            for row in self.items[order_id]:
                row.setdefault("ItemPrice", {"CurrencyCode": order["OrderTotal"]["CurrencyCode"],
                                             "Amount": order["OrderTotal"]["Amount"]})
        if notify:
            self.notify(order_id)

    def notify(self, order_id):
        """Send (or lose, as told) the ORDER_CHANGE notification of an order's current state."""
        order = self.orders[order_id]
        message = {
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": _iso(datetime.now(timezone.utc)),
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": self.seller_id, "AmazonOrderId": order_id,
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": order["LastUpdateDate"], "ChangeReason": "OrderStatusChange"},
                "Summary": {"MarketplaceId": order["MarketplaceId"], "OrderStatus": order["OrderStatus"],
                            "PurchaseDate": order["PurchaseDate"], "FulfillmentType": order["FulfillmentChannel"],
                            "OrderType": order["OrderType"],
                            "OrderItems": [{"OrderItemId": i["OrderItemId"], "SellerSKU": i["SellerSKU"],
                                            "Quantity": i["QuantityOrdered"]} for i in self.items[order_id]]},
            }},
            "NotificationMetadata": {"ApplicationId": self.client_id, "SubscriptionId": "sim-subscription",
                                     "PublishTime": _iso(datetime.now(timezone.utc)),
                                     "NotificationId": str(uuid.uuid4())},
        }
        with self._lock:
            if self._drops:
                self._drops -= 1
                self.notifications_dropped.append(message)
                return None
        self.notifications_sent.append(message)
        if self._sqs is not None:
            self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message))
        return message

    def queue_depth(self):
        attrs = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                                                       "ApproximateNumberOfMessagesNotVisible"])
        return {k: int(v) for k, v in attrs["Attributes"].items()}

    # ----------------------------------------------------------------- protocol plumbing

    def _operation(self, request, operation, *, rdt_path=None):
        """Check the access token and the operation's rate; return the answer headers."""
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        bucket = self._buckets.get(operation)
        if bucket is not None:
            headers["x-amzn-RateLimit-Limit"] = "%g" % bucket.rate
        token = request.header("x-amz-access-token") or ""
        now = time.time()
        with self._lock:
            expiry = self.tokens.get(token)
            rdt = self.rdts.get(token)
        if rdt is not None:
            if rdt[0] < now:
                raise SpError(403, "Unauthorized", "Access to requested resource is denied.",
                              "The access token you provided has expired.", headers)
            if rdt_path is None or rdt_path not in rdt[1]:
                raise SpError(403, "Unauthorized", "Access to requested resource is denied.",
                              "The restricted data token does not grant this resource.", headers)
        elif expiry is None:
            raise SpError(403, "Unauthorized", "Access to requested resource is denied.",
                          "The access token you provided is invalid.", headers)
        elif expiry < now:
            raise SpError(403, "Unauthorized", "Access to requested resource is denied.",
                          "The access token you provided has expired.", headers)
        with self._lock:
            storm = self._storms.get(operation, 0)
            if storm:
                self._storms[operation] = storm - 1
        allowed = not storm and (bucket is None or bucket.take()[0])
        if not allowed:
            with self._lock:
                self.throttled[operation] = self.throttled.get(operation, 0) + 1
            raise SpError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", "", headers)
        return headers, rdt is not None

    def _lookup(self, order_id):
        order = self.orders.get(order_id)
        if order is None:
            raise SpError(404, "NotFound", "Invalid AmazonOrderId: %s" % order_id)
        return order

    @staticmethod
    def _public(order, pii):
        order = copy.deepcopy(order)
        if not pii:
            order["BuyerInfo"] = {}
            address = order.get("ShippingAddress") or {}
            for name in PII_FIELDS:
                address.pop(name, None)
        return order

    # ----------------------------------------------------------------- LWA

    @route("POST", "/auth/o2/token", auth=False)
    def lwa_token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.token_requests += 1
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("refresh_token") != self.refresh_token:
            return Response(400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"})
        token = "Atza|" + uuid.uuid4().hex
        with self._lock:
            self.tokens[token] = time.time() + self.token_ttl
        return {"access_token": token, "refresh_token": self.refresh_token, "token_type": "bearer",
                "expires_in": self.token_ttl}

    # ----------------------------------------------------------------- orders

    @route("GET", "/orders/v0/orders", auth=False)
    def get_orders(self, request):
        headers, _rdt = self._operation(request, "getOrders")
        q = request.query
        if not q.get("MarketplaceIds"):
            raise SpError(400, "InvalidInput", "MarketplaceIds is required.", headers=headers)
        size = max(1, min(100, int(q.get("MaxResultsPerPage") or 100)))
        if q.get("NextToken"):
            try:
                state = json.loads(bytes.fromhex(q["NextToken"]).decode())
            except ValueError:
                raise SpError(400, "InvalidInput", "Invalid NextToken.", headers=headers) from None
        else:
            if not q.get("LastUpdatedAfter") and not q.get("CreatedAfter"):
                raise SpError(400, "InvalidInput", "Either CreatedAfter or LastUpdatedAfter must be given.",
                              headers=headers)
            state = {"after": q.get("LastUpdatedAfter"), "created": q.get("CreatedAfter"),
                     "statuses": q.get("OrderStatuses"), "offset": 0, "size": size,
                     "before": _iso(datetime.now(timezone.utc) - timedelta(seconds=0))}
        markets = set(q["MarketplaceIds"].split(","))
        statuses = set(state["statuses"].split(",")) if state.get("statuses") else None
        with self._lock:
            rows = [o for o in self.orders.values() if o["MarketplaceId"] in markets
                    and (not statuses or o["OrderStatus"] in statuses)
                    and (not state.get("after") or _parse(o["LastUpdateDate"], "x") >= _parse(state["after"], "LastUpdatedAfter"))
                    and (not state.get("created") or _parse(o["PurchaseDate"], "x") >= _parse(state["created"], "CreatedAfter"))]
        rows.sort(key=lambda o: (o["LastUpdateDate"], o["AmazonOrderId"]))
        page = rows[state["offset"]: state["offset"] + state["size"]]
        payload = {"Orders": [self._public(o, False) for o in page], "LastUpdatedBefore": state["before"]}
        if state["offset"] + state["size"] < len(rows):
            payload["NextToken"] = json.dumps(dict(state, offset=state["offset"] + state["size"])).encode().hex()
        return Response(200, {"payload": payload}, headers)

    @route("GET", "/orders/v0/orders/{order_id}", auth=False)
    def get_order(self, request):
        order_id = request.params["order_id"]
        headers, rdt = self._operation(request, "getOrder", rdt_path="/orders/v0/orders/%s" % order_id)
        return Response(200, {"payload": self._public(self._lookup(order_id), rdt)}, headers)

    @route("GET", "/orders/v0/orders/{order_id}/orderItems", auth=False)
    def get_order_items(self, request):
        headers, _rdt = self._operation(request, "getOrderItems")
        order_id = request.params["order_id"]
        self._lookup(order_id)
        items = copy.deepcopy(self.items[order_id])
        start = int(request.query.get("NextToken") or 0)
        page = items[start: start + 2]  # two items a page: the NextToken path is walked
        payload = {"AmazonOrderId": order_id, "OrderItems": page}
        if start + 2 < len(items):
            payload["NextToken"] = str(start + 2)
        return Response(200, {"payload": payload}, headers)

    @route("POST", "/orders/v0/orders/{order_id}/shipmentConfirmation", auth=False)
    def confirm_shipment(self, request):
        headers, _rdt = self._operation(request, "confirmShipment")
        order_id = request.params["order_id"]
        order = self._lookup(order_id)
        body = request.json()
        package = body.get("packageDetail") or {}
        missing = [k for k in ("packageReferenceId", "carrierCode", "shipDate", "orderItems") if not package.get(k)]
        if missing or not body.get("marketplaceId"):
            raise SpError(400, "InvalidInput", "Missing required fields: %s" % ", ".join(missing or ["marketplaceId"]),
                          headers=headers)
        if order["FulfillmentChannel"] == "AFN":
            raise SpError(400, "InvalidInput", "Amazon fulfils this order.", headers=headers)
        if order["OrderStatus"] in ("Pending", "Canceled"):
            raise SpError(400, "InvalidInput", "The order is %s." % order["OrderStatus"], headers=headers)
        known = {i["OrderItemId"]: i for i in self.items[order_id]}
        for row in package["orderItems"]:
            if row.get("orderItemId") not in known:
                raise SpError(400, "InvalidInput", "Invalid orderItemId %s" % row.get("orderItemId"), headers=headers)
        with self._lock:
            for row in package["orderItems"]:
                item = known[row["orderItemId"]]
                item["QuantityShipped"] = min(item["QuantityOrdered"], item["QuantityShipped"] + int(row.get("quantity") or 0))
            done = all(i["QuantityShipped"] >= i["QuantityOrdered"] for i in known.values())
            order["OrderStatus"] = "Shipped" if done else "PartiallyShipped"
            order["LastUpdateDate"] = _iso(datetime.now(timezone.utc))
            self.shipments.append(dict(body, orderId=order_id))
        return Response(204, None, headers)

    # ----------------------------------------------------------------- tokens

    @route("POST", "/tokens/2021-03-01/restrictedDataToken", auth=False)
    def create_rdt(self, request):
        headers, _rdt = self._operation(request, "createRestrictedDataToken")
        resources = request.json().get("restrictedResources") or []
        if not resources:
            raise SpError(400, "InvalidInput", "restrictedResources is required.", headers=headers)
        token = "Atz.sprdt|" + uuid.uuid4().hex
        with self._lock:
            self.rdts[token] = (time.time() + 3600, {r.get("path") for r in resources})
        return Response(200, {"restrictedDataToken": token, "expiresIn": 3600}, headers)

    # ----------------------------------------------------------------- listings

    @route("PATCH", "/listings/2021-08-01/items/{seller_id}/{sku}", auth=False)
    def patch_listing(self, request):
        headers, _rdt = self._operation(request, "patchListingsItem")
        sku = request.params["sku"]
        if request.params["seller_id"] != self.seller_id:
            raise SpError(403, "Unauthorized", "Access to requested resource is denied.", "", headers)
        if not request.query.get("marketplaceIds"):
            raise SpError(400, "InvalidInput", "marketplaceIds is required.", headers=headers)
        body = request.json()
        submission = str(uuid.uuid4())
        issues = self._apply_patches(sku, body.get("patches") or [])
        status = "INVALID" if issues else "ACCEPTED"
        return Response(200, {"sku": sku, "status": status, "submissionId": submission, "issues": issues}, headers)

    def _apply_patches(self, sku, patches):
        if sku in self.rejected_skus:
            return [{"code": "90220", "message": self.rejected_skus[sku], "severity": "ERROR",
                     "attributeNames": ["fulfillment_availability"]}]
        if sku not in self.listings:
            return [{"code": "4000001", "message": "The SKU %s has no listing for this seller." % sku,
                     "severity": "ERROR", "attributeNames": []}]
        for patch in patches:
            if patch.get("path") == "/attributes/fulfillment_availability":
                for value in patch.get("value") or []:
                    if "quantity" in value:
                        self.listings[sku]["quantity"] = int(value["quantity"])
            elif patch.get("path") == "/attributes/purchasable_offer":
                for offer in patch.get("value") or []:
                    try:
                        price = offer["our_price"][0]["schedule"][0]["value_with_tax"]
                    except (KeyError, IndexError, TypeError):
                        return [{"code": "99022", "severity": "ERROR", "attributeNames": ["purchasable_offer"],
                                 "message": "purchasable_offer needs our_price[0].schedule[0].value_with_tax."}]
                    self.listings[sku]["price"] = "%.2f" % float(price)
                    self.listings[sku]["currency"] = offer.get("currency")
        return []

    # ----------------------------------------------------------------- feeds

    @route("POST", "/feeds/2021-06-30/documents", auth=False)
    def create_feed_document(self, request):
        headers, _rdt = self._operation(request, "createFeedDocument")
        content_type = request.json().get("contentType")
        if not content_type:
            raise SpError(400, "InvalidInput", "contentType is required.", headers=headers)
        doc_id = "amzn1.tortuga.4.eu.%s" % uuid.uuid4()
        self.documents[doc_id] = {"content": None, "contentType": content_type}
        return Response(201, {"feedDocumentId": doc_id, "url": "%s/uploads/%s" % (self.url, doc_id)}, headers)

    @route("PUT", "/uploads/{doc_id}", auth=False)
    def upload(self, request):
        doc = self.documents.get(request.params["doc_id"])
        if doc is None:
            return Response(403, "<Error><Code>AccessDenied</Code></Error>")
        doc["content"] = request.body
        return Response(200, None)

    @route("GET", "/downloads/{doc_id}", auth=False)
    def download(self, request):
        doc = self.documents.get(request.params["doc_id"])
        if doc is None or doc["content"] is None:
            return Response(404, "<Error><Code>NoSuchKey</Code></Error>")
        return Response(200, doc["content"], {"Content-Type": doc["contentType"]})

    @route("POST", "/feeds/2021-06-30/feeds", auth=False)
    def create_feed(self, request):
        headers, _rdt = self._operation(request, "createFeed")
        body = request.json()
        doc = self.documents.get(body.get("inputFeedDocumentId") or "")
        if not body.get("feedType") or not body.get("marketplaceIds") or doc is None:
            raise SpError(400, "InvalidInput", "feedType, marketplaceIds and a known inputFeedDocumentId are required.",
                          headers=headers)
        feed_id = str(50000000000 + next(self._seq))
        self.feeds[feed_id] = {"feedId": feed_id, "feedType": body["feedType"], "marketplaceIds": body["marketplaceIds"],
                               "createdTime": _iso(datetime.now(timezone.utc)), "processingStatus": "IN_QUEUE",
                               "_created": time.time(), "_document": body["inputFeedDocumentId"]}
        return Response(202, {"feedId": feed_id}, headers)

    def _process_feed(self, feed):
        if feed["processingStatus"] == "DONE" or time.time() - feed["_created"] < self.feed_delay:
            if feed["processingStatus"] == "IN_QUEUE" and time.time() - feed["_created"] >= self.feed_delay / 2:
                feed["processingStatus"] = "IN_PROGRESS"
            return
        content = self.documents[feed["_document"]]["content"] or b""
        issues, processed, invalid = [], 0, 0
        try:
            document = json.loads(content)
            messages = document.get("messages") or []
        except ValueError:
            feed["processingStatus"] = "FATAL"
            return
        for message in messages:
            processed += 1
            found = self._apply_patches(message.get("sku"), message.get("patches") or [])
            for issue in found:
                invalid += 1
                issues.append({"messageId": message.get("messageId"), "code": issue["code"], "severity": "ERROR",
                               "message": issue["message"], "attributeName": "fulfillment_availability"})
        report = {"header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed["feedId"]},
                  "issues": issues,
                  "summary": {"errors": invalid, "warnings": 0, "messagesProcessed": processed,
                              "messagesAccepted": processed - invalid, "messagesInvalid": invalid}}
        result_id = "amzn1.tortuga.4.eu.%s" % uuid.uuid4()
        self.documents[result_id] = {"content": gzip.compress(json.dumps(report).encode()),
                                     "contentType": "application/json", "compression": "GZIP"}
        feed.update(processingStatus="DONE", processingStartTime=feed["createdTime"],
                    processingEndTime=_iso(datetime.now(timezone.utc)), resultFeedDocumentId=result_id)

    @route("GET", "/feeds/2021-06-30/feeds/{feed_id}", auth=False)
    def get_feed(self, request):
        headers, _rdt = self._operation(request, "getFeed")
        feed = self.feeds.get(request.params["feed_id"])
        if feed is None:
            raise SpError(404, "NotFound", "Feed not found.", headers=headers)
        with self._lock:
            self._process_feed(feed)
        return Response(200, {k: v for k, v in feed.items() if not k.startswith("_")}, headers)

    @route("GET", "/feeds/2021-06-30/documents/{doc_id}", auth=False)
    def get_feed_document(self, request):
        headers, _rdt = self._operation(request, "getFeedDocument")
        doc_id = request.params["doc_id"]
        doc = self.documents.get(doc_id)
        if doc is None:
            raise SpError(404, "NotFound", "Document not found.", headers=headers)
        answer = {"feedDocumentId": doc_id, "url": "%s/downloads/%s" % (self.url, doc_id)}
        if doc.get("compression"):
            answer["compressionAlgorithm"] = doc["compression"]
        return Response(200, answer, headers)

    # ----------------------------------------------------------------- returns reports

    def add_return(self, order_id, sku, quantity=1, reason="NO_LONGER_NEEDED", *, rma_id=None, status="Approved",
                   requested_at=None, refunded=None, disposition="SELLABLE", comments="", in_policy="Y"):
        """Record a customer return of ``quantity`` of ``sku`` of an order; return its Amazon RMA ID (the license
        plate number of an Amazon-fulfilled order's return, which has no RMA).

        Merchant-fulfilled orders' returns go to the flat-file returns report (rows of one
        ``rma_id`` are one return request); Amazon-fulfilled ones to the FBA customer returns report.
        """
        order = self._lookup(order_id)
        item = next((i for i in self.items[order_id] if i["SellerSKU"] == sku), None)
        moment = (requested_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        fba = order["FulfillmentChannel"] == "AFN"
        rma_id = rma_id or "D%s" % uuid.uuid4().hex[:8].upper()
        currency = order["OrderTotal"]["CurrencyCode"]
        if fba:
            row = {"return-date": moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "order-id": order_id, "sku": sku,
                   "asin": (item or {}).get("ASIN", ""), "fnsku": "X00%07d" % (abs(hash(sku)) % 10**7),
                   "product-name": (item or {}).get("Title", sku), "quantity": str(quantity),
                   "fulfillment-center-id": "LEJ1", "detailed-disposition": disposition, "reason": reason,
                   "status": "Unit returned to inventory" if disposition == "SELLABLE" else "Reimbursed",
                   "license-plate-number": "LPN%s" % uuid.uuid4().hex[:10].upper(), "customer-comments": comments}
        else:
            row = dict.fromkeys(MFN_RETURN_COLUMNS, "")
            row.update({
                "Order ID": order_id, "Order date": order["PurchaseDate"].replace("Z", "+00:00"),
                "Return request date": moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "Return request status": status,
                "Amazon RMA ID": rma_id, "Label type": "AmazonUnPaidLabel", "Label cost": "0.00",
                "Currency code": currency, "Return carrier": "DHL", "Tracking ID": "JJD%012d" % next(self._seq),
                "Label to be paid by": "Customer", "A-to-Z Claim": "N", "Is prime": "N",
                "ASIN": (item or {}).get("ASIN", ""), "Merchant SKU": sku, "Item Name": (item or {}).get("Title", sku),
                "Return quantity": str(quantity), "Return Reason": reason, "In policy": in_policy,
                "Return type": "C-Returns", "Resolution": "StandardRefund", "Order Amount": order["OrderTotal"]["Amount"],
                "Order quantity": str((item or {}).get("QuantityOrdered", "")),
                "Refunded Amount": refunded if refunded is not None else "",
            })
        with self._lock:
            self.returns.append({"fba": fba, "at": moment, "row": row})
        return rma_id if not fba else row["license-plate-number"]

    def add_return_row(self, row, *, fba=False, requested_at=None):
        """Put a raw row (column -> text) in a returns report, as it is (tests of rows Amazon gets wrong)."""
        with self._lock:
            self.returns.append({"fba": fba, "at": requested_at or datetime.now(timezone.utc), "row": dict(row)})

    def fail_reports(self, count=1):
        """The next ``count`` reports end FATAL."""
        with self._lock:
            self._fatal_reports += count

    def _report_document(self, report):
        fba = report["reportType"] == FBA_RETURNS
        columns = FBA_RETURN_COLUMNS if fba else MFN_RETURN_COLUMNS
        rows = [r["row"] for r in self.returns if r["fba"] == fba and report["_start"] <= r["at"] <= report["_end"]]
        if not rows:
            return None
        lines = ["\t".join(columns)] + ["\t".join(str(row.get(c, "")) for c in columns) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def _process_report(self, report):
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
            return
        age = time.time() - report["_created"]
        if age < self.report_delay:
            if age >= self.report_delay / 2:
                report["processingStatus"] = "IN_PROGRESS"
                report.setdefault("processingStartTime", _iso(datetime.now(timezone.utc)))
            return
        report.setdefault("processingStartTime", report["createdTime"])
        report["processingEndTime"] = _iso(datetime.now(timezone.utc))
        if self._fatal_reports:
            self._fatal_reports -= 1
            report["processingStatus"] = "FATAL"
            doc_id = "amzn1.spdoc.1.4.eu.%s" % uuid.uuid4()
            self.documents[doc_id] = {"content": json.dumps({"errorDetails": "The report could not be generated."})
                                      .encode(), "contentType": "application/json"}
            report["reportDocumentId"] = doc_id
            return
        content = self._report_document(report)
        if content is None:
            report["processingStatus"] = "CANCELLED"  # no data for the period
            return
        doc_id = "amzn1.spdoc.1.4.eu.%s" % uuid.uuid4()
        doc = {"content": content, "contentType": "text/plain; charset=UTF-8"}
        if self.report_gzip:
            doc.update(content=gzip.compress(content), compression="GZIP")
        self.documents[doc_id] = doc
        report.update(processingStatus="DONE", reportDocumentId=doc_id)

    @route("POST", "/reports/2021-06-30/reports", auth=False)
    def create_report(self, request):
        headers, _rdt = self._operation(request, "createReport")
        body = request.json() or {}
        if not body.get("reportType") or not isinstance(body.get("marketplaceIds"), list) or not body["marketplaceIds"]:
            raise SpError(400, "InvalidInput", "reportType and marketplaceIds are required.", headers=headers)
        if body["reportType"] not in (MFN_RETURNS, FBA_RETURNS):
            raise SpError(400, "InvalidInput", "Report type %s is not supported." % body["reportType"], headers=headers)
        now = datetime.now(timezone.utc)
        start = _parse(body["dataStartTime"], "dataStartTime") if body.get("dataStartTime") else now
        end = _parse(body["dataEndTime"], "dataEndTime") if body.get("dataEndTime") else now
        if start > now or end > now + timedelta(seconds=1) or start > end:
            raise SpError(400, "InvalidInput", "dataStartTime and dataEndTime must not be in the future, "
                          "dataStartTime before dataEndTime.", headers=headers)
        report_id = str(60000000000 + next(self._seq))
        with self._lock:
            self.reports[report_id] = {
                "reportId": report_id, "reportType": body["reportType"], "marketplaceIds": body["marketplaceIds"],
                "dataStartTime": _iso(start), "dataEndTime": _iso(end), "createdTime": _iso(now),
                "processingStatus": "IN_QUEUE", "_created": time.time(), "_start": start, "_end": end}
        return Response(202, {"reportId": report_id}, headers)

    @route("GET", "/reports/2021-06-30/reports/{report_id}", auth=False)
    def get_report(self, request):
        headers, _rdt = self._operation(request, "getReport")
        report = self.reports.get(request.params["report_id"])
        if report is None:
            raise SpError(404, "NotFound", "Report not found.", headers=headers)
        with self._lock:
            self._process_report(report)
        return Response(200, {k: v for k, v in report.items() if not k.startswith("_")}, headers)

    @route("GET", "/reports/2021-06-30/documents/{doc_id}", auth=False)
    def get_report_document(self, request):
        headers, _rdt = self._operation(request, "getReportDocument")
        doc_id = request.params["doc_id"]
        doc = self.documents.get(doc_id)
        if doc is None or not doc_id.startswith("amzn1.spdoc."):
            raise SpError(404, "NotFound", "Report document not found.", headers=headers)
        answer = {"reportDocumentId": doc_id, "url": "%s/downloads/%s" % (self.url, doc_id)}
        if doc.get("compression"):
            answer["compressionAlgorithm"] = doc["compression"]
        return Response(200, answer, headers)

    # ----------------------------------------------------------------- finances

    def settle(self, order_ids, *, commission="0.15", service_fee="0.00", reserve="0.00", transfer_date=None,
               status="Succeeded"):
        """Close a financial event group of the shipments of ``order_ids``; return its id.

        Each order's items are charged (principal and shipping), less a commission of
        ``commission`` (a rate) as an item fee; a subscription ``service_fee`` and a reserve held
        (``reserve``, negative adjustment) may come with it. The group's total is what is transferred.
        """
        moment = transfer_date or datetime.now(timezone.utc) - timedelta(days=2)
        shipments, total, currency = [], Decimal(0), self.currency
        for order_id in order_ids:
            order = self.orders[order_id]
            currency = order["OrderTotal"]["CurrencyCode"]
            items = []
            for item in self.items[order_id]:
                principal = Decimal(item["ItemPrice"]["Amount"])
                shipping = Decimal((item.get("ShippingPrice") or {}).get("Amount") or 0)
                fee = -(principal * Decimal(commission)).quantize(Decimal("0.01"))
                total += principal + shipping + fee
                items.append({"SellerSKU": item["SellerSKU"], "OrderItemId": item["OrderItemId"],
                              "QuantityShipped": item["QuantityOrdered"],
                              "ItemChargeList": [
                                  {"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": currency,
                                                                               "CurrencyAmount": float(principal)}},
                                  {"ChargeType": "ShippingCharge", "ChargeAmount": {"CurrencyCode": currency,
                                                                                    "CurrencyAmount": float(shipping)}}],
                              "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": {"CurrencyCode": currency,
                                                                                      "CurrencyAmount": float(fee)}}]})
            shipments.append({"AmazonOrderId": order_id, "SellerOrderId": order_id, "MarketplaceName": "Amazon.de",
                              "PostedDate": _iso(moment - timedelta(days=1)), "ShipmentItemList": items})
        events = {"ShipmentEventList": shipments, "RefundEventList": [], "ServiceFeeEventList": [],
                  "AdjustmentEventList": []}
        if Decimal(service_fee):
            events["ServiceFeeEventList"].append({"FeeReason": "Subscription", "FeeList": [
                {"FeeType": "Subscription", "FeeAmount": {"CurrencyCode": currency, "CurrencyAmount": -float(service_fee)}}]})
            total -= Decimal(service_fee)
        if Decimal(reserve):
            events["AdjustmentEventList"].append({"AdjustmentType": "ReserveDebit", "PostedDate": _iso(moment),
                                                  "AdjustmentAmount": {"CurrencyCode": currency,
                                                                       "CurrencyAmount": -float(reserve)}})
            total -= Decimal(reserve)
        group_id = "sim-%s" % uuid.uuid4().hex[:20]
        group = {"FinancialEventGroupId": group_id, "ProcessingStatus": "Closed", "FundTransferStatus": status,
                 "OriginalTotal": {"CurrencyCode": currency, "CurrencyAmount": float(total)},
                 "FundTransferDate": _iso(moment), "TraceId": uuid.uuid4().hex[:12].upper(), "AccountTail": "123",
                 "BeginningBalance": {"CurrencyCode": currency, "CurrencyAmount": 0.0},
                 "FinancialEventGroupStart": _iso(moment - timedelta(days=14)), "FinancialEventGroupEnd": _iso(moment)}
        self.event_groups[group_id] = (group, events)
        return group_id

    @route("GET", "/finances/v0/financialEventGroups", auth=False)
    def list_event_groups(self, request):
        headers, _rdt = self._operation(request, "listFinancialEventGroups")
        q = request.query
        if q.get("NextToken"):
            state = json.loads(bytes.fromhex(q["NextToken"]).decode())
        else:
            if not q.get("FinancialEventGroupStartedAfter"):
                raise SpError(400, "InvalidInput", "FinancialEventGroupStartedAfter is required.", headers=headers)
            state = {"after": q["FinancialEventGroupStartedAfter"], "before": q.get("FinancialEventGroupStartedBefore"),
                     "offset": 0, "size": max(1, min(100, int(q.get("MaxResultsPerPage") or 100)))}
        rows = [g for g, _e in self.event_groups.values()
                if _parse(g["FinancialEventGroupStart"], "x") >= _parse(state["after"], "FinancialEventGroupStartedAfter")
                and (not state["before"] or _parse(g["FinancialEventGroupStart"], "x") < _parse(state["before"], "x"))]
        page = rows[state["offset"]: state["offset"] + state["size"]]
        payload = {"FinancialEventGroupList": copy.deepcopy(page)}
        if state["offset"] + state["size"] < len(rows):
            payload["NextToken"] = json.dumps(dict(state, offset=state["offset"] + state["size"])).encode().hex()
        return Response(200, {"payload": payload}, headers)

    @route("GET", "/finances/v0/financialEventGroups/{group_id}/financialEvents", auth=False)
    def list_group_events(self, request):
        headers, _rdt = self._operation(request, "listFinancialEventsByGroupId")
        found = self.event_groups.get(request.params["group_id"])
        if found is None:
            raise SpError(404, "NotFound", "Financial event group not found.", headers=headers)
        return Response(200, {"payload": {"FinancialEvents": copy.deepcopy(found[1])}}, headers)

    def feed_report(self, feed_id):
        """Return the processing report of a processed feed (tests)."""
        doc = self.documents[self.feeds[feed_id]["resultFeedDocumentId"]]
        return json.loads(gzip.decompress(doc["content"]))


# --------------------------------------------------------------------------- command line (the demo)

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Amazon SP-API simulator with an SQS notifications queue (moto)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8808)
    parser.add_argument("--sqs-port", type=int, default=8809)
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--sku", action="append", default=[], help="a SKU the seller lists (repeat)")
    parser.add_argument("--orders", type=int, default=5, help="orders placed at start")
    parser.add_argument("--trickle", type=float, default=0, help="seconds between new orders (0: none)")
    parser.add_argument("--settle-every", type=float, default=0,
                        help="seconds between settlements of the orders shipped since the last one (0: none)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    sim = AmazonSimulator(host=args.host, port=args.port, sqs_port=args.sqs_port, currency=args.currency,
                          verbose=not args.quiet)
    skus = args.sku or ["SKU-1", "SKU-2"]
    for sku in skus:
        sim.add_listing(sku, 0)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stopping.set())
    rng = random.Random(7)

    def place(index):
        # mostly merchant-fulfilled orders to ship; now and then one Amazon ships, or one pending a while
        lines = [(sku, rng.randint(1, 3), "%.2f" % rng.choice([9.9, 14.5, 19.9, 24.0]))
                 for sku in rng.sample(skus, min(len(skus), rng.randint(1, 2)))]
        if index % 5 == 3:
            order_id = sim.add_order(channel="AFN", status="Shipped", items=lines)
        elif index % 5 == 4:
            order_id = sim.add_order(status="Pending", items=lines)
            threading.Timer(20, lambda: sim.set_status(order_id, "Unshipped")).start()
        else:
            order_id = sim.add_order(items=lines, shipping="3.90")
        print("order %s placed (%s)" % (order_id, sim.orders[order_id]["OrderStatus"]), flush=True)

    with sim:
        print("Amazon SP-API on %s (LWA %s); notifications on %s" % (sim.url, sim.token_url, sim.queue_url), flush=True)
        for index in range(args.orders):
            place(index)
        count, next_order = args.orders, time.monotonic() + (args.trickle or 1e12)
        next_settlement = time.monotonic() + (args.settle_every or 1e12)
        settled = set()
        while not stopping.wait(0.5):
            now = time.monotonic()
            if now >= next_order:
                place(count)
                count += 1
                next_order = now + args.trickle
            if now >= next_settlement:
                shipped = [o for o, order in sim.orders.items()
                           if order["OrderStatus"] == "Shipped" and o not in settled]
                if shipped:
                    group_id = sim.settle(shipped, service_fee="39.00")
                    settled.update(shipped)
                    print("settlement %s of %d order(s)" % (group_id, len(shipped)), flush=True)
                next_settlement = now + args.settle_every
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
