# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Shared pieces of the warehouse documents: N1 party loops, references and value helpers.

An N1 loop names a party by its entity code (N101: ``ST`` ship to, ``SF`` ship from, ``WH``
warehouse, ``BT`` bill to...), its name (N102) and optionally a code (N103 qualifier, N104
id), followed by N3 street lines and N4 city, state, postal code and country. Free text is
cut to the element's maximum length and any delimiter character is replaced by a space, so
an address never breaks the file; identifiers (order numbers, SKUs) are never altered: a
too-long identifier makes the builder raise X12Error instead.
"""

from dataclasses import dataclass
from decimal import Decimal

from .errors import Problem, X12Error
from .syntax import Segment, Separators, format_decimal, parse_decimal


@dataclass
class Address:
    """A party of an N1 loop: name, street lines, city, state, postal code, country, code."""

    name: str
    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    code: str = ""
    code_qualifier: str = ""


def clean_text(value, max_length: int, separators: Separators) -> str:
    """Return free text fit for an AN element: delimiters and control characters become spaces."""
    text = "" if value is None else str(value)
    for char in (separators.element, separators.sub_element, separators.segment, "\r", "\n", "\t"):
        text = text.replace(char, " ")
    return " ".join(text.split())[:max_length].strip()


def party_segments(entity: str, party: Address, separators: Separators) -> list[Segment]:
    """Return the N1 (and N3/N4 when known) segments of ``party`` as entity ``entity``."""
    qualifier = party.code_qualifier or ("92" if party.code else "")
    segments = [Segment("N1", entity, clean_text(party.name, 60, separators), qualifier, party.code)]
    street = clean_text(party.street, 55, separators)
    street2 = clean_text(party.street2, 55, separators)
    if street or street2:
        segments.append(Segment("N3", street or street2, street2 if street else ""))
    city = clean_text(party.city, 30, separators)
    if city or party.state or party.zip or party.country:
        segments.append(Segment("N4", city, party.state, party.zip, party.country))
    return segments


def read_parties(segments: list[Segment]) -> dict[str, Address]:
    """Return the parties of the N1 loops in ``segments``, by entity code (first one wins)."""
    parties: dict[str, Address] = {}
    current = None
    for segment in segments:
        if segment.id == "N1":
            current = Address(name=segment[2], code_qualifier=segment[3], code=segment[4])
            if segment[3] == "92" and segment[4]:
                current.code_qualifier = ""
            parties.setdefault(segment[1], current)
        elif segment.id == "N3" and current is not None:
            current.street, current.street2 = segment[1], segment[2]
        elif segment.id == "N4" and current is not None:
            current.city, current.state, current.zip, current.country = segment[1], segment[2], segment[3], segment[4]
        elif segment.id not in ("N2", "PER", "G61"):
            current = None
    return parties


def first_segment(transaction, segment_id: str) -> Segment:
    """Return the first ``segment_id`` segment of a transaction set; raise X12Error naming it if absent."""
    found = transaction.find(segment_id)
    if not found:
        raise X12Error(Problem(f"the {transaction.id} {transaction.control_number} has no {segment_id} segment",
                               level="segment", segment_id=segment_id, position=transaction.position,
                               transaction_control=transaction.control_number))
    return found[0]


def quantity(segment: Segment, number: int, what: str, required: bool = True) -> Decimal | None:
    """Return element ``number`` of ``segment`` as a Decimal; raise X12Error naming it if unusable."""
    text = segment[number]
    if text == "":
        if required:
            raise X12Error(Problem(f"the {what} ({segment.id}{number:02d}) is missing", level="element",
                                   segment_id=segment.id, position=segment.position, element=number))
        return None
    try:
        return parse_decimal(text)
    except X12Error:
        raise X12Error(Problem(f"the {what} ({segment.id}{number:02d}) {text!r} is not a number", level="element",
                               segment_id=segment.id, position=segment.position, element=number,
                               value=text)) from None


def qty_text(value) -> str:
    """Return a quantity as X12 ``R`` text."""
    return format_decimal(value)


def as_decimal(value) -> Decimal:
    """Return ``value`` as a Decimal (ints, strings and Decimals accepted; floats via str)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def int_or_none(text: str) -> int | None:
    """Return ``text`` as an int, or None when empty or not a number."""
    try:
        return int(text) if text else None
    except ValueError:
        return None
