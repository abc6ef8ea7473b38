"""The pool engine: shares, the draw for each block, real proof of work, rounds and
on-chain payouts, and the pool centre's scheduled statistics.

One engine runs per platform, single-threaded. Every step leaves its result in MongoDB
before the next step relies on it, and each result is inserted once (by ``_id``), so an
engine killed anywhere and started again redoes the step it was in and finds the earlier
ones done: no share is counted twice or lost, no payout made twice.

- **Shares** are counted per pool in windows that end ``POOL_SETTLE_MS`` before now (so
  a start or stop written just before is seen), from the digs' start and stop times:
  a dig earns ``hashrate x time`` of work, one share per ``POOL_SHARE_HASHES`` hashes,
  the work below one share carried to the next window.
- **Blocks** arrive as a Poisson process averaging one per ``POOL_BLOCK_TIME_S`` (each
  wait drawn from the exponential distribution, counted from when the last was due); each
  is won by a pool, or by the rest of the network, in proportion to hashrate (a seeded
  RNG). A winning pool does real proof of work on the chain-node's template paying its
  own address and submits the block; the rest of the network's block is mined by the
  chain-node's own miner (``GET /mine``).
- **Rounds**: a PPLNS pool's found block pays its reward less the fee over the last
  ``N = POOL_PPLNS_FACTOR x expected shares per block`` shares; a PPS pool settles the
  shares of its windows every ``POOL_PPS_SETTLE_BLOCKS`` network blocks at reward /
  expected shares per block.
- **Payouts** (one per owner per round) are signed with the pool's key and stored
  before they are sent, once the coinbase paying for them matured (PPLNS), and sent
  again with the same bytes until they are confirmed.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import redis

from ..common import events, pool_centre
from ..common.chain import blocks, transactions
from ..common.chain.client import ChainNodeClient, ChainNodeError
from ..common.chain.keys import KeyPair
from ..common.domain import mining as rules
from ..common.mining_repositories import (
    CONFIRMED,
    CREDITED,
    FOUND,
    NEW,
    ORPHANED,
    REJECTED,
    SENT,
    SIGNED,
    SUBMITTED,
    MiningStore,
)

log = logging.getLogger(__name__)

SPLIT = "split"
#: Payout sends per tick at most, so a backlog never starves the block clock.
SENDS_PER_TICK = 50
#: Open payouts looked at per pool and turn (oldest first).
OPEN_PAYOUTS_PER_POOL = 200
CONFIRM_CHECK_MS = 5_000


@dataclass(frozen=True)
class EngineSettings:
    """The engine's knobs (POOL_* settings)."""

    block_time_ms: int
    rest_hashrate: int
    share_hashes: int
    pplns_factor: float
    window_ms: int
    settle_ms: int
    stats_interval_ms: int
    maturity: int
    pow_max_s: float
    #: A PPS pool settles (and pays) every this many network blocks.
    pps_settle_blocks: int = 1


@dataclass
class PoolState:
    """What the engine keeps in memory of one pool (all of it re-read at start)."""

    config: rules.PoolConfig
    key: KeyPair
    last_window: dict | None = None
    machines: int = 0
    hashrate: int = 0
    #: Its accepted blocks of the last 7 days, newest first (for the pool centre).
    week_blocks: list = field(default_factory=list)


@dataclass
class Counters:
    """Work done, for the logs and the benchmark (``mining:engine`` in Redis)."""

    blocks: dict = field(default_factory=dict)
    pow_cpu_s: float = 0.0
    pow_wall_s: float = 0.0
    payouts_sent: int = 0


class PoolEngine:
    """The pools of the platform, mining on one chain-node."""

    def __init__(
        self,
        store: MiningStore,
        chain: ChainNodeClient,
        cache: redis.Redis,
        pools: list[rules.PoolConfig],
        keys: Mapping[str, KeyPair],
        settings: EngineSettings,
        *,
        seed: int,
        authorised_chain: Callable[[], ChainNodeClient],
        clock_ms: Callable[[], int],
    ):
        self.store = store
        self.chain = chain
        self.redis = cache
        self.settings = settings
        self.pools = {pool.id: PoolState(pool, keys[pool.id]) for pool in pools}
        self.rng = random.Random(seed)
        self.authorised_chain = authorised_chain
        self.clock_ms = clock_ms
        self.stats_cache = pool_centre.StatsCache(cache, store.database)
        self.counters = Counters()
        self._digs_version: bytes | None = None
        self._next_block_ms = 0
        self._blocks_since_pps = 0
        self._last_stats_ms = 0
        self._last_confirm_check_ms = 0
        self._tip_height = 0

    # ------------------------------------------------------------------ start-up

    def recover(self) -> None:
        """Pick up where the last engine stopped: pools, share log, unfinished steps."""
        now = self.clock_ms()
        for pool in self.pools.values():
            self.store.pools.save(
                pool.config.id, pool.config.scheme, pool.config.fee_bp, pool.key.address
            )
            pool.last_window = self.store.windows.last(pool.config.id)
            pool.week_blocks = self.store.blocks.recent(pool.config.id, now - pool_centre.WEEK_MS)
            if pool.last_window is None:
                # The share log starts now: an empty first window marks its start.
                self._add_window(pool, now - self.settings.settle_ms, {}, {}, {}, 0)
        self._digs_changed()
        digging: dict[str, list] = {}
        for machine in self.store.machines.digging():
            digging.setdefault(machine.pool, []).append({"hashrate": machine.hashrate})
        self._count_digging(digging)
        self._refresh_tip()
        self._finish_blocks()
        self._split_rounds()
        self._next_block_ms = now + rules.next_block_in_ms(self.rng, self.settings.block_time_ms)

    # ---------------------------------------------------------------------- tick

    def tick(self) -> None:
        """One turn of the engine: draw for a block, count shares, pay, refresh stats."""
        now = self.clock_ms()
        if self._digs_changed():
            # Someone started or stopped: a window ends here, so the network hashrate
            # (a window's average) seldom changes inside one.
            self.close_windows(now)
        if now >= self._next_block_ms:
            # The next wait counts from when this block was due, not from when the turn
            # came, so slow turns do not stretch the block times; after a long stall
            # (at most one block time is caught up) the blocks do not come in a burst.
            due = max(self._next_block_ms, now - self.settings.block_time_ms)
            self._next_block_ms = due + rules.next_block_in_ms(
                self.rng, self.settings.block_time_ms
            )
            winner = self._draw()
            if winner is not None:
                self.on_block(winner, now)
        elif any(
            now - self.settings.settle_ms - pool.last_window["end_ms"] >= self.settings.window_ms
            for pool in self.pools.values()
        ):
            self.close_windows(now)
        self.send_payouts()
        if now - self._last_stats_ms >= self.settings.stats_interval_ms:
            self.refresh_stats(now)

    def _draw(self) -> str | None:
        """The finder of the block due now; None when nothing mines at all (no machine
        digging and POOL_REST_HASHRATE 0): the chain then waits, as a network would."""
        hashrates = {pool_id: pool.hashrate for pool_id, pool in self.pools.items()}
        hashrates[rules.REST_OF_NETWORK] = self.settings.rest_hashrate
        if not any(hashrates.values()):
            return None
        return rules.draw_winner(self.rng, hashrates)

    def on_block(self, winner: str, now: int) -> None:
        """The network found a block: close the windows, settle PPS, mine it, pay."""
        self._refresh_tip()
        self.close_windows(now)
        self._blocks_since_pps += 1
        if self._blocks_since_pps >= self.settings.pps_settle_blocks:
            # Fewer, larger payouts; unsettled windows wait in the share log (a
            # restarted engine settles them at its first turn).
            self._blocks_since_pps = 0
            for pool in self.pools.values():
                if pool.config.scheme == rules.PPS:
                    self._settle_pps(pool, now)
        if winner == rules.REST_OF_NETWORK:
            self._rest_of_network_block()
        else:
            self._mine(self.pools[winner], now)
        self._finish_blocks()
        self._split_rounds()

    # -------------------------------------------------------------------- shares

    def _digs_changed(self) -> bool:
        """Whether the mining service said that machines started or stopped since the
        last look (a Redis counter; when Redis does not answer, assume they did)."""
        try:
            version = self.redis.get(pool_centre.digs_version_key(self.store.database))
        except redis.RedisError:
            return True
        changed = version != self._digs_version
        self._digs_version = version
        return changed

    def _count_digging(self, open_digs: Mapping[str, list]) -> None:
        """Each pool's machines and hashrate, from its digs still open."""
        for pool_id, pool in self.pools.items():
            digs = open_digs.get(pool_id, [])
            pool.machines, pool.hashrate = len(digs), sum(dig["hashrate"] for dig in digs)

    def close_windows(self, now: int) -> None:
        """Count every pool's shares up to ``now - POOL_SETTLE_MS``.

        A window's network hashrate is the average over the window (the work of every
        dig in every pool in it, over its length, plus the rest of the network), so a
        share is priced by the hashrate it was made against.
        """
        end = now - self.settings.settle_ms
        due = [pool for pool in self.pools.values() if end > pool.last_window["end_ms"]]
        if not due:
            return
        earliest = min(pool.last_window["end_ms"] for pool in due)
        digs = {
            pool_id: self.store.digs.active_in(pool_id, earliest, end) for pool_id in self.pools
        }
        for pool in due:
            start = pool.last_window["end_ms"]
            work = sum(
                dig["hashrate"] * rules.overlap_ms(dig["start_ms"], dig["stop_ms"], start, end)
                for pool_digs in digs.values()
                for dig in pool_digs
            )
            network = self.settings.rest_hashrate + work // (end - start)
            self._close_window(pool, end, digs[pool.config.id], network)
        self._count_digging(
            {
                pool_id: [dig for dig in pool_digs if dig["stop_ms"] is None]
                for pool_id, pool_digs in digs.items()
            }
        )

    def _close_window(self, pool: PoolState, end: int, digs: list[dict], network: int) -> None:
        previous = pool.last_window
        start = previous["end_ms"]
        shares: dict[str, int] = {}
        carry: dict[str, int] = {}
        totals = dict(previous["totals"])
        finished: dict[str, int] = {}
        for dig in digs:
            dig_id = dig["_id"]
            elapsed = rules.overlap_ms(dig["start_ms"], dig["stop_ms"], start, end)
            if elapsed == 0 and dig_id not in totals:
                continue
            earned, left = rules.accrue(
                dig["hashrate"],
                elapsed,
                previous["carry"].get(dig_id, 0),
                self.settings.share_hashes,
            )
            if earned:
                shares[dig_id] = earned
            total = totals.pop(dig_id, 0) + earned
            if dig["stop_ms"] is not None and dig["stop_ms"] <= end:
                finished[dig_id] = total  # its last window: the work below a share ends
            else:
                totals[dig_id] = total
                carry[dig_id] = left
        self._add_window(pool, end, shares, carry, totals, network)
        for dig_id, total in finished.items():
            self.store.digs.finish(dig_id, total)

    def _add_window(self, pool, end, shares, carry, totals, network_hashrate) -> None:
        previous = pool.last_window
        expected = rules.expected_shares(
            max(network_hashrate, 1), self.settings.block_time_ms, self.settings.share_hashes
        )
        window = {
            "pool": pool.config.id,
            "seq": previous["seq"] + 1 if previous else 1,
            "start_ms": previous["end_ms"] if previous else end,
            "end_ms": end,
            "shares": shares,
            "carry": carry,
            "totals": totals,
            "network_hashrate": network_hashrate,
            "block_time_ms": self.settings.block_time_ms,
            "share_hashes": self.settings.share_hashes,
            "reward": rules.subsidy(self._tip_height + 1),
            # Blocks' worth of shares since the share log began: for luck.
            "expected_acc": (previous["expected_acc"] if previous else 0.0)
            + float(sum(shares.values()) / expected),
        }
        self.store.windows.add(window)
        pool.last_window = window

    # --------------------------------------------------------------------- rounds

    def _settle_pps(self, pool: PoolState, now: int) -> None:
        """Pay a PPS pool's shares since its last settlement (insert-once per window)."""
        after = self.store.rounds.last_seq(pool.config.id) or 0
        windows = self.store.windows.between(pool.config.id, after, pool.last_window["seq"])
        priced = [
            rules.PricedWindow(
                w["shares"],
                w["reward"],
                w["network_hashrate"],
                w["block_time_ms"],
                w["share_hashes"],
            )
            for w in windows
            if w["network_hashrate"] > 0
        ]
        payout = rules.pps(priced, pool.config.fee_bp)
        if payout.amount == 0:
            return  # below one unit so far: the same windows are settled next time
        self._add_round(pool, pool.last_window["seq"], payout, now)

    def _add_round(self, pool: PoolState, seq: int, payout, now: int, block=None) -> None:
        self.store.rounds.add(
            {
                "pool": pool.config.id,
                "seq": seq,
                "scheme": pool.config.scheme,
                "amount": payout.amount,
                "fee": payout.fee,
                "parts": dict(payout.parts),
                "block": block["hash"] if block else None,
                "height": block["height"] if block else None,
                "created_ms": now,
                "state": NEW,
            }
        )

    def _pplns_round(self, pool: PoolState, block: dict) -> None:
        window = next(self.store.windows.newest_first(pool.config.id, block["window_seq"]))
        expected = rules.expected_shares(
            max(window["network_hashrate"], 1), window["block_time_ms"], window["share_hashes"]
        )
        last_n = math.ceil(self.settings.pplns_factor * expected)
        windows = (
            rules.ShareWindow(w["seq"], w["shares"])
            for w in self.store.windows.newest_first(pool.config.id, block["window_seq"])
        )
        counted = rules.last_n_shares(windows, last_n)
        payout = rules.pplns(block["reward"], pool.config.fee_bp, counted)
        self._add_round(pool, block["window_seq"], payout, block["found_ms"], block)

    def _split_rounds(self) -> None:
        """One payout per owner for every round not split yet (insert-once by id)."""
        for round_doc in self.store.rounds.unsplit():
            owners = self.store.digs.owners(round_doc["parts"])
            per_owner: dict[str, dict[str, int]] = {}
            for dig_id, units in round_doc["parts"].items():
                per_owner.setdefault(owners[dig_id], {})[dig_id] = units
            for owner, digs in sorted(per_owner.items()):
                self.store.payouts.add(
                    {
                        "_id": f"{round_doc['_id']}:{owner}",
                        "pool": round_doc["pool"],
                        "round": round_doc["_id"],
                        "owner": owner,
                        "amount": sum(digs.values()),
                        "digs": digs,
                        "block": round_doc["block"],
                        "height": round_doc["height"],
                        "order": f"{round_doc['seq']:012d}:{owner}",
                        "created_ms": round_doc["created_ms"],
                        "state": NEW,
                    }
                )
            self.store.rounds.set_state(round_doc["_id"], SPLIT)

    # --------------------------------------------------------------------- blocks

    def _refresh_tip(self) -> None:
        try:
            self._tip_height = int(self.chain.inv()["height"])
        except (ChainNodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("chain tip unknown: %s", exc)

    def _rest_of_network_block(self) -> None:
        client = self.authorised_chain()
        try:
            client.mine()
        except ChainNodeError as exc:
            log.warning("the rest of the network's block failed: %s", exc)
        finally:
            client.close()
        self._count_block(rules.REST_OF_NETWORK)

    def _count_block(self, finder: str) -> None:
        self.counters.blocks[finder] = self.counters.blocks.get(finder, 0) + 1

    def _mine(self, pool: PoolState, now: int) -> None:
        """Real proof of work on a template paying the pool, stored, then submitted."""
        try:
            template = self.chain.mining_template(miner=pool.key.address)
        except ChainNodeError as exc:
            log.warning("no template for %s: %s", pool.config.id, exc)
            return
        cpu, wall = time.process_time(), time.monotonic()
        deadline = wall + self.settings.pow_max_s
        try:
            block = blocks.solve_header(template["block"], lambda: time.monotonic() > deadline)
        finally:
            self.counters.pow_cpu_s += time.process_time() - cpu
            self.counters.pow_wall_s += time.monotonic() - wall
        if block is None:
            log.warning(
                "%s gave up its block after %.0f s", pool.config.id, self.settings.pow_max_s
            )
            return
        coinbase = block["transactions"][0]
        previous = pool.week_blocks[:1] or self.store.blocks.recent(pool.config.id, limit=1)
        expected_at = pool.last_window["expected_acc"]
        record = {
            "hash": blocks.header_hash(block),
            "pool": pool.config.id,
            "height": int(block["index"]),
            "reward": int(coinbase["amount"]),
            "window_seq": pool.last_window["seq"],
            "found_ms": now,
            "expected_at": expected_at,
            "round_expected": expected_at - (previous[0]["expected_at"] if previous else 0.0),
            "block": block,
            "state": SUBMITTED,
        }
        self.store.blocks.add(record)
        self._submit(record)
        self._count_block(pool.config.id)

    def _submit(self, record: dict) -> None:
        try:
            self.chain.submit_block(record["block"])
        except ChainNodeError as exc:
            if exc.refused:
                log.warning("block %s refused: %s", record["hash"], exc.payload)
                self.store.blocks.set_state(record["hash"], REJECTED)
            else:
                log.warning("block %s not sent yet: %s", record["hash"], exc)
            return
        self._accepted(record)
        log.info("%s found block %s at height %s", record["pool"], record["hash"], record["height"])

    def _accepted(self, record: dict) -> None:
        self.store.blocks.set_state(record["hash"], FOUND)
        pool = self.pools.get(record["pool"])
        if pool is not None:
            shown = {key: value for key, value in record.items() if key != "block"}
            shown["_id"] = record["hash"]
            pool.week_blocks.insert(0, {**shown, "state": FOUND})
            week_ago = self.clock_ms() - pool_centre.WEEK_MS
            pool.week_blocks = [b for b in pool.week_blocks if b["found_ms"] >= week_ago]

    def _finish_blocks(self) -> None:
        """Blocks submitted but not known accepted are checked or sent again; accepted
        blocks of PPLNS pools get their round."""
        for record in self.store.blocks.in_state(SUBMITTED):
            try:
                self.chain.get_block(record["hash"])
            except ChainNodeError as exc:
                if exc.status == 404:
                    self._submit(record)
                continue
            self._accepted(record)
        for record in self.store.blocks.in_state(FOUND):
            pool = self.pools.get(record["pool"])
            if pool is None:
                continue
            if pool.config.scheme == rules.PPLNS:
                self._pplns_round(pool, record)
            self.store.blocks.set_state(record["hash"], CREDITED)

    # -------------------------------------------------------------------- payouts

    def send_payouts(self) -> None:
        """Sign, store and send due payouts in each pool's order; note confirmations.

        Per pool and turn: one query for its open payouts, one for their owners'
        addresses, one look at the chain per matured block and one nonce look-up.
        """
        budget = SENDS_PER_TICK
        now = self.clock_ms()
        check_confirmations = now - self._last_confirm_check_ms >= CONFIRM_CHECK_MS
        if check_confirmations:
            self._last_confirm_check_ms = now
            self._refresh_tip()
        for pool in self.pools.values():
            payouts = self.store.payouts.open_for(pool.config.id, OPEN_PAYOUTS_PER_POOL)
            owners = {p["owner"] for p in payouts if p["state"] == NEW}
            addresses = self.store.addresses.addresses_of(owners) if owners else {}
            on_chain: dict[str, bool] = {}
            nonces = _Nonces(lambda pool=pool: self._next_nonce(pool))
            for payout in payouts:
                if payout["state"] == SENT:
                    if check_confirmations:
                        self._check_confirmed(payout)
                    continue
                if budget <= 0:
                    return
                if payout["state"] == NEW:
                    address = addresses.get(payout["owner"])
                    # No deposit address yet: paid once the user has one.
                    if address is None or not self._due(payout, on_chain):
                        continue
                    payout = self._sign(pool, payout, address, nonces)
                    if payout is None:
                        break
                budget -= 1
                if not self._send(payout):
                    break  # the pool's nonces go in order: the rest wait for this one

    def _due(self, payout: dict, on_chain: dict[str, bool]) -> bool:
        """A PPLNS payout waits for its coinbase to mature, and is cancelled if its block
        left the best chain; a PPS payout is paid from the pool's funds at once.
        ``on_chain`` remembers, for one turn, what the node said of each block."""
        block = payout["block"]
        if block is None:
            return True
        if self._tip_height < payout["height"] + self.settings.maturity:
            return False
        if block not in on_chain:
            try:
                found = self.chain.get_block(payout["height"])
            except ChainNodeError:
                return False
            on_chain[block] = found.get("hash", block) == block
            if not on_chain[block]:
                self.store.blocks.set_state(block, ORPHANED)
                self.store.payouts.cancel_round(payout["round"])
        return on_chain[block]

    def _sign(self, pool: PoolState, payout: dict, address: str, nonces) -> dict | None:
        """The payout's transaction, signed and stored (or the one stored before a
        crash); None if its nonce was taken (never by this engine: retried next turn)."""
        stored = self.store.pool_txs.for_payout(payout["_id"])
        if stored is None:
            nonce = nonces.take()
            tx = transactions.build_transaction(
                pool.key.private_key, address, payout["amount"], nonce=nonce
            )
            if not self.store.pool_txs.add(pool.config.id, nonce, payout["_id"], tx):
                return None
            stored = {"nonce": nonce, "tx": tx}
        tx = stored["tx"]
        self.store.payouts.update(
            payout["_id"], NEW, state=SIGNED, nonce=stored["nonce"], txid=tx["id"]
        )
        return {**payout, "state": SIGNED, "txid": tx["id"], "tx": tx}

    def _next_nonce(self, pool: PoolState) -> int:
        stored = self.store.pool_txs.last_nonce(pool.config.id)
        try:
            on_chain = int(self.chain.get_address(pool.key.address).get("nonce", 0))
        except ChainNodeError:
            on_chain = 0
        return max(stored, on_chain) + 1

    def _send(self, payout: dict) -> bool:
        tx = payout.get("tx") or self.store.pool_txs.for_payout(payout["_id"])["tx"]
        try:
            self.chain.submit_transaction(tx)
        except ChainNodeError as exc:
            if not (exc.refused and _already_known(exc.payload)):
                log.info("payout %s not sent yet: %s %s", payout["_id"], exc, exc.payload)
                return False
        if self.store.payouts.update(payout["_id"], SIGNED, state=SENT, sent_ms=self.clock_ms()):
            self.counters.payouts_sent += 1
            self._announce(payout, SENT)
        return True

    def _check_confirmed(self, payout: dict) -> None:
        try:
            found = self.chain.get_transaction(payout["txid"])
        except ChainNodeError as exc:
            if exc.status == 404:  # dropped (e.g. a reorg): the same bytes go again
                self.store.payouts.update(payout["_id"], SENT, state=SIGNED)
            return
        if int(found.get("confirmations", 0)) >= 1:
            self.store.payouts.update(payout["_id"], SENT, state=CONFIRMED)
            self._announce(payout, CONFIRMED)

    def _announce(self, payout: dict, state: str) -> None:
        data = {
            "id": payout["_id"],
            "pool": payout["pool"],
            "amount": payout["amount"],
            "state": state,
            "txid": payout.get("txid"),
        }
        events.publish(
            self.redis, events.user_topic(events.MINING, payout["owner"]), "payout", data
        )

    # ---------------------------------------------------------------------- stats

    def refresh_stats(self, now: int) -> None:
        """The pool centre's statistics, into the cache and onto the ``pools`` topic."""
        self._last_stats_ms = now
        digging = {pool_id: (p.machines, p.hashrate) for pool_id, p in self.pools.items()}
        stats = pool_centre.compute_stats(
            [pool.config for pool in self.pools.values()],
            digging,
            self.settings.rest_hashrate,
            {pool_id: pool.week_blocks for pool_id, pool in self.pools.items()},
            now,
        )
        try:
            self.stats_cache.write(stats)
            self.redis.set(
                pool_centre.engine_key(self.store.database), _engine_stats(self.counters)
            )
        except redis.RedisError as exc:
            log.warning("pool statistics not cached: %s", exc)
        events.publish(self.redis, events.POOLS, "pools", stats)


class _Nonces:
    """A pool's next nonces for one turn: looked up once, then counted on."""

    def __init__(self, look_up: Callable[[], int]):
        self._look_up = look_up
        self._next: int | None = None

    def take(self) -> int:
        if self._next is None:
            self._next = self._look_up()
        nonce, self._next = self._next, self._next + 1
        return nonce


def _already_known(payload) -> bool:
    text = str(payload).lower()
    return "duplicate" in text or "already" in text or "known" in text


def _engine_stats(counters: Counters) -> str:
    return json.dumps(
        {
            "blocks": counters.blocks,
            "pow_cpu_s": round(counters.pow_cpu_s, 3),
            "pow_wall_s": round(counters.pow_wall_s, 3),
            "cpu_s": round(time.process_time(), 3),
            "payouts_sent": counters.payouts_sent,
        }
    )
