# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""X12 envelopes: reading and validating an interchange, writing one, and control numbers.

An interchange is ``ISA ... IEA``; it holds functional groups ``GS ... GE`` (one functional
id each: OW 940, SW 945, AR 943, RE 944, IB 846, FA 997), which hold transaction sets
``ST ... SE``. The envelope checks are: ISA13 equals IEA02 and IEA01 counts the groups; GS06
equals GE02 and GE01 counts the transaction sets; ST02 equals SE02 and SE01 counts the
segments from ST to SE inclusive; ST02 is unique within its group; the ISA is fixed-width
with a valid date (YYMMDD) and time (HHMM); GS04 is CCYYMMDD. Each transaction set is then
checked against its specification (see ``specs``).

Control numbers never repeat for a trading partner: ISA13 is 9 digits, zero-padded; GS06 is
1 to 9 digits; ST02 4 to 9 characters (written zero-padded to 4). Builders take them from a
``ControlNumbers`` provider, so the Odoo side can back it with a PostgreSQL sequence.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Protocol, runtime_checkable

from . import errors
from .errors import Problem, X12Error
from .specs import FUNCTIONAL_IDS, TRANSACTIONS, check_segment, transaction_problems
from .syntax import DEFAULT_SEPARATORS, Segment, Separators, parse_date, serialize, tokenize
from .versions import DEFAULT_VERSION, ISA_VERSIONS, VERSIONS, release, release_of

GS_VERSION = DEFAULT_VERSION
CONTROL_KINDS = ("interchange", "group", "transaction")
MAX_CONTROL_NUMBER = 999_999_999
SUPPORTED_GROUPS = frozenset(FUNCTIONAL_IDS.values())


# --------------------------------------------------------------------------- control numbers

@runtime_checkable
class ControlNumbers(Protocol):
    """Gives the next control number of a kind: ``interchange``, ``group`` or ``transaction``.

    An implementation must never return a number twice for the same kind (a database
    sequence does that); numbers are positive and at most 999999999.
    """

    def next(self, kind: str) -> int:
        """Return the next unused number of ``kind``."""


class InMemoryControlNumbers:
    """Counters kept in memory, one per kind; they refuse to wrap around rather than reuse."""

    def __init__(self, start: int | dict = 1):
        starts = start if isinstance(start, dict) else {kind: start for kind in CONTROL_KINDS}
        self._next = {kind: int(starts.get(kind, 1)) for kind in CONTROL_KINDS}
        self.issued: dict[str, list[int]] = {kind: [] for kind in CONTROL_KINDS}

    def next(self, kind: str) -> int:
        """Return the next number of ``kind``; raise X12Error past 999999999."""
        if kind not in self._next:
            raise ValueError(f"unknown control number kind {kind!r}: use one of {', '.join(CONTROL_KINDS)}")
        number = self._next[kind]
        if number > MAX_CONTROL_NUMBER:
            raise X12Error(f"{kind} control numbers are exhausted (999999999 used); they may not be reused")
        self._next[kind] = number + 1
        self.issued[kind].append(number)
        return number


def next_control_number(numbers: ControlNumbers | Callable[[str], int], kind: str) -> int:
    """Return the next ``kind`` number from ``numbers`` (a ControlNumbers or a callable), checked."""
    getter = numbers.next if hasattr(numbers, "next") else numbers
    raw = getter(kind)
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise X12Error(f"the {kind} control number {raw!r} is not a number") from None
    if not 1 <= number <= MAX_CONTROL_NUMBER:
        raise X12Error(f"the {kind} control number {number} is out of range (1..999999999)")
    return number


# --------------------------------------------------------------------------- model

@dataclass
class TransactionSet:
    """One ST..SE transaction set: its id (ST01), control number (ST02) and body segments."""

    id: str
    control_number: str
    segments: list[Segment]
    position: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Return whether the transaction set has no problem."""
        return not self.problems

    def find(self, segment_id: str) -> list[Segment]:
        """Return the body segments with id ``segment_id``."""
        return [s for s in self.segments if s.id == segment_id]


@dataclass
class FunctionalGroup:
    """One GS..GE functional group and its transaction sets; ``problems`` are group-level only."""

    functional_id: str
    sender: str
    receiver: str
    date: date | None
    time: str
    control_number: str
    version: str
    transactions: list[TransactionSet] = field(default_factory=list)
    position: int = 0
    problems: list[Problem] = field(default_factory=list)

    def all_problems(self) -> list[Problem]:
        """Return the group's problems and those of its transaction sets."""
        return [*self.problems, *(p for t in self.transactions for p in t.problems)]


@dataclass
class Interchange:
    """One ISA..IEA interchange as read, with every problem found at each level."""

    separators: Separators
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: date | None
    time: str
    control_number: str
    version: str
    usage: str
    ack_requested: bool
    groups: list[FunctionalGroup] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def all_problems(self) -> list[Problem]:
        """Return every problem: interchange, groups, transaction sets, segments and elements."""
        return [*self.problems, *(p for g in self.groups for p in g.all_problems())]

    @property
    def valid(self) -> bool:
        """Return whether nothing is wrong at any level."""
        return not self.all_problems()

    def transactions(self) -> Iterator[tuple[FunctionalGroup, TransactionSet]]:
        """Yield (group, transaction set) pairs in file order."""
        for group in self.groups:
            for transaction in group.transactions:
                yield group, transaction

    def raise_for_problems(self) -> None:
        """Raise X12Error listing every problem, if there is any."""
        problems = self.all_problems()
        if problems:
            raise X12Error(problems, _summary(self, problems))


def _summary(interchange: "Interchange", problems: list[Problem]) -> str:
    what = f"interchange {interchange.control_number.strip() or '?'} from {interchange.sender_id or '?'}"
    if len(problems) == 1:
        return f"invalid X12 {what}: {problems[0]}"
    return f"invalid X12 {what}: {len(problems)} problems found:"


# --------------------------------------------------------------------------- reading

def parse_interchange(data) -> Interchange:
    """Return the interchange in ``data`` (str or bytes) with its problems recorded, not raised.

    Raise X12Error only when the text cannot be split into segments at all (no ISA, ISA cut
    short). Use ``read_interchange`` to raise on any problem.
    """
    tokens = tokenize(data)
    segments = tokens.segments
    isa = segments[0]
    interchange = Interchange(
        separators=tokens.separators, sender_qualifier=isa[5], sender_id=isa[6].strip(),
        receiver_qualifier=isa[7], receiver_id=isa[8].strip(), date=_safe_date(isa[9]), time=isa[10],
        control_number=isa[13], version=isa[12], usage=isa[15], ack_requested=isa[14] == "1",
        problems=list(tokens.problems),
    )
    _check_isa(interchange, isa)
    _Reader(interchange, segments).run()
    return interchange


def read_interchange(data) -> Interchange:
    """Return the interchange in ``data``; raise X12Error listing every problem if any is found."""
    interchange = parse_interchange(data)
    interchange.raise_for_problems()
    return interchange


def _safe_date(text: str) -> date | None:
    try:
        return parse_date(text)
    except ValueError:
        return None


def _check_isa(interchange: Interchange, isa: Segment) -> None:
    wrong_width = {p.element for p in interchange.problems if p.segment_id == "ISA"}
    for issue in check_segment(isa, interchange.separators):
        if issue.element in wrong_width and issue.code in (errors.ELEMENT_TOO_SHORT, errors.ELEMENT_TOO_LONG):
            continue  # already reported as a fixed-width problem
        interchange.problems.append(Problem(issue.message, level="interchange", segment_id="ISA", position=1,
                                            element=issue.element, value=issue.value))
    if isa[12] and isa[12] not in ISA_VERSIONS:
        interchange.problems.append(Problem(f"interchange version {isa[12]!r} is not supported "
                                            f"({' or '.join(ISA_VERSIONS)} expected)",
                                            segment_id="ISA", position=1, element=12, value=isa[12]))
    elif isa[12] == "00401" and isa[11] != "U":
        interchange.problems.append(Problem(f"ISA11 must be 'U' in version 00401, not {isa[11]!r}",
                                            segment_id="ISA", position=1, element=11, value=isa[11]))


class _Reader:
    """Splits the segments of an interchange into groups and transaction sets, checking envelopes."""

    def __init__(self, interchange: Interchange, segments: list[Segment]):
        self.x = interchange
        self.segments = segments
        self.i = 1

    def problem(self, message, **kw):
        self.x.problems.append(Problem(message, **kw))

    def run(self) -> None:
        segments = self.segments
        iea = None
        while self.i < len(segments):
            segment = segments[self.i]
            if segment.id == "GS":
                self.read_group()
            elif segment.id == "IEA":
                iea = segment
                self.i += 1
                break
            else:
                self.problem(f"{segment.id} is outside a functional group (GS..GE expected)",
                             segment_id=segment.id, position=segment.position)
                self.i += 1
        if iea is None:
            last = segments[-1].position if segments else 1
            self.problem("the interchange trailer IEA is missing (the file may be truncated)",
                         segment_id="IEA", position=last + 1)
        else:
            self.check_iea(iea)
        for extra in segments[self.i:]:
            self.problem(f"{extra.id} follows the IEA: one interchange per file is expected",
                         segment_id=extra.id, position=extra.position)

    def check_iea(self, iea: Segment) -> None:
        for issue in check_segment(iea, self.x.separators):
            self.problem(issue.message, segment_id="IEA", position=iea.position, element=issue.element,
                         value=issue.value)
        if iea[2] != self.x.control_number:
            self.problem(f"IEA02 {iea[2]!r} does not match the interchange control number ISA13 "
                         f"{self.x.control_number!r}", segment_id="IEA", position=iea.position, element=2, value=iea[2])
        if iea[1] != str(len(self.x.groups)) and iea[1].lstrip("0") != str(len(self.x.groups)):
            self.problem(f"IEA01 says {iea[1]!r} functional groups, the interchange has {len(self.x.groups)}",
                         segment_id="IEA", position=iea.position, element=1, value=iea[1])

    def read_group(self) -> None:
        segments = self.segments
        gs = segments[self.i]
        group = FunctionalGroup(functional_id=gs[1], sender=gs[2], receiver=gs[3], date=_safe_date(gs[4]),
                                time=gs[5], control_number=gs[6], version=gs[8], position=gs.position)
        self.x.groups.append(group)
        self.check_gs(group, gs)
        self.i += 1
        ge = None
        seen_controls = set()
        while self.i < len(segments):
            segment = segments[self.i]
            if segment.id == "ST":
                transaction = self.read_transaction(group)
                if transaction.control_number in seen_controls:
                    transaction.problems.insert(0, Problem(
                        f"transaction set control number {transaction.control_number!r} is used twice in group "
                        f"{group.control_number}", level="transaction", segment_id="ST",
                        position=transaction.position, element=2, code=errors.SET_CONTROL_NOT_UNIQUE,
                        group_control=group.control_number, transaction_control=transaction.control_number,
                        transaction_position=1))
                seen_controls.add(transaction.control_number)
            elif segment.id == "GE":
                ge = segment
                self.i += 1
                break
            elif segment.id in ("GS", "IEA"):
                break
            else:
                group.problems.append(Problem(f"{segment.id} is outside a transaction set (ST..SE expected)",
                                              level="group", segment_id=segment.id, position=segment.position,
                                              group_control=group.control_number))
                self.i += 1
        if ge is None:
            at = segments[self.i].position if self.i < len(segments) else segments[-1].position + 1
            group.problems.append(Problem(f"the functional group trailer GE of group {group.control_number} is missing",
                                          level="group", segment_id="GE", position=at,
                                          code=errors.GROUP_TRAILER_MISSING, group_control=group.control_number))
            return
        for issue in check_segment(ge, self.x.separators):
            group.problems.append(Problem(issue.message, level="group", segment_id="GE", position=ge.position,
                                          element=issue.element, value=issue.value,
                                          group_control=group.control_number))
        if ge[2] != group.control_number:
            group.problems.append(Problem(
                f"GE02 {ge[2]!r} does not match the group control number GS06 {group.control_number!r}",
                level="group", segment_id="GE", position=ge.position, element=2, value=ge[2],
                code=errors.GROUP_CONTROL_MISMATCH, group_control=group.control_number))
        if ge[1].lstrip("0") != str(len(group.transactions)).lstrip("0"):
            group.problems.append(Problem(
                f"GE01 says {ge[1]!r} transaction sets, group {group.control_number} has {len(group.transactions)}",
                level="group", segment_id="GE", position=ge.position, element=1, value=ge[1],
                code=errors.GROUP_COUNT_MISMATCH, group_control=group.control_number))

    def check_gs(self, group: FunctionalGroup, gs: Segment) -> None:
        for issue in check_segment(gs, self.x.separators):
            code = ""
            if issue.element == 6:
                code = errors.GROUP_CONTROL_SYNTAX
            group.problems.append(Problem(issue.message, level="group", segment_id="GS", position=gs.position,
                                          element=issue.element, value=issue.value, code=code,
                                          group_control=group.control_number))
        if gs[1] and gs[1] not in SUPPORTED_GROUPS:
            group.problems.append(Problem(
                f"functional group {gs[1]!r} is not supported (supported: {', '.join(sorted(SUPPORTED_GROUPS))})",
                level="group", segment_id="GS", position=gs.position, element=1, value=gs[1],
                code=errors.GROUP_NOT_SUPPORTED, group_control=group.control_number))
        if gs[8] and release_of(gs[8]) is None:
            group.problems.append(Problem(f"version {gs[8]!r} is not supported ({' or '.join(VERSIONS)} expected)",
                                          level="group", segment_id="GS", position=gs.position, element=8,
                                          value=gs[8], code=errors.GROUP_VERSION_NOT_SUPPORTED,
                                          group_control=group.control_number))

    def read_transaction(self, group: FunctionalGroup) -> TransactionSet:
        segments = self.segments
        st = segments[self.i]
        transaction = TransactionSet(id=st[1], control_number=st[2], segments=[], position=st.position)
        group.transactions.append(transaction)
        self.i += 1
        se = None
        while self.i < len(segments):
            segment = segments[self.i]
            if segment.id == "SE":
                se = segment
                self.i += 1
                break
            if segment.id in ("ST", "GE", "GS", "IEA"):
                break
            transaction.segments.append(segment)
            self.i += 1
        self.check_transaction(group, transaction, st, se)
        return transaction

    def check_transaction(self, group, transaction: TransactionSet, st: Segment, se: Segment | None) -> None:
        problems = transaction.problems
        common = dict(level="transaction", group_control=group.control_number,
                      transaction_control=transaction.control_number)
        version = group.version or GS_VERSION
        for issue in check_segment(st, self.x.separators, version):
            code = errors.SET_BAD_IDENTIFIER if issue.element == 1 else errors.SET_BAD_CONTROL_NUMBER
            problems.append(Problem(issue.message, segment_id="ST", position=st.position, element=issue.element,
                                    value=issue.value, code=code, transaction_position=1, **common))
        spec = TRANSACTIONS.get(transaction.id)
        if spec is None:
            problems.append(Problem(f"transaction set {transaction.id!r} is not supported "
                                    f"(supported: {', '.join(sorted(TRANSACTIONS))})", segment_id="ST",
                                    position=st.position, element=1, value=transaction.id,
                                    code=errors.SET_NOT_SUPPORTED, transaction_position=1, **common))
        elif group.functional_id in SUPPORTED_GROUPS and spec.functional_id != group.functional_id:
            problems.append(Problem(f"a {transaction.id} belongs in a functional group {spec.functional_id}, "
                                    f"not {group.functional_id}", segment_id="ST", position=st.position, element=1,
                                    value=transaction.id, code=errors.SET_BAD_IDENTIFIER, transaction_position=1,
                                    **common))
        count = len(transaction.segments) + 2
        if se is None:
            at = transaction.position + count - 1
            problems.append(Problem(f"the transaction set trailer SE of {transaction.id} {transaction.control_number} "
                                    "is missing", segment_id="SE", position=at, code=errors.SET_TRAILER_MISSING,
                                    transaction_position=count, **common))
        else:
            for issue in check_segment(se, self.x.separators):
                problems.append(Problem(issue.message, segment_id="SE", position=se.position, element=issue.element,
                                        value=issue.value, code=errors.SET_COUNT_MISMATCH if issue.element == 1
                                        else errors.SET_CONTROL_MISMATCH, transaction_position=count, **common))
            if se[1].isdigit() and int(se[1]) != count:
                problems.append(Problem(f"SE01 says {se[1]} segments, the transaction set has {count} (ST to SE)",
                                        segment_id="SE", position=se.position, element=1, value=se[1],
                                        code=errors.SET_COUNT_MISMATCH, transaction_position=count, **common))
            if se[2] != transaction.control_number:
                problems.append(Problem(f"SE02 {se[2]!r} does not match ST02 {transaction.control_number!r}",
                                        segment_id="SE", position=se.position, element=2, value=se[2],
                                        code=errors.SET_CONTROL_MISMATCH, transaction_position=count, **common))
        if spec is not None:
            problems.extend(transaction_problems(spec, transaction.segments, transaction.position, count,
                                                 self.x.separators, group.control_number,
                                                 transaction.control_number, version))


# --------------------------------------------------------------------------- writing

@dataclass(frozen=True)
class Envelope:
    """Who sends to whom: the ISA/GS identities and the delimiters of outgoing interchanges.

    ``sender_id``/``receiver_id`` go to ISA06/ISA08 (at most 15 characters, padded) with their
    qualifiers (``ZZ`` mutually defined, ``01`` DUNS, ``12`` phone...); ``application_sender``
    and ``application_receiver`` go to GS02/GS03 and default to the ISA ids. ``usage`` is ISA15
    (``P`` production, ``T`` test); ``ack_requested`` sets ISA14 (a TA1 interchange ack).
    ``version`` is the X12 release written (``004010`` or ``005010``, see ``versions``).
    """

    sender_id: str
    receiver_id: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str = ""
    application_receiver: str = ""
    usage: str = "P"
    ack_requested: bool = False
    separators: Separators = DEFAULT_SEPARATORS
    line_breaks: bool = False
    version: str = DEFAULT_VERSION


@dataclass(frozen=True)
class X12Document:
    """An interchange written: its text and the control numbers it used (to match its 997)."""

    text: str
    transaction_id: str
    functional_id: str
    interchange_control: str
    group_control: str
    transaction_controls: tuple

    @property
    def data(self) -> bytes:
        """Return the text as bytes (UTF-8; X12 data is normally plain ASCII)."""
        return self.text.encode("utf-8")

    def filename(self, reference: str = "") -> str:
        """Return a file name that cannot clash: ``<set>_<reference>_<ISA13>.x12``."""
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in reference)[:40]
        middle = f"_{safe}" if safe else ""
        return f"{self.transaction_id}{middle}_{self.interchange_control}.x12"


def build_interchange(envelope: Envelope, transaction_id: str, bodies: list[list[Segment]],
                      numbers: ControlNumbers | Callable[[str], int], now: datetime | None = None,
                      *, validate: bool = True) -> X12Document:
    """Return an interchange of one functional group holding one transaction set per body.

    Each body is the list of segments between ST and SE. Control numbers come from
    ``numbers``; ``now`` (default: current UTC time) dates the ISA and GS. The result is read
    back and validated; X12Error lists every problem when the data cannot make a valid file.
    """
    if transaction_id not in TRANSACTIONS:
        raise X12Error(f"transaction set {transaction_id!r} is not supported")
    if not bodies:
        raise X12Error(f"a {transaction_id} interchange needs at least one transaction set")
    separators = envelope.separators
    separators.check()
    try:
        edition = release(envelope.version)
    except ValueError as exc:
        raise X12Error(str(exc)) from None
    if edition.isa11 in (separators.element, separators.sub_element, separators.segment):
        raise X12Error(f"the repetition separator {edition.isa11!r} of {edition.code} is also a delimiter "
                       f"of this interchange {separators!r}")
    for label, value in (("sender", envelope.sender_id), ("receiver", envelope.receiver_id)):
        if not value or len(value) > 15:
            raise X12Error(f"the interchange {label} id {value!r} must be 1 to 15 characters (ISA06/ISA08)")
    now = now or datetime.now(timezone.utc)
    functional_id = TRANSACTIONS[transaction_id].functional_id
    isa_number = f"{next_control_number(numbers, 'interchange'):09d}"
    group_number = str(next_control_number(numbers, "group"))
    segments = [
        Segment("ISA", "00", " " * 10, "00", " " * 10, envelope.sender_qualifier, envelope.sender_id.ljust(15),
                envelope.receiver_qualifier, envelope.receiver_id.ljust(15), now.strftime("%y%m%d"),
                now.strftime("%H%M"), edition.isa11, edition.isa_version, isa_number, "1" if envelope.ack_requested else "0",
                envelope.usage, separators.sub_element),
        Segment("GS", functional_id, envelope.application_sender or envelope.sender_id,
                envelope.application_receiver or envelope.receiver_id, now.strftime("%Y%m%d"), now.strftime("%H%M"),
                group_number, "X", edition.code),
    ]
    controls = []
    for body in bodies:
        control = f"{next_control_number(numbers, 'transaction'):04d}"
        controls.append(control)
        segments.append(Segment("ST", transaction_id, control))
        segments.extend(body)
        segments.append(Segment("SE", str(len(body) + 2), control))
    segments.append(Segment("GE", str(len(bodies)), group_number))
    segments.append(Segment("IEA", "1", isa_number))
    text = serialize(segments, separators, line_breaks=envelope.line_breaks)
    document = X12Document(text, transaction_id, functional_id, isa_number, group_number, tuple(controls))
    if validate:
        problems = parse_interchange(text).all_problems()
        if problems:
            summary = (f"the {transaction_id} cannot be written as valid X12: {problems[0]}" if len(problems) == 1
                       else f"the {transaction_id} cannot be written as valid X12: {len(problems)} problems:")
            raise X12Error(problems, summary)
    return document
