"""A network of three platform-rules chain-nodes (gunicorn + worker each, FerretDB, Redis,
node 1 behind NGINX): transactions, double spends, tampered blocks, bad input and bad
peers, a partition that heals, a reorg that returns transactions, restarts.

Expected amounts are worked out by hand: a block pays 50 DTC (5,000,000,000 units) plus
its fees; a coinbase may be spent by a block 10 or more blocks above it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from services.common.chain import blocks, keys, transactions
from tests.chain.conftest import ADMIN, token, wait_for
from tests.chain.helpers import EventLog, funded_key, mine_by_hand
from tools.stack import _free_ports

pytestmark = pytest.mark.e2e

PEER_SCRIPT = Path(__file__).with_name("dvf_peer.py")
SERVICE = {"Authorization": f"Bearer {token('service')}"}


def error_of(reply: requests.Response, status: int) -> dict:
    """The platform's error envelope, with the expected status."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["ok"] is False and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def test_a_signed_transaction_through_nginx_is_mined_and_seen_everywhere(network):
    stream = EventLog(f"{network.urls[2]}/events")
    try:
        owner = funded_key(network)
        friend = keys.generate_key()
        # 11 coinbases of 50 DTC; at height 12 those of heights 1 and 2 are mature.
        address = network.get(1, f"/addresses/{owner.address}").json()
        assert address["balances"]["DTC"] == "550.00000000"
        assert address["spendable"]["DTC"] == "100.00000000"
        assert address["nonce"] == 0 and address["next_nonce"] == 1

        tx = transactions.build_transaction(
            owner.private_key, friend.address, 150_000_000, fee=100_000, nonce=1
        )
        api = f"{network.stack.nginx_url}/api/chain"
        sent = network.http.post(f"{api}/transactions/new", json=tx, timeout=30)
        assert sent.status_code == 201, sent.text
        assert sent.json()["id"] == tx["id"]
        # Relayed to node 2, whose own miner puts it in a block.
        wait_for(lambda: network.get(1, "/pool").json()["count"] >= 1, 30, "relay")
        forged = network.mine(1)
        assert forged["message"] == "New Block Forged"
        assert [t["id"] for t in forged["transactions"]][1:] == [tx["id"]]
        assert forged["transactions"][0]["amount"] == 5_000_000_000 + 100_000
        tip = wait_for(network.same_tip, 60, "the block on every node")

        for node in range(3):
            seen = network.get(node, f"/transactions/{tx['id']}").json()
            assert seen["status"] == "confirmed" and seen["confirmations"] == 1
            assert seen["block"] == tip["hash"]
            assert network.get(node, f"/addresses/{friend.address}").json()["balances"] == {
                "DTC": "1.50000000",
                "DUSD": "0.00000000",
            }
            mine = network.get(node, f"/addresses/{owner.address}").json()
            assert mine["balances"]["DTC"] == "548.49900000"  # 550 - 1.5 - 0.001
            assert mine["nonce"] == 1
        assert (
            network.http.get(f"{api}/blocks/{tip['height']}", timeout=30).json()["hash"]
            == (tip["hash"])
        )
        stream.wait_for("tx", lambda data: data["id"] == tx["id"])
        stream.wait_for("tip", lambda data: data["hash"] == tip["hash"])
    finally:
        stream.close()


def test_double_spends_and_overspending_are_refused(network):
    owner = funded_key(network)
    first, second = keys.generate_key(), keys.generate_key()
    pay_first = transactions.build_transaction(owner.private_key, first.address, 10**8, nonce=1)
    pay_second = transactions.build_transaction(owner.private_key, second.address, 10**8, nonce=1)
    assert network.post(0, "/transactions/new", json=pay_first).status_code == 201
    # The same nonce again (to someone else), the same transaction again, an old nonce.
    assert (
        "nonce 1" in error_of(network.post(0, "/transactions/new", json=pay_second), 409)["message"]
    )
    assert (
        "already in the mempool"
        in (error_of(network.post(0, "/transactions/new", json=pay_first), 409)["message"])
    )
    # More than the 100 spendable DTC (550 held, 450 of it immature).
    too_much = transactions.build_transaction(
        owner.private_key, second.address, 200 * 10**8, nonce=2
    )
    assert error_of(network.post(0, "/transactions/new", json=too_much), 400)["code"] == (
        "insufficient_funds"
    )
    # Someone else's key cannot spend the owner's coins.
    thief = keys.generate_key()
    forged = transactions.build_transaction(thief.private_key, thief.address, 10**8, nonce=2)
    forged = {**forged, "sender": owner.address}
    forged["id"] = transactions.transaction_id(forged)
    assert (
        "does not belong"
        in error_of(network.post(0, "/transactions/new", json=forged), 400)["message"]
    )
    # A miner that puts both spends of nonce 1 in one block is refused.
    before = network.inv(0)
    template = network.get(0, "/mining/template").json()["block"]
    assert [t["id"] for t in template["transactions"][1:]] == [pay_first["id"]]
    txs = [template["transactions"][0], pay_first, pay_second]
    double = {**template, "transactions": txs}
    double["tx_root"] = blocks.merkle_root([t["id"] for t in txs])
    double = blocks.solve_header(double)
    assert "nonce must be 2" in error_of(network.post(0, "/blocks", json=double), 400)["message"]
    assert network.inv(0) == before
    mine_by_hand(network, 0)
    assert network.get(0, f"/transactions/{pay_first['id']}").json()["confirmations"] == 1
    assert network.get(0, f"/transactions/{pay_second['id']}").status_code == 404


def test_a_tampered_block_is_refused_even_at_the_tip(network):
    owner = funded_key(network)
    tx = transactions.build_transaction(
        owner.private_key, keys.generate_key().address, 10**8, fee=10, nonce=1
    )
    assert network.post(0, "/transactions/new", json=tx).status_code == 201
    before = network.inv(0)
    block = blocks.solve_header(network.get(0, "/mining/template").json()["block"])
    assert block["transactions"][1]["id"] == tx["id"]

    # A transaction changed after mining: its id no longer matches.
    changed = {**block, "transactions": [block["transactions"][0], {**tx, "amount": 2 * 10**8}]}
    assert "id is not" in error_of(network.post(0, "/blocks", json=changed), 400)["message"]
    # ... with its id recomputed: the signature fails.
    resigned = {**tx, "amount": 2 * 10**8}
    resigned["id"] = transactions.transaction_id(resigned)
    changed = {**block, "transactions": [block["transactions"][0], resigned]}
    assert "signature" in error_of(network.post(0, "/blocks", json=changed), 400)["message"]
    # A bigger reward with the id, the Merkle root and the proof of work all redone.
    coinbase = {**block["transactions"][0], "amount": 100 * 10**8}
    coinbase["id"] = transactions.transaction_id(coinbase)
    greedy = {**block, "transactions": [coinbase, tx]}
    greedy["tx_root"] = blocks.merkle_root([coinbase["id"], tx["id"]])
    greedy = blocks.solve_header(greedy)
    assert "subsidy" in error_of(network.post(0, "/blocks", json=greedy), 400)["message"]
    # The transactions swapped for others under the old tx_root: the root gives it away.
    swapped = {**block, "transactions": [block["transactions"][0]]}
    assert "tx_root" in error_of(network.post(0, "/blocks", json=swapped), 400)["message"]
    assert network.inv(0) == before

    # The honest block is the tip; the same block tampered afterwards is refused too.
    assert network.post(0, "/blocks", json=block).json()["status"] == "tip"
    tip = network.inv(0)
    stored = network.get(0, f"/blocks/{tip['hash']}").json()["block"]
    assert stored == block
    stored["transactions"][1]["recipient"] = owner.address
    assert error_of(network.post(0, "/blocks", json=stored), 400)["code"] == "invalid_block"
    assert network.inv(0) == tip


BAD_REQUESTS = [
    (
        "post",
        "/transactions/new",
        {"data": b"not json", "headers": {"Content-Type": "text/x"}},
        400,
    ),
    ("post", "/transactions/new", {"json": ["a", "list"]}, 400),
    ("post", "/transactions/new", {"json": {"sender": "0", "amount": 5}}, 400),
    ("post", "/transactions/batch", {"json": {"transactions": "nope"}}, 400),
    ("post", "/blocks", {"json": {"index": 1}}, 400),
    ("post", "/blocks", {"data": b"{", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/nodes/register", {"json": {"nodes": "http://127.0.0.1:9"}}, 400),
    ("post", "/nodes/register", {"json": {"nodes": ["ftp://127.0.0.1:9"]}}, 400),
    ("post", "/nodes/register", {"json": {"nodes": ["http://127.0.0.1:9/api/chain"]}}, 400),
    ("post", "/nodes/register", {"json": {"nodes": []}}, 400),
    ("post", "/inv", {"json": {"work": "lots"}}, 400),
    ("get", "/blocks/999999", {}, 404),
    ("get", "/blocks/" + "ab" * 32, {}, 404),
    ("get", "/transactions/" + "ab" * 32, {}, 404),
    ("get", "/addresses/not-an-address", {}, 400),
    ("get", "/getblocks?limit=ten", {}, 400),
    ("get", "/getblocks?from=" + "cd" * 32, {}, 404),
    ("get", "/mining/template?miner=xyz", {}, 400),
    ("get", "/mine", {}, 401),
    ("get", "/mine", {"headers": {"Authorization": "Bearer forged.token.here"}}, 401),
    ("post", "/restart", {"headers": SERVICE}, 403),
    ("post", "/blocks", {"data": b"x" * (9 * 1024 * 1024)}, 413),
    ("get", "/no/such/route", {}, 404),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(network, method, path, kwargs, status):
    before, pool = network.inv(0), network.get(0, "/pool").json()["count"]
    reply = getattr(network, method)(0, path, **kwargs)
    error_of(reply, status)
    assert network.inv(0) == before
    assert network.get(0, "/pool").json()["count"] == pool


def test_registering_itself_is_refused(network):
    reply = network.post(0, "/nodes/register", json={"nodes": [network.urls[0]]})
    assert "itself" in error_of(reply, 400)["message"]


@pytest.fixture
def bad_peers():
    """Peers that answer garbage, claim a length they do not have, or hang; plus a port
    where nothing listens."""
    ports = _free_ports(4)
    processes = [
        subprocess.Popen(
            [sys.executable, str(PEER_SCRIPT), "--port", str(port), "--behaviour", behaviour],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port, behaviour in zip(ports, ("garbage", "wrong-length", "slow"), strict=False)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls[:3]:
            wait_for(lambda url=url: requests.get(f"{url}/alive", timeout=5).ok, 30, url)
        yield urls
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_bad_peers_are_refused_and_backed_off_never_a_5xx(network, bad_peers):
    node = 2
    before = network.inv(node)
    assert network.post(node, "/nodes/register", json={"nodes": bad_peers}).status_code == 201
    started = time.monotonic()
    reply = network.get(node, "/nodes/resolve")
    assert reply.status_code == 200, reply.text
    report = reply.json()
    # Every bad peer is refused within the peer timeout (2 s each), not waited on for 30 s.
    assert time.monotonic() - started < 20
    assert all(report["peers"][url].startswith("refused") for url in bad_peers), report
    assert report["message"] == "Our chain is authoritative"
    assert network.inv(node)["hash"] == before["hash"]
    # The worker keeps polling them in the background, backed off, and the node serves on.
    time.sleep(1)
    assert network.get(node, "/inv").status_code == 200


def test_a_partition_heals_to_one_tip_and_the_losers_transactions_return(network):
    owner = funded_key(network)
    friend = keys.generate_key()
    base = network.inv(0)
    workers = [f"chain-worker-{n}" for n in (1, 2, 3)]
    for worker in workers:  # no syncing, no relaying: a partition
        network.program("stop", worker)
    stream = None
    try:
        # A node restarted resumes from its database.
        network.program("stop", "chain-node-3")
        network.program("start", "chain-node-3")
        assert network.inv(2) == base
        stream = EventLog(f"{network.urls[2]}/events")

        # Node 3 alone confirms a payment; nodes 1 and 2 mine two blocks meanwhile.
        payment = transactions.build_transaction(
            owner.private_key, friend.address, 7 * 10**8, fee=1000, nonce=1
        )
        assert network.post(2, "/transactions/new", json=payment).status_code == 201
        lonely = mine_by_hand(network, 2)
        assert [t["id"] for t in lonely["transactions"]][1:] == [payment["id"]]
        mine_by_hand(network, 0)
        winner = mine_by_hand(network, 0)
        assert network.inv(2)["height"] == base["height"] + 1
        assert network.inv(0)["height"] == base["height"] + 2
    finally:
        for worker in workers:
            network.program("start", worker)
    try:
        tip = wait_for(network.same_tip, 60, "one tip after the partition heals")
        assert tip["hash"] == blocks.header_hash(winner)
        reorg = stream.wait_for("reorg")
        assert reorg["fork_height"] == base["height"]
        assert reorg["old_tip"]["hash"] == blocks.header_hash(lonely)
        assert reorg["new_tip"]["hash"] == tip["hash"]
        # The abandoned block's payment is pending again on node 3, relayed, and mined.
        assert network.get(2, f"/transactions/{payment['id']}").json()["status"] == "pending"
        wait_for(lambda: network.get(0, "/pool").json()["count"] >= 1, 30, "relay")
        network.mine(0)
        wait_for(network.same_tip, 60, "the payment's block everywhere")
        for node in range(3):
            assert network.get(node, f"/addresses/{friend.address}").json()["balances"]["DTC"] == (
                "7.00000000"
            )
    finally:
        stream.close()


def test_restart_goes_back_to_genesis_and_catches_up_again(network):
    tip = wait_for(network.same_tip, 60, "one tip")
    reply = network.post(2, "/restart", headers=ADMIN)
    assert reply.status_code == 200, reply.text
    assert reply.json()["height"] == 0
    # Its peers still have the chain: the node fetches it back with /getblocks.
    wait_for(lambda: network.inv(2)["hash"] == tip["hash"], 60, "catch-up after restart")


def test_live_streams_are_bounded_per_process(network):
    opened = []
    try:
        for _ in range(5):  # 2 workers x 2 streams: the fifth cannot fit
            reply = requests.get(f"{network.urls[1]}/events", stream=True, timeout=30)
            opened.append(reply)
            if reply.status_code != 200:
                break
        assert error_of(opened[-1], 429)["code"] == "too_many_streams"
        assert 3 <= len(opened) <= 5
    finally:
        for reply in opened:
            reply.close()

    # Closed streams give their places back (the node sees it at its next keep-alive).
    def a_stream_opens() -> bool:
        with requests.get(f"{network.urls[1]}/events", stream=True, timeout=30) as reply:
            return reply.status_code == 200

    wait_for(a_stream_opens, 45, "a free stream")


def test_no_request_was_ever_answered_with_a_5xx(network):
    logs = network.stack.logs_dir
    access = re.compile(r'" (5\d\d) ')
    for number in (1, 2, 3):
        text = (logs / f"chain-node-{number}.log").read_text()
        assert not access.search(text), f"chain-node-{number} answered a 5xx"
        assert "Traceback" not in text
        assert "Traceback" not in (logs / f"chain-worker-{number}.log").read_text()
