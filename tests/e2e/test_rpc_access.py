"""A portal user logged in to Odoo reaches none of the connector's methods over JSON-RPC."""

import uuid

import pytest
from odoo_client import OdooClient, OdooRPCError


@pytest.fixture
def api_key(odoo):
    backend_id = odoo.call("retail.backend", "create", {"name": "E2E RPC access %s" % uuid.uuid4().hex[:6],
                                                        "backend_type": "generic"})
    key_id = odoo.call("retail.api.key", "create", {"name": "E2E partner", "backend_id": backend_id})
    odoo.call("retail.api.key", "action_generate", [key_id])
    yield key_id
    odoo.call("retail.backend", "write", [backend_id], {"active": False})


@pytest.fixture
def portal(odoo_url, odoo):
    login = "e2e-portal-%s" % uuid.uuid4().hex[:8]
    group = odoo.search_read("ir.model.data", [("module", "=", "base"), ("name", "=", "group_portal")], ["res_id"])
    odoo.call("res.users", "create", {"name": login, "login": login, "password": login + "-pw",
                                      "group_ids": [(6, 0, [group[0]["res_id"]])]})
    client = OdooClient(odoo_url, odoo.db, login, login + "-pw")
    client.login()
    return client


def _key(odoo, key_id):
    return odoo.call("retail.api.key", "read", [key_id], ["key_prefix", "key_hash"])[0]


def test_a_portal_user_cannot_replace_a_partner_api_key(odoo, portal, api_key):
    before = _key(odoo, api_key)
    assert before["key_hash"]
    with pytest.raises(OdooRPCError) as refused:
        portal.call("retail.api.key", "action_generate", [api_key])
    assert refused.value.name == "odoo.exceptions.AccessError", refused.value.data
    with pytest.raises(OdooRPCError) as private:
        portal.call("retail.api.key", "_generate_secret", [api_key])
    assert private.value.name == "odoo.exceptions.AccessError"
    assert _key(odoo, api_key) == before, "the partner's key still works"


@pytest.mark.parametrize(("model", "method", "args"), [
    ("retail.backend", "policy_for", [[], "orders"]),
    ("retail.rate.bucket", "drain", ["outbound:1", 3600, 1]),
    ("retail.rate.bucket", "take", ["outbound:1", 1, 1]),
    ("retail.event", "requeue_dead", []),
])
def test_a_portal_user_cannot_call_the_pipeline_helpers(portal, model, method, args):
    with pytest.raises(OdooRPCError) as refused:
        portal.call(model, method, *args)
    assert refused.value.name in ("odoo.exceptions.AccessError", "builtins.AttributeError"), refused.value.data
