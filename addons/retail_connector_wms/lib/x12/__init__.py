# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""X12 EDI (releases 004010 and 005010) with a 3PL warehouse: read, validate and write the documents.

Outbound (to the warehouse): 940 Warehouse Shipping Order, 943 Stock Transfer Shipment
Advice, 997 Functional Acknowledgment. Inbound (from it): 945 Warehouse Shipping Advice,
944 Stock Transfer Receipt Advice, 846 Inventory Inquiry/Advice, 997.

- ``syntax``: delimiters read from the fixed-width ISA, tokenizer and serializer.
- ``envelope``: ISA/GS/ST envelopes, their checks, control numbers, ``build_interchange``.
- ``specs``: the segment and transaction set specifications the validator walks.
- ``shipping`` (940/945), ``transfers`` (943/944), ``inventory`` (846), ``ack`` (997):
  dataclasses, builders (dataclass in, X12 text out) and parsers (transaction set in,
  dataclass out).
- ``documents``: read a received file into documents.
- ``policy``: a partner's strictness (strict, lenient) and the problems a person accepted:
  what is applied and noted (997 accepted with errors), what is refused.
- ``versions``: the releases 004010 and 005010 and how they differ for these sets.

Validation uses the connector's own specifications (``specs``): pyx12 ships no map for
940/943/944/945/846, only HIPAA sets and the 997. Every problem is an ``errors.Problem``
naming the segment position, segment id and element number, with its 997 code; invalid
input raises ``X12Error`` (a ValueError) carrying the list of all problems found.
"""

from .ack import AckReport, GroupAck, TransactionAck, acknowledgment_segments, build_997, parse_997
from .documents import (
    decode_transaction,
    parse_846,
    parse_940,
    parse_943,
    parse_944,
    parse_945,
    read_documents,
    read_with_policy,
)
from .envelope import (
    ControlNumbers,
    Envelope,
    FunctionalGroup,
    InMemoryControlNumbers,
    Interchange,
    TransactionSet,
    X12Document,
    build_interchange,
    next_control_number,
    parse_interchange,
    read_interchange,
)
from .errors import Problem, X12Error
from .inventory import InventoryAdvice, InventoryItem, build_846, inventory_advice_segments
from .parties import Address
from .policy import LENIENT, STRICT, Assessment, ValidationPolicy, assess, parse_keys, problem_key
from .versions import VERSIONS, Release, release_of
from .shipping import (
    OrderLine,
    Package,
    ShippedLine,
    ShippingAdvice,
    ShippingOrder,
    build_940,
    build_945,
    shipping_advice_segments,
    shipping_order_segments,
)
from .syntax import Segment, Separators, serialize, tokenize
from .transfers import (
    ReceivedLine,
    StockTransferReceipt,
    StockTransferShipment,
    TransferLine,
    build_943,
    build_944,
    transfer_receipt_segments,
    transfer_shipment_segments,
)

__all__ = [
    "LENIENT",
    "STRICT",
    "VERSIONS",
    "AckReport",
    "Address",
    "Assessment",
    "Release",
    "ValidationPolicy",
    "assess",
    "parse_keys",
    "problem_key",
    "read_with_policy",
    "release_of",
    "ControlNumbers",
    "Envelope",
    "FunctionalGroup",
    "GroupAck",
    "InMemoryControlNumbers",
    "Interchange",
    "InventoryAdvice",
    "InventoryItem",
    "OrderLine",
    "Package",
    "Problem",
    "ReceivedLine",
    "Segment",
    "Separators",
    "ShippedLine",
    "ShippingAdvice",
    "ShippingOrder",
    "StockTransferReceipt",
    "StockTransferShipment",
    "TransactionAck",
    "TransactionSet",
    "TransferLine",
    "X12Document",
    "X12Error",
    "acknowledgment_segments",
    "build_846",
    "build_940",
    "build_943",
    "build_944",
    "build_945",
    "build_997",
    "build_interchange",
    "decode_transaction",
    "inventory_advice_segments",
    "next_control_number",
    "parse_846",
    "parse_940",
    "parse_943",
    "parse_944",
    "parse_945",
    "parse_997",
    "parse_interchange",
    "read_documents",
    "read_interchange",
    "serialize",
    "shipping_advice_segments",
    "shipping_order_segments",
    "tokenize",
    "transfer_receipt_segments",
    "transfer_shipment_segments",
]
