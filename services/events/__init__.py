"""The events gateway: every Server-Sent Events stream of the platform, behind NGINX.

An asyncio process (aiohttp): an idle stream costs a coroutine and a Redis pub/sub
connection, not a thread, so streams never hold back the Flask services' commands.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..common.config import load_settings
from ..common.logs import configure_logging
from .gateway import GATEWAY, Gateway
from .routes import add_routes, envelope


def create_app(overrides: dict | None = None) -> web.Application:
    """The gateway's aiohttp application (``python -m services.events`` serves it)."""
    settings = load_settings(overrides)
    configure_logging(settings.log_level, settings.server_name)
    app = web.Application(middlewares=[envelope])
    gateway = Gateway(settings)
    app[GATEWAY] = gateway

    async def start(_app: web.Application) -> None:
        await asyncio.to_thread(gateway.backend.wait_until_ready)

    async def stop(_app: web.Application) -> None:
        await gateway.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    add_routes(app)
    return app
