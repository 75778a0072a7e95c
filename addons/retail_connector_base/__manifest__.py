# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Retail Connector",
    "summary": "Middleware that makes Odoo the operational core of a retail estate: "
    "backends, sync policies, bindings and canonical business objects",
    "version": "19.0.1.0.0",
    "category": "Sales/Connector",
    "license": "LGPL-3",
    "author": "Retail Connector",
    "website": "https://github.com/retail-connector/retail-connector",
    "depends": [
        "mail",
        "queue_job",
        "component",
        "component_event",
        "connector",
        "sale_stock",
    ],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/retail_connector_security.xml",
        "security/ir.model.access.csv",
        "data/queue_job_data.xml",
        "views/retail_backend_views.xml",
        "views/retail_sync_policy_views.xml",
        "views/retail_binding_views.xml",
        "views/res_config_settings_views.xml",
        "wizards/retail_legacy_id_import_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/retail_backend_demo.xml"],
    "application": True,
    "installable": True,
}
