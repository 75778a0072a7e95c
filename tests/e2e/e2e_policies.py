"""Sync policy set-ups the end-to-end modules share."""

from odoo_client import OdooRPCError


def webhooks_only(odoo, backend_id, domains=("orders",)):
    """Let a backend take the channel's events of ``domains`` (None: every domain its channel reads) and do
    nothing else: no scheduled polling, nothing sent to the channel, the other domains off (their events
    refused)."""
    policies = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id)], ["id", "domain"])
    taken = [p["id"] for p in policies if domains is None or p["domain"] in domains]
    odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["id"] not in taken], {"mode": "off"})
    values = {"mode": "realtime", "direction": "inbound", "scheduled_run": False}
    if domains is not None:
        odoo.call("retail.sync.policy", "write", taken, values)
        return
    for policy_id in taken:
        try:
            odoo.call("retail.sync.policy", "write", [policy_id], values)
        except OdooRPCError as exc:
            # a domain the channel reads nothing of stays off (the policy says why)
            if "stays off" not in str(exc):
                raise
