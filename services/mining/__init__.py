"""The mining service: users' machines, digging in the pools, history, the pool centre
and earnings (under /api/mining). The pools themselves run in the pool engine."""

from __future__ import annotations

import redis
from flask import Flask

from ..common import events, pool_centre
from ..common.domain.mining import parse_pools
from ..common.errors import UpstreamUnavailable
from ..common.mining_repositories import MiningStore
from ..common.web import create_service_app
from .routes import bp
from .service import MiningContext

USER_LOCK_S = 10


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.mining:create_app()``."""
    app = create_service_app("mining", bp, overrides)
    backend = app.extensions["backend"]
    settings = backend.settings
    store = MiningStore(backend.db)
    store.ensure_indexes()
    client = backend.redis

    def lock(user: str):
        return _UserLock(
            client.lock(f"mining-lock:{user}", timeout=USER_LOCK_S, blocking_timeout=5)
        )

    def announce(user: str, event: str, data: dict) -> None:
        try:
            client.incr(pool_centre.digs_version_key(store.database))
        except redis.RedisError:  # the engine also re-reads on its own every window
            pass
        events.publish(client, events.user_topic(events.MINING, user), event, data)

    app.extensions["mining"] = MiningContext(
        store=store,
        lock=lock,
        clock_ms=backend.clock_ms,
        pools=tuple(parse_pools(settings.pool_definitions)),
        max_machines=settings.mining_max_machines,
        history_limit=settings.mining_history_limit,
        announce=announce,
        stats=pool_centre.StatsCache(client, store.database),
    )
    return app


class _UserLock:
    """A user's Redis lock as a context manager that answers 503 when it cannot be had."""

    def __init__(self, lock):
        self._lock = lock

    def __enter__(self):
        if not self._lock.acquire():
            raise UpstreamUnavailable("the user's machines are busy; retry")
        return self

    def __exit__(self, *exc):
        try:
            self._lock.release()
        except redis.exceptions.LockError:  # expired: nothing of ours to let go
            pass
