"""The exchange through NGINX on the whole stack: the board moves live, the relay puts
the feed's tickers on the ``market`` topic, and fifty concurrent coin buys that the cash
covers once fill exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pymongo
import pytest
import redis
import requests

from tests.e2e.test_topology import post_from
from tests.helpers import random_user, service_headers

pytestmark = pytest.mark.e2e


def test_the_top_20_move_live_and_reach_the_market_topic(stack):
    events = redis.Redis.from_url(stack.redis_url).pubsub()
    events.subscribe("market")
    first = requests.get(f"{stack.nginx_url}/api/exchange/coin/tickers_20", timeout=10).json()
    deadline = time.monotonic() + 30
    while True:  # the feed moves every second; the platform's board within one more
        time.sleep(1.0)
        later = requests.get(f"{stack.nginx_url}/api/exchange/coin/tickers_20", timeout=10).json()
        if later["data"]["as_of"] > first["data"]["as_of"]:
            break
        assert time.monotonic() < deadline, "the board did not move"
    prices = lambda board: {k: v["cur_price"] for k, v in board["data"]["tickers"].items()}  # noqa: E731
    assert len(prices(later)) == 20 and prices(later) != prices(first)

    tickers = []
    deadline = time.monotonic() + 30
    while len(tickers) < 20 and time.monotonic() < deadline:
        message = events.get_message(timeout=1.0)
        if message and message["type"] == "message":
            tickers.append(json.loads(message["data"]))
    events.close()
    assert len(tickers) == 20, "the relay published too few tickers"
    assert {t["event"] for t in tickers} == {"ticker"}
    coins = {t["data"]["coin"] for t in tickers}
    assert coins <= {key.removesuffix("_USD") for key in prices(later)} and "BTC" in coins


def test_fifty_concurrent_coin_buys_that_cash_covers_once_fill_exactly_once(stack):
    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    user = random_user()
    added = session.post(
        f"{stack.nginx_url}/api/users/add", json={"user": user, "amount": "100.00"}, headers=headers
    )
    assert added.status_code == 200
    # 0.001 BTC is worth about $60: the cash covers one such buy, never two.

    def buy(n: int):
        return post_from(
            f"127.0.{n % 8 + 1}.1",  # several hosts, so both exchange replicas take part
            stack.nginx_url,
            "/api/exchange/buy",
            {"user": user, "coin": "BTC", "amount": "0.001"},
            headers,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(buy, range(50)))
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {200: 1, 409: 49}, statuses
    assert len({served_by for _, served_by, _ in results}) == 2  # both exchange replicas
    (filled,) = [body["data"] for status, _, body in results if status == 200]
    assert filled["cash"] == str(Decimal("100.00") - Decimal(filled["total"]))

    held = session.get(
        f"{stack.nginx_url}/api/exchange/coin/clientassets?user={user}", headers=headers
    ).json()["data"]
    assert held["cash"] == filled["cash"]
    assert [(h["ticker"], h["available"]) for h in held["holdings"]] == [("BTC", "0.00100000")]
    db = pymongo.MongoClient(stack.mongo_uri)[stack.env["MONGO_DB"]]
    removes = db["transactions"].find(
        {"user": user, "type": "accountTransaction", "action": "remove"}
    )
    cents = [r["funds"] for r in removes]
    assert cents == [int(Decimal(filled["cost"]) * 100), int(Decimal(filled["fee"]) * 100)]
    assert db["wallet_ledger"].count_documents({"user": user}) == 1
