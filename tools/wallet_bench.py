"""Wallet benchmark: how soon a deposit is credited, and whether the analyser keeps up.

    .venv/bin/python -m tools.wallet_bench [--deposits 10] [--burst 500] [--block-time 3]

On a fresh stack (one chain-node, the wallet's analyser and worker, FerretDB, Redis):

1. **Credit latency.** The chain-node's own miner makes a block every ``--block-time``
   seconds. One at a time, a transfer is sent to a user's deposit address; the time from
   the block that holds it (its timestamp) to the deposit being credited (the deposit's
   ``updated_ms`` when it became ``accepted``, both stamped by this machine's clock) is
   compared with the bound of the issue: confirmations x block time + 5 s.
2. **A block of ``--burst`` deposits.** The miner is stopped; ``--burst`` transfers from
   ten senders go to fifty users' addresses, one block holds them all, and the blocks
   that confirm it are mined at once. Measured: from that block's timestamp to the last
   deposit recorded (``seen_ms``), and from the confirming block to the last one
   credited.

Prints a Markdown table (paste it into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import pymongo
import requests

from services.common.chain import keys
from services.common.chain.transactions import build_transaction
from services.common.wallet_keys import DepositAddressRepository, KeyVault
from tools.stack import INFRA, Ports, Stack

COIN = 100_000_000
FEE = 10_000
CONFIRMATIONS = 3


def _stack(base: Path, block_time: float) -> Stack:
    env = {
        "JWT_SECRET": uuid.uuid4().hex * 2,
        "ADMIN_PASSWORD": uuid.uuid4().hex,
        "SERVICE_PASSWORD": uuid.uuid4().hex,
        "TRIGGER_INTERVAL_S": "0",
        "MONGO_DB": "wbench_" + uuid.uuid4().hex[:8],
        "CHAIN_NODES": "1",
        "CHAIN_DIFFICULTY_BITS": "8",
        "CHAIN_MINER_INTERVAL_S": "0",
        "CHAIN_BLOCK_TIME_S": str(block_time),
        "WEB_CONCURRENCY": "1",
        "WALLET_CONFIRMATIONS": str(CONFIRMATIONS),
        "WALLET_POLL_S": "2",
    }
    components = {*INFRA, "services", "wallet", "chain", "nginx"}
    stack = Stack(base, Ports.free(1), env, replicas=1, components=components)
    stack.start(timeout=240)
    return stack


class Bench:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.node = stack.chain_urls[0]
        self.http = requests.Session()
        self.http.trust_env = False
        token = self.http.post(
            f"{stack.nginx_url}/api/users/login",
            json={"username": "admin", "password": stack.env["ADMIN_PASSWORD"]},
            timeout=30,
        ).json()["data"]["token"]
        self.admin = {"Authorization": f"Bearer {token}"}
        self.mongo = pymongo.MongoClient(stack.mongo_uri)
        self.db = self.mongo[stack.env["MONGO_DB"]]
        self.addresses = DepositAddressRepository(self.db)
        self.vault = KeyVault(stack.wallet_encryption_key())

    def mine(self, miner: str | None = None) -> None:
        miner = miner or keys.generate_key().address
        resp = self.http.get(
            f"{self.node}/mine", params={"miner": miner}, headers=self.admin, timeout=120
        )
        resp.raise_for_status()

    def next_nonce(self, address: str) -> int:
        return self.http.get(f"{self.node}/addresses/{address}", timeout=30).json()["next_nonce"]

    def send(self, key, recipient: str, units: int, nonce: int | None = None) -> str:
        tx = build_transaction(
            key.private_key,
            recipient,
            units,
            fee=FEE,
            nonce=nonce or self.next_nonce(key.address),
        )
        resp = self.http.post(f"{self.node}/transactions/new", json=tx, timeout=30)
        resp.raise_for_status()
        return tx["id"]

    def block_time_of(self, txid: str) -> tuple[int, int]:
        """(height, timestamp ms) of the block holding ``txid`` (waits for it)."""
        while True:
            found = self.http.get(f"{self.node}/transactions/{txid}", timeout=30).json()
            if found.get("status") == "confirmed":
                block = self.http.get(f"{self.node}/blocks/{found['height']}", timeout=30).json()
                return found["height"], block["block"]["timestamp"]
            time.sleep(0.05)

    def block_timestamp(self, height: int) -> int:
        return self.http.get(f"{self.node}/blocks/{height}", timeout=30).json()["block"][
            "timestamp"
        ]

    def deposit(self, txid: str) -> dict | None:
        return self.db["wallet_deposits"].find_one({"txid": txid})


def credit_latency(bench: Bench, funder, count: int, block_time: float) -> list[float]:
    """Seconds from each deposit's block to its credit, blocks every ``block_time`` s."""
    latencies = []
    user = "bench" + uuid.uuid4().hex[:8]
    address = bench.addresses.get_or_create(user, bench.vault)
    for _ in range(count):
        txid = bench.send(funder, address, COIN)
        next_block = time.monotonic()
        while True:  # blocks at a steady pace until it is credited
            if time.monotonic() >= next_block:
                bench.mine()
                next_block += block_time
            deposit = bench.deposit(txid)
            if deposit and deposit["state"] != "submitted":
                break
            time.sleep(0.05)
        _, block_ms = bench.block_time_of(txid)
        credited_ms = deposit.get("updated_ms")
        latencies.append((credited_ms - block_ms) / 1000)
    return latencies


def burst(bench: Bench, funder, size: int) -> dict:
    senders = [keys.generate_key() for _ in range(10)]
    for sender in senders:
        bench.send(funder, sender.address, (size // 10) * COIN // 10 + COIN)
    bench.mine()
    users = [f"burst{uuid.uuid4().hex[:8]}" for _ in range(50)]
    targets = [bench.addresses.get_or_create(user, bench.vault) for user in users]
    txids = []
    for n, sender in enumerate(senders):
        nonce = bench.next_nonce(sender.address)
        for i in range(size // 10):
            txids.append(bench.send(sender, targets[(n + i) % 50], COIN // 10, nonce + i))
    bench.mine()
    height, block_ms = bench.block_time_of(txids[0])
    for _ in range(CONFIRMATIONS - 1):
        bench.mine()
    confirming_ms = bench.block_timestamp(height + CONFIRMATIONS - 1)
    deposits = bench.db["wallet_deposits"]
    while deposits.count_documents({"txid": {"$in": txids}, "state": "submitted"}) or (
        deposits.count_documents({"txid": {"$in": txids}}) < len(txids)
    ):
        time.sleep(0.2)
    found = list(deposits.find({"txid": {"$in": txids}}))
    return {
        "deposits": len(found),
        "recorded_s": (max(d["seen_ms"] for d in found) - block_ms) / 1000,
        "credited_s": (max(d["updated_ms"] for d in found) - confirming_ms) / 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=10)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--block-time", type=float, default=3.0)
    parser.add_argument("--dir", default="var/wallet-bench")
    args = parser.parse_args(argv)
    stack = _stack(Path(args.dir).resolve() / "stack", args.block_time)
    try:
        bench = Bench(stack)
        funder = keys.generate_key()
        for _ in range(12):
            bench.mine(funder.address)
        latencies = credit_latency(bench, funder, args.deposits, args.block_time)
        burst_result = burst(bench, funder, args.burst)
    finally:
        stack.stop()
    bound = CONFIRMATIONS * args.block_time + 5
    out = [
        "| measure | value |",
        "|---|---|",
        f"| credit latency, {len(latencies)} deposits (block time {args.block_time:g} s, "
        f"{CONFIRMATIONS} confirmations; bound {bound:g} s) | min {min(latencies):.2f} s, "
        f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s |",
        f"| one block of {burst_result['deposits']} deposits: block to the last recorded | "
        f"{burst_result['recorded_s']:.2f} s |",
        f"| the same, confirming block to the last credited | {burst_result['credited_s']:.2f} s |",
    ]
    sys.stdout.write("\n".join(out) + "\n")
    return 0 if max(latencies) <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
