#!/bin/bash
# Take the Apps page screenshots on a demo database: run.sh WT DB [SECONDS_OF_TRAFFIC]
# Installs the four addons with demo data into DB (kept for the next run, updated then), starts the
# channel simulators the demo backends talk to on free ports, serves Odoo with its job runner, lets
# orders flow for a while, then captures the pages (capture.py) into each addon's static/description.
# VENV (the virtualenv), SRC (Odoo's source) and CACHE (its data directory's parent) come from the environment.
set -u
WT=$(cd "$1" && pwd); DB=$2; TRAFFIC=${3:-90}
: "${VENV:?}" "${SRC:?}" "${CACHE:?}"
ADDONS=retail_connector_base,retail_connector_marketplace,retail_connector_wms,retail_connector_pos
port() { "$VENV/bin/python" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
odoo() { "$VENV/bin/python" "$SRC/odoo-bin" -c "$WT/odoo.conf" --addons-path="$WT/addons,$SRC/addons" --data-dir="$CACHE/data" "$@"; }
LOG=/tmp/$DB-screens.log; : > "$LOG"
if psql -X -At -d "$DB" -c "select 1 from ir_module_module where name='retail_connector_base' and state='installed'" 2>/dev/null | grep -q 1; then
  odoo -d "$DB" -u "$ADDONS" --stop-after-init --workers=0 --max-cron-threads=0 --http-port="$(port)" --logfile="$LOG" || exit 1
else
  # one addon at a time: the demo backends of each are created once the ones before are installed
  for addon in ${ADDONS//,/ }; do
    odoo -d "$DB" -i "$addon" --with-demo --stop-after-init --workers=0 --max-cron-threads=0 --http-port="$(port)" \
      --logfile="$LOG" || exit 1
  done
fi
res_id() { psql -X -At -d "$DB" -c "select res_id from ir_model_data where module='$1' and name='$2'"; }
HTTP=$(port); GEN=$(port); SHOP=$(port); WOO=$(port); WMS=$(port); POS=$(port)
GEN_ID=$(res_id retail_connector_base demo_backend_generic); SHOP_ID=$(res_id retail_connector_marketplace demo_backend_shopify)
WOO_ID=$(res_id retail_connector_marketplace demo_backend_woocommerce); WMS_ID=$(res_id retail_connector_wms demo_backend_threepl)
POS_ID=$(res_id retail_connector_pos demo_backend_square)
psql -X -q -d "$DB" <<SQL
UPDATE retail_backend SET endpoint_url = 'http://127.0.0.1:$GEN' WHERE id = $GEN_ID;
UPDATE retail_backend SET endpoint_url = 'http://127.0.0.1:$SHOP' WHERE id = $SHOP_ID;
UPDATE retail_backend SET endpoint_url = 'http://127.0.0.1:$WOO' WHERE id = $WOO_ID;
UPDATE retail_backend SET endpoint_url = 'http://127.0.0.1:$WMS' WHERE id = $WMS_ID;
UPDATE retail_backend SET endpoint_url = 'http://127.0.0.1:$POS' WHERE id = $POS_ID;
-- channels without a simulator here are left out of the pictures
UPDATE retail_backend SET active = false WHERE id IN (SELECT res_id FROM ir_model_data WHERE model = 'retail.backend'
  AND name IN ('demo_backend_x12', 'demo_backend_stripe'));
UPDATE retail_backend SET active = false WHERE name = 'Outlet shop (new)';
DELETE FROM retail_backend WHERE name IN ('Outlet shop (new)', 'Pop-up store');
SQL
W=http://127.0.0.1:$HTTP/retail/webhook
PIDS=()
cd "$WT/tests"
"$VENV/bin/python" -m simulators.generic --port $GEN --token demo-generic-token --webhook-url $W/$GEN_ID \
  --webhook-secret demo-generic-webhook-secret --orders 20 --trickle 2 --quiet >>"$LOG" 2>&1 & PIDS+=($!)
"$VENV/bin/python" -m simulators.shopify --port $SHOP --token shpat_demo_token --webhook-url $W/$SHOP_ID \
  --webhook-secret demo-shopify-app-secret --orders 10 --payout 5 --trickle 4 --quiet >>"$LOG" 2>&1 & PIDS+=($!)
"$VENV/bin/python" -m simulators.woocommerce --port $WOO --key ck_demo_key --secret cs_demo_secret --webhook-url $W/$WOO_ID \
  --webhook-secret demo-woo-webhook-secret --orders 10 --trickle 5 --quiet >>"$LOG" 2>&1 & PIDS+=($!)
STOCK=(); for sku in RC-TSHIRT-S RC-TSHIRT-M RC-TSHIRT-L RC-MUG RC-CAP RC-HOODIE-M RC-TOTE; do STOCK+=(--stock "$sku=500"); done
"$VENV/bin/python" -m simulators.threepl --port $WMS --token pat_demo_3pl_token --webhook-url $W/$WMS_ID \
  --webhook-secret whsec_ZGVtby0zcGwtd2ViaG9vay1zZWNyZXQ= "${STOCK[@]}" --auto-ship 10 --partial 0.5 --quiet >>"$LOG" 2>&1 & PIDS+=($!)
CUR=$(psql -X -At -d "$DB" -c "select c.name from res_company co join res_currency c on c.id = co.currency_id order by co.id limit 1")
"$VENV/bin/python" -m simulators.square_pos --port $POS --token sq_demo_token --webhook-url $W/$POS_ID \
  --signature-key demo-square-signature-key --currency "${CUR:-USD}" --trickle 6 --quiet >>"$LOG" 2>&1 & PIDS+=($!)
odoo -d "$DB" --db-filter="^$DB\$" --http-port=$HTTP --gevent-port="$(port)" --workers=2 --max-cron-threads=1 \
  --logfile="$LOG.srv" >/dev/null 2>&1 & SRV=$!
trap 'kill "${PIDS[@]}" 2>/dev/null; kill $SRV 2>/dev/null; wait 2>/dev/null' EXIT
for i in $(seq 120); do curl -sf http://127.0.0.1:$HTTP/web/health >/dev/null && break; sleep 1; done
# the demo backends' policies as their channels' components allow them on this server
PYTHONPATH="$WT/tests" "$VENV/bin/python" - "$HTTP" "$DB" <<'PY'
import sys
from odoo_client import OdooClient
odoo = OdooClient("http://127.0.0.1:%s" % sys.argv[1], sys.argv[2], "admin", "admin")
odoo.login()
ids = [b["id"] for b in odoo.search_read("retail.backend", [], ["id"])]
odoo.call("retail.backend", "action_reset_policies", ids)
PY
echo "serving $DB on :$HTTP, letting orders flow for $TRAFFIC s"
sleep "$TRAFFIC"
"$VENV/bin/python" "$WT/tests/screenshots/capture.py" --url http://127.0.0.1:$HTTP --db "$DB" \
  --generic-url http://127.0.0.1:$GEN --root "$WT"
