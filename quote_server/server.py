"""Asyncio server: the legacy TCP line protocol and the HTTP JSON API in one process.

Both front ends share one PriceBook, one latency sampler and one hit counter, so
``/stats`` counts every quote served, whichever protocol asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import Counter

from aiohttp import web

from quote_server.config import QuoteServerConfig
from quote_server.pricing import (
    SYMBOL_RE,
    BadRequest,
    LatencySampler,
    PriceBook,
    Quote,
    format_na_line,
    make_quote,
    parse_cents,
    parse_request_line,
    validate_request,
)

log = logging.getLogger("quote_server")

# A request line is ~20 bytes; the cap stops one client from buffering megabytes.
MAX_LINE_BYTES = 1024


def now_ms() -> int:
    """Return the wall clock in Unix milliseconds, as the real server stamps quotes."""
    return time.time_ns() // 1_000_000


class QuoteStats:
    """Counts of quotes served since start (or since the last reset)."""

    def __init__(self) -> None:
        self.by_symbol: Counter[str] = Counter()

    def record(self, symbol: str) -> None:
        self.by_symbol[symbol] += 1

    def reset(self) -> None:
        self.by_symbol.clear()

    def snapshot(self) -> dict[str, object]:
        """Return ``{"requests": N, "by_symbol": {...}}`` for the ``/stats`` route."""
        return {
            "requests": sum(self.by_symbol.values()),
            "by_symbol": dict(sorted(self.by_symbol.items())),
        }


class QuoteServer:
    """Shared state and the handlers for both protocols."""

    def __init__(self, config: QuoteServerConfig) -> None:
        self.config = config
        self.book = PriceBook(config.seed, config.fixed_price_cents)
        self.sampler = LatencySampler(config.latency, config.seed)
        self.stats = QuoteStats()

    def serve_quote(self, symbol: str, user: str) -> tuple[Quote, float]:
        """Price a validated request and draw its delay; the hit counts as served now.

        The timestamp is taken before the delay, so, as with the real server, the
        client's receive time minus ``timestamp`` shows the delay.
        """
        quote = make_quote(self.book, symbol, user, now_ms())
        self.stats.record(symbol)
        return quote, self.sampler.sample()

    async def answer_line(self, line: str) -> str:
        """Answer one legacy request line, waiting out the configured delay."""
        try:
            symbol, user = parse_request_line(line)
        except BadRequest:
            return format_na_line(self.config.seed, line, now_ms())
        quote, delay = self.serve_quote(symbol, user)
        if delay > 0:
            await asyncio.sleep(delay)
        return quote.to_line()

    async def handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve request lines on one connection, in order, until the client's EOF."""
        try:
            while True:
                try:
                    raw = await reader.readline()
                except ValueError:
                    # Line over MAX_LINE_BYTES: the rest of it would be misread as new
                    # requests, so answer NA once and hang up.
                    writer.write(format_na_line(self.config.seed, "", now_ms()).encode())
                    await writer.drain()
                    break
                if not raw:
                    break
                reply = await self.answer_line(raw.decode("utf-8", errors="replace"))
                writer.write(reply.encode("utf-8"))
                await writer.drain()
        except ConnectionError:
            pass  # the client went away mid-reply; nothing to tell it
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def get_quote(self, request: web.Request) -> web.Response:
        """``GET /quote?symbol=ABC&user=bob``: the quote as JSON; 400 on bad input."""
        try:
            symbol, user = validate_request(
                request.query.get("symbol", ""), request.query.get("user", "")
            )
        except BadRequest as exc:
            return web.json_response({"error": str(exc)}, status=400)
        quote, delay = self.serve_quote(symbol, user)
        if delay > 0:
            await asyncio.sleep(delay)
        return web.json_response(quote.to_json())

    async def pin_price(self, request: web.Request) -> web.Response:
        """``POST /mock/price`` ``{"symbol": "ABC", "price": "9.00"}``: serve that price
        for the symbol from now on (``"price": null``: its own again), so tests can move
        a market; 400 on bad input. (The real server has no such route.)"""
        try:
            body = await request.json()
            symbol = body["symbol"]
            if not isinstance(symbol, str) or not SYMBOL_RE.fullmatch(symbol):
                raise ValueError("symbol must be 1-3 letters A-Z")
            price = body["price"]
            cents = None if price is None else parse_cents(price)
            if cents == 0:
                raise ValueError("price must be greater than 0.00")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return web.json_response({"error": f"bad pin: {exc}"}, status=400)
        self.book.pin(symbol, cents)
        return web.json_response({"symbol": symbol, "price": price})

    async def get_health(self, request: web.Request) -> web.Response:
        """``GET /health``: liveness probe for fixtures and compose."""
        return web.json_response({"status": "ok"})

    async def get_stats(self, request: web.Request) -> web.Response:
        """``GET /stats``: quotes served over TCP and HTTP, total and per symbol."""
        return web.json_response(self.stats.snapshot())

    async def reset_stats(self, request: web.Request) -> web.Response:
        """``POST /stats/reset``: zero the counters and return them."""
        self.stats.reset()
        return web.json_response(self.stats.snapshot())

    def make_app(self) -> web.Application:
        """Build the aiohttp application with its five routes."""
        app = web.Application()
        app.router.add_get("/quote", self.get_quote)
        app.router.add_get("/health", self.get_health)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset_stats)
        app.router.add_post("/mock/price", self.pin_price)
        return app


async def serve(config: QuoteServerConfig, stop: asyncio.Event) -> None:
    """Listen on both ports until ``stop`` is set, then close both listeners."""
    server = QuoteServer(config)
    async with contextlib.AsyncExitStack() as stack:
        tcp = await asyncio.start_server(
            server.handle_tcp, config.host, config.tcp_port, limit=MAX_LINE_BYTES
        )
        stack.push_async_callback(tcp.wait_closed)
        stack.callback(tcp.close)
        # No access log: a load test would otherwise write one line per quote.
        runner = web.AppRunner(server.make_app(), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, config.host, config.http_port).start()

        tcp_port = tcp.sockets[0].getsockname()[1]
        http_port = runner.addresses[0][1]
        log.info(
            "listening on tcp %s:%d and http %s:%d (%s)",
            config.host,
            tcp_port,
            config.host,
            http_port,
            config.describe(),
        )
        await stop.wait()
        log.info("shutting down")


def run(config: QuoteServerConfig) -> None:
    """Run :func:`serve` in a fresh event loop, stopping cleanly on SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, stop)

    asyncio.run(main())
