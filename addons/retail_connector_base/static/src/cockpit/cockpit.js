import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";

const REFRESH_MS = 30000;
const SEVERITY_CLASS = ["text-bg-success", "text-bg-info", "text-bg-warning", "text-bg-danger"];

/** The charts of one backend over the last hour, day or week, drawn with the Chart.js Odoo ships. */
export class RetailBackendCharts extends Component {
    static template = "retail_connector_base.BackendCharts";
    static props = { backendId: Number, name: String, close: Function };

    setup() {
        this.orm = useService("orm");
        this.state = useState({ period: "day", data: null });
        this.canvases = {
            events: useRef("events"),
            backlog: useRef("backlog"),
            latency: useRef("latency"),
            exports: useRef("exports"),
        };
        this.charts = {};
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            await this.load();
        });
        onMounted(() => this.draw());
        onWillUnmount(() => this.destroy());
    }

    get periods() {
        return [
            ["hour", _t("Last hour")],
            ["day", _t("Last day")],
            ["week", _t("Last week")],
        ];
    }

    async load() {
        this.state.data = await this.orm.call("retail.cockpit", "get_backend_series", [
            this.props.backendId,
            this.state.period,
        ]);
    }

    async setPeriod(period) {
        this.state.period = period;
        await this.load();
        this.draw();
    }

    labels() {
        const step = this.state.data.step_seconds;
        return this.state.data.labels.map((label) => {
            const at = new Date(label.replace(" ", "T") + "Z");
            return step < 3600
                ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
                : at.toLocaleString([], { weekday: step >= 6 * 3600 ? "short" : undefined, hour: "2-digit" });
        });
    }

    destroy() {
        for (const chart of Object.values(this.charts)) {
            chart.destroy();
        }
        this.charts = {};
    }

    draw() {
        this.destroy();
        const data = this.state.data;
        const labels = this.labels();
        const s = data.series;
        const line = (label, values, color, extra = {}) => ({
            label, data: values, borderColor: color, backgroundColor: color, tension: 0.25, pointRadius: 0, ...extra,
        });
        const make = (key, datasets, yTitle) => {
            const el = this.canvases[key].el;
            if (!el) {
                return;
            }
            this.charts[key] = new Chart(el, {
                type: "line",
                data: { labels, datasets },
                options: {
                    animation: false,
                    maintainAspectRatio: false,
                    interaction: { mode: "index", intersect: false },
                    plugins: { legend: { position: "bottom" } },
                    scales: { y: { beginAtZero: true, min: 0, title: { display: Boolean(yTitle), text: yTitle } } },
                },
            });
        };
        make("events", [
            line(_t("Received"), s.received, "#3b82f6"),
            line(_t("Applied"), s.applied, "#10b981"),
            line(_t("Failed"), s.failed, "#ef4444"),
        ], _t("events"));
        make("backlog", [line(_t("Backlog"), s.backlog, "#f59e0b", { fill: true, backgroundColor: "#f59e0b33" })],
            _t("events waiting"));
        make("latency", [
            line(_t("p50"), s.p50, "#6366f1"),
            line(_t("p95"), s.p95, "#a855f7"),
            line(_t("Target"), s.p50.map(() => data.latency_target), "#9ca3af", { borderDash: [6, 4] }),
        ], _t("seconds"));
        make("exports", [
            line(_t("Requested"), s.exports, "#0ea5e9"),
            line(_t("Sent"), s.sent, "#22c55e"),
            line(_t("Failed"), s.export_failures, "#dc2626"),
        ], _t("exports"));
    }
}

/** One card per backend, its domains as rows, worst first; a backend opens its charts. */
export class RetailCockpit extends Component {
    static template = "retail_connector_base.Cockpit";
    static components = { RetailBackendCharts };
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        const params = (this.props.action && this.props.action.context) || {};
        this.busService = useService("bus_service");
        this.state = useState({ cards: [], work: [], open: null, loaded: false });
        // long work (reconciliations, imports) reports its progress on the bus: shown as it goes
        const onProgress = () => this.loadWork();
        onWillStart(() => this.busService.subscribe("retail_progress", onProgress));
        onWillUnmount(() => this.busService.unsubscribe("retail_progress", onProgress));
        onWillStart(async () => {
            await this.load();
            const backendId = params.active_backend_id;
            if (backendId) {
                this.state.open = this.state.cards.find((c) => c.backend_id === backendId) || null;
            }
        });
        onMounted(() => {
            this.timer = setInterval(() => this.load(), REFRESH_MS);
        });
        onWillUnmount(() => clearInterval(this.timer));
    }

    async load() {
        this.state.cards = await this.orm.call("retail.cockpit", "get_cockpit_cards", []);
        await this.loadWork();
        this.state.loaded = true;
    }

    async loadWork() {
        this.state.work = await this.orm.searchRead(
            "retail.progress",
            [["state", "=", "running"]],
            ["name", "done", "total", "percent", "rate", "seconds_left"],
            { limit: 10 }
        );
    }

    openWork() {
        this.action.doAction("retail_connector_base.action_retail_progress");
    }

    severityClass(severity) {
        return SEVERITY_CLASS[severity] || SEVERITY_CLASS[0];
    }

    fmt(value, digits = 1) {
        return (Math.max(value || 0, 0)).toFixed(digits);
    }

    sparkPoints(values) {
        const max = Math.max(1, ...values);
        const step = 60 / Math.max(1, values.length - 1);
        return values.map((v, i) => `${(i * step).toFixed(1)},${(15 - (v / max) * 14).toFixed(1)}`).join(" ");
    }

    openCharts(card) {
        this.state.open = card;
    }

    closeCharts() {
        this.state.open = null;
    }

    openBackend(card) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "retail.backend",
            res_id: card.backend_id,
            views: [[false, "form"]],
        });
    }

    openRow(row, what) {
        this.action.doActionButton({
            type: "object",
            resModel: "retail.cockpit",
            resId: row.id,
            name: what,
        });
    }

    openTiles() {
        this.action.doAction("retail_connector_base.action_retail_cockpit");
    }
}

registry.category("actions").add("retail_connector_cockpit", RetailCockpit);
