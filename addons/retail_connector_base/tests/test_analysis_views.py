# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from datetime import date, datetime, time, timedelta

from lxml import etree

from odoo import fields
from odoo.tests import tagged

from .common import RetailCase


@tagged("post_install", "-at_install")
class TestAnalysisViews(RetailCase):
    """Each Reporting entry opens a graph grouped the way its question is asked, and a pivot beside it."""

    def _graph_groupby(self, action_xmlid):
        action = self.env["ir.actions.act_window"]._for_xml_id(action_xmlid)
        self.assertEqual(action["view_mode"].split(",")[:2], ["graph", "pivot"], "the chart opens first")
        model = self.env[action["res_model"]]
        views = model.get_views([(action["view_id"] and action["view_id"][0], "graph"), (False, "pivot")])["views"]
        arch = etree.fromstring(views["graph"]["arch"])
        rows = ["%s:%s" % (f.get("name"), f.get("interval")) if f.get("interval") else f.get("name")
                for f in arch.iter("field") if f.get("type") in ("row", "col")]
        self.assertTrue(etree.fromstring(views["pivot"]["arch"]).xpath("//field[@type='row']"))
        return action, model, rows

    def test_failures_by_cause_this_week_group_the_failed_events_by_class(self):
        now = fields.Datetime.now()
        Event = self.env["retail.event"]
        for index, (error, age) in enumerate((("Connection refused by 10.0.0.1", 1), ("Connection refused by 10.0.0.2", 2),
                                              ("No product with SKU X-1", 3), ("No product with SKU X-2", 20))):
            Event.create({"backend_id": self.backend.id, "topic": "orders/create", "domain": "orders",
                          "aggregate_type": "order", "aggregate_key": "f%d" % index, "idempotency_key": "an-%d" % index,
                          "payload": "{}", "state": "failed", "last_error": error,
                          "received_at": now - timedelta(days=age)})
        action, model, rows = self._graph_groupby("retail_connector_base.action_retail_failure_analysis")
        self.assertEqual(rows, ["failure_class", "backend_id"])
        context = action["context"] if isinstance(action["context"], dict) else eval(action["context"])  # noqa: S307
        self.assertEqual(context, {"search_default_needs_attention": 1, "search_default_last_7_days": 1})
        week = [("state", "in", ("failed", "dead")),
                ("received_at", ">=", fields.Date.to_string(fields.Date.today() - timedelta(days=7)))]
        groups = dict(model._read_group(week + [("backend_id", "=", self.backend.id)], ["failure_class"], ["__count"]))
        self.assertEqual(sum(groups.values()), 3, "the event of 20 days ago is not this week's")
        recent = Event.search([("idempotency_key", "in", ("an-0", "an-1", "an-2"))])
        self.assertEqual(set(groups), set(recent.mapped("failure_class")))

    def test_each_reporting_question_has_its_grouping(self):
        expected = {
            "action_retail_orders_per_channel": ["hour:day", "backend_id"],
            "action_retail_event_analysis": ["received_at:day", "state"],
            "action_retail_event_group_analysis": ["failure_class"],
            "action_retail_export_analysis": ["requested_at:day", "domain"],
            "action_retail_reconciliation_line_analysis": ["kind", "backend_id"],
            "action_retail_payout_analysis": ["date:week", "backend_id"],
            "action_retail_payout_exception_analysis": ["exception_reason"],
        }
        for xmlid, rows in expected.items():
            _action, _model, found = self._graph_groupby("retail_connector_base.%s" % xmlid)
            self.assertEqual(found, rows, xmlid)
        # every one is two clicks away: Reporting, then the question
        reporting = self.env.ref("retail_connector_base.menu_retail_reporting")
        actions = {menu.action.xml_id.split(".")[1] for menu in reporting.child_id if menu.action}
        self.assertLessEqual(set(expected), actions)

    def test_orders_per_channel_per_day_counts_the_hourly_orders(self):
        Metric = self.env["retail.metric.hourly"]
        day = datetime.combine(date.today() - timedelta(days=1), time(10))
        Metric.create([{"backend_id": self.backend.id, "domain": "orders", "hour": day + timedelta(hours=h),
                        "orders": 3} for h in range(2)] + [
                       {"backend_id": self.backend.id, "domain": "inventory", "hour": day, "exports": 5}])
        action = self.env["ir.actions.act_window"]._for_xml_id("retail_connector_base.action_retail_orders_per_channel")
        domain = eval(action["domain"]) + [("backend_id", "=", self.backend.id)]  # noqa: S307
        groups = Metric._read_group(domain, ["hour:day", "backend_id"], ["orders:sum"])
        self.assertEqual([(backend, total) for _day, backend, total in groups], [(self.backend, 6)])
