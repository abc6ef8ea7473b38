"""HTTP routes of the events gateway: every events path of ``service.STREAMS``, and
``/health``. Errors before a stream opens leave as the platform's JSON envelope."""

from __future__ import annotations

import asyncio
import functools
import logging

from aiohttp import web

from ..common.domain.identifiers import check_user_id
from ..common.errors import PlatformError, UpstreamUnavailable
from . import service
from .gateway import GATEWAY, Gateway

log = logging.getLogger(__name__)
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # NGINX passes each event on at once
}


def error_response(error: PlatformError) -> web.Response:
    """The error envelope."""
    return web.json_response({"ok": False, "error": error.to_dict()}, status=error.status_code)


@web.middleware
async def envelope(request: web.Request, handler) -> web.StreamResponse:
    """Every error before a stream opens leaves as JSON; nothing leaks a traceback."""
    try:
        return await handler(request)
    except PlatformError as error:
        return error_response(error)
    except web.HTTPException as exc:
        error = PlatformError(exc.reason)
        error.status_code, error.code = exc.status, exc.reason.lower().replace(" ", "_")
        return error_response(error)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(PlatformError("internal error"))


async def health(request: web.Request) -> web.Response:
    """Cheap liveness and dependency check; no auth."""
    gateway: Gateway = request.app[GATEWAY]
    try:
        await gateway.ping()
    except Exception as exc:  # any failing dependency means "not healthy"
        raise UpstreamUnavailable(f"dependency down: {exc}") from exc
    data = {"service": "events", "server": gateway.settings.server_name, "streams": gateway.open}
    return web.json_response({"ok": True, "data": data})


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events of one path (see ``service.STREAMS``), for the caller.

    401 without a valid token; 403 for another user's private topics (``?user=`` is for
    admin and service); 404 for the account stream of a user with no account; 429 when
    the caller (EVENTS_MAX_STREAMS_PER_USER) or everyone (EVENTS_MAX_STREAMS) holds as
    many streams as allowed. The stream ends after EVENTS_MAX_STREAM_S.
    """
    gateway: Gateway = request.app[GATEWAY]
    spec = service.STREAMS[request.match_info.route.resource.canonical]
    caller = gateway.verify(request.headers.get("Authorization"))
    user = service.follower(caller, check_user_id(request.query.get("user") or caller.name))
    settings = gateway.settings
    with gateway.slots.take(caller.name), gateway.following(user):
        async with gateway.subscription(spec.topics(user, settings.events_chain_node)) as pubsub:
            read_account = functools.partial(gateway.account, user) if spec.account else None
            # Subscribed first, so no change between this read and the stream is missed.
            first = await service.first_snapshot(read_account, user) if read_account else None
            response = web.StreamResponse(headers=SSE_HEADERS)
            await response.prepare(request)
            chunks = service.relay(
                functools.partial(service.wait_for_message, pubsub),
                read_account,
                first,
                settings.events_max_stream_s,
                settings.events_keepalive_s,
            )
            try:
                async for chunk in chunks:
                    await response.write(chunk.encode())
            except (ConnectionResetError, asyncio.CancelledError):
                raise  # the client went away: the slot and the subscription are let go
            except Exception:
                log.exception("stream %s for %s ended by an error", request.path, user)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    for path in service.STREAMS:
        app.router.add_get(path, stream)
