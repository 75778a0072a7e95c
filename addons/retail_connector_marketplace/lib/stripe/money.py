"""Stripe amounts: integers in the currency's smallest unit, as Stripe counts it.

Stripe's exponent is not always ISO 4217's: its zero-decimal currencies include MGA (ISO: 2),
and ISK stays a two-decimal currency in the API (``100`` is one króna) although ISO gives it
none. Three-decimal currencies (BHD, JOD, KWD, OMR, TND) count thousandths.
"""

from decimal import Decimal

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})
# https://docs.stripe.com/currencies#three-decimal
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def exponent(currency: str) -> int:
    """Return the number of decimals Stripe's integer amounts in ``currency`` stand for."""
    code = (currency or "").upper()
    if not code:
        raise ValueError("a Stripe amount needs its currency to be read")
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_decimal(minor, currency: str) -> Decimal:
    """Return the Stripe integer amount ``minor`` in ``currency`` as a Decimal in major units."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ValueError(f"a Stripe amount is a whole number of minor units, not {minor!r}")
    return Decimal(minor).scaleb(-exponent(currency))


def to_minor(amount, currency: str) -> int:
    """Return ``amount`` (major units) as Stripe's integer amount in ``currency``."""
    scaled = Decimal(str(amount)).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency.upper()} has more decimals than Stripe counts")
    return int(scaled)
