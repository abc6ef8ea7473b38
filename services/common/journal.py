"""The durable journal (``LEDGER_STORE=journal``): the ledger's store on Redis.

A command's outcome (the account as changed, its audit-log and wallet-ledger entries) is
one record appended to a Redis stream, ``journal:<database>``, in the same Lua script
that stores the account (``account:<database>:<user>``) and lets the user's lock go
(``cache.HeldLock.commit``). Redis runs with an append-only file fsynced before it
answers (``appendfsync always``; it groups the fsyncs of everything that arrived in one
turn of its event loop), so a command is acknowledged only once its record is on disk.

The persister (``services/persister``) writes the records to MongoDB behind the
commands, in bulk and idempotently by the entries' ids, then advances its cursor
(``journal-persisted:<database>``) and trims what it wrote. Whatever reads the log or
the wallet ledger from MongoDB (DUMPLOG, histories, stats) first waits until the
persister has caught up with the journal as it was when the read began; accounts are
read from Redis first (``JournaledAccounts``), where the newest version always is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence

import orjson
import redis
from redis.exceptions import RedisError

from .errors import UpstreamUnavailable
from .repositories import AccountRepository, LogRepository, WalletLedgerRepository
from .timing import phase

CATCH_UP_POLL_S = (0.002, 0.005, 0.01, 0.02, 0.05)  # then every 0.05 s
CATCH_UP_TIMEOUT_S = 30.0

StreamId = tuple[int, int]


def stream_key(namespace: str) -> str:
    return f"journal:{namespace}"


def cursor_key(namespace: str) -> str:
    return f"journal-persisted:{namespace}"


def account_key(namespace: str, user: str) -> str:
    """Where a user's account lives in Redis (the lock's copy, ``cache.UserLocks``)."""
    return f"account:{namespace}:{user}"


def parse_id(raw: bytes | str | None) -> StreamId:
    """A stream id (``<ms>-<seq>``) as a comparable pair; (0, 0) for none."""
    if not raw:
        return (0, 0)
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))


def encode_entries(entries: Sequence[Mapping]) -> bytes:
    return orjson.dumps(list(entries))


class Journal:
    """Appends records to the journal and waits for the persister to catch up."""

    def __init__(self, client: redis.Redis, namespace: str, timeout_s: float = CATCH_UP_TIMEOUT_S):
        self._redis = client
        self.client = client
        self.namespace = namespace
        self.stream = stream_key(namespace)
        self.cursor = cursor_key(namespace)
        self._timeout_s = timeout_s

    def append(self, entries: Sequence[Mapping]) -> None:
        """Journal log entries that change no account (one round trip; durable when it
        returns, as Redis answers only after its fsync)."""
        if not entries:
            return
        try:
            with phase("log"):
                self._redis.xadd(self.stream, {"u": "", "a": "", "e": encode_entries(entries)})
        except RedisError as exc:
            raise UpstreamUnavailable(f"journal unavailable: {exc}") from exc

    def lag(self) -> tuple[StreamId, StreamId]:
        """(the newest record's id, the persister's cursor)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.xrevrange(self.stream, count=1)
        pipe.get(self.cursor)
        newest, cursor = pipe.execute()
        return (parse_id(newest[0][0]) if newest else (0, 0), parse_id(cursor))

    def wait_caught_up(self) -> None:
        """Return once every record journaled before this call is in MongoDB;
        UpstreamUnavailable if the persister does not get there in time."""
        try:
            target, persisted = self.lag()
            deadline = time.monotonic() + self._timeout_s
            polls = iter(CATCH_UP_POLL_S)
            while persisted < target:
                if time.monotonic() > deadline:
                    raise UpstreamUnavailable("the log is still being written; retry")
                time.sleep(next(polls, CATCH_UP_POLL_S[-1]))
                persisted = parse_id(self._redis.get(self.cursor))
        except RedisError as exc:
            raise UpstreamUnavailable(f"journal unavailable: {exc}") from exc


class JournaledAccounts(AccountRepository):
    """Accounts read from Redis first, where the journal keeps the newest version of
    every account a command changed; MongoDB holds the others (and, a little later,
    the same). Queries over all accounts (the trigger checker's) wait for the
    persister first."""

    def __init__(self, db, journal: Journal):
        super().__init__(db)
        self._redis = journal.client
        self._namespace = journal.namespace
        self._journal = journal

    def armed(self) -> dict:
        self._journal.wait_caught_up()
        return super().armed()

    def _cached(self, user: str) -> bytes | None:
        try:
            return self._redis.get(account_key(self._namespace, user))
        except RedisError as exc:
            raise UpstreamUnavailable(f"journal unavailable: {exc}") from exc

    def get(self, user: str):
        cached = self._cached(user)
        return self.decode(cached) if cached is not None else super().get(user)

    def exists(self, user: str) -> bool:
        return self._cached(user) is not None or super().exists(user)


class JournaledLog(LogRepository):
    """The audit log: appended through the journal, read from MongoDB once the
    persister has caught up."""

    def __init__(self, db, journal: Journal):
        super().__init__(db)
        self._journal = journal

    def append(self, entries: list[dict]) -> None:
        self._journal.append(entries)

    def iter_all(self, user: str | None = None) -> Iterator[dict]:
        self._journal.wait_caught_up()
        return super().iter_all(user)

    def recent(self, *args, **kwargs) -> list[dict]:
        self._journal.wait_caught_up()
        return super().recent(*args, **kwargs)


class JournaledWalletLedger(WalletLedgerRepository):
    """The wallet ledger: appended through the journal, read once caught up."""

    def __init__(self, db, journal: Journal):
        super().__init__(db)
        self._journal = journal

    def append(self, entries: list[dict]) -> None:
        self._journal.append(entries)

    def history(self, *args, **kwargs) -> list[dict]:
        self._journal.wait_caught_up()
        return super().history(*args, **kwargs)

    def balances(self, user: str | None = None) -> dict[str, dict[str, int]]:
        self._journal.wait_caught_up()
        return super().balances(user)
