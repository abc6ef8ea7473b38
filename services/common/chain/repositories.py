"""Storage of one chain-node: MongoDB collections (one database per node) and the Redis
index of its mempool.

FerretDB (the local MongoDB-wire server) answers a query by ``_id`` from its index and
every other query by reading the whole collection, so every hot path here reads by
``_id`` only; whole-collection reads happen once, when a process starts.

MongoDB:
- ``blocks``: every stored block, ``{_id: hash, height, prev, work, raw, root,
  invalid}``; ``raw`` is the block's JSON text exactly as received or mined (dvf hashes
  floats by repr, so a block is served byte for byte as it was hashed) and ``work`` the
  cumulative work as 64 hex digits (beyond int64). The main chain is the chain of
  ``prev`` links that ends at ``meta.tip``.
- ``txs``: where each transaction of the main chain is, by id (rows of abandoned blocks
  may stay; readers check the block is on the main chain).
- ``mempool``: the durable copy of the mempool, ``{_id: tx id, sender, nonce, fee,
  raw}``, unique by (sender, nonce): the guard that one nonce is pending once. Rows of
  transactions that got mined are removed lazily (``prune``).
- ``peers``: ``{_id: url, failures, retry_at, last_error}``.
- ``meta``: ``tip`` (the commit point of every chain switch) and ``identity``.

Redis (``PoolIndex``): the live mempool, rebuilt from ``mempool`` when Redis lost it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence

import pymongo
import redis
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError


def encode_work(work: int) -> str:
    return f"{work:064x}"


def decode_work(text: str) -> int:
    return int(text, 16)


def dumps(value: object) -> str:
    """Compact JSON text of a block or transaction as stored."""
    return json.dumps(value, separators=(",", ":"))


def _insert_ignoring_duplicates(collection, docs: Sequence[dict]) -> set[int]:
    """Insert ``docs``; return the positions that were duplicates (already stored)."""
    if not docs:
        return set()
    try:
        collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", ())
        if any(err.get("code") != 11000 for err in errors):
            raise
        return {err["index"] for err in errors}
    return set()


class BlockRepository:
    def __init__(self, db: Database):
        self.blocks = db["blocks"]
        self.txs = db["txs"]

    def get(self, block_hash: str) -> dict | None:
        return self.blocks.find_one({"_id": block_hash})

    def all(self) -> Iterable[dict]:
        """Every stored block (a whole-collection read: at process start only)."""
        return self.blocks.find({})

    def add_many(self, docs: Sequence[dict]) -> None:
        """Store blocks; one already stored (same hash) is left as it was."""
        _insert_ignoring_duplicates(self.blocks, docs)

    def mark_invalid(self, block_hash: str) -> None:
        self.blocks.update_one({"_id": block_hash}, {"$set": {"invalid": True}})

    def index_transactions(self, rows: Sequence[dict]) -> None:
        """Record where transactions are; a row left by an abandoned block is replaced."""
        duplicates = _insert_ignoring_duplicates(self.txs, rows)
        if duplicates:
            self.txs.bulk_write(
                [pymongo.ReplaceOne({"_id": rows[i]["_id"]}, rows[i]) for i in duplicates],
                ordered=False,
            )

    def find_transaction(self, tx_id: str) -> dict | None:
        return self.txs.find_one({"_id": tx_id})

    def reset(self) -> None:
        self.blocks.delete_many({})
        self.txs.delete_many({})


class _Waiter:
    def __init__(self, row: dict):
        self.row = row
        self.error: Exception | None = None
        self.done = threading.Event()


class GroupInsert:
    """Inserts one row per calling thread, many threads' rows in one ``insert_many``.

    The first thread to arrive inserts everything queued until the queue is empty; the
    others wait for their row's outcome. Alone, a row is inserted at once; under load,
    one database round trip carries hundreds (FerretDB takes ~20 ms for 500 rows and
    a few ms for one).
    """

    def __init__(self, collection):
        self._collection = collection
        self._lock = threading.Lock()
        self._queue: list[_Waiter] = []
        self._busy = False

    def insert(self, row: dict) -> None:
        """Raises DuplicateKeyError when a unique index already has the row's key."""
        waiter = _Waiter(row)
        with self._lock:
            self._queue.append(waiter)
            leader = not self._busy
            self._busy = True
        if leader:
            self._flush()
        else:
            waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def _flush(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._busy = False
                    return
            try:
                duplicates = _insert_ignoring_duplicates(self._collection, [w.row for w in batch])
                for position, waiter in enumerate(batch):
                    if position in duplicates:
                        waiter.error = DuplicateKeyError("duplicate key", 11000)
            except Exception as exc:  # every waiter of the batch gets the failure
                for waiter in batch:
                    waiter.error = exc
            finally:
                for waiter in batch:
                    waiter.done.set()


class MempoolRepository:
    """The mempool's durable copy in MongoDB."""

    def __init__(self, db: Database):
        self.pool = db["mempool"]
        self._group = GroupInsert(self.pool)

    def ensure_indexes(self) -> None:
        self.pool.create_index([("sender", 1), ("nonce", 1)], unique=True)

    def add(self, row: dict) -> None:
        """Raises DuplicateKeyError when the id, or the sender's nonce, is in already
        (inserted together with other threads' rows)."""
        self._group.insert(row)

    def add_many(self, rows: Sequence[dict]) -> set[str]:
        """Insert rows whose id and (sender, nonce) are new; return the ids inserted."""
        duplicates = _insert_ignoring_duplicates(self.pool, rows)
        return {row["_id"] for i, row in enumerate(rows) if i not in duplicates}

    def get(self, tx_id: str) -> dict | None:
        return self.pool.find_one({"_id": tx_id})

    def all(self) -> list[dict]:
        """Every row (a whole-collection read: rebuilding the index, pruning)."""
        return list(self.pool.find({}))

    def remove(self, tx_ids: Sequence[str]) -> None:
        if tx_ids:
            self.pool.bulk_write([pymongo.DeleteOne({"_id": i}) for i in tx_ids], ordered=False)

    def reset(self) -> None:
        self.pool.delete_many({})


class PoolIndex:
    """The live mempool in Redis: ``<p>:txs`` (id -> JSON), ``<p>:by:<sender>`` (ids by
    nonce), ``<p>:senders``, and ``<p>:ready`` once built from the durable copy."""

    def __init__(self, client: redis.Redis, node: str):
        self.redis = client
        self.prefix = f"chain:{node}:pool"

    def ready(self) -> bool:
        return bool(self.redis.exists(f"{self.prefix}:ready"))

    def add(self, rows: Sequence[dict], then: Sequence[tuple] = ()) -> None:
        """Index rows; ``then``: more (command, *args) to send in the same round trip."""
        if not rows and not then:
            return
        pipe = self.redis.pipeline(transaction=False)
        if rows:
            pipe.hset(f"{self.prefix}:txs", mapping={row["_id"]: row["raw"] for row in rows})
        for row in rows:
            pipe.zadd(f"{self.prefix}:by:{row['sender']}", {row["_id"]: row["nonce"]})
            pipe.sadd(f"{self.prefix}:senders", row["sender"])
        for command, *args in then:
            getattr(pipe, command)(*args)
        pipe.execute()

    def mark_ready(self) -> None:
        self.redis.set(f"{self.prefix}:ready", "1")

    def remove(self, rows: Sequence[tuple[str, str | None]]) -> None:
        """Drop (id, sender) pairs (sender None: the id only)."""
        if not rows:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(f"{self.prefix}:txs", *[tx_id for tx_id, _ in rows])
        for tx_id, sender in rows:
            if sender is not None:
                pipe.zrem(f"{self.prefix}:by:{sender}", tx_id)
        pipe.execute()

    def look(self, sender: str, above_nonce: int) -> Mapping:
        """In one round trip: ready, the count, the sender's pending ids (nonce order)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(f"{self.prefix}:ready")
        pipe.hlen(f"{self.prefix}:txs")
        pipe.zrangebyscore(f"{self.prefix}:by:{sender}", above_nonce + 1, "+inf")
        ready, count, ids = pipe.execute()
        return {"ready": bool(ready), "count": count, "ids": [i.decode() for i in ids]}

    def pending_ids(self, sender: str, above_nonce: int = 0) -> list[str]:
        """The sender's pending ids in nonce order, nonces above ``above_nonce``."""
        ids = self.redis.zrangebyscore(f"{self.prefix}:by:{sender}", above_nonce + 1, "+inf")
        return [i.decode() for i in ids]

    def stale_ids(self, sender: str, up_to_nonce: int) -> list[str]:
        ids = self.redis.zrangebyscore(f"{self.prefix}:by:{sender}", 0, up_to_nonce)
        return [i.decode() for i in ids]

    def get_many(self, tx_ids: Sequence[str]) -> list[dict]:
        if not tx_ids:
            return []
        raws = self.redis.hmget(f"{self.prefix}:txs", list(tx_ids))
        return [json.loads(raw) for raw in raws if raw is not None]

    def get(self, tx_id: str) -> dict | None:
        raw = self.redis.hget(f"{self.prefix}:txs", tx_id)
        return json.loads(raw) if raw else None

    def known(self, tx_ids: Sequence[object]) -> set[str]:
        """The ids among ``tx_ids`` that are pending here (one round trip)."""
        ids = [i for i in tx_ids if isinstance(i, str)]
        if not ids:
            return set()
        found = self.redis.hmget(f"{self.prefix}:txs", ids)
        return {i for i, raw in zip(ids, found, strict=True) if raw is not None}

    def contains(self, tx_id: str) -> bool:
        return bool(self.redis.hexists(f"{self.prefix}:txs", tx_id))

    def all(self, limit: int | None = None) -> list[dict]:
        if limit is None:
            raws = self.redis.hvals(f"{self.prefix}:txs")
        else:
            raws = [raw for _, raw in self.redis.hscan_iter(f"{self.prefix}:txs", count=1000)]
            raws = raws[:limit]
        return [json.loads(raw) for raw in raws]

    def count(self) -> int:
        return self.redis.hlen(f"{self.prefix}:txs")

    def reset(self) -> None:
        senders = [s.decode() for s in self.redis.smembers(f"{self.prefix}:senders")]
        keys = [f"{self.prefix}:by:{s}" for s in senders]
        self.redis.delete(
            f"{self.prefix}:txs", f"{self.prefix}:senders", f"{self.prefix}:ready", *keys
        )


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
        self.peers.update_one({"_id": url}, {"$set": {"failures": 0, "retry_at": 0}})


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

    def identity(self, make) -> dict:
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
