"""Legacy integration platform simulator: the middleware a retailer migrates away from.

While a domain is still the legacy platform's, Odoo relays it the channel's events unchanged.
This simulator is that relay target; it records every delivery, applies each order once (a
second delivery of the same event, by its ``X-Retail-Relay-Id`` or the channel's event id, is
counted as a duplicate and acknowledged) and serves the outcomes it produced, as its export:

- ``POST /hooks``                      the relay target (answers 200 ``{"status": "applied"|"duplicate"}``)
- ``GET  /export/outcomes.json``       its outcomes: ``[{"order_id", "customer_email", "currency",
                                       "lines": [{"sku", "quantity"}], "amount_total"}]`` (bearer token)
- ``GET  /export/outcomes.csv``        the same, one row per order line

Signatures: with ``relay_secret`` the relay's own signature is required
(``X-Retail-Relay-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``); with
``channel_secret`` a forwarded delivery must carry the channel's ``X-Retail-Signature`` of the
same form. ``mismatch(order_id, **changes)`` makes the platform's outcome of one order differ
(a deliberate disagreement for a shadow comparison).
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from .base import HttpError, Response, Simulator, hmac_sha256_hex, route

__all__ = ["Delivery", "LegacyPlatform"]


@dataclass
class Delivery:
    """One relayed request as the legacy platform received it."""

    relay_id: str | None
    event_key: str | None
    topic: str | None
    headers: dict
    body: bytes
    duplicate: bool = False
    extra: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.body) if self.body else None


def _check_signature(value: str | None, secret: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in (value or "").split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac_sha256_hex(secret, parts["t"].encode() + b"." + body)
    return hmac.compare_digest(expected, parts["v1"])


class LegacyPlatform(Simulator):
    name = "legacy"

    def __init__(self, *, token: str = "legacy-token", relay_secret: str | None = None,
                 channel_secret: str | None = None, **kwargs):
        super().__init__(auth_token=token, **kwargs)
        self.relay_secret = relay_secret
        self.channel_secret = channel_secret
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self._seen: set[str] = set()
        self._outcomes: dict[str, dict] = {}
        self._mismatches: dict[str, dict] = {}

    # ----------------------------------------------------------------- relay target
    @route("POST", "/hooks", auth=False)
    def receive(self, request):
        headers = dict(request.headers.items())
        if self.relay_secret is not None and not _check_signature(
                request.header("X-Retail-Relay-Signature"), self.relay_secret, request.body):
            raise HttpError(401, "bad_signature", "the relay signature does not verify")
        if self.channel_secret is not None and self.relay_secret is None and not _check_signature(
                request.header("X-Retail-Signature"), self.channel_secret, request.body):
            raise HttpError(401, "bad_signature", "the channel signature does not verify")
        relay_id = request.header("X-Retail-Relay-Id")
        event_key = request.header("X-Retail-Event-Id") or request.header("X-Retail-Event-Key")
        topic = request.header("X-Retail-Topic")
        key = relay_id or event_key
        with self._lock:
            duplicate = bool(key) and key in self._seen
            if key:
                self._seen.add(key)
            self.deliveries.append(Delivery(relay_id, event_key, topic, headers, request.body, duplicate))
            if not duplicate and topic in ("orders/create", "orders/updated", "orders/update"):
                self._apply_order(request.json())
        return {"status": "duplicate" if duplicate else "applied"}

    def _apply_order(self, order):
        lines = []
        for line in order.get("lines") or []:
            lines.append({"sku": line.get("sku"), "quantity": float(Decimal(str(line.get("quantity") or 0)))})
        outcome = {
            "order_id": order.get("external_id"),
            "customer_email": ((order.get("customer") or {}).get("email") or "").lower() or None,
            "currency": order.get("currency"),
            "lines": lines,
            "amount_total": str(order.get("total")) if order.get("total") is not None else None,
        }
        self._outcomes[outcome["order_id"]] = outcome

    # ----------------------------------------------------------------- export of outcomes
    def outcomes(self) -> list[dict]:
        """Return the platform's outcomes, deliberate mismatches applied."""
        with self._lock:
            return [{**outcome, **self._mismatches.get(order_id, {})} for order_id, outcome in self._outcomes.items()]

    @route("GET", "/export/outcomes.json")
    def export_json(self, _request):
        return self.outcomes()

    @route("GET", "/export/outcomes.csv")
    def export_csv(self, _request):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["order_id", "customer_email", "currency", "sku", "quantity", "amount_total"])
        for outcome in self.outcomes():
            for line in outcome["lines"] or [{"sku": "", "quantity": ""}]:
                writer.writerow([outcome["order_id"], outcome["customer_email"] or "", outcome["currency"] or "",
                                 line["sku"], line["quantity"], outcome["amount_total"] or ""])
        return Response(200, out.getvalue(), {"Content-Type": "text/csv; charset=utf-8"})

    def mismatch(self, order_id: str, **changes) -> None:
        """Make the platform's outcome of ``order_id`` differ from what it applied (e.g. ``amount_total="1.00"``)."""
        with self._lock:
            self._mismatches[order_id] = dict(changes)

    # ----------------------------------------------------------------- what the tests read
    def received(self, *, duplicates: bool = True) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if duplicates or not d.duplicate]

    def applied_orders(self) -> list[str]:
        with self._lock:
            return list(self._outcomes)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.deliveries.clear()
            self._seen.clear()
            self._outcomes.clear()
            self._mismatches.clear()
