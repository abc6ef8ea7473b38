"""The events gateway's rules: stream slots, whose topics a caller follows, and the
relay from pub/sub messages to Server-Sent Events (the gateway's e2e test runs it whole)."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.common import events
from services.common.auth import ADMIN, USER, Principal
from services.common.config import load_settings
from services.common.errors import Forbidden, TooManyRequests
from services.events import service
from services.events.gateway import Gateway


def test_a_user_holds_at_most_their_share_of_streams_and_everyone_at_most_the_total():
    slots = service.StreamSlots(per_user=2, total=3)
    with slots.take("ann"), slots.take("ann"):
        with pytest.raises(TooManyRequests, match="ann already has 2"):
            with slots.take("ann"):
                pass
        with slots.take("bob"):
            with pytest.raises(TooManyRequests, match="no free event stream"):
                with slots.take("cy"):
                    pass
            assert slots.open == 3
    assert slots.open == 0  # every slot is given back, refused ones took none
    with slots.take("ann"), slots.take("ann"):
        assert slots.open == 2


def test_a_user_follows_only_their_own_private_topics_and_admin_anyones():
    ann = Principal("ann", USER)
    assert service.follower(ann, None) == "ann"
    assert service.follower(ann, "ann") == "ann"
    with pytest.raises(Forbidden):
        service.follower(ann, "bob")
    assert service.follower(Principal("root", ADMIN), "bob") == "bob"


def test_every_path_maps_to_its_topics():
    topics = {path: stream.topics("ann", "node-a") for path, stream in service.STREAMS.items()}
    assert topics == {
        "/api/users/events": ("account:ann", "quotes"),
        "/api/chain/events": ("chain:node-a",),
        "/api/wallet/events": ("wallet:ann",),
        "/api/mining/events": ("pools", "mining:ann"),
        "/api/market/events": ("market",),
    }


def _relay(messages, read_account=None, first=None, max_s=5.0, keepalive_s=1.0) -> list[str]:
    pending = list(messages)

    async def next_message(timeout_s):
        if not pending:
            await asyncio.sleep(timeout_s)  # nothing more comes
            return None
        return pending.pop(0)

    async def collect():
        relayed = service.relay(next_message, read_account, first, max_s, keepalive_s)
        return [chunk async for chunk in relayed]

    return asyncio.run(collect())


def test_the_relay_sends_the_account_then_each_event_as_sse_until_its_time_is_up():
    views = iter([{"cash": "2.00"}])

    async def read_account(version):
        assert version == b"7"  # the version announced
        return next(views)

    chunks = _relay(
        [
            ("account:ann", b"7"),  # a change: the account is read and sent whole
            ("quotes", json.dumps({"symbol": "ABC", "price": 1234, "quoted_at": 5}).encode()),
            ("wallet:ann", events.encode("deposit", {"amount": "1.5"}).encode()),
            ("market", b"not json"),  # dropped, the stream goes on
            ("pools", events.encode("stats", {"n": 1}).encode()),
        ],
        read_account,
        first={"cash": "1.00"},
        max_s=0.5,
        keepalive_s=0.2,
    )
    assert chunks[:5] == [
        'event: account\ndata: {"cash":"1.00"}\n\n',
        'event: account\ndata: {"cash":"2.00"}\n\n',
        'event: quote\ndata: {"symbol":"ABC","price":"12.34","quoted_at":5}\n\n',
        'event: deposit\ndata: {"amount":"1.5"}\n\n',
        'event: stats\ndata: {"n":1}\n\n',
    ]
    # Then keep-alives while nothing comes, until the stream ends on its own.
    assert chunks[5:] and set(chunks[5:]) == {service.KEEP_ALIVE}


def test_a_change_followed_by_several_streams_is_read_once():
    settings = load_settings(
        {
            "jwt_secret": "a-jwt-secret-of-16-chars",
            "admin_password": "admin-password",
            "service_password": "service-password",
            "mongo_uri": "mongodb://127.0.0.1:9/",  # never reached: reads are replaced
            "redis_url": "redis://127.0.0.1:9/0",
        }
    )
    gateway = Gateway(settings)
    reads = []

    async def read(user):
        reads.append(user)
        await asyncio.sleep(0.01)
        return {"cash": str(len(reads))}

    gateway._read = read

    async def follow():
        with gateway.following("ann"):
            views = await asyncio.gather(*(gateway.account("ann", b"3") for _ in range(5)))
            return views, await gateway.account("ann", b"4")

    try:
        views, next_view = asyncio.run(follow())
    finally:
        gateway.backend.close()
    assert views == [{"cash": "1"}] * 5  # five streams, version 3: one read
    assert next_view == {"cash": "2"}  # version 4: read again
    assert reads == ["ann", "ann"]
    assert gateway._views == {}  # nobody follows Ann any more
