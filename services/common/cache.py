"""The Redis quote cache (cache-aside, one read path) and the per-user locks.

Keys: ``quote:<SYM>`` holds a valid quote as JSON and expires with it;
``quote-fetch:<SYM>`` is the lock that keeps one request per symbol in flight to the
quote server across every worker of every service; ``user-lock:<user>`` serialises one
user's state changes; ``account:<database>:<user>`` is the account as its last lock
holder stored it (taken with the lock, left again as it is let go);
``stats:quote-fetches:<SERVER_NAME>`` counts the requests each process sent the quote
server (each one is billed).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import orjson
import redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock

from . import events
from .clients import QuoteServerClient, RawQuote
from .errors import IdempotencyKeyReused, UpstreamUnavailable
from .timing import phase

log = logging.getLogger(__name__)

HISTORY_LENGTH = 100  # quotes kept per symbol for price charts
ACCOUNT_CACHE_TTL_MS = 600_000  # an account left in the cache, for its user's next command
FETCHES_KEY = "stats:quote-fetches:"  # + the asking process's SERVER_NAME: billed requests
QUOTES_CHANNEL = events.QUOTES  # pub/sub: every fresh quote


def account_channel(user: str) -> str:
    """Pub/sub channel announcing changes to ``user``'s account (by their version); the
    events gateway sends the account to whoever follows it."""
    return events.user_topic(events.ACCOUNT, user)


@dataclass(frozen=True)
class Quote:
    """A valid quote, and whether getting it cost a real quote-server hit."""

    raw: RawQuote
    fetched_ms: int
    hit: bool

    @property
    def price(self) -> int:
        return self.raw.price


def quote_fetches(client: redis.Redis) -> dict[str, int]:
    """How many requests each process (by SERVER_NAME) has sent the quote server."""
    keys = list(client.scan_iter(match=FETCHES_KEY + "*"))
    counts = client.mget(keys) if keys else []
    return {
        key.decode().removeprefix(FETCHES_KEY): int(n)
        for key, n in zip(keys, counts, strict=True)
        if n is not None
    }


class QuoteCache:
    """Valid quotes for ``ttl_s`` seconds after they were fetched from the quote server."""

    def __init__(
        self,
        client: redis.Redis,
        quotes: QuoteServerClient,
        ttl_s: float,
        fetch_timeout_s: float,
        clock_ms: Callable[[], int],
        origin: str = "dts",
    ):
        self._redis = client
        self._fetches_key = FETCHES_KEY + origin
        self._quotes = quotes
        self._ttl_ms = int(ttl_s * 1000)
        self._fetch_timeout_s = fetch_timeout_s
        self._clock_ms = clock_ms
        # The valid quotes this process has seen: the same as Redis holds until they
        # expire, so most lookups need no round trip.
        self._seen: dict[str, Quote] = {}

    def get(self, symbol: str, user: str) -> Quote:
        """The valid quote for ``symbol``, fetching it (once, for everyone) if needed."""
        seen = self._seen.get(symbol)
        if seen is not None and self._valid(seen.fetched_ms):
            return seen
        with phase("quote"):
            quote = self._get(symbol, user)
        self._seen[symbol] = replace(quote, hit=False)
        return quote

    def _valid(self, fetched_ms: int) -> bool:
        # Redis expiry has millisecond precision; re-check so a quote is never used late.
        return self._clock_ms() - fetched_ms < self._ttl_ms

    def _get(self, symbol: str, user: str) -> Quote:
        try:
            cached = self._lookup(symbol)
            if cached:
                return cached
            # Everyone who missed waits here; the first in fetches, the rest find it cached.
            lock = self._redis.lock(
                f"quote-fetch:{symbol}",
                timeout=self._fetch_timeout_s + 1,
                blocking_timeout=self._fetch_timeout_s + 2,
                sleep=0.005,
            )
            if not lock.acquire():
                raise UpstreamUnavailable(f"timed out waiting for a quote for {symbol}")
            try:
                cached = self._lookup(symbol)
                if cached:
                    return cached
                # Counted before asking: a request the quote server bills but whose
                # reply never arrives is counted too (the cost is the platform's).
                self._redis.incr(self._fetches_key)
                raw = self._quotes.fetch(symbol, user)
                fetched = self._clock_ms()
                self._store(raw, fetched)
                return Quote(raw, fetched, hit=True)
            finally:
                try:
                    lock.release()
                except LockError:
                    pass  # it expired while the quote server was slow; nothing to undo
        except RedisError as exc:
            raise UpstreamUnavailable(f"quote cache unavailable: {exc}") from exc

    def _store(self, raw: RawQuote, fetched_ms: int) -> None:
        """Cache a fresh quote, remember it in the symbol's history and announce it."""
        symbol = raw.symbol
        point = json.dumps({"price": raw.price, "quoted_at": fetched_ms})
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(
            f"quote:{symbol}",
            json.dumps({"raw": asdict(raw), "fetched_ms": fetched_ms}),
            px=self._ttl_ms,
        )
        pipe.lpush(f"quote-history:{symbol}", point)
        pipe.ltrim(f"quote-history:{symbol}", 0, HISTORY_LENGTH - 1)
        pipe.publish(QUOTES_CHANNEL, json.dumps({"symbol": symbol, **json.loads(point)}))
        pipe.execute()

    def history(self, symbol: str) -> list[dict]:
        """The symbol's last quotes from the quote server, oldest first (prices in cents)."""
        try:
            points = self._redis.lrange(f"quote-history:{symbol}", 0, HISTORY_LENGTH - 1)
        except RedisError as exc:
            raise UpstreamUnavailable(f"quote cache unavailable: {exc}") from exc
        return [json.loads(p) for p in reversed(points)]

    def _lookup(self, symbol: str) -> Quote | None:
        cached = self._redis.get(f"quote:{symbol}")
        if cached is None:
            return None
        data = json.loads(cached)
        if not self._valid(data["fetched_ms"]):
            return None
        return Quote(RawQuote(**data["raw"]), data["fetched_ms"], hit=False)


class LockLost(Exception):
    """A user's lock expired while held: the run must not be stored.

    Not a PlatformError, so no use case mistakes it for one command's failure.
    """

    def __init__(self, error: UpstreamUnavailable):
        super().__init__(error.message)
        self.error = error


def _mark_key(user: str) -> str:
    """Redis key of the version of ``user``'s account whose log entries are logged."""
    return f"outbox-logged:{user}"


def _queue_mark(pipe: redis.client.Pipeline, user: str, version: int, announce: bool) -> None:
    pipe.set(_mark_key(user), version)
    if announce:
        pipe.publish(account_channel(user), str(version))


# Takes a user's lock and, only if it got it, reads the outbox mark and takes the cached
# account out of the cache: while the lock is held nobody else can read a copy that the
# holder may be about to make stale.
_TAKE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {1, redis.call('get', KEYS[2]), redis.call('getdel', KEYS[3])}
end
return {0}
"""
# Lets a user's lock go and, only if it was still the caller's, leaves the account
# (ARGV[2], when not empty) in the cache. A holder whose lock expired leaves nothing.
_GIVE_BACK = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[2] ~= '' then
    redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
redis.call('del', KEYS[1])
return 1
"""


# The journal's version of _TAKE (LEDGER_STORE=journal): the account stays in Redis, where
# it is the newest version (the journal's), and the lock itself is kept out of the
# append-only file (REPL_NONE): a lock need not survive a restart of Redis, and a write
# that reaches the file would make its caller wait for the file's fsync.
_TAKE_JOURNALED = """
redis.set_repl(redis.REPL_NONE)
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {1, redis.call('get', KEYS[2]), redis.call('get', KEYS[3])}
end
return {0}
"""
# Commits a run and lets the lock go, atomically (LEDGER_STORE=journal). KEYS: the lock,
# the account, the journal stream, the outbox mark. ARGV: the lock's token, the account
# as stored ('' when the run changed none), the run's entries as JSON ('' for none), the
# user, the channel to announce the new version on ('' for none), that version, the
# outbox mark to set ('' for none). A changed account is stored only if the lock is
# still the caller's (returns 0 otherwise, having stored nothing); entries of a run that
# changed no account are journaled whatever became of the lock (they record what
# happened, as the log does in the database store). Returns 1 if the lock was ours.
_COMMIT = """
local ours = redis.call('get', KEYS[1]) == ARGV[1]
if ARGV[2] ~= '' then
    if not ours then
        return {0, 0}
    end
    redis.call('set', KEYS[2], ARGV[2])
end
if ARGV[2] ~= '' or ARGV[3] ~= '' then
    redis.call('xadd', KEYS[3], '*', 'u', ARGV[4], 'a', ARGV[2], 'e', ARGV[3])
end
if ARGV[7] ~= '' then
    redis.call('set', KEYS[4], ARGV[7])
end
-- How far behind the persister is: the age of the oldest record it has not stored
-- (KEYS[5] is its cursor), in ms; the ledger slows its callers down beyond a limit.
local lag = 0
local cursor = redis.call('get', KEYS[5]) or '0-0'
local first = redis.call('xrange', KEYS[3], '(' .. cursor, '+', 'COUNT', 1)
if first[1] then
    local now = redis.call('time')
    local ms = tonumber(string.match(first[1][1], '^(%d+)-'))
    lag = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - ms
end
if not ours then
    return {0, lag}
end
if ARGV[5] ~= '' then
    redis.call('publish', ARGV[5], ARGV[6])
end
redis.set_repl(redis.REPL_NONE)
redis.call('del', KEYS[1])
return {1, lag}
"""


class _AccountLock(Lock):
    """A user's lock that, as it is taken, reads the user's outbox mark and takes the
    cached account, and as it is let go sets the mark (and announces the change) and
    leaves the account as stored: no round trips beyond the lock's own two."""

    def __init__(
        self,
        client: redis.Redis,
        user: str,
        timeout_s: float,
        cache_key: str,
        journal: str | None = None,
    ):
        super().__init__(
            client,
            f"user-lock:{user}",
            timeout=timeout_s,
            blocking_timeout=timeout_s,
            sleep=0.002,
            thread_local=False,  # one holder, one thread; no thread-local lookups
        )
        self.user = user
        self.cache_key = cache_key
        self.mark: bytes | None = None  # the mark when the lock was taken
        self.cached: bytes | None = None  # the account taken from the cache, if it was there
        self.to_mark: tuple[int, bool] | None = None  # (version, announce) to set at release
        self.to_cache: bytes | None = None  # the account to leave in the cache at release
        self.journal = journal  # the journal's stream key, with LEDGER_STORE=journal
        self.committed = False  # let go by commit() (journal): nothing left to release

    def do_acquire(self, token: str) -> bool:
        # EVAL: Redis keeps the compiled script by its hash, and a restarted Redis needs
        # no SCRIPT LOAD first.
        keys = (self.name, _mark_key(self.user), self.cache_key)
        script = _TAKE if self.journal is None else _TAKE_JOURNALED
        taken = self.redis.eval(script, len(keys), *keys, token, int(self.timeout * 1000))
        if not taken[0]:
            return False
        self.mark, self.cached = taken[1], taken[2]
        return True

    def commit(
        self, account: bytes | None, entries: bytes, announce: int | None
    ) -> tuple[bool, int]:
        """Journal the run, store ``account`` (if not None) and let the lock go, in one
        script (LEDGER_STORE=journal); whether the lock was still ours, and how far (ms)
        the persister is behind."""
        token = self.local.token
        # The persister's cursor (common/journal.py's cursor_key).
        cursor = self.journal.replace("journal:", "journal-persisted:", 1)
        keys = (self.name, self.cache_key, self.journal, _mark_key(self.user), cursor)
        mark = "" if self.to_mark is None else str(self.to_mark[0])
        channel = "" if announce is None else account_channel(self.user)
        done = self.redis.eval(
            _COMMIT,
            len(keys),
            *keys,
            token,
            account or b"",
            entries,
            self.user,
            channel,
            "" if announce is None else str(announce),
            mark,
        )
        self.committed = True
        return bool(done[0]), int(done[1])

    def release(self) -> None:
        if self.committed:
            return
        super().release()

    def do_release(self, expected_token: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        if self.to_mark is not None:
            _queue_mark(pipe, self.user, *self.to_mark)
        pipe.eval(
            _GIVE_BACK,
            2,
            self.name,
            self.cache_key,
            expected_token,
            self.to_cache or b"",
            ACCOUNT_CACHE_TTL_MS,
        )
        if not pipe.execute()[-1]:
            raise LockNotOwnedError("the lock expired before it was released", lock_name=self.name)


class HeldLock:
    """A user's lock while held: ``keep`` extends it before it can expire; the outbox
    mark it read when taken, and the one to set when it is let go; the cached account
    it took, and the one to leave."""

    def __init__(self, lock: _AccountLock, timeout_s: float):
        self._lock = lock
        self._timeout_s = timeout_s
        self._since = time.monotonic()

    def is_logged(self, version: int) -> bool:
        """Whether, when the lock was taken, ``version``'s entries were known logged."""
        return self._lock.mark == str(version).encode()

    def mark_logged(self, version: int, announce: bool = False) -> None:
        """Mark ``version``'s entries logged (and, with ``announce``, tell live views it
        was saved) in the round trip that lets the lock go. A lost mark costs one
        redundant insert at the next command; a lost announcement delays a live view."""
        self._lock.to_mark = (version, announce)

    @property
    def cached(self) -> bytes | None:
        """The account as the last holder stored it, if the cache had it."""
        return self._lock.cached

    def leave_cached(self, account: bytes) -> None:
        """Leave ``account`` (encoded as stored) for the next holder as the lock is let
        go, if it is still ours then. Only what the database holds may be left: a copy
        that is not is caught by the version guard of the next write."""
        self._lock.to_cache = account

    def commit(self, account: bytes | None, entries: list[dict], announce: int | None) -> int:
        """Journal a run's ``entries`` and, if it changed the account, store ``account``
        (encoded as stored) and announce version ``announce``; let the lock go, all in
        one round trip (LEDGER_STORE=journal). Durable when it returns: Redis answers
        after its append-only file is fsynced. LockLost, having stored nothing, if the
        run changed the account and the lock is no longer ours. Returns how far (ms) the
        persister is behind the journal."""
        payload = orjson.dumps(entries) if entries else b""
        try:
            with phase("write"):
                ours, lag_ms = self._lock.commit(account, payload, announce)
        except RedisError as exc:
            raise UpstreamUnavailable(f"journal unavailable: {exc}") from exc
        if not ours and account is not None:
            raise LockLost(UpstreamUnavailable("lost the lock on the account; retry"))
        if not ours:
            log.warning("the lock on %s expired before it was let go", self._lock.user)
        return lag_ms

    def keep(self) -> None:
        """Reset the lock's expiry once half of it has passed; LockLost if it expired."""
        if time.monotonic() - self._since < self._timeout_s / 2:
            return
        self.renew()

    def renew(self) -> None:
        """Reset the lock's expiry to its full length now, if the lock is still ours
        (one atomic check-and-extend); LockLost if it is not.

        Called right before the account is written: a holder that paused past its lock
        (a slow quote, a stalled process, a queue for the database) learns it lost the
        lock before it writes, not after, and the write then has the whole timeout.
        """
        try:
            self._lock.reacquire()
        except (LockError, RedisError) as exc:
            raise LockLost(UpstreamUnavailable(f"lost the lock on the account: {exc}")) from exc
        self._since = time.monotonic()


class UserLocks:
    """Short Redis locks that serialise each user's state changes across all processes.

    FerretDB applies updates as read-then-write, so a guard in the update filter alone is
    not atomic there; holding this lock around read-change-write is.

    The lock also carries the account between holders (``HeldLock.cached``), so a
    command need not read it from the database. Cached accounts are kept per database
    (``namespace``): processes on different databases may share one Redis.
    """

    def __init__(
        self, client: redis.Redis, timeout_s: float, namespace: str, journal: str | None = None
    ):
        self._redis = client
        self._timeout_s = timeout_s
        self._namespace = namespace
        self._journal = journal  # the journal's stream key (LEDGER_STORE=journal)

    @contextmanager
    def hold(self, user: str) -> Iterator[HeldLock]:
        cache_key = f"account:{self._namespace}:{user}"
        lock = _AccountLock(self._redis, user, self._timeout_s, cache_key, self._journal)
        try:
            with phase("lock"):
                # A random token: redis-py's default (uuid1) asks libuuid for a time-based
                # id, which took ~0.7 ms per lock in cProfile on this machine.
                acquired = lock.acquire(token=secrets.token_hex(16))
        except RedisError as exc:
            raise UpstreamUnavailable(f"lock service unavailable: {exc}") from exc
        if not acquired:
            raise UpstreamUnavailable(f"account {user} is busy; retry")
        try:
            yield HeldLock(lock, self._timeout_s)
        finally:
            try:
                with phase("unlock"):
                    lock.release()
            except (LockError, RedisError) as exc:
                # The write (if any) was made under the lock, renewed right before it;
                # this means the write itself outlasted the lock: worth knowing.
                log.warning("the lock on %s expired before it was let go: %r", user, exc)


# Admits ``symbol`` to the set of symbols the trigger checker watches if it is there
# already or the set has room; one atomic step, so concurrent armings cannot overfill it.
_ADMIT = """
if redis.call('sismember', KEYS[1], ARGV[1]) == 1 then
    return 1
end
if redis.call('scard', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('sadd', KEYS[1], ARGV[1])
    return 1
end
return 0
"""


class ArmedSymbols:
    """The distinct symbols with an armed trigger, bounded platform-wide: each one costs
    a billed quote per QUOTE_TTL_S while armed (the trigger checker's).

    A Redis set per database (``armed-symbols:<database>``): a SET_*_TRIGGER admits its
    symbol (if there is room), and every trigger-checker pass replaces the set with the
    symbols armed in the database, so disarmed ones leave it. Without Redis, or between a
    Redis restart and the next pass, arming is admitted.
    """

    def __init__(self, client: redis.Redis, limit: int, namespace: str):
        self._redis = client
        self._limit = limit
        self._key = f"armed-symbols:{namespace}"

    def admit(self, symbol: str) -> bool:
        """Whether ``symbol`` may be armed: already watched, or room for one more."""
        try:
            return bool(self._redis.eval(_ADMIT, 1, self._key, symbol, self._limit))
        except RedisError:
            return True

    @property
    def limit(self) -> int:
        return self._limit

    def replace(self, symbols: Iterable[str]) -> None:
        """The set becomes ``symbols`` (the armed ones, as the trigger checker read them)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._key)
        symbols = list(symbols)
        if symbols:
            pipe.sadd(self._key, *symbols)
        try:
            pipe.execute()
        except RedisError:
            pass


class Answers:
    """The answer to each request sent with an Idempotency-Key, kept for a window
    (IDEMPOTENCY_WINDOW_S, 24 h by default) whatever it was: a success or a refusal
    (4xx). A retry within the window gets the same answer and runs nothing.

    ``answer:<database>:<user>:<key>`` holds ``{fp, status, body}`` and expires with the
    window. The account keeps its newest answers too, in the same write as the change
    they answer (``Ledger``): that short guard is exact; this one is long and could be
    lost with Redis, which then only shortens the window.
    """

    def __init__(self, client: redis.Redis, window_s: int, namespace: str):
        self._redis = client
        self._window_s = window_s
        self._namespace = namespace

    def _key(self, user: str, key: str) -> str:
        return f"answer:{self._namespace}:{user}:{key}"

    def first(self, user: str, key: str | None, fingerprint: str) -> dict | None:
        """The kept ``{"status", "body"}`` for ``key``, or None; IdempotencyKeyReused if
        the key came with a different request."""
        if not key:
            return None
        try:
            kept = self._redis.get(self._key(user, key))
        except RedisError:
            return None  # the account's own guard still holds
        if kept is None:
            return None
        record = json.loads(kept)
        if record["fp"] != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key} was already used for a different request"
            )
        return {"status": record["status"], "body": record["body"]}

    def keep(self, user: str, key: str | None, fingerprint: str, status: int, body) -> None:
        """Keep the answer to ``key`` for the window (the first one kept stays)."""
        if not key:
            return
        record = json.dumps({"fp": fingerprint, "status": status, "body": body})
        try:
            self._redis.set(self._key(user, key), record, ex=self._window_s, nx=True)
        except RedisError:
            pass


class TransactionNumbers:
    """Hands out transaction numbers for commands that do not bring their own."""

    KEY = "txn:next"
    # Start above any workload's [n] so numbers typed in the UI stand apart in the log.
    FIRST = 10_000_000

    def __init__(self, client: redis.Redis):
        self._redis = client

    def next(self) -> int:
        return self.take(1)[0]

    def take(self, count: int) -> range:
        """``count`` consecutive numbers in one round trip."""
        try:
            last = self.FIRST + int(self._redis.incrby(self.KEY, count))
        except RedisError as exc:
            raise UpstreamUnavailable(f"cache unavailable: {exc}") from exc
        return range(last - count + 1, last + 1)


class OutboxMarks:
    """Which account version's log entries are known to be in the log (Redis).

    Only a fast path: without a mark (never set, or lost with a Redis restart) the ledger
    inserts the outbox again, which the log's unique ids make harmless. Asking the log
    itself would be exact but, on FerretDB/SQLite, reads the whole collection.
    """

    def __init__(self, client: redis.Redis):
        self._redis = client

    def logged(self, user: str, version: int, announce: bool = False) -> None:
        """Mark ``version`` logged and, with ``announce``, tell live views it was saved.

        One round trip for both; a lost mark costs one redundant insert at the next
        command, a lost announcement only delays a live view.
        """
        pipe = self._redis.pipeline(transaction=False)
        _queue_mark(pipe, user, version, announce)
        try:
            pipe.execute()
        except RedisError:
            pass

    def unlogged(self, versions: dict[str, int], chunk: int = 1000) -> list[str]:
        """The users whose version in ``versions`` has no mark (all of them without Redis)."""
        users = list(versions)
        try:
            marks = [
                m
                for i in range(0, len(users), chunk)
                for m in self._redis.mget([_mark_key(u) for u in users[i : i + chunk]])
            ]
        except RedisError:
            return users
        return [u for u, m in zip(users, marks, strict=True) if m != str(versions[u]).encode()]


# Writes ``<version>|<watch JSON>`` (empty JSON: nothing watched) for a user unless the
# stored entry is of the same or a newer version, so no write, however late, goes back.
_SET_NEWER = """
local current = redis.call('hget', KEYS[1], ARGV[1])
if current then
    local version = tonumber(string.match(current, '^(%d+)|'))
    if version and version >= tonumber(ARGV[2]) then
        return 0
    end
end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return 1
"""


class CoinWatch:
    """The coin checker's view of what to watch, in Redis: for each user with a margin
    position, a stop order or a strategy, the version of their account and those parts
    of it (``coin-watch:<database>``, a hash).

    The ledger records an account's parts after each write that has or had some, so a
    pass reads one hash instead of every such account from the database. Entries only
    move forward in version. The view is rebuilt from the database when its marker
    (``coin-watch-ready:<database>``, which expires after ``REBUILD_S``) is missing, so a
    write whose record was lost (a crash between the two, a Redis restart) is caught up
    within minutes; the checker's rules read the account as stored under the lock, so
    a stale view can only delay an action, never make a wrong one.
    """

    REBUILD_S = 300

    def __init__(self, client: redis.Redis, namespace: str):
        self._redis = client
        self._key = f"coin-watch:{namespace}"
        self._ready = f"coin-watch-ready:{namespace}"

    def record(self, user: str, version: int, watch_json: str | None) -> None:
        """Note ``user``'s watched parts as of account ``version`` (None: nothing)."""
        try:
            self._redis.eval(_SET_NEWER, 1, self._key, user, version, watch_json or "")
        except RedisError:
            pass  # the next rebuild catches up

    def view(self) -> dict[str, str] | None:
        """User -> watch JSON of every user with something watched; None when the view
        must be rebuilt first."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(self._ready)
        pipe.hgetall(self._key)
        ready, entries = pipe.execute()
        if not ready:
            return None
        view = {}
        for user, entry in entries.items():
            _, _, watch = entry.decode().partition("|")
            if watch:
                view[user.decode()] = watch
        return view

    def rebuild(self, stored: list[tuple[str, int, str | None]]) -> None:
        """Record every (user, version, watch JSON) read from the database, then mark the
        view ready for ``REBUILD_S`` seconds."""
        pipe = self._redis.pipeline(transaction=False)
        for user, version, watch_json in stored:
            pipe.eval(_SET_NEWER, 1, self._key, user, version, watch_json or "")
        pipe.set(self._ready, 1, ex=self.REBUILD_S)
        pipe.execute()
