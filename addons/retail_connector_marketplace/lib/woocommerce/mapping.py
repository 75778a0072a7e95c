"""WooCommerce orders as canonical objects, from the REST API v3 order (webhook body or resource).

Amounts: WooCommerce stores line and shipping amounts without tax, whatever the shop's price
setting. An order placed with ``prices_include_tax`` is mapped with ``taxes_included`` and its
amounts with tax added, which gives back the prices the buyer saw; otherwise amounts are taken
as they are. A unit price is the line's subtotal divided by its quantity, rounded up to the
currency's decimals; what that adds, and the coupons WooCommerce allocated to the line
(``subtotal - total``), make the line's ``discount_amount``, so every line adds up to its total.

Coupons are therefore not repeated as order ``discount_lines``: the connector's order writer
turns discount lines into extra negative lines, which would discount the order twice and put
the discount outside the lines' taxes. The coupons used are kept in ``extra["coupon_lines"]``
and ``extra["discount_codes"]``. Likewise the order's ``tax_lines`` (sums of the line and
shipping taxes) are not repeated; each line tax names its rate's label and carries its rate
(``rate_percent`` / 100) from the tax line with the same ``rate_id``. A positive fee becomes a
line without SKU, a negative fee (a discount added by hand) a discount line.
"""

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from retail_connector_base_lib.canonical import (
    Customer,
    MINOR_UNITS,
    CanonicalValidationError,
    FieldError,
    Order,
    Refund,
    normalize_country,
    normalize_email,
    normalize_phone,
)

# WooCommerce order status -> canonical order status.
ORDER_STATUSES = {
    "pending": "open", "on-hold": "open", "processing": "open", "checkout-draft": "open",
    "completed": "closed", "refunded": "closed",
    "cancelled": "cancelled", "failed": "cancelled", "trash": "cancelled",
}
UNPAID = ("pending", "on-hold", "checkout-draft")
PAID = ("processing", "completed")
VOID = ("cancelled", "failed", "trash")


# --------------------------------------------------------------------------- public API

def order_to_canonical(payload: Mapping) -> Order:
    """Return the canonical order of a REST v3 order (webhook body or ``GET orders/<id>``).

    Raises CanonicalValidationError naming the WooCommerce field when required data is missing
    (``id``, ``date_created_gmt``, ``currency``, ``line_items``) or unreadable.
    """
    _require(payload, ("id", "date_created_gmt", "currency", "line_items"))
    if not isinstance(payload["line_items"], list):
        _fail("line_items", payload["line_items"], "must be a list", "type")
    currency = str(payload["currency"]).strip().upper()
    places = MINOR_UNITS.get(currency, 2)
    inclusive = payload.get("prices_include_tax") is True
    rates = _rates(payload.get("tax_lines"))
    lines, discounts = [], []
    for index, item in enumerate(payload["line_items"]):
        lines.append(_line(item, index, rates, inclusive, places))
    for index, fee in enumerate(payload.get("fee_lines") or []):
        _fee(fee, index, rates, inclusive, places, lines, discounts)
    shipping_lines = [_shipping(s, i, rates, inclusive, places)
                      for i, s in enumerate(payload.get("shipping_lines") or [])]
    billing = _mapping(payload.get("billing"), "billing")
    shipping = _mapping(payload.get("shipping"), "shipping")
    region = _region(shipping.get("country")) or _region(billing.get("country"))
    status = str(payload.get("status") or "pending").strip().lower()
    total = _dec(payload.get("total"), "total")
    refunded = sum((abs(_dec(r.get("total"), f"refunds[{i}].total") or 0)
                    for i, r in enumerate(payload.get("refunds") or []) if isinstance(r, Mapping)), Decimal(0))
    coupons = [c for c in payload.get("coupon_lines") or [] if isinstance(c, Mapping)]
    data = {
        "external_id": str(payload["id"]),
        "name": f"#{payload.get('number') or payload['id']}",
        "created_at": _instant(payload["date_created_gmt"], "date_created_gmt"),
        "updated_at": _instant(payload.get("date_modified_gmt"), "date_modified_gmt"),
        "currency": currency,
        "customer": _customer(payload, billing, region),
        "billing_address": _address(billing, region),
        "shipping_address": _address(shipping, region),
        "lines": lines,
        "shipping_lines": shipping_lines,
        "discount_lines": discounts,
        "taxes_included": inclusive,
        "payment_state": payment_state(status, total, refunded, bool(payload.get("date_paid_gmt"))),
        "payment_gateway": payload.get("payment_method") or None,
        "payments": _payments(payload, total),
        "status": ORDER_STATUSES.get(status, "open"),
        "subtotal_amount": _sum_text(_with_tax(i.get("subtotal"), i.get("subtotal_tax"), inclusive)
                                     for i in payload["line_items"] if isinstance(i, Mapping)),
        "shipping_amount": _with_tax(payload.get("shipping_total"), payload.get("shipping_tax"), inclusive),
        "discount_amount": _with_tax(payload.get("discount_total"), payload.get("discount_tax"), inclusive),
        "tax_amount": payload.get("total_tax"),
        "total_amount": payload.get("total"),
        "note": (payload.get("customer_note") or "").strip() or None,
        "extra": {
            "woocommerce_status": status, "number": payload.get("number"), "order_key": payload.get("order_key"),
            "customer_id": payload.get("customer_id"), "created_via": payload.get("created_via"),
            "prices_include_tax": payload.get("prices_include_tax"),
            "payment_method_title": payload.get("payment_method_title"),
            "transaction_id": payload.get("transaction_id") or None,
            "date_paid": _instant(payload.get("date_paid_gmt"), "date_paid_gmt"),
            "date_completed": _instant(payload.get("date_completed_gmt"), "date_completed_gmt"),
            "discount_codes": [c.get("code") for c in coupons if c.get("code")],
            "coupon_lines": [{"code": c.get("code"), "discount": c.get("discount"),
                              "discount_tax": c.get("discount_tax")} for c in coupons],
            "refunded_amount": format(refunded, "f"),
        },
    }
    return Order.from_dict(data)


def refund_to_canonical(payload: Mapping, order_id, currency: str, gateway: str | None = None) -> Refund:
    """Return the canonical refund of a REST refund (``GET orders/<id>/refunds/<id>``).

    WooCommerce writes refund quantities and totals as negative numbers; the canonical refund
    has them positive. The refund does not record whether its items went back to stock (the
    shop restocks when asked, by default in its admin): refunded quantities are read as
    restocked.
    """
    if not isinstance(payload, Mapping) or payload.get("id") in (None, ""):
        raise CanonicalValidationError([FieldError("id", None, "required", "is required")], "refund")
    lines = []
    for index, item in enumerate(payload.get("line_items") or []):
        if not isinstance(item, Mapping):
            continue
        quantity = abs(_dec(item.get("quantity"), f"line_items[{index}].quantity") or 0)
        total = abs(_dec(item.get("total"), f"line_items[{index}].total") or 0)
        tax = abs(_dec(item.get("total_tax"), f"line_items[{index}].total_tax") or 0)
        if not quantity:
            continue
        refunded_item = next((m.get("value") for m in item.get("meta_data") or []
                              if isinstance(m, Mapping) and m.get("key") == "_refunded_item_id"), None)
        lines.append({"order_line_external_id": refunded_item, "sku": item.get("sku") or None,
                      "quantity": format(quantity, "f"), "amount": format(total + tax, "f"), "restock": True,
                      "extra": {"product_id": item.get("product_id"), "variation_id": item.get("variation_id")}})
    amount = _dec(payload.get("amount"), "amount")
    return Refund.from_dict({
        "external_id": str(payload["id"]), "order_external_id": str(order_id),
        "created_at": _instant(payload.get("date_created_gmt"), "date_created_gmt"),
        "currency": currency, "amount": format(abs(amount), "f") if amount is not None else None,
        "gateway": gateway, "reason": (payload.get("reason") or "").strip() or None, "lines": lines,
        "extra": {"refunded_payment": payload.get("refunded_payment")},
    })


def payment_state(status: str, total=None, refunded=Decimal(0), paid: bool = False) -> str:
    """Return the canonical payment state of a WooCommerce order status.

    pending/on-hold: pending; processing/completed: paid; refunded, or refunds reaching the
    total: refunded; some refunds: partially_refunded; cancelled/failed: paid when it was paid
    (the money is still there), else voided (nothing will be collected). A status a plugin
    added is paid when ``date_paid`` is set, else pending.
    """
    status = str(status or "").strip().lower()
    refunded = Decimal(refunded or 0)
    if status == "refunded" or (refunded > 0 and total is not None and refunded >= Decimal(total)):
        return "refunded"
    if refunded > 0:
        return "partially_refunded"
    if status in UNPAID:
        return "pending"
    if status in PAID:
        return "paid"
    if status in VOID:
        return "paid" if paid else "voided"
    return "paid" if paid else "pending"


# --------------------------------------------------------------------------- parts of an order

def _rates(tax_lines) -> dict:
    """Return ``{rate_id: {name, rate, rate_code}}`` from the order's tax lines."""
    rates = {}
    for line in tax_lines or []:
        if not isinstance(line, Mapping) or line.get("rate_id") in (None, ""):
            continue
        percent = line.get("rate_percent")
        rate = None
        if percent not in (None, ""):
            try:
                rate = format(Decimal(str(percent)) / 100, "f")
            except InvalidOperation:
                rate = None
        rates[str(line["rate_id"])] = {"name": line.get("label") or line.get("rate_code"), "rate": rate,
                                       "rate_code": line.get("rate_code"), "compound": line.get("compound")}
    return rates


def _taxes(taxes, rates, places) -> list[dict]:
    result = []
    for tax in taxes or []:
        if not isinstance(tax, Mapping) or tax.get("total") in (None, ""):
            continue
        info = rates.get(str(tax.get("id")), {})
        amount = _dec(tax["total"], "taxes.total")
        # WooCommerce may keep unrounded taxes ("round at subtotal"): the booked tax is rounded
        amount = amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP) if amount is not None else None
        result.append({
            "name": info.get("name"), "rate": info.get("rate"),
            "amount": format(amount, "f") if amount is not None else None,
            "extra": {"rate_id": tax.get("id"), "rate_code": info.get("rate_code")},
        })
    return result


def _line(item, index, rates, inclusive, places) -> dict:
    where = f"line_items[{index}]"
    if not isinstance(item, Mapping):
        _fail(where, item, "must be an object", "type")
    quantity = _dec(item.get("quantity"), f"{where}.quantity")
    subtotal = _dec(item.get("subtotal"), f"{where}.subtotal")
    total = _dec(item.get("total"), f"{where}.total")
    missing = [n for n, v in (("quantity", quantity), ("subtotal", subtotal), ("total", total)) if v is None]
    if missing:
        raise CanonicalValidationError([FieldError(f"{where}.{n}", item.get(n), "required", "is required")
                                        for n in missing], "order")
    taxes = _taxes(item.get("taxes"), rates, places)
    gross = subtotal + _tax_if(inclusive, item.get("subtotal_tax"), f"{where}.subtotal_tax")
    net = total + _tax_if(inclusive, item.get("total_tax"), f"{where}.total_tax")
    unit, discount = _unit_and_discount(max(gross, net), net, quantity, places)
    return {
        "external_id": item.get("id"), "sku": item.get("sku") or None, "name": item.get("name") or None,
        "quantity": item.get("quantity"), "unit_price": unit, "discount_amount": discount, "tax_lines": taxes,
        "extra": {"product_id": item.get("product_id"), "variation_id": item.get("variation_id") or None,
                  "subtotal": item.get("subtotal"), "total": item.get("total")},
    }


def _unit_and_discount(gross: Decimal, net: Decimal, quantity: Decimal, places: int) -> tuple[str, str]:
    """Return the unit price (rounded up to the currency) and the discount making up ``net``."""
    if quantity <= 0:
        return format(gross, "f"), "0"
    unit = (gross / quantity).quantize(Decimal(1).scaleb(-places), ROUND_CEILING)
    return format(unit, "f"), format(unit * quantity - net, "f")


def _fee(fee, index, rates, inclusive, places, lines, discounts) -> None:
    where = f"fee_lines[{index}]"
    if not isinstance(fee, Mapping):
        _fail(where, fee, "must be an object", "type")
    total = _dec(fee.get("total"), f"{where}.total") or Decimal(0)
    amount = total + _tax_if(inclusive, fee.get("total_tax"), f"{where}.total_tax")
    if amount < 0:
        discounts.append({"name": fee.get("name") or "Fee", "amount": format(-amount, "f"),
                          "extra": {"fee_id": fee.get("id")}})
    elif amount > 0:
        lines.append({"external_id": f"fee-{fee.get('id')}", "name": fee.get("name") or "Fee", "quantity": "1",
                      "unit_price": format(amount, "f"), "tax_lines": _taxes(fee.get("taxes"), rates, places),
                      "extra": {"fee": True, "fee_id": fee.get("id")}})


def _shipping(line, index, rates, inclusive, places) -> dict:
    where = f"shipping_lines[{index}]"
    if not isinstance(line, Mapping):
        _fail(where, line, "must be an object", "type")
    return {
        "external_id": line.get("id"), "code": line.get("method_id") or None, "name": line.get("method_title") or None,
        "price": _with_tax(line.get("total"), line.get("total_tax"), inclusive),
        "tax_lines": _taxes(line.get("taxes"), rates, places),
        "extra": {"instance_id": line.get("instance_id")},
    }


def _customer(payload, billing, region) -> dict | None:
    customer_id = payload.get("customer_id")
    registered = isinstance(customer_id, int) and not isinstance(customer_id, bool) and customer_id > 0
    person = {
        "external_id": str(customer_id) if registered else None, "email": billing.get("email"),
        "phone": billing.get("phone"), "first_name": billing.get("first_name"),
        "last_name": billing.get("last_name"), "company": billing.get("company"),
    }
    if not any(v for v in person.values()):
        return None
    return _clean(person, _region(billing.get("country")) or region)


def _address(address, region) -> dict | None:
    data = {
        "first_name": address.get("first_name"), "last_name": address.get("last_name"),
        "company": address.get("company"), "street": address.get("address_1"), "street2": address.get("address_2"),
        "city": address.get("city"), "zip": address.get("postcode"), "state_code": address.get("state"),
        "country_code": address.get("country"), "phone": address.get("phone"),
    }
    if not any(v for v in data.values()):
        return None  # an order of virtual goods has no shipping address
    return _clean(data, _region(address.get("country")) or region)


def _clean(person: dict, region) -> dict:
    """Return ``person`` without empty fields; an unreadable phone or email moves to ``extra``.

    Checkout forms take free text ("(555) 555-5555"): one unreadable phone must not reject the
    order, so it is kept where a person can still see it.
    """
    person = {k: v for k, v in person.items() if v not in (None, "")}
    extra = {}
    phone = person.pop("phone", None)
    if phone:
        try:
            person["phone"] = normalize_phone(str(phone), region)
        except ValueError:
            extra["phone"] = phone
    email = person.pop("email", None)
    if email:
        try:
            person["email"] = normalize_email(str(email))
        except ValueError:
            extra["email"] = email
    if extra:
        person["extra"] = extra
    return person


def _payments(payload, total) -> list[dict]:
    gateway = payload.get("payment_method") or None
    payments = []
    if payload.get("date_paid_gmt") and total is not None:
        payments.append({
            "external_id": payload.get("transaction_id") or None, "gateway": gateway, "kind": "sale",
            "status": "success", "amount": format(total, "f"), "reference": payload.get("transaction_id") or None,
            "processed_at": _instant(payload["date_paid_gmt"], "date_paid_gmt"),
        })
    for index, refund in enumerate(payload.get("refunds") or []):
        if not isinstance(refund, Mapping):
            continue
        amount = _dec(refund.get("total"), f"refunds[{index}].total")
        payments.append({
            "external_id": refund.get("id"), "gateway": gateway, "kind": "refund", "status": "success",
            "amount": format(abs(amount), "f") if amount is not None else None,
            "extra": {"reason": refund.get("reason") or None},
        })
    return payments


# --------------------------------------------------------------------------- small helpers

def _require(payload, names) -> None:
    if not isinstance(payload, Mapping):
        raise CanonicalValidationError([FieldError("", payload, "type", "must be an object")], "order")
    errors = [FieldError(name, payload.get(name), "required", "is required")
              for name in names if payload.get(name) in (None, "", [])]
    if errors:
        raise CanonicalValidationError(errors, "order")


def _fail(path, value, message, rule) -> None:
    raise CanonicalValidationError([FieldError(path, value, rule, message)], "order")


def _mapping(value, name) -> dict:
    if value in (None, "", []):
        return {}
    if not isinstance(value, Mapping):
        _fail(name, value, "must be an object", "type")
    return dict(value)


def _dec(value, path) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        _fail(path, value, "must be a number", "number")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        _fail(path, value, "must be a decimal number such as 12.50", "number")
    if not number.is_finite():
        _fail(path, value, "must be a finite number", "finite")
    return number


def _tax_if(inclusive, tax, path) -> Decimal:
    """Return the tax to add to an amount shown with tax (0 when prices exclude tax)."""
    return (_dec(tax, path) or Decimal(0)) if inclusive else Decimal(0)


def _with_tax(amount, tax, inclusive):
    if amount in (None, "") or not inclusive:
        return amount
    return format(_dec(amount, "amount") + (_dec(tax, "tax") or 0), "f")


def _sum_text(values):
    total = Decimal(0)
    for value in values:
        if value in (None, ""):
            continue
        total += _dec(value, "subtotal")
    return format(total, "f")


def _instant(value, path):
    """Return a GMT date of WooCommerce (no offset) as ISO 8601 UTC with Z, or None."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        _fail(path, value, "must be an ISO 8601 date-time such as 2024-05-01T12:00:00", "timestamp")
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _region(country):
    try:
        return normalize_country(country) if country else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- customers

def customer_to_canonical(payload: Mapping) -> Customer:
    """Map a ``customer.created`` or ``customer.updated`` webhook (REST customer) to a canonical Customer.

    WooCommerce keeps no marketing consent of its own: a ``accepts_marketing`` (or
    ``mailchimp_woocommerce_is_subscribed``) meta of the customer gives it when a plugin sets one.
    """
    if not isinstance(payload, Mapping) or payload.get("id") in (None, "", 0):
        raise CanonicalValidationError(
            [FieldError("id", payload.get("id") if isinstance(payload, Mapping) else payload, "required",
                        "is required")], "customer")
    billing = payload.get("billing") if isinstance(payload.get("billing"), Mapping) else {}
    shipping = payload.get("shipping") if isinstance(payload.get("shipping"), Mapping) else {}
    region = _region(billing.get("country") or shipping.get("country"))
    meta = {m.get("key"): m.get("value") for m in payload.get("meta_data") or [] if isinstance(m, Mapping)}
    consent = meta.get("accepts_marketing", meta.get("mailchimp_woocommerce_is_subscribed"))
    person = _clean({
        "external_id": str(payload["id"]), "email": payload.get("email") or billing.get("email"),
        "phone": billing.get("phone"), "first_name": payload.get("first_name") or billing.get("first_name"),
        "last_name": payload.get("last_name") or billing.get("last_name"), "company": billing.get("company"),
    }, region)
    person["accepts_marketing"] = str(consent).lower() in ("1", "true", "yes") if consent is not None else False
    person["addresses"] = [a for a in (_address(billing, region), _address(shipping, region)) if a]
    return Customer.from_dict(person)


def customer_to_woo(customer: Customer) -> dict:
    """Return the REST v3 customer (create or update, ``id`` from ``external_id``) of a canonical Customer.

    The first address is the billing address (with the e-mail and phone WooCommerce keeps there) and
    the shipping one; consent goes in the ``accepts_marketing`` meta this connector reads back.
    """
    row = {"email": customer.email, "first_name": customer.first_name or "", "last_name": customer.last_name or ""}
    if customer.external_id:
        row["id"] = int(customer.external_id) if str(customer.external_id).isdigit() else customer.external_id
    address = (customer.addresses or [None])[0]
    billing = {"first_name": customer.first_name or "", "last_name": customer.last_name or "",
               "company": customer.company or "", "email": customer.email or "", "phone": customer.phone or ""}
    if address:
        postal = {"address_1": address.street or "", "address_2": address.street2 or "", "city": address.city or "",
                  "postcode": address.zip or "", "state": address.state_code or "", "country": address.country_code or ""}
        billing.update(postal)
        row["shipping"] = {"first_name": address.first_name or customer.first_name or "",
                           "last_name": address.last_name or customer.last_name or "",
                           "company": address.company or customer.company or "", **postal}
    row["billing"] = billing
    row["meta_data"] = [{"key": "accepts_marketing", "value": "yes" if customer.accepts_marketing else "no"}]
    if not row["email"]:
        del row["email"]
    return row
