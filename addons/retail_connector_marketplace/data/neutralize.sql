-- Retail Connector marketplaces: no storefront or payment provider is called from a neutralised copy
UPDATE retail_backend
   SET active = false
 WHERE backend_type IN ('shopify', 'woocommerce', 'stripe');
