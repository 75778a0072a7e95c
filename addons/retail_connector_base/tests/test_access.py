# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestAccessPerGroup(HttpCase):
    """User reads, Auditor also reads the audit trail, Manager configures and holds the secrets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls.env["retail.backend"].create({"name": "Access shop", "backend_type": "generic",
                                                        "api_secret": "tok-1", "webhook_secret": "wh-1"})
        cls.users = {
            group: new_test_user(cls.env, login="retail_%s" % group, groups="retail_connector_base.group_retail_%s" % group)
            for group in ("user", "auditor", "manager")
        }

    def test_models_per_group(self):
        for group, user in self.users.items():
            backend = self.backend.with_user(user)
            self.assertEqual(backend.name, "Access shop", group)
            self.assertTrue(self.env["retail.cockpit"].with_user(user).search([("backend_id", "=", self.backend.id)]))
            can_configure = group == "manager"
            try:
                backend.write({"timeout": 12})
                wrote = True
            except AccessError:
                wrote = False
            self.assertEqual(wrote, can_configure, group)
            try:
                secret = backend.api_secret
            except AccessError:
                secret = None
            self.assertEqual(secret, "tok-1" if can_configure else None, group)
            try:
                self.env["retail.audit.log"].with_user(user).search([])
                audits = True
            except AccessError:
                audits = False
            self.assertEqual(audits, group in ("auditor", "manager"), group)
            try:
                self.env["retail.alert.rule"].with_user(user).create(
                    {"name": "r", "metric": "backlog", "threshold": 1})
                rules = True
            except AccessError:
                rules = False
            self.assertEqual(rules, can_configure, group)

    def test_http_endpoints_per_group(self):
        # the operations endpoints are for machines: health is open, metrics need the token, whoever is logged in
        self.assertEqual(self.url_open("/retail/health").status_code, 200)
        self.authenticate("retail_manager", "retail_manager")
        self.assertEqual(self.url_open("/retail/metrics").status_code, 401, "a session is not the metrics token")
        # the backend form and its action are refused to a user without the connector's groups
        plain = new_test_user(self.env, login="plain_employee", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.backend.with_user(plain).read(["name"])
