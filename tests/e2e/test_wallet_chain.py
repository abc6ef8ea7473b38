"""The wallet against a real chain-node, through NGINX, with its block analyser and
collection worker under supervisord: deposits credited exactly once after the
confirmations, swept hot and cold, withdrawals through every state, a reorg, token
sweeps through the gas keeper, and reserves that reconcile to the unit.

Blocks are mined on demand (``GET /mine``; the node's own miner is off), with a fixed
low difficulty, so every height in these tests is the one the test made.
"""

from __future__ import annotations

import time
import uuid

import pymongo
import pytest
import requests

from services.common.chain import keys
from services.common.wallet_keys import DepositAddressRepository, KeyVault
from tests.conftest import SECRETS
from tests.wallet_chain import (
    COIN,
    FEE,
    TREASURY_KEY,
    Chain,
    admin_wallet,
    coins,
    new_wallet_user,
    wait_for,
)
from tools.stack import INFRA, Ports, Stack

CONFIRMATIONS = 3
HOT_MAX = 6 * COIN
COLD = keys.generate_key()


@pytest.fixture(scope="module")
def chain_stack(tmp_path_factory):
    env = {
        **SECRETS,
        "MONGO_DB": "wallet_" + uuid.uuid4().hex[:10],
        "TRIGGER_INTERVAL_S": "0",
        "CHAIN_NODES": "1",
        "CHAIN_DIFFICULTY_BITS": "4",
        "CHAIN_MINER_INTERVAL_S": "0",
        "WEB_CONCURRENCY": "1",
        "WALLET_CONFIRMATIONS": str(CONFIRMATIONS),
        "WALLET_HOT_MAX": coins(HOT_MAX),
        "WALLET_COLD_ADDRESS": COLD.address,
        "WALLET_WITHDRAW_APPROVAL": "3",
        "WALLET_MIN_COLLECTION": "0.01",
        "WALLET_POLL_S": "0.5",
        "GAS_KEEPER_MIN": "0.001",
    }
    components = {*INFRA, "services", "wallet", "chain", "nginx"}
    stack = Stack(
        tmp_path_factory.mktemp("wallet"), Ports.free(1), env, replicas=1, components=components
    )
    stack.start(timeout=180)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def session():
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture(scope="module")
def chain(chain_stack, session) -> Chain:
    return Chain(
        chain_stack.chain_urls[0], session, admin_wallet(chain_stack.nginx_url, session).headers
    )


@pytest.fixture(scope="module")
def admin(chain_stack, session):
    return admin_wallet(chain_stack.nginx_url, session)


@pytest.fixture(scope="module")
def outsider(chain):
    """An outside key with mature coinbase DTC to send from (12 blocks mined to it)."""
    key = keys.generate_key()
    chain.mine(12, miner=key.address)
    return key


def _state(user, deposit_txid):
    return next((d for d in user.deposits() if d["txid"] == deposit_txid), None)


def test_a_deposit_is_credited_once_after_its_confirmations_and_swept_hot_and_cold(
    chain_stack, chain, session, outsider, admin
):
    user = new_wallet_user(chain_stack.nginx_url, session)
    address = user.address()
    txid = chain.send(outsider.private_key, address, 8 * COIN)
    chain.mine(1)
    seen = wait_for(lambda: _state(user, txid), what="the deposit to be seen")
    assert (seen["state"], seen["confirmations"], seen["amount"]) == ("submitted", 1, "8.00000000")
    chain.mine(CONFIRMATIONS - 2)
    wait_for(lambda: _state(user, txid)["confirmations"] == CONFIRMATIONS - 1, what="2 confs")
    assert _state(user, txid)["state"] == "submitted"
    assert user.balance()["available"] == "0.00000000"
    chain.mine(1)
    credited = wait_for(
        lambda: _state(user, txid)["state"] in ("accepted", "collecting") and _state(user, txid)
    )
    assert credited["confirmations"] >= CONFIRMATIONS
    # 8 DTC less the collection fee (two network fees of 0.0001).
    assert user.balance()["available"] == "7.99980000"

    # Collection: the worker plans the sweep and sends it; mine until it is confirmed.
    hot = admin.get("/admin/addresses")["hot"]

    def swept():
        chain.mine(1)
        return _state(user, txid)["state"] == "collected"

    wait_for(swept, timeout=120, what="the deposit to be collected")
    # The hot wallet filled to WALLET_HOT_MAX (6 DTC), the rest cold, each paying its fee.
    assert chain.balance(hot) == HOT_MAX
    assert chain.balance(COLD.address) == 8 * COIN - HOT_MAX - 2 * FEE
    assert chain.balance(address) == 0
    assert user.balance()["available"] == "7.99980000"  # still once

    # Every block seen again from genesis (the analyser's position forgotten, as after a
    # lost database document): nothing is credited twice.
    with pymongo.MongoClient(chain_stack.mongo_uri) as client:
        client[chain_stack.env["MONGO_DB"]]["wallet_analyser"].delete_many({})
    height = chain.mine(1)
    wait_for(lambda: admin.get("/reserves")["height"] == height, what="the analyser to resync")
    assert user.balance()["available"] == "7.99980000"
    assert [d["state"] for d in user.deposits()] == ["collected"]
    history = user.get("/history")["entries"]
    assert sorted(e["reason"] for e in history) == ["deposit", "deposit_fee"]
    reserves = {r["asset"]: r for r in admin.get("/reserves")["reserves"]}
    assert reserves["DTC"]["unexplained"] == "0.00000000"
    assert reserves["DTC"]["covered"] is True


def test_a_withdrawal_goes_through_every_state_and_arrives_on_chain(
    chain_stack, chain, session, outsider, admin
):
    user = new_wallet_user(chain_stack.nginx_url, session)
    txid = chain.send(outsider.private_key, user.address(), 3 * COIN)
    chain.mine(CONFIRMATIONS)
    wait_for(lambda: user.balance()["available"] == "2.99980000", what="the credit")
    destination = keys.generate_key().address
    body = {"asset": "DTC", "address": destination, "amount": "1.5"}
    created = user.post("/withdrawals", body, status=201, key="first-withdrawal")
    assert created["state"] in ("accepted", "processing", "confirming")
    again = user.post("/withdrawals", body, status=201, key="first-withdrawal")
    assert again["id"] == created["id"]
    seen = {created["state"]}

    def confirming():
        state = user.get(f"/withdrawals/{created['id']}")["state"]
        seen.add(state)
        return state == "confirming"

    wait_for(confirming, what="the withdrawal to be sent")
    sent = user.get(f"/withdrawals/{created['id']}")
    assert len(sent["txid"]) == 64
    assert user.balance()["locked"] == "1.50010000"
    chain.mine(CONFIRMATIONS)
    wait_for(
        lambda: user.get(f"/withdrawals/{created['id']}")["state"] == "succeeded",
        what="the withdrawal to succeed",
    )
    assert chain.balance(destination) == 150_000_000
    balance = user.balance()
    assert (balance["available"], balance["locked"]) == ("1.49970000", "0.00000000")
    # Exactly one transaction was ever sent for it.
    assert chain.get(f"/transactions/{sent['txid']}")["status"] == "confirmed"
    assert _state(user, txid)["state"] in ("accepted", "collecting", "collected")

    # Above the limit (3 DTC) it waits for an admin, then goes through.
    txid2 = chain.send(outsider.private_key, user.address(), 10 * COIN)
    chain.mine(CONFIRMATIONS)
    wait_for(lambda: _state(user, txid2) and _state(user, txid2)["state"] != "submitted")
    big = user.post(
        "/withdrawals", {"asset": "DTC", "address": destination, "amount": "4"}, status=201
    )
    assert big["needs_approval"] and big["state"] == "accepted"

    chain.mine(2)
    assert user.get(f"/withdrawals/{big['id']}")["state"] == "accepted"  # still waiting
    admin.post(f"/withdrawals/{big['id']}/approve")

    def done():
        chain.mine(1)
        return user.get(f"/withdrawals/{big['id']}")["state"] == "succeeded"

    wait_for(done, timeout=120, what="the approved withdrawal to succeed")
    assert chain.balance(destination) == 550_000_000


def test_a_deposit_in_a_block_that_a_reorg_removes_is_never_credited(
    chain_stack, chain, session, outsider, admin
):
    user = new_wallet_user(chain_stack.nginx_url, session)
    address = user.address()
    before = chain.template(keys.generate_key().address)
    deposit = chain.transfer(outsider.private_key, address, 2 * COIN)
    # The same coins, same nonce, to somewhere else: the fork's version of history.
    elsewhere = chain.transfer(
        outsider.private_key, keys.generate_key().address, 2 * COIN, nonce=deposit["nonce"]
    )
    chain.submit(deposit)
    chain.mine(1)
    wait_for(lambda: _state(user, deposit["id"]), what="the deposit to be seen")
    # A longer branch from the block before, holding the double spend: the node reorgs.
    for block in chain.fork(before, [elsewhere], length=2):
        chain.submit_block(block)
    wait_for(lambda: _state(user, deposit["id"]) is None, what="the deposit to be removed")
    chain.mine(CONFIRMATIONS + 1)
    wait_for(lambda: chain.tip()["height"] == int(admin.get("/reserves")["height"]))
    assert _state(user, deposit["id"]) is None
    assert user.balance()["available"] == "0.00000000"
    assert admin.get("/alerts")["alerts"] == [] or all(
        a["kind"] != "deep_reorg" for a in admin.get("/alerts")["alerts"]
    )


def test_a_dusd_deposit_waits_for_gas_then_is_topped_up_and_swept(
    chain_stack, chain, session, outsider, admin
):
    user = new_wallet_user(chain_stack.nginx_url, session)
    address = user.address()
    treasury = keys.key_from_private(TREASURY_KEY).address
    if chain.balance(treasury) < COIN:
        chain.mine(11, miner=treasury)  # DTC for the treasury's fees (mature coinbase)
    txid = chain.send(TREASURY_KEY, address, 25 * COIN, asset="DUSD")
    chain.mine(CONFIRMATIONS)
    wait_for(lambda: user.balance("DUSD")["available"] == "25.00000000", what="DUSD credit")
    # The gas keeper holds nothing: the sweep waits and the alert is raised.
    keeper = admin.get("/gas-keeper")
    assert keeper["low"] is True

    def alerted():
        chain.mine(1)
        return any(a["kind"] == "gas_keeper_low" for a in admin.get("/alerts")["alerts"])

    wait_for(alerted, what="the gas keeper's alert")
    assert _state(user, txid)["state"] == "collecting"
    assert chain.balance(address, "DUSD") == 25 * COIN
    # Refilled, it tops the address up; once that is confirmed the DUSD is swept.
    chain.send(outsider.private_key, keeper["address"], COIN)

    def swept():
        chain.mine(1)
        return _state(user, txid)["state"] == "collected"

    wait_for(swept, timeout=150, what="the DUSD sweep")
    assert chain.balance(address, "DUSD") == 0
    assert admin.get("/gas-keeper")["low"] is False
    hot = admin.get("/admin/addresses")["hot"]
    assert chain.balance(hot, "DUSD") + chain.balance(COLD.address, "DUSD") == 25 * COIN
    reserves = {r["asset"]: r for r in admin.get("/reserves")["reserves"]}
    for asset in ("DTC", "DUSD"):
        assert reserves[asset]["unexplained"] == "0.00000000", reserves[asset]
        assert reserves[asset]["covered"] is True


BURST = 1000
BURST_USERS = 100


@pytest.mark.timeout(1800)
def test_a_burst_of_1000_deposits_is_credited_once_and_collected(
    chain_stack, chain, outsider, admin
):
    """1,000 transfers to 100 users' addresses in one block: every one credited once,
    every address swept, and the reserves still explained to the unit."""
    with pymongo.MongoClient(chain_stack.mongo_uri) as client:
        db = client[chain_stack.env["MONGO_DB"]]
        vault = KeyVault(chain_stack.wallet_encryption_key())
        addresses = DepositAddressRepository(db)
        users = [f"burst{uuid.uuid4().hex[:10]}" for _ in range(BURST_USERS)]
        by_user = {user: addresses.get_or_create(user, vault) for user in users}
        amount = 5_000_000  # 0.05 DTC each
        # Ten senders of 100 transfers each (a node checks a sender's pending ones).
        senders = [keys.generate_key() for _ in range(10)]
        for sender in senders:
            chain.send(outsider.private_key, sender.address, 6 * COIN)
        chain.mine(1)
        txids = []
        for n, sender in enumerate(senders):
            first_nonce = chain.next_nonce(sender.address)
            for i in range(BURST // len(senders)):
                user = users[(n * 100 + i) % BURST_USERS]
                tx = chain.transfer(
                    sender.private_key, by_user[user], amount, nonce=first_nonce + i
                )
                txids.append(chain.submit(tx))
        chain.mine(1)
        chain.mine(CONFIRMATIONS - 1)
        deposits = db["wallet_deposits"]

        def credited():
            return (
                deposits.count_documents({"user": {"$in": users}, "state": {"$ne": "submitted"}})
                == BURST
            )

        wait_for(credited, timeout=300, what="1,000 deposits to be credited")

        def collected():
            chain.mine(1)
            time.sleep(1)  # a block a second at most: the sweeps' pace, not the miner's
            return deposits.count_documents({"user": {"$in": users}, "state": "collected"}) == BURST

        wait_for(collected, timeout=600, what="1,000 deposits to be collected")
        assert deposits.count_documents({"user": {"$in": users}}) == BURST
        assert sorted(d["txid"] for d in deposits.find({"user": {"$in": users}})) == sorted(txids)
        # Each user: ten deposits of 0.05, each charged 0.0002: 0.498 DTC, credited once.
        ledger = db["wallet_ledger"]
        for user in users:
            entries = list(ledger.find({"user": user}))
            assert sorted(e["reason"] for e in entries) == ["deposit"] * 10 + ["deposit_fee"] * 10
            net = sum(e["units"] if e["to"] == f"user:{user}" else -e["units"] for e in entries)
            assert net == 10 * (amount - 2 * FEE)
            assert chain.balance(by_user[user]) == 0
    reserves = {r["asset"]: r for r in admin.get("/reserves")["reserves"]}
    assert reserves["DTC"]["unexplained"] == "0.00000000", reserves["DTC"]
    assert reserves["DTC"]["covered"] is True
