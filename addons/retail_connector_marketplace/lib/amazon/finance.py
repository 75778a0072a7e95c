"""Amazon financial event groups (Finances API v0) as canonical payouts.

A financial event group is one settlement: what Amazon transfers (``OriginalTotal``) when it
closes, on its ``FundTransferDate``. Its events become payout lines, signed as the money moves
for the seller:

- ``ShipmentEventList``: a ``charge`` of the order (``AmazonOrderId``): the item charges
  (principal, tax, shipping, gift wrap) and promotions as ``amount``, Amazon's fees on it
  (commission, FBA fees) as ``fee`` (positive);
- ``RefundEventList``: a ``refund`` of the order: the charge adjustments (negative) as
  ``amount``, the fees Amazon gives back as a negative ``fee``;
- ``ServiceFeeEventList``: a ``fee`` line (subscription, advertising), negative;
- ``AdjustmentEventList``: an ``adjustment`` line (reserves held or released, reimbursements);
- ``ChargebackEventList``: a ``chargeback`` of the order.

Groups still open (``ProcessingStatus`` Open) are ``scheduled``; closed ones ``in_transit``
until the transfer succeeded (``paid``) or failed.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from retail_connector_base_lib.canonical import CanonicalValidationError, FieldError, Payout


def _money(value, path):
    if not isinstance(value, Mapping):
        return Decimal(0)
    try:
        return Decimal(str(value.get("CurrencyAmount", value.get("Amount", 0)) or 0))
    except InvalidOperation:
        raise CanonicalValidationError([FieldError(path, value, "number", "is not an amount")], "payout") from None


def _sum(rows, key, amount_key, path):
    return sum((_money(row.get(amount_key), "%s.%s" % (path, amount_key)) for row in rows or []
                if isinstance(row, Mapping)), Decimal(0)) if rows else Decimal(0)


def payout_status(group):
    if group.get("ProcessingStatus") == "Open":
        return "scheduled"
    transfer = group.get("FundTransferStatus") or ""
    if transfer in ("Succeeded", "Successful", "Transferred"):
        return "paid"
    if transfer in ("Failed", "Unsuccessful"):
        return "failed"
    return "in_transit"


def _order_lines(events, kind, items_key, charges_key, fees_key, promotions_key):
    lines = []
    for index, event in enumerate(events or []):
        path = "%s[%d]" % (kind, index)
        amount, fee = Decimal(0), Decimal(0)
        for item in event.get(items_key) or []:
            amount += _sum(item.get(charges_key), "ChargeType", "ChargeAmount", path)
            amount += _sum(item.get(promotions_key), "PromotionType", "PromotionAmount", path)
            fee -= _sum(item.get(fees_key), "FeeType", "FeeAmount", path)
        lines.append({
            "external_id": "%s:%s:%s" % (kind, event.get("AmazonOrderId"), event.get("PostedDate")),
            "type": "charge" if kind == "shipment" else "refund" if kind == "refund" else "chargeback",
            "amount": format(amount, "f"), "fee": format(fee, "f"), "net": format(amount - fee, "f"),
            "order_external_id": event.get("AmazonOrderId"),
            "extra": {"posted_date": event.get("PostedDate"), "marketplace": event.get("MarketplaceName")},
        })
    return lines


def group_to_canonical(group: Mapping, events: Mapping) -> Payout:
    """Return the canonical payout of a financial event group with its ``FinancialEvents``."""
    group_id = group.get("FinancialEventGroupId")
    if not group_id:
        raise CanonicalValidationError([FieldError("FinancialEventGroupId", None, "required", "is required")], "payout")
    total = group.get("OriginalTotal") or {}
    currency = total.get("CurrencyCode")
    if not currency:
        raise CanonicalValidationError([FieldError("OriginalTotal.CurrencyCode", None, "required", "is required")],
                                       "payout")
    when = group.get("FundTransferDate") or group.get("FinancialEventGroupEnd") or group.get("FinancialEventGroupStart")
    if not when:
        raise CanonicalValidationError([FieldError("FundTransferDate", None, "required", "is required")], "payout")
    day = datetime.fromisoformat(str(when).replace("Z", "+00:00")).date()
    lines = _order_lines(events.get("ShipmentEventList"), "shipment", "ShipmentItemList", "ItemChargeList",
                         "ItemFeeList", "PromotionList")
    lines += _order_lines(events.get("RefundEventList"), "refund", "ShipmentItemAdjustmentList",
                          "ItemChargeAdjustmentList", "ItemFeeAdjustmentList", "PromotionAdjustmentList")
    lines += _order_lines(events.get("ChargebackEventList"), "chargeback", "ShipmentItemAdjustmentList",
                          "ItemChargeAdjustmentList", "ItemFeeAdjustmentList", "PromotionAdjustmentList")
    for index, event in enumerate(events.get("ServiceFeeEventList") or []):
        amount = _sum(event.get("FeeList"), "FeeType", "FeeAmount", "ServiceFeeEventList[%d]" % index)
        lines.append({"external_id": "service-fee:%d" % index, "type": "fee", "amount": format(amount, "f"),
                      "fee": "0", "net": format(amount, "f"),
                      "extra": {"fees": [f.get("FeeType") for f in event.get("FeeList") or []],
                                "reason": event.get("FeeReason")}})
    for index, event in enumerate(events.get("AdjustmentEventList") or []):
        amount = _money(event.get("AdjustmentAmount"), "AdjustmentEventList[%d].AdjustmentAmount" % index)
        lines.append({"external_id": "adjustment:%d:%s" % (index, event.get("AdjustmentType")), "type": "adjustment",
                      "amount": format(amount, "f"), "fee": "0", "net": format(amount, "f"),
                      "extra": {"adjustment_type": event.get("AdjustmentType"), "posted_date": event.get("PostedDate")}})
    return Payout.from_dict({
        "external_id": group_id, "date": day.isoformat(), "currency": currency,
        "amount": format(_money(total, "OriginalTotal"), "f"), "status": payout_status(group), "lines": lines,
        "extra": {"trace_id": group.get("TraceId"), "account_tail": group.get("AccountTail"),
                  "processing_status": group.get("ProcessingStatus"),
                  "fund_transfer_status": group.get("FundTransferStatus")},
    })
