"""Helpers for tests that drive the wallet against real chain-nodes: mining on demand,
signing transfers from outside keys, building a competing branch for a reorg, and
calling the wallet's routes through NGINX."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import requests

from services.common.chain import blocks, keys
from services.common.chain.transactions import build_coinbase, build_transaction
from services.common.domain.money import format_units, parse_units
from tests.conftest import SECRETS
from tests.helpers import admin_headers, random_user

COIN = 100_000_000
FEE = 10_000  # WALLET_TX_FEE 0.0001
PASSWORD = "password-123"  # every wallet user's here
SUBSIDY = 50 * COIN
#: The chain's development treasury (genesis mints the DUSD supply to it).
TREASURY_KEY = hashlib.sha256(b"dtc-dev-treasury").hexdigest()


def wait_for(check: Callable[[], object], timeout: float = 90.0, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; its value. Fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Chain:
    """A chain-node, driven as a test needs: blocks mined on demand, transfers signed."""

    def __init__(self, url: str, session: requests.Session, admin: dict):
        self.url = url.rstrip("/")
        self.session = session
        self.admin = admin

    def get(self, path: str) -> dict:
        resp = self.session.get(f"{self.url}{path}", timeout=30)
        resp.raise_for_status()
        return resp.json()

    def tip(self) -> dict:
        return self.get("/inv")

    def mine(self, blocks_to_mine: int = 1, miner: str | None = None) -> int:
        """Mine blocks now (to ``miner``, or to a throw-away address); the new height."""
        miner = miner or keys.generate_key().address
        for _ in range(blocks_to_mine):
            resp = self.session.get(
                f"{self.url}/mine", params={"miner": miner}, headers=self.admin, timeout=120
            )
            assert resp.status_code == 200, resp.text
        return self.tip()["height"]

    def balance(self, address: str, asset: str = "DTC") -> int:
        return parse_units(self.get(f"/addresses/{address}")["balances"][asset], allow_zero=True)

    def next_nonce(self, address: str) -> int:
        return self.get(f"/addresses/{address}")["next_nonce"]

    def transfer(
        self, private_key: str, recipient: str, units: int, asset: str = "DTC", nonce=None
    ) -> dict:
        """Sign a transfer (not sent)."""
        sender = keys.key_from_private(private_key).address
        return build_transaction(
            private_key,
            recipient,
            units,
            asset=asset,
            fee=FEE,
            nonce=nonce or self.next_nonce(sender),
        )

    def submit(self, tx: dict) -> str:
        resp = self.session.post(f"{self.url}/transactions/new", json=tx, timeout=30)
        assert resp.status_code == 201, resp.text
        return tx["id"]

    def send(self, private_key: str, recipient: str, units: int, asset: str = "DTC") -> str:
        return self.submit(self.transfer(private_key, recipient, units, asset))

    def template(self, miner: str) -> dict:
        return self.get(f"/mining/template?miner={miner}")["block"]

    def submit_block(self, block: dict) -> dict:
        resp = self.session.post(f"{self.url}/blocks", json=block, timeout=60)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    def fork(self, parent_template: dict, txs: list[dict], length: int) -> list[dict]:
        """A branch of ``length`` blocks on the parent of ``parent_template`` (a template
        taken earlier), its first block holding ``txs``; each block is solved here."""
        miner = keys.generate_key().address
        branch = []
        previous_hash = parent_template["previous_hash"]
        timestamp = parent_template["timestamp"]
        for offset in range(length):
            height = parent_template["index"] + offset
            chosen = txs if offset == 0 else []
            fees = sum(tx["fee"] for tx in chosen)
            coinbase = build_coinbase(miner, SUBSIDY + fees, height, timestamp + offset)
            body = [coinbase, *chosen]
            block = {
                "index": height,
                "timestamp": timestamp + offset,
                "transactions": body,
                "proof": 0,
                "previous_hash": previous_hash,
                "tx_root": blocks.merkle_root([tx["id"] for tx in body]),
                "difficulty": parent_template["difficulty"],
            }
            solved = blocks.solve_header(block)
            branch.append(solved)
            previous_hash = blocks.header_hash(solved)
        return branch


class WalletApi:
    """The wallet's routes through NGINX, as one signed-in caller."""

    def __init__(self, base: str, session: requests.Session, headers: dict, name: str):
        self.base = base.rstrip("/")
        self.session = session
        self.headers = headers
        self.name = name

    def get(self, path: str, status: int = 200) -> dict:
        resp = self.session.get(f"{self.base}/api/wallet{path}", headers=self.headers, timeout=90)
        assert resp.status_code == status, resp.text
        return resp.json()["data"] if status == 200 else resp.json()["error"]

    def post(self, path: str, body=None, status: int = 200, key: str | None = None) -> dict:
        headers = self.headers | ({"Idempotency-Key": key} if key else {})
        resp = self.session.post(
            f"{self.base}/api/wallet{path}", json=body, headers=headers, timeout=30
        )
        assert resp.status_code == status, resp.text
        return resp.json()["data"] if 200 <= status < 300 else resp.json()["error"]

    def balance(self, asset: str = "DTC") -> dict:
        rows = self.get("/balances")["balances"]
        return next(row for row in rows if row["asset"] == asset)

    def deposits(self) -> list[dict]:
        return self.get("/deposits")["deposits"]

    def address(self) -> str:
        return self.get("/deposit-address")["address"]


def new_wallet_user(base: str, session: requests.Session) -> WalletApi:
    name = random_user()
    resp = session.post(f"{base}/api/users/register", json={"username": name, "password": PASSWORD})
    assert resp.status_code in (200, 201), resp.text
    resp = session.post(f"{base}/api/users/login", json={"username": name, "password": PASSWORD})
    token = resp.json()["data"]["token"]
    return WalletApi(base, session, {"Authorization": f"Bearer {token}"}, name)


def admin_wallet(base: str, session: requests.Session) -> WalletApi:
    return WalletApi(base, session, admin_headers(session, base), "admin")


def coins(units: int) -> str:
    return format_units(units)


__all__ = ["SECRETS", "Chain", "WalletApi", "wait_for"]
