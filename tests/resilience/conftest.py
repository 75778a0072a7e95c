"""Fixtures of the resilience suite: databases and Odoo servers of its own, and its reports.

The suite kills and restarts Odoo, so it never uses the session's server: each module gets a
copy of the session's database (``<db>_r<n>``) and starts its own server processes on it.
``RC_CHAOS=1`` (``./setup chaos``) runs the long version: more load, more repetitions.
"""

import os
from itertools import count

import pytest

from resilience.cluster import OdooNode, clone_database, drop_database, query
from resilience.scenario import REPORTS, Report

_copies = count(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "resilience: kills, restarts and starves Odoo servers of their own")


def pytest_terminal_summary(terminalreporter):
    if not REPORTS:
        return
    terminalreporter.section("resilience: what was injected and what was verified")
    for report in REPORTS:
        terminalreporter.write_line(report.render())


@pytest.fixture
def report(request):
    return Report(request.node.name)


@pytest.fixture(scope="session")
def source_db():
    db = os.environ.get("RC_RESILIENCE_SOURCE_DB") or os.environ.get("RC_ODOO_DB")
    if not db:
        pytest.skip("RC_ODOO_DB is not set: run the resilience suite through ./setup test or ./setup chaos")
    return db


@pytest.fixture(scope="module")
def resilience_db(source_db):
    """Return the name of a fresh copy of the session's database, dropped after the module."""
    db = f"{source_db}_r{next(_copies)}"
    clone_database(source_db, db)
    # the copy starts quiet: no channel of the session's tests is called, no old job runs
    query(db, "UPDATE retail_backend SET active = false")
    query(db, "UPDATE ir_cron SET active = false WHERE id IN (SELECT cron_id FROM retail_sync_policy)")
    yield db
    if not os.environ.get("RC_KEEP_DB"):
        drop_database(db)


@pytest.fixture(scope="module")
def node_factory(resilience_db):
    """Return a function starting Odoo servers on the module's database; all stop at the end."""
    nodes = []

    def start(**options):
        node = OdooNode(resilience_db, **options)
        nodes.append(node)
        return node.start()

    yield start
    for node in nodes:
        node.kill_all()
