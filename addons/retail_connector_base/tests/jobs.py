# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Runs the queue jobs stored in a test transaction, as the job runner would."""

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job


def perform_pending_jobs(env, max_rounds=10, method=None):
    """Perform pending jobs (those they enqueue too) until none is left; return [(method, outcome)].

    A job raising RetryableJobError stays pending with its retry counted, like under the runner,
    and is tried again in the next round (its ETA is not waited for).
    """
    log = []
    for _round in range(max_rounds):
        domain = [("state", "=", "pending")]
        if method:
            domain.append(("method_name", "=", method))
        records = env["queue.job"].search(domain, order="id")
        if not records:
            break
        for record in records:
            job = Job.load(env, record.uuid)
            job.set_started()
            job.store()
            try:
                result = job.perform()
            except RetryableJobError as exc:
                job.set_pending(result=str(exc), reset_retry=False)
                job.store()
                log.append((record.method_name, exc))
                continue
            job.set_done(result=result)
            job.store()
            log.append((record.method_name, result))
    return log
