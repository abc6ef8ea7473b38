"""An in-memory chain-node with the ChainNodeClient's methods, for the pool engine's
tests that need a chain whose every block and transaction they can inspect.

It keeps the platform rules the engine depends on: a block's proof must meet its
difficulty, the coinbase pays the subsidy to the miner and matures after 10 blocks,
a transaction must be signed by its sender (the shared ``transactions`` checks), use the
sender's next nonce and be covered by the sender's spendable balance, and a duplicate
is refused. Mempool transactions go into the next block.
"""

from __future__ import annotations

from services.common.chain import blocks, transactions
from services.common.chain.client import ChainNodeError
from services.common.domain.mining import subsidy

MATURITY = 10
NODE_ADDRESS = "f" * 40


class ChainDouble:
    def __init__(self, difficulty: int = 8, funds: dict[str, int] | None = None):
        self.difficulty = difficulty
        genesis = {"index": 0, "hash": "0" * 64, "transactions": [], "miner": None}
        self.blocks: list[dict] = [genesis]
        self.funds = dict(funds or {})  # spendable from genesis
        self.mempool: list[dict] = []
        self.confirmed: dict[str, int] = {}  # txid -> height
        self.submitted_txids: list[str] = []
        self.refusals = 0
        self.fail_submissions = 0  # the next n transaction submissions fail (no answer)

    # ------------------------------------------------------------------ the rules

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    def spendable(self, address: str) -> int:
        total = self.funds.get(address, 0)
        for block in self.blocks[1:]:
            for position, tx in enumerate(block["transactions"]):
                if position == 0:  # the coinbase
                    mature = self.height >= block["index"] + MATURITY
                    total += tx["amount"] if tx["recipient"] == address and mature else 0
                    continue
                total += tx["amount"] if tx["recipient"] == address else 0
                total -= tx["amount"] + tx["fee"] if tx["sender"] == address else 0
        for tx in self.mempool:
            total -= tx["amount"] + tx["fee"] if tx["sender"] == address else 0
        return total

    def received(self, address: str) -> int:
        """Everything confirmed to ``address`` by transactions (not coinbases)."""
        return sum(
            tx["amount"]
            for block in self.blocks[1:]
            for tx in block["transactions"][1:]
            if tx["recipient"] == address
        )

    def _nonce(self, address: str, pending: bool) -> int:
        txs = [tx for block in self.blocks for tx in block["transactions"][1:]]
        txs += self.mempool if pending else []
        return sum(1 for tx in txs if tx["sender"] == address)

    def _append(self, miner: str, proof_block: dict | None = None) -> dict:
        height = self.height + 1
        coinbase = transactions.build_coinbase(miner, subsidy(height), height, height)
        block = proof_block or {"index": height, "transactions": [coinbase, *self.mempool]}
        block = {
            **block,
            "hash": blocks.header_hash(block) if proof_block else f"{height:064x}",
        }
        block["miner"] = miner
        for tx in block["transactions"][1:]:
            self.confirmed[tx["id"]] = height
        self.blocks.append(block)
        self.mempool = []
        return block

    # ------------------------------------------------------ ChainNodeClient's API

    def inv(self) -> dict:
        return {"height": self.height, "hash": self.blocks[-1]["hash"], "work": self.height}

    def mining_template(self, miner: str | None = None) -> dict:
        height = self.height + 1
        coinbase = transactions.build_coinbase(miner, subsidy(height), height, height)
        txs = [coinbase, *self.mempool]
        block = {
            "index": height,
            "timestamp": 1_700_000_000_000 + height,
            "transactions": txs,
            "proof": 0,
            "previous_hash": self.blocks[-1]["hash"],
            "tx_root": blocks.merkle_root([tx["id"] for tx in txs]),
            "difficulty": self.difficulty,
        }
        return {"height": height, "previous_hash": block["previous_hash"], "block": block}

    def submit_block(self, block: dict) -> dict:
        if block["index"] != self.height + 1 or block["previous_hash"] != self.blocks[-1]["hash"]:
            raise ChainNodeError("stale block", 409, {"error": "stale"})
        if not blocks.meets_difficulty(blocks.header_hash(block), block["difficulty"]):
            raise ChainNodeError("proof does not meet the difficulty", 400, {})
        return self._append(block["transactions"][0]["recipient"], block)

    def mine(self, miner: str | None = None) -> dict:
        return self._append(miner or NODE_ADDRESS)

    def get_block(self, height_or_hash) -> dict:
        for block in self.blocks:
            if height_or_hash in (block["index"], block["hash"]):
                return block
        raise ChainNodeError("no such block", 404, {})

    def get_address(self, address: str) -> dict:
        return {"address": address, "nonce": self._nonce(address, pending=False)}

    def submit_transaction(self, tx: dict) -> dict:
        if self.fail_submissions:
            self.fail_submissions -= 1
            raise ChainNodeError("chain-node unreachable")
        if tx["id"] in self.confirmed or any(tx["id"] == t["id"] for t in self.mempool):
            raise ChainNodeError("duplicate", 409, {"error": {"message": "duplicate"}})
        transactions.check_transaction(tx)
        if tx["nonce"] != self._nonce(tx["sender"], pending=True) + 1:
            self.refusals += 1
            raise ChainNodeError("bad nonce", 400, {"error": {"message": "bad nonce"}})
        if self.spendable(tx["sender"]) < tx["amount"] + tx["fee"]:
            self.refusals += 1
            raise ChainNodeError("insufficient", 400, {"error": {"message": "insufficient"}})
        self.mempool.append(tx)
        self.submitted_txids.append(tx["id"])
        return {"id": tx["id"]}

    def get_transaction(self, tx_id: str) -> dict:
        if tx_id in self.confirmed:
            return {"id": tx_id, "confirmations": self.height - self.confirmed[tx_id] + 1}
        if any(tx["id"] == tx_id for tx in self.mempool):
            return {"id": tx_id, "confirmations": 0}
        raise ChainNodeError("no such transaction", 404, {})

    def close(self) -> None:
        pass
