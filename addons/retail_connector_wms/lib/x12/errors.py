# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Problems found in an X12 interchange, and the error that carries all of them.

Every problem names where it is (the segment's position in the file, counting ISA as 1, its
id and the element number) and carries the code a 997 Functional Acknowledgment reports for
it: AK9 (element 716) for a functional group, AK5 (718) for a transaction set, AK3 (720) for
a segment and AK4 (723) for a data element. Interchange-level problems (ISA/IEA) have no 997
code: an interchange whose envelope is broken cannot be acknowledged, only quarantined.
"""

from dataclasses import dataclass

# AK9-05 (716) functional group syntax error codes
GROUP_NOT_SUPPORTED = "1"
GROUP_VERSION_NOT_SUPPORTED = "2"
GROUP_TRAILER_MISSING = "3"
GROUP_CONTROL_MISMATCH = "4"
GROUP_COUNT_MISMATCH = "5"
GROUP_CONTROL_SYNTAX = "6"

# AK5-02 (718) transaction set syntax error codes
SET_NOT_SUPPORTED = "1"
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_COUNT_MISMATCH = "4"
SET_SEGMENTS_IN_ERROR = "5"
SET_BAD_IDENTIFIER = "6"
SET_BAD_CONTROL_NUMBER = "7"
SET_CONTROL_NOT_UNIQUE = "23"

# AK3-04 (720) segment syntax error codes
SEGMENT_UNRECOGNIZED = "1"
SEGMENT_UNEXPECTED = "2"
SEGMENT_MANDATORY_MISSING = "3"
SEGMENT_LOOP_OVER_MAX = "4"
SEGMENT_OVER_MAX_USE = "5"
SEGMENT_NOT_IN_SET = "6"
SEGMENT_OUT_OF_SEQUENCE = "7"
SEGMENT_HAS_ELEMENT_ERRORS = "8"

# AK4-03 (723) data element syntax error codes
ELEMENT_MANDATORY_MISSING = "1"
ELEMENT_CONDITIONAL_MISSING = "2"
ELEMENT_TOO_MANY = "3"
ELEMENT_TOO_SHORT = "4"
ELEMENT_TOO_LONG = "5"
ELEMENT_INVALID_CHARACTER = "6"
ELEMENT_INVALID_CODE = "7"
ELEMENT_INVALID_DATE = "8"
ELEMENT_INVALID_TIME = "9"
ELEMENT_EXCLUSION_VIOLATED = "10"

LEVELS = ("interchange", "group", "transaction", "segment", "element")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an interchange, where it is and its 997 code.

    ``position`` counts segments from the start of the file (ISA is 1);
    ``transaction_position`` counts from the transaction set's ST (ST is 1), as AK3-02 does.
    ``level`` is one of ``LEVELS``; ``code`` is the 997 code of that level (empty for the
    interchange level). ``value`` is a copy of the offending element, when there is one.
    """

    message: str
    level: str = "interchange"
    segment_id: str = ""
    position: int | None = None
    element: int | None = None
    component: int | None = None
    code: str = ""
    value: str = ""
    group_control: str = ""
    transaction_control: str = ""
    transaction_position: int | None = None

    def where(self) -> str:
        """Return the location part, e.g. ``segment 14 (W01) element 05``."""
        parts = []
        if self.position is not None:
            parts.append(f"segment {self.position}" + (f" ({self.segment_id})" if self.segment_id else ""))
        elif self.segment_id:
            parts.append(f"segment {self.segment_id}")
        if self.element is not None:
            parts.append(f"element {self.element:02d}" + (f"-{self.component}" if self.component else ""))
        if not parts:
            if self.transaction_control:
                parts.append(f"transaction set {self.transaction_control}")
            elif self.group_control:
                parts.append(f"functional group {self.group_control}")
            else:
                parts.append(self.level)
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


class X12Error(ValueError):
    """An X12 interchange cannot be read or written; ``problems`` lists everything found.

    ``str(exc)`` (and ``reason``) is a readable text fit to store next to a quarantined file:
    a summary line followed by one line per problem.
    """

    def __init__(self, problems, summary: str = ""):
        if isinstance(problems, (str, Problem)):
            problems = [problems]
        self.problems = [p if isinstance(p, Problem) else Problem(str(p)) for p in problems]
        self.summary = summary or _summary(self.problems)
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """Return the summary and every problem, one per line."""
        if len(self.problems) == 1 and not self.summary.endswith(":"):
            return f"{self.summary}"
        return "\n".join([self.summary, *(f"- {p}" for p in self.problems)])


def _summary(problems: list[Problem]) -> str:
    if len(problems) == 1:
        return f"invalid X12: {problems[0]}"
    return f"invalid X12: {len(problems)} problems found:"
