"""Workflow kinds and their steps: a small registry, and what a step may answer.

A workflow kind (``return``, ``order``) is an ordered list of steps. Each step names the
method of the workflow's subject record that performs it; the method receives the step and
answers with an outcome:

- ``Done(result)``: the step is complete; ``result`` (JSON-serialisable) is stored on the step
  and never computed again, so a resumed workflow does not redo it;
- ``Wait(reason)``: the step waits for something outside (a picking validated, a payment
  registered); it is tried again when the event that completes it wakes the workflow;
- ``Skip(reason)``: the step does not apply to this subject.

A method that raises a transient error (a ``RetryableJobError``, a retryable channel error)
is tried again with back-off; any other error fails the step and pauses the workflow.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Done:
    result: dict = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class Wait:
    reason: str = ""


@dataclass(frozen=True)
class Skip:
    reason: str = ""


OUTCOMES = (Done, Wait, Skip)


@dataclass(frozen=True)
class StepDefinition:
    """One step of a kind: ``code`` (stable), ``label``, subject ``method``, whether it may ``wait``."""

    code: str
    label: str
    method: str
    waits: bool = False


@dataclass(frozen=True)
class WorkflowKind:
    code: str
    label: str
    model: str
    steps: tuple

    def step(self, code):
        """Return the definition of step ``code``; KeyError naming the known steps when unknown."""
        for step in self.steps:
            if step.code == code:
                return step
        raise KeyError("workflow kind %r has no step %r; its steps: %s" % (
            self.code, code, ", ".join(s.code for s in self.steps)))


_KINDS: dict = {}


def register_kind(code, label, model, steps):
    """Declare (or redeclare, on module reload) a workflow kind; return it.

    ``steps`` are ``StepDefinition`` or ``(code, label, method[, waits])`` tuples, in order.
    """
    defs = tuple(s if isinstance(s, StepDefinition) else StepDefinition(*s) for s in steps)
    if not defs:
        raise ValueError("workflow kind %r declares no step" % code)
    codes = [s.code for s in defs]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError("workflow kind %r declares step(s) %s twice" % (code, ", ".join(duplicates)))
    kind = WorkflowKind(code, label, model, defs)
    _KINDS[code] = kind
    return kind


def kind(code):
    """Return a registered kind; KeyError naming the known kinds when unknown."""
    try:
        return _KINDS[code]
    except KeyError:
        raise KeyError("no workflow kind %r; known kinds: %s" % (code, ", ".join(sorted(_KINDS)) or "none")) from None


def kinds():
    """Return the registered kinds, by code."""
    return [(_KINDS[c].code, _KINDS[c].label) for c in sorted(_KINDS)]

