"""Adapters over MongoDB for mining: machines, digs, pools, the share log, blocks, payout
rounds, payouts and the pools' signed transactions.

Written by the mining service (machines, digs) and the pool engine (everything else);
both read. Insert-once is by ``_id`` (a unique index on every engine) so a restarted
engine that repeats a step finds it done instead of doing it twice. Maps with one entry
per machine are stored as one JSON string: FerretDB's cost grows with every nested field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict

import pymongo
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .domain.mining import DIGGING, Machine

#: Payout states, in order: created from a round; signed (its transaction stored before
#: it is ever sent); sent to a chain-node; confirmed in a block. Cancelled: its block
#: left the best chain before the payout was signed.
NEW, SIGNED, SENT, CONFIRMED, CANCELLED = "new", "signed", "sent", "confirmed", "cancelled"
OPEN_PAYOUT_STATES = (NEW, SIGNED, SENT)
#: Found-block states: submitted (stored before it is sent), found (accepted by the node),
#: credited (its payout round exists), rejected (refused), orphaned (left the best chain).
SUBMITTED, FOUND, CREDITED, REJECTED, ORPHANED = (
    "submitted",
    "found",
    "credited",
    "rejected",
    "orphaned",
)


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _insert_once(collection, doc: dict) -> bool:
    """Insert ``doc``; False (nothing written) when its ``_id`` is already there."""
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


class MachineRepository:
    """Users' machines (``mining_machines``), one document each."""

    def __init__(self, db: Database):
        self._machines = db["mining_machines"]

    def ensure_indexes(self) -> None:
        self._machines.create_index([("owner", pymongo.ASCENDING), ("created_ms", 1)])
        self._machines.create_index("state")

    def add(self, machine: Machine) -> None:
        self._machines.insert_one(_machine_doc(machine))

    def get(self, machine_id: str) -> Machine | None:
        doc = self._machines.find_one({"_id": machine_id})
        return _doc_machine(doc) if doc else None

    def count_for(self, owner: str) -> int:
        return self._machines.count_documents({"owner": owner})

    def list_for(self, owner: str) -> list[Machine]:
        cursor = self._machines.find({"owner": owner}).sort([("created_ms", 1), ("_id", 1)])
        return [_doc_machine(doc) for doc in cursor]

    def save(self, machine: Machine) -> None:
        self._machines.replace_one({"_id": machine.id}, _machine_doc(machine))

    def digging(self) -> list[Machine]:
        return [_doc_machine(doc) for doc in self._machines.find({"state": DIGGING})]


def _machine_doc(machine: Machine) -> dict:
    doc = asdict(machine)
    doc["_id"] = doc.pop("id")
    return doc


def _doc_machine(doc: dict) -> Machine:
    fields = dict(doc)
    return Machine(id=fields.pop("_id"), **fields)


class DigRepository:
    """Dig history (``mining_digs``): one machine digging in one pool from start to stop.

    Shares are credited to digs; a finished dig's final share count is set by the engine.
    """

    def __init__(self, db: Database):
        self._digs = db["mining_digs"]

    def ensure_indexes(self) -> None:
        self._digs.create_index([("machine", pymongo.ASCENDING), ("start_ms", -1)])
        self._digs.create_index([("owner", pymongo.ASCENDING), ("start_ms", -1)])
        self._digs.create_index([("pool", pymongo.ASCENDING), ("stop_ms", 1)])

    def add(self, dig_id: str, machine: Machine, start_ms: int) -> None:
        self._digs.insert_one(
            {
                "_id": dig_id,
                "machine": machine.id,
                "owner": machine.owner,
                "pool": machine.pool,
                "hashrate": machine.hashrate,
                "start_ms": start_ms,
                "stop_ms": None,
                "shares": None,
            }
        )

    def stop(self, dig_id: str, stop_ms: int) -> None:
        """Close a dig once; a retried stop leaves the first stop time."""
        self._digs.update_one({"_id": dig_id, "stop_ms": None}, {"$set": {"stop_ms": stop_ms}})

    def active_in(self, pool: str, start_ms: int, end_ms: int) -> list[dict]:
        """Digs in ``pool`` that overlap ``[start_ms, end_ms)`` or were open at its start."""
        query = {
            "pool": pool,
            "start_ms": {"$lt": end_ms},
            "$or": [{"stop_ms": None}, {"stop_ms": {"$gt": start_ms}}],
        }
        return list(self._digs.find(query))

    def finish(self, dig_id: str, shares: int) -> None:
        self._digs.update_one({"_id": dig_id}, {"$set": {"shares": shares}})

    def history(self, owner: str, limit: int, machine: str | None = None) -> list[dict]:
        query = {"owner": owner} | ({"machine": machine} if machine else {})
        cursor = self._digs.find(query).sort([("start_ms", -1), ("_id", 1)]).limit(limit)
        return list(cursor)

    def owners(self, dig_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dig_ids)
        cursor = self._digs.find({"_id": {"$in": ids}}, {"owner": 1})
        return {doc["_id"]: doc["owner"] for doc in cursor}


class PoolRepository:
    """The configured pools (``mining_pools``), written by the engine at start-up."""

    def __init__(self, db: Database):
        self._pools = db["mining_pools"]

    def save(self, pool_id: str, scheme: str, fee_bp: int, address: str) -> None:
        doc = {"scheme": scheme, "fee_bp": fee_bp, "address": address}
        self._pools.update_one({"_id": pool_id}, {"$set": doc}, upsert=True)

    def all(self) -> list[dict]:
        return list(self._pools.find().sort("_id", 1))

    def get(self, pool_id: str) -> dict | None:
        return self._pools.find_one({"_id": pool_id})


class WindowRepository:
    """Each pool's share log (``mining_windows``): one document per pool per window.

    A window holds the shares each dig earned in it, the sub-share work carried to the
    next window, each open dig's running total, and what a share was worth then (the
    network's hashrate and the block reward), so payouts can be recomputed exactly.
    """

    def __init__(self, db: Database):
        self._windows = db["mining_windows"]

    def ensure_indexes(self) -> None:
        self._windows.create_index([("pool", pymongo.ASCENDING), ("seq", -1)])

    def add(self, window: dict) -> bool:
        doc = dict(window)
        for key in ("shares", "carry", "totals"):
            doc[key] = _dumps(doc[key])
        doc["_id"] = f"{window['pool']}:{window['seq']}"
        return _insert_once(self._windows, doc)

    def last(self, pool: str) -> dict | None:
        doc = self._windows.find_one({"pool": pool}, sort=[("seq", -1)])
        return _window(doc) if doc else None

    def newest_first(self, pool: str, up_to_seq: int) -> Iterator[dict]:
        cursor = self._windows.find({"pool": pool, "seq": {"$lte": up_to_seq}})
        for doc in cursor.sort("seq", -1).batch_size(20):
            yield _window(doc)

    def between(self, pool: str, after_seq: int, up_to_seq: int) -> list[dict]:
        query = {"pool": pool, "seq": {"$gt": after_seq, "$lte": up_to_seq}}
        return [_window(doc) for doc in self._windows.find(query).sort("seq", 1)]

    def since(self, pool: str, start_ms: int) -> list[dict]:
        query = {"pool": pool, "end_ms": {"$gt": start_ms}}
        projection = {"shares": 0, "carry": 0, "totals": 0}
        return list(self._windows.find(query, projection).sort("seq", 1))

    def prune(self, pool: str, below_seq: int) -> int:
        return self._windows.delete_many({"pool": pool, "seq": {"$lt": below_seq}}).deleted_count


def _window(doc: dict) -> dict:
    window = dict(doc)
    for key in ("shares", "carry", "totals"):
        window[key] = json.loads(window[key])
    return window


class BlockRepository:
    """Blocks the pools found (``mining_blocks``), keyed by block hash."""

    def __init__(self, db: Database):
        self._blocks = db["mining_blocks"]

    def ensure_indexes(self) -> None:
        self._blocks.create_index([("pool", pymongo.ASCENDING), ("found_ms", -1)])
        self._blocks.create_index("state")

    def add(self, block: dict) -> bool:
        return _insert_once(self._blocks, {"_id": block["hash"], **block})

    def set_state(self, block_hash: str, state: str) -> None:
        self._blocks.update_one({"_id": block_hash}, {"$set": {"state": state}})

    def get(self, block_hash: str) -> dict | None:
        return self._blocks.find_one({"_id": block_hash})

    def in_state(self, *states: str) -> list[dict]:
        return list(self._blocks.find({"state": {"$in": list(states)}}).sort("found_ms", 1))

    def recent(self, pool: str, since_ms: int = 0, limit: int = 0) -> list[dict]:
        """The pool's accepted blocks since ``since_ms``, newest first (without the
        block itself); ``limit`` 0: all of them."""
        query = {"pool": pool, "found_ms": {"$gte": since_ms}, "state": {"$in": [FOUND, CREDITED]}}
        cursor = self._blocks.find(query, {"block": 0}).sort("found_ms", -1)
        return list(cursor.limit(limit))


class RoundRepository:
    """Payout rounds (``mining_rounds``): how one amount was shared, keyed ``pool:seq``
    (the last share window it covers)."""

    def __init__(self, db: Database):
        self._rounds = db["mining_rounds"]

    def ensure_indexes(self) -> None:
        self._rounds.create_index([("pool", pymongo.ASCENDING), ("seq", -1)])
        self._rounds.create_index("state")

    def add(self, round_doc: dict) -> bool:
        doc = {**round_doc, "parts": _dumps(round_doc["parts"])}
        doc["_id"] = f"{round_doc['pool']}:{round_doc['seq']}"
        return _insert_once(self._rounds, doc)

    def last_seq(self, pool: str) -> int | None:
        doc = self._rounds.find_one({"pool": pool}, {"seq": 1}, sort=[("seq", -1)])
        return doc["seq"] if doc else None

    def unsplit(self) -> list[dict]:
        """Rounds whose payouts are not all created yet."""
        docs = self._rounds.find({"state": NEW}).sort("seq", 1)
        return [{**doc, "parts": json.loads(doc["parts"])} for doc in docs]

    def set_state(self, round_id: str, state: str) -> None:
        self._rounds.update_one({"_id": round_id}, {"$set": {"state": state}})


class PayoutRepository:
    """Payouts (``mining_payouts``): one on-chain transaction to one owner per round."""

    def __init__(self, db: Database):
        self._payouts = db["mining_payouts"]

    def ensure_indexes(self) -> None:
        self._payouts.create_index([("state", pymongo.ASCENDING), ("pool", 1), ("order", 1)])
        self._payouts.create_index([("owner", pymongo.ASCENDING), ("order", -1)])
        self._payouts.create_index([("pool", pymongo.ASCENDING), ("order", 1)])

    def add(self, payout: dict) -> bool:
        doc = {**payout, "digs": _dumps(payout["digs"])}
        return _insert_once(self._payouts, doc)

    def open_for(self, pool: str, limit: int) -> list[dict]:
        """The pool's payouts not yet confirmed, oldest first."""
        query = {"pool": pool, "state": {"$in": list(OPEN_PAYOUT_STATES)}}
        cursor = self._payouts.find(query).sort("order", 1).limit(limit)
        return [_payout(doc) for doc in cursor]

    def update(self, payout_id: str, from_state: str, **fields) -> bool:
        result = self._payouts.update_one({"_id": payout_id, "state": from_state}, {"$set": fields})
        return result.modified_count == 1

    def cancel_round(self, round_id: str) -> None:
        self._payouts.update_many({"round": round_id, "state": NEW}, {"$set": {"state": CANCELLED}})

    def for_owner(self, owner: str, limit: int = 1000) -> list[dict]:
        cursor = self._payouts.find({"owner": owner}).sort("order", -1).limit(limit)
        return [_payout(doc) for doc in cursor]


def _payout(doc: dict) -> dict:
    return {**doc, "digs": json.loads(doc["digs"])}


class PoolTransactionRepository:
    """Every transaction a pool signed (``mining_pool_txs``), keyed ``pool:nonce``.

    Stored before it is first sent, so a retry sends the same bytes and a nonce is
    never used for two payouts.
    """

    def __init__(self, db: Database):
        self._txs = db["mining_pool_txs"]

    def ensure_indexes(self) -> None:
        self._txs.create_index("payout")
        self._txs.create_index([("pool", pymongo.ASCENDING), ("nonce", -1)])

    def add(self, pool: str, nonce: int, payout_id: str, tx: dict) -> bool:
        doc = {"_id": f"{pool}:{nonce}", "pool": pool, "nonce": nonce, "payout": payout_id}
        return _insert_once(self._txs, {**doc, "tx": _dumps(tx)})

    def for_payout(self, payout_id: str) -> dict | None:
        doc = self._txs.find_one({"payout": payout_id})
        return {**doc, "tx": json.loads(doc["tx"])} if doc else None

    def last_nonce(self, pool: str) -> int:
        doc = self._txs.find_one({"pool": pool}, {"nonce": 1}, sort=[("nonce", -1)])
        return doc["nonce"] if doc else 0


class DepositAddressBook:
    """Where a user's payouts go: the wallet's deposit address.

    Reads the wallet's ``wallet_addresses`` (``{_id: user, address, ...}``, written by
    ``wallet_keys.DepositAddressRepository``); None until the user has one (the wallet
    makes it on first use), and the user's payouts wait until then.
    """

    def __init__(self, db: Database):
        self._addresses = db["wallet_addresses"]

    def address_of(self, user: str) -> str | None:
        doc = self._addresses.find_one({"_id": user})
        return doc["address"] if doc else None

    def addresses_of(self, users: Iterable[str]) -> dict[str, str]:
        """{user: address} of those of ``users`` who have one."""
        cursor = self._addresses.find({"_id": {"$in": list(users)}}, {"address": 1})
        return {doc["_id"]: doc["address"] for doc in cursor}


class MiningStore:
    """Every mining repository over one database."""

    def __init__(self, db: Database):
        self.database = db.name
        self.machines = MachineRepository(db)
        self.digs = DigRepository(db)
        self.pools = PoolRepository(db)
        self.windows = WindowRepository(db)
        self.blocks = BlockRepository(db)
        self.rounds = RoundRepository(db)
        self.payouts = PayoutRepository(db)
        self.pool_txs = PoolTransactionRepository(db)
        self.addresses = DepositAddressBook(db)

    def ensure_indexes(self) -> None:
        for repository in (
            self.machines,
            self.digs,
            self.windows,
            self.blocks,
            self.rounds,
            self.payouts,
            self.pool_txs,
        ):
            repository.ensure_indexes()
