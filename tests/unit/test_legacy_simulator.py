"""Tests of the legacy platform simulator (the relay target of a migration). Plain pytest: no Odoo."""

import csv
import hashlib
import hmac
import io
import json
import time

import pytest
import requests

from simulators.base import retail_signature
from simulators.legacy import LegacyPlatform

ORDER = {"external_id": "G7", "currency": "USD", "customer": {"email": "Ana@Example.com"},
         "lines": [{"sku": "RC-MUG", "quantity": 2}, {"sku": "RC-CAP", "quantity": 1}], "total": "42.90"}
BODY = json.dumps(ORDER).encode()


@pytest.fixture
def legacy():
    with LegacyPlatform(token="t", channel_secret="chan") as sim:
        yield sim


def _headers(secret="chan", relay_id="1", topic="orders/create"):
    return {"X-Retail-Topic": topic, "X-Retail-Event-Id": "evt-7", "X-Retail-Relay-Id": relay_id,
            "X-Retail-Signature": retail_signature(secret, BODY, int(time.time()))}


def test_a_delivery_is_applied_once_and_a_repeat_acknowledged_as_duplicate(legacy):
    first = requests.post(legacy.url + "/hooks", data=BODY, headers=_headers(), timeout=5)
    again = requests.post(legacy.url + "/hooks", data=BODY, headers=_headers(), timeout=5)
    assert (first.status_code, first.json()["status"]) == (200, "applied")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert [d.duplicate for d in legacy.received()] == [False, True]
    assert legacy.received()[0].body == BODY
    assert legacy.applied_orders() == ["G7"]


def test_a_wrong_channel_signature_is_refused(legacy):
    resp = requests.post(legacy.url + "/hooks", data=BODY, headers=_headers(secret="other"), timeout=5)
    assert resp.status_code == 401
    assert not legacy.received()


def test_a_relay_signature_is_checked_when_the_platform_has_a_relay_secret():
    with LegacyPlatform(relay_secret="relay") as sim:
        stamp = str(int(time.time()))
        good = "t=%s,v1=%s" % (stamp, hmac.new(b"relay", stamp.encode() + b"." + BODY, hashlib.sha256).hexdigest())
        assert requests.post(sim.url + "/hooks", data=BODY, timeout=5, headers={
            "X-Retail-Topic": "orders/create", "X-Retail-Relay-Signature": good}).status_code == 200
        assert requests.post(sim.url + "/hooks", data=BODY, timeout=5, headers={
            "X-Retail-Topic": "orders/create", "X-Retail-Relay-Signature": "t=1,v1=00"}).status_code == 401


def test_the_outcomes_export_with_a_deliberate_mismatch(legacy):
    requests.post(legacy.url + "/hooks", data=BODY, headers=_headers(), timeout=5)
    auth = {"Authorization": "Bearer t"}
    assert requests.get(legacy.url + "/export/outcomes.json", timeout=5).status_code == 401
    [outcome] = requests.get(legacy.url + "/export/outcomes.json", headers=auth, timeout=5).json()
    assert outcome == {"order_id": "G7", "customer_email": "ana@example.com", "currency": "USD",
                       "lines": [{"sku": "RC-MUG", "quantity": 2.0}, {"sku": "RC-CAP", "quantity": 1.0}],
                       "amount_total": "42.90"}
    legacy.mismatch("G7", amount_total="1.00")
    rows = list(csv.DictReader(io.StringIO(
        requests.get(legacy.url + "/export/outcomes.csv", headers=auth, timeout=5).text)))
    assert [(r["order_id"], r["sku"], r["amount_total"]) for r in rows] == [("G7", "RC-MUG", "1.00"),
                                                                            ("G7", "RC-CAP", "1.00")]
