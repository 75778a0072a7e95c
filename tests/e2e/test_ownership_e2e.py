"""System of record against the running server: a channel's change of an Odoo-owned price is a conflict and is
put back on the channel over real HTTP; an Odoo edit of a channel-owned price is refused, and the refusal kept."""

import uuid

import pytest

from odoo_client import OdooRPCError
from simulators.generic import GenericChannel

pytestmark = pytest.mark.e2e

CONFLICT_FIELDS = ["field_name", "odoo_value", "channel_value", "owner", "action", "state", "run_id", "res_id"]


@pytest.fixture
def currency(odoo):
    company = odoo.search_read("res.company", [], ["currency_id"], limit=1)[0]
    return company["currency_id"][1]


@pytest.fixture
def channel(currency):
    with GenericChannel(token="e2e-own-token", currency=currency) as sim:
        yield sim


@pytest.fixture
def shop(odoo, channel, main_warehouse, channel_backend):
    with channel_backend("E2E ownership", backend_type="generic", endpoint_url=channel.url,
                         api_secret="e2e-own-token", warehouse_id=main_warehouse["id"]) as backend_id:
        yield _owned_product(odoo, backend_id)


def _owned_product(odoo, backend_id):
    """Return the shop's test data: a product the backend sells, its pricing policy sending prices by event."""
    pricing = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id), ("domain", "=", "pricing")],
                               ["id", "system_of_record"])[0]
    # prices are sent after the debounce, not at the next scheduled batch
    odoo.call("retail.sync.policy", "write", [pricing["id"]], {"mode": "event"})
    sku = "E2E-OWN-%s" % uuid.uuid4().hex[:6]
    product_id = odoo.call("product.product", "create", {"name": "Owned " + sku, "default_code": sku, "type": "consu",
                                                          "list_price": 10, "taxes_id": [(5, 0, 0)]})
    return {"id": backend_id, "pricing": pricing, "sku": sku, "product_id": product_id}


def _conflicts(odoo, backend_id, **domain):
    return odoo.search_read("retail.conflict", [("backend_id", "=", backend_id)] + [(k, "=", v) for k, v in domain.items()],
                            CONFLICT_FIELDS)


def test_a_price_changed_on_the_channel_is_a_conflict_and_the_channel_gets_odoo_price_back(
        odoo, channel, shop, currency, wait_for):
    assert shop["pricing"]["system_of_record"] == "odoo"
    sku = shop["sku"]
    channel.set_price(sku, "10.00", currency)
    channel.set_price(sku, "99.00", currency)  # changed on the channel, which does not own prices

    odoo.call("retail.backend", "action_reconcile_now", [shop["id"]])

    [conflict] = _conflicts(odoo, shop["id"])
    assert conflict["res_id"] == shop["product_id"]
    assert (conflict["field_name"], conflict["odoo_value"], conflict["channel_value"], conflict["owner"],
            conflict["action"]) == ("list_price", "10.00 %s" % currency, "99.00 %s" % currency, "odoo",
                                    "reverted_channel")
    run = odoo.search_read("retail.reconciliation.run", [("id", "=", conflict["run_id"][0])],
                           ["domain", "repaired"])[0]
    assert (run["domain"], run["repaired"]) == ("pricing", 1)
    # the repair goes through the export queue and the job runner, over HTTP to the channel
    wait_for(lambda: channel.price_of(sku)["price"] == "10.00", timeout=60, what="Odoo's price back on the channel")
    assert odoo.search_read("product.product", [("id", "=", shop["product_id"])], ["list_price"])[0]["list_price"] == 10


def test_an_odoo_edit_of_a_channel_owned_price_is_refused_and_the_refusal_recorded(odoo, shop):
    odoo.call("retail.sync.policy", "write", [shop["pricing"]["id"]], {"system_of_record": "channel"})
    odoo.call("retail.product.binding", "create",
              {"backend_id": shop["id"], "odoo_id": shop["product_id"], "external_id": shop["sku"]})
    backend = odoo.search_read("retail.backend", [("id", "=", shop["id"])], ["name"])[0]

    with pytest.raises(OdooRPCError) as refused:
        odoo.call("product.product", "write", [shop["product_id"]], {"list_price": 50})

    assert refused.value.name == "odoo.exceptions.UserError"
    assert "is owned by %s (Pricing policy)" % backend["name"] in str(refused.value)
    assert odoo.search_read("product.product", [("id", "=", shop["product_id"])], ["list_price"])[0]["list_price"] == 10
    # recorded apart from the refused transaction
    [conflict] = _conflicts(odoo, shop["id"], action="refused_edit")
    assert (conflict["res_id"], conflict["owner"], conflict["state"]) == (shop["product_id"], "channel", "resolved")
    assert conflict["odoo_value"] == "50"
