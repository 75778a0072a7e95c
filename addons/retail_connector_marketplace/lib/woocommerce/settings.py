"""What a WooCommerce shop's orders name, read from its settings before any order arrives.

An order's tax line carries its rate's label (the rate's ``name``), its payment its gateway's
``id`` (``payment_method``) and its shipping line the method's ``id`` (``method_id``): those are
the values the connector's mappings are keyed on, so those are the values returned here.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

# WooCommerce labels a rate without a name "VAT" in these shops' countries, "Tax" elsewhere
# (``WC_Countries::tax_or_vat``); the rate's own country stands for the shop's here.
VAT_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MC MT NL NO PL PT RO SE SI SK IM".split())


def shop_settings(tax_rates: Iterable[Mapping], gateways: Iterable[Mapping],
                  shipping_methods: Iterable[Mapping]) -> dict:
    """Return ``{"taxes", "payment_gateways", "shipping_methods"}`` from the shop's ``taxes``,
    ``payment_gateways`` (the enabled ones) and ``shipping_methods`` answers.

    A tax is ``{"name", "rate"}`` (``rate`` a fraction as text, ``"0.21"``) with its ``country``
    and ``class``; a gateway or shipping method ``{"code", "name"}`` (its id and title).
    """
    taxes = []
    for rate in tax_rates or ():
        if not isinstance(rate, Mapping):
            continue
        country = str(rate.get("country") or "").upper()
        name = str(rate.get("name") or "").strip() or ("VAT" if country in VAT_COUNTRIES else "Tax")
        taxes.append({"name": name, "rate": _fraction(rate.get("rate")), "country": country or None,
                      "class": rate.get("class") or "standard", "id": rate.get("id")})
    return {
        "taxes": taxes,
        "payment_gateways": [{"code": str(g["id"]), "name": g.get("title") or g.get("method_title") or None}
                             for g in gateways or () if isinstance(g, Mapping) and g.get("id")],
        "shipping_methods": [{"code": str(m["id"]), "name": m.get("title") or None}
                             for m in shipping_methods or () if isinstance(m, Mapping) and m.get("id")],
    }


def _fraction(percent) -> str | None:
    """Return a WooCommerce rate (a percent as text, ``"21.0000"``) as a fraction, ``"0.21"``."""
    try:
        value = Decimal(str(percent).strip()) / 100
    except (InvalidOperation, ValueError):
        return None
    return format(value.normalize(), "f") if value else "0"
