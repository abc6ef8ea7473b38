"""The adapters one gateway process uses: token checks, the account repository (read
off the event loop), the Redis pub/sub connection and the stream slots."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator

import redis.asyncio
from aiohttp import web

from ..common.auth import Principal
from ..common.backend import Backend
from ..common.config import Settings
from . import service


class Gateway:
    """Everything a stream needs, created once per process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # The synchronous adapters (MongoDB, token checks) the services use, so the
        # gateway authenticates and reads accounts exactly as they do.
        self.backend = Backend(settings)
        self.redis = redis.asyncio.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, health_check_interval=30
        )
        self.slots = service.StreamSlots(
            settings.events_max_streams_per_user, settings.events_max_streams
        )
        # The last account view read per followed user, by the version announced: a
        # change followed by five streams costs one read, not five.
        self._views: dict[str, tuple[bytes, asyncio.Future]] = {}
        self._followers: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return self.slots.open

    def verify(self, authorization: str | None) -> Principal:
        """The caller behind a bearer token (401 otherwise): the services' own check."""
        return self.backend.auth.verify(authorization)

    async def account(self, user: str, version: bytes | None = None) -> dict | None:
        """``user``'s account view, read in a worker thread (pymongo blocks); for an
        announced ``version``, read once for every stream that follows the user."""
        if version is None:
            return await self._read(user)
        held = self._views.get(user)
        if held is None or held[0] != version:
            held = (version, asyncio.ensure_future(self._read(user)))
            self._views[user] = held
        return await asyncio.shield(held[1])

    async def _read(self, user: str) -> dict | None:
        now_ms = time.time_ns() // 1_000_000
        ttl_ms = int(self.settings.pending_ttl_s * 1000)
        return await asyncio.to_thread(
            service.account_snapshot, self.backend.accounts, user, now_ms, ttl_ms
        )

    @contextlib.contextmanager
    def following(self, user: str) -> Iterator[None]:
        """One more stream following ``user``'s account; the last one to go takes the
        remembered view with it."""
        self._followers[user] += 1
        try:
            yield
        finally:
            self._followers[user] -= 1
            if not self._followers[user]:
                del self._followers[user]
                self._views.pop(user, None)

    @contextlib.asynccontextmanager
    async def subscription(self, topics: Iterable[str]) -> AsyncIterator:
        """A pub/sub subscription to ``topics`` for one stream."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*topics)
            yield pubsub
        finally:
            await pubsub.aclose()

    async def ping(self) -> None:
        await self.redis.ping()
        await asyncio.to_thread(self.backend.ping)

    async def close(self) -> None:
        await self.redis.aclose()
        self.backend.close()


GATEWAY = web.AppKey("gateway", Gateway)
