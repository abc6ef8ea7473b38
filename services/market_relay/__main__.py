"""``python -m services.market_relay``: the feed's live tickers onto the ``market`` topic."""

from __future__ import annotations

import asyncio
import logging
import signal

import redis

from ..common import events
from ..common.config import load_settings
from ..common.logs import configure_logging
from .service import TICKER, relay

log = logging.getLogger("services.market_relay")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.server_name)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)

    def publish(topic: str, data: dict) -> None:
        events.publish(client, topic, TICKER, data)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await relay(settings.market_feed_url, publish, stop)

    asyncio.run(run())
    client.close()


if __name__ == "__main__":
    main()
