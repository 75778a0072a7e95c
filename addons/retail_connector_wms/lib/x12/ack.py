# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""997 Functional Acknowledgment, both ways: answer a received group, read the partner's answer.

Every functional group received gets a 997 (group FA), one transaction set per group::

    AK1*<GS01>*<GS06>                          the group acknowledged
    AK2*<ST01>*<ST02>                          each transaction set of it
      AK3*<segment id>*<position in set>**<720 code>   a segment in error (8: its elements)
      AK4*<element position>**<723 code>*<copy of the bad value>
    AK5*<A|E|R>[*<718 codes>]                  accepted, accepted with errors, rejected
    AK9*<A|E|P|R>*<included>*<received>*<accepted>[*<716 codes>]

AK9-01 ``P`` means partially accepted: at least one transaction set was rejected. AK9-02 is
the count the sender announced in GE01, AK9-03 the count received, AK9-04 the count
accepted. A group with envelope errors, or in an interchange whose own envelope is broken
(ISA/IEA), is rejected as a whole: nothing of it will be processed.
"""

from dataclasses import dataclass, field
from datetime import datetime

from . import errors
from .envelope import (
    ControlNumbers,
    Envelope,
    FunctionalGroup,
    Interchange,
    TransactionSet,
    X12Document,
    build_interchange,
    read_interchange,
)
from .errors import Problem, X12Error
from .parties import first_segment, int_or_none
from .policy import ValidationPolicy, transaction_status
from .syntax import DEFAULT_SEPARATORS, Segment, Separators

ACCEPTED_CODES = ("A", "E")
GROUP_ACCEPTED_CODES = ("A", "E")
STATUS_TEXT = {
    "A": "accepted", "E": "accepted with errors noted", "P": "partially accepted", "R": "rejected",
    "M": "rejected: message authentication code failed", "W": "rejected: assurance failed validity tests",
    "X": "rejected: content could not be analyzed after decryption",
}
SEGMENT_ERRORS = {
    "1": "unrecognized segment id", "2": "unexpected segment", "3": "mandatory segment missing",
    "4": "loop occurs over maximum times", "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set", "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}
ELEMENT_ERRORS = {
    "1": "mandatory data element missing", "2": "conditional required data element missing",
    "3": "too many data elements", "4": "data element too short", "5": "data element too long",
    "6": "invalid character in data element", "7": "invalid code value", "8": "invalid date", "9": "invalid time",
    "10": "exclusion condition violated",
}
SET_ERRORS = {
    "1": "transaction set not supported", "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count", "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier", "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the functional group",
}
GROUP_ERRORS = {
    "1": "functional group not supported", "2": "functional group version not supported",
    "3": "functional group trailer missing", "4": "group control number in the header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
}
MAX_COPY = 99


@dataclass
class TransactionAck:
    """The partner's verdict on one transaction set (AK2..AK5)."""

    transaction_id: str
    control_number: str
    status: str
    codes: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Return whether the transaction set was accepted (A, or E: with errors noted)."""
        return self.status in ACCEPTED_CODES


@dataclass
class GroupAck:
    """The partner's verdict on one functional group (AK1..AK9)."""

    functional_id: str
    group_control: str
    status: str
    included: int = 0
    received: int = 0
    accepted_count: int = 0
    codes: list = field(default_factory=list)
    transactions: list = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Return whether the whole group was accepted (A or E)."""
        return self.status in GROUP_ACCEPTED_CODES

    @property
    def rejected(self) -> bool:
        """Return whether nothing of the group was accepted."""
        return self.status not in (*GROUP_ACCEPTED_CODES, "P")

    def describe(self) -> str:
        """Return a readable account of the verdict, with every error reported."""
        text = f"group {self.functional_id} {self.group_control}: {STATUS_TEXT.get(self.status, self.status)}"
        if self.codes:
            text += " (" + "; ".join(GROUP_ERRORS.get(c, f"code {c}") for c in self.codes) + ")"
        lines = [text]
        for t in self.transactions:
            if t.status != "A" or t.codes or t.errors:
                reasons = [SET_ERRORS.get(c, f"code {c}") for c in t.codes] + t.errors
                lines.append(f"  {t.transaction_id} {t.control_number}: {STATUS_TEXT.get(t.status, t.status)}"
                             + (": " + "; ".join(reasons) if reasons else ""))
        return "\n".join(lines)


@dataclass
class AckReport:
    """Every group acknowledgment found in a received 997 interchange."""

    interchange_control: str
    sender_id: str
    groups: list

    @property
    def accepted(self) -> list[str]:
        """Return the control numbers of the groups accepted (A or E)."""
        return [g.group_control for g in self.groups if g.accepted]

    @property
    def rejected(self) -> list[str]:
        """Return the control numbers of the groups rejected as a whole."""
        return [g.group_control for g in self.groups if g.rejected]

    @property
    def partially_accepted(self) -> list[str]:
        """Return the control numbers of the groups of which some transaction sets were rejected."""
        return [g.group_control for g in self.groups if g.status == "P"]

    def group(self, control_number) -> GroupAck | None:
        """Return the acknowledgment of group ``control_number`` (int or text), or None."""
        wanted = str(control_number).lstrip("0")
        return next((g for g in self.groups if g.group_control.lstrip("0") == wanted), None)


# --------------------------------------------------------------------------- building

def acknowledgment_segments(group: FunctionalGroup, separators: Separators = DEFAULT_SEPARATORS, *,
                            reject_all: bool = False, policy: ValidationPolicy | None = None) -> list[Segment]:
    """Return the body of the 997 answering ``group``, from the problems recorded on it.

    ``reject_all`` rejects the group whatever its content (used when the interchange
    envelope around it is broken). Under a ``policy``, a transaction set whose problems the
    policy tolerates is accepted with errors noted (AK5 ``E``, its AK3/AK4 kept), and a
    group whose sets are all accepted, some with errors, is too (AK9 ``E``); without one,
    any problem rejects.
    """
    body = [Segment("AK1", _safe(group.functional_id, 2, separators) or "XX", _digits(group.control_number))]
    accepted = 0
    noted_errors = False
    for transaction in group.transactions:
        body.append(Segment("AK2", _safe(transaction.id, 3, separators) or "000",
                            _safe(transaction.control_number, 9, separators).rjust(4, "0")))
        body += _segment_notes(transaction, separators)
        set_codes = _unique(p.code for p in transaction.problems if p.level == "transaction" and p.code)
        if any(p.level in ("segment", "element") for p in transaction.problems):
            set_codes = _unique([*set_codes, errors.SET_SEGMENTS_IN_ERROR])
        status = transaction_status(transaction, policy)
        if status in ("A", "E"):
            accepted += 1
            noted_errors = noted_errors or status == "E"
        body.append(Segment("AK5", status, *set_codes[:5]))
    group_codes = _unique(p.code for p in group.problems if p.code)
    received = len(group.transactions)
    included = received
    announced = _announced(group)
    if announced is not None:
        included = announced
    if group.problems or reject_all:
        status, accepted = "R", 0
    elif accepted == received:
        status = "E" if noted_errors else "A"
    else:
        status = "P" if accepted else "R"
    body.append(Segment("AK9", status, str(included), str(received), str(accepted), *group_codes[:5]))
    return body


def _announced(group: FunctionalGroup) -> int | None:
    for problem in group.problems:
        if problem.segment_id == "GE" and problem.element == 1 and problem.value.isdigit():
            return int(problem.value)
    return None


def _segment_notes(transaction: TransactionSet, separators: Separators) -> list[Segment]:
    by_position: dict[int, dict] = {}
    for problem in transaction.problems:
        if problem.level not in ("segment", "element") or problem.transaction_position is None:
            continue
        note = by_position.setdefault(problem.transaction_position,
                                      {"id": problem.segment_id, "code": "", "elements": []})
        if problem.level == "segment":
            note["code"] = note["code"] or problem.code
        else:
            note["elements"].append(problem)
    out = []
    for position in sorted(by_position):
        note = by_position[position]
        code = note["code"] or errors.SEGMENT_HAS_ELEMENT_ERRORS
        out.append(Segment("AK3", _safe(note["id"], 3, separators) or "ZZZ", str(position), "", code))
        for problem in note["elements"][:99]:
            where = (str(problem.element), str(problem.component)) if problem.component else str(problem.element)
            out.append(Segment("AK4", where, "", problem.code, _safe(problem.value, MAX_COPY, separators)))
    return out


def _safe(value: str, length: int, separators: Separators) -> str:
    text = "".join(" " if c in (separators.element, separators.sub_element, separators.segment) or ord(c) < 32
                   else c for c in (value or ""))
    return text[:length].strip()


def _digits(value: str) -> str:
    digits = "".join(c for c in (value or "") if c.isdigit())
    return digits[:9] or "0"


def _unique(codes) -> list[str]:
    out = []
    for code in codes:
        if code and code not in out:
            out.append(code)
    return out


def build_997(received: Interchange | FunctionalGroup | list, envelope: Envelope, numbers: ControlNumbers,
              now: datetime | None = None, policy: ValidationPolicy | None = None) -> X12Document:
    """Return a 997 interchange acknowledging each functional group ``received``.

    ``received`` is an Interchange (every group of it is answered; all are rejected if the
    interchange envelope itself has problems), one group or a list of groups, as returned by
    ``parse_interchange`` with their problems recorded. ``policy`` (see ``policy``) decides
    which problems are noted (accepted with errors) rather than rejected.
    """
    reject_all = False
    if isinstance(received, Interchange):
        groups, reject_all = received.groups, bool(received.problems)
    elif isinstance(received, FunctionalGroup):
        groups = [received]
    else:
        groups = list(received)
    if not groups:
        raise X12Error("there is no functional group to acknowledge (a 997 answers GS..GE groups)")
    bodies = [acknowledgment_segments(g, envelope.separators, reject_all=reject_all, policy=policy) for g in groups]
    return build_interchange(envelope, "997", bodies, numbers, now)


# --------------------------------------------------------------------------- reading

def group_ack_from(transaction: TransactionSet, separators: Separators = DEFAULT_SEPARATORS) -> GroupAck:
    """Return the GroupAck of one 997 transaction set."""
    ak1 = first_segment(transaction, "AK1")
    ak9 = first_segment(transaction, "AK9")
    ack = GroupAck(functional_id=ak1[1], group_control=ak1[2], status=ak9[1], included=int_or_none(ak9[2]) or 0,
                   received=int_or_none(ak9[3]) or 0, accepted_count=int_or_none(ak9[4]) or 0,
                   codes=[ak9[n] for n in range(5, 10) if ak9[n]])
    current = None
    segment_id = ""
    position = ""
    for segment in transaction.segments:
        if segment.id == "AK2":
            current = TransactionAck(transaction_id=segment[1], control_number=segment[2], status="")
            ack.transactions.append(current)
        elif segment.id == "AK3" and current is not None:
            segment_id, position = segment[1], segment[2]
            if segment[4] and segment[4] != errors.SEGMENT_HAS_ELEMENT_ERRORS:
                current.errors.append(f"segment {position} ({segment_id}): "
                                      f"{SEGMENT_ERRORS.get(segment[4], 'code ' + segment[4])}")
        elif segment.id == "AK4" and current is not None:
            element = segment.composite(1, separators.sub_element)
            where = "-".join(element) if element else "?"
            copy = f" ({segment[4]!r})" if segment[4] else ""
            current.errors.append(f"segment {position} ({segment_id}) element {where}: "
                                  f"{ELEMENT_ERRORS.get(segment[3], 'code ' + segment[3])}{copy}")
        elif segment.id == "AK5" and current is not None:
            current.status = segment[1]
            current.codes = [segment[n] for n in range(2, 7) if segment[n]]
    return ack


def parse_997(data) -> AckReport:
    """Return the acknowledgments in a received 997 interchange; raise X12Error if it is invalid."""
    interchange = read_interchange(data)
    groups = []
    for _group, transaction in interchange.transactions():
        if transaction.id != "997":
            raise X12Error(Problem(f"expected a 997, found a {transaction.id}", level="transaction",
                                   segment_id="ST", position=transaction.position, element=1,
                                   transaction_control=transaction.control_number))
        groups.append(group_ack_from(transaction, interchange.separators))
    return AckReport(interchange.control_number, interchange.sender_id, groups)
