"""The wallet's job queue (rq on the session's redis-server): one job per piece of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job, JobStatus

from services.common.errors import UpstreamUnavailable
from services.common.jobqueue import QUEUE_NAME, JobQueue, WalletLocks


@pytest.fixture
def queue(rds):
    jobs = JobQueue(rds)
    yield jobs
    Queue(QUEUE_NAME, connection=rds).empty()


def test_the_same_work_queued_twice_is_one_job(queue, rds):
    job_id = "collect-" + uuid.uuid4().hex
    queue.enqueue("services.wallet.jobs.collect", job_id, "a" * 40)
    queue.enqueue("services.wallet.jobs.collect", job_id, "a" * 40)
    waiting = Queue(QUEUE_NAME, connection=rds).get_job_ids()
    assert waiting.count(job_id) == 1
    assert job_id in queue.overview()["queued"]


def test_a_finished_or_abandoned_job_is_queued_again(queue, rds):
    job_id = "collect-" + uuid.uuid4().hex
    queue.enqueue("services.wallet.jobs.collect", job_id, "a" * 40)
    job = Job.fetch(job_id, connection=rds)
    Queue(QUEUE_NAME, connection=rds).remove(job_id)
    job.set_status(JobStatus.FINISHED)
    queue.enqueue("services.wallet.jobs.collect", job_id, "a" * 40)
    assert Job.fetch(job_id, connection=rds).get_status() == JobStatus.QUEUED
    # "Started" on a worker that died two minutes ago: replaced too.
    Queue(QUEUE_NAME, connection=rds).remove(job_id)
    job = Job.fetch(job_id, connection=rds)
    job.set_status(JobStatus.STARTED)
    job.started_at = datetime.now(UTC) - timedelta(minutes=3)
    job.save()
    queue.enqueue("services.wallet.jobs.collect", job_id, "a" * 40)
    assert Job.fetch(job_id, connection=rds).get_status() == JobStatus.QUEUED


def test_a_wallet_lock_is_held_by_one_at_a_time(rds):
    locks = WalletLocks(rds)
    name = "test-" + uuid.uuid4().hex
    with locks.hold(name) as keep:
        keep()
        with pytest.raises(UpstreamUnavailable):
            with locks.hold(name, wait_s=0.2):
                pass
    with locks.hold(name, wait_s=0.2):
        pass
