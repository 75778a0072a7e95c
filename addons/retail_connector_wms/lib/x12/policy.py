# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""How strictly a trading partner's interchanges are judged: what is applied, noted or refused.

Real partners send documents that break a syntax note here and there (an N1 with neither
N102 nor N103, a state code one character too long). Each partner has a policy:

- ``strict``: any problem refuses the interchange (quarantine, rejecting 997), unless a
  person accepted that kind of problem for this partner (``tolerated``);
- ``lenient``: problems of segments and data elements (997 AK3/AK4) are noted, the content
  is applied, and the 997 says *accepted with errors* (AK5 ``E``, AK9 ``E``) with the segment
  and element of each problem.

Whatever the policy, what cannot be applied safely is refused: a broken interchange
envelope (ISA/IEA), functional group (GS/GE) or transaction set envelope (ST/SE: segment
count, control numbers), an unsupported set or release, and content the reader cannot use
(a missing order number or quantity raises X12Error when the document is decoded).

A problem is known by its key ``<set>:<segment>:<element>:<997 code>``, e.g.
``945:N1:02:2`` (N102, conditional element missing, in a 945); a person's acceptance adds
keys to the partner's tolerated list.
"""

from dataclasses import dataclass, field

from .envelope import Interchange, TransactionSet
from .errors import Problem

STRICT = "strict"
LENIENT = "lenient"
MODES = (STRICT, LENIENT)
TOLERABLE_LEVELS = ("segment", "element")


def problem_key(problem: Problem, set_id: str = "") -> str:
    """Return the key of a kind of problem: ``<set>:<segment>:<element>:<code>``."""
    element = f"{problem.element:02d}" if problem.element else ""
    return ":".join((set_id or "*", problem.segment_id or "?", element, problem.code or ""))


def parse_keys(text: str) -> frozenset:
    """Return the keys of a tolerated-problems text: the first word of each line (``#`` starts a comment)."""
    keys = set()
    for line in (text or "").splitlines():
        word = line.split("#", 1)[0].strip().split()
        if word:
            keys.add(word[0])
    return frozenset(keys)


@dataclass(frozen=True)
class ValidationPolicy:
    """A partner's strictness (``strict`` or ``lenient``) and the problem keys a person accepted."""

    mode: str = LENIENT
    tolerated: frozenset = frozenset()

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"validation mode {self.mode!r} is not one of {', '.join(MODES)}")

    def tolerates(self, problem: Problem, set_id: str = "") -> bool:
        """Return whether ``problem`` (in a transaction set ``set_id``) is noted rather than refused."""
        if problem.level not in TOLERABLE_LEVELS:
            return False
        return self.mode == LENIENT or problem_key(problem, set_id) in self.tolerated


@dataclass
class Assessment:
    """An interchange judged by a policy: the problems that refuse it and those only noted."""

    refused: list = field(default_factory=list)
    noted: list = field(default_factory=list)
    known: list = field(default_factory=list)
    refused_keyed: list = field(default_factory=list)

    def keys(self) -> list[str]:
        """Return the keys of the noted problems, each once, in file order."""
        return list(dict.fromkeys(key for key, _problem in self.noted))

    def new_keys(self) -> list[str]:
        """Return the keys of noted problems nobody accepted for this partner yet."""
        return [key for key in self.keys() if key not in self.known]

    def refusable_keys(self) -> list[str]:
        """Return the keys of refused problems a person could accept (segments and elements only)."""
        return list(dict.fromkeys(key for key, problem in self.refused_keyed if problem.level in TOLERABLE_LEVELS))

    def describe(self) -> str:
        """Return the noted problems, one per line, each with its key."""
        return "\n".join(f"{problem} [{key}]" for key, problem in self.noted)


def _set_ids(interchange: Interchange) -> dict:
    ids = {}
    for group, transaction in interchange.transactions():
        ids[(group.control_number, transaction.control_number)] = transaction.id
    return ids


def assess(interchange: Interchange, policy: ValidationPolicy) -> Assessment:
    """Return which problems of ``interchange`` refuse it under ``policy`` and which are noted."""
    ids = _set_ids(interchange)
    assessment = Assessment(known=sorted(policy.tolerated))
    for problem in interchange.all_problems():
        set_id = ids.get((problem.group_control, problem.transaction_control), "")
        key = problem_key(problem, set_id)
        if policy.tolerates(problem, set_id):
            assessment.noted.append((key, problem))
        else:
            assessment.refused.append(problem)
            assessment.refused_keyed.append((key, problem))
    return assessment


def transaction_status(transaction: TransactionSet, policy: ValidationPolicy | None) -> str:
    """Return the AK5-01 verdict of a transaction set: ``A``, ``E`` (errors noted) or ``R``."""
    if not transaction.problems:
        return "A"
    if policy is not None and all(policy.tolerates(p, transaction.id) for p in transaction.problems):
        return "E"
    return "R"
