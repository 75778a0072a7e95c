import { onWillStart, onWillUnmount } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";

/** The list of long work, refreshed as the work reports its progress on Odoo's bus. */
export class RetailProgressListController extends ListController {
    setup() {
        super.setup();
        this.busService = useService("bus_service");
        this.pending = null;
        const onProgress = () => {
            // a burst of steps reloads once
            if (!this.pending) {
                this.pending = setTimeout(async () => {
                    this.pending = null;
                    await this.model.load();
                }, 300);
            }
        };
        onWillStart(() => {
            this.busService.subscribe("retail_progress", onProgress);
            this.busService.start();
        });
        onWillUnmount(() => {
            this.busService.unsubscribe("retail_progress", onProgress);
            clearTimeout(this.pending);
        });
    }
}

registry.category("views").add("retail_progress_list", {
    ...listView,
    Controller: RetailProgressListController,
});
