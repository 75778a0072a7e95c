"""Pure normalisers: each returns the canonical form of one value or raises ``RuleError``.

``RuleError`` is a ``ValueError`` whose text is the broken rule ("must be >= 0") and whose
``rule`` attribute names it, so the objects can report every invalid field at once.
"""

import math
import re
from datetime import date, datetime, timezone
from decimal import Context, Decimal

import phonenumbers

from .currencies import MINOR_UNITS
from .errors import RuleError

# Amounts and quantities never reach 10**18; a bigger number is a mapping error, and the bound
# keeps Decimal arithmetic exact within the context below.
MAX_ADJUSTED_EXPONENT = 17
QUANTITY_MAX_PLACES = 9
RATE_MAX_PLACES = 6
_CONTEXT = Context(prec=60)

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NOT_FINITE_WORDS = {"nan", "snan", "inf", "infinity"}
_ISO_CODE = {2: re.compile(r"[A-Z]{2}"), 3: re.compile(r"[A-Z]{3}")}
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def normalize_email(value: str) -> str:
    """The address stripped, with its domain lowercased (the local part is case-sensitive)."""
    if not isinstance(value, str):
        raise RuleError("email", "must be text")
    text = value.strip()
    if text.count("@") != 1:
        raise RuleError("email", "must contain exactly one @")
    local, domain = text.split("@")
    domain = domain.lower()
    if not local:
        raise RuleError("email", "must have a name before the @")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise RuleError("email", "must not contain spaces or control characters")
    if len(local) > 64 or len(text) > 254:
        raise RuleError("email", "is too long")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise RuleError("email", "must not start or end with a dot or hold two dots in a row before the @")
    labels = domain.split(".")
    if len(labels) < 2:
        raise RuleError("email", "must have a dotted domain after the @")
    for label in labels:
        # Checked after lowercasing: a few letters lowercase to combining marks, and the
        # result must pass this check again for the function to be idempotent.
        if (
            not label
            or label[0] == "-"
            or label[-1] == "-"
            or not all(ch.isalnum() or ch == "-" for ch in label)
        ):
            raise RuleError("email", "must have a domain of dot-separated letters, digits and hyphens")
    if labels[-1].isdigit():
        raise RuleError("email", "must end with a top-level domain, not a number")
    return f"{local}@{domain}"


def normalize_phone(value: str, default_region: str | None = None) -> str:
    """The number in E.164 (``+14155550123``); ``default_region`` reads numbers without +."""
    if not isinstance(value, str):
        raise RuleError("phone", "must be text")
    text = value.strip()
    if not text:
        raise RuleError("phone", "must not be empty")
    region = default_region.strip().upper() if default_region else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise RuleError("phone", "must start with + and a country code (no country to read it in)") from None
        raise RuleError("phone", "is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise RuleError("phone", "is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_timestamp(value) -> datetime:
    """The instant as an aware UTC datetime, from ISO 8601 text, epoch seconds or a datetime.

    Naive values are refused: a time without offset is read differently by every system that
    handles it, and the canonical objects are exchanged between several.
    """
    if isinstance(value, bool):
        raise RuleError("timestamp", "must be ISO 8601 text, epoch seconds or a datetime")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise RuleError("timestamp", "must be a finite number of epoch seconds")
        try:
            moment = datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RuleError("timestamp", "is out of range") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RuleError("timestamp", "must be ISO 8601, e.g. 2024-05-01T12:00:00Z") from None
    elif isinstance(value, date):
        raise RuleError("timestamp_naive", "must have a time and a UTC offset, not only a date")
    else:
        raise RuleError("timestamp", "must be ISO 8601 text, epoch seconds or a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RuleError("timestamp_naive", "must carry a UTC offset or Z (a naive time is ambiguous)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise RuleError("timestamp", "is out of range") from None


def parse_date(value) -> date:
    """The calendar date, from ``YYYY-MM-DD`` text or a ``date`` (not a datetime)."""
    if isinstance(value, datetime):
        # Which day a datetime falls on depends on a time zone the caller has not given.
        raise RuleError("date", "must be a calendar date (YYYY-MM-DD), not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RuleError("date", "must be a calendar date (YYYY-MM-DD)")


def parse_decimal(value, max_places: int | None = None) -> Decimal:
    """The number as a finite Decimal of any sign, from text, int, Decimal or float.

    A float is read through ``repr`` (its shortest decimal form), so 0.1 gives Decimal("0.1")
    rather than the binary expansion 0.1000000000000000055511151231257827...
    """
    if isinstance(value, bool):
        raise RuleError("number", "must be a number, not true/false")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if text.lower().lstrip("+-") in _NOT_FINITE_WORDS:
            raise RuleError("finite", "must be a finite number")
        # Decimal() also takes "1_000" and surrounding text we do not want to guess about.
        if not _NUMBER.fullmatch(text):
            raise RuleError("number", "must be a decimal number such as 12.50")
        number = Decimal(text)
    else:
        raise RuleError("number", "must be a number or decimal text")
    if not number.is_finite():
        raise RuleError("finite", "must be a finite number")
    if number.is_zero():
        return Decimal(0)
    if number.adjusted() > MAX_ADJUSTED_EXPONENT:
        raise RuleError("range", f"must be less than 10^{MAX_ADJUSTED_EXPONENT + 1}")
    if max_places is not None and _places(number) > max_places:
        raise RuleError("precision", f"must have at most {max_places} decimals")
    return number


def parse_amount(value, currency: str | None) -> Decimal:
    """The amount as a Decimal with exactly the currency's decimals (``"10"`` USD -> 10.00).

    More significant decimals than the currency has (12.345 USD) is an error: rounding would
    silently change money. With ``currency`` None the amount is only checked to be a number.
    """
    number = parse_decimal(value)
    if currency is None:
        return number
    code = normalize_currency(currency)
    places = MINOR_UNITS[code]
    quantized = number.quantize(Decimal(1).scaleb(-places), context=_CONTEXT)
    if quantized != number:
        raise RuleError("precision", f"has more decimals than {code} allows ({places})")
    return quantized


def parse_quantity(value) -> Decimal:
    """The quantity as a Decimal >= 0 without trailing zeros (``"2.50"`` -> 2.5, ``"3.0"`` -> 3)."""
    number = parse_decimal(value, max_places=QUANTITY_MAX_PLACES)
    if number < 0:
        raise RuleError("min_value", "must be >= 0")
    return _strip_zeros(number)


def parse_signed_quantity(value) -> Decimal:
    """Like ``parse_quantity`` but negative values are kept (an oversold stock level)."""
    return _strip_zeros(parse_decimal(value, max_places=QUANTITY_MAX_PLACES))


def parse_rate(value) -> Decimal:
    """A tax rate as a fraction >= 0 (0.2 for 20 %), without trailing zeros."""
    number = parse_decimal(value, max_places=RATE_MAX_PLACES)
    if number < 0:
        raise RuleError("min_value", "must be >= 0")
    return _strip_zeros(number)


def normalize_currency(code: str) -> str:
    """The ISO 4217 alphabetic code in upper case; codes not in use are refused."""
    if not isinstance(code, str):
        raise RuleError("currency", "must be a 3-letter ISO 4217 code")
    text = code.strip().upper()
    if not _ISO_CODE[3].fullmatch(text):
        raise RuleError("currency", "must be a 3-letter ISO 4217 code")
    if text not in MINOR_UNITS:
        raise RuleError("currency", "is not an ISO 4217 currency in use")
    return text


def normalize_country(code: str) -> str:
    """The ISO 3166-1 alpha-2 country code in upper case (two letters)."""
    if not isinstance(code, str):
        raise RuleError("country", "must be a 2-letter ISO 3166 country code")
    text = code.strip().upper()
    if not _ISO_CODE[2].fullmatch(text):
        raise RuleError("country", "must be a 2-letter ISO 3166 country code")
    return text


def normalize_language(tag: str) -> str:
    """The language as a BCP 47 tag: ``en_us`` -> ``en-US``, ``ZH-hant-tw`` -> ``zh-Hant-TW``."""
    if not isinstance(tag, str) or not _LANGUAGE.fullmatch(tag.strip()):
        raise RuleError("language", "must be a language tag such as en or en-US")
    first, *rest = re.split(r"[-_]", tag.strip())
    parts = [first.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # region
        else:
            parts.append(part.lower())
    return "-".join(parts)


def _places(number: Decimal) -> int:
    """How many significant decimals ``number`` has (trailing zeros do not count)."""
    exponent = number.normalize(_CONTEXT).as_tuple().exponent
    return max(0, -exponent)


def _strip_zeros(number: Decimal) -> Decimal:
    """``number`` without trailing decimal zeros, and never in exponent form."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1), context=_CONTEXT)
    return number.normalize(_CONTEXT)
