# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Retail Connector: Store POS",
    "summary": "Store sales, stock and catalogue between external POS systems (Square-style APIs) and Odoo",
    "version": "19.0.1.0.0",
    "category": "Sales/Point of Sale",
    "license": "LGPL-3",
    "author": "Retail Connector",
    "website": "https://github.com/retail-connector/retail-connector",
    "depends": ["retail_connector_base", "point_of_sale"],
    "data": ["security/ir.model.access.csv", "security/retail_connector_pos_security.xml", "views/retail_pos_views.xml",
             "data/retail_policy_support.xml"],
    "demo": ["demo/retail_backend_demo.xml"],
    "installable": True,
}
