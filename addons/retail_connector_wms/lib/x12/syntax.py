# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""X12 syntax: separators, segments, the tokenizer and the serializer, element data types.

An interchange announces its own delimiters in the ISA segment, which has a fixed width of
106 characters: ``ISA`` then 16 elements of fixed widths (2, 10, 2, 10, 2, 15, 2, 15, 6, 4,
1, 5, 9, 1, 1, 1), each preceded by the element separator. The character at offset 3 is the
element separator, ISA16 (offset 104) is the sub-element (component) separator and the
character right after it (offset 105) is the segment terminator. Senders often add CR/LF
after each terminator for readability; the tokenizer ignores them. A segment is its id and
its data elements; trailing empty elements are omitted on output, as X12 requires.

Data element types (X12.6): ``AN`` string, ``ID`` coded value, ``N0``..``N9`` integer with
implied decimals, ``R`` decimal number, ``DT`` date (CCYYMMDD, or YYMMDD in the ISA), ``TM``
time (HHMM[SS[d..]]). Lengths of numbers exclude the sign and the decimal point.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from . import errors
from .errors import Problem, X12Error

ISA_LENGTH = 106
# element widths of ISA01..ISA16; an element separator precedes each of them
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_SEPARATOR_OFFSETS = tuple(3 + sum(w + 1 for w in ISA_WIDTHS[:i]) for i in range(16))

SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}\Z")
_NUMERIC = re.compile(r"-?\d+\Z")
_DECIMAL = re.compile(r"-?(\d+\.?\d*|\.\d+)\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Separators:
    """The three delimiters of an interchange (X12 also calls the sub-element one component)."""

    element: str = "*"
    sub_element: str = ">"
    segment: str = "~"

    def check(self) -> None:
        """Raise X12Error unless the delimiters are three distinct non-alphanumeric characters."""
        chars = (self.element, self.sub_element, self.segment)
        if any(len(c) != 1 for c in chars):
            raise X12Error(f"separators must be single characters, not {chars!r}")
        if len(set(chars)) != 3:
            raise X12Error(f"separators must be distinct, not {chars!r}")
        if any(c.isalnum() or c == " " for c in chars):
            raise X12Error(f"separators must not be letters, digits or spaces, not {chars!r}")


DEFAULT_SEPARATORS = Separators()


class Segment:
    """One segment: ``id`` and its data elements, numbered from 1 as in ``W01-05``.

    ``seg[5]`` returns element 05 (an empty string when absent). An element given as a tuple
    is a composite, written with the sub-element separator. ``position`` is the segment's
    place in the file it was read from (ISA is 1), or None for a segment being built.
    """

    __slots__ = ("id", "elements", "position")

    def __init__(self, segment_id: str, *elements, position: int | None = None):
        self.id = segment_id
        self.elements = [_element_text(e) for e in elements]
        self.position = position

    def __getitem__(self, number: int) -> str:
        if number < 1:
            raise IndexError("X12 elements are numbered from 1")
        value = self.elements[number - 1] if number <= len(self.elements) else ""
        return value if isinstance(value, str) else ""

    def composite(self, number: int, sub_element: str) -> tuple:
        """Return element ``number`` split into its components (a 1-tuple for a simple one)."""
        value = self.elements[number - 1] if number <= len(self.elements) else ""
        if isinstance(value, tuple):
            return value
        return tuple(value.split(sub_element)) if value else ()

    def __len__(self) -> int:
        return len(self.elements)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.id == other.id and _trimmed(self.elements) == _trimmed(other.elements)

    def __repr__(self) -> str:
        return f"Segment({self.id!r}, {', '.join(repr(e) for e in _trimmed(self.elements))})"

    def text(self, separators: Separators = DEFAULT_SEPARATORS) -> str:
        """Return the segment as X12 text (without terminator); raise X12Error on a delimiter clash."""
        elements = self.elements if self.id == "ISA" else _trimmed(self.elements)
        parts = [self.id]
        for number, value in enumerate(elements, 1):
            if isinstance(value, tuple):
                components = [str(c) for c in value]
                while components and components[-1] == "":
                    components.pop()
                for c in components:
                    _check_delimiters(self, number, c, separators)
                parts.append(separators.sub_element.join(components))
            else:
                # ISA16 is the sub-element separator itself
                if not (self.id == "ISA" and number == 16):
                    _check_delimiters(self, number, value, separators)
                parts.append(value)
        return separators.element.join(parts)


def _element_text(value):
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return tuple("" if c is None else str(c) for c in value)
    return str(value)


def _trimmed(elements: list) -> list:
    out = list(elements)
    while out and out[-1] in ("", ()):
        out.pop()
    return out


def _check_delimiters(segment: Segment, number: int, value: str, separators: Separators) -> None:
    for name, char in (("element", separators.element), ("sub-element", separators.sub_element),
                       ("segment", separators.segment)):
        if char in value:
            raise X12Error(Problem(
                f"value {value!r} contains the {name} separator {char!r}; it cannot be written",
                level="element", segment_id=segment.id, element=number, code=errors.ELEMENT_INVALID_CHARACTER,
                value=value))


def serialize(segments: list[Segment], separators: Separators = DEFAULT_SEPARATORS, *,
              line_breaks: bool = False) -> str:
    """Return ``segments`` as X12 text, each followed by the terminator (and a newline if asked)."""
    separators.check()
    end = separators.segment + ("\n" if line_breaks and separators.segment != "\n" else "")
    return "".join(segment.text(separators) + end for segment in segments)


# --------------------------------------------------------------------------- tokenizer

@dataclass
class Tokens:
    """What the tokenizer found: the delimiters, the segments and the ISA shape problems."""

    separators: Separators
    segments: list[Segment]
    problems: list[Problem]


def decode_text(data) -> str:
    """Return ``data`` as text: UTF-8 when it decodes, Latin-1 otherwise (X12 is mostly ASCII)."""
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data).decode("latin-1")


def tokenize(data) -> Tokens:
    """Return the segments of an interchange, using the delimiters its ISA announces.

    Raise X12Error when the text cannot be split at all (no ISA, ISA cut short, unusable
    delimiters). An ISA that can be split but is not 106 characters wide is returned with a
    problem naming the element of the wrong width.
    """
    text = decode_text(data).lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA"):
        found = text[:20] if text else "an empty file"
        raise X12Error(Problem(f"the file does not start with an ISA segment (it starts with {found!r})",
                               segment_id="ISA", position=1))
    if len(text) < 4:
        raise X12Error(Problem("the ISA segment is truncated: no element separator", segment_id="ISA", position=1))
    element_sep = text[3]
    if element_sep.isalnum() or element_sep in " \r\n":
        raise X12Error(Problem(f"the ISA segment has no usable element separator at offset 3 ({element_sep!r})",
                               segment_id="ISA", position=1))
    offsets = []
    cursor = 3
    for _ in range(16):
        found = text.find(element_sep, cursor)
        if found < 0:
            break
        offsets.append(found)
        cursor = found + 1
    if len(offsets) < 16 or len(text) < offsets[-1] + 3:
        what = (f"only {len(offsets)} of its 16 elements" if len(offsets) < 16
                else "no sub-element separator and segment terminator after ISA15")
        raise X12Error(Problem(
            f"the ISA segment is truncated: {what} ({len(text)} characters in the file, "
            f"a complete ISA alone is {ISA_LENGTH})",
            segment_id="ISA", position=1))
    if offsets[-1] > ISA_SEPARATOR_OFFSETS[-1] + 30:
        raise X12Error(Problem(
            f"the ISA segment is malformed: its 16 elements span {offsets[-1] + 3} characters, "
            f"{ISA_LENGTH} expected", segment_id="ISA", position=1))
    sub_sep = text[offsets[-1] + 1]
    seg_term = text[offsets[-1] + 2]
    separators = Separators(element_sep, sub_sep, seg_term)
    try:
        separators.check()
    except X12Error as exc:
        raise X12Error(Problem(f"the ISA announces unusable delimiters: {exc.problems[0].message}",
                               segment_id="ISA", position=1)) from None
    problems = _isa_width_problems(offsets)
    segments = []
    chunks = text.split(seg_term)
    position = 0
    for index, chunk in enumerate(chunks):
        raw = chunk.strip("\r\n")
        if index == len(chunks) - 1:
            raw = raw.strip()
        if not raw:
            continue
        position += 1
        parts = raw.split(element_sep)
        segments.append(Segment(parts[0], *parts[1:], position=position))
    return Tokens(separators, segments, problems)


def _isa_width_problems(offsets: list[int]) -> list[Problem]:
    if tuple(offsets) == ISA_SEPARATOR_OFFSETS:
        return []
    problems = []
    starts = [o + 1 for o in offsets]
    for number in range(1, 16):
        width = offsets[number] - starts[number - 1]
        if width != ISA_WIDTHS[number - 1]:
            problems.append(Problem(
                f"ISA{number:02d} is {width} characters wide, {ISA_WIDTHS[number - 1]} expected: the ISA is "
                f"fixed-width ({ISA_LENGTH} characters with its terminator), pad identifiers with spaces",
                level="interchange", segment_id="ISA", position=1, element=number))
    if not problems:
        problems.append(Problem(f"the ISA is not {ISA_LENGTH} characters wide", segment_id="ISA", position=1))
    return problems


# --------------------------------------------------------------------------- element values

def format_decimal(value) -> str:
    """Return a number as X12 ``R`` text: no exponent, no trailing zeros (``12.5``, ``3``)."""
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not number.is_finite():
        raise X12Error(f"{value!r} is not a finite number")
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_decimal(text: str) -> Decimal | None:
    """Return the Decimal of an ``R`` element, or None when empty."""
    if text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise X12Error(f"{text!r} is not a number") from None


def format_date(value: date) -> str:
    """Return ``value`` as CCYYMMDD."""
    return value.strftime("%Y%m%d")


def parse_date(text: str) -> date | None:
    """Return the date of a CCYYMMDD (or YYMMDD) element, or None when empty."""
    if not text:
        return None
    fmt = "%Y%m%d" if len(text) == 8 else "%y%m%d"
    return datetime.strptime(text, fmt).date()


def parse_time(text: str) -> time | None:
    """Return the time of an HHMM[SS[dd]] element, or None when empty."""
    if not text:
        return None
    hours, minutes = int(text[0:2]), int(text[2:4])
    seconds = int(text[4:6]) if len(text) >= 6 else 0
    return time(hours, minutes, seconds)


def check_value(value: str, kind: str, min_len: int, max_len: int, codes=None) -> tuple[str, str] | None:
    """Return (AK4 code, reason) when ``value`` is not a valid element of that type, else None.

    ``kind`` is ``AN``, ``ID``, ``N0``..``N9``, ``R``, ``DT`` or ``TM``. Lengths of numbers
    exclude the minus sign and the decimal point, as X12.6 counts them.
    """
    if _CONTROL.search(value):
        return errors.ELEMENT_INVALID_CHARACTER, f"{value!r} contains a control character"
    if kind.startswith("N"):
        if not _NUMERIC.match(value):
            return errors.ELEMENT_INVALID_CHARACTER, f"{value!r} is not an integer (type {kind})"
        length = len(value.lstrip("-"))
    elif kind == "R":
        if not _DECIMAL.match(value):
            return errors.ELEMENT_INVALID_CHARACTER, f"{value!r} is not a decimal number"
        length = len(value.lstrip("-").replace(".", ""))
    elif kind == "DT":
        if not value.isdigit() or len(value) not in (6, 8):
            return errors.ELEMENT_INVALID_DATE, f"{value!r} is not a date (CCYYMMDD)"
        try:
            parse_date(value)
        except ValueError:
            return errors.ELEMENT_INVALID_DATE, f"{value!r} is not a valid calendar date"
        length = len(value)
    elif kind == "TM":
        if not value.isdigit() or len(value) not in (4, 6, 7, 8):
            return errors.ELEMENT_INVALID_TIME, f"{value!r} is not a time (HHMM[SS[dd]])"
        if int(value[0:2]) > 23 or int(value[2:4]) > 59 or (len(value) >= 6 and int(value[4:6]) > 59):
            return errors.ELEMENT_INVALID_TIME, f"{value!r} is not a valid time of day"
        length = len(value)
    else:
        length = len(value)
    if length < min_len:
        return errors.ELEMENT_TOO_SHORT, f"{value!r} is too short: {length} characters, at least {min_len}"
    if length > max_len:
        shown = value if len(value) <= 40 else value[:37] + "..."
        return errors.ELEMENT_TOO_LONG, f"{shown!r} is too long: {length} characters, at most {max_len}"
    if codes is not None and value not in codes:
        allowed = ", ".join(sorted(codes)) if len(codes) <= 12 else f"{len(codes)} codes"
        return errors.ELEMENT_INVALID_CODE, f"{value!r} is not a valid code here (allowed: {allowed})"
    return None
