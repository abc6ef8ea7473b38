"""Use cases of the user-utilities service."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from ..common import auditlog
from ..common.backend import Backend
from ..common.domain import account as rules
from ..common.ledger import Command
from ..common.presenters import account_summary, log_entry, money_fields

RECENT_KINDS = (
    auditlog.USER_COMMAND,
    auditlog.ACCOUNT_TRANSACTION,
    auditlog.SYSTEM_EVENT,
    auditlog.ERROR_EVENT,
)


def register(b: Backend, username: str, password: str) -> dict:
    """Create a login and an empty trading account. Errors: Conflict (name taken)."""
    b.auth.register(username, password)
    b.accounts.save(rules.Account(username))
    return {"username": username}


def login(b: Backend, username: str, password: str) -> dict:
    """Exchange a password for a signed token. Errors: Unauthorized."""
    return b.auth.login(username, password)


def add(b: Backend, cmd: Command) -> dict:
    """ADD: create the account if needed and add cash."""
    change = b.ledger.run(cmd, lambda a: rules.add_funds(a, cmd.funds), create=True)
    return money_fields(change.result)


def quote(b: Backend, cmd: Command) -> dict:
    """QUOTE: the symbol's price, from the cache while valid. Errors: NotFound, Upstream."""
    with b.ledger.logging_failures(cmd):
        b.ledger.current(cmd.user)  # the account must exist; no quote hit otherwise
        got = b.quotes.get(cmd.symbol, cmd.user)
    b.ledger.record(cmd.with_quote(got))
    valid_ms = int(b.settings.quote_ttl_s * 1000) - (b.clock_ms() - got.fetched_ms)
    return money_fields(
        {
            "symbol": got.raw.symbol,
            "price": got.price,
            "quoted_at": got.fetched_ms,
            "seconds_valid": max(0, valid_ms // 1000),
            "from_cache": not got.hit,
        }
    )


def display_summary(b: Backend, cmd: Command) -> dict:
    """DISPLAY_SUMMARY: cash, holdings, pending trades, setups and recent transactions."""
    change = b.ledger.run(cmd, lambda a: rules.Change(a))
    ttl_ms = int(b.settings.pending_ttl_s * 1000)
    summary = account_summary(change.account, b.clock_ms(), ttl_ms)
    summary["recent_transactions"] = [log_entry(e) for e in change.account.recent]
    return summary


def recent_transactions(
    b: Backend,
    user: str,
    limit: int,
    kinds: tuple[str, ...] = RECENT_KINDS,
    before_ms: int | None = None,
) -> list[dict]:
    """The user's newest log entries of ``kinds`` (older than ``before_ms``), newest first."""
    return [log_entry(doc) for doc in b.log.recent(user, limit, kinds, before_ms)]


def account_view(b: Backend, user: str) -> dict:
    """The account as DISPLAY_SUMMARY shows it, read without running (or logging) a command.

    Errors: NotFound.
    """
    account = b.ledger.current(user)
    summary = account_summary(account, b.clock_ms(), int(b.settings.pending_ttl_s * 1000))
    summary["recent_transactions"] = [log_entry(e) for e in account.recent]
    return summary


def quote_history(b: Backend, symbol: str) -> dict:
    """The symbol's recent quote-server prices, oldest first, for charts."""
    points = b.quotes.history(symbol)
    return {"symbol": symbol, "quotes": [money_fields(p) for p in points]}


def account_events(b: Backend, user: str, max_seconds: float = 300.0) -> Iterator[str]:
    """Server-Sent Events: ``account`` now and after every change, ``quote`` per fresh quote.

    The stream ends after ``max_seconds`` (clients reconnect), so an idle browser cannot
    hold a server thread for ever; a comment every 15 s keeps proxies from timing out.
    """
    pubsub = b.notifications.subscribe(user)
    deadline = time.monotonic() + max_seconds
    try:
        yield _sse("account", account_view(b, user))
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=15.0)
            if message is None:
                yield ": keep-alive\n\n"
            elif message["channel"] == b"quotes":
                yield _sse("quote", money_fields(json.loads(message["data"])))
            else:
                yield _sse("account", account_view(b, user))
    finally:
        pubsub.close()


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def dumplog(b: Backend, cmd: Command) -> Iterator[str]:
    """DUMPLOG: the log (or ``cmd.user``'s part of it) as course-schema XML, streamed.

    The DUMPLOG itself is logged first, so the dump includes it and every command
    acknowledged before it.
    """
    b.ledger.record(cmd)
    b.ledger.flush_pending_outboxes()
    return auditlog.render_log(b.log.iter_all(cmd.user))


def log_stats(b: Backend) -> dict:
    """How many log entries there are of each type."""
    counts = b.log.counts()
    return {kind: counts.get(kind, 0) for kind in auditlog.ENTRY_TYPES}
