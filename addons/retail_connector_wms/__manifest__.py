# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Retail Connector: Warehouses and 3PLs",
    "summary": "Warehouse release, shipment confirmation, receipts and stock snapshots with 3PLs "
    "over REST/JSON and X12 EDI",
    "version": "19.0.1.0.0",
    "category": "Inventory/Connector",
    "license": "LGPL-3",
    "author": "Retail Connector",
    "website": "https://github.com/retail-connector/retail-connector",
    "depends": ["retail_connector_base", "stock", "stock_delivery"],
    "external_dependencies": {"python": ["paramiko"]},
    "data": [
        "security/ir.model.access.csv",
        "security/retail_connector_wms_security.xml",
        "data/ir_cron_data.xml",
        "data/retail_policy_support.xml",
        "views/retail_edi_document_views.xml",
    ],
    "demo": ["demo/retail_backend_demo.xml"],
    "installable": True,
}
