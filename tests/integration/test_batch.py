"""BATCH: a user's consecutive commands in one request behave as if sent one by one."""

from __future__ import annotations

import time
import uuid

import pytest

from services.common.backend import Backend
from services.common.config import load_settings
from services.common.domain import account as rules
from services.common.errors import UpstreamUnavailable
from services.common.ledger import Command
from tests.helpers import random_symbol, random_user

pytestmark = pytest.mark.integration

BATCH = "/api/users/batch"


def batch(platform, user: str, commands: list[dict], headers: dict | None = None):
    resp = platform.post(BATCH, {"user": user, "commands": commands}, headers=headers)
    return resp.status_code, resp.get_json()


def results(platform, user: str, commands: list[dict], headers: dict | None = None) -> list:
    status, body = batch(platform, user, commands, headers)
    assert status == 200, body
    return body["data"]["results"]


def trading_day(symbol: str) -> list[dict]:
    """Commands touching every kind of change, a failing one among them."""
    return [
        {"command": "ADD", "amount": "500.00"},
        {"command": "BUY", "symbol": symbol, "amount": "100.00"},
        {"command": "COMMIT_BUY"},
        {"command": "SELL", "symbol": symbol, "amount": "30.00"},
        {"command": "CANCEL_SELL"},
        {"command": "COMMIT_SELL"},  # nothing pending: refused
        {"command": "SET_BUY_AMOUNT", "symbol": symbol, "amount": "50.00"},
        {"command": "SET_BUY_TRIGGER", "symbol": symbol, "amount": "1.00"},
        {"command": "QUOTE", "symbol": symbol},
        {"command": "DISPLAY_SUMMARY"},
    ]


def shape(entries: list[dict]) -> list[tuple]:
    """What the log entries say, without who wrote them when (quote hits left out)."""
    keep = ("type", "command", "symbol", "funds", "action", "message")
    return [tuple(e.get(k) for k in keep) for e in entries if e["type"] != "quoteServer"]


def test_a_batch_ends_where_the_same_commands_sent_one_by_one_end(platform, store):
    symbol = random_symbol()
    one_by_one, batched = random_user(), random_user()
    separate = []
    for command in trading_day(symbol):
        fields = {k: v for k, v in command.items() if k != "command"}
        reply = platform.run(command["command"], user=one_by_one, **fields)
        separate.append((reply.status, reply.body.get("data"), reply.body.get("error")))

    together = results(platform, batched, trading_day(symbol))

    assert [(r["status"], r.get("error")) for r in together] == [
        (status, error) for status, _, error in separate
    ]
    assert [r["status"] for r in together].count(409) == 1
    summary_one, summary_batch = platform.summary(one_by_one), platform.summary(batched)
    for field in ("cash", "reserved_cash", "holdings", "buy_setups", "sell_setups"):
        assert summary_batch[field] == summary_one[field], field
    # The first run paid for the quote; the batch found it cached.
    assert shape(store.user_log(batched)) == shape(store.user_log(one_by_one))
    assert store.cash_by_the_log(batched) == store.cash_by_the_log(one_by_one)


def test_a_batch_is_one_account_write_and_its_entries_keep_their_order(platform, store):
    user, symbol = random_user(), random_symbol()
    platform.ok("ADD", user=user, amount="100.00")
    version = store.account(user)["v"]

    answers = results(
        platform,
        user,
        [
            {"command": "ADD", "amount": "1.00", "transactionNum": 11},
            {"command": "BUY", "symbol": symbol, "amount": "20.00", "transactionNum": 12},
            {"command": "COMMIT_BUY", "transactionNum": 13},
        ],
    )

    assert [a["status"] for a in answers] == [200, 200, 200]
    assert store.account(user)["v"] == version + 1
    commands = [e for e in store.user_log(user) if e["type"] == "userCommand"]
    assert [(e["command"], e["txn"]) for e in commands][-3:] == [
        ("ADD", 11),
        ("BUY", 12),
        ("COMMIT_BUY", 13),
    ]
    assert platform.summary(user)["cash"] == "81.00"


def test_bad_commands_in_a_batch_are_refused_and_logged_and_the_rest_run(platform, store):
    user = random_user()
    answers = results(
        platform,
        user,
        [
            {"command": "ADD", "amount": "10.00"},
            {"command": "ADD", "amount": "-3"},
            {"command": "ADD", "amount": "1.00", "user": "someone_else"},
            {"command": "DUMPLOG", "filename": "x.xml"},
            {"command": "HACK"},
            {"command": "ADD", "amount": "2.50"},
        ],
    )

    assert [a["status"] for a in answers] == [200, 400, 400, 400, 400, 200]
    assert all(a["error"]["message"] for a in answers[1:5])
    assert platform.summary(user)["cash"] == "12.50"
    errors = store.user_log(user, "errorEvent")
    assert [e["command"] for e in errors] == ["ADD", "ADD", "DUMPLOG"]


@pytest.mark.parametrize(
    "body",
    [
        {"user": "u1"},
        {"user": "u1", "commands": []},
        {"user": "u1", "commands": {"command": "ADD"}},
        {"user": "u1", "commands": [{"command": "ADD", "amount": "1"}, "not an object"]},
        {"user": "u1", "commands": [{"command": "ADD", "amount": "1"}] * 101},
        {"user": "bad user!", "commands": [{"command": "ADD", "amount": "1"}]},
        {"commands": [{"command": "ADD", "amount": "1"}]},
        {"user": "u1", "commands": [{"command": "ADD", "amount": "1"}], "extra": 1},
    ],
)
def test_a_malformed_batch_is_refused_whole(platform, store, body):
    resp = platform.post(BATCH, body)
    assert resp.status_code in (400, 413), resp.get_json()
    assert resp.get_json()["ok"] is False
    assert resp.get_json()["error"]["message"]
    assert store.account("u1") is None


def test_a_batch_for_someone_else_is_forbidden(platform):
    owner, other = random_user(), random_user()
    password = "password-1234"
    for name in (owner, other):
        resp = platform.post("/api/users/register", {"username": name, "password": password})
        assert resp.status_code == 201, resp.get_json()
    as_other = platform.as_caller(platform.login(other, password))

    status, body = batch(as_other, owner, [{"command": "ADD", "amount": "5.00"}])

    assert status == 403, body
    assert platform.summary(owner)["cash"] == "0.00"
    status, body = batch(as_other, other, [{"command": "ADD", "amount": "5.00"}])
    assert status == 200 and body["data"]["results"][0]["status"] == 200


def test_a_retried_batch_answers_the_same_and_runs_once(platform, store):
    user, symbol = random_user(), random_symbol()
    same = {"Idempotency-Key": f"test:{uuid.uuid4().hex}"}
    commands = [
        {"command": "ADD", "amount": "50.00"},
        {"command": "BUY", "symbol": symbol, "amount": "20.00"},
        {"command": "DISPLAY_SUMMARY"},
    ]

    first = batch(platform, user, commands, same)
    assert first[1]["data"]["results"][2]["data"]["cash"] == "30.00"
    entries = len(store.user_log(user))
    retry = batch(platform, user, commands, same)

    assert first[0] == retry[0] == 200
    first_results, retry_results = first[1]["data"]["results"], retry[1]["data"]["results"]
    assert first_results[:2] == retry_results[:2]
    assert retry_results[2]["data"]["cash"] == "30.00"  # the summary, read again
    assert len(store.user_log(user)) == entries
    assert platform.summary(user)["cash"] == "30.00"
    kept = store.account(user)["state"]
    assert "recent_transactions" not in kept  # a summary is read again, not kept
    status, body = batch(platform, user, commands[:1], same)
    assert status == 422 and body["error"]["code"] == "idempotency_key_reused"
    assert platform.summary(user)["cash"] == "30.00"


def test_a_dependency_failing_stops_the_batch_there(platform_with, store, closed_port):
    platform = platform_with(quote_server_addr=f"127.0.0.1:{closed_port}", quote_timeout_s=0.5)
    user, symbol = random_user(), random_symbol()

    answers = results(
        platform,
        user,
        [
            {"command": "ADD", "amount": "50.00"},
            {"command": "BUY", "symbol": symbol, "amount": "20.00"},
            {"command": "ADD", "amount": "1.00"},
        ],
    )

    assert [a["status"] for a in answers] == [200, 503, 503]
    assert answers[2]["error"]["message"].startswith("not run")
    assert platform.summary(user)["cash"] == "50.00"
    assert [e["command"] for e in store.user_log(user, "errorEvent")] == ["BUY"]


def test_a_run_whose_lock_expired_stores_nothing(settings, rds, store):
    """A process paused past its lock (here: the lock taken away) must not write."""
    b = Backend(load_settings({**settings, "user_lock_timeout_s": 0.2}))
    user = random_user()
    add = Command("ADD", 1, user=user, funds=500)
    try:
        b.ledger.run(add, lambda a: rules.add_funds(a, 500), create=True)
        version = store.account(user)["v"]
        again = Command("ADD", 2, user=user, funds=700)
        with pytest.raises(UpstreamUnavailable, match="lost the lock"):
            with b.ledger.session(user, (again,)) as session:
                time.sleep(0.15)  # past half the lock's time: the next command renews it
                rds.delete(f"user-lock:{user}")  # ... but it is gone
                session.run(again, lambda a: rules.add_funds(a, 700))
        assert store.account(user)["v"] == version
        assert store.account(user)["cash"] == 500
        assert [e["command"] for e in store.user_log(user, "errorEvent")] == ["ADD"]
    finally:
        b.close()


def test_the_pages_dumplog_reads_hold_every_entry_exactly_once(platform, store):
    """DUMPLOG and the log stats read the pages; queries read one document per entry."""
    user = random_user()
    results(platform, user, trading_day(random_symbol()))
    platform.run("COMMIT_SELL", user=user)  # a single command's page, with an errorEvent
    counts = platform.get("/api/users/stats").get_json()["data"]
    by_type = store.db["transactions"].aggregate([{"$group": {"_id": "$type", "n": {"$sum": 1}}}])
    assert {kind: n for kind, n in counts.items() if n} == {r["_id"]: r["n"] for r in by_type}
