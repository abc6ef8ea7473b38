"""dvf interop, both directions: our nodes in ``CHAIN_RULES=dvf`` and a dvf node written
from chain-node-interop.md (tests/chain/dvf_peer.py), each a real process.

- a dvf node adopts our longer chain, validating it with its own rules;
- our node adopts a dvf node's longer chain (its genesis differs from ours);
- our routes answer as dvf's do; lying and broken dvf peers change nothing.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time

import pytest
import requests

from tests.chain.conftest import ChainNet, start_network, wait_for
from tests.chain.test_network import PEER_SCRIPT
from tools.stack import _free_ports

pytestmark = pytest.mark.e2e

DVF_KEYS = {"message", "index", "transactions", "proof", "previous_hash"}


def dvf_hash(block: dict) -> str:
    """The spec's block hash, written out again here."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def dvf_valid(chain: list[dict]) -> bool:
    """The spec's valid_chain."""
    for last, block in zip(chain, chain[1:], strict=False):
        last_hash = dvf_hash(last)
        guess = f"{last['proof']}{block['proof']}{last_hash}".encode()
        if block["previous_hash"] != last_hash or hashlib.sha256(guess).hexdigest()[:4] != "0000":
            return False
    return True


class Peer:
    """A dvf node process."""

    def __init__(self, behaviour: str = "honest"):
        self.port = _free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, str(PEER_SCRIPT), "--port", str(self.port), "--behaviour", behaviour],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: requests.get(f"{self.url}/alive", timeout=5).ok, 30, "dvf peer")

    def get(self, path: str) -> dict:
        return requests.get(f"{self.url}{path}", timeout=60).json()

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=60)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def dvf_network(tmp_path_factory):
    """Two of our nodes in dvf mode (they sync with each other by /chain)."""
    stack = start_network(
        tmp_path_factory.mktemp("dvf"), {"CHAIN_RULES": "dvf", "CHAIN_NODES": "2"}
    )
    yield ChainNet(stack)
    stack.stop()


@pytest.fixture
def peer():
    node = Peer()
    yield node
    node.stop()


def test_our_node_adopts_a_longer_dvf_chain_and_a_dvf_node_adopts_ours(dvf_network, peer):
    net = dvf_network
    for _ in range(3):
        assert set(peer.get("/mine")) == DVF_KEYS
    theirs = peer.get("/chain")
    assert theirs["length"] == 4
    assert net.inv(0)["height"] + 1 < 4  # ours is shorter: genesis only

    # Node 1's worker would adopt the chain on its own: pause it to see /nodes/resolve do it.
    net.program("stop", "chain-worker-1")
    assert net.post(0, "/nodes/register", json={"nodes": [peer.url]}).status_code == 201
    resolved = net.get(0, "/nodes/resolve").json()
    assert resolved["message"] == "Our chain was replaced"
    assert resolved["new_chain"] == theirs["chain"]
    assert net.get(0, "/chain").json() == theirs  # byte for byte as dvf serves it
    # Our second node follows the longer chain too (our nodes sync by /chain in dvf mode).
    wait_for(lambda: net.get(1, "/chain").json() == theirs, 60, "node 2 adopts it")

    net.program("start", "chain-worker-1")
    # We mine two blocks on top (GET /mine is open in dvf mode, and answers as dvf).
    for expected_index in (5, 6):
        forged = net.get(0, "/mine").json()
        assert set(forged) == DVF_KEYS
        assert forged["message"] == "New Block Forged" and forged["index"] == expected_index
        reward = forged["transactions"][-1]
        assert reward["sender"] == "0" and reward["amount"] == 1
        assert len(reward["recipient"]) == 32  # the node's uuid4 hex
    ours = net.get(0, "/chain").json()
    assert ours["length"] == 6 and ours["chain"][:4] == theirs["chain"]
    assert dvf_valid(ours["chain"])

    # The dvf node adopts our longer chain with its own rules, and mines on top of it.
    assert peer.post("/nodes/register", {"nodes": [net.urls[0]]}).status_code == 201
    adopted = peer.get("/nodes/resolve")
    assert adopted["message"] == "Our chain was replaced"
    assert adopted["new_chain"] == ours["chain"]
    assert peer.get("/nodes/resolve")["message"] == "Our chain is authoritative"
    net.program("stop", "chain-worker-1")
    try:
        peer.get("/mine")
        longer = peer.get("/chain")
        assert longer["length"] == 7
        assert net.get(0, "/nodes/resolve").json()["message"] == "Our chain was replaced"
        assert net.get(0, "/chain").json() == longer
    finally:
        net.program("start", "chain-worker-1")


def test_transactions_and_mining_answer_as_dvf_does(dvf_network):
    net = dvf_network
    length = net.get(0, "/chain").json()["length"]
    reply = net.post(0, "/transactions/new", json={"sender": "a", "recipient": "b", "amount": 5})
    assert reply.status_code == 201
    assert reply.json() == {"message": f"Transaction will be added to Block {length + 1}"}
    missing = net.post(0, "/transactions/new", json={"sender": "a", "amount": 5})
    assert (missing.status_code, missing.text) == (400, "Missing values")
    not_json = net.post(0, "/transactions/new", data="sender=a")
    assert not_json.status_code == 415
    forged = net.get(0, "/mine").json()
    assert forged["index"] == length + 1
    assert forged["transactions"][0] == {"sender": "a", "recipient": "b", "amount": 5}
    assert forged["transactions"][-1]["sender"] == "0"
    assert net.get(0, "/pool").json()["count"] == 0


@pytest.mark.parametrize("behaviour", ["garbage", "wrong-length", "slow"])
def test_a_lying_or_broken_dvf_peer_changes_nothing(dvf_network, behaviour):
    net = dvf_network
    bad = Peer(behaviour)
    try:
        if behaviour == "wrong-length":  # claims 5 more blocks than it has
            for _ in range(10):
                bad.get("/mine")
        before = net.get(0, "/chain").json()
        assert net.post(0, "/nodes/register", json={"nodes": [bad.url]}).status_code == 201
        started = time.monotonic()
        resolved = net.get(0, "/nodes/resolve")
        assert resolved.status_code == 200
        assert resolved.json()["message"] == "Our chain is authoritative"
        assert time.monotonic() - started < 20  # the slow peer is timed out (2 s)
        assert net.get(0, "/chain").json() == before
    finally:
        bad.stop()
