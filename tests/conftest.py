"""Fixtures for every tier.

Integration tests get real infrastructure (FerretDB or mongod, redis-server, the quote
server) started once per session by the same launcher as ``make up``; e2e tests get the
whole stack (gunicorn replicas behind NGINX). Each session uses its own database name.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from coincurve import PrivateKey

from services.common.config import Settings
from services.common.domain.mining import parse_pools
from tools.stack import INFRA, Ports, Stack

SECRETS = {
    "JWT_SECRET": "test-jwt-secret-" + uuid.uuid4().hex,
    "ADMIN_PASSWORD": "test-admin-password",
    "SERVICE_PASSWORD": "test-service-password",
    "REDIS_PASSWORD": "test-redis-password-" + uuid.uuid4().hex,
}
FIXED_PRICE = "10.00"  # every symbol costs this on the test quote servers
# The integration tier's market feed stands still at this moment (2026-05-28 20:26:40
# UTC), so its prices are the same for every read; the e2e stack's feed moves live.
MARKET_FROZEN_MS = 1_780_000_000_000


def _start(base_dir: Path, components, env: dict, replicas: int = 2) -> Stack:
    stack = Stack(base_dir, Ports.free(replicas), env, replicas=replicas, components=components)
    stack.start(timeout=300)  # a loaded machine: the market feed warms up first
    return stack


@pytest.fixture(scope="session")
def infra(tmp_path_factory):
    """MongoDB-wire server, Redis and a fixed-price quote server."""
    stack = _start(
        tmp_path_factory.mktemp("infra"),
        INFRA,
        {
            **SECRETS,
            "QUOTE_FIXED_PRICE": FIXED_PRICE,
            "MARKET_FEED_FROZEN_MS": str(MARKET_FROZEN_MS),
        },
    )
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def overrides(infra) -> dict:
    """Settings for services built in-process against the session's infrastructure."""
    return {
        "mongo_uri": infra.mongo_uri,
        "mongo_db": "it_" + uuid.uuid4().hex[:12],
        "redis_url": infra.redis_url,
        "quote_server_addr": infra.quote_addr,
        "market_feed_url": infra.market_feed_url,
        "jwt_secret": SECRETS["JWT_SECRET"],
        "admin_password": SECRETS["ADMIN_PASSWORD"],
        "service_password": SECRETS["SERVICE_PASSWORD"],
        "server_name": "test",
        # Tests sign in far more often than people do; test_rate_limits sets its own.
        "rate_limit_auth": "1000/minute",
    }


def _pool_keys() -> str:
    """POOL_KEYS for the default pools: a fresh key each (what `make up` writes to .env)."""
    pools = parse_pools(Settings.model_fields["pool_definitions"].default)
    return ",".join(f"{pool.id}={PrivateKey().to_hex()}" for pool in pools)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The whole platform behind NGINX, set up for deterministic replays.

    Fixed quote price, no trigger polling, and 1-hour quote and pending windows so a
    slow machine cannot make a pending trade expire in the middle of a replay.

    The chain moves only when asked: the nodes mine on demand (`GET /mine`), and the
    pool engine finds blocks only while a machine digs (no rest of the network), one a
    second then, so a machine's payouts arrive within a walk. The market feed runs live,
    but a test may stop it at a moment of its seeded path (`POST /mock/clock`) and must
    set it running again (`{"now_ms": null}`).
    """
    env = {
        **SECRETS,
        "QUOTE_FIXED_PRICE": FIXED_PRICE,
        "TRIGGER_INTERVAL_S": "0",
        "QUOTE_TTL_S": "3600",
        "PENDING_TTL_S": "3600",
        "MONGO_DB": "e2e_" + uuid.uuid4().hex[:12],
        # The chain-nodes run as under `make up`, mining only when asked.
        "CHAIN_MINER_INTERVAL_S": "0",
        "CHAIN_DIFFICULTY_BITS": "8",
        "MARKET_FEED_CLOCK_CONTROL": "true",
        # The wallet's analyser and worker follow node 1 and poll fast.
        "WALLET_POLL_S": "0.5",
        # Mining as tests/e2e/test_mining.py runs it: short windows and blocks.
        "POOL_KEYS": _pool_keys(),
        "POOL_REST_HASHRATE": "0",
        "POOL_BLOCK_TIME_S": "1",
        "POOL_TICK_S": "0.25",
        "POOL_WINDOW_S": "1",
        "POOL_SETTLE_MS": "300",
        "POOL_STATS_INTERVAL_S": "1",
    }
    components = {
        *INFRA,
        "services",
        "triggers",
        "relay",
        "coins",
        "events",
        "chain",
        "wallet",
        "pools",
        "nginx",
    }
    stack = _start(tmp_path_factory.mktemp("stack"), components, env)
    yield stack
    stack.stop()
