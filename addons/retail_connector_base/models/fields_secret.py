# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import config

from ..lib import secrets


class SecretChar(fields.Char):
    """A Char stored encrypted with the server's key (``lib/secrets``), read back in clear."""

    def convert_to_column(self, value, record, values=None, validate=True):
        value = super().convert_to_column(value, record, values, validate)
        try:
            return secrets.encrypt(value, secrets.key_material(config)) if value else value
        except secrets.SecretKeyMissing as exc:
            raise UserError(str(exc)) from None

    def convert_to_cache(self, value, record, validate=True):
        return self._clear(super().convert_to_cache(value, record, validate))

    def _insert_cache(self, records, values):
        # values fetched from the database go to the cache as they are: decrypt them on the way
        super()._insert_cache(records, [self._clear(value) for value in values])

    def _clear(self, value):
        try:
            return secrets.decrypt(value, secrets.key_material(config)) if value else value
        except (secrets.SecretKeyMissing, secrets.SecretUnreadable) as exc:
            raise UserError(str(exc)) from None
