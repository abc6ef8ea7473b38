"""Coin market orders through NGINX, one request per order, beside stock commands.

Starts a fresh stack of its own (free ports, ``SERVICE_REPLICAS`` instances per service,
a live market feed), gives every user cash, then runs two phases with the same users,
the same number of requests in flight and the same spread over loopback source
addresses (so NGINX's ip_hash reaches every replica):

- **stock**: each user's BUY, COMMIT_BUY, SELL, COMMIT_SELL of one share, one request
  per command (the quote cached: a fixed-price quote server);
- **coin**: each user's market buy and sell of 0.001 ETH, one request per order.

It prints requests/s and latency percentiles of each phase, then checks the books:
for every user, cash = sum(add) - sum(remove) over the audit log, and the coin balances
re-derived from the wallet ledger equal the account's.

    .venv/bin/python -m tools.bench_exchange --users 50 --rounds 20 --in-flight 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pymongo

from tools.stack import INFRA, Ports, Stack

SOURCES = 8  # loopback source addresses 127.0.N.1
SECRETS = {
    "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
    "ADMIN_PASSWORD": "bench-admin-password",
    "SERVICE_PASSWORD": "bench-service-password",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def _run_phase(url: str, token: str, jobs: list[list[tuple]], in_flight: int) -> dict:
    """Run each user's requests in order, users side by side, at most ``in_flight`` at
    once; returns rate, latency percentiles and status counts."""
    headers = {"Authorization": f"Bearer {token}"}
    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.{n + 1}.1", 0), limit=0),
            headers=headers,
        )
        for n in range(SOURCES)
    ]
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    statuses: Counter = Counter()

    async def user_run(index: int, requests: list[tuple]) -> None:
        session = sessions[index % SOURCES]
        for path, body in requests:
            async with gate:
                started = time.perf_counter()
                async with session.post(url + path, json=body) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(user_run(i, reqs) for i, reqs in enumerate(jobs)))
    finally:
        for session in sessions:
            await session.close()
    elapsed = time.perf_counter() - started
    count = sum(statuses.values())
    return {
        "requests": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def stock_jobs(users: list[str], rounds: int) -> list[list[tuple]]:
    cycle = (
        ("/api/buy/buy", {"symbol": "ABC", "amount": "10.00"}),
        ("/api/buy/commit-buy", {}),
        ("/api/sell/sell", {"symbol": "ABC", "amount": "10.00"}),
        ("/api/sell/commit-sell", {}),
    )
    return [[(p, {"user": u, **b}) for _ in range(rounds) for p, b in cycle] for u in users]


def coin_jobs(users: list[str], rounds: int) -> list[list[tuple]]:
    cycle = (("/api/exchange/buy", {}), ("/api/exchange/sell", {}))
    order = {"coin": "ETH", "amount": "0.001"}
    return [[(p, {"user": u, **order}) for _ in range(rounds * 2) for p, _ in cycle] for u in users]


def check_books(stack: Stack, users: list[str]) -> dict:
    """Cash against the audit log and coins against the wallet ledger, for every user."""
    db = pymongo.MongoClient(stack.mongo_uri)[stack.env["MONGO_DB"]]
    cash_ok = coins_ok = 0
    for user in users:
        moves = db["transactions"].find({"user": user, "type": "accountTransaction"})
        logged = sum(m["funds"] if m["action"] == "add" else -m["funds"] for m in moves)
        account = db["users"].find_one({"_id": user})
        cash_ok += logged == account["cash"]
        assets = json.loads(account["state"]).get("assets", {})
        derived: dict[str, int] = {}
        for entry in db["wallet_ledger"].find({"user": user}):
            sign = 1 if entry["to"] == f"user:{user}" else -1
            derived[entry["asset"]] = derived.get(entry["asset"], 0) + sign * entry["units"]
        held = {coin: b["available"] for coin, b in assets.items()}
        coins_ok += {k: v for k, v in derived.items() if v} == {k: v for k, v in held.items() if v}
    return {"users": len(users), "cash_matches_log": cash_ok, "coins_match_ledger": coins_ok}


async def _login_and_fund(url: str, users: list[str]) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url + "/api/users/service-login",  # the service credential's own path
            json={"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]},
        ) as response:
            token = (await response.json())["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for user in users:
            body = {"user": user, "amount": "100000.00"}
            async with session.post(url + "/api/users/add", json=body, headers=headers) as r:
                assert r.status == 200, await r.text()
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20, help="cycles per user per phase")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    env = {
        **SECRETS,
        "QUOTE_FIXED_PRICE": "10.00",
        "QUOTE_TTL_S": "3600",
        "PENDING_TTL_S": "3600",
        "TRIGGER_INTERVAL_S": "0",
        "RATE_LIMIT_DEFAULT": "1000000/minute",
        "MONGO_DB": "bench_exchange",
    }
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        stack = Stack(
            Path(tmp),
            Ports.free(args.replicas),
            env,
            replicas=args.replicas,
            components={*INFRA, "services", "nginx"},
        )
        stack.start(timeout=180)
        try:
            users = [f"bench{n:04d}" for n in range(args.users)]
            token = asyncio.run(_login_and_fund(stack.nginx_url, users))
            stock = asyncio.run(
                _run_phase(stack.nginx_url, token, stock_jobs(users, args.rounds), args.in_flight)
            )
            coin = asyncio.run(
                _run_phase(stack.nginx_url, token, coin_jobs(users, args.rounds), args.in_flight)
            )
            books = check_books(stack, users)
        finally:
            stack.stop()
    figures = {
        "users": args.users,
        "in_flight": args.in_flight,
        "replicas": args.replicas,
        "stock_commands": stock,
        "coin_orders": coin,
        "coin_over_stock": round(coin["per_second"] / stock["per_second"], 2),
        "books": books,
    }
    text = json.dumps(figures, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        args.json.write_text(text + "\n")
    failed = books["cash_matches_log"] != args.users or books["coins_match_ledger"] != args.users
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
