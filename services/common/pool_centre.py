"""The pool centre: every pool's statistics, computed by the engine's scheduled job and
served from Redis (``mining:pool-stats:<database>``), also announced on the public
``pools`` topic.

Per pool: hashrate (what its digging machines declare), share of the network (the pools
plus the configured rest of the network), machines digging, blocks found in 24 h and in
7 d, the last block, luck over the blocks of the last 7 days (expected over actual shares
per block, in %), fee and payout scheme.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import redis

from .domain import mining as rules
from .domain.money import format_units


def stats_key(database: str) -> str:
    """The statistics of the pools of one database (one platform per database)."""
    return f"mining:pool-stats:{database}"


def digs_version_key(database: str) -> str:
    """Moved by the mining service on every start and stop: the engine re-reads who digs."""
    return f"mining:digs-version:{database}"


def engine_key(database: str) -> str:
    """The engine's own counters (CPU, proof of work, blocks) for the benchmark."""
    return f"mining:engine:{database}"


DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS


class StatsCache:
    """The last statistics the engine computed."""

    def __init__(self, client: redis.Redis, database: str):
        self._redis = client
        self._key = stats_key(database)

    def read(self) -> dict | None:
        raw = self._redis.get(self._key)
        return json.loads(raw) if raw else None

    def write(self, stats: Mapping) -> None:
        self._redis.set(self._key, json.dumps(stats, separators=(",", ":")))


def fee_percent(fee_bp: int) -> str:
    """Basis points as a percentage with two decimals: 150 -> ``"1.50"``."""
    return f"{fee_bp // 100}.{fee_bp % 100:02d}"


def present_block(block: Mapping) -> dict:
    return {
        "hash": block["_id"],
        "height": block["height"],
        "found_ms": block["found_ms"],
        "reward": format_units(block["reward"]),
        "state": block["state"],
    }


def empty_stats(pools: Iterable[rules.PoolConfig]) -> dict:
    """What the centre shows before the first refresh: the pools, with no activity."""
    return compute_stats(pools, {}, 0, {}, 0)


def compute_stats(
    pools: Iterable[rules.PoolConfig],
    digging: Mapping[str, tuple[int, int]],
    rest_hashrate: int,
    week_blocks: Mapping[str, Sequence[Mapping]],
    now_ms: int,
) -> dict:
    """Every pool's statistics; ``digging`` is {pool: (machines, hashrate)},
    ``week_blocks`` {pool: its accepted blocks of the last 7 days, newest first}."""
    pools = list(pools)
    network = rest_hashrate + sum(rate for _, rate in digging.values())
    entries = []
    for pool in pools:
        machines, hashrate = digging.get(pool.id, (0, 0))
        week = [b for b in week_blocks.get(pool.id, ()) if b["found_ms"] >= now_ms - WEEK_MS]
        expected = sum(block.get("round_expected", 0.0) for block in week)
        luck = rules.luck(len(week), expected)
        entries.append(
            {
                "id": pool.id,
                "name": pool.id,
                "scheme": pool.scheme,
                "fee": fee_percent(pool.fee_bp),
                "hashrate": hashrate,
                "share_of_network": round(100.0 * hashrate / network, 4) if network else 0.0,
                "machines": machines,
                "blocks_24h": sum(1 for block in week if block["found_ms"] >= now_ms - DAY_MS),
                "blocks_7d": len(week),
                "last_block": present_block(week[0]) if week else None,
                "luck": round(luck, 2) if luck is not None else None,
            }
        )
    return {"updated_ms": now_ms, "network_hashrate": network, "pools": entries}
