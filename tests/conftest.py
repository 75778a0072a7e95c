"""Shared pytest set-up: import paths, and a client of the Odoo server that ./setup test runs."""

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# The addons' protocol layers (lib/) import as plain packages, <addon>_lib, with no Odoo: the
# finder the base addon installs inside Odoo, loaded here by its path (see its docstring).
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "retail_connector_protocol_libs", ROOT / "addons" / "retail_connector_base" / "protocol_libs.py"
)
protocol_libs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(protocol_libs)
protocol_libs.install([str(ROOT / "addons")])

from odoo_client import OdooClient  # noqa: E402


SUMMARY_LINES = pytest.StashKey[list]()


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: needs the Odoo server started by ./setup test")
    config.stash[SUMMARY_LINES] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the one-line summaries tests gave through ``report_summary`` (e.g. the gateway fuzz run's)."""
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


@pytest.fixture
def report_summary(pytestconfig):
    """Return a function that adds one line to the summary printed at the end of the run."""
    return pytestconfig.stash[SUMMARY_LINES].append


@pytest.fixture(scope="session")
def odoo_url():
    url = os.environ.get("RC_ODOO_URL")
    if not url:
        pytest.skip("RC_ODOO_URL is not set: run the end-to-end tests through ./setup test")
    return url


@pytest.fixture(scope="session")
def odoo(odoo_url):
    """Return a JSON-RPC client logged in as the administrator of the test database."""
    client = OdooClient(odoo_url, os.environ["RC_ODOO_DB"], "admin", "admin")
    client.login()
    return client


REFUSALS_PARAM = "retail_connector.refusals_per_minute"


@pytest.fixture(scope="session", autouse=True)
def _refusals_not_limited(request):
    """Lift the gateway's per-source limit of refused requests for the session's database.

    The gateway answers 429 ``too_many_refusals`` to an address refused more than this many
    times in a minute (per server process). Every test posts from 127.0.0.1 and many refusals
    are deliberate, so at its default (60) the limit would answer tests meant to meet other
    refusals; the test of the limit itself lowers it for a while, from another address.
    Nothing is done without a server (the unit tests).
    """
    if not os.environ.get("RC_ODOO_URL"):
        yield
        return
    # a client of its own: a suite may define ``odoo`` with a narrower scope (the resilience suite, per module)
    client = OdooClient(os.environ["RC_ODOO_URL"], os.environ["RC_ODOO_DB"], "admin", "admin")
    client.login()
    previous = client.call("ir.config_parameter", "get_param", REFUSALS_PARAM)
    client.call("ir.config_parameter", "set_param", REFUSALS_PARAM, "1000000")
    yield
    client.call("ir.config_parameter", "set_param", REFUSALS_PARAM, previous or False)


@pytest.fixture
def wait_for():
    """Return a poller: wait_for(fn, timeout, what) returns fn()'s first truthy value."""

    def _wait(fn, timeout=30.0, what="condition", interval=0.2):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")

    return _wait
