"""The user's lock carries the account between holders (Redis), so a command need not
read it from the database; the copy is only ever what the database holds."""

from __future__ import annotations

import random
import time

import pytest

from input_script import parse_server_timing
from services.common.backend import Backend
from services.common.cache import _AccountLock
from services.common.config import load_settings
from services.common.domain import account as rules
from services.common.errors import Conflict
from services.common.ledger import Command
from tests.helpers import random_user

pytestmark = pytest.mark.integration
# What this module tests is the copy the lock carries between commands in the database
# store (LEDGER_STORE=database); the journal's own is tests/integration/test_journal.py's.
STORE_SETTINGS = {"ledger_store": "database"}


def add(backend, user: str, cents: int):
    cmd = Command("ADD", random.randrange(1, 2**40), user=user, funds=cents)
    return backend.ledger.run(cmd, lambda a: rules.add_funds(a, cents), create=True)


def cache_key(settings: dict, user: str) -> str:
    return f"account:{settings['mongo_db']}:{user}"


@pytest.fixture
def database_reads(backend, monkeypatch) -> list[str]:
    """The users whose account the ledger reads from the database, in order."""
    real_get = backend.accounts.get
    reads: list[str] = []

    def get(user):
        reads.append(user)
        return real_get(user)

    monkeypatch.setattr(backend.accounts, "get", get)
    return reads


def test_a_command_leaves_the_account_as_stored_and_the_next_reads_no_database(
    backend, store, rds, settings, database_reads
):
    user = random_user()
    add(backend, user, 1000)
    add(backend, user, 250)
    add(backend, user, 5)

    assert database_reads == [user]  # only the first command, which found no copy
    copy = backend.accounts.decode(rds.get(cache_key(settings, user)))
    stored = store.account(user)
    assert (copy.cash, copy.version) == (stored["cash"], stored["v"]) == (1255, 3)


def test_a_command_that_changes_nothing_leaves_the_copy_it_took(
    backend, rds, settings, database_reads
):
    user = random_user()
    add(backend, user, 1000)
    cmd = Command("COMMIT_BUY", random.randrange(1, 2**40), user=user)
    with pytest.raises(Conflict):  # nothing to commit: logged, account unchanged
        backend.ledger.run(cmd, rules.commit_buy)
    assert backend.accounts.decode(rds.get(cache_key(settings, user))).version == 1
    add(backend, user, 1)
    assert database_reads == [user]


def test_a_holder_that_dies_after_its_write_leaves_no_copy(backend, store, rds, settings):
    user = random_user()
    add(backend, user, 1000)
    # A holder takes the lock (and the copy), writes, and dies before letting go.
    dying = _AccountLock(rds, user, 0.3, cache_key(settings, user))
    assert dying.acquire()
    account = backend.accounts.get(user)
    backend.accounts.save(rules.add_funds(account, 500).account)
    assert rds.get(cache_key(settings, user)) is None  # taken with the lock

    add(backend, user, 1)  # waits for the lock to expire, then reads the database
    assert store.account(user)["cash"] == 1501


def test_a_holder_whose_lock_expired_leaves_nothing(backend, rds, settings):
    user = random_user()
    add(backend, user, 1000)
    late = _AccountLock(rds, user, 0.2, cache_key(settings, user))
    assert late.acquire()
    late.to_cache = late.cached  # what it would leave: the version it read
    time.sleep(0.3)  # paused past its lock's expiry ...
    add(backend, user, 5)  # ... while another command took the lock and stored version 2
    with pytest.raises(Exception, match="expired"):
        late.release()
    assert backend.accounts.decode(rds.get(cache_key(settings, user))).version == 2


def test_a_copy_older_than_the_database_changes_nothing(backend, store, rds, settings):
    user = random_user()
    add(backend, user, 1000)
    old_copy = rds.get(cache_key(settings, user))
    add(backend, user, 5)
    rds.set(cache_key(settings, user), old_copy)  # cannot happen by the protocol; if it did:

    with pytest.raises(Conflict):  # the write's version guard refuses it
        add(backend, user, 70)
    assert (store.account(user)["cash"], store.account(user)["v"]) == (1005, 2)
    add(backend, user, 70)  # the refused write left no copy: read from the database
    assert store.account(user)["cash"] == 1075


def test_each_database_has_copies_of_its_own(backend, settings, store):
    user = random_user()
    other = Backend(load_settings({**settings, "mongo_db": settings["mongo_db"][:50] + "_other"}))
    try:
        add(backend, user, 1000)
        add(other, user, 7)
        add(backend, user, 1)
        assert store.account(user)["cash"] == 1001
        assert other.accounts.get(user).cash == 7
    finally:
        other.db.client.drop_database(other.db.name)
        other.close()


def test_each_answer_says_where_its_time_went(platform):
    user = random_user()
    body = {"user": user, "amount": "10.00"}
    first = platform.post("/api/users/add", body)
    second = platform.post("/api/users/add", body)

    assert first.status_code == second.status_code == 200
    first_phases = parse_server_timing(first.headers["Server-Timing"])
    second_phases = parse_server_timing(second.headers["Server-Timing"])
    # A new account is looked for in the database; the next command finds the copy.
    assert {"lock", "read", "write", "log", "unlock", "app"} <= set(first_phases)
    assert {"lock", "write", "log", "unlock", "app"} <= set(second_phases)
    assert "read" not in second_phases
    assert second_phases["app"] >= second_phases["write"] + second_phases["log"]
