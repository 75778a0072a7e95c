"""Client of the Amazon Selling Partner API: Orders v0, Tokens, Listings Items, Feeds and Reports.

Every call names its SP-API operation, which has its own usage plan (rate per second and
burst). The client paces each operation with a token bucket, learns the rate from the
``x-amzn-RateLimit-Limit`` header when the answer carries it, and on a 429 backs off
(exponentially, within ``max_wait`` seconds in all) before raising ChannelRateLimited, which a
queue job retries later. A 401, or a 403 saying the access token expired or is invalid, gets
one new access token and the call is sent again.
"""

import gzip
import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelHttpClient,
    ChannelRateLimited,
    ChannelTransportError,
    ChannelValidationError,
    ReadPaused,
)

ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

# Documented usage plans (requests per second, burst) of the operations used here.
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
DEFAULT_PLAN = (1.0, 5)

ORDERS = "/orders/v0/orders"
FEED_TYPE_LISTINGS = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_DONE = "DONE"
FEED_FAILED = ("CANCELLED", "FATAL")
REPORTS = "/reports/2021-06-30"
REPORT_DONE = "DONE"
# Amazon cancels a report that has no data for its period: nothing to read, not a failure
REPORT_CANCELLED = "CANCELLED"
REPORT_FATAL = "FATAL"


def amz_time(moment):
    """Return an aware or naive-UTC datetime as the SP-API's ISO 8601 text (``2026-01-02T03:04:05Z``)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class OperationLimiter:
    """Token buckets per operation, shared by the clients of one process and selling partner."""

    def __init__(self, plans=None, clock=time.monotonic):
        self.plans = dict(USAGE_PLANS, **(plans or {}))
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets = {}  # operation -> [rate, burst, tokens, last]

    def _bucket(self, operation):
        bucket = self._buckets.get(operation)
        if bucket is None:
            rate, burst = self.plans.get(operation, DEFAULT_PLAN)
            bucket = self._buckets[operation] = [rate, burst, float(burst), self.clock()]
        return bucket

    def wait_time(self, operation, reserve=True):
        """Take a token of ``operation``; return 0, or the seconds to wait before it is there.

        With ``reserve`` the token is taken even when it is not there yet (the bucket goes into
        debt): the caller waits the seconds returned, then sends."""
        with self._lock:
            bucket = self._bucket(operation)
            now = self.clock()
            bucket[2] = min(bucket[1], bucket[2] + (now - bucket[3]) * bucket[0])
            bucket[3] = now
            wait = 0.0 if bucket[2] >= 1 else (1 - bucket[2]) / bucket[0]
            if reserve or not wait:
                bucket[2] -= 1
            return wait

    def give_back(self, operation):
        """A reserved token not used (the call was given up)."""
        with self._lock:
            self._bucket(operation)[2] += 1

    def observe(self, operation, rate):
        """The answer said the operation's rate (``x-amzn-RateLimit-Limit``): pace it so."""
        if not rate or rate <= 0:
            return
        with self._lock:
            self._bucket(operation)[0] = rate

    def exhausted(self, operation):
        """A 429: the channel's bucket is empty whatever ours says."""
        with self._lock:
            self._bucket(operation)[2] = 0.0

    def rate(self, operation):
        with self._lock:
            return self._bucket(operation)[0]


class _SpHttp(ChannelHttpClient):
    """SP-API error documents: ``{"errors": [{"code", "message", "details"}]}``."""

    def _error_for(self, where, resp):
        error = super()._error_for(where, resp)
        errors = resp.data.get("errors") if isinstance(resp.data, Mapping) else None
        if isinstance(errors, list) and errors:
            error.details = [e for e in errors if isinstance(e, Mapping)]
        if isinstance(error, ChannelRateLimited) and not resp.headers.get("Retry-After"):
            error.retry_after = None
        error.headers = resp.headers
        return error


def _token_rejected(exc):
    """Whether an auth error says the access token itself was refused (expired, invalid)."""
    if exc.status == 401:
        return True
    text = (str(exc) + json.dumps(exc.details or [], default=str)).lower()
    return exc.status == 403 and ("token" in text and ("expired" in text or "invalid" in text))


class SellingPartnerClient:
    """Talks to one region's SP-API endpoint for one selling partner."""

    def __init__(self, endpoint, auth, *, limiter=None, timeout=30, session=None, before_request=None,
                 after_response=None, max_wait=20.0, sleep=time.sleep, backoff=1.0):
        self.http = _SpHttp(endpoint, timeout=timeout, user_agent="RetailConnector-Amazon (Language=Python)",
                            session=session, before_request=before_request, after_response=after_response)
        self.auth = auth
        self.limiter = limiter or OperationLimiter()
        self.max_wait = max_wait
        self.sleep = sleep
        self.backoff = backoff
        self.throttled = 0  # 429 answers met (observability, tests)

    # ----------------------------------------------------------------- core

    def call(self, operation, method, path, *, params=None, json=None, access_token=None, ok=(200, 201, 202, 204)):
        """Return the ChannelResponse of one SP-API operation, paced and authorised; raise a ChannelError.

        ``access_token``: a Restricted Data Token to send instead of the LWA access token.
        """
        waited, attempt, renewed = 0.0, 0, False
        while True:
            pause = self.limiter.wait_time(operation)
            if pause:
                if waited + pause > self.max_wait:
                    self.limiter.give_back(operation)
                    raise ChannelRateLimited("%s: the operation's rate limit leaves no room for %.0f s" % (
                        operation, pause), 429, pause)
                self.sleep(pause)
                waited += pause
            token = access_token or self.auth.access_token()
            headers = {"x-amz-access-token": token, "x-amz-date": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")}
            try:
                resp = self.http.request(method, path, headers=headers, params=params, json=json, ok=ok)
            except ReadPaused:
                self.limiter.give_back(operation)
                raise  # the connector's own limit stops a read that continues later: not an Amazon throttle
            except ChannelRateLimited as exc:
                self.throttled += 1
                self._learn_rate(operation, getattr(exc, "headers", {}) or {})
                self.limiter.exhausted(operation)
                attempt += 1
                pause = exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                if waited + pause > self.max_wait:
                    raise ChannelRateLimited("%s was throttled by Amazon %d time(s)" % (operation, attempt),
                                             429, max(pause, 1.0 / max(self.limiter.rate(operation), 1e-6))) from None
                self.sleep(pause)
                waited += pause
                continue
            except ChannelAuthError as exc:
                if access_token or renewed or not _token_rejected(exc):
                    raise
                renewed = True
                self.auth.access_token(rejected=token)
                continue
            self._learn_rate(operation, resp.headers)
            return resp

    def _learn_rate(self, operation, headers):
        value = next((v for k, v in headers.items() if k.lower() == "x-amzn-ratelimit-limit"), None)
        try:
            self.limiter.observe(operation, float(value) if value else None)
        except ValueError:
            pass

    @staticmethod
    def _payload(resp, where):
        data = resp.data
        if not isinstance(data, Mapping):
            raise ChannelTransportError("%s: the answer is not a JSON object" % where, resp.status)
        return data.get("payload", data)

    # ----------------------------------------------------------------- orders

    def iter_orders(self, marketplace_ids, *, last_updated_after, statuses=None, page_size=100, next_token=None,
                    on_next_token=None) -> Iterator[Mapping]:
        """Yield the orders updated at or after ``last_updated_after``, page after page (``NextToken``).

        ``next_token`` starts at that page (a read that stopped kept it); ``on_next_token`` is called with each
        next page's token before it is asked for.
        """
        params = {"MarketplaceIds": ",".join(marketplace_ids), "LastUpdatedAfter": amz_time(last_updated_after),
                  "MaxResultsPerPage": page_size}
        if statuses:
            params["OrderStatuses"] = ",".join(statuses)
        if next_token:
            params = {"MarketplaceIds": ",".join(marketplace_ids), "NextToken": next_token}
        while True:
            payload = self._payload(self.call("getOrders", "GET", ORDERS, params=params), "getOrders")
            yield from payload.get("Orders") or []
            next_token = payload.get("NextToken")
            if not next_token:
                return
            params = {"MarketplaceIds": ",".join(marketplace_ids), "NextToken": next_token}
            if on_next_token is not None:
                on_next_token(next_token)

    def get_order(self, order_id, *, access_token=None):
        """Return one order (with buyer and shipping address when ``access_token`` is a Restricted Data Token)."""
        resp = self.call("getOrder", "GET", "%s/%s" % (ORDERS, quote(order_id)), access_token=access_token)
        return self._payload(resp, "getOrder")

    def get_order_items(self, order_id):
        """Return every item of an order (``NextToken`` pages followed)."""
        items, params = [], None
        while True:
            resp = self.call("getOrderItems", "GET", "%s/%s/orderItems" % (ORDERS, quote(order_id)), params=params)
            payload = self._payload(resp, "getOrderItems")
            items.extend(payload.get("OrderItems") or [])
            if not payload.get("NextToken"):
                return items
            params = {"NextToken": payload["NextToken"]}

    def restricted_data_token(self, order_ids, data_elements=("buyerInfo", "shippingAddress")):
        """Return a Restricted Data Token for reading ``order_ids`` with their personal data."""
        body = {"restrictedResources": [{"method": "GET", "path": "%s/%s" % (ORDERS, order_id),
                                         "dataElements": list(data_elements)} for order_id in order_ids]}
        resp = self.call("createRestrictedDataToken", "POST", "/tokens/2021-03-01/restrictedDataToken", json=body)
        token = (resp.data or {}).get("restrictedDataToken")
        if not token:
            raise ChannelTransportError("createRestrictedDataToken: no token in the answer", resp.status)
        return token

    def get_order_with_pii(self, order_id):
        """Return an order with its buyer info and shipping address, through a Restricted Data Token."""
        return self.get_order(order_id, access_token=self.restricted_data_token([order_id]))

    def confirm_shipment(self, order_id, marketplace_id, *, package_reference, carrier_code, tracking_number,
                         items, ship_date=None, carrier_name=None, shipping_method=None):
        """Confirm the shipment of ``items`` ([{orderItemId, quantity}]) of a merchant-fulfilled order."""
        package = {"packageReferenceId": str(package_reference), "carrierCode": carrier_code or "Other",
                   "trackingNumber": tracking_number or "", "shipDate": amz_time(ship_date or datetime.now(timezone.utc)),
                   "orderItems": [{"orderItemId": str(i["orderItemId"]), "quantity": int(i["quantity"])} for i in items]}
        if carrier_name:
            package["carrierName"] = carrier_name
        if shipping_method:
            package["shippingMethod"] = shipping_method
        self.call("confirmShipment", "POST", "%s/%s/shipmentConfirmation" % (ORDERS, quote(order_id)),
                  json={"packageDetail": package, "marketplaceId": marketplace_id}, ok=(200, 204))

    # ----------------------------------------------------------------- finances

    def iter_financial_event_groups(self, started_after, started_before=None, page_size=100, next_token=None,
                                    on_next_token=None):
        """Yield the financial event groups (settlements) started in [started_after, started_before).

        ``next_token`` starts at that page (a read that stopped kept it); ``on_next_token`` is called with each
        next page's token before it is asked for.
        """
        params = {"FinancialEventGroupStartedAfter": amz_time(started_after), "MaxResultsPerPage": page_size}
        if started_before:
            params["FinancialEventGroupStartedBefore"] = amz_time(started_before)
        if next_token:
            params = {"NextToken": next_token}
        while True:
            resp = self.call("listFinancialEventGroups", "GET", "/finances/v0/financialEventGroups", params=params)
            payload = self._payload(resp, "listFinancialEventGroups")
            yield from payload.get("FinancialEventGroupList") or []
            if not payload.get("NextToken"):
                return
            params = {"NextToken": payload["NextToken"]}
            if on_next_token is not None:
                on_next_token(payload["NextToken"])

    def financial_events(self, group_id, page_size=100):
        """Return the ``FinancialEvents`` of one group, every page's event lists joined."""
        events, params = {}, {"MaxResultsPerPage": page_size}
        while True:
            resp = self.call("listFinancialEventsByGroupId", "GET",
                             "/finances/v0/financialEventGroups/%s/financialEvents" % quote(group_id, safe=""),
                             params=params)
            payload = self._payload(resp, "listFinancialEventsByGroupId")
            for name, rows in (payload.get("FinancialEvents") or {}).items():
                if isinstance(rows, list):
                    events.setdefault(name, []).extend(rows)
            if not payload.get("NextToken"):
                return events
            params = {"NextToken": payload["NextToken"]}

    # ----------------------------------------------------------------- listings

    def patch_listing(self, seller_id, sku, marketplace_ids, patches, product_type="PRODUCT"):
        """Apply JSON Patch ``patches`` to a SKU's listing; return the submission.

        Amazon answers ``status`` ACCEPTED or INVALID with its ``issues``: an INVALID one raises
        ChannelValidationError naming them.
        """
        body = {"productType": product_type, "patches": list(patches)}
        resp = self.call("patchListingsItem", "PATCH",
                         "/listings/2021-08-01/items/%s/%s" % (quote(seller_id, safe=""), quote(sku, safe="")),
                         params={"marketplaceIds": ",".join(marketplace_ids), "issueLocale": "en_US"}, json=body)
        data = resp.data or {}
        if data.get("status") == "INVALID":
            raise ChannelValidationError("Amazon refused the listing update of %s: %s" % (sku, issues_text(data.get("issues"))),
                                         resp.status, details=data.get("issues") or [])
        return data

    def patch_listing_quantity(self, seller_id, sku, marketplace_ids, quantity, product_type="PRODUCT"):
        """Set a merchant-fulfilled SKU's quantity (``fulfillment_availability``)."""
        return self.patch_listing(seller_id, sku, marketplace_ids, [quantity_patch(quantity)], product_type)

    # ----------------------------------------------------------------- feeds

    def create_feed_document(self, content_type=FEED_CONTENT_TYPE):
        resp = self.call("createFeedDocument", "POST", "/feeds/2021-06-30/documents", json={"contentType": content_type})
        data = resp.data or {}
        if not data.get("feedDocumentId") or not data.get("url"):
            raise ChannelTransportError("createFeedDocument: no document id or upload URL in the answer", resp.status)
        return data

    def upload(self, url, content, content_type=FEED_CONTENT_TYPE):
        """PUT the feed's content to the pre-signed URL Amazon gave (no SP-API headers)."""
        try:
            resp = self.http.session.put(url, data=content, headers={"Content-Type": content_type},
                                         timeout=self.http.timeout)
        except requests.RequestException as exc:
            raise ChannelTransportError("feed upload: %s" % type(exc).__name__) from None
        if resp.status_code not in (200, 201, 204):
            raise ChannelTransportError("feed upload answered %s" % resp.status_code, resp.status_code)

    def create_feed(self, feed_type, marketplace_ids, document_id):
        resp = self.call("createFeed", "POST", "/feeds/2021-06-30/feeds", json={
            "feedType": feed_type, "marketplaceIds": list(marketplace_ids), "inputFeedDocumentId": document_id})
        return (resp.data or {})["feedId"]

    def get_feed(self, feed_id):
        return self.call("getFeed", "GET", "/feeds/2021-06-30/feeds/%s" % quote(feed_id)).data or {}

    def get_feed_document(self, document_id):
        """Return a feed document's content (its processing report), unzipped when Amazon gzipped it."""
        meta = self.call("getFeedDocument", "GET", "/feeds/2021-06-30/documents/%s" % quote(document_id)).data or {}
        try:
            resp = self.http.session.get(meta["url"], timeout=self.http.timeout)
        except (KeyError, requests.RequestException) as exc:
            raise ChannelTransportError("feed document %s: cannot download it (%s)" % (document_id, type(exc).__name__)) from None
        if resp.status_code != 200:
            raise ChannelTransportError("feed document download answered %s" % resp.status_code, resp.status_code)
        content = resp.content
        if meta.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        return content

    def submit_feed(self, feed_type, marketplace_ids, document):
        """Create a document, upload ``document`` (a JSON object) and create the feed; return its id."""
        doc = self.create_feed_document()
        self.upload(doc["url"], json.dumps(document, separators=(",", ":")).encode())
        return self.create_feed(feed_type, marketplace_ids, doc["feedDocumentId"])

    def wait_for_feed(self, feed_id, *, timeout=120.0, interval=2.0):
        """Poll ``getFeed`` until the feed is processed; return it. Raise ChannelTransportError (retryable) past ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            feed = self.get_feed(feed_id)
            status = feed.get("processingStatus")
            if status == FEED_DONE:
                return feed
            if status in FEED_FAILED:
                report = ""
                if feed.get("resultFeedDocumentId"):
                    report = self.get_feed_document(feed["resultFeedDocumentId"]).decode("utf-8", "replace")[:300]
                raise ChannelValidationError("feed %s ended %s %s" % (feed_id, status, report), 400)
            if time.monotonic() + interval > deadline:
                raise ChannelTransportError("feed %s is still %s after %.0f s" % (feed_id, status, timeout))
            self.sleep(interval)

    def listings_feed(self, seller_id, marketplace_ids, sku_patches, *, timeout=120.0, interval=2.0):
        """Send ``{sku: [patches]}`` as one JSON_LISTINGS_FEED and wait for it; return ``{sku: reason}`` refused.

        Each rejected message of the processing report (an issue of severity ERROR) is the
        refusal of its SKU; a feed Amazon could not process at all raises.
        """
        skus = sorted(sku_patches)
        document = listings_feed(seller_id, [(sku, sku_patches[sku]) for sku in skus])
        feed_id = self.submit_feed(FEED_TYPE_LISTINGS, marketplace_ids, document)
        feed = self.wait_for_feed(feed_id, timeout=timeout, interval=interval)
        if not feed.get("resultFeedDocumentId"):
            return {}
        report = parse_processing_report(self.get_feed_document(feed["resultFeedDocumentId"]))
        by_message = {index + 1: sku for index, sku in enumerate(skus)}
        return {by_message.get(message_id, str(message_id)): reason for message_id, reason in report.items()}

    def listings_quantity_feed(self, seller_id, marketplace_ids, quantities, *, timeout=120.0, interval=2.0):
        """Send ``{sku: quantity}`` as one JSON_LISTINGS_FEED; return ``{sku: reason}`` refused."""
        return self.listings_feed(seller_id, marketplace_ids, {sku: [quantity_patch(q)] for sku, q in quantities.items()},
                                  timeout=timeout, interval=interval)


    # ----------------------------------------------------------------- reports

    def create_report(self, report_type, marketplace_ids, *, data_start_time=None, data_end_time=None, options=None):
        """Ask for a report (``createReport``); return its ``reportId``."""
        body = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if data_start_time:
            body["dataStartTime"] = amz_time(data_start_time)
        if data_end_time:
            body["dataEndTime"] = amz_time(data_end_time)
        if options:
            body["reportOptions"] = dict(options)
        resp = self.call("createReport", "POST", REPORTS + "/reports", json=body)
        report_id = (resp.data or {}).get("reportId") if isinstance(resp.data, Mapping) else None
        if not report_id:
            raise ChannelTransportError("createReport: no reportId in the answer", resp.status)
        return str(report_id)

    def get_report(self, report_id):
        """Return a report's details (``processingStatus``, ``reportDocumentId`` once DONE)."""
        resp = self.call("getReport", "GET", "%s/reports/%s" % (REPORTS, quote(str(report_id), safe="")))
        if not isinstance(resp.data, Mapping):
            raise ChannelTransportError("getReport: the answer is not a JSON object", resp.status)
        return resp.data

    def get_report_document(self, document_id):
        """Return a report document's content (bytes), downloaded from its URL and unzipped when GZIP."""
        resp = self.call("getReportDocument", "GET", "%s/documents/%s" % (REPORTS, quote(str(document_id), safe="")))
        meta = resp.data if isinstance(resp.data, Mapping) else {}
        if not meta.get("url"):
            raise ChannelTransportError("getReportDocument %s: no url in the answer" % document_id, resp.status)
        return self._download(meta["url"], meta.get("compressionAlgorithm"), "report document %s" % document_id)

    def _download(self, url, compression, what):
        """GET a pre-signed document URL (no SP-API headers); return its content, gunzipped when ``compression`` says GZIP."""
        try:
            resp = self.http.session.get(url, timeout=self.http.timeout)
        except requests.RequestException as exc:
            raise ChannelTransportError("%s: cannot download it (%s)" % (what, type(exc).__name__)) from None
        if resp.status_code != 200:
            raise ChannelTransportError("%s: the download answered %s" % (what, resp.status_code), resp.status_code)
        content = resp.content
        if compression:
            if str(compression).upper() != "GZIP":
                raise ChannelTransportError("%s: unknown compressionAlgorithm %s" % (what, compression))
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError) as exc:
                raise ChannelTransportError("%s: not a valid GZIP document (%s)" % (what, exc)) from None
        return content

    def report_when_ready(self, report_id, *, timeout=120.0, interval=2.0):
        """Poll ``getReport`` until the report is DONE or CANCELLED and return it; None while Amazon is still
        making it after ``timeout`` (ask again later, with the same id).

        FATAL raises ChannelValidationError with what Amazon wrote in its document, if any.
        """
        deadline = time.monotonic() + timeout
        while True:
            report = self.get_report(report_id)
            status = report.get("processingStatus")
            if status in (REPORT_DONE, REPORT_CANCELLED):
                return report
            if status == REPORT_FATAL:
                detail = ""
                if report.get("reportDocumentId"):
                    try:
                        detail = self.get_report_document(report["reportDocumentId"]).decode("utf-8", "replace")[:300]
                    except ChannelError:
                        detail = ""
                raise ChannelValidationError("report %s (%s) ended FATAL %s" % (
                    report_id, report.get("reportType") or "?", detail), 400)
            if time.monotonic() + interval > deadline:
                return None
            self.sleep(interval)

    def wait_for_report(self, report_id, *, timeout=120.0, interval=2.0):
        """Return the report once DONE or CANCELLED; raise ChannelTransportError (retried later) past ``timeout``."""
        report = self.report_when_ready(report_id, timeout=timeout, interval=interval)
        if report is None:
            raise ChannelTransportError("report %s is still being made after %.0f s" % (report_id, timeout))
        return report

    def report_content(self, report):
        """Return the document (bytes) of a report DONE; ``b""`` when Amazon cancelled it for want of data."""
        if report.get("processingStatus") == REPORT_CANCELLED or not report.get("reportDocumentId"):
            return b""
        return self.get_report_document(report["reportDocumentId"])

    def read_report(self, report_type, marketplace_ids, *, data_start_time=None, data_end_time=None, timeout=120.0,
                    interval=2.0):
        """Create a report, wait for it and return its document's content (bytes); ``b""`` when Amazon
        cancelled it for want of data."""
        report_id = self.create_report(report_type, marketplace_ids, data_start_time=data_start_time,
                                       data_end_time=data_end_time)
        return self.report_content(self.wait_for_report(report_id, timeout=timeout, interval=interval))


def quantity_patch(quantity):
    return {"op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(0, int(quantity))}]}


def price_patch(marketplace_id, currency, price, list_price=None):
    """The ``purchasable_offer`` patch of a price (tax included as the marketplace shows it)."""
    offer = {"marketplace_id": marketplace_id, "currency": currency,
             "our_price": [{"schedule": [{"value_with_tax": float(price)}]}]}
    if list_price:
        offer["list_price"] = [{"value_with_tax": float(list_price)}]  # the struck-through price
    return {"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}


def listings_feed(seller_id, sku_patches, product_type="PRODUCT"):
    """Return a JSON_LISTINGS_FEED document of PATCH messages, numbered from 1 in the given order."""
    return {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [{"messageId": index, "sku": sku, "operationType": "PATCH", "productType": product_type,
                      "patches": patches} for index, (sku, patches) in enumerate(sku_patches, start=1)],
    }


def parse_processing_report(content):
    """Return ``{messageId: reason}`` of the messages a JSON_LISTINGS_FEED processing report rejected."""
    try:
        report = json.loads(content)
    except (ValueError, TypeError):
        raise ChannelTransportError("the feed's processing report is not JSON") from None
    rejected = {}
    for issue in report.get("issues") or []:
        if str(issue.get("severity", "")).upper() != "ERROR":
            continue
        message_id = issue.get("messageId")
        text = "%s: %s" % (issue.get("code") or "error", issue.get("message") or "")
        rejected[message_id] = rejected[message_id] + "; " + text if message_id in rejected else text
    return rejected


def issues_text(issues):
    return "; ".join("%s: %s" % (i.get("code"), i.get("message")) for i in issues or [] if isinstance(i, Mapping)) or "no reason given"


__all__ = ["ChannelError", "ENDPOINTS", "OperationLimiter", "SellingPartnerClient", "amz_time", "listings_feed",
           "parse_processing_report", "price_patch", "quantity_patch"]
