# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The demo database installs as ``./setup demo`` installs it: the four addons with their demo data in one go.

An addon's demo backends are created while the addons after it are still loading; each backend's
default policies must still see the components of its own channel (and of nothing not loaded yet),
and nothing may fail or fall back to installing without demo data.
"""

import os
import re
import subprocess
import sys

import pytest
from resilience.cluster import CACHE, ODOO_SRC, ROOT, drop_database, free_port, query

ADDONS = "retail_connector_base,retail_connector_marketplace,retail_connector_wms,retail_connector_pos"


@pytest.fixture
def demo_db():
    db = "%s_demo" % os.environ.get("RC_ODOO_DB", "rc_demo_install")
    drop_database(db)
    yield db
    drop_database(db)


def test_the_four_addons_install_with_their_demo_data_in_one_go(demo_db):
    log = ROOT / ".run" / ("%s-install.log" % demo_db)
    log.parent.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(ODOO_SRC / "odoo-bin"), "-c", str(ROOT / "odoo.conf"),
         "--addons-path=%s,%s" % (ROOT / "addons", ODOO_SRC / "addons"), "--data-dir=%s" % (CACHE / "data"),
         "-d", demo_db, "--db-filter=^%s$" % demo_db, "-i", ADDONS, "--with-demo", "--stop-after-init",
         "--workers=0", "--max-cron-threads=0", "--http-port=%d" % free_port(), "--logfile=%s" % log],
        capture_output=True, text=True, timeout=1200, check=False)
    text = log.read_text(errors="replace")
    problems = [line for line in text.splitlines()
                if re.search(r" (ERROR|CRITICAL) ", line) or "demo data failed to install" in line]
    assert done.returncode == 0 and not problems, "install failed (exit %s): %s" % (done.returncode, problems[:5])
    installed = {name for (name,) in query(demo_db, "SELECT name FROM ir_module_module WHERE state = 'installed' "
                                                    "AND name LIKE 'retail_connector_%%'")}
    assert installed == set(ADDONS.split(","))
    # every demo storefront and the POS take their orders: the policies saw their channels' components
    modes = dict(query(demo_db, """
        SELECT b.backend_type, p.mode FROM retail_sync_policy p JOIN retail_backend b ON b.id = p.backend_id
        WHERE p.domain = 'orders' AND b.backend_type IN ('generic', 'shopify', 'woocommerce', 'square')
    """))
    assert set(modes) == {"generic", "shopify", "woocommerce", "square"}, modes
    assert all(mode != "off" for mode in modes.values()), modes
