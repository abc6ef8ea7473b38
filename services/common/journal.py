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
from collections.abc import Callable, Iterator, Mapping, Sequence

import orjson
import redis
from redis.exceptions import RedisError

from .errors import UpstreamUnavailable
from .ledger import WALLET_ENTRY
from .repositories import AccountRepository, LogRepository, WalletLedgerRepository
from .timing import phase

CATCH_UP_POLL_S = (0.002, 0.005, 0.01, 0.02, 0.05)  # then every 0.05 s
CATCH_UP_TIMEOUT_S = 30.0
# A reader that has waited this long for the persister (killed, restarting, stalled)
# writes the rest of the journal to the database itself: the writes are idempotent.
HELP_AFTER_S = 2.0
BATCH = 200  # records per database write (a BATCH request's record has ~170 entries)

# Moves the persister's cursor to ARGV[1] only forwards (a reader helping the persister
# may have moved it further) and trims what is stored (the cursor's record stays).
_ADVANCE = """
local function parse(id)
    local ms, seq = string.match(id, '(%d+)-(%d+)')
    return tonumber(ms), tonumber(seq)
end
local current = redis.call('get', KEYS[1])
if current then
    local cms, cseq = parse(current)
    local nms, nseq = parse(ARGV[1])
    if nms < cms or (nms == cms and nseq <= cseq) then
        return 0
    end
end
redis.call('set', KEYS[1], ARGV[1])
redis.call('xtrim', KEYS[2], 'MINID', ARGV[1])
return 1
"""

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

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        timeout_s: float = CATCH_UP_TIMEOUT_S,
        writer: Callable[[], JournalWriter] | None = None,
    ):
        self._redis = client
        self.client = client
        self.namespace = namespace
        self.stream = stream_key(namespace)
        self.cursor = cursor_key(namespace)
        self._timeout_s = timeout_s
        self._writer = writer  # makes a writer for a reader that helps (see HELP_AFTER_S)

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
            began = moved = time.monotonic()
            polls = iter(CATCH_UP_POLL_S)
            while persisted < target:
                now = time.monotonic()
                if now - began > self._timeout_s:
                    raise UpstreamUnavailable("the log is still being written; retry")
                if now - moved > HELP_AFTER_S and self._writer is not None:
                    # The persister has not moved for a while (killed, restarting).
                    self._writer().persist_once(block_ms=None)
                else:
                    time.sleep(next(polls, CATCH_UP_POLL_S[-1]))
                latest = parse_id(self._redis.get(self.cursor))
                if latest > persisted:
                    persisted, moved = latest, time.monotonic()
        except RedisError as exc:
            raise UpstreamUnavailable(f"journal unavailable: {exc}") from exc


class JournalWriter:
    """Writes one journal's records to one database, in bulk and idempotently: the
    persister's work (``services/persister``), which a reader that waited too long for
    the persister does itself.

    A record is one committed run (``cache.HeldLock.commit``): ``u`` the user, ``a``
    the account as stored (empty when the run changed none), ``e`` its log and
    wallet-ledger entries as JSON. Entries that came without an ``_id`` (runs that
    changed no account) get one from the record's stream id, so writing a record again
    stores nothing twice: log entries, their page and wallet-ledger entries are inserted
    by ``_id`` (duplicates skipped), and an account is written only over an older
    version. The cursor moves past a batch only once all of it is stored, and only
    forwards, so a writer killed at any moment leaves at most its batch to be redone.
    """

    def __init__(self, client: redis.Redis, db, namespace: str):
        self._redis = client
        self._journal = Journal(client, namespace)
        self.accounts = AccountRepository(db)
        self.log = LogRepository(db)
        self.wallet = WalletLedgerRepository(db)

    def ensure_indexes(self) -> None:
        self.accounts.ensure_indexes()
        self.log.ensure_indexes()
        self.wallet.ensure_indexes()

    def cursor(self) -> str:
        raw = self._redis.get(self._journal.cursor)
        return raw.decode() if raw else "0-0"

    def persist_once(self, block_ms: int | None, count: int = BATCH) -> int:
        """Store the records after the cursor (waiting up to ``block_ms`` for one; not
        at all with None), then move the cursor past them; how many were stored."""
        stream = self._journal.stream
        answer = self._redis.xread({stream: self.cursor()}, count=count, block=block_ms)
        records = answer[0][1] if answer else []
        if not records:
            return 0
        self.store(records)
        keys = (self._journal.cursor, stream)
        self._redis.eval(_ADVANCE, len(keys), *keys, records[-1][0])
        return len(records)

    def store(self, records: list[tuple[bytes, dict]]) -> None:
        """Write ``records`` (in journal order) to the database."""
        accounts: dict[str, dict] = {}
        appends: list[list[dict]] = []
        wallet: list[dict] = []
        for stream_id, fields in records:
            record_id = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
            raw_entries = fields.get(b"e") or b""
            entries = orjson.loads(raw_entries) if raw_entries else []
            for i, entry in enumerate(entries):
                entry.setdefault("_id", f"j:{record_id}:{i:04d}")
            appends.append([e for e in entries if e["type"] != WALLET_ENTRY])
            wallet += [e for e in entries if e["type"] == WALLET_ENTRY]
            raw_account = fields.get(b"a") or b""
            if raw_account:
                doc = orjson.loads(raw_account)
                accounts[doc["_id"]] = doc  # a user's records come in version order
        self.log.append_many(appends)
        self.wallet.append(wallet)
        self.accounts.put_newer(list(accounts.values()))

    def lag(self) -> int:
        """Records not yet stored (for tests and monitoring)."""
        newest, persisted = self._journal.lag()
        return 0 if newest <= persisted else int(self._redis.xlen(self._journal.stream))


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
