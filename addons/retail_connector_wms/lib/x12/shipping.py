# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""940 Warehouse Shipping Order (to the warehouse) and 945 Warehouse Shipping Advice (from it).

940 (group OW)::

    W05*N*<order number>*<PO number>          order status N original (F cancel, G changes to other
                                              than line items, e.g. the ship-to)
    N1*ST*<name>[*92*<code>] N3 N4             ship-to party (N1*SF ship-from when given)
    N9*<qualifier>*<reference>                 references, e.g. CO customer order
    G62*10*<CCYYMMDD>  G62*02*<CCYYMMDD>        requested ship date, requested delivery date
    NTE*WHI*<text>                             warehouse instructions
    W66*<payment>*<transport>****<service>*****<SCAC>   PP prepaid; U parcel, M motor...
    LX*<line>  W01*<qty>*<UOM>**<SK|VN|UP>*<item>  G69*<description>
    W76*<total quantity ordered>

945 (group SW)::

    W06*F*<order number>*<ship date>*<shipment id>**<PO number>
    N1*ST ... ; N9*BM*<bill of lading>  N9*CN*<carrier tracking/PRO number>
    W27*<transport>*<SCAC>*<routing/service>
    LX*<line>  MAN*GM*<SSCC-18>**CP*<carrier package tracking id>     one MAN per carton
      W12*<CC|CP|...>*<ordered>*<shipped>*<difference>*<UOM>**<qualifier>*<item>
      N9*LT*<lot>  N9*SE*<serial number> (one per serial)
    W03*<total units shipped>[*<weight>*LB]

W12-01 is ``CC`` (shipment complete) when everything ordered shipped, ``CP`` (partial
shipment, no backorder) otherwise; the builder derives it when not given.
"""

import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from .envelope import ControlNumbers, Envelope, TransactionSet, X12Document, build_interchange
from .errors import Problem, X12Error
from .parties import (
    Address,
    as_decimal,
    clean_text,
    first_segment,
    int_or_none,
    party_segments,
    qty_text,
    quantity,
    read_parties,
)
from .syntax import DEFAULT_SEPARATORS, Segment, Separators, format_date, parse_date

NOTE_LENGTH = 80


@dataclass
class OrderLine:
    """One 940 line: item, quantity ordered, unit and line number (LX01)."""

    sku: str
    quantity: Decimal
    line_number: int | None = None
    uom: str = "EA"
    sku_qualifier: str = "SK"
    description: str = ""


@dataclass
class ShippingOrder:
    """A 940: ask the warehouse to ship ``lines`` of order ``order_number`` to ``ship_to``."""

    order_number: str
    ship_to: Address
    lines: list[OrderLine]
    purchase_order: str = ""
    status: str = "N"
    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    carrier: str = ""
    service: str = ""
    payment_method: str = "PP"
    transport_method: str = "U"
    ship_from: Address | None = None
    notes: str = ""
    references: dict = field(default_factory=dict)

    def __post_init__(self):
        _number_lines(self.lines)

    @property
    def total_quantity(self) -> Decimal:
        """Return the sum of the quantities ordered (W76-01)."""
        return sum((as_decimal(line.quantity) for line in self.lines), Decimal(0))


@dataclass
class Package:
    """A shipped carton: its SSCC-18 (MAN*GM) and/or carrier tracking number (MAN*CP)."""

    tracking: str = ""
    sscc: str = ""


@dataclass
class ShippedLine:
    """One 945 W12 line: item, quantity shipped and ordered, lot, serial numbers, cartons."""

    sku: str
    shipped: Decimal
    ordered: Decimal | None = None
    line_number: int | None = None
    uom: str = "EA"
    sku_qualifier: str = "SK"
    status: str = ""
    lot: str = ""
    serials: list = field(default_factory=list)
    packages: list = field(default_factory=list)

    def __post_init__(self):
        if not self.status:
            self.status = "CP" if self.partial else "CC"

    @property
    def partial(self) -> bool:
        """Return whether this advice shipped less than the quantity ordered (W12-03 < W12-02).

        A later 945 completing the line repeats the quantity ordered: whether the order line
        is complete is in ``status`` (CC) or in the sum of the shipments.
        """
        return self.ordered is not None and as_decimal(self.shipped) < as_decimal(self.ordered)


@dataclass
class ShippingAdvice:
    """A 945: the warehouse shipped ``lines`` of order ``order_number`` on ``ship_date``."""

    order_number: str
    ship_date: date
    lines: list[ShippedLine]
    shipment_id: str = ""
    purchase_order: str = ""
    carrier: str = ""
    transport_method: str = "U"
    routing: str = ""
    tracking: str = ""
    bill_of_lading: str = ""
    ship_to: Address | None = None
    ship_from: Address | None = None
    weight: Decimal | None = None
    weight_unit: str = "LB"
    reporting_code: str = "F"
    control_number: str = field(default="", compare=False)

    def __post_init__(self):
        _number_lines(self.lines)

    @property
    def total_shipped(self) -> Decimal:
        """Return the sum of the quantities shipped (W03-01)."""
        return sum((as_decimal(line.shipped) for line in self.lines), Decimal(0))

    @property
    def partial(self) -> bool:
        """Return whether any line shipped less than ordered."""
        return any(line.partial for line in self.lines)

    @property
    def tracking_numbers(self) -> list[str]:
        """Return every tracking number: the shipment's (N9*CN) then each carton's (MAN*CP), once."""
        numbers = [self.tracking] if self.tracking else []
        for line in self.lines:
            for package in line.packages:
                if package.tracking and package.tracking not in numbers:
                    numbers.append(package.tracking)
        return numbers


# --------------------------------------------------------------------------- 940

def shipping_order_segments(order: ShippingOrder, separators: Separators = DEFAULT_SEPARATORS) -> list[Segment]:
    """Return the body (between ST and SE) of the 940 for ``order``."""
    if not order.lines:
        raise X12Error(f"order {order.order_number!r} has no line: a 940 needs at least one W01")
    body = [Segment("W05", order.status, order.order_number, order.purchase_order)]
    body += party_segments("ST", order.ship_to, separators)
    if order.ship_from is not None:
        body += party_segments("SF", order.ship_from, separators)
    body += [Segment("N9", qualifier, value) for qualifier, value in order.references.items()]
    if order.requested_ship_date:
        body.append(Segment("G62", "10", format_date(order.requested_ship_date)))
    if order.requested_delivery_date:
        body.append(Segment("G62", "02", format_date(order.requested_delivery_date)))
    notes = clean_text(order.notes, 10 * NOTE_LENGTH, separators)
    body += [Segment("NTE", "WHI", chunk) for chunk in textwrap.wrap(notes, NOTE_LENGTH)[:10]]
    if order.carrier or order.service:
        body.append(Segment("W66", order.payment_method, order.transport_method, "", "",
                            clean_text(order.service, 35, separators), "", "", "", "", order.carrier))
    for number, line in _numbered(order.lines):
        body.append(Segment("LX", str(number)))
        body.append(Segment("W01", qty_text(line.quantity), line.uom, "", line.sku_qualifier, line.sku))
        if line.description:
            body.append(Segment("G69", clean_text(line.description, 45, separators)))
    body.append(Segment("W76", qty_text(order.total_quantity)))
    return body


def _number_lines(lines) -> None:
    """Give the lines without a line number (LX01) the next free numbers, in order."""
    for number, line in _numbered(lines):
        line.line_number = number


def _numbered(lines):
    used = {line.line_number for line in lines if line.line_number is not None}
    counter = 0
    for line in lines:
        if line.line_number is not None:
            yield line.line_number, line
            continue
        counter += 1
        while counter in used:
            counter += 1
        yield counter, line


def build_940(orders: ShippingOrder | list[ShippingOrder], envelope: Envelope, numbers: ControlNumbers,
              now: datetime | None = None) -> X12Document:
    """Return a 940 interchange with one transaction set per order (one functional group OW)."""
    orders = [orders] if isinstance(orders, ShippingOrder) else list(orders)
    bodies = [shipping_order_segments(order, envelope.separators) for order in orders]
    return build_interchange(envelope, "940", bodies, numbers, now)


def shipping_order_from(transaction: TransactionSet, separators: Separators = DEFAULT_SEPARATORS) -> ShippingOrder:
    """Return the ShippingOrder of a 940 transaction set."""
    w05 = first_segment(transaction, "W05")
    parties = read_parties(transaction.segments)
    order = ShippingOrder(order_number=w05[2], ship_to=parties.get("ST") or Address(name=""), lines=[],
                          purchase_order=w05[3], status=w05[1], ship_from=parties.get("SF"))
    line_number = None
    in_lines = False
    notes = []
    for segment in transaction.segments:
        if segment.id == "LX":
            in_lines = True
            line_number = int_or_none(segment[1])
        elif segment.id == "N9" and not in_lines:
            order.references[segment[1]] = segment[2]
        elif segment.id == "G62":
            if segment[1] == "10":
                order.requested_ship_date = parse_date(segment[2])
            elif segment[1] == "02":
                order.requested_delivery_date = parse_date(segment[2])
        elif segment.id == "NTE":
            notes.append(segment[2])
        elif segment.id == "W66":
            order.payment_method, order.transport_method = segment[1], segment[2]
            order.service, order.carrier = segment[5], segment[10]
        elif segment.id == "W01":
            order.lines.append(OrderLine(sku=segment[5] or segment[3],
                                         quantity=quantity(segment, 1, "quantity ordered"),
                                         line_number=line_number, uom=segment[2], sku_qualifier=segment[4] or "UP"))
        elif segment.id == "G69" and order.lines:
            order.lines[-1].description = segment[1]
    order.notes = " ".join(notes)
    return order


# --------------------------------------------------------------------------- 945

def shipping_advice_segments(advice: ShippingAdvice, separators: Separators = DEFAULT_SEPARATORS) -> list[Segment]:
    """Return the body (between ST and SE) of the 945 for ``advice``."""
    if not advice.lines:
        raise X12Error(f"shipment of order {advice.order_number!r} has no line: a 945 needs at least one W12")
    body = [Segment("W06", advice.reporting_code, advice.order_number, format_date(advice.ship_date),
                    advice.shipment_id, "", advice.purchase_order)]
    if advice.ship_to is not None:
        body += party_segments("ST", advice.ship_to, separators)
    if advice.ship_from is not None:
        body += party_segments("SF", advice.ship_from, separators)
    if advice.bill_of_lading:
        body.append(Segment("N9", "BM", advice.bill_of_lading))
    if advice.tracking:
        body.append(Segment("N9", "CN", advice.tracking))
    if advice.carrier or advice.routing:
        body.append(Segment("W27", advice.transport_method, advice.carrier, clean_text(advice.routing, 35, separators)))
    for number, line in _numbered(advice.lines):
        body.append(Segment("LX", str(number)))
        for package in line.packages:
            marks = [(q, v) for q, v in (("GM", package.sscc), ("CP", package.tracking)) if v]
            if len(marks) == 2:
                body.append(Segment("MAN", "GM", package.sscc, "", "CP", package.tracking))
            elif marks:
                body.append(Segment("MAN", *marks[0]))
        ordered = None if line.ordered is None else as_decimal(line.ordered)
        shipped = as_decimal(line.shipped)
        status = line.status or ("CP" if line.partial else "CC")
        difference = "" if ordered is None else qty_text(ordered - shipped)
        body.append(Segment("W12", status, "" if ordered is None else qty_text(ordered), qty_text(shipped),
                            difference, line.uom, "", line.sku_qualifier, line.sku))
        if line.lot:
            body.append(Segment("N9", "LT", line.lot))
        body.extend(Segment("N9", "SE", serial) for serial in line.serials)
    weight = "" if advice.weight is None else qty_text(advice.weight)
    body.append(Segment("W03", qty_text(advice.total_shipped), weight, advice.weight_unit if weight else ""))
    return body


def build_945(advices: ShippingAdvice | list[ShippingAdvice], envelope: Envelope, numbers: ControlNumbers,
              now: datetime | None = None) -> X12Document:
    """Return a 945 interchange with one transaction set per shipment (one functional group SW)."""
    advices = [advices] if isinstance(advices, ShippingAdvice) else list(advices)
    bodies = [shipping_advice_segments(advice, envelope.separators) for advice in advices]
    return build_interchange(envelope, "945", bodies, numbers, now)


def shipping_advice_from(transaction: TransactionSet, separators: Separators = DEFAULT_SEPARATORS) -> ShippingAdvice:
    """Return the ShippingAdvice of a 945 transaction set."""
    w06 = first_segment(transaction, "W06")
    if not w06[2]:
        raise X12Error(Problem("the 945 does not name the depositor order number (W06-02)", level="element",
                               segment_id="W06", position=w06.position, element=2))
    ship_date = parse_date(w06[3]) or _g62(transaction, "11")
    if ship_date is None:
        raise X12Error(Problem("the 945 has no ship date (W06-03 or G62*11)", level="element", segment_id="W06",
                               position=w06.position, element=3))
    parties = read_parties(transaction.segments)
    advice = ShippingAdvice(order_number=w06[2], ship_date=ship_date, lines=[], shipment_id=w06[4],
                            purchase_order=w06[6], reporting_code=w06[1], ship_to=parties.get("ST"),
                            ship_from=parties.get("SF"), control_number=transaction.control_number)
    line_number = None
    loop_packages: list[Package] = []
    loop_lines: list[ShippedLine] = []
    for segment in transaction.segments:
        if segment.id == "LX":
            line_number = int_or_none(segment[1])
            loop_packages, loop_lines = [], []
        elif segment.id == "MAN":
            package = Package()
            for qualifier, value in ((segment[1], segment[2]), (segment[4], segment[5])):
                if qualifier in ("GM", "AA"):
                    package.sscc = value
                elif qualifier == "CP":
                    package.tracking = value
            if package.sscc or package.tracking:
                loop_packages.append(package)
                for line in loop_lines:
                    line.packages.append(package)
        elif segment.id == "W12":
            line = ShippedLine(sku=segment[8] or segment[6], shipped=quantity(segment, 3, "quantity shipped"),
                               ordered=quantity(segment, 2, "quantity ordered", required=False),
                               line_number=line_number, uom=segment[5] or "EA", sku_qualifier=segment[7] or "UP",
                               status=segment[1], lot=segment[9], packages=list(loop_packages))
            loop_lines.append(line)
            advice.lines.append(line)
        elif segment.id == "N9":
            if loop_lines:
                if segment[1] == "LT":
                    loop_lines[-1].lot = segment[2]
                elif segment[1] == "SE":
                    loop_lines[-1].serials.append(segment[2])
            elif segment[1] == "BM":
                advice.bill_of_lading = segment[2]
            elif segment[1] in ("CN", "2I") and not advice.tracking:
                advice.tracking = segment[2]
        elif segment.id == "W27":
            advice.transport_method, advice.carrier, advice.routing = segment[1], segment[2], segment[3]
        elif segment.id == "W03" and segment[2]:
            advice.weight = quantity(segment, 2, "weight")
            advice.weight_unit = segment[3] or "LB"
    return advice


def _g62(transaction: TransactionSet, qualifier: str) -> date | None:
    for segment in transaction.find("G62"):
        if segment[1] == qualifier:
            return parse_date(segment[2])
    return None

