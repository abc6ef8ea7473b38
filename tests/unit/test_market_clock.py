"""The market feed's clock: ``POST /mock/clock`` stops a live market at a moment of its
seeded path only with MARKET_FEED_CLOCK_CONTROL, and ``{"now_ms": null}`` lets it run
live again (the e2e walk drives a price path across a liquidation this way)."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient, TestServer

from market_feed.config import FeedSettings
from market_feed.server import FeedServer

MOMENT_MS = 1_750_000_000_000  # 2025-06-15 15:06:40 UTC, on the seeded path


async def _walk(settings: FeedSettings) -> list:
    async with TestClient(TestServer(FeedServer(settings).make_app())) as client:

        async def clock(now_ms) -> int:
            return (await client.post("/mock/clock", json={"now_ms": now_ms})).status

        async def date() -> int:
            body = await (await client.get("/public/ticker/BTC_USD")).json()
            return int(body["data"]["date"])

        stopped = await clock(MOMENT_MS)
        first, later = await date(), await date()
        released = await clock(None)
        live = await date()
        refused = await clock("soon")
        return [stopped, first, later, released, live, refused]


def test_a_live_feed_with_clock_control_stops_where_asked_and_runs_again():
    before = time.time_ns() // 1_000_000
    stopped, first, later, released, live, refused = asyncio.run(
        _walk(FeedSettings(clock_control=True))
    )
    assert (stopped, first, later) == (200, MOMENT_MS, MOMENT_MS)
    assert released == 200 and live >= before
    assert refused == 400


def test_a_live_feed_without_it_has_no_clock_to_move():
    statuses = asyncio.run(_walk(FeedSettings()))
    assert statuses[0] == statuses[3] == 404 and statuses[1] >= MOMENT_MS


def test_a_frozen_feed_moves_but_never_runs_live_without_clock_control():
    stopped, first, _, released, live, _ = asyncio.run(_walk(FeedSettings(frozen_ms=MOMENT_MS)))
    assert (stopped, first) == (200, MOMENT_MS)
    assert released == 400 and live == MOMENT_MS
