"""Which fulfilment-order lines ship a set of SKU quantities, grouped the way Shopify accepts them."""

from collections.abc import Mapping

from retail_connector_base_lib.http import ChannelValidationError

FULFILLABLE = ("OPEN", "IN_PROGRESS")


def plan_fulfillment(fulfillment_orders, quantities_by_sku: Mapping | None = None) -> dict[str, list[dict]]:
    """Return ``{location id: [{"fulfillment_order_id", "line_items": [{"id", "quantity"}]}]}``.

    ``fulfillment_orders`` are the order's fulfilment orders as ``FULFILLMENT_ORDERS`` returns
    them; ``quantities_by_sku`` ``{sku: quantity}`` (None: everything left). Quantities are
    taken from open fulfilment orders in Shopify's order; one fulfilment may only cover the
    fulfilment orders of one location, hence the grouping. Raises ChannelValidationError
    naming the SKU when the order cannot ship what is asked.
    """
    lines = []  # (location, fulfillment order id, line id, sku, remaining), in Shopify's order
    for fo in fulfillment_orders:
        if fo.get("status") not in FULFILLABLE:
            continue
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        connection = fo.get("lineItems") or {}
        items = connection.get("nodes")
        if items is None:
            items = [edge["node"] for edge in connection.get("edges") or []]
        for item in items:
            sku = item.get("sku") or (item.get("lineItem") or {}).get("sku")
            if item.get("remainingQuantity", 0) > 0:
                lines.append([location, fo["id"], item["id"], sku, int(item["remainingQuantity"])])
    if quantities_by_sku is None:
        wanted = [(line, line[4]) for line in lines]
    else:
        wanted = []
        for sku, quantity in quantities_by_sku.items():
            quantity = int(quantity)
            if quantity <= 0:
                raise ChannelValidationError(f"cannot fulfil {quantity} x {sku}: the quantity must be positive")
            left = sum(line[4] for line in lines if line[3] == sku)
            if quantity > left:
                raise ChannelValidationError(
                    f"cannot fulfil {quantity} x {sku}: the order has {left} left to fulfil")
            for line in lines:
                if line[3] != sku or quantity == 0:
                    continue
                take = min(quantity, line[4])
                wanted.append((line, take))
                quantity -= take
    if not wanted:
        raise ChannelValidationError("nothing is left to fulfil on this order")
    plan: dict[str, dict[str, dict]] = {}
    for (location, fo_id, line_id, _sku, _left), quantity in wanted:
        group = plan.setdefault(location, {}).setdefault(fo_id, {"fulfillment_order_id": fo_id, "line_items": []})
        group["line_items"].append({"id": line_id, "quantity": quantity})
    return {location: list(groups.values()) for location, groups in plan.items()}
