# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Segment and transaction set specifications of X12 004010 and 005010 for the warehouse documents.

Element specs give the requirement (``M`` mandatory, ``O`` optional, ``X`` conditional), the
data type, the minimum and maximum length and, where the connector relies on them, the
allowed codes. Syntax notes use X12's notation: ``P0405`` paired (if any is present all are
required), ``R0203`` at least one required, ``E0204`` at most one, ``C0605`` if the first is
present the others are required, ``L010203`` if the first is present at least one other is.

Transaction specs give the segment order, requirement, maximum use and loops (a loop starts
with its first segment) of 940 (group OW), 945 (SW), 943 (AR), 944 (RE), 846 (IB) and 997
(FA). The walker reports segments out of sequence, missing mandatory segments, segments used
too often and loops repeated too often, with the AK3 codes of a 997.

``SEGMENTS_005010`` holds the segments whose 005010 definition differs (see ``versions``);
``check_segment`` takes the release of the functional group the segment is in.

These are the connector's own specifications: pyx12 (the usual Python X12 validator) ships
maps for HIPAA transaction sets and the 997 only, none for 940/943/944/945/846.
"""

from dataclasses import dataclass, field

from . import errors
from .errors import Problem
from .syntax import SEGMENT_ID, Segment, Separators, check_value


@dataclass(frozen=True)
class Element:
    """One data element of a segment spec (``composite``: only its first component is checked)."""

    req: str
    kind: str
    min: int
    max: int
    codes: frozenset | None = None
    composite: bool = False


def M(kind, mn, mx, codes=None, composite=False):  # noqa: N802 - X12 requirement letters
    return Element("M", kind, mn, mx, frozenset(codes) if codes else None, composite)


def O(kind, mn, mx, codes=None, composite=False):  # noqa: N802,E743
    return Element("O", kind, mn, mx, frozenset(codes) if codes else None, composite)


def X(kind, mn, mx, codes=None, composite=False):  # noqa: N802
    return Element("X", kind, mn, mx, frozenset(codes) if codes else None, composite)


@dataclass(frozen=True)
class SegmentSpec:
    """The elements and syntax notes of one segment."""

    id: str
    name: str
    elements: tuple
    rules: tuple = ()


INTERCHANGE_ID_QUALIFIERS = {
    "01", "02", "03", "04", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "NR", "ZZ",
}
FUNCTIONAL_IDS = {"940": "OW", "945": "SW", "943": "AR", "944": "RE", "846": "IB", "997": "FA"}
RECEIVING_CONDITIONS = {"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "16"}
_AN_TAIL = O("AN", 1, 80)


def _spec(segment_id, name, *elements, rules=()):
    return SegmentSpec(segment_id, name, tuple(elements), tuple(rules))


def _lenient(segment_id, name, count):
    return SegmentSpec(segment_id, name, tuple([_AN_TAIL] * count))


SEGMENTS = {s.id: s for s in (
    _spec("ISA", "Interchange Control Header",
          M("ID", 2, 2, {"00", "01", "02", "03", "04", "05", "06"}), M("AN", 10, 10), M("ID", 2, 2, {"00", "01"}),
          M("AN", 10, 10), M("ID", 2, 2, INTERCHANGE_ID_QUALIFIERS), M("AN", 15, 15),
          M("ID", 2, 2, INTERCHANGE_ID_QUALIFIERS), M("AN", 15, 15), M("DT", 6, 6), M("TM", 4, 4), M("ID", 1, 1),
          M("ID", 5, 5), M("N0", 9, 9), M("ID", 1, 1, {"0", "1"}), M("ID", 1, 1, {"P", "T", "I"}), M("AN", 1, 1)),
    _spec("IEA", "Interchange Control Trailer", M("N0", 1, 5), M("N0", 9, 9)),
    _spec("GS", "Functional Group Header",
          M("ID", 2, 2), M("AN", 2, 15), M("AN", 2, 15), M("DT", 8, 8), M("TM", 4, 8), M("N0", 1, 9),
          M("ID", 1, 2, {"T", "X"}), M("AN", 1, 12)),
    _spec("GE", "Functional Group Trailer", M("N0", 1, 6), M("N0", 1, 9)),
    _spec("ST", "Transaction Set Header", M("ID", 3, 3), M("AN", 4, 9)),
    _spec("SE", "Transaction Set Trailer", M("N0", 1, 10), M("AN", 4, 9)),
    # parties, references, dates, notes
    _spec("N1", "Name", M("ID", 2, 3), X("AN", 1, 60), X("ID", 1, 2), X("AN", 2, 80), O("ID", 2, 2), O("ID", 2, 3),
          rules=("R0203", "P0304")),
    _spec("N2", "Additional Name Information", M("AN", 1, 60), O("AN", 1, 60)),
    _spec("N3", "Address Information", M("AN", 1, 55), O("AN", 1, 55)),
    _spec("N4", "Geographic Location", O("AN", 2, 30), O("ID", 2, 2), O("ID", 3, 15), O("ID", 2, 3), X("ID", 1, 2),
          O("AN", 1, 30), rules=("C0605",)),
    _spec("PER", "Administrative Communications Contact", M("ID", 2, 2), O("AN", 1, 60), X("ID", 2, 2),
          X("AN", 1, 80), X("ID", 2, 2), X("AN", 1, 80), X("ID", 2, 2), X("AN", 1, 80), O("AN", 1, 20),
          rules=("P0304", "P0506", "P0708")),
    _spec("G61", "Contact", M("ID", 2, 2), M("AN", 1, 60), X("ID", 2, 2), X("AN", 1, 80), O("AN", 1, 20),
          rules=("P0304",)),
    _spec("N9", "Reference Identification", M("ID", 2, 3), X("AN", 1, 30), X("AN", 1, 45), O("DT", 8, 8),
          X("TM", 4, 8), O("ID", 2, 2), O("AN", 1, 80, composite=True), rules=("R0203", "C0504")),
    _spec("REF", "Reference Identification", M("ID", 2, 3), X("AN", 1, 30), X("AN", 1, 80),
          O("AN", 1, 80, composite=True), rules=("R0203",)),
    _spec("G62", "Date/Time", X("ID", 2, 2), X("DT", 8, 8), X("ID", 1, 2), X("TM", 4, 8), O("ID", 2, 2),
          rules=("R0103", "P0102", "P0304")),
    _spec("DTM", "Date/Time Reference", M("ID", 3, 3), X("DT", 8, 8), X("TM", 4, 8), O("ID", 2, 2), X("ID", 2, 3),
          X("AN", 1, 35), rules=("R020305", "C0403", "P0506")),
    _spec("NTE", "Note/Special Instruction", O("ID", 3, 3), M("AN", 1, 80)),
    _spec("G69", "Line Item Detail - Description", M("AN", 1, 45)),
    _spec("CUR", "Currency", M("ID", 2, 3), M("ID", 3, 3)),
    # 940
    _spec("W05", "Shipping Order Identification", M("ID", 1, 1), M("AN", 1, 22), O("AN", 1, 22), X("N0", 6, 6),
          X("AN", 1, 22), O("ID", 2, 2), O("ID", 1, 2), rules=("P0405",)),
    _spec("W66", "Warehouse Carrier Information", M("ID", 2, 2), M("ID", 1, 2), O("ID", 1, 1), O("ID", 2, 2),
          O("AN", 1, 35), O("ID", 2, 2), O("AN", 1, 30), X("ID", 1, 1), X("N2", 1, 15), O("ID", 2, 4),
          rules=("P0809",)),
    _spec("LX", "Assigned Number", M("N0", 1, 6)),
    _spec("W01", "Line Item Detail - Warehouse", M("R", 1, 15), M("ID", 2, 2), X("AN", 12, 12), X("ID", 2, 2),
          X("AN", 1, 48), X("ID", 2, 2), X("AN", 1, 48), O("ID", 1, 3), O("ID", 1, 1), O("ID", 1, 2), O("AN", 1, 30),
          O("AN", 2, 4), X("ID", 2, 2), X("AN", 1, 48), O("ID", 1, 1), O("ID", 2, 2),
          rules=("R0304", "P0405", "P0607", "P1011", "P1314")),
    _spec("W76", "Total Shipping Order", M("R", 1, 10), X("R", 1, 10), X("ID", 2, 2), X("R", 1, 8), X("ID", 2, 2),
          rules=("P0203", "P0405")),
    # 945 / 943
    _spec("W06", "Warehouse Shipment Identification", M("ID", 1, 1), O("AN", 1, 22), O("DT", 8, 8), O("AN", 1, 30),
          O("AN", 1, 12), O("AN", 1, 22), X("AN", 1, 22), X("N0", 6, 6), O("ID", 2, 3), O("ID", 2, 2),
          O("ID", 2, 2), O("ID", 1, 2), rules=("P0708",)),
    _spec("W27", "Carrier Detail", M("ID", 1, 2), X("ID", 2, 4), X("AN", 1, 35), O("ID", 2, 2), O("ID", 2, 2),
          O("AN", 1, 4), O("AN", 1, 10), O("ID", 2, 2), O("ID", 2, 3), O("ID", 2, 2), rules=("R0203",)),
    _lenient("W10", "Warehouse Additional Carrier Information", 8),
    _lenient("W28", "Consolidation Information", 10),
    _spec("MAN", "Marks and Numbers", M("ID", 1, 2), M("AN", 1, 48), O("AN", 1, 48), X("ID", 1, 2), X("AN", 1, 48),
          O("AN", 1, 48), rules=("P0405", "C0605")),
    _lenient("PAL", "Pallet Information", 15),
    _spec("W12", "Warehouse Item Detail", M("ID", 2, 2), O("R", 1, 15), X("R", 1, 10), X("R", 1, 9), X("ID", 2, 2),
          X("AN", 12, 12), X("ID", 2, 2), X("AN", 1, 48), O("AN", 1, 12), X("R", 1, 10), X("ID", 1, 2),
          X("ID", 1, 1), X("R", 1, 10), X("ID", 1, 2), X("ID", 1, 1), X("AN", 12, 12), X("ID", 2, 2),
          X("AN", 1, 48), O("ID", 2, 2), O("ID", 1, 1), X("ID", 2, 2), X("AN", 1, 48),
          rules=("R0607", "P0708", "P101112", "P131415", "P1718", "P2122")),
    _spec("W03", "Total Shipment Information", M("R", 1, 7), X("R", 1, 10), X("ID", 2, 2), X("R", 1, 8),
          X("ID", 2, 2), O("R", 1, 7), X("ID", 2, 2), rules=("P0203", "P0405", "P0607")),
    _spec("W04", "Item Detail Total", M("R", 1, 7), M("ID", 2, 2), X("AN", 12, 12), X("ID", 2, 2), X("AN", 1, 48),
          X("ID", 2, 2), X("AN", 1, 48), O("AN", 1, 12), O("ID", 1, 1), X("ID", 2, 2), X("AN", 1, 48),
          O("ID", 2, 2), O("AN", 1, 48), rules=("R0304", "P0405", "P0607", "P1011")),
    # 944
    _spec("W17", "Warehouse Receipt Identification", M("ID", 1, 1), M("DT", 8, 8), M("AN", 1, 12), O("AN", 1, 22),
          O("AN", 1, 30), X("ID", 1, 2), X("TM", 4, 8), X("AN", 1, 22), X("N0", 6, 6),
          rules=("P0607", "P0809")),
    _spec("W07", "Item Detail For Stock Receipt", M("R", 1, 7), M("ID", 2, 2), X("AN", 12, 12), X("ID", 2, 2),
          X("AN", 1, 48), X("ID", 2, 2), X("AN", 1, 48), O("AN", 1, 12), O("ID", 1, 1), X("ID", 2, 2),
          X("AN", 1, 48), rules=("R0304", "P0405", "P0607", "P1011")),
    _lenient("W20", "Line Item Detail - Miscellaneous", 12),
    _spec("W13", "Item Detail Exception", M("R", 1, 15), M("ID", 2, 2), M("ID", 2, 2, RECEIVING_CONDITIONS),
          O("AN", 1, 12), O("ID", 2, 2)),
    _spec("W14", "Total Receipt Information", M("R", 1, 9), O("R", 1, 9), O("R", 1, 9), O("R", 1, 9),
          O("R", 1, 9)),
    # 846
    _spec("BIA", "Beginning Segment for Inventory Inquiry/Advice", M("ID", 2, 2), M("ID", 2, 2), M("AN", 1, 30),
          M("DT", 8, 8), O("TM", 4, 8), O("ID", 1, 2)),
    _spec("LIN", "Item Identification", O("AN", 1, 20), M("ID", 2, 2), M("AN", 1, 48),
          *([X("ID", 2, 2), X("AN", 1, 48)] * 14),
          rules=tuple(f"P{n:02d}{n + 1:02d}" for n in range(4, 31, 2))),
    _spec("PID", "Product/Item Description", M("ID", 1, 1), O("ID", 2, 3), X("ID", 2, 2), X("AN", 1, 12),
          X("AN", 1, 80), O("ID", 2, 2), O("ID", 1, 1), O("AN", 1, 12), O("ID", 2, 3), rules=("C0403",)),
    _spec("QTY", "Quantity", M("ID", 2, 2), X("R", 1, 15), O("ID", 2, 2, composite=True), X("AN", 1, 30),
          rules=("R0204", "E0204")),
    _spec("CTT", "Transaction Totals", M("N0", 1, 6), O("R", 1, 10), X("R", 1, 10), X("ID", 2, 2), X("R", 1, 8),
          X("ID", 2, 2), O("AN", 1, 80), rules=("P0304", "P0506")),
    # 997
    _spec("AK1", "Functional Group Response Header", M("ID", 2, 2), M("N0", 1, 9)),
    _spec("AK2", "Transaction Set Response Header", M("ID", 3, 3), M("AN", 4, 9)),
    _spec("AK3", "Data Segment Note", M("ID", 2, 3), M("N0", 1, 6), O("AN", 1, 6),
          O("ID", 1, 3, {"1", "2", "3", "4", "5", "6", "7", "8"})),
    _spec("AK4", "Data Element Note", M("N0", 1, 2, composite=True), O("N0", 1, 4),
          M("ID", 1, 3, {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13"}), O("AN", 1, 99)),
    _spec("AK5", "Transaction Set Response Trailer", M("ID", 1, 1, {"A", "E", "M", "R", "W", "X"}),
          *([O("ID", 1, 3)] * 5)),
    _spec("AK9", "Functional Group Response Trailer", M("ID", 1, 1, {"A", "E", "M", "P", "R", "W", "X"}),
          M("N0", 1, 6), M("N0", 1, 6), M("N0", 1, 6), *([O("ID", 1, 3)] * 5)),
)}


SEGMENTS_005010 = {s.id: s for s in (
    _spec("ST", "Transaction Set Header", M("ID", 3, 3), M("AN", 4, 9), O("AN", 1, 35)),
    _spec("AK2", "Transaction Set Response Header", M("ID", 3, 3), M("AN", 4, 9), O("AN", 1, 35)),
)}


def segment_spec(segment_id: str, version: str = "004010") -> SegmentSpec | None:
    """Return the spec of ``segment_id`` in release ``version`` (None when the connector has none)."""
    if version.startswith("005010") and segment_id in SEGMENTS_005010:
        return SEGMENTS_005010[segment_id]
    return SEGMENTS.get(segment_id)


# --------------------------------------------------------------------------- structure

@dataclass(frozen=True)
class Seg:
    """A segment slot of a transaction spec."""

    id: str
    req: bool = False
    max: int = 1


@dataclass(frozen=True)
class Loop:
    """A loop: its first child starts each repetition."""

    id: str
    children: tuple
    req: bool = False
    max: int = 1

    @property
    def first(self) -> str:
        return self.children[0].id


@dataclass(frozen=True)
class TransactionSpec:
    """A transaction set: its id, functional group id, name and body (between ST and SE)."""

    id: str
    functional_id: str
    name: str
    body: tuple
    segment_ids: frozenset = field(default=frozenset(), compare=False)


def _ids(children) -> set:
    out = set()
    for child in children:
        out |= _ids(child.children) if isinstance(child, Loop) else {child.id}
    return out


def _transaction(set_id, name, *body):
    return TransactionSpec(set_id, FUNCTIONAL_IDS[set_id], name, tuple(body), frozenset(_ids(body)))


def _party_loop(req=False, max_use=10):
    return Loop("N1", (Seg("N1", True), Seg("N2"), Seg("N3", max=2), Seg("N4"), Seg("PER", max=3), Seg("G61", max=3)),
                req=req, max=max_use)


TRANSACTIONS = {t.id: t for t in (
    _transaction(
        "940", "Warehouse Shipping Order",
        Seg("W05", True), _party_loop(True), Seg("N9", max=10), Seg("G62", max=10), Seg("NTE", max=10), Seg("W66"),
        Loop("LX", (Seg("LX", True), Loop("W01", (Seg("W01", True), Seg("G69", max=5), Seg("N9", max=200)),
                                          True, 9999)), True, 9999),
        Seg("W76"),
    ),
    _transaction(
        "945", "Warehouse Shipping Advice",
        Seg("W06", True), _party_loop(True), Seg("N9", max=10), Seg("G62", max=5), Seg("NTE", max=20), Seg("W27"),
        Seg("W10", max=10), Seg("W28"),
        Loop("LX", (Seg("LX", True), Seg("MAN", max=9999), Seg("PAL"),
                    Loop("W12", (Seg("W12", True), Seg("G69", max=5), Seg("N9", max=200)), True, 9999)), True, 9999),
        Seg("W03", True),
    ),
    _transaction(
        "943", "Warehouse Stock Transfer Shipment Advice",
        Seg("W06", True), _party_loop(True), Seg("N9", max=10), Seg("G62", max=5), Seg("NTE", max=20),
        Seg("W27", True), Seg("W28"), Seg("W10"),
        Loop("W04", (Seg("W04", True), Seg("G69", max=5), Seg("N9", max=200)), True, 9999),
        Seg("W03", True),
    ),
    _transaction(
        "944", "Warehouse Stock Transfer Receipt Advice",
        Seg("W17", True), _party_loop(True), Seg("N9", max=10), Seg("G62", max=5), Seg("NTE", max=20),
        Loop("W07", (Seg("W07", True), Seg("G69", max=2), Seg("N9", max=200), Seg("W20"),
                     Loop("W13", (Seg("W13", True), Seg("N9", max=10)), False, 50)), True, 9999),
        Seg("W14", True),
    ),
    _transaction(
        "846", "Inventory Inquiry/Advice",
        Seg("BIA", True), Seg("CUR"), Seg("DTM", max=10), Seg("REF", max=12), Seg("PER", max=3),
        Loop("N1", (Seg("N1", True), Seg("N2", max=2), Seg("N3", max=2), Seg("N4"), Seg("REF", max=12),
                    Seg("PER", max=3)), False, 5),
        Loop("LIN", (Seg("LIN", True), Seg("PID", max=200), Seg("DTM", max=10), Seg("REF", max=12),
                     Loop("QTY", (Seg("QTY", True), Seg("DTM")), False, 99999)), False, 10000),
        Seg("CTT"),
    ),
    _transaction(
        "997", "Functional Acknowledgment",
        Seg("AK1", True),
        Loop("AK2", (Seg("AK2", True), Loop("AK3", (Seg("AK3", True), Seg("AK4", max=99)), False, 999999),
                     Seg("AK5", True)), False, 999999),
        Seg("AK9", True),
    ),
)}


# --------------------------------------------------------------------------- element checks

@dataclass(frozen=True)
class ElementIssue:
    """A data element problem inside one segment (AK4)."""

    element: int
    code: str
    message: str
    value: str = ""
    component: int | None = None


def check_segment(segment: Segment, separators: Separators, version: str = "004010") -> list[ElementIssue]:
    """Return the data element problems of ``segment`` in release ``version`` (empty when its id has no spec)."""
    spec = segment_spec(segment.id, version)
    if spec is None:
        return []
    issues = []
    values = [v if isinstance(v, str) else separators.sub_element.join(v) for v in segment.elements]
    if len(values) > len(spec.elements):
        extra = len(values) - len(spec.elements)
        issues.append(ElementIssue(len(spec.elements) + 1, errors.ELEMENT_TOO_MANY,
                                   f"{segment.id} has {len(values)} elements, at most {len(spec.elements)} "
                                   f"({extra} too many)", values[len(spec.elements)]))
    for number, element in enumerate(spec.elements, 1):
        value = values[number - 1] if number <= len(values) else ""
        if segment.id == "ISA" and number == 16:
            continue  # the sub-element separator itself, any single character (the tokenizer took it)
        if value == "":
            if element.req == "M":
                issues.append(ElementIssue(number, errors.ELEMENT_MANDATORY_MISSING,
                                           f"mandatory element {segment.id}{number:02d} is missing"))
            continue
        component = None
        if element.composite:
            value, component = value.split(separators.sub_element)[0], 1
            if value == "":
                if element.req == "M":
                    issues.append(ElementIssue(number, errors.ELEMENT_MANDATORY_MISSING,
                                               f"the first component of {segment.id}{number:02d} is missing", "", 1))
                continue
        elif separators.sub_element in value and not (segment.id == "ISA" and number == 16):
            issues.append(ElementIssue(number, errors.ELEMENT_INVALID_CHARACTER,
                                       f"{value!r} contains the sub-element separator "
                                       f"{separators.sub_element!r} but is not a composite", value))
            continue
        found = check_value(value, element.kind, element.min, element.max, element.codes)
        if found:
            issues.append(ElementIssue(number, found[0], found[1], value, component))
    issues.extend(_rule_issues(segment, values, spec.rules))
    return issues


def _rule_issues(segment: Segment, values: list[str], rules: tuple) -> list[ElementIssue]:
    issues = []
    for rule in rules:
        kind, numbers = rule[0], [int(rule[i:i + 2]) for i in range(1, len(rule), 2)]
        present = [n <= len(values) and values[n - 1] != "" for n in numbers]
        names = ", ".join(f"{segment.id}{n:02d}" for n in numbers)
        if kind == "P" and any(present) and not all(present):
            missing = numbers[present.index(False)]
            issues.append(ElementIssue(missing, errors.ELEMENT_CONDITIONAL_MISSING,
                                       f"{segment.id}{missing:02d} is required when any of {names} is present"))
        elif kind == "R" and not any(present):
            issues.append(ElementIssue(numbers[0], errors.ELEMENT_CONDITIONAL_MISSING,
                                       f"at least one of {names} is required"))
        elif kind == "E" and sum(present) > 1:
            issues.append(ElementIssue(numbers[1], errors.ELEMENT_EXCLUSION_VIOLATED,
                                       f"only one of {names} may be present"))
        elif kind == "C" and present[0] and not all(present[1:]):
            missing = numbers[1:][present[1:].index(False)]
            issues.append(ElementIssue(missing, errors.ELEMENT_CONDITIONAL_MISSING,
                                       f"{segment.id}{missing:02d} is required when {segment.id}{numbers[0]:02d} "
                                       "is present"))
        elif kind == "L" and present[0] and not any(present[1:]):
            others = ", ".join(f"{segment.id}{n:02d}" for n in numbers[1:])
            issues.append(ElementIssue(numbers[1], errors.ELEMENT_CONDITIONAL_MISSING,
                                       f"one of {others} is required when {segment.id}{numbers[0]:02d} is present"))
    return issues


# --------------------------------------------------------------------------- structure walk

class _Frame:
    __slots__ = ("children", "idx", "counts", "loop")

    def __init__(self, children, loop: bool = False):
        self.children = children
        self.idx = 0
        self.counts = [0] * len(children)
        self.loop = loop

    def find(self, segment_id: str) -> int | None:
        # a loop's first segment starts a new repetition: that is for the enclosing frame to see
        for j in range(max(self.idx, 1 if self.loop else 0), len(self.children)):
            child = self.children[j]
            if (child.first if isinstance(child, Loop) else child.id) == segment_id:
                return j
        return None


@dataclass(frozen=True)
class SegmentIssue:
    """A structure problem (AK3): the segment concerned and where it was found or expected."""

    segment_id: str
    position: int
    code: str
    message: str


def walk_structure(spec: TransactionSpec, body: list[tuple[Segment, int]], end_position: int) -> list[SegmentIssue]:
    """Return the structure problems of a transaction body.

    ``body`` holds (segment, position in the transaction set) pairs between ST and SE;
    ``end_position`` is the SE's position, where missing trailing segments are reported.
    """
    issues: list[SegmentIssue] = []
    stack = [_Frame(spec.body)]
    for segment, position in body:
        placed = False
        for level in range(len(stack) - 1, -1, -1):
            frame = stack[level]
            j = frame.find(segment.id)
            if j is None:
                continue
            for closing in stack[level + 1:]:
                issues.extend(_missing(closing, position))
            del stack[level + 1:]
            child = frame.children[j]
            frame.idx = j
            frame.counts[j] += 1
            if isinstance(child, Loop):
                if frame.counts[j] > child.max:
                    issues.append(SegmentIssue(segment.id, position, errors.SEGMENT_LOOP_OVER_MAX,
                                               f"loop {child.id} repeats {frame.counts[j]} times, at most "
                                               f"{child.max} allowed"))
                inner = _Frame(child.children, loop=True)
                inner.counts[0] = 1
                stack.append(inner)
            elif frame.counts[j] > child.max:
                issues.append(SegmentIssue(segment.id, position, errors.SEGMENT_OVER_MAX_USE,
                                           f"{segment.id} is used {frame.counts[j]} times here, at most {child.max}"))
            placed = True
            break
        if placed:
            continue
        if not SEGMENT_ID.match(segment.id):
            code, why = errors.SEGMENT_UNRECOGNIZED, f"{segment.id!r} is not a segment id"
        elif segment.id in spec.segment_ids:
            code, why = errors.SEGMENT_OUT_OF_SEQUENCE, f"{segment.id} is out of sequence (not expected at this point)"
        else:
            code, why = errors.SEGMENT_NOT_IN_SET, f"{segment.id} is not part of a {spec.id} {spec.name}"
        issues.append(SegmentIssue(segment.id, position, code, why))
    for frame in reversed(stack):
        issues.extend(_missing(frame, end_position))
    return issues


def _missing(frame: _Frame, position: int) -> list[SegmentIssue]:
    issues = []
    for child, count in zip(frame.children, frame.counts, strict=True):
        if child.req and count == 0:
            segment_id = child.first if isinstance(child, Loop) else child.id
            issues.append(SegmentIssue(segment_id, position, errors.SEGMENT_MANDATORY_MISSING,
                                       f"mandatory segment {segment_id} is missing"))
    return issues


def transaction_problems(spec: TransactionSpec, body: list[Segment], start: int, se_position: int,
                         separators: Separators, group_control: str = "", control: str = "",
                         version: str = "004010") -> list[Problem]:
    """Return the structure and element problems of a transaction body as Problems.

    ``start`` is the file position of the ST segment; ``se_position`` the SE's position in
    the transaction set (ST is 1).
    """
    pairs = [(segment, index) for index, segment in enumerate(body, 2)]
    problems = []
    for issue in walk_structure(spec, pairs, se_position):
        problems.append(Problem(issue.message, level="segment", segment_id=issue.segment_id,
                                position=start + issue.position - 1, code=issue.code, group_control=group_control,
                                transaction_control=control, transaction_position=issue.position))
    for segment, index in pairs:
        for issue in check_segment(segment, separators, version):
            problems.append(Problem(issue.message, level="element", segment_id=segment.id,
                                    position=start + index - 1, element=issue.element, component=issue.component,
                                    code=issue.code, value=issue.value, group_control=group_control,
                                    transaction_control=control, transaction_position=index))
    problems.sort(key=lambda p: (p.transaction_position or 0, p.element or 0))
    return problems
