"""A process that dies between saving an account and writing its log entries loses
nothing: the entries wait in the account's outbox and reach the log exactly once."""

from __future__ import annotations

import random
import time

import pytest

from services.common.cache import account_channel
from services.common.domain import account as rules
from services.common.ledger import Command
from services.user_utilities.service import dumplog
from tests.helpers import random_user

pytestmark = pytest.mark.integration
# What this module tests is the database store's outbox repair (LEDGER_STORE=database); the
# journal's own crash safety is tests/integration/test_journal.py's and tests/faults'.
STORE_SETTINGS = {"ledger_store": "database"}


class ProcessDied(Exception):
    """Stands for the worker being killed right after the account write."""


@pytest.fixture
def dies_before_logging(backend, monkeypatch):
    """Make the next log write of one user's saved change fail, once."""
    real_append = backend.ledger.log.append
    victims: set[str] = set()

    def append(entries):
        ids = {str(e.get("_id", "")).split(":")[0] for e in entries}
        if ids & victims:
            victims.difference_update(ids)
            raise ProcessDied
        return real_append(entries)

    monkeypatch.setattr(backend.ledger.log, "append", append)
    return victims


def add(backend, user: str, cents: int):
    cmd = Command("ADD", random.randrange(1, 2**40), user=user, funds=cents)
    return backend.ledger.run(cmd, lambda a: rules.add_funds(a, cents), create=True)


def test_the_next_command_on_the_account_writes_the_missing_entries(
    backend, store, dies_before_logging
):
    user = random_user()
    add(backend, user, 1000)
    dies_before_logging.add(user)
    with pytest.raises(ProcessDied):
        add(backend, user, 250)
    assert store.account(user)["cash"] == 1250  # the change was saved ...
    assert store.cash_by_the_log(user) == 1000  # ... its log entries were not

    add(backend, user, 5)
    assert store.cash_by_the_log(user) == 1255
    commands = [e["command"] for e in store.user_log(user, "userCommand")]
    assert commands == ["ADD", "ADD", "ADD"]  # each exactly once


def test_a_dump_writes_the_missing_entries_first(backend, store, dies_before_logging):
    user = random_user()
    dies_before_logging.add(user)
    with pytest.raises(ProcessDied):
        add(backend, user, 700)
    assert store.cash_by_the_log(user) == 0

    backend.ledger.flush_pending_outboxes()  # what DUMPLOG does before reading the log
    backend.ledger.flush_pending_outboxes()  # twice: still exactly once
    assert store.cash_by_the_log(user) == 700
    assert len(store.user_log(user, "userCommand")) == 1
    dumped = [e for e in backend.log.iter_all() if e.get("user") == user]  # what DUMPLOG reads
    assert [e["type"] for e in dumped] == ["userCommand", "accountTransaction"]


def test_a_users_own_dump_repairs_only_that_users_account(backend, store, dies_before_logging):
    """DUMPLOG of one user's log reads that account alone (issue 18, item 7): another
    account's missing entries wait for its next command or a whole-log dump."""
    mine, theirs = random_user(), random_user()
    dies_before_logging.update({mine, theirs})
    for user in (mine, theirs):
        with pytest.raises(ProcessDied):
            add(backend, user, 300)
    reads = []
    real_get = backend.accounts.get
    backend.accounts.get = lambda user: reads.append(user) or real_get(user)
    try:
        dumped = list(
            dumplog(backend.ledger, backend.log, Command("DUMPLOG", 1, user=mine, filename="f"))
        )
    finally:
        del backend.accounts.get
    assert reads == [mine]
    assert "<funds>3.00</funds>" in "".join(dumped)  # the dump has the repaired entries
    assert store.cash_by_the_log(mine) == 300
    assert store.cash_by_the_log(theirs) == 0  # not read, not repaired
    backend.ledger.flush_pending_outboxes()  # the whole log's dump repairs every account
    assert store.cash_by_the_log(theirs) == 300


def test_a_logged_change_is_marked_and_announced_as_its_lock_is_let_go(backend, rds, monkeypatch):
    user = random_user()
    add(backend, user, 1000)  # version 1
    changes = rds.pubsub(ignore_subscribe_messages=True)
    changes.subscribe(account_channel(user))
    appends = []
    real_append = backend.ledger.log.append
    monkeypatch.setattr(
        backend.ledger.log,
        "append",
        lambda entries: appends.append(entries) or real_append(entries),
    )

    add(backend, user, 5)
    add(backend, user, 5)

    # Each command found the one before marked logged: one log write each, no re-insert.
    assert len(appends) == 2
    assert backend.ledger.accounts.get(user).version == 3
    assert backend.ledger._marks.unlogged({user: 3}) == []  # version 3 is marked logged
    announced, deadline = [], time.monotonic() + 5
    while len(announced) < 2 and time.monotonic() < deadline:
        message = changes.get_message(timeout=0.5)
        if message and message["channel"] == account_channel(user).encode():
            announced.append(message["data"])
    assert announced == [b"2", b"3"]
    changes.close()
