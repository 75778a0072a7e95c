import { registry } from "@web/core/registry";

// From the backends list, the New channel assistant sets up a generic channel: its name, its
// endpoint (pre-filled from the test's user default) and token, the connection test, the webhook
// URL and secret to give the channel, the catalogue, the readiness check, and going live.
registry.category("web_tour.tours").add("retail_connector_channel_assistant_tour", {
    url: "/odoo/action-retail_connector_base.action_retail_backend",
    steps: () => [
        {
            content: "Start the New channel assistant from the backends list",
            trigger: "button.o_retail_new_channel",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".modal .o_retail_step_channel .o_field_widget[name=name] input",
            run: "edit Assistant shop",
        },
        {
            content: "Next: credentials",
            trigger: ".modal .o_retail_assistant_next",
            run: "click",
        },
        {
            content: "The endpoint is the channel's",
            trigger: ".modal .o_retail_step_credentials .o_field_widget[name=endpoint_url] input:value(http://127.0.0.1)",
        },
        {
            content: "Enter the API token",
            trigger: ".modal .o_retail_step_credentials .o_field_widget[name=api_secret] input",
            run: "edit assistant-token",
        },
        {
            content: "Next: the connection is tested",
            trigger: ".modal .o_retail_assistant_next",
            run: "click",
        },
        {
            content: "The channel answered",
            trigger: ".modal .o_retail_step_connection .o_retail_connection_ok:contains(Assistant Channel)",
        },
        {
            content: "Next: webhooks",
            trigger: ".modal .o_retail_assistant_next",
            run: "click",
        },
        {
            content: "The URL to give the channel",
            trigger: ".modal .o_retail_webhook_manual .o_field_widget[name=webhook_endpoint]:contains(/retail/webhook/)",
        },
        {
            content: "and its secret",
            trigger: ".modal .o_retail_webhook_manual .o_field_widget[name=webhook_secret_shown]:not(:empty)",
        },
        {
            content: "Next: catalogue and mappings",
            trigger: ".modal .o_retail_assistant_next",
            run: "click",
        },
        {
            content: "Where products and mappings are set",
            trigger: ".modal .o_retail_step_catalogue button[name=action_suggest_mappings]",
        },
        {
            content: "Next: the readiness check",
            trigger: ".modal .o_retail_assistant_next",
            run: "click",
        },
        {
            content: "Nothing blocks: the warnings are listed",
            trigger: ".modal .o_retail_step_readiness:not(:has(.o_retail_readiness_blocking)) .o_data_row",
        },
        {
            content: "Go live",
            trigger: ".modal .o_retail_assistant_go_live",
            run: "click",
        },
        {
            content: "The backend is live",
            trigger: ".modal .o_retail_assistant_live:contains(Assistant shop)",
        },
        {
            content: "Open it",
            trigger: ".modal .o_retail_assistant_open",
            run: "click",
        },
        {
            content: "Its form, live",
            trigger: "body:not(:has(.modal)) .o_form_view:not(:has(.o_retail_not_live)) .o_field_widget[name=name]:has(input:value(Assistant shop))",
        },
    ],
});

// The backend's first order, shown from the backend's form.
registry.category("web_tour.tours").add("retail_connector_channel_first_order_tour", {
    steps: () => [
        {
            content: "The backend counts its order",
            trigger: ".o_form_view .o_retail_backend_orders:contains(1)",
        },
        {
            content: "Open its orders",
            trigger: ".o_form_view .o_retail_backend_orders",
            run: "click",
        },
        {
            content: "The channel's order is there",
            trigger: ".o_list_view .o_data_row:contains(Jane Doe)",
        },
    ],
});
