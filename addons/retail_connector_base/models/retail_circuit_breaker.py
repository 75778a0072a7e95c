# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError

from ..lib.http import ChannelError, ChannelRateLimited, parse_retry_after


class RetailCircuitBreaker(models.AbstractModel):
    """Circuit breaker of a backend: transport failures in a row make it degraded, a probe resumes it.

    Inherited by ``retail.backend``, whose ``state`` it sets (ok / degraded); the channel clients
    report each outcome to ``_observe_outcome``. While the circuit is open exports wait, and the
    probe job sends them when the channel answers again.
    """

    _name = "retail.circuit.breaker"
    _description = "Retail Connector circuit breaker"

    failure_threshold = fields.Integer(
        default=5, help="Consecutive transport failures after which the backend turns degraded and its exports wait."
    )
    consecutive_failures = fields.Integer(readonly=True, copy=False, default=0)
    degraded_since = fields.Datetime(readonly=True, copy=False)
    probe_interval = fields.Integer(string="Probe every (s)", default=60, help="How often a degraded backend is checked.")

    def _observe_outcome(self, outcome):
        """Feed the circuit breaker and the rate limiter from a response or a ChannelError (client hook).

        A 429 or a channel saying it has no request left (``X-RateLimit-Remaining: 0``,
        ``Retry-After``) empties the shared bucket, so that no worker sends before the channel
        allows it again.
        """
        if isinstance(outcome, ChannelRateLimited):
            self._drain_outbound(outcome.retry_after or 1.0)
        elif isinstance(outcome, ChannelError):
            if outcome.retryable:
                self._register_transport_failure(outcome)
        else:
            headers = {k.lower(): v for k, v in (outcome.headers or {}).items()}
            if headers.get("x-ratelimit-remaining") == "0":
                self._drain_outbound(parse_retry_after(headers.get("retry-after") or headers.get("x-ratelimit-reset"), 1.0))
            self._register_transport_success()

    def _drain_outbound(self, seconds):
        self.env["retail.rate.bucket"]._drain("outbound:%d" % self.id, min(seconds, 3600), self.rate_limit_rps)

    def _register_transport_failure(self, exc):
        """Count a transport failure, committed at once; open the circuit at the threshold.

        The count lives in its own transaction so that it survives the rollback of the failing
        job; a backend not yet committed is counted in the current transaction instead.
        """
        self.ensure_one()
        with self.env.registry.cursor() as cr:
            if not self._count_failure(cr, exc):
                self._count_failure(self.env.cr, exc)
        self.invalidate_recordset(["consecutive_failures", "state", "degraded_since"])

    def _count_failure(self, cr, exc):
        cr.execute(
            "UPDATE retail_backend SET consecutive_failures = COALESCE(consecutive_failures, 0) + 1 WHERE id = %s "
            "RETURNING consecutive_failures, state",
            (self.id,),
        )
        row = cr.fetchone()
        if not row:
            return False
        failures, state = row
        if failures >= self.failure_threshold and state == "ok":
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env[self._name].browse(self.id)
            backend.write({"state": "degraded", "degraded_since": fields.Datetime.now()})
            backend.message_post(
                body=env._(
                    "Degraded after %(count)s consecutive failures (last: %(error)s). Exports wait; "
                    "a probe checks the channel every %(interval)s s and resumes by itself.",
                    count=failures,
                    error=str(exc),
                    interval=self.probe_interval,
                )
            )
            backend._schedule_probe()
            # logged as whoever met the failure: the connector user when a job did
            env(user=self.env.uid)["retail.audit.log"]._log(
                backend, "write", {backend.id: "State: ok → degraded after %d consecutive failures" % failures})
        return True

    def _circuit_open(self):
        """Return whether the backend is degraded or paused as committed now (not as this transaction saw it)."""
        self.ensure_one()
        self.invalidate_recordset(["state"])
        if self.state != "ok":
            return True
        # the breaker commits in its own transaction, which this one's snapshot does not see
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT state FROM retail_backend WHERE id = %s", (self.id,))
            row = cr.fetchone()
        return bool(row) and row[0] != "ok"

    def _register_transport_success(self):
        self.ensure_one()
        if self.consecutive_failures:
            self.consecutive_failures = 0

    def _schedule_probe(self, delay=None):
        for backend in self:
            backend._as_connector(backend).with_delay(
                channel="root.retail",
                eta=int(delay or backend.probe_interval),
                identity_key="retail-probe-%d" % backend.id,
                description="%s: probe the channel" % backend.name,
            )._probe()

    def _probe(self):
        """Check a degraded channel; on success resume the backend and send what waited (queue job)."""
        self.ensure_one()
        if self.state != "degraded":
            return "not degraded"
        try:
            with self.work_on(self._name) as work:
                message = work.component(usage="connection.tester").test_connection()
        except (ChannelError, UserError) as exc:
            self._schedule_probe()
            return "still failing: %s" % exc
        self.write({"state": "ok", "consecutive_failures": 0, "degraded_since": False})
        self.env["retail.audit.log"]._log(self, "write", {self.id: "State: degraded → ok, the probe reached the channel"})
        self.message_post(body=self.env._("Recovered: %(message)s Waiting exports are being sent.", message=message))
        self.env["retail.export.request"]._flush_waiting(self)
        return "recovered"
