"""The two rule sets of the chain, as one interface of pure functions.

``ChainRules`` is what the node needs from a rule set: its genesis block, block hashes,
the checks of a block on its own (``check_body``) and on its parent (``check_header``),
the ledger state a block changes (``connect``/``disconnect``), mempool admission, block
templates and the proof-of-work search. ``PlatformRules`` are the platform's own
(signed transactions, balances, fees, maturity, difficulty retargeting, timestamps);
``DvfRules`` are dvf/blockchain's, byte for byte (chain-node-interop.md).

Nothing here does I/O: the node passes in the parent, the ancestors' headers, the state
and the clock.
"""

from __future__ import annotations

import heapq
import json
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InvalidInput
from . import blocks, transactions
from .state import ChainState, StateWriter, Undo, revert
from .transactions import COINBASE_SENDER, InvalidTransaction
from .units import DTC, DUSD, UNITS_PER_COIN

SUBSIDY = 50 * UNITS_PER_COIN
HALVING_INTERVAL = 10_000
RETARGET_INTERVAL = 10
MEDIAN_SPAN = 11
MAX_FUTURE_MS = 2 * 3600 * 1000
MIN_BITS, MAX_BITS = 1, 240
BLOCK_FIELDS = frozenset({*blocks.HEADER_FIELDS, "transactions"})


class InvalidBlock(InvalidInput):
    """A block (or chain) that breaks the rules; it is refused and changes nothing."""

    code = "invalid_block"


@dataclass(frozen=True)
class ChainParams:
    """The network's parameters (the same on every node of one network)."""

    fixed_bits: int | None = None
    initial_bits: int = 16
    block_time_ms: int = 10_000
    genesis_time_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    treasury: str = "0" * 40
    dusd_supply: int = 10**9 * UNITS_PER_COIN
    max_block_txs: int = 4_000


class ChainRules(ABC):
    """What a rule set decides; the node does the storing, locking and networking."""

    name: str
    #: Whether a chain may start from a genesis other than ours (dvf: every node has its own).
    foreign_roots: bool = False

    @abstractmethod
    def genesis(self) -> dict:
        """This node's genesis block."""

    @abstractmethod
    def block_hash(self, block: dict) -> str: ...

    def parent_hash(self, block: dict) -> object:
        return block.get("previous_hash") if isinstance(block, dict) else None

    @abstractmethod
    def check_body(self, block: object) -> None:
        """Everything checkable from the block alone; InvalidBlock if it fails."""

    @abstractmethod
    def check_header(
        self, block: dict, parent_hash: str, ancestors: Sequence[dict], now_ms: int
    ) -> int:
        """Check the block against its parent (``ancestors[-1]``, older ones before it,
        up to MEDIAN_SPAN) and return its work; InvalidBlock if it fails."""

    def new_state(self) -> ChainState:
        return ChainState()

    def connect(self, state: ChainState, block: dict, height: int, block_hash: str) -> Undo:
        """Apply the block's transactions to ``state`` (the state of its parent)."""
        writer = StateWriter(state)
        writer.move_tip(height, block_hash)
        return writer.undo

    def connect_genesis(self, state: ChainState, block: dict, block_hash: str) -> Undo:
        """Apply a chain's first block."""
        return self.connect(state, block, 0, block_hash)

    def disconnect(self, state: ChainState, undo: Undo) -> None:
        revert(state, undo)

    @abstractmethod
    def check_alone(self, tx: object) -> None:
        """What a transaction must be whatever the chain says (its form, its signature)."""

    @abstractmethod
    def admit(self, state: ChainState, tx: object, pending: Sequence[dict]) -> dict:
        """The transaction as the mempool keeps it, if it may enter; ``pending`` are the
        sender's transactions already waiting (platform) in nonce order."""

    @abstractmethod
    def template(
        self,
        state: ChainState,
        parent: dict,
        parent_hash: str,
        ancestors: Sequence[dict],
        pool: Sequence[dict],
        miner: str,
        now_ms: int,
    ) -> dict:
        """A block to mine on ``parent``: ``{"height", "previous_hash", "block", ...}``."""

    @abstractmethod
    def solve(self, template: dict, stop: Callable[[], bool] | None = None) -> dict | None:
        """The mined block, or None when ``stop()`` asked to give up."""

    def forged(self, block: dict) -> dict:
        """dvf's answer to ``GET /mine``."""
        return {
            "message": "New Block Forged",
            "index": block.get("index"),
            "transactions": block.get("transactions"),
            "proof": block.get("proof"),
            "previous_hash": block.get("previous_hash"),
        }

    def pool_key(self, tx: dict) -> str:
        """What makes two pool entries the same transaction."""
        return tx["id"]


# --------------------------------------------------------------------- platform


class SignatureCache:
    """Transactions whose signature this process has verified already (bounded LRU), so
    a block made of mempool transactions is not verified twice."""

    def __init__(self, size: int = 200_000):
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def check(self, tx: dict, message: bytes) -> None:
        key = tx["id"] + tx["signature"] + tx["public_key"]
        if key in self._seen:
            return
        transactions.check_signature(tx, message)
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)


def subsidy(height: int) -> int:
    """The block reward at ``height``: 50 DTC, halving every 10,000 blocks."""
    halvings = height // HALVING_INTERVAL
    return SUBSIDY >> halvings if halvings < 64 else 0


def median_time(ancestors: Sequence[dict]) -> int:
    stamps = sorted(header["timestamp"] for header in ancestors[-MEDIAN_SPAN:])
    return stamps[len(stamps) // 2]


def next_bits(params: ChainParams, height: int, ancestors: Sequence[dict]) -> int:
    """The difficulty (leading zero bits) a block at ``height`` must have.

    Every RETARGET_INTERVAL blocks it moves toward the block time by the rounded log2
    of expected / actual time over the last interval, at most 2 bits (a factor of 4)
    either way; in between it stays the parent's. Integer arithmetic only.
    """
    if params.fixed_bits is not None:
        return params.fixed_bits
    parent_bits = ancestors[-1]["difficulty"]
    if height % RETARGET_INTERVAL or len(ancestors) < RETARGET_INTERVAL:
        return parent_bits
    intervals = RETARGET_INTERVAL - 1
    actual = max(1, ancestors[-1]["timestamp"] - ancestors[-RETARGET_INTERVAL]["timestamp"])
    expected = params.block_time_ms * intervals
    if expected**2 >= 8 * actual**2:
        change = 2
    elif expected**2 >= 2 * actual**2:
        change = 1
    elif actual**2 >= 8 * expected**2:
        change = -2
    elif actual**2 >= 2 * expected**2:
        change = -1
    else:
        change = 0
    return min(MAX_BITS, max(MIN_BITS, parent_bits + change))


class PlatformRules(ChainRules):
    """Signed transactions, balances and fees, a tx_root under the proof of work,
    retargeting difficulty, median-time and future-time limits, coinbase maturity."""

    name = "platform"

    def __init__(self, params: ChainParams):
        self.params = params
        self.signatures = SignatureCache()

    def genesis(self) -> dict:
        mint = transactions.build_coinbase(
            self.params.treasury, self.params.dusd_supply, 0, self.params.genesis_time_ms, DUSD
        )
        return {
            "index": 0,
            "timestamp": self.params.genesis_time_ms,
            "transactions": [mint],
            "proof": 0,
            "previous_hash": "0" * 64,
            "tx_root": blocks.merkle_root([mint["id"]]),
            "difficulty": self.params.fixed_bits or self.params.initial_bits,
        }

    def block_hash(self, block: dict) -> str:
        return blocks.header_hash(block)

    def check_body(self, block: object) -> None:
        if not isinstance(block, dict) or block.keys() != BLOCK_FIELDS:
            raise InvalidBlock(f"a block has exactly the fields {', '.join(sorted(BLOCK_FIELDS))}")
        for name in ("index", "timestamp", "proof", "difficulty"):
            value = block[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise InvalidBlock(f"block {name} must be a non-negative integer")
        if not MIN_BITS <= block["difficulty"] <= MAX_BITS:
            raise InvalidBlock("block difficulty is out of range")
        for name in ("previous_hash", "tx_root"):
            if not isinstance(block[name], str) or not transactions.TX_ID.fullmatch(block[name]):
                raise InvalidBlock(f"block {name} must be 64 hex digits")
        txs = block["transactions"]
        if not isinstance(txs, list) or not 1 <= len(txs) <= self.params.max_block_txs:
            raise InvalidBlock(
                f"a block has 1 to {self.params.max_block_txs} transactions, a coinbase first"
            )
        seen: set[str] = set()
        try:
            transactions.check_structure(txs[0], coinbase=True)
            seen.add(txs[0]["id"])
            for tx in txs[1:]:
                message = transactions.check_structure(tx)
                if tx["id"] in seen:
                    raise InvalidBlock(f"transaction {tx['id']} appears twice")
                seen.add(tx["id"])
                self.signatures.check(tx, message)
        except InvalidTransaction as exc:
            raise InvalidBlock(f"invalid transaction in block: {exc.message}") from None
        if block["tx_root"] != blocks.merkle_root([tx["id"] for tx in txs]):
            raise InvalidBlock("tx_root is not the Merkle root of the transactions")
        if not blocks.meets_difficulty(blocks.header_hash(block), block["difficulty"]):
            raise InvalidBlock("the proof of work does not meet the block's difficulty")

    def check_header(
        self, block: dict, parent_hash: str, ancestors: Sequence[dict], now_ms: int
    ) -> int:
        parent = ancestors[-1]
        if block["previous_hash"] != parent_hash:
            raise InvalidBlock("previous_hash is not the parent's hash")
        height = parent["index"] + 1
        if block["index"] != height:
            raise InvalidBlock(f"block index must be {height}")
        expected = next_bits(self.params, height, ancestors)
        if block["difficulty"] != expected:
            raise InvalidBlock(f"block difficulty must be {expected} bits")
        if block["timestamp"] <= median_time(ancestors):
            raise InvalidBlock("block timestamp is not after the median of the last 11 blocks")
        if block["timestamp"] > now_ms + MAX_FUTURE_MS:
            raise InvalidBlock("block timestamp is more than 2 hours in the future")
        return blocks.work_of(block["difficulty"])

    def connect(self, state: ChainState, block: dict, height: int, block_hash: str) -> Undo:
        writer = StateWriter(state)
        try:
            self._apply(writer, block, height)
        except InvalidBlock:
            revert(state, writer.undo)
            raise
        writer.move_tip(height, block_hash)
        return writer.undo

    def _apply(self, writer: StateWriter, block: dict, height: int) -> None:
        state = writer.state
        coinbase, *paid = block["transactions"]
        fees = 0
        for tx in paid:
            problem = _unaffordable(state, tx, state.nonce(tx["sender"]) + 1, height)
            if problem:
                raise InvalidBlock(f"transaction {tx['id']}: {problem}")
            _transfer(writer, tx)
            fees += tx["fee"]
        if coinbase["asset"] != DTC or coinbase["nonce"] != height:
            raise InvalidBlock("the coinbase pays DTC and has the block height as nonce")
        if coinbase["amount"] != subsidy(height) + fees:
            raise InvalidBlock("the coinbase must pay exactly the subsidy plus the fees")
        writer.add(coinbase["recipient"], DTC, coinbase["amount"])
        writer.add_coinbase(coinbase["recipient"], height, coinbase["amount"])

    def connect_genesis(self, state: ChainState, block: dict, block_hash: str) -> Undo:
        """The genesis mint (DUSD to the treasury) is the one coinbase not in DTC."""
        writer = StateWriter(state)
        for mint in block["transactions"]:
            writer.add(mint["recipient"], mint["asset"], mint["amount"])
        writer.move_tip(0, block_hash)
        return writer.undo

    def check_alone(self, tx: object) -> None:
        self.signatures.check(tx, transactions.check_structure(tx))

    def admit(self, state: ChainState, tx: object, pending: Sequence[dict]) -> dict:
        message = transactions.check_structure(tx)
        self.signatures.check(tx, message)
        next_nonce = state.nonce(tx["sender"]) + 1 + len(pending)
        if tx["nonce"] <= state.nonce(tx["sender"]):
            raise DoubleSpend(f"nonce {tx['nonce']} is already used; the next is {next_nonce}")
        if tx["nonce"] < next_nonce:
            raise DoubleSpend(
                f"the sender already has a pending transaction with nonce {tx['nonce']}"
            )
        if tx["nonce"] != next_nonce:
            raise InvalidTransaction(f"nonce must be {next_nonce}, the sender's next one")
        scratch = StateWriter(state)
        try:
            for earlier in pending:
                _transfer(scratch, earlier)
            problem = _unaffordable(state, tx, next_nonce, state.height + 1)
        finally:
            revert(state, scratch.undo)
        if problem:
            raise InsufficientChainFunds(problem)
        return tx

    def template(self, state, parent, parent_hash, ancestors, pool, miner, now_ms) -> dict:
        height = parent["index"] + 1
        chosen = _choose(state, pool, height, self.params.max_block_txs - 1)
        fees = sum(tx["fee"] for tx in chosen)
        timestamp = max(now_ms, median_time(ancestors) + 1)
        coinbase = transactions.build_coinbase(miner, subsidy(height) + fees, height, timestamp)
        txs = [coinbase, *chosen]
        block = {
            "index": height,
            "timestamp": timestamp,
            "transactions": txs,
            "proof": 0,
            "previous_hash": parent_hash,
            "tx_root": blocks.merkle_root([tx["id"] for tx in txs]),
            "difficulty": next_bits(self.params, height, ancestors),
        }
        return {"height": height, "previous_hash": parent_hash, "block": block}

    def solve(self, template: dict, stop: Callable[[], bool] | None = None) -> dict | None:
        return blocks.solve_header(template["block"], stop)


class InsufficientChainFunds(InvalidTransaction):
    code = "insufficient_funds"


class DoubleSpend(InvalidTransaction):
    """A nonce already used on chain or already pending: a replay or a double spend."""

    status_code = 409
    code = "double_spend"


def _unaffordable(state: ChainState, tx: dict, expected_nonce: int, height: int) -> str | None:
    """Why ``tx`` cannot be applied next to ``state`` in a block at ``height``, or None."""
    if tx["nonce"] != expected_nonce:
        return f"nonce must be {expected_nonce}"
    sender = tx["sender"]
    dtc_needed = tx["fee"] + (tx["amount"] if tx["asset"] == DTC else 0)
    if state.spendable(sender, DTC, height) < dtc_needed:
        return "the sender cannot pay the amount and fee in spendable DTC"
    if tx["asset"] != DTC and state.balance(sender, tx["asset"]) < tx["amount"]:
        return f"the sender holds less than the amount of {tx['asset']}"
    return None


def _transfer(writer: StateWriter, tx: dict) -> None:
    writer.add(tx["sender"], DTC, -tx["fee"])
    writer.add(tx["sender"], tx["asset"], -tx["amount"])
    writer.add(tx["recipient"], tx["asset"], tx["amount"])
    writer.set_nonce(tx["sender"], tx["nonce"])


def _choose(state: ChainState, pool: Sequence[dict], height: int, limit: int) -> list[dict]:
    """Pool transactions for the next block: highest fee first, each sender's in nonce
    order, skipping whatever the state (with the ones chosen before) cannot apply."""
    queues: dict[str, list[dict]] = {}
    for tx in sorted(pool, key=lambda t: (t["sender"], t["nonce"])):
        queues.setdefault(tx["sender"], []).append(tx)
    heap = [(-queue[0]["fee"], sender, 0) for sender, queue in queues.items()]
    heapq.heapify(heap)
    chosen: list[dict] = []
    scratch = StateWriter(state)
    try:
        while heap and len(chosen) < limit:
            _, sender, position = heapq.heappop(heap)
            tx = queues[sender][position]
            if _unaffordable(state, tx, state.nonce(sender) + 1, height):
                continue  # this sender's later transactions cannot follow either
            _transfer(scratch, tx)
            chosen.append(tx)
            if position + 1 < len(queues[sender]):
                heapq.heappush(heap, (-queues[sender][position + 1]["fee"], sender, position + 1))
    finally:
        revert(state, scratch.undo)
    return chosen


# -------------------------------------------------------------------------- dvf


class DvfRules(ChainRules):
    """dvf/blockchain's rules exactly: unsigned transactions, the 4-hex-zero proof over
    ``last_proof, proof, last_hash``, the longest chain (each block's work is 1)."""

    name = "dvf"
    foreign_roots = True

    def __init__(self, node_id: str = "", clock_s: Callable[[], float] = time.time):
        self.node_id = node_id
        self.clock_s = clock_s

    def genesis(self) -> dict:
        return {
            "index": 1,
            "timestamp": self.clock_s(),
            "transactions": [],
            "proof": 100,
            "previous_hash": "1",
        }

    def block_hash(self, block: dict) -> str:
        return blocks.dvf_hash(block)

    def check_body(self, block: object) -> None:
        # dvf checks nothing else; our node also needs the two keys its checks read.
        if not isinstance(block, dict) or "previous_hash" not in block or "proof" not in block:
            raise InvalidBlock("a block is an object with previous_hash and proof")
        try:
            json.dumps(block, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise InvalidBlock(f"a block must be plain JSON: {exc}") from None

    def check_header(
        self, block: dict, parent_hash: str, ancestors: Sequence[dict], now_ms: int
    ) -> int:
        if block["previous_hash"] != parent_hash:
            raise InvalidBlock("previous_hash is not the hash of the previous block")
        if not blocks.dvf_valid_proof(ancestors[-1].get("proof"), block["proof"], parent_hash):
            raise InvalidBlock("the proof does not give four leading zeros")
        return 1

    def check_alone(self, tx: object) -> None:
        self.admit(ChainState(), tx, [])

    def admit(self, state: ChainState, tx: object, pending: Sequence[dict]) -> dict:
        if not isinstance(tx, dict) or not {"sender", "recipient", "amount"} <= tx.keys():
            raise InvalidInput("Missing values")
        return {"sender": tx["sender"], "recipient": tx["recipient"], "amount": tx["amount"]}

    def pool_key(self, tx: dict) -> str:
        return json.dumps(tx, sort_keys=True)

    def template(self, state, parent, parent_hash, ancestors, pool, miner, now_ms) -> dict:
        reward = {"sender": COINBASE_SENDER, "recipient": miner or self.node_id, "amount": 1}
        block = {
            "index": state.height + 2,  # dvf: len(chain) + 1
            "timestamp": None,
            "transactions": [*pool, reward],
            "proof": None,
            "previous_hash": parent_hash,
        }
        return {
            "height": state.height + 1,
            "previous_hash": parent_hash,
            "last_proof": parent.get("proof"),
            "block": block,
        }

    def solve(self, template: dict, stop: Callable[[], bool] | None = None) -> dict | None:
        proof = blocks.dvf_proof_of_work(template["last_proof"], template["previous_hash"], stop)
        if proof is None:
            return None
        return {**template["block"], "proof": proof, "timestamp": self.clock_s()}


def make_rules(name: str, params: ChainParams, node_id: str = "") -> ChainRules:
    """The rule set called ``name`` (CHAIN_RULES): ``platform`` or ``dvf``."""
    if name == "platform":
        return PlatformRules(params)
    if name == "dvf":
        return DvfRules(node_id)
    raise ValueError(f"CHAIN_RULES must be platform or dvf, not {name!r}")
