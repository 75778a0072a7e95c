# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Square orders, returns, notifications, catalogue and counts to and from canonical objects.

Square writes money as ``{"amount": <minor units>, "currency"}`` and quantities as decimal
text. A store sale is an order whose ``tenders`` say how it was paid (CASH, CARD,
SQUARE_GIFT_CARD...); a return is an order with ``returns`` naming the ``source_order_id`` and
``refunds`` per tender. Line items point at catalogue variations (``catalog_object_id``); their
SKU comes from the caller's lookup (the connector's product bindings), else ``variation_name``.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal

from retail_connector_base_lib.canonical import MINOR_UNITS, Order, Refund


def _amount(money) -> Decimal | None:
    if not isinstance(money, Mapping) or money.get("amount") is None:
        return None
    digits = MINOR_UNITS.get(str(money.get("currency") or "USD").upper(), 2)
    return Decimal(int(money["amount"])).scaleb(-digits)


def _currency(order) -> str | None:
    for key in ("total_money", "net_amounts", "return_amounts"):
        money = order.get(key)
        if isinstance(money, Mapping):
            money = money.get("total_money", money)
            if isinstance(money, Mapping) and money.get("currency"):
                return money["currency"]
    return None


def _sku(item, sku_of) -> str | None:
    found = sku_of(item.get("catalog_object_id")) if callable(sku_of) else (sku_of or {}).get(item.get("catalog_object_id"))
    return found or item.get("variation_name") or None


def customer_of(customer: Mapping | None) -> dict | None:
    """Return the canonical customer of a Square customer (Customers API), or None."""
    if not customer:
        return None
    return {"external_id": customer.get("id"), "email": customer.get("email_address") or None,
            "phone": customer.get("phone_number") or None, "first_name": customer.get("given_name") or None,
            "last_name": customer.get("family_name") or None}


def order_to_canonical(order: Mapping, sku_of: Callable | Mapping | None = None, customer: Mapping | None = None) -> Order:
    """Return the canonical Order of a completed Square order (a store sale); ``customer`` is the order's
    customer as the Customers API gives it, when the sale names one."""
    taxes = {t.get("uid"): t for t in order.get("taxes") or []}
    lines = []
    for item in order.get("line_items") or []:
        quantity = Decimal(str(item.get("quantity") or "1"))
        tax_lines = []
        for applied in item.get("applied_taxes") or []:
            tax = taxes.get(applied.get("tax_uid")) or {}
            percent = Decimal(str(tax.get("percentage") or "0"))
            tax_lines.append({"name": tax.get("name"), "rate": format(percent / 100, "f"),
                              "amount": format(_amount(applied.get("applied_money")) or 0, "f")})
        lines.append({
            "external_id": item.get("uid"), "sku": _sku(item, sku_of), "name": item.get("name"),
            "quantity": format(quantity, "f"), "unit_price": format(_amount(item.get("base_price_money")) or 0, "f"),
            "discount_amount": format(_amount(item.get("total_discount_money")) or 0, "f"), "tax_lines": tax_lines,
        })
    inclusive = any(t.get("type") == "INCLUSIVE" for t in taxes.values())
    payments = [{
        "external_id": tender.get("id"), "gateway": tender.get("type") or "OTHER", "kind": "capture",
        "status": "success", "amount": format(_amount(tender.get("amount_money")) or 0, "f"),
        "reference": tender.get("payment_id"), "processed_at": tender.get("created_at"),
    } for tender in order.get("tenders") or []]
    return Order.from_dict({
        "external_id": order["id"], "name": order.get("reference_id") or "Square %s" % order["id"][:8],
        "created_at": order.get("created_at"), "updated_at": order.get("closed_at") or order.get("updated_at"),
        "currency": _currency(order), "lines": lines, "payments": payments, "taxes_included": inclusive,
        "customer": customer_of(customer),
        "status": "closed" if order.get("state") == "COMPLETED" else "open",
        "payment_state": "paid" if order.get("state") == "COMPLETED" else "pending",
        "total_amount": format(_amount(order.get("total_money")) or 0, "f"),
        "tax_amount": format(_amount(order.get("total_tax_money")) or 0, "f"),
        "extra": {"location_id": order.get("location_id"), "closed_at": order.get("closed_at"),
                  "customer_id": order.get("customer_id"), "source": (order.get("source") or {}).get("name")},
    })


def is_return(order: Mapping) -> bool:
    return bool(order.get("returns"))


def return_to_canonical(order: Mapping, sku_of: Callable | Mapping | None = None) -> Refund:
    """Return the canonical Refund of a Square return order (its source order and returned items)."""
    ret = (order.get("returns") or [{}])[0]
    refunds = order.get("refunds") or []
    amount = sum((_amount(r.get("amount_money")) or Decimal(0) for r in refunds if r.get("status") != "FAILED"),
                 Decimal(0))
    return Refund.from_dict({
        "external_id": order["id"], "order_external_id": ret.get("source_order_id"),
        "created_at": order.get("closed_at") or order.get("created_at"), "currency": _currency(order),
        "amount": format(amount, "f"), "reason": (refunds[0].get("reason") if refunds else None),
        "lines": [{"order_line_external_id": item.get("source_line_item_uid"), "sku": _sku(item, sku_of),
                   "quantity": item.get("quantity"), "amount": format(_amount(item.get("total_money")) or 0, "f"),
                   "restock": True} for item in ret.get("return_line_items") or []],
        "extra": {"location_id": order.get("location_id")},
    })


def aggregate_of(event_type: str, notification: Mapping) -> str | None:
    """Return what a notification is about: the order (sales, payments, refunds) or the variation."""
    data = notification.get("data") or {}
    obj = data.get("object") or {}
    if event_type.startswith("order."):
        inner = obj.get("order_created") or obj.get("order_updated") or obj.get("order_fulfillment_updated") or {}
        return inner.get("order_id") or data.get("id")
    if event_type.startswith("payment."):
        return (obj.get("payment") or {}).get("order_id") or data.get("id")
    if event_type.startswith("refund."):
        return (obj.get("refund") or {}).get("order_id") or data.get("id")
    if event_type.startswith("inventory."):
        counts = obj.get("inventory_counts") or []
        return counts[0].get("catalog_object_id") if counts else data.get("id")
    return data.get("id")


def order_state_of(notification: Mapping) -> str | None:
    obj = (notification.get("data") or {}).get("object") or {}
    inner = obj.get("order_created") or obj.get("order_updated") or {}
    return inner.get("state")


def refund_of_event(notification: Mapping) -> Mapping:
    return ((notification.get("data") or {}).get("object") or {}).get("refund") or {}


def counts_of_event(notification: Mapping) -> list[Mapping]:
    return list(((notification.get("data") or {}).get("object") or {}).get("inventory_counts") or [])


def catalog_objects_for(products) -> list[dict]:
    """Return ITEM catalogue objects with their ITEM_VARIATION children for neutral product dicts.

    ``products``: ``[{"sku", "name", "archived", "item_id", "variations": [{"sku", "name", "price",
    "currency", "barcode", "id", "location_prices": {location id: price}}]}]``. New objects get ``#``-prefixed temporary ids, which the
    answer's ``id_mappings`` turn into Square's; archived products are written with
    ``is_archived`` (they leave the point of sale but keep their history).
    """
    objects = []
    for product in products:
        item_id = product.get("item_id") or "#item-%s" % product["sku"]
        variations = []
        for variation in product["variations"]:
            digits = MINOR_UNITS.get(str(variation["currency"]).upper(), 2)
            data = {"item_id": item_id, "name": variation["name"], "sku": variation["sku"],
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": int(Decimal(str(variation["price"])).scaleb(digits).to_integral_value()),
                                    "currency": variation["currency"]}}
            if variation.get("barcode"):
                data["upc"] = variation["barcode"]
            overrides = variation.get("location_prices") or {}
            if overrides:
                # a store's own price list: Square's per-location price of the variation
                data["location_overrides"] = [
                    {"location_id": location, "price_money": {
                        "amount": int(Decimal(str(price)).scaleb(digits).to_integral_value()),
                        "currency": variation["currency"]}}
                    for location, price in sorted(overrides.items())]
            variations.append({"type": "ITEM_VARIATION", "id": variation.get("id") or "#var-%s" % variation["sku"],
                               "present_at_all_locations": True, "item_variation_data": data})
        objects.append({"type": "ITEM", "id": item_id, "present_at_all_locations": True,
                        "item_data": {"name": product["name"], "is_archived": bool(product.get("archived")),
                                      "variations": variations}})
    return objects


def variation_ids_by_sku(answer: Mapping, objects) -> dict[str, str]:
    """Return ``{sku: Square variation id}`` from a batch upsert's answer."""
    found = {}
    for obj in answer.get("objects") or []:
        for variation in (obj.get("item_data") or {}).get("variations") or []:
            sku = (variation.get("item_variation_data") or {}).get("sku")
            if sku and not str(variation.get("id", "")).startswith("#"):
                found[sku] = variation["id"]
    mapped = {m.get("client_object_id"): m.get("object_id") for m in answer.get("id_mappings") or []}
    for obj in objects:
        for variation in obj["item_data"]["variations"]:
            sku = variation["item_variation_data"]["sku"]
            if sku not in found and variation["id"] in mapped:
                found[sku] = mapped[variation["id"]]
    return found


def inventory_changes(levels, occurred_at) -> list[dict]:
    """Return PHYSICAL_COUNT changes for ``[{"catalog_object_id", "location_id", "quantity"}]``."""
    stamp = occurred_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return [{"type": "PHYSICAL_COUNT", "physical_count": {
        "catalog_object_id": level["catalog_object_id"], "state": "IN_STOCK", "location_id": level["location_id"],
        "quantity": format(Decimal(str(max(level["quantity"], 0))).normalize(), "f"), "occurred_at": stamp}}
        for level in levels]
