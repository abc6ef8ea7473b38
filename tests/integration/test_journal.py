"""The journal store (LEDGER_STORE=journal, issue 17): a command is acknowledged once its
record is in Redis's fsynced append-only file; the persister writes it to the database
behind, idempotently; readers of the log wait for it. Real redis-server and the
MongoDB-wire server; the persister's passes are run by the tests themselves (no
persister runs for this module's database), so what is stored when is exact.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from services import buy, sell, user_utilities
from services.common.backend import Backend
from services.common.config import load_settings
from services.common.domain import account as rules
from services.common.errors import UpstreamUnavailable
from services.common.journal import HELP_AFTER_S, stream_key
from services.common.ledger import Command
from services.persister.service import Persister
from tests.conftest import SECRETS
from tests.helpers import random_symbol, random_user

pytestmark = pytest.mark.integration
FACTORIES = {"buy": buy.create_app, "sell": sell.create_app, "users": user_utilities.create_app}
PATHS = {
    "ADD": "/api/users/add",
    "QUOTE": "/api/users/quote",
    "DISPLAY_SUMMARY": "/api/users/display-summary",
    "BUY": "/api/buy/buy",
    "COMMIT_BUY": "/api/buy/commit-buy",
}


class Services:
    """The services in-process (Flask test clients), as the replayer."""

    def __init__(self, settings: dict):
        self.apps = {name: factory(settings) for name, factory in FACTORIES.items()}
        users = self.apps["users"].test_client()
        login = {"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]}
        token = users.post("/api/users/service-login", json=login).get_json()["data"]["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def ok(self, command: str, **fields) -> dict:
        path = PATHS[command]
        app = "buy" if path.startswith("/api/buy/") else "users"
        body = {**fields, "transactionNum": random.randrange(10**12, 2**53)}
        resp = self.apps[app].test_client().post(path, json=body, headers=self.headers)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["data"]

    def get(self, path: str):
        return self.apps["users"].test_client().get(path, headers=self.headers)

    def summary(self, user: str) -> dict:
        return self.ok("DISPLAY_SUMMARY", user=user)

    def close(self) -> None:
        for app in self.apps.values():
            app.extensions["backend"].close()


@pytest.fixture(scope="module")
def journaled(settings):
    """Settings of a journaled deployment on a database no persister follows."""
    return {**settings, "ledger_store": "journal", "mongo_db": f"{settings['mongo_db']}_nop"}


@pytest.fixture(scope="module")
def platform_j(journaled):
    services = Services(journaled)
    yield services
    services.close()


@pytest.fixture(scope="module")
def persister(journaled, rds, mongo):
    return Persister(rds, mongo[journaled["mongo_db"]], journaled["mongo_db"])


@pytest.fixture(scope="module")
def jdb(journaled, mongo):
    return mongo[journaled["mongo_db"]]


def test_commands_are_acknowledged_from_the_journal_and_persisted_once(
    platform_j, persister, jdb, rds, journaled
):
    user, symbol = random_user(), random_symbol()
    stream = stream_key(journaled["mongo_db"])
    persister.persist_once(block_ms=1)  # whatever earlier tests left
    platform_j.ok("ADD", user=user, amount="100.00")
    platform_j.ok("BUY", user=user, symbol=symbol, amount="20.00")  # 2 shares at $10.00
    platform_j.ok("COMMIT_BUY", user=user)
    platform_j.ok("QUOTE", user=user, symbol=symbol)
    summary = platform_j.summary(user)
    assert summary["cash"] == "80.00" and summary["holdings"] == {symbol: 2}

    # Acknowledged, and nothing of it in the database yet: one record per command.
    assert jdb["users"].find_one({"_id": user}) is None
    assert jdb["transactions"].count_documents({"user": user}) == 0
    records = [r for r in rds.xrange(stream) if r[1][b"u"] in (user.encode(), b"")]
    mine = [r for r in records if user.encode() in r[1][b"e"]]
    assert len(mine) == 5  # ADD, BUY, COMMIT_BUY (each with the account), QUOTE, SUMMARY
    assert [bool(r[1][b"a"]) for r in mine] == [True, True, True, False, False]

    # The persister redoes a batch (killed before its cursor moved): stored once.
    persister.store(mine)
    persister.store(mine)
    assert persister.persist_once(block_ms=1) >= 5
    account = jdb["users"].find_one({"_id": user})
    assert (account["cash"], account["v"]) == (8000, 3)
    entries = list(jdb["transactions"].find({"user": user}))
    assert len({e["_id"] for e in entries}) == len(entries)
    kinds = Counter(e["type"] for e in entries)
    assert kinds["userCommand"] == 5  # ADD, BUY, COMMIT_BUY, QUOTE, DISPLAY_SUMMARY
    adds = [e for e in entries if e["type"] == "accountTransaction" and e["action"] == "add"]
    assert [e["funds"] for e in adds] == [10_000]
    pages = [p for p in jdb["log_pages"].find({}) if user in p["entries"]]
    assert len(pages) == 5  # one per record, however often written
    # An older record written again never rolls the account back.
    persister.store(mine[:1])
    assert jdb["users"].find_one({"_id": user})["v"] == 3
    # What is stored leaves the journal; the cursor marks the last record.
    assert rds.xlen(stream) == 1
    assert rds.get(f"journal-persisted:{journaled['mongo_db']}") == rds.xrange(stream)[0][0]


def test_reading_the_log_waits_for_the_persister(platform_j, persister):
    user = random_user()
    persister.persist_once(block_ms=1)
    platform_j.ok("ADD", user=user, amount="5.00")
    started = time.monotonic()
    later = threading.Timer(0.5, lambda: persister.persist_once(block_ms=1))
    later.start()
    resp = platform_j.get(f"/api/users/transactions?user={user}&limit=10")
    later.join()
    assert resp.status_code == 200, resp.get_json()
    assert time.monotonic() - started >= 0.5  # it waited for the persister's pass
    listed = resp.get_json()["data"]
    entries = listed["transactions"] if isinstance(listed, dict) else listed
    assert any(e.get("funds") == "5.00" for e in entries), entries


def test_a_holder_that_lost_its_lock_journals_nothing(journaled, persister, jdb):
    backend = Backend(load_settings({**journaled, "user_lock_timeout_s": 0.5}))
    user = random_user()

    def add(cents: int) -> tuple[Command, object]:
        cmd = Command("ADD", random.randrange(1, 2**40), user=user, funds=cents)
        return cmd, lambda a: rules.add_funds(a, cents)

    try:
        backend.ledger.run(*add(10_000), create=True)  # $100.00, version 1
        with pytest.raises(UpstreamUnavailable, match="lost the lock"):
            with backend.ledger.session(user, ()) as session:
                session.run(*add(100))
                time.sleep(1.0)  # the lock expires
                backend.ledger.run(*add(200))  # another holder takes it and stores
        assert backend.ledger.current(user).cash == 10_200
        while persister.persist_once(block_ms=1):
            pass
        account = jdb["users"].find_one({"_id": user})
        assert (account["cash"], account["v"]) == (10_200, 2)
    finally:
        backend.close()


def test_a_reader_writes_the_journal_itself_when_the_persister_is_down(platform_j, persister):
    user = random_user()
    persister.persist_once(block_ms=1)
    platform_j.ok("ADD", user=user, amount="7.00")
    started = time.monotonic()
    # No persister pass at all: after HELP_AFTER_S the reader stores the rest itself.
    resp = platform_j.get(f"/api/users/transactions?user={user}&limit=10")
    assert resp.status_code == 200, resp.get_json()
    assert time.monotonic() - started >= HELP_AFTER_S
    listed = resp.get_json()["data"]
    entries = listed["transactions"] if isinstance(listed, dict) else listed
    assert any(e.get("funds") == "7.00" for e in entries), entries
    assert persister.lag() == 0
