# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Secrets encrypted at rest with a key the database does not hold.

The key comes from the server: ``retail_connector_secret_key`` in the Odoo configuration file,
or the ``RETAIL_CONNECTOR_SECRET_KEY`` environment variable (``./setup`` creates one per
machine, readable by its owner only). Values are Fernet tokens (AES-128-CBC with an
HMAC-SHA256, from ``cryptography``) prefixed with ``rcenc1:``; a value without the prefix is
an older plaintext one, read as is and encrypted at its next write. A dump of the database
alone does not reveal the channels' credentials.
"""

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "rcenc1:"
ENV_VAR = "RETAIL_CONNECTOR_SECRET_KEY"
CONFIG_KEY = "retail_connector_secret_key"


class SecretKeyMissing(RuntimeError):
    """No key is configured: secrets cannot be stored."""


class SecretUnreadable(RuntimeError):
    """A stored secret was encrypted with another key."""


def _fernet(material: str) -> Fernet:
    # any passphrase becomes a Fernet key: SHA-256 of it, urlsafe base64
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def key_material(config=None) -> str | None:
    """Return the configured key (server configuration first, then the environment), or None."""
    value = (config or {}).get(CONFIG_KEY) if config is not None else None
    return value or os.environ.get(ENV_VAR) or None


def is_encrypted(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def encrypt(value: str, material: str | None) -> str:
    """Return the stored form of a secret; an empty value stays empty."""
    if not value or is_encrypted(value):
        return value
    if not material:
        raise SecretKeyMissing(
            "No secret key is configured: set retail_connector_secret_key in the Odoo configuration file "
            "(or RETAIL_CONNECTOR_SECRET_KEY in the server's environment) to store channel credentials."
        )
    return PREFIX + _fernet(material).encrypt(value.encode()).decode()


def decrypt(value, material: str | None):
    """Return the secret of a stored value (plaintext values as they are)."""
    if not is_encrypted(value):
        return value
    if not material:
        raise SecretKeyMissing("A stored secret is encrypted but no secret key is configured on this server.")
    try:
        return _fernet(material).decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret was encrypted with another key than this server's retail_connector_secret_key."
        ) from None
