# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Failure classes on failed events and exports: the cause, its cluster, the fix and the evidence.

Each error recorded on an event or an export request is classified when it is recorded (rules on
its error kind and message, else its nearest labelled examples) and joins the cluster of similar
messages failing now; the workbench groups by both and shows the suggested fix.
"""

import json
import logging

from odoo import api, fields, models

from ..lib.intelligence.classify import CLASS_SELECTION, CLASSES, default_classifier
from ..lib.text import storable_values

_logger = logging.getLogger(__name__)

# failing records whose clusters new failures may join
CLUSTER_SOURCES = (
    ("retail_event", "state IN ('failed', 'dead', 'queued')"),
    ("retail_export_request", "state IN ('failed', 'pending')"),
)
MAX_LEADERS = 500


class RetailFailureClassified(models.AbstractModel):
    """The failure class, cluster, suggested fix and evidence of a record holding ``last_error``."""

    _name = "retail.failure.classified"
    _description = "Retail Connector classified failure"

    failure_class = fields.Selection(
        CLASS_SELECTION, string="Failure class", compute="_compute_failure", store=True, index="btree_not_null", readonly=True,
        help="The kind of problem, from rules on the error and the nearest labelled examples.",
    )
    failure_cluster = fields.Char(
        string="Failure cluster", compute="_compute_failure", store=True, index="btree_not_null", readonly=True,
        help="Similar messages share a cluster: the normalised message of the first one.",
    )
    failure_confidence = fields.Float(compute="_compute_failure", store=True, readonly=True, digits=(3, 2))
    failure_evidence = fields.Text(compute="_compute_failure", store=True, readonly=True,
                                   help="Why this class: the rule that matched, or the nearest labelled examples.")
    failure_fix = fields.Text(string="Suggested fix", compute="_compute_failure_fix")

    def _failure_applies(self):
        """Return whether this record's error is a failure to classify."""
        raise NotImplementedError

    def _failure_kind(self):
        """Return the error kind (exception type or pipeline kind) of the error, if known."""
        return None

    @api.depends("failure_class")
    def _compute_failure_fix(self):
        for record in self:
            record.failure_fix = CLASSES[record.failure_class].fix if record.failure_class else False

    @api.depends("last_error", "state")
    def _compute_failure(self):
        todo = self.filtered(lambda r: r._failure_applies())
        (self - todo).update({"failure_class": False, "failure_cluster": False, "failure_confidence": 0.0,
                              "failure_evidence": False})
        if not todo:
            return
        classifier = default_classifier()
        leaders = self._failure_leaders(exclude=todo)
        for record in todo:
            found = classifier.classify(record.last_error, record._failure_kind())
            same_class = leaders.setdefault(found.code, {})
            key, similarity = classifier.cluster(record.last_error, same_class)
            if key in same_class:
                cluster_line = "- joins cluster %r (similarity %.2f)" % (key, similarity)
            else:
                same_class[key] = record.last_error
                cluster_line = "- leads a new cluster of similar messages"
            record.update({
                "failure_class": found.code,
                "failure_cluster": key,
                "failure_confidence": found.confidence,
                "failure_evidence": "%s\n%s" % (found.explain(), cluster_line),
            })

    def _failure_leaders(self, exclude):
        """Return {class: {cluster key: first message}} of the records failing now (events and exports)."""
        leaders = {}
        cr = self.env.cr
        for table, condition in CLUSTER_SOURCES:
            excluded = tuple(exclude.ids) if exclude._table == table and exclude.ids else (0,)
            cr.execute(
                """
                SELECT DISTINCT ON (failure_class, failure_cluster) failure_class, failure_cluster, last_error
                FROM {table}
                WHERE failure_cluster IS NOT NULL AND last_error IS NOT NULL AND {condition} AND id NOT IN %s
                ORDER BY failure_class, failure_cluster, id
                LIMIT %s
                """.format(table=table, condition=condition),  # noqa: S608 - constant table names and conditions
                (excluded, MAX_LEADERS),
            )
            for code, key, message in cr.fetchall():
                leaders.setdefault(code, {}).setdefault(key, message)
        return leaders


class RetailEvent(models.Model):
    _name = "retail.event"
    _inherit = ["retail.event", "retail.failure.classified"]

    failure_subject = fields.Text(
        readonly=True, help="What matched nothing, as data (a channel SKU, a payment gateway...), for Suggest mappings."
    )

    def _failure_applies(self):
        self.ensure_one()
        return bool(self.last_error) and self.state in ("failed", "dead", "queued") and (
            bool(self.error_kind) or self.state in ("failed", "dead"))

    def _failure_kind(self):
        return self.error_kind or None

    def _fail(self, attempt, exc, permanent, quick=False):
        # before recording the failure: a retry it schedules may run (and fail again) at once
        subject = getattr(exc, "subject", None)
        if isinstance(subject, dict):
            # suggested mappings are written from it: channel codes with a NUL would not store
            subject = storable_values(subject)
        self.write({"failure_subject": json.dumps(subject, sort_keys=True) if subject else False})
        return super()._fail(attempt, exc, permanent, quick=quick)

    def _failure_subject(self):
        """Return the failure's subject as a dict (empty when unknown)."""
        self.ensure_one()
        try:
            return json.loads(self.failure_subject or "{}") or {}
        except ValueError:
            return {}


class RetailExportRequest(models.Model):
    _name = "retail.export.request"
    _inherit = ["retail.export.request", "retail.failure.classified"]

    def _failure_applies(self):
        self.ensure_one()
        return bool(self.last_error) and self.state in ("failed", "pending")


class RetailProductBinding(models.Model):
    _inherit = "retail.product.binding"

    channel_sku = fields.Char(
        string="Channel SKU", index=True,
        help="The SKU (or barcode) the channel gives this product when it differs from the internal reference: "
        "channel lines with this code are this product.",
    )

    _backend_channel_sku_uniq = models.UniqueIndex(
        "(backend_id, channel_sku) WHERE channel_sku IS NOT NULL",
        "This channel SKU is already bound to another product of this backend.",
    )
