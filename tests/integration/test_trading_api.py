"""The trading commands through the buy, sell and user-utilities services, acting as the
replayer, with the quote server's fixed $10.00 price."""

import threading
import time

import pytest

from tests.helpers import random_user

pytestmark = pytest.mark.integration


@pytest.fixture
def user(platform):
    name = random_user()
    platform.ok("ADD", user=name, amount="1000.00")
    return name


@pytest.fixture
def symbol(fresh_symbol):
    return fresh_symbol()


def cents(dollars: str) -> int:
    whole, _, frac = dollars.partition(".")
    return int(whole) * 100 + int(frac)


def test_the_full_happy_path_moves_cash_and_shares_as_the_rules_say(platform, store, symbol):
    user = random_user()
    s = symbol
    assert platform.ok("ADD", user=user, amount="1000.00") == {"cash": "1000.00"}
    quote = platform.ok("QUOTE", user=user, symbol=s)
    assert (quote["symbol"], quote["price"]) == (s, "10.00")

    bought = platform.ok("BUY", user=user, symbol=s, amount="105.00")
    assert bought == {"symbol": s, "shares": 10, "price": "10.00", "cost": "100.00"}
    pending = platform.summary(user)
    assert (pending["cash"], pending["reserved_cash"]) == ("900.00", "100.00")
    [buy] = pending["pending_buys"]
    assert (buy["symbol"], buy["shares"], buy["amount"]) == (s, 10, "100.00")
    assert 0 < buy["seconds_left"] <= 60

    committed = platform.ok("COMMIT_BUY", user=user)
    assert committed == {"symbol": s, "shares": 10, "price": "10.00", "amount": "100.00"}

    sold = platform.ok("SELL", user=user, symbol=s, amount="35.00")
    assert sold == {"symbol": s, "shares": 3, "price": "10.00", "proceeds": "30.00"}
    assert platform.summary(user)["holdings"] == {s: 7}
    assert platform.ok("COMMIT_SELL", user=user)["amount"] == "30.00"
    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("930.00", {s: 7})

    assert platform.ok("SET_BUY_AMOUNT", user=user, symbol=s, amount="50.00") == {
        "reserve": "50.00"
    }
    assert platform.ok("SET_BUY_TRIGGER", user=user, symbol=s, amount="5.00") == {
        "reserve": "50.00",
        "trigger": "5.00",
    }
    summary = platform.summary(user)
    assert (summary["cash"], summary["reserved_cash"]) == ("880.00", "50.00")
    assert summary["buy_setups"] == [{"symbol": s, "reserve": "50.00", "trigger": "5.00"}]
    assert platform.ok("CANCEL_SET_BUY", user=user, symbol=s) == {"refund": "50.00"}

    assert platform.ok("SET_SELL_AMOUNT", user=user, symbol=s, amount="40.00") == {
        "amount": "40.00"
    }
    assert platform.ok("SET_SELL_TRIGGER", user=user, symbol=s, amount="20.00") == {
        "shares": 2,
        "trigger": "20.00",
    }
    summary = platform.summary(user)
    assert summary["holdings"] == {s: 5}
    assert summary["sell_setups"] == [
        {"symbol": s, "amount": "40.00", "shares_reserved": 2, "trigger": "20.00"}
    ]
    assert platform.ok("CANCEL_SET_SELL", user=user, symbol=s) == {"returned_shares": 2}

    final = platform.summary(user)
    assert final["user"] == user
    assert (final["cash"], final["reserved_cash"], final["holdings"]) == ("930.00", "0.00", {s: 7})
    for key in ("pending_buys", "pending_sells", "buy_setups", "sell_setups"):
        assert final[key] == [], key
    recent = final["recent_transactions"]
    assert recent and all(e["username"] == user for e in recent)
    assert recent[0] == {**recent[0], "type": "accountTransaction", "action": "add"}
    assert recent[0]["funds"] == "50.00"  # the CANCEL_SET_BUY refund is the newest move
    assert store.cash_by_the_log(user) == cents(final["cash"])


def test_the_largest_amount_is_accepted_and_money_stays_exact(platform, store):
    user = random_user()
    platform.ok("ADD", user=user, amount="1000000000.00")
    assert platform.ok("ADD", user=user, amount="1000000000.00") == {"cash": "2000000000.00"}
    platform.ok("ADD", user=user, amount="0.01")
    assert platform.summary(user)["cash"] == "2000000000.01"
    assert store.cash_by_the_log(user) == 200000000001


def test_every_command_is_logged_as_a_user_command_with_its_arguments(platform, store, user):
    reply = platform.run("SET_BUY_AMOUNT", user=user, symbol="ABC", amount="12.50")
    command, remove = store.log(reply.txn)
    assert command == {
        **command,
        "type": "userCommand",
        "command": "SET_BUY_AMOUNT",
        "user": user,
        "symbol": "ABC",
        "funds": 1250,
        "server": "test",
    }
    assert remove == {**remove, "type": "accountTransaction", "action": "remove", "funds": 1250}


PRECONDITIONS = [
    # (setup commands, failing command, its fields, code, message)
    ([], "BUY", {"amount": "1000.01"}, "insufficient_funds", "insufficient funds"),
    ([], "BUY", {"amount": "9.99"}, "zero_shares", "buys 0 shares"),
    ([], "COMMIT_BUY", {}, "nothing_pending", "no pending buy"),
    ([], "CANCEL_BUY", {}, "nothing_pending", "no pending buy"),
    ([], "SELL", {"amount": "10.00"}, "insufficient_shares", "no shares of"),
    (["buy10"], "SELL", {"amount": "100.01"}, "insufficient_shares", "insufficient shares"),
    (["buy10"], "SELL", {"amount": "9.99"}, "zero_shares", "sells 0 shares"),
    ([], "COMMIT_SELL", {}, "nothing_pending", "no pending sell"),
    ([], "CANCEL_SELL", {}, "nothing_pending", "no pending sell"),
    ([], "SET_BUY_AMOUNT", {"amount": "1000.01"}, "insufficient_funds", "insufficient funds"),
    ([], "SET_BUY_TRIGGER", {"amount": "5.00"}, "no_setup", "no buy amount set for"),
    ([], "CANCEL_SET_BUY", {}, "no_setup", "no buy setup for"),
    ([], "SET_SELL_AMOUNT", {"amount": "5.00"}, "insufficient_shares", "no shares of"),
    (["buy10"], "SET_SELL_TRIGGER", {"amount": "5.00"}, "no_setup", "no sell amount set for"),
    (["buy10", "sellamt5"], "SET_SELL_TRIGGER", {"amount": "6.00"}, "zero_shares", "0 shares"),
    ([], "CANCEL_SET_SELL", {}, "no_setup", "no sell setup for"),
]
SYMBOL_COMMANDS = {
    "BUY",
    "SELL",
    "SET_BUY_AMOUNT",
    "SET_BUY_TRIGGER",
    "CANCEL_SET_BUY",
    "SET_SELL_AMOUNT",
    "SET_SELL_TRIGGER",
    "CANCEL_SET_SELL",
}


@pytest.mark.parametrize(
    ("setup", "command", "fields", "code", "message"),
    PRECONDITIONS,
    ids=[f"{c[1]}-{c[3]}" for c in PRECONDITIONS],
)
def test_a_failed_precondition_answers_409_logs_the_error_and_changes_nothing(
    platform, store, user, symbol, setup, command, fields, code, message
):
    if "buy10" in setup:
        platform.ok("BUY", user=user, symbol=symbol, amount="100.00")
        platform.ok("COMMIT_BUY", user=user)
    if "sellamt5" in setup:
        platform.ok("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="5.00")
    if command in SYMBOL_COMMANDS:
        fields = {**fields, "symbol": symbol}
    before = store.account(user)

    reply = platform.run(command, user=user, **fields)

    assert reply.status == 409, reply.body
    assert reply.error["code"] == code
    assert message in reply.error["message"]
    entries = store.log(reply.txn)
    kinds = [e["type"] for e in entries]
    assert kinds[0] == "userCommand" and kinds[-1] == "errorEvent"
    assert set(kinds) <= {"userCommand", "quoteServer", "errorEvent"}, kinds
    assert entries[0]["command"] == entries[-1]["command"] == command
    assert entries[0]["user"] == entries[-1]["user"] == user
    assert entries[-1]["message"] == reply.error["message"]
    assert store.account(user) == before


def test_an_expired_pending_buy_is_rolled_back_and_cannot_be_committed(platform_with, store):
    quick = platform_with(pending_ttl_s=1.0)
    user = random_user()
    quick.ok("ADD", user=user, amount="100.00")
    buy = quick.run("BUY", user=user, symbol="EXP", amount="50.00")
    assert buy.data["cost"] == "50.00"
    assert quick.summary(user)["cash"] == "50.00"

    time.sleep(1.1)
    commit = quick.run("COMMIT_BUY", user=user)

    assert commit.status == 409
    assert commit.error == {"code": "nothing_pending", "message": "no pending buy"}
    entries = store.log(commit.txn)
    assert [e["type"] for e in entries] == ["userCommand", "accountTransaction", "errorEvent"]
    refund = entries[1]
    assert (refund["action"], refund["funds"], refund["user"]) == ("add", 5000, user)
    summary = quick.summary(user)
    assert (summary["cash"], summary["reserved_cash"]) == ("100.00", "0.00")
    assert summary["pending_buys"] == [] and summary["holdings"] == {}
    assert store.cash_by_the_log(user) == 10000


def test_an_expired_pending_sell_returns_its_shares_and_cannot_be_committed(platform_with, store):
    quick = platform_with(pending_ttl_s=1.0)
    user = random_user()
    quick.ok("ADD", user=user, amount="100.00")
    quick.ok("BUY", user=user, symbol="EXS", amount="100.00")
    quick.ok("COMMIT_BUY", user=user)
    quick.ok("SELL", user=user, symbol="EXS", amount="40.00")
    assert quick.summary(user)["holdings"] == {"EXS": 6}

    time.sleep(1.1)
    commit = quick.run("COMMIT_SELL", user=user)

    assert commit.status == 409
    assert commit.error["message"] == "no pending sell"
    summary = quick.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("0.00", {"EXS": 10})
    assert summary["pending_sells"] == []


def test_commit_buy_rolls_back_only_the_expired_pending_buys_first(platform_with, store):
    quick = platform_with(pending_ttl_s=1.0)
    user = random_user()
    quick.ok("ADD", user=user, amount="100.00")
    quick.ok("BUY", user=user, symbol="OLD", amount="30.00")
    time.sleep(0.7)
    quick.ok("BUY", user=user, symbol="NEW", amount="20.00")
    time.sleep(0.5)  # OLD is 1.2 s old (expired), NEW 0.5 s (live)

    commit = quick.run("COMMIT_BUY", user=user)

    assert commit.data["symbol"] == "NEW"
    refund = [e for e in store.log(commit.txn) if e["type"] == "accountTransaction"]
    assert [(e["action"], e["funds"]) for e in refund] == [("add", 3000)]
    summary = quick.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("80.00", {"NEW": 2})
    assert summary["pending_buys"] == []
    assert store.cash_by_the_log(user) == 8000


def test_commit_buy_takes_the_newest_pending_buy(platform, user, symbol):
    platform.ok("BUY", user=user, symbol=symbol, amount="20.00")
    platform.ok("BUY", user=user, symbol="NEW", amount="30.00")
    assert platform.ok("COMMIT_BUY", user=user)["symbol"] == "NEW"
    assert platform.ok("CANCEL_BUY", user=user)["symbol"] == symbol
    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("970.00", {"NEW": 3})


def test_cash_by_the_log_equals_the_summary_cash_for_a_user(platform, store, user, symbol):
    run = platform.ok
    run("ADD", user=user, amount="0.55")
    run("BUY", user=user, symbol=symbol, amount="250.00")
    run("CANCEL_BUY", user=user)
    run("BUY", user=user, symbol=symbol, amount="199.99")
    run("COMMIT_BUY", user=user)
    run("SELL", user=user, symbol=symbol, amount="50.00")
    run("COMMIT_SELL", user=user)
    run("SELL", user=user, symbol=symbol, amount="20.00")
    run("CANCEL_SELL", user=user)
    run("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="100.00")
    run("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="60.00")  # old reserve back first
    run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="1.00")
    run("SET_BUY_AMOUNT", user=user, symbol="OTH", amount="33.33")
    run("CANCEL_SET_BUY", user=user, symbol="OTH")
    run("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="30.00")
    run("SET_SELL_TRIGGER", user=user, symbol=symbol, amount="15.00")
    assert platform.run("BUY", user=user, symbol=symbol, amount="5000.00").status == 409
    assert platform.run("BUY", user=user, symbol=symbol, amount="-1").status == 400

    summary = platform.summary(user)
    # 1000.55 - 190.00 (19 bought) + 50.00 (5 sold) - 60.00 (buy setup reserve)
    assert summary["cash"] == "800.55"
    assert summary["reserved_cash"] == "60.00"
    assert summary["holdings"] == {symbol: 12}
    assert summary["sell_setups"][0]["shares_reserved"] == 2
    assert store.cash_by_the_log(user) == cents(summary["cash"])


def run_at_once(calls) -> list:
    """Run the calls in threads released together; return their results in order."""
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        start.wait(timeout=10)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_adds_through_two_sets_of_replicas_lose_no_update(
    platform, platform_with, store, user
):
    replica = platform_with()  # another process's clients: the lock must be shared
    calls = [(lambda p=p: p.run("ADD", user=user, amount="1.00")) for p in [platform, replica] * 10]
    replies = run_at_once(calls)
    assert [r.status for r in replies] == [200] * 20
    summary = platform.summary(user)
    assert summary["cash"] == "1020.00"
    assert store.cash_by_the_log(user) == 102000


def test_concurrent_buys_never_spend_more_cash_than_there_is(platform, store, symbol):
    user = random_user()
    platform.ok("ADD", user=user, amount="100.00")
    platform.ok("QUOTE", user=user, symbol=symbol)  # cached, so the buys race on the account
    calls = [
        (lambda: platform.run("BUY", user=user, symbol=symbol, amount="20.00")) for _ in range(10)
    ]
    replies = run_at_once(calls)
    assert sorted(r.status for r in replies) == [200] * 5 + [409] * 5
    assert {r.error["code"] for r in replies if r.status == 409} == {"insufficient_funds"}
    summary = platform.summary(user)
    assert (summary["cash"], summary["reserved_cash"]) == ("0.00", "100.00")
    assert len(summary["pending_buys"]) == 5
    assert store.cash_by_the_log(user) == 0
