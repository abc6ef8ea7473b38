"""Adapters over MongoDB for the wallet: deposits, withdrawals, the platform's own
transactions, sweeps, the block analyser's position and alerts.

FerretDB has no transactions and its updates are read-then-write, so every "only once"
here rests on a unique index (an insert happens once) and every state change is made
under a Redis lock by its caller, with the old state in the filter as the guard that
is atomic on MongoDB. Documents never leave this module: callers get plain dicts
without Mongo types.
"""

from __future__ import annotations

import uuid

import pymongo
from bson.int64 import Int64
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .domain import custody


def _plain(doc: dict | None) -> dict | None:
    """A stored document as a plain dict: ``id`` for ``_id``, and BSON's 64-bit integers
    (amounts above 2^31 units come back as ``Int64``) as plain ints."""
    if doc is None:
        return None
    doc = {k: int(v) if isinstance(v, Int64) else v for k, v in doc.items()}
    doc["id"] = doc.pop("_id")
    return doc


class StateChanged(RuntimeError):
    """The document was not in the state its change expected (someone got there first)."""


class DepositRepository:
    """Deposits (``wallet_deposits``), one per (txid, address, asset): the ``_id``."""

    def __init__(self, db: Database):
        self._deposits = db["wallet_deposits"]

    def ensure_indexes(self) -> None:
        self._deposits.create_index([("user", pymongo.ASCENDING), ("seen_ms", pymongo.DESCENDING)])
        self._deposits.create_index([("state", pymongo.ASCENDING), ("height", pymongo.ASCENDING)])
        self._deposits.create_index([("address", pymongo.ASCENDING), ("asset", pymongo.ASCENDING)])

    def record(self, deposit: dict) -> bool:
        """Store a deposit seen in a block; True if it is new.

        Seen again (a block replayed, a restart, a replayed event) it stays as it is,
        unless it was still ``submitted`` and now sits in another block (a reorg moved
        it): then its block is updated, so its confirmations count from there.
        """
        doc = {**deposit, "_id": deposit["id"]}
        del doc["id"]
        try:
            self._deposits.insert_one(doc)
            return True
        except DuplicateKeyError:
            self._deposits.update_one(
                {"_id": doc["_id"], "state": custody.SUBMITTED},
                {"$set": {"height": doc["height"], "block_hash": doc["block_hash"]}},
            )
            return False

    def record_many(self, deposits: list[dict]) -> list[dict]:
        """``record`` for a block's deposits in one insert; returns those that are new."""
        if not deposits:
            return []
        docs = [{**{k: v for k, v in d.items() if k != "id"}, "_id": d["id"]} for d in deposits]
        duplicates: set[str] = set()
        try:
            self._deposits.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            duplicates = {docs[err["index"]]["_id"] for err in errors}
        for deposit in deposits:
            if deposit["id"] in duplicates:
                self.record(deposit)  # seen before: only its block may move
        return [d for d in deposits if d["id"] not in duplicates]

    def get(self, deposit_id: str) -> dict | None:
        return _plain(self._deposits.find_one({"_id": deposit_id}))

    def get_many(self, deposit_ids: list[str]) -> list[dict]:
        return [_plain(d) for d in self._deposits.find({"_id": {"$in": deposit_ids}})]

    def move(self, deposit_id: str, old: str, new: str, now_ms: int, **fields) -> None:
        """Move a deposit from ``old`` to ``new`` (a legal edge); StateChanged if it was
        not in ``old``. Callers hold the deposit's lock."""
        custody.check_transition(custody.DEPOSIT_TRANSITIONS, old, new)
        result = self._deposits.update_one(
            {"_id": deposit_id, "state": old},
            {"$set": {"state": new, "updated_ms": now_ms, **fields}},
        )
        if result.matched_count != 1:
            raise StateChanged(f"deposit {deposit_id} is no longer {old}")

    def mark_crediting(self, ids: list[str]) -> None:
        """Mark ``submitted`` deposits as about to be credited: a later attempt that finds
        the mark knows an earlier one may have got as far as the credit."""
        self._deposits.update_many(
            {"_id": {"$in": ids}, "state": custody.SUBMITTED}, {"$set": {"crediting": True}}
        )

    def move_many(self, ids: list[str], old: str, new: str, now_ms: int, **fields) -> int:
        """``move`` for many deposits at once: those of ``ids`` still in ``old``; the count."""
        custody.check_transition(custody.DEPOSIT_TRANSITIONS, old, new)
        result = self._deposits.update_many(
            {"_id": {"$in": ids}, "state": old},
            {"$set": {"state": new, "updated_ms": now_ms, **fields}},
        )
        return result.modified_count

    def in_state(self, state: str, limit: int = 10_000) -> list[dict]:
        cursor = self._deposits.find({"state": state}).sort("height", 1).limit(limit)
        return [_plain(d) for d in cursor]

    def above(self, height: int) -> list[dict]:
        """Deposits in blocks above ``height`` (a reorg's abandoned blocks)."""
        return [_plain(d) for d in self._deposits.find({"height": {"$gt": height}})]

    def remove(self, deposit_id: str) -> None:
        """Forget a ``submitted`` deposit whose block a reorg dropped."""
        self._deposits.delete_one({"_id": deposit_id, "state": custody.SUBMITTED})

    def of_user(self, user: str, limit: int, before_ms: int | None = None) -> list[dict]:
        """``user``'s newest deposits, newest first."""
        query: dict = {"user": user}
        if before_ms is not None:
            query["seen_ms"] = {"$lt": before_ms}
        cursor = self._deposits.find(query).sort([("seen_ms", -1), ("_id", -1)]).limit(limit)
        return [_plain(d) for d in cursor]

    def at(self, address: str) -> list[dict]:
        """Every deposit to ``address``, whatever its asset and state (one query)."""
        return [_plain(d) for d in self._deposits.find({"address": address})]

    def at_address(self, address: str, asset: str, states: tuple[str, ...]) -> list[dict]:
        cursor = self._deposits.find(
            {"address": address, "asset": asset, "state": {"$in": list(states)}}
        )
        return [_plain(d) for d in cursor]

    def all(self) -> list[dict]:
        return [_plain(d) for d in self._deposits.find({})]

    def count(self, query: dict | None = None) -> int:
        return self._deposits.count_documents(query or {})


class WithdrawalRepository:
    """Withdrawals (``wallet_withdrawals``); unique per user and Idempotency-Key."""

    def __init__(self, db: Database):
        self._withdrawals = db["wallet_withdrawals"]

    def ensure_indexes(self) -> None:
        self._withdrawals.create_index("request", unique=True)
        self._withdrawals.create_index(
            [("user", pymongo.ASCENDING), ("created_ms", pymongo.DESCENDING)]
        )
        self._withdrawals.create_index("state")

    def add(self, withdrawal: dict, key: str | None) -> tuple[dict, bool]:
        """Store a new ``prepared`` withdrawal; (it, True), or (the one first stored with
        the same user and Idempotency-Key, False).

        ``request`` is unique: ``<user>:<key>``, or a fresh one without a key.
        """
        request = f"{withdrawal['user']}:{key}" if key else f"{withdrawal['user']}:-{uuid.uuid4()}"
        doc = {"_id": uuid.uuid4().hex, "request": request, **withdrawal}
        try:
            self._withdrawals.insert_one(doc)
            return _plain(doc), True
        except DuplicateKeyError:
            return _plain(self._withdrawals.find_one({"request": request})), False

    def get(self, withdrawal_id: str) -> dict | None:
        return _plain(self._withdrawals.find_one({"_id": withdrawal_id}))

    def move(self, withdrawal_id: str, old: str, new: str, now_ms: int, **fields) -> dict:
        """Move a withdrawal from ``old`` to ``new`` (a legal edge), returning it as it
        is now; StateChanged if it was not in ``old``. Callers hold its lock."""
        custody.check_transition(custody.WITHDRAWAL_TRANSITIONS, old, new)
        result = self._withdrawals.update_one(
            {"_id": withdrawal_id, "state": old},
            {"$set": {"state": new, "updated_ms": now_ms, **fields}},
        )
        if result.matched_count != 1:
            raise StateChanged(f"withdrawal {withdrawal_id} is no longer {old}")
        return self.get(withdrawal_id)

    def update(self, withdrawal_id: str, state: str, **fields) -> None:
        """Set ``fields`` on a withdrawal that is still in ``state``."""
        self._withdrawals.update_one({"_id": withdrawal_id, "state": state}, {"$set": fields})

    def delete_prepared(self, withdrawal_id: str) -> None:
        """Drop a withdrawal whose funds could not be locked (the request changed nothing)."""
        self._withdrawals.delete_one({"_id": withdrawal_id, "state": custody.PREPARED})

    def of_user(self, user: str, limit: int, before_ms: int | None = None) -> list[dict]:
        query: dict = {"user": user}
        if before_ms is not None:
            query["created_ms"] = {"$lt": before_ms}
        cursor = self._withdrawals.find(query).sort([("created_ms", -1), ("_id", -1)])
        return [_plain(d) for d in cursor.limit(limit)]

    def count_open(self, user: str) -> int:
        return self._withdrawals.count_documents(
            {"user": user, "state": {"$in": sorted(custody.OPEN_STATES)}}
        )

    def unreleased(self) -> list[dict]:
        """Failed, rejected or canceled withdrawals whose funds are not yet unlocked."""
        cursor = self._withdrawals.find(
            {"state": {"$in": sorted(custody.UNLOCKED_ENDS)}, "released": {"$ne": True}}
        )
        return [_plain(d) for d in cursor]

    def in_states(self, states: tuple[str, ...], limit: int = 1000) -> list[dict]:
        cursor = self._withdrawals.find({"state": {"$in": list(states)}}).sort("created_ms", 1)
        return [_plain(d) for d in cursor.limit(limit)]


class ChainTransactionRepository:
    """Every transaction the platform signs (``wallet_chain_txs``), stored before it is
    broadcast: ``_id`` is its txid and ``slot`` (``<sender>:<nonce>``) is unique, so no
    two different transactions of one sender can ever share a nonce, and a retry finds
    and re-broadcasts the same signed bytes instead of signing anew."""

    def __init__(self, db: Database):
        self._txs = db["wallet_chain_txs"]

    def ensure_indexes(self) -> None:
        self._txs.create_index("slot", unique=True)
        self._txs.create_index("ref")
        self._txs.create_index([("sender", pymongo.ASCENDING), ("nonce", pymongo.DESCENDING)])
        self._txs.create_index("height")
        self._txs.create_index("recipient")

    def add(self, tx: dict, purpose: str, ref: str, now_ms: int) -> dict:
        """Store a signed transaction before broadcasting it. DuplicateKeyError if its
        sender's nonce is taken (another transaction already has it)."""
        doc = {
            "_id": tx["id"],
            "slot": f"{tx['sender']}:{tx['nonce']}",
            "sender": tx["sender"],
            "recipient": tx["recipient"],
            "nonce": tx["nonce"],
            "asset": tx["asset"],
            "units": tx["amount"],
            "fee": tx["fee"],
            "purpose": purpose,
            "ref": ref,
            "tx": tx,
            "height": None,
            "block_hash": None,
            "created_ms": now_ms,
        }
        self._txs.insert_one(doc)
        return _plain(doc)

    def get(self, txid: str) -> dict | None:
        return _plain(self._txs.find_one({"_id": txid}))

    def for_ref(self, ref: str) -> list[dict]:
        """The transactions signed for one withdrawal, sweep or top-up, by nonce."""
        return [_plain(d) for d in self._txs.find({"ref": ref}).sort("nonce", 1)]

    def last_nonce(self, sender: str) -> int:
        """The highest nonce the platform has signed for ``sender`` (0 for none)."""
        doc = self._txs.find_one({"sender": sender}, sort=[("nonce", -1)])
        return doc["nonce"] if doc else 0

    def known(self, txids: list[str]) -> set[str]:
        if not txids:
            return set()
        return {d["_id"] for d in self._txs.find({"_id": {"$in": txids}}, {"_id": 1})}

    def mark_mined(self, txid: str, height: int, block_hash: str) -> None:
        self._txs.update_one({"_id": txid}, {"$set": {"height": height, "block_hash": block_hash}})

    def involving(self, address: str) -> list[dict]:
        """Every transaction the platform signed from or to ``address`` (one query)."""
        cursor = self._txs.find({"$or": [{"sender": address}, {"recipient": address}]})
        return [_plain(d) for d in cursor]

    def from_address(self, sender: str) -> list[dict]:
        """Every transaction signed from ``sender``."""
        return [_plain(d) for d in self._txs.find({"sender": sender})]

    def to_address(self, recipient: str) -> list[dict]:
        """Every transaction the platform signed to ``recipient`` (gas top-ups)."""
        return [_plain(d) for d in self._txs.find({"recipient": recipient})]

    def drop_refused(self, txids: list[str]) -> None:
        """Forget unmined transactions the node refused for good, freeing their nonces
        (only ever called after the node said it does not have them)."""
        if txids:
            self._txs.delete_many({"_id": {"$in": txids}, "height": None})

    def unmine_above(self, height: int) -> None:
        """A reorg abandoned the blocks above ``height``: their transactions are unmined."""
        self._txs.update_many(
            {"height": {"$gt": height}}, {"$set": {"height": None, "block_hash": None}}
        )

    def unmined(self, sender: str | None = None, recipient: str | None = None) -> list[dict]:
        """Transactions not (or no longer) in a block, from ``sender`` / to ``recipient``."""
        query: dict = {"height": None}
        if sender is not None:
            query["sender"] = sender
        if recipient is not None:
            query["recipient"] = recipient
        return [_plain(d) for d in self._txs.find(query)]

    def all(self) -> list[dict]:
        return [_plain(d) for d in self._txs.find({})]


class SweepRepository:
    """Sweeps of a deposit address (``wallet_sweeps``). At most one is open per address,
    whatever its asset (a token sweep's gas must not be swept away by a DTC sweep):
    ``open`` is unique (the address while open)."""

    def __init__(self, db: Database):
        self._sweeps = db["wallet_sweeps"]

    def ensure_indexes(self) -> None:
        self._sweeps.create_index("open", unique=True)
        self._sweeps.create_index([("created_ms", pymongo.DESCENDING)])

    def open_for(self, address: str) -> dict | None:
        return _plain(self._sweeps.find_one({"open": address}))

    def all_open(self) -> list[dict]:
        return [_plain(d) for d in self._sweeps.find({"state": {"$nin": ["done", "failed"]}})]

    def add(self, sweep: dict) -> dict:
        """Open a sweep; DuplicateKeyError if the address already has one open."""
        doc = {**sweep, "_id": sweep["id"], "open": sweep["address"]}
        del doc["id"]
        self._sweeps.insert_one(doc)
        return _plain(doc)

    def get(self, sweep_id: str) -> dict | None:
        return _plain(self._sweeps.find_one({"_id": sweep_id}))

    def update(self, sweep_id: str, **fields) -> None:
        self._sweeps.update_one({"_id": sweep_id}, {"$set": fields})

    def close(self, sweep_id: str, state: str, now_ms: int) -> None:
        """Close a sweep (``open`` becomes unique to it), so the address may open another."""
        self._sweeps.update_one(
            {"_id": sweep_id},
            {"$set": {"state": state, "open": f"closed:{sweep_id}", "updated_ms": now_ms}},
        )

    def recent(self, limit: int) -> list[dict]:
        return [_plain(d) for d in self._sweeps.find({}).sort("created_ms", -1).limit(limit)]

    def count_closed(self) -> int:
        return self._sweeps.count_documents({"open": {"$regex": "^closed:"}})


class AnalyserStateRepository:
    """Where the block analyser has got to (``wallet_analyser``): the last blocks it
    processed, newest last, to find where a reorg forked off."""

    KEEP = 200  # blocks remembered; a reorg deeper than this starts over from genesis

    def __init__(self, db: Database):
        self._state = db["wallet_analyser"]

    def position(self) -> list[tuple[int, str]]:
        doc = self._state.find_one({"_id": "analyser"})
        return [(b["height"], b["hash"]) for b in doc["blocks"]] if doc else []

    def save(self, blocks: list[tuple[int, str]]) -> None:
        # Objects, not pairs: FerretDB stores no nested arrays.
        kept = [{"height": height, "hash": bhash} for height, bhash in blocks[-self.KEEP :]]
        self._state.update_one({"_id": "analyser"}, {"$set": {"blocks": kept}}, upsert=True)


class AlertRepository:
    """Alerts an operator must see (``wallet_alerts``): a reorg deeper than the
    confirmations, the gas keeper running dry. Each is stored once by its key."""

    def __init__(self, db: Database):
        self._alerts = db["wallet_alerts"]

    def ensure_indexes(self) -> None:
        self._alerts.create_index([("raised_ms", pymongo.DESCENDING)])

    def raise_once(self, key: str, kind: str, message: str, now_ms: int) -> bool:
        """Record an alert; False if the same one (``key``) is already recorded."""
        try:
            self._alerts.insert_one(
                {"_id": key, "kind": kind, "message": message, "raised_ms": now_ms}
            )
            return True
        except DuplicateKeyError:
            return False

    def recent(self, limit: int = 50) -> list[dict]:
        cursor = self._alerts.find({}).sort("raised_ms", -1).limit(limit)
        return [_plain(d) for d in cursor]


class WalletEntryLookup:
    """Whether the wallet ledger (``wallet_ledger``, written by the unit of work) holds
    the entry of one step of a deposit or withdrawal: how a retry knows it was done."""

    def __init__(self, db: Database):
        self._entries = db["wallet_ledger"]

    def ensure_indexes(self) -> None:
        self._entries.create_index([("ref", pymongo.ASCENDING), ("reason", pymongo.ASCENDING)])

    def existing(self, user: str, refs: list[str], reason: str) -> set[str]:
        """Which of ``refs`` already have their ``reason`` entry for ``user``."""
        cursor = self._entries.find(
            {"ref": {"$in": refs}, "reason": reason, "user": user}, {"ref": 1}
        )
        return {doc["ref"] for doc in cursor}

    def exists(self, user: str, ref: str, reason: str) -> bool:
        return (
            self._entries.count_documents({"ref": ref, "reason": reason, "user": user}, limit=1) > 0
        )
