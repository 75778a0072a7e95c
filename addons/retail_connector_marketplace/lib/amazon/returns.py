"""Amazon returns reports (Reports API 2021-06-30 flat files) as canonical returns.

Two reports, both tab-separated text with a header row:

- ``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE``: the returns of merchant-fulfilled orders, one
  row per returned item of a return request (``Amazon RMA ID``), with its ``Order ID``, ``Merchant
  SKU``, ``Return quantity``, ``Return Reason``, ``Return request status`` and ``Refunded Amount``.
- ``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``: the units Amazon's fulfilment centres received
  back, one row per returned unit group (``order-id``, ``sku``, ``quantity``, ``reason``,
  ``detailed-disposition``), with no RMA: a return is an order's rows of one ``return-date``.

Rows are grouped into one canonical ``Return`` per RMA (per order and return date for FBA). A
row that cannot be read makes its whole return a ``ReportRowError`` naming the row, the column
and the value, so that a bad row is reported and never half-imported.

Column names are matched whatever their case, spacing or punctuation (Amazon's own
documentation writes ``Merchant RMA ID`` and ``Seller RMA ID``, ``A-to-Z Claim`` and ``A-to-z
claim``). Report documents are UTF-8 in most marketplaces and Windows-1252 in some.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from retail_connector_base_lib.canonical import CanonicalValidationError, Return

MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"

# the documented columns, in the report's order
MFN_COLUMNS = (
    "Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID", "Merchant RMA ID",
    "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID", "Label to be paid by",
    "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU", "Item Name", "Return quantity", "Return Reason", "In policy",
    "Return type", "Resolution", "Invoice number", "Return delivery date", "Order Amount", "Order quantity",
    "SafeT Action reason", "SafeT claim id", "SafeT claim state", "SafeT claim creation time",
    "SafeT claim reimbursement amount", "Refunded Amount",
)
FBA_COLUMNS = (
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
    "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments",
)
# other names Amazon gives the same column
ALIASES = {"sellerrmaid": "merchantrmaid"}

# Return request status -> canonical status (an unknown one is a request: authorised, nothing received yet)
MFN_STATUSES = {
    "pending": "requested", "requested": "requested", "authorizationrequested": "requested",
    "approved": "approved", "authorized": "approved", "authorised": "approved",
    "completed": "received", "closed": "received", "received": "received", "refunded": "refunded",
    "rejected": "rejected", "declined": "rejected", "denied": "rejected",
    "cancelled": "cancelled", "canceled": "cancelled",
}
# FBA units back in sellable condition go back to Amazon's stock; the others do not
FBA_RESTOCK = ("SELLABLE",)
DATE_FORMATS = ("%d-%b-%Y", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S %Z", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")


def _key(name):
    key = re.sub(r"[^a-z0-9]", "", str(name or "").lower())
    return ALIASES.get(key, key)


@dataclass
class ReportRowError:
    """A return of the report that cannot be read: which row (1 is the header), which column, why."""

    external_id: str
    row: int
    column: str
    value: object
    message: str
    order_id: str | None = None
    report_type: str = ""

    def __str__(self):
        return "%s row %d: %s %r %s" % (self.report_type or "Amazon report", self.row, self.column, self.value,
                                        self.message)


class ReportFormatError(ValueError):
    """The document is not the flat file asked for (no header, columns missing)."""


def decode(content):
    """Return a report document's text: UTF-8 (with or without BOM), else Windows-1252."""
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", "replace")


def parse_flat_file(content, required=()):
    """Return (header, rows) of a tab-separated report: rows as {column: value} with their row number
    under ``"_row"`` (the header is row 1). Blank lines are skipped.

    Raises ReportFormatError when there is no header or a ``required`` column is missing.
    """
    lines = decode(content).splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return [], []
    header = [cell.strip() for cell in lines[0].split("\t")]
    keys = [_key(cell) for cell in header]
    missing = [name for name in required if _key(name) not in keys]
    if missing:
        raise ReportFormatError("the report has no column %s (its header: %s)" % (
            ", ".join(missing), ", ".join(header)))
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        row = {key: (cells[index].strip() if index < len(cells) else "") for index, key in enumerate(keys)}
        row["_row"] = number
        rows.append(row)
    return header, rows


class _RowProblem(Exception):
    def __init__(self, column, value, message):
        super().__init__(message)
        self.column, self.value, self.message = column, value, message


def _text(row, column, required=False):
    value = row.get(_key(column), "")
    if required and not value:
        raise _RowProblem(column, value, "is required")
    return value or None


def _quantity(row, column):
    value = row.get(_key(column), "")
    try:
        quantity = Decimal(value)
    except InvalidOperation:
        raise _RowProblem(column, value, "is not a number") from None
    if quantity <= 0 or quantity != quantity.to_integral_value():
        raise _RowProblem(column, value, "must be a whole number above 0")
    return quantity


def _amount(row, column):
    value = row.get(_key(column), "")
    if not value:
        return None
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise _RowProblem(column, value, "is not an amount") from None
    if amount < 0:
        raise _RowProblem(column, value, "must not be negative")
    return amount


def parse_moment(value):
    """Return a report date or date-time as an aware UTC datetime; None when it cannot be read."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
        for fmt in DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _moment(row, column, required=True):
    value = row.get(_key(column), "")
    moment = parse_moment(value)
    if moment is None and (value or required):
        raise _RowProblem(column, value, "is not a date" if value else "is required")
    return moment


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _row_id(row, order_id):
    """An id of a row that has no readable key, the same in every report that holds the row."""
    content = "\t".join("%s=%s" % (k, v) for k, v in sorted(row.items()) if k != "_row")
    return "%s-row-%s" % (order_id or "unknown", hashlib.sha256(content.encode()).hexdigest()[:12])


def _group(rows, key_of, report_type):
    """Return [(key, rows)] in the report's order; a row whose key cannot be read is a group of its own."""
    groups, errors = {}, []
    for row in rows:
        try:
            key = key_of(row)
        except _RowProblem as exc:
            order_id = row.get(_key("Order ID")) or None
            errors.append(ReportRowError(_row_id(row, order_id), row["_row"], exc.column, exc.value, exc.message,
                                         order_id, report_type))
            continue
        groups.setdefault(key, []).append(row)
    return list(groups.items()), errors


def _canonical(data, rows, report_type):
    try:
        return Return.from_dict(data)
    except CanonicalValidationError as exc:
        first = exc.errors[0] if exc.errors else None
        return ReportRowError(data.get("external_id") or "?", rows[0]["_row"], first.path if first else "?",
                              first.value if first else None, first.message if first else str(exc),
                              data.get("order_external_id"), report_type)


def mfn_returns(rows):
    """Yield a canonical Return (or a ReportRowError) per ``Amazon RMA ID`` of a merchant-fulfilled returns report."""
    groups, errors = _group(rows, lambda row: _text(row, "Amazon RMA ID", required=True), MFN_RETURNS)
    yield from errors
    for rma, group in groups:
        try:
            order_ids = {_text(row, "Order ID", required=True) for row in group}
            if len(order_ids) > 1:
                raise _RowProblem("Order ID", ", ".join(sorted(order_ids)), "differs between the rows of one RMA")
            requested = min(_moment(row, "Return request date") for row in group)
            status_text = _text(group[-1], "Return request status") or ""
            currency = next((_text(row, "Currency code") for row in group if _text(row, "Currency code")), None)
            lines = []
            for row in group:
                refunded = _amount(row, "Refunded Amount")
                line = {
                    "sku": _text(row, "Merchant SKU", required=True),
                    "quantity": format(_quantity(row, "Return quantity"), "f"),
                    "reason": _text(row, "Return Reason"),
                    # what comes back is inspected at the warehouse before it is sold again
                    "restock": False,
                    "extra": {"asin": _text(row, "ASIN"), "in_policy": _text(row, "In policy"),
                              "resolution": _text(row, "Resolution"), "return_type": _text(row, "Return type")},
                }
                if refunded is not None and currency:
                    line["amount"] = format(refunded, "f")
                lines.append(line)
        except _RowProblem as exc:
            row = next((r for r in group if r.get(_key(exc.column), "") == exc.value), group[0])
            yield ReportRowError(rma, row["_row"], exc.column, exc.value, exc.message,
                                 group[0].get(_key("Order ID")) or None, MFN_RETURNS)
            continue
        first = group[0]
        data = {
            "external_id": rma,
            "order_external_id": order_ids.pop(),
            "status": MFN_STATUSES.get(_key(status_text), "requested"),
            "created_at": _iso(requested),
            "currency": currency,
            "lines": lines,
            "note": lines[0]["reason"],
            "extra": {
                "report_type": MFN_RETURNS, "amazon_status": status_text or None,
                "seller_rma_id": _text(first, "Merchant RMA ID"), "carrier": _text(first, "Return carrier"),
                "tracking_id": _text(first, "Tracking ID"), "label_type": _text(first, "Label type"),
                "label_paid_by": _text(first, "Label to be paid by"), "a_to_z_claim": _text(first, "A-to-Z Claim"),
                "is_prime": _text(first, "Is prime"),
            },
        }
        yield _canonical(data, group, MFN_RETURNS)


def fba_returns(rows):
    """Yield a canonical Return (or a ReportRowError) per order and ``return-date`` of an FBA customer returns report."""
    def key_of(row):
        return _text(row, "order-id", required=True), _iso(_moment(row, "return-date"))

    groups, errors = _group(rows, key_of, FBA_RETURNS)
    yield from errors
    for (order_id, returned), group in groups:
        external_id = "FBA-%s-%s" % (order_id, re.sub(r"[^0-9]", "", returned))
        try:
            lines = [{
                "sku": _text(row, "sku", required=True),
                "quantity": format(_quantity(row, "quantity"), "f"),
                "reason": _text(row, "reason"),
                "restock": (_text(row, "detailed-disposition") or "").upper() in FBA_RESTOCK,
                "extra": {"asin": _text(row, "asin"), "fnsku": _text(row, "fnsku"),
                          "disposition": _text(row, "detailed-disposition"), "status": _text(row, "status"),
                          "license_plate_number": _text(row, "license-plate-number"),
                          "fulfillment_center_id": _text(row, "fulfillment-center-id")},
            } for row in group]
        except _RowProblem as exc:
            row = next((r for r in group if r.get(_key(exc.column), "") == exc.value), group[0])
            yield ReportRowError(external_id, row["_row"], exc.column, exc.value, exc.message, order_id, FBA_RETURNS)
            continue
        comments = "; ".join(filter(None, (_text(row, "customer-comments") for row in group)))
        data = {
            "external_id": external_id,
            "order_external_id": order_id,
            # Amazon received the units: the return is recorded as received at its fulfilment centre
            "status": "received",
            "created_at": returned,
            "lines": lines,
            "note": comments or lines[0]["reason"],
            "extra": {"report_type": FBA_RETURNS, "fulfilled_by": "amazon"},
        }
        yield _canonical(data, group, FBA_RETURNS)


REPORT_READERS = {MFN_RETURNS: (mfn_returns, ("Order ID", "Amazon RMA ID", "Merchant SKU", "Return quantity")),
                  FBA_RETURNS: (fba_returns, ("return-date", "order-id", "sku", "quantity"))}


def returns_of_report(report_type, content):
    """Return the canonical Returns and ReportRowErrors of a returns report document (bytes or text).

    Raises ReportFormatError when the document lacks the report's key columns.
    """
    reader, required = REPORT_READERS[report_type]
    _header, rows = parse_flat_file(content, required)
    return list(reader(rows))


def error_data(error):
    """Return a ReportRowError as the JSON data the inbox refuses with its reason."""
    return {"external_id": error.external_id, "order_external_id": error.order_id,
            "report_error": {"report_type": error.report_type, "row": error.row, "field": error.column,
                             "value": error.value, "message": error.message}}


def is_error_data(data):
    return isinstance(data, Mapping) and isinstance(data.get("report_error"), Mapping)
