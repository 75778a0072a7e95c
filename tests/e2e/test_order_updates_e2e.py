"""A confirmed order edited on the shop, against the running server, over real HTTP both ways.

The Shopify simulator sends ``orders/updated`` (Shopify-signed) after the merchant changed the
note and the shipping address of a paid order Odoo already confirmed, before anything shipped;
the test reads over JSON-RPC that both reached the sale order and its delivery.
"""

import re

import pytest

from test_storefront_flows import Shopify

pytestmark = pytest.mark.e2e

SKUS = ("RC-MUG", "RC-CAP")


class UpdatedShop(Shopify):
    token, secret = "shpat_e2e_upd", "shp-e2e-upd"


@pytest.fixture(scope="module")
def products(storable_products):
    """Return {sku: product id}: storable products the shop sells, with stock at the main warehouse."""
    return storable_products(SKUS)


@pytest.fixture(scope="module")
def shop(public_url, products, storefront):
    """Return (simulator, backend id) of a Shopify shop selling from Odoo's main warehouse."""
    with storefront(UpdatedShop(public_url), "E2E order updates", on_hand=dict.fromkeys(products.values(), 40)) as shop:
        yield shop.sim, shop.backend_id


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def test_note_and_address_changed_on_shopify_reach_the_confirmed_order_and_its_delivery(shop, odoo, wait_for):
    sim, backend_id = shop
    order = sim.place_order(line_items=[{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}],
                            note="Gift wrap, please",
                            shipping_address={"address1": "1 Market St", "city": "San Francisco", "zip": "94105",
                                              "province_code": "CA", "country_code": "US"})

    def sale():
        bindings = odoo.search_read("retail.sale.order.binding", [("backend_id", "=", backend_id),
                                                                   ("external_id", "=", str(order["id"]))], ["odoo_id"])
        if not bindings:
            return None
        found = odoo.search_read("sale.order", [("id", "=", bindings[0]["odoo_id"][0])],
                                 ["state", "note", "partner_id", "partner_shipping_id", "picking_ids"])[0]
        return found if found["state"] == "sale" else None

    confirmed = wait_for(sale, timeout=60, what="the confirmed sale order")
    assert _text(confirmed["note"]) == "Gift wrap, please"
    [picking_id] = confirmed["picking_ids"]
    picking = odoo.search_read("stock.picking", [("id", "=", picking_id)], ["state", "partner_id"])[0]
    assert picking["state"] != "done" and picking["partner_id"][0] == confirmed["partner_shipping_id"][0]

    # the merchant edits the paid, unshipped order on Shopify: orders/updated, signed, to Odoo's gateway
    sim.update_order(order["id"], note="Leave it with the neighbour at no. 11",
                     shipping_address={"address1": "77 Geary St", "address2": "Floor 3", "zip": "94108"})

    def updated():
        found = sale()
        return found if found and "neighbour" in _text(found["note"]) else None

    changed = wait_for(updated, timeout=60, what="the new note on the sale order")
    [sent] = sim.webhooks.for_topic("orders/updated")
    assert (sent.delivered, sent.status) == (True, 202)
    assert _text(changed["note"]) == "Leave it with the neighbour at no. 11"
    delivery = odoo.search_read("res.partner", [("id", "=", changed["partner_shipping_id"][0])],
                                ["street", "street2", "zip", "city", "parent_id", "type"])[0]
    assert (delivery["street"], delivery["street2"], delivery["zip"], delivery["city"]) == (
        "77 Geary St", "Floor 3", "94108", "San Francisco")
    assert (delivery["parent_id"][0], delivery["type"]) == (changed["partner_id"][0], "delivery")
    picking = odoo.search_read("stock.picking", [("id", "=", picking_id)], ["partner_id"])[0]
    assert picking["partner_id"][0] == delivery["id"], "the delivery goes to the new address too"

    event = odoo.search_read("retail.event", [("backend_id", "=", backend_id), ("topic", "=", "orders/updated"),
                                              ("aggregate_key", "=", str(order["id"]))], ["state", "outcome"])
    assert [(e["state"], e["outcome"]) for e in event] == [("done", "updated")]
    messages = odoo.search_read("mail.message", [("model", "=", "sale.order"), ("res_id", "=", changed["id"])],
                                ["body"])
    assert any("Changed on" in m["body"] and "77 Geary St" in m["body"] and "neighbour" in m["body"]
               for m in messages)
