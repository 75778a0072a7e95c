# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models

from odoo.addons.retail_connector_base.models.retail_access import GROUP_MANAGER, check_retail_access

TENDER_TYPES = [
    ("CASH", "Cash"),
    ("CARD", "Card"),
    ("SQUARE_GIFT_CARD", "Gift card"),
    ("WALLET", "Digital wallet"),
    ("OTHER", "Other"),
]


class RetailPosStore(models.Model):
    """A store of a POS account: its location on the POS, and the Odoo POS that books its sales."""

    _name = "retail.pos.store"
    _description = "Retail Connector POS store"
    _order = "backend_id, name"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    external_id = fields.Char(string="POS location id", required=True)
    name = fields.Char(required=True)
    pos_config_id = fields.Many2one(
        "pos.config", string="Odoo point of sale", required=True,
        help="Its sessions hold the store's sales, one per business day; its operation type says which stock "
        "location the sales take goods from.",
    )
    location_id = fields.Many2one(
        "stock.location", compute="_compute_location_id", string="Store stock",
        help="Where the store's sales take goods from and its counts apply.",
    )
    timezone = fields.Char(default="UTC", help="The store's time zone: business days and the cut-off are local.")
    cutoff_hour = fields.Float(
        string="Day closes at", default=23.0,
        help="Local time at which the store's business day ends: its session closes and its takings are checked. "
        "Sales after it belong to the next day.",
    )
    day_ids = fields.One2many("retail.pos.day", "store_id", string="Business days")
    active = fields.Boolean(default=True)

    _backend_location_uniq = models.Constraint(
        "UNIQUE(backend_id, external_id)", "A POS location is mapped to one store per backend."
    )

    @api.depends("pos_config_id.picking_type_id")
    def _compute_location_id(self):
        for store in self:
            store.location_id = store.pos_config_id.picking_type_id.default_location_src_id

    def _business_date(self, moment):
        """Return the business day of an instant (aware or naive UTC) at this store."""
        self.ensure_one()
        tz = pytz.timezone(self.timezone or "UTC")
        if moment.tzinfo is None:
            moment = pytz.utc.localize(moment)
        local = moment.astimezone(tz)
        hours = local.hour + local.minute / 60.0
        day = local.date()
        return day + timedelta(days=1) if self.cutoff_hour and hours >= self.cutoff_hour else day

    def _day_window(self, day):
        """Return (start, end) of a business day as naive UTC datetimes."""
        self.ensure_one()
        tz = pytz.timezone(self.timezone or "UTC")
        hours = int(self.cutoff_hour or 24)
        minutes = round(((self.cutoff_hour or 24) - hours) * 60)
        end_local = tz.localize(datetime.combine(day, time(0))) + timedelta(hours=hours, minutes=minutes)
        start_local = end_local - timedelta(days=1)
        return (start_local.astimezone(pytz.utc).replace(tzinfo=None), end_local.astimezone(pytz.utc).replace(tzinfo=None))


class RetailPosTender(models.Model):
    """How a POS tender type is booked in Odoo: the POS payment method of its payments."""

    _name = "retail.pos.tender"
    _description = "Retail Connector POS tender mapping"

    backend_id = fields.Many2one("retail.backend", required=True, ondelete="cascade", index=True)
    store_id = fields.Many2one(
        "retail.pos.store", ondelete="cascade",
        help="Only for this store (Odoo gives each point of sale its own cash method); empty: every store.",
    )
    tender_type = fields.Selection(TENDER_TYPES, required=True)
    payment_method_id = fields.Many2one("pos.payment.method", required=True)

    _backend_tender_uniq = models.UniqueIndex(
        "(backend_id, tender_type, COALESCE(store_id, 0))", "A tender type is mapped once per backend and store."
    )


class RetailPosDay(models.Model):
    """One business day of one store: its Odoo session, and its takings against the POS's."""

    _name = "retail.pos.day"
    _description = "Retail Connector store day"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "business_date desc, store_id"
    _rec_name = "display_name"

    store_id = fields.Many2one("retail.pos.store", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="store_id.backend_id", store=True, index=True)
    company_id = fields.Many2one(related="store_id.company_id", store=True)
    business_date = fields.Date(required=True, index=True)
    session_id = fields.Many2one("pos.session", readonly=True)
    session_state = fields.Selection(related="session_id.state", string="Session status")
    state = fields.Selection(
        [("open", "Open"), ("closed", "Closed, takings match"), ("difference", "Closed, takings differ")],
        default="open", required=True, tracking=True,
    )
    order_count = fields.Integer(compute="_compute_order_count")
    total_line_ids = fields.One2many("retail.pos.day.total", "day_id", string="Takings per tender")
    imported_at_close = fields.Integer(
        readonly=True, help="Sales the end-of-day batch found on the POS that no webhook had brought."
    )

    payout_id = fields.Many2one(
        "retail.payout", compute="_compute_payout_id", string="Card payout",
        help="The day's card takings as a payout of the store's backend, settled by the finance policy's run.",
    )

    _store_date_uniq = models.Constraint("UNIQUE(store_id, business_date)", "One record per store and business day.")

    def _payout_key(self):
        """Return the external id of the payout of this day's card takings."""
        self.ensure_one()
        return "%s-%s" % (self.store_id.external_id, self.business_date)

    def _compute_payout_id(self):
        Payout = self.env["retail.payout"]
        for day in self:
            day.payout_id = Payout.search(
                [("backend_id", "=", day.backend_id.id), ("external_id", "=", day._payout_key())], limit=1
            ) if day.id and day.business_date else Payout

    @api.depends("store_id.name", "business_date")
    def _compute_display_name(self):
        for day in self:
            day.display_name = "%s %s" % (day.store_id.name or "", day.business_date or "")

    def _compute_order_count(self):
        for day in self:
            day.order_count = len(day.session_id.order_ids)

    def action_close(self):
        """Run the end of day now: import missed sales, close the session, check the takings."""
        check_retail_access(self, "write", GROUP_MANAGER)
        for day in self:
            with day.backend_id.work_on("retail.pos.day") as work:
                work.component(usage="pos.day.closer").close(day)
        return True

    def action_view_orders(self):
        check_retail_access(self, "read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("point_of_sale.action_pos_pos_form")
        action["domain"] = [("session_id", "=", self.session_id.id)]
        return action


class RetailPosDayTotal(models.Model):
    _name = "retail.pos.day.total"
    _description = "Retail Connector store day takings per tender"

    day_id = fields.Many2one("retail.pos.day", required=True, ondelete="cascade", index=True)
    tender_type = fields.Char(required=True)
    currency_id = fields.Many2one(related="day_id.session_id.currency_id")
    odoo_amount = fields.Monetary(string="In Odoo")
    pos_amount = fields.Monetary(string="On the POS")
    difference = fields.Monetary()


class RetailPosOrderBinding(models.Model):
    """A store sale (or return) of the POS booked as an Odoo POS order."""

    _name = "retail.pos.order.binding"
    _inherit = "retail.binding"
    _inherits = {"pos.order": "odoo_id"}
    _description = "Retail POS Order Binding"

    odoo_id = fields.Many2one("pos.order", string="Odoo POS order", required=True, ondelete="cascade", index=True)
    store_id = fields.Many2one("retail.pos.store", ondelete="set null")
    business_date = fields.Date()


class PosOrder(models.Model):
    _inherit = "pos.order"

    retail_bind_ids = fields.One2many(
        "retail.pos.order.binding", "odoo_id", string="Retail channels", groups="retail_connector_base.group_retail_user"
    )
