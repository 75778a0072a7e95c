import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// Creates a generic backend, edits its orders policy and tests the connection. The endpoint
// comes pre-filled from the test's user default; the token is the simulator's.
registry.category("web_tour.tours").add("retail_connector_backend_tour", {
    url: "/odoo/action-retail_connector_base.action_retail_backend",
    steps: () => [
        {
            content: "Create a backend",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour partner shop",
        },
        {
            content: "The endpoint is the channel's",
            trigger: ".o_field_widget[name=endpoint_url] input:value(http://127.0.0.1)",
        },
        {
            content: "Open the credentials",
            trigger: ".o_notebook .nav-link:contains(Credentials)",
            run: "click",
        },
        {
            content: "Enter the API token",
            trigger: ".o_field_widget[name=api_secret] input",
            run: "edit tour-token",
        },
        ...stepUtils.saveForm(),
        {
            content: "Open the sync policies",
            trigger: ".o_notebook .nav-link:contains(Sync policies)",
            run: "click",
        },
        {
            content: "Edit the orders policy",
            trigger: ".o_field_widget[name=policy_ids] .o_data_row:contains(Orders) td[name=interval_number]",
            run: "click",
        },
        {
            content: "Reconcile orders every 5",
            trigger: ".o_field_widget[name=policy_ids] .o_selected_row td[name=interval_number] input",
            run: "edit 5",
        },
        ...stepUtils.saveForm(),
        {
            content: "Test the connection",
            trigger: "button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "The channel answered",
            trigger: ".o_notification:contains(Connection OK):contains(Tour Channel)",
        },
        {
            content: "The result stays on the backend",
            trigger: ".o_field_widget[name=last_check_message]:contains(Connected to Tour Channel)",
        },
    ],
});
