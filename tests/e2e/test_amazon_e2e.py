"""The Amazon channel against the running server: the SP-API simulator on loopback, its notifications
on an SQS queue served by moto, Odoo's jobs calling the SP-API and reading the queue with boto3.

Orders in by notification and by polling (pending orders wait, cancellations cancel, FBA orders
are recorded against the Amazon fulfilment warehouse), an access token expiring mid-run, a 429
storm on getOrders, a lost notification found by polling, shipment confirmation out, quantities
out by patchListingsItem and by a JSON_LISTINGS_FEED with one rejected message, prices out, a settlement
(financial event group) through the payout pipeline, customer returns from the returns report
(Reports API) authorised once through the base's returns workflow, one of an order not imported
yet waiting for it.
"""

import uuid

import pytest

from simulators.amazon import AmazonSimulator

pytestmark = pytest.mark.e2e

MARKET = "A1PA6795UKMFR9"
SKUS = ["AMZ-%02d" % i for i in range(1, 9)]


@pytest.fixture(scope="module")
def products(odoo):
    found = {p["default_code"]: p["id"] for p in odoo.search_read("product.product", [("default_code", "in", SKUS)],
                                                                  ["default_code"])}
    for sku in SKUS:
        if sku not in found:
            found[sku] = odoo.call("product.product", "create", {
                "name": "Amazon item %s" % sku, "default_code": sku, "type": "consu", "is_storable": True,
                "list_price": 12, "taxes_id": [(5, 0, 0)]})
    return found


@pytest.fixture(scope="module")
def amazon(odoo, products, set_on_hand, channel_backend):
    # the documented usage plans, sixty times faster: getOrders one a second, burst 20
    # orders in the company's currency (an EUR marketplace's orders need EUR active with a pricelist)
    currency = odoo.search_read("res.company", [], ["currency_id"], limit=1)[0]["currency_id"][1]
    sim = AmazonSimulator(rate_scale=60.0, feed_delay=1.5, report_delay=1.5, report_gzip=True, currency=currency).start()
    for sku in SKUS:
        sim.add_listing(sku, 0)
    warehouse = odoo.search_read("stock.warehouse", [("code", "!=", "AFN")], ["id", "lot_stock_id"], limit=1)[0]
    for product_id in products.values():
        set_on_hand(product_id, warehouse["lot_stock_id"][0], 40)
    try:
        with channel_backend(
            "E2E Amazon", backend_type="amazon", endpoint_url=sim.url, warehouse_id=warehouse["id"], rate_limit_rps=50,
            rate_limit_burst=50, api_key=sim.client_id, api_secret=sim.client_secret,
            amazon_refresh_token=sim.refresh_token, amazon_lwa_token_url=sim.token_url, amazon_marketplace_ids=MARKET,
            amazon_seller_id=sim.seller_id, amazon_sqs_queue_url=sim.queue_url, amazon_aws_region="us-east-1",
            amazon_aws_access_key_id="testing", amazon_aws_secret_access_key="testing", invoice_policy="at_payout",
        ) as backend_id:
            sim.backend_id, sim.warehouse = backend_id, warehouse
            yield sim
    finally:
        sim.stop()


def _read_notifications(odoo, amazon):
    odoo.call("retail.backend", "action_amazon_read_notifications", [amazon.backend_id])


def _run_orders_policy(odoo, amazon):
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", amazon.backend_id), ("domain", "=", "orders")],
                              ["id"])[0]
    odoo.call("retail.sync.policy", "action_run_now", [policy["id"]])


def _sale_of(odoo, amazon, order_id, wait_for, state="sale", timeout=60):
    def found():
        bindings = odoo.search_read("retail.sale.order.binding", [("backend_id", "=", amazon.backend_id),
                                                                   ("external_id", "=", order_id)], ["odoo_id"])
        if not bindings:
            return None
        sale = odoo.search_read("sale.order", [("id", "=", bindings[0]["odoo_id"][0])],
                                ["state", "amount_total", "picking_ids", "partner_id", "partner_shipping_id",
                                 "order_line"])[0]
        return sale if sale["state"] == state else None

    return wait_for(found, timeout=timeout, what="Amazon order %s to be %s in Odoo" % (order_id, state))


def _events_of(odoo, amazon, order_id):
    return odoo.search_read("retail.event", [("backend_id", "=", amazon.backend_id), ("aggregate_key", "=", order_id)],
                            ["state", "outcome", "source"])


def test_notified_order_in_with_its_restricted_data(amazon, odoo, wait_for):
    order_id = amazon.add_order(items=[("AMZ-01", 2, "12.50"), ("AMZ-02", 1, "7.00")], shipping="3.90",
                                buyer_email="e2e-%s@marketplace.amazon.de" % uuid.uuid4().hex[:8], name="Erika Mustermann")
    _read_notifications(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for)
    assert sale["amount_total"] == pytest.approx(2 * 12.5 + 7 + 3.9, abs=0.01)
    partner = odoo.search_read("res.partner", [("id", "=", sale["partner_id"][0])], ["email"])[0]
    assert partner["email"] == amazon.orders[order_id]["BuyerInfo"]["BuyerEmail"]
    shipping = odoo.search_read("res.partner", [("id", "=", sale["partner_shipping_id"][0])], ["street", "zip"])[0]
    assert (shipping["street"], shipping["zip"]) == ("Hauptstrasse 1", "10115")
    # the buyer and the address came through a Restricted Data Token, asked for this order only
    rdt_calls = [c.json() for c in amazon.calls_to("POST", "/tokens/2021-03-01/restrictedDataToken")]
    assert any(r["restrictedResources"][0]["path"] == "/orders/v0/orders/%s" % order_id for r in rdt_calls)
    assert amazon.queue_depth()["ApproximateNumberOfMessages"] == 0  # read and deleted


def test_pending_order_waits_then_unshipped_is_confirmed_and_canceled_cancels(amazon, odoo, wait_for):
    order_id = amazon.add_order(status="Pending", items=[("AMZ-03", 1, "20.00")])
    _read_notifications(odoo, amazon)
    assert not odoo.search_read("retail.sale.order.binding", [("backend_id", "=", amazon.backend_id),
                                                               ("external_id", "=", order_id)], ["id"])
    amazon.set_status(order_id, "Unshipped")
    _read_notifications(odoo, amazon)
    _sale_of(odoo, amazon, order_id, wait_for)
    amazon.set_status(order_id, "Canceled")
    _read_notifications(odoo, amazon)
    _sale_of(odoo, amazon, order_id, wait_for, state="cancel")


def test_amazon_fulfilled_order_has_no_delivery_to_ship(amazon, odoo, wait_for):
    order_id = amazon.add_order(channel="AFN", status="Shipped", items=[("AMZ-04", 1, "15.00")])
    _read_notifications(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for)
    pickings = odoo.search_read("stock.picking", [("id", "in", sale["picking_ids"])], ["state", "location_id"])
    backend = odoo.search_read("retail.backend", [("id", "=", amazon.backend_id)], ["amazon_afn_warehouse_id"])[0]
    afn = odoo.search_read("stock.warehouse", [("id", "=", backend["amazon_afn_warehouse_id"][0])], ["lot_stock_id"])[0]
    assert pickings and all(p["state"] == "done" and p["location_id"][0] == afn["lot_stock_id"][0] for p in pickings)
    # no personal data was asked for an order Amazon ships
    rdt_paths = [c.json()["restrictedResources"][0]["path"]
                 for c in amazon.calls_to("POST", "/tokens/2021-03-01/restrictedDataToken")]
    assert "/orders/v0/orders/%s" % order_id not in rdt_paths
    assert not [s for s in amazon.shipments if s["orderId"] == order_id]


def test_access_token_expiring_mid_run(amazon, odoo, wait_for):
    first = amazon.add_order(items=[("AMZ-05", 1, "9.00")])
    _read_notifications(odoo, amazon)
    _sale_of(odoo, amazon, first, wait_for)
    before = amazon.token_requests
    amazon.expire_tokens()
    second = amazon.add_order(items=[("AMZ-05", 1, "9.00")])
    _read_notifications(odoo, amazon)
    _sale_of(odoo, amazon, second, wait_for)
    # one new token, fetched once and shared by the jobs that followed
    assert amazon.token_requests == before + 1


def test_lost_notification_found_by_polling_through_a_429_storm(amazon, odoo, wait_for):
    amazon.drop_notifications(1)
    order_id = amazon.add_order(items=[("AMZ-06", 3, "4.00")])
    _read_notifications(odoo, amazon)
    assert amazon.notifications_dropped[-1]["Payload"]["OrderChangeNotification"]["AmazonOrderId"] == order_id
    assert not _events_of(odoo, amazon, order_id)
    amazon.throttle("getOrders", 4)
    throttled = amazon.throttled.get("getOrders", 0)
    _run_orders_policy(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for, timeout=90)
    assert sale["amount_total"] == pytest.approx(12.0, abs=0.01)
    assert amazon.throttled["getOrders"] >= throttled + 4
    assert {e["source"] for e in _events_of(odoo, amazon, order_id)} == {"poll"}


def test_shipment_confirmation_out(amazon, odoo, wait_for):
    order_id = amazon.add_order(items=[("AMZ-07", 2, "11.00")])
    _read_notifications(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for)
    picking_id = sale["picking_ids"][0]
    tracking = "E2E%s" % uuid.uuid4().hex[:10].upper()
    odoo.call("stock.picking", "write", [picking_id], {"carrier_tracking_ref": tracking})
    odoo.call("stock.picking", "action_assign", [picking_id])
    for move in odoo.search_read("stock.move", [("picking_id", "=", picking_id)], ["product_uom_qty"]):
        odoo.call("stock.move", "write", [move["id"]], {"quantity": move["product_uom_qty"], "picked": True})
    odoo.call("stock.picking", "button_validate", [picking_id], context={"skip_sms": True})

    def confirmed():
        return [s for s in amazon.shipments if s["orderId"] == order_id]

    shipment = wait_for(confirmed, timeout=60, what="the shipment confirmation on Amazon")[0]
    package = shipment["packageDetail"]
    assert package["trackingNumber"] == tracking and package["orderItems"][0]["quantity"] == 2
    assert shipment["marketplaceId"] == MARKET
    assert amazon.orders[order_id]["OrderStatus"] == "Shipped"


def test_quantities_out_by_listing_patch_and_by_feed_with_one_rejected_message(
        amazon, odoo, wait_for, products, set_on_hand):
    location = amazon.warehouse["lot_stock_id"][0]

    def free(sku):
        return int(odoo.call("product.product", "read", [products[sku]], ["free_qty"],
                             context={"location": location})[0]["free_qty"])

    # one SKU: patchListingsItem
    set_on_hand(products["AMZ-08"], location, 40 + 3)
    wait_for(lambda: amazon.listings["AMZ-08"]["quantity"] == free("AMZ-08"), timeout=60,
             what="the listing's quantity on Amazon")
    assert amazon.calls_to("PATCH", "/listings/2021-08-01/items/%s/AMZ-08" % amazon.seller_id)

    # many SKUs at once: one JSON_LISTINGS_FEED, of which Amazon rejects one message
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", amazon.backend_id),
                                                     ("domain", "=", "inventory")], ["id"])[0]["id"]
    odoo.call("retail.sync.policy", "action_pause", [policy])
    amazon.reject_sku("AMZ-02", "The listing is blocked for quantity updates.")
    for index, sku in enumerate(SKUS):
        set_on_hand(products[sku], location, 50 + index)
    odoo.call("retail.sync.policy", "action_resume", [policy])
    expected = {sku: free(sku) for sku in SKUS}
    wait_for(lambda: all(amazon.listings[sku]["quantity"] == expected[sku] for sku in SKUS if sku != "AMZ-02"),
             timeout=90, what="the feed's quantities on Amazon")
    feed = [f for f in amazon.feeds.values() if f["feedType"] == "JSON_LISTINGS_FEED"][-1]
    assert amazon.feed_report(feed["feedId"])["summary"]["messagesInvalid"] == 1

    def refused():
        rows = odoo.search_read("retail.export.request", [("backend_id", "=", amazon.backend_id),
                                                          ("domain", "=", "inventory"), ("res_id", "=", products["AMZ-02"]),
                                                          ("state", "=", "failed")], ["last_error"])
        return rows[-1] if rows else None

    failed = wait_for(refused, timeout=60, what="the rejected message as a failure on its product")
    assert "blocked for quantity updates" in failed["last_error"]
    assert amazon.listings["AMZ-02"]["quantity"] != expected["AMZ-02"]


def test_settlement_through_the_payout_pipeline(amazon, odoo, wait_for):
    order_id = amazon.add_order(items=[("AMZ-01", 2, "10.00")], shipping="4.00")
    _read_notifications(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for)
    group_id = amazon.settle([order_id], commission="0.15", service_fee="39.00", reserve="5.00")
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", amazon.backend_id), ("domain", "=", "finance")],
                              ["id", "mode"])[0]
    assert policy["mode"] == "batch"
    odoo.call("retail.sync.policy", "action_run_now", [policy["id"]])

    def imported():
        found = odoo.search_read("retail.payout", [("backend_id", "=", amazon.backend_id), ("external_id", "=", group_id)],
                                 ["state", "amount", "status", "line_ids"])
        return found[0] if found and found[0]["state"] != "draft" else None

    payout = wait_for(imported, timeout=90, what="the settlement as a payout in Odoo")
    assert (payout["status"], payout["amount"]) == ("paid", pytest.approx(24 - 3 - 39 - 5, abs=0.01))
    lines = {line["type"]: line for line in odoo.search_read(
        "retail.payout.line", [("payout_id", "=", [payout["id"]][0])],
        ["type", "order_external_id", "sale_order_id", "match_state", "amount", "fee", "net", "invoice_id"])}
    charge = lines["charge"]
    assert (charge["order_external_id"], charge["sale_order_id"][0]) == (order_id, sale["id"])
    assert (charge["amount"], charge["fee"]) == (pytest.approx(24.0), pytest.approx(3.0))
    assert charge["match_state"] == "matched" and charge["invoice_id"], "the settlement invoiced and matched the order"
    assert lines["fee"]["net"] == pytest.approx(-39.0) and lines["adjustment"]["net"] == pytest.approx(-5.0)


def test_price_out(amazon, odoo, wait_for, products):
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", amazon.backend_id), ("domain", "=", "pricing")],
                              ["id"])[0]
    odoo.call("retail.sync.policy", "write", [policy["id"]], {"mode": "event"})
    price = 10 + uuid.uuid4().int % 90 + 0.25
    odoo.call("product.product", "write", [products["AMZ-03"]], {"list_price": price})
    wait_for(lambda: amazon.listings["AMZ-03"].get("price") == "%.2f" % price, timeout=60,
             what="the new price on Amazon")
    body = amazon.calls_to("PATCH", "/listings/2021-08-01/items/%s/AMZ-03" % amazon.seller_id)[-1].json()
    assert body["patches"][0]["path"] == "/attributes/purchasable_offer"
    assert body["patches"][0]["value"][0]["marketplace_id"] == MARKET


def _run_returns_policy(odoo, amazon, wait_for):
    """Run the returns policy now and wait for its run (the report read into the inbox) to end."""
    policy = odoo.search_read("retail.sync.policy", [("backend_id", "=", amazon.backend_id), ("domain", "=", "returns")],
                              ["id", "mode"])[0]
    assert policy["mode"] != "off"
    job_ids = odoo.call("retail.sync.policy", "action_run_now", [policy["id"]])

    def ended():
        jobs = odoo.search_read("queue.job", [("id", "in", job_ids)], ["state", "result", "exc_info"])
        return jobs if jobs and all(j["state"] in ("done", "failed") for j in jobs) else None

    jobs = wait_for(ended, timeout=90, what="the returns policy's run")
    assert all(j["state"] == "done" for j in jobs), jobs
    return jobs[0]["result"] or ""


def _returns_reports_created(amazon):
    return [c.json() for c in amazon.calls_to("POST", "/reports/2021-06-30/reports")
            if c.json()["reportType"] == "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"]


def _returns_of(odoo, amazon, rma):
    return odoo.search_read("retail.return", [("backend_id", "=", amazon.backend_id), ("external_id", "=", rma)],
                            ["state", "origin", "sale_order_id", "line_ids"])


def test_customer_return_from_the_returns_report_authorised_once(amazon, odoo, wait_for, products):
    order_id = amazon.add_order(items=[("AMZ-05", 2, "9.00"), ("AMZ-06", 1, "4.00")])
    _read_notifications(odoo, amazon)
    sale = _sale_of(odoo, amazon, order_id, wait_for)
    rma = amazon.add_return(order_id, "AMZ-05", 1, "DEFECTIVE", refunded="9.00")
    result = _run_returns_policy(odoo, amazon, wait_for)
    assert "returns: 1 new" in result
    ret = wait_for(lambda: [r for r in _returns_of(odoo, amazon, rma) if r["state"] == "open"], timeout=60,
                   what="the Amazon return authorised in Odoo")[0]
    assert (ret["origin"], ret["sale_order_id"][0]) == ("channel", sale["id"])
    [line] = odoo.search_read("retail.return.line", [("id", "in", ret["line_ids"])],
                              ["sale_line_id", "product_id", "quantity"])
    sale_line = odoo.search_read("sale.order.line", [("id", "=", line["sale_line_id"][0])], ["order_id", "product_id"])[0]
    assert (sale_line["order_id"][0], line["product_id"][0], line["quantity"]) == (sale["id"], products["AMZ-05"], 1)
    # the report came gzipped through createReport / getReport / getReportDocument, from the policy's watermark
    created = _returns_reports_created(amazon)[-1]
    assert created["marketplaceIds"] == [MARKET] and created["dataStartTime"]
    # read twice: the same report rows again, still one return and one event
    result = _run_returns_policy(odoo, amazon, wait_for)
    assert "0 new, 1 already known" in result
    second = _returns_reports_created(amazon)[-1]
    assert second["dataStartTime"] > created["dataStartTime"], "the second read starts from the watermark"
    assert len(_returns_of(odoo, amazon, rma)) == 1
    assert len(odoo.search_read("retail.event", [("backend_id", "=", amazon.backend_id),
                                                 ("aggregate_key", "=", rma)], ["id"])) == 1


def test_return_of_an_order_not_imported_yet_waits_for_the_order(amazon, odoo, wait_for):
    order_id = amazon.add_order(items=[("AMZ-07", 1, "11.00")], notify=False)
    rma = amazon.add_return(order_id, "AMZ-07", 1, "NO_LONGER_NEEDED")
    _run_returns_policy(odoo, amazon, wait_for)

    def waiting():
        events = odoo.search_read("retail.event", [("backend_id", "=", amazon.backend_id), ("aggregate_key", "=", rma)],
                                  ["state", "last_error"])
        return events if events and events[0]["last_error"] else None

    [event] = wait_for(waiting, timeout=60, what="the return's event waiting for its order")
    assert event["state"] == "queued" and "not imported" in event["last_error"]
    assert not _returns_of(odoo, amazon, rma)
    _run_orders_policy(odoo, amazon)  # the order comes by polling
    _sale_of(odoo, amazon, order_id, wait_for, timeout=90)
    wait_for(lambda: [r for r in _returns_of(odoo, amazon, rma) if r["state"] == "open"], timeout=150,
             what="the waiting return recorded once its order is in")
