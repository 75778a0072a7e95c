"""Shopify simulator: one shop's Admin GraphQL API and its webhooks, served on loopback.

API (the URL shapes of a real shop)::

    POST /admin/api/<version>/graphql.json      X-Shopify-Access-Token: <token>
         {"query": "...", "variables": {...}, "operationName": "..."}

A wrong or missing token answers 401 ``{"errors": "[API] Invalid API key or access token ..."}``.
A small GraphQL engine parses the document (operations, variables, aliases, inline and named
fragments, ``@include``/``@skip``), validates every selected field against the schema below and
answers only the fields asked for, as a GraphQL server does. Unknown fields answer HTTP 200
``{"errors": [{"message": "Field 'x' doesn't exist on type 'QueryRoot'", ...}]}`` like Shopify.

Root fields: ``shop``, ``orders(first, after, last, before, query, sortKey, reverse)``,
``order(id)`` (with ``fulfillmentOrders``), ``productVariants(first, query: "sku:A OR sku:B")``,
``productVariant(id)``, ``products``, ``product(id)``, ``locations``, ``location(id)``,
``fulfillmentOrder(id)``, ``inventoryItem(id)``, ``webhookSubscriptions``,
``carrierServices(first, after, query: "active:true")`` (the shop's third-party carrier services),
``shopifyPaymentsAccount { payouts balanceTransactions(query: "payments_transfer_id:<id>") }``;
mutations ``inventorySetQuantities``, ``productVariantsBulkUpdate``, ``fulfillmentCreate``,
``refundCreate``, ``webhookSubscriptionCreate`` and ``webhookSubscriptionDelete``, answering
``userErrors``.

Cost model (Shopify's documented rules, applied statically to the document): a scalar or enum
costs 0, an object 1, a list of objects 1 plus its element's fields (counted once), a
connection ``2 + first x (1 + the node's fields)``, a mutation field 10 plus its payload's
fields. ``requestedQueryCost`` is that sum; ``actualQueryCost`` counts what was returned. Every
answer carries ``extensions.cost`` with ``throttleStatus``. The leaky bucket (``maximum``
points, refilled at ``restore_rate`` per second; default 1000 and 100) is charged the requested
cost before running and refunded the difference after, as Shopify does; a request costing more
than is available answers ``THROTTLED``, one costing more than the bucket ``MAX_COST_EXCEEDED``.

Webhooks are POSTed, as the REST resource, to every subscription of the topic (created with
``webhookSubscriptionCreate``) and to ``webhook_url``, with ``X-Shopify-Topic``,
``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body under the app secret),
``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id`` and
``X-Shopify-Event-Id`` (both the same on every retry and duplicate of one event) and
``X-Shopify-Triggered-At``. Shop-side actions send what Shopify sends: a new paid order
``orders/create`` then ``orders/paid``; a cancellation ``orders/cancelled`` then
``orders/updated``; a refund ``refunds/create`` then ``orders/updated``; a fulfilment made
through the API ``orders/updated``.

For the demo, from the ``tests/`` directory::

    python -m simulators.shopify --port 8802 --token T --webhook-url URL --webhook-secret S --trickle 20
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hmac
import json
import random
import re
import signal
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .base import Response, Simulator, WebhookDelivery, hmac_sha256_base64, route
from .generic import CUSTOMERS

__all__ = [
    "DEFAULT_CATALOGUE",
    "DEFAULT_LOCATIONS",
    "GraphQLError",
    "ShopifySimulator",
    "gid",
    "main",
    "parse_document",
    "parse_gid",
]

DEFAULT_API_VERSION = "2025-10"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
MAX_PAGE = 250
MAX_INPUT_ARRAY = 250
CENT = Decimal("0.01")

DEFAULT_CATALOGUE = (
    {"product": "Retail Connector T-shirt", "title": "S", "sku": "RC-TSHIRT-S", "price": "19.90"},
    {"product": "Retail Connector T-shirt", "title": "M", "sku": "RC-TSHIRT-M", "price": "19.90"},
    {"product": "Retail Connector T-shirt", "title": "L", "sku": "RC-TSHIRT-L", "price": "19.90"},
    {"product": "Retail Connector mug", "title": "Default Title", "sku": "RC-MUG", "price": "9.50"},
    {"product": "Retail Connector cap", "title": "Default Title", "sku": "RC-CAP", "price": "14.00",
     "compare_at_price": "18.00"},
    {"product": "Retail Connector hoodie", "title": "M", "sku": "RC-HOODIE-M", "price": "39.90"},
)

DEFAULT_LOCATIONS = (
    {"name": "Brussels warehouse", "address1": "Rue de la Loi 16", "city": "Bruxelles", "zip": "1000",
     "country_code": "BE"},
    {"name": "Antwerp store", "address1": "Meir 78", "city": "Antwerpen", "zip": "2000", "country_code": "BE"},
)

STANDARD_SHIPPING = {"code": "standard", "title": "Standard shipping", "price": "4.90"}

# Shopify ids are 64-bit integers; distinct ranges per resource make mix-ups visible in tests.
_ID_BASES = {
    "Product": 8_100_000_000_000, "ProductVariant": 44_100_000_000_000, "InventoryItem": 46_100_000_000_000,
    "Location": 71_000_000_000, "Order": 5_900_000_000_000, "LineItem": 14_100_000_000_000,
    "ShippingLine": 4_700_000_000_000, "FulfillmentOrder": 6_300_000_000_000,
    "FulfillmentOrderLineItem": 13_200_000_000_000, "Fulfillment": 5_100_000_000_000,
    "Refund": 9_200_000_000_000, "RefundLineItem": 5_400_000_000_000, "Customer": 7_600_000_000_000,
    "WebhookSubscription": 1_400_000_000_000, "MediaImage": 30_100_000_000_000, "ShopifyPaymentsPayout": 88_000_000,
    "ShopifyPaymentsBalanceTransaction": 612_000_000, "InventoryAdjustmentGroup": 3_300_000_000_000,
    "OrderTransaction": 6_800_000_000_000, "DeliveryCarrierService": 61_000_000_000,
}


# --------------------------------------------------------------------------- ids, money and time

def gid(kind: str, number) -> str:
    """Return the GraphQL global id ``gid://shopify/<kind>/<number>``."""
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value, kind: str | None = None) -> int | None:
    """Return the numeric id of a gid (of ``kind`` when given) or of an int; else None.

    Text must be a gid, as the API's ID arguments must: ``"123"`` is not an id there.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)(?:\?.*)?", value.strip())
    if match and kind in (None, match.group(1)):
        return int(match.group(2))
    return None


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _text(amount: Decimal) -> str:
    return format(_money(amount), "f")


def _gql_money(amount: Decimal) -> str:
    # GraphQL Decimal scalars come without trailing zeros ("19.9", "0.0"), unlike REST's "19.90"
    text = format(_money(amount).normalize(), "f")
    return text if "." in text else text + ".0"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _iso_z(moment: datetime | None) -> str | None:
    return None if moment is None else _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


# --------------------------------------------------------------------------- GraphQL documents

class GraphQLError(Exception):
    """A GraphQL error: message, source location, path and extensions, as Shopify answers them."""

    def __init__(self, message: str, *, line=None, column=None, path=None, extensions=None):
        super().__init__(message)
        self.message = message
        self.line, self.column = line, column
        self.path = path
        self.extensions = extensions

    def as_dict(self) -> dict:
        """Return the error as one entry of the answer's ``errors`` list."""
        error = {"message": self.message}
        if self.line is not None:
            error["locations"] = [{"line": self.line, "column": self.column}]
        if self.path is not None:
            error["path"] = list(self.path)
        if self.extensions:
            error["extensions"] = dict(self.extensions)
        return error


class _Enum(str):
    """An enum literal written in the document (``UPDATED_AT``), as opposed to a string."""


class _Var:
    def __init__(self, name, line, column):
        self.name, self.line, self.column = name, line, column


class _Field:
    def __init__(self, alias, name, args, directives, selections, line, column):
        self.alias, self.name, self.args = alias, name, args
        self.directives, self.selections = directives, selections
        self.line, self.column = line, column

    @property
    def key(self) -> str:
        return self.alias or self.name


class _Fragment:
    """An inline fragment (``name`` None) or a fragment spread (``name`` set, resolved later)."""

    def __init__(self, type_condition, directives, selections, name, line, column):
        self.type_condition, self.directives, self.selections = type_condition, directives, selections
        self.name, self.line, self.column = name, line, column


class _Operation:
    def __init__(self, kind, name, variables, selections, line, column):
        self.kind, self.name, self.variables = kind, name, variables
        self.selections, self.line, self.column = selections, line, column


_TOKEN = re.compile(
    r'(?P<skip>[\s,\ufeff]+|#[^\n\r]*)'
    r'|(?P<block>"""(?:\\"""|[^"]|"(?!""))*""")'
    r'|(?P<string>"(?:\\.|[^"\\\n])*")'
    r'|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)'
    r'|(?P<name>[_A-Za-z][_0-9A-Za-z]*)'
    r'|(?P<punct>\.\.\.|[!$&():=@\[\]{|}])'
)


def _tokens(source: str):
    tokens, pos, line, line_start = [], 0, 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match:
            column = pos - line_start + 1
            raise GraphQLError(f"Parse error on {source[pos]!r} at [{line}, {column}]", line=line, column=column)
        kind, text = match.lastgroup, match.group()
        if kind != "skip":
            tokens.append((kind, text, line, pos - line_start + 1))
        for offset, char in enumerate(text):
            if char == "\n":
                line, line_start = line + 1, pos + offset + 1
        pos = match.end()
    tokens.append(("eof", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    """Recursive-descent parser of executable GraphQL documents (no type-system definitions)."""

    def __init__(self, source: str):
        self.tokens = _tokens(source)
        self.i = 0

    def peek(self, text=None, kind=None) -> bool:
        tok = self.tokens[self.i]
        if kind == "eof" or tok[0] == "eof":
            return kind == "eof" and tok[0] == "eof"
        return (text is None or tok[1] == text) and (kind is None or tok[0] == kind)

    def take(self, text=None, kind=None):
        tok = self.tokens[self.i]
        wrong_text = text is not None and (tok[1] != text or tok[0] in ("string", "block"))
        if wrong_text or (kind is not None and tok[0] != kind):
            shown = "end of file" if tok[0] == "eof" else repr(tok[1])
            want = repr(text) if text else kind
            raise GraphQLError(f"Parse error on {shown} at [{tok[2]}, {tok[3]}]: expected {want}",
                               line=tok[2], column=tok[3])
        self.i += 1
        return tok

    def document(self):
        operations, fragments = [], {}
        while not self.peek(kind="eof"):
            tok = self.tokens[self.i]
            if tok[1] == "{":
                operations.append(_Operation("query", None, [], self.selection_set(), tok[2], tok[3]))
            elif tok[1] in ("query", "mutation", "subscription"):
                operations.append(self.operation())
            elif tok[1] == "fragment":
                self.take("fragment")
                name = self.take(kind="name")[1]
                self.take("on")
                type_condition = self.take(kind="name")[1]
                directives = self.directives()
                fragments[name] = _Fragment(type_condition, directives, self.selection_set(), name, tok[2], tok[3])
            else:
                raise GraphQLError(f"Parse error on {tok[1]!r} at [{tok[2]}, {tok[3]}]", line=tok[2], column=tok[3])
        if not operations:
            raise GraphQLError("No operations in the document")
        return operations, fragments

    def operation(self):
        kind_tok = self.take(kind="name")
        name = self.take(kind="name")[1] if self.peek(kind="name") else None
        variables = []
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                self.take("$")
                var_name = self.take(kind="name")[1]
                self.take(":")
                var_type = self.type_ref()
                default = None
                has_default = False
                if self.peek("="):
                    self.take("=")
                    default, has_default = self.value(const=True), True
                self.directives()
                variables.append((var_name, var_type, has_default, default))
            self.take(")")
        self.directives()
        return _Operation(kind_tok[1], name, variables, self.selection_set(), kind_tok[2], kind_tok[3])

    def type_ref(self):
        if self.peek("["):
            self.take("[")
            inner = self.type_ref()
            self.take("]")
            text = f"[{inner}]"
        else:
            text = self.take(kind="name")[1]
        if self.peek("!"):
            self.take("!")
            text += "!"
        return text

    def selection_set(self):
        self.take("{")
        selections = []
        while not self.peek("}"):
            if self.peek(kind="eof"):
                self.take("}")
            selections.append(self.selection())
        self.take("}")
        return selections

    def selection(self):
        tok = self.tokens[self.i]
        if tok[1] == "...":
            self.take("...")
            if self.peek("on") and self.tokens[self.i + 1][0] == "name":
                self.take("on")
                type_condition = self.take(kind="name")[1]
                return _Fragment(type_condition, self.directives(), self.selection_set(), None, tok[2], tok[3])
            if self.peek(kind="name"):
                name = self.take(kind="name")[1]
                return _Fragment(None, self.directives(), None, name, tok[2], tok[3])
            return _Fragment(None, self.directives(), self.selection_set(), None, tok[2], tok[3])
        name_tok = self.take(kind="name")
        alias, name = None, name_tok[1]
        if self.peek(":"):
            self.take(":")
            alias, name = name, self.take(kind="name")[1]
        args = self.arguments()
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else None
        return _Field(alias, name, args, directives, selections, name_tok[2], name_tok[3])

    def arguments(self, const=False):
        args = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                name = self.take(kind="name")[1]
                self.take(":")
                args[name] = self.value(const)
            self.take(")")
        return args

    def directives(self):
        directives = []
        while self.peek("@"):
            self.take("@")
            directives.append((self.take(kind="name")[1], self.arguments()))
        return directives

    def value(self, const=False):
        tok = self.tokens[self.i]
        kind, text = tok[0], tok[1]
        if text == "$" and kind == "punct" and not const:
            self.take("$")
            return _Var(self.take(kind="name")[1], tok[2], tok[3])
        if kind == "number":
            self.i += 1
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "string":
            self.i += 1
            return json.loads(text)
        if kind == "block":
            self.i += 1
            return _block_string(text[3:-3])
        if kind == "name":
            self.i += 1
            return {"true": True, "false": False, "null": None}.get(text, _Enum(text))
        if text == "[":
            self.take("[")
            items = []
            while not self.peek("]"):
                items.append(self.value(const))
            self.take("]")
            return items
        if text == "{":
            self.take("{")
            obj = {}
            while not self.peek("}"):
                key = self.take(kind="name")[1]
                self.take(":")
                obj[key] = self.value(const)
            self.take("}")
            return obj
        shown = "end of file" if kind == "eof" else repr(text)
        raise GraphQLError(f"Parse error on {shown} at [{tok[2]}, {tok[3]}]", line=tok[2], column=tok[3])


def _block_string(raw: str) -> str:
    lines = raw.replace('\\"""', '"""').splitlines()
    indents = [len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()]
    common = min(indents) if indents else 0
    lines = lines[:1] + [x[common:] for x in lines[1:]]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def parse_document(source: str):
    """Return ``(operations, fragments)`` of a GraphQL document; GraphQLError when malformed."""
    if not isinstance(source, str) or not source.strip():
        raise GraphQLError("No query string was present")
    return _Parser(source).document()


# --------------------------------------------------------------------------- schema

# "field" is a scalar or enum, "field:Type" an object, "field:[Type]" a list of objects,
# "field:Type*" a connection of Type. Only what the connector and its tests use is modelled.
_SCHEMA_SPEC = {
    "QueryRoot": "shop:Shop orders:Order* order:Order productVariants:ProductVariant* "
                 "productVariant:ProductVariant products:Product* product:Product locations:Location* "
                 "location:Location fulfillmentOrder:FulfillmentOrder inventoryItem:InventoryItem "
                 "webhookSubscriptions:WebhookSubscription* shopifyPaymentsAccount:ShopifyPaymentsAccount "
                 "customers:Customer* customer:Customer carrierServices:DeliveryCarrierService*",
    "Mutation": "inventorySetQuantities:InventorySetQuantitiesPayload "
                "productVariantsBulkUpdate:ProductVariantsBulkUpdatePayload "
                "productSet:ProductSetPayload "
                "fulfillmentCreate:FulfillmentCreatePayload "
                "refundCreate:RefundCreatePayload "
                "webhookSubscriptionCreate:WebhookSubscriptionCreatePayload "
                "webhookSubscriptionDelete:WebhookSubscriptionDeletePayload "
                "customerCreate:CustomerCreatePayload customerUpdate:CustomerUpdatePayload "
                "customerEmailMarketingConsentUpdate:CustomerEmailMarketingConsentUpdatePayload",
    "Shop": "id name email myshopifyDomain currencyCode ianaTimezone",
    "Order": "id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt cancelReason "
             "closed closedAt confirmed test note tags currencyCode presentmentCurrencyCode taxesIncluded "
             "displayFinancialStatus displayFulfillmentStatus paymentGatewayNames discountCodes sourceName "
             "customer:Customer billingAddress:MailingAddress shippingAddress:MailingAddress "
             "subtotalPriceSet:MoneyBag totalPriceSet:MoneyBag totalTaxSet:MoneyBag totalDiscountsSet:MoneyBag "
             "totalShippingPriceSet:MoneyBag currentTotalPriceSet:MoneyBag totalRefundedSet:MoneyBag "
             "lineItems:LineItem* shippingLines:ShippingLine* fulfillmentOrders:FulfillmentOrder* "
             "discountApplications:DiscountApplication* taxLines:[TaxLine] refunds:[Refund] "
             "fulfillments:[Fulfillment] number sourceIdentifier retailLocation:Location "
             "totalCashRoundingAdjustment:CashRoundingAdjustment currentSubtotalPriceSet:MoneyBag "
             "currentTotalDiscountsSet:MoneyBag currentShippingPriceSet:MoneyBag currentTotalTaxSet:MoneyBag "
             "risk:OrderRiskSummary transactions:[OrderTransaction] returns:Return*",
    "CashRoundingAdjustment": "paymentSet:MoneyBag refundSet:MoneyBag",
    "OrderRiskSummary": "recommendation assessments:[OrderRiskAssessment]",
    "OrderRiskAssessment": "riskLevel",
    "OrderTransaction": "id gateway formattedGateway kind status processedAt amountSet:MoneyBag",
    "Return": "id name status",
    "MoneyBag": "shopMoney:MoneyV2 presentmentMoney:MoneyV2",
    "MoneyV2": "amount currencyCode",
    "Customer": "id legacyResourceId firstName lastName displayName email phone locale createdAt updatedAt "
                "defaultEmailAddress:CustomerEmailAddress defaultPhoneNumber:CustomerPhoneNumber "
                "defaultAddress:MailingAddress",
    "CustomerCreatePayload": "customer:Customer userErrors:[UserError]",
    "CustomerUpdatePayload": "customer:Customer userErrors:[UserError]",
    "CustomerEmailMarketingConsentUpdatePayload": "customer:Customer "
                                                  "userErrors:[CustomerEmailMarketingConsentUpdateUserError]",
    "CustomerEmailMarketingConsentUpdateUserError": "field message code",
    "CustomerEmailAddress": "emailAddress marketingState",
    "CustomerPhoneNumber": "phoneNumber marketingState",
    "MailingAddress": "id address1 address2 city company country countryCodeV2 firstName lastName name phone "
                      "province provinceCode zip",
    "LineItem": "id name title variantTitle sku quantity currentQuantity unfulfilledQuantity requiresShipping "
                "taxable vendor refundableQuantity isGiftCard variant:ProductVariant product:Product originalUnitPriceSet:MoneyBag "
                "discountedUnitPriceSet:MoneyBag originalTotalSet:MoneyBag discountedTotalSet:MoneyBag "
                "totalDiscountSet:MoneyBag discountedUnitPriceAfterAllDiscountsSet:MoneyBag taxLines:[TaxLine] "
                "discountAllocations:[DiscountAllocation]",
    "TaxLine": "title rate ratePercentage channelLiable priceSet:MoneyBag",
    "DiscountAllocation": "allocatedAmountSet:MoneyBag discountApplication:DiscountApplication",
    "DiscountApplication": "index allocationMethod targetSelection targetType value:PricingValue",
    "DiscountCodeApplication": "index allocationMethod targetSelection targetType code value:PricingValue",
    "AutomaticDiscountApplication": "index allocationMethod targetSelection targetType title value:PricingValue",
    "ManualDiscountApplication": "index allocationMethod targetSelection targetType title description "
                                 "value:PricingValue",
    "PricingValue": "",
    "PricingPercentageValue": "percentage",
    "ShippingLine": "id code title source carrierIdentifier isRemoved originalPriceSet:MoneyBag "
                    "discountedPriceSet:MoneyBag currentDiscountedPriceSet:MoneyBag taxLines:[TaxLine] discountAllocations:[DiscountAllocation]",
    "FulfillmentOrder": "id status requestStatus createdAt updatedAt assignedLocation:FulfillmentOrderAssignedLocation "
                        "lineItems:FulfillmentOrderLineItem* order:Order "
                        "supportedActions:[FulfillmentOrderSupportedAction] fulfillmentHolds:[FulfillmentHold]",
    "FulfillmentOrderSupportedAction": "action",
    "FulfillmentHold": "id reason reasonNotes heldByRequestingApp",
    "FulfillmentOrderAssignedLocation": "name location:Location",
    "FulfillmentOrderLineItem": "id sku totalQuantity remainingQuantity lineItem:LineItem",
    "Fulfillment": "id legacyResourceId name status createdAt updatedAt trackingInfo:[FulfillmentTrackingInfo] "
                   "order:Order fulfillmentLineItems:FulfillmentLineItem*",
    "FulfillmentTrackingInfo": "number company url",
    "FulfillmentLineItem": "id quantity lineItem:LineItem",
    "Refund": "id legacyResourceId createdAt note totalRefundedSet:MoneyBag refundLineItems:RefundLineItem*",
    "RefundLineItem": "id quantity restockType lineItem:LineItem subtotalSet:MoneyBag totalTaxSet:MoneyBag",
    "Product": "id legacyResourceId title handle status descriptionHtml updatedAt isGiftCard vendor "
               "options:[ProductOption] variants:ProductVariant* media:Media*",
    "ProductOption": "id name position values",
    "Media": "id alt mediaContentType status",
    "MediaImage": "id alt mediaContentType status image:Image",
    "Image": "id url altText",
    "ProductVariant": "id legacyResourceId sku title displayName barcode price compareAtPrice inventoryQuantity "
                      "updatedAt product:Product inventoryItem:InventoryItem selectedOptions:[SelectedOption]",
    "SelectedOption": "name value",
    "InventoryItem": "id legacyResourceId sku tracked variant:ProductVariant inventoryLevels:InventoryLevel*",
    "InventoryLevel": "id location:Location quantities:[InventoryQuantity] item:InventoryItem",
    "InventoryQuantity": "name quantity updatedAt",
    "Location": "id legacyResourceId name isActive fulfillsOnlineOrders address:LocationAddress",
    "LocationAddress": "address1 address2 city zip countryCode provinceCode",
    "WebhookSubscription": "id legacyResourceId topic format uri callbackUrl includeFields createdAt updatedAt "
                           "endpoint:WebhookSubscriptionEndpoint",
    "WebhookSubscriptionEndpoint": "",
    "WebhookHttpEndpoint": "callbackUrl",
    "ShopifyPaymentsAccount": "id activated defaultCurrency balance:[MoneyV2] payouts:ShopifyPaymentsPayout* "
                              "balanceTransactions:ShopifyPaymentsBalanceTransaction*",
    "ShopifyPaymentsPayout": "id legacyResourceId issuedAt status transactionType net:MoneyV2 gross:MoneyV2 "
                             "summary:ShopifyPaymentsPayoutSummary",
    "ShopifyPaymentsPayoutSummary": "chargesGross:MoneyV2 chargesFee:MoneyV2 refundsFeeGross:MoneyV2 "
                                    "refundsFee:MoneyV2 adjustmentsGross:MoneyV2 adjustmentsFee:MoneyV2",
    "ShopifyPaymentsBalanceTransaction": "id type test transactionDate sourceId sourceType sourceOrderTransactionId "
                                         "adjustmentReason amount:MoneyV2 fee:MoneyV2 net:MoneyV2 "
                                         "associatedOrder:ShopifyPaymentsAssociatedOrder "
                                         "associatedPayout:ShopifyPaymentsBalanceTransactionAssociatedPayout",
    "ShopifyPaymentsAssociatedOrder": "id name",
    "ShopifyPaymentsBalanceTransactionAssociatedPayout": "id status",
    "InventorySetQuantitiesPayload": "inventoryAdjustmentGroup:InventoryAdjustmentGroup "
                                     "userErrors:[InventorySetQuantitiesUserError]",
    "InventoryAdjustmentGroup": "id createdAt reason referenceDocumentUri changes:[InventoryChange]",
    "InventoryChange": "name delta quantityAfterChange item:InventoryItem location:Location",
    "InventorySetQuantitiesUserError": "field message code",
    "ProductVariantsBulkUpdatePayload": "product:Product productVariants:[ProductVariant] "
                                        "userErrors:[ProductVariantsBulkUpdateUserError]",
    "ProductVariantsBulkUpdateUserError": "field message code",
    "ProductSetPayload": "product:Product productSetOperation:ProductSetOperation userErrors:[ProductSetUserError]",
    "ProductSetOperation": "id status",
    "ProductSetUserError": "field message code",
    "FulfillmentCreatePayload": "fulfillment:Fulfillment userErrors:[UserError]",
    "RefundCreatePayload": "refund:Refund order:Order userErrors:[UserError]",
    "WebhookSubscriptionCreatePayload": "webhookSubscription:WebhookSubscription userErrors:[UserError]",
    "WebhookSubscriptionDeletePayload": "deletedWebhookSubscriptionId userErrors:[UserError]",
    "UserError": "field message",
    "DeliveryCarrierService": "id name formattedName active callbackUrl supportsServiceDiscovery",
    "PageInfo": "hasNextPage hasPreviousPage startCursor endCursor",
}

# Abstract types and what may stand for them (inline fragments select on the concrete type).
_POSSIBLE_TYPES = {
    "DiscountApplication": {"DiscountCodeApplication", "AutomaticDiscountApplication", "ManualDiscountApplication"},
    "PricingValue": {"MoneyV2", "PricingPercentageValue"},
    "WebhookSubscriptionEndpoint": {"WebhookHttpEndpoint"},
    "Media": {"MediaImage"},
}


class _Spec:
    __slots__ = ("kind", "type")

    def __init__(self, kind, type_name):
        self.kind, self.type = kind, type_name


def _build_schema(spec: dict) -> dict:
    schema = {}
    for type_name, fields in spec.items():
        entries = schema.setdefault(type_name, {})
        for item in fields.split():
            name, _, target = item.partition(":")
            if not target:
                entries[name] = _Spec("scalar", None)
            elif target.endswith("*"):
                node = target[:-1]
                entries[name] = _Spec("connection", node + "Connection")
                schema[node + "Connection"] = {
                    "edges": _Spec("list", node + "Edge"), "nodes": _Spec("list", node),
                    "pageInfo": _Spec("object", "PageInfo"),
                }
                schema[node + "Edge"] = {"cursor": _Spec("scalar", None), "node": _Spec("object", node)}
            elif target.startswith("["):
                entries[name] = _Spec("list", target[1:-1])
            else:
                entries[name] = _Spec("object", target)
    return schema


SCHEMA = _build_schema(_SCHEMA_SPEC)
_ROOTS = {"query": "QueryRoot", "mutation": "Mutation"}
_WRAPPERS = {"edges", "pageInfo"}  # connection plumbing: costs nothing of its own



# --------------------------------------------------------------------------- GraphQL execution

class _Execution:
    """One request: picks the operation, checks it against the schema, prices it and runs it."""

    def __init__(self, source: str, variables, operation_name):
        self.operations, self.fragments = parse_document(source)
        if variables is not None and not isinstance(variables, dict):
            raise GraphQLError("Variables must be a JSON object")
        self.variables = dict(variables or {})
        self.operation = self._pick(operation_name)
        self.root_type = _ROOTS.get(self.operation.kind)
        if self.root_type is None:
            raise GraphQLError(f"{self.operation.kind.capitalize()} operations are not supported",
                               line=self.operation.line, column=self.operation.column)
        label = self.operation.kind + (f" {self.operation.name}" if self.operation.name else "")
        self.label = label
        self.declared = set()
        self._coerce_variables()
        self.errors: list[GraphQLError] = []
        self.actual_cost = 0
        self.requested_cost = self._cost(self.operation.selections, self.root_type, [label], root=True)

    def _pick(self, name):
        if name:
            for operation in self.operations:
                if operation.name == name:
                    return operation
            raise GraphQLError(f'No operation named "{name}"')
        if len(self.operations) > 1:
            raise GraphQLError("An operation name is required")
        return self.operations[0]

    def _coerce_variables(self):
        for name, type_ref, has_default, default in self.operation.variables:
            self.declared.add(name)
            if name not in self.variables or self.variables[name] is None:
                if has_default:
                    self.variables[name] = default
                elif type_ref.endswith("!"):
                    raise GraphQLError(f"Variable ${name} of type {type_ref} was provided invalid value",
                                       extensions={"value": None, "problems": [{"path": [], "explanation":
                                                   "Expected value to not be null"}]})

    # ----------------------------------------------------------------- static checks and cost

    def _value(self, raw):
        if isinstance(raw, _Var):
            if raw.name not in self.declared:
                raise GraphQLError(f"Variable ${raw.name} is used by {self.operation.name or 'anonymous query'} "
                                   "but not declared", line=raw.line, column=raw.column,
                                   extensions={"code": "variableNotDefined", "variableName": raw.name})
            return self.variables.get(raw.name)
        if isinstance(raw, list):
            return [self._value(item) for item in raw]
        if isinstance(raw, dict):
            return {key: self._value(item) for key, item in raw.items()}
        return raw

    def args(self, field: _Field) -> dict:
        """Return the field's arguments with variables substituted."""
        return {name: self._value(value) for name, value in field.args.items()}

    def _flatten(self, selections, type_name, path):
        """Yield (field, type) pairs for static checking, entering every fragment."""
        for selection in selections:
            if isinstance(selection, _Field):
                yield selection, type_name
                continue
            fragment = selection
            if fragment.name is not None:
                fragment = self.fragments.get(selection.name)
                if fragment is None:
                    raise GraphQLError(f"Fragment {selection.name} was used, but not defined",
                                       line=selection.line, column=selection.column, path=path)
            condition = fragment.type_condition or type_name
            if condition not in SCHEMA:
                raise GraphQLError(f"No such type {condition}, so it can't be a fragment condition",
                                   line=fragment.line, column=fragment.column, path=path)
            yield from self._flatten(fragment.selections, condition, path)

    def _spec(self, field: _Field, type_name: str, path):
        spec = SCHEMA[type_name].get(field.name)
        if spec is None:
            raise GraphQLError(
                f"Field '{field.name}' doesn't exist on type '{type_name}'", line=field.line, column=field.column,
                path=path + [field.key],
                extensions={"code": "undefinedField", "typeName": type_name, "fieldName": field.name},
            )
        if spec.kind == "scalar" and field.selections is not None:
            raise GraphQLError(f"Selections can't be made on scalars (field '{field.name}' returns a scalar "
                               f"but has selections)", line=field.line, column=field.column, path=path + [field.key])
        if spec.kind != "scalar" and not field.selections:
            raise GraphQLError(f"Field must have selections (field '{field.name}' returns {spec.type} but has "
                               f"no selections. Did you mean '{field.name} {{ ... }}'?)",
                               line=field.line, column=field.column, path=path + [field.key])
        return spec

    def _cost(self, selections, type_name, path, root=False) -> int:
        total = 0
        for field, owner in self._flatten(selections, type_name, path):
            if field.name == "__typename":
                continue
            spec = self._spec(field, owner, path)
            here = path + [field.key]
            if spec.kind == "scalar":
                continue
            if spec.kind == "connection":
                total += self._connection_cost(field, spec.type, here)
            else:
                own = 10 if root and owner == "Mutation" else (0 if field.name in _WRAPPERS else 1)
                total += own + self._cost(field.selections, spec.type, here)
        return total

    def _connection_cost(self, field, connection_type, path) -> int:
        args = self.args(field)
        size = args.get("first", args.get("last"))
        if size is None:
            raise GraphQLError("you must provide one of first or last", line=field.line, column=field.column,
                               path=path)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise GraphQLError(f"Argument 'first' on Field '{field.name}' has an invalid value ({size!r}). "
                               "Expected type 'Int'.", line=field.line, column=field.column, path=path)
        if size > MAX_PAGE:
            raise GraphQLError(f"The first argument cannot exceed {MAX_PAGE}. To query larger amounts of data "
                               "with fewer limits, bulk operations should be used instead.",
                               line=field.line, column=field.column, path=path)
        node_type = connection_type[: -len("Connection")]
        per_node = 1
        for child, owner in self._flatten(field.selections, connection_type, path):
            if child.name == "__typename":
                continue
            spec = self._spec(child, owner, path)
            if child.name == "nodes":
                per_node = max(per_node, 1 + self._cost(child.selections, node_type, path + ["nodes"]))
            elif child.name == "edges":
                for grand, edge_type in self._flatten(child.selections, spec.type, path + ["edges"]):
                    if grand.name == "__typename":
                        continue
                    grand_spec = self._spec(grand, edge_type, path + ["edges"])
                    if grand.name == "node":
                        per_node = max(per_node, 1 + self._cost(grand.selections, grand_spec.type,
                                                                path + ["edges", "node"]))
            else:
                self._cost(child.selections or [], spec.type or "PageInfo", path + [child.key])
        return 2 + size * per_node

    # ----------------------------------------------------------------- running

    def run(self, root: dict) -> dict:
        """Return ``data`` after resolving the operation against ``root`` (errors collected)."""
        return self._select(self.operation.selections, self.root_type, root, [], counting=True, root=True)

    def _included(self, directives) -> bool:
        for name, raw_args in directives:
            condition = bool(self._value(raw_args.get("if")))
            if (name == "skip" and condition) or (name == "include" and not condition):
                return False
        return True

    def _fields(self, selections, type_name, concrete):
        for selection in selections:
            if not self._included(selection.directives):
                continue
            if isinstance(selection, _Field):
                yield selection
                continue
            fragment = self.fragments[selection.name] if selection.name else selection
            if not self._included(fragment.directives):
                continue
            condition = fragment.type_condition
            if condition in (None, type_name, concrete) or concrete in _POSSIBLE_TYPES.get(condition, ()):
                yield from self._fields(fragment.selections, type_name, concrete)

    def _select(self, selections, type_name, obj: dict, path, *, counting, root=False) -> dict:
        concrete = obj.get("__typename", type_name)
        result = {}
        for field in self._fields(selections, type_name, concrete):
            key = field.key
            if field.name == "__typename":
                result[key] = concrete
                continue
            spec = SCHEMA.get(concrete, {}).get(field.name) or SCHEMA[type_name][field.name]
            raw = obj.get(field.name)
            try:
                if callable(raw):
                    raw = raw(self.args(field))
                result[key] = self._complete(field, spec, raw, path + [key], counting=counting,
                                             mutation=root and type_name == "Mutation")
            except GraphQLError as exc:
                exc.line, exc.column = exc.line or field.line, exc.column or field.column
                exc.path = exc.path or path + [key]  # execution errors carry the response path
                self.errors.append(exc)
                result[key] = None
        return result

    def _complete(self, field, spec, raw, path, *, counting, mutation=False):
        if spec.kind == "scalar":
            return _gql_money(raw) if isinstance(raw, Decimal) else raw
        if raw is None:
            return None
        if spec.kind == "connection":
            if counting:
                self.actual_cost += 2
            return self._select(field.selections, spec.type, raw, path, counting=counting)
        if spec.kind == "object":
            if counting and field.name not in _WRAPPERS:
                self.actual_cost += 10 if mutation else 1
            return self._select(field.selections, spec.type, raw, path, counting=counting)
        # a list: a connection's nodes all count; a plain list is priced as one element
        items = []
        for index, item in enumerate(raw):
            counted = counting and (field.name in ("nodes", "edges") or index == 0)
            if counted and field.name != "edges":
                self.actual_cost += 1
            items.append(self._select(field.selections, spec.type, item, path + [index], counting=counted))
        return items


def paginate(items: list, args: dict, key=lambda item: (item["id"],)) -> dict:
    """Return a connection value (edges, nodes, pageInfo) of ``items`` sorted by ``key``.

    Cursors carry the sort key of their item, as Shopify's do, so a page boundary stays valid
    when items change between requests; ``reverse`` flips the order.
    """
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=key, reverse=reverse)
    keyed = [(key(item), item) for item in ordered]
    after, before = args.get("after"), args.get("before")
    if after:
        bound = _decode_cursor(after)
        keyed = [(k, i) for k, i in keyed if (k < bound if reverse else k > bound)]
    if before:
        bound = _decode_cursor(before)
        keyed = [(k, i) for k, i in keyed if (k > bound if reverse else k < bound)]
    has_next = has_previous = False
    if args.get("first") is not None:
        has_next = len(keyed) > args["first"]
        has_previous = bool(after)
        keyed = keyed[: args["first"]]
    elif args.get("last") is not None:
        has_previous = len(keyed) > args["last"]
        has_next = bool(before)
        keyed = keyed[len(keyed) - args["last"]:] if args["last"] else []
    edges = [{"cursor": _encode_cursor(k), "node": item} for k, item in keyed]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next, "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _encode_cursor(sort_key: tuple) -> str:
    # the shape Shopify's opaque cursors decode to: {"last_id": ..., "last_value": ...}
    data = {"last_id": sort_key[-1], "last_value": list(sort_key[:-1])}
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor) -> tuple:
    try:
        data = json.loads(base64.b64decode(str(cursor), validate=True))
        return (*data["last_value"], data["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort ({cursor!r}).") from None


# --------------------------------------------------------------------------- search syntax

_TERM = re.compile(r"""(?P<neg>-)?(?P<field>\w+):(?P<op>>=|<=|>|<|=)?(?P<value>'[^']*'|"[^"]*"|\S+)|(?P<word>\S+)""")


def parse_search(query: str | None) -> tuple[list[list[tuple]], list[str]]:
    """Return the search as OR-ed groups of AND-ed ``(field, op, value, negated)`` terms, and free words."""
    groups, words, current = [], [], []
    for match in _TERM.finditer(query or ""):
        if match.group("word"):
            word = match.group("word")
            if word == "OR":
                groups.append(current)
                current = []
            elif word != "AND":
                words.append(word)
            continue
        value = match.group("value")
        if value[:1] in "'\"" and value[-1:] == value[:1]:
            value = value[1:-1]
        current.append((match.group("field"), match.group("op") or "=", value, bool(match.group("neg"))))
    groups.append(current)
    return [g for g in groups if g] or [[]], words


def _compare(actual, op: str, wanted) -> bool:
    if actual is None:
        return False
    return {"=": actual == wanted, ">": actual > wanted, ">=": actual >= wanted,
            "<": actual < wanted, "<=": actual <= wanted}[op]


# --------------------------------------------------------------------------- shop data helpers

COUNTRY_NAMES = {"BE": "Belgium", "FR": "France", "DE": "Germany", "NL": "Netherlands", "US": "United States",
                 "GB": "United Kingdom", "CA": "Canada", "LU": "Luxembourg"}

WEBHOOK_TOPICS = (
    "ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "ORDERS_PAID", "ORDERS_FULFILLED",
    "ORDERS_PARTIALLY_FULFILLED", "REFUNDS_CREATE", "PRODUCTS_UPDATE", "INVENTORY_LEVELS_UPDATE", "APP_UNINSTALLED",
    "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE",
)

INVENTORY_REASONS = (
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated", "movement_received",
    "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
)

FINANCIAL_STATUSES = ("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided")


def topic_enum(topic: str) -> str:
    """Return the GraphQL topic enum of a REST topic (``orders/create`` -> ``ORDERS_CREATE``)."""
    return topic.replace("/", "_").upper()


def topic_rest(topic: str) -> str:
    """Return the REST topic of a GraphQL topic enum (``ORDERS_CREATE`` -> ``orders/create``)."""
    head, _, tail = topic.lower().partition("_")
    return f"{head}/{tail}"


def _address(person: dict | None) -> dict | None:
    if person is None:
        return None
    country = (person.get("country_code") or "").upper() or None
    first, last = person.get("first_name"), person.get("last_name")
    return {
        "first_name": first, "last_name": last, "company": person.get("company"),
        "address1": person.get("address1", person.get("street")),
        "address2": person.get("address2", person.get("street2")) or None,
        "city": person.get("city"), "zip": person.get("zip"),
        "province": person.get("province"), "province_code": person.get("province_code"),
        "country": person.get("country") or COUNTRY_NAMES.get(country), "country_code": country,
        "phone": person.get("phone"), "name": " ".join(x for x in (first, last) if x) or None,
        "latitude": None, "longitude": None,
    }


def _refunded_quantity(order: dict, line: dict) -> int:
    return sum(rl["quantity"] for r in order["refunds"] for rl in r["lines"] if rl["line_item_id"] == line["id"])


def _user_error(path, message, code=None) -> dict:
    error = {"field": [str(p) for p in path] if path is not None else None, "message": message}
    if code:
        error["code"] = code
    return error


class ShopifySimulator(Simulator):
    """A Shopify shop: catalogue, stock per location, orders, fulfilments, payouts, webhooks."""

    name = "shopify"

    def __init__(self, *, token: str = "shpat_test_token", shop_domain: str = "retail-connector-test.myshopify.com",
                 shop_name: str = "Retail Connector Test Shop", api_version: str = DEFAULT_API_VERSION,
                 currency: str = "EUR", tax_rate="0.21", taxes_included: bool = True, utc_offset_hours: int = 1,
                 catalogue=DEFAULT_CATALOGUE, locations=DEFAULT_LOCATIONS, cost_limit: tuple = (1000, 100),
                 seed: int | None = None, clock=None, first_order_number: int = 1001, **options):
        """Create the shop; ``options`` go to Simulator (port, webhook_url, webhook_secret, ...).

        ``webhook_secret`` is the app's client secret that signs webhooks; ``cost_limit`` is the
        leaky bucket ``(maximum points, restored per second)``; ``utc_offset_hours`` is the
        shop's time zone, in which REST payloads write their timestamps; ``clock`` returns the
        current aware datetime (tests pin time with it).
        """
        super().__init__(auth_token=None, **options)
        self.token = token
        self.shop_domain = shop_domain
        self.shop_id = 54_000_000 + sum(shop_domain.encode()) % 100_000
        self.shop_name = shop_name
        self.api_version = api_version
        self.currency = currency
        self.tax_rate = Decimal(str(tax_rate))
        self.taxes_included = taxes_included
        self.shop_tz = timezone(timedelta(hours=utc_offset_hours))
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._next_ids = dict.fromkeys(_ID_BASES, 0)
        self._next_number = first_order_number
        self.products: dict[int, dict] = {}
        self.variants: dict[int, dict] = {}
        self._items: dict[int, int] = {}  # inventory item id -> variant id
        self._levels: dict[tuple[int, int], dict] = {}
        self.locations: dict[int, dict] = {}
        self._orders: dict[int, dict] = {}
        self._fulfillment_orders: dict[int, dict] = {}
        self.fulfillments: list[dict] = []
        self.subscriptions: dict[int, dict] = {}
        self.carrier_services: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}
        self.product_sets: list[dict] = []
        self.payouts: dict[int, dict] = {}
        self.balance_transactions: list[dict] = []
        self.inventory_writes: list[dict] = []
        self.price_writes: list[dict] = []
        self._event_times: dict[str, datetime] = {}
        self.throttled_count = 0
        self._bucket_lock = threading.Lock()
        self.set_cost_limit(*cost_limit)
        self._trickle_stop = threading.Event()
        self._trickle_thread: threading.Thread | None = None
        for spec in locations:
            self.add_location(**spec)
        for item in catalogue:
            self.add_variant(item["sku"], item["price"], compare_at_price=item.get("compare_at_price"),
                             product_title=item.get("product"), title=item.get("title", "Default Title"),
                             inventory=item.get("inventory"))

    # ----------------------------------------------------------------- basics

    def now(self) -> datetime:
        """Return the shop's current time (UTC, to the second)."""
        return _utc(self._clock()).replace(microsecond=0)

    def _new_id(self, kind: str) -> int:
        self._next_ids[kind] += 1
        return _ID_BASES[kind] + self._next_ids[kind]

    def _rest_time(self, moment: datetime | None) -> str | None:
        # REST payloads write times in the shop's zone with its offset, as Shopify does
        return None if moment is None else moment.astimezone(self.shop_tz).isoformat()

    def stop(self) -> None:
        """Stop the order trickle, then the server."""
        self.stop_trickle()
        super().stop()

    # ----------------------------------------------------------------- cost bucket

    def set_cost_limit(self, maximum: float = 1000, restore_rate: float = 100, available: float | None = None) -> None:
        """Set the leaky bucket: ``maximum`` points restored at ``restore_rate``/s (``available`` now)."""
        with self._bucket_lock:
            self._bucket_max = float(maximum)
            self._bucket_rate = float(restore_rate)
            self._bucket_available = float(maximum if available is None else available)
            self._bucket_at = time.monotonic()

    def drain(self, points: float) -> None:
        """Take ``points`` from the bucket, as other calls of the same app would."""
        with self._bucket_lock:
            self._refill()
            self._bucket_available = max(0.0, self._bucket_available - points)

    def _refill(self) -> None:
        now = time.monotonic()
        self._bucket_available = min(self._bucket_max,
                                     self._bucket_available + (now - self._bucket_at) * self._bucket_rate)
        self._bucket_at = now

    def throttle_status(self) -> dict:
        """Return the bucket as ``throttleStatus`` reports it."""
        with self._bucket_lock:
            self._refill()
            return {"maximumAvailable": self._bucket_max, "currentlyAvailable": int(self._bucket_available),
                    "restoreRate": self._bucket_rate}

    def _charge(self, requested: int) -> str | None:
        with self._bucket_lock:
            self._refill()
            if requested > self._bucket_max:
                return "MAX_COST_EXCEEDED"
            if requested > self._bucket_available:
                self.throttled_count += 1
                return "THROTTLED"
            self._bucket_available -= requested
            return None

    def _refund_points(self, points: float) -> None:
        with self._bucket_lock:
            self._bucket_available = min(self._bucket_max, self._bucket_available + points)

    def _cost(self, requested, actual) -> dict:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": self.throttle_status()}}

    # ----------------------------------------------------------------- HTTP endpoint

    @route("POST", "/admin/api/{version}/graphql.json", auth=False)
    def api_graphql(self, request):
        """Return the GraphQL answer: data and/or errors, with extensions.cost."""
        given = request.header("X-Shopify-Access-Token") or ""
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return Response(401, {"errors": INVALID_TOKEN})
        version = request.params["version"]
        if not re.fullmatch(r"\d{4}-(01|04|07|10)|unstable", version):
            return Response(404, {"errors": "Not Found"})
        headers = {"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return Response(400, {"errors": {"query": "Required parameter missing or invalid"}}, headers)
        try:
            execution = _Execution(body["query"], body.get("variables"), body.get("operationName"))
        except GraphQLError as exc:
            return Response(200, {"errors": [exc.as_dict()], "extensions": self._cost(0, 0)}, headers)
        requested = execution.requested_cost
        refused = self._charge(requested)
        if refused == "THROTTLED":
            error = {"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}
            return Response(200, {"errors": [error], "extensions": self._cost(requested, None)}, headers)
        if refused == "MAX_COST_EXCEEDED":
            error = {"message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                                f"({int(self._bucket_max)}). To query larger amounts of data with fewer limits, "
                                "bulk operations should be used instead.",
                     "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": int(self._bucket_max)}}
            return Response(200, {"errors": [error], "extensions": self._cost(requested, None)}, headers)
        context = {"events": [], "search": []}
        with self._lock:
            data = execution.run(self._root(execution.root_type, context))
        actual = min(execution.actual_cost, requested)
        self._refund_points(requested - actual)
        answer = {"data": data}
        if execution.errors:
            answer["errors"] = [e.as_dict() for e in execution.errors]
        answer["extensions"] = self._cost(requested, actual)
        if context["search"]:
            answer["extensions"]["search"] = context["search"]
        self._send_events(context["events"])
        return Response(200, answer, headers)

    def _root(self, root_type: str, context: dict) -> dict:
        if root_type == "Mutation":
            return {
                "inventorySetQuantities": lambda a: self._m_inventory_set(a),
                "productVariantsBulkUpdate": lambda a: self._m_variants_bulk_update(a),
                "productSet": lambda a: self._m_product_set(a),
                "fulfillmentCreate": lambda a: self._m_fulfillment_create(a, context),
                "refundCreate": lambda a: self._m_refund_create(a, context),
                "webhookSubscriptionCreate": lambda a: self._m_subscription_create(a),
                "webhookSubscriptionDelete": lambda a: self._m_subscription_delete(a),
                "customerCreate": lambda a: self._m_customer_save(a, context, create=True),
                "customerUpdate": lambda a: self._m_customer_save(a, context, create=False),
                "customerEmailMarketingConsentUpdate": lambda a: self._m_customer_consent(a, context),
            }
        one = self._one
        return {
            "shop": lambda a: self._shop_node(),
            "orders": lambda a: self._q_orders(a, context),
            "order": lambda a: one(a, "Order", self._orders, self._order_node),
            "productVariants": lambda a: self._q_variants(a, context),
            "productVariant": lambda a: one(a, "ProductVariant", self.variants, self._variant_node),
            "products": lambda a: self._q_products(a),
            "product": lambda a: one(a, "Product", self.products, self._product_node),
            "locations": lambda a: paginate([self._location_node(x) for x in self.locations.values()], a,
                                            key=lambda n: (n["legacyResourceId"],)),
            "location": lambda a: one(a, "Location", self.locations, self._location_node),
            "fulfillmentOrder": lambda a: one(a, "FulfillmentOrder", self._fulfillment_orders, self._fo_node),
            "inventoryItem": lambda a: one(a, "InventoryItem", self._items, lambda v: self._item_node(
                self.variants[v]["inventory_item_id"])),
            "webhookSubscriptions": lambda a: self._q_subscriptions(a),
            "shopifyPaymentsAccount": lambda a: self._payments_account_node(context),
            "customers": lambda a: self._q_customers(a, context),
            "customer": lambda a: one(a, "Customer", self.customers, self._shop_customer_node),
            "carrierServices": lambda a: self._q_carrier_services(a, context),
        }

    @staticmethod
    def _one(args, kind, table, build):
        given = args.get("id")
        number = parse_gid(given, kind) if isinstance(given, str) else None
        if number is None:
            raise GraphQLError(f"Invalid global id '{args.get('id')}'",
                               extensions={"code": "argumentLiteralsIncompatible", "typeName": "CoercionError"})
        record = table.get(number)
        return build(record) if record is not None else None

    # ----------------------------------------------------------------- webhooks

    def new_event_id(self) -> str:
        """Return a fresh event id (a UUID, as Shopify's X-Shopify-Event-Id)."""
        return str(uuid.uuid4())

    def webhook_headers(self, delivery: WebhookDelivery, timestamp: int) -> dict:
        """Return Shopify's webhook headers; ids and trigger time are the same on every attempt."""
        headers = super().webhook_headers(delivery, timestamp)
        headers["User-Agent"] = "Shopify-Captain-Hook"
        triggered = self._event_times.get(delivery.event_id) or datetime.now(timezone.utc)
        triggered += timedelta(seconds=delivery.timestamp_skew)
        headers.update({
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            # one id per (event, endpoint): a retry or a duplicate of a delivery repeats it
            "X-Shopify-Webhook-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery.event_id}|{delivery.url}")),
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": triggered.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        })
        if delivery.secret is not None:
            headers["X-Shopify-Hmac-Sha256"] = hmac_sha256_base64(delivery.secret, delivery.body)
        return headers

    def webhook_urls(self, topic: str) -> list[str]:
        """Return where ``topic`` is delivered: its subscriptions, then ``webhook_url``."""
        with self._lock:
            urls = [s["uri"] for s in sorted(self.subscriptions.values(), key=lambda s: s["id"])
                    if s["topic"] == topic_enum(topic)]
        if self.webhook_url and self.webhook_url not in urls:
            urls.append(self.webhook_url)
        return urls

    def _send_events(self, events) -> None:
        # always called without self._lock: a receiver may call the API back synchronously
        for topic, payload in events:
            event_id = self.new_event_id()
            self._event_times[event_id] = datetime.now(timezone.utc)
            urls = self.webhook_urls(topic) or [None]
            for url in urls:
                self.send_webhook(topic, payload, url=url, event_id=event_id)

    # ----------------------------------------------------------------- catalogue and stock

    def add_location(self, name: str, **address) -> dict:
        """Return a new location (``address1``, ``city``, ``zip``, ``country_code``...)."""
        with self._lock:
            number = self._new_id("Location")
            location = {"id": number, "name": name, "active": True, **address}
            self.locations[number] = location
            for item in self._items:
                self._levels[(item, number)] = {"available": 0, "updated_at": self.now()}
            return dict(location)

    def add_carrier_service(self, name: str, *, active: bool = True,
                            callback_url: str = "https://carrier.example.com/rates") -> dict:
        """Return a new third-party carrier service (what ``carrierServiceCreate`` makes). Its rates
        name it in their shipping lines' ``source``, with a ``carrier_identifier``."""
        with self._lock:
            number = self._new_id("DeliveryCarrierService")
            service = {"id": number, "name": name, "active": active, "callback_url": callback_url,
                       "supports_service_discovery": True}
            self.carrier_services[number] = service
            return dict(service)

    def _q_carrier_services(self, args: dict, context: dict) -> dict:
        fields = {
            "active": lambda c, op, v: c["active"] == (v.lower() == "true"),
            "id": lambda c, op, v: _compare(c["id"], op, int(v)) if v.isdigit() else False,
            "default": lambda c, w: w.lower() in c["name"].lower(),
        }
        matches = self._search(args.get("query"), fields, context, "carrierServices")
        nodes = [{"id": gid("DeliveryCarrierService", c["id"]), "name": c["name"],
                  "formattedName": f"{c['name']} (Rates provided by app)", "active": c["active"],
                  "callbackUrl": c["callback_url"], "supportsServiceDiscovery": c["supports_service_discovery"]}
                 for c in self.carrier_services.values() if matches(c)]
        return paginate(nodes, args, key=lambda n: (parse_gid(n["id"]),))

    def add_variant(self, sku: str, price, *, compare_at_price=None, product_title: str | None = None,
                    title: str = "Default Title", barcode: str | None = None, inventory=None,
                    product_id: int | None = None, options=None) -> dict:
        """Return a new variant (with its inventory item) added to the product titled ``product_title``.

        ``inventory`` is a quantity at the first location, or ``{location id or name: quantity}``;
        ``options`` the variant's ``{option name: value}`` (its title then names the values).
        """
        with self._lock:
            if any(v["sku"] == sku for v in self.variants.values()):
                raise ValueError(f"SKU {sku!r} already exists")
            product = self.products.get(product_id) if product_id else next(
                (p for p in self.products.values() if p["title"] == (product_title or sku)), None)
            if product is None:
                number = self._new_id("Product")
                title_text = product_title or sku
                product = {"id": number, "title": title_text, "handle": re.sub(r"\W+", "-", title_text.lower()),
                           "status": "ACTIVE", "updated_at": self.now(), "vendor": self.shop_name}
                self.products[number] = product
            variant = {
                "id": self._new_id("ProductVariant"), "product_id": product["id"], "sku": sku, "title": title,
                "price": _money(price), "compare_at_price": _money(compare_at_price) if compare_at_price else None,
                "barcode": barcode, "inventory_item_id": self._new_id("InventoryItem"), "updated_at": self.now(),
                "options": [(str(k), str(v)) for k, v in (options or {}).items()],
            }
            if variant["options"] and title == "Default Title":
                variant["title"] = " / ".join(v for _k, v in variant["options"])
            self.variants[variant["id"]] = variant
            self._items[variant["inventory_item_id"]] = variant["id"]
            for location in self.locations:
                self._levels[(variant["inventory_item_id"], location)] = {"available": 0, "updated_at": self.now()}
            if inventory is not None:
                spread = inventory if isinstance(inventory, dict) else {next(iter(self.locations)): inventory}
                for where, quantity in spread.items():
                    self.set_inventory_level(sku, where, quantity)
            return self._variant_summary(variant)

    def _variant_summary(self, variant: dict) -> dict:
        return {
            "id": variant["id"], "admin_graphql_api_id": gid("ProductVariant", variant["id"]),
            "product_id": variant["product_id"], "sku": variant["sku"], "title": variant["title"],
            "price": _text(variant["price"]),
            "compare_at_price": _text(variant["compare_at_price"]) if variant["compare_at_price"] is not None else None,
            "inventory_item_id": variant["inventory_item_id"],
        }

    def variant(self, sku: str) -> dict:
        """Return the variant with ``sku`` (ids, price as text); KeyError when unknown."""
        with self._lock:
            return self._variant_summary(self._variant_by_sku(sku))

    def _variant_by_sku(self, sku: str) -> dict:
        for variant in self.variants.values():
            if variant["sku"] == sku:
                return variant
        raise KeyError(f"no variant with SKU {sku!r} in the shop")

    def _location(self, where) -> dict:
        if where is None:
            return next(iter(self.locations.values()))
        number = parse_gid(where, "Location")
        if number in self.locations:
            return self.locations[number]
        for location in self.locations.values():
            if location["name"] == where:
                return location
        raise KeyError(f"no location {where!r} in the shop")

    def inventory_level(self, sku: str, location=None) -> int | None:
        """Return the available quantity of ``sku`` at ``location`` (id, gid or name; None: first)."""
        with self._lock:
            try:
                variant = self._variant_by_sku(sku)
                location_id = self._location(location)["id"]
            except KeyError:
                return None
            level = self._levels.get((variant["inventory_item_id"], location_id))
            return level["available"] if level else None

    def set_inventory_level(self, sku: str, location, quantity: int) -> None:
        """Set the available quantity shop-side (a merchant's edit; no webhook)."""
        with self._lock:
            variant = self._variant_by_sku(sku)
            location_id = self._location(location)["id"]
            self._levels[(variant["inventory_item_id"], location_id)] = {"available": int(quantity),
                                                                          "updated_at": self.now()}

    def save_customer(self, customer_id=None, *, notify: bool = True, **fields) -> dict:
        """Create (no ``customer_id``) or update a customer shop-side; send ``customers/create|update``.

        ``fields``: ``email``, ``phone``, ``first_name``, ``last_name``, ``locale``, ``accepts_marketing``
        (the e-mail marketing consent, ``subscribed`` or ``not_subscribed``), ``address`` (the default one).
        """
        with self._lock:
            created = customer_id is None
            if created:
                customer_id = self._new_id("Customer")
                self.customers[customer_id] = {"id": customer_id, "created_at": self.now()}
            customer = self.customers[customer_id]
            customer.update(fields)
            customer["updated_at"] = self.now()
            payload = self._rest_shop_customer(customer)
        if notify:
            self._send_events([("customers/create" if created else "customers/update", payload)])
        return payload

    def _rest_shop_customer(self, customer: dict) -> dict:
        address = customer.get("address")
        default = None
        if address:
            default = {"id": customer["id"] * 10 + 1, "customer_id": customer["id"], "default": True,
                       "first_name": customer.get("first_name"), "last_name": customer.get("last_name"),
                       "address1": address.get("address1"), "address2": address.get("address2"),
                       "city": address.get("city"), "zip": address.get("zip"),
                       "province_code": address.get("province_code"), "country_code": address.get("country_code"),
                       "phone": customer.get("phone"), "company": None}
        consent = self._marketing_state(customer).lower()
        return {
            "id": customer["id"], "email": customer.get("email"), "phone": customer.get("phone"),
            "first_name": customer.get("first_name"), "last_name": customer.get("last_name"),
            "created_at": self._rest_time(customer["created_at"]), "updated_at": self._rest_time(customer["updated_at"]),
            "state": "enabled", "verified_email": True, "tax_exempt": False, "tags": "", "currency": self.currency,
            "locale": customer.get("locale"), "note": None, "orders_count": 0, "total_spent": "0.00",
            "email_marketing_consent": {"state": consent, "opt_in_level": "single_opt_in",
                                        "consent_updated_at": self._rest_time(customer["updated_at"])},
            "sms_marketing_consent": None,
            "admin_graphql_api_id": gid("Customer", customer["id"]),
            "default_address": default, "addresses": [default] if default else [],
        }

    @staticmethod
    def _marketing_state(customer: dict) -> str:
        return customer.get("marketing_state") or ("SUBSCRIBED" if customer.get("accepts_marketing") else "NOT_SUBSCRIBED")

    def _shop_customer_node(self, customer: dict) -> dict:
        """A customer of the shop (``customers`` and the customer mutations) in the GraphQL shape."""
        node = self._customer_node(customer)
        address = customer.get("address")
        node.update({
            "locale": customer.get("locale") or "en", "createdAt": _iso_z(customer["created_at"]),
            "updatedAt": _iso_z(customer["updated_at"]),
            "defaultAddress": self._address_node({"first_name": customer.get("first_name"),
                                                  "last_name": customer.get("last_name"), **address}) if address else None,
        })
        if node["defaultEmailAddress"]:
            node["defaultEmailAddress"]["marketingState"] = self._marketing_state(customer)
        return node

    def _q_customers(self, args: dict, context: dict) -> dict:
        def at(key):
            def test(customer, op, value):
                try:
                    wanted = _parse_time(value)
                except ValueError:
                    raise GraphQLError(f"Invalid date in search query: {value!r}") from None
                return _compare(customer[key], op, wanted)
            return test

        fields = {
            "updated_at": at("updated_at"), "created_at": at("created_at"),
            "email": lambda c, op, v: (c.get("email") or "").lower() == v.lower(),
            "id": lambda c, op, v: _compare(c["id"], op, int(v)) if v.isdigit() else False,
            "default": lambda c, w: w.lower() in f"{c.get('first_name')} {c.get('last_name')} {c.get('email')}".lower(),
        }
        matches = self._search(args.get("query"), fields, context, "customers")
        sort = (args.get("sortKey") or "ID").upper()
        keys = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}
        if sort not in (*keys, "ID", "NAME", "RELEVANCE"):
            raise GraphQLError(f"Argument 'sortKey' on Field 'customers' has an invalid value ({sort}). "
                               "Expected type 'CustomerSortKeys'.")
        found = [c for c in self.customers.values() if matches(c)]
        nodes = [self._shop_customer_node(c) for c in found]
        index = {id(n): c for c, n in zip(found, nodes)}
        if sort in keys:
            key = lambda n: (_iso_z(index[id(n)][keys[sort]]), index[id(n)]["id"])  # noqa: E731
        else:
            key = lambda n: (index[id(n)]["id"],)  # noqa: E731
        return paginate(nodes, args, key=key)

    def _m_customer_save(self, args: dict, context: dict, *, create: bool) -> dict:
        """``customerCreate`` / ``customerUpdate``: e-mail unique among the shop's customers; consent on create only."""
        data = args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $input of type CustomerInput! was provided invalid value")
        customer = None
        if not create:
            customer = self.customers.get(parse_gid(data.get("id"), "Customer")) if data.get("id") else None
            if customer is None:
                return {"customer": None, "userErrors": [_user_error(["id"], "Customer does not exist")]}
        elif data.get("id"):
            return {"customer": None, "userErrors": [_user_error(["id"], "Id must be blank when creating a customer")]}
        email = data.get("email", customer.get("email") if customer else None)
        phone = data.get("phone", customer.get("phone") if customer else None)
        errors = []
        if create and not (email or phone or data.get("firstName") or data.get("lastName")):
            errors.append(_user_error(["customer"], "A name, phone number, or email address must be present"))
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            errors.append(_user_error(["email"], "Email is invalid"))
        if email and any((c.get("email") or "").lower() == str(email).lower() and c is not customer
                         for c in self.customers.values()):
            errors.append(_user_error(["email"], "Email has already been taken"))
        if "emailMarketingConsent" in data and not create:
            errors.append(_user_error(["emailMarketingConsent"], "To update emailMarketingConsent, please use the "
                                      "customerEmailMarketingConsentUpdate Mutation instead"))
        if errors:
            return {"customer": None, "userErrors": errors}
        now = self.now()
        if customer is None:
            number = self._new_id("Customer")
            customer = self.customers[number] = {"id": number, "created_at": now}
            consent = data.get("emailMarketingConsent") or {}
            if consent.get("marketingState"):
                customer["marketing_state"] = consent["marketingState"]
                customer["accepts_marketing"] = consent["marketingState"] == "SUBSCRIBED"
        for key, name in (("email", "email"), ("phone", "phone"), ("firstName", "first_name"),
                          ("lastName", "last_name"), ("locale", "locale")):
            if key in data:
                customer[name] = data[key]
        addresses = data.get("addresses")
        if addresses and isinstance(addresses[0], dict):
            first = addresses[0]
            customer["address"] = {"address1": first.get("address1"), "address2": first.get("address2"),
                                   "city": first.get("city"), "zip": first.get("zip"),
                                   "province_code": first.get("provinceCode"), "country_code": first.get("countryCode"),
                                   "company": first.get("company")}
        customer["updated_at"] = now
        context["events"].append(("customers/create" if create else "customers/update",
                                  self._rest_shop_customer(customer)))
        return {"customer": self._shop_customer_node(customer), "userErrors": []}

    def _m_customer_consent(self, args: dict, context: dict) -> dict:
        data = args.get("input") or {}
        customer = self.customers.get(parse_gid(data.get("customerId"), "Customer")) if data.get("customerId") else None
        if customer is None:
            return {"customer": None, "userErrors": [_user_error(["input", "customerId"], "Customer not found", "INVALID")]}
        if not customer.get("email"):
            return {"customer": None, "userErrors": [_user_error(["input", "customerId"],
                                                                 "Customer must have an email address", "INVALID")]}
        state = (data.get("emailMarketingConsent") or {}).get("marketingState")
        if state not in ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"):
            return {"customer": None, "userErrors": [_user_error(["input", "emailMarketingConsent", "marketingState"],
                                                                 "Marketing state is invalid", "INVALID")]}
        customer["marketing_state"] = state
        customer["accepts_marketing"] = state == "SUBSCRIBED"
        customer["updated_at"] = self.now()
        context["events"].append(("customers/update", self._rest_shop_customer(customer)))
        return {"customer": self._shop_customer_node(customer), "userErrors": []}

    def customer_by_email(self, email: str) -> dict | None:
        """Return the shop's customer with ``email`` (its stored fields), or None."""
        with self._lock:
            for customer in self.customers.values():
                if (customer.get("email") or "").lower() == email.lower():
                    return dict(customer, marketing_state=self._marketing_state(customer))
        return None

    def request_customer_redact(self, customer_id, *, email=None, phone=None, orders=()) -> dict:
        """Send the mandatory ``customers/redact`` compliance webhook (a customer asked to be erased)."""
        payload = {"shop_id": self.shop_id, "shop_domain": self.shop_domain,
                   "customer": {"id": customer_id, "email": email, "phone": phone},
                   "orders_to_redact": list(orders)}
        self._send_events([("customers/redact", payload)])
        return payload

    def request_customer_data(self, customer_id, *, email=None, phone=None, orders=()) -> dict:
        """Send the mandatory ``customers/data_request`` compliance webhook (a customer asked for their data)."""
        payload = {"shop_id": self.shop_id, "shop_domain": self.shop_domain,
                   "orders_requested": list(orders),
                   "customer": {"id": customer_id, "email": email, "phone": phone},
                   "data_request": {"id": self._new_id("Customer") % 100000}}
        self._send_events([("customers/data_request", payload)])
        return payload

    def request_shop_redact(self) -> dict:
        """Send the mandatory ``shop/redact`` compliance webhook (48 hours after the app was uninstalled)."""
        payload = {"shop_id": self.shop_id, "shop_domain": self.shop_domain}
        self._send_events([("shop/redact", payload)])
        return payload

    def set_variant_price(self, sku: str, price, compare_at_price=None) -> None:
        """Set a variant's price shop-side (a merchant's edit; no webhook)."""
        with self._lock:
            variant = self._variant_by_sku(sku)
            variant["price"] = _money(price)
            variant["compare_at_price"] = _money(compare_at_price) if compare_at_price else None
            variant["updated_at"] = self.now()

    def edit_variant(self, sku: str, *, product_title: str | None = None, barcode=False) -> dict:
        """Edit a variant's product title and/or barcode shop-side (a merchant's edit; no webhook)."""
        with self._lock:
            variant = self._variant_by_sku(sku)
            if product_title is not None:
                self.products[variant["product_id"]]["title"] = product_title
                self.products[variant["product_id"]]["updated_at"] = self.now()
            if barcode is not False:
                variant["barcode"] = barcode
            variant["updated_at"] = self.now()
            return self._variant_summary(variant)

    def delete_product_of(self, sku: str) -> None:
        """Delete the product of the variant with ``sku``, its variants and their stock (shop-side)."""
        with self._lock:
            product_id = self._variant_by_sku(sku)["product_id"]
            for variant_id in [v["id"] for v in self.variants.values() if v["product_id"] == product_id]:
                gone = self.variants.pop(variant_id)
                self._items.pop(gone["inventory_item_id"], None)
                for key in [k for k in self._levels if k[0] == gone["inventory_item_id"]]:
                    del self._levels[key]
            self.products.pop(product_id, None)

    # ----------------------------------------------------------------- orders: shop-side actions

    def place_order(self, *, notify: bool = True, **spec) -> dict:
        """Return a new order (REST shape) after sending ``orders/create`` (and ``orders/paid``).

        ``spec`` may give ``line_items`` (``[{"sku", "quantity", "price", "total_discount"}]``,
        default: 1-3 random catalogue lines), ``customer`` (merged into a random customer; None
        for a guest), ``email``, ``phone``, ``billing_address``/``shipping_address`` (merged;
        None for none), ``shipping_lines`` (``[{"code", "title", "price"}]``), ``discount_codes``
        (``[{"code", "type": "percentage"|"fixed_amount"|"shipping", "value"}]``),
        ``financial_status`` (default ``paid``), ``taxes_included``, ``tax_rate``, ``currency``,
        ``note``, ``tags``, ``gateway``, ``created_at`` and ``updated_at``.
        """
        with self._lock:
            order = self._new_order(spec)
            self._orders[order["id"]] = order
            self._open_fulfillment_order(order)
            payload = self._rest_order(order)
        events = [("orders/create", payload)]
        if order["financial_status"] == "paid":
            events.append(("orders/paid", payload))
        if notify:
            self._send_events(events)
        return copy.deepcopy(payload)

    def add_orders(self, count: int, **spec) -> list[dict]:
        """Return ``count`` new orders placed without webhooks (bulk set-up)."""
        return [self.place_order(notify=False, **spec) for _ in range(count)]

    def update_order(self, order_id, *, notify: bool = True, **changes) -> dict:
        """Return the order after ``changes`` (keys as in place_order, plus ``closed_at``), with
        ``orders/updated`` (preceded by ``orders/paid`` when it becomes paid)."""
        with self._lock:
            order = self._order(order_id)
            was_paid = order["financial_status"] == "paid"
            self._apply_changes(order, dict(changes))
            if "updated_at" in changes:
                order["updated_at"] = _parse_time(changes["updated_at"])
            else:
                self._touch(order)
            payload = self._rest_order(order)
        events = [("orders/updated", payload)]
        if order["financial_status"] == "paid" and not was_paid:
            events.insert(0, ("orders/paid", payload))
        if notify:
            self._send_events(events)
        return copy.deepcopy(payload)

    def mark_paid(self, order_id, *, notify: bool = True) -> dict:
        """Return the order after capturing its payment (``orders/paid``, ``orders/updated``)."""
        return self.update_order(order_id, financial_status="paid", notify=notify)

    def cancel_order(self, order_id, reason: str = "customer", *, refund: bool = False, notify: bool = True) -> dict:
        """Return the order after cancelling it (``orders/cancelled`` then ``orders/updated``).

        An authorised or pending payment is voided; ``refund`` refunds what was paid first
        (with its ``refunds/create``).
        """
        refund_payload = None
        with self._lock:
            order = self._order(order_id)
            if order["cancelled_at"] is not None:
                raise ValueError(f"order {order['id']} is already cancelled")
            if any(f["order_id"] == order["id"] for f in self.fulfillments):
                raise ValueError(f"order {order['id']} has fulfilments and can no longer be cancelled")
            if refund and self._totals(order)["outstanding_refundable"] > 0:
                refund_payload = self._refund(order, None, None, "Order cancelled", restock=True)
            if order["financial_status"] in ("pending", "authorized"):
                order["financial_status"] = "voided"
            self._touch(order)
            order["cancelled_at"] = order["updated_at"]
            order["cancel_reason"] = reason
            for fo in self._order_fulfillment_orders(order):
                fo["status"] = "CLOSED"
                fo["updated_at"] = order["updated_at"]
            payload = self._rest_order(order)
        events = ([("refunds/create", refund_payload)] if refund_payload else []) + [
            ("orders/cancelled", payload), ("orders/updated", payload)]
        if notify:
            self._send_events(events)
        return copy.deepcopy(payload)

    def refund_order(self, order_id, amount=None, line_items=None, *, note: str | None = None,
                     restock: bool = False, notify: bool = True) -> dict:
        """Return the refund (REST shape) after sending ``refunds/create`` and ``orders/updated``.

        ``line_items`` is ``[{"sku" or "line_item_id", "quantity"}]``; ``amount`` defaults to
        what those lines cost (tax included); with neither, everything still refundable.
        """
        with self._lock:
            order = self._order(order_id)
            refund = self._refund(order, amount, line_items, note, restock)
            payload = self._rest_order(order)
        if notify:
            self._send_events([("refunds/create", refund), ("orders/updated", payload)])
        return copy.deepcopy(refund)

    def get_order(self, order_id) -> dict:
        """Return the order as its webhooks carry it (REST shape); KeyError when unknown."""
        with self._lock:
            return self._rest_order(self._order(order_id))

    @property
    def orders(self) -> list[dict]:
        """Return every order (REST shape), oldest first."""
        with self._lock:
            return [self._rest_order(o) for o in sorted(self._orders.values(), key=lambda o: o["id"])]

    def fulfillment_orders(self, order_id) -> list[dict]:
        """Return the order's fulfilment orders: id, status, location and line quantities."""
        with self._lock:
            return copy.deepcopy(self._order_fulfillment_orders(self._order(order_id)))

    # ----------------------------------------------------------------- orders: records

    def _order(self, order_id) -> dict:
        # helpers take the id as the REST payload (int), its text, or the gid
        number = int(order_id) if isinstance(order_id, str) and order_id.isdigit() else parse_gid(order_id, "Order")
        try:
            return self._orders[number]
        except KeyError:
            raise KeyError(f"no order {order_id!r} in the shop") from None

    def _touch(self, order: dict) -> None:
        # updated_at strictly increases so an "updated since" poll sees every change
        order["updated_at"] = max(self.now(), order["updated_at"] + timedelta(seconds=1))

    def _new_order(self, spec: dict) -> dict:
        spec = dict(spec)
        person = dict(self._rng.choice(CUSTOMERS))
        customer_spec = spec.pop("customer", {})
        customer = None
        if customer_spec is not None:
            index = CUSTOMERS.index(next(c for c in CUSTOMERS if c["email"] == person["email"]))
            customer = {"id": _ID_BASES["Customer"] + index + 1, "email": person["email"], "phone": person["phone"],
                        "first_name": person["first_name"], "last_name": person["last_name"],
                        "created_at": self.now() - timedelta(days=30)}
            customer.update(customer_spec)
        created = _parse_time(spec.pop("created_at", self.now()))
        number = self._next_number
        self._next_number += 1
        order = {
            "id": self._new_id("Order"), "number": number - 1000 if number > 1000 else number, "order_number": number,
            "name": f"#{number}", "email": spec.pop("email", customer["email"] if customer else person["email"]),
            "phone": spec.pop("phone", None), "created_at": created,
            "updated_at": _parse_time(spec.pop("updated_at", created)), "processed_at": created,
            "cancelled_at": None, "cancel_reason": None, "closed_at": None,
            "currency": spec.pop("currency", self.currency),
            "taxes_included": spec.pop("taxes_included", self.taxes_included),
            "tax_rate": Decimal(str(spec.pop("tax_rate", self.tax_rate))),
            "financial_status": spec.pop("financial_status", "paid"), "note": spec.pop("note", None),
            "tags": list(spec.pop("tags", [])), "gateway": spec.pop("gateway", "shopify_payments"),
            "customer": customer, "token": uuid.uuid4().hex, "refunds": [],
            "billing_address": None, "shipping_address": None,
            "line_items": [], "shipping_lines": [], "discount_applications": [],
        }
        for key in ("billing_address", "shipping_address"):
            given = spec.pop(key, {})
            order[key] = None if given is None else _address({**person, **(customer or {}), **given})
        if customer is not None:
            customer["default_address"] = order["billing_address"] or order["shipping_address"]
        lines = spec.pop("line_items", None) or self._random_lines()
        shipping = spec.pop("shipping_lines", [dict(STANDARD_SHIPPING)])
        codes = spec.pop("discount_codes", [])
        if spec:
            raise TypeError(f"unknown order fields: {', '.join(sorted(spec))}")
        self._set_lines(order, lines)
        self._set_shipping(order, shipping)
        self._set_discounts(order, codes)
        self._price(order)
        if order["financial_status"] not in FINANCIAL_STATUSES:
            raise ValueError(f"financial_status must be one of {', '.join(FINANCIAL_STATUSES)}")
        return order

    def _random_lines(self) -> list[dict]:
        variants = sorted(self.variants.values(), key=lambda v: v["id"])
        chosen = self._rng.sample(variants, min(self._rng.randint(1, 3), len(variants)))
        return [{"sku": v["sku"], "quantity": self._rng.choice((1, 1, 1, 2, 3))} for v in chosen]

    def _set_lines(self, order: dict, specs) -> None:
        lines = []
        for spec in specs:
            variant = None
            if spec.get("sku"):
                variant = next((v for v in self.variants.values() if v["sku"] == spec["sku"]), None)
            product = self.products.get(variant["product_id"]) if variant else None
            title = spec.get("title") or (product["title"] if product else spec.get("sku") or "Custom item")
            variant_title = spec.get("variant_title", variant["title"] if variant else None)
            if variant_title == "Default Title":
                variant_title = None
            quantity = int(spec.get("quantity", 1))
            if quantity < 1:
                raise ValueError("a line quantity must be >= 1")
            lines.append({
                "id": self._new_id("LineItem"), "variant_id": variant["id"] if variant else None,
                "product_id": variant["product_id"] if variant else None, "sku": spec.get("sku"),
                "title": title, "variant_title": variant_title, "vendor": self.shop_name, "quantity": quantity,
                "price": _money(spec.get("price", variant["price"] if variant else "10.00")),
                "total_discount": _money(spec.get("total_discount", "0")), "allocations": [], "tax_lines": [],
            })
        if not lines:
            raise ValueError("an order needs at least one line item")
        order["line_items"] = lines

    def _set_shipping(self, order: dict, specs) -> None:
        order["shipping_lines"] = [{
            "id": self._new_id("ShippingLine"), "code": s.get("code"), "title": s.get("title", s.get("code")),
            "price": _money(s.get("price", "0")), "source": s.get("source", "shopify"),
            "carrier_identifier": s.get("carrier_identifier"), "allocations": [], "tax_lines": [],
        } for s in specs or []]

    def _set_discounts(self, order: dict, codes) -> None:
        applications = []
        for index, code in enumerate(codes or []):
            kind = code.get("type", "percentage")
            if kind not in ("percentage", "fixed_amount", "shipping"):
                raise ValueError("a discount code type is percentage, fixed_amount or shipping")
            value = Decimal(str(code.get("value", code.get("amount", "100" if kind == "shipping" else "10"))))
            applications.append({
                "index": index, "type": "discount_code", "code": code["code"],
                "value": value, "value_type": "fixed_amount" if kind == "fixed_amount" else "percentage",
                "kind": kind, "allocation_method": "across" if kind == "fixed_amount" else "each",
                "target_selection": "all", "target_type": "shipping_line" if kind == "shipping" else "line_item",
            })
        order["discount_applications"] = applications

    def _price(self, order: dict) -> None:
        """Allocate the discounts to lines and shipping, then compute every tax line."""
        lines, ships = order["line_items"], order["shipping_lines"]
        for item in lines + ships:
            item["allocations"] = []
        for app in order["discount_applications"]:
            if app["target_type"] == "shipping_line":
                for ship in ships:
                    ship["allocations"].append((app["index"], _money(ship["price"] * app["value"] / 100)))
            elif app["value_type"] == "percentage":
                for line in lines:
                    base = line["price"] * line["quantity"] - line["total_discount"]
                    line["allocations"].append((app["index"], _money(base * app["value"] / 100)))
            else:
                # a fixed amount is spread across lines by value; the last line takes the rounding
                bases = [max(Decimal(0), x["price"] * x["quantity"] - x["total_discount"]) for x in lines]
                total = sum(bases, Decimal(0))
                amount = min(app["value"], total)
                left = amount
                for i, line in enumerate(lines):
                    share = left if i == len(lines) - 1 else _money(amount * bases[i] / total if total else 0)
                    left -= share
                    line["allocations"].append((app["index"], share))
        rate, included = order["tax_rate"], order["taxes_included"]
        for item in lines + ships:
            if item in ships:
                base = item["price"]
            else:
                base = item["price"] * item["quantity"] - item["total_discount"]
            base -= sum((a for _, a in item["allocations"]), Decimal(0))
            if not rate:
                item["tax_lines"] = []
                continue
            tax = base - base / (1 + rate) if included else base * rate
            percent = format((rate * 100).normalize(), "f")
            item["tax_lines"] = [{"title": f"VAT {percent}%", "rate": rate, "price": _money(tax)}]

    def _totals(self, order: dict) -> dict:
        zero = Decimal(0)
        lines, ships = order["line_items"], order["shipping_lines"]
        gross = sum((x["price"] * x["quantity"] for x in lines), zero)
        line_discount = sum((x["total_discount"] + sum((a for _, a in x["allocations"]), zero) for x in lines), zero)
        ship_price = sum((s["price"] for s in ships), zero)
        ship_discount = sum((a for s in ships for _, a in s["allocations"]), zero)
        tax = sum((t["price"] for x in lines + ships for t in x["tax_lines"]), zero)
        subtotal = gross - line_discount
        shipping = ship_price - ship_discount
        total = subtotal + shipping + (zero if order["taxes_included"] else tax)
        refunded = sum((r["amount"] for r in order["refunds"]), zero)
        return {
            "line_items": _money(gross), "subtotal": _money(subtotal), "shipping": _money(shipping),
            "discounts": _money(line_discount + ship_discount), "tax": _money(tax), "total": _money(total),
            "refunded": _money(refunded), "current_total": _money(total - refunded),
            "outstanding_refundable": _money(total - refunded),
        }

    def _apply_changes(self, order: dict, changes: dict) -> None:
        changes.pop("updated_at", None)
        for key in ("billing_address", "shipping_address"):
            if key in changes:
                value = changes.pop(key)
                order[key] = None if value is None else _address({**(order[key] or {}), **value})
        if "customer" in changes:
            value = changes.pop("customer")
            order["customer"] = None if value is None else {**(order["customer"] or {}), **value}
        if "financial_status" in changes:
            status = changes.pop("financial_status")
            if status not in FINANCIAL_STATUSES:
                raise ValueError(f"financial_status must be one of {', '.join(FINANCIAL_STATUSES)}")
            order["financial_status"] = status
        if "closed_at" in changes:
            value = changes.pop("closed_at")
            order["closed_at"] = _parse_time(value) if value else None
        if "line_items" in changes:
            if any(f["order_id"] == order["id"] for f in self.fulfillments):
                raise ValueError("the lines of an order with fulfilments cannot be replaced")
            self._set_lines(order, changes.pop("line_items"))
            for fo in self._order_fulfillment_orders(order):
                del self._fulfillment_orders[fo["id"]]
            self._open_fulfillment_order(order)
        if "shipping_lines" in changes:
            self._set_shipping(order, changes.pop("shipping_lines"))
        if "discount_codes" in changes:
            self._set_discounts(order, changes.pop("discount_codes"))
        for key in ("email", "phone", "note", "taxes_included", "gateway"):
            if key in changes:
                order[key] = changes.pop(key)
        if "tags" in changes:
            order["tags"] = list(changes.pop("tags"))
        if "tax_rate" in changes:
            order["tax_rate"] = Decimal(str(changes.pop("tax_rate")))
        if changes:
            raise TypeError(f"unknown order fields: {', '.join(sorted(changes))}")
        self._price(order)

    def _refund(self, order: dict, amount, line_specs, note, restock) -> dict:
        totals = self._totals(order)
        refund_lines = []
        computed = Decimal(0)
        for spec in line_specs or []:
            line = next((x for x in order["line_items"]
                         if x["id"] == parse_gid(spec.get("line_item_id"), "LineItem")
                         or (spec.get("sku") and x["sku"] == spec.get("sku"))), None)
            if line is None:
                raise KeyError(f"no line {spec!r} on order {order['id']}")
            quantity = int(spec.get("quantity", line["quantity"]))
            already = _refunded_quantity(order, line)
            if not 1 <= quantity <= line["quantity"] - already:
                raise ValueError(f"cannot refund {quantity} of line {line['id']} ({line['quantity'] - already} left)")
            net = line["price"] * line["quantity"] - line["total_discount"] - sum((a for _, a in line["allocations"]),
                                                                                   Decimal(0))
            subtotal = _money(net * quantity / line["quantity"])
            tax = _money(sum((t["price"] for t in line["tax_lines"]), Decimal(0)) * quantity / line["quantity"])
            computed += subtotal + (Decimal(0) if order["taxes_included"] else tax)
            refund_lines.append({"id": self._new_id("RefundLineItem"), "line_item_id": line["id"],
                                 "quantity": quantity, "subtotal": subtotal, "total_tax": tax})
        if amount is not None:
            value = _money(amount)
        elif refund_lines:
            value = computed
        else:
            value = totals["outstanding_refundable"]
        if value <= 0 or value > totals["outstanding_refundable"]:
            raise ValueError(f"a refund must be > 0 and at most {totals['outstanding_refundable']} (got {value})")
        self._touch(order)
        refund = {"id": self._new_id("Refund"), "created_at": order["updated_at"], "note": note,
                  "restock": restock, "lines": refund_lines, "amount": value,
                  "transaction_id": self._new_id("OrderTransaction")}
        order["refunds"].append(refund)
        refunded = totals["refunded"] + value
        order["financial_status"] = "refunded" if refunded >= totals["total"] else "partially_refunded"
        return self._rest_refund(order, refund)

    # ----------------------------------------------------------------- fulfilment orders

    def _open_fulfillment_order(self, order: dict) -> None:
        location = next(iter(self.locations.values()))
        number = self._new_id("FulfillmentOrder")
        self._fulfillment_orders[number] = {
            "id": number, "order_id": order["id"], "status": "OPEN", "request_status": "UNSUBMITTED",
            "location_id": location["id"], "created_at": order["created_at"], "updated_at": order["created_at"],
            "line_items": [{"id": self._new_id("FulfillmentOrderLineItem"), "line_item_id": line["id"],
                            "total": line["quantity"], "remaining": line["quantity"]} for line in order["line_items"]],
        }

    def _order_fulfillment_orders(self, order: dict) -> list[dict]:
        return [fo for fo in sorted(self._fulfillment_orders.values(), key=lambda f: f["id"])
                if fo["order_id"] == order["id"]]

    def _fulfilled(self, order: dict) -> dict[int, int]:
        done: dict[int, int] = {}
        for fo in self._order_fulfillment_orders(order):
            for item in fo["line_items"]:
                done[item["line_item_id"]] = done.get(item["line_item_id"], 0) + item["total"] - item["remaining"]
        return done

    def _fulfillment_status(self, order: dict) -> str | None:
        done = self._fulfilled(order)
        shipped = sum(done.values())
        if not shipped:
            return None
        return "fulfilled" if all(done.get(x["id"], 0) >= x["quantity"] for x in order["line_items"]) else "partial"

    # ----------------------------------------------------------------- REST shapes (webhooks)

    def _price_set(self, amount: Decimal, currency: str) -> dict:
        money = {"amount": _text(amount), "currency_code": currency}
        return {"shop_money": money, "presentment_money": dict(money)}

    def _rest_taxes(self, taxes, currency) -> list[dict]:
        return [{"channel_liable": False, "price": _text(t["price"]), "rate": float(t["rate"]), "title": t["title"],
                 "price_set": self._price_set(t["price"], currency)} for t in taxes]

    def _rest_allocations(self, allocations, currency) -> list[dict]:
        return [{"amount": _text(a), "amount_set": self._price_set(a, currency), "discount_application_index": i}
                for i, a in allocations]

    def _rest_line(self, order: dict, line: dict, done: dict) -> dict:
        cur = order["currency"]
        shipped = done.get(line["id"], 0)
        status = None if not shipped else ("fulfilled" if shipped >= line["quantity"] else "partial")
        refunded = _refunded_quantity(order, line)
        name = f"{line['title']} - {line['variant_title']}" if line["variant_title"] else line["title"]
        return {
            "id": line["id"], "admin_graphql_api_id": gid("LineItem", line["id"]),
            "current_quantity": line["quantity"] - refunded,
            "fulfillable_quantity": 0 if order["cancelled_at"] else line["quantity"] - shipped,
            "fulfillment_service": "manual", "fulfillment_status": status, "gift_card": False, "grams": 200,
            "name": name, "price": _text(line["price"]), "price_set": self._price_set(line["price"], cur),
            "product_exists": line["product_id"] is not None, "product_id": line["product_id"], "properties": [],
            "quantity": line["quantity"], "requires_shipping": True, "sku": line["sku"], "taxable": True,
            "title": line["title"], "total_discount": _text(line["total_discount"]),
            "total_discount_set": self._price_set(line["total_discount"], cur), "variant_id": line["variant_id"],
            "variant_inventory_management": "shopify" if line["variant_id"] else None,
            "variant_title": line["variant_title"], "vendor": line["vendor"],
            "tax_lines": self._rest_taxes(line["tax_lines"], cur), "duties": [],
            "discount_allocations": self._rest_allocations(line["allocations"], cur),
        }

    def _rest_shipping(self, order: dict, ship: dict) -> dict:
        cur = order["currency"]
        discounted = ship["price"] - sum((a for _, a in ship["allocations"]), Decimal(0))
        return {
            "id": ship["id"], "carrier_identifier": ship["carrier_identifier"], "code": ship["code"],
            "discounted_price": _text(discounted), "discounted_price_set": self._price_set(discounted, cur),
            "is_removed": False, "phone": None, "price": _text(ship["price"]),
            "price_set": self._price_set(ship["price"], cur), "requested_fulfillment_service_id": None,
            "source": ship["source"], "title": ship["title"], "tax_lines": self._rest_taxes(ship["tax_lines"], cur),
            "discount_allocations": self._rest_allocations(ship["allocations"], cur),
        }

    def _code_amount(self, order: dict, index: int) -> Decimal:
        items = order["line_items"] + order["shipping_lines"]
        return sum((a for x in items for i, a in x["allocations"] if i == index), Decimal(0))

    def _rest_customer(self, order: dict) -> dict | None:
        customer = order["customer"]
        if customer is None:
            return None
        return {
            "id": customer["id"], "email": customer.get("email"),
            "created_at": self._rest_time(customer.get("created_at")),
            "updated_at": self._rest_time(customer.get("created_at")), "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"), "state": "enabled", "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False, "phone": customer.get("phone"), "tags": "",
            "currency": order["currency"], "tax_exemptions": [],
            "admin_graphql_api_id": gid("Customer", customer["id"]),
            "default_address": dict(customer["default_address"]) if customer.get("default_address") else None,
        }

    def _rest_order(self, order: dict) -> dict:
        """Return the order as Shopify's REST resource and webhooks write it."""
        cur = order["currency"]
        totals = self._totals(order)
        done = self._fulfilled(order)
        tax_summary: dict[tuple, Decimal] = {}
        for item in order["line_items"] + order["shipping_lines"]:
            for tax in item["tax_lines"]:
                key = (tax["title"], tax["rate"])
                tax_summary[key] = tax_summary.get(key, Decimal(0)) + tax["price"]
        return {
            "id": order["id"], "admin_graphql_api_id": gid("Order", order["id"]), "app_id": 580111,
            "browser_ip": "203.0.113.7", "buyer_accepts_marketing": False, "cancel_reason": order["cancel_reason"],
            "cancelled_at": self._rest_time(order["cancelled_at"]), "cart_token": None, "checkout_token": None,
            "closed_at": self._rest_time(order["closed_at"]), "confirmation_number": order["token"][:9].upper(),
            "confirmed": True, "contact_email": order["email"], "created_at": self._rest_time(order["created_at"]),
            "currency": cur, "current_subtotal_price": _text(totals["subtotal"]),
            "current_total_price": _text(totals["current_total"]), "current_total_tax": _text(totals["tax"]),
            "customer_locale": "en", "email": order["email"], "estimated_taxes": False,
            "financial_status": order["financial_status"], "fulfillment_status": self._fulfillment_status(order),
            "gateway": order["gateway"], "landing_site": None, "name": order["name"], "note": order["note"],
            "note_attributes": [], "number": order["number"], "order_number": order["order_number"],
            "payment_gateway_names": [order["gateway"]] if order["gateway"] else [], "phone": order["phone"],
            "presentment_currency": cur, "processed_at": self._rest_time(order["processed_at"]), "reference": None,
            "source_name": "web", "subtotal_price": _text(totals["subtotal"]),
            "subtotal_price_set": self._price_set(totals["subtotal"], cur), "tags": ", ".join(order["tags"]),
            "tax_lines": [{"price": _text(v), "rate": float(rate), "title": title, "channel_liable": False,
                           "price_set": self._price_set(v, cur)} for (title, rate), v in tax_summary.items()],
            "taxes_included": order["taxes_included"], "test": False, "token": order["token"],
            "total_discounts": _text(totals["discounts"]),
            "total_discounts_set": self._price_set(totals["discounts"], cur),
            "total_line_items_price": _text(totals["line_items"]),
            "total_line_items_price_set": self._price_set(totals["line_items"], cur),
            "total_outstanding": "0.00" if order["financial_status"] != "pending" else _text(totals["total"]),
            "total_price": _text(totals["total"]), "total_price_set": self._price_set(totals["total"], cur),
            "total_shipping_price_set": self._price_set(totals["shipping"], cur),
            "total_tax": _text(totals["tax"]), "total_tax_set": self._price_set(totals["tax"], cur),
            "total_weight": 200 * sum(x["quantity"] for x in order["line_items"]),
            "updated_at": self._rest_time(order["updated_at"]), "user_id": None,
            "billing_address": dict(order["billing_address"]) if order["billing_address"] else None,
            "customer": self._rest_customer(order),
            "discount_applications": [{
                "target_type": a["target_type"], "type": a["type"], "value": format(a["value"], "f"),
                "value_type": a["value_type"], "allocation_method": a["allocation_method"],
                "target_selection": a["target_selection"], "code": a["code"],
            } for a in order["discount_applications"]],
            "discount_codes": [{"code": a["code"], "amount": _text(self._code_amount(order, a["index"])),
                                "type": a["kind"]} for a in order["discount_applications"]],
            "fulfillments": [self._rest_fulfillment(f) for f in self.fulfillments if f["order_id"] == order["id"]],
            "line_items": [self._rest_line(order, x, done) for x in order["line_items"]],
            "refunds": [self._rest_refund(order, r) for r in order["refunds"]],
            "shipping_address": dict(order["shipping_address"]) if order["shipping_address"] else None,
            "shipping_lines": [self._rest_shipping(order, s) for s in order["shipping_lines"]],
        }

    def _rest_refund(self, order: dict, refund: dict) -> dict:
        cur = order["currency"]
        lines = {x["id"]: x for x in order["line_items"]}
        done = self._fulfilled(order)
        return {
            "id": refund["id"], "admin_graphql_api_id": gid("Refund", refund["id"]), "order_id": order["id"],
            "created_at": self._rest_time(refund["created_at"]), "processed_at": self._rest_time(refund["created_at"]),
            "note": refund["note"], "restock": refund["restock"], "user_id": None, "order_adjustments": [],
            "duties": [],
            "refund_line_items": [{
                "id": rl["id"], "line_item_id": rl["line_item_id"], "quantity": rl["quantity"],
                "restock_type": "return" if refund["restock"] else "no_restock", "location_id": None,
                "subtotal": float(rl["subtotal"]), "subtotal_set": self._price_set(rl["subtotal"], cur),
                "total_tax": float(rl["total_tax"]), "total_tax_set": self._price_set(rl["total_tax"], cur),
                "line_item": self._rest_line(order, lines[rl["line_item_id"]], done),
            } for rl in refund["lines"]],
            "transactions": [{
                "id": refund["transaction_id"],
                "admin_graphql_api_id": gid("OrderTransaction", refund["transaction_id"]),
                "order_id": order["id"], "kind": "refund", "gateway": order["gateway"], "status": "success",
                "amount": _text(refund["amount"]), "currency": cur, "created_at": self._rest_time(refund["created_at"]),
                "test": False,
            }],
        }

    def _rest_fulfillment(self, fulfillment: dict) -> dict:
        tracking = fulfillment["tracking"]
        return {
            "id": fulfillment["id"], "admin_graphql_api_id": gid("Fulfillment", fulfillment["id"]),
            "order_id": fulfillment["order_id"], "name": fulfillment["name"], "status": "success",
            "created_at": self._rest_time(fulfillment["created_at"]), "location_id": fulfillment["location_id"],
            "tracking_company": tracking[0]["company"] if tracking else None,
            "tracking_number": tracking[0]["number"] if tracking else None,
            "tracking_numbers": [t["number"] for t in tracking if t["number"]],
            "tracking_url": tracking[0]["url"] if tracking else None,
            "tracking_urls": [t["url"] for t in tracking if t["url"]],
            "line_items": [{"id": line_id, "quantity": quantity} for line_id, quantity in fulfillment["lines"]],
        }

    # ----------------------------------------------------------------- GraphQL nodes

    @staticmethod
    def _money_v2(amount: Decimal, currency: str) -> dict:
        return {"amount": _gql_money(amount), "currencyCode": currency}

    def _bag(self, amount: Decimal, currency: str) -> dict:
        return {"shopMoney": self._money_v2(amount, currency), "presentmentMoney": self._money_v2(amount, currency)}

    def _shop_node(self) -> dict:
        return {"id": gid("Shop", 1), "name": self.shop_name, "email": f"owner@{self.shop_domain}",
                "myshopifyDomain": self.shop_domain, "currencyCode": self.currency, "ianaTimezone": "Europe/Brussels"}

    def _address_node(self, address: dict | None) -> dict | None:
        if address is None:
            return None
        return {
            "id": gid("MailingAddress", abs(hash(json.dumps(address, sort_keys=True))) % 10**12),
            "address1": address.get("address1"), "address2": address.get("address2"), "city": address.get("city"),
            "company": address.get("company"), "country": address.get("country"),
            "countryCodeV2": address.get("country_code"), "firstName": address.get("first_name"),
            "lastName": address.get("last_name"), "name": address.get("name"), "phone": address.get("phone"),
            "province": address.get("province"), "provinceCode": address.get("province_code"),
            "zip": address.get("zip"),
        }

    def _customer_node(self, customer: dict | None) -> dict | None:
        if customer is None:
            return None
        first, last = customer.get("first_name"), customer.get("last_name")
        email, phone = customer.get("email"), customer.get("phone")
        return {
            "id": gid("Customer", customer["id"]), "legacyResourceId": str(customer["id"]), "firstName": first,
            "lastName": last, "displayName": " ".join(x for x in (first, last) if x) or email,
            "email": email, "phone": phone,
            "defaultEmailAddress": {"emailAddress": email, "marketingState": "NOT_SUBSCRIBED"} if email else None,
            "defaultPhoneNumber": {"phoneNumber": phone, "marketingState": "NOT_SUBSCRIBED"} if phone else None,
        }

    def _tax_nodes(self, taxes, currency) -> list[dict]:
        return [{"title": t["title"], "rate": float(t["rate"]), "ratePercentage": float(t["rate"] * 100),
                 "channelLiable": False, "priceSet": self._bag(t["price"], currency)} for t in taxes]

    def _application_node(self, order: dict, app: dict) -> dict:
        value = ({"__typename": "PricingPercentageValue", "percentage": float(app["value"])}
                 if app["value_type"] == "percentage" else
                 {"__typename": "MoneyV2", **self._money_v2(app["value"], order["currency"])})
        return {"__typename": "DiscountCodeApplication", "index": app["index"], "code": app["code"],
                "allocationMethod": app["allocation_method"].upper(),
                "targetSelection": app["target_selection"].upper(),
                "targetType": app["target_type"].upper(), "value": value}

    def _allocation_nodes(self, order: dict, allocations) -> list[dict]:
        apps = {a["index"]: a for a in order["discount_applications"]}
        return [{"allocatedAmountSet": self._bag(amount, order["currency"]),
                 "discountApplication": self._application_node(order, apps[index])} for index, amount in allocations]

    def _line_node(self, order: dict, line: dict, done: dict | None = None) -> dict:
        cur = order["currency"]
        done = self._fulfilled(order) if done is None else done
        refunded = _refunded_quantity(order, line)
        discounts = line["total_discount"] + sum((a for _, a in line["allocations"]), Decimal(0))
        gross = line["price"] * line["quantity"]
        variant = self.variants.get(line["variant_id"])
        product = self.products.get(line["product_id"])
        name = f"{line['title']} - {line['variant_title']}" if line["variant_title"] else line["title"]
        return {
            "id": gid("LineItem", line["id"]), "name": name, "title": line["title"],
            "variantTitle": line["variant_title"], "sku": line["sku"], "quantity": line["quantity"],
            "currentQuantity": line["quantity"] - refunded, "refundableQuantity": line["quantity"] - refunded,
            "isGiftCard": False,
            "unfulfilledQuantity": 0 if order["cancelled_at"] else line["quantity"] - done.get(line["id"], 0),
            "requiresShipping": True, "taxable": True, "vendor": line["vendor"],
            "variant": (lambda _a: self._variant_node(variant)) if variant else None,
            "product": (lambda _a: self._product_node(product)) if product else None,
            "originalUnitPriceSet": self._bag(line["price"], cur),
            "discountedUnitPriceSet": self._bag(_money((gross - discounts) / line["quantity"]), cur),
            "discountedUnitPriceAfterAllDiscountsSet": self._bag(_money((gross - discounts) / line["quantity"]), cur),
            "originalTotalSet": self._bag(gross, cur), "discountedTotalSet": self._bag(gross - discounts, cur),
            "totalDiscountSet": self._bag(line["total_discount"], cur),
            "taxLines": self._tax_nodes(line["tax_lines"], cur),
            "discountAllocations": self._allocation_nodes(order, line["allocations"]),
        }

    def _shipping_node(self, order: dict, ship: dict) -> dict:
        cur = order["currency"]
        discounted = ship["price"] - sum((a for _, a in ship["allocations"]), Decimal(0))
        return {
            "id": gid("ShippingLine", ship["id"]), "code": ship["code"], "title": ship["title"],
            "source": ship["source"],
            "carrierIdentifier": ship["carrier_identifier"], "isRemoved": False,
            "originalPriceSet": self._bag(ship["price"], cur), "discountedPriceSet": self._bag(discounted, cur),
            "currentDiscountedPriceSet": self._bag(discounted, cur),
            "taxLines": self._tax_nodes(ship["tax_lines"], cur),
            "discountAllocations": self._allocation_nodes(order, ship["allocations"]),
        }

    def _order_node(self, order: dict) -> dict:
        cur = order["currency"]
        totals = self._totals(order)
        done = self._fulfilled(order)
        status = self._fulfillment_status(order)
        by_id = lambda item: (int(parse_gid(item["id"])),)  # noqa: E731
        lines = [self._line_node(order, x, done) for x in order["line_items"]]
        ships = [self._shipping_node(order, s) for s in order["shipping_lines"]]
        return {
            "id": gid("Order", order["id"]), "legacyResourceId": str(order["id"]), "name": order["name"],
            "email": order["email"], "phone": order["phone"], "createdAt": _iso_z(order["created_at"]),
            "updatedAt": _iso_z(order["updated_at"]), "processedAt": _iso_z(order["processed_at"]),
            "cancelledAt": _iso_z(order["cancelled_at"]),
            "cancelReason": order["cancel_reason"].upper() if order["cancel_reason"] else None,
            "closed": order["closed_at"] is not None, "closedAt": _iso_z(order["closed_at"]), "confirmed": True,
            "test": False, "note": order["note"], "tags": list(order["tags"]), "currencyCode": cur,
            "presentmentCurrencyCode": cur, "taxesIncluded": order["taxes_included"],
            "displayFinancialStatus": order["financial_status"].upper(),
            "displayFulfillmentStatus": {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED",
                                         "fulfilled": "FULFILLED"}[status],
            "paymentGatewayNames": [order["gateway"]] if order["gateway"] else [],
            "discountCodes": [a["code"] for a in order["discount_applications"]], "sourceName": "web",
            "customer": self._customer_node(order["customer"]),
            "billingAddress": self._address_node(order["billing_address"]),
            "shippingAddress": self._address_node(order["shipping_address"]),
            "subtotalPriceSet": self._bag(totals["subtotal"], cur), "totalPriceSet": self._bag(totals["total"], cur),
            "totalTaxSet": self._bag(totals["tax"], cur), "totalDiscountsSet": self._bag(totals["discounts"], cur),
            "totalShippingPriceSet": self._bag(totals["shipping"], cur),
            "currentTotalPriceSet": self._bag(totals["current_total"], cur),
            "totalRefundedSet": self._bag(totals["refunded"], cur),
            "lineItems": lambda a: paginate(lines, a, key=by_id),
            "shippingLines": lambda a: paginate(ships, a, key=by_id),
            "fulfillmentOrders": lambda a: paginate([self._fo_node(f) for f in self._order_fulfillment_orders(order)],
                                                    a, key=by_id),
            "discountApplications": lambda a: paginate(
                [self._application_node(order, x) for x in order["discount_applications"]], a,
                key=lambda n: (n["index"],)),
            "taxLines": [t for item in lines + ships for t in item["taxLines"]],
            "refunds": lambda a: [self._refund_node(order, r) for r in order["refunds"]],
            "fulfillments": lambda a: [self._fulfillment_node(f) for f in self.fulfillments
                                       if f["order_id"] == order["id"]],
            "number": order["number"], "sourceIdentifier": None, "retailLocation": None,
            "totalCashRoundingAdjustment": {"paymentSet": self._bag(Decimal(0), cur),
                                            "refundSet": self._bag(Decimal(0), cur)},
            "currentSubtotalPriceSet": self._bag(totals["subtotal"], cur),
            "currentTotalDiscountsSet": self._bag(totals["discounts"], cur),
            "currentShippingPriceSet": self._bag(totals["shipping"], cur),
            "currentTotalTaxSet": self._bag(totals["tax"], cur),
            "risk": {"recommendation": "ACCEPT", "assessments": [{"riskLevel": "LOW"}]},
            "transactions": self._transaction_nodes(order, totals),
            "returns": lambda a: paginate([], a),
        }

    def _transaction_nodes(self, order: dict, totals: dict) -> list[dict]:
        """The sale of a paid order, then one refund transaction per refund."""
        cur = order["currency"]
        gateway = order["gateway"] or "manual"
        nodes = []
        if order["financial_status"] in ("paid", "partially_refunded", "refunded"):
            nodes.append({"id": gid("OrderTransaction", order["id"] * 10), "gateway": gateway,
                          "formattedGateway": gateway.replace("_", " ").title(), "kind": "SALE", "status": "SUCCESS",
                          "processedAt": _iso_z(order["processed_at"]), "amountSet": self._bag(totals["total"], cur)})
        for index, refund in enumerate(order["refunds"], start=1):
            nodes.append({"id": gid("OrderTransaction", order["id"] * 10 + index), "gateway": gateway,
                          "formattedGateway": gateway.replace("_", " ").title(), "kind": "REFUND",
                          "status": "SUCCESS", "processedAt": _iso_z(refund["created_at"]),
                          "amountSet": self._bag(refund["amount"], cur)})
        return nodes

    def _refund_node(self, order: dict, refund: dict) -> dict:
        cur = order["currency"]
        lines = {x["id"]: x for x in order["line_items"]}
        items = [{"id": gid("RefundLineItem", rl["id"]), "quantity": rl["quantity"],
                  "restockType": "RETURN" if refund["restock"] else "NO_RESTOCK",
                  "lineItem": self._line_node(order, lines[rl["line_item_id"]]),
                  "subtotalSet": self._bag(rl["subtotal"], cur), "totalTaxSet": self._bag(rl["total_tax"], cur)}
                 for rl in refund["lines"]]
        return {"id": gid("Refund", refund["id"]), "legacyResourceId": str(refund["id"]),
                "createdAt": _iso_z(refund["created_at"]), "note": refund["note"],
                "totalRefundedSet": self._bag(refund["amount"], cur),
                "refundLineItems": lambda a: paginate(items, a, key=lambda n: (int(parse_gid(n["id"])),))}

    def _fo_node(self, fo: dict) -> dict:
        order = self._orders[fo["order_id"]]
        location = self.locations[fo["location_id"]]
        lines = {x["id"]: x for x in order["line_items"]}
        items = [{"id": gid("FulfillmentOrderLineItem", item["id"]), "sku": lines[item["line_item_id"]]["sku"],
                  "totalQuantity": item["total"], "remainingQuantity": item["remaining"],
                  "lineItem": (lambda _a, line=lines[item["line_item_id"]]: self._line_node(order, line))}
                 for item in fo["line_items"]]
        return {
            "id": gid("FulfillmentOrder", fo["id"]), "status": fo["status"], "requestStatus": fo["request_status"],
            "createdAt": _iso_z(fo["created_at"]), "updatedAt": _iso_z(fo["updated_at"]),
            "assignedLocation": {"name": location["name"], "location": lambda _a: self._location_node(location)},
            "lineItems": lambda a: paginate(items, a, key=lambda n: (int(parse_gid(n["id"])),)),
            "order": lambda _a: self._order_node(order),
            "supportedActions": [{"action": a} for a in (
                ("CREATE_FULFILLMENT", "HOLD", "MOVE") if fo["status"] in ("OPEN", "IN_PROGRESS") else ())],
            "fulfillmentHolds": [],
        }

    def _fulfillment_node(self, fulfillment: dict) -> dict:
        order = self._orders[fulfillment["order_id"]]
        lines = {x["id"]: x for x in order["line_items"]}
        items = [{"id": gid("FulfillmentLineItem", fulfillment["id"] * 10 + i), "quantity": quantity,
                  "lineItem": (lambda _a, line=lines[line_id]: self._line_node(order, line))}
                 for i, (line_id, quantity) in enumerate(fulfillment["lines"])]
        return {
            "id": gid("Fulfillment", fulfillment["id"]), "legacyResourceId": str(fulfillment["id"]),
            "name": fulfillment["name"], "status": "SUCCESS", "createdAt": _iso_z(fulfillment["created_at"]),
            "updatedAt": _iso_z(fulfillment["created_at"]), "trackingInfo": [dict(t) for t in fulfillment["tracking"]],
            "order": lambda _a: self._order_node(order),
            "fulfillmentLineItems": lambda a: paginate(items, a, key=lambda n: (int(parse_gid(n["id"])),)),
        }

    def _set_files(self, media: list, files: list) -> list:
        """Return a product's media after ``productSet``'s ``files`` (``FileSetInput``: an existing file by
        ``id``, or a new one fetched from ``originalSource``)."""
        known = {m["id"]: m for m in media}
        kept = []
        for entry in files:
            if not isinstance(entry, dict):
                raise GraphQLError("Variable $input of type ProductSetInput! was provided invalid value for files")
            if entry.get("id"):
                found = known.get(parse_gid(entry["id"], "MediaImage"))
                if found:
                    kept.append(found)
                continue
            source = str(entry.get("originalSource") or "")
            if not re.match(r"https?://", source):
                raise GraphQLError("Variable $input of type ProductSetInput! was provided invalid value for "
                                   "files.originalSource (a URL the shop can fetch)")
            kept.append({"id": self._new_id("MediaImage"), "src": source, "alt": entry.get("alt") or "",
                         "content_type": entry.get("contentType") or "IMAGE", "filename": entry.get("filename")})
        return kept

    def product_media(self, sku: str) -> list[dict]:
        """Return the media of the product of the variant with ``sku`` (``src``: where the shop fetched it)."""
        with self._lock:
            variant = self._variant_by_sku(sku)
            return [dict(m) for m in self.products[variant["product_id"]].get("media") or []]

    def _product_node(self, product: dict) -> dict:
        def variants():
            return [v for v in self.variants.values() if v["product_id"] == product["id"]]

        def options(_args):
            names = []
            for variant in variants():
                for name, _value in variant.get("options") or ():
                    if name not in names:
                        names.append(name)
            if not names:
                return [{"id": gid("ProductOption", product["id"] * 10), "name": "Title", "position": 1,
                         "values": ["Default Title"]}]
            return [{"id": gid("ProductOption", product["id"] * 10 + i), "name": name, "position": i + 1,
                     "values": list(dict.fromkeys(dict(v.get("options") or ()).get(name) for v in variants()
                                                  if dict(v.get("options") or ()).get(name)))}
                    for i, name in enumerate(names)]

        media = [{"__typename": "MediaImage", "id": gid("MediaImage", m["id"]), "alt": m["alt"],
                  "mediaContentType": "IMAGE", "status": "READY",
                  "image": {"id": gid("ImageSource", m["id"]), "url": m["src"], "altText": m["alt"]}}
                 for m in product.get("media") or []]
        return {
            "media": lambda a: paginate(media, a, key=lambda n: (parse_gid(n["id"], "MediaImage"),)),
            "id": gid("Product", product["id"]), "legacyResourceId": str(product["id"]), "title": product["title"],
            "handle": product["handle"], "status": product["status"], "updatedAt": _iso_z(product["updated_at"]),
            "descriptionHtml": product.get("description_html", ""),
            "isGiftCard": False, "vendor": product.get("vendor"), "options": options,
            "variants": lambda a: paginate([self._variant_node(v) for v in variants()], a,
                                           key=lambda n: (int(n["legacyResourceId"]),)),
        }

    def _q_products(self, args: dict) -> dict:
        """``products``: paginated by id; only the page's products are made into nodes."""
        page = paginate(list(self.products.values()), args, key=lambda p: (p["id"],))
        nodes = [self._product_node(p) for p in page["nodes"]]
        return {"edges": [{"cursor": e["cursor"], "node": n} for e, n in zip(page["edges"], nodes)],
                "nodes": nodes, "pageInfo": page["pageInfo"]}

    def _variant_node(self, variant: dict) -> dict:
        product = self.products[variant["product_id"]]

        def total(_args):
            return sum(level["available"] for (item, _), level in self._levels.items()
                       if item == variant["inventory_item_id"])
        return {
            "id": gid("ProductVariant", variant["id"]), "legacyResourceId": str(variant["id"]), "sku": variant["sku"],
            "title": variant["title"], "displayName": f"{product['title']} - {variant['title']}",
            "barcode": variant["barcode"], "price": _text(variant["price"]),
            "compareAtPrice": _text(variant["compare_at_price"]) if variant["compare_at_price"] is not None else None,
            "inventoryQuantity": total, "updatedAt": _iso_z(variant["updated_at"]),
            "selectedOptions": [{"name": n, "value": v} for n, v in variant.get("options") or ()]
            or [{"name": "Title", "value": "Default Title"}],
            "product": lambda _a: self._product_node(product),
            "inventoryItem": lambda _a: self._item_node(variant["inventory_item_id"]),
        }

    def _item_node(self, item_id: int) -> dict:
        variant = self.variants[self._items[item_id]]
        levels = [(loc, level) for (item, loc), level in self._levels.items() if item == item_id]
        return {
            "id": gid("InventoryItem", item_id), "legacyResourceId": str(item_id), "sku": variant["sku"],
            "tracked": True, "variant": lambda _a: self._variant_node(variant),
            "inventoryLevels": lambda a: paginate([self._level_node(item_id, loc) for loc, _ in levels], a,
                                                  key=lambda n: (n["_location"],)),
        }

    def _level_node(self, item_id: int, location_id: int) -> dict:
        level = self._levels[(item_id, location_id)]

        def quantities(args):
            names = args.get("names") or ["available"]
            return [{"name": name, "quantity": level["available"], "updatedAt": _iso_z(level["updated_at"])}
                    for name in names if name in ("available", "on_hand")]

        return {"id": gid("InventoryLevel", f"{item_id}?inventory_item_id={location_id}"), "_location": location_id,
                "location": lambda _a: self._location_node(self.locations[location_id]),
                "item": lambda _a: self._item_node(item_id), "quantities": quantities}

    def _location_node(self, location: dict) -> dict:
        return {
            "id": gid("Location", location["id"]), "legacyResourceId": str(location["id"]), "name": location["name"],
            "isActive": location["active"], "fulfillsOnlineOrders": True,
            "address": {"address1": location.get("address1"), "address2": location.get("address2"),
                        "city": location.get("city"), "zip": location.get("zip"),
                        "countryCode": location.get("country_code"), "provinceCode": location.get("province_code")},
        }

    def _subscription_node(self, sub: dict) -> dict:
        return {
            "id": gid("WebhookSubscription", sub["id"]), "legacyResourceId": str(sub["id"]), "topic": sub["topic"],
            "format": sub["format"], "uri": sub["uri"], "callbackUrl": sub["uri"],
            "includeFields": list(sub["include_fields"]), "createdAt": _iso_z(sub["created_at"]),
            "updatedAt": _iso_z(sub["created_at"]),
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub["uri"]},
        }

    # ----------------------------------------------------------------- GraphQL queries

    def _search(self, query, fields: dict, context: dict, where: str):
        """Return a predicate for Shopify search syntax over ``fields`` (name -> getter)."""
        groups, words = parse_search(query)
        unknown = sorted({t[0] for g in groups for t in g if t[0] not in fields})
        if unknown:
            # Shopify ignores a filter it does not know, and says so in extensions.search
            context["search"].append({"path": [where], "query": query, "warnings": [
                {"field": name, "message": "Invalid search field for this query."} for name in unknown]})

        def matches(record) -> bool:
            if words and "default" in fields and not all(fields["default"](record, w) for w in words):
                return False
            for group in groups:
                ok = True
                for name, op, value, negated in group:
                    if name not in fields:
                        continue
                    hit = fields[name](record, op, value)
                    if hit == negated:
                        ok = False
                        break
                if ok:
                    return True
            return False

        return matches

    def _q_orders(self, args: dict, context: dict) -> dict:
        def at(key):
            def test(order, op, value):
                try:
                    wanted = _parse_time(value)
                except ValueError:
                    raise GraphQLError(f"Invalid date in search query: {value!r}") from None
                return _compare(order[key], op, wanted)
            return test

        def status(order, op, value):
            state = "cancelled" if order["cancelled_at"] else ("closed" if order["closed_at"] else "open")
            return value == "any" or state == value.lower()

        fields = {
            "updated_at": at("updated_at"), "created_at": at("created_at"), "processed_at": at("processed_at"),
            "status": status, "name": lambda o, op, v: o["name"].lstrip("#") == v.lstrip("#"),
            "id": lambda o, op, v: _compare(o["id"], op, int(v)) if v.isdigit() else False,
            "financial_status": lambda o, op, v: o["financial_status"] == v.lower(),
            "email": lambda o, op, v: (o["email"] or "").lower() == v.lower(),
            "default": lambda o, w: w.lower() in f"{o['name']} {o['email']}".lower(),
        }
        matches = self._search(args.get("query"), fields, context, "orders")
        sort = (args.get("sortKey") or "ID").upper()
        keys = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at", "PROCESSED_AT": "processed_at"}
        if sort not in (*keys, "ID"):
            raise GraphQLError(f"Argument 'sortKey' on Field 'orders' has an invalid value ({sort}). "
                               "Expected type 'OrderSortKeys'.")
        nodes = [(o, self._order_node(o)) for o in self._orders.values() if matches(o)]
        index = {id(n): o for o, n in nodes}
        if sort == "ID":
            key = lambda n: (index[id(n)]["id"],)  # noqa: E731
        else:
            key = lambda n: (_iso_z(index[id(n)][keys[sort]]), index[id(n)]["id"])  # noqa: E731
        return paginate([n for _, n in nodes], args, key=key)

    def _q_variants(self, args: dict, context: dict) -> dict:
        fields = {
            "sku": lambda v, op, value: (v["sku"] or "") == value,
            "barcode": lambda v, op, value: (v["barcode"] or "") == value,
            "product_id": lambda v, op, value: str(v["product_id"]) == value,
            "id": lambda v, op, value: str(v["id"]) == value,
            "title": lambda v, op, value: v["title"].lower() == value.lower(),
            "updated_at": lambda v, op, value: _compare(v["updated_at"], op, _parse_time(value)),
            "default": lambda v, w: w.lower() in f"{v['sku']} {v['title']}".lower(),
        }
        matches = self._search(args.get("query"), fields, context, "productVariants")
        nodes = [self._variant_node(v) for v in self.variants.values() if matches(v)]
        return paginate(nodes, args, key=lambda n: (int(n["legacyResourceId"]),))

    def _q_subscriptions(self, args: dict) -> dict:
        topics = set(args.get("topics") or [])
        uri = args.get("uri") or args.get("callbackUrl")
        subs = [s for s in self.subscriptions.values()
                if (not topics or s["topic"] in topics) and (not uri or s["uri"] == uri)
                and (not args.get("format") or s["format"] == args["format"])]
        return paginate([self._subscription_node(s) for s in subs], args, key=lambda n: (int(n["legacyResourceId"]),))

    # ----------------------------------------------------------------- GraphQL mutations

    @staticmethod
    def _input_list(value, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise GraphQLError(f"Variable {path} of type list was provided invalid value")
        if len(value) > MAX_INPUT_ARRAY:
            raise GraphQLError(f"The input array size of {len(value)} is greater than the maximum allowed of "
                               f"{MAX_INPUT_ARRAY}.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
        return value

    def _m_inventory_set(self, args: dict) -> dict:
        data = args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $input of type InventorySetQuantitiesInput! was provided invalid value")
        quantities = self._input_list(data.get("quantities"), "input.quantities")
        errors = []
        if data.get("name") not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "The quantity name must be either 'available' or 'on_hand'.",
                                      "INVALID_NAME"))
        if data.get("reason") not in INVENTORY_REASONS:
            errors.append(_user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
        ignore_compare = bool(data.get("ignoreCompareQuantity"))
        planned, seen = [], set()
        for i, entry in enumerate(quantities):
            at = ["input", "quantities", i]
            entry = entry if isinstance(entry, dict) else {}
            item = parse_gid(entry.get("inventoryItemId"), "InventoryItem")
            location = parse_gid(entry.get("locationId"), "Location")
            quantity = entry.get("quantity")
            if item not in self._items:
                errors.append(_user_error(at + ["inventoryItemId"], "The specified inventory item could not be found.",
                                          "INVALID_INVENTORY_ITEM"))
                continue
            if location not in self.locations:
                errors.append(_user_error(at + ["locationId"], "The specified location could not be found.",
                                          "INVALID_LOCATION"))
                continue
            if (item, location) in seen:
                errors.append(_user_error(at, "The combination of inventoryItemId and locationId must be unique.",
                                          "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"))
                continue
            seen.add((item, location))
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                errors.append(_user_error(at + ["quantity"], "The quantity must be a whole number.",
                                          "INVALID_QUANTITY"))
                continue
            if quantity < 0 and data.get("name") == "on_hand":
                errors.append(_user_error(at + ["quantity"], "The quantity can't be negative.",
                                          "INVALID_QUANTITY_NEGATIVE"))
                continue
            if quantity > 1_000_000_000:
                errors.append(_user_error(at + ["quantity"], "The quantity can't be higher than 1,000,000,000.",
                                          "INVALID_QUANTITY_TOO_HIGH"))
                continue
            current = self._levels[(item, location)]["available"]
            if not ignore_compare:
                if entry.get("compareQuantity") is None:
                    errors.append(_user_error(at + ["compareQuantity"], "The compareQuantity argument must be given to "
                                              "each quantity or ignored using ignoreCompareQuantity.",
                                              "COMPARE_QUANTITY_REQUIRED"))
                    continue
                if entry["compareQuantity"] != current:
                    errors.append(_user_error(at + ["compareQuantity"], "The compareQuantity value does not match "
                                              "persisted value.", "COMPARE_QUANTITY_STALE"))
                    continue
            planned.append((item, location, quantity, current))
        if errors:
            # the mutation is all or nothing: one bad quantity and none is written
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        now = self.now()
        changes = []
        for item, location, quantity, before in planned:
            self._levels[(item, location)] = {"available": quantity, "updated_at": now}
            variant = self.variants[self._items[item]]
            self.inventory_writes.append({"sku": variant["sku"], "inventory_item_id": item, "location_id": location,
                                          "quantity": quantity, "reason": data["reason"], "at": now,
                                          "written": time.time()})
            changes.append({"name": data["name"], "delta": quantity - before, "quantityAfterChange": quantity,
                            "item": lambda _a, i=item: self._item_node(i),
                            "location": lambda _a, loc=location: self._location_node(self.locations[loc])})
        group = self._new_id("InventoryAdjustmentGroup")
        return {"inventoryAdjustmentGroup": {
            "id": gid("InventoryAdjustmentGroup", group), "createdAt": _iso_z(now), "reason": data["reason"],
            "referenceDocumentUri": data.get("referenceDocumentUri"), "changes": changes}, "userErrors": []}

    def _m_variants_bulk_update(self, args: dict) -> dict:
        product = self.products.get(parse_gid(args.get("productId"), "Product"))
        inputs = self._input_list(args.get("variants"), "variants")
        if product is None:
            return {"product": None, "productVariants": None,
                    "userErrors": [_user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
        errors, planned = [], []
        for i, entry in enumerate(inputs):
            entry = entry if isinstance(entry, dict) else {}
            variant = self.variants.get(parse_gid(entry.get("id"), "ProductVariant"))
            if variant is None or variant["product_id"] != product["id"]:
                errors.append(_user_error(["variants", i, "id"], "Product variant does not exist",
                                          "PRODUCT_VARIANT_DOES_NOT_EXIST"))
                continue
            change = {}
            for key, name in (("price", "price"), ("compareAtPrice", "compare_at_price")):
                if key not in entry:
                    continue
                raw = entry[key]
                if raw is None:
                    if key == "price":
                        errors.append(_user_error(["variants", i, key], "Price can't be blank", "BLANK"))
                    else:
                        change[name] = None
                    continue
                try:
                    value = Decimal(str(raw))
                except InvalidOperation:
                    errors.append(_user_error(["variants", i, key], f"{key} is invalid", "INVALID"))
                    continue
                if not value.is_finite() or value < 0:
                    errors.append(_user_error(["variants", i, key], "Price must be greater than or equal to 0",
                                              "GREATER_THAN_OR_EQUAL_TO"))
                    continue
                change[name] = _money(value)
            planned.append((variant, change))
        if errors and not args.get("allowPartialUpdates"):
            return {"product": self._product_node(product), "productVariants": None, "userErrors": errors}
        now = self.now()
        for variant, change in planned:
            variant.update(change)
            variant["updated_at"] = now
            self.price_writes.append({"sku": variant["sku"], "variant_id": variant["id"],
                                      "price": _text(variant["price"]),
                                      "compare_at_price": _text(variant["compare_at_price"])
                                      if variant["compare_at_price"] is not None else None, "at": now})
        product["updated_at"] = now
        return {"product": self._product_node(product),
                "productVariants": [self._variant_node(v) for v, _ in planned], "userErrors": errors}

    def _m_product_set(self, args: dict) -> dict:
        """``productSet`` (synchronous): create or update a product with its options and variants, declaratively.

        Variants are matched by ``id``, else by SKU; the product's variants the input does not list are
        deleted, as Shopify does. Weights come in ``inventoryItem.measurement.weight``.
        """
        data = args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $input of type ProductSetInput! was provided invalid value")
        product = None
        if data.get("id"):
            product = self.products.get(parse_gid(data["id"], "Product"))
            if product is None:
                return {"product": None, "productSetOperation": None, "userErrors": [
                    _user_error(["input", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
        errors = []
        title = data.get("title", product["title"] if product else None)
        if not title or not str(title).strip():
            errors.append(_user_error(["input", "title"], "Title can't be blank", "BLANK"))
        status = data.get("status", product["status"] if product else "ACTIVE")
        if status not in ("ACTIVE", "ARCHIVED", "DRAFT"):
            errors.append(_user_error(["input", "status"], "Status is invalid", "INVALID"))
        entries = self._input_list(data.get("variants"), "input.variants") if "variants" in data else None
        if product is None and not entries:
            errors.append(_user_error(["input", "variants"], "Variants can't be blank", "BLANK"))
        options = {o.get("name") for o in data.get("productOptions") or [] if isinstance(o, dict)}
        for i, entry in enumerate(entries or []):
            if not isinstance(entry, dict):
                errors.append(_user_error(["input", "variants", i], "Variant is invalid", "INVALID"))
                continue
            for value in entry.get("optionValues") or []:
                if options and value.get("optionName") not in options:
                    errors.append(_user_error(["input", "variants", i, "optionValues"],
                                              f"Option {value.get('optionName')!r} is not an option of the product",
                                              "OPTION_DOES_NOT_EXIST"))
        if errors:
            return {"product": None, "productSetOperation": None, "userErrors": errors}
        now = self.now()
        if product is None:
            number = self._new_id("Product")
            product = {"id": number, "title": title, "handle": re.sub(r"\W+", "-", str(title).lower()).strip("-"),
                       "status": status, "updated_at": now, "vendor": self.shop_name}
            self.products[number] = product
        product.update(title=title, status=status, updated_at=now)
        if "descriptionHtml" in data:
            product["description_html"] = data["descriptionHtml"] or ""
        if "files" in data:
            # declarative, as the variants: the product's media not listed (by id) are removed
            product["media"] = self._set_files(product.get("media") or [], self._input_list(data["files"], "input.files"))
        if entries is not None:
            existing = {v["id"]: v for v in self.variants.values() if v["product_id"] == product["id"]}
            by_sku = {v["sku"]: v for v in existing.values() if v["sku"]}
            kept = set()
            for entry in entries:
                variant = existing.get(parse_gid(entry["id"], "ProductVariant")) if entry.get("id") else \
                    by_sku.get(entry.get("sku"))
                names = [str(v.get("name")) for v in entry.get("optionValues") or []]
                if variant is None:
                    variant = {"id": self._new_id("ProductVariant"), "product_id": product["id"], "sku": None,
                               "title": "", "price": _money(0), "compare_at_price": None, "barcode": None,
                               "inventory_item_id": self._new_id("InventoryItem"), "updated_at": now}
                    self.variants[variant["id"]] = variant
                    self._items[variant["inventory_item_id"]] = variant["id"]
                    for location in self.locations:
                        self._levels[(variant["inventory_item_id"], location)] = {"available": 0, "updated_at": now}
                variant["title"] = " / ".join(names) or "Default Title"
                variant["options"] = [(str(v.get("optionName")), str(v.get("name")))
                                      for v in entry.get("optionValues") or [] if v.get("optionName")]
                for key, name in (("sku", "sku"), ("barcode", "barcode")):
                    if key in entry:
                        variant[name] = entry[key] or None
                if "price" in entry:
                    variant["price"] = _money(entry["price"] or 0)
                if "compareAtPrice" in entry:
                    variant["compare_at_price"] = _money(entry["compareAtPrice"]) if entry["compareAtPrice"] else None
                weight = (((entry.get("inventoryItem") or {}).get("measurement") or {}).get("weight") or {})
                if weight:
                    variant["weight"] = {"value": weight.get("value"), "unit": weight.get("unit", "KILOGRAMS")}
                variant["updated_at"] = now
                kept.add(variant["id"])
            for variant_id in set(existing) - kept:
                gone = self.variants.pop(variant_id)
                self._items.pop(gone["inventory_item_id"], None)
                for key in [k for k in self._levels if k[0] == gone["inventory_item_id"]]:
                    del self._levels[key]
        self.product_sets.append(copy.deepcopy(data))
        return {"product": self._product_node(product), "productSetOperation": None, "userErrors": []}

    def _m_fulfillment_create(self, args: dict, context: dict) -> dict:
        data = args.get("fulfillment")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $fulfillment of type FulfillmentInput! was provided invalid value")
        groups = self._input_list(data.get("lineItemsByFulfillmentOrder"), "fulfillment.lineItemsByFulfillmentOrder")
        failure = lambda path, message: {"fulfillment": None, "userErrors": [  # noqa: E731
            _user_error(["fulfillment", *path], message)]}
        if not groups:
            return failure(["lineItemsByFulfillmentOrder"], "Line items by fulfillment order must not be empty.")
        plan, order = [], None
        for i, group in enumerate(groups):
            at = ["lineItemsByFulfillmentOrder", i]
            fo = self._fulfillment_orders.get(parse_gid((group or {}).get("fulfillmentOrderId"), "FulfillmentOrder"))
            if fo is None:
                return failure(at + ["fulfillmentOrderId"], "Fulfillment order does not exist.")
            if order is not None and fo["order_id"] != order["id"]:
                return failure(at + ["fulfillmentOrderId"], "All fulfillment orders must belong to the same order.")
            order = self._orders[fo["order_id"]]
            if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                return failure(at + ["fulfillmentOrderId"],
                               f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status'].lower()}.")
            items = {item["id"]: item for item in fo["line_items"]}
            wanted = group.get("fulfillmentOrderLineItems") or [
                {"id": item["id"], "quantity": item["remaining"]} for item in fo["line_items"] if item["remaining"]]
            for j, entry in enumerate(wanted):
                item = items.get(parse_gid(entry.get("id"), "FulfillmentOrderLineItem"))
                if item is None:
                    return failure(at + ["fulfillmentOrderLineItems", j, "id"],
                                   "Fulfillment order line item does not exist.")
                quantity = entry.get("quantity")
                if not isinstance(quantity, int) or not 0 < quantity <= item["remaining"]:
                    return failure(at + ["fulfillmentOrderLineItems", j, "quantity"],
                                   "Invalid fulfillment order line item quantity requested.")
                plan.append((fo, item, quantity))
        tracking = data.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or ([tracking["number"]] if tracking.get("number") else [])
        urls = tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else [])
        self._touch(order)
        lines: dict[int, int] = {}
        for fo, item, quantity in plan:
            item["remaining"] -= quantity
            fo["status"] = "CLOSED" if not any(x["remaining"] for x in fo["line_items"]) else "IN_PROGRESS"
            fo["updated_at"] = order["updated_at"]
            lines[item["line_item_id"]] = lines.get(item["line_item_id"], 0) + quantity
        count = sum(1 for f in self.fulfillments if f["order_id"] == order["id"])
        fulfillment = {
            "id": self._new_id("Fulfillment"), "order_id": order["id"], "name": f"{order['name']}.{count + 1}",
            "created_at": order["updated_at"], "location_id": plan[0][0]["location_id"],
            "notify_customer": bool(data.get("notifyCustomer")), "lines": list(lines.items()),
            "tracking": [{"number": n, "company": tracking.get("company"), "url": urls[k] if k < len(urls) else None}
                         for k, n in enumerate(numbers)] or ([{"number": None, "company": tracking.get("company"),
                                                               "url": urls[0] if urls else None}]
                                                             if tracking.get("company") or urls else []),
        }
        self.fulfillments.append(fulfillment)
        context["events"].append(("orders/updated", self._rest_order(order)))
        return {"fulfillment": self._fulfillment_node(fulfillment), "userErrors": []}

    def _m_refund_create(self, args: dict, context: dict) -> dict:
        """``refundCreate(input: RefundInput!)``: line items by ``lineItemId`` and the money as
        ``transactions`` of kind ``REFUND``; sends ``refunds/create`` then ``orders/updated``."""
        data = args.get("input")
        if not isinstance(data, dict):
            raise GraphQLError("Variable $input of type RefundInput! was provided invalid value")
        failure = lambda path, message: {"refund": None, "order": None, "userErrors": [  # noqa: E731
            _user_error(["input", *path], message)]}
        order = self._orders.get(parse_gid(data.get("orderId"), "Order"))
        if order is None:
            return failure(["orderId"], "Order does not exist")
        lines = []
        for i, item in enumerate(self._input_list(data.get("refundLineItems"), "input.refundLineItems")):
            if not isinstance(item, dict) or not isinstance(item.get("quantity"), int):
                return failure(["refundLineItems", i, "quantity"], "Quantity is invalid")
            lines.append({"line_item_id": item.get("lineItemId"), "quantity": item["quantity"],
                          "restock": item.get("restockType") in ("RETURN", "CANCEL")})
        amount = None
        for i, transaction in enumerate(self._input_list(data.get("transactions"), "input.transactions")):
            if not isinstance(transaction, dict) or transaction.get("kind") != "REFUND":
                return failure(["transactions", i, "kind"], "Kind is not included in the list")
            if parse_gid(transaction.get("orderId"), "Order") != order["id"]:
                return failure(["transactions", i, "orderId"], "Order does not match the refund's order")
            try:
                value = Decimal(str(transaction.get("amount")))
            except ArithmeticError:
                return failure(["transactions", i, "amount"], "Amount is invalid")
            amount = (amount or Decimal(0)) + value
        try:
            rest = self._refund(order, amount, lines, data.get("note"), any(line["restock"] for line in lines))
        except KeyError:
            return failure(["refundLineItems"], "Line item does not exist")
        except ValueError as exc:
            return failure(["transactions" if amount is not None else "refundLineItems"], str(exc))
        context["events"].extend([("refunds/create", rest), ("orders/updated", self._rest_order(order))])
        return {"refund": self._refund_node(order, order["refunds"][-1]), "order": self._order_node(order),
                "userErrors": []}

    def _m_subscription_create(self, args: dict) -> dict:
        topic = args.get("topic")
        if topic not in WEBHOOK_TOPICS:
            raise GraphQLError(f"Argument 'topic' on Field 'webhookSubscriptionCreate' has an invalid value "
                               f"({topic}). Expected type 'WebhookSubscriptionTopic!'.",
                               extensions={"code": "argumentLiteralsIncompatible"})
        data = args.get("webhookSubscription") or {}
        uri = data.get("uri") or data.get("callbackUrl")
        field = "uri" if data.get("uri") else "callbackUrl"
        if not isinstance(uri, str) or not re.match(r"https?://[^/\s]+", uri):
            return {"webhookSubscription": None,
                    "userErrors": [_user_error(["webhookSubscription", field], "Address is invalid")]}
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions.values()):
            return {"webhookSubscription": None, "userErrors": [
                _user_error(["webhookSubscription", field], "Address for this topic has already been taken")]}
        sub = {"id": self._new_id("WebhookSubscription"), "topic": topic, "uri": uri,
               "format": data.get("format") or "JSON", "include_fields": list(data.get("includeFields") or []),
               "created_at": self.now()}
        self.subscriptions[sub["id"]] = sub
        return {"webhookSubscription": self._subscription_node(sub), "userErrors": []}

    def _m_subscription_delete(self, args: dict) -> dict:
        number = parse_gid(args.get("id"), "WebhookSubscription")
        if number not in self.subscriptions:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
        del self.subscriptions[number]
        return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number), "userErrors": []}

    # ----------------------------------------------------------------- Shopify Payments

    def add_payout(self, *, order_ids=(), transactions=(), status: str = "PAID", issued_at=None,
                   currency: str | None = None, fee_rate="0.029", fee_fixed="0.25") -> dict:
        """Return a new payout made of the orders' charges and refunds and of ``transactions``.

        Each order gives a CHARGE (its total, fee ``fee_rate`` x total + ``fee_fixed``) and a
        REFUND per refund; ``transactions`` adds ``{"type", "amount", "fee", "order_id"}``
        entries (e.g. an ADJUSTMENT). The payout's own TRANSFER moves the net to the bank.
        """
        status = status.upper()
        if status not in ("SCHEDULED", "IN_TRANSIT", "PAID", "FAILED", "CANCELED"):
            raise ValueError("status is SCHEDULED, IN_TRANSIT, PAID, FAILED or CANCELED")
        with self._lock:
            payout_id = self._new_id("ShopifyPaymentsPayout")
            issued = _parse_time(issued_at) if issued_at else self.now()
            specs = []
            for order_id in order_ids:
                order = self._order(order_id)
                total = self._totals(order)["total"]
                fee = _money(total * Decimal(str(fee_rate)) + Decimal(str(fee_fixed)))
                specs.append({"type": "CHARGE", "amount": total, "fee": fee, "order": order,
                              "at": order["processed_at"]})
                for refund in order["refunds"]:
                    specs.append({"type": "REFUND", "amount": -refund["amount"], "fee": Decimal(0), "order": order,
                                  "at": refund["created_at"]})
            for spec in transactions:
                order = self._order(spec["order_id"]) if spec.get("order_id") else None
                specs.append({"type": spec.get("type", "ADJUSTMENT").upper(), "amount": _money(spec["amount"]),
                              "fee": _money(spec.get("fee", "0")), "order": order, "at": issued,
                              "reason": spec.get("reason")})
            net = sum((s["amount"] - s["fee"] for s in specs), Decimal(0))
            specs.append({"type": "TRANSFER", "amount": -net, "fee": Decimal(0), "order": None, "at": issued})
            payout = {"id": payout_id, "issued_at": issued, "status": status, "currency": currency or self.currency,
                      "net": abs(net), "transaction_type": "DEPOSIT" if net >= 0 else "WITHDRAWAL",
                      "summary": {}}
            for spec in specs:
                self.balance_transactions.append({
                    "id": self._new_id("ShopifyPaymentsBalanceTransaction"), "type": spec["type"],
                    "amount": _money(spec["amount"]), "fee": _money(spec["fee"]),
                    "net": _money(spec["amount"] - spec["fee"]),
                    "source_type": spec["type"], "order_id": spec["order"]["id"] if spec["order"] else None,
                    "source_id": payout_id if spec["type"] == "TRANSFER" else self._new_id("OrderTransaction"),
                    "payout_id": payout_id, "transaction_date": spec["at"], "adjustment_reason": spec.get("reason"),
                })
            for kind, types in (("charges", ("CHARGE",)), ("refunds", ("REFUND",)), ("adjustments", ("ADJUSTMENT",))):
                rows = [s for s in specs if s["type"] in types]
                payout["summary"][kind] = (sum((s["amount"] for s in rows), Decimal(0)),
                                           sum((s["fee"] for s in rows), Decimal(0)))
            self.payouts[payout_id] = payout
            return {"id": payout_id, "admin_graphql_api_id": gid("ShopifyPaymentsPayout", payout_id),
                    "issued_at": _iso_z(issued), "status": status, "net": _text(abs(net)),
                    "currency": payout["currency"], "transaction_type": payout["transaction_type"]}

    def _payout_node(self, payout: dict) -> dict:
        cur = payout["currency"]
        summary = payout["summary"]
        return {
            "id": gid("ShopifyPaymentsPayout", payout["id"]), "legacyResourceId": str(payout["id"]),
            "issuedAt": _iso_z(payout["issued_at"]), "status": payout["status"],
            "transactionType": payout["transaction_type"], "net": self._money_v2(payout["net"], cur),
            "gross": self._money_v2(payout["net"], cur),
            "summary": {
                "chargesGross": self._money_v2(summary["charges"][0], cur),
                "chargesFee": self._money_v2(summary["charges"][1], cur),
                "refundsFeeGross": self._money_v2(-summary["refunds"][0], cur),
                "refundsFee": self._money_v2(summary["refunds"][1], cur),
                "adjustmentsGross": self._money_v2(summary["adjustments"][0], cur),
                "adjustmentsFee": self._money_v2(summary["adjustments"][1], cur),
            },
        }

    def _balance_node(self, tx: dict) -> dict:
        payout = self.payouts[tx["payout_id"]]
        cur = payout["currency"]
        order = self._orders.get(tx["order_id"])
        return {
            "id": gid("ShopifyPaymentsBalanceTransaction", tx["id"]), "type": tx["type"], "test": False,
            "transactionDate": _iso_z(tx["transaction_date"]), "sourceId": str(tx["source_id"]),
            "sourceType": tx["source_type"], "adjustmentReason": tx["adjustment_reason"],
            "sourceOrderTransactionId": str(tx["source_id"]) if order else None,
            "amount": self._money_v2(tx["amount"], cur), "fee": self._money_v2(tx["fee"], cur),
            "net": self._money_v2(tx["net"], cur),
            "associatedOrder": {"id": gid("Order", order["id"]), "name": order["name"]} if order else None,
            "associatedPayout": {"id": gid("ShopifyPaymentsPayout", payout["id"]), "status": payout["status"]},
        }

    def _payments_account_node(self, context: dict) -> dict:
        def payouts(args):
            # newest first, as Shopify lists payouts; reverse: true gives oldest first
            flipped = {**args, "reverse": not args.get("reverse")}
            nodes = [self._payout_node(p) for p in self.payouts.values()]
            return paginate(nodes, flipped, key=lambda n: (n["issuedAt"], int(n["legacyResourceId"])))

        def transactions(args):
            fields = {
                "payments_transfer_id": lambda t, op, v: str(t["payout_id"]) == v.rsplit("/", 1)[-1],
                "payout_status": lambda t, op, v: self.payouts[t["payout_id"]]["status"].lower() == v.lower(),
                "payout_date": lambda t, op, v: _compare(self.payouts[t["payout_id"]]["issued_at"].date(), op,
                                                         _parse_time(v).date()),
                "processed_at": lambda t, op, v: _compare(t["transaction_date"], op, _parse_time(v)),
            }
            matches = self._search(args.get("query"), fields, context, "balanceTransactions")
            nodes = [self._balance_node(t) for t in self.balance_transactions if matches(t)]
            return paginate(nodes, args, key=lambda n: (n["transactionDate"], int(parse_gid(n["id"]))))

        return {"id": gid("ShopifyPaymentsAccount", 1), "activated": True, "defaultCurrency": self.currency,
                "balance": [self._money_v2(Decimal(0), self.currency)], "payouts": payouts,
                "balanceTransactions": transactions}

    # ----------------------------------------------------------------- trickle (demo)

    def start_trickle(self, interval: float, on_order=None) -> None:
        """Place an order (with its webhooks) every ``interval`` seconds until stop_trickle()."""
        self.stop_trickle()
        self._trickle_stop.clear()

        def run():
            while not self._trickle_stop.wait(interval):
                order = self.place_order()
                if on_order:
                    on_order(order, self._creation_delivery(order["id"]))

        self._trickle_thread = threading.Thread(target=run, name="shopify-trickle", daemon=True)
        self._trickle_thread.start()

    def _creation_delivery(self, order_id: int) -> WebhookDelivery | None:
        for delivery in reversed(self.webhooks.all()):
            if delivery.topic == "orders/create" and delivery.payload.get("id") == order_id:
                return delivery
        return None

    def stop_trickle(self) -> None:
        """Stop placing orders periodically."""
        self._trickle_stop.set()
        if self._trickle_thread is not None:
            self._trickle_thread.join(timeout=5)
            self._trickle_thread = None


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    """Run the Shopify simulator until interrupted; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulators.shopify", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8802)
    parser.add_argument("--token", required=True, help="the access token the Admin API accepts")
    parser.add_argument("--webhook-url", help="where every webhook topic is POSTed (Odoo's endpoint)")
    parser.add_argument("--webhook-secret", help="the app secret that signs X-Shopify-Hmac-Sha256")
    parser.add_argument("--trickle", type=float, metavar="SECONDS", help="place a new order every SECONDS")
    parser.add_argument("--orders", type=int, default=0, help="orders present at start (no webhooks)")
    parser.add_argument("--shop-domain", default="retail-connector-demo.myshopify.com")
    parser.add_argument("--shop-name", default="Retail Connector Demo Shop")
    parser.add_argument("--api-version", default=DEFAULT_API_VERSION)
    parser.add_argument("--cost-limit", type=float, nargs=2, metavar=("MAXIMUM", "RESTORE_RATE"),
                        default=(1000, 100), help="leaky bucket of the GraphQL cost limit")
    parser.add_argument("--seed", type=int, help="seed of the order generator, for repeatable demos")
    parser.add_argument("--quiet", action="store_true", help="do not print each request")
    parser.add_argument("--payout", type=int, default=0, metavar="N",
                        help="a Shopify Payments payout issued yesterday settling the first N start orders, "
                        "with a dispute on the first one")
    args = parser.parse_args(argv)

    shop = ShopifySimulator(
        host=args.host, port=args.port, token=args.token, shop_domain=args.shop_domain, shop_name=args.shop_name,
        api_version=args.api_version, cost_limit=tuple(args.cost_limit), seed=args.seed,
        webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, verbose=not args.quiet,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with shop:
        shop.add_orders(args.orders)
        settled = [o["id"] for o in shop.orders[:args.payout]]
        if settled:
            issued = (shop.now() - timedelta(days=1)).replace(hour=10, minute=0, second=0)
            payout = shop.add_payout(order_ids=settled, issued_at=_iso_z(issued), transactions=[
                {"type": "DISPUTE", "amount": "-20.00", "fee": "15.00", "order_id": settled[0]}])
            print(f"payout {payout['id']} of {payout['net']} {payout['currency']} issued {payout['issued_at']} "
                  f"for {len(settled)} order(s)", flush=True)
        print(f"{args.shop_name}: Shopify Admin API on {shop.url}/admin/api/{args.api_version}/graphql.json "
              f"({len(shop.orders)} orders; webhooks to {args.webhook_url or 'subscriptions only'})", flush=True)
        if args.trickle:
            shop.start_trickle(args.trickle, on_order=_print_order)
            print(f"placing an order every {args.trickle:g} s; Ctrl-C to stop", flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", flush=True)
    return 0


def _print_order(order: dict, delivery: WebhookDelivery | None) -> None:
    if delivery is None:
        outcome = "no webhook"
    elif delivery.state == "sent":
        outcome = f"webhook sent ({delivery.status})"
    elif delivery.state == "failed":
        last = delivery.attempts[-1] if delivery.attempts else None
        reason = (last.status or last.error) if last else ""
        outcome = f"webhook failed after {len(delivery.attempts)} attempts ({reason})"
    else:
        outcome = f"webhook {delivery.state}"
    print(f"order {order['name']} ({order['id']}) {order['total_price']} {order['currency']}: {outcome}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
