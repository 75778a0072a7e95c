# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The demo database installs as ``./setup demo`` installs it: the four addons with their demo data in one go.

An addon's demo backends are created while the addons after it are still loading; each backend's
default policies must still see the components of its own channel (and of nothing not loaded yet),
and nothing may fail or fall back to installing without demo data.

Then the demo as a retailer meets it: every demo backend live with its policies on, each selling the
merchandise range only (never Odoo's other products, which its channel does not have), the Amazon EU
backend speaking to the simulator ``./setup demo`` starts with its own settings, and a product
renamed and repriced in Odoo on the demo stores moments later, the storefronts' catalogues unbroken.
"""

import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from odoo_client import OdooClient
from resilience.cluster import CACHE, ODOO_SRC, ROOT, OdooNode, drop_database, free_port, query
from simulators.amazon import AmazonSimulator
from simulators.shopify import ShopifySimulator
from simulators.square_pos import SquarePOS
from simulators.woocommerce import WooCommerceSimulator

ADDONS = "retail_connector_base,retail_connector_marketplace,retail_connector_wms,retail_connector_pos"
MERCHANDISE = {"RC-TSHIRT-S", "RC-TSHIRT-M", "RC-TSHIRT-L", "RC-MUG", "RC-CAP", "RC-HOODIE-M", "RC-TOTE"}
# the demo backends (addon, xml id) and the domains each must have on
DEMO_BACKENDS = {
    ("retail_connector_base", "demo_backend_generic"): {"orders", "inventory", "fulfilment"},
    ("retail_connector_marketplace", "demo_backend_shopify"): {"orders", "inventory", "catalog", "pricing",
                                                               "fulfilment"},
    ("retail_connector_marketplace", "demo_backend_woocommerce"): {"orders", "inventory", "catalog", "pricing",
                                                                   "fulfilment"},
    ("retail_connector_marketplace", "demo_backend_stripe"): {"finance"},
    ("retail_connector_marketplace", "demo_backend_amazon"): {"orders", "inventory", "pricing", "fulfilment",
                                                              "finance"},
    ("retail_connector_pos", "demo_backend_square"): {"orders", "inventory", "catalog", "finance"},
    ("retail_connector_wms", "demo_backend_threepl"): {"fulfilment", "inventory"},
    ("retail_connector_wms", "demo_backend_x12"): {"fulfilment", "inventory"},
}


@pytest.fixture(scope="module")
def demo_db():
    """The demo database, installed once for the module as ./setup demo installs it; (name, exit code, problems)."""
    db = "%s_demo" % os.environ.get("RC_ODOO_DB", "rc_demo_install")
    drop_database(db)
    log = ROOT / ".run" / ("%s-install.log" % db)
    log.parent.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(ODOO_SRC / "odoo-bin"), "-c", str(ROOT / "odoo.conf"),
         "--addons-path=%s,%s" % (ROOT / "addons", ODOO_SRC / "addons"), "--data-dir=%s" % (CACHE / "data"),
         "-d", db, "--db-filter=^%s$" % db, "-i", ADDONS, "--with-demo", "--stop-after-init",
         "--workers=0", "--max-cron-threads=0", "--http-port=%d" % free_port(), "--logfile=%s" % log],
        capture_output=True, text=True, timeout=1200, check=False)
    text = log.read_text(errors="replace")
    problems = [line for line in text.splitlines()
                if re.search(r" (ERROR|CRITICAL) ", line) or "demo data failed to install" in line]
    yield db, done.returncode, problems
    drop_database(db)


def _backend_ids(db):
    rows = query(db, "SELECT module, name, res_id FROM ir_model_data WHERE model = 'retail.backend' "
                     "AND name LIKE 'demo_backend_%%'")
    return {(module, name): res_id for module, name, res_id in rows}


def _by_name(ids, name):
    return next(res_id for (_module, xml_id), res_id in ids.items() if xml_id == name)


def test_the_four_addons_install_with_their_demo_data_in_one_go(demo_db):
    db, returncode, problems = demo_db
    assert returncode == 0 and not problems, "install failed (exit %s): %s" % (returncode, problems[:5])
    installed = {name for (name,) in query(db, "SELECT name FROM ir_module_module WHERE state = 'installed' "
                                               "AND name LIKE 'retail_connector_%%'")}
    assert installed == set(ADDONS.split(","))
    # every demo storefront and the POS take their orders: the policies saw their channels' components
    modes = dict(query(db, """
        SELECT b.backend_type, p.mode FROM retail_sync_policy p JOIN retail_backend b ON b.id = p.backend_id
        WHERE p.domain = 'orders' AND b.backend_type IN ('generic', 'shopify', 'woocommerce', 'square')
    """))
    assert set(modes) == {"generic", "shopify", "woocommerce", "square"}, modes
    assert all(mode != "off" for mode in modes.values()), modes


def test_the_demo_backends_are_live_with_their_policies_on_and_sell_the_merchandise(demo_db):
    db, returncode, _problems = demo_db
    assert returncode == 0
    ids = _backend_ids(db)
    assert set(ids) == set(DEMO_BACKENDS), sorted(ids)
    for key, domains in DEMO_BACKENDS.items():
        [(name, state, go_live, active)] = query(
            db, "SELECT name, state, go_live_state, active FROM retail_backend WHERE id = %s", (ids[key],))
        assert (state, go_live, active) == ("ok", "live", True), (name, state, go_live, active)
        on = {domain for domain, mode in query(
            db, "SELECT domain, mode FROM retail_sync_policy WHERE backend_id = %s", (ids[key],)) if mode != "off"}
        assert domains <= on, "%s: %s off" % (name, sorted(domains - on))
    # the shops take a catalogue or price change as it happens, not at tomorrow's batch
    changing = dict(((backend, domain), mode) for backend, domain, mode in query(db, """
        SELECT p.backend_id, p.domain, p.mode FROM retail_sync_policy p WHERE p.domain IN ('catalog', 'pricing')"""))
    for key, domains in ((("retail_connector_marketplace", "demo_backend_shopify"), ("catalog", "pricing")),
                         (("retail_connector_marketplace", "demo_backend_woocommerce"), ("catalog", "pricing")),
                         (("retail_connector_pos", "demo_backend_square"), ("catalog",))):
        for domain in domains:
            assert changing[(ids[key], domain)] == "event", (key, domain, changing[(ids[key], domain)])
    # what each channel sells: the merchandise range its simulator has, never Odoo's own demo products
    sold = {}
    for key in DEMO_BACKENDS:
        scope, = query(db, "SELECT assortment_scope FROM retail_backend WHERE id = %s", (ids[key],))[0]
        sold[key[1]] = scope
    for name in ("demo_backend_shopify", "demo_backend_woocommerce", "demo_backend_amazon", "demo_backend_square"):
        assert sold[name] == "defined", (name, sold[name])
    tagged = {sku for (sku,) in query(db, """
        SELECT p.default_code FROM product_product p
        JOIN product_tag_product_product_rel r ON r.product_product_id = p.id
        JOIN retail_backend_assortment_tag_rel a ON a.tag_id = r.product_tag_id
        WHERE a.backend_id = %s""", (ids[("retail_connector_marketplace", "demo_backend_shopify")],))}
    assert tagged == MERCHANDISE - {"RC-TOTE"}, tagged
    for name in ("demo_backend_woocommerce", "demo_backend_amazon", "demo_backend_square"):
        in_range = {sku for (sku,) in query(db, """
            SELECT p.default_code FROM product_product p JOIN product_template t ON t.id = p.product_tmpl_id
            JOIN retail_backend_assortment_categ_rel a ON a.categ_id = t.categ_id
            WHERE a.backend_id = %s AND p.active""", (_by_name(ids, name),))}
        assert in_range == MERCHANDISE, (name, in_range)
    # the T-shirt is one product in three sizes, as the storefronts list it
    templates = {sku: tmpl for sku, tmpl in query(
        db, "SELECT default_code, product_tmpl_id FROM product_product WHERE default_code LIKE 'RC-TSHIRT-%%'")}
    assert len(templates) == 3 and len(set(templates.values())) == 1, templates
    # the Amazon EU backend has every setting its traffic needs
    amazon = ids[("retail_connector_marketplace", "demo_backend_amazon")]
    [row] = query(db, """
        SELECT endpoint_url, amazon_lwa_token_url, api_key, api_secret, amazon_refresh_token, amazon_marketplace_ids,
               amazon_seller_id, amazon_sqs_queue_url, amazon_aws_region, amazon_aws_access_key_id,
               amazon_aws_secret_access_key, warehouse_id, pricelist_id FROM retail_backend WHERE id = %s""", (amazon,))
    assert all(row), row
    assert row[0] == "http://127.0.0.1:8808" and row[7].startswith("http://127.0.0.1:8809/"), row


def test_a_catalogue_change_reaches_the_demo_stores_and_amazon_answers(demo_db, wait_for):
    """A server on the demo database, the stores' and Amazon's simulators as ./setup demo starts them (on free
    ports): Amazon takes the backend's credentials and its notifications queue is read; the mug renamed and
    repriced on the shops' euro price list is on Shopify and WooCommerce (and renamed on the POS) moments later."""
    db, returncode, _problems = demo_db
    assert returncode == 0
    ids = _backend_ids(db)
    shopify = ShopifySimulator(token="shpat_demo_token").start()
    woo = WooCommerceSimulator(consumer_key="ck_demo_key", consumer_secret="cs_demo_secret").start()
    square = SquarePOS(token="sq_demo_token").start()
    amazon = AmazonSimulator(currency="EUR")
    amazon.start()
    node = OdooNode(db, name="demo", workers=2, cron=0)
    try:
        node.start()
        odoo = OdooClient(node.url, db, "admin", "admin")
        odoo.login()
        odoo.call("retail.backend", "write", [ids[("retail_connector_marketplace", "demo_backend_shopify")]],
                  {"endpoint_url": shopify.url})
        odoo.call("retail.backend", "write", [ids[("retail_connector_marketplace", "demo_backend_woocommerce")]],
                  {"endpoint_url": woo.url})
        odoo.call("retail.backend", "write", [ids[("retail_connector_pos", "demo_backend_square")]],
                  {"endpoint_url": square.url})
        amazon_id = ids[("retail_connector_marketplace", "demo_backend_amazon")]
        queue = odoo.search_read("retail.backend", [("id", "=", amazon_id)], ["amazon_sqs_queue_url"])[0]
        # the same simulator on other ports: only the host part of the addresses changes
        odoo.call("retail.backend", "write", [amazon_id], {
            "endpoint_url": amazon.url, "amazon_lwa_token_url": amazon.token_url,
            "amazon_sqs_queue_url": queue["amazon_sqs_queue_url"].replace("http://127.0.0.1:8809", amazon.sqs_endpoint)})
        answer = odoo.call("retail.backend", "action_test_connection", [amazon_id])
        assert answer["params"]["type"] == "success", answer["params"]["message"]
        amazon.add_order(items=(("RC-MUG", 1, "9.50"),), shipping="3.90")
        read = odoo.call("retail.backend", "action_amazon_read_notifications", [amazon_id])
        assert "1 new order" in read["params"]["message"], read["params"]["message"]

        [mug] = odoo.search_read("product.product", [("default_code", "=", "RC-MUG")], ["product_tmpl_id"])
        [rule] = odoo.search_read("product.pricelist.item", [("product_id", "=", mug["id"])], ["pricelist_id"])
        odoo.call("product.template", "write", [mug["product_tmpl_id"][0]], {"name": "Retail Connector travel mug"})
        odoo.call("product.pricelist.item", "write", [rule["id"]], {"fixed_price": 10.5})

        def shopify_mug():
            variant = shopify.variant("RC-MUG")
            return shopify.products[variant["product_id"]]["title"], variant["price"]

        wait_for(lambda: shopify_mug() == ("Retail Connector travel mug", "10.50"), timeout=90,
                 what="the mug renamed and repriced on Shopify (now %s)" % (shopify_mug(),))
        wait_for(lambda: (woo.product("RC-MUG")["name"], woo.product("RC-MUG")["regular_price"])
                 == ("Retail Connector travel mug", "10.50"), timeout=60, what="the mug renamed and repriced on WooCommerce")
        wait_for(lambda: square.catalog_item("RC-MUG")["name"] == "Retail Connector travel mug", timeout=60,
                 what="the mug renamed on the POS")
        # publishing the mug touched nothing else: the T-shirt is still one product in three sizes on both shops
        tshirts = {shopify.variant(sku)["product_id"] for sku in ("RC-TSHIRT-S", "RC-TSHIRT-M", "RC-TSHIRT-L")}
        assert len(tshirts) == 1
        assert woo.product("RC-TSHIRT")["type"] == "variable"
        assert Decimal(square.catalog_item("RC-MUG")["price"]) > 0
        failed = query(db, "SELECT domain, last_error FROM retail_export_request WHERE state = 'failed'")
        assert not failed, failed
    finally:
        node.stop()
        for sim in (shopify, woo, square, amazon):
            sim.stop()
