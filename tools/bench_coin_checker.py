"""Time one pass of the coin checker over many open margin positions and stop orders.

Starts the infrastructure it needs (MongoDB-wire server, Redis, a frozen market feed)
on free ports in a temp dir, stores ``--accounts`` accounts each holding one margin
position and one stop order (so 2 x accounts items to check), none of them due, then
times the rebuild of the coin watch from the database (done when the view is missing,
and every 5 minutes), then ``check_coins`` passes: the watch read from Redis and the
valuation of every position and stop at the board's prices.

    .venv/bin/python -m tools.bench_coin_checker --accounts 5000 --passes 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from services.coin_checker.service import check_coins
from services.common.backend import Backend
from services.common.config import load_settings
from services.common.domain import margin, stops
from services.common.domain.account import Account
from services.common.repositories import _account_to_doc
from tools.stack import Ports, Stack

FROZEN_MS = 1_780_000_000_000
SECRETS = {
    "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
    "ADMIN_PASSWORD": "bench-admin-password",
    "SERVICE_PASSWORD": "bench-service-password",
}


def account_with_both(user: str, price: int) -> Account:
    """An account with a 2x BTC long and a stop-loss on its ETH (neither due)."""
    account = Account(user, cash=10_000_000)
    account = margin.open_position(
        account, "BTC", "long", 2, 100_000, price, 25, FROZEN_MS, 1, 10, 10
    ).account
    stop = stops.StopOrder("2", "ETH", stops.STOP_LOSS, stops.HOLDING, 100, 1, True)
    return replace(account, stops=MappingProxyType({"2": stop}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    env = {**SECRETS, "MARKET_FEED_FROZEN_MS": str(FROZEN_MS)}
    with tempfile.TemporaryDirectory(prefix="bench-checker-") as tmp:
        stack = Stack(Path(tmp), Ports.free(1), env, 1, {"mongo", "redis", "market"})
        stack.start(timeout=120)
        try:
            settings = load_settings(
                {
                    **{k.lower(): v for k, v in SECRETS.items()},
                    "mongo_uri": stack.mongo_uri,
                    "redis_url": stack.redis_url,
                    "mongo_db": "bench_checker",
                    "market_feed_url": stack.market_feed_url,
                    "market_price_max_age_s": 60,
                }
            )
            backend = Backend(settings)
            backend.ensure_indexes()
            trading = backend.coin_trading()
            price = trading.market.price("BTC")
            users = backend.db["users"]
            batch = []
            for n in range(args.accounts):
                account = account_with_both(f"bench{n:06d}", price)
                batch.append({"_id": account.user, "v": 1, **_account_to_doc(account)})
                if len(batch) == 500:
                    users.insert_many(batch)
                    batch = []
            if batch:
                users.insert_many(batch)
            reads, passes = [], []
            started = time.perf_counter()
            backend.coin_watch.rebuild(backend.accounts.watched_stored())
            rebuild_s = time.perf_counter() - started
            for _ in range(args.passes):
                started = time.perf_counter()
                view = backend.coin_watch.view()
                reads.append(time.perf_counter() - started)
                started = time.perf_counter()
                outcomes = check_coins(trading, backend.accounts, backend.coin_watch)
                passes.append(time.perf_counter() - started)
            watched = [backend.accounts.watched_from(u, w) for u, w in view.items()]
            items = sum(len(a.positions) + len(a.stops) for a in watched)
            sys.stdout.write(
                f"{len(watched)} accounts, {items} positions and stop orders; rebuilding "
                f"the watch from the database: {rebuild_s:.3f} s; reading it from Redis: "
                f"median {statistics.median(reads):.3f} s; whole pass (read + "
                f"valuation): median {statistics.median(passes):.3f} s, "
                f"max {max(passes):.3f} s; outcomes {dict(outcomes)}\n"
            )
            backend.close()
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
