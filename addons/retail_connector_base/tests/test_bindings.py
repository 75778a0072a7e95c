# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from psycopg2 import IntegrityError

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestBindings(RetailCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Ada Lovelace", "email": "ada@example.com"})
        cls.other = cls.env["res.partner"].create({"name": "Grace Hopper"})

    def _binder(self, model="retail.partner.binding"):
        with self.backend.work_on(model) as work:
            return work.component(usage="binder")

    def test_binder_binds_and_resolves_both_ways(self):
        binder = self._binder()
        binding = binder.bind_record("C-1", self.partner)
        self.assertEqual(binder.to_internal("C-1", unwrap=True), self.partner)
        self.assertEqual(binder.to_external(binding), "C-1")
        self.assertEqual(self.partner.retail_bind_ids, binding)
        # binding again updates the same binding, it never duplicates
        self.assertEqual(binder.bind_record("C-1b", self.partner), binding)
        self.assertEqual(binding.external_id, "C-1b")

    @mute_logger("odoo.sql_db")
    def test_external_id_is_unique_per_backend(self):
        Binding = self.env["retail.partner.binding"]
        Binding.create({"backend_id": self.backend.id, "external_id": "C-1", "odoo_id": self.partner.id})
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            Binding.create({"backend_id": self.backend.id, "external_id": "C-1", "odoo_id": self.other.id})

    @mute_logger("odoo.sql_db")
    def test_record_is_bound_once_per_backend(self):
        Binding = self.env["retail.partner.binding"]
        Binding.create({"backend_id": self.backend.id, "external_id": "C-1", "odoo_id": self.partner.id})
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            Binding.create({"backend_id": self.backend.id, "external_id": "C-2", "odoo_id": self.partner.id})

    def test_same_external_id_on_two_backends(self):
        other_backend = self.backend.copy({"name": "Second shop"})
        Binding = self.env["retail.partner.binding"]
        Binding.create({"backend_id": self.backend.id, "external_id": "C-1", "odoo_id": self.partner.id})
        Binding.create({"backend_id": other_backend.id, "external_id": "C-1", "odoo_id": self.other.id})
        self.assertEqual(len(Binding.search([("external_id", "=", "C-1")])), 2)

    def test_every_binding_model_has_a_binder(self):
        for model in ("retail.product.binding", "retail.sale.order.binding", "retail.picking.binding", "retail.warehouse.binding"):
            self.assertEqual(self._binder(model)._name, "retail.binder")

    def test_mark_synced_stores_the_payload_digest(self):
        binding = self._binder().bind_record("C-1", self.partner)
        binding._mark_synced({"b": 1, "a": 2})
        same_digest = binding.payload_digest
        binding._mark_synced({"a": 2, "b": 1})
        self.assertEqual(binding.payload_digest, same_digest)
        self.assertEqual(binding.sync_state, "synced")
