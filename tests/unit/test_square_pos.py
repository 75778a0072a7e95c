"""The Square protocol layer against the POS simulator, over real HTTP, without Odoo."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from retail_connector_base_lib.http import ChannelAuthError, ChannelValidationError
from retail_connector_base_lib.signatures import SignatureError
from retail_connector_pos_lib.squarepos import SquareClient
from retail_connector_pos_lib.squarepos import mapping
from retail_connector_pos_lib.squarepos.webhooks import verify as verify_square
from simulators.square_pos import SquarePOS

TOKEN, KEY = "sq-unit-token", "sq-unit-key"


@pytest.fixture
def pos():
    with SquarePOS(token=TOKEN, signature_key=KEY, tax_percent="10", seed=3) as sim:
        yield sim


@pytest.fixture
def client(pos):
    return SquareClient(pos.url, TOKEN, timeout=5)


def test_locations_and_bad_token(pos, client):
    assert [loc["id"] for loc in client.list_locations()] == ["L1BRUSSELS", "L2ANTWERP"]
    with pytest.raises(ChannelAuthError):
        SquareClient(pos.url, "wrong", timeout=5).list_locations()


def test_search_orders_by_close_window_follows_cursors(pos, client):
    now = datetime.now(timezone.utc)
    for hours in range(5):
        pos.sell("L1BRUSSELS", [{"sku": "RC-MUG", "quantity": 1}], at=now - timedelta(hours=hours), notify=False)
    pos.sell("L2ANTWERP", [{"sku": "RC-CAP", "quantity": 1}], at=now, notify=False)
    found = list(client.search_orders(["L1BRUSSELS"], closed_at_start=now - timedelta(hours=3, minutes=30),
                                      closed_at_end=now + timedelta(seconds=1), limit=2))
    assert len(found) == 4 and {o["location_id"] for o in found} == {"L1BRUSSELS"}
    assert [o["closed_at"] for o in found] == sorted(o["closed_at"] for o in found)
    assert len(pos.calls_to("POST", "/v2/orders/search")) == 2


def test_sale_maps_to_a_canonical_order_with_tenders_and_taxes(pos, client):
    sale = pos.sell("L1BRUSSELS", [{"sku": "RC-MUG", "quantity": 2}],
                    tenders=[{"type": "CASH", "amount": "10.00"}, {"type": "CARD", "amount": "10.90"}], notify=False)
    [fetched] = client.batch_retrieve_orders([sale["id"]])
    order = mapping.order_to_canonical(fetched, sku_of={})
    assert order.total_amount == Decimal("20.90") and order.currency == "EUR"
    assert [(p.gateway, p.amount) for p in order.payments] == [("CASH", Decimal("10.00")), ("CARD", Decimal("10.90"))]
    [line] = order.lines
    assert (line.sku, line.quantity, line.unit_price) == ("RC-MUG", 2, Decimal("9.50"))
    assert (line.tax_lines[0].rate, line.tax_lines[0].amount) == (Decimal("0.1"), Decimal("1.90"))
    assert order.extra["location_id"] == "L1BRUSSELS"


def test_return_maps_to_a_refund_of_its_sale(pos, client):
    sale = pos.sell("L1BRUSSELS", [{"sku": "RC-CAP", "quantity": 2}], notify=False)
    ret = pos.refund(sale["id"], [{"sku": "RC-CAP", "quantity": 1}], notify=False)
    refund = mapping.return_to_canonical(client.batch_retrieve_orders([ret["id"]])[0], sku_of={})
    assert (refund.order_external_id, refund.amount) == (sale["id"], Decimal("15.40"))
    assert [(line.sku, line.quantity, line.restock) for line in refund.lines] == [("RC-CAP", 1, True)]
    assert pos.stock("L1BRUSSELS", "RC-CAP") == 49


def test_catalog_upsert_is_idempotent_by_key_and_refuses_a_reused_key(pos, client):
    objects = mapping.catalog_objects_for([{"sku": "RC-NEW", "name": "New", "variations": [
        {"sku": "RC-NEW", "name": "New", "price": "4.25", "currency": "EUR"}]}])
    first = client.batch_upsert_catalog(objects, idempotency_key="k1")
    again = client.batch_upsert_catalog(objects, idempotency_key="k1")
    assert first == again
    ids = mapping.variation_ids_by_sku(first, objects)
    assert ids["RC-NEW"] == pos.variation_of("RC-NEW") and not ids["RC-NEW"].startswith("#")
    assert pos.catalog_item("RC-NEW")["price"] == Decimal("4.25")
    other = mapping.catalog_objects_for([{"sku": "RC-NEW", "name": "Renamed", "variations": [
        {"sku": "RC-NEW", "name": "Renamed", "price": "5", "currency": "EUR"}]}])
    with pytest.raises(ChannelValidationError) as info:
        client.batch_upsert_catalog(other, idempotency_key="k1")
    assert "IDEMPOTENCY_KEY_REUSED" in str(info.value)


def test_inventory_counts_in_and_out(pos, client):
    variation = pos.variation_of("RC-MUG")
    changes = mapping.inventory_changes([{"catalog_object_id": variation, "location_id": "L2ANTWERP", "quantity": 7}],
                                        occurred_at=datetime.now(timezone.utc))
    client.batch_change_inventory(changes, idempotency_key="inv-1")
    assert pos.stock("L2ANTWERP", "RC-MUG") == 7
    counts = client.batch_retrieve_inventory_counts([variation], location_ids=["L2ANTWERP"])
    assert [(c["location_id"], c["quantity"]) for c in counts] == [("L2ANTWERP", "7")]
    with pytest.raises(ValueError):
        client.batch_change_inventory(changes * 101, idempotency_key="too-many")


def test_an_item_added_to_the_catalogue_is_sold_and_read_back(pos, client):
    variation = pos.add_item("RC-BAG", "12.00", stock=3)
    assert pos.variation_of("RC-BAG") == variation and pos.stock("L1BRUSSELS", "RC-BAG") == 3
    sale = pos.sell("L1BRUSSELS", [{"sku": "RC-BAG", "quantity": 1}], notify=False)
    [order] = client.batch_retrieve_orders([sale["id"]])
    assert order["line_items"][0]["catalog_object_id"] == variation
    assert order["line_items"][0]["base_price_money"]["amount"] == 1200
    assert pos.stock("L1BRUSSELS", "RC-BAG") == 2


def test_webhooks_are_signed_over_the_notification_url_and_body():
    received = []
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: PLC0415
    import threading  # noqa: PLC0415

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/retail/webhook/9" % server.server_address[1]
    try:
        with SquarePOS(token=TOKEN, signature_key=KEY, webhook_url=url) as pos:
            pos.count("L1BRUSSELS", "RC-MUG", 12)
    finally:
        server.shutdown()
    headers, body = received[0]
    headers = {k.lower(): v for k, v in headers.items()}
    verify_square(body, headers, [KEY], url)
    from square.utils.webhooks_helper import verify_signature  # noqa: PLC0415

    assert verify_signature(request_body=body.decode(), signature_header=headers["x-square-hmacsha256-signature"],
                            signature_key=KEY, notification_url=url), "Square's own helper accepts the signature"
    notification = json.loads(body)
    assert notification["type"] == "inventory.count.updated"
    assert mapping.counts_of_event(notification)[0]["quantity"] == "12"
    with pytest.raises(SignatureError):
        verify_square(body, headers, [KEY], url + "?proxy=1")


def test_the_official_square_client_and_webhook_helper_speak_to_the_simulator(pos):
    """squareup, Square's own SDK, reads the simulator's answers and checks its signatures."""
    from square import Square  # noqa: PLC0415
    from square.utils.webhooks_helper import verify_signature  # noqa: PLC0415

    sdk = Square(token=TOKEN, base_url=pos.url)
    assert [loc.id for loc in sdk.locations.list().locations] == ["L1BRUSSELS", "L2ANTWERP"]
    pos.sell("L2ANTWERP", [{"sku": "RC-MUG", "quantity": 2}], notify=False)
    found = sdk.orders.search(location_ids=["L2ANTWERP"],
                              query={"filter": {"state_filter": {"states": ["COMPLETED"]}}}).orders
    assert [(o.location_id, o.total_money.amount) for o in found] == [("L2ANTWERP", 2090)]
    answer = sdk.catalog.batch_upsert(idempotency_key="sdk-1", batches=[{"objects": mapping.catalog_objects_for([
        {"sku": "RC-SDK", "name": "SDK item", "variations": [{"sku": "RC-SDK", "name": "SDK item", "price": "3.10",
                                                              "currency": "EUR"}]}])}])
    assert {m.client_object_id for m in answer.id_mappings} == {"#item-RC-SDK", "#var-RC-SDK"}
    assert pos.catalog_item("RC-SDK")["price"] == Decimal("3.10")
    body = json.dumps({"type": "order.updated", "event_id": "e1"})
    url = "https://shop.example.com/retail/webhook/3"
    from simulators.base import hmac_sha256_base64  # noqa: PLC0415

    signature = hmac_sha256_base64(KEY, (url + body).encode())
    assert verify_signature(request_body=body, signature_header=signature, signature_key=KEY, notification_url=url)
    verify_square(body.encode(), {"x-square-hmacsha256-signature": signature}, [KEY], url)


def test_the_customer_of_a_sale_is_read_from_the_customers_api(pos, client):
    customer_id = pos.add_customer("Ann", "Lee", email="ann@example.com")
    sale = pos.sell("L1BRUSSELS", [{"sku": "RC-MUG", "quantity": 1}], customer_id=customer_id, notify=False)
    order = mapping.order_to_canonical(sale, sku_of={}, customer=client.get_customer(sale["customer_id"]))
    assert (order.customer.email, order.customer.first_name, order.customer.external_id) == (
        "ann@example.com", "Ann", customer_id)
    assert client.get_customer("NO-SUCH-CUSTOMER") is None
