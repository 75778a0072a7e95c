"""Canonical business objects: validated dataclasses that every channel maps to and from.

Each object is read with ``Cls.from_dict(data)``, which normalises every field and raises one
``CanonicalValidationError`` listing all invalid fields, and written with ``obj.to_dict()``,
which gives JSON-ready data (decimals as text, instants as ISO 8601 UTC with ``Z``) such that
``Cls.from_dict(obj.to_dict()) == obj``. Keys an object does not model are kept in ``extra``.
"""

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime, timezone
from decimal import Decimal

from . import normalize as norm
from .errors import CanonicalValidationError, FieldError, RuleError

SCHEMA_VERSION = 1

ORDER_STATUSES = ("open", "cancelled", "closed")
PAYMENT_STATES = (
    "pending", "authorized", "paid", "partially_paid", "refunded", "partially_refunded", "voided",
)
PAYMENT_KINDS = ("authorization", "capture", "sale", "refund", "void")
PAYMENT_STATUSES = ("pending", "success", "failure", "error")
RETURN_STATUSES = ("requested", "approved", "received", "refunded", "rejected", "cancelled")
PAYOUT_STATUSES = ("scheduled", "in_transit", "paid", "failed", "cancelled")
PAYOUT_LINE_TYPES = (
    "charge", "refund", "fee", "adjustment", "dispute", "chargeback", "transfer", "currency_conversion",
)

# Keys every object understands besides its fields; never stored in ``extra``.
_RESERVED = ("schema", "schema_version", "extra")


# ---------------------------------------------------------------------------------------------
# Field declarations: the dataclass field's metadata says how to read and write the value.
# ---------------------------------------------------------------------------------------------

def _field(kind, *, required=False, default=None, fill=None, factory=None, **options):
    """A dataclass field read as ``kind``; ``fill`` is the raw value read when input lacks it."""
    metadata = {"kind": kind, "required": required, "fill": fill, **options}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _text(**kw):
    return _field("text", **kw)


def _ident(**kw):
    """An identifier: text, or a whole number as channels such as Shopify send them."""
    return _field("ident", **kw)


def _money(minimum=None, fill=None, **kw):
    default = Decimal(fill) if fill is not None else None
    return _field("amount", minimum=minimum, fill=fill, default=default, **kw)


def _quantity(positive=False, **kw):
    return _field("quantity", positive=positive, **kw)


def _choice(choices, fill=None, **kw):
    return _field("choice", choices=choices, fill=fill, default=fill, **kw)


def _flag(fill):
    return _field("bool", fill=fill, default=fill)


def _one(cls, **kw):
    return _field("one", cls=cls, **kw)


def _many(cls, min_items=0):
    return _field("many", cls=cls, min_items=min_items, factory=list)


def _extra():
    return field(default_factory=dict, metadata={"kind": "extra"})


# ---------------------------------------------------------------------------------------------
# Reading and writing single values
# ---------------------------------------------------------------------------------------------

def _read_text(raw, meta, ctx):
    if not isinstance(raw, str):
        raise RuleError("type", "must be text")
    return raw.strip()


def _read_ident(raw, meta, ctx):
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if not isinstance(raw, str):
        raise RuleError("type", "must be text or a whole number")
    return raw.strip()


def _read_code(raw, meta, ctx):
    return _read_text(raw, meta, ctx).upper()


def _read_bool(raw, meta, ctx):
    # "false" or 0 read as a flag is how stock quietly gets restocked: adapters convert.
    if not isinstance(raw, bool):
        raise RuleError("type", "must be true or false")
    return raw


def _read_choice(raw, meta, ctx):
    value = _read_text(raw, meta, ctx).lower()
    if value not in meta["choices"]:
        raise RuleError("choice", "must be one of " + ", ".join(meta["choices"]))
    return value


def _read_amount(raw, meta, ctx):
    value = norm.parse_amount(raw, ctx.get("currency"))
    minimum = meta.get("minimum")
    if minimum is not None and value < minimum:
        raise RuleError("min_value", f"must be >= {minimum}")
    return value


def _read_quantity(raw, meta, ctx):
    value = norm.parse_quantity(raw)
    if meta.get("positive") and value == 0:
        raise RuleError("positive", "must be > 0")
    return value


def _read_texts(raw, meta, ctx):
    if not isinstance(raw, (list, tuple)):
        raise RuleError("type", "must be a list of text")
    values = []
    for item in raw:
        if not isinstance(item, (str, int)) or isinstance(item, bool) or not str(item).strip():
            raise RuleError("type", "must be a list of non-empty text")
        values.append(str(item).strip())
    return values


def _read_mapping(raw, meta, ctx):
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in raw.items()
    ):
        raise RuleError("type", "must map names to text values")
    return {k.strip(): v.strip() for k, v in raw.items()}


_READERS = {
    "text": _read_text,
    "ident": _read_ident,
    "code": _read_code,
    "bool": _read_bool,
    "choice": _read_choice,
    "amount": _read_amount,
    "quantity": _read_quantity,
    "signed_quantity": lambda raw, meta, ctx: norm.parse_signed_quantity(raw),
    "rate": lambda raw, meta, ctx: norm.parse_rate(raw),
    "email": lambda raw, meta, ctx: norm.normalize_email(raw),
    "phone": lambda raw, meta, ctx: norm.normalize_phone(raw, ctx.get("region")),
    "country": lambda raw, meta, ctx: norm.normalize_country(raw),
    "currency": lambda raw, meta, ctx: norm.normalize_currency(raw),
    "language": lambda raw, meta, ctx: norm.normalize_language(raw),
    "timestamp": lambda raw, meta, ctx: norm.parse_timestamp(raw),
    "date": lambda raw, meta, ctx: norm.parse_date(raw),
    "texts": _read_texts,
    "mapping": _read_mapping,
}


def _dump_value(value):
    """The JSON form of one field value."""
    if isinstance(value, _Canonical):
        return value._dump()
    if isinstance(value, Decimal):
        # "f" never uses exponent notation, which some JSON consumers misread.
        return format(value, "f")
    if isinstance(value, datetime):
        text = value.astimezone(timezone.utc).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_dump_value(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _dump_value(item) for key, item in value.items()}
    return value


def _jsonable(value, path, errors):
    """``value`` as JSON data (kept in ``extra``), or an error where it cannot be."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, Decimal) and value.is_finite():
        return _dump_value(value)
    if isinstance(value, datetime) and value.utcoffset() is None:
        return value.isoformat()
    if isinstance(value, date):
        return _dump_value(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{path}[{i}]", errors) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(FieldError(path, key, "json", "must have text keys"))
                continue
            result[key] = _jsonable(item, _join(path, key), errors)
        return result
    errors.append(FieldError(path, value, "json", "must be JSON data"))
    return None


def _join(path, name):
    return f"{path}.{name}" if path else str(name)


def _missing(raw):
    return raw is None or (isinstance(raw, str) and not raw.strip())


# ---------------------------------------------------------------------------------------------
# Base class
# ---------------------------------------------------------------------------------------------

class _Canonical:
    """Reading (``from_dict``) and writing (``to_dict``) shared by every canonical object."""

    SCHEMA = ""

    @classmethod
    def from_dict(cls, data, *, currency=None, default_region=None):
        """The object read from ``data``; raises ``CanonicalValidationError`` listing every error.

        ``currency`` is the currency amounts are in when ``data`` does not say (an order line
        read alone); ``default_region`` reads phone numbers written without +country code.
        """
        ctx = {
            "currency": norm.normalize_currency(currency) if currency else None,
            "region": norm.normalize_country(default_region) if default_region else None,
        }
        errors = []
        obj = cls._read(data, "", errors, ctx)
        if errors:
            raise CanonicalValidationError(errors, cls.SCHEMA)
        return obj

    def to_dict(self) -> dict:
        """The object as JSON-ready data, tagged with its schema name and version."""
        return {"schema": self.SCHEMA, "schema_version": SCHEMA_VERSION, **self._dump()}

    def _dump(self) -> dict:
        data = {f.name: _dump_value(getattr(self, f.name)) for f in fields(self)}
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def _context(cls, data, ctx):
        """The context the fields of ``data`` are read in; subclasses add what they know."""
        return ctx

    def _check(self, path, errors, ctx):
        """Rules across fields, run once every field was read."""

    @classmethod
    def _read(cls, data, path, errors, ctx):
        if not isinstance(data, Mapping):
            errors.append(FieldError(path, data, "type", "must be an object"))
            return None
        cls._check_header(data, path, errors)
        ctx = cls._context(data, dict(ctx))
        values = {}
        known = set(_RESERVED)
        for spec in fields(cls):
            known.add(spec.name)
            meta = spec.metadata
            if meta["kind"] == "extra":
                continue
            values[spec.name] = cls._read_field(data.get(spec.name), spec, _join(path, spec.name), errors, ctx)
        values["extra"] = cls._read_extra(data, known, path, errors)
        obj = cls(**values)
        obj._check(path, errors, ctx)
        return obj

    @classmethod
    def _check_header(cls, data, path, errors):
        version = data.get("schema_version")
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                errors.append(FieldError(
                    _join(path, "schema_version"), version, "schema_version", "must be a whole number >= 1"
                ))
            elif version > SCHEMA_VERSION:
                errors.append(FieldError(
                    _join(path, "schema_version"), version, "schema_version",
                    f"must be <= {SCHEMA_VERSION}, the newest schema version this code reads",
                ))
        schema = data.get("schema")
        if schema is not None and schema != cls.SCHEMA:
            errors.append(FieldError(_join(path, "schema"), schema, "schema", f"must be {cls.SCHEMA!r}"))

    @classmethod
    def _read_field(cls, raw, spec, path, errors, ctx):
        meta = spec.metadata
        kind = meta["kind"]
        if kind == "many":
            return cls._read_many(raw, meta, path, errors, ctx)
        if _missing(raw) and meta["fill"] is not None:
            raw = meta["fill"]
        if _missing(raw):
            if meta["required"]:
                errors.append(FieldError(path, raw, "required", "is required"))
            if spec.default_factory is not MISSING:
                return spec.default_factory()
            return None
        if kind == "one":
            return meta["cls"]._read(raw, path, errors, ctx)
        try:
            value = _READERS[kind](raw, meta, ctx)
        except RuleError as exc:
            errors.append(FieldError(path, raw, exc.rule, exc.message))
            value = None
        if meta.get("sets"):
            # Amounts and phone numbers after this field are read in what it says; when it is
            # invalid they are read without it rather than in a parent's value.
            ctx[meta["sets"]] = value
        return value

    @classmethod
    def _read_many(cls, raw, meta, path, errors, ctx):
        if raw is None:
            raw = []
        if not isinstance(raw, (list, tuple)):
            errors.append(FieldError(path, raw, "type", "must be a list"))
            return []
        if len(raw) < meta["min_items"]:
            noun = "item" if meta["min_items"] == 1 else "items"
            errors.append(FieldError(path, raw, "min_items", f"must have at least {meta['min_items']} {noun}"))
        items = (meta["cls"]._read(item, f"{path}[{i}]", errors, ctx) for i, item in enumerate(raw))
        return [item for item in items if item is not None]

    @classmethod
    def _read_extra(cls, data, known, path, errors):
        extra_path = _join(path, "extra")
        given = data.get("extra")
        if given is not None and not isinstance(given, Mapping):
            errors.append(FieldError(extra_path, given, "type", "must be an object"))
            given = None
        merged = dict(given or {})
        # A key both unknown at the top and inside "extra": the top-level one is the newer.
        merged.update((key, value) for key, value in data.items() if key not in known)
        return _jsonable(merged, extra_path, errors) or {}


def _require_one_of(obj, path, errors, names, message):
    """Records ``names[0]`` as missing when every one of ``names`` is empty."""
    if all(getattr(obj, name) in (None, "", []) for name in names):
        errors.append(FieldError(_join(path, names[0]), None, "required", message))


def _country_of(address):
    """The country of a not yet read address, or None when absent or invalid."""
    if isinstance(address, Mapping):
        try:
            return norm.normalize_country(address.get("country_code"))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Parties
# ---------------------------------------------------------------------------------------------

@dataclass
class Address(_Canonical):
    """A postal address with the person or company at it."""

    SCHEMA = "address"

    external_id: str | None = _ident()
    first_name: str | None = _text()
    last_name: str | None = _text()
    company: str | None = _text()
    street: str | None = _text()
    street2: str | None = _text()
    city: str | None = _text()
    zip: str | None = _text()
    state_code: str | None = _field("code")
    # Read before the phone: a number without +country code is read in this country.
    country_code: str | None = _field("country", sets="region")
    phone: str | None = _field("phone")
    extra: dict = _extra()


@dataclass
class Customer(_Canonical):
    """A buyer as a channel knows them."""

    SCHEMA = "customer"

    external_id: str | None = _ident()
    email: str | None = _field("email")
    phone: str | None = _field("phone")
    first_name: str | None = _text()
    last_name: str | None = _text()
    company: str | None = _text()
    language: str | None = _field("language")
    accepts_marketing: bool = _flag(False)
    addresses: list[Address] = _many(Address)
    extra: dict = _extra()

    @classmethod
    def _context(cls, data, ctx):
        addresses = data.get("addresses")
        if isinstance(addresses, (list, tuple)) and addresses:
            ctx["region"] = _country_of(addresses[0]) or ctx["region"]
        return ctx


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------

@dataclass
class TaxLine(_Canonical):
    """One tax on an order, a line or a shipping line; ``rate`` is a fraction (0.2 for 20 %)."""

    SCHEMA = "tax_line"

    name: str | None = _text()
    rate: Decimal | None = _field("rate")
    amount: Decimal | None = _money(required=True)
    extra: dict = _extra()


@dataclass
class DiscountLine(_Canonical):
    """A discount applied to an order (a code, an automatic promotion)."""

    SCHEMA = "discount_line"

    code: str | None = _text()
    name: str | None = _text()
    amount: Decimal | None = _money(minimum=0, required=True)
    extra: dict = _extra()


@dataclass
class ShippingLine(_Canonical):
    """A delivery method charged on an order."""

    SCHEMA = "shipping_line"

    external_id: str | None = _ident()
    code: str | None = _text()
    name: str | None = _text()
    carrier: str | None = _text()
    price: Decimal | None = _money(minimum=0, required=True)
    discount_amount: Decimal = _money(minimum=0, fill="0")
    tax_lines: list[TaxLine] = _many(TaxLine)
    extra: dict = _extra()


@dataclass
class PaymentInfo(_Canonical):
    """One payment transaction on an order (authorisation, capture, refund...)."""

    SCHEMA = "payment"

    external_id: str | None = _ident()
    gateway: str | None = _text()
    kind: str | None = _choice(PAYMENT_KINDS)
    status: str | None = _choice(PAYMENT_STATUSES)
    # A payment may be taken in another currency than the order's (presentment currency).
    currency: str | None = _field("currency", sets="currency")
    amount: Decimal | None = _money(required=True)
    reference: str | None = _text()
    processed_at: datetime | None = _field("timestamp")
    extra: dict = _extra()


@dataclass
class OrderLine(_Canonical):
    """One product line of an order; amounts are in the order's currency."""

    SCHEMA = "order_line"

    external_id: str | None = _ident()
    sku: str | None = _ident()
    barcode: str | None = _ident()
    name: str | None = _text()
    quantity: Decimal | None = _quantity(positive=True, required=True)
    unit_price: Decimal | None = _money(minimum=0, required=True)
    discount_amount: Decimal = _money(minimum=0, fill="0")
    tax_lines: list[TaxLine] = _many(TaxLine)
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        _require_one_of(self, path, errors, ("sku", "barcode", "name"),
                        "is required when the line has no barcode and no name")


@dataclass
class Order(_Canonical):
    """A sale on a channel, with its customer, addresses, lines, charges and payment state."""

    SCHEMA = "order"

    external_id: str | None = _ident(required=True)
    name: str | None = _text()
    created_at: datetime | None = _field("timestamp", required=True)
    updated_at: datetime | None = _field("timestamp")
    currency: str | None = _field("currency", required=True, sets="currency")
    customer: Customer | None = _one(Customer)
    billing_address: Address | None = _one(Address)
    shipping_address: Address | None = _one(Address)
    lines: list[OrderLine] = _many(OrderLine, min_items=1)
    shipping_lines: list[ShippingLine] = _many(ShippingLine)
    discount_lines: list[DiscountLine] = _many(DiscountLine)
    tax_lines: list[TaxLine] = _many(TaxLine)
    taxes_included: bool = _flag(False)
    payment_state: str = _choice(PAYMENT_STATES, fill="pending")
    payment_gateway: str | None = _text()
    payments: list[PaymentInfo] = _many(PaymentInfo)
    status: str = _choice(ORDER_STATUSES, fill="open")
    subtotal_amount: Decimal | None = _money(minimum=0)
    shipping_amount: Decimal | None = _money(minimum=0)
    discount_amount: Decimal | None = _money(minimum=0)
    tax_amount: Decimal | None = _money(minimum=0)
    total_amount: Decimal | None = _money(minimum=0)
    note: str | None = _text()
    # The channel's labels of the order (Shopify tags), in the channel's order.
    tags: list[str] = _field("texts", factory=list)
    extra: dict = _extra()

    @classmethod
    def _context(cls, data, ctx):
        # The customer's phone is most likely in the country the order ships to.
        ctx["region"] = (
            _country_of(data.get("shipping_address")) or _country_of(data.get("billing_address")) or ctx["region"]
        )
        return ctx


# ---------------------------------------------------------------------------------------------
# Catalogue, prices and stock
# ---------------------------------------------------------------------------------------------

def _check_priced(obj, path, errors, ctx):
    """A price without a currency (own or inherited) cannot be read by anyone."""
    if ctx.get("currency") is None and _join(path, "currency") not in {e.path for e in errors}:
        if obj.price is not None or obj.compare_at_price is not None:
            errors.append(FieldError(_join(path, "currency"), None, "required", "is required when a price is set"))


@dataclass
class Variant(_Canonical):
    """A sellable variant of a product; ``currency`` defaults to the product's."""

    SCHEMA = "variant"

    external_id: str | None = _ident(required=True)
    product_external_id: str | None = _ident()
    sku: str | None = _ident()
    barcode: str | None = _ident()
    name: str | None = _text()
    currency: str | None = _field("currency", sets="currency")
    price: Decimal | None = _money(minimum=0)
    compare_at_price: Decimal | None = _money(minimum=0)
    active: bool = _flag(True)
    attributes: dict[str, str] = _field("mapping", factory=dict)
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        _check_priced(self, path, errors, ctx)


@dataclass
class Product(_Canonical):
    """A catalogue product with its variants."""

    SCHEMA = "product"

    external_id: str | None = _ident(required=True)
    sku: str | None = _ident()
    barcode: str | None = _ident()
    name: str | None = _text(required=True)
    currency: str | None = _field("currency", sets="currency")
    price: Decimal | None = _money(minimum=0)
    compare_at_price: Decimal | None = _money(minimum=0)
    active: bool = _flag(True)
    variants: list[Variant] = _many(Variant)
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        _check_priced(self, path, errors, ctx)


@dataclass
class Price(_Canonical):
    """The price of a SKU in one currency, optionally on a price list, from a quantity, in a window."""

    SCHEMA = "price"

    sku: str | None = _ident(required=True)
    currency: str | None = _field("currency", required=True, sets="currency")
    amount: Decimal | None = _money(minimum=0, required=True)
    compare_at_amount: Decimal | None = _money(minimum=0)
    pricelist: str | None = _text()
    min_quantity: Decimal | None = _quantity()
    starts_at: datetime | None = _field("timestamp")
    ends_at: datetime | None = _field("timestamp")
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors.append(FieldError(_join(path, "ends_at"), _dump_value(self.ends_at), "after",
                                     "must be after starts_at"))


@dataclass
class StockLevel(_Canonical):
    """How much of a SKU a location has on hand and can sell."""

    SCHEMA = "stock_level"

    sku: str | None = _ident(required=True)
    location_external_id: str | None = _ident()
    quantity: Decimal | None = _quantity()
    # Channels report oversold stock as negative availability; clamping it would hide that.
    available: Decimal | None = _field("signed_quantity")
    updated_at: datetime | None = _field("timestamp")
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        if self.quantity is None and self.available is None and not any(
            e.path in (_join(path, "quantity"), _join(path, "available")) for e in errors
        ):
            errors.append(FieldError(_join(path, "quantity"), None, "required",
                                     "is required when available is not given"))


# ---------------------------------------------------------------------------------------------
# Fulfilment and returns
# ---------------------------------------------------------------------------------------------

@dataclass
class LotQuantity(_Canonical):
    """How much of a line went out (or came in) under one lot number."""

    SCHEMA = "lot_quantity"

    lot: str | None = _ident(required=True)
    quantity: Decimal | None = _quantity(positive=True, required=True)
    extra: dict = _extra()


@dataclass
class ShipmentLine(_Canonical):
    """A quantity of one SKU in a shipment, with its lot or serial numbers.

    ``lots`` names serial numbers (one unit each) or a single lot holding the whole quantity;
    ``lot_quantities`` splits the quantity over several lots. ``package`` is the carton or
    pallet (its SSCC or label) the goods left in.
    """

    SCHEMA = "shipment_line"

    order_line_external_id: str | None = _ident()
    sku: str | None = _ident()
    quantity: Decimal | None = _quantity(positive=True, required=True)
    lots: list[str] = _field("texts", factory=list)
    lot_quantities: list[LotQuantity] = _many(LotQuantity)
    package: str | None = _ident()
    # Received damaged (receipt advice): counted in quantity, kept apart by the warehouse.
    damaged_quantity: Decimal = _quantity(fill="0")
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        _require_one_of(self, path, errors, ("sku", "order_line_external_id"),
                        "is required when the line has no order_line_external_id")


@dataclass
class Shipment(_Canonical):
    """Goods of an order handed to a carrier."""

    SCHEMA = "shipment"

    external_id: str | None = _ident()
    order_external_id: str | None = _ident(required=True)
    picking_reference: str | None = _text()
    carrier: str | None = _text()
    tracking_numbers: list[str] = _field("texts", factory=list)
    lines: list[ShipmentLine] = _many(ShipmentLine, min_items=1)
    shipped_at: datetime | None = _field("timestamp")
    extra: dict = _extra()


@dataclass
class ReturnLine(_Canonical):
    """A quantity of one SKU sent back; ``restock`` says whether it goes back to stock."""

    SCHEMA = "return_line"

    order_line_external_id: str | None = _ident()
    sku: str | None = _ident()
    quantity: Decimal | None = _quantity(positive=True, required=True)
    # What the channel refunded for this line (tax included), when it says.
    amount: Decimal | None = _money(minimum=0)
    reason: str | None = _text()
    # Restocking must be asked for: damaged goods silently put back on sale cost more than a
    # forgotten restock.
    restock: bool = _flag(False)
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        _require_one_of(self, path, errors, ("sku", "order_line_external_id"),
                        "is required when the line has no order_line_external_id")


@dataclass
class Return(_Canonical):
    """A customer return of goods from an order, with the amount refunded."""

    SCHEMA = "return"

    external_id: str | None = _ident()
    order_external_id: str | None = _ident(required=True)
    status: str = _choice(RETURN_STATUSES, fill="requested")
    currency: str | None = _field("currency", sets="currency")
    refund_amount: Decimal | None = _money(minimum=0)
    created_at: datetime | None = _field("timestamp")
    lines: list[ReturnLine] = _many(ReturnLine, min_items=1)
    note: str | None = _text()
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        if self.refund_amount is not None and ctx.get("currency") is None and not any(
            e.path == _join(path, "currency") for e in errors
        ):
            errors.append(FieldError(_join(path, "currency"), None, "required",
                                     "is required when refund_amount is set"))


@dataclass
class Refund(_Canonical):
    """Money given back to the customer on an order, with the goods it covers, if any.

    A refund without lines gives money back only (a goodwill gesture, a shipping refund);
    its lines say which quantities it covers and whether they go back to stock.
    """

    SCHEMA = "refund"

    external_id: str | None = _ident(required=True)
    order_external_id: str | None = _ident(required=True)
    created_at: datetime | None = _field("timestamp")
    currency: str | None = _field("currency", required=True, sets="currency")
    amount: Decimal | None = _money(minimum=0, required=True)
    gateway: str | None = _text()
    reason: str | None = _text()
    lines: list[ReturnLine] = _many(ReturnLine)
    extra: dict = _extra()


# ---------------------------------------------------------------------------------------------
# Finance
# ---------------------------------------------------------------------------------------------

@dataclass
class PayoutLine(_Canonical):
    """One balance movement in a payout; ``net`` is ``amount - fee`` unless the channel says."""

    SCHEMA = "payout_line"

    external_id: str | None = _ident()
    type: str | None = _choice(PAYOUT_LINE_TYPES, required=True)
    amount: Decimal | None = _money(required=True)
    fee: Decimal = _money(fill="0")
    net: Decimal | None = _money()
    order_external_id: str | None = _ident()
    source_id: str | None = _ident()
    extra: dict = _extra()

    def _check(self, path, errors, ctx):
        if self.net is None and self.amount is not None and self.fee is not None:
            self.net = self.amount - self.fee


@dataclass
class Payout(_Canonical):
    """Money a payment provider or marketplace transferred to the merchant, with its movements."""

    SCHEMA = "payout"

    external_id: str | None = _ident(required=True)
    # Quoted: the field's own name would shadow the type while the class body runs.
    date: "date | None" = _field("date", required=True)
    currency: str | None = _field("currency", required=True, sets="currency")
    # Negative when the provider debits the merchant (refunds exceeded sales).
    amount: Decimal | None = _money(required=True)
    status: str | None = _choice(PAYOUT_STATUSES, required=True)
    lines: list[PayoutLine] = _many(PayoutLine)
    extra: dict = _extra()


CANONICAL_CLASSES = (
    Address, Customer, TaxLine, DiscountLine, ShippingLine, PaymentInfo, OrderLine, Order,
    Variant, Product, Price, StockLevel, LotQuantity, ShipmentLine, Shipment, ReturnLine, Return, Refund,
    PayoutLine, Payout,
)
