"""Automatic buys and sells: setups made through the services, fired by one pass of the
trigger checker (`check_triggers`) at the quote server's fixed $10.00 price."""

import threading

import pytest

from services.trigger_checker.service import check_triggers
from tests.helpers import random_user

pytestmark = pytest.mark.integration


@pytest.fixture
def user(platform):
    name = random_user()
    platform.ok("ADD", user=name, amount="100.00")
    return name


@pytest.fixture
def symbol(fresh_symbol):
    return fresh_symbol()


def holding_ten_shares(platform, user, symbol) -> None:
    platform.ok("BUY", user=user, symbol=symbol, amount="100.00")
    platform.ok("COMMIT_BUY", user=user)


def only(entries: list[dict], kind: str) -> dict:
    [entry] = [e for e in entries if e["type"] == kind]
    return entry


@pytest.mark.parametrize("trigger", ["10.00", "12.50"])
def test_a_buy_trigger_at_or_above_the_price_fires(
    platform, store, backend, quote_stats, user, symbol, trigger
):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="55.00")
    armed = platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount=trigger)
    assert armed.data == {"reserve": "55.00", "trigger": trigger}

    assert check_triggers(backend) >= 1

    summary = platform.summary(user)
    assert summary["holdings"] == {symbol: 5}  # floor(55.00 / 10.00)
    assert (summary["cash"], summary["reserved_cash"]) == ("50.00", "0.00")
    assert summary["buy_setups"] == []
    entries = store.log(armed.txn)
    leftover = only(entries, "accountTransaction")
    assert (leftover["action"], leftover["funds"], leftover["user"]) == ("add", 500, user)
    event = only(entries, "systemEvent")
    assert (event["command"], event["user"], event["symbol"]) == ("SET_BUY_TRIGGER", user, symbol)
    assert event["funds"] == 5000
    # The checker's own quote-server hit is logged under the trigger's number.
    hit = only(entries, "quoteServer")
    assert (hit["symbol"], hit["price"]) == (symbol, 1000)
    assert quote_stats()[symbol] == 1
    assert store.cash_by_the_log(user) == 5000

    check_triggers(backend)  # a fired setup is gone: nothing fires twice
    assert platform.summary(user)["holdings"] == {symbol: 5}
    cancel = platform.run("CANCEL_SET_BUY", user=user, symbol=symbol)
    assert cancel.status == 409
    assert cancel.error == {"code": "no_setup", "message": f"no buy setup for {symbol}"}
    assert platform.summary(user)["cash"] == "50.00"


def test_a_buy_trigger_below_the_price_does_not_fire(platform, store, backend, user, symbol):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="55.00")
    armed = platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="9.99")

    check_triggers(backend)

    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("45.00", {})
    assert summary["buy_setups"] == [{"symbol": symbol, "reserve": "55.00", "trigger": "9.99"}]
    assert "systemEvent" not in store.types(armed.txn)
    assert platform.ok("CANCEL_SET_BUY", user=user, symbol=symbol) == {"refund": "55.00"}
    assert platform.summary(user)["cash"] == "100.00"


def test_a_pass_reads_the_armed_accounts_once_and_locks_only_what_fires(
    platform, backend, monkeypatch, user, symbol
):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="55.00")
    platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="9.99")  # will not fire
    reads, locked = [], []
    real_get, real_run = backend.accounts.get, backend.ledger.run_system
    monkeypatch.setattr(backend.accounts, "get", lambda u: reads.append(u) or real_get(u))
    monkeypatch.setattr(
        backend.ledger, "run_system", lambda u, rule: locked.append(u) or real_run(u, rule)
    )

    check_triggers(backend)
    # The account came with the pass's one query (other tests' accounts may fire).
    assert (reads.count(user), locked.count(user)) == (0, 0)

    platform.ok("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")  # now it fires
    assert check_triggers(backend) >= 1
    assert locked.count(user) == 1


def test_a_buy_trigger_whose_reserve_buys_no_share_keeps_waiting(
    platform, store, backend, user, symbol
):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="9.99")
    armed = platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")

    check_triggers(backend)

    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("90.01", {})
    assert summary["buy_setups"] == [{"symbol": symbol, "reserve": "9.99", "trigger": "10.00"}]
    assert "systemEvent" not in store.types(armed.txn)


def test_a_buy_trigger_with_no_leftover_logs_no_refund(platform, store, backend, user, symbol):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="50.00")
    armed = platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")

    check_triggers(backend)

    assert platform.summary(user)["holdings"] == {symbol: 5}
    kinds = store.types(armed.txn)
    assert "systemEvent" in kinds and "accountTransaction" not in kinds
    assert store.cash_by_the_log(user) == 5000


def test_a_setup_without_a_trigger_is_never_quoted_or_fired(
    platform, backend, quote_stats, user, symbol
):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="50.00")
    check_triggers(backend)
    assert symbol not in quote_stats()
    assert platform.summary(user)["buy_setups"] == [
        {"symbol": symbol, "reserve": "50.00", "trigger": None}
    ]


@pytest.mark.parametrize(("trigger", "shares"), [("10.00", 3), ("7.50", 4)])
def test_a_sell_trigger_at_or_below_the_price_fires_and_adds_the_proceeds(
    platform, store, backend, user, symbol, trigger, shares
):
    holding_ten_shares(platform, user, symbol)
    platform.ok("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="30.00")
    armed = platform.run("SET_SELL_TRIGGER", user=user, symbol=symbol, amount=trigger)
    assert armed.data == {"shares": shares, "trigger": trigger}  # floor(30.00 / trigger)
    assert platform.summary(user)["holdings"] == {symbol: 10 - shares}

    assert check_triggers(backend) >= 1

    summary = platform.summary(user)
    proceeds = shares * 1000
    assert summary["cash"] == f"{proceeds // 100}.00"
    assert summary["holdings"] == {symbol: 10 - shares}
    assert summary["sell_setups"] == []
    entries = store.log(armed.txn)
    added = only(entries, "accountTransaction")
    assert (added["action"], added["funds"], added["user"]) == ("add", proceeds, user)
    event = only(entries, "systemEvent")
    assert (event["command"], event["symbol"], event["funds"]) == (
        "SET_SELL_TRIGGER",
        symbol,
        proceeds,
    )
    assert store.cash_by_the_log(user) == proceeds
    cancel = platform.run("CANCEL_SET_SELL", user=user, symbol=symbol)
    assert (cancel.status, cancel.error["code"]) == (409, "no_setup")


def test_a_sell_trigger_above_the_price_does_not_fire(platform, store, backend, user, symbol):
    holding_ten_shares(platform, user, symbol)
    platform.ok("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="30.00")
    armed = platform.run("SET_SELL_TRIGGER", user=user, symbol=symbol, amount="10.01")

    check_triggers(backend)

    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("0.00", {symbol: 8})
    assert summary["sell_setups"] == [
        {"symbol": symbol, "amount": "30.00", "shares_reserved": 2, "trigger": "10.01"}
    ]
    assert "systemEvent" not in store.types(armed.txn)
    assert platform.ok("CANCEL_SET_SELL", user=user, symbol=symbol) == {"returned_shares": 2}
    assert platform.summary(user)["holdings"] == {symbol: 10}


def test_a_buy_and_a_sell_setup_on_one_symbol_both_fire_in_one_pass(
    platform, store, backend, user, symbol
):
    holding_ten_shares(platform, user, symbol)
    platform.ok("ADD", user=user, amount="40.00")
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="40.00")
    buy = platform.run("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")
    platform.ok("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="20.00")
    sell = platform.run("SET_SELL_TRIGGER", user=user, symbol=symbol, amount="10.00")

    check_triggers(backend)

    summary = platform.summary(user)
    assert summary["holdings"] == {symbol: 12}  # 10 - 2 sold + 4 bought
    assert summary["cash"] == "20.00"
    assert summary["buy_setups"] == [] and summary["sell_setups"] == []
    assert store.types(buy.txn).count("systemEvent") == 1
    assert store.types(sell.txn).count("systemEvent") == 1
    assert store.cash_by_the_log(user) == 2000


def test_a_trigger_for_another_users_symbol_leaves_this_user_alone(
    platform, store, backend, user, symbol
):
    other = random_user()
    platform.ok("ADD", user=other, amount="100.00")
    platform.ok("SET_BUY_AMOUNT", user=other, symbol=symbol, amount="20.00")
    platform.ok("SET_BUY_TRIGGER", user=other, symbol=symbol, amount="10.00")
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="20.00")
    before = store.account(user)

    check_triggers(backend)

    assert platform.summary(other)["holdings"] == {symbol: 2}
    assert store.account(user) == before


def test_a_cancel_racing_the_trigger_checker_either_fires_or_refunds_never_both(
    platform, store, backend, user, symbol
):
    platform.ok("SET_BUY_AMOUNT", user=user, symbol=symbol, amount="50.00")
    platform.ok("SET_BUY_TRIGGER", user=user, symbol=symbol, amount="10.00")
    platform.ok("QUOTE", user=user, symbol=symbol)  # cached: the race is on the account
    start = threading.Barrier(2)
    cancelled = []

    def cancel():
        start.wait(timeout=10)
        cancelled.append(platform.run("CANCEL_SET_BUY", user=user, symbol=symbol).status)

    def check():
        start.wait(timeout=10)
        check_triggers(backend)

    threads = [threading.Thread(target=cancel), threading.Thread(target=check)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    summary = platform.summary(user)
    if cancelled == [200]:
        assert (summary["cash"], summary["holdings"]) == ("100.00", {})
    else:
        assert cancelled == [409]
        assert (summary["cash"], summary["holdings"]) == ("50.00", {symbol: 5})
    assert summary["buy_setups"] == []
    assert store.cash_by_the_log(user) == int(summary["cash"].replace(".", ""))
