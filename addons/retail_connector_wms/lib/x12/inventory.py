# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""846 Inventory Inquiry/Advice from the warehouse: stock per item at a point in time.

846 (group IB)::

    BIA*00*<report type>*<reference>*<CCYYMMDD>*<HHMMSS>   00 original; MB or SI report
    DTM*007*<CCYYMMDD>*<HHMMSS>                              effective date/time of the snapshot
    N1*WH*<warehouse name>*91*<warehouse id>
    LIN**<SK|VN|UP>*<item>
      QTY*17*<qty>*<UOM>     quantity on hand (damaged and held stock included)
      QTY*33*<qty>*<UOM>     quantity available for sale (stock quantity)
      QTY*20*<qty>*<UOM>     unusable quantity (damaged)
    CTT*<number of LIN>

Quantity qualifiers are X12 element 673 codes; any other qualifier the warehouse sends is
kept in ``InventoryItem.other``. The snapshot time has no time zone in X12: it is the
warehouse's clock, as agreed with the trading partner.
"""

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from .envelope import ControlNumbers, Envelope, TransactionSet, X12Document, build_interchange
from .errors import Problem, X12Error
from .parties import clean_text, first_segment, qty_text, quantity
from .syntax import DEFAULT_SEPARATORS, Segment, Separators, format_date, parse_date, parse_time

ON_HAND = "17"
AVAILABLE = "33"
DAMAGED = "20"
EFFECTIVE = "007"


@dataclass
class InventoryItem:
    """Stock of one item: on hand, available for sale, damaged (None when not reported)."""

    sku: str
    on_hand: Decimal | None = None
    available: Decimal | None = None
    damaged: Decimal | None = None
    uom: str = "EA"
    sku_qualifier: str = "SK"
    other: dict = field(default_factory=dict)


@dataclass
class InventoryAdvice:
    """An 846: the warehouse's stock of ``items`` as of ``snapshot``."""

    reference: str
    snapshot: datetime
    items: list[InventoryItem]
    warehouse_id: str = ""
    warehouse_name: str = ""
    purpose: str = "00"
    report_type: str = "MB"
    control_number: str = field(default="", compare=False)

    def item(self, sku: str) -> InventoryItem | None:
        """Return the item ``sku``, or None."""
        return next((i for i in self.items if i.sku == sku), None)


def inventory_advice_segments(advice: InventoryAdvice, separators: Separators = DEFAULT_SEPARATORS) -> list[Segment]:
    """Return the body (between ST and SE) of the 846 for ``advice``."""
    stamp = advice.snapshot.strftime("%H%M%S")
    body = [Segment("BIA", advice.purpose, advice.report_type, advice.reference, format_date(advice.snapshot), stamp),
            Segment("DTM", EFFECTIVE, format_date(advice.snapshot), stamp)]
    if advice.warehouse_id or advice.warehouse_name:
        body.append(Segment("N1", "WH", clean_text(advice.warehouse_name, 60, separators),
                            "91" if advice.warehouse_id else "", advice.warehouse_id))
    for item in advice.items:
        body.append(Segment("LIN", "", item.sku_qualifier, item.sku))
        for qualifier, value in ((ON_HAND, item.on_hand), (AVAILABLE, item.available), (DAMAGED, item.damaged),
                                 *item.other.items()):
            if value is not None:
                body.append(Segment("QTY", qualifier, qty_text(value), item.uom))
    body.append(Segment("CTT", str(len(advice.items))))
    return body


def build_846(advices: InventoryAdvice | list[InventoryAdvice], envelope: Envelope, numbers: ControlNumbers,
              now: datetime | None = None) -> X12Document:
    """Return an 846 interchange with one transaction set per advice (one functional group IB)."""
    advices = [advices] if isinstance(advices, InventoryAdvice) else list(advices)
    bodies = [inventory_advice_segments(advice, envelope.separators) for advice in advices]
    return build_interchange(envelope, "846", bodies, numbers, now)


def inventory_advice_from(transaction: TransactionSet, separators: Separators = DEFAULT_SEPARATORS) -> InventoryAdvice:
    """Return the InventoryAdvice of an 846 transaction set."""
    bia = first_segment(transaction, "BIA")
    snapshot = _stamp(bia, 4, 5)
    for dtm in transaction.find("DTM"):
        if dtm[1] == EFFECTIVE and dtm[2]:
            snapshot = _stamp(dtm, 2, 3)
            break
    advice = InventoryAdvice(reference=bia[3], snapshot=snapshot, items=[], purpose=bia[1], report_type=bia[2],
                             control_number=transaction.control_number)
    current = None
    for segment in transaction.segments:
        if segment.id == "N1" and segment[1] == "WH" and not advice.warehouse_id:
            advice.warehouse_name, advice.warehouse_id = segment[2], segment[4]
        elif segment.id == "LIN":
            current = InventoryItem(sku=segment[3], sku_qualifier=segment[2], uom="")
            advice.items.append(current)
        elif segment.id == "QTY" and current is not None:
            value = quantity(segment, 2, "quantity")
            uom = segment.composite(3, separators.sub_element)
            if uom and not current.uom:
                current.uom = uom[0]
            attribute = {ON_HAND: "on_hand", AVAILABLE: "available", DAMAGED: "damaged"}.get(segment[1])
            if attribute:
                setattr(current, attribute, value)
            else:
                current.other[segment[1]] = value
    for item in advice.items:
        item.uom = item.uom or "EA"
    return advice


def _stamp(segment: Segment, date_element: int, time_element: int) -> datetime:
    try:
        day = parse_date(segment[date_element])
        moment = parse_time(segment[time_element]) or time(0, 0)
    except ValueError:
        day = None
    if day is None:
        raise X12Error(Problem(f"the snapshot date ({segment.id}{date_element:02d}) is missing or invalid",
                               level="element", segment_id=segment.id, position=segment.position,
                               element=date_element, value=segment[date_element]))
    return datetime.combine(day, moment)
