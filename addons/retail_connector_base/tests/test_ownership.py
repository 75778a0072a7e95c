# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .flows import GenericChannelCase, numbered_catalogue
from .jobs import perform_pending_jobs


@tagged("post_install", "-at_install")
class TestOwnership(GenericChannelCase):
    """The sync policies' system of record is enforced: the owner's value wins, and every disagreement is a conflict."""

    SKUS = numbered_catalogue("OWN-%02d", "Owned %02d", 4)
    TOKEN = "own-token"
    BACKEND = {"name": "Ownership shop"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id.name

    def _channel_currency(self):
        return self.currency

    def setUp(self):
        super().setUp()
        self.pricing = self.backend.policy_for("pricing")
        self.pricing.mode = "event"  # repairs sent as they are made, not kept for a scheduled run
        # the channel sells the products at Odoo's prices to begin with
        for product in self.products:
            self.channel.set_price(product.default_code, "%.2f" % product.lst_price, self.currency)

    def _bind(self, product):
        return self.env["retail.product.binding"].create(
            {"backend_id": self.backend.id, "odoo_id": product.id, "external_id": product.default_code})

    def _conflicts(self, product=None, **domain):
        search = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()]
        if product:
            search += [("res_model", "=", "product.product"), ("res_id", "=", product.id)]
        return self.env["retail.conflict"].search(search)

    def _pending_prices(self):
        return self.env["retail.export.request"].search(
            [("backend_id", "=", self.backend.id), ("domain", "=", "pricing"), ("state", "=", "pending")])

    # ------------------------------------------------------------------ Odoo owns
    def test_a_channel_price_change_under_odoo_ownership_is_a_conflict_and_the_channel_is_put_back(self):
        product = self.products[1]
        self.assertEqual(self.pricing.system_of_record, "odoo")
        self.channel.set_price("OWN-01", "99.00", self.currency)
        run = self.backend._reconcile("pricing")
        conflict = self._conflicts(product)
        self.assertEqual(len(conflict), 1, "one conflict per record and field")
        self.assertEqual(
            (conflict.domain, conflict.field_name, conflict.odoo_value, conflict.channel_value, conflict.owner,
             conflict.action, conflict.state, conflict.run_id),
            ("pricing", "list_price", "11.00 %s" % self.currency, "99.00 %s" % self.currency, "odoo",
             "reverted_channel", "resolved", run))
        self.assertEqual(product.list_price, 11, "the channel's change is not applied to Odoo")
        self.assertEqual(run.repaired, 1)
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OWN-01")["price"], "11.00", "the channel shows Odoo's price again")
        self.assertEqual(self.backend._reconcile("pricing").difference_count, 0)
        self.assertEqual(len(self._conflicts(product)), 1, "no new conflict once they agree")

    def test_a_stock_level_changed_on_the_channel_under_odoo_ownership_is_a_conflict(self):
        product = self.products[2]
        self.channel.set_stock_level("OWN-02", self.warehouse.code, 40, notify=False)
        run = self.backend._reconcile("inventory")
        conflict = self._conflicts(product)
        self.assertEqual((conflict.field_name, conflict.odoo_value, conflict.channel_value, conflict.action,
                          conflict.key, conflict.run_id),
                         ("free_qty", "0", "40", "reverted_channel", "OWN-02 @ %s" % self.warehouse.code, run))
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.stock_level("OWN-02", self.warehouse.code), 0)

    # ------------------------------------------------------------------ the channel owns
    def test_channel_owned_pricing_refuses_an_odoo_price_edit_naming_the_owner(self):
        product, unbound = self.products[0], self.products[3]
        self._bind(product)
        self.pricing.system_of_record = "channel"
        for edit in (lambda: product.write({"list_price": 50}),
                     lambda: product.write({"lst_price": 50}),
                     lambda: product.product_tmpl_id.write({"list_price": 50})):
            with self.assertRaisesRegex(UserError, r"Sales Price of .*Owned 00.* is owned by Ownership shop "
                                                   r"\(Pricing policy\)"):
                edit()
        self.assertEqual(product.list_price, 10)
        refusals = self._conflicts(product, action="refused_edit")
        self.assertEqual(len(refusals), 3, "each refusal is recorded")
        self.assertEqual((refusals.mapped("field_name"), refusals[0].odoo_value, refusals[0].owner, refusals[0].state),
                         (["list_price"] * 3, "50", "channel", "resolved"))
        # the same value written again is no edit; an unbound product is not the channel's
        product.write({"list_price": 10})
        unbound.list_price = 55
        self.assertEqual(unbound.list_price, 55)
        # the connector's own changes are never refused
        product.with_context(retail_origin_backend=self.backend.id).list_price = 12
        product.with_context(connector_no_export=True).list_price = 13
        self.assertEqual(product.list_price, 13)
        self.assertFalse(self._pending_prices().filtered(lambda r: r.res_id == product.id),
                         "Odoo sends no price the channel owns")

    def test_overwrite_accepts_the_edit_and_the_reconciliation_restores_the_channel_price(self):
        product = self.products[0]
        self._bind(product)
        self.pricing.write({"system_of_record": "channel", "on_odoo_edit": "overwrite", "mode": "event"})
        product.list_price = 50
        self.assertEqual(product.list_price, 50, "the edit is accepted")
        self.assertFalse(self._pending_prices(), "and not sent to the channel that owns the price")
        run = self.backend._reconcile("pricing")
        conflict = self._conflicts(product)
        self.assertEqual(
            (conflict.odoo_value, conflict.channel_value, conflict.owner, conflict.action, conflict.state,
             conflict.run_id),
            ("50.00 %s" % self.currency, "10.00 %s" % self.currency, "channel", "applied_odoo", "resolved", run))
        self.assertEqual(product.list_price, 10, "Odoo is set back to the channel's price")
        self.assertEqual(run.line_ids.action, "repaired")
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OWN-00")["price"], "10.00")
        self.assertEqual(self.backend._reconcile("pricing").difference_count, 0)

    def test_a_channel_price_in_another_currency_waits_for_a_person(self):
        product = self.products[0]
        self.pricing.system_of_record = "channel"
        other = "EUR" if self.currency != "EUR" else "USD"
        self.channel.set_price("OWN-00", "8.00", other)
        self.backend._reconcile("pricing")
        conflict = self._conflicts(product)
        self.assertEqual((conflict.action, conflict.state), ("waiting", "open"))
        self.assertIn(other, conflict.message)
        self.assertEqual(product.list_price, 10)
        # found again while it waits: counted on the same conflict
        self.backend._reconcile("pricing")
        self.assertEqual(self._conflicts(product).times, 2)

    # ------------------------------------------------------------------ field-level owners
    def test_a_field_owner_line_decides_per_field(self):
        product = self.products[1]
        self._bind(product)
        self.backend.field_owner_ids = [(0, 0, {"model": "product", "field_name": "description_sale",
                                                "owner": "channel"})]
        catalog = self.backend.policy_for("catalog")
        self.assertEqual(catalog.system_of_record, "odoo")
        # the catalog policy runs in batch: a rename waits for its run, nothing is sent now
        with self.assertRaisesRegex(UserError, r"Sales Description of .*Owned 01.* is owned by Ownership shop "
                                               r"\(Catalog policy\)"):
            product.description_sale = "Written in Odoo"
        product.name = "Owned 01, renamed in Odoo"
        self.assertEqual(product.name, "Owned 01, renamed in Odoo", "the rest of the catalog is Odoo's")
        product.list_price = 21
        self.assertEqual(self._pending_prices().res_id, product.id, "and so are its prices: sent to the channel")
        perform_pending_jobs(self.env)
        self.channel.set_price("OWN-01", "5.00", self.currency)
        self.backend._reconcile("pricing")
        self.assertEqual(self._conflicts(product, field_name="list_price").action, "reverted_channel")
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OWN-01")["price"], "21.00")

        # the price given to the channel by a line, while the pricing policy stays Odoo's
        self.backend.field_owner_ids = [(0, 0, {"model": "product", "field_name": "list_price", "owner": "channel"})]
        with self.assertRaisesRegex(UserError, "is owned by Ownership shop"):
            product.list_price = 30
        self.channel.set_price("OWN-01", "25.00", self.currency)
        self.backend._reconcile("pricing")
        latest = self._conflicts(product, field_name="list_price")[0]
        self.assertEqual((latest.owner, latest.action), ("channel", "applied_odoo"))
        self.assertEqual(product.list_price, 25)

    def test_a_field_owner_line_names_a_field_of_its_records(self):
        with self.assertRaisesRegex(UserError, "not a synchronised field of customers"):
            self.backend.field_owner_ids = [(0, 0, {"model": "customer", "field_name": "list_price"})]

    def test_channel_owned_customers_refuse_edits_of_their_synced_fields(self):
        partner = self.env["res.partner"].create({"name": "Channel customer", "email": "c@example.com"})
        self.env["retail.partner.binding"].create(
            {"backend_id": self.backend.id, "odoo_id": partner.id, "external_id": "C-1"})
        self.assertEqual(self.backend.policy_for("customers").system_of_record, "channel")
        with self.assertRaisesRegex(UserError, r"E-?mail of Channel customer is owned by Ownership shop "
                                               r"\(Customers policy\)"):
            partner.email = "changed@example.com"
        partner.comment = "a note is not synchronised"
        self.backend.field_owner_ids = [(0, 0, {"model": "customer", "field_name": "email", "owner": "odoo"})]
        partner.email = "changed@example.com"
        self.assertEqual(partner.email, "changed@example.com")

    def test_a_bound_customer_changed_on_the_channel_follows_the_owner_of_each_field(self):
        from ..lib.canonical import Customer  # noqa: PLC0415

        partner = self.env["res.partner"].create(
            {"name": "Ann Lee", "email": "ann@example.com", "phone": "+32470111111"})
        self.env["retail.partner.binding"].create(
            {"backend_id": self.backend.id, "odoo_id": partner.id, "external_id": "C-9"})
        self.backend.field_owner_ids = [(0, 0, {"model": "customer", "field_name": "phone", "owner": "odoo"})]
        with self.backend.with_context(retail_origin_backend=self.backend.id).work_on("retail.partner.binding") as work:
            resolved, _invoice, _delivery = work.component(usage="customer.resolver").resolve(Customer.from_dict(
                {"external_id": "C-9", "email": "ann.lee@example.com", "phone": "+32470222222"}))
        self.assertEqual(resolved, partner)
        self.assertEqual(partner.email, "ann.lee@example.com", "the channel owns the customers' e-mail: applied")
        self.assertEqual(partner.phone, "+32470111111", "Odoo owns their phone: not applied")
        email = self.env["retail.conflict"].search([("res_model", "=", "res.partner"), ("res_id", "=", partner.id),
                                                    ("field_name", "=", "email")])
        phone = self.env["retail.conflict"].search([("res_model", "=", "res.partner"), ("res_id", "=", partner.id),
                                                    ("field_name", "=", "phone")])
        self.assertEqual((email.owner, email.action, email.state, email.odoo_value, email.channel_value),
                         ("channel", "applied_odoo", "resolved", "ann@example.com", "ann.lee@example.com"))
        self.assertEqual((phone.owner, phone.action, phone.state), ("odoo", "waiting", "open"))
        phone.action_take_channel_value()
        self.assertEqual(partner.phone, "+32470222222")

    # ------------------------------------------------------------------ a person decides
    def test_a_manager_takes_the_channel_value_or_keeps_odoo_value(self):
        manager = new_test_user(self.env, login="own_manager", groups="retail_connector_base.group_retail_manager,"
                                                                      "product.group_product_manager")
        first, second = self.products[1], self.products[2]
        self.channel.set_price("OWN-01", "7.50", self.currency)
        self.channel.set_price("OWN-02", "8.50", self.currency)
        self.backend._reconcile("pricing")
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OWN-01")["price"], "11.00")
        self._conflicts(first).with_user(manager).action_take_channel_value()
        self.assertEqual(first.lst_price, 7.5)
        self.assertEqual((self._conflicts(first).state, self._conflicts(first).resolution), ("resolved", "channel"))
        perform_pending_jobs(self.env)
        self.assertEqual(self.channel.price_of("OWN-01")["price"], "7.50", "the channel gets its value back")
        self._conflicts(second).with_user(manager).action_keep_odoo_value()
        self.assertEqual(self._conflicts(second).resolution, "odoo")
        self.assertEqual(second.lst_price, 12)
        with self.assertRaisesRegex(UserError, "already decided"):
            self._conflicts(second).with_user(manager).action_take_channel_value()

    def test_conflicts_are_for_the_connector_groups_and_resolved_by_managers(self):
        self.channel.set_price("OWN-01", "99.00", self.currency)
        self.backend._reconcile("pricing")
        conflict = self._conflicts(self.products[1])
        self.assertTrue(conflict)
        plain = new_test_user(self.env, login="own_plain", groups="base.group_user,sales_team.group_sale_manager")
        retail_user = new_test_user(self.env, login="own_user", groups="retail_connector_base.group_retail_user")
        with self.assertRaises(AccessError):
            self.env["retail.conflict"].with_user(plain).search([])
        with self.assertRaises(AccessError):
            conflict.with_user(plain).read(["odoo_value"])
        for user in (plain, retail_user):
            for action in ("action_keep_odoo_value", "action_take_channel_value"):
                with self.assertRaises(AccessError, msg="%s %s" % (user.login, action)):
                    getattr(conflict.with_user(user), action)()
        self.assertEqual(conflict.with_user(retail_user).channel_value, "99.00 %s" % self.currency)
        self.assertEqual((conflict.resolution, self.products[1].list_price), ("owner", 11))
