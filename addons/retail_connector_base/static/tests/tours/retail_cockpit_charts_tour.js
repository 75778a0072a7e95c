import { registry } from "@web/core/registry";

// From the cockpit's card of a backend to its charts over the last day, then the last week.
registry.category("web_tour.tours").add("retail_connector_cockpit_charts_tour", {
    url: "/odoo/action-retail_connector_base.action_retail_cockpit_backends",
    steps: () => [
        {
            content: "The failing backend's card comes first",
            trigger: ".o_retail_cockpit .o_retail_cockpit_card:first[data-backend='Tour charts shop']",
        },
        {
            content: "Its failing domain is its first row, in red",
            trigger: ".o_retail_cockpit_card[data-backend='Tour charts shop'] tbody tr:first[data-domain=orders].table-danger",
        },
        {
            content: "Open the backend's charts",
            trigger: ".o_retail_cockpit_card[data-backend='Tour charts shop'] .o_retail_cockpit_charts",
            run: "click",
        },
        {
            content: "The charts of the last day are drawn",
            trigger: ".o_retail_backend_charts:contains(Tour charts shop) .o_retail_period_day.btn-primary",
        },
        {
            content: "Events chart",
            trigger: ".o_retail_backend_charts canvas.o_retail_chart_events",
        },
        {
            content: "Latency chart",
            trigger: ".o_retail_backend_charts canvas.o_retail_chart_latency",
        },
        {
            content: "Switch to the last week",
            trigger: ".o_retail_backend_charts .o_retail_period_week",
            run: "click",
        },
        {
            content: "The week is shown",
            trigger: ".o_retail_backend_charts .o_retail_period_week.btn-primary",
        },
        {
            content: "Back to all backends",
            trigger: ".o_retail_charts_back",
            run: "click",
        },
        {
            content: "The cards again",
            trigger: ".o_retail_cockpit_card[data-backend='Tour charts shop']",
        },
    ],
});
