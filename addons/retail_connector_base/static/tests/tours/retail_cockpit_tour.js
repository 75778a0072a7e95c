import { registry } from "@web/core/registry";

// From the cockpit's red tile to the failed events, then the workbench: a whole cause is
// assigned to the integration user.
registry.category("web_tour.tours").add("retail_connector_cockpit_tour", {
    url: "/odoo/action-retail_connector_base.action_retail_cockpit",
    steps: () => [
        {
            content: "The tile of the tour backend needs attention",
            trigger: ".o_kanban_record:contains(Tour cockpit shop):contains(orders) .text-danger",
        },
        {
            content: "Open its failed and dead events",
            trigger: ".o_kanban_record:contains(Tour cockpit shop):contains(orders) a[name=action_open_failures]",
            run: "click",
        },
        {
            content: "The two failures are listed",
            trigger: ".o_list_view .o_data_row:contains(TOUR-2)",
        },
        {
            content: "Go to the failures by cause",
            trigger: ".o_menu_sections button:contains(Events), .o_menu_sections a:contains(Events)",
            run: "click",
        },
        {
            content: "Open the workbench",
            trigger: ".dropdown-item:contains(Failures by cause)",
            run: "click",
        },
        {
            content: "One cause for the two events",
            trigger: ".o_data_row:contains(Tour cockpit shop) td[name=event_count]:contains(2)",
        },
        {
            content: "Assign the cause to me",
            trigger: ".o_data_row:contains(Tour cockpit shop) button[name=action_assign_to_me]",
            run: "click",
        },
        {
            content: "Assigned",
            trigger: ".o_data_row:contains(Tour cockpit shop) td[name=assigned_user_id] .o_avatar, .o_data_row:contains(Tour cockpit shop) td[name=assigned_user_id]:contains(Administrator)",
        },
    ],
});
