"""Catalogue onboarding and catalogue reconciliation against the running server, for Shopify, WooCommerce and
the generic channel: a dry run first, an import paused by a person and resumed where it stopped, a
conflict left for review, and differences repaired by the catalogue's system of record both ways."""

import uuid

import pytest

from simulators.generic import GenericChannel
from simulators.shopify import ShopifySimulator
from simulators.woocommerce import WooCommerceSimulator

pytestmark = pytest.mark.e2e


class _Shop:
    """A channel's shop with an existing catalogue: two products Odoo has (one of them with another barcode),
    three new simple products and a new product in two sizes."""

    read_path = None

    def __init__(self, tag):
        self.tag = tag
        self.sku = lambda name: "OB-%s-%s" % (tag, name)  # noqa: E731
        self.barcode = lambda n: "77%06d%05d" % (int(tag, 16) % 10**6, n)  # noqa: E731

    def stop(self):
        self.sim.stop()

    @property
    def skus(self):
        return [self.sku(n) for n in ("MUG", "CAP", "NEW-0", "NEW-1", "NEW-2", "TEE-S", "TEE-M")]


class Shopify(_Shop):
    backend_type = "shopify"
    read_path = "/admin/api/"

    def start(self):
        self.sim = ShopifySimulator(token="shpat_ob", currency="USD", catalogue=()).start()
        self.sim.add_variant(self.sku("MUG"), "9.50", product_title="Mug %s" % self.tag, barcode=self.barcode(1))
        self.sim.add_variant(self.sku("CAP"), "14.00", product_title="Cap %s" % self.tag, barcode=self.barcode(9))
        for index in range(3):
            self.sim.add_variant(self.sku("NEW-%d" % index), "5.00", product_title="New %d %s" % (index, self.tag))
        for size in ("S", "M"):
            self.sim.add_variant(self.sku("TEE-" + size), "19.90", product_title="Tee %s" % self.tag,
                                 options={"Size": size})

    def values(self):
        return {"endpoint_url": self.sim.url, "api_secret": "shpat_ob", "webhook_secret": "shp-ob"}

    def rename(self, sku, name):
        self.sim.edit_variant(sku, product_title=name)

    def name_of(self, sku):
        variant = self.sim.variants[self.sim.variant(sku)["id"]]
        return self.sim.products[variant["product_id"]]["title"]

    def barcode_of(self, sku):
        return self.sim.variants[self.sim.variant(sku)["id"]]["barcode"]


class WooCommerce(_Shop):
    backend_type = "woocommerce"
    read_path = "/wp-json/wc/v3/products"

    def start(self):
        self.sim = WooCommerceSimulator(consumer_key="ck_ob", consumer_secret="cs_ob", currency="USD",
                                        catalogue=()).start()
        self.sim.add_product(self.sku("MUG"), "9.50", name="Mug %s" % self.tag, global_unique_id=self.barcode(1),
                             notify=False)
        self.sim.add_product(self.sku("CAP"), "14.00", name="Cap %s" % self.tag, global_unique_id=self.barcode(9),
                             notify=False)
        for index in range(3):
            self.sim.add_product(self.sku("NEW-%d" % index), "5.00", name="New %d %s" % (index, self.tag),
                                 notify=False)
        self.sim.add_product(self.sku("TEE"), "19.90", name="Tee %s" % self.tag, attribute="Size", notify=False,
                             variations=[{"sku": self.sku("TEE-S"), "option": "S"},
                                         {"sku": self.sku("TEE-M"), "option": "M"}])

    def values(self):
        return {"endpoint_url": self.sim.url, "api_key": "ck_ob", "api_secret": "cs_ob", "webhook_secret": "wc-ob"}

    def rename(self, sku, name):
        self.sim.edit_product(sku, name=name)

    def name_of(self, sku):
        return self.sim.product(sku)["name"]

    def barcode_of(self, sku):
        return self.sim.product(sku)["global_unique_id"]


class Generic(_Shop):
    backend_type = "generic"
    read_path = "/api/v1/products"

    def start(self):
        self.sim = GenericChannel(token="ob-token", currency="USD", catalogue=()).start()
        self.sim.add_product(self.sku("MUG"), "Mug %s" % self.tag, barcode=self.barcode(1), price="9.50")
        self.sim.add_product(self.sku("CAP"), "Cap %s" % self.tag, barcode=self.barcode(9), price="14.00")
        for index in range(3):
            self.sim.add_product(self.sku("NEW-%d" % index), "New %d %s" % (index, self.tag), price="5.00")
        for size in ("S", "M"):
            self.sim.add_product(self.sku("TEE-" + size), "Tee %s" % self.tag, parent_sku=self.sku("TEE"),
                                 options=[{"name": "Size", "value": size}], price="19.90")

    def values(self):
        return {"endpoint_url": self.sim.url, "api_secret": "ob-token"}

    def rename(self, sku, name):
        self.sim.edit_product(sku, name=name)

    def name_of(self, sku):
        return self.sim.product(sku)["name"]

    def barcode_of(self, sku):
        return self.sim.product(sku).get("barcode")


@pytest.fixture(params=[Shopify, WooCommerce, Generic], ids=["shopify", "woocommerce", "generic"])
def shop(request, odoo):
    shop = request.param(uuid.uuid4().hex[:6])
    shop.start()
    odoo.call("product.product", "create", [
        {"name": "Mug %s" % shop.tag, "default_code": shop.sku("MUG"), "barcode": shop.barcode(1), "type": "consu"},
        {"name": "Cap %s" % shop.tag, "default_code": shop.sku("CAP"), "barcode": shop.barcode(2), "type": "consu"}])
    warehouse = odoo.search_read("stock.warehouse", [], ["id"], limit=1)[0]
    shop.backend_id = odoo.call("retail.backend", "create", dict(
        name="E2E onboarding %s %s" % (shop.backend_type, shop.tag), backend_type=shop.backend_type,
        warehouse_id=warehouse["id"], inbound_rate_limit=0, rate_limit_rps=100, rate_limit_burst=100,
        **shop.values()))
    policies = odoo.search_read("retail.sync.policy", [("backend_id", "=", shop.backend_id)], ["id", "domain"])
    # only the catalogue: the other domains would read and send what this test does not look at
    odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] != "catalog"], {"mode": "off"})
    shop.catalog_policy = next(p["id"] for p in policies if p["domain"] == "catalog")
    odoo.call("retail.sync.policy", "write", [shop.catalog_policy],
              {"mode": "event", "direction": "both", "system_of_record": "odoo"})
    yield shop
    odoo.call("retail.backend", "write", [shop.backend_id], {"active": False})
    shop.stop()


def _onboarding(odoo, onboarding_id):
    return odoo.search_read("retail.catalog.onboarding", [("id", "=", onboarding_id)], [
        "state", "pages_done", "variants_read", "matched_count", "create_count", "conflict_count", "message",
        "progress_id"])[0]


def _products(odoo, shop):
    return odoo.search_read("product.product", [("default_code", "in", shop.skus)],
                            ["default_code", "product_tmpl_id", "name"], context={"active_test": False})


def _bindings(odoo, shop):
    return odoo.search_read("retail.product.binding", [("backend_id", "=", shop.backend_id)],
                            ["external_id", "odoo_id", "default_code"])


def test_onboarding_dry_run_then_paused_and_resumed_import(shop, odoo, wait_for):
    onboarding_id = odoo.call("retail.catalog.onboarding", "create", {"backend_id": shop.backend_id,
                                                                      "page_size": 1})
    odoo.call("retail.catalog.onboarding", "action_dry_run", [onboarding_id])
    done = wait_for(lambda: (lambda o: o if o["state"] == "done" else None)(_onboarding(odoo, onboarding_id)),
                    timeout=90, what="the dry run")
    assert done["variants_read"] == 7
    assert (done["matched_count"], done["create_count"], done["conflict_count"]) == (1, 5, 1), done["message"]
    assert len(_products(odoo, shop)) == 2, "a dry run creates no product"
    assert not _bindings(odoo, shop), "nor any binding"
    progress = odoo.search_read("retail.progress", [("id", "=", done["progress_id"][0])], ["state", "done", "kind"])
    assert progress[0] == dict(progress[0], state="done", done=7, kind="import")

    # the import, slowed by the shop, is paused by a person after its first page and resumed later
    shop.sim.inject("*", shop.read_path, delay=1.0, times=None)
    odoo.call("retail.catalog.onboarding", "action_import", [onboarding_id])
    wait_for(lambda: _onboarding(odoo, onboarding_id)["pages_done"] >= 1, timeout=60, what="the first page")
    odoo.call("retail.catalog.onboarding", "action_pause", [onboarding_id])
    paused = wait_for(lambda: (lambda o: o if o["state"] == "paused" else None)(_onboarding(odoo, onboarding_id)),
                      timeout=60, what="the pause")
    assert 1 <= paused["pages_done"] and paused["variants_read"] < 7
    kept = _bindings(odoo, shop)
    assert kept, "what the pages read did is kept"
    shop.sim.clear_faults()
    odoo.call("retail.catalog.onboarding", "action_resume", [onboarding_id])
    done = wait_for(lambda: (lambda o: o if o["state"] == "done" else None)(_onboarding(odoo, onboarding_id)),
                    timeout=90, what="the import resumed")
    assert done["variants_read"] == 7, "the rest read once, from where it stopped"
    bindings = _bindings(odoo, shop)
    assert len(bindings) == 6 and len({b["external_id"] for b in bindings}) == 6
    assert {b["external_id"] for b in kept} <= {b["external_id"] for b in bindings}
    products = {p["default_code"]: p for p in _products(odoo, shop)}
    assert set(products) == set(shop.skus), "each missing product created once"
    assert products[shop.sku("TEE-S")]["product_tmpl_id"] == products[shop.sku("TEE-M")]["product_tmpl_id"]
    assert shop.sku("CAP") not in {b["default_code"] for b in bindings}
    conflicts = odoo.search_read("retail.catalog.onboarding.line", [("onboarding_id", "=", onboarding_id),
                                                                    ("action", "=", "conflict")], ["sku", "message"])
    assert [c["sku"] for c in conflicts] == [shop.sku("CAP")]
    assert "different barcode" in conflicts[0]["message"]


def test_catalogue_reconciliation_repairs_by_the_system_of_record(shop, odoo, wait_for):
    onboarding_id = odoo.call("retail.catalog.onboarding", "create", {"backend_id": shop.backend_id})
    odoo.call("retail.catalog.onboarding", "action_import", [onboarding_id])
    wait_for(lambda: _onboarding(odoo, onboarding_id)["state"] == "done", timeout=90, what="the import")
    mug = odoo.search_read("product.product", [("default_code", "=", shop.sku("MUG"))], ["id", "name"])[0]

    # Odoo owns the catalogue: the shop's rename is put back, and so is the barcode the onboarding left for review
    shop.rename(shop.sku("MUG"), "Renamed on the shop")
    odoo.call("retail.backend", "action_reconcile_catalog", [shop.backend_id])
    run = odoo.search_read("retail.reconciliation.run", [("backend_id", "=", shop.backend_id),
                                                         ("domain", "=", "catalog")], ["id", "state"], limit=1)[0]
    assert run["state"] == "done"
    lines = odoo.search_read("retail.reconciliation.line", [("run_id", "=", run["id"])],
                             ["kind", "key", "action", "odoo_value", "channel_value"])
    drift = [line for line in lines if line["kind"] == "catalog_drift"]
    assert sorted((d["key"].split(":")[0], d["action"], d["channel_value"]) for d in drift) == [
        (shop.sku("CAP"), "repaired", shop.barcode(9)), (shop.sku("MUG"), "repaired", "Renamed on the shop")]
    assert wait_for(lambda: shop.name_of(shop.sku("MUG")) == mug["name"], timeout=60, what="the name put back")
    assert wait_for(lambda: shop.barcode_of(shop.sku("CAP")) == shop.barcode(2), timeout=60,
                    what="Odoo's barcode on the shop")

    # nothing differs: the run is all that is written
    odoo.call("retail.backend", "action_reconcile_catalog", [shop.backend_id])
    quiet = odoo.search_read("retail.reconciliation.run", [("backend_id", "=", shop.backend_id),
                                                           ("domain", "=", "catalog")], ["id", "difference_count"],
                             limit=1)[0]
    assert quiet["id"] != run["id"] and quiet["difference_count"] == 0
    assert not odoo.search_read("retail.reconciliation.line", [("run_id", "=", quiet["id"])], ["id"])

    # the channel owns it: Odoo takes the shop's name
    odoo.call("retail.sync.policy", "write", [shop.catalog_policy], {"system_of_record": "channel"})
    shop.rename(shop.sku("MUG"), "Named by the shop %s" % shop.tag)
    odoo.call("retail.backend", "action_reconcile_catalog", [shop.backend_id])
    assert odoo.search_read("product.product", [("id", "=", mug["id"])], ["name"])[0]["name"] == \
        "Named by the shop %s" % shop.tag
