"""Work the benchmarks run inside an Odoo process, on one database, through the ORM.

    python orm_tasks.py --db DB --conf odoo.conf --addons-path PATHS --data-dir DIR TASK ARGS.json

ARGS.json holds the task's arguments; the task's result is printed as JSON on the last line of
standard output. Each task commits like a job would (per order, per move), so that the server's
job runner and the channel simulators see the same thing as in production.
"""

import argparse
import json
import random
import resource
import sys
import time
import tracemalloc
from datetime import datetime

import odoo
import odoo.sql_db
from odoo import SUPERUSER_ID, api
from odoo.tools import config
from psycopg2 import errors

MAX_TRIES = 10
CONCURRENCY_ERRORS = (errors.SerializationFailure, errors.LockNotAvailable, errors.DeadlockDetected)


def _env(cr):
    return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def _component(backend, usage):
    """Return the backend's component of ``usage`` (availability, pricing)."""
    with backend.work_on("retail.backend") as work:
        return work.component(usage=usage)


def _products(env, skus, price=10.0, company=None):
    """Return {sku: product}, creating storable untaxed products for the SKUs missing."""
    Product = env["product.product"]
    found = {p.default_code: p for p in Product.search([("default_code", "in", list(skus))])}
    for sku in skus:
        if sku not in found:
            found[sku] = Product.create({"name": sku, "default_code": sku, "type": "consu", "is_storable": True,
                                         "list_price": price, "taxes_id": [(5, 0, 0)],
                                         "company_id": company and company.id})
    return found


# --------------------------------------------------------------------------- set-up

def task_setup_ours(env, args):
    """Products, and one Shopify backend per role (ingest, orders, inventory) plus a generic one."""
    _products(env, args["skus"])
    Backend = env["retail.backend"]
    earlier = Backend.with_context(active_test=False).search([("name", "=like", "Bench %")])
    earlier.policy_ids.cron_id.write({"active": False})
    earlier.write({"active": False})
    warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
    ids = {}
    for role, values in args["backends"].items():
        # an inbound limit far above the load: the acknowledgement pays for its rate check, as in production
        backend = Backend.create(dict(values, name="Bench %s %s" % (role, args["run"]), warehouse_id=warehouse.id,
                                      inbound_rate_limit=10000, inbound_rate_burst=20000,
                                      rate_limit_rps=1000, rate_limit_burst=1000))
        if not role.startswith("inventory"):
            # stock and prices go to the channel only from the inventory backend: one sender per benchmark
            backend.policy_ids.filtered(lambda p: p.domain in ("inventory", "pricing", "catalog")).write({"mode": "off"})
        # no scheduled batch or reconciliation: they would read the shop's orders during the measures
        backend.policy_ids.cron_id.write({"active": False})
        ids[role] = backend.id
    env.cr.commit()
    return {"backends": ids, "currency": env.company.currency_id.name}


def task_setup_oca(env, args):
    """OCA's Shopify instances (ingest, orders) with the guest partner and variant bindings."""
    products = _products(env, args["skus"], company=env.company)
    Instance = env["shopify.instance"].with_context(active_test=False)
    # an earlier run's instances give up their shop domain (their module forbids changing it: SQL)
    env.cr.execute("UPDATE shopify_instance SET active = false, shop_url = 'retired-' || id || '.bench.example' "
                   "WHERE name LIKE 'Bench %%' AND shop_url NOT LIKE 'retired-%%'")
    Instance.invalidate_model()
    guest = env["res.partner"].search([("name", "=", "Shopify bench guest")], limit=1) or env["res.partner"].create(
        {"name": "Shopify bench guest", "company_id": env.company.id})
    ids = {}
    for role, values in args["instances"].items():
        instance = Instance.create(dict(values, name="Bench %s %s" % (role, args["run"]), guest_partner_id=guest.id))
        for sku, variant_id in args["variants"].items():
            _bind_oca_variant(env, instance, products[sku], variant_id, args["product_ids"][sku])
        ids[role] = instance.id
    env.cr.commit()
    return {"instances": ids, "currency": env.company.currency_id.name}


def _bind_oca_variant(env, instance, product, variant_id, shopify_product_id):
    template = env["shopify.product.template"].create({
        "instance_id": instance.id, "shopify_id": "gid://shopify/Product/%s" % shopify_product_id,
        "odoo_id": product.product_tmpl_id.id,
    })
    env["shopify.product.variant"].create({
        "instance_id": instance.id, "shopify_id": "gid://shopify/ProductVariant/%s" % variant_id,
        "odoo_id": product.id, "template_binding_id": template.id,
    })


# --------------------------------------------------------------------------- benchmark 2 baseline

def task_raw_orders(env, args):
    """Create and confirm sale orders with the ORM alone, one transaction per order."""
    products = _products(env, {line["sku"] for order in args["orders"] for line in order})
    partner = env["res.partner"].search([("name", "=", "Raw ORM bench customer")], limit=1) or env["res.partner"].create(
        {"name": "Raw ORM bench customer"})
    env.cr.commit()
    start, queries = time.time(), odoo.sql_db.sql_counter
    for lines in args["orders"]:
        order = env["sale.order"].create({
            "partner_id": partner.id,
            "order_line": [(0, 0, {"product_id": products[line["sku"]].id, "product_uom_qty": line["quantity"],
                                   "price_unit": float(line["price"]), "tax_ids": [(5, 0, 0)]}) for line in lines],
        })
        order.action_confirm()
        env.cr.commit()
    return {"start": start, "end": time.time(), "count": len(args["orders"]), "queries": odoo.sql_db.sql_counter - queries}


# --------------------------------------------------------------------------- benchmark 3

def task_moves(env, args):
    """Validate receipts of one unit, one move per transaction; with ``naive``, call the channel per move.

    The naive listener stands for a connector without coalescing: right after each move it
    sends the product's available quantity to the channel in one ``inventorySetQuantities``
    call (variant ids resolved once beforehand, in its favour). With ``rate``, move ``i`` of
    ``sequence`` starts at ``start_at + i / rate`` (a fixed offered rate, as moves arrive in a
    warehouse), and this process takes the moves ``offset``, ``offset + step``...: several
    processes share one paced sequence. Returns per move its SKU, the time its transaction
    committed, and the product's level after it (moves of one SKU done by this process only
    when ``step`` is 1; the driver recomputes levels over all processes).
    """
    backend_ids = args.get("backend_ids") or [args["backend_id"]]
    backends = env["retail.backend"].browse(backend_ids)
    backend = backends[0]
    if args.get("set_mode", True):
        for b in backends:
            policy = b.policy_for("inventory")
            mode = policy.mode if policy.mode != "off" else "event"  # the channel's default, after an interrupted run
            policy.write({"mode": "off" if args["naive"] else mode})
            b.policy_ids.cron_id.write({"active": False})  # writing a policy schedules it again
        env.cr.commit()
    products = _products(env, args["skus"])
    env.cr.commit()
    warehouse = backend.warehouse_id
    supplier = env.ref("stock.stock_location_suppliers")
    stock = warehouse.lot_stock_id
    client = items = location = None
    if args["naive"]:
        client = backend._channel_client()
        found = client.find_variants_by_sku({sku: True for sku in args["skus"]})
        items = {sku: v["inventory_item_id"] for sku, v in found.items()}
        location = backend._shopify_locations()[0][0]
    rate, start_at = args.get("rate"), args.get("start_at")
    offset, step = args.get("offset", 0), args.get("step", 1)
    levels = dict.fromkeys(args["skus"], 0)
    out, latencies, retries, late = [], [], 0, []
    for i in range(offset, len(args["sequence"]), step):
        sku = args["sequence"][i]
        if rate:
            due = start_at + i / rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            else:
                late.append(-wait)
        product = products[sku]
        for attempt in range(MAX_TRIES):
            try:
                move = env["stock.move"].create({
                    "product_id": product.id, "product_uom_qty": 1, "product_uom": product.uom_id.id,
                    "location_id": supplier.id, "location_dest_id": stock.id, "company_id": warehouse.company_id.id,
                })
                move._action_confirm()
                move._action_assign()
                move.quantity = 1
                move.picked = True
                move._action_done()
                env.cr.commit()
                break
            except CONCURRENCY_ERRORS:
                # as Odoo retries a request that met a concurrent update
                env.cr.rollback()
                env.invalidate_all()
                retries += 1
                time.sleep(random.uniform(0.01, 0.1 * (attempt + 1)))
        else:
            raise RuntimeError("move of %s kept meeting concurrent updates" % sku)
        done_at = time.time()
        levels[sku] += 1
        out.append([sku, done_at, levels[sku], i])
        if args["naive"]:
            quantity = _component(backend, "availability").available_to_sell(product, stock)[product.id]
            client.set_inventory([{"inventory_item_id": items[sku], "location_id": location, "quantity": quantity}],
                                 reason="correction")
            latencies.append(time.time() - done_at)
    if args["naive"] and args.get("set_mode", True):
        for b in backends:
            b.policy_for("inventory").write({"mode": "event"})
            b.policy_ids.cron_id.write({"active": False})
        env.cr.commit()
    return {"moves": out, "naive_latencies": latencies, "retries": retries,
            "late_p95_s": sorted(late)[int(len(late) * 0.95)] if late else 0.0, "late": len(late)}


# --------------------------------------------------------------------------- benchmark 6

def task_setup_pos(env, args):
    """A store POS backend (Square API) whose store sells from the warehouse the inventory backends sell from.

    A point of sale of its own per run (its picking type takes goods from the warehouse's stock), paid by
    card, the store's location mapped to it, and the SKUs bound to the POS's catalogue variations (as a
    catalogue export would leave them). The POS hears no stock nor catalogue: the store's sales are the
    source here, the other backends the receivers.
    """
    company = env.company
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    Journal = env["account.journal"]
    journal = Journal.search([("code", "=", "BSCRD"), ("company_id", "=", company.id)], limit=1) or Journal.create(
        {"name": "Bench store card", "type": "bank", "code": "BSCRD", "company_id": company.id})
    Method = env["pos.payment.method"]
    card = Method.search([("name", "=", "Bench store card"), ("journal_id", "=", journal.id)], limit=1) or Method.create(
        {"name": "Bench store card", "journal_id": journal.id})
    config = env["pos.config"].create({"name": "Bench store %s" % args["run"], "payment_method_ids": [(6, 0, card.ids)],
                                       "picking_type_id": warehouse.pos_type_id.id})
    backend = env["retail.backend"].create(dict(args["values"], name="Bench pos %s" % args["run"],
                                                warehouse_id=warehouse.id, inbound_rate_limit=10000,
                                                inbound_rate_burst=20000, rate_limit_rps=1000, rate_limit_burst=1000))
    backend.policy_ids.filtered(lambda p: p.domain in ("inventory", "pricing", "catalog")).write({"mode": "off"})
    backend.policy_ids.cron_id.write({"active": False})
    env["retail.pos.store"].create({"backend_id": backend.id, "external_id": args["location"], "name": "Bench store",
                                    "pos_config_id": config.id, "timezone": "UTC", "cutoff_hour": 0.0})
    env["retail.pos.tender"].create({"backend_id": backend.id, "tender_type": "CARD", "payment_method_id": card.id})
    products = _products(env, list(args["variations"]))
    products_sold = env["product.product"].browse([p.id for p in products.values()])
    products_sold.product_tmpl_id.write({"available_in_pos": True})
    env["retail.product.binding"].create([
        {"backend_id": backend.id, "odoo_id": products[sku].id, "external_id": variation, "sync_state": "synced"}
        for sku, variation in args["variations"].items()])
    env.cr.commit()
    return {"backend": backend.id, "location": config.picking_type_id.default_location_src_id.complete_name}


# --------------------------------------------------------------------------- benchmark 4

def task_seed_bindings(env, args):
    """Bind channel orders to sale orders in bulk SQL: copies of one confirmed template order."""
    cr = env.cr
    backend = env["retail.backend"].browse(args["backend_id"])
    partner = env["res.partner"].search([("name", "=", "Raw ORM bench customer")], limit=1) or env["res.partner"].create(
        {"name": "Raw ORM bench customer"})
    template = env["sale.order"].create({"partner_id": partner.id, "client_order_ref": "bench template"})
    env.flush_all()
    cr.execute("""SELECT column_name FROM information_schema.columns
                  WHERE table_name = 'sale_order' AND column_name NOT IN ('id', 'name')""")
    columns = [row[0] for row in cr.fetchall()]
    orders = args["orders"]  # [[external_id, updated_at iso]]
    cr.execute(
        'INSERT INTO sale_order (name, %s) SELECT %%s || g, %s FROM sale_order, generate_series(1, %%s) g '
        'WHERE id = %%s RETURNING id' % (", ".join('"%s"' % c for c in columns), ", ".join('"%s"' % c for c in columns)),
        ("BENCH-REC-%d-" % backend.id, len(orders), template.id),
    )
    order_ids = sorted(row[0] for row in cr.fetchall())
    rows = [(backend.id, ext, "synced", oid, upd.replace("T", " ").rstrip("Z"))
            for (ext, upd), oid in zip(orders, order_ids)]
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        cr.execute(
            "INSERT INTO retail_sale_order_binding (backend_id, external_id, sync_state, odoo_id, external_updated_at, "
            "create_uid, write_uid, create_date, write_date) VALUES %s" % ", ".join(
                cr.mogrify("(%s, %s, %s, %s, %s, 1, 1, now(), now())", row).decode() for row in chunk)
        )
    cr.commit()
    return {"bound": len(rows)}


def _measure(env, fn):
    """Run ``fn`` twice in a transaction rolled back each time: once timed, once traced for memory."""
    env.cr.commit()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    env.cr.rollback()
    env.invalidate_all()
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    env.cr.rollback()
    env.invalidate_all()
    return result, elapsed, peak


def task_reconcile(env, args):
    """Time the orders reconciliation of ``backend_id`` and its peak memory; the same for a naive compare.

    The naive compare reads the same pages from the channel and looks up each order's binding
    with its own query, comparing the update times; it records nothing and repairs nothing.
    """
    backend = env["retail.backend"].browse(args["backend_id"])
    backend.policy_for("orders").checkpoint = False
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def ours():
        run = backend._reconcile("orders")
        # counted in the database: reading the run's lines back is not part of the reconciliation
        kinds = dict(env["retail.reconciliation.line"]._read_group([("run_id", "=", run.id)], ["kind"], ["__count"]))
        return {"state": run.state, "checked": run.checked, "repaired": run.repaired,
                "differences": run.difference_count, "kinds": kinds}

    def naive():
        client = backend._channel_client()
        headers = {"Authorization": "Bearer " + (backend.sudo().api_secret or "")}
        Binding = env["retail.sale.order.binding"]
        params, compared, missing, outdated = {"limit": 100}, 0, 0, 0
        while True:
            page = client.request("GET", "/api/v1/orders", headers=headers, params=params).data or {}
            for order in page.get("orders", []):
                compared += 1
                binding = Binding.search([("backend_id", "=", backend.id), ("external_id", "=", order["external_id"])],
                                         limit=1)
                updated = datetime.fromisoformat(order["updated_at"].replace("Z", "+00:00")).replace(tzinfo=None)
                if not binding:
                    missing += 1
                elif binding.external_updated_at < updated:
                    outdated += 1
            if not page.get("next_cursor"):
                break
            params = {"limit": 100, "cursor": page["next_cursor"]}
        return {"checked": compared, "missing": missing, "outdated": outdated}

    ours_result, ours_time, ours_peak = _measure(env, ours)
    out = {"ours": dict(ours_result, seconds=ours_time, peak_bytes=ours_peak), "maxrss_kib_before": rss_before}
    if args.get("naive", True):
        naive_result, naive_time, naive_peak = _measure(env, naive)
        out["naive"] = dict(naive_result, seconds=naive_time, peak_bytes=naive_peak)
    out["maxrss_kib_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def task_seed_catalogue(env, args):
    """Storable products for the SKUs (created once, kept across runs) holding ``quantity`` each in the backend's
    warehouse stock (quants set in SQL); return the channel location id and the currency."""
    backend = env["retail.backend"].browse(args["backend_id"])
    Product = env["product.product"]
    skus = args["skus"]
    found = set(Product.search([("default_code", "in", skus)]).mapped("default_code"))
    missing = [sku for sku in skus if sku not in found]
    for start in range(0, len(missing), 1000):
        Product.create([{"name": sku, "default_code": sku, "type": "consu", "is_storable": True,
                         "list_price": args["price"], "taxes_id": [(5, 0, 0)]} for sku in missing[start:start + 1000]])
        env.cr.commit()
    location = _component(backend, "availability").sell_locations()[:1]
    env.flush_all()
    env.cr.execute(
        """
        DELETE FROM stock_quant WHERE location_id = %(loc)s AND product_id IN (
            SELECT id FROM product_product WHERE default_code = ANY(%(skus)s));
        INSERT INTO stock_quant (product_id, location_id, company_id, quantity, reserved_quantity, in_date,
                                 create_uid, write_uid, create_date, write_date)
        SELECT p.id, %(loc)s, %(company)s, %(qty)s, 0, now() at time zone 'UTC', 1, 1, now() at time zone 'UTC',
               now() at time zone 'UTC'
        FROM product_product p WHERE p.default_code = ANY(%(skus)s)
        """,
        {"loc": location.id, "company": backend.company_id.id, "qty": args["quantity"], "skus": skus},
    )
    env.cr.commit()
    return {"location": _component(backend, "availability").channel_locations()[0][0], "created": len(missing),
            "currency": (backend.pricelist_id.currency_id or backend.company_id.currency_id).name}


def task_reconcile_catalogue(env, args):
    """Time the stock or price reconciliation (``kind``) of ``backend_id`` and its peak memory, or (``naive``) a
    compare reading the same channel list and looking each SKU's product and level or price up on its own."""
    backend = env["retail.backend"].browse(args["backend_id"])
    kind = args["kind"]

    def ours():
        run = backend._reconcile(kind)
        kinds = {}
        for line in run.line_ids:
            kinds[line.kind] = kinds.get(line.kind, 0) + 1
        return {"state": run.state, "checked": run.checked, "differences": run.difference_count, "kinds": kinds}

    def naive():
        headers = {"Authorization": "Bearer " + (backend.sudo().api_secret or "")}
        path = "/api/v1/stock" if kind == "inventory" else "/api/v1/prices"
        items = backend._channel_client().request("GET", path, headers=headers).data.get("items", [])
        Product = env["product.product"]
        locations = dict(_component(backend, "availability").channel_locations())
        compared = different = 0
        for item in items:
            product = Product.search([("default_code", "=", item["sku"])], limit=1)
            if not product:
                continue
            compared += 1
            if kind == "inventory":
                odoo_locations = locations.get(str(item["location_id"])) or _component(backend, "availability").sell_locations()
                ours_value = int(product.with_context(location=odoo_locations.ids, compute_child=True).free_qty)
                different += ours_value != int(item["quantity"])
            else:
                different += _component(backend, "pricing").channel_price(product)["price"] != item["price"]
        return {"checked": compared, "differences": different}

    result, seconds, peak = _measure(env, naive if args.get("naive") else ours)
    return dict(result, seconds=seconds, peak_bytes=peak)


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("args", help="JSON file with the task's arguments")
    ns = parser.parse_args(argv)
    config.parse_config(["-c", ns.conf, "--addons-path", ns.addons_path, "--data-dir", ns.data_dir, "-d", ns.db,
                         "--log-level", "warn", "--workers", "0"])
    with open(ns.args) as fh:
        args = json.load(fh)
    registry = odoo.modules.registry.Registry(ns.db)
    with registry.cursor() as cr:
        result = TASKS[ns.task](_env(cr), args)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
