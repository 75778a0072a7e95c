# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.tests import TransactionCase


class RetailCase(TransactionCase):
    """A transaction with one generic backend and the connector's context set up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, queue_job__no_delay=True))
        cls.backend = cls.env["retail.backend"].create(
            {
                "name": "Test generic backend",
                "backend_type": "generic",
                "endpoint_url": "http://127.0.0.1:9",
                "api_secret": "token-123",
                "webhook_secret": "whsec-1",
            }
        )
