"""Errors raised by the canonical objects: every invalid field, with its path and rule."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class RuleError(ValueError):
    """A value breaks ``rule`` (a short identifier); ``str(exc)`` is the rule's text.

    Normalisers raise it so that a caller collecting errors can record which rule failed
    without parsing messages; it is a ``ValueError`` for every other caller.
    """

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is, what it held, which rule it broke and why."""

    path: str
    value: Any
    rule: str
    message: str

    def __str__(self) -> str:
        path = self.path or "<root>"
        if self.rule == "required":
            return f"{path}: {self.message}"
        return f"{path}: {_show(self.value)} is invalid ({self.message})"


class CanonicalValidationError(ValueError):
    """The data does not make a valid canonical object; ``errors`` lists every invalid field."""

    def __init__(self, errors: list[FieldError], schema: str | None = None):
        self.errors = list(errors)
        self.schema = schema
        super().__init__(self._render())

    def _render(self) -> str:
        what = f"invalid {self.schema}" if self.schema else "invalid data"
        count = len(self.errors)
        head = f"{what}: {count} error{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  {error}" for error in self.errors)])

    @property
    def paths(self) -> list[str]:
        """The paths of the invalid fields, in the order they were found."""
        return [error.path for error in self.errors]


def _show(value: Any) -> str:
    """A short readable form: numbers bare, text quoted, long values cut."""
    if isinstance(value, bool) or value is None:
        text = repr(value)
    elif isinstance(value, (int, float, Decimal)):
        text = str(value)
    else:
        text = repr(value)
    # Payloads can hold whole documents; a message line should stay readable.
    return text if len(text) <= 80 else text[:77] + "..."
