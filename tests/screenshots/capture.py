"""Screenshots of the running product for the addons' Apps pages (``static/description``).

Logs in to a served database with demo data and its channel simulators, drives headless
Chromium over the DevTools protocol (``websocket-client``, which Odoo itself uses for its
browser tests) and saves PNGs of the pages a person looks at first::

    python tests/screenshots/capture.py --url http://127.0.0.1:8069 --db retail_demo \
        --generic-url http://127.0.0.1:8801 --root .

See ``run.sh`` beside this file for a complete run on a fresh demo database.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from odoo_client import OdooClient  # noqa: E402

WIDTH, HEIGHT = 1280, 760


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Headless Chromium, driven over the DevTools protocol."""

    def __init__(self, binary="/usr/bin/chromium"):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="rc_screens_")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-allow-origins=*", "--remote-debugging-port=%d" % self.port,
             "--user-data-dir=%s" % self.profile, "--window-size=%d,%d" % (WIDTH, HEIGHT), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                pages = requests.get("http://127.0.0.1:%d/json/list" % self.port, timeout=1).json()
                page = next(p for p in pages if p["type"] == "page")
                break
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.2)
        else:
            raise RuntimeError("Chromium did not start")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True, timeout=60)
        self.ids = itertools.count(1)
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if result.get("exceptionDetails"):
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result.get("result", {}).get("value")

    def goto(self, url):
        self.call("Page.navigate", url=url)

    def wait(self, selector, timeout=40):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js("!!document.querySelector(%s)" % json.dumps(selector)):
                return
            time.sleep(0.3)
        raise RuntimeError("%s not found on %s" % (selector, self.js("location.href")))

    def click(self, selector):
        self.wait(selector)
        self.js("document.querySelector(%s).click()" % json.dumps(selector))

    def fill(self, selector, value):
        """Type a value in an Odoo field's input (the field reads it on change)."""
        self.wait(selector)
        self.js("""(() => {const el = document.querySelector(%s); el.focus(); el.value = %s;
                  el.dispatchEvent(new Event('input', {bubbles: true}));
                  el.dispatchEvent(new Event('change', {bubbles: true})); el.blur();})()"""
                % (json.dumps(selector), json.dumps(value)))

    def shoot(self, path, settle=1.5):
        time.sleep(settle)  # charts animate, notifications fade
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        print("saved %s (%d KB)" % (path, os.path.getsize(path) // 1024))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)


def login(url, db, user, password):
    answer = requests.post(url + "/web/session/authenticate", timeout=60, json={
        "jsonrpc": "2.0", "method": "call", "params": {"db": db, "login": user, "password": password}})
    answer.raise_for_status()
    if answer.json().get("error"):
        raise RuntimeError("login refused: %s" % answer.json()["error"])
    return answer.cookies["session_id"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--generic-url", required=True, help="the generic channel simulator (token demo-generic-token)")
    parser.add_argument("--root", default=".", help="the source tree whose addons receive the screenshots")
    args = parser.parse_args(argv)
    url, root = args.url.rstrip("/"), Path(args.root)
    base = root / "addons" / "retail_connector_base" / "static" / "description"

    odoo = OdooClient(url, args.db, args.login, args.password)
    odoo.login()
    backends = {"%s.%s" % (d["module"], d["name"]): d["res_id"]
                for d in odoo.search_read("ir.model.data", [("model", "=", "retail.backend")], ["module", "name", "res_id"])}

    browser = Browser()
    try:
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="session_id", value=login(url, args.db, args.login, args.password),
                     url=url, path="/")
        action = url + "/odoo/action-retail_connector_base."

        browser.goto(action + "action_retail_cockpit_backends")
        browser.wait(".o_retail_cockpit .o_retail_cockpit_card .o_retail_sparkline")
        browser.shoot(base / "cockpit.png", settle=3)

        first = browser.js("document.querySelector('.o_retail_cockpit_card').dataset.backend")
        browser.click(".o_retail_cockpit_card .o_retail_cockpit_charts")
        browser.wait(".o_retail_backend_charts canvas.o_retail_chart_events")
        browser.click(".o_retail_backend_charts .o_retail_period_hour, .o_retail_period_hour")
        browser.wait(".o_retail_period_hour.btn-primary")
        browser.shoot(base / "backend_charts.png", settle=3)
        print("charts of", first)

        # a channel being set up: not live, for the readiness check
        outlet = odoo.call("retail.backend", "create", {
            "name": "Outlet shop (new)", "backend_type": "generic", "endpoint_url": args.generic_url,
            "api_secret": "demo-generic-token", "go_live_state": "setup"})
        browser.goto(action + "action_retail_backend/%d" % outlet)
        browser.click(".o_form_view .o_form_statusbar button[name=action_check_readiness]")
        browser.wait(".modal .o_retail_readiness .o_data_row")
        browser.shoot(base / "readiness.png")

        browser.goto(action + "action_retail_backend")
        browser.click("button.o_retail_new_channel")
        browser.fill(".modal .o_field_widget[name=name] input", "Pop-up store")
        browser.click(".modal .o_retail_assistant_next")
        browser.fill(".modal .o_field_widget[name=endpoint_url] input", args.generic_url)
        browser.fill(".modal .o_field_widget[name=api_secret] input", "demo-generic-token")
        browser.click(".modal .o_retail_assistant_next")
        browser.wait(".modal .o_retail_step_connection .o_retail_connection_ok")
        browser.click(".modal .o_retail_assistant_next")
        browser.wait(".modal .o_retail_webhook_manual")
        browser.shoot(base / "assistant.png")

        browser.goto(action + "action_retail_backend/%d" % backends["retail_connector_base.demo_backend_generic"])
        browser.click(".o_form_view .o_form_statusbar button[name=action_reconcile_in_background]")
        browser.wait(".o_list_view .o_data_row")
        time.sleep(6)  # the job runner takes the reconciliations; the list follows them
        browser.shoot(base / "progress.png")

        browser.goto(action + "action_retail_event_analysis")
        browser.wait(".o_graph_renderer canvas")
        browser.shoot(base / "events_graph.png")

        pages = {
            "retail_connector_marketplace": "demo_backend_shopify",
            "retail_connector_wms": "demo_backend_threepl",
            "retail_connector_pos": "demo_backend_square",
        }
        for addon, xmlid in pages.items():
            backend_id = backends["%s.%s" % (addon, xmlid)]
            browser.goto(action + "action_retail_backend/%d" % backend_id)
            browser.wait(".o_form_view .o_field_widget[name=name]")
            browser.shoot(root / "addons" / addon / "static" / "description" / "backend.png")
    except Exception:
        browser.shoot(Path(tempfile.gettempdir()) / "rc_screens_failure.png", settle=0)
        raise
    finally:
        browser.close()


if __name__ == "__main__":
    main()
