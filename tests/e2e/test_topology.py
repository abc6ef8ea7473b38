"""NGINX spreads clients over every replica, and one user's commands stay serialised."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pymongo
import pytest
import requests

from tests.helpers import random_symbol, random_user, service_headers

pytestmark = pytest.mark.e2e


def post_from(source: str, base_url: str, path: str, body: dict, headers: dict) -> tuple:
    """POST from a chosen loopback source address; returns (status, served_by, json)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(
        url.hostname, url.port, timeout=30, source_address=(source, 0)
    )
    try:
        conn.request(
            "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        return resp.status, resp.getheader("X-Served-By"), json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("user_utilities", "/api/users/stats"),
        ("buy", "/api/buy/commit-buy"),
        ("sell", "/api/sell/commit-sell"),
        ("exchange", "/api/exchange/buy"),
    ],
)
def test_clients_on_different_hosts_reach_every_replica(stack, service, path):
    seen = Counter()
    for n in range(1, 41):
        status, served_by, _ = post_from(f"127.0.{n}.1", stack.nginx_url, path, {}, {})
        assert status in (401, 405), status  # no token: answered by the service itself
        seen[served_by] += 1
    replicas = {f"{service.replace('_', '-')}-{i}" for i in (1, 2)}
    assert set(seen) == replicas, seen


def test_fifty_concurrent_buys_that_cash_covers_once_succeed_exactly_once(stack):
    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    user, symbol = random_user(), random_symbol()
    resp = session.post(
        f"{stack.nginx_url}/api/users/add", json={"user": user, "amount": "10.00"}, headers=headers
    )
    assert resp.status_code == 200

    def buy(n: int):
        return post_from(
            f"127.0.{n % 8 + 1}.1",  # several hosts, so every buy replica takes part
            stack.nginx_url,
            "/api/buy/buy",
            {"user": user, "symbol": symbol, "amount": "10.00"},
            headers,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(buy, range(50)))
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {200: 1, 409: 49}, statuses
    assert len({served_by for _, served_by, _ in results}) == 2  # both buy replicas

    summary = session.post(
        f"{stack.nginx_url}/api/users/display-summary", json={"user": user}, headers=headers
    ).json()["data"]
    assert summary["cash"] == "0.00"
    assert len(summary["pending_buys"]) == 1

    log = pymongo.MongoClient(stack.mongo_uri)[stack.env["MONGO_DB"]]["transactions"]
    removes = list(log.find({"user": user, "type": "accountTransaction", "action": "remove"}))
    assert [r["funds"] for r in removes] == [1000]
    assert log.count_documents({"user": user, "type": "errorEvent", "command": "BUY"}) == 49
