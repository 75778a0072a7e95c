"""Stripe payouts and balance transactions mapped to canonical Payout and PayoutLine objects.

A payout's balance transactions (``GET /v1/balance_transactions?payout=po_...``) are what it
paid out: charges, refunds, disputes, fees and adjustments, each with ``amount`` (gross),
``fee`` and ``net`` in the settlement currency, plus the payout's own transaction (type
``payout``, minus the payout amount), which is the payout itself and not one of its lines.
Amounts are integers in the currency's minor unit as Stripe counts it (see ``money``).

The shop's order comes from the source's ``metadata.order_id``, as the WooCommerce Stripe
Gateway sets it on the charges and refunds it creates; a dispute (or a refund without that
metadata) names its charge, whose metadata the caller resolves (``order_of_charge``). A charge
presented in another currency than the settlement one carries ``exchange_rate``: the line stays
in the settlement currency and says what the customer paid in ``extra``.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone

from retail_connector_base_lib.canonical import Payout, PayoutLine

from .money import to_decimal

PAYOUT_STATUSES = {
    "pending": "scheduled", "in_transit": "in_transit", "paid": "paid", "failed": "failed", "canceled": "cancelled",
}

# Stripe balance transaction type -> canonical line type; ``reporting_category`` refines adjustments.
LINE_TYPES = {
    "charge": "charge", "payment": "charge",
    "refund": "refund", "payment_refund": "refund", "payment_failure_refund": "refund",
    "refund_failure": "adjustment", "payment_reversal": "refund",
    "stripe_fee": "fee", "stripe_fx_fee": "fee", "tax_fee": "fee", "application_fee": "fee",
    "application_fee_refund": "fee",
    "adjustment": "adjustment",
    "issuing_dispute": "dispute",
    "transfer": "transfer", "transfer_cancel": "transfer", "transfer_failure": "transfer", "transfer_refund": "transfer",
    "payout_cancel": "transfer", "payout_failure": "transfer", "topup": "transfer", "topup_reversal": "transfer",
    "currency_conversion": "currency_conversion",
}
CATEGORY_TYPES = {
    "dispute": "dispute", "dispute_reversal": "dispute", "fee": "fee", "refund_failure": "adjustment",
    "currency_conversion": "currency_conversion", "charge": "charge", "refund": "refund",
}
PAYOUT_TYPE = "payout"


class StripeMappingError(ValueError):
    """A Stripe object lacks what the mapping needs; the message names the object and the field."""


def _source_id(source):
    if isinstance(source, Mapping):
        return source.get("id")
    return source or None


def _charge_id(source):
    """Return the charge a source belongs to: itself, or a refund's or dispute's ``charge``."""
    if not isinstance(source, Mapping):
        return source if isinstance(source, str) and source.startswith(("ch_", "py_")) else None
    if source.get("object") == "charge":
        return source.get("id")
    charge = source.get("charge")
    return _source_id(charge)


def _metadata_order(obj):
    """Return the ``metadata.order_id`` of a Stripe object, or None."""
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    value = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    return str(value).strip() or None if value is not None else None


def line_type(txn: Mapping) -> str:
    """Return the canonical type of a balance transaction."""
    category = txn.get("reporting_category")
    if txn.get("type") == "adjustment" and category in CATEGORY_TYPES:
        return CATEGORY_TYPES[category]
    kind = LINE_TYPES.get(txn.get("type"))
    if kind:
        return kind
    return CATEGORY_TYPES.get(category, "adjustment")


def order_of(txn: Mapping, order_of_charge: Callable[[str], str | None] | None = None) -> str | None:
    """Return the shop's order id a balance transaction settles, if any."""
    source = txn.get("source")
    order = _metadata_order(source)
    if order:
        return order
    if isinstance(source, Mapping) and isinstance(source.get("charge"), Mapping):
        order = _metadata_order(source["charge"])
        if order:
            return order
    charge = _charge_id(source)
    if charge and order_of_charge and line_type(txn) in ("charge", "refund", "dispute"):
        return order_of_charge(charge)
    return None


def line_to_canonical(txn: Mapping, order_of_charge=None) -> PayoutLine:
    """Return the canonical line of one balance transaction (not the payout's own)."""
    currency = (txn.get("currency") or "").upper()
    where = "balance transaction %s" % txn.get("id", "?")
    try:
        amount, fee = to_decimal(txn["amount"], currency), to_decimal(txn.get("fee") or 0, currency)
        net = to_decimal(txn["net"], currency) if txn.get("net") is not None else amount - fee
    except (KeyError, ValueError) as exc:
        raise StripeMappingError(f"{where}: {exc}") from None
    source = txn.get("source")
    extra = {"stripe_type": txn.get("type"), "reporting_category": txn.get("reporting_category"),
             "description": txn.get("description"), "status": txn.get("status")}
    if txn.get("created"):
        extra["created"] = _iso(txn["created"])
    details = [
        {"type": d.get("type"), "description": d.get("description"),
         "amount": str(to_decimal(d.get("amount") or 0, (d.get("currency") or currency).upper()))}
        for d in txn.get("fee_details") or [] if isinstance(d, Mapping)
    ]
    if details:
        extra["fee_details"] = details
    if txn.get("exchange_rate") is not None and isinstance(source, Mapping) and source.get("currency"):
        presented = source["currency"].upper()
        extra.update(exchange_rate=str(txn["exchange_rate"]), presentment_currency=presented)
        if isinstance(source.get("amount"), int):
            extra["presentment_amount"] = str(to_decimal(source["amount"], presented))
    charge = _charge_id(source)
    if charge and charge != _source_id(source):
        extra["charge"] = charge
    return PayoutLine.from_dict({
        "external_id": txn.get("id"), "type": line_type(txn), "amount": str(amount), "fee": str(fee), "net": str(net),
        "order_external_id": order_of(txn, order_of_charge), "source_id": _source_id(source),
        "extra": {k: v for k, v in extra.items() if v is not None},
    }, currency=currency)


def payout_to_canonical(payout: Mapping, transactions: Iterable[Mapping] = (), order_of_charge=None) -> Payout:
    """Return the canonical payout of a Stripe payout and the balance transactions it paid out."""
    if not isinstance(payout, Mapping) or not payout.get("id"):
        raise StripeMappingError("a Stripe payout object with its id is expected")
    currency = (payout.get("currency") or "").upper()
    where = "payout %s" % payout["id"]
    try:
        amount = to_decimal(payout["amount"], currency)
    except (KeyError, ValueError) as exc:
        raise StripeMappingError(f"{where}: {exc}") from None
    lines, own = [], None
    for txn in transactions:
        if txn.get("type") == PAYOUT_TYPE and _source_id(txn.get("source")) == payout["id"]:
            own = txn
            continue
        lines.append(line_to_canonical(txn, order_of_charge).to_dict())
    arrival = payout.get("arrival_date") or payout.get("created")
    extra = {
        "stripe_status": payout.get("status"), "automatic": payout.get("automatic"), "method": payout.get("method"),
        "type": payout.get("type"), "description": payout.get("description"),
        "statement_descriptor": payout.get("statement_descriptor"),
        "balance_transaction": _source_id(payout.get("balance_transaction")) or (own or {}).get("id"),
        "failure_code": payout.get("failure_code"), "failure_message": payout.get("failure_message"),
        "created": _iso(payout["created"]) if payout.get("created") else None,
        "livemode": payout.get("livemode"),
    }
    return Payout.from_dict({
        "external_id": payout["id"],
        "date": datetime.fromtimestamp(arrival, timezone.utc).date().isoformat() if arrival else None,
        "currency": currency, "amount": str(amount), "status": PAYOUT_STATUSES.get(payout.get("status")),
        "lines": lines, "extra": {k: v for k, v in extra.items() if v is not None},
    })


def _iso(unix) -> str:
    return datetime.fromtimestamp(int(unix), timezone.utc).isoformat().replace("+00:00", "Z")
