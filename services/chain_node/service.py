"""Use cases of one chain-node: accepting blocks and transactions, fork choice, the
explorer, peers and mining requests.

Each process keeps the best chain in memory: the ledger state (rebuilt from the
database at start, then followed block by block, with undo records for reorgs), the
hashes, headers and cumulative work by height, the latest transactions of each address
and a bounded cache of blocks' JSON text. Every change of the stored chain happens
under the node's Redis lock: the lock holder first catches up with the database, then
validates, stores the new blocks, and moves ``meta.tip``, the commit point. Other
processes see the new tip (a Redis hint, then ``meta.tip``) and follow it by walking
``prev`` links back to a block they know.

The database is read by ``_id`` only on every request path (FerretDB reads a whole
collection for any other query); a process reads whole collections once, at start.

Rules live in ``services.common.chain.rules`` (pure); this module does the storing,
locking and networking around them, and imports no web framework.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pymongo.errors import DuplicateKeyError
from redis.exceptions import LockError

from ..common.chain import keys
from ..common.chain.client import ChainNodeClient, ChainNodeError
from ..common.chain.repositories import (
    BlockRepository,
    MempoolRepository,
    MetaRepository,
    PeerRepository,
    PoolIndex,
    decode_work,
    dumps,
    encode_work,
)
from ..common.chain.rules import MEDIAN_SPAN, ChainRules, DoubleSpend, InvalidBlock
from ..common.chain.signals import NodeSignals
from ..common.chain.transactions import COINBASE_SENDER, InvalidTransaction, now_ms
from ..common.chain.units import ASSETS
from ..common.config import ChainNodeSettings
from ..common.domain.money import format_units
from ..common.errors import Conflict, InvalidInput, NotFound, PlatformError, UpstreamUnavailable

log = logging.getLogger(__name__)

UNDO_DEPTH = 200
GETBLOCKS_MAX = 500
CATCH_UP_BATCHES = 40
ADDRESS_HISTORY = 25
LOCATOR_MAX = 32
BATCH_MAX = 1000
#: Following more blocks than this reads the whole chain once instead of block by block.
FOLLOW_WALK_MAX = 100
RAW_CACHE_BYTES = 64 * 1024 * 1024
#: Durable mempool rows older than this and no longer pending are pruned.
PRUNE_AGE_NS = 60 * 10**9
TX_SUMMARY = ("id", "sender", "recipient", "asset", "amount", "fee", "nonce")


class Busy(PlatformError):
    status_code = 503
    code = "busy"


class MempoolFull(PlatformError):
    status_code = 503
    code = "mempool_full"


class UnknownParent(Conflict):
    code = "unknown_parent"


@dataclass
class Stores:
    blocks: BlockRepository
    mempool: MempoolRepository
    pool: PoolIndex
    peers: PeerRepository
    meta: MetaRepository

    def ensure_indexes(self) -> None:
        self.mempool.ensure_indexes()


@dataclass
class _Staged:
    """A block being accepted or connected: what the fork choice needs about it."""

    hash: str
    block: dict
    height: int
    work: int
    prev: str
    root: bool = False
    raw: str | None = None
    invalid: bool = False


@dataclass
class Outcome:
    hash: str
    status: str  # "tip", "main", "side", "known", "invalid", "orphan"
    height: int | None = None
    reason: str = ""


@dataclass
class _Switch:
    old_tip: tuple[int, str]
    fork_height: int
    disconnected: list[str] = field(default_factory=list)
    connected: list[_Staged] = field(default_factory=list)


class _Inconsistent(Exception):
    """The stored chain is being changed by another process."""


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _header(block: dict) -> dict:
    return {name: value for name, value in block.items() if name != "transactions"}


def check_peer_url(url: object) -> str:
    """An http(s) URL of a host:port with nothing after it (dvf drops paths anyway)."""
    if not isinstance(url, str) or len(url) > 200:
        raise InvalidInput("each node must be an http URL such as http://127.0.0.1:5002")
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or (parts.port is None and ":" in parts.netloc.rsplit("]", 1)[-1])
        or (port is not None and not 0 < port < 65536)
    ):
        raise InvalidInput(f"{url!r} is not an http URL of a node such as http://127.0.0.1:5002")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class ChainNode:
    """One node's chain, mempool and peers, as seen by one process."""

    def __init__(
        self,
        settings: ChainNodeSettings,
        rules: ChainRules,
        stores: Stores,
        signals: NodeSignals,
        clock_ms: Callable[[], int] = now_ms,
    ):
        self.settings = settings
        self.rules = rules
        self.stores = stores
        self.signals = signals
        self.clock_ms = clock_ms
        self.own_url = check_peer_url(settings.chain_node_url)
        self.platform = rules.name == "platform"
        self._mutex = threading.RLock()
        self._raw: OrderedDict[str, str] = OrderedDict()
        self._raw_bytes = 0
        self._reset_memory()

    # ------------------------------------------------------------ memory state

    def _reset_memory(self) -> None:
        self.state = self.rules.new_state()
        self._hashes: list[str] = []
        self._headers: list[dict] = []
        self._works: list[int] = []
        self._position: dict[str, int] = {}
        self._undos: deque = deque(maxlen=UNDO_DEPTH)
        # Per height, the (address, tx id) pairs its block added to the address index.
        self._touched: list[list[tuple[str, str]]] = []
        self._address_txs: dict[str, list[str]] = {}

    @property
    def height(self) -> int:
        return len(self._hashes) - 1

    @property
    def tip_hash(self) -> str:
        return self._hashes[-1] if self._hashes else ""

    @property
    def tip_work(self) -> int:
        return self._works[-1] if self._works else 0

    def _is_main(self, block_hash: str) -> bool:
        return block_hash in self._position

    def _push(self, staged: _Staged) -> None:
        """Connect a block on top of the in-memory chain (InvalidBlock if it breaks a rule)."""
        if staged.root or not self._hashes:
            undo = self.rules.connect_genesis(self.state, staged.block, staged.hash)
        else:
            undo = self.rules.connect(self.state, staged.block, staged.height, staged.hash)
        self._undos.append(undo)
        self._position[staged.hash] = len(self._hashes)
        self._hashes.append(staged.hash)
        self._headers.append(_header(staged.block))
        self._works.append(staged.work)
        touched = []
        if self.platform:
            for tx in staged.block["transactions"]:
                for address in {tx["sender"], tx["recipient"]} - {COINBASE_SENDER}:
                    self._address_txs.setdefault(address, []).append(tx["id"])
                    touched.append((address, tx["id"]))
        self._touched.append(touched)
        self._cache_raw(staged.hash, staged.raw or dumps(staged.block))

    def _pop(self) -> None:
        """Disconnect the tip block (replaying from genesis when its undo is gone)."""
        if not self._undos:
            hashes = self._hashes[:-1]
            self._reset_memory()
            self._replay(hashes)
            return
        self.rules.disconnect(self.state, self._undos.pop())
        del self._position[self._hashes.pop()]
        self._headers.pop()
        self._works.pop()
        for address, tx_id in reversed(self._touched.pop()):
            listed = self._address_txs.get(address)
            if listed and listed[-1] == tx_id:
                listed.pop()

    def _replay(self, hashes: Sequence[str]) -> None:
        """Connect stored blocks by hash, in order, from an empty state."""
        for block_hash in hashes:
            self._push(self._staged(block_hash))

    def _staged(self, block_hash: str) -> _Staged:
        """A stored block by hash (cache, else the database); _Inconsistent if missing."""
        raw = self._raw.get(block_hash)
        if raw is not None and block_hash in self._position:
            height = self._position[block_hash]
            return _Staged(
                block_hash,
                json.loads(raw),
                height,
                self._works[height],
                self._hashes[height - 1] if height else "",
                height == 0,
                raw,
            )
        doc = self.stores.blocks.get(block_hash)
        if doc is None:
            raise _Inconsistent(f"block {block_hash} is missing")
        return self._staged_from(doc)

    def _staged_from(self, doc: dict) -> _Staged:
        self._cache_raw(doc["_id"], doc["raw"])
        return _Staged(
            doc["_id"],
            json.loads(doc["raw"]),
            doc["height"],
            decode_work(doc["work"]),
            doc["prev"],
            doc.get("root", False),
            doc["raw"],
            doc.get("invalid", False),
        )

    def _cache_raw(self, block_hash: str, raw: str) -> None:
        if block_hash in self._raw:
            self._raw.move_to_end(block_hash)
            return
        self._raw[block_hash] = raw
        self._raw_bytes += len(raw)
        while self._raw_bytes > RAW_CACHE_BYTES and self._raw:
            _, dropped = self._raw.popitem(last=False)
            self._raw_bytes -= len(dropped)

    def _raw_of(self, block_hash: str) -> str:
        raw = self._raw.get(block_hash)
        if raw is None:
            doc = self.stores.blocks.get(block_hash)
            if doc is None:
                raise _Inconsistent(f"block {block_hash} is missing")
            raw = doc["raw"]
            self._cache_raw(block_hash, raw)
        return raw

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Create the genesis block on first start, load the chain, index the mempool."""
        with self.signals.lock(), self._mutex:
            if self.stores.meta.tip() is None:
                self._store_genesis()
            self._load_all()
            self.signals.set_tip_hint(self.tip_hash)
            if not self.stores.pool.ready():
                self._rebuild_pool()

    def _store_genesis(self) -> None:
        genesis = self.rules.genesis()
        block_hash = self.rules.block_hash(genesis)
        work = 1 if self.rules.foreign_roots else 0
        self.stores.blocks.add_many([self._doc(block_hash, genesis, 0, work, "", root=True)])
        if self.platform:
            self.stores.blocks.index_transactions(self._tx_rows(block_hash, genesis, 0))
        self.stores.meta.set_tip(0, block_hash, work)

    @staticmethod
    def _doc(block_hash: str, block: dict, height: int, work: int, prev, root=False) -> dict:
        return {
            "_id": block_hash,
            "height": height,
            "prev": prev if isinstance(prev, str) else dumps(prev),
            "work": encode_work(work),
            "raw": dumps(block),
            "root": root,
            "invalid": False,
        }

    def _load_all(self) -> None:
        """The main chain from the database: every block read once, linked from the tip."""
        tip = self.stores.meta.tip()
        docs = {doc["_id"]: doc for doc in self.stores.blocks.all()}
        chain, current = [], tip["hash"]
        while current in docs:
            chain.append(docs[current])
            if docs[current].get("root"):
                break
            current = docs[current]["prev"]
        if not chain or not chain[-1].get("root"):
            raise _Inconsistent("the stored chain does not reach a genesis block")
        self._reset_memory()
        for doc in reversed(chain):
            self._push(self._staged_from(doc))

    def _rebuild_pool(self) -> None:
        """Index the durable mempool in Redis (first start, or Redis lost it)."""
        rows = self.stores.mempool.all()
        if self.platform:
            rows = [r for r in rows if r["nonce"] > self.state.nonce(r["sender"])]
            rows.sort(key=lambda r: (r["sender"], r["nonce"]))
        self.stores.pool.reset()
        self.stores.pool.add(rows)
        self.stores.pool.mark_ready()
        log.info("mempool index rebuilt with %d transactions", len(rows))

    # ------------------------------------------------------------------- follow

    def refresh(self) -> None:
        """Catch this process's state up with the stored chain (cheap when unchanged)."""
        with self._mutex:
            hint = self.signals.tip_hint()
            if hint is not None and hint == self.tip_hash:
                return
            self._follow_db()

    def _follow_db(self) -> None:
        tip = self.stores.meta.tip()
        if tip is None or tip["hash"] == self.tip_hash:
            return
        try:
            self._follow(tip["hash"], tip["height"])
        except _Inconsistent as exc:
            # Another process is switching the chain right now: try again next time.
            log.info("chain changing under us (%s); following later", exc)

    def _follow(self, new_hash: str, new_height: int) -> None:
        if new_height - self.height > FOLLOW_WALK_MAX:
            self._load_all()
            return
        branch: list[_Staged] = []
        current = new_hash
        while current not in self._position:
            if len(branch) > FOLLOW_WALK_MAX:
                self._load_all()
                return
            staged = self._staged(current)
            branch.append(staged)
            if staged.root:
                break
            current = staged.prev
        fork = self._position.get(current, -1)
        while self.height > fork:
            self._pop()
        for staged in reversed(branch):
            self._push(staged)

    # ------------------------------------------------------------------ blocks

    def submit_blocks(self, raw_blocks: Sequence, *, allow_root: bool = False) -> list[Outcome]:
        """Validate and store blocks (a chain segment in order, or one mined block), then
        switch to the chain with the most work. The first invalid block raises
        InvalidBlock; blocks before it are kept."""
        checked = []
        problem: InvalidBlock | None = None
        for raw in raw_blocks:
            try:
                self.rules.check_body(raw)
            except InvalidBlock as exc:
                problem = exc
                break
            checked.append((self.rules.block_hash(raw), raw))
        outcomes: list[Outcome] = []
        if checked:
            try:
                with self.signals.lock(), self._mutex:
                    self._follow_db()
                    outcomes = self._accept(checked, allow_root)
            except LockError as exc:
                raise Busy("the node is busy with another chain change; retry") from exc
        if problem is not None:
            raise problem
        bad = next((o for o in outcomes if o.status == "invalid"), None)
        if bad is not None:
            raise InvalidBlock(f"block {bad.hash} refused: {bad.reason}")
        return outcomes

    def _main_staged(self, height: int) -> _Staged:
        """A main-chain block as the fork choice sees it (its header is enough)."""
        return _Staged(
            self._hashes[height],
            self._headers[height],
            height,
            self._works[height],
            self._hashes[height - 1] if height else "",
            height == 0,
        )

    def _parent(self, prev: object, staged: dict[str, _Staged]) -> _Staged | None:
        if not isinstance(prev, str):
            return None
        if prev in staged:
            return staged[prev]
        if prev in self._position:
            return self._main_staged(self._position[prev])
        doc = self.stores.blocks.get(prev)
        return self._staged_from(doc) if doc else None

    def _accept(self, checked: list[tuple[str, dict]], allow_root: bool) -> list[Outcome]:
        staged: dict[str, _Staged] = {}
        outcomes: list[Outcome] = []
        new_docs = []
        now = self.clock_ms()
        for position, (block_hash, block) in enumerate(checked):
            if block_hash in staged or block_hash in self._position:
                height = self._position.get(
                    block_hash, getattr(staged.get(block_hash), "height", None)
                )
                outcomes.append(Outcome(block_hash, "known", height))
                continue
            prev = self.rules.parent_hash(block)
            parent = self._parent(prev, staged)
            if parent is None:
                if allow_root and position == 0 and self.rules.foreign_roots:
                    root = _Staged(block_hash, block, 0, 1, dumps(prev), root=True)
                    staged[block_hash] = root
                    new_docs.append(self._doc(block_hash, block, 0, 1, prev, root=True))
                    outcomes.append(Outcome(block_hash, "side", 0))
                    continue
                outcomes.append(Outcome(block_hash, "orphan", reason="unknown parent"))
                break
            if parent.invalid:
                outcomes.append(Outcome(block_hash, "invalid", reason="invalid parent"))
                break
            ancestors = self._ancestors(parent, staged)
            try:
                work = self.rules.check_header(block, parent.hash, ancestors, now)
            except InvalidBlock as exc:
                outcomes.append(Outcome(block_hash, "invalid", reason=exc.message))
                break
            doc = self._doc(block_hash, block, parent.height + 1, parent.work + work, parent.hash)
            entry = _Staged(
                block_hash, block, doc["height"], parent.work + work, parent.hash, raw=doc["raw"]
            )
            staged[block_hash] = entry
            new_docs.append(doc)
            outcomes.append(Outcome(block_hash, "side", entry.height))
        # A block stored before (a side branch) is simply not inserted twice.
        self.stores.blocks.add_many(new_docs)
        new = [staged[doc["_id"]] for doc in new_docs]
        if new:
            best = max(new, key=lambda s: s.work)
            if best.work > self.tip_work:
                self._reorganise(best, staged, outcomes)
        for outcome in outcomes:
            if outcome.status == "side" and outcome.hash in self._position:
                outcome.status = "tip" if outcome.hash == self.tip_hash else "main"
        return outcomes

    def _ancestors(self, parent: _Staged, staged: dict[str, _Staged]) -> list[dict]:
        """Headers of ``parent`` and up to MEDIAN_SPAN - 1 of its ancestors, oldest first."""
        chain: list[dict] = []
        current: _Staged | None = parent
        while current is not None and len(chain) < MEDIAN_SPAN:
            height = self._position.get(current.hash)
            if height is not None:
                start = max(0, height - (MEDIAN_SPAN - len(chain)) + 1)
                return self._headers[start : height + 1] + chain
            chain.insert(0, _header(current.block))
            if current.root:
                break
            current = self._parent(current.prev, staged)
        return chain

    def _reorganise(self, best: _Staged, staged: dict[str, _Staged], outcomes) -> None:
        """Switch the main chain to end at ``best`` (more work than the tip)."""
        branch: list[_Staged] = []
        current: _Staged | None = best
        while current is not None and current.hash not in self._position:
            branch.append(current)
            if current.root:
                break
            current = staged.get(current.prev) or self._load_side(current.prev)
        if branch and branch[-1].root:
            fork_height = -1
        elif current is not None:
            fork_height = self._position[current.hash]
        else:
            log.warning("the branch of %s does not reach our chain; not switching", best.hash)
            return
        branch.reverse()
        switch = _Switch((self.height, self.tip_hash), fork_height)
        while self.height > fork_height:
            switch.disconnected.append(self.tip_hash)
            self._pop()
        failed: tuple[_Staged, InvalidBlock] | None = None
        for entry in branch:
            try:
                self._push(entry)
            except InvalidBlock as exc:
                failed = (entry, exc)
                break
            switch.connected.append(entry)
        if failed is not None:
            bad, exc = failed
            log.warning("block %s at %d is invalid: %s", bad.hash, bad.height, exc.message)
            self.stores.blocks.mark_invalid(bad.hash)
            for outcome in outcomes:
                if outcome.hash == bad.hash:
                    outcome.status, outcome.reason = "invalid", exc.message
            if self.tip_work <= self._work_of_old_tip(switch):
                self._restore(switch)
                return
        self._commit(switch)

    def _load_side(self, block_hash: str) -> _Staged | None:
        doc = self.stores.blocks.get(block_hash)
        return self._staged_from(doc) if doc else None

    def _work_of_old_tip(self, switch: _Switch) -> int:
        doc = self.stores.blocks.get(switch.old_tip[1])
        return decode_work(doc["work"]) if doc else 0

    def _restore(self, switch: _Switch) -> None:
        """Undo a failed switch: back to the old chain; nothing stored changes."""
        while self.height > switch.fork_height:
            self._pop()
        for block_hash in reversed(switch.disconnected):
            self._push(self._staged(block_hash))

    def _commit(self, switch: _Switch) -> None:
        """Store the transaction index and the tip; fix the mempool; tell everyone."""
        dropped = [json.loads(self._raw_of(h)) for h in switch.disconnected]
        if self.platform:
            rows = []
            for entry in switch.connected:
                rows += self._tx_rows(entry.hash, entry.block, entry.height)
            self.stores.blocks.index_transactions(rows)
        self.stores.meta.set_tip(self.height, self.tip_hash, self.tip_work)
        self.signals.set_tip_hint(self.tip_hash)
        included = self._drop_from_pool(switch.connected)
        returned = self._reinject(dropped, included) if dropped else 0
        tip = {"height": self.height, "hash": self.tip_hash, "work": self.tip_work}
        if switch.disconnected:
            old_height, old_hash = switch.old_tip
            self.signals.publish(
                "reorg",
                {
                    "old_tip": {"height": old_height, "hash": old_hash},
                    "new_tip": {"height": self.height, "hash": self.tip_hash},
                    "fork_height": switch.fork_height,
                    "returned_to_mempool": returned,
                },
            )
            log.warning(
                "reorg: %d blocks off, %d on, fork at %d, %d transactions back in the pool",
                len(switch.disconnected),
                len(switch.connected),
                switch.fork_height,
                returned,
            )
        self.signals.publish("tip", tip)
        self.signals.wake("announce")

    def _drop_from_pool(self, connected: Sequence[_Staged]) -> set[str]:
        """Take the mined transactions out of the live mempool, and any pending one whose
        nonce the new chain used (the durable rows are pruned later)."""
        included, gone = set(), []
        senders = set()
        for entry in connected:
            for tx in entry.block.get("transactions") or []:
                if not isinstance(tx, dict):
                    continue
                key = self.rules.pool_key(tx)
                included.add(key)
                gone.append((key, tx.get("sender") if self.platform else None))
                if self.platform and tx["sender"] != COINBASE_SENDER:
                    senders.add(tx["sender"])
        for sender in senders:
            for stale in self.stores.pool.stale_ids(sender, self.state.nonce(sender)):
                gone.append((stale, sender))
        self.stores.pool.remove(gone)
        return included

    def _tx_rows(self, block_hash: str, block: dict, height: int) -> list[dict]:
        return [
            {
                "_id": tx["id"],
                "block": block_hash,
                "height": height,
                "position": position,
                "raw": dumps(tx),
            }
            for position, tx in enumerate(block["transactions"])
        ]

    def _reinject(self, dropped: list[dict], included: set[str]) -> int:
        """Return the abandoned blocks' transactions that are still valid to the pool."""
        candidates = []
        for block in dropped:
            for tx in block.get("transactions") or []:
                if not isinstance(tx, dict) or tx.get("sender") == COINBASE_SENDER:
                    continue
                if self.rules.pool_key(tx) not in included:
                    candidates.append(tx)
        if self.platform:
            candidates.sort(key=lambda tx: (tx["sender"], tx["nonce"]))
        rows, pending_by_sender = [], {}
        for tx in candidates:
            sender = tx.get("sender")
            if sender not in pending_by_sender:
                pending_by_sender[sender] = self._pending_of(sender)
            pending = pending_by_sender[sender]
            try:
                admitted = self.rules.admit(self.state, tx, pending)
            except InvalidInput:
                continue
            pending.append(admitted)
            rows.append(self._pool_row(admitted))
        self.stores.mempool.add_many(rows)  # a row still there (not pruned yet) stays
        self.stores.pool.add(rows)
        if self.platform:
            self.signals.queue_relay([row["raw"] for row in rows])
        return len(rows)

    def _pending_of(self, sender) -> list[dict]:
        if not self.platform or not isinstance(sender, str):
            return []
        ids = self.stores.pool.pending_ids(sender, self.state.nonce(sender))
        return self.stores.pool.get_many(ids)

    def _pool_row(self, tx: dict) -> dict:
        key = self.rules.pool_key(tx)
        if self.platform:
            sender, nonce, fee = tx["sender"], tx["nonce"], tx["fee"]
        else:
            sender, nonce, fee = f"dvf:{uuid.uuid4().hex}", 0, 0
        return {
            "_id": key,
            "sender": sender,
            "nonce": nonce,
            "fee": fee,
            "seq": time.time_ns(),
            "raw": dumps(tx),
        }

    def prune_pool(self) -> int:
        """Delete durable mempool rows that are no longer pending (mined or replaced)."""
        cutoff = time.time_ns() - PRUNE_AGE_NS
        stale = [
            row["_id"]
            for row in self.stores.mempool.all()
            if row.get("seq", 0) < cutoff and not self.stores.pool.contains(row["_id"])
        ]
        self.stores.mempool.remove(stale)
        return len(stale)

    def _ensure_pool(self) -> None:
        if not self.stores.pool.ready():
            with self.signals.lock(), self._mutex:
                if not self.stores.pool.ready():
                    self._rebuild_pool()

    # ----------------------------------------------------------- transactions

    def submit_transaction(self, tx: object) -> dict:
        """Admit a transaction to the mempool (dvf: as posted; platform: signed, with the
        sender's next nonce and the funds for amount and fee)."""
        if not self.platform:
            return self._submit_dvf_transaction(tx)
        # Form and signature first: CPU only, no lock, no round trip.
        try:
            self.rules.check_alone(tx)
        except InvalidTransaction:
            self._refuse_duplicate(tx)
            raise
        sender = tx["sender"]
        with self._mutex:
            self.refresh()
            confirmed = self.state.nonce(sender)
        look = self.stores.pool.look(sender, confirmed)
        if not look["ready"]:
            self._ensure_pool()
            look = self.stores.pool.look(sender, confirmed)
        if look["count"] >= self.settings.chain_mempool_max:
            raise MempoolFull("the mempool is full; retry later")
        pending = self.stores.pool.get_many(look["ids"])
        with self._mutex:
            pending = [p for p in pending if p["nonce"] > self.state.nonce(sender)]
            try:
                admitted = self.rules.admit(self.state, tx, pending)
            except InvalidTransaction:
                self._refuse_duplicate(tx)
                raise
            next_block = self.height + 1
        row = self._pool_row(admitted)
        self._store_pool_row(row)
        self.stores.pool.add(
            [row],
            then=[
                self.signals.publish_command("tx", {k: admitted[k] for k in TX_SUMMARY}),
                self.signals.relay_command([row["raw"]]),
            ],
        )
        return {"message": f"Transaction will be added to Block {next_block}", "id": row["_id"]}

    def _store_pool_row(self, row: dict) -> None:
        """The durable insert: the unique (sender, nonce) index admits one per nonce."""
        try:
            self.stores.mempool.add(row)
        except DuplicateKeyError as exc:
            if self.stores.mempool.get(row["_id"]) is None:
                raise DoubleSpend(
                    f"the sender already has a pending transaction with nonce {row['nonce']}"
                ) from exc
            if self.stores.pool.contains(row["_id"]):
                raise Conflict("this transaction is already in the mempool") from exc
            # Stored but not indexed (a process died in between): index it now.

    def _submit_dvf_transaction(self, tx: object) -> dict:
        admitted = self.rules.admit(self.state, tx, [])
        self._ensure_pool()
        with self._mutex:
            self.refresh()
            next_block = self.height + 2  # dvf counts blocks from 1
        row = self._pool_row(admitted)
        self._store_pool_row(row)
        self.stores.pool.add(
            [row], then=[self.signals.publish_command("tx", {"transaction": admitted})]
        )
        return {"message": f"Transaction will be added to Block {next_block}"}

    def submit_transactions(self, txs: object) -> dict:
        """Admit a batch of transactions (relayed by a peer): each on its own merits, in
        nonce order per sender, stored with one bulk insert. Refusals are reported, not
        raised; what is admitted is relayed on (a duplicate is never relayed again)."""
        if not self.platform:
            raise InvalidInput("batches are for platform rules only")
        if not isinstance(txs, list) or len(txs) > BATCH_MAX:
            raise InvalidInput(f"transactions must be a list of at most {BATCH_MAX}")
        self._ensure_pool()
        ordered = sorted(
            (tx for tx in txs if isinstance(tx, dict)),
            key=lambda tx: (str(tx.get("sender")), _int_or(tx.get("nonce"), -1)),
        )
        # Relays echo: what this node has already is skipped before any signature check.
        known = self.stores.pool.known([tx.get("id") for tx in ordered])
        ordered = [tx for tx in ordered if tx.get("id") not in known]
        refused: dict[str, str] = {}
        rows = []
        with self._mutex:
            self.refresh()
            pending: dict[str, list[dict]] = {}
            for tx in ordered:
                sender = tx.get("sender")
                try:
                    if not isinstance(sender, str):
                        raise InvalidTransaction("sender must be an address")
                    if sender not in pending:
                        pending[sender] = self._pending_of(sender)
                    admitted = self.rules.admit(self.state, tx, pending[sender])
                except InvalidInput as exc:
                    refused[str(tx.get("id"))[:64]] = exc.message
                    continue
                pending[sender].append(admitted)
                rows.append(self._pool_row(admitted))
        if rows and self.stores.pool.count() + len(rows) > self.settings.chain_mempool_max:
            raise MempoolFull("the mempool is full; retry later")
        added = self.stores.mempool.add_many(rows)
        accepted = [row for row in rows if row["_id"] in added]
        self.stores.pool.add(accepted)
        self.signals.queue_relay([row["raw"] for row in accepted])
        for row in accepted:
            tx = json.loads(row["raw"])
            self.signals.publish("tx", {k: tx[k] for k in TX_SUMMARY})
        return {"accepted": [row["_id"] for row in accepted], "refused": refused}

    def relay(self, txs: list[dict]) -> None:
        """Pass admitted transactions to every peer not backed off (best effort)."""
        now = self.clock_ms()
        for peer in self.stores.peers.all():
            if peer.get("retry_at", 0) > now:
                continue
            client = self.peer_client(peer["_id"])
            try:
                client.submit_transactions(txs)
            except ChainNodeError as exc:
                log.info("relay of %d transactions to %s failed: %s", len(txs), peer["_id"], exc)
            finally:
                client.close()

    def _refuse_duplicate(self, tx: dict) -> None:
        """A transaction sent twice is a 409 that says so, not a nonce error."""
        tx_id = tx.get("id")
        if not isinstance(tx_id, str) or len(tx_id) != 64:
            return
        if self.stores.pool.contains(tx_id):
            raise Conflict("this transaction is already in the mempool")
        row = self.stores.blocks.find_transaction(tx_id)
        if row is not None and self._position.get(row["block"]) == row["height"]:
            raise Conflict("this transaction is already in a block")

    def pool(self, limit: int = 5000) -> dict:
        txs = self.stores.pool.all(limit)
        if self.platform:
            txs.sort(key=lambda tx: (-tx["fee"], tx["sender"], tx["nonce"]))
        return {"transactions": txs, "count": self.stores.pool.count()}

    # ------------------------------------------------------------------ mining

    def template(self, miner: str | None) -> dict:
        """A block to mine on the current tip, paying ``miner`` (default: this node)."""
        if miner is not None and self.platform:
            if not isinstance(miner, str) or not keys.ADDRESS.fullmatch(miner):
                raise InvalidInput("miner must be an address (40 lower-case hex digits)")
        self._ensure_pool()
        with self._mutex:
            self.refresh()
            pool = self.stores.pool.all()
            parent = json.loads(self._raw_of(self.tip_hash))
            return self.rules.template(
                self.state,
                parent,
                self.tip_hash,
                self._headers[-MEDIAN_SPAN:],
                pool,
                miner or self._default_miner(),
                self.clock_ms(),
            )

    def _default_miner(self) -> str:
        """Rewards go to the node's own address (dvf: its uuid4 hex node id)."""
        return self.identity()["address" if self.platform else "node_id"]

    def identity(self) -> dict:
        """This node's own key (platform: its rewards' address) and dvf node id."""
        if not hasattr(self, "_identity"):

            def make() -> dict:
                pair = keys.generate_key()
                return {
                    "address": pair.address,
                    "private_key": pair.private_key,
                    "node_id": uuid.uuid4().hex,
                }

            self._identity = self.stores.meta.identity(make)
        return self._identity

    # --------------------------------------------------------------- explorer

    def inv(self) -> dict:
        with self._mutex:
            self.refresh()
            return {"height": self.height, "hash": self.tip_hash, "work": self.tip_work}

    def _raws(self, hashes: Sequence[str]) -> list[str]:
        with self._mutex:
            return [self._raw_of(h) for h in hashes]

    def chain_json(self) -> str:
        """``{"chain": [...], "length": n}`` as text, each block exactly as stored."""
        with self._mutex:
            self.refresh()
            raws = self._raws(list(self._hashes))
        return '{"chain":[' + ",".join(raws) + '],"length":' + str(len(raws)) + "}"

    def getblocks_json(self, locator: Sequence[str], limit: int) -> str:
        """Blocks after the first ``locator`` hash on the main chain (from genesis when the
        locator is empty), at most ``limit``; NotFound when no locator hash is known."""
        limit = max(1, min(limit, GETBLOCKS_MAX))
        with self._mutex:
            self.refresh()
            start = 0
            if locator:
                found = next((self._position[h] for h in locator if h in self._position), None)
                if found is None:
                    raise NotFound("none of these blocks is on this node's main chain")
                start = found + 1
            raws = self._raws(self._hashes[start : start + limit])
            tip = {"height": self.height, "hash": self.tip_hash, "work": self.tip_work}
        return '{"blocks":[' + ",".join(raws) + '],"tip":' + json.dumps(tip) + "}"

    def block(self, ref: str) -> dict:
        with self._mutex:
            self.refresh()
            if ref.isdigit():
                height = int(ref)
                if height > self.height:
                    raise NotFound(f"no block at height {height}")
                ref = self._hashes[height]
            tip_height = self.height
            on_main = self._is_main(ref)
        doc = self.stores.blocks.get(ref) if len(ref) <= 128 else None
        if doc is None:
            raise NotFound("no such block")
        return {
            "hash": doc["_id"],
            "height": doc["height"],
            "main": on_main,
            "confirmations": tip_height - doc["height"] + 1 if on_main else 0,
            "work": decode_work(doc["work"]),
            "block": json.loads(doc["raw"]),
        }

    def transaction(self, tx_id: str) -> dict:
        if not isinstance(tx_id, str) or len(tx_id) != 64:
            raise NotFound("no such transaction")
        with self._mutex:
            self.refresh()
            row = self.stores.blocks.find_transaction(tx_id)
            if row is not None and self._position.get(row["block"]) == row["height"]:
                return {
                    "transaction": json.loads(row["raw"]),
                    "status": "confirmed",
                    "block": row["block"],
                    "height": row["height"],
                    "confirmations": self.height - row["height"] + 1,
                }
        pending = self.stores.pool.get(tx_id)
        if pending is not None:
            return {"transaction": pending, "status": "pending", "confirmations": 0}
        raise NotFound("no such transaction")

    def address(self, address: str) -> dict:
        if not keys.ADDRESS.fullmatch(address or ""):
            raise InvalidInput("an address is 40 lower-case hex digits")
        with self._mutex:
            self.refresh()
            state, tip_height = self.state, self.height
            balances = {asset: format_units(state.balance(address, asset)) for asset in ASSETS}
            spendable = format_units(state.spendable(address, "DTC", tip_height + 1))
            nonce = state.nonce(address)
            pending = len(self._pending_of(address))
            recent = list(reversed(self._address_txs.get(address, [])[-ADDRESS_HISTORY:]))
            history = []
            for tx_id in recent:
                row = self.stores.blocks.find_transaction(tx_id)
                if row is None or self._position.get(row["block"]) != row["height"]:
                    continue
                history.append(
                    {
                        **json.loads(row["raw"]),
                        "block": row["block"],
                        "height": row["height"],
                        "confirmations": tip_height - row["height"] + 1,
                    }
                )
        return {
            "address": address,
            "balances": balances,
            "spendable": {"DTC": spendable},
            "nonce": nonce,
            "next_nonce": nonce + pending + 1,
            "pending": pending,
            "transactions": history,
        }

    # ------------------------------------------------------------------ peers

    def register_peers(self, nodes: object) -> dict:
        if not isinstance(nodes, list) or not nodes:
            raise InvalidInput("nodes must be a non-empty list of URLs")
        if len(nodes) > self.settings.chain_max_peers:
            raise InvalidInput(f"at most {self.settings.chain_max_peers} nodes at once")
        urls = [check_peer_url(node) for node in nodes]
        if self.own_url in urls:
            raise InvalidInput("a node cannot register itself")
        known = {peer["_id"] for peer in self.stores.peers.all()}
        if len(known | set(urls)) > self.settings.chain_max_peers:
            raise Conflict(f"a node keeps at most {self.settings.chain_max_peers} peers")
        self.stores.peers.add(urls)
        self.signals.wake("sync")
        return {
            "message": "New nodes have been added",
            "total_nodes": [peer["_id"] for peer in self.stores.peers.all()],
        }

    def peer_client(self, url: str) -> ChainNodeClient:
        return ChainNodeClient(
            url,
            timeout=self.settings.chain_peer_timeout_s,
            max_bytes=self.settings.chain_peer_max_bytes,
        )

    def resolve(self, *, respect_backoff: bool = False) -> dict:
        """Consensus now: fetch from every peer what has more work than our chain."""
        old = (self.height, self.tip_hash)
        report = {}
        now = self.clock_ms()
        for peer in self.stores.peers.all():
            url = peer["_id"]
            if respect_backoff and peer.get("retry_at", 0) > now:
                continue
            try:
                report[url] = self._sync_peer(url)
            except (ChainNodeError, InvalidInput, UpstreamUnavailable) as exc:
                report[url] = f"refused: {getattr(exc, 'message', exc)}"
                self._back_off(peer, str(getattr(exc, "message", exc)))
            else:
                if peer.get("failures"):
                    self.stores.peers.record_success(url)
        with self._mutex:
            self.refresh()
            replaced = (self.height, self.tip_hash) != old
        return {"replaced": replaced, "peers": report, "height": self.height}

    def _back_off(self, peer: dict, error: str) -> None:
        failures = peer.get("failures", 0) + 1
        delay_ms = int(min(self.settings.chain_peer_max_backoff_s, 0.5 * 2**failures) * 1000)
        log.warning(
            "peer %s failed (%d in a row, next try in %.1fs): %s",
            peer["_id"],
            failures,
            delay_ms / 1000,
            error,
        )
        self.stores.peers.record_failure(peer["_id"], failures, self.clock_ms() + delay_ms, error)

    def _sync_peer(self, url: str) -> str:
        client = self.peer_client(url)
        try:
            if self.rules.name == "dvf":
                return self._adopt_chain(client)
            return self._catch_up(client)
        finally:
            client.close()

    def _adopt_chain(self, client: ChainNodeClient) -> str:
        """dvf's consensus: the peer's whole chain, if valid and strictly longer."""
        answer = client.chain()
        chain, length = answer.get("chain"), answer.get("length")
        if not isinstance(chain, list) or not chain:
            raise InvalidInput("the peer's chain is not a non-empty list")
        if isinstance(length, bool) or length != len(chain):
            raise InvalidInput("the peer's length does not match its chain")
        if length <= self.height + 1:
            return "ours is as long"
        self.submit_blocks(chain, allow_root=True)
        return f"adopted {length} blocks" if self.inv()["height"] + 1 == length else "kept ours"

    def _locator(self) -> list[str]:
        with self._mutex:
            self.refresh()
            hashes, step, height = [], 1, self.height
            while height > 0 and len(hashes) < LOCATOR_MAX - 1:
                hashes.append(self._hashes[height])
                if len(hashes) >= 8:
                    step *= 2
                height -= step
            hashes.append(self._hashes[0])
            return hashes

    def _catch_up(self, client: ChainNodeClient) -> str:
        inv = client.inv()
        work, height = inv.get("work"), inv.get("height")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (work, height)):
            raise InvalidInput("the peer's /inv is malformed")
        if work <= self.inv()["work"]:
            return "ours has as much work"
        fetched = 0
        for _ in range(CATCH_UP_BATCHES):
            try:
                answer = client.getblocks(",".join(self._locator()), GETBLOCKS_MAX)
            except ChainNodeError as exc:
                if exc.status != 404:
                    raise
                answer = client.getblocks(None, GETBLOCKS_MAX)
            got = answer.get("blocks")
            if not isinstance(got, list):
                raise InvalidInput("the peer's /getblocks is malformed")
            if not got:
                break
            outcomes = self.submit_blocks(got)
            fetched += sum(1 for o in outcomes if o.status != "known")
            if self.inv()["work"] >= work or all(o.status == "known" for o in outcomes):
                break
        return f"fetched {fetched} blocks"

    def announce(self) -> None:
        """Tell every peer our new tip (POST /inv), best effort, never waiting long."""
        tip = self.inv()
        for peer in self.stores.peers.all():
            client = ChainNodeClient(
                peer["_id"], timeout=min(1.0, self.settings.chain_peer_timeout_s)
            )
            try:
                client.announce({**tip, "url": self.own_url})
            except ChainNodeError as exc:
                log.debug("announce to %s failed: %s", peer["_id"], exc.message)
            finally:
                client.close()

    def announced(self, inv: object) -> dict:
        """A peer says it has a new tip: wake our sync loop if it claims more work."""
        if not isinstance(inv, dict) or not isinstance(inv.get("work"), int):
            raise InvalidInput("an announcement is {height, hash, work}")
        if inv["work"] > self.inv()["work"]:
            self.signals.wake("sync")
            return {"message": "will fetch"}
        return {"message": "nothing new"}

    # ---------------------------------------------------------------- restart

    def restart(self) -> dict:
        """Back to genesis (the seed's reset): blocks, indexes and mempool are dropped."""
        try:
            with self.signals.lock(), self._mutex:
                old = {"height": self.height, "hash": self.tip_hash}
                self.stores.meta.reset_tip()
                self.stores.blocks.reset()
                self.stores.mempool.reset()
                self.stores.pool.reset()
                self._raw.clear()
                self._raw_bytes = 0
                self._store_genesis()
                self._load_all()
                self.stores.pool.mark_ready()
                self.signals.set_tip_hint(self.tip_hash)
        except LockError as exc:
            raise Busy("the node is busy with another chain change; retry") from exc
        tip = {"height": self.height, "hash": self.tip_hash, "work": self.tip_work}
        self.signals.publish(
            "reorg", {"old_tip": old, "new_tip": tip, "fork_height": -1, "restart": True}
        )
        self.signals.publish("tip", tip)
        return {"message": "Back to genesis", **tip}

    def mine_now(self, miner: str | None) -> dict:
        """Ask this node's miner worker for one block and wait for it (bounded)."""
        if miner is not None and self.platform and not keys.ADDRESS.fullmatch(miner):
            raise InvalidInput("miner must be an address (40 lower-case hex digits)")
        request_id = uuid.uuid4().hex
        self.signals.request_mine({"id": request_id, "miner": miner})
        answer = self.signals.wait_mined(request_id, self.settings.chain_mine_wait_s)
        if answer is None:
            raise UpstreamUnavailable("the miner did not finish a block in time; retry")
        if "error" in answer:
            raise UpstreamUnavailable(f"the miner could not mine: {answer['error']}")
        return answer


def format_outcome(outcome: Outcome) -> dict:
    return {"hash": outcome.hash, "status": outcome.status, "height": outcome.height}
