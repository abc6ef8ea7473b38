"""Runs commands against one account: lock, read, apply rules, write, log.

A run is one command (``Ledger.run``) or a user's consecutive commands sent as a batch
(``Ledger.session``): either way the account is read once under the user's lock and
written once, with the log entries of the whole run.

Every command leaves a ``userCommand`` in the log; a failure adds an ``errorEvent``;
every cash movement an ``accountTransaction``; every quote-server hit a ``quoteServer``;
every trigger that fires a ``systemEvent``. A command is answered only after both the
account and its log entries are stored, so nothing acknowledged is missing from either.

Only the course's commands (``auditlog.COURSE_COMMANDS``) leave a ``userCommand`` or an
``errorEvent``: the platform's other commands (coin orders) log only the cash they move,
as ``accountTransaction``s, so the DUMPLOG stays valid against the course schema.

Coin movements (``Change.movements``: coins bought or sold, deposits, withdrawals) become
entries of the double-entry wallet ledger (``WALLET_ENTRY``: ``asset``, ``units``,
``from``, ``to``, ``reason``, ``ref``), stored exactly as the audit-log entries are: in
the account's outbox, in the same write as the account, then inserted into the
``wallet_ledger`` collection under ids derived from the account's version.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from . import auditlog
from .cache import CoinWatch, HeldLock, LockLost, OutboxMarks, Quote, UserLocks
from .domain import account as rules
from .domain.account import Account, Change
from .domain.assets import AssetMove
from .errors import IdempotencyKeyReused, NotFound, PlatformError
from .repositories import (
    AccountRepository,
    LogRepository,
    WalletLedgerRepository,
    watch_json,
)

Rule = Callable[[Account], Change]
RECENT_ENTRIES = 20  # how many of an account's own transactions it keeps to show
APPLIED_KEYS = 16  # Idempotency-Keys remembered per account (retries come within seconds)
APPLIED_WEIGHT = 128  # and at most this many answers in them (a batch's count one each)
WALLET_ENTRY = "walletEntry"  # the type of a wallet-ledger entry in an account's outbox
JOURNAL_LAG_LIMIT_MS = 1000  # beyond this persister lag, new runs wait (LEDGER_STORE=journal)


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
    units: int | None = None  # a coin amount (coin orders), in units of 10^-8
    terms: str | None = None  # the rest of a platform command's request (margin: side:lev)

    def with_quote(self, quote: Quote) -> Command:
        return replace(self, quotes=self.quotes + (quote,))

    @property
    def fingerprint(self) -> str:
        """What makes two requests the same request (for a reused Idempotency-Key)."""
        fields = [self.name, self.user, self.symbol, self.funds, self.filename]
        if self.units is not None:  # (so fingerprints of the stock commands are unchanged)
            fields.append(self.units)
        if self.terms is not None:
            fields.append(self.terms)
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


class CommandRunner:
    """What use cases call to run commands: the ledger itself, or a batch's session."""

    def current(self, user: str) -> Account:
        raise NotImplementedError

    def record_failure(self, cmd: Command, error: PlatformError) -> None:
        raise NotImplementedError

    @contextmanager
    def logging_failures(self, cmd: Command) -> Iterator[None]:
        """Log any platform error raised inside as this command's failure, then re-raise."""
        try:
            yield
        except PlatformError as error:
            self.record_failure(cmd, error)
            raise

    def answered(self, cmd: Command, account: Account) -> Mapping | None:
        """The first answer to a command retried with the same Idempotency-Key, or None.

        Raises IdempotencyKeyReused when the key came with a different request.
        """
        return _first_answer(account, cmd.key, cmd.fingerprint)

    def precheck(self, cmd: Command, check: Callable[[Account], None]) -> Mapping | None:
        """Before paying for a quote: the first answer if ``cmd`` is a retry, else run
        ``check`` on the current account (its errors propagate) and return None."""
        account = self.current(cmd.user)
        first = self.answered(cmd, account)
        if first is None:
            check(account)
        return first


class Ledger(CommandRunner):
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
        wallet: WalletLedgerRepository,
        watch: CoinWatch | None = None,
        announce: bool = True,
        journaled: bool = False,
    ):
        self.accounts = accounts
        self.log = log
        self.wallet = wallet
        self._watch = watch  # the coin checker's view, kept current after each write
        self._locks = locks
        self.clock_ms = clock_ms
        self._server = server
        self.pending_ttl_ms = int(pending_ttl_s * 1000)
        self._announce = announce  # publish each saved change (live views listen)
        self._marks = marks
        # LEDGER_STORE=journal: a run is stored by the script that lets its lock go
        # (common/journal.py); otherwise in the database, then the lock is let go.
        self._journaled = journaled
        self._journal_lag_ms = 0  # how far the persister was behind at this process's last commit

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
        return auditlog.entry(kind, self.clock_ms(), self._server, txn, **fields)

    @staticmethod
    def logs_command(cmd: Command) -> bool:
        """Whether ``cmd`` is one of the course's commands, logged as userCommand."""
        return cmd.name in auditlog.COURSE_COMMANDS

    def command_entries(self, cmd: Command) -> list[dict]:
        """The userCommand (course commands only) and any quote-server hits it caused."""
        entries = []
        if self.logs_command(cmd):
            entries.append(self._entry(auditlog.USER_COMMAND, cmd.txn, **self._command_fields(cmd)))
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

    def error_entries(self, cmd: Command, error: PlatformError) -> list[dict]:
        """The errorEvent of a failed course command (none for the platform's own)."""
        return [self.error_entry(cmd, error)] if self.logs_command(cmd) else []

    def failure_entries(self, cmd: Command, error: PlatformError) -> list[dict]:
        """A failed command's userCommand, quote-server hits and errorEvent."""
        return self.command_entries(cmd) + self.error_entries(cmd, error)

    def record_failure(self, cmd: Command, error: PlatformError) -> None:
        """Log a command that failed before reaching an account (e.g. bad input)."""
        self.log.append(self.failure_entries(cmd, error))

    def record(self, cmd: Command) -> None:
        """Log a command that changes no account (QUOTE, DUMPLOG)."""
        self.log.append(self.command_entries(cmd))

    def record_quote_hit(self, quote: Quote, txn: int) -> None:
        """Log a quote-server hit the system made on its own (the trigger checker)."""
        if quote.hit:
            self.log.append([self._quote_entry(quote, txn)])

    # --- running commands ----------------------------------------------------------

    def current(self, user: str) -> Account:
        """The account as the next command would see it (expired trades rolled back).

        Read without the lock: for checks made before paying for a quote, which the rule
        makes again under the lock.
        """
        account = self.accounts.get(user)
        if account is None:
            raise NotFound(f"account {user} does not exist")
        return self.expire(account).account

    def expire(self, account: Account) -> Change:
        """``account`` with its expired pending trades rolled back (what that moved)."""
        return rules.expire_pending(account, self.clock_ms(), self.pending_ttl_ms)

    def run(self, cmd: Command, rule: Rule, create: bool = False) -> Change:
        """Apply ``rule`` to ``cmd.user``'s account under the user's lock, and log it.

        Expired pending trades are rolled back first, and that roll-back is kept even
        when the rule then fails. Domain errors are logged as errorEvents and re-raised.
        """
        with self.session(cmd.user, (cmd,)) as account:
            return account.run(cmd, rule, create)

    def run_system(self, user: str, rule: Rule) -> Change:
        """Apply a rule the system starts (a trigger firing); logs only what it changed."""
        with self.session(user, ()) as account:
            return account.run_system(rule)

    @contextmanager
    def session(self, user: str, cmds: Sequence[Command]) -> Iterator[AccountSession]:
        """Hold ``user``'s account for a run of commands: lock and read once, write once.

        Inside, the session answers the same calls as the ledger (run, precheck,
        current, record, logging_failures) against the account in memory; on leaving,
        the account and every log entry of the run are stored in one write, as one
        command's would be. A domain error raised inside is stored with the run, then
        re-raised. If the lock or the final write fails, nothing of the run is applied:
        each of ``cmds`` is logged with that error, which propagates.
        """
        raised: PlatformError | None = None
        session: AccountSession | None = None
        if self._journal_lag_ms > JOURNAL_LAG_LIMIT_MS:
            # The persister is behind (batches arrive faster than the database takes them):
            # wait a little, so the lag, and what a DUMPLOG waits for, stays bounded.
            time.sleep(min(0.5, (self._journal_lag_ms - JOURNAL_LAG_LIMIT_MS) / 1000))
        try:
            with self._locks.hold(user) as lock:
                stored = self._read(user, lock)
                if stored is not None:
                    self._flush_outbox(stored, lock)
                session = AccountSession(self, user, stored, lock)
                try:
                    yield session
                except PlatformError as exc:  # already in the run's entries
                    raised = exc
                session.commit()
                if not session.changed and stored is not None and not self._journaled:
                    lock.leave_cached(lock.cached or self.accounts.encode(stored))
        except (PlatformError, LockLost) as exc:
            error = exc if isinstance(exc, PlatformError) else exc.error
            # The quote-server hits the run paid for are logged even so.
            hits = session.quote_hits() if session is not None else []
            self.log.append(hits + [e for c in cmds for e in self.failure_entries(c, error)])
            raise error from None
        if raised is not None:
            raise raised

    def _read(self, user: str, lock: HeldLock) -> Account | None:
        """The account as last stored: the copy its lock carried, else the database's.

        The copy is left by the last holder as it let the lock go, and only after its
        write succeeded; a holder that died, or lost the lock, left none.
        """
        if lock.cached is not None:
            return self.accounts.decode(lock.cached)
        return self.accounts.get(user)

    def _flush_outbox(self, account: Account, lock: HeldLock) -> None:
        """Store the entries a crash kept from reaching the log, if it may have.

        Unless the mark read with the lock says this version's entries were logged, they
        are inserted again: entries already there keep their ids and are skipped, so
        this never duplicates.
        """
        if account.outbox and not lock.is_logged(account.version):
            self._publish(account.outbox)
            lock.mark_logged(account.version)

    def flush_pending_outboxes(self, user: str | None = None) -> None:
        """Before a dump: log the last change of every account (or only ``user``'s, for
        a dump of one user's log) whose entries may be missing.

        An account whose mark says its last change was logged is skipped (one Redis
        round trip for all of them); the others are inserted again, harmlessly (also
        when a command changed the account since). A user's own dump reads one account,
        not every account's version.
        """
        if user is not None:
            account = self.accounts.get(user)
            if (
                account is not None
                and account.outbox
                and self._marks.unlogged({user: account.version})
            ):
                self._log_outbox(account)
            return
        versions = self.accounts.outbox_versions()
        for name in sorted(self._marks.unlogged(versions)):
            account = self.accounts.get(name)
            if account is not None and account.outbox:
                self._log_outbox(account)

    def _log_outbox(self, account: Account) -> None:
        self._publish(account.outbox)
        self._marks.logged(account.user, account.version)

    def change_entries(self, user: str, change: Change, txn: int | None) -> list[dict]:
        """The systemEvents and accountTransactions of what ``change`` moved."""
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
        return entries + [
            self._entry(
                auditlog.ACCOUNT_TRANSACTION,
                move.txn or txn,
                action=move.action,
                user=user,
                funds=move.cents,
            )
            for move in change.moves
        ]

    def movement_entries(self, user: str, change: Change, txn: int | None) -> list[dict]:
        """The wallet-ledger entries of the coins ``change`` moved."""
        return [self._wallet_entry(user, move, txn) for move in change.movements]

    def _wallet_entry(self, user: str, move: AssetMove, txn: int | None) -> dict:
        entry = {
            "type": WALLET_ENTRY,
            "ts": self.clock_ms(),
            "server": self._server,
            "user": user,
            "asset": move.asset,
            "units": move.units,
            "from": move.source,
            "to": move.target,
            "reason": move.reason,
            "ref": move.ref,
        }
        if txn is not None:
            entry["txn"] = txn
        if move.detail:
            entry["detail"] = dict(move.detail)
        return entry

    def _publish(self, entries: Sequence[Mapping]) -> None:
        """Insert an outbox's entries where they belong: wallet-ledger entries into the
        wallet ledger, the rest into the audit log (both skip ids already stored)."""
        wallet = [dict(e) for e in entries if e["type"] == WALLET_ENTRY]
        self.log.append([dict(e) for e in entries if e["type"] != WALLET_ENTRY])
        if wallet:
            self.wallet.append(wallet)

    def store_unchanged(self, entries: list[dict], lock: HeldLock) -> None:
        """Store the log entries of a run that changed no account."""
        if self._journaled:  # journaled as the lock is let go, in one round trip
            self._journal_lag_ms = lock.commit(None, entries, None)
        else:
            self.log.append(entries)

    def store(
        self, account: Account, entries: list[dict], lock: HeldLock, was_watched: bool = False
    ) -> None:
        """Save a changed account together with its log entries, then log them.

        The entries are written with the account (its outbox), then go to the log under
        ids derived from the new version, so a crash between the two writes is repaired
        by the next flush without duplicates. The lock is renewed right before the write
        (LockLost if it is no longer ours), so a holder that lost it writes nothing.

        With the journal (LEDGER_STORE=journal) the account and its entries are one
        journal record, stored with the account in Redis by the script that lets the lock
        go, and only if the lock is still ours (LockLost otherwise); the persister
        writes both to the database behind it, under the same ids.
        """
        user = account.user
        version = account.version + 1
        # Zero-padded: entries of one millisecond sort by _id in the order they were made.
        outbox = tuple({**e, "_id": f"{user}:{version}:{i:04d}"} for i, e in enumerate(entries))
        if self._journaled:
            saved = replace(account, outbox=(), version=version)
            announce = version if self._announce else None
            self._journal_lag_ms = lock.commit(self.accounts.encode(saved), list(outbox), announce)
        else:
            stored = self.accounts.save(replace(account, outbox=outbox), before_write=lock.renew)
            lock.leave_cached(stored[1])  # what the database now holds
        if self._watch is not None and (was_watched or account.watched_coins):
            self._watch.record(user, version, watch_json(account))
        if self._journaled:
            return
        self._publish(outbox)
        lock.mark_logged(version, announce=self._announce)


def _first_answer(account: Account, key: str | None, fingerprint: str) -> Mapping | None:
    seen = account.applied.get(key) if key else None
    if seen is None:
        return None
    if seen["fp"] != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key} was already used for a different request"
        )
    return seen["result"]


def _remember(
    applied: Mapping, key: str, fingerprint: str, result: Mapping, answers: int = 1
) -> dict:
    """``applied`` with ``key``'s answer (of ``answers`` commands) added: the newest
    answers, within the limits."""
    entry = {"fp": fingerprint, "result": result, "n": answers}
    newest_first = [(key, entry), *reversed(applied.items())]
    kept: list[tuple[str, Mapping]] = []
    weight = 0
    for seen_key, seen in newest_first:
        weight += seen.get("n", 1)
        if kept and (len(kept) == APPLIED_KEYS or weight > APPLIED_WEIGHT):
            break
        kept.append((seen_key, seen))
    return dict(reversed(kept))


class AccountSession(CommandRunner):
    """One user's account in memory, under the user's lock, for a run of commands.

    It answers the ledger's calls for that user, keeps each command's log entries in
    order, and leaves storing to the ledger's ``session`` (one write for the whole run).
    """

    def __init__(self, ledger: Ledger, user: str, stored: Account | None, lock: HeldLock):
        self._ledger = ledger
        self.user = user
        self._stored = stored
        self._account = stored
        self._entries: list[dict] = []
        self._movements: list[dict] = []  # wallet-ledger entries, stored after the log's
        self._lock = lock
        self._changed = False
        self._batch: tuple[str, str, Mapping] | None = None

    # --- what the use cases call, as on the ledger ----------------------------------

    def current(self, user: str) -> Account:
        """The account as the next command of the run will see it."""
        self._own(user)
        if self._account is None:
            raise NotFound(f"account {user} does not exist")
        return self._ledger.expire(self._account).account

    def record(self, cmd: Command) -> None:
        self._entries += self._ledger.command_entries(cmd)

    def record_failure(self, cmd: Command, error: PlatformError) -> None:
        self._entries += self._ledger.failure_entries(cmd, error)

    def run(self, cmd: Command, rule: Rule, create: bool = False) -> Change:
        """Apply ``rule`` for ``cmd`` to the account in memory; see ``Ledger.run``."""
        self._own(cmd.user)
        self._lock.keep()  # a long run (slow quotes) must not outlive its lock
        with self.logging_failures(cmd):
            account = self._account
            if account is None:
                if not create:
                    raise NotFound(f"account {cmd.user} does not exist")
                account = Account(cmd.user)
            first = self.answered(cmd, account)
        if first is not None:  # a retry: answer as before, change and log nothing
            return Change(account, result=first)
        head = self._ledger.command_entries(cmd)
        change = self._ledger.expire(account)
        error: PlatformError | None = None
        try:
            change = change.then(rule(change.account))
        except PlatformError as exc:
            error = exc
        tail = self._ledger.error_entries(cmd, error) if error else []
        self._apply(account, change, head, tail, cmd.txn, None if error else cmd)
        if error is not None:
            raise error
        return change

    def run_system(self, rule: Rule) -> Change:
        """Apply a rule the system starts; an account that does not exist is left alone."""
        if self._account is None:
            return Change(Account(self.user))
        change = rule(self._account)
        self._apply(self._account, change, [], [], None, None)
        return change

    # --- a batch's own answer, for its retries --------------------------------------

    def first_answer(self, key: str | None, fingerprint: str) -> Mapping | None:
        """The stored answer to a batch sent before with Idempotency-Key ``key``."""
        return None if self._stored is None else _first_answer(self._stored, key, fingerprint)

    def remember(self, key: str | None, fingerprint: str, answer: Mapping) -> None:
        """Keep ``answer`` with the account, if the run changes it, for a retry."""
        if key:
            self._batch = (key, fingerprint, answer)

    def quote_hits(self) -> list[dict]:
        """The run's quoteServer entries so far."""
        return [e for e in self._entries if e["type"] == auditlog.QUOTE_SERVER]

    # --- inside ---------------------------------------------------------------------

    def _own(self, user: str | None) -> None:
        if user != self.user:
            raise ValueError(f"a session for {self.user} cannot run a command for {user}")

    def _apply(
        self,
        account: Account,
        change: Change,
        head: list[dict],
        tail: list[dict],
        txn: int | None,
        cmd: Command | None,
    ) -> None:
        entries = self._ledger.change_entries(self.user, change, txn)
        self._entries += head + entries + tail
        self._movements += self._ledger.movement_entries(self.user, change, txn)
        if change.account == account:
            return
        self._changed = True
        # The account keeps its newest entries as its statement, so DISPLAY_SUMMARY
        # reads one document instead of searching the log.
        recent = (tuple(reversed(entries)) + tuple(account.recent))[:RECENT_ENTRIES]
        applied = account.applied
        if cmd is not None and cmd.key:
            applied = _remember(applied, cmd.key, cmd.fingerprint, dict(change.result))
        self._account = replace(change.account, recent=recent, applied=MappingProxyType(applied))

    @property
    def changed(self) -> bool:
        """Whether a command of the run changed the account."""
        return self._changed

    def commit(self) -> None:
        """Store the run: the account if any command changed it, and every entry in order."""
        if not self._changed:
            self._ledger.store_unchanged(self._entries, self._lock)
            return
        account = self._account
        if self._batch is not None:
            key, fingerprint, answer = self._batch
            answers = len(answer["results"])
            applied = _remember(account.applied, key, fingerprint, answer, answers)
            account = replace(account, applied=MappingProxyType(applied))
        was_watched = self._stored is not None and bool(self._stored.watched_coins)
        self._ledger.store(account, self._entries + self._movements, self._lock, was_watched)
