"""Benchmark: onboarding of an existing shop's catalogue through the running server.

A simulated shop holds ``variants`` variants (``per_product`` sizes of each product, one in ten of
them already in Odoo under the same SKU); a backend of that shop reads the whole catalogue with
the catalogue onboarding: a dry run, then the import, page after page through the job runner,
each page matched, bound, created and committed. Figures: wall time from the button to the last
page committed, variants per second, pages, what was matched and created.

The Shopify shop answers with Shopify's cost limit (``cost_limit``: the standard plan's bucket of
1 000 points restored at 100 a second by default), so the time includes the waits a real shop
imposes; WooCommerce and the generic channel have no such limit.

    python tests/bench/onboarding.py --url http://127.0.0.1:8069 --db DB [--variants 5000] [--channel shopify]

``bench_onboarding(url, db, ...)`` returns the figures as a dict, for the main bench's table.
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odoo_client import OdooClient  # noqa: E402
from simulators.generic import GenericChannel  # noqa: E402
from simulators.shopify import ShopifySimulator  # noqa: E402
from simulators.woocommerce import WooCommerceSimulator  # noqa: E402

SHOPIFY_STANDARD = (1000, 100)  # points, restored per second: Shopify's standard plans
SIZES = ("XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL")


def _shop(channel, tag, variants, per_product, cost_limit):
    """Return (simulator, backend values, SKUs) of a shop selling ``variants`` variants."""
    products = -(-variants // per_product)
    skus = []
    if channel == "shopify":
        sim = ShopifySimulator(token="shpat_bench_onb", catalogue=(), cost_limit=cost_limit).start()
        for index in range(products):
            for size in SIZES[:per_product]:
                if len(skus) == variants:
                    break
                sku = "ONB-%s-%05d-%s" % (tag, index, size)
                sim.add_variant(sku, "19.90", product_title="Bench tee %s %05d" % (tag, index),
                                barcode="2%06d%05d%s" % (index, len(skus) % 10**5, SIZES.index(size)),
                                options={"Size": size})
                skus.append(sku)
        return sim, {"endpoint_url": sim.url, "api_secret": "shpat_bench_onb"}, skus
    if channel == "woocommerce":
        sim = WooCommerceSimulator(consumer_key="ck_bench_onb", consumer_secret="cs_bench_onb", catalogue=()).start()
        for index in range(products):
            sizes = SIZES[:min(per_product, variants - len(skus))]
            specs = [{"sku": "ONB-%s-%05d-%s" % (tag, index, size), "option": size} for size in sizes]
            sim.add_product("ONB-%s-%05d" % (tag, index), "19.90", name="Bench tee %s %05d" % (tag, index),
                            variations=specs, notify=False)
            skus += [s["sku"] for s in specs]
        return sim, {"endpoint_url": sim.url, "api_key": "ck_bench_onb", "api_secret": "cs_bench_onb"}, skus
    sim = GenericChannel(token="bench-onb", catalogue=()).start()
    for index in range(products):
        for size in SIZES[:per_product]:
            if len(skus) == variants:
                break
            sku = "ONB-%s-%05d-%s" % (tag, index, size)
            sim.add_product(sku, "Bench tee %s %05d" % (tag, index), parent_sku="ONB-%s-%05d" % (tag, index),
                            options=[{"name": "Size", "value": size}], price="19.90")
            skus.append(sku)
    return sim, {"endpoint_url": sim.url, "api_secret": "bench-onb"}, skus


def _wait_done(odoo, onboarding_id, timeout, say):
    fields = ["state", "pages_done", "variants_read", "matched_count", "create_count", "conflict_count", "message"]
    started, last = time.monotonic(), None
    while time.monotonic() - started < timeout:
        row = odoo.search_read("retail.catalog.onboarding", [("id", "=", onboarding_id)], fields)[0]
        if row["state"] != "running":
            return row, time.monotonic() - started
        if row["pages_done"] != last and row["pages_done"] % 50 == 0:
            say("  ... %d pages, %d variants, %.0f s" % (row["pages_done"], row["variants_read"],
                                                         time.monotonic() - started))
        last = row["pages_done"]
        time.sleep(0.5)
    raise TimeoutError("the onboarding did not end within %d s" % timeout)


def bench_onboarding(url, db, *, login="admin", password="admin", variants=5000, per_product=5,
                     channel="shopify", cost_limit=SHOPIFY_STANDARD, page_size=0, phases=("dry_run", "import"),
                     timeout=1800, say=print):
    """Return the figures of a dry run and an import of a ``variants``-variant catalogue through the server at
    ``url`` (its job runner on)."""
    odoo = OdooClient(url, db, login, password, timeout=120)
    odoo.login()
    tag = uuid.uuid4().hex[:6].upper()
    say("onboarding: building a %s shop of %d variants" % (channel, variants))
    sim, values, skus = _shop(channel, tag, variants, per_product, cost_limit)
    try:
        # one in ten variants is already in Odoo under its SKU: matched, not created
        known = skus[::10]
        for start in range(0, len(known), 500):
            odoo.call("product.product", "create", [{"name": sku, "default_code": sku, "type": "consu"}
                                                    for sku in known[start:start + 500]])
        warehouse = odoo.search_read("stock.warehouse", [], ["id"], limit=1)[0]
        backend_id = odoo.call("retail.backend", "create", dict(
            name="Bench onboarding %s %s" % (channel, tag), backend_type=channel, warehouse_id=warehouse["id"],
            inbound_rate_limit=0, rate_limit_rps=1000, rate_limit_burst=1000, **values))
        policies = odoo.search_read("retail.sync.policy", [("backend_id", "=", backend_id)], ["id", "domain"])
        odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] != "catalog"],
                  {"mode": "off"})
        odoo.call("retail.sync.policy", "write", [p["id"] for p in policies if p["domain"] == "catalog"],
                  {"direction": "both", "system_of_record": "channel"})
        onboarding_id = odoo.call("retail.catalog.onboarding", "create",
                                  {"backend_id": backend_id, "page_size": page_size})
        figures = {"channel": channel, "variants": variants, "products": -(-variants // per_product),
                   "cost_limit": list(cost_limit) if channel == "shopify" else None}
        for phase, method in (("dry_run", "action_dry_run"), ("import", "action_import")):
            if phase not in phases:
                continue
            say("onboarding: %s" % phase.replace("_", " "))
            odoo.call("retail.catalog.onboarding", method, [onboarding_id])
            row, seconds = _wait_done(odoo, onboarding_id, timeout, say)
            figures[phase] = {
                "state": row["state"], "seconds": round(seconds, 1), "pages": row["pages_done"],
                "variants_read": row["variants_read"],
                "variants_per_second": round(row["variants_read"] / seconds, 1) if seconds else None,
                "matched": row["matched_count"], "created": row["create_count"], "to_review": row["conflict_count"],
            }
            say("onboarding: %s %s in %.1f s (%s)" % (phase, row["state"], seconds, row["message"]))
        bound = odoo.call("retail.product.binding", "search_count", [("backend_id", "=", backend_id)])
        figures["bound"] = bound
        odoo.call("retail.backend", "write", [backend_id], {"active": False})
        return figures
    finally:
        sim.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--variants", type=int, default=5000)
    parser.add_argument("--per-product", type=int, default=5)
    parser.add_argument("--channel", choices=("shopify", "woocommerce", "generic"), default="shopify")
    parser.add_argument("--phases", default="dry_run,import", help="dry_run, import or both")
    parser.add_argument("--cost-limit", default="%d,%d" % SHOPIFY_STANDARD,
                        help="Shopify's bucket: points,restored per second")
    ns = parser.parse_args(argv)
    figures = bench_onboarding(ns.url, ns.db, login=ns.login, password=ns.password, variants=ns.variants,
                               per_product=ns.per_product, channel=ns.channel,
                               cost_limit=tuple(float(x) for x in ns.cost_limit.split(",")),
                               phases=tuple(ns.phases.split(",")))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
