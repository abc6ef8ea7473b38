"""Adapters over MongoDB: accounts, login credentials, the audit log and the wallet ledger.

Documents never leave this module: callers get domain objects or plain dicts.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType

import orjson
import pymongo
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .domain.account import Account, BuySetup, Pending, SellSetup
from .domain.assets import AssetBalance
from .domain.breakout import Strategy
from .domain.margin import MarginPosition
from .domain.stock_stops import StockStop
from .domain.stops import StopOrder
from .errors import Conflict
from .timing import phase

# Writes in flight from one process. FerretDB/SQLite has one write lock and SQLite's busy
# handler is not fair: with a hundred threads polling for it, some waited past its 10-s
# timeout and got SQLITE_BUSY (700 commands of the 1,200-user run). Waiting here instead
# is first come, first served, and two per process keep the lock busy.
_WRITES = threading.BoundedSemaphore(2)


class StaleAccount(Conflict):
    """The account changed since it was read (the optimistic guard caught a race)."""

    code = "concurrent_update"


_FIELDS: dict[type, tuple[str, ...]] = {}


def _flat(value) -> dict:
    """A dataclass of plain fields as a dict. ``dataclasses.asdict`` copies every field
    deeply: a tenth of a single command's CPU in cProfile (docs/benchmarks.md)."""
    names = _FIELDS.get(type(value))
    if names is None:
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    return {name: getattr(value, name) for name in names}


def _account_to_doc(account: Account) -> dict:
    state = {
        "holdings": dict(account.holdings),
        "pending_buys": [_flat(p) for p in account.pending_buys],
        "pending_sells": [_flat(p) for p in account.pending_sells],
        "buy_setups": {k: _flat(v) for k, v in account.buy_setups.items()},
        "sell_setups": {k: _flat(v) for k, v in account.sell_setups.items()},
        "assets": {k: _flat(v) for k, v in account.assets.items()},
        "stock_stops": {k: _flat(v) for k, v in account.stock_stops.items()},
        "recent": [dict(entry) for entry in account.recent],
        "applied": dict(account.applied),
        "outbox": [dict(entry) for entry in account.outbox],
    }
    return {
        "cash": account.cash,
        # The id of the last entry of the last change, to find accounts whose entries a
        # crash kept from the log without reading every account's state.
        "outbox_tail": account.outbox[-1]["_id"] if account.outbox else None,
        # Lets the trigger checker find armed setups and open stop-losses with an index
        # instead of a scan.
        "armed": list(account.armed_symbols),
        # Lets the coin checker find positions, stop orders and strategies the same way,
        # and read only them (``watch``, a small JSON string), not the whole state.
        "watched": list(account.watched_coins),
        "watch": _watch_json(account),
        # The rest of the aggregate is always read and written whole, so it is stored as
        # one JSON string: FerretDB's cost grows with every nested field it converts
        # (a find 2.3 -> 0.8 ms, an update 4.1 -> 1.4 ms; docs/benchmarks.md).
        # orjson: the same compact JSON as the json module's, at a fraction of its cost.
        "state": orjson.dumps(state).decode(),
    }


def watch_json(account: Account) -> str | None:
    """The parts of ``account`` the coin checker watches, as JSON (None: nothing)."""
    return _watch_json(account)


def _watch_json(account: Account) -> str | None:
    if not account.watched_coins:
        return None
    watch = {
        "positions": {k: asdict(v) for k, v in account.positions.items()},
        "stops": {k: asdict(v) for k, v in account.stops.items()},
        "strategies": {k: asdict(v) for k, v in account.strategies.items()},
    }
    return json.dumps(watch, separators=(",", ":"))


@dataclass(frozen=True)
class Watched:
    """What the coin checker reads of an account: its margin positions, stop orders and
    strategies (the rules that act on them read the whole account under the lock)."""

    user: str
    positions: Mapping[str, MarginPosition]
    stops: Mapping[str, StopOrder]
    strategies: Mapping[str, Strategy]


def _watched_from(user: str, text: str | None) -> Watched:
    watch = json.loads(text) if text else {}
    return Watched(
        user,
        MappingProxyType({k: MarginPosition(**v) for k, v in watch.get("positions", {}).items()}),
        MappingProxyType({k: StopOrder(**v) for k, v in watch.get("stops", {}).items()}),
        MappingProxyType({k: Strategy(**v) for k, v in watch.get("strategies", {}).items()}),
    )


def _encoded(user: str, version: int, doc: dict) -> bytes:
    return orjson.dumps({"_id": user, "v": version, **doc})


def _doc_to_account(doc: dict) -> Account:
    state = orjson.loads(doc["state"])
    watched = _watched_from(doc["_id"], doc.get("watch"))
    return Account(
        user=doc["_id"],
        cash=doc["cash"],
        holdings=MappingProxyType(state["holdings"]),
        pending_buys=tuple(Pending(**p) for p in state["pending_buys"]),
        pending_sells=tuple(Pending(**p) for p in state["pending_sells"]),
        buy_setups=MappingProxyType({k: BuySetup(**v) for k, v in state["buy_setups"].items()}),
        sell_setups=MappingProxyType({k: SellSetup(**v) for k, v in state["sell_setups"].items()}),
        # Accounts stored before coins existed have no "assets".
        assets=MappingProxyType({k: AssetBalance(**v) for k, v in state.get("assets", {}).items()}),
        positions=watched.positions,
        stops=watched.stops,
        strategies=watched.strategies,
        # Accounts stored before stock stop-losses existed have no "stock_stops".
        stock_stops=MappingProxyType(
            {k: StockStop(**v) for k, v in state.get("stock_stops", {}).items()}
        ),
        recent=tuple(state["recent"]),
        applied=MappingProxyType(state.get("applied", {})),
        outbox=tuple(state.get("outbox", ())),
        version=doc["v"],
    )


class AccountRepository:
    """Trading accounts in the ``users`` collection, one document per user."""

    def __init__(self, db: Database):
        self._users = db["users"]

    def ensure_indexes(self) -> None:
        self._users.create_index("armed")
        self._users.create_index("watched")

    def get(self, user: str) -> Account | None:
        with phase("read"):
            doc = self._users.find_one({"_id": user})
        return _doc_to_account(doc) if doc else None

    @staticmethod
    def encode(account: Account) -> bytes:
        """``account`` as its stored document, for a cache: ``decode`` reads it back."""
        return _encoded(account.user, account.version, _account_to_doc(account))

    @staticmethod
    def decode(data: bytes) -> Account:
        return _doc_to_account(orjson.loads(data))

    def exists(self, user: str) -> bool:
        return self._users.count_documents({"_id": user}, limit=1) > 0

    def save(
        self, account: Account, before_write: Callable[[], None] | None = None
    ) -> tuple[Account, bytes]:
        """Write ``account`` if nobody else changed it since it was read; return it as
        saved (its new version) and encoded as by ``encode``, from the same document.

        ``account.version`` is the version that was read (0 for a new account). The
        version in the filter is the second guard behind the per-user lock: on MongoDB it
        makes the write atomic; on FerretDB the lock is what serialises writers.
        Raises StaleAccount when the guard fails. ``before_write`` runs right before the
        write, after any wait for this process's turn to write; whatever it raises
        stops the write (the ledger checks and renews the user's lock there).
        """
        doc = _account_to_doc(account)
        new_version = account.version + 1
        with phase("write"), _WRITES:
            if before_write is not None:
                before_write()
            self._write(account, doc, new_version)
        saved = Account(**{**account.__dict__, "version": new_version})
        return saved, _encoded(account.user, new_version, doc)

    def _write(self, account: Account, doc: dict, new_version: int) -> None:
        if account.version == 0:
            try:
                self._users.insert_one({"_id": account.user, "v": new_version, **doc})
            except DuplicateKeyError as exc:
                raise StaleAccount(f"account {account.user} was created concurrently") from exc
        else:
            result = self._users.update_one(
                {"_id": account.user, "v": account.version},
                {"$set": {**doc, "v": new_version}},
            )
            if result.matched_count != 1:
                raise StaleAccount(f"account {account.user} changed concurrently; retry")

    def put_newer(self, docs: list[dict]) -> None:
        """Write account documents as encoded by ``encode`` (each with its ``_id`` and
        version ``v``), keeping any account already stored at the same or a newer
        version: writing the same documents again changes nothing (the persister)."""
        if not docs:
            return
        guarded = [
            (
                {"_id": doc["_id"], "v": {"$lt": doc["v"]}},
                {k: v for k, v in doc.items() if k != "_id"},
            )
            for doc in docs
        ]
        writes = [pymongo.UpdateOne(where, {"$set": new}, upsert=True) for where, new in guarded]
        try:
            with _WRITES:
                self._users.bulk_write(writes, ordered=False)
            return
        except (BulkWriteError, KeyError):
            # A newer version is stored (the upsert's insert met its _id: 11000); FerretDB's
            # answer then lacks the counts pymongo sums (KeyError). Rare (a batch written
            # again): each account once more, on its own, the newer ones kept.
            pass
        for where, new in guarded:
            try:
                with _WRITES:
                    self._users.update_one(where, {"$set": new}, upsert=True)
            except DuplicateKeyError:
                continue

    def outbox_versions(self) -> dict[str, int]:
        """User -> version, of every account whose last change has log entries."""
        cursor = self._users.find({"outbox_tail": {"$ne": None}}, {"v": 1})
        return {doc["_id"]: doc["v"] for doc in cursor}

    def watched_stored(self) -> list[tuple[str, int, str | None]]:
        """(user, version, watch JSON) of every account with something the coin checker
        watches, read in one query (what rebuilds its view, ``cache.CoinWatch``)."""
        cursor = self._users.find({"watched.0": {"$exists": True}}, {"watch": 1, "v": 1})
        return [(doc["_id"], doc["v"], doc.get("watch")) for doc in cursor]

    @staticmethod
    def watched_from(user: str, watch: str | None) -> Watched:
        """A user's watched parts from their watch JSON."""
        return _watched_from(user, watch)

    def armed(self) -> dict[str, list[Account]]:
        """Symbol -> the accounts with an armed buy or sell setup or an open stop-loss on it,
        read in one query.

        Whole accounts, not just names: FerretDB reads each whole document even for a
        projection, and a pass that then read every account again by ``_id`` spent as
        much as the commands it ran beside (docs/benchmarks.md).
        """
        by_symbol: dict[str, list[Account]] = {}
        for doc in self._users.find({"armed.0": {"$exists": True}}):
            account = _doc_to_account(doc)
            for symbol in doc["armed"]:
                by_symbol.setdefault(symbol, []).append(account)
        return dict(sorted(by_symbol.items()))


def _insert_new(collection, docs: list[dict]) -> None:
    """Insert ``docs``, keeping any already stored under the same ``_id``."""
    try:
        with _WRITES:
            collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
            raise


def _page(entries: list[dict]) -> dict:
    """One append's entries as one document, named after its first entry if it has an id."""
    page = [{k: v for k, v in e.items() if k != "_id"} for e in entries]
    doc = {"entries": json.dumps(page, separators=(",", ":"))}
    first = entries[0].get("_id")
    return {"_id": f"page:{first}", **doc} if first else doc


class _Append:
    """One caller's entries waiting in a group commit, and how their write ended."""

    __slots__ = ("entries", "written", "error")

    def __init__(self, entries: list[dict]):
        self.entries = entries
        self.written = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Appends from one process's threads, written together while a write is under way.

    The first caller writes its own entries at once; callers that arrive meanwhile
    queue, and the next of them writes everything queued in one call per collection
    (FerretDB's cost is mostly per call: docs/benchmarks.md). Every caller returns only
    once its own entries are stored, or raises what their write raised.
    """

    def __init__(self, write: Callable[[list[list[dict]]], None]):
        self._write = write
        self._queue: list[_Append] = []
        self._busy = False
        self._cv = threading.Condition()

    def append(self, entries: list[dict]) -> None:
        mine = _Append(entries)
        with self._cv:
            self._queue.append(mine)
            while self._busy and not mine.written:
                self._cv.wait()
            lead = not mine.written  # nobody took it: write it, and whatever queued since
            if lead:
                group, self._queue = self._queue, []
                self._busy = True
        if lead:
            try:
                self._write([a.entries for a in group])
            except BaseException as exc:  # every caller of the group gets it
                for a in group:
                    a.error = exc
            finally:
                with self._cv:
                    for a in group:
                        a.written = True
                    self._busy = False
                    self._cv.notify_all()
        if mine.error is not None:
            raise mine.error


class CredentialRepository:
    """Login credentials of registered users, in the ``credentials`` collection."""

    def __init__(self, db: Database):
        self._credentials = db["credentials"]

    def add(self, username: str, password_hash: str, role: str) -> bool:
        """Store a new login; False when the name is taken."""
        try:
            self._credentials.insert_one(
                {"_id": username, "password_hash": password_hash, "role": role}
            )
        except DuplicateKeyError:
            return False
        return True

    def get(self, username: str) -> dict | None:
        doc = self._credentials.find_one({"_id": username})
        if doc is None:
            return None
        return {"username": doc["_id"], "password_hash": doc["password_hash"], "role": doc["role"]}


class LogRepository:
    """The audit log: one document per entry in ``transactions``, for queries, and the same
    entries again in ``log_pages``, one document per append, for DUMPLOG.

    A page holds the entries of one append (a command, or a batch) as one JSON string:
    FerretDB spends ~120 us of CPU per document it reads, so a two-million-entry dump read
    entry by entry took minutes, and page by page takes seconds. Pages are read in the
    order they were stored; the entries of a page are in the order they were made.
    """

    def __init__(self, db: Database):
        self._log = db["transactions"]
        self._pages = db["log_pages"]
        self._group = _GroupCommit(self._insert)

    def ensure_indexes(self) -> None:
        self._log.create_index([("ts", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)])
        self._log.create_index([("user", pymongo.ASCENDING), ("ts", pymongo.ASCENDING)])
        self._log.create_index([("type", pymongo.ASCENDING)])

    def append(self, entries: list[dict]) -> None:
        """Store entries, then their page; returns only once the database has both.

        Entries with an ``_id`` may be stored again (an outbox flushed twice): the copies
        already there are kept and the rest inserted, and the page, named after the
        first entry, is kept too. Appends made at the same time by other threads of the
        process are written in the same calls (a group commit).
        """
        if entries:
            with phase("log"):
                self._group.append(entries)

    def append_many(self, appends: list[list[dict]]) -> None:
        """Store several appends in one call per collection, each append its own page
        (the persister); as ``append``, entries and pages already stored are kept."""
        appends = [entries for entries in appends if entries]
        if appends:
            self._insert(appends)

    def _insert(self, appends: list[list[dict]]) -> None:
        # insert_many adds _id to the dicts it is given; keep the callers' dicts clean.
        _insert_new(self._log, [dict(e) for entries in appends for e in entries])
        _insert_new(self._pages, [_page(entries) for entries in appends])

    def iter_all(self, user: str | None = None) -> Iterator[dict]:
        """Every entry (from the pages, in the order stored), or one user's, oldest first."""
        if user:
            cursor = self._log.find({"user": user}, {"_id": 0}).sort([("ts", 1), ("_id", 1)])
            yield from cursor
            return
        for page in self._pages.find({}, {"_id": 0}):
            yield from json.loads(page["entries"])

    def recent(
        self, user: str, limit: int, kinds: tuple[str, ...], before_ms: int | None = None
    ) -> list[dict]:
        """The newest ``limit`` entries of ``kinds`` for ``user`` (older than ``before_ms``)."""
        query: dict = {"user": user, "type": {"$in": list(kinds)}}
        if before_ms is not None:
            query["ts"] = {"$lt": before_ms}
        cursor = self._log.find(query, {"_id": 0}).sort([("ts", -1), ("_id", -1)]).limit(limit)
        return list(cursor)

    def counts(self) -> dict[str, int]:
        """How many entries there are of each type (counted in the pages, as DUMPLOG
        would read them: a group over every entry document costs what reading them does)."""
        return dict(Counter(entry["type"] for entry in self.iter_all()))


class WalletLedgerRepository:
    """The double-entry wallet ledger: one document per coin movement, ``wallet_ledger``.

    An entry is ``{_id, type: "walletEntry", ts, server, user, asset, units, from, to,
    reason, ref, [txn], [detail]}``: ``units`` (an integer, 10^-8 of a coin) of ``asset``
    moved from ledger account ``from`` to ``to`` (``user:<name>``,
    ``user:<name>:locked`` or a system account; ``domain/assets.py``). Entries come
    from accounts' outboxes (``Ledger``) with ids derived from the account's version,
    so inserting the same outbox twice stores each entry once.
    """

    def __init__(self, db: Database):
        self._entries = db["wallet_ledger"]

    def ensure_indexes(self) -> None:
        self._entries.create_index([("user", pymongo.ASCENDING), ("ts", pymongo.ASCENDING)])

    def append(self, entries: list[dict]) -> None:
        """Store entries; those already stored (same ``_id``) are kept as they are."""
        if entries:
            with phase("log"):
                _insert_new(self._entries, [dict(e) for e in entries])

    def history(
        self,
        user: str,
        limit: int,
        asset: str | None = None,
        before_ms: int | None = None,
        reasons: tuple[str, ...] | None = None,
    ) -> list[dict]:
        """``user``'s newest ``limit`` entries (of ``asset``, for ``reasons``, older than
        ``before_ms``), newest first, without their ids."""
        query: dict = {"user": user}
        if asset is not None:
            query["asset"] = asset
        if reasons is not None:
            query["reason"] = {"$in": list(reasons)}
        if before_ms is not None:
            query["ts"] = {"$lt": before_ms}
        cursor = self._entries.find(query, {"_id": 0}).sort([("ts", -1), ("_id", -1)])
        return list(cursor.limit(limit))

    def balances(self, user: str | None = None) -> dict[str, dict[str, int]]:
        """Ledger account -> asset -> units in minus units out, re-derived from every
        entry (of ``user``'s entries only, when given). Over all entries every asset
        sums to zero; a user's ``user:<name>`` and ``user:<name>:locked`` equal their
        stored available and locked balances."""
        query = {"user": user} if user is not None else {}
        totals: dict[str, dict[str, int]] = {}
        for entry in self._entries.find(query, {"asset": 1, "units": 1, "from": 1, "to": 1}):
            asset, units = entry["asset"], entry["units"]
            source = totals.setdefault(entry["from"], {})
            source[asset] = source.get(asset, 0) - units
            target = totals.setdefault(entry["to"], {})
            target[asset] = target.get(asset, 0) + units
        return totals
