import { registry } from "@web/core/registry";

// Reconcile now on a backend: its reconciliations are queued, their progress shows in Long work,
// and the list follows them on Odoo's bus, without being reloaded by hand, until they are done.
registry.category("web_tour.tours").add("retail_connector_progress_tour", {
    steps: () => [
        {
            content: "Reconcile the backend now",
            trigger: ".o_form_view .o_form_statusbar button[name=action_reconcile_in_background]",
            run: "click",
        },
        {
            content: "The inventory reconciliation is queued, not done yet",
            trigger: ".o_list_view .o_data_row:contains(Reconciliation of inventory on Progress shop):not(:contains(Done))",
        },
        {
            content: "It finishes: the list shows it done, all of it compared",
            trigger: ".o_list_view .o_data_row:contains(Reconciliation of inventory on Progress shop):contains(Done) td[name=done]:contains(3)",
            timeout: 30000,
        },
        {
            content: "and so does the prices reconciliation",
            trigger: ".o_list_view .o_data_row:contains(Reconciliation of pricing on Progress shop):contains(Done)",
        },
    ],
});
