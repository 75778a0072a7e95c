"""Failure classes and mapping suggestions against the running server, over real HTTP.

A generic channel simulator sells a product under its own SKU; its signed order webhook fails in
Odoo as an unknown product. The failure carries its class and fix, the workbench groups it, and
the backend's mapping suggestions bind the channel SKU to the right product in one accept, after
which the job runner applies the replayed event.
"""

import json
import uuid

import pytest

from simulators.generic import GenericChannel
from e2e_policies import webhooks_only

pytestmark = pytest.mark.e2e

SECRET = "e2e-intelligence-webhook-secret"
TOKEN = "e2e-intelligence-token"
EVENT_FIELDS = ["state", "error_kind", "failure_class", "failure_cluster", "failure_fix", "failure_evidence", "res_id"]


def test_an_unknown_channel_sku_is_classified_suggested_accepted_and_replayed(odoo, odoo_url, wait_for):
    tag = uuid.uuid4().hex[:6].upper()
    odoo_sku, channel_sku = "ESP-CUP-%s" % tag, "esp_cup_%s" % tag.lower()
    product_id = odoo.call("product.product", "create", {
        "name": "Espresso cup %s white porcelain" % tag, "default_code": odoo_sku, "type": "consu"})
    odoo.call("product.product", "create", {"name": "Tea pot %s" % tag, "default_code": "TEA-POT-%s" % tag, "type": "consu"})
    catalogue = [{"sku": channel_sku, "name": "White porcelain espresso cup %s" % tag, "price": "8.00"}]
    with GenericChannel(token=TOKEN, webhook_secret=SECRET, currency="USD", tax_rate="0", catalogue=catalogue) as channel:
        backend_id = odoo.call("retail.backend", "create", {
            "name": "E2E suggestions %s" % tag, "backend_type": "generic", "webhook_secret": SECRET,
            "inbound_rate_limit": 0, "endpoint_url": channel.url, "api_secret": TOKEN})
        try:
            webhooks_only(odoo, backend_id)
            channel.webhook_url = "%s/retail/webhook/%s" % (odoo_url, backend_id)
            order = channel.place_order(lines=[{"sku": channel_sku, "quantity": 2}])
            [delivery] = [d for d in channel.webhooks.for_topic("orders/create")
                          if d.payload.get("external_id") == order["external_id"]]
            event_id = json.loads(delivery.attempts[-1].response_body)["events"][0]

            def event_in(states):
                rows = odoo.search_read("retail.event", [("id", "=", event_id)], EVENT_FIELDS)
                return rows[0] if rows and rows[0]["state"] in states else None

            event = wait_for(lambda: event_in(("failed", "dead", "done")), timeout=60, what="the order event to fail")
            assert event["state"] == "failed", event
            assert event["error_kind"] == "unknown_product"
            assert event["failure_class"] == "unknown_product"
            assert "Suggest mappings" in event["failure_fix"]
            assert "rule" in event["failure_evidence"]

            groups = odoo.search_read("retail.event.group", [("backend_id", "=", backend_id)],
                                      ["failure_class", "failure_cluster", "failure_fix", "event_count"])
            assert [(g["failure_class"], g["event_count"]) for g in groups] == [("unknown_product", 1)]
            assert groups[0]["failure_cluster"] == event["failure_cluster"]

            action = odoo.call("retail.backend", "action_suggest_mappings", [backend_id])
            wizard_id = action["res_id"]
            lines = odoo.search_read("retail.mapping.suggestion.line", [("wizard_id", "=", wizard_id)],
                                     ["channel_value", "rank", "target", "score", "reasons", "accept"], order="rank")
            best = lines[0]
            assert best["channel_value"] == channel_sku
            assert best["target"] == "product.product,%d" % product_id, lines
            assert best["accept"] and best["score"] >= 0.9, best
            assert "SKU %s = (normalised) %s" % (channel_sku, odoo_sku) in best["reasons"]
            odoo.call("retail.mapping.suggestion", "action_accept", [wizard_id])

            event = wait_for(lambda: event_in(("done",)), timeout=60, what="the replayed event to be applied")
            assert not event["failure_class"]
            lines = odoo.search_read("sale.order.line", [("order_id", "=", event["res_id"]), ("product_id", "=", product_id)],
                                     ["product_uom_qty"])
            assert [line["product_uom_qty"] for line in lines] == [2.0]
        finally:
            odoo.call("retail.backend", "write", [backend_id], {"active": False})
