# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Retail Connector: Storefronts and Marketplaces",
    "summary": "Shopify (Admin GraphQL API), WooCommerce (REST API v3), Amazon (Selling Partner API) and Stripe payouts through the Retail Connector pipeline",
    "version": "19.0.1.0.0",
    "category": "Sales/Connector",
    "license": "LGPL-3",
    "author": "Retail Connector",
    "website": "https://github.com/retail-connector/retail-connector",
    "depends": ["retail_connector_base", "sale_stock", "stock_delivery"],
    "external_dependencies": {"python": ["stripe", "boto3"]},
    "data": ["security/ir.model.access.csv", "data/retail_policy_support.xml", "views/retail_backend_views.xml",
             "data/amazon_data.xml", "views/retail_backend_amazon_views.xml"],
    "demo": ["demo/retail_backend_demo.xml", "demo/amazon_demo.xml"],
    "installable": True,
}
