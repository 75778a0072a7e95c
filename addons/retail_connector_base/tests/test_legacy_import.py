# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import base64
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestLegacyImport(RetailCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env["product.product"]
        cls.mug = Product.create({"name": "Mug", "default_code": "LEG-MUG"})
        cls.cap = Product.create({"name": "Cap", "default_code": "LEG-CAP"})
        cls.tee = Product.create({"name": "Tee", "default_code": "LEG-TEE"})
        cls.env["retail.product.binding"].create(
            {"backend_id": cls.backend.id, "external_id": "900", "odoo_id": cls.tee.id}
        )

    def _wizard(self, text):
        return self.env["retail.legacy.id.import"].create(
            {
                "backend_id": self.backend.id,
                "binding_model": "retail.product.binding",
                "match_field": "default_code",
                "csv_file": base64.b64encode(text.encode()),
            }
        )

    def test_dry_run_then_apply_binds_without_duplicates(self):
        csv_text = "external_id,odoo_key\n101,LEG-MUG\n102,LEG-CAP\n103,NOPE\n900,LEG-TEE\n101,LEG-CAP\n"
        wizard = self._wizard(csv_text)
        wizard.action_dry_run()
        actions = {line.line: (line.action, line.message) for line in wizard.line_ids}
        self.assertEqual(actions[2][0], "bind")
        self.assertEqual(actions[3][0], "bind")
        self.assertEqual(actions[4], ("error", "no record match default_code = NOPE"))
        self.assertEqual(actions[5][0], "already")
        self.assertEqual(actions[6][0], "error")
        self.assertIn("appears twice", actions[6][1])
        Binding = self.env["retail.product.binding"]
        # the dry run binds nothing
        self.assertFalse(Binding.search([("external_id", "in", ["101", "102"])]))

        wizard.action_apply()
        self.assertEqual(wizard.state, "done")
        bound = Binding.search([("backend_id", "=", self.backend.id), ("external_id", "in", ["101", "102"])])
        self.assertEqual(bound.odoo_id, self.mug | self.cap)
        self.assertTrue(all(bound.mapped("legacy")))
        # applying the same file again binds nothing new
        again = self._wizard(csv_text)
        again.action_apply()
        self.assertEqual(Binding.search_count([("backend_id", "=", self.backend.id)]), 3)
        self.assertEqual(again.count_skip, 3)

    def test_missing_columns_are_named(self):
        with self.assertRaisesRegex(UserError, "missing: odoo_key"):
            self._wizard("external_id,sku\n1,LEG-MUG\n").action_dry_run()

    def test_semicolon_separated_files_are_read(self):
        wizard = self._wizard("external_id;odoo_key\n201;LEG-MUG\n")
        wizard.action_dry_run()
        self.assertEqual(wizard.line_ids.action, "bind")

    def test_apply_shows_its_progress_and_a_cancel_undoes_it(self):
        wizard = self._wizard("external_id,odoo_key\n101,LEG-MUG\n102,LEG-CAP\n")
        wizard.action_apply()
        progress = self.env["retail.progress"].search([("backend_id", "=", self.backend.id)], order="id desc", limit=1)
        self.assertEqual((progress.kind, progress.state, progress.done, progress.total), ("import", "done", 2, 2))
        # cancelled while it runs: nothing is kept
        self.env["product.product"].create({"name": "Hat", "default_code": "LEG-HAT"})
        Progress = type(self.env["retail.progress"])
        original = Progress._step

        def cancelled(model, progress_id, done, total=None, force=False):
            model.browse(progress_id).action_cancel()
            return original(model, progress_id, done, total=total, force=True)

        ends = []
        original_end = Progress._end

        def end(model, progress_id, state, message=None, done=None):
            ends.append((state, message))
            return original_end(model, progress_id, state, message=message, done=done)

        # (the progress is written by a transaction of its own, which a test shares: it ends with the test's)
        with patch.object(Progress, "_step", cancelled), patch.object(Progress, "_end", end), \
                self.assertRaises(UserError) as caught:
            self._wizard("external_id,odoo_key\n301,LEG-HAT\n").action_apply()
        self.assertIn("cancelled", str(caught.exception))
        self.assertEqual(ends, [("cancelled", "Cancelled: no identifier was imported.")])
