"""GraphQL documents of the Shopify Admin API (2025-10) and the page sizes that keep them cheap.

Shopify prices a query before running it: an object costs 1, a connection ``2 + first x (cost
of one node)``, a mutation 10, and one query may not ask for more than 1,000 points. The page
sizes below keep every document under that limit (the tests check each one against the
simulator's price): an order with its first 5 lines and 3 shipping lines costs 103 points, so
8 orders fit in one page (826 points); lines past the 5th are fetched with ``ORDER_LINES``.
What the bucket is charged in the end is the actual cost, which counts only what was
returned (an order of 2 lines costs about 50 points).
"""

ORDERS_PAGE = 8
LINES_PER_ORDER = 5
SHIPPING_LINES_PER_ORDER = 3
LINES_PAGE = 50
VARIANTS_PAGE = 100
SKUS_PER_SEARCH = 50
WEBHOOKS_PAGE = 100
PAYOUTS_PAGE = 50
TRANSACTIONS_PAGE = 100
FULFILLMENT_ORDERS_PAGE = 5
INPUT_BATCH = 250  # Shopify refuses input arrays of more than 250 items

_MONEY = "shopMoney { amount currencyCode }"

_ADDRESS = """
fragment AddressFields on MailingAddress {
  firstName lastName company address1 address2 city zip provinceCode countryCodeV2 phone
}
"""

_LINE = f"""
fragment LineFields on LineItem {{
  id sku name title quantity
  variant {{ id }}
  originalUnitPriceSet {{ {_MONEY} }}
  totalDiscountSet {{ {_MONEY} }}
  discountAllocations {{ allocatedAmountSet {{ {_MONEY} }} }}
  taxLines {{ title rate priceSet {{ {_MONEY} }} }}
}}
"""

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  currencyCode taxesIncluded displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
  discountCodes note tags
  customer {{
    id firstName lastName
    defaultEmailAddress {{ emailAddress }}
    defaultPhoneNumber {{ phoneNumber }}
  }}
  billingAddress {{ ...AddressFields }}
  shippingAddress {{ ...AddressFields }}
  subtotalPriceSet {{ {_MONEY} }}
  totalPriceSet {{ {_MONEY} }}
  totalTaxSet {{ {_MONEY} }}
  totalDiscountsSet {{ {_MONEY} }}
  totalShippingPriceSet {{ {_MONEY} }}
  lineItems(first: {LINES_PER_ORDER}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...LineFields }}
  }}
  shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{
    nodes {{
      id code title source carrierIdentifier
      originalPriceSet {{ {_MONEY} }}
      discountedPriceSet {{ {_MONEY} }}
      taxLines {{ title rate priceSet {{ {_MONEY} }} }}
    }}
  }}
}}
{_ADDRESS}
{_LINE}
"""

ORDERS_UPDATED_SINCE = f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...OrderFields }}
  }}
}}
{ORDER_FIELDS}
"""

ORDER = f"""
query Order($id: ID!) {{
  order(id: $id) {{ ...OrderFields }}
}}
{ORDER_FIELDS}
"""

ORDER_LINES = f"""
query OrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    id
    lineItems(first: {LINES_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...LineFields }}
    }}
  }}
}}
{_LINE}
"""

FULFILLMENT_ORDERS = f"""
query FulfillmentOrders($id: ID!) {{
  order(id: $id) {{
    id
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}) {{
      nodes {{
        id status
        assignedLocation {{ location {{ id }} }}
        lineItems(first: {LINES_PAGE}) {{
          nodes {{ id sku totalQuantity remainingQuantity lineItem {{ id sku }} }}
        }}
      }}
    }}
  }}
}}
"""

SHOP = "query Shop { shop { name currencyCode myshopifyDomain } }"

LOCATIONS = """
query Locations($after: String) {
  locations(first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId name isActive }
  }
}
"""

VARIANTS_BY_SKU = f"""
query VariantsBySku($query: String!, $after: String) {{
  productVariants(first: {VARIANTS_PAGE}, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id sku price compareAtPrice product {{ id }} inventoryItem {{ id }} }}
  }}
}}
"""

VARIANT_LEVELS_PAGE = 20  # 20 variants x 3 locations: about 260 points a page
LEVELS_PER_VARIANT = 3

VARIANT_LEVELS = f"""
query VariantLevels($after: String) {{
  productVariants(first: {VARIANT_LEVELS_PAGE}, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id sku price compareAtPrice
      inventoryItem {{
        id
        inventoryLevels(first: {LEVELS_PER_VARIANT}) {{
          nodes {{ location {{ id }} quantities(names: ["available"]) {{ name quantity }} }}
        }}
      }}
    }}
  }}
}}
"""

PRODUCT_SET = f"""
mutation ProductSet($input: ProductSetInput!) {{
  productSet(input: $input, synchronous: true) {{
    product {{ id status variants(first: {VARIANTS_PAGE}) {{ nodes {{ id sku inventoryItem {{ id }} }} }} }}
    userErrors {{ field message code }}
  }}
}}
"""

INVENTORY_SET_QUANTITIES = """
mutation InventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange item { id } location { id } } }
    userErrors { field message code }
  }
}
"""

VARIANTS_BULK_UPDATE = """
mutation VariantPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price compareAtPrice }
    userErrors { field message code }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status createdAt trackingInfo { number company url } }
    userErrors { field message }
  }
}
"""

ORDER_REFUNDS = f"""
query OrderRefunds($id: ID!) {{
  order(id: $id) {{
    id
    refunds {{ id legacyResourceId createdAt note totalRefundedSet {{ {_MONEY} }} }}
  }}
}}
"""

REFUND_CREATE = f"""
mutation RefundCreate($input: RefundInput!) {{
  refundCreate(input: $input) {{
    refund {{ id legacyResourceId createdAt note totalRefundedSet {{ {_MONEY} }} }}
    userErrors {{ field message }}
  }}
}}
"""

WEBHOOK_SUBSCRIPTIONS = f"""
query WebhookSubscriptions($after: String) {{
  webhookSubscriptions(first: {WEBHOOKS_PAGE}, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id topic uri format }}
  }}
}}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

PAYOUTS = f"""
query Payouts($after: String) {{
  shopifyPaymentsAccount {{
    payouts(first: {PAYOUTS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ id legacyResourceId issuedAt status transactionType net {{ amount currencyCode }} }}
    }}
  }}
}}
"""

BALANCE_TRANSACTIONS = f"""
query BalanceTransactions($query: String!, $after: String) {{
  shopifyPaymentsAccount {{
    balanceTransactions(first: {TRANSACTIONS_PAGE}, after: $after, query: $query) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id type test transactionDate sourceId sourceType
        amount {{ amount currencyCode }} fee {{ amount }} net {{ amount }}
        associatedOrder {{ id name }}
        associatedPayout {{ id status }}
      }}
    }}
  }}
}}
"""

CUSTOMERS_PAGE = 100

_CUSTOMER = """
fragment CustomerFields on Customer {
  id legacyResourceId firstName lastName locale createdAt updatedAt
  defaultEmailAddress { emailAddress marketingState }
  defaultPhoneNumber { phoneNumber }
  defaultAddress { ...AddressFields }
}
"""

CUSTOMERS_UPDATED_SINCE = f"""
query CustomersUpdatedSince($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...CustomerFields }}
  }}
}}
{_CUSTOMER}{_ADDRESS}"""

CUSTOMER_CREATE = f"""
mutation CustomerCreate($input: CustomerInput!) {{
  customerCreate(input: $input) {{
    customer {{ ...CustomerFields }}
    userErrors {{ field message }}
  }}
}}
{_CUSTOMER}{_ADDRESS}"""

CUSTOMER_UPDATE = f"""
mutation CustomerUpdate($input: CustomerInput!) {{
  customerUpdate(input: $input) {{
    customer {{ ...CustomerFields }}
    userErrors {{ field message }}
  }}
}}
{_CUSTOMER}{_ADDRESS}"""

CUSTOMER_CONSENT_UPDATE = """
mutation CustomerConsent($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id defaultEmailAddress { emailAddress marketingState } }
    userErrors { field message code }
  }
}
"""

# what recent orders name (Shopify keeps no list of tax rates or gateways an app can read):
# 50 orders of 3 shipping lines cost 2 + 50 x 10 = 502 points
SETTINGS_ORDERS = 50
RECENT_ORDER_SETTINGS = f"""
query RecentOrderSettings($first: Int!) {{
  orders(first: $first, sortKey: CREATED_AT, reverse: true) {{
    nodes {{
      paymentGatewayNames
      taxLines {{ title rate }}
      shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{
        nodes {{ code title source carrierIdentifier taxLines {{ title rate }} }}
      }}
    }}
  }}
}}
"""

CARRIER_SERVICES_PAGE = 50
CARRIER_SERVICES = f"""
query CarrierServices($after: String) {{
  carrierServices(first: {CARRIER_SERVICES_PAGE}, after: $after) {{
    nodes {{ id name formattedName active }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

CUSTOMER_DOCUMENTS = {
    "CUSTOMERS_UPDATED_SINCE": CUSTOMERS_UPDATED_SINCE, "CUSTOMER_CREATE": CUSTOMER_CREATE,
    "CUSTOMER_UPDATE": CUSTOMER_UPDATE, "CUSTOMER_CONSENT_UPDATE": CUSTOMER_CONSENT_UPDATE,
}

ALL_DOCUMENTS = {
    "ORDERS_UPDATED_SINCE": ORDERS_UPDATED_SINCE, "ORDER": ORDER, "ORDER_LINES": ORDER_LINES,
    "FULFILLMENT_ORDERS": FULFILLMENT_ORDERS, "SHOP": SHOP, "LOCATIONS": LOCATIONS,
    "VARIANTS_BY_SKU": VARIANTS_BY_SKU, "VARIANT_LEVELS": VARIANT_LEVELS, "PRODUCT_SET": PRODUCT_SET, "INVENTORY_SET_QUANTITIES": INVENTORY_SET_QUANTITIES,
    "VARIANTS_BULK_UPDATE": VARIANTS_BULK_UPDATE, "FULFILLMENT_CREATE": FULFILLMENT_CREATE,
    "ORDER_REFUNDS": ORDER_REFUNDS, "REFUND_CREATE": REFUND_CREATE,
    "WEBHOOK_SUBSCRIPTIONS": WEBHOOK_SUBSCRIPTIONS, "WEBHOOK_SUBSCRIPTION_CREATE": WEBHOOK_SUBSCRIPTION_CREATE,
    "PAYOUTS": PAYOUTS, "BALANCE_TRANSACTIONS": BALANCE_TRANSACTIONS,
    "RECENT_ORDER_SETTINGS": RECENT_ORDER_SETTINGS, "CARRIER_SERVICES": CARRIER_SERVICES,
}
ALL_DOCUMENTS.update(CUSTOMER_DOCUMENTS)
