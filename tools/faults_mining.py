"""The pool engine under fault injection (``python -m tools.faults --mining``).

A miner digs in a PPLNS pool for the whole run while the faults (among them SIGKILL of
the pool engine, and crashes of Redis and the database it stands on) hit the stack.
At the end the miner stops, every payout is given time to confirm, and then:

- every round pays exactly its amount: fee + payouts = the block's reward, to the unit;
- each of the pool's transactions has its own nonce, 1, 2, 3, ... with no gap;
- no payout was sent twice: each txid once, and the miner's address holds on chain
  exactly the sum of its payouts;
- every found block of the pool was credited (no round lost).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pymongo
import requests

from services.common.chain.keys import generate_key
from services.common.chain.units import UNITS_PER_COIN

POOL = "atlas"
#: The mining part of the faults stack: one chain-node, quick easy blocks, two pools.
MINING_ENV = {
    "CHAIN_NODES": "1",
    "CHAIN_DIFFICULTY_BITS": "8",
    "CHAIN_MINER_INTERVAL_S": "0",
    "CHAIN_BLOCK_TIME_S": "1",
    "POOL_DEFINITIONS": "atlas:PPLNS:1.5,boreal:PPS:2.5",
    "POOL_BLOCK_TIME_S": "1",
    "POOL_TICK_S": "0.2",
    "POOL_WINDOW_S": "1",
    "POOL_SETTLE_MS": "300",
    "POOL_REST_HASHRATE": str(10**12),
}
SETTLE_LIMIT_S = 240.0


def mining_env() -> dict[str, str]:
    keys = ",".join(f"{pool}={generate_key().private_key}" for pool in ("atlas", "boreal"))
    return {**MINING_ENV, "POOL_KEYS": keys}


@dataclass
class Miner:
    user: str
    address: str
    machine: str
    headers: dict


def start_miner(stack) -> Miner:
    """A user with a deposit address and a machine digging in the PPLNS pool."""
    http = requests.Session()
    user, password = "miner" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    base = stack.nginx_url
    http.post(f"{base}/api/users/register", json={"username": user, "password": password})
    login = http.post(f"{base}/api/users/login", json={"username": user, "password": password})
    headers = {"Authorization": f"Bearer {login.json()['data']['token']}"}
    address = generate_key().address
    with pymongo.MongoClient(stack.mongo_uri) as client:
        client[stack.env["MONGO_DB"]]["wallet_addresses"].insert_one(
            {"_id": user, "address": address}
        )
    machine = http.post(
        f"{base}/api/mining/machines",
        json={"name": "rig", "model": "S19", "hashrate": 10**12},
        headers=headers,
        timeout=30,
    ).json()["data"]["id"]
    reply = http.post(
        f"{base}/api/mining/machines/{machine}/start", json={"pool": POOL}, headers=headers
    )
    reply.raise_for_status()
    return Miner(user, address, machine, headers)


def _stop(stack, miner: Miner) -> None:
    url = f"{stack.nginx_url}/api/mining/machines/{miner.machine}/stop"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = requests.post(url, headers=miner.headers, timeout=30)
            if reply.status_code in (200, 409):  # 409: a retried stop found it stopped
                return
        except requests.RequestException:
            pass
        time.sleep(1)


def _settled(db) -> bool:
    """Nothing of the engine's in flight: every block credited, every round split, every
    payout confirmed."""
    return (
        db["mining_blocks"].count_documents({"state": {"$in": ["submitted", "found"]}}) == 0
        and db["mining_rounds"].count_documents({"state": "new"}) == 0
        and db["mining_payouts"].count_documents({"state": {"$ne": "confirmed"}}) == 0
    )


def check_mining(stack, miner: Miner) -> list[str]:
    """Stop the miner, let the engine settle, and check every payout (module doc)."""
    _stop(stack, miner)
    problems: list[str] = []
    with pymongo.MongoClient(stack.mongo_uri) as client:
        db = client[stack.env["MONGO_DB"]]
        deadline = time.monotonic() + SETTLE_LIMIT_S
        while not _settled(db):
            if time.monotonic() > deadline:
                return [f"payouts not all confirmed within {SETTLE_LIMIT_S:.0f} s"]
            time.sleep(1)
        blocks = list(db["mining_blocks"].find({"pool": POOL, "state": "credited"}))
        rounds = {r["_id"]: r for r in db["mining_rounds"].find({"pool": POOL})}
        payouts = list(db["mining_payouts"].find({"pool": POOL}))
        txs = list(db["mining_pool_txs"].find({"pool": POOL}))
    if not blocks:
        problems.append("the pool found no block during the run")
    if len(rounds) != len(blocks):
        problems.append(f"{len(blocks)} blocks credited but {len(rounds)} rounds")
    for round_id, round_doc in rounds.items():
        paid = sum(p["amount"] for p in payouts if p["round"] == round_id)
        parts = sum(json.loads(round_doc["parts"]).values())
        if round_doc["fee"] + paid != round_doc["amount"] or parts != paid:
            problems.append(
                f"round {round_id}: fee {round_doc['fee']} + paid {paid} is not "
                f"{round_doc['amount']}"
            )
    nonces = sorted(tx["nonce"] for tx in txs)
    if nonces != list(range(1, len(nonces) + 1)) or len(txs) != len(payouts):
        problems.append(f"{len(payouts)} payouts signed as nonces {nonces}")
    txids = [p["txid"] for p in payouts]
    if len(set(txids)) != len(txids):
        problems.append("a payout was signed twice")
    reply = requests.get(f"{stack.nginx_url}/api/chain/addresses/{miner.address}", timeout=30)
    whole, _, fraction = reply.json()["balances"].get("DTC", "0.0").partition(".")
    on_chain = int(whole) * UNITS_PER_COIN + int(fraction.ljust(8, "0"))
    mine = sum(p["amount"] for p in payouts if p["owner"] == miner.user)
    if on_chain != mine:
        problems.append(f"the miner holds {on_chain} units on chain, was paid {mine}")
    return problems
