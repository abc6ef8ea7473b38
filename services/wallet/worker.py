"""``python -m services.wallet.worker``: the collection worker (rq, queue ``wallet``).

One process runs the jobs one at a time, with rq's scheduler for the retries' backoff.
A job killed half-way is re-run (rq marks it failed and retries it, and the block
analyser queues unfinished work again); every job is idempotent.
"""

from __future__ import annotations

import redis
from rq.worker import SimpleWorker

from ..common.config import load_settings
from ..common.jobqueue import QUEUE_NAME
from . import jobs
from .context import build_wallet


def main() -> None:
    wallet = build_wallet()
    jobs.bind(wallet)
    # Its own connection: the worker blocks on the queue far longer than the services'
    # short socket timeout allows.
    connection = redis.Redis.from_url(load_settings().redis_url, health_check_interval=30)
    # SimpleWorker: jobs run in this process (no fork per job), on the Wallet built above.
    # Maintenance every 30 s (rq's default is 10 min): the jobs a killed worker left
    # "started" are moved to failed, and retried, soon after.
    worker = SimpleWorker([QUEUE_NAME], connection=connection, maintenance_interval=30)
    worker.work(with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
