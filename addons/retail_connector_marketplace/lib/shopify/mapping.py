"""Shopify orders and payouts as canonical objects, from webhooks (REST shape) or GraphQL queries.

Both order shapes go through one intermediate form, so one order gives one canonical Order
whichever way it arrived. Amounts are the shop currency's (``shop_money``/``shopMoney``).

Every discount reaches the canonical order once, where Shopify allocated it: a line's
``discount_amount`` is the sum of its discount allocations (codes, automatic and manual
discounts), or its ``total_discount`` when the payload carries no allocation (orders made
through the API); a shipping line's is ``price - discounted_price``. Order-level
``discount_lines`` stay empty because Shopify allocates every discount to lines or shipping:
repeating the codes there would discount the order twice and put the discount outside the
lines' taxes. The codes used are kept in ``extra["discount_codes"]``. Likewise the order's own
``tax_lines`` (Shopify's sum of the line taxes) are not repeated.
"""

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from retail_connector_base_lib.canonical import (
    Customer,
    CanonicalValidationError,
    FieldError,
    Order,
    Payout,
    Refund,
    normalize_country,
    normalize_email,
    normalize_phone,
)

from .ids import numeric_id

# Shopify's financial status (REST lower case, GraphQL upper case) -> canonical payment_state.
PAYMENT_STATES = {
    "pending": "pending", "authorized": "authorized", "partially_paid": "partially_paid", "paid": "paid",
    "partially_refunded": "partially_refunded", "refunded": "refunded", "voided": "voided",
    # an expired authorisation will never be captured: for the books it is a voided payment
    "expired": "voided",
}

FULFILLMENT_STATES = {
    None: "unfulfilled", "unfulfilled": "unfulfilled", "partial": "partial", "partially_fulfilled": "partial",
    "fulfilled": "fulfilled", "restocked": "restocked", "scheduled": "scheduled", "on_hold": "on_hold",
    "in_progress": "in_progress", "open": "unfulfilled", "pending_fulfillment": "unfulfilled",
    "request_declined": "unfulfilled",
}

PAYOUT_STATES = {"SCHEDULED": "scheduled", "IN_TRANSIT": "in_transit", "PAID": "paid", "FAILED": "failed",
                 "CANCELED": "cancelled", "CANCELLED": "cancelled"}


# --------------------------------------------------------------------------- public API

def order_to_canonical(payload: Mapping) -> Order:
    """Return the canonical order of a REST order (a webhook body or a REST resource).

    Raises CanonicalValidationError naming the Shopify field when required data is missing.
    """
    _require(payload, {"id": "id", "created_at": "created_at", "currency": "currency", "line_items": "line_items"})
    money = lambda key, set_key=None: _rest_money(payload, key, set_key)  # noqa: E731
    shipping = money("total_shipping_price", "total_shipping_price_set")
    if shipping is None:
        shipping = _sum(s.get("discounted_price", s.get("price")) for s in payload.get("shipping_lines") or [])
    tags = payload.get("tags")
    common = {
        "id": payload["id"], "gid": payload.get("admin_graphql_api_id"), "name": payload.get("name"),
        "email": payload.get("email") or payload.get("contact_email"), "phone": payload.get("phone"),
        "created_at": payload["created_at"], "updated_at": payload.get("updated_at"),
        "cancelled_at": payload.get("cancelled_at"), "closed_at": payload.get("closed_at"),
        "cancel_reason": payload.get("cancel_reason"), "currency": payload["currency"],
        "taxes_included": payload.get("taxes_included"), "financial_status": payload.get("financial_status"),
        "fulfillment_status": payload.get("fulfillment_status"),
        "gateway": (payload.get("payment_gateway_names") or [None])[0] or payload.get("gateway"),
        "note": payload.get("note"),
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else list(tags or []),
        "discount_codes": [c.get("code") for c in payload.get("discount_codes") or [] if c.get("code")],
        "customer": _rest_customer(payload.get("customer")),
        "billing_address": _rest_address(payload.get("billing_address")),
        "shipping_address": _rest_address(payload.get("shipping_address")),
        "lines": [_rest_line(x, i) for i, x in enumerate(payload["line_items"])],
        "shipping_lines": [_rest_shipping(x) for x in payload.get("shipping_lines") or []],
        "subtotal": money("subtotal_price", "subtotal_price_set"), "shipping": shipping,
        "discounts": money("total_discounts", "total_discounts_set"), "tax": money("total_tax", "total_tax_set"),
        "total": money("total_price", "total_price_set"),
    }
    return _build_order(common)


def graphql_order_to_canonical(node: Mapping) -> Order:
    """Return the canonical order of an Order node (``queries.ORDER_FIELDS``, lines complete).

    Raises CanonicalValidationError naming the GraphQL field when required data is missing.
    """
    _require(node, {"id": "id", "createdAt": "createdAt", "currencyCode": "currencyCode", "lineItems": "lineItems"})
    reason = node.get("cancelReason")
    common = {
        "id": node.get("legacyResourceId") or node["id"], "gid": node["id"], "name": node.get("name"),
        "email": node.get("email"), "phone": node.get("phone"), "created_at": node["createdAt"],
        "updated_at": node.get("updatedAt"), "cancelled_at": node.get("cancelledAt"),
        "closed_at": node.get("closedAt"), "cancel_reason": reason.lower() if isinstance(reason, str) else reason,
        "currency": node["currencyCode"], "taxes_included": node.get("taxesIncluded"),
        "financial_status": node.get("displayFinancialStatus"),
        "fulfillment_status": node.get("displayFulfillmentStatus"),
        "gateway": (node.get("paymentGatewayNames") or [None])[0], "note": node.get("note"),
        "tags": list(node.get("tags") or []), "discount_codes": list(node.get("discountCodes") or []),
        "customer": _gql_customer(node.get("customer")),
        "billing_address": _gql_address(node.get("billingAddress")),
        "shipping_address": _gql_address(node.get("shippingAddress")),
        "lines": [_gql_line(x, i) for i, x in enumerate(_nodes(node["lineItems"]))],
        "shipping_lines": [_gql_shipping(x) for x in _nodes(node.get("shippingLines") or {})],
        "subtotal": _gql_money(node.get("subtotalPriceSet")), "shipping": _gql_money(node.get("totalShippingPriceSet")),
        "discounts": _gql_money(node.get("totalDiscountsSet")), "tax": _gql_money(node.get("totalTaxSet")),
        "total": _gql_money(node.get("totalPriceSet")),
    }
    return _build_order(common)


def payment_state(financial_status) -> str:
    """Return the canonical payment state of a Shopify financial status (None: pending)."""
    if financial_status is None:
        return "pending"
    state = PAYMENT_STATES.get(str(financial_status).strip().lower())
    if state is None:
        raise CanonicalValidationError([FieldError("financial_status", financial_status, "choice",
                                                   "must be one of " + ", ".join(PAYMENT_STATES))], "order")
    return state


def payout_to_canonical(payout: Mapping, transactions=()) -> Payout:
    """Return the canonical payout of a ShopifyPaymentsPayout node and its balance transactions.

    The payout's own TRANSFER (the money leaving the balance for the bank) is not a line: the
    lines are what the payout is made of. A withdrawal is a negative amount.
    """
    _require(payout, {"id": "id", "issuedAt": "issuedAt", "net": "net", "status": "status"})
    net = payout["net"] if isinstance(payout["net"], Mapping) else {}
    amount = net.get("amount")
    if amount is not None and str(payout.get("transactionType") or "DEPOSIT").upper() == "WITHDRAWAL":
        amount = _negate(amount)
    own_id = numeric_id(payout.get("legacyResourceId") or payout["id"])
    lines = []
    for tx in transactions:
        payout_of_tx = numeric_id((tx.get("associatedPayout") or {}).get("id"))
        if str(tx.get("type")).upper() == "TRANSFER" and payout_of_tx == own_id:
            continue
        lines.append({
            "external_id": numeric_id(tx.get("id")), "type": _payout_line_type(tx.get("type")),
            "amount": (tx.get("amount") or {}).get("amount"), "fee": (tx.get("fee") or {}).get("amount") or "0",
            "net": (tx.get("net") or {}).get("amount"),
            "order_external_id": numeric_id((tx.get("associatedOrder") or {}).get("id")),
            "source_id": tx.get("sourceId"), "extra": {"shopify_type": tx.get("type")},
        })
    issued = _parse_instant(payout["issuedAt"], "issuedAt", "payout")
    status = PAYOUT_STATES.get(str(payout["status"]).upper(), str(payout["status"]).lower())
    return Payout.from_dict({
        "external_id": own_id, "date": issued.date().isoformat(), "currency": net.get("currencyCode"),
        "amount": amount, "status": status, "lines": lines,
        "extra": {"issued_at": payout["issuedAt"], "transaction_type": payout.get("transactionType")},
    })


# Refund line restock types that put the goods back to stock: returned after shipping, or
# cancelled before (Shopify takes them off the fulfilment order).
RESTOCK_TYPES = frozenset({"return", "cancel", "legacy_restock"})


def refund_to_canonical(payload: Mapping, currency: str | None = None) -> Refund:
    """Return the canonical refund of a REST refund (the ``refunds/create`` webhook body).

    The amount is what the successful refund transactions gave back; ``currency`` is used when
    the refund carries none (a restock without money moving has no transaction).
    """
    _require(payload, {"id": "id", "order_id": "order_id"}, schema="refund")
    transactions = [t for t in payload.get("transactions") or [] if isinstance(t, Mapping)
                    and t.get("kind") == "refund" and t.get("status") in (None, "success")]
    lines, currencies = [], [t.get("currency") for t in transactions if t.get("currency")]
    for item in payload.get("refund_line_items") or []:
        if not isinstance(item, Mapping):
            continue
        line = item.get("line_item") if isinstance(item.get("line_item"), Mapping) else {}
        subtotal = _rest_money(item, "subtotal", "subtotal_set")
        currencies.append(((item.get("subtotal_set") or {}).get("shop_money") or {}).get("currency_code"))
        lines.append({
            "order_line_external_id": numeric_id(item.get("line_item_id")),
            "sku": line.get("sku") or None, "quantity": item.get("quantity"),
            "amount": _sum([subtotal, _rest_money(item, "total_tax", "total_tax_set")]),
            "restock": str(item.get("restock_type") or "").lower() in RESTOCK_TYPES,
            "extra": {"restock_type": item.get("restock_type")},
        })
    gateways = [t.get("gateway") for t in transactions if t.get("gateway")]
    return Refund.from_dict({
        "external_id": numeric_id(payload["id"]), "order_external_id": numeric_id(payload["order_id"]),
        "created_at": payload.get("processed_at") or payload.get("created_at"),
        "currency": next((c for c in currencies if c), None) or currency,
        "amount": _sum([t.get("amount") for t in transactions]), "gateway": gateways[0] if gateways else None,
        "reason": (payload.get("note") or "").strip() or None, "lines": lines,
        "extra": {"order_adjustments": [{"kind": a.get("kind"), "amount": a.get("amount")}
                                      for a in payload.get("order_adjustments") or [] if isinstance(a, Mapping)]},
    })


# --------------------------------------------------------------------------- the shared builder

def _build_order(common: dict) -> Order:
    region = _region(common["shipping_address"]) or _region(common["billing_address"])
    customer = common["customer"]
    if customer is None and (common["email"] or common["phone"]):
        customer = {"email": common["email"], "phone": common["phone"]}  # a guest checkout
    if customer is not None:
        customer = _clean_person(customer, region)
        if not customer.get("email") and common["email"]:
            customer["email"] = _email_or_none(common["email"])
    status = "cancelled" if common["cancelled_at"] else ("closed" if common["closed_at"] else "open")
    fulfillment = common["fulfillment_status"]
    fulfillment = FULFILLMENT_STATES.get(fulfillment.lower() if isinstance(fulfillment, str) else fulfillment,
                                         str(fulfillment).lower())
    data = {
        "external_id": numeric_id(common["id"]), "name": common["name"], "created_at": common["created_at"],
        "updated_at": common["updated_at"], "currency": common["currency"], "customer": customer,
        "billing_address": _clean_person(common["billing_address"], region),
        "shipping_address": _clean_person(common["shipping_address"], region),
        "lines": common["lines"], "shipping_lines": common["shipping_lines"], "discount_lines": [],
        "taxes_included": bool(common["taxes_included"]),
        "payment_state": payment_state(common["financial_status"]), "payment_gateway": common["gateway"],
        "status": status, "subtotal_amount": common["subtotal"], "shipping_amount": common["shipping"],
        "discount_amount": common["discounts"], "tax_amount": common["tax"], "total_amount": common["total"],
        "note": common["note"] or None, "tags": common["tags"],
        "extra": {
            "shopify_gid": common["gid"] or f"gid://shopify/Order/{numeric_id(common['id'])}",
            "financial_status": str(common["financial_status"]).lower() if common["financial_status"] else None,
            "fulfillment_status": fulfillment, "cancel_reason": common["cancel_reason"],
            "discount_codes": common["discount_codes"],
        },
    }
    return Order.from_dict(data)


def _clean_person(person, region):
    """Return a customer or address with its phone (and email) readable, or kept aside in extra.

    A shop's checkout takes free text ("555-555-SHIP"): one unreadable phone must not reject
    the whole order, so it is moved to ``extra`` where a person can still see it.
    """
    if person is None:
        return None
    person = {k: v for k, v in person.items() if v not in (None, "")}
    extra = dict(person.pop("extra", {}))
    country = person.get("country_code")
    phone = person.pop("phone", None)
    if phone:
        try:
            person["phone"] = normalize_phone(phone, _region_code(country) or region)
        except ValueError:
            extra["phone"] = phone
    email = person.pop("email", None)
    if email:
        readable = _email_or_none(email)
        if readable:
            person["email"] = readable
        else:
            extra["email"] = email
    if extra:
        person["extra"] = extra
    return person


# --------------------------------------------------------------------------- REST shape

def _rest_money(payload, key, set_key=None):
    value = payload.get(key)
    if value is None and set_key:
        value = ((payload.get(set_key) or {}).get("shop_money") or {}).get("amount")
    return value


def _rest_customer(customer):
    if not isinstance(customer, Mapping):
        return None
    return {"external_id": numeric_id(customer.get("id")), "email": customer.get("email"),
            "phone": customer.get("phone"), "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name")}


def _rest_address(address):
    if not isinstance(address, Mapping):
        return None
    return {
        "first_name": address.get("first_name"), "last_name": address.get("last_name"),
        "company": address.get("company"), "street": address.get("address1"), "street2": address.get("address2"),
        "city": address.get("city"), "zip": address.get("zip"), "state_code": address.get("province_code"),
        "country_code": address.get("country_code"), "phone": address.get("phone"),
    }


def _rest_line(line, index):
    if not isinstance(line, Mapping):
        _missing(f"line_items[{index}]", line, "must be an object")
    allocations = line.get("discount_allocations")
    return {
        "external_id": numeric_id(line.get("id")), "sku": line.get("sku") or None,
        "name": line.get("name") or line.get("title"), "quantity": line.get("quantity"),
        "unit_price": line.get("price"),
        "discount_amount": _sum(a.get("amount") for a in allocations) if allocations else line.get("total_discount"),
        "tax_lines": [_tax(t.get("title"), t.get("rate"), t.get("price")) for t in line.get("tax_lines") or []],
        "extra": {"variant_id": numeric_id(line.get("variant_id"))},
    }


def _rest_shipping(line):
    price = line.get("price")
    discounted = line.get("discounted_price")
    if discounted is not None and price is not None:
        discount = _difference(price, discounted)
    else:
        discount = _sum(a.get("amount") for a in line.get("discount_allocations") or [])
    return {
        "external_id": numeric_id(line.get("id")), "code": line.get("code"), "name": line.get("title"),
        "carrier": _carrier(line.get("carrier_identifier"), line.get("source")),
        "price": price, "discount_amount": discount,
        "tax_lines": [_tax(t.get("title"), t.get("rate"), t.get("price")) for t in line.get("tax_lines") or []],
        "extra": {"source": line.get("source")},
    }


# --------------------------------------------------------------------------- GraphQL shape

def _gql_money(bag):
    if not isinstance(bag, Mapping):
        return None
    return (bag.get("shopMoney") or {}).get("amount")


def _gql_customer(customer):
    if not isinstance(customer, Mapping):
        return None
    email = (customer.get("defaultEmailAddress") or {}).get("emailAddress") or customer.get("email")
    phone = (customer.get("defaultPhoneNumber") or {}).get("phoneNumber") or customer.get("phone")
    return {"external_id": numeric_id(customer.get("id")), "email": email, "phone": phone,
            "first_name": customer.get("firstName"), "last_name": customer.get("lastName")}


def _gql_address(address):
    if not isinstance(address, Mapping):
        return None
    return {
        "first_name": address.get("firstName"), "last_name": address.get("lastName"),
        "company": address.get("company"), "street": address.get("address1"), "street2": address.get("address2"),
        "city": address.get("city"), "zip": address.get("zip"), "state_code": address.get("provinceCode"),
        "country_code": address.get("countryCodeV2") or address.get("countryCode"), "phone": address.get("phone"),
    }


def _gql_line(line, index):
    if not isinstance(line, Mapping):
        _missing(f"lineItems[{index}]", line, "must be an object")
    allocations = line.get("discountAllocations")
    return {
        "external_id": numeric_id(line.get("id")), "sku": line.get("sku") or None,
        "name": line.get("name") or line.get("title"), "quantity": line.get("quantity"),
        "unit_price": _gql_money(line.get("originalUnitPriceSet")),
        "discount_amount": (_sum(_gql_money(a.get("allocatedAmountSet")) for a in allocations) if allocations
                            else _gql_money(line.get("totalDiscountSet"))),
        "tax_lines": _gql_taxes(line),
        "extra": {"variant_id": numeric_id((line.get("variant") or {}).get("id"))},
    }


def _gql_taxes(line):
    return [_tax(t.get("title"), t.get("rate"), _gql_money(t.get("priceSet"))) for t in line.get("taxLines") or []]


def _gql_shipping(line):
    price = _gql_money(line.get("originalPriceSet"))
    discounted = _gql_money(line.get("discountedPriceSet"))
    if discounted is not None and price is not None:
        discount = _difference(price, discounted)
    else:
        discount = _sum(_gql_money(a.get("allocatedAmountSet")) for a in line.get("discountAllocations") or [])
    return {
        "external_id": numeric_id(line.get("id")), "code": line.get("code"), "name": line.get("title"),
        "carrier": _carrier(line.get("carrierIdentifier"), line.get("source")),
        "price": price, "discount_amount": discount,
        "tax_lines": _gql_taxes(line),
        "extra": {"source": line.get("source")},
    }


def _nodes(connection):
    if isinstance(connection, list):
        return connection
    if not isinstance(connection, Mapping):
        return []
    if connection.get("nodes") is not None:
        return connection["nodes"]
    return [edge.get("node") for edge in connection.get("edges") or []]


# --------------------------------------------------------------------------- small helpers

def _carrier(identifier, source):
    # a rate computed by a third-party carrier service names that service in its source
    return (source or None) if identifier else None


def _tax(title, rate, amount):
    # Shopify sends rates as JSON numbers (0.21); text keeps them exact for the canonical reader
    return {"name": title, "rate": repr(rate) if isinstance(rate, float) else rate, "amount": amount}


def _sum(values):
    total = Decimal(0)
    for value in values:
        if value in (None, ""):
            continue
        try:
            total += Decimal(str(value))
        except InvalidOperation:
            return value  # let the canonical reader report the unreadable amount
    return format(total, "f")


def _difference(price, discounted):
    try:
        return format(Decimal(str(price)) - Decimal(str(discounted)), "f")
    except InvalidOperation:
        return price


def _negate(amount):
    text = str(amount).strip()
    return text[1:] if text.startswith("-") else "-" + text


def _payout_line_type(kind) -> str:
    name = str(kind or "").upper()
    if name == "CHARGE":
        return "charge"
    if name.startswith("REFUND"):
        return "refund"
    if "CHARGEBACK" in name:
        return "chargeback"
    if "DISPUTE" in name:
        return "dispute"
    if "TRANSFER" in name:
        return "transfer"
    if "FEE" in name:
        return "fee"
    if "CURRENCY" in name:
        return "currency_conversion"
    return "adjustment"


def _region(address):
    return _region_code((address or {}).get("country_code"))


def _region_code(country):
    try:
        return normalize_country(country) if country else None
    except ValueError:
        return None


def _email_or_none(email):
    try:
        return normalize_email(email)
    except ValueError:
        return None


def _parse_instant(value, field, schema):
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        _missing(field, value, "must be an ISO 8601 date-time", schema, rule="timestamp")
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _require(payload, fields: dict, schema="order"):
    if not isinstance(payload, Mapping):
        raise CanonicalValidationError([FieldError("", payload, "type", "must be an object")], schema)
    errors = [FieldError(name, payload.get(key), "required", "is required")
              for key, name in fields.items() if payload.get(key) in (None, "", [])]
    if errors:
        raise CanonicalValidationError(errors, schema)


def _missing(path, value, message, schema="order", rule="type"):
    raise CanonicalValidationError([FieldError(path, value, rule, message)], schema)


# --------------------------------------------------------------------------- customers

def customer_to_canonical(payload: Mapping) -> Customer:
    """Map a ``customers/create`` or ``customers/update`` webhook (REST customer) to a canonical Customer.

    Marketing consent is the e-mail consent's state (``subscribed``), or the older
    ``accepts_marketing`` flag; the default address comes first.
    """
    if not isinstance(payload, Mapping):
        _missing("", payload, "a Shopify customer is a JSON object", schema="customer")
    if not payload.get("id"):
        _missing("id", payload.get("id"), "is required", schema="customer", rule="required")
    consent = payload.get("email_marketing_consent")
    accepts = consent.get("state") == "subscribed" if isinstance(consent, Mapping) else bool(
        payload.get("accepts_marketing"))
    default = payload.get("default_address") if isinstance(payload.get("default_address"), Mapping) else None
    addresses = [default] if default else []
    addresses += [a for a in payload.get("addresses") or [] if isinstance(a, Mapping)
                  and not (default and a.get("id") == default.get("id"))]
    region = _region(_rest_address(default)) if default else None
    person = _clean_person({
        "external_id": numeric_id(payload["id"]), "email": payload.get("email"), "phone": payload.get("phone"),
        "first_name": payload.get("first_name"), "last_name": payload.get("last_name"),
        "language": payload.get("locale"),
    }, region)
    person["accepts_marketing"] = accepts
    person["addresses"] = [a for a in (_clean_person(_rest_address(a), region) for a in addresses) if a]
    return Customer.from_dict(person)


def graphql_customer_to_canonical(node: Mapping) -> Customer:
    """Map a customer of the GraphQL Admin API (``CustomerFields``) to a canonical Customer.

    Read as the webhook's REST customer would be, so that a polled customer and a webhook's give
    the same canonical data; marketing consent is the default e-mail's ``marketingState``.
    """
    return customer_to_canonical(graphql_customer_to_rest(node))


def graphql_customer_to_rest(node: Mapping) -> dict:
    """Return a GraphQL customer (``CustomerFields``) in the shape of the webhooks' REST customer."""
    if not isinstance(node, Mapping):
        _missing("", node, "a Shopify customer is a JSON object", schema="customer")
    email = node.get("defaultEmailAddress") if isinstance(node.get("defaultEmailAddress"), Mapping) else {}
    phone = node.get("defaultPhoneNumber") if isinstance(node.get("defaultPhoneNumber"), Mapping) else {}
    address = node.get("defaultAddress") if isinstance(node.get("defaultAddress"), Mapping) else None
    rest = {
        "id": node.get("legacyResourceId") or numeric_id(node.get("id")), "email": email.get("emailAddress"),
        "phone": phone.get("phoneNumber"), "first_name": node.get("firstName"), "last_name": node.get("lastName"),
        "locale": node.get("locale"), "updated_at": node.get("updatedAt"), "created_at": node.get("createdAt"),
        "email_marketing_consent": {"state": str(email.get("marketingState") or "").lower()},
    }
    if address:
        rest["default_address"] = {
            "first_name": address.get("firstName"), "last_name": address.get("lastName"),
            "company": address.get("company"), "address1": address.get("address1"), "address2": address.get("address2"),
            "city": address.get("city"), "zip": address.get("zip"), "province_code": address.get("provinceCode"),
            "country_code": address.get("countryCodeV2"), "phone": address.get("phone"),
        }
    return rest


def customer_input(customer: Customer) -> dict:
    """Return the ``CustomerInput`` of a canonical Customer (its ``external_id`` as ``id``: an update).

    The consent goes apart (see ``ShopifyClient.save_customer``); the first address is the default one.
    """
    entry = {"email": customer.email, "phone": customer.phone, "firstName": customer.first_name,
             "lastName": customer.last_name, "locale": customer.language}
    entry = {k: v for k, v in entry.items() if v}
    if customer.external_id:
        entry["id"] = customer.external_id
    addresses = []
    for address in customer.addresses or []:
        row = {"address1": address.street, "address2": address.street2, "city": address.city, "zip": address.zip,
               "countryCode": address.country_code, "provinceCode": address.state_code, "company": address.company,
               "firstName": address.first_name, "lastName": address.last_name, "phone": address.phone}
        row = {k: v for k, v in row.items() if v}
        if row:
            addresses.append(row)
    if addresses:
        entry["addresses"] = addresses
    return entry
