"""Amazon orders (Orders API v0) as canonical objects, and ORDER_CHANGE notifications read.

An order's ``ItemPrice`` is the price of all its units (tax included in the EU marketplaces,
as ``taxes_included`` says); its unit price is that divided by the quantity. Shipping is one
shipping line of the items' ``ShippingPrice``; promotions are line discounts.

Order statuses: ``Pending`` orders are neither paid nor their stock reserved by Amazon: they
are read as ``pending`` payments and wait. ``Unshipped``, ``PartiallyShipped``, ``Shipped`` and
``InvoiceUnconfirmed`` are paid; ``Canceled`` and ``Unfulfillable`` cancel.

Amazon hides the buyer and the shipping address unless a Restricted Data Token was used: an
order read without one (Amazon-fulfilled orders need none) is the backend's anonymous
*Amazon customer* of the marketplace, with the non-personal part of the address.
"""

import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from retail_connector_base_lib.canonical import (
    CanonicalValidationError,
    FieldError,
    MINOR_UNITS,
    Order,
)

PAID = ("Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed")
CANCELLED = ("Canceled", "Unfulfillable")
WAITING = ("Pending", "PendingAvailability")
AFN = "AFN"
# marketplaces whose prices include VAT (Europe, UK, Turkey, India, Japan, Australia)
TAX_INCLUSIVE_MARKETPLACES = frozenset({
    "A1PA6795UKMFR9", "A1RKKUPIHCS9HS", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1F83G8C2ARO7P", "A1805IZSGTT6HS",
    "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3", "AMEN7PMS3EDWL", "A33AVAJ2PDY3EV", "A21TJRUUN4KGV", "A1VC38T7YXB528",
    "A39IBJ37TRP1C6", "ARBP9OOSHTCHU", "A17E79C6D8DWNP", "A2VIGQ35RCS4UG", "A28R8C7NBKEWEA",
})


def order_status(payload):
    return str(payload.get("OrderStatus") or "")


def needs_personal_data(payload):
    """Whether reading the order's buyer and address is worth a Restricted Data Token: a
    merchant-fulfilled order to ship. Amazon ships its own (AFN) orders; a waiting or cancelled
    order ships nothing."""
    return payload.get("FulfillmentChannel") != AFN and order_status(payload) in ("Unshipped", "PartiallyShipped")


def order_to_canonical(payload: Mapping, items, marketplace_name=None) -> Order:
    """Return the canonical order of a ``getOrder``/``getOrders`` order with its ``getOrderItems`` items.

    Raises CanonicalValidationError naming the Amazon field when required data is missing.
    """
    if not isinstance(payload, Mapping):
        raise CanonicalValidationError([FieldError("Order", payload, "type", "must be an object")], "order")
    for name in ("AmazonOrderId", "PurchaseDate"):
        if not payload.get(name):
            raise CanonicalValidationError([FieldError(name, None, "required", "is required")], "order")
    if not isinstance(items, list) or not items:
        raise CanonicalValidationError([FieldError("OrderItems", items, "required", "an order has at least one item")],
                                       "order")
    total = payload.get("OrderTotal") or {}
    currency = (total.get("CurrencyCode") or _first_currency(items) or "").upper()
    if not currency:
        raise CanonicalValidationError([FieldError("OrderTotal.CurrencyCode", None, "required", "is required")], "order")
    places = MINOR_UNITS.get(currency, 2)
    marketplace = payload.get("MarketplaceId") or ""
    status = order_status(payload)
    lines, shipping = [], Decimal(0)
    for index, item in enumerate(items):
        quantity = _dec(item.get("QuantityOrdered"), "OrderItems[%d].QuantityOrdered" % index)
        if not quantity:
            continue  # a cancelled unit of a partly cancelled order
        price = _dec((item.get("ItemPrice") or {}).get("Amount"), "OrderItems[%d].ItemPrice" % index) or Decimal(0)
        discount = _dec((item.get("PromotionDiscount") or {}).get("Amount"), "OrderItems[%d].PromotionDiscount" % index)
        shipping += _dec((item.get("ShippingPrice") or {}).get("Amount"), "OrderItems[%d].ShippingPrice" % index) or 0
        shipping -= _dec((item.get("ShippingDiscount") or {}).get("Amount"), "OrderItems[%d].ShippingDiscount" % index) or 0
        unit = (price / quantity).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        lines.append({
            "external_id": str(item.get("OrderItemId") or index),
            "sku": item.get("SellerSKU") or None,
            "name": item.get("Title") or item.get("SellerSKU") or item.get("ASIN"),
            "quantity": format(quantity, "f"),
            "unit_price": format(unit, "f"),
            "discount_amount": format(max(Decimal(0), unit * quantity - price) + (discount or 0), "f"),
            "extra": {"asin": item.get("ASIN"), "order_item_id": item.get("OrderItemId"),
                      "item_tax": (item.get("ItemTax") or {}).get("Amount")},
        })
    if not lines:
        raise CanonicalValidationError([FieldError("OrderItems", None, "required", "no item has a quantity ordered")],
                                       "order")
    address = payload.get("ShippingAddress") or {}
    buyer = payload.get("BuyerInfo") or {}
    email = (buyer.get("BuyerEmail") or "").strip() or None
    name = (address.get("Name") or buyer.get("BuyerName") or "").strip()
    if email or name:
        first, _sep, last = name.rpartition(" ")
        customer = {"external_id": email, "email": email, "first_name": first or None,
                    "last_name": last or name or email}
    else:
        # no personal data read: the marketplace's anonymous buyer
        customer = {"external_id": "amazon-buyer-%s" % (marketplace or "unknown"),
                    "last_name": "Amazon customer%s" % (" (%s)" % marketplace_name if marketplace_name else "")}
    shipping_address = _address(address, name) if address else None
    data = {
        "external_id": payload["AmazonOrderId"],
        "name": payload["AmazonOrderId"],
        "created_at": payload["PurchaseDate"],
        "updated_at": payload.get("LastUpdateDate") or payload["PurchaseDate"],
        "currency": currency,
        "customer": customer,
        "shipping_address": shipping_address,
        "billing_address": shipping_address,
        "lines": lines,
        "shipping_lines": [{"code": payload.get("ShipServiceLevel") or "Standard",
                            "name": payload.get("ShipmentServiceLevelCategory") or "Amazon shipping",
                            "price": format(max(shipping, Decimal(0)), "f")}] if shipping else [],
        "taxes_included": marketplace in TAX_INCLUSIVE_MARKETPLACES,
        "payment_state": "voided" if status in CANCELLED else "paid" if status in PAID else "pending",
        "payment_gateway": "amazon",
        "status": "cancelled" if status in CANCELLED else "closed" if status == "Shipped" else "open",
        "total_amount": total.get("Amount"),
        "extra": {
            "amazon_status": status,
            "fulfillment_channel": payload.get("FulfillmentChannel") or "MFN",
            "marketplace_id": marketplace,
            "sales_channel": payload.get("SalesChannel"),
            "is_prime": bool(payload.get("IsPrime")),
            "latest_ship_date": payload.get("LatestShipDate"),
        },
    }
    return Order.from_dict(data)


def notification_order_id(body):
    """Return (AmazonOrderId, summary) of an ORDER_CHANGE notification (SQS message body text or object).

    Raises ValueError naming what the message lacks.
    """
    data = json.loads(body) if isinstance(body, (str, bytes)) else body
    if not isinstance(data, Mapping):
        raise ValueError("the notification is not a JSON object")
    kind = data.get("NotificationType") or data.get("notificationType")
    if kind != "ORDER_CHANGE":
        raise ValueError("not an ORDER_CHANGE notification (%s)" % (kind or "no NotificationType"))
    payload = data.get("Payload") or data.get("payload") or {}
    change = payload.get("OrderChangeNotification") or {}
    order_id = change.get("AmazonOrderId")
    if not order_id:
        raise ValueError("the ORDER_CHANGE notification has no Payload.OrderChangeNotification.AmazonOrderId")
    return order_id, change.get("Summary") or {}


def _address(address, name):
    first, _sep, last = (name or "").rpartition(" ")
    return {
        "first_name": first or None,
        "last_name": last or name or None,
        "company": address.get("CompanyName") or None,
        "street": address.get("AddressLine1") or None,
        "street2": " ".join(filter(None, [address.get("AddressLine2"), address.get("AddressLine3")])) or None,
        "city": address.get("City") or None,
        "zip": address.get("PostalCode") or None,
        "country_code": address.get("CountryCode") or None,
        "phone": address.get("Phone") or None,
    }


def _first_currency(items):
    for item in items:
        code = (item.get("ItemPrice") or {}).get("CurrencyCode")
        if code:
            return code
    return None


def _dec(value, path):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise CanonicalValidationError([FieldError(path, value, "number", "is not a number")], "order") from None
