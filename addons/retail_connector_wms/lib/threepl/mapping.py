# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""ShipBob documents to and from the connector's neutral warehouse shapes (pure functions).

Outgoing: a picking-like dict becomes ShipBob's ``CreateOrderModel`` (products by
``reference_id`` = SKU, ShipBob's recommended model, which creates an unknown product when its
``name`` is given); an ASN becomes a ``CreateReceivingOrderModel`` (a Warehouse Receiving
Order, WRO, whose box items name ShipBob ``inventory_id`` values); a customer return becomes a
``CreateReturnRequest``.

Incoming: ShipBob splits an order into shipments (one per fulfilment center, or when stock runs
short); a shipment's products carry their quantities in ``inventory_items`` (with ``lot``,
``expiration_date`` and ``serial_numbers``). The order's ``status`` (``Processing``,
``Exception``, ``PartiallyFulfilled``, ``Fulfilled``, ``Cancelled``, ``ImportReview``) and each
shipment's ``status`` (``Processing``, ``LabeledCreated``, ``Completed``, ``Exception``,
``OnHold``, ``Cancelled``, ...; a delivered shipment is ``Completed`` with a ``Delivered``
status detail and a ``delivery_date``) become the neutral statuses below. A WRO reports per
inventory item ``expected_quantity``, ``received_quantity`` and ``stowed_quantity``; ShipBob has
no damaged count, so units received but not stowed once the WRO is over are read as damaged.
Shipped products carry no order line id back, so shipped lines are per SKU.

Neutral shapes::

    order result  {"order_ref", "order_id", "status", "shipments": [shipment]}
                  status: processing | on_hold | exception | partially_shipped | shipped |
                          delivered | cancelled
    shipment      {"id", "status", "tracking_number", "carrier", "carrier_service",
                   "tracking_url", "shipped_at", "delivered_at", "location",
                   "lines": [{"sku", "quantity", "lots": [{"lot", "quantity", "expiration_date"}],
                              "serials": [...]}],
                   "packages": [{"tracking_number", "weight_oz", "length_in", "width_in",
                                 "depth_in"}]}
    receiving     {"ref", "id", "status", "location", "lines": [{"sku", "inventory_id", "expected",
                   "received", "stowed", "damaged", "lots": [{"lot", "quantity", ...}]}]}
    inventory     [{"sku", "inventory_id", "location", "location_name", "on_hand", "available",
                    "committed", "awaiting"}]
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

ORDER_TYPES = ("DTC", "DropShip", "B2B")
PACKAGE_TYPES = ("Package", "Pallet", "FloorLoadedContainer")
RETURN_ACTIONS = ("Default", "Restock", "Quarantine", "Dispose")
MAX_REFERENCE = 300

ORDER_STATUSES = {
    "Processing": "processing",
    "Exception": "exception",
    "PartiallyFulfilled": "partially_shipped",
    "Fulfilled": "shipped",
    "Cancelled": "cancelled",
    "ImportReview": "on_hold",
}
SHIPMENT_STATUSES = {
    "None": "processing",
    "Processing": "processing",
    "LabeledCreated": "shipped",
    "Completed": "shipped",
    "Exception": "exception",
    "CleanSweeped": "exception",
    "OnHold": "on_hold",
    "ImportReview": "on_hold",
    "Cancelled": "cancelled",
}
SHIPPED = ("shipped", "delivered")
RECEIVING_STATUSES = {
    "Awaiting": "awaiting",
    "Arrived": "arrived",
    "PartiallyArrived": "arrived",
    "PartiallyArrivedAtHub": "arrived",
    "ArrivedAtHub": "arrived",
    "ProcessingAtHub": "processing",
    "InternalTransfer": "processing",
    "Processing": "processing",
    "Completed": "received",
    "Incomplete": "incomplete",
    "Cancelled": "cancelled",
}
RETURN_STATUSES = {
    "AwaitingArrival": "awaiting",
    "Awaiting Arrival": "awaiting",
    "Arrived": "arrived",
    "Processing": "processing",
    "Completed": "received",
    "Cancelled": "cancelled",
}
# return actions that do not put the unit back into sellable stock
NOT_RESTOCKED = ("Quarantine", "Dispose")


class ThreePLMappingError(ValueError):
    """A neutral document cannot be turned into a ShipBob request; the message says which field."""


# --------------------------------------------------------------------------- outgoing

def order_body(picking: Mapping, *, order_type: str = "DTC", default_shipping_method: str = "Standard") -> dict:
    """Return ShipBob's CreateOrderModel for a picking-like dict.

    ``picking``: ``{"reference", "order_number", "ship_to": {name, company, street, street2,
    city, zip, state, country_code, phone, email}, "shipping_method", "location_id",
    "purchase_date", "gift_message", "tags": {name: value}, "lines": [{"sku", "quantity",
    "line_ref", "name", "unit_price", "gtin", "upc"}]}``. ``line_ref`` must be an integer
    (ShipBob's ``external_line_id``). Raise ThreePLMappingError naming the first bad field.
    """
    reference = _text(picking.get("reference"))
    if not reference:
        raise ThreePLMappingError("the order has no reference: ShipBob requires a unique reference_id")
    if len(reference) > MAX_REFERENCE:
        raise ThreePLMappingError(f"reference {reference[:40]!r}... is longer than ShipBob's "
                                  f"{MAX_REFERENCE} characters")
    if order_type not in ORDER_TYPES:
        raise ThreePLMappingError(f"order type {order_type!r} is not one of {', '.join(ORDER_TYPES)}")
    lines = list(picking.get("lines") or [])
    if not lines:
        raise ThreePLMappingError(f"order {reference} has no lines")
    body = {
        "reference_id": reference,
        "order_number": _text(picking.get("order_number")) or reference,
        "type": order_type,
        "shipping_method": _text(picking.get("shipping_method")) or default_shipping_method,
        "recipient": _recipient(picking.get("ship_to") or {}, reference),
        "products": [_order_product(line, index, reference) for index, line in enumerate(lines)],
    }
    for key in ("location_id",):
        if picking.get(key) not in (None, "", False):
            body[key] = int(picking[key])
    for key in ("purchase_date", "gift_message"):
        if picking.get(key):
            body[key] = _text(picking[key])
    tags = picking.get("tags") or {}
    if tags:
        body["tags"] = [{"name": str(name), "value": str(value)} for name, value in dict(tags).items()]
    return body


def _recipient(ship_to: Mapping, reference: str) -> dict:
    missing = [key for key in ("name", "street", "city", "country_code") if not _text(ship_to.get(key))]
    if missing:
        raise ThreePLMappingError(f"order {reference}: the ship-to address lacks {', '.join(missing)}")
    country = _text(ship_to["country_code"]).upper()
    if len(country) != 2 or not country.isalpha():
        raise ThreePLMappingError(f"order {reference}: country_code {country!r} is not an ISO 3166-1 alpha-2 code")
    address = {
        "address1": _text(ship_to["street"]),
        "address2": _text(ship_to.get("street2")) or None,
        "company_name": _text(ship_to.get("company")) or None,
        "city": _text(ship_to["city"]),
        "state": _text(ship_to.get("state")) or None,
        "zip_code": _text(ship_to.get("zip")) or None,
        "country": country,
    }
    return {
        "name": _text(ship_to["name"]),
        "address": address,
        "email": _text(ship_to.get("email")) or None,
        "phone_number": _text(ship_to.get("phone")) or None,
    }


def address_update_body(ship_to: Mapping, reference: str) -> dict:
    """Return ShipBob's Orders.UpdateAddressRequest for the same ship-to dict as ``order_body``'s."""
    recipient = _recipient(ship_to, reference)
    address = recipient["address"]
    body = {
        "name": recipient["name"], "street_address1": address["address1"], "street_address2": address["address2"],
        "company_name": address["company_name"], "city": address["city"], "state": address["state"],
        "zip_code": address["zip_code"], "country_code": address["country"], "email": recipient["email"],
        "phone_number": recipient["phone_number"],
    }
    return {key: value for key, value in body.items() if value is not None}


def shipment_open(shipment: Mapping) -> bool:
    """Whether a ShipBob shipment has neither left nor been cancelled (its address may still change)."""
    return shipment_result(shipment)["status"] not in SHIPPED + ("cancelled",)


def _order_product(line: Mapping, index: int, reference: str) -> dict:
    where = f"order {reference} line {index + 1}"
    sku = _text(line.get("sku"))
    if not sku:
        raise ThreePLMappingError(f"{where} has no SKU: ShipBob identifies products by reference_id")
    product = {"reference_id": sku, "name": _text(line.get("name")) or sku,
               "quantity": _whole(line.get("quantity"), where)}
    if line.get("line_ref") not in (None, ""):
        product["external_line_id"] = _integer(line["line_ref"], f"{where} line_ref")
    if line.get("unit_price") not in (None, ""):
        product["unit_price"] = float(Decimal(str(line["unit_price"])))
    for key in ("gtin", "upc"):
        if line.get(key):
            product[key] = _text(line[key])
    return product


def receiving_body(asn: Mapping, inventory_ids: Mapping[str, int]) -> dict:
    """Return ShipBob's CreateReceivingOrderModel (a WRO) for an ASN.

    ``asn``: ``{"reference" (purchase order number), "fulfillment_center_id", "expected_date"
    (ISO date or datetime), "package_type" (Package, Pallet, FloorLoadedContainer), "boxes":
    [{"tracking_number", "lines": [...]}]}`` or a single box as ``"tracking_number"`` and
    ``"lines": [{"sku", "quantity", "lot", "lot_date"}]``. ``inventory_ids`` maps SKU to
    ShipBob inventory id. The box packaging type follows from the boxes' contents.
    """
    reference = _text(asn.get("reference"))
    where = f"ASN {reference or '(no reference)'}"
    if asn.get("fulfillment_center_id") in (None, ""):
        raise ThreePLMappingError(f"{where} names no fulfillment center")
    if not asn.get("expected_date"):
        raise ThreePLMappingError(f"{where} has no expected arrival date")
    package_type = asn.get("package_type") or "Package"
    if package_type not in PACKAGE_TYPES:
        raise ThreePLMappingError(f"{where}: package type {package_type!r} is not one of {', '.join(PACKAGE_TYPES)}")
    boxes = asn.get("boxes")
    if not boxes:
        boxes = [{"tracking_number": asn.get("tracking_number"), "lines": asn.get("lines") or []}]
    wro_boxes = []
    for number, box in enumerate(boxes, start=1):
        items = []
        for line in box.get("lines") or []:
            sku = _text(line.get("sku"))
            if sku not in inventory_ids:
                raise ThreePLMappingError(f"{where} box {number}: SKU {sku!r} has no ShipBob inventory id "
                                          "(create the product in ShipBob first)")
            item = {"inventory_id": int(inventory_ids[sku]), "quantity": _whole(line.get("quantity"), f"{where} {sku}")}
            if line.get("lot"):
                item["lot_number"] = _text(line["lot"])
                item["lot_date"] = _text(line.get("lot_date")) or None
            items.append(item)
        if not items:
            raise ThreePLMappingError(f"{where} box {number} is empty")
        wro_boxes.append({"tracking_number": _text(box.get("tracking_number")) or f"{reference or 'ASN'}-{number}",
                          "box_items": items})
    return {
        "fulfillment_center": {"id": int(asn["fulfillment_center_id"])},
        "package_type": package_type,
        "box_packaging_type": _packing_type(wro_boxes),
        "expected_arrival_date": _text(asn["expected_date"]),
        "purchase_order_number": reference or None,
        "boxes": wro_boxes,
    }


def _packing_type(boxes: list[dict]) -> str:
    if len(boxes) == 1:
        return "EverythingInOneBox"
    if all(len({item["inventory_id"] for item in box["box_items"]}) == 1 for box in boxes):
        return "OneSkuPerBox"
    return "MultipleSkuPerBox"


def return_body(customer_return: Mapping, inventory_ids: Mapping[str, int]) -> dict:
    """Return ShipBob's CreateReturnRequest for an expected customer return.

    ``customer_return``: ``{"reference" (RMA, unique), "fulfillment_center_id",
    "original_shipment_id", "tracking_number", "lines": [{"sku", "quantity", "action"
    (Default, Restock, Quarantine, Dispose), "lot", "lot_date"}]}``.
    """
    reference = _text(customer_return.get("reference"))
    if not reference:
        raise ThreePLMappingError("the return has no reference: ShipBob requires a unique reference_id (RMA)")
    if customer_return.get("fulfillment_center_id") in (None, ""):
        raise ThreePLMappingError(f"return {reference} names no fulfillment center")
    inventory = []
    for line in customer_return.get("lines") or []:
        sku = _text(line.get("sku"))
        if sku not in inventory_ids:
            raise ThreePLMappingError(f"return {reference}: SKU {sku!r} has no ShipBob inventory id")
        action = line.get("action") or "Default"
        if action not in RETURN_ACTIONS:
            raise ThreePLMappingError(f"return {reference}: action {action!r} is not one of "
                                      f"{', '.join(RETURN_ACTIONS)}")
        item = {"id": int(inventory_ids[sku]), "quantity": _whole(line.get("quantity"), f"return {reference} {sku}"),
                "requested_action": action}
        if line.get("lot"):
            item["lot_number"] = _text(line["lot"])
            item["lot_date"] = _text(line.get("lot_date")) or None
        inventory.append(item)
    if not inventory:
        raise ThreePLMappingError(f"return {reference} has no lines")
    body = {"reference_id": reference, "fulfillment_center": {"id": int(customer_return["fulfillment_center_id"])},
            "inventory": inventory}
    if customer_return.get("original_shipment_id"):
        body["original_shipment_id"] = int(customer_return["original_shipment_id"])
    if customer_return.get("tracking_number"):
        body["tracking_number"] = _text(customer_return["tracking_number"])
    return body


# --------------------------------------------------------------------------- incoming

def shipment_result(shipment: Mapping) -> dict:
    """Return one ShipBob shipment (ShipmentViewModel) in the neutral shipment shape."""
    tracking = shipment.get("tracking") or {}
    status = SHIPMENT_STATUSES.get(str(shipment.get("status")), "processing")
    if status == "shipped" and _delivered(shipment):
        status = "delivered"
    measurements = shipment.get("measurements") or {}
    packages = []
    if status in SHIPPED:
        packages.append({
            "tracking_number": tracking.get("tracking_number"),
            "weight_oz": measurements.get("total_weight_oz"),
            "length_in": measurements.get("length_in"),
            "width_in": measurements.get("width_in"),
            "depth_in": measurements.get("depth_in"),
        })
    location = shipment.get("location") or {}
    return {
        "id": shipment.get("id"),
        "status": status,
        "tracking_number": tracking.get("tracking_number"),
        "carrier": tracking.get("carrier"),
        "carrier_service": tracking.get("carrier_service"),
        "tracking_url": tracking.get("tracking_url"),
        "shipped_at": shipment.get("actual_fulfillment_date") or tracking.get("shipping_date"),
        "delivered_at": shipment.get("delivery_date"),
        "location": location.get("id"),
        "lines": [_shipment_line(product) for product in shipment.get("products") or []],
        "packages": packages,
    }


def _delivered(shipment: Mapping) -> bool:
    if shipment.get("delivery_date"):
        return True
    return any(str(detail.get("name", "")).lower() == "delivered" for detail in shipment.get("status_details") or [])


def _shipment_line(product: Mapping) -> dict:
    items = product.get("inventory_items") or []
    quantity = sum(int(item.get("quantity") or 0) for item in items)
    lots: dict[str, dict] = {}
    serials = []
    for item in items:
        if item.get("lot"):
            lot = lots.setdefault(item["lot"], {"lot": item["lot"], "quantity": 0,
                                                "expiration_date": item.get("expiration_date")})
            lot["quantity"] += int(item.get("quantity") or 0)
        serials.extend(item.get("serial_numbers") or [])
    return {"sku": product.get("sku") or product.get("reference_id"), "quantity": quantity,
            "lots": list(lots.values()), "serials": serials}


def order_result(order: Mapping) -> dict:
    """Return a ShipBob order (OrderViewModel, the ``order.shipped`` body) as a neutral result.

    ``status`` is ``shipped`` when every shipment that is not cancelled has left (``delivered``
    when all were delivered), ``partially_shipped`` when some have, else the order's state.
    """
    shipments = [shipment_result(s) for s in order.get("shipments") or []]
    live = [s for s in shipments if s["status"] != "cancelled"]
    left = [s for s in live if s["status"] in SHIPPED]
    status = ORDER_STATUSES.get(str(order.get("status")), "processing")
    if status != "cancelled":
        if live and len(left) == len(live):
            status = "delivered" if all(s["status"] == "delivered" for s in live) else "shipped"
        elif left:
            status = "partially_shipped"
        elif shipments and not live:
            status = "cancelled"
        elif any(s["status"] == "on_hold" for s in live):
            status = "on_hold"
        elif any(s["status"] == "exception" for s in live):
            status = "exception"
    return {"order_ref": order.get("reference_id"), "order_id": order.get("id"), "status": status,
            "shipments": shipments}


def shipment_event_result(shipment: Mapping) -> dict:
    """Return an ``order.shipment.*`` body (one shipment) as a neutral result.

    ``status`` is that shipment's own (``cancelled``, ``delivered``, ``exception``,
    ``on_hold`` ...): other shipments of the order are not in the body; read the order
    (``ThreePLClient.get_order``) for its overall state.
    """
    result = shipment_result(shipment)
    return {"order_ref": shipment.get("reference_id"), "order_id": shipment.get("order_id"),
            "status": result["status"], "shipments": [result]}


def shipped_quantities(result: Mapping) -> dict[str, int]:
    """Return ``{sku: quantity}`` that left the warehouse across a neutral result's shipments."""
    totals: dict[str, int] = {}
    for shipment in result.get("shipments") or []:
        if shipment.get("status") in SHIPPED:
            for line in shipment.get("lines") or []:
                totals[line["sku"]] = totals.get(line["sku"], 0) + int(line["quantity"])
    return totals


def cancel_result(canceled: Mapping) -> dict:
    """Return ShipBob's CanceledOrderViewModel as ``{"order_id", "status", "cancelled",
    "refused": [{"shipment_id", "reason"}]}``; ``status`` is ``cancelled`` (every shipment),
    ``partially_cancelled`` or ``not_cancelled``."""
    results = canceled.get("canceled_shipment_results") or []
    refused = [{"shipment_id": r.get("shipment_id"), "reason": r.get("reason")} for r in results
               if not r.get("is_success")]
    outcome = str(canceled.get("status") or "")
    status = {"Success": "cancelled", "PartialSuccess": "partially_cancelled", "Failure": "not_cancelled"}.get(outcome)
    if status is None:
        status = "not_cancelled" if refused and len(refused) == len(results) else (
            "partially_cancelled" if refused else "cancelled")
    return {"order_id": canceled.get("order_id"), "status": status,
            "cancelled": [r.get("shipment_id") for r in results if r.get("is_success")], "refused": refused}


def receiving_result(wro: Mapping, boxes: Iterable[Mapping] | None = None) -> dict:
    """Return a WRO (and, when given, its boxes from ``GET /receiving/{id}/boxes``) as a neutral
    receiving result; lots come from the boxes, since the WRO itself totals per item."""
    status = RECEIVING_STATUSES.get(str(wro.get("status")), "processing")
    over = status in ("received", "incomplete")
    lots_by_item: dict[int, dict[str, dict]] = {}
    for box in boxes or []:
        for item in box.get("box_items") or []:
            if not item.get("lot_number"):
                continue
            lots = lots_by_item.setdefault(item.get("inventory_id"), {})
            lot = lots.setdefault(item["lot_number"], {"lot": item["lot_number"], "expected": 0, "quantity": 0,
                                                       "stowed": 0, "expiration_date": item.get("lot_date")})
            lot["expected"] += int(item.get("quantity") or 0)
            lot["quantity"] += int(item.get("received_quantity") or 0)
            lot["stowed"] += int(item.get("stowed_quantity") or 0)
    lines = []
    for item in wro.get("inventory_quantities") or []:
        received = int(item.get("received_quantity") or 0)
        stowed = int(item.get("stowed_quantity") or 0)
        lines.append({
            "sku": item.get("sku"), "inventory_id": item.get("inventory_id"),
            "expected": int(item.get("expected_quantity") or 0), "received": received, "stowed": stowed,
            "damaged": max(received - stowed, 0) if over else 0,
            "lots": list(lots_by_item.get(item.get("inventory_id"), {}).values()),
        })
    center = wro.get("fulfillment_center") or {}
    return {"ref": wro.get("purchase_order_number"), "id": wro.get("id"), "status": status,
            "location": center.get("id"), "lines": lines}


def return_result(customer_return: Mapping) -> dict:
    """Return a ShipBob return order as a neutral receiving result (``kind`` ``return``).

    ``received`` counts every unit processed; ``damaged`` those quarantined or disposed of.
    """
    status = RETURN_STATUSES.get(str(customer_return.get("status")), "processing")
    lines = []
    for item in customer_return.get("inventory") or []:
        taken = item.get("action_taken") or []
        received = sum(int(a.get("quantity_processed") or 0) for a in taken)
        damaged = sum(int(a.get("quantity_processed") or 0) for a in taken if a.get("action") in NOT_RESTOCKED)
        lot_info = item.get("lot_information") or {}
        lots = [{"lot": lot_info["number"], "quantity": received, "expiration_date": lot_info.get("expiration")}] \
            if lot_info.get("number") else []
        lines.append({"sku": item.get("sku"), "inventory_id": item.get("id"),
                      "expected": int(item.get("quantity") or 0), "received": received,
                      "stowed": received - damaged, "damaged": damaged, "lots": lots})
    center = customer_return.get("fulfillment_center") or {}
    return {"ref": customer_return.get("reference_id"), "id": customer_return.get("id"), "status": status,
            "kind": "return", "location": center.get("id"),
            "original_shipment_id": customer_return.get("original_shipment_id"), "lines": lines}


def inventory_rows(items: Iterable[Mapping]) -> list[dict]:
    """Return neutral stock rows from ``GET /inventory-level/locations`` items (one per SKU and
    fulfillment center); ``available`` is ShipBob's fulfillable quantity (on hand minus
    committed)."""
    rows = []
    for item in items:
        for location in item.get("locations") or []:
            rows.append({
                "sku": item.get("sku"), "inventory_id": item.get("inventory_id"),
                "location": location.get("location_id"), "location_name": location.get("name"),
                "on_hand": int(location.get("on_hand_quantity") or 0),
                "available": int(location.get("fulfillable_quantity") or 0),
                "committed": int(location.get("committed_quantity") or 0),
                "awaiting": int(location.get("awaiting_quantity") or 0),
            })
    return rows


# --------------------------------------------------------------------------- helpers

def _text(value) -> str:
    return "" if value in (None, False) else str(value).strip()


def _whole(value, where: str) -> int:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ThreePLMappingError(f"{where}: quantity {value!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value() or number <= 0:
        raise ThreePLMappingError(f"{where}: quantity {value!r} is not a positive whole number (ShipBob counts units)")
    return int(number)


def _integer(value, where: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ThreePLMappingError(f"{where} {value!r} is not an integer "
                                  "(ShipBob's external_line_id is numeric)") from None
