"""Shopify identifiers: the numeric REST id and the GraphQL global id (``gid://shopify/Order/1``)."""

import re

_GID = re.compile(r"gid://shopify/(?P<kind>\w+)/(?P<number>\d+)(?:\?.*)?")


def to_gid(kind: str, value) -> str:
    """Return the global id of a ``kind`` resource from its numeric id or its global id."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a Shopify {kind} id")
    text = str(value).strip() if value is not None else ""
    match = _GID.fullmatch(text)
    if match:
        if match.group("kind") != kind:
            raise ValueError(f"{text} is not a Shopify {kind} id")
        return text
    if text.isdigit():
        return f"gid://shopify/{kind}/{text}"
    raise ValueError(f"{value!r} is not a Shopify {kind} id")


def numeric_id(value) -> str | None:
    """Return the numeric id, as text, of a global id or a number; None for None or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = str(value).strip()
    match = _GID.fullmatch(text)
    if match:
        return match.group("number")
    if text.isdigit():
        return text
    raise ValueError(f"{value!r} is not a Shopify id")
