"""Relays the market feed's live tickers to the platform's ``market`` events topic.

One connection to the feed's websocket (``<MARKET_FEED_URL>/pub/ws``, Bithumb's v1
stream), subscribed to every coin's 24 H ticker; each message becomes a ``ticker``
event (``services/common/events.py``) that the events gateway streams to browsers.
A feed that is down or drops the connection is retried with a growing pause (at most
``MAX_BACKOFF_S``); nothing is lost that matters, as each ticker replaces the last.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping

import aiohttp

from ..common import events
from ..common.domain.money import format_price
from ..common.errors import UpstreamUnavailable
from ..common.market import CURRENCY, parse_scaled

log = logging.getLogger("services.market_relay")
MAX_BACKOFF_S = 10.0
TICKER = "ticker"


def ticker_event(content: Mapping) -> dict | None:
    """The ``ticker`` event of one stream message's content, or None if malformed."""
    try:
        coin, currency = str(content["symbol"]).split("_")
        if currency != CURRENCY:
            return None
        return {
            "coin": coin,
            "price": format_price(parse_scaled(content["closePrice"], 4)),
            "open": format_price(parse_scaled(content["openPrice"], 4)),
            "high": format_price(parse_scaled(content["highPrice"], 4)),
            "low": format_price(parse_scaled(content["lowPrice"], 4)),
            "chgAmt": format_price(parse_scaled(content["chgAmt"], 4)),
            "chgRate": str(content["chgRate"]),
            "value": format_price(parse_scaled(content["value"], 4)),
            "date": str(content["date"]),
            "time": str(content["time"]),
        }
    except (KeyError, ValueError, TypeError, AttributeError, UpstreamUnavailable):
        return None


def stream_url(feed_url: str) -> str:
    """The websocket URL of the feed at ``feed_url`` (http -> ws, https -> wss)."""
    base = feed_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/pub/ws"
    return "ws://" + base.removeprefix("http://") + "/pub/ws"


async def relay(
    feed_url: str,
    publish: Callable[[str, dict], None],
    stop: asyncio.Event,
) -> None:
    """Relay until ``stop`` is set, reconnecting whenever the feed goes away."""
    backoff = 0.5
    async with aiohttp.ClientSession(trust_env=False) as session:
        while not stop.is_set():
            try:
                await _relay_once(session, feed_url, publish, stop)
                backoff = 0.5
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                log.warning("market feed stream unavailable (%r); retrying in %.1f s", exc, backoff)
            try:
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(MAX_BACKOFF_S, backoff * 2)


async def _relay_once(session, feed_url: str, publish, stop: asyncio.Event) -> None:
    timeout = aiohttp.ClientTimeout(total=5)
    board_url = f"{feed_url.rstrip('/')}/public/ticker/ALL_{CURRENCY}"
    async with session.get(board_url, timeout=timeout) as response:
        board = await response.json(content_type=None)
    coins = [coin for coin, fields in board.get("data", {}).items() if isinstance(fields, dict)]
    if not coins:
        raise ValueError("the feed lists no coins")
    async with session.ws_connect(stream_url(feed_url), heartbeat=30, timeout=5) as ws:
        await ws.receive_json(timeout=5)  # "Connected Successfully"
        symbols = [f"{coin}_{CURRENCY}" for coin in coins]
        await ws.send_json({"type": TICKER, "symbols": symbols, "tickTypes": ["24H"]})
        registered = await ws.receive_json(timeout=5)
        if registered.get("status") != "0000":
            raise ValueError(f"the feed refused the subscription: {registered}")
        log.info("relaying %d coins from %s", len(coins), feed_url)
        while not stop.is_set():
            try:
                message = await ws.receive(timeout=1.0)
            except TimeoutError:
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    raise aiohttp.ClientError("the feed closed the stream")
                continue
            data = json.loads(message.data)
            event = ticker_event(data.get("content", {})) if data.get("type") == TICKER else None
            if event is not None:
                publish(events.MARKET, event)
