"""The wallet's job queue (rq on our Redis) and its named locks.

Jobs are named by dotted path (``services.wallet.jobs.collect``), so whoever enqueues
imports nothing of the worker's code. A job has a fixed id per piece of work (e.g.
``collect-<address>``): enqueueing it again while it is queued or running
changes nothing, and every job is idempotent besides, so a retry (rq's ``Retry`` with
growing intervals) or a second copy never does the work twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import redis
from redis.exceptions import LockError, RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from .errors import UpstreamUnavailable

QUEUE_NAME = "wallet"
#: Seconds between retries of a failed job: quick at first, then backing off.
RETRY_INTERVALS = [1, 2, 4, 8, 15, 30, 60, 120]


class WalletLocks:
    """Short Redis locks around one withdrawal, sweep or signing address: the state
    checks and changes made under one are never interleaved with another process's."""

    def __init__(self, client: redis.Redis, timeout_s: float = 60.0):
        self._redis = client
        self._timeout_s = timeout_s

    @contextmanager
    def hold(self, name: str, wait_s: float = 10.0) -> Iterator[Callable[[], None]]:
        """Hold ``wallet-lock:<name>``; UpstreamUnavailable if it stays taken. Yields a
        function that renews the lock, for long holders (it raises UpstreamUnavailable
        if the lock was lost meanwhile)."""
        lock = self._redis.lock(
            f"wallet-lock:{name}", timeout=self._timeout_s, blocking_timeout=wait_s, sleep=0.01
        )
        try:
            acquired = lock.acquire()
        except RedisError as exc:
            raise UpstreamUnavailable(f"lock service unavailable: {exc}") from exc
        if not acquired:
            raise UpstreamUnavailable(f"{name} is busy; retry")

        def keep() -> None:
            try:
                lock.reacquire()
            except (LockError, RedisError) as exc:
                raise UpstreamUnavailable(f"lost the lock {name}: {exc}") from exc

        try:
            yield keep
        finally:
            try:
                lock.release()
            except (LockError, RedisError):
                pass  # expired: the state guards in the writes catch any overlap


#: A wallet job takes seconds; one "started" for longer ran on a worker that died.
ABANDONED_AFTER_S = 120


def _abandoned(job: Job) -> bool:
    started = job.started_at
    if started is None:
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return (datetime.now(UTC) - started).total_seconds() > ABANDONED_AFTER_S


class JobQueue:
    """Enqueues the wallet's jobs and reports on them for admins."""

    def __init__(self, client: redis.Redis, retries: int = len(RETRY_INTERVALS)):
        self._queue = Queue(QUEUE_NAME, connection=client)
        self._retries = retries

    def enqueue(self, function: str, job_id: str, *args, delay_s: float = 0) -> None:
        """Run ``function(*args)`` on the worker, once per ``job_id`` at a time.

        A job with this id that is queued, scheduled or running is left alone; one that
        finished or failed is replaced by a fresh one.
        """
        existing = (
            Job.fetch(job_id, connection=self._queue.connection) if self._exists(job_id) else None
        )
        if existing is not None:
            status = existing.get_status(refresh=True)
            if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                return
            if status == JobStatus.STARTED and not _abandoned(existing):
                return
            existing.delete()
        retry = Retry(max=self._retries, interval=RETRY_INTERVALS) if self._retries else None
        options = {"job_id": job_id, "retry": retry, "result_ttl": 3600, "failure_ttl": 86400}
        if delay_s > 0:
            self._queue.enqueue_in(timedelta(seconds=delay_s), function, *args, **options)
        else:
            self._queue.enqueue(function, *args, **options)

    def _exists(self, job_id: str) -> bool:
        return bool(self._queue.connection.exists(Job.key_for(job_id)))

    def overview(self, limit: int = 50) -> dict:
        """Queued, running and failed jobs (ids and what failed), for the admin view."""
        connection = self._queue.connection
        started = StartedJobRegistry(queue=self._queue)
        failed = FailedJobRegistry(queue=self._queue)
        failures = []
        for job in Job.fetch_many(failed.get_job_ids(0, limit - 1), connection=connection):
            if job is not None:
                info = job.latest_result()
                failures.append(
                    {"id": job.id, "error": (info.exc_string or "")[-300:] if info else ""}
                )
        return {
            "queued": self._queue.get_job_ids(0, limit - 1),
            "queued_count": self._queue.count,
            "running": started.get_job_ids(0, limit - 1),
            "failed": failures,
            "failed_count": failed.count,
        }
