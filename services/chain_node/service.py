"""Use cases of one chain-node: accepting blocks and transactions, fork choice, the
explorer, peers and mining requests.

Each process keeps the ledger state of the best chain in memory (rebuilt from the
database at start, then followed block by block, with undo records for reorgs). Every
change of the stored chain happens under the node's Redis lock: the lock holder first
catches up with the database, then validates, stores the new blocks, and switches the
main chain. The ``meta.tip`` document is written last: it is the commit point, and a
process that died half-way is repaired at the next start (``repair``).

Rules live in ``services.common.chain.rules`` (pure); this module does the storing,
locking and networking around them, and imports no web framework.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
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
    decode_work,
    dumps,
    encode_work,
)
from ..common.chain.rules import MEDIAN_SPAN, ChainRules, InvalidBlock
from ..common.chain.signals import NodeSignals
from ..common.chain.transactions import COINBASE_SENDER, InvalidTransaction
from ..common.chain.units import ASSETS, format_units
from ..common.config import ChainNodeSettings
from ..common.errors import Conflict, InvalidInput, NotFound, PlatformError, UpstreamUnavailable

log = logging.getLogger(__name__)

UNDO_DEPTH = 200
GETBLOCKS_MAX = 500
CATCH_UP_BATCHES = 40
ADDRESS_HISTORY = 50
LOCATOR_MAX = 32
BATCH_MAX = 1000
TX_SUMMARY = ("id", "sender", "recipient", "asset", "amount", "fee", "nonce")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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
    peers: PeerRepository
    meta: MetaRepository

    def ensure_indexes(self) -> None:
        self.blocks.ensure_indexes()
        self.mempool.ensure_indexes()


@dataclass
class _Staged:
    """A block being accepted: what the fork choice needs about it."""

    hash: str
    block: dict
    height: int
    work: int
    prev: str
    root: bool = False


@dataclass
class Outcome:
    hash: str
    status: str  # "tip", "side", "known", "invalid", "orphan"
    height: int | None = None
    reason: str = ""


@dataclass
class _Switch:
    old_tip: tuple[int, str]
    fork_height: int
    disconnected: list[tuple[str, dict]] = field(default_factory=list)
    connected: list[_Staged] = field(default_factory=list)


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
        self._mutex = threading.RLock()
        self._reset_memory()

    # ------------------------------------------------------------ memory state

    def _reset_memory(self) -> None:
        self.state = self.rules.new_state()
        self._hashes: list[str] = []
        self._headers: list[dict] = []
        self._works: list[int] = []
        self._undos: deque = deque(maxlen=UNDO_DEPTH)

    @property
    def height(self) -> int:
        return len(self._hashes) - 1

    @property
    def tip_hash(self) -> str:
        return self._hashes[-1] if self._hashes else ""

    @property
    def tip_work(self) -> int:
        return self._works[-1] if self._works else 0

    def _push(self, staged: _Staged) -> None:
        """Connect a block on top of the in-memory chain (InvalidBlock if it breaks a rule)."""
        if staged.root or not self._hashes:
            undo = self.rules.connect_genesis(self.state, staged.block, staged.hash)
        else:
            undo = self.rules.connect(self.state, staged.block, staged.height, staged.hash)
        self._undos.append(undo)
        self._hashes.append(staged.hash)
        self._headers.append(_header(staged.block))
        self._works.append(staged.work)

    def _pop(self) -> None:
        """Disconnect the tip block (replaying from genesis when its undo is gone)."""
        if self._undos:
            self.rules.disconnect(self.state, self._undos.pop())
            self._hashes.pop()
            self._headers.pop()
            self._works.pop()
            return
        keep = self.height  # heights 0 .. height-1 stay
        hashes = self._hashes[:keep]
        self._reset_memory()
        self._replay(hashes)

    def _replay(self, hashes: Sequence[str]) -> None:
        """Connect stored blocks by hash, in order, from an empty state."""
        for start in range(0, len(hashes), 1000):
            chunk = hashes[start : start + 1000]
            docs = self.stores.blocks.get_many(chunk)
            for block_hash in chunk:
                doc = docs.get(block_hash)
                if doc is None:
                    raise _Inconsistent(f"block {block_hash} is missing")
                self._push(self._staged_from(doc))

    @staticmethod
    def _staged_from(doc: dict) -> _Staged:
        return _Staged(
            doc["_id"],
            json.loads(doc["raw"]),
            doc["height"],
            decode_work(doc["work"]),
            doc["prev"],
            doc.get("root", False),
        )

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Create the genesis block on first start and repair a half-done switch."""
        with self.signals.lock(), self._mutex:
            if self.stores.meta.tip() is None:
                self._store_genesis()
            self.repair()
            self._follow_db(force=True)
            self.signals.set_tip_hint(self.tip_hash)

    def _store_genesis(self) -> None:
        genesis = self.rules.genesis()
        block_hash = self.rules.block_hash(genesis)
        work = 1 if self.rules.foreign_roots else 0
        self.stores.blocks.add_many([self._doc(block_hash, genesis, 0, work, "", root=True)])
        self.stores.blocks.set_main([(0, block_hash)], above=0)
        if self.rules.name == "platform":
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

    def repair(self) -> None:
        """Make ``main`` agree with ``meta.tip`` (a writer may have died between them)."""
        tip = self.stores.meta.tip()
        block_hash, height = tip["hash"], tip["height"]
        fixes = []
        while height >= 0 and self.stores.blocks.main_hash(height) != block_hash:
            fixes.append((height, block_hash))
            doc = self.stores.blocks.get(block_hash)
            if doc is None or doc.get("root"):
                break
            block_hash, height = doc["prev"], height - 1
        if fixes:
            log.warning("repairing %d main-chain entries below the tip", len(fixes))
        self.stores.blocks.set_main(fixes, above=tip["height"])

    # ------------------------------------------------------------------- follow

    def refresh(self) -> None:
        """Catch this process's state up with the stored chain (cheap when unchanged)."""
        with self._mutex:
            hint = self.signals.tip_hint()
            if hint is not None and hint == self.tip_hash:
                return
            self._follow_db()

    def _follow_db(self, force: bool = False) -> None:
        tip = self.stores.meta.tip()
        if tip is None or (tip["hash"] == self.tip_hash and not force):
            return
        try:
            self._follow(tip["height"], tip["hash"])
        except _Inconsistent as exc:
            # Another process is switching the chain right now: try again next time.
            log.info("chain changing under us (%s); following later", exc)

    def _follow(self, new_height: int, new_hash: str) -> None:
        low = max(0, min(self.height, new_height) - UNDO_DEPTH + 1)
        stored = dict(self.stores.blocks.main_hashes(low, new_height))
        if stored.get(new_height) != new_hash:
            raise _Inconsistent("main does not end at the tip yet")
        fork = low - 1
        for height in range(low, min(self.height, new_height) + 1):
            if stored.get(height) != self._hashes[height]:
                break
            fork = height
        if fork < low - 1 or (fork == low - 1 and low > 0):
            log.info("deep change of the stored chain; rebuilding the state")
            self._reset_memory()
            self._replay([h for _, h in self.stores.blocks.main_hashes(0, new_height)])
            return
        while self.height > fork:
            self._pop()
        needed = [stored[h] for h in range(fork + 1, new_height + 1) if h in stored]
        if len(needed) != new_height - fork:
            raise _Inconsistent("main has a gap")
        for start in range(0, len(needed), 1000):
            chunk = needed[start : start + 1000]
            docs = self.stores.blocks.get_many(chunk)
            for block_hash in chunk:
                doc = docs.get(block_hash)
                if doc is None or (self._hashes and doc["prev"] != self.tip_hash):
                    raise _Inconsistent(f"block {block_hash} does not follow the tip")
                self._push(self._staged_from(doc))

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
                    self._follow_db(force=True)
                    outcomes = self._accept(checked, allow_root)
            except LockError as exc:
                raise Busy("the node is busy with another chain change; retry") from exc
        if problem is not None:
            raise problem
        bad = next((o for o in outcomes if o.status == "invalid"), None)
        if bad is not None:
            raise InvalidBlock(f"block {bad.hash} refused: {bad.reason}")
        return outcomes

    def _accept(self, checked: list[tuple[str, dict]], allow_root: bool) -> list[Outcome]:
        staged: dict[str, _Staged] = {}
        outcomes: list[Outcome] = []
        new_docs = []
        now = self.clock_ms()
        for position, (block_hash, block) in enumerate(checked):
            if block_hash in staged:
                outcomes.append(Outcome(block_hash, "known", staged[block_hash].height))
                continue
            known = self.stores.blocks.get(block_hash)
            if known is not None:
                if known.get("invalid"):
                    outcomes.append(Outcome(block_hash, "invalid", reason="known to be invalid"))
                    break
                staged[block_hash] = self._staged_from(known)
                outcomes.append(Outcome(block_hash, "known", known["height"]))
                continue
            prev = self.rules.parent_hash(block)
            parent = staged.get(prev) if isinstance(prev, str) else None
            if parent is None and isinstance(prev, str):
                doc = self.stores.blocks.get(prev)
                if doc is not None:
                    if doc.get("invalid"):
                        self.stores.blocks.add_many(new_docs)
                        new_docs = []
                        outcomes.append(Outcome(block_hash, "invalid", reason="invalid parent"))
                        break
                    parent = self._staged_from(doc)
                    staged[prev] = parent
            if parent is None:
                if allow_root and position == 0 and self.rules.foreign_roots:
                    root = _Staged(block_hash, block, 0, 1, dumps(prev), root=True)
                    staged[block_hash] = root
                    new_docs.append(self._doc(block_hash, block, 0, 1, prev, root=True))
                    outcomes.append(Outcome(block_hash, "side", 0))
                    continue
                outcomes.append(Outcome(block_hash, "orphan", reason="unknown parent"))
                break
            ancestors = self._ancestors(parent, staged)
            try:
                work = self.rules.check_header(block, parent.hash, ancestors, now)
            except InvalidBlock as exc:
                outcomes.append(Outcome(block_hash, "invalid", reason=exc.message))
                break
            entry = _Staged(block_hash, block, parent.height + 1, parent.work + work, parent.hash)
            staged[block_hash] = entry
            new_docs.append(self._doc(block_hash, block, entry.height, entry.work, parent.hash))
            outcomes.append(Outcome(block_hash, "side", entry.height))
        self.stores.blocks.add_many(new_docs)
        if staged:
            best = max(staged.values(), key=lambda s: s.work)
            if best.work > self.tip_work:
                self._reorganise(best, staged, outcomes)
        on_main = {h: height for height, h in enumerate(self._hashes)}
        for outcome in outcomes:
            if outcome.status == "side" and outcome.hash in on_main:
                outcome.status = "tip" if outcome.hash == self.tip_hash else "main"
        return outcomes

    def _ancestors(self, parent: _Staged, staged: dict[str, _Staged]) -> list[dict]:
        """Headers of ``parent`` and up to MEDIAN_SPAN - 1 of its ancestors, oldest first."""
        chain: list[dict] = []
        current: _Staged | None = parent
        while current is not None and len(chain) < MEDIAN_SPAN:
            height = current.height
            if 0 <= height <= self.height and self._hashes[height] == current.hash:
                start = max(0, height - (MEDIAN_SPAN - len(chain)) + 1)
                return self._headers[start : height + 1] + chain
            chain.insert(0, _header(current.block))
            if current.root:
                break
            current = staged.get(current.prev) or self._load(current.prev)
        return chain

    def _load(self, block_hash: str) -> _Staged | None:
        doc = self.stores.blocks.get(block_hash)
        return self._staged_from(doc) if doc else None

    def _reorganise(self, best: _Staged, staged: dict[str, _Staged], outcomes) -> None:
        """Switch the main chain to end at ``best`` (more work than the tip)."""
        branch: list[_Staged] = []
        current: _Staged | None = best
        while current is not None:
            on_main = (
                0 <= current.height <= self.height and self._hashes[current.height] == current.hash
            )
            if on_main:
                break
            branch.append(current)
            if current.root:
                current = None
                break
            current = staged.get(current.prev) or self._load(current.prev)
        fork_height = branch[-1].height - 1 if branch else self.height
        branch.reverse()
        switch = _Switch((self.height, self.tip_hash), fork_height)
        while self.height > fork_height:
            height = self.height
            switch.disconnected.append((self._hashes[height], None))
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
            old_work = self._stored_work(switch.old_tip[1])
            if self.tip_work <= old_work:
                self._restore(switch)
                return
        self._commit(switch)

    def _stored_work(self, block_hash: str) -> int:
        doc = self.stores.blocks.get(block_hash)
        return decode_work(doc["work"]) if doc else 0

    def _restore(self, switch: _Switch) -> None:
        """Undo a failed switch: back to the old chain, nothing stored changes."""
        while self.height > switch.fork_height:
            self._pop()
        old_hashes = [h for h, _ in reversed(switch.disconnected)]
        docs = self.stores.blocks.get_many(old_hashes)
        for block_hash in old_hashes:
            self._push(self._staged_from(docs[block_hash]))

    def _commit(self, switch: _Switch) -> None:
        """Store the new main chain, the transaction index, the tip; fix the mempool."""
        blocks = self.stores.blocks
        disconnected_docs = blocks.get_many([h for h, _ in switch.disconnected])
        dropped = [
            json.loads(disconnected_docs[h]["raw"])
            for h, _ in switch.disconnected
            if h in disconnected_docs
        ]
        blocks.set_main(
            [(entry.height, entry.hash) for entry in switch.connected], above=self.height
        )
        platform = self.rules.name == "platform"
        if platform:
            blocks.unindex_transactions([tx["id"] for b in dropped for tx in b["transactions"]])
            rows = []
            for entry in switch.connected:
                rows += self._tx_rows(entry.hash, entry.block, entry.height)
            blocks.index_transactions(rows)
        self.stores.meta.set_tip(self.height, self.tip_hash, self.tip_work)
        self.signals.set_tip_hint(self.tip_hash)
        included = [
            self.rules.pool_key(tx)
            for entry in switch.connected
            for tx in entry.block.get("transactions") or []
            if isinstance(tx, dict)
        ]
        self.stores.mempool.remove(included)
        returned = self._reinject(dropped, set(included)) if dropped else 0
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

    def _tx_rows(self, block_hash: str, block: dict, height: int) -> list[dict]:
        return [
            {
                "_id": tx["id"],
                "block": block_hash,
                "height": height,
                "position": position,
                "sender": tx["sender"],
                "recipient": tx["recipient"],
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
        if self.rules.name == "platform":
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
        added = self.stores.mempool.add_many(rows)
        if self.rules.name == "platform":
            self.signals.queue_relay([row["raw"] for row in rows if row["_id"] in added])
        return len(added)

    def _pending_of(self, sender) -> list[dict]:
        if self.rules.name != "platform":
            return []
        confirmed = self.state.nonce(sender)
        return [tx for tx in self.stores.mempool.pending_of(sender) if tx["nonce"] > confirmed]

    def _pool_row(self, tx: dict) -> dict:
        key = self.rules.pool_key(tx)
        if self.rules.name == "platform":
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

    # ----------------------------------------------------------- transactions

    def submit_transaction(self, tx: object) -> dict:
        """Admit a transaction to the mempool (dvf: as posted; platform: signed, with the
        sender's next nonce and the funds for amount and fee)."""
        if self.rules.name == "platform":
            sender = tx.get("sender") if isinstance(tx, dict) else None
            with self._mutex:
                self.refresh()
                pending = self._pending_of(sender) if isinstance(sender, str) else []
                try:
                    admitted = self.rules.admit(self.state, tx, pending)
                except InvalidTransaction:
                    self._refuse_duplicate(tx)
                    raise
                next_block = self.height + 1
        else:
            admitted = self.rules.admit(self.state, tx, [])
            next_block = self.height + 2  # dvf counts blocks from 1
        if self.stores.mempool.count() >= self.settings.chain_mempool_max:
            raise MempoolFull("the mempool is full; retry later")
        row = self._pool_row(admitted)
        try:
            self.stores.mempool.add(
                row["_id"], admitted, row["sender"], row["nonce"], row["fee"], row["seq"]
            )
        except DuplicateKeyError as exc:
            if self.stores.mempool.contains(row["_id"]):
                raise Conflict("this transaction is already in the mempool") from exc
            raise Conflict(
                f"the sender already has a pending transaction with nonce {row['nonce']}"
            ) from exc
        if self.rules.name == "platform":
            self.signals.publish("tx", {k: admitted[k] for k in TX_SUMMARY})
        else:
            self.signals.publish("tx", {"transaction": admitted})
        if self.rules.name == "platform":
            self.signals.queue_relay([row["raw"]])
        answer = {"message": f"Transaction will be added to Block {next_block}"}
        if self.rules.name == "platform":
            answer["id"] = admitted["id"]
        return answer

    def submit_transactions(self, txs: object) -> dict:
        """Admit a batch of transactions (relayed by a peer): each on its own merits, in
        nonce order per sender, stored with one bulk insert. Refusals are reported, not
        raised; what is admitted is relayed on (a duplicate is never relayed again)."""
        if self.rules.name != "platform":
            raise InvalidInput("batches are for platform rules only")
        if not isinstance(txs, list) or len(txs) > BATCH_MAX:
            raise InvalidInput(f"transactions must be a list of at most {BATCH_MAX}")
        ordered = sorted(
            (tx for tx in txs if isinstance(tx, dict)),
            key=lambda tx: (str(tx.get("sender")), tx.get("nonce") or 0),
        )
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
        if rows and self.stores.mempool.count() + len(rows) > self.settings.chain_mempool_max:
            raise MempoolFull("the mempool is full; retry later")
        added = self.stores.mempool.add_many(rows)
        accepted = [row for row in rows if row["_id"] in added]
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
        if not isinstance(tx_id, str):
            return
        if self.stores.mempool.contains(tx_id):
            raise Conflict("this transaction is already in the mempool")
        row = self.stores.blocks.find_transaction(tx_id)
        if row is not None and self._is_main(row["block"]):
            raise Conflict("this transaction is already in a block")

    def pool(self, limit: int = 5000) -> dict:
        txs = self.stores.mempool.all(limit)
        if self.rules.name == "platform":
            txs.sort(key=lambda tx: (-tx["fee"], tx["sender"], tx["nonce"]))
        return {"transactions": txs, "count": len(txs)}

    # ------------------------------------------------------------------ mining

    def template(self, miner: str | None) -> dict:
        """A block to mine on the current tip, paying ``miner`` (default: this node)."""
        if miner is not None and self.rules.name == "platform":
            if not isinstance(miner, str) or not keys.ADDRESS.fullmatch(miner):
                raise InvalidInput("miner must be an address (40 lower-case hex digits)")
        with self._mutex:
            self.refresh()
            pool = self.stores.mempool.all(self.settings.chain_mempool_max)
            parent = json.loads(self.stores.blocks.get(self.tip_hash)["raw"])
            ancestors = self._headers[-MEDIAN_SPAN:]
            return self.rules.template(
                self.state,
                parent,
                self.tip_hash,
                ancestors,
                pool,
                miner or self._default_miner(),
                self.clock_ms(),
            )

    def _default_miner(self) -> str:
        """Rewards go to the node's own address (dvf: its uuid4 hex node id)."""
        field = "address" if self.rules.name == "platform" else "node_id"
        return self.identity()[field]

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

    def chain_json(self) -> str:
        """``{"chain": [...], "length": n}`` as text, each block exactly as stored."""
        with self._mutex:
            self.refresh()
            hashes = list(self._hashes)
        raws = []
        for start in range(0, len(hashes), 1000):
            chunk = hashes[start : start + 1000]
            docs = self.stores.blocks.get_many(chunk)
            raws += [docs[h]["raw"] for h in chunk]
        return '{"chain":[' + ",".join(raws) + '],"length":' + str(len(raws)) + "}"

    def getblocks_json(self, locator: Sequence[str], limit: int) -> str:
        """Blocks after the first ``locator`` hash on the main chain (from genesis when the
        locator is empty), at most ``limit``; NotFound when no locator hash is known."""
        limit = max(1, min(limit, GETBLOCKS_MAX))
        with self._mutex:
            self.refresh()
            start = 0
            if locator:
                position = {h: height for height, h in enumerate(self._hashes)}
                found = next((position[h] for h in locator if h in position), None)
                if found is None:
                    raise NotFound("none of these blocks is on this node's main chain")
                start = found + 1
            hashes = self._hashes[start : start + limit]
            tip = {"height": self.height, "hash": self.tip_hash, "work": self.tip_work}
        docs = self.stores.blocks.get_many(hashes)
        raws = [docs[h]["raw"] for h in hashes if h in docs]
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
        doc = self.stores.blocks.get(ref)
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

    def _is_main(self, block_hash: str) -> bool:
        return any(h == block_hash for h in reversed(self._hashes))

    def transaction(self, tx_id: str) -> dict:
        if not isinstance(tx_id, str) or len(tx_id) != 64:
            raise NotFound("no such transaction")
        with self._mutex:
            self.refresh()
            tip_height = self.height
            hashes = self._hashes
            row = self.stores.blocks.find_transaction(tx_id)
            if (
                row is not None
                and row["height"] <= tip_height
                and hashes[row["height"]] == (row["block"])
            ):
                return {
                    "transaction": json.loads(row["raw"]),
                    "status": "confirmed",
                    "block": row["block"],
                    "height": row["height"],
                    "confirmations": tip_height - row["height"] + 1,
                }
        for tx in self.stores.mempool.all(self.settings.chain_mempool_max):
            if tx.get("id") == tx_id:
                return {"transaction": tx, "status": "pending", "confirmations": 0}
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
            pending = self._pending_of(address)
            hashes = list(self._hashes)
        history = []
        for row in self.stores.blocks.transactions_of(address, ADDRESS_HISTORY):
            if row["height"] <= tip_height and hashes[row["height"]] == row["block"]:
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
            "next_nonce": nonce + len(pending) + 1,
            "pending": len(pending),
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
                self._reset_memory()
                self._store_genesis()
                self._follow_db(force=True)
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
        if miner is not None and self.rules.name == "platform":
            if not keys.ADDRESS.fullmatch(miner):
                raise InvalidInput("miner must be an address (40 lower-case hex digits)")
        request_id = uuid.uuid4().hex
        self.signals.request_mine({"id": request_id, "miner": miner})
        answer = self.signals.wait_mined(request_id, self.settings.chain_mine_wait_s)
        if answer is None:
            raise UpstreamUnavailable("the miner did not finish a block in time; retry")
        if "error" in answer:
            raise UpstreamUnavailable(f"the miner could not mine: {answer['error']}")
        return answer


class _Inconsistent(Exception):
    """The stored chain is being changed by another process."""


def format_outcome(outcome: Outcome) -> dict:
    return {"hash": outcome.hash, "status": outcome.status, "height": outcome.height}


__all__ = ["ChainNode", "InvalidBlock", "InvalidTransaction", "Stores", "check_peer_url"]
