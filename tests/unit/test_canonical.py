"""Canonical objects and normalisers: what they accept, how they normalise, what they report."""

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from retail_connector_base_lib.canonical import (
    ACTIVE_CODES,
    CANONICAL_CLASSES,
    MINOR_UNITS,
    PAYOUT_LINE_TYPES,
    SCHEMA_VERSION,
    Address,
    CanonicalValidationError,
    Customer,
    FieldError,
    Order,
    OrderLine,
    Payout,
    Price,
    Product,
    Refund,
    Return,
    Shipment,
    StockLevel,
    normalize_country,
    normalize_currency,
    normalize_email,
    normalize_language,
    normalize_phone,
    parse_amount,
    parse_date,
    parse_quantity,
    parse_timestamp,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
UTC = timezone.utc
# Regions with an example number, and that number in every format a shopper might type.
PHONE_REGIONS = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r))
PHONE_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
PHONE_FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
)
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def minimal_order(**overrides):
    data = {
        "external_id": "1001",
        "created_at": "2024-05-01T12:00:00Z",
        "currency": "EUR",
        "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "10.00"}],
    }
    data.update(overrides)
    return data


def errors_of(cls, data, **kwargs):
    with pytest.raises(CanonicalValidationError) as info:
        cls.from_dict(data, **kwargs)
    return info.value


def rules_by_path(exc):
    return {error.path: error.rule for error in exc.errors}


# ---------------------------------------------------------------------------------------------
# normalize_email
# ---------------------------------------------------------------------------------------------

def test_email_is_stripped_and_its_domain_lowercased():
    assert normalize_email("  Jane.Doe@Example.COM\n") == "Jane.Doe@example.com"


@pytest.mark.parametrize("value", [
    "", "jane", "jane@", "@example.com", "jane@@example.com", "jane@doe@example.com",
    "jane@localhost", "jane doe@example.com", "jane@exa mple.com", "jane@example..com",
    "jane@-example.com", "jane@example-.com", ".jane@example.com", "jane.@example.com",
    "ja..ne@example.com", "jane@1.2.3.4", "jane@example.com.", 42, None,
])
def test_email_rejects_malformed_addresses(value):
    with pytest.raises(ValueError) as info:
        normalize_email(value)
    assert info.value.rule == "email"


@given(st.emails())
def test_email_accepts_generated_addresses(address):
    assume(len(address) <= 254)
    local, domain = address.split("@")
    result = normalize_email(f"  {local}@{domain.upper()} ")
    assert result == f"{local}@{domain.lower()}"
    assert normalize_email(result) == result


_label = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)


@given(local=st.text(min_size=1, max_size=10), labels=st.lists(_label, min_size=1, max_size=3))
def test_email_is_idempotent_on_anything_it_accepts(local, labels):
    try:
        once = normalize_email(local + "@" + ".".join(labels))
    except ValueError:
        return
    assert normalize_email(once) == once
    assert once.count("@") == 1 and "." in once.split("@")[1]


# ---------------------------------------------------------------------------------------------
# normalize_phone
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, region, expected", [
    ("+1 650-253-0000", None, "+16502530000"),
    ("(650) 253-0000", "US", "+16502530000"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("06 12 34 56 78", "fr", "+33612345678"),
    ("+33 6 12 34 56 78", "US", "+33612345678"),
    ("0121 234 5678", "GB", "+441212345678"),
])
def test_phone_is_formatted_e164(value, region, expected):
    assert normalize_phone(value, region) == expected


@pytest.mark.parametrize("value, region", [
    ("06 12 34 56 78", None),  # national number and no region to read it in
    ("+1 555", None),
    ("+33 1", None),
    ("not a phone", "FR"),
    ("", "FR"),
    (33612345678, "FR"),
])
def test_phone_rejects_invalid_numbers(value, region):
    with pytest.raises(ValueError) as info:
        normalize_phone(value, region)
    assert info.value.rule == "phone"


@SLOW
@given(region=st.sampled_from(PHONE_REGIONS), kind=st.sampled_from(PHONE_TYPES), fmt=st.sampled_from(PHONE_FORMATS))
def test_phone_example_numbers_normalise_to_e164_idempotently(region, kind, fmt):
    number = phonenumbers.example_number_for_type(region, kind)
    assume(number is not None and phonenumbers.is_valid_number(number))
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    result = normalize_phone(phonenumbers.format_number(number, fmt), region)
    assert result == expected
    assert E164.match(result)
    assert normalize_phone(result) == result
    assert normalize_phone(result, "US") == result


@SLOW
@given(text=st.text(alphabet="+0123456789 -().", min_size=1, max_size=20), region=st.sampled_from(PHONE_REGIONS))
def test_phone_output_is_e164_and_idempotent_for_any_accepted_text(text, region):
    try:
        result = normalize_phone(text, region)
    except ValueError:
        return
    assert E164.match(result)
    assert normalize_phone(result) == result


# ---------------------------------------------------------------------------------------------
# parse_timestamp and parse_date
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T14:30:00+02:30", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T07:00:00.250-05:00", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    (0, datetime(1970, 1, 1, tzinfo=UTC)),
    (1714564800, datetime(2024, 5, 1, 12, tzinfo=UTC)),
    (1714564800.5, datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    (datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))), datetime(2024, 5, 1, 12, tzinfo=UTC)),
])
def test_timestamp_is_parsed_to_utc(value, expected):
    result = parse_timestamp(value)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize("value", ["2024-05-01T12:00:00", "2024-05-01", datetime(2024, 5, 1, 12), date(2024, 5, 1)])
def test_timestamp_rejects_naive_values(value):
    with pytest.raises(ValueError) as info:
        parse_timestamp(value)
    assert info.value.rule == "timestamp_naive"
    assert "offset" in str(info.value)


@pytest.mark.parametrize("value", ["yesterday", "", "2024-13-01T00:00:00Z", True, None, float("nan"), 10**20, [1]])
def test_timestamp_rejects_garbage(value):
    with pytest.raises(ValueError) as info:
        parse_timestamp(value)
    assert info.value.rule == "timestamp"


aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2200, 12, 30),
    timezones=st.builds(timezone, st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))),
)


@given(aware_datetimes)
def test_timestamp_of_aware_datetime_is_the_same_instant_in_utc(moment):
    for value in (moment, moment.isoformat()):
        result = parse_timestamp(value)
        assert result.utcoffset() == timedelta(0)
        assert result == moment
        assert result.replace(tzinfo=None) == (moment - moment.utcoffset()).replace(tzinfo=None)


@given(st.integers(min_value=-(2**31), max_value=2**34))
def test_timestamp_of_epoch_seconds(seconds):
    result = parse_timestamp(seconds)
    assert result.tzinfo is UTC
    assert result == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_timestamp_rejects_every_naive_datetime(moment):
    for value in (moment, moment.isoformat()):
        with pytest.raises(ValueError):
            parse_timestamp(value)


def test_date_accepts_iso_dates_only():
    assert parse_date("2024-05-01") == date(2024, 5, 1)
    assert parse_date(date(2024, 5, 1)) == date(2024, 5, 1)
    for value in ("01/05/2024", datetime(2024, 5, 1, tzinfo=UTC), 20240501):
        with pytest.raises(ValueError):
            parse_date(value)


# ---------------------------------------------------------------------------------------------
# parse_amount, parse_quantity, currencies, countries, languages
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, currency, expected", [
    ("10", "USD", "10.00"),
    ("10.5", "usd", "10.50"),
    (" 1.20 ", "EUR", "1.20"),
    (7, "EUR", "7.00"),
    (Decimal("3.1"), "EUR", "3.10"),
    (0.1, "EUR", "0.10"),  # read through repr: no binary expansion
    ("1000", "JPY", "1000"),
    ("1000.00", "JPY", "1000"),  # trailing zeros are not extra precision
    ("1.234", "KWD", "1.234"),
    ("1.2345", "CLF", "1.2345"),
    ("-4.50", "EUR", "-4.50"),
    ("1e3", "EUR", "1000.00"),
    ("-0", "EUR", "0.00"),
])
def test_amount_is_quantized_to_the_currency(value, currency, expected):
    result = parse_amount(value, currency)
    assert format(result, "f") == expected
    assert result == Decimal(expected)


@pytest.mark.parametrize("value, currency, rule", [
    ("10.005", "USD", "precision"),
    ("10.5", "JPY", "precision"),
    (0.001, "EUR", "precision"),
    ("NaN", "EUR", "finite"),
    ("-Infinity", "EUR", "finite"),
    (float("inf"), "EUR", "finite"),
    (Decimal("NaN"), "EUR", "finite"),
    ("1,000.00", "EUR", "number"),
    ("1_000", "EUR", "number"),
    ("ten", "EUR", "number"),
    (True, "EUR", "number"),
    ([1], "EUR", "number"),
    ("1e30", "EUR", "range"),
    ("10", "EURO", "currency"),
    ("10", "XAU", "currency"),
])
def test_amount_rejects(value, currency, rule):
    with pytest.raises(ValueError) as info:
        parse_amount(value, currency)
    assert info.value.rule == rule


def test_amount_precision_message_names_the_currency():
    with pytest.raises(ValueError, match=r"more decimals than USD allows \(2\)"):
        parse_amount("1.001", "USD")


@st.composite
def currency_amounts(draw):
    code = draw(st.sampled_from(sorted(MINOR_UNITS)))
    amount = draw(st.decimals(
        min_value=-(10**12), max_value=10**12, places=MINOR_UNITS[code], allow_nan=False, allow_infinity=False,
    ))
    return code, amount


@given(currency_amounts())
def test_amount_round_trips_with_the_currency_exponent(pair):
    code, amount = pair
    for value in (amount, str(amount), format(amount, "f")):
        result = parse_amount(value, code)
        assert result == amount
        assert result.as_tuple().exponent == -MINOR_UNITS[code]
        assert parse_amount(format(result, "f"), code) == result
    finer = amount + Decimal(1).scaleb(-(MINOR_UNITS[code] + 1))
    with pytest.raises(ValueError):
        parse_amount(finer, code)


@pytest.mark.parametrize("value, expected", [("2", "2"), ("2.50", "2.5"), ("3.000", "3"), (4, "4"), ("1e3", "1000"), ("0", "0")])
def test_quantity_is_normalised(value, expected):
    assert format(parse_quantity(value), "f") == expected


@pytest.mark.parametrize("value, rule", [("-1", "min_value"), (-0.5, "min_value"), ("nan", "finite"), ("1.0000000001", "precision"), ("", "number")])
def test_quantity_rejects(value, rule):
    with pytest.raises(ValueError) as info:
        parse_quantity(value)
    assert info.value.rule == rule


@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_quantity_round_trips_through_text(quantity):
    result = parse_quantity(str(quantity))
    assert result == quantity
    text = format(result, "f")
    assert "E" not in text and parse_quantity(text) == result


def test_currency_table():
    assert normalize_currency(" eur ") == "EUR"
    assert MINOR_UNITS["JPY"] == 0 and MINOR_UNITS["KWD"] == 3 and MINOR_UNITS["CLF"] == 4
    assert {"USD", "EUR", "GBP", "ZWG", "SLE"} <= ACTIVE_CODES
    assert all(re.fullmatch(r"[A-Z]{3}", code) and units in (0, 2, 3, 4) for code, units in MINOR_UNITS.items())
    for value in ("EU", "EURO", "XXX", "XAU", "ABC", 978, None):
        with pytest.raises(ValueError):
            normalize_currency(value)


def test_country_and_language():
    assert normalize_country(" fr ") == "FR"
    for value in ("FRA", "F", "1A", "", None):
        with pytest.raises(ValueError):
            normalize_country(value)
    assert normalize_language("en_us") == "en-US"
    assert normalize_language("ZH-hant-tw") == "zh-Hant-TW"
    assert normalize_language("fr") == "fr"
    for value in ("e", "english!", "en--US", ""):
        with pytest.raises(ValueError):
            normalize_language(value)


# ---------------------------------------------------------------------------------------------
# Order: reading, normalising, writing
# ---------------------------------------------------------------------------------------------

FULL_ORDER = {
    "external_id": 5500123,
    "name": "#1042",
    "created_at": "2024-05-01T14:00:00+02:00",
    "updated_at": 1714572000,
    "currency": "eur",
    "customer": {
        "external_id": "c-9",
        "email": " Anne@Example.FR ",
        "phone": "+33 6 12 34 56 78",
        "first_name": "Anne",
        "language": "fr_fr",
        "accepts_marketing": True,
    },
    "billing_address": {"first_name": "Anne", "street": "1 rue de Rivoli", "city": "Paris", "zip": "75001",
                        "country_code": "fr"},
    "shipping_address": {"first_name": "Anne", "city": "Bruxelles", "country_code": "BE", "phone": "012 34 56 78",
                         "state_code": "bru"},
    "lines": [
        {"external_id": 1, "sku": "TSHIRT-M", "name": "T-shirt M", "quantity": "2", "unit_price": "19.9",
         "discount_amount": "2", "tax_lines": [{"name": "TVA", "rate": "0.20", "amount": "6.30"}],
         "gift_wrap": True},
        {"barcode": "3760000000001", "quantity": 1, "unit_price": 5},
    ],
    "shipping_lines": [{"code": "colissimo", "name": "Colissimo", "price": "4.90"}],
    "discount_lines": [{"code": "SPRING", "amount": "4.00"}],
    "tax_lines": [{"name": "TVA", "rate": "0.2", "amount": "7.97"}],
    "taxes_included": True,
    "payment_state": "PAID",
    "payment_gateway": "stripe",
    "payments": [{"gateway": "stripe", "kind": "sale", "status": "success", "amount": "47.80",
                  "processed_at": "2024-05-01T12:01:00Z"}],
    "status": "open",
    "subtotal_amount": "44.80",
    "shipping_amount": "4.90",
    "discount_amount": "4",
    "tax_amount": "7.97",
    "total_amount": "47.80",
    "note": "  Leave at the door  ",
    "tags": [" vip ", "gift", 2024],
    "source_name": "web",
}


def test_order_is_read_and_normalised():
    order = Order.from_dict(FULL_ORDER)
    assert order.external_id == "5500123"
    assert order.created_at == datetime(2024, 5, 1, 12, tzinfo=UTC) and order.created_at.tzinfo is UTC
    assert order.updated_at == datetime(2024, 5, 1, 14, tzinfo=UTC)
    assert order.currency == "EUR"
    assert order.customer.email == "Anne@example.fr"
    assert order.customer.phone == "+33612345678"
    # An address's national number is read in the address's own country.
    assert order.shipping_address.phone == "+3212345678"
    assert order.shipping_address.state_code == "BRU"
    assert order.billing_address.country_code == "FR"
    assert order.customer.language == "fr-FR"
    assert order.lines[0].quantity == 2 and format(order.lines[0].unit_price, "f") == "19.90"
    assert format(order.lines[1].discount_amount, "f") == "0.00"
    assert order.lines[0].tax_lines[0].rate == Decimal("0.2")
    assert order.lines[0].extra == {"gift_wrap": True}
    assert order.payment_state == "paid"
    assert order.taxes_included is True
    assert order.note == "Leave at the door"
    assert order.tags == ["vip", "gift", "2024"]
    assert order.extra == {"source_name": "web"}
    assert Order.SCHEMA == "order"


def test_customer_phone_is_read_in_the_shipping_country():
    data = minimal_order(customer={"phone": "06 12 34 56 78"}, shipping_address={"country_code": "FR"})
    assert Order.from_dict(data).customer.phone == "+33612345678"
    # Without any country, a national number cannot be read...
    exc = errors_of(Order, minimal_order(customer={"phone": "06 12 34 56 78"}))
    assert rules_by_path(exc) == {"customer.phone": "phone"}
    # ...unless the caller says where the channel is.
    assert Order.from_dict(minimal_order(customer={"phone": "06 12 34 56 78"}), default_region="FR").customer.phone \
        == "+33612345678"


def test_order_to_dict_is_json_with_text_decimals_and_utc_times():
    data = Order.from_dict(FULL_ORDER).to_dict()
    assert data["schema"] == "order" and data["schema_version"] == SCHEMA_VERSION == 1
    assert data["created_at"] == "2024-05-01T12:00:00Z"
    assert data["payments"][0]["processed_at"] == "2024-05-01T12:01:00Z"
    assert data["lines"][0]["unit_price"] == "19.90"
    assert data["lines"][0]["quantity"] == "2"
    assert data["discount_amount"] == "4.00"
    assert data["extra"] == {"source_name": "web"}
    json.dumps(data)  # no Decimal, datetime or other non-JSON value anywhere


def test_order_round_trips():
    order = Order.from_dict(FULL_ORDER)
    data = order.to_dict()
    assert Order.from_dict(data) == order
    assert Order.from_dict(json.loads(json.dumps(data))).to_dict() == data


def test_order_reports_every_error_with_its_path():
    data = minimal_order(
        customer={"email": "anne.example.com"},
        lines=[
            {"sku": "A", "quantity": 1, "unit_price": "1.00"},
            {"sku": "B", "quantity": 1, "unit_price": "1.00"},
            {"sku": "C", "quantity": -1, "unit_price": "1.00"},
        ],
    )
    exc = errors_of(Order, data)
    assert rules_by_path(exc) == {"customer.email": "email", "lines[2].quantity": "min_value"}
    assert exc.paths == ["customer.email", "lines[2].quantity"]
    assert all(isinstance(error, FieldError) for error in exc.errors)
    assert "lines[2].quantity: -1 is invalid (must be >= 0)" in str(exc)
    assert "customer.email: 'anne.example.com' is invalid (must contain exactly one @)" in str(exc)
    assert str(exc).startswith("invalid order: 2 errors")


def test_order_collects_errors_across_the_whole_tree():
    data = {
        "schema_version": 1,
        "created_at": "2024-05-01T12:00:00",  # naive
        "currency": "EUR",
        "shipping_address": {"country_code": "FRA", "phone": "+33 1"},
        "lines": [
            {"sku": "A", "quantity": 0, "unit_price": "1.001"},
            {"quantity": "2", "unit_price": "-1"},
            "not a line",
        ],
        "shipping_lines": [{"price": "x"}],
        "payment_state": "settled",
        "taxes_included": "yes",
    }
    assert rules_by_path(errors_of(Order, data)) == {
        "external_id": "required",
        "created_at": "timestamp_naive",
        "shipping_address.country_code": "country",
        "shipping_address.phone": "phone",
        "lines[0].quantity": "positive",
        "lines[0].unit_price": "precision",
        "lines[1].unit_price": "min_value",
        "lines[1].sku": "required",
        "lines[2]": "type",
        "shipping_lines[0].price": "number",
        "payment_state": "choice",
        "taxes_included": "type",
    }


def test_order_needs_a_currency_and_a_line():
    exc = errors_of(Order, minimal_order(currency=None, lines=[]))
    assert rules_by_path(exc) == {"currency": "required", "lines": "min_items"}
    assert "currency: is required" in str(exc)


def test_amounts_are_checked_against_the_order_currency():
    line = {"sku": "A", "quantity": 1, "unit_price": "1500.5"}
    exc = errors_of(Order, minimal_order(currency="JPY", lines=[line]))
    assert rules_by_path(exc) == {"lines[0].unit_price": "precision"}
    assert Order.from_dict(minimal_order(currency="KWD", lines=[line])).lines[0].unit_price == Decimal("1500.500")
    # A line read on its own uses the currency it is given.
    assert errors_of(OrderLine, line, currency="JPY").paths == ["unit_price"]
    assert OrderLine.from_dict(line).unit_price == Decimal("1500.5")


def test_newer_schema_version_and_other_schema_are_refused():
    exc = errors_of(Order, minimal_order(schema_version=SCHEMA_VERSION + 1))
    assert [(e.path, e.rule) for e in exc.errors] == [("schema_version", "schema_version")]
    assert "schema_version: 2 is invalid (must be <= 1" in str(exc)
    assert errors_of(Order, minimal_order(schema_version="1")).errors[0].rule == "schema_version"
    assert rules_by_path(errors_of(Order, minimal_order(schema="product"))) == {"schema": "schema"}
    assert Order.from_dict(minimal_order(schema="order", schema_version=1)).extra == {}


def test_unknown_keys_are_kept_in_extra():
    data = minimal_order(
        channel_flags={"fraud": "low", "score": 0.2},
        extra={"kept": [1, 2]},
        lines=[{"sku": "A", "quantity": 1, "unit_price": 1, "properties": [{"name": "engraving", "value": "J"}]}],
    )
    order = Order.from_dict(data)
    assert order.extra == {"kept": [1, 2], "channel_flags": {"fraud": "low", "score": 0.2}}
    assert order.lines[0].extra == {"properties": [{"name": "engraving", "value": "J"}]}
    again = Order.from_dict(order.to_dict())
    assert again.extra == order.extra and again.lines[0].extra == order.lines[0].extra


def test_extra_values_are_stored_as_json():
    order = Order.from_dict(minimal_order(weight=Decimal("1.50"), seen=datetime(2024, 1, 1, tzinfo=UTC)))
    assert order.extra == {"weight": "1.50", "seen": "2024-01-01T00:00:00Z"}
    exc = errors_of(Order, minimal_order(blob=object(), ratio=float("nan"), extra="x"))
    assert rules_by_path(exc) == {"extra": "type", "extra.blob": "json", "extra.ratio": "json"}


def test_not_a_mapping_is_one_error():
    exc = errors_of(Order, ["not", "an", "order"])
    assert [(e.path, e.rule) for e in exc.errors] == [("", "type")]
    assert "<root>" in str(exc)


# ---------------------------------------------------------------------------------------------
# Other objects
# ---------------------------------------------------------------------------------------------

SAMPLES = {
    "address": {"street": "1 Main St", "city": "Springfield", "country_code": "us", "phone": "(650) 253-0000"},
    "customer": {"external_id": 7, "email": "a@b.co", "addresses": [{"country_code": "GB", "zip": "SW1A 1AA"}]},
    "tax_line": {"name": "VAT", "rate": "0.2", "amount": "2"},
    "discount_line": {"code": "X", "amount": "1"},
    "shipping_line": {"name": "Express", "price": "9.99", "tax_lines": [{"amount": "2"}]},
    "payment": {"gateway": "adyen", "kind": "capture", "status": "success", "currency": "USD", "amount": "5"},
    "order_line": {"sku": "A", "quantity": "1.5", "unit_price": "2"},
    "order": FULL_ORDER,
    "variant": {"external_id": "v1", "sku": "A-M", "currency": "EUR", "price": "10", "attributes": {"Size": "M"}},
    "product": {"external_id": "p1", "name": "Tee", "currency": "EUR", "price": "10", "active": False,
                "variants": [{"external_id": "v1", "price": "11.5", "attributes": {"Size": " L "}}]},
    "price": {"sku": "A", "currency": "GBP", "amount": "3", "pricelist": "VIP", "min_quantity": 10,
              "starts_at": "2024-01-01T00:00:00Z", "ends_at": "2024-02-01T00:00:00Z"},
    "stock_level": {"sku": "A", "location_external_id": 12, "quantity": "4", "available": "-2",
                    "updated_at": "2024-05-01T00:00:00+00:00"},
    "lot_quantity": {"lot": "L-7", "quantity": "3"},
    "shipment_line": {"sku": "A", "quantity": 2, "lots": ["L1", "SN-2"], "package": "00012345600000000017",
                      "lot_quantities": [{"lot": "L1", "quantity": 1}], "damaged_quantity": 1},
    "shipment": {"order_external_id": "1001", "picking_reference": "WH/OUT/00012", "carrier": "UPS",
                 "tracking_numbers": ["1Z999"], "shipped_at": "2024-05-02T08:00:00Z",
                 "lines": [{"sku": "A", "quantity": 1, "lots": ["SN-1"]}]},
    "return_line": {"order_line_external_id": "11", "quantity": 1, "reason": "too small", "restock": True},
    "return": {"order_external_id": "1001", "status": "received", "currency": "EUR", "refund_amount": "19.90",
               "lines": [{"sku": "A", "quantity": 1}]},
    "refund": {"external_id": "r1", "order_external_id": "1001", "currency": "EUR", "amount": "12.50",
               "created_at": "2024-05-04T10:00:00Z", "reason": "damaged",
               "lines": [{"sku": "A", "quantity": 1, "amount": "10", "restock": True}]},
    "payout_line": {"type": "charge", "amount": "100", "fee": "3.2", "order_external_id": "1001"},
    "payout": {"external_id": "po_1", "date": "2024-05-03", "currency": "USD", "amount": "-12.5", "status": "paid",
               "lines": [{"type": "refund", "amount": "-12.5"}]},
}


def test_every_class_has_a_sample_and_a_schema_name():
    assert {cls.SCHEMA for cls in CANONICAL_CLASSES} == set(SAMPLES)


@pytest.mark.parametrize("cls", CANONICAL_CLASSES, ids=lambda cls: cls.SCHEMA)
def test_every_class_round_trips(cls):
    obj = cls.from_dict(SAMPLES[cls.SCHEMA], currency="EUR")
    data = obj.to_dict()
    assert data["schema"] == cls.SCHEMA and data["schema_version"] == SCHEMA_VERSION
    restored = cls.from_dict(json.loads(json.dumps(data)), currency="EUR")
    assert restored == obj
    assert restored.to_dict() == data


@pytest.mark.parametrize("cls", CANONICAL_CLASSES, ids=lambda cls: cls.SCHEMA)
def test_every_class_refuses_a_newer_schema_version(cls):
    exc = errors_of(cls, {**SAMPLES[cls.SCHEMA], "schema_version": 99}, currency="EUR")
    assert rules_by_path(exc) == {"schema_version": "schema_version"}


def test_product_variants_use_the_product_currency():
    product = Product.from_dict(SAMPLES["product"])
    assert product.active is False and product.variants[0].active is True
    assert format(product.variants[0].price, "f") == "11.50"
    assert product.variants[0].attributes == {"Size": "L"}
    exc = errors_of(Product, {**SAMPLES["product"], "currency": "JPY"})
    assert rules_by_path(exc) == {"variants[0].price": "precision"}
    exc = errors_of(Product, {"external_id": "p", "name": "Tee", "price": "10"})
    assert rules_by_path(exc) == {"currency": "required"}


def test_price_window_must_be_ordered():
    data = {**SAMPLES["price"], "ends_at": "2023-12-31T00:00:00Z"}
    assert rules_by_path(errors_of(Price, data)) == {"ends_at": "after"}


def test_stock_level_keeps_oversold_availability_but_not_negative_stock():
    level = StockLevel.from_dict(SAMPLES["stock_level"])
    assert level.available == -2 and level.quantity == 4 and level.location_external_id == "12"
    assert rules_by_path(errors_of(StockLevel, {"sku": "A", "quantity": -1})) == {"quantity": "min_value"}
    assert rules_by_path(errors_of(StockLevel, {"sku": "A"})) == {"quantity": "required"}
    # Small and large quantities are written in plain decimals, never in exponent form.
    data = StockLevel.from_dict({"sku": "A", "quantity": "0.000000125", "available": "2E+6"}).to_dict()
    assert (data["quantity"], data["available"]) == ("0.000000125", "2000000")


def test_shipment_lines_and_tracking():
    shipment = Shipment.from_dict(SAMPLES["shipment"])
    assert shipment.tracking_numbers == ["1Z999"] and shipment.lines[0].lots == ["SN-1"]
    exc = errors_of(Shipment, {"order_external_id": "1", "tracking_numbers": ["ok", ""],
                               "lines": [{"quantity": 1}, {"sku": "B", "quantity": 1, "lots": "SN"}]})
    assert rules_by_path(exc) == {"tracking_numbers": "type", "lines[0].sku": "required", "lines[1].lots": "type"}
    assert rules_by_path(errors_of(Shipment, {"order_external_id": "1"})) == {"lines": "min_items"}


def test_return_defaults_and_rules():
    ret = Return.from_dict({"order_external_id": "1", "lines": [{"sku": "A", "quantity": 1}]})
    assert ret.status == "requested" and ret.lines[0].restock is False and ret.refund_amount is None
    exc = errors_of(Return, {"order_external_id": "1", "refund_amount": "5", "status": "lost",
                             "lines": [{"sku": "A", "quantity": 1, "restock": "yes"}]})
    assert rules_by_path(exc) == {"currency": "required", "status": "choice", "lines[0].restock": "type"}


def test_refund_may_give_money_back_without_goods():
    refund = Refund.from_dict({"external_id": "r", "order_external_id": "1", "currency": "JPY", "amount": "500"})
    assert refund.lines == [] and refund.amount == Decimal("500")
    exc = errors_of(Refund, {"order_external_id": "1", "currency": "JPY", "amount": "-1",
                             "lines": [{"sku": "A", "quantity": 1, "amount": "1.5"}]})
    assert rules_by_path(exc) == {"external_id": "required", "amount": "min_value", "lines[0].amount": "precision"}


def test_payout_lines_net_and_types():
    payout = Payout.from_dict(SAMPLES["payout"])
    assert payout.date == date(2024, 5, 3) and payout.amount == Decimal("-12.50")
    assert payout.lines[0].fee == 0 and payout.lines[0].net == Decimal("-12.50")
    line = Payout.from_dict({**SAMPLES["payout"], "lines": [SAMPLES["payout_line"]]}).lines[0]
    assert format(line.net, "f") == "96.80"
    explicit = {"type": "fee", "amount": "0", "fee": "1", "net": "-1"}
    assert Payout.from_dict({**SAMPLES["payout"], "lines": [explicit]}).lines[0].net == -1
    assert set(PAYOUT_LINE_TYPES) >= {"charge", "refund", "fee", "adjustment", "dispute", "chargeback",
                                      "transfer", "currency_conversion"}
    exc = errors_of(Payout, {**SAMPLES["payout"], "date": "2024-05-03T00:00:00Z",
                             "lines": [{"type": "bonus", "amount": "1.234"}]})
    assert rules_by_path(exc) == {"date": "date", "lines[0].type": "choice", "lines[0].amount": "precision"}


def test_address_phone_uses_its_own_country():
    assert Address.from_dict(SAMPLES["address"]).phone == "+16502530000"
    assert Customer.from_dict({"phone": "020 7946 0018", "addresses": [{"country_code": "GB"}]}).phone \
        == "+442079460018"


# ---------------------------------------------------------------------------------------------
# Generated orders
# ---------------------------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=12).filter(lambda s: s.strip())
idents = st.one_of(st.integers(min_value=1, max_value=10**15), texts)
E164_SAMPLES = sorted({
    phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
    for n in (phonenumbers.example_number(r) for r in PHONE_REGIONS[::7]) if n
})


def _either_form(strategy, to_text):
    """A value as Python object or as the text a JSON payload would carry."""
    return strategy.flatmap(lambda value: st.sampled_from([value, to_text(value)]))


@st.composite
def addresses(draw):
    region = draw(st.sampled_from(PHONE_REGIONS))
    number = phonenumbers.example_number(region)
    return draw(st.fixed_dictionaries({"country_code": st.just(region.lower())}, optional={
        "phone": st.just(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)),
        "city": texts, "zip": texts, "street": texts, "first_name": texts, "state_code": st.sampled_from(["ca", "NY"]),
    }))


@st.composite
def order_dicts(draw):
    code = draw(st.sampled_from(sorted(MINOR_UNITS)))
    places = MINOR_UNITS[code]
    money = _either_form(
        st.decimals(min_value=0, max_value=10**9, places=places, allow_nan=False, allow_infinity=False), str)
    quantity = _either_form(
        st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3, allow_nan=False, allow_infinity=False), str)
    moment = _either_form(aware_datetimes, datetime.isoformat)
    tax = st.fixed_dictionaries({"amount": money}, optional={"name": texts, "rate": st.sampled_from(["0.2", "0.055", "0"])})
    line = st.fixed_dictionaries({"sku": idents, "quantity": quantity, "unit_price": money}, optional={
        "external_id": idents, "barcode": idents, "name": texts, "discount_amount": money,
        "tax_lines": st.lists(tax, max_size=2), "channel_data": st.dictionaries(texts, st.integers(), max_size=2),
    })
    customer = st.fixed_dictionaries({}, optional={
        "external_id": idents, "email": st.emails().filter(lambda e: len(e) <= 254),
        "phone": st.sampled_from(E164_SAMPLES), "first_name": texts, "accepts_marketing": st.booleans(),
        "language": st.sampled_from(["en", "fr_FR", "de-at"]), "addresses": st.lists(addresses(), max_size=2),
    })
    return draw(st.fixed_dictionaries(
        {"external_id": idents, "created_at": moment, "currency": st.sampled_from([code, code.lower()]),
         "lines": st.lists(line, min_size=1, max_size=4)},
        optional={
            "name": texts, "updated_at": moment, "customer": customer, "billing_address": addresses(),
            "shipping_address": addresses(), "taxes_included": st.booleans(),
            "shipping_lines": st.lists(st.fixed_dictionaries({"price": money}, optional={"name": texts}), max_size=2),
            "discount_lines": st.lists(st.fixed_dictionaries({"amount": money}, optional={"code": texts}), max_size=2),
            "tax_lines": st.lists(tax, max_size=2),
            "payment_state": st.sampled_from(["pending", "authorized", "paid", "partially_paid", "refunded",
                                              "partially_refunded", "voided"]),
            "status": st.sampled_from(["open", "cancelled", "closed"]),
            "total_amount": money, "note": texts, "tags": st.lists(texts.filter(str.strip), max_size=3),
            "custom_attribute": st.lists(st.integers(), max_size=3),
        },
    ))


@SLOW
@given(order_dicts())
def test_generated_orders_round_trip(data):
    order = Order.from_dict(data)
    dumped = order.to_dict()
    assert Order.from_dict(dumped) == order
    from_json = Order.from_dict(json.loads(json.dumps(dumped)))
    assert from_json == order
    assert from_json.to_dict() == dumped
    assert order.currency == data["currency"].upper()
    assert all(line.unit_price.as_tuple().exponent == -MINOR_UNITS[order.currency] for line in order.lines)


@SLOW
@given(order_dicts(), st.data())
def test_generated_orders_report_a_negative_quantity_at_its_path(data, draw):
    index = draw.draw(st.integers(min_value=0, max_value=len(data["lines"]) - 1))
    lines = [dict(line) for line in data["lines"]]
    lines[index]["quantity"] = "-1"
    exc = errors_of(Order, {**data, "lines": lines})
    assert [(e.path, e.rule) for e in exc.errors] == [(f"lines[{index}].quantity", "min_value")]
