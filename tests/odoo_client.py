"""A small JSON-RPC client of an Odoo server, as an integration partner would use it."""

import itertools

import requests


class OdooRPCError(Exception):
    """The server answered a JSON-RPC error; ``data`` holds Odoo's error details."""

    def __init__(self, error):
        self.data = error.get("data", {})
        super().__init__(self.data.get("message") or error.get("message"))

    @property
    def name(self):
        return self.data.get("name", "")


class OdooClient:
    """Calls models on an Odoo server through /jsonrpc with a user's login and password."""

    def __init__(self, url, db, login, password, timeout=60):
        self.url = url.rstrip("/")
        self.db, self.login_name, self.password = db, login, password
        self.uid = None
        self.timeout = timeout
        self.session = requests.Session()
        self._ids = itertools.count(1)

    def _call(self, service, method, *args):
        payload = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                   "params": {"service": service, "method": method, "args": list(args)}}
        resp = self.session.post(self.url + "/jsonrpc", json=payload, timeout=self.timeout)
        resp.raise_for_status()
        body = resp.json()
        if body.get("error"):
            raise OdooRPCError(body["error"])
        return body.get("result")

    def login(self):
        """Authenticate and return the user id."""
        self.uid = self._call("common", "login", self.db, self.login_name, self.password)
        if not self.uid:
            raise OdooRPCError({"message": f"login {self.login_name!r} refused on {self.db}"})
        return self.uid

    def call(self, model, method, *args, **kwargs):
        """Return the result of ``model.method(*args, **kwargs)`` run as the logged-in user."""
        return self._call("object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs)

    def search_read(self, model, domain, fields, **kw):
        return self.call(model, "search_read", domain, fields=fields, **kw)
