# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Errors of the canonical-to-Odoo services: permanent, readable, and fixable by a user."""

from odoo.exceptions import UserError


class RetailMappingError(UserError):
    """A canonical object cannot be mapped to Odoo until a user fixes data or configuration.

    ``kind`` classifies the failure (unknown_product, missing_mapping, currency, ...) so that the
    pipeline can group and route it; retrying without a fix gives the same result. ``subject``
    says what matched nothing, as data (e.g. ``{"type": "product", "sku": "RC-7"}`` or
    ``{"type": "payment_gateway", "value": "paypal"}``), so that mappings can be suggested for it.
    """

    def __init__(self, message, kind="mapping", subject=None):
        super().__init__(message)
        self.kind = kind
        self.subject = subject
