"""MongoDB collections of one chain-node (one database per node).

- ``blocks``: every stored block, main chain or not: ``{_id: hash, height, prev, work,
  raw, root, invalid}``; ``raw`` is the block's JSON text exactly as received or mined,
  so a block is served byte for byte as it was hashed (dvf hashes floats by repr), and
  ``work`` is the cumulative work as 64 hex digits (sortable, beyond int64).
- ``main``: the best chain, ``{_id: height, hash}``.
- ``txs``: the main chain's transactions by id (platform), for the explorer.
- ``mempool``: ``{_id: key, sender, nonce, fee, seq, raw}``, unique by (sender, nonce).
- ``peers``: ``{_id: url, failures, retry_at, last_error}``.
- ``meta``: ``tip`` (the commit point of every chain switch) and ``identity``.

Unique ``_id``s make every insert happen once. FerretDB has no transactions, so the
node changes these under its per-node lock and repairs a half-done switch on start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import pymongo
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError


def encode_work(work: int) -> str:
    return f"{work:064x}"


def decode_work(text: str) -> int:
    return int(text, 16)


def dumps(value: object) -> str:
    """Compact JSON text of a block or transaction as stored."""
    return json.dumps(value, separators=(",", ":"))


class BlockRepository:
    def __init__(self, db: Database):
        self.blocks = db["blocks"]
        self.main = db["main"]
        self.txs = db["txs"]

    def ensure_indexes(self) -> None:
        self.blocks.create_index("prev")
        self.txs.create_index("sender")
        self.txs.create_index("recipient")

    # blocks
    def get(self, block_hash: str) -> dict | None:
        return self.blocks.find_one({"_id": block_hash})

    def get_many(self, hashes: Sequence[str]) -> dict[str, dict]:
        found = self.blocks.find({"_id": {"$in": list(hashes)}})
        return {doc["_id"]: doc for doc in found}

    def add_many(self, docs: Sequence[dict]) -> None:
        """Store blocks; one already stored (same hash) is left as it was."""
        if not docs:
            return
        try:
            self.blocks.insert_many(list(docs), ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", ())):
                raise

    def mark_invalid(self, block_hash: str) -> None:
        self.blocks.update_one({"_id": block_hash}, {"$set": {"invalid": True}})

    def children_of(self, block_hash: str) -> list[dict]:
        return list(self.blocks.find({"prev": block_hash}))

    # main chain
    def main_hashes(self, from_height: int = 0, to_height: int | None = None) -> list[tuple]:
        query: dict = {"$gte": from_height}
        if to_height is not None:
            query["$lte"] = to_height
        rows = self.main.find({"_id": query}).sort("_id", pymongo.ASCENDING)
        return [(row["_id"], row["hash"]) for row in rows]

    def main_hash(self, height: int) -> str | None:
        row = self.main.find_one({"_id": height})
        return row["hash"] if row else None

    def set_main(self, entries: Iterable[tuple[int, str]], above: int) -> None:
        """Make ``entries`` (height, hash) the main chain and drop every height > ``above``."""
        operations = [
            pymongo.ReplaceOne({"_id": height}, {"_id": height, "hash": block_hash}, upsert=True)
            for height, block_hash in entries
        ]
        if operations:
            self.main.bulk_write(operations, ordered=False)
        self.main.delete_many({"_id": {"$gt": above}})

    # transaction index
    def index_transactions(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        self.txs.delete_many({"_id": {"$in": [row["_id"] for row in rows]}})
        self.txs.insert_many(list(rows), ordered=False)

    def unindex_transactions(self, tx_ids: Sequence[str]) -> None:
        if tx_ids:
            self.txs.delete_many({"_id": {"$in": list(tx_ids)}})

    def find_transaction(self, tx_id: str) -> dict | None:
        return self.txs.find_one({"_id": tx_id})

    def transactions_of(self, address: str, limit: int) -> list[dict]:
        rows = (
            self.txs.find({"$or": [{"sender": address}, {"recipient": address}]})
            .sort("height", pymongo.DESCENDING)
            .limit(limit)
        )
        return list(rows)

    def reset(self) -> None:
        for collection in (self.blocks, self.main, self.txs):
            collection.delete_many({})


class MempoolRepository:
    def __init__(self, db: Database):
        self.pool = db["mempool"]

    def ensure_indexes(self) -> None:
        self.pool.create_index([("sender", 1), ("nonce", 1)], unique=True)

    def add(self, key: str, tx: dict, sender: str, nonce: int, fee: int, seq: int) -> None:
        """Raises DuplicateKeyError when the key, or the sender's nonce, is already in."""
        self.pool.insert_one(
            {"_id": key, "sender": sender, "nonce": nonce, "fee": fee, "seq": seq, "raw": dumps(tx)}
        )

    def add_many(self, rows: Sequence[dict]) -> set[str]:
        """Insert many (a batch, a reorg's returns); rows whose key or sender's nonce is
        already there are skipped. Returns the keys inserted."""
        if not rows:
            return set()
        keys = [row["_id"] for row in rows]
        try:
            self.pool.insert_many(list(rows), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", ())
            if any(err.get("code") != 11000 for err in errors):
                raise
            failed = {err["index"] for err in errors}
            return {key for index, key in enumerate(keys) if index not in failed}
        return set(keys)

    def pending_of(self, sender: str) -> list[dict]:
        rows = self.pool.find({"sender": sender}).sort("nonce", pymongo.ASCENDING)
        return [json.loads(row["raw"]) for row in rows]

    def all(self, limit: int) -> list[dict]:
        rows = self.pool.find({}).sort("seq", pymongo.ASCENDING).limit(limit)
        return [json.loads(row["raw"]) for row in rows]

    def contains(self, key: str) -> bool:
        return self.pool.find_one({"_id": key}, {"_id": 1}) is not None

    def remove(self, keys: Sequence[str]) -> None:
        if keys:
            self.pool.delete_many({"_id": {"$in": list(keys)}})

    def count(self) -> int:
        return self.pool.count_documents({})

    def reset(self) -> None:
        self.pool.delete_many({})


class PeerRepository:
    def __init__(self, db: Database):
        self.peers = db["peers"]

    def add(self, urls: Iterable[str]) -> None:
        for url in urls:
            try:
                self.peers.insert_one({"_id": url, "failures": 0, "retry_at": 0, "last_error": ""})
            except DuplicateKeyError:
                pass  # known already (perhaps added by another process just now)

    def all(self) -> list[dict]:
        return list(self.peers.find({}).sort("_id", pymongo.ASCENDING))

    def record_failure(self, url: str, failures: int, retry_at: int, error: str) -> None:
        self.peers.update_one(
            {"_id": url},
            {"$set": {"failures": failures, "retry_at": retry_at, "last_error": error[:300]}},
        )

    def record_success(self, url: str) -> None:
        self.peers.update_one(
            {"_id": url, "failures": {"$ne": 0}},
            {"$set": {"failures": 0, "retry_at": 0, "last_error": ""}},
        )


class MetaRepository:
    def __init__(self, db: Database):
        self.meta = db["meta"]

    def tip(self) -> dict | None:
        return self.meta.find_one({"_id": "tip"})

    def set_tip(self, height: int, block_hash: str, work: int) -> None:
        self.meta.replace_one(
            {"_id": "tip"},
            {"_id": "tip", "height": height, "hash": block_hash, "work": encode_work(work)},
            upsert=True,
        )

    def identity(self, make: callable) -> dict:
        """This node's identity, created once (the first writer wins)."""
        found = self.meta.find_one({"_id": "identity"})
        if found:
            return found
        try:
            self.meta.insert_one({"_id": "identity", **make()})
        except DuplicateKeyError:
            pass
        return self.meta.find_one({"_id": "identity"})

    def reset_tip(self) -> None:
        self.meta.delete_one({"_id": "tip"})
