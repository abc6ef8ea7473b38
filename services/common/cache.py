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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock

from . import events
from .clients import QuoteServerClient, RawQuote
from .errors import UpstreamUnavailable
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


class _AccountLock(Lock):
    """A user's lock that, as it is taken, reads the user's outbox mark and takes the
    cached account, and as it is let go sets the mark (and announces the change) and
    leaves the account as stored: no round trips beyond the lock's own two."""

    def __init__(self, client: redis.Redis, user: str, timeout_s: float, cache_key: str):
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

    def do_acquire(self, token: str) -> bool:
        # EVAL: Redis keeps the compiled script by its hash, and a restarted Redis needs
        # no SCRIPT LOAD first.
        keys = (self.name, _mark_key(self.user), self.cache_key)
        taken = self.redis.eval(_TAKE, len(keys), *keys, token, int(self.timeout * 1000))
        if not taken[0]:
            return False
        self.mark, self.cached = taken[1], taken[2]
        return True

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

    def __init__(self, client: redis.Redis, timeout_s: float, namespace: str):
        self._redis = client
        self._timeout_s = timeout_s
        self._namespace = namespace

    @contextmanager
    def hold(self, user: str) -> Iterator[HeldLock]:
        cache_key = f"account:{self._namespace}:{user}"
        lock = _AccountLock(self._redis, user, self._timeout_s, cache_key)
        try:
            with phase("lock"):
                acquired = lock.acquire()
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
