"""Live events: what every service publishes, and the topics a client can follow.

Services never hold a client's stream themselves: they publish an event to a Redis
pub/sub channel named after its topic, and the events gateway (``services/events``)
serves the streams (Server-Sent Events) with per-user and total bounds. A topic is
public (anyone signed in may follow it) or private to one user (``<area>:<user>``).

An event on the wire is one JSON object: ``{"event": <type>, "data": {...}}``; the
gateway sends it to the browser as ``event: <type>`` / ``data: <json>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import redis

log = logging.getLogger(__name__)

#: Public topics: every fresh stock quote, each chain-node's tip, reorgs and mempool,
#: the pool centre's statistics, the market feed's tickers.
QUOTES = "quotes"
MARKET = "market"
POOLS = "pools"

#: Areas whose topics belong to one user: ``<area>:<user>``.
ACCOUNT = "account"
WALLET = "wallet"
MINING = "mining"
PRIVATE_AREAS = frozenset({ACCOUNT, WALLET, MINING})


def chain_topic(node: str) -> str:
    """The public topic of one chain-node (``chain:<node name>``)."""
    return f"chain:{node}"


def user_topic(area: str, user: str) -> str:
    """The private topic of ``user`` in ``area`` (account, wallet or mining)."""
    if area not in PRIVATE_AREAS:
        raise ValueError(f"{area!r} is not a private area")
    return f"{area}:{user}"


def encode(event: str, data: Mapping) -> str:
    """The message published for one event."""
    return json.dumps({"event": event, "data": data}, separators=(",", ":"))


def publish(client: redis.Redis, topic: str, event: str, data: Mapping) -> None:
    """Announce ``event`` on ``topic``; live views are a convenience, so a Redis outage
    is logged and never fails the change that caused the event."""
    try:
        client.publish(topic, encode(event, data))
    except redis.RedisError as exc:
        log.warning("could not publish %s on %s: %r", event, topic, exc)


def decode(message: bytes | str) -> tuple[str, Mapping]:
    """The event and data of a message made by ``encode``; ValueError if it is not one."""
    parsed = json.loads(message)
    if not (
        isinstance(parsed, dict)
        and isinstance(parsed.get("event"), str)
        and isinstance(parsed.get("data"), dict)
    ):
        raise ValueError("not an encoded event")
    return parsed["event"], parsed["data"]


def sse(event: str, data: Mapping | str) -> str:
    """One Server-Sent Event as it goes on the wire."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {text}\n\n"
