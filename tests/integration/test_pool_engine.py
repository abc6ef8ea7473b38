"""The pool engine over real FerretDB and Redis, on an in-memory chain (tests/chain_double)
whose every block and transaction the test can inspect, with the engine's clock in the
test's hands: machines dig for five minutes of engine time, blocks are found, the pools
pay, and the amounts are checked against figures worked out by hand. The engine is
"killed" in the middle of its payouts and started again; nothing is paid twice."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace

import pytest

from services.common import pool_centre
from services.common.chain.keys import generate_key
from services.common.domain.mining import PoolConfig
from services.common.mining_repositories import CONFIRMED, SIGNED, MiningStore
from services.mining import service as mining
from services.pool_engine.service import EngineSettings, PoolEngine
from tests.chain_double import ChainDouble
from tests.helpers import random_user

DTC = 100_000_000
T0 = 1_800_000_000_000
ATLAS = PoolConfig("atlas", "PPLNS", 150)
BOREAL = PoolConfig("boreal", "PPS", 250)
SETTINGS = EngineSettings(
    block_time_ms=10_000,
    rest_hashrate=10**12,
    share_hashes=2**32,
    pplns_factor=2.0,
    window_ms=10_000,
    settle_ms=0,
    stats_interval_ms=5_000,
    maturity=10,
    pow_max_s=30.0,
    pps_settle_blocks=3,
)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture(scope="module")
def store(db):
    mining_store = MiningStore(db)
    mining_store.ensure_indexes()
    return mining_store


def _mining_context(store, rds, clock) -> mining.MiningContext:
    """The mining service's use cases over the test's store and clock (no locks needed:
    one thread)."""
    return mining.MiningContext(
        store=store,
        lock=lambda user: nullcontext(),
        clock_ms=clock,
        pools=(ATLAS, BOREAL),
        max_machines=20,
        history_limit=50,
        announce=lambda *args: rds.incr(pool_centre.digs_version_key(store.database)),
        stats=pool_centre.StatsCache(rds, store.database),
    )


def _engine(store, chain, rds, clock, keys, settings=SETTINGS) -> PoolEngine:
    """A pool engine started (again) over the store: it recovers what it was doing."""
    engine = PoolEngine(
        store,
        chain,
        rds,
        [ATLAS, BOREAL],
        keys,
        settings,
        seed=13,
        authorised_chain=lambda: chain,
        clock_ms=clock,
    )
    engine.recover()
    return engine


class Crash(Exception):
    """Stands for SIGKILL at one point of the engine's work."""


def test_machines_digging_are_paid_their_share_of_the_blocks_less_fees(store, rds):
    keys = {"atlas": generate_key(), "boreal": generate_key()}
    # A PPS pool pays from its reserves before its own blocks mature.
    chain = ChainDouble(funds={keys["boreal"].address: 1_000 * DTC})
    clock = Clock()
    ctx = _mining_context(store, rds, clock)
    users = {name: random_user() for name in ("alice", "bob", "carol", "dave")}
    addresses = {name: generate_key().address for name in users}
    for name, user in users.items():
        store.addresses._addresses.insert_one({"_id": user, "address": addresses[name]})
    rigs = {
        "alice": ("atlas", 3 * 10**12),
        "bob": ("atlas", 10**12),
        "carol": ("boreal", 2 * 10**12),
        # 2**32 H/s earns exactly one 2**32-hash share a second.
        "dave": ("atlas", 2**32),
    }
    machines = {}
    for name, (pool, hashrate) in rigs.items():
        machines[name] = mining.register_machine(ctx, users[name], name, "S19", hashrate)["id"]
        mining.start_machine(ctx, users[name], machines[name], pool)

    # Killed between storing the first signed transaction and marking its payout
    # signed, with the chain-node unreachable for the next sends too.
    update = store.payouts.update
    crashes = []

    def crash_once(payout_id, from_state, **fields):
        if not crashes and fields.get("state") == SIGNED:
            crashes.append(payout_id)
            raise Crash()
        return update(payout_id, from_state, **fields)

    store.payouts.update = crash_once
    engine = _engine(store, chain, rds, clock, keys)
    try:
        for second in range(1, 801):
            clock.now = T0 + second * 1000
            if second == 150:
                mining.stop_machine(ctx, users["dave"], machines["dave"])
            if second == 300:
                for name in ("alice", "bob", "carol"):
                    mining.stop_machine(ctx, users[name], machines[name])
            try:
                engine.tick()
            except Crash:
                chain.fail_submissions = 3
                engine = _engine(store, chain, rds, clock, keys)
    finally:
        del store.payouts.update
    assert crashes

    atlas_blocks = [b for b in chain.blocks if b["miner"] == keys["atlas"].address]
    boreal_blocks = [b for b in chain.blocks if b["miner"] == keys["boreal"].address]
    assert len(atlas_blocks) >= 5 and len(boreal_blocks) >= 2, chain.height

    # Every payout is confirmed on chain, each sent once with its own nonce.
    payouts = [p for user in users.values() for p in store.payouts.for_owner(user)]
    assert payouts and all(p["state"] == CONFIRMED for p in payouts)
    assert len(chain.submitted_txids) == len(set(chain.submitted_txids)) == len(payouts)
    for pool in ("atlas", "boreal"):
        nonces = sorted(p["nonce"] for p in payouts if p["pool"] == pool)
        assert nonces == list(range(1, len(nonces) + 1))

    # PPLNS, 1.5 % fee: each 50-DTC block pays 50 - 0.75 = 49.25 DTC to its miners.
    atlas_paid = sum(chain.received(addresses[name]) for name in ("alice", "bob", "dave"))
    assert atlas_paid == len(atlas_blocks) * 4_925_000_000
    # Alice digs three times Bob's hashrate for the same time: three times the pay,
    # within a few shares (~150,000 units each) per round of rounding.
    alice, bob = chain.received(addresses["alice"]), chain.received(addresses["bob"])
    assert abs(alice - 3 * bob) <= 2_000_000 * len(atlas_blocks)

    # PPS, 2.5 % fee, 50 DTC a block, 10-s blocks: carol's 2*10**12 H/s earns
    # 2e12 x 5e9 / (network x 10) units a second. For 150 s the network is
    # 7*10**12 + dave's 2**32 = 7,004,294,967,296 H/s: 142,769,540.4/s -> 21,415,431,060;
    # then 7*10**12 H/s: 142,857,142.86/s -> 21,428,571,429. Together 42,844,002,489,
    # less 2.5 % = 41,772,902,427, to within a share (~306,600 units) of rounding,
    # whatever boreal's own luck.
    carol = chain.received(addresses["carol"])
    assert abs(carol - 41_772_902_427) < 1_000_000

    # Dave stopped after 150 s: exactly 150 shares, and none after his stop.
    history = {dig["machine"]: dig for dig in mining.dig_history(ctx, users["dave"])["digs"]}
    assert history[machines["dave"]]["shares"] == 150
    # Bob stopped at 300 s: 10**12 x 300 / 2**32 = 69,849.19 -> 69,849 shares.
    bob_digs = mining.dig_history(ctx, users["bob"])["digs"]
    assert [dig["shares"] for dig in bob_digs] == [69_849]
    assert bob_digs[0]["earnings"] == f"{bob // DTC}.{bob % DTC:08d}"

    earned = mining.earnings(ctx, users["carol"])
    assert earned["paid"] == earned["total"] == f"{carol // DTC}.{carol % DTC:08d}"

    # The pool centre: blocks found, luck, no hashrate left.
    stats = {
        pool["id"]: pool for pool in pool_centre.StatsCache(rds, store.database).read()["pools"]
    }
    assert stats["atlas"]["blocks_7d"] == len(atlas_blocks)
    assert stats["atlas"]["luck"] is not None and stats["atlas"]["hashrate"] == 0
    assert stats["boreal"]["last_block"]["hash"] == boreal_blocks[-1]["hash"]


def test_no_block_is_found_while_nothing_mines_at_all(store, rds):
    """POOL_REST_HASHRATE 0 (the e2e stack's): the chain waits until a machine digs, and
    then its pool finds every block."""
    keys = {"atlas": generate_key(), "boreal": generate_key()}
    chain = ChainDouble()
    clock = Clock()
    ctx = _mining_context(store, rds, clock)
    alone = _engine(store, chain, rds, clock, keys, replace(SETTINGS, rest_hashrate=0))
    # Every digging machine of the earlier test has stopped: ten block times, no block.
    for second in range(1, 101):
        clock.now = T0 + 10_000_000 + second * 1000
        alone.tick()
    assert chain.height == 0

    user = random_user()
    machine = mining.register_machine(ctx, user, "rig", "S19", 10**12)["id"]
    mining.start_machine(ctx, user, machine, "atlas")
    for second in range(101, 201):
        clock.now = T0 + 10_000_000 + second * 1000
        alone.tick()
    mining.stop_machine(ctx, user, machine)
    # About one block per 10 s over 100 s, each of them atlas's.
    assert chain.height >= 3
    assert {block["miner"] for block in chain.blocks[1:]} == {keys["atlas"].address}
