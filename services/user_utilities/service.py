"""Use cases of the user-utilities service: logins, history, charts, DUMPLOG, stats.

Its trading commands (ADD, QUOTE, DISPLAY_SUMMARY) are in the shared catalogue
(common/commands.py), with every other trading command that BATCH runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..common import auditlog
from ..common.auth import Authenticator
from ..common.cache import QuoteCache
from ..common.domain import account as rules
from ..common.ledger import Command, Ledger
from ..common.presenters import log_entry, money_fields
from ..common.repositories import AccountRepository, LogRepository

RECENT_KINDS = (
    auditlog.USER_COMMAND,
    auditlog.ACCOUNT_TRANSACTION,
    auditlog.SYSTEM_EVENT,
    auditlog.ERROR_EVENT,
)


def register(
    auth: Authenticator, accounts: AccountRepository, username: str, password: str
) -> dict:
    """Create a login and an empty trading account. Errors: Conflict (name taken)."""
    auth.register(username, password)
    accounts.save(rules.Account(username))
    return {"username": username}


def login(auth: Authenticator, username: str, password: str) -> dict:
    """Exchange a password for a signed token. Errors: Unauthorized."""
    return auth.login(username, password)


def service_login(auth: Authenticator, username: str, password: str) -> dict:
    """Exchange the service credential for a service token. Errors: Unauthorized."""
    return auth.service_login(username, password)


def recent_transactions(
    log: LogRepository,
    user: str,
    limit: int,
    kinds: tuple[str, ...] = RECENT_KINDS,
    before_ms: int | None = None,
) -> list[dict]:
    """The user's newest log entries of ``kinds`` (older than ``before_ms``), newest first."""
    return [log_entry(doc) for doc in log.recent(user, limit, kinds, before_ms)]


def quote_history(quotes: QuoteCache, symbol: str) -> dict:
    """The symbol's recent quote-server prices, oldest first, for charts."""
    points = quotes.history(symbol)
    return {"symbol": symbol, "quotes": [money_fields(p) for p in points]}


def dumplog(ledger: Ledger, log: LogRepository, cmd: Command) -> Iterator[str]:
    """DUMPLOG: the log (or ``cmd.user``'s part of it) as course-schema XML, streamed.

    The DUMPLOG itself is logged first, so the dump includes it and every command
    acknowledged before it.
    """
    ledger.record(cmd)
    ledger.flush_pending_outboxes(cmd.user)  # a user's dump: that account only
    return auditlog.render_log(log.iter_all(cmd.user))


def log_stats(log: LogRepository) -> dict:
    """How many log entries there are of each type."""
    counts = log.counts()
    return {kind: counts.get(kind, 0) for kind in auditlog.ENTRY_TYPES}
