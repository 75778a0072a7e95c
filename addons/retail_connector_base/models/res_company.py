# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import psycopg2.errors

from odoo import api, models
from odoo.exceptions import ConcurrencyError
from odoo.tools import ormcache

SERVICE_GROUP = "retail_connector_base.group_retail_service"
SERVICE_LOGIN = "retail-connector-%d"


class ResCompany(models.Model):
    _inherit = "res.company"

    def _retail_connector_user(self):
        """Return the connector's service user of this company, created on first use.

        One internal user per company, in that company only, with the service group's rights
        and no password: nobody logs in as it, the gateway and the queue jobs run as it. The
        unique login keeps it to one: of two transactions creating it at once, the second
        fails on the login and runs again (ConcurrencyError), then finds the first one's.
        """
        self.ensure_one()
        Users = self.env["res.users"].sudo().with_context(active_test=False)
        login = SERVICE_LOGIN % self.id
        found = self._retail_connector_user_id(self.id)
        user = Users.browse(found) if found else Users
        if not user:
            try:
                with self.env.cr.savepoint():
                    user = Users.with_context(no_reset_password=True, mail_create_nolog=True,
                                              mail_create_nosubscribe=True, tracking_disable=True).create({
                        "name": self.env._("Retail Connector (%(company)s)", company=self.name),
                        "login": login,
                        "company_id": self.id,
                        "company_ids": [(6, 0, self.ids)],
                        "group_ids": [(6, 0, self.env.ref(SERVICE_GROUP).ids)],
                        "notification_type": "inbox",
                    })
            except psycopg2.errors.UniqueViolation:
                raise ConcurrencyError(
                    "The connector user of company %s was created by a concurrent transaction" % self.id
                ) from None
            self.env.registry.clear_cache()
        return self.env["res.users"].browse(user.id)

    @ormcache("company_id")
    def _retail_connector_user_id(self, company_id):
        """Return the id of a company's connector user, or None (cached: every request needs it)."""
        self.env.cr.execute("SELECT id FROM res_users WHERE login = %s", (SERVICE_LOGIN % company_id,))
        row = self.env.cr.fetchone()
        return row[0] if row else None

    def _retail_connector_env(self):
        """Return an environment as this company's connector user, in this company only, keeping the context."""
        self.ensure_one()
        return self._retail_connector_env_of(self.id)

    @api.model
    def _retail_connector_env_of(self, company_id):
        """Return an environment as the connector user of the company ``company_id`` (see ``_retail_connector_env``)."""
        uid = self._retail_connector_user_id(company_id) or self.browse(company_id)._retail_connector_user().id
        return self.env(user=uid, su=False, context=dict(self.env.context, allowed_company_ids=[company_id]))

    @api.model
    def _retail_create_connector_users(self):
        """Create the connector user of every company that has none (module installation)."""
        for company in self.sudo().search([]):
            company._retail_connector_user()
