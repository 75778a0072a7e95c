"""Shared pytest set-up: import paths, and a client of the Odoo server that ./setup test runs."""

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# The addons' plain-Python layers (lib/) import as odoo.addons.<module>.lib, without running
# the addons' __init__ (models need a server): each addon is registered as a bare package.
import types  # noqa: E402

import odoo.addons  # noqa: E402

for _addon in sorted((ROOT / "addons").iterdir()):
    _name = "odoo.addons." + _addon.name
    if (_addon / "__manifest__.py").is_file() and _name not in sys.modules:
        _package = types.ModuleType(_name)
        _package.__path__ = [str(_addon)]
        sys.modules[_name] = _package

from odoo_client import OdooClient  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: needs the Odoo server started by ./setup test")


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
