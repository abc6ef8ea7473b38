"""Mining end to end on real parts: chain-nodes, the pool engine, the mining and users
services behind NGINX, FerretDB and Redis, all started by the launcher as `make up` does.

A user registers a machine, starts it in a PPLNS pool and stops it after the pool has
found blocks; the pool's real proof-of-work blocks are on the chain, and the user's
deposit address receives, on chain, exactly each block's reward less the pool's fee.
Then the pool engine is SIGKILLed in the middle of its payouts and restarted: every
payout still arrives once.
"""

from __future__ import annotations

import os
import signal
import uuid

import pymongo
import pytest
import requests

from services.common.chain.keys import generate_key
from services.common.domain.money import format_units
from tests.chain.conftest import CHAIN_ENV, wait_for
from tests.conftest import SECRETS
from tools.stack import INFRA, Ports, Stack

DTC = 100_000_000
PASSWORD = "correct-horse-battery"
POOL_KEYS = {"atlas": generate_key(), "boreal": generate_key()}
ENV = {
    **SECRETS,
    **CHAIN_ENV,
    "CHAIN_NODES": "2",
    "CHAIN_BLOCK_TIME_S": "1",
    "MONGO_DB": "mining_" + uuid.uuid4().hex[:10],
    "POOL_DEFINITIONS": "atlas:PPLNS:1.5,boreal:PPS:2.5",
    "POOL_KEYS": ",".join(f"{name}={pair.private_key}" for name, pair in POOL_KEYS.items()),
    "POOL_BLOCK_TIME_S": "1",
    "POOL_TICK_S": "0.2",
    "POOL_WINDOW_S": "1",
    "POOL_SETTLE_MS": "300",
    "POOL_STATS_INTERVAL_S": "1",
    "POOL_REST_HASHRATE": str(10**12),
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    components = {*INFRA, "services", "chain", "pools", "nginx"}
    stack = Stack(tmp_path_factory.mktemp("mining"), Ports.free(1), ENV, 1, components)
    stack.start(timeout=180)
    yield stack
    stack.stop()


class User:
    """One signed-in user talking to the platform through NGINX."""

    def __init__(self, base_url: str, name: str):
        self.base = base_url
        self.http = requests.Session()
        self.name = name
        reply = self.http.post(
            f"{base_url}/api/users/register", json={"username": name, "password": PASSWORD}
        )
        assert reply.status_code in (200, 201), reply.text
        reply = self.http.post(
            f"{base_url}/api/users/login", json={"username": name, "password": PASSWORD}
        )
        self.http.headers["Authorization"] = f"Bearer {reply.json()['data']['token']}"

    def call(self, method: str, path: str, body=None) -> dict:
        reply = self.http.request(method, f"{self.base}/api/mining{path}", json=body, timeout=30)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()["data"]


def _chain_blocks(stack: Stack) -> list[dict]:
    return requests.get(f"{stack.nginx_url}/api/chain/chain", timeout=30).json()["chain"]


def _found_by(stack: Stack, pool: str) -> list[dict]:
    address = POOL_KEYS[pool].address
    return [b for b in _chain_blocks(stack) if b["transactions"][0]["recipient"] == address]


def _balance(stack: Stack, address: str) -> int:
    reply = requests.get(f"{stack.nginx_url}/api/chain/addresses/{address}", timeout=30).json()
    whole, _, fraction = reply["balances"].get("DTC", "0.0").partition(".")
    return int(whole) * DTC + int(fraction.ljust(8, "0"))


def _engine_pid(stack: Stack) -> int:
    return next(p.pid for p in stack.status() if p.name == "pool-engine")


# Blocks, 10-block maturity and confirmations on a machine shared with other suites.
@pytest.mark.timeout(900)
def test_a_machine_digging_is_paid_its_pools_blocks_less_the_fee_on_chain(platform):
    alice = User(platform.nginx_url, "miner" + uuid.uuid4().hex[:8])
    address = generate_key().address
    # The wallet's deposit address for alice (the wallet makes it on first use).
    with pymongo.MongoClient(platform.mongo_uri) as client:
        client[ENV["MONGO_DB"]]["wallet_addresses"].insert_one(
            {"_id": alice.name, "address": address}
        )

    machine = alice.call("POST", "/machines", {"name": "rig", "model": "S19", "hashrate": 10**12})
    alice.call("POST", f"/machines/{machine['id']}/start", {"pool": "atlas"})
    # The pool centre updates on its own.
    wait_for(
        lambda: next(p for p in alice.call("GET", "/pools")["pools"] if p["id"] == "atlas")[
            "machines"
        ]
        == 1,
        timeout=30,
        what="the pool centre to show the machine",
    )
    wait_for(lambda: len(_found_by(platform, "atlas")) >= 3, timeout=120, what="atlas blocks")
    # Killed in the middle of its work (the first payouts are due), then restarted by
    # supervisord: nothing is paid twice or lost.
    wait_for(lambda: alice.call("GET", "/earnings")["payouts"], timeout=120, what="a payout")
    os.kill(_engine_pid(platform), signal.SIGKILL)
    alice.call("POST", f"/machines/{machine['id']}/stop")
    wait_for(
        lambda: next(p for p in platform.status() if p.name == "pool-engine").state == "RUNNING",
        timeout=60,
        what="the engine to be restarted",
    )

    def all_paid() -> dict | None:
        earned = alice.call("GET", "/earnings")
        done = earned["payouts"] and all(p["state"] == "confirmed" for p in earned["payouts"])
        blocks = len(_found_by(platform, "atlas"))
        return earned if done and len(earned["payouts"]) == blocks else None

    earned = wait_for(all_paid, timeout=180, what="every payout confirmed")
    blocks = _found_by(platform, "atlas")
    # PPLNS, 1.5 % fee, alice the pool's only miner: each 50-DTC block pays her
    # 50 - 0.75 = 49.25 DTC, in one on-chain transaction per block.
    assert _balance(platform, address) == len(blocks) * 4_925_000_000
    assert earned["total"] == earned["paid"] == format_units(len(blocks) * 4_925_000_000)
    txids = [p["txid"] for p in earned["payouts"]]
    assert len(set(txids)) == len(txids) == len(blocks)

    # Stopped: she earns nothing more while the network goes on.
    height = len(_chain_blocks(platform))
    wait_for(lambda: len(_chain_blocks(platform)) >= height + 5, timeout=60, what="5 blocks")
    assert alice.call("GET", "/earnings")["total"] == earned["total"]
    history = alice.call("GET", "/history")["digs"]
    assert len(history) == 1 and history[0]["stop_ms"] is not None
    assert history[0]["earnings"] == earned["total"]
    atlas = alice.call("GET", "/pools/atlas")
    assert atlas["machines"] == 0 and atlas["blocks_24h"] == len(blocks)
    assert {b["height"] for b in atlas["recent_blocks"]} == {b["index"] for b in blocks}
