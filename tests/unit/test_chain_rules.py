"""The chain's pure rules, against values worked out by hand: hashes, Merkle roots, the
proof of work, the subsidy, difficulty retargeting, timestamps, maturity, balances and
nonces, the mempool's order, and dvf's wire format."""

from __future__ import annotations

import hashlib

import pytest

from services.common.chain import blocks, keys, transactions
from services.common.chain.rules import (
    ChainParams,
    DoubleSpend,
    DvfRules,
    InsufficientChainFunds,
    InvalidBlock,
    PlatformRules,
    next_bits,
    subsidy,
)
from services.common.chain.state import ChainState
from services.common.chain.transactions import InvalidTransaction

COIN = 100_000_000
ALICE = keys.key_from_private("11" * 32)
BOB = keys.key_from_private("22" * 32)
MINER = "cd" * 20


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_merkle_roots_by_hand():
    a, b, c = "aa" * 32, "bb" * 32, "cc" * 32
    assert blocks.merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert blocks.merkle_root([a]) == a
    ab = sha(bytes.fromhex(a) + bytes.fromhex(b))
    assert blocks.merkle_root([a, b]) == ab.hex()
    cc = sha(bytes.fromhex(c) + bytes.fromhex(c))  # the odd one pairs with itself
    assert blocks.merkle_root([a, b, c]) == sha(ab + cc).hex()


def test_dvf_hash_and_proof_follow_the_interop_spec():
    genesis = {"index": 1, "timestamp": 1.5, "transactions": [], "proof": 100, "previous_hash": "1"}
    written = (
        '{"index": 1, "previous_hash": "1", "proof": 100, "timestamp": 1.5, "transactions": []}'
    )
    assert blocks.dvf_hash(genesis) == hashlib.sha256(written.encode()).hexdigest()
    last_hash = blocks.dvf_hash(genesis)
    proof = blocks.dvf_proof_of_work(100, last_hash)
    guess = hashlib.sha256(f"100{proof}{last_hash}".encode()).hexdigest()
    assert guess.startswith("0000")
    # The first proof from 0 upward: none smaller works.
    assert not any(blocks.dvf_valid_proof(100, p, last_hash) for p in range(proof))
    assert not blocks.dvf_valid_proof(100, float(proof), last_hash)  # "123.0" is another string


def test_the_header_hash_covers_the_transactions_through_tx_root():
    rules = PlatformRules(ChainParams(fixed_bits=4))
    block = rules.genesis()
    header = (
        '{"difficulty":4,"index":0,"previous_hash":"' + "0" * 64 + '","proof":0,'
        f'"timestamp":{block["timestamp"]},"tx_root":"{block["tx_root"]}"}}'
    )
    assert blocks.header_hash(block) == hashlib.sha256(header.encode()).hexdigest()
    solved = blocks.solve_header({**block, "index": 1})
    assert int(blocks.header_hash(solved), 16) >> 252 == 0  # 4 leading zero bits


def test_the_subsidy_halves_every_10000_blocks():
    assert subsidy(1) == 50 * COIN
    assert subsidy(9_999) == 50 * COIN
    assert subsidy(10_000) == 25 * COIN
    assert subsidy(20_000) == 1_250_000_000
    assert subsidy(64 * 10_000) == 0


def _ancestors(spacing_ms: int, bits: int = 10, count: int = 10) -> list[dict]:
    return [
        {"index": i, "timestamp": 1_000_000 + i * spacing_ms, "difficulty": bits}
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("spacing_ms", "expected"),
    [
        (10_000, 10),  # on time
        (2_000, 12),  # 5x too fast: +2 bits (at most a factor of 4)
        (5_000, 11),  # 2x too fast: +1
        (20_000, 9),  # 2x too slow: -1
        (100_000, 8),  # 10x too slow: -2 (at most a factor of 4)
        (12_000, 10),  # within sqrt(2): unchanged
    ],
)
def test_difficulty_retargets_every_10_blocks_by_at_most_a_factor_4(spacing_ms, expected):
    params = ChainParams(block_time_ms=10_000)
    assert next_bits(params, 10, _ancestors(spacing_ms)) == expected
    # Between retargets it stays the parent's; a fixed difficulty never moves.
    assert next_bits(params, 11, _ancestors(spacing_ms)) == 10
    assert next_bits(ChainParams(fixed_bits=7), 10, _ancestors(spacing_ms)) == 7


def _child(rules: PlatformRules, parent: dict, **changes) -> dict:
    height = parent["index"] + 1
    coinbase = transactions.build_coinbase(MINER, subsidy(height), height, parent["timestamp"] + 1)
    block = {
        "index": height,
        "timestamp": parent["timestamp"] + 1000,
        "transactions": [coinbase],
        "proof": 0,
        "previous_hash": blocks.header_hash(parent),
        "tx_root": blocks.merkle_root([coinbase["id"]]),
        "difficulty": rules.params.fixed_bits,
        **changes,
    }
    return blocks.solve_header(block)


def test_headers_must_link_count_and_keep_the_timestamp_rules():
    rules = PlatformRules(ChainParams(fixed_bits=4))
    genesis = rules.genesis()
    parent_hash = blocks.header_hash(genesis)
    now = genesis["timestamp"] + 60_000
    good = _child(rules, genesis)
    assert rules.check_header(good, parent_hash, [genesis], now) == 16  # 2**4 hashes
    bad = {
        "wrong parent": _child(rules, genesis, previous_hash="ab" * 32),
        "wrong index": _child(rules, genesis, index=5),
        "wrong difficulty": _child(rules, genesis, difficulty=5),
        "not after the median": _child(rules, genesis, timestamp=genesis["timestamp"]),
        "too far ahead": _child(rules, genesis, timestamp=now + 2 * 3600 * 1000 + 1),
    }
    for what, block in bad.items():
        with pytest.raises(InvalidBlock):
            rules.check_header(block, parent_hash, [genesis], now)
            pytest.fail(what)
    # Exactly 2 h ahead is still fine.
    edge = _child(rules, genesis, timestamp=now + 2 * 3600 * 1000)
    assert rules.check_header(edge, parent_hash, [genesis], now) == 16


def _funded_state(height: int = 50) -> ChainState:
    state = ChainState(height=height)
    state.balances[(ALICE.address, "DTC")] = 10 * COIN
    state.balances[(ALICE.address, "DUSD")] = 3 * COIN
    return state


def _block(height: int, txs: list[dict], fees: int | None = None, reward: int | None = None):
    fees = sum(tx["fee"] for tx in txs) if fees is None else fees
    amount = subsidy(height) + fees if reward is None else reward
    return {"transactions": [transactions.build_coinbase(MINER, amount, height, 5), *txs]}


def test_a_block_moves_balances_and_pays_the_fees_to_the_miner():
    rules = PlatformRules(ChainParams())
    state = _funded_state()
    pay = transactions.build_transaction(ALICE.private_key, BOB.address, 2 * COIN, fee=500, nonce=1)
    dusd = transactions.build_transaction(
        ALICE.private_key, BOB.address, COIN, asset="DUSD", fee=300, nonce=2
    )
    undo = rules.connect(state, _block(51, [pay, dusd]), 51, "ff" * 32)
    assert state.balance(ALICE.address, "DTC") == 10 * COIN - 2 * COIN - 800
    assert state.balance(ALICE.address, "DUSD") == 2 * COIN
    assert state.balance(BOB.address, "DTC") == 2 * COIN
    assert state.balance(BOB.address, "DUSD") == COIN
    assert state.balance(MINER, "DTC") == 50 * COIN + 800
    assert state.nonce(ALICE.address) == 2 and state.height == 51
    rules.disconnect(state, undo)
    assert state == _funded_state()


@pytest.mark.parametrize(
    ("txs", "reward", "message"),
    [
        ("overspend", None, "cannot pay"),
        ("gap", None, "nonce must be 1"),
        ("double", None, "nonce must be 2"),
        ("none", 50 * COIN + 1, "subsidy plus the fees"),
    ],
)
def test_a_block_breaking_a_rule_changes_nothing(txs, reward, message):
    rules = PlatformRules(ChainParams())
    state = _funded_state()
    spend = {
        "overspend": [
            transactions.build_transaction(
                ALICE.private_key, BOB.address, 10 * COIN, nonce=1, fee=1
            )
        ],
        "gap": [transactions.build_transaction(ALICE.private_key, BOB.address, 1, nonce=2)],
        "double": [
            transactions.build_transaction(ALICE.private_key, BOB.address, 1, nonce=1),
            transactions.build_transaction(ALICE.private_key, MINER, 1, nonce=1),
        ],
        "none": [],
    }[txs]
    with pytest.raises(InvalidBlock, match=message):
        rules.connect(state, _block(51, spend, reward=reward), 51, "ff" * 32)
    assert state == _funded_state()


def test_a_coinbase_is_spendable_10_blocks_later():
    rules = PlatformRules(ChainParams())
    state = ChainState(height=0)
    rules.connect(state, _block(1, []), 1, "01" * 32)
    for height in range(2, 11):
        rules.connect(state, {"transactions": [_block(height, [])["transactions"][0]]}, height, "")
    assert state.balance(MINER, "DTC") == 500 * COIN
    # At height 11 only the coinbase of height 1 is mature (11 - 1 >= 10).
    assert state.spendable(MINER, "DTC", 11) == 50 * COIN
    assert state.spendable(MINER, "DTC", 10) == 0


def test_the_mempool_admits_each_senders_next_nonce_with_the_funds_for_it():
    rules = PlatformRules(ChainParams())
    state = _funded_state()
    first = transactions.build_transaction(ALICE.private_key, BOB.address, 6 * COIN, nonce=1)
    second = transactions.build_transaction(ALICE.private_key, BOB.address, 3 * COIN, nonce=2)
    rules.admit(state, first, [])
    rules.admit(state, second, [first])
    with pytest.raises(DoubleSpend):  # nonce 1 is pending already
        rules.admit(
            state, transactions.build_transaction(ALICE.private_key, MINER, 1, nonce=1), [first]
        )
    with pytest.raises(InvalidTransaction, match="nonce must be 3"):
        rules.admit(
            state,
            transactions.build_transaction(ALICE.private_key, MINER, 1, nonce=4),
            [first, second],
        )
    too_much = transactions.build_transaction(ALICE.private_key, BOB.address, 2 * COIN, nonce=3)
    with pytest.raises(InsufficientChainFunds):  # 10 - 6 - 3 = 1 DTC left
        rules.admit(state, too_much, [first, second])
    assert state == _funded_state()  # admission never changes the state


def test_templates_take_the_highest_fees_first_in_each_senders_nonce_order():
    rules = PlatformRules(ChainParams(fixed_bits=4, max_block_txs=3))
    state = _funded_state()
    state.balances[(BOB.address, "DTC")] = COIN
    alice_1 = transactions.build_transaction(ALICE.private_key, MINER, 1, fee=1, nonce=1)
    alice_2 = transactions.build_transaction(ALICE.private_key, MINER, 1, fee=90, nonce=2)
    bob_1 = transactions.build_transaction(BOB.private_key, MINER, 1, fee=50, nonce=1)
    genesis = rules.genesis()
    template = rules.template(
        state, genesis, "00" * 32, [genesis], [alice_2, alice_1, bob_1], MINER, 10**13
    )
    chosen = template["block"]["transactions"]
    # Two slots after the coinbase: bob (50) before alice's nonce 1 (fee 1), which alone
    # unlocks her nonce 2 (fee 90) for a later block.
    assert [tx["id"] for tx in chosen[1:]] == [bob_1["id"], alice_1["id"]]
    assert chosen[0]["amount"] == subsidy(1) + 51


def test_dvf_rules_take_any_transaction_and_check_only_links_and_proofs():
    rules = DvfRules("node")
    genesis = rules.genesis()
    last_hash = rules.block_hash(genesis)
    block = {
        "index": "anything",
        "timestamp": None,
        "transactions": [{"sender": 1, "whatever": True}],
        "proof": blocks.dvf_proof_of_work(genesis["proof"], last_hash),
        "previous_hash": last_hash,
    }
    rules.check_body(block)
    assert rules.check_header(block, last_hash, [genesis], 0) == 1
    with pytest.raises(InvalidBlock):
        rules.check_header({**block, "proof": block["proof"] + 1}, last_hash, [genesis], 0)
    with pytest.raises(InvalidBlock):
        rules.check_body({"proof": 1})
