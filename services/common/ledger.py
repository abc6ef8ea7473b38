"""Runs one command against one account: lock, read, apply a rule, write, log.

Every command leaves a ``userCommand`` in the log; a failure adds an ``errorEvent``;
every cash movement an ``accountTransaction``; every quote-server hit a ``quoteServer``;
every trigger that fires a ``systemEvent``. A command is answered only after both the
account and its log entries are stored, so nothing acknowledged is missing from either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from . import auditlog
from .cache import OutboxMarks, Quote, UserLocks
from .domain import account as rules
from .domain.account import Account, Change
from .errors import IdempotencyKeyReused, NotFound, PlatformError
from .repositories import AccountRepository, LogRepository

Rule = Callable[[Account], Change]
RECENT_ENTRIES = 20  # how many of an account's own transactions it keeps to show
APPLIED_KEYS = 64  # Idempotency-Keys remembered per account (retries come within seconds)


@dataclass(frozen=True)
class Command:
    """A user command as logged: its name, number and (validated) arguments."""

    name: str
    txn: int
    user: str | None = None
    symbol: str | None = None
    funds: int | None = None
    filename: str | None = None
    quotes: tuple[Quote, ...] = field(default=())
    key: str | None = None  # the client's Idempotency-Key, if it sent one

    def with_quote(self, quote: Quote) -> Command:
        return replace(self, quotes=self.quotes + (quote,))

    @property
    def fingerprint(self) -> str:
        """What makes two requests the same request (for a reused Idempotency-Key)."""
        fields = [self.name, self.user, self.symbol, self.funds, self.filename]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


class Ledger:
    """The only way account state changes."""

    def __init__(
        self,
        accounts: AccountRepository,
        log: LogRepository,
        locks: UserLocks,
        clock_ms: Callable[[], int],
        server: str,
        pending_ttl_s: float,
        marks: OutboxMarks,
        on_saved: Callable[[str, int], None] = lambda user, version: None,
    ):
        self.accounts = accounts
        self.log = log
        self._locks = locks
        self._clock_ms = clock_ms
        self._server = server
        self._pending_ttl_ms = int(pending_ttl_s * 1000)
        self._on_saved = on_saved
        self._marks = marks

    # --- log entries ---------------------------------------------------------------

    def _command_fields(self, cmd: Command) -> dict:
        return {
            "command": cmd.name,
            "user": cmd.user,
            "symbol": cmd.symbol,
            "filename": cmd.filename,
            "funds": cmd.funds,
        }

    def _entry(self, kind: str, txn: int, **fields) -> dict:
        return auditlog.entry(kind, self._clock_ms(), self._server, txn, **fields)

    def command_entries(self, cmd: Command) -> list[dict]:
        """The userCommand and any quote-server hits the command caused."""
        entries = [self._entry(auditlog.USER_COMMAND, cmd.txn, **self._command_fields(cmd))]
        return entries + [self._quote_entry(q, cmd.txn) for q in cmd.quotes if q.hit]

    def _quote_entry(self, quote: Quote, txn: int) -> dict:
        raw = quote.raw
        return self._entry(
            auditlog.QUOTE_SERVER,
            txn,
            price=raw.price,
            symbol=raw.symbol,
            user=raw.user,
            qs_time=raw.server_time_ms,
            cryptokey=raw.cryptokey,
        )

    def error_entry(self, cmd: Command, error: PlatformError) -> dict:
        return self._entry(
            auditlog.ERROR_EVENT, cmd.txn, **self._command_fields(cmd), message=error.message
        )

    def record_failure(self, cmd: Command, error: PlatformError) -> None:
        """Log a command that failed before reaching an account (e.g. bad input)."""
        self.log.append(self.command_entries(cmd) + [self.error_entry(cmd, error)])

    def record(self, cmd: Command) -> None:
        """Log a command that changes no account (QUOTE, DUMPLOG)."""
        self.log.append(self.command_entries(cmd))

    def record_quote_hit(self, quote: Quote, txn: int) -> None:
        """Log a quote-server hit the system made on its own (the trigger checker)."""
        if quote.hit:
            self.log.append([self._quote_entry(quote, txn)])

    @contextmanager
    def logging_failures(self, cmd: Command) -> Iterator[None]:
        """Log any platform error raised inside as this command's failure, then re-raise."""
        try:
            yield
        except PlatformError as error:
            self.record_failure(cmd, error)
            raise

    # --- running commands ----------------------------------------------------------

    def answered(self, cmd: Command, account: Account) -> Mapping | None:
        """The first answer to a command retried with the same Idempotency-Key, or None.

        Raises IdempotencyKeyReused when the key came with a different request.
        """
        seen = account.applied.get(cmd.key) if cmd.key else None
        if seen is None:
            return None
        if seen["fp"] != cmd.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {cmd.key} was already used for a different request"
            )
        return seen["result"]

    def precheck(self, cmd: Command, check: Callable[[Account], None]) -> Mapping | None:
        """Before paying for a quote: the first answer if ``cmd`` is a retry, else run
        ``check`` on the current account (its errors propagate) and return None."""
        account = self.current(cmd.user)
        first = self.answered(cmd, account)
        if first is None:
            check(account)
        return first

    def current(self, user: str) -> Account:
        """The account as the next command would see it (expired trades rolled back).

        Read without the lock: for checks made before paying for a quote, which the rule
        makes again under the lock.
        """
        account = self.accounts.get(user)
        if account is None:
            raise NotFound(f"account {user} does not exist")
        return rules.expire_pending(account, self._clock_ms(), self._pending_ttl_ms).account

    def run(self, cmd: Command, rule: Rule, create: bool = False) -> Change:
        """Apply ``rule`` to ``cmd.user``'s account under the user's lock, and log it.

        Expired pending trades are rolled back first, and that roll-back is kept even
        when the rule then fails. Domain errors are logged as errorEvents and re-raised.
        """
        head = self.command_entries(cmd)
        try:
            with self._locks.hold(cmd.user):
                current = self.accounts.get(cmd.user)
                if current is None:
                    if not create:
                        raise NotFound(f"account {cmd.user} does not exist")
                    current = Account(cmd.user)
                self._flush_outbox(current)
                first = self.answered(cmd, current)
                if first is not None:  # a retry: answer as before, change and log nothing
                    return Change(current, result=first)
                change = rules.expire_pending(current, self._clock_ms(), self._pending_ttl_ms)
                error: PlatformError | None = None
                try:
                    change = change.then(rule(change.account))
                except PlatformError as exc:
                    error = exc
                tail = [self.error_entry(cmd, error)] if error else []
                self._commit(current, change, cmd.txn, head, tail, None if error else cmd)
        except PlatformError as exc:
            self.log.append(head + [self.error_entry(cmd, exc)])
            raise
        if error is not None:
            raise error
        return change

    def run_system(self, user: str, rule: Rule) -> Change:
        """Apply a rule the system starts (a trigger firing); logs only what it changed."""
        with self._locks.hold(user):
            current = self.accounts.get(user)
            if current is None:
                return Change(Account(user))
            self._flush_outbox(current)
            change = rule(current)
            self._commit(current, change, None, [], [])
        return change

    def _flush_outbox(self, account: Account) -> None:
        """Store the entries a crash kept from reaching the log, if it may have.

        Unless a mark says this version's entries were logged, they are inserted again:
        entries already there keep their ids and are skipped, so this never duplicates.
        """
        if account.outbox and not self._marks.is_logged(account.user, account.version):
            self.log.append([dict(e) for e in account.outbox])
            self._marks.logged(account.user, account.version)

    def flush_pending_outboxes(self) -> None:
        """Before a dump: log the last change of every account whose entries are missing."""
        tails = self.accounts.outbox_tails()
        for missing_id in sorted(self.log.missing(list(tails))):
            account = self.accounts.get(tails[missing_id])
            if account is not None:
                self._flush_outbox(account)

    def _commit(
        self,
        current: Account,
        change: Change,
        txn: int | None,
        head: list[dict],
        tail: list[dict],
        cmd: Command | None = None,
    ) -> None:
        """Save a changed account and log ``head``, what moved, and ``tail``.

        A changed account is written together with its log entries (its outbox), then the
        entries go to the log under ids derived from the new version, so a crash between
        the two writes is repaired by the next flush without duplicates. The account also
        keeps its newest entries as its recent-transactions statement, so DISPLAY_SUMMARY
        reads one document instead of searching the log.
        """
        user = current.user
        entries = [
            self._entry(
                auditlog.SYSTEM_EVENT,
                fired.txn,
                command=fired.command,
                user=user,
                symbol=fired.symbol,
                funds=fired.shares * fired.price,
            )
            for fired in change.fired
        ]
        entries += [
            self._entry(
                auditlog.ACCOUNT_TRANSACTION,
                move.txn or txn,
                action=move.action,
                user=user,
                funds=move.cents,
            )
            for move in change.moves
        ]
        if change.account == current:
            self.log.append(head + entries + tail)
            return
        recent = tuple(reversed(entries)) + tuple(current.recent)
        applied = dict(current.applied)
        if cmd is not None and cmd.key:
            applied[cmd.key] = {"fp": cmd.fingerprint, "result": dict(change.result)}
        version = current.version + 1
        outbox = [
            {**e, "_id": f"{user}:{version}:{i}"} for i, e in enumerate(head + entries + tail)
        ]
        updated = replace(
            change.account,
            recent=recent[:RECENT_ENTRIES],
            applied=dict(list(applied.items())[-APPLIED_KEYS:]),
            outbox=tuple(outbox),
        )
        self.accounts.save(updated)
        self.log.append(outbox)
        self._marks.logged(user, version)
        self._on_saved(user, version)
