import { registry } from "@web/core/registry";

// On a backend not live whose channel names a tax that Odoo cannot match: the readiness check
// lists it, its Fix button maps it, the check passes and the backend goes live.
registry.category("web_tour.tours").add("retail_connector_readiness_tour", {
    steps: () => [
        {
            content: "The form says the backend is not live",
            trigger: ".o_form_view .o_retail_not_live",
        },
        {
            content: "Run the readiness check",
            trigger: ".o_form_view .o_form_statusbar button[name=action_check_readiness]",
            run: "click",
        },
        {
            content: "The unmapped tax blocks the traffic",
            trigger: ".modal .o_retail_readiness .o_data_row:contains(VAT 7.33%):contains(Blocks traffic)",
        },
        {
            content: "Fix it from the list",
            trigger: ".modal .o_retail_readiness .o_data_row:contains(VAT 7.33%) button[name=action_fix]",
            run: "click",
        },
        {
            content: "The channel value to map is the tax",
            trigger: ".modal .o_field_widget[name=external_value]:contains(VAT 7.33%)",
        },
        {
            content: "A tax of Odoo",
            trigger: ".modal .o_field_widget[name=odoo_ref] select",
            run: "select account.tax",
        },
        {
            content: "Choose the Odoo tax",
            trigger: ".modal .o_field_widget[name=odoo_ref] .o_field_many2one_selection input",
            run: "edit Channel VAT 7.33",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-item:contains(Channel VAT 7.33%)",
            run: "click",
        },
        {
            content: "Save it: the check runs again",
            trigger: ".modal .o_retail_save_mapping",
            run: "click",
        },
        {
            content: "Nothing blocks any more",
            trigger: ".modal:has(.o_retail_readiness):not(:has(.o_data_row:contains(VAT 7.33%))) .modal-footer button[name=action_go_live]",
        },
        {
            content: "Go live",
            trigger: ".modal:has(.o_retail_readiness) .modal-footer button[name=action_go_live]",
            run: "click",
        },
        {
            content: "The readiness dialog is closed: the backend is live",
            trigger: "body:not(:has(.modal .o_retail_readiness)) .o_form_view",
        },
    ],
});
