"""cxbot's jobs as procrastinate tasks: names, retries and the periodic ones."""

from __future__ import annotations

from procrastinate import App, BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job

from bot.delivery.errors import Postponed
from bot.delivery.jobs import DeliveryJobs
from bot.delivery.queue import QUEUE, Kind

CATCH_UP = "cxbot.catch_up"
PURGE_COMMENTS = "cxbot.purge_comments"
# Unexpected errors (SQL or Redis away): try again after 2, 4, ... seconds, at most 5 min.
ERROR_BACKOFF_CAP_S = 300


class DeliveryRetry(BaseRetryStrategy):
    """A Postponed job comes back when its bucket frees, keeping its place in the queue.

    Any other error (a database or Redis outage) is retried with a capped backoff, without
    end: the job's SQL row decides, each time, whether there is anything left to do.
    Platform failures never get here: the jobs handle them (DeliveryJobs).
    """

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, Postponed):
            return RetryDecision(retry_at=exception.at)
        if isinstance(exception, Exception):
            wait = min(2 ** min(job.attempts + 1, 9), ERROR_BACKOFF_CAP_S)
            return RetryDecision(retry_in={"seconds": wait})
        return None  # cancelled at shutdown: the catch-up settles what it left behind


def register_tasks(app: App, jobs: DeliveryJobs) -> None:
    """Declare the tasks on `app`, bound to `jobs` (one App per Delivery)."""
    retry = DeliveryRetry()

    @app.task(name=Kind.SEND.value, queue=QUEUE, retry=retry)
    async def send(invitation_id: int, failures: int = 0) -> str:
        return await jobs.send(invitation_id, failures)

    @app.task(name=Kind.REMIND.value, queue=QUEUE, retry=retry)
    async def remind(invitation_id: int, failures: int = 0) -> str:
        return await jobs.remind(invitation_id, failures)

    @app.task(name=Kind.EXPIRE.value, queue=QUEUE, retry=retry)
    async def expire(invitation_id: int) -> str:
        return await jobs.expire(invitation_id)

    # Periodic jobs have priority 0, above every invitation's (see queue.priority_for).
    @app.periodic(cron="* * * * *", periodic_id="catch-up")
    @app.task(name=CATCH_UP, queue=QUEUE, queueing_lock=CATCH_UP)
    async def catch_up(timestamp: int) -> int:
        return await jobs.catch_up()

    if jobs.retention_days is not None:

        @app.periodic(cron="17 3 * * *", periodic_id="retention")
        @app.task(name=PURGE_COMMENTS, queue=QUEUE, queueing_lock=PURGE_COMMENTS)
        async def purge_comments(timestamp: int) -> int:
            return await jobs.purge_comments()
