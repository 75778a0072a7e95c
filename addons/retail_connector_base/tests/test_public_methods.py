# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Every public method of the connector's models refuses the users who may not call it.

Odoo lets any logged-in user call a model's public method over RPC (``/json/2``, ``execute_kw``)
and checks no access right before running it. These tests list the RPC-callable methods that
the four addons define (on their own models and on the Odoo models they extend) from the
registry itself, so that a public method added later without an access check fails here.
"""

import inspect
import re

from odoo import models
from odoo.exceptions import AccessError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged

from .common import RetailCase

OUR_ADDONS = ("retail_connector_base", "retail_connector_marketplace", "retail_connector_wms", "retail_connector_pos")

# (model, method) -> why anyone may call it: it changes nothing and reveals nothing.
HARMLESS = {
    ("stock.picking", "message_post_with_source"): "Odoo's own method, with Odoo's checks (the right to write on "
    "the picking); the connector's override only leaves its origin note out while it confirms a channel's orders",
}


def rpc_callable_methods(env):
    """Return {(model, method): function} for the methods our addons define that RPC can call.

    The ORM's own API (create, write, unlink, read, search...) is left out: overriding it adds
    behaviour after the ORM's access checks, which still apply.
    """
    found = {}
    for model_name in sorted(env.registry):
        Model = env[model_name]
        for cls in type(Model).__mro__:
            module = cls.__module__.split(".")
            if module[:2] != ["odoo", "addons"] or len(module) < 3 or module[2] not in OUR_ADDONS:
                continue
            for name, func in vars(cls).items():
                if name.startswith("_") or not inspect.isfunction(func) or hasattr(models.BaseModel, name):
                    continue
                try:
                    get_public_method(Model, name)
                except AccessError:  # @api.private somewhere in the chain
                    continue
                found.setdefault((model_name, name), func)
    return found


@tagged("post_install", "-at_install")
class TestPublicMethods(RetailCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain_user = new_test_user(cls.env, login="rpc_plain_employee", groups="base.group_user")
        cls.portal_user = new_test_user(cls.env, login="rpc_portal", groups="base.group_portal")
        cls.retail_user = new_test_user(cls.env, login="rpc_retail_user", groups="retail_connector_base.group_retail_user")
        cls.manager = new_test_user(cls.env, login="rpc_retail_manager",
                                    groups="retail_connector_base.group_retail_manager")
        # a real record of the models whose methods work on one
        cls.api_key = cls.env["retail.api.key"].create({"name": "Partner", "backend_id": cls.backend.id})
        cls.api_key._generate_secret()
        cls.env["retail.event"].create({
            "backend_id": cls.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": "RPC-1", "idempotency_key": "rpc-1", "payload": "{}", "state": "dead",
            "last_error": "Unknown product SKU 'RPC-1'"})
        cls.env["retail.reconciliation.run"].create({"backend_id": cls.backend.id, "domain": "inventory"})
        cls.env["retail.alert.rule"].create({"name": "Backlog", "metric": "backlog", "threshold": 1})
        partner = cls.env["res.partner"].create({"name": "RPC customer"})
        cls.order = cls.env["sale.order"].create({"partner_id": partner.id})
        cls.env["retail.refund"].create({
            "backend_id": cls.backend.id, "external_id": "RPC-R1", "sale_order_id": cls.order.id,
            "currency_id": cls.env.company.currency_id.id, "amount": 1.0, "action": "credit_note",
            "state": "review"})
        cls.env["retail.return"].create({"backend_id": cls.backend.id, "sale_order_id": cls.order.id})
        cls.env["retail.event.requeue"].create({"backend_id": cls.backend.id})
        cls.env.flush_all()
        cls.methods = rpc_callable_methods(cls.env)

    def _sample(self, model_name):
        Model = self.env[model_name].sudo().with_context(active_test=False)
        if Model._abstract:
            return Model.browse()
        return Model.search([], limit=1)

    def _refusals(self, user):
        """Call every method as ``user``; return what ran or failed otherwise than with an AccessError."""
        problems = []
        for (model_name, name), func in sorted(self.methods.items()):
            if (model_name, name) in HARMLESS:
                continue
            record = self._sample(model_name).sudo(False).with_user(user)
            required = [p for p in list(inspect.signature(func).parameters.values())[1:]
                        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            try:
                with self.env.cr.savepoint():
                    getattr(record, name)(*[None] * len(required))
            except AccessError:
                continue
            except Exception as exc:  # noqa: BLE001 - reported: the access check must come first
                problems.append("%s.%s on %s: %s: %s" % (model_name, name, record, type(exc).__name__, exc))
            else:
                problems.append("%s.%s on %s ran without an AccessError" % (model_name, name, record))
            finally:
                self.env.invalidate_all()
        return problems

    def test_the_methods_are_found(self):
        """The enumeration sees our models and the Odoo models we extend (a broken one would prove nothing)."""
        names = set(self.methods)
        self.assertGreater(len(names), 60)
        for expected in [("retail.api.key", "action_generate"), ("retail.backend", "action_test_connection"),
                         ("retail.backend", "action_woo_ensure_webhooks"), ("retail.backend", "action_x12_poll_now"),
                         ("retail.pos.day", "action_close"), ("sale.order", "action_view_retail_refunds"),
                         ("retail.event.requeue", "action_requeue"), ("retail.rate.bucket", "take")]:
            self.assertIn(expected, names)
        for private in [("retail.api.key", "generate"), ("retail.backend", "policy_for"), ("retail.rate.bucket", "drain"),
                        ("retail.event", "requeue_dead"), ("retail.api.key", "has_scope")]:
            self.assertNotIn(private, names)
        self.assertFalse(set(HARMLESS) - names, "the allow-list names methods that no longer exist")

    def test_an_employee_without_connector_group_is_refused_every_method(self):
        problems = self._refusals(self.plain_user)
        self.assertFalse(problems, "Public methods that do not check access:\n" + "\n".join(problems))

    def test_a_portal_user_is_refused_every_method(self):
        problems = self._refusals(self.portal_user)
        self.assertFalse(problems, "Public methods that do not check access:\n" + "\n".join(problems))

    # ------------------------------------------------------------------ API keys
    def test_a_portal_user_cannot_generate_an_api_key(self):
        before = self.api_key.key_hash
        self.assertTrue(before)
        for user in (self.portal_user, self.plain_user, self.retail_user):
            with self.assertRaises(AccessError, msg=user.login):
                self.api_key.with_user(user).action_generate()
        self.env.invalidate_all()
        self.assertEqual(self.api_key.key_hash, before, "the partner's key still works")
        with self.assertRaises(AccessError):
            get_public_method(self.api_key.with_user(self.portal_user), "_generate_secret")

    def test_a_manager_generates_a_key_that_authenticates(self):
        action = self.api_key.with_user(self.manager).action_generate()
        key = re.search(r"rck_\S+", action["params"]["message"]).group(0)
        self.assertEqual(self.env["retail.api.key"]._authenticate(key), self.api_key)
        self.assertTrue(self.api_key._has_scope("orders:write"))

    def test_channel_calls_are_refused_before_calling_out(self):
        """A connector user reads; testing the connection (a call to the channel) is for managers."""
        backend = self.backend.with_user(self.retail_user)
        with self.assertRaisesRegex(AccessError, "Manager"):
            backend.action_test_connection()
        self.assertFalse(self.backend.last_check_date, "the channel was not called")
        self.assertTrue(backend.action_open_events()["domain"])

    def test_an_api_key_belongs_to_a_generic_backend(self):
        Backend = self.env["retail.backend"]
        others = [value for value in Backend._fields["backend_type"].get_values(self.env) if value != "generic"]
        if not others:
            self.skipTest("no channel module adds a backend type")
        other = Backend.create({"name": "Not generic", "backend_type": others[0]})
        with self.assertRaisesRegex(ValidationError, "Not generic.*generic channel's API only"):
            self.env["retail.api.key"].create({"name": "Partner 2", "backend_id": other.id})
        with self.assertRaisesRegex(ValidationError, "Partner.*Not generic"):
            self.api_key.backend_id = other
