"""Building blocks of the resilience scenarios: a shop on a generic channel, its order feed
with injected webhook faults, and the checks that nothing was lost or applied twice."""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from dataclasses import dataclass

from odoo_client import OdooClient
from simulators.generic import GenericChannel

from resilience.cluster import query

CHAOS = os.environ.get("RC_CHAOS", "") not in ("", "0")
REPORTS = []
PENDING = ("received", "queued", "processing")
SETTLED = ("done", "stale")


def scale(short, long):
    """Return the short figure in the normal run, the long one under ``./setup chaos``."""
    return long if CHAOS else short


class Report:
    """What a scenario injected and what it verified; printed at the end of the run."""

    def __init__(self, name):
        self.name = name
        self.injected = []
        self.verified = {}
        self.notes = []
        REPORTS.append(self)

    def inject(self, what):
        self.injected.append(what)

    def verify(self, **counts):
        self.verified.update(counts)

    def note(self, text):
        self.notes.append(text)

    def render(self):
        lines = [f"[{self.name}]{' (chaos)' if CHAOS else ''}"]
        lines += [f"  injected: {item}" for item in self.injected]
        if self.verified:
            lines.append("  verified: " + ", ".join(f"{k}={v}" for k, v in self.verified.items()))
        lines += [f"  note: {text}" for text in self.notes]
        return "\n".join(lines)


def wait_until(fn, timeout, what, interval=0.5):
    """Return fn()'s first truthy value, polling; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def admin(url, db):
    client = OdooClient(url, db, "admin", "admin", timeout=120)
    client.login()
    return client


def ensure_products(odoo, catalogue, *, on_hand=None):
    """Create the catalogue's products when missing; storable with ``on_hand`` units if given."""
    skus = [item["sku"] for item in catalogue]
    found = {p["default_code"]: p["id"] for p in odoo.search_read(
        "product.product", [("default_code", "in", skus)], ["default_code"])}
    for item in catalogue:
        if item["sku"] in found:
            continue
        vals = {"name": item["name"], "default_code": item["sku"], "type": "consu", "list_price": float(item["price"])}
        if on_hand is not None:
            vals["is_storable"] = True
        found[item["sku"]] = odoo.call("product.product", "create", vals)
    if on_hand is not None:
        warehouse = odoo.search_read("stock.warehouse", [], ["lot_stock_id"], limit=1)[0]
        for sku in skus:
            set_on_hand(odoo, found[sku], warehouse["lot_stock_id"][0], on_hand)
    return found


def set_on_hand(odoo, product_id, location_id, quantity):
    """Apply an inventory adjustment: ``quantity`` units of the product in the location."""
    quant = odoo.call("stock.quant", "create", {"product_id": product_id, "location_id": location_id,
                                                "inventory_quantity": quantity}, context={"inventory_mode": True})
    odoo.call("stock.quant", "action_apply_inventory", [quant])


@dataclass
class Shop:
    """A generic channel simulator and the Odoo backend it sends its signed webhooks to."""

    odoo: OdooClient
    db: str
    channel: GenericChannel
    backend_id: int
    secret: str
    name: str
    opened_at: object = None

    @classmethod
    def open(cls, odoo, db, webhook_base, *, catalogue=None, policies=None, backend_values=None, **channel_options):
        """Start a channel and create its backend; ``policies`` maps domains to modes (others off, but for orders:
        their webhooks are taken, with no scheduled run; the scenarios reconcile when they choose)."""
        token, secret = f"tok-{uuid.uuid4().hex[:8]}", f"whsec-{uuid.uuid4().hex}"
        first = random.SystemRandom().randrange(10**7, 10**8) * 10
        options = {"token": token, "webhook_secret": secret, "currency": "USD", "tax_rate": "0",
                   "first_order_number": first, "webhook_retries": 5, "webhook_backoff": 0.2,
                   "webhook_timeout": 10.0}
        if catalogue is not None:
            options["catalogue"] = catalogue
        options.update(channel_options)
        channel = GenericChannel(**options).start()
        name = f"Resilience {uuid.uuid4().hex[:6]}"
        values = {"name": name, "backend_type": "generic", "webhook_secret": secret, "inbound_rate_limit": 0,
                  "endpoint_url": channel.url, "api_secret": token}
        values.update(backend_values or {})
        backend_id = odoo.call("retail.backend", "create", values)
        for policy in odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id)], ["id", "domain"]):
            values = {"mode": (policies or {}).get(policy["domain"], "off"), "debounce_seconds": 1}
            if policy["domain"] == "orders" and "orders" not in (policies or {}):
                values.update(mode="realtime", direction="inbound", scheduled_run=False)
            odoo.call("retail.sync.policy", "write", [policy["id"]], values)
        channel.webhook_url = f"{webhook_base}/retail/webhook/{backend_id}"
        [(opened_at,)] = query(db, "SELECT now() AT TIME ZONE 'UTC'")
        return cls(odoo, db, channel, backend_id, secret, name, opened_at)

    def close(self):
        self.channel.stop()

    # ----------------------------------------------------------------- feeding orders
    def feed(self, count, *, duplicate_every=0, reorder_every=0, drop_every=0, cancel_every=0, stop=None):
        """Place ``count`` orders with their webhooks, faults interleaved; return what was injected."""
        injected = {"orders": 0, "duplicated": 0, "reordered": 0, "dropped": 0, "cancelled": 0}
        for i in range(count):
            if stop is not None and stop.is_set():
                break
            if drop_every and i % drop_every == drop_every - 1:
                self.channel.drop_webhooks(1)
                self.channel.place_order()
                injected["dropped"] += 1
            elif duplicate_every and i % duplicate_every == 0:
                self.channel.duplicate_webhooks(3)
                self.channel.place_order()
                injected["duplicated"] += 1
            elif reorder_every and i % reorder_every == 1:
                self.channel.reorder_webhooks(2)
                order = self.channel.place_order(payment_state="authorized")
                self.channel.update_order(order["external_id"], payment_state="paid")
                injected["reordered"] += 1
            elif cancel_every and i % cancel_every == 2:
                order = self.channel.place_order()
                self.channel.cancel_order(order["external_id"])
                injected["cancelled"] += 1
            else:
                self.channel.place_order()
            injected["orders"] += 1
        return injected

    def redeliver_failed(self):
        """Send again each delivery no receiver acknowledged, as channels retry later; return how many."""
        failed = [d for d in self.channel.webhooks.all() if d.state == "failed"]
        for delivery in failed:
            self.channel.deliver(delivery)
        return len(failed)

    # ----------------------------------------------------------------- waiting and reconciling
    def event_states(self):
        rows = query(self.db, "SELECT state, count(*) FROM retail_event WHERE backend_id = %s GROUP BY state",
                     (self.backend_id,))
        return dict(rows)

    def wait_settled(self, timeout):
        """Wait until no event of the backend is pending; return the counts per state."""
        def settled():
            states = self.event_states()
            return states if states and not any(states.get(s) for s in PENDING) else None

        return wait_until(settled, timeout, f"the events of {self.name} to be applied", interval=1.0)

    def reconcile_orders(self, odoo=None):
        """Run the reconciliations now; return the orders run's (differences, repaired)."""
        (odoo or self.odoo).call("retail.backend", "action_reconcile_now", [self.backend_id])
        [row] = query(self.db, """SELECT difference_count, repaired FROM retail_reconciliation_run
                                  WHERE backend_id = %s AND domain = 'orders' ORDER BY id DESC LIMIT 1""",
                      (self.backend_id,))
        return row

    # ----------------------------------------------------------------- verification
    def verify_orders(self, failed_jobs_allowed=False):
        """Return (counts, problems): every channel order once in Odoo, in its latest state, no event lost."""
        orders = {o["external_id"]: o for o in self.channel.orders}
        deliveries = self.channel.webhooks.all()
        acknowledged = [d for d in deliveries if d.state == "sent"]
        ack_events = set()
        for delivery in acknowledged:
            ack_events.update(json.loads(delivery.attempts[-1].response_body)["events"])
        events = {row[0]: row[1:] for row in query(
            self.db, "SELECT id, state, aggregate_key, outcome FROM retail_event WHERE backend_id = %s",
            (self.backend_id,))}
        bindings = query(self.db, """
            SELECT b.external_id, count(*), min(b.channel_payment_state), min(b.channel_status), min(so.state)
            FROM retail_sale_order_binding b JOIN sale_order so ON so.id = b.odoo_id
            WHERE b.backend_id = %s GROUP BY b.external_id""", (self.backend_id,))
        by_key = {row[0]: row[1:] for row in bindings}
        names = [o["name"] for o in orders.values()]
        sale_counts = dict(query(self.db, """SELECT client_order_ref, count(*) FROM sale_order
                                             WHERE client_order_ref = ANY(%s) GROUP BY 1""", (names,)))
        created = query(self.db, """SELECT aggregate_key, count(*) FROM retail_event WHERE backend_id = %s
                                    AND outcome = 'created' GROUP BY 1""", (self.backend_id,))
        problems = []
        lost = sorted(e for e in ack_events if e not in events or events[e][0] not in SETTLED)
        if lost:
            problems.append(f"acknowledged events not applied: {[(e, events.get(e)) for e in lost[:10]]}")
        unsettled = {i: v for i, v in events.items() if v[0] not in SETTLED}
        if unsettled:
            problems.append(f"events not applied: {list(unsettled.items())[:10]}")
        missing = sorted(k for k in orders if k not in by_key)
        if missing:
            problems.append(f"channel orders without a sale order: {missing[:10]}")
        doubled = sorted(k for k, v in by_key.items() if v[0] != 1)
        doubled += sorted(n for n, c in sale_counts.items() if c != 1)
        doubled += sorted(k for k, c in created if c != 1)
        if doubled:
            problems.append(f"orders created more than once: {doubled[:10]}")
        wrong = []
        for key, order in orders.items():
            if key not in by_key:
                continue
            _n, payment, status, sale_state = by_key[key]
            expected_sale = "cancel" if order["status"] == "cancelled" else "sale"
            if (payment, status, sale_state) != (order["payment_state"], order["status"], expected_sale):
                wrong.append((key, (payment, status, sale_state), (order["payment_state"], order["status"])))
        if wrong:
            problems.append(f"sale orders not in the channel's latest state: {wrong[:10]}")
        failed_jobs = query(self.db, """SELECT uuid, method_name, exc_name FROM queue_job
                                        WHERE state = 'failed' AND date_created >= %s""", (self.opened_at,))
        if failed_jobs and not failed_jobs_allowed:
            problems.append(f"jobs failed instead of being retried: {failed_jobs[:10]}")
        counts = {
            "orders": len(orders),
            "webhooks": len(deliveries),
            "acknowledged": len(acknowledged),
            "dropped": sum(d.state == "dropped" for d in deliveries),
            "unacknowledged": sum(d.state == "failed" for d in deliveries),
            "events": len(events),
            "sale_orders": sum(sale_counts.values()),
            "duplicates": len(doubled),
            "lost": len(lost) + len(missing),
            "failed_jobs": len(failed_jobs),
        }
        return counts, problems
