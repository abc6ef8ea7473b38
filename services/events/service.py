"""Use cases of the events gateway: which topics a stream follows, the bounds on open
streams, and the relay from Redis pub/sub to Server-Sent Events.

Services publish to topics (``services/common/events.py``); the gateway is the only
process that holds a client's stream, so no stream ever holds a thread a command needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from ..common import events
from ..common.auth import Principal
from ..common.domain import account as rules
from ..common.errors import NotFound, TooManyRequests
from ..common.presenters import account_view, money_fields
from ..common.repositories import AccountRepository

log = logging.getLogger(__name__)

KEEP_ALIVE = ": keep-alive\n\n"


@dataclass(frozen=True)
class Stream:
    """What one events path follows for ``user``: its topics, and whether it sends the
    user's account (on connect and after every change)."""

    topics: Callable[[str, str], tuple[str, ...]]  # (user, chain node) -> topics
    account: bool = False


#: Every events path of the platform and what it follows. Private topics are always the
#: caller's own (or, for admin and service, the ``?user=`` they name).
STREAMS: Mapping[str, Stream] = {
    # The stock account: `account` events with the account view, `quote` per fresh quote.
    "/api/users/events": Stream(
        lambda user, _: (events.user_topic(events.ACCOUNT, user), events.QUOTES), account=True
    ),
    "/api/chain/events": Stream(lambda _, node: (events.chain_topic(node),)),
    "/api/wallet/events": Stream(lambda user, _: (events.user_topic(events.WALLET, user),)),
    "/api/mining/events": Stream(
        lambda user, _: (events.POOLS, events.user_topic(events.MINING, user))
    ),
    "/api/market/events": Stream(lambda _, node: (events.MARKET,)),
}


def follower(caller: Principal, requested: str | None) -> str:
    """Whose private topics a stream follows: the caller's, or the user an admin or the
    service names. Forbidden for another user's."""
    user = requested or caller.name
    caller.require_act_for(user)
    return user


class StreamSlots:
    """Open streams per user and in all, in this process (the gateway is one process:
    an event loop holds thousands of idle streams)."""

    def __init__(self, per_user: int, total: int):
        self._per_user = per_user
        self._total = total
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return sum(self._open.values())

    @contextlib.contextmanager
    def take(self, user: str) -> Iterator[None]:
        """Hold one of ``user``'s slots; TooManyRequests when none is free."""
        if self._open[user] >= self._per_user:
            raise TooManyRequests(
                f"{user} already has {self._per_user} open event streams; close one first"
            )
        if self.open >= self._total:
            raise TooManyRequests("the server has no free event stream; retry later")
        self._open[user] += 1
        try:
            yield
        finally:
            self._open[user] -= 1
            if not self._open[user]:
                del self._open[user]


def account_snapshot(
    accounts: AccountRepository, user: str, now_ms: int, pending_ttl_ms: int
) -> dict | None:
    """``user``'s account as DISPLAY_SUMMARY shows it (expired trades rolled back), read
    as last stored and without the user's lock; None if there is no account."""
    account = accounts.get(user)
    if account is None:
        return None
    current = rules.expire_pending(account, now_ms, pending_ttl_ms).account
    return account_view(current, now_ms, pending_ttl_ms)


async def first_snapshot(read: Callable[[None], Awaitable[dict | None]], user: str) -> dict:
    """The account a stream starts with; NotFound before the stream opens if none."""
    snapshot = await read(None)
    if snapshot is None:
        raise NotFound(f"account {user} does not exist")
    return snapshot


async def relay(
    next_message: Callable[[float], Awaitable[tuple[str, bytes] | None]],
    read_account: Callable[[bytes | None], Awaitable[dict | None]] | None,
    first: dict | None,
    max_s: float,
    keepalive_s: float,
) -> AsyncIterator[str]:
    """The stream's Server-Sent Events until ``max_s`` has passed (the client reconnects).

    ``next_message(timeout)`` is the next (topic, message) from pub/sub, or None when
    nothing came within ``timeout``: a keep-alive then. An account change is announced
    by its version; the account is read again and sent whole (``read_account(version)``).
    """
    deadline = time.monotonic() + max_s
    if first is not None:
        yield events.sse("account", first)
    while (left := deadline - time.monotonic()) > 0:
        message = await next_message(min(keepalive_s, left))
        if message is None:
            yield KEEP_ALIVE
            continue
        topic, data = message
        if topic.startswith(events.ACCOUNT + ":"):
            if read_account is not None:
                snapshot = await read_account(data)
                if snapshot is not None:
                    yield events.sse("account", snapshot)
        elif topic == events.QUOTES:
            yield events.sse("quote", money_fields(json.loads(data)))
        else:
            try:
                event, payload = events.decode(data)
            except ValueError:
                log.warning("dropped a malformed message on %s", topic)
                continue
            yield events.sse(event, payload)


async def wait_for_message(pubsub, timeout_s: float) -> tuple[str, bytes] | None:
    """The next message of ``pubsub`` within ``timeout_s``, as (topic, data), or None."""
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
    if message is None:
        await asyncio.sleep(0)  # let cancellation (a client gone) in
        return None
    return message["channel"].decode(), message["data"]
