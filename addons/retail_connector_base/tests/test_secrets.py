# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import os
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..lib import secrets
from ..lib.signatures import SignatureError, sign_retail, verify_retail
from .common import RetailCase


@tagged("post_install", "-at_install")
class TestSecretsAtRest(RetailCase):
    """Credentials are stored encrypted with the server's key and read back in clear."""

    def _column(self, name):
        self.env.flush_all()
        self.env.cr.execute("SELECT %s FROM retail_backend WHERE id = %%s" % name, (self.backend.id,))
        return self.env.cr.fetchone()[0]

    def test_secrets_are_encrypted_in_the_database_and_clear_in_odoo(self):
        self.backend.write({"api_secret": "shpat_live_very_secret", "webhook_secret": "whsec-2"})
        stored = self._column("api_secret")
        self.assertTrue(stored.startswith(secrets.PREFIX))
        self.assertNotIn("very_secret", stored)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.sudo().api_secret, "shpat_live_very_secret")
        self.assertEqual(self.backend._webhook_secrets()[0], "whsec-2")

    def test_another_key_cannot_read_them_and_no_key_refuses_to_store(self):
        self.backend.write({"api_secret": "token-abc"})
        stored = self._column("api_secret")
        with self.assertRaises(secrets.SecretUnreadable):
            secrets.decrypt(stored, "another-key")
        self.assertEqual(secrets.decrypt(stored, os.environ[secrets.ENV_VAR]), "token-abc")
        with patch.dict(os.environ, {secrets.ENV_VAR: ""}), self.assertRaisesRegex(UserError, "secret key"):
            self.backend.write({"api_secret": "token-def"})
            self.env.flush_all()
        # a plaintext value from before encryption is read as it is
        self.assertEqual(secrets.decrypt("legacy-plain", None), "legacy-plain")


@tagged("post_install", "-at_install")
class TestWebhookSecretRotation(RetailCase):
    """The previous webhook secret is accepted for a while after a rotation, then never again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login="rotation_manager", groups="retail_connector_base.group_retail_manager")
        cls.user = new_test_user(cls.env, login="rotation_user", groups="retail_connector_base.group_retail_user")

    def _signed_with(self, secret):
        """Return the index of the secret the backend accepts a body signed with ``secret`` by, or None."""
        body = b'{"id": 1}'
        try:
            return verify_retail(body, {"X-Retail-Signature": sign_retail(secret, body)}, self.backend._webhook_secrets())
        except SignatureError:
            return None

    def _rotated_hours_ago(self, hours):
        self.backend.webhook_secret_rotated_at = fields.Datetime.now() - timedelta(hours=hours)

    def _audit(self):
        return self.env["retail.audit.log"].search([("res_model", "=", "retail.backend"), ("res_id", "=", self.backend.id)])

    def test_previous_secret_is_accepted_within_the_window_and_refused_after_it(self):
        self.backend.webhook_secret = "whsec-2"
        self.assertEqual((self._signed_with("whsec-2"), self._signed_with("whsec-1")), (0, 1))
        self.assertIn("Previous webhook secret: changed", self._audit()[0].changes, "the rotation is audited")
        self._rotated_hours_ago(23)
        self.assertEqual(self._signed_with("whsec-1"), 1, "24 hours by default")
        self._rotated_hours_ago(25)
        self.assertIsNone(self._signed_with("whsec-1"))
        self.assertEqual(self._signed_with("whsec-2"), 0)
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.webhook_secret_grace_hours", 48)
        self.assertEqual(self._signed_with("whsec-1"), 1, "the window is configurable")

    def test_expired_previous_secret_is_deleted_and_audited(self):
        self.backend.webhook_secret = "whsec-2"
        self.assertEqual(self.env["retail.backend"]._cron_expire_webhook_secrets(), 0)
        self.assertEqual(self.backend.sudo().webhook_secret_previous, "whsec-1")
        self._rotated_hours_ago(25)
        self.assertEqual(self.env["retail.backend"]._cron_expire_webhook_secrets(), 1)
        self.assertFalse(self.backend.sudo().webhook_secret_previous)
        self.assertEqual(self._audit()[0].summary, "Previous webhook secret expired")

    def test_a_manager_revokes_the_previous_secret_at_once_and_it_is_audited(self):
        self.backend.webhook_secret = "whsec-2"
        with self.assertRaises(AccessError):
            self.backend.with_user(self.user).action_revoke_previous_webhook_secret()
        self.assertEqual(self._signed_with("whsec-1"), 1, "a user cannot revoke it")
        self.backend.with_user(self.manager).action_revoke_previous_webhook_secret()
        self.assertIsNone(self._signed_with("whsec-1"))
        self.assertEqual(self._signed_with("whsec-2"), 0)
        log = self._audit()[0]
        self.assertEqual((log.summary, log.user_id, log.changes),
                         ("Previous webhook secret revoked", self.manager, "Previous webhook secret: revoked"))
