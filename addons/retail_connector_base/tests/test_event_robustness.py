# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.connector.database import pg_try_advisory_lock
from odoo.addons.queue_job.exception import RetryableJobError

from .common import RetailCase
from .test_order_import import ORDER


@tagged("post_install", "-at_install")
class TestEventRobustness(RetailCase):
    """Contention costs an event nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.company_id.currency_id = cls.env.ref("base.USD")
        Product = cls.env["product.product"]
        Product.create({"name": "Mug", "default_code": "RC-MUG", "type": "consu"})
        Product.create({"name": "Cap", "default_code": "RC-CAP", "type": "consu"})

    def _event(self, data, key="G1001"):
        return self.env["retail.event"].create({
            "backend_id": self.backend.id, "topic": "orders/create", "domain": "orders", "aggregate_type": "order",
            "aggregate_key": key, "idempotency_key": "evt-%s" % key, "state": "queued",
            "payload": json.dumps(data), "correlation_id": "corr-%s" % key,
        })

    # ------------------------------------------------------------------ contention
    @mute_logger("odoo.addons.retail_connector_base.models.retail_event")
    def test_a_lock_held_by_another_transaction_never_uses_up_the_events_attempts(self):
        """Contention alone never sends an event to the dead letters: the job retries, the attempts stay."""
        self.env["ir.config_parameter"].sudo().set_param("retail_connector.retry_max", 2)
        event = self._event(ORDER)
        lock = "retail-order-%s-%s" % (self.backend.id, ORDER["external_id"])
        with self.env.registry.cursor() as other:
            self.assertTrue(pg_try_advisory_lock(api.Environment(other, SUPERUSER_ID, {}), lock))
            for _attempt in range(4):
                with self.assertRaises(RetryableJobError) as caught:
                    event._process_aggregate()
                self.assertTrue(caught.exception.ignore_retry, "the job's retries are not used up either")
                self.assertEqual((event.state, event.attempts, event.last_error), ("queued", 0, False))
        # the other transaction ended: its lock is released
        event._process_aggregate()
        self.assertEqual((event.state, event.outcome, event.attempts), ("done", "created", 1))
