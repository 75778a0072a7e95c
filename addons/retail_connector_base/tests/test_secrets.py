# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import os
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..lib import secrets
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
