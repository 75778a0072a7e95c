# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""943 Stock Transfer Shipment Advice (to the warehouse) and 944 Stock Transfer Receipt Advice.

The 943 announces goods on their way to the warehouse (an inbound ASN: a purchase receipt
or a transfer), the 944 reports what the warehouse received.

943 (group AR)::

    W06*F*<reference>*<ship date>*<shipment id>**<PO number>
    N1*SF*<supplier> ... / N1*ST*<warehouse> ...            at least one party
    G62*17*<CCYYMMDD>                                       estimated delivery (expected) date
    W27*<transport>*<SCAC>*<routing>                        mandatory: SCAC or routing text
    W04*<qty>*<UOM>**<SK|VN|UP>*<item>  G69*<description>  N9*LT*<lot>
    W03*<total units>

944 (group RE)::

    W17*F*<received date>*<warehouse receipt number>*<reference>*<shipment id>
    N1*WH*<warehouse> ...
    W07*<qty received>*<UOM>**<SK|VN|UP>*<item>*<lot (12)>  N9*LT*<lot>
      W13*<qty>*<UOM>*01[*<lot>*<damage reason>]             01 = damaged product or container
    W14*<total quantity received>

W07-01 is the whole quantity received for the line; a W13 with receiving condition ``01``
reports the part of it that arrived damaged (other conditions, e.g. 02 short, 03 over, are
kept by code). Damage reasons (W13-05) are X12 element 853 codes; ``NR`` means not reported.
"""

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
    party_segments,
    qty_text,
    quantity,
    read_parties,
)
from .syntax import DEFAULT_SEPARATORS, Segment, Separators, format_date, parse_date

DAMAGED = "01"
NOT_REPORTED = "NR"
LOT_ELEMENT_LENGTH = 12


@dataclass
class TransferLine:
    """One 943 W04 line: item and quantity shipped to the warehouse, optional lot."""

    sku: str
    quantity: Decimal
    uom: str = "EA"
    sku_qualifier: str = "SK"
    lot: str = ""
    description: str = ""


@dataclass
class StockTransferShipment:
    """A 943: goods under ``reference`` are on their way to the warehouse, expected on a date."""

    reference: str
    expected_date: date | None
    lines: list[TransferLine]
    ship_date: date | None = None
    shipment_id: str = ""
    purchase_order: str = ""
    ship_from: Address | None = None
    warehouse: Address | None = None
    carrier: str = ""
    transport_method: str = "M"
    routing: str = ""

    @property
    def total_quantity(self) -> Decimal:
        """Return the sum of the quantities shipped (W03-01)."""
        return sum((as_decimal(line.quantity) for line in self.lines), Decimal(0))


@dataclass
class ReceivedLine:
    """One 944 W07 line: quantity received (damaged included), damaged part, lot."""

    sku: str
    received: Decimal
    damaged: Decimal = Decimal(0)
    uom: str = "EA"
    sku_qualifier: str = "SK"
    lot: str = ""
    damage_reason: str = ""
    exceptions: dict = field(default_factory=dict)

    @property
    def good(self) -> Decimal:
        """Return the quantity received in good condition."""
        return as_decimal(self.received) - as_decimal(self.damaged)


@dataclass
class StockTransferReceipt:
    """A 944: the warehouse received ``lines`` of ``reference`` on ``received_date``."""

    reference: str
    received_date: date
    receipt_number: str
    lines: list[ReceivedLine]
    shipment_id: str = ""
    warehouse: Address | None = None
    reporting_code: str = "F"
    control_number: str = field(default="", compare=False)

    @property
    def total_received(self) -> Decimal:
        """Return the sum of the quantities received (W14-01)."""
        return sum((as_decimal(line.received) for line in self.lines), Decimal(0))

    @property
    def total_damaged(self) -> Decimal:
        """Return the sum of the damaged quantities."""
        return sum((as_decimal(line.damaged) for line in self.lines), Decimal(0))


# --------------------------------------------------------------------------- 943

def transfer_shipment_segments(shipment: StockTransferShipment,
                               separators: Separators = DEFAULT_SEPARATORS) -> list[Segment]:
    """Return the body (between ST and SE) of the 943 for ``shipment``."""
    if not shipment.lines:
        raise X12Error(f"shipment {shipment.reference!r} has no line: a 943 needs at least one W04")
    if not shipment.carrier and not shipment.routing:
        raise X12Error(f"shipment {shipment.reference!r} needs a carrier SCAC or a routing text: "
                       "the 943 carrier detail W27 is mandatory and needs one of them")
    if shipment.ship_from is None and shipment.warehouse is None:
        raise X12Error(f"shipment {shipment.reference!r} needs a ship-from party or the warehouse: "
                       "the 943 N1 loop is mandatory")
    body = [Segment("W06", "F", shipment.reference, format_date(shipment.ship_date) if shipment.ship_date else "",
                    shipment.shipment_id, "", shipment.purchase_order)]
    if shipment.ship_from is not None:
        body += party_segments("SF", shipment.ship_from, separators)
    if shipment.warehouse is not None:
        body += party_segments("ST", shipment.warehouse, separators)
    if shipment.expected_date:
        body.append(Segment("G62", "17", format_date(shipment.expected_date)))
    body.append(Segment("W27", shipment.transport_method, shipment.carrier,
                        clean_text(shipment.routing, 35, separators)))
    for line in shipment.lines:
        body.append(Segment("W04", qty_text(line.quantity), line.uom, "", line.sku_qualifier, line.sku))
        if line.description:
            body.append(Segment("G69", clean_text(line.description, 45, separators)))
        if line.lot:
            body.append(Segment("N9", "LT", line.lot))
    body.append(Segment("W03", qty_text(shipment.total_quantity)))
    return body


def build_943(shipments: StockTransferShipment | list[StockTransferShipment], envelope: Envelope,
              numbers: ControlNumbers, now: datetime | None = None) -> X12Document:
    """Return a 943 interchange with one transaction set per shipment (one functional group AR)."""
    shipments = [shipments] if isinstance(shipments, StockTransferShipment) else list(shipments)
    bodies = [transfer_shipment_segments(s, envelope.separators) for s in shipments]
    return build_interchange(envelope, "943", bodies, numbers, now)


def transfer_shipment_from(transaction: TransactionSet,
                           separators: Separators = DEFAULT_SEPARATORS) -> StockTransferShipment:
    """Return the StockTransferShipment of a 943 transaction set."""
    w06 = first_segment(transaction, "W06")
    parties = read_parties(transaction.segments)
    shipment = StockTransferShipment(reference=w06[2], expected_date=None, lines=[], ship_date=parse_date(w06[3]),
                                     shipment_id=w06[4], purchase_order=w06[6], ship_from=parties.get("SF"),
                                     warehouse=parties.get("ST"))
    for segment in transaction.segments:
        if segment.id == "G62" and segment[1] == "17":
            shipment.expected_date = parse_date(segment[2])
        elif segment.id == "W27":
            shipment.transport_method, shipment.carrier, shipment.routing = segment[1], segment[2], segment[3]
        elif segment.id == "W04":
            shipment.lines.append(TransferLine(sku=segment[5] or segment[3], quantity=quantity(segment, 1, "quantity"),
                                               uom=segment[2], sku_qualifier=segment[4] or "UP"))
        elif segment.id == "G69" and shipment.lines:
            shipment.lines[-1].description = segment[1]
        elif segment.id == "N9" and segment[1] == "LT" and shipment.lines:
            shipment.lines[-1].lot = segment[2]
    return shipment


# --------------------------------------------------------------------------- 944

def transfer_receipt_segments(receipt: StockTransferReceipt,
                              separators: Separators = DEFAULT_SEPARATORS) -> list[Segment]:
    """Return the body (between ST and SE) of the 944 for ``receipt``."""
    if not receipt.lines:
        raise X12Error(f"receipt {receipt.reference!r} has no line: a 944 needs at least one W07")
    if receipt.warehouse is None:
        raise X12Error(f"receipt {receipt.reference!r} needs the warehouse party: the 944 N1 loop is mandatory")
    body = [Segment("W17", receipt.reporting_code, format_date(receipt.received_date), receipt.receipt_number,
                    receipt.reference, receipt.shipment_id)]
    body += party_segments("WH", receipt.warehouse, separators)
    for line in receipt.lines:
        lot_element = line.lot if len(line.lot) <= LOT_ELEMENT_LENGTH else ""
        body.append(Segment("W07", qty_text(line.received), line.uom, "", line.sku_qualifier, line.sku, "", "",
                            lot_element))
        if line.lot and not lot_element:
            body.append(Segment("N9", "LT", line.lot))
        damaged = as_decimal(line.damaged)
        if damaged:
            body.append(Segment("W13", qty_text(damaged), line.uom, DAMAGED, lot_element,
                                line.damage_reason or NOT_REPORTED))
        for condition, qty in line.exceptions.items():
            body.append(Segment("W13", qty_text(qty), line.uom, condition))
    body.append(Segment("W14", qty_text(receipt.total_received)))
    return body


def build_944(receipts: StockTransferReceipt | list[StockTransferReceipt], envelope: Envelope,
              numbers: ControlNumbers, now: datetime | None = None) -> X12Document:
    """Return a 944 interchange with one transaction set per receipt (one functional group RE)."""
    receipts = [receipts] if isinstance(receipts, StockTransferReceipt) else list(receipts)
    bodies = [transfer_receipt_segments(r, envelope.separators) for r in receipts]
    return build_interchange(envelope, "944", bodies, numbers, now)


def transfer_receipt_from(transaction: TransactionSet,
                          separators: Separators = DEFAULT_SEPARATORS) -> StockTransferReceipt:
    """Return the StockTransferReceipt of a 944 transaction set."""
    w17 = first_segment(transaction, "W17")
    if not w17[4]:
        raise X12Error(Problem("the 944 does not name the depositor order number (W17-04) it answers",
                               level="element", segment_id="W17", position=w17.position, element=4))
    parties = read_parties(transaction.segments)
    receipt = StockTransferReceipt(reference=w17[4], received_date=parse_date(w17[2]), receipt_number=w17[3],
                                   lines=[], shipment_id=w17[5], warehouse=parties.get("WH"),
                                   reporting_code=w17[1], control_number=transaction.control_number)
    for segment in transaction.segments:
        if segment.id == "W07":
            receipt.lines.append(ReceivedLine(sku=segment[5] or segment[3],
                                              received=quantity(segment, 1, "quantity received"),
                                              uom=segment[2], sku_qualifier=segment[4] or "UP", lot=segment[8]))
        elif segment.id == "N9" and segment[1] == "LT" and receipt.lines:
            receipt.lines[-1].lot = segment[2]
        elif segment.id == "W13" and receipt.lines:
            line = receipt.lines[-1]
            qty = quantity(segment, 1, "exception quantity")
            if segment[3] == DAMAGED:
                line.damaged = as_decimal(line.damaged) + qty
                line.damage_reason = "" if segment[5] == NOT_REPORTED else segment[5]
            else:
                line.exceptions[segment[3]] = line.exceptions.get(segment[3], Decimal(0)) + qty
    return receipt
