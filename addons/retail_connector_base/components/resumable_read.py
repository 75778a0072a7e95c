# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import math
from contextlib import contextmanager

from odoo.addons.component.core import AbstractComponent

from ..models.retail_rate_bucket import READ_WAIT, RESUMABLE


class ResumableRead(AbstractComponent):
    """A reconciliation's read of a channel listing that gives its worker back when the rate limit makes it wait.

    Run by a job, such a read does not wait for the rate limit (the backend's bucket, or a channel
    that throttles): it stops at the page it was about to ask for, keeps what it read on the run
    (``retail.reconciliation.run._pause_read``), and a later job continues from that page
    (``_continue_reads``). A component says how it continues with ``_resume``:

    - ``"cursor"``: its page reader keeps the channel's cursor of the next page in ``_page_cursor``
      before asking for it, and starts from the cursor it finds there;
    - ``"stamp"``: the channel lists changes oldest first with an inclusive bound, so the read
      starts again at the newest change read (the idempotent inbox absorbs what is read twice);
    - ``None``: the read cannot stop; it waits in the job for a moment, as before.

    A read a person starts (no job), or one run in line (``queue_job__no_delay``), waits as before.
    """

    _name = "retail.resumable.read"
    _inherit = "retail.base"
    _resume = None
    _page_cursor = None

    def _pausable(self, run):
        """Return whether this read of ``run`` may stop at a page boundary and continue in a later job."""
        context = self.env.context
        return bool(self._resume and run is not None and context.get("job_uuid")
                    and not context.get("queue_job__no_delay"))

    @contextmanager
    def _reading(self, run):
        """Run a read of ``run``; yield whether it may stop (then the backend's bucket stops it, see
        ``retail.backend._throttle_outbound``, instead of waiting)."""
        pausable = self._pausable(run)
        cache = self.env.cr.cache
        if pausable:
            cache[RESUMABLE] = True
        try:
            yield pausable
        finally:
            if pausable:
                cache.pop(RESUMABLE, None)

    def _keep_cursor(self, cursor):
        """Keep the channel's cursor of the next page (a page reader's callback, before it asks for that page)."""
        self._page_cursor = cursor

    def _read_wait(self, longest):
        """Return how long a channel client may pause by itself in this read: ``longest``, or a moment in a read
        that stops instead (within ``_reading``)."""
        return READ_WAIT if self.env.cr.cache.get(RESUMABLE) else longest

    def _pause(self, run, error, state):
        """Keep ``state`` (what the read needs to continue) on ``run`` and continue when ``error`` (the rate limit
        met, a ChannelRateLimited) allows; return the seconds until then."""
        wait = max(1, math.ceil(error.retry_after or 1))
        run._pause_read(self._name, wait, str(error), dict(state, cursor=self._page_cursor, model=self.work.model_name))
        return wait
