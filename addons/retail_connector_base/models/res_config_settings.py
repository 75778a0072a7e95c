# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    retail_retention_days = fields.Integer(
        string="Payload retention (days)",
        config_parameter="retail_connector.retention_days",
        default=90,
        help="Raw payloads older than this are purged; metadata is kept.",
    )
    retail_retry_max = fields.Integer(
        string="Retries before dead letter",
        config_parameter="retail_connector.retry_max",
        default=5,
    )
    retail_retry_pattern = fields.Char(
        string="Retry back-off",
        config_parameter="retail_connector.retry_pattern",
        default="1:10,3:60,5:300",
        help="attempt:seconds pairs: from that attempt on, wait that long before retrying. Events, workflow steps, "
        "relays and export sends all follow it; a channel's Retry-After wins when it asks for longer.",
    )
    retail_webhook_secret_grace_hours = fields.Integer(
        string="Previous webhook secret valid for (hours)",
        config_parameter="retail_connector.webhook_secret_grace_hours",
        default=24,
        help="After a webhook secret changes, webhooks signed with the previous one are accepted this long, then "
        "refused and the previous secret deleted. 0: refused as soon as the secret changes.",
    )
    retail_alert_partner_ids = fields.Char(
        string="Alert recipients",
        config_parameter="retail_connector.alert_emails",
        help="Comma-separated e-mail addresses that receive Retail Connector alerts.",
    )
    retail_max_body_bytes = fields.Integer(
        string="Largest request (bytes)",
        config_parameter="retail_connector.max_body_bytes",
        default=2097152,
        help="Webhooks and API calls with a larger body are refused (413) before being read.",
    )
    retail_keep_rejected_bodies = fields.Boolean(
        string="Keep bodies of rejected requests",
        config_parameter="retail_connector.keep_rejected_bodies",
        help="Off: a refused request is recorded with its metadata and body digest only.",
    )
    retail_metrics_token = fields.Char(
        string="Metrics token",
        config_parameter="retail_connector.metrics_token",
        help="Bearer token Prometheus sends to /retail/metrics; empty: the endpoint answers 401.",
    )
