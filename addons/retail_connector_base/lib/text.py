# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Text from channels made storable in PostgreSQL.

PostgreSQL refuses a NUL character in text, and UTF-8 has no encoding for a lone UTF-16
surrogate (JSON's ``"\\ud800"`` decodes to one). A name, note or error message carrying either
cannot be written at all: the whole transaction fails, and with it the record of what went
wrong. Every text written from channel data goes through :func:`storable` first.
"""

import re

REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(value):
    """Return ``value`` with NUL characters removed and lone surrogates replaced by U+FFFD.

    Anything that is not text is returned as it is, so that optional values (None, False)
    pass through.
    """
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _SURROGATES.sub(REPLACEMENT, value)


def storable_values(values):
    """Return a copy of a dict of field values with every text made storable."""
    return {key: storable(value) for key, value in values.items()}


def is_storable(value):
    """Return whether text can be stored as it is (no NUL, no lone surrogate)."""
    return storable(value) == value
