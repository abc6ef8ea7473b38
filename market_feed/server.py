"""The feed's HTTP and websocket API, in the shapes of Bithumb's public API v1 (USD).

Routes (``{coin}`` one of ``model.COINS``; the payment currency must be ``USD``):

- ``GET /public/ticker/ALL_USD`` and ``GET /public/ticker/{coin}_USD``:
  ``{"status": "0000", "data": {...}}`` with ``opening_price``, ``closing_price``,
  ``min_price``, ``max_price`` (since 00:00 UTC), ``units_traded``,
  ``acc_trade_value``, ``prev_closing_price``, ``units_traded_24H``,
  ``acc_trade_value_24H``, ``fluctate_24H``, ``fluctate_rate_24H`` and ``date`` (ms);
  for ALL, one such object per coin plus ``date``;
- ``GET /public/candlestick/{coin}_USD/{1m|1h|24h}``: ``data`` is a list of
  ``[time_ms, open, close, high, low, volume]``, oldest first;
- ``GET /public/orderbook/{coin}_USD?count=N`` (1-30, default 30): ``bids`` and ``asks``
  of ``{"price", "quantity"}``, best first;
- ``GET /pub/ws``: the websocket ticker stream. The server greets with
  ``{"status": "0000", "resmsg": "Connected Successfully"}``; the client sends
  ``{"type": "ticker", "symbols": ["BTC_USD", ...], "tickTypes": ["24H"]}`` (tick types
  30M, 1H, 12H, 24H, MID); the server confirms with ``"Filter Registered
  Successfully"`` and then sends ``{"type": "ticker", "content": {...}}`` for every
  symbol and tick type each ``MARKET_FEED_TICK_MS``.

Numbers are decimal strings: prices and values to 1/10,000 of a dollar, volumes to 10^-8
of a coin, rates in percent to two decimals. Bad parameters are answered 400 with
``{"status": "5500", "message": "Invalid Parameter"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

from market_feed.config import FeedSettings
from market_feed.model import (
    ANCHOR_DAY,
    COINS,
    DAY_MS,
    INTERVALS_MIN,
    MAX_BOOK_LEVELS,
    MINUTE_MS,
    PRICE_SCALE,
    UNITS_PER_COIN,
    Market,
    Stats,
    Ticker,
)

log = logging.getLogger("market_feed")
CURRENCY = "USD"
TICK_WINDOWS_MIN = {"30M": 30, "1H": 60, "12H": 720, "24H": 1_440}
TICK_TYPES = (*TICK_WINDOWS_MIN, "MID")
MAX_SUBSCRIPTIONS = 200  # symbol x tick type pairs per connection
FIRST_MOMENT_MS = (ANCHOR_DAY + 1) * DAY_MS  # the first moment with a day behind it


def price_text(value: int) -> str:
    """Ten-thousandths of a dollar as a decimal string: 6012345 -> "601.2345"."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), PRICE_SCALE)
    return f"{sign}{whole}.{frac:04d}"


def units_text(units: int) -> str:
    whole, frac = divmod(units, UNITS_PER_COIN)
    return f"{whole}.{frac:08d}"


def rate_text(basis_points: int) -> str:
    """Basis points as a percentage with two decimals: -123 -> "-1.23"."""
    sign = "-" if basis_points < 0 else ""
    whole, frac = divmod(abs(basis_points), 100)
    return f"{sign}{whole}.{frac:02d}"


def ticker_fields(ticker: Ticker) -> dict:
    """One coin's ticker in Bithumb's v1 shape."""
    return {
        "opening_price": price_text(ticker.today.open),
        "closing_price": price_text(ticker.today.close),
        "min_price": price_text(ticker.today.low),
        "max_price": price_text(ticker.today.high),
        "units_traded": units_text(ticker.today.volume),
        "acc_trade_value": price_text(ticker.today.value),
        "prev_closing_price": price_text(ticker.prev_close),
        "units_traded_24H": units_text(ticker.last_24h.volume),
        "acc_trade_value_24H": price_text(ticker.last_24h.value),
        "fluctate_24H": price_text(ticker.change_24h),
        "fluctate_rate_24H": rate_text(ticker.change_rate_bp),
    }


def _candle(start_ms: int, stats: Stats) -> list:
    return [
        start_ms,
        price_text(stats.open),
        price_text(stats.close),
        price_text(stats.high),
        price_text(stats.low),
        units_text(stats.volume),
    ]


def _invalid(status: int = 400) -> web.Response:
    return web.json_response({"status": "5500", "message": "Invalid Parameter"}, status=status)


def _coin_of(pair: str) -> str | None:
    coin, _, currency = pair.partition("_")
    return coin if currency == CURRENCY and coin in COINS else None


class FeedServer:
    """The market and the handlers that serve it."""

    def __init__(self, settings: FeedSettings) -> None:
        self.settings = settings
        self.market = Market(settings.seed)
        self._frozen_ms = settings.frozen_ms

    def now_ms(self) -> int:
        if self._frozen_ms is not None:
            return self._frozen_ms
        return time.time_ns() // 1_000_000

    async def set_clock(self, request: web.Request) -> web.Response:
        """``POST /mock/clock {"now_ms": ...}``: stop the market at a moment of its seeded
        path (tests walk a price path this way); ``{"now_ms": null}`` lets it run live
        again. Only on a feed started frozen (a moment, not null) or, with
        ``MARKET_FEED_CLOCK_CONTROL``, on a live one."""
        if self._frozen_ms is None and not self.settings.clock_control:
            raise web.HTTPNotFound()
        try:
            body = await request.json()
            now = body["now_ms"]
        except (ValueError, KeyError, TypeError):
            return _invalid()
        if now is None and self.settings.clock_control:
            self._frozen_ms = None
            return web.json_response({"status": "0000", "now_ms": None})
        if type(now) is not int or now < FIRST_MOMENT_MS or now > 4_102_444_800_000:
            return _invalid()
        self._frozen_ms = now
        return web.json_response({"status": "0000", "now_ms": now})

    async def ticker(self, request: web.Request) -> web.Response:
        pair = request.match_info["pair"]
        now = self.now_ms()
        if pair == f"ALL_{CURRENCY}":
            data: dict = {coin: ticker_fields(self.market.ticker(coin, now)) for coin in COINS}
        else:
            coin = _coin_of(pair)
            if coin is None:
                return _invalid()
            data = ticker_fields(self.market.ticker(coin, now))
        data["date"] = str(now)
        return web.json_response({"status": "0000", "data": data})

    async def candlestick(self, request: web.Request) -> web.Response:
        coin = _coin_of(request.match_info["pair"])
        interval = request.match_info["interval"]
        if coin is None or interval not in INTERVALS_MIN:
            return _invalid()
        rows = self.market.candles(coin, interval, self.now_ms())
        return web.json_response({"status": "0000", "data": [_candle(*row) for row in rows]})

    async def orderbook(self, request: web.Request) -> web.Response:
        coin = _coin_of(request.match_info["pair"])
        count = request.query.get("count", str(MAX_BOOK_LEVELS))
        if coin is None or not count.isascii() or not count.isdigit():
            return _invalid()
        if not 1 <= int(count) <= MAX_BOOK_LEVELS:
            return _invalid()
        now = self.now_ms()
        bids, asks = self.market.orderbook(coin, now, int(count))
        return web.json_response(
            {
                "status": "0000",
                "data": {
                    "timestamp": str(now),
                    "payment_currency": CURRENCY,
                    "order_currency": coin,
                    "bids": [{"price": price_text(p), "quantity": units_text(q)} for p, q in bids],
                    "asks": [{"price": price_text(p), "quantity": units_text(q)} for p, q in asks],
                },
            }
        )

    def warm_up(self) -> None:
        """Compute the minute paths of the last two days before the first request."""
        now = self.now_ms()
        for coin in COINS:
            self.market.ticker(coin, now)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "coins": len(COINS)})

    # --- the websocket ticker stream --------------------------------------------------

    def stream_message(self, coin: str, tick_type: str, now: int) -> dict:
        """One websocket ticker message (Bithumb's ``{"type": "ticker", "content"}``)."""
        if tick_type == "MID":
            start = now - now % DAY_MS
        else:
            start = now - TICK_WINDOWS_MIN[tick_type] * MINUTE_MS
        stats = self.market.stats(coin, start, now)
        change = stats.close - stats.open
        rate = (abs(change) * 20_000 + stats.open) // (2 * stats.open)
        stamp = datetime.fromtimestamp(now / 1000, UTC)
        half = stats.volume // 2
        return {
            "type": "ticker",
            "content": {
                "symbol": f"{coin}_{CURRENCY}",
                "tickType": tick_type,
                "date": stamp.strftime("%Y%m%d"),
                "time": stamp.strftime("%H%M%S"),
                "openPrice": price_text(stats.open),
                "closePrice": price_text(stats.close),
                "lowPrice": price_text(stats.low),
                "highPrice": price_text(stats.high),
                "value": price_text(stats.value),
                "volume": units_text(stats.volume),
                "sellVolume": units_text(stats.volume - half),
                "buyVolume": units_text(half),
                "prevClosePrice": price_text(self.market.ticker(coin, now).prev_close),
                "chgRate": rate_text(rate if change >= 0 else -rate),
                "chgAmt": price_text(change),
                "volumePower": "100.00",
            },
        }

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        await ws.send_json({"status": "0000", "resmsg": "Connected Successfully"})
        subscriptions: list[tuple[str, str]] = []
        sender: asyncio.Task | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                wanted = _subscription(msg.data)
                if wanted is None:
                    await ws.send_json({"status": "5100", "resmsg": "Invalid Filter Syntax"})
                    continue
                subscriptions[:] = wanted  # the sender reads the list as it is now
                await ws.send_json({"status": "0000", "resmsg": "Filter Registered Successfully"})
                if sender is None:
                    sender = asyncio.create_task(self._send_ticks(ws, subscriptions))
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
        return ws

    async def _send_ticks(
        self, ws: web.WebSocketResponse, subscriptions: list[tuple[str, str]]
    ) -> None:
        period = self.settings.tick_ms / 1000
        while not ws.closed:
            now = self.now_ms()
            for coin, tick_type in list(subscriptions):
                await ws.send_json(self.stream_message(coin, tick_type, now))
            await asyncio.sleep(period)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/public/ticker/{pair}", self.ticker)
        app.router.add_get("/public/candlestick/{pair}/{interval}", self.candlestick)
        app.router.add_get("/public/orderbook/{pair}", self.orderbook)
        app.router.add_get("/pub/ws", self.websocket)
        app.router.add_get("/health", self.health)
        app.router.add_post("/mock/clock", self.set_clock)
        return app


def _subscription(text: str) -> list[tuple[str, str]] | None:
    """The (coin, tick type) pairs of a subscription message, or None if malformed."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "ticker":
        return None
    symbols, tick_types = data.get("symbols"), data.get("tickTypes", ["24H"])
    if not isinstance(symbols, list) or not isinstance(tick_types, list):
        return None
    coins = [_coin_of(s) if isinstance(s, str) else None for s in symbols]
    if not coins or None in coins or not tick_types:
        return None
    if any(t not in TICK_TYPES for t in tick_types):
        return None
    pairs = [(coin, tick) for coin in coins for tick in tick_types]
    return pairs if len(pairs) <= MAX_SUBSCRIPTIONS else None


async def serve(settings: FeedSettings, stop: asyncio.Event) -> None:
    server = FeedServer(settings)
    server.warm_up()
    runner = web.AppRunner(server.make_app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info(
            "market feed on http://%s:%d (seed=%d, %s)",
            settings.host,
            settings.port,
            settings.seed,
            "frozen" if settings.frozen_ms else "live",
        )
        await stop.wait()
    finally:
        await runner.cleanup()


def run(settings: FeedSettings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
