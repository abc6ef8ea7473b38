"""Mining benchmark: many machines digging in the pools, on a real chain-node.

    .venv/bin/python -m tools.bench_mining --machines 1000 --pools 5 --blocks 100

Starts FerretDB, Redis, a chain-node (with its worker) and the pool engine under the
launcher, registers ``--machines`` machines for 50 users through the mining service's
use cases (the routes' own code, without HTTP), spreads them over the pools and starts
them, then waits for ``--blocks`` blocks and reports:

- the block times: the mean interval between the blocks' timestamps against the
  target (``POOL_BLOCK_TIME_S`` = ``CHAIN_BLOCK_TIME_S``), and who found them;
- the pool engine's CPU, from its own counters (``mining:engine`` in Redis): all of it,
  the part spent in proof of work, and the rest as a share of one core;
- the payouts made in the meantime.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import pymongo
import redis
import requests

from services.common import pool_centre
from services.common.chain.keys import generate_key
from services.common.domain.mining import PoolConfig, parse_pools
from services.common.mining_repositories import MiningStore
from services.mining import service as mining
from tools.stack import Ports, Stack

log = logging.getLogger("bench_mining")
POOLS = "atlas:PPLNS:1.5,boreal:PPS:2.5,cobalt:PPLNS:2,delta:PPS:4,ember:PPLNS:1"
USERS = 50


def _env(args, pools: list[PoolConfig]) -> dict[str, str]:
    keys = ",".join(f"{pool.id}={generate_key().private_key}" for pool in pools)
    block_time = str(args.block_time)
    return {
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "ADMIN_PASSWORD": uuid.uuid4().hex,
        "SERVICE_PASSWORD": uuid.uuid4().hex,
        "MONGO_DB": "bench_mining_" + uuid.uuid4().hex[:8],
        "CHAIN_NODES": "1",
        "CHAIN_BLOCK_TIME_S": block_time,
        "CHAIN_MINER_INTERVAL_S": "0",
        "POOL_DEFINITIONS": ",".join(f"{p.id}:{p.scheme}:{p.fee_bp / 100}" for p in pools),
        "POOL_KEYS": keys,
        "POOL_BLOCK_TIME_S": block_time,
        "POOL_STATS_INTERVAL_S": "5",
        "POOL_SEED": str(args.seed),
        "LOG_LEVEL": "WARNING",
    }


def _engine(rds: redis.Redis, database: str) -> dict:
    raw = rds.get(pool_centre.engine_key(database))
    return json.loads(raw) if raw else {}


def _wait_engine_stats(rds: redis.Redis, database: str, after_ms: int, timeout: float = 60) -> dict:
    """The engine's counters as of a refresh after ``after_ms``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = pool_centre.StatsCache(rds, database).read()
        if stats and stats["updated_ms"] > after_ms:
            return _engine(rds, database)
        time.sleep(0.2)
    raise RuntimeError("the pool engine did not refresh its statistics")


def run(args) -> dict:
    pools = parse_pools(args.pool_definitions)[: args.pools]
    env = _env(args, pools)
    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-mining-"))
    components = {"mongo", "redis", "chain", "pools"}
    stack = Stack(base / "stack", Ports.free(1), env, replicas=1, components=components)
    stack.start(timeout=180)
    try:
        rds = redis.Redis.from_url(stack.redis_url)
        client = pymongo.MongoClient(stack.mongo_uri)
        store = MiningStore(client[env["MONGO_DB"]])
        store.ensure_indexes()
        ctx = mining.MiningContext(
            store=store,
            lock=lambda user: nullcontext(),  # one writer per user here: no race to guard
            clock_ms=lambda: time.time_ns() // 1_000_000,
            pools=tuple(pools),
            max_machines=args.machines,
            history_limit=50,
            announce=lambda *_: rds.incr(pool_centre.digs_version_key(store.database)),
            stats=pool_centre.StatsCache(rds, store.database),
        )
        # Every miner has a deposit address (the wallet's), so the payouts are made.
        client[env["MONGO_DB"]]["wallet_addresses"].insert_many(
            [{"_id": f"miner{n:02d}", "address": generate_key().address} for n in range(USERS)]
        )
        rng = random.Random(args.seed)
        started = time.monotonic()
        for number in range(args.machines):
            owner = f"miner{number % USERS:02d}"
            # From a small rig (1 TH/s) to a big one (100 TH/s).
            hashrate = rng.randint(10**12, 10**14)
            machine = mining.register_machine(ctx, owner, f"rig {number}", "S19", hashrate)
            mining.start_machine(ctx, owner, machine["id"], pools[number % len(pools)].id)
        log.info("%d machines digging in %.1f s", args.machines, time.monotonic() - started)

        node = stack.chain_urls[0]
        first_height = requests.get(f"{node}/inv", timeout=10).json()["height"]
        begin = _wait_engine_stats(rds, store.database, int(time.time() * 1000))
        wall_begin = time.monotonic()
        target = first_height + args.blocks
        while requests.get(f"{node}/inv", timeout=10).json()["height"] < target:
            time.sleep(1)
        end = _wait_engine_stats(rds, store.database, int(time.time() * 1000))
        wall = time.monotonic() - wall_begin

        chain_blocks = [
            requests.get(f"{node}/blocks/{height}", timeout=10).json()["block"]
            for height in range(first_height, target + 1)
        ]
        stamps = [block["timestamp"] for block in chain_blocks]
        intervals = [(b - a) / 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
        finders: dict[str, int] = {}
        pool_addresses = {doc["address"]: doc["_id"] for doc in store.pools.all()}
        for block in chain_blocks[1:]:
            finder = pool_addresses.get(block["transactions"][0]["recipient"], "rest")
            finders[finder] = finders.get(finder, 0) + 1
        cpu = end["cpu_s"] - begin["cpu_s"]
        pow_cpu = end["pow_cpu_s"] - begin["pow_cpu_s"]
        payouts = client[env["MONGO_DB"]]["mining_payouts"]
        confirmed = payouts.count_documents({"state": "confirmed"})
        payouts = payouts.count_documents({})
        result = {
            "machines": args.machines,
            "pools": len(pools),
            "blocks": len(intervals),
            "target_s": args.block_time,
            "mean_interval_s": round(statistics.fmean(intervals), 3),
            "mean_vs_target": round(statistics.fmean(intervals) / args.block_time, 3),
            "median_interval_s": round(statistics.median(intervals), 3),
            "finders": dict(sorted(finders.items())),
            "wall_s": round(wall, 1),
            "engine_cpu_s": round(cpu, 2),
            "engine_pow_cpu_s": round(pow_cpu, 2),
            "engine_cpu_share_outside_pow": round((cpu - pow_cpu) / wall, 4),
            "engine_cpu_share_with_pow": round(cpu / wall, 4),
            "payouts_created": payouts,
            "payouts_confirmed": confirmed,
            "payouts_sent_by_engine": end["payouts_sent"] - begin["payouts_sent"],
            "difficulty_bits_last": chain_blocks[-1].get("difficulty"),
        }
        client.close()
        rds.close()
        return result
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--pools", type=int, default=5)
    parser.add_argument("--pool-definitions", default=POOLS)
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--block-time", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--dir", default=None, help="stack dir (default: a temporary one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    result = run(args)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    ok = abs(result["mean_vs_target"] - 1) <= 0.2 and result["engine_cpu_share_outside_pow"] < 0.1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
