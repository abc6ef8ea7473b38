"""The account rules (services/common/domain/account.py) against dts-commands.md."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from types import MappingProxyType

import pytest

from services.common.domain import account as rules
from services.common.domain.account import (
    ADD,
    REMOVE,
    Account,
    BuySetup,
    CashMove,
    Pending,
    SellSetup,
    TriggerFired,
)
from services.common.errors import (
    Conflict,
    InsufficientFunds,
    InsufficientShares,
    NoSetup,
    NothingPending,
    ZeroShares,
)
from services.common.presenters import account_summary

NOW = 1_700_000_000_000
TTL = 60_000


# --- helpers ---------------------------------------------------------------------


def make_account(
    cash=0,
    holdings=None,
    pending_buys=(),
    pending_sells=(),
    buy_setups=(),
    sell_setups=(),
):
    """An account built directly, setups given as lists keyed by their symbol."""
    return Account(
        "alice",
        cash=cash,
        holdings=MappingProxyType(dict(holdings or {})),
        pending_buys=tuple(pending_buys),
        pending_sells=tuple(pending_sells),
        buy_setups=MappingProxyType({s.symbol: s for s in buy_setups}),
        sell_setups=MappingProxyType({s.symbol: s for s in sell_setups}),
    )


def snapshot(acct: Account) -> tuple:
    """A deep, plain copy of everything that describes an account."""
    return (
        acct.user,
        acct.cash,
        dict(acct.holdings),
        acct.pending_buys,
        acct.pending_sells,
        dict(acct.buy_setups),
        dict(acct.sell_setups),
        acct.version,
    )


def cash_delta(moves) -> int:
    return sum(m.cents if m.action == ADD else -m.cents for m in moves)


# --- ADD -------------------------------------------------------------------------


def test_add_funds_increases_cash_by_the_amount_and_records_an_add_move():
    change = rules.add_funds(make_account(cash=250), 10_000)
    assert change.account.cash == 10_250
    assert change.moves == (CashMove(ADD, 10_000),)
    assert change.fired == ()


def test_add_funds_does_not_change_the_input_account():
    acct = make_account(cash=250)
    rules.add_funds(acct, 10_000)
    assert acct.cash == 250


def test_accounts_are_frozen():
    acct = make_account(cash=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        acct.cash = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        acct.holdings["ABC"] = 1  # type: ignore[index]


# --- BUY ---------------------------------------------------------------------------


def test_buy_reserves_only_the_cost_of_whole_shares():
    change = rules.buy(make_account(cash=10_000), "ABC", 5_000, 1_500, NOW, 7)
    assert change.account.cash == 10_000 - 4_500
    assert change.moves == (CashMove(REMOVE, 4_500),)
    assert change.account.pending_buys == (Pending("ABC", 3, 1_500, NOW, 7),)
    assert change.account.holdings == {}
    assert dict(change.result) == {"symbol": "ABC", "shares": 3, "price": 1_500, "cost": 4_500}
    assert change.account.reserved_cash == 4_500


def test_buy_succeeds_when_cash_equals_the_amount():
    change = rules.buy(make_account(cash=5_000), "ABC", 5_000, 1_000, NOW, 1)
    assert change.account.cash == 0
    assert change.account.pending_buys[0].shares == 5


def test_buy_fails_when_the_amount_buys_zero_shares():
    acct = make_account(cash=10_000)
    before = snapshot(acct)
    with pytest.raises(ZeroShares):
        rules.buy(acct, "ABC", 1_499, 1_500, NOW, 1)
    assert snapshot(acct) == before


def test_buy_fails_when_cash_is_below_the_amount_even_if_the_cost_would_fit():
    # $49.99 of cash, BUY $50.00 at $15.00: the cost ($45.00) fits, but the rule is
    # cash >= amount.
    acct = make_account(cash=4_999, holdings={"XYZ": 2})
    before = snapshot(acct)
    with pytest.raises(InsufficientFunds):
        rules.buy(acct, "ABC", 5_000, 1_500, NOW, 1)
    assert snapshot(acct) == before


def test_check_buy_fails_before_a_quote_is_needed_when_cash_is_short():
    with pytest.raises(InsufficientFunds):
        rules.check_buy(make_account(cash=99), 100)
    rules.check_buy(make_account(cash=100), 100)


# --- the pending stacks ----------------------------------------------------------


def two_pending_buys() -> Account:
    acct = make_account(cash=100_000)
    acct = rules.buy(acct, "ABC", 3_000, 1_000, NOW, 1).account
    return rules.buy(acct, "DEF", 5_000, 2_500, NOW + 1, 2).account


def test_commit_buy_completes_the_newest_pending_buy():
    change = rules.commit_buy(two_pending_buys())
    assert change.account.holdings == {"DEF": 2}
    assert [p.symbol for p in change.account.pending_buys] == ["ABC"]
    assert change.account.cash == 100_000 - 3_000 - 5_000
    assert change.moves == ()
    assert dict(change.result) == {"symbol": "DEF", "shares": 2, "price": 2_500, "amount": 5_000}


def test_commit_buy_twice_completes_both_newest_first():
    first = rules.commit_buy(two_pending_buys())
    second = rules.commit_buy(first.account)
    assert second.result["symbol"] == "ABC"
    assert second.account.holdings == {"ABC": 3, "DEF": 2}
    assert second.account.pending_buys == ()


def test_commit_buy_adds_to_an_existing_holding():
    acct = make_account(cash=10_000, holdings={"ABC": 4})
    acct = rules.buy(acct, "ABC", 3_000, 1_000, NOW, 1).account
    assert rules.commit_buy(acct).account.holdings == {"ABC": 7}


def test_cancel_buy_returns_the_newest_cost_to_cash():
    change = rules.cancel_buy(two_pending_buys())
    assert change.account.cash == 100_000 - 3_000
    assert change.moves == (CashMove(ADD, 5_000),)
    assert [p.symbol for p in change.account.pending_buys] == ["ABC"]
    assert change.account.holdings == {}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (rules.commit_buy, "no pending buy"),
        (rules.cancel_buy, "no pending buy"),
        (rules.commit_sell, "no pending sell"),
        (rules.cancel_sell, "no pending sell"),
    ],
)
def test_commit_and_cancel_fail_when_nothing_is_pending(rule, message):
    acct = make_account(cash=1_000, holdings={"ABC": 3})
    with pytest.raises(NothingPending, match=message):
        rule(acct)


def test_pending_sells_do_not_satisfy_commit_buy():
    acct = make_account(holdings={"ABC": 10})
    acct = rules.sell(acct, "ABC", 1_000, 1_000, NOW, 1).account
    with pytest.raises(NothingPending):
        rules.commit_buy(acct)


# --- expiry of pending trades --------------------------------------------------------


def test_expire_pending_returns_the_cost_of_expired_buys_as_add_moves():
    old1 = Pending("ABC", 3, 1_000, NOW - 90_000, 1)
    old2 = Pending("DEF", 2, 2_500, NOW - 61_000, 2)
    live = Pending("GHI", 1, 700, NOW - 10_000, 3)
    acct = make_account(cash=100, pending_buys=[old1, old2, live])
    change = rules.expire_pending(acct, NOW, TTL)
    assert change.account.cash == 100 + 3_000 + 5_000
    assert change.moves == (CashMove(ADD, 3_000), CashMove(ADD, 5_000))
    assert change.account.pending_buys == (live,)
    assert change.account.holdings == {}


def test_expire_pending_returns_the_shares_of_expired_sells():
    old = Pending("ABC", 3, 1_000, NOW - 70_000, 1)
    live = Pending("ABC", 2, 1_100, NOW - 1_000, 2)
    acct = make_account(cash=100, holdings={"ABC": 5}, pending_sells=[old, live])
    change = rules.expire_pending(acct, NOW, TTL)
    assert change.account.holdings == {"ABC": 8}
    assert change.account.pending_sells == (live,)
    assert change.account.cash == 100
    assert change.moves == ()


def test_expire_pending_restores_a_holding_that_was_emptied():
    old = Pending("ABC", 3, 1_000, NOW - 70_000, 1)
    acct = make_account(pending_sells=[old])
    assert rules.expire_pending(acct, NOW, TTL).account.holdings == {"ABC": 3}


def test_expire_pending_keeps_the_account_when_nothing_expired():
    live_buy = Pending("ABC", 3, 1_000, NOW - 1, 1)
    live_sell = Pending("DEF", 1, 1_000, NOW, 2)
    acct = make_account(cash=5, pending_buys=[live_buy], pending_sells=[live_sell])
    change = rules.expire_pending(acct, NOW, TTL)
    assert change.account == acct
    assert change.moves == ()


@pytest.mark.parametrize(
    ("age_ms", "expired"),
    [(0, False), (TTL - 1, False), (TTL, True), (TTL + 1, True)],
)
def test_expire_pending_treats_a_trade_exactly_ttl_old_as_expired(age_ms, expired):
    buy = Pending("ABC", 1, 1_000, NOW - age_ms, 1)
    sell = Pending("DEF", 1, 1_000, NOW - age_ms, 2)
    acct = make_account(pending_buys=[buy], pending_sells=[sell])
    change = rules.expire_pending(acct, NOW, TTL)
    assert (change.account.pending_buys == ()) is expired
    assert (change.account.pending_sells == ()) is expired
    assert change.account.cash == (1_000 if expired else 0)


def test_commit_buy_after_expiry_takes_the_newest_live_buy():
    acct = make_account(cash=100_000)
    acct = rules.buy(acct, "ABC", 1_000, 1_000, NOW, 1).account
    acct = rules.buy(acct, "DEF", 2_000, 1_000, NOW + 30_000, 2).account
    expired = rules.expire_pending(acct, NOW + 70_000, TTL)
    change = expired.then(rules.commit_buy(expired.account))
    assert change.account.holdings == {"DEF": 2}
    assert change.moves == (CashMove(ADD, 1_000),)
    assert change.account.cash == 100_000 - 2_000


# --- SELL ----------------------------------------------------------------------


def test_sell_moves_whole_shares_out_of_the_holding_into_a_pending_sell():
    acct = make_account(cash=100, holdings={"ABC": 10})
    change = rules.sell(acct, "ABC", 5_000, 1_500, NOW, 9)
    assert change.account.holdings == {"ABC": 7}
    assert change.account.pending_sells == (Pending("ABC", 3, 1_500, NOW, 9),)
    assert change.account.cash == 100
    assert change.moves == ()
    assert dict(change.result) == {
        "symbol": "ABC",
        "shares": 3,
        "price": 1_500,
        "proceeds": 4_500,
    }


def test_sell_succeeds_when_held_shares_are_worth_exactly_the_amount():
    change = rules.sell(make_account(holdings={"ABC": 3}), "ABC", 4_500, 1_500, NOW, 1)
    assert change.account.holdings == {}
    assert change.account.pending_sells[0].shares == 3


def test_sell_fails_when_held_shares_are_worth_less_than_the_amount():
    acct = make_account(cash=100, holdings={"ABC": 3})
    before = snapshot(acct)
    with pytest.raises(InsufficientShares):
        rules.sell(acct, "ABC", 4_501, 1_500, NOW, 1)
    assert snapshot(acct) == before


def test_sell_fails_without_shares_of_the_symbol():
    acct = make_account(cash=100_000, holdings={"DEF": 100})
    with pytest.raises(InsufficientShares):
        rules.check_sell(acct, "ABC")
    with pytest.raises(InsufficientShares):
        rules.sell(acct, "ABC", 1_000, 100, NOW, 1)


def test_sell_fails_when_the_amount_sells_zero_shares():
    acct = make_account(holdings={"ABC": 10})
    before = snapshot(acct)
    with pytest.raises(ZeroShares):
        rules.sell(acct, "ABC", 1_499, 1_500, NOW, 1)
    assert snapshot(acct) == before


def test_sell_counts_only_shares_still_held_not_those_already_pending():
    acct = make_account(holdings={"ABC": 5})
    acct = rules.sell(acct, "ABC", 3_000, 1_000, NOW, 1).account
    with pytest.raises(InsufficientShares):
        rules.sell(acct, "ABC", 3_000, 1_000, NOW, 2)


def test_commit_sell_adds_the_proceeds_of_the_newest_pending_sell():
    acct = make_account(cash=100, holdings={"ABC": 10, "DEF": 10})
    acct = rules.sell(acct, "ABC", 2_000, 1_000, NOW, 1).account
    acct = rules.sell(acct, "DEF", 5_000, 2_500, NOW, 2).account
    change = rules.commit_sell(acct)
    assert change.account.cash == 100 + 5_000
    assert change.moves == (CashMove(ADD, 5_000),)
    assert [p.symbol for p in change.account.pending_sells] == ["ABC"]
    assert change.account.holdings == {"ABC": 8, "DEF": 8}


def test_cancel_sell_returns_the_newest_pending_shares_to_the_holding():
    acct = make_account(cash=100, holdings={"ABC": 10, "DEF": 2})
    acct = rules.sell(acct, "ABC", 2_000, 1_000, NOW, 1).account
    acct = rules.sell(acct, "DEF", 5_000, 2_500, NOW, 2).account
    change = rules.cancel_sell(acct)
    assert change.account.holdings == {"ABC": 8, "DEF": 2}
    assert [p.symbol for p in change.account.pending_sells] == ["ABC"]
    assert change.account.cash == 100
    assert change.moves == ()


# --- SET_BUY_AMOUNT / SET_BUY_TRIGGER / CANCEL_SET_BUY ---------------------------------


def test_set_buy_amount_without_a_setup_moves_the_amount_into_a_new_reserve():
    change = rules.set_buy_amount(make_account(cash=10_000), "ABC", 3_000)
    assert change.account.cash == 7_000
    assert change.moves == (CashMove(REMOVE, 3_000),)
    assert change.account.buy_setups == {"ABC": BuySetup("ABC", 3_000)}
    assert change.account.reserved_cash == 3_000
    assert change.account.armed_symbols == ()


def test_set_buy_amount_with_a_setup_returns_the_old_reserve_first_and_keeps_the_trigger():
    acct = make_account(cash=7_000, buy_setups=[BuySetup("ABC", 3_000, trigger=1_000, txn=5)])
    change = rules.set_buy_amount(acct, "ABC", 8_000)
    assert change.moves == (CashMove(ADD, 3_000), CashMove(REMOVE, 8_000))
    assert change.account.cash == 2_000
    assert change.account.buy_setups["ABC"] == BuySetup("ABC", 8_000, trigger=1_000, txn=5)
    assert change.account.armed_symbols == ("ABC",)


def test_set_buy_amount_checks_cash_plus_the_old_reserve():
    acct = make_account(cash=1_000, buy_setups=[BuySetup("ABC", 3_000)])
    change = rules.set_buy_amount(acct, "ABC", 4_000)
    assert change.account.cash == 0
    assert change.account.buy_setups["ABC"].reserve == 4_000


def test_set_buy_amount_fails_without_changes_when_cash_plus_old_reserve_is_short():
    acct = make_account(cash=1_000, buy_setups=[BuySetup("ABC", 3_000, trigger=900, txn=2)])
    before = snapshot(acct)
    with pytest.raises(InsufficientFunds):
        rules.set_buy_amount(acct, "ABC", 4_001)
    assert snapshot(acct) == before


def test_set_buy_amount_does_not_count_the_reserve_of_another_symbol():
    acct = make_account(cash=1_000, buy_setups=[BuySetup("DEF", 3_000)])
    with pytest.raises(InsufficientFunds):
        rules.set_buy_amount(acct, "ABC", 1_001)


def test_set_buy_trigger_needs_a_buy_setup():
    with pytest.raises(NoSetup):
        rules.set_buy_trigger(make_account(cash=10_000), "ABC", 1_000, 3)


def test_set_buy_trigger_arms_and_rearms_the_setup_without_moving_cash():
    acct = rules.set_buy_amount(make_account(cash=10_000), "ABC", 3_000).account
    armed = rules.set_buy_trigger(acct, "ABC", 1_000, 3)
    assert armed.account.buy_setups["ABC"] == BuySetup("ABC", 3_000, trigger=1_000, txn=3)
    assert armed.moves == ()
    assert armed.account.cash == 7_000
    rearmed = rules.set_buy_trigger(armed.account, "ABC", 900, 4)
    assert rearmed.account.buy_setups["ABC"] == BuySetup("ABC", 3_000, trigger=900, txn=4)


def test_cancel_set_buy_refunds_the_reserve_and_removes_the_setup():
    acct = make_account(cash=7_000, buy_setups=[BuySetup("ABC", 3_000, trigger=1_000, txn=5)])
    change = rules.cancel_set_buy(acct, "ABC")
    assert change.account.cash == 10_000
    assert change.moves == (CashMove(ADD, 3_000),)
    assert change.account.buy_setups == {}
    assert change.account.armed_symbols == ()


def test_cancel_set_buy_needs_a_buy_setup():
    with pytest.raises(NoSetup):
        rules.cancel_set_buy(make_account(cash=7_000), "ABC")


# --- SET_SELL_AMOUNT / SET_SELL_TRIGGER / CANCEL_SET_SELL -----------------------------


def test_set_sell_amount_needs_at_least_one_share():
    with pytest.raises(InsufficientShares):
        rules.set_sell_amount(make_account(cash=10_000, holdings={"DEF": 5}), "ABC", 1_000)


def test_set_sell_amount_does_not_count_shares_waiting_in_a_pending_sell():
    acct = rules.sell(make_account(holdings={"ABC": 2}), "ABC", 2_000, 1_000, NOW, 1).account
    with pytest.raises(InsufficientShares):
        rules.set_sell_amount(acct, "ABC", 1_000)


def test_set_sell_amount_with_a_held_share_creates_the_setup_without_moving_shares():
    change = rules.set_sell_amount(make_account(holdings={"ABC": 1}), "ABC", 5_000)
    assert change.account.sell_setups == {"ABC": SellSetup("ABC", 5_000)}
    assert change.account.holdings == {"ABC": 1}
    assert change.moves == ()


def test_set_sell_amount_accepts_shares_reserved_by_the_existing_setup():
    setup = SellSetup("ABC", 5_000, shares=2, trigger=2_000, txn=4)
    acct = make_account(sell_setups=[setup])
    change = rules.set_sell_amount(acct, "ABC", 9_000)
    # The reserved shares and the trigger stay until the next SET_SELL_TRIGGER.
    assert change.account.sell_setups["ABC"] == SellSetup("ABC", 9_000, 2, 2_000, 4)
    assert change.account.holdings == {}


def test_set_sell_trigger_needs_a_sell_setup():
    with pytest.raises(NoSetup):
        rules.set_sell_trigger(make_account(holdings={"ABC": 5}), "ABC", 1_000, 1)


def test_set_sell_trigger_reserves_floor_of_amount_over_price():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 10}), "ABC", 5_000).account
    change = rules.set_sell_trigger(acct, "ABC", 1_500, 6)
    assert change.account.holdings == {"ABC": 7}
    assert change.account.sell_setups["ABC"] == SellSetup("ABC", 5_000, 3, 1_500, 6)
    assert change.moves == ()
    assert dict(change.result) == {"shares": 3, "trigger": 1_500}


def test_set_sell_trigger_reserves_at_most_the_available_shares():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 2}), "ABC", 5_000).account
    change = rules.set_sell_trigger(acct, "ABC", 1_000, 6)
    assert change.account.holdings == {}
    assert change.account.sell_setups["ABC"].shares == 2


@pytest.mark.parametrize(
    ("new_price", "held_after", "reserved_after"),
    [
        (2_500, 8, 2),  # fewer shares needed: one previously reserved share returns
        (1_500, 7, 3),  # same reserve
        (500, 0, 10),  # more than available: everything, held and reserved
    ],
)
def test_set_sell_trigger_again_recomputes_the_reserve_from_held_plus_reserved_shares(
    new_price, held_after, reserved_after
):
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 10}), "ABC", 5_000).account
    acct = rules.set_sell_trigger(acct, "ABC", 1_500, 6).account
    change = rules.set_sell_trigger(acct, "ABC", new_price, 7)
    assert change.account.shares("ABC") == held_after
    assert change.account.sell_setups["ABC"] == SellSetup(
        "ABC", 5_000, reserved_after, new_price, 7
    )
    assert change.account.shares("ABC") + change.account.sell_setups["ABC"].shares == 10


def test_set_sell_trigger_after_a_new_amount_uses_the_new_amount():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 10}), "ABC", 5_000).account
    acct = rules.set_sell_trigger(acct, "ABC", 1_000, 6).account  # 5 reserved
    acct = rules.set_sell_amount(acct, "ABC", 2_000).account
    assert acct.sell_setups["ABC"].shares == 5  # unchanged until the next trigger
    change = rules.set_sell_trigger(acct, "ABC", 1_000, 8)
    assert change.account.shares("ABC") == 8
    assert change.account.sell_setups["ABC"].shares == 2


def test_set_sell_trigger_fails_without_changes_when_the_reserve_would_be_zero():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 10}), "ABC", 1_000).account
    before = snapshot(acct)
    with pytest.raises(ZeroShares):
        rules.set_sell_trigger(acct, "ABC", 1_500, 2)
    assert snapshot(acct) == before


def test_set_sell_trigger_fails_when_no_shares_are_available_any_more():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 2}), "ABC", 1_000).account
    acct = rules.sell(acct, "ABC", 2_000, 1_000, NOW, 2).account  # both shares pending
    with pytest.raises(ZeroShares):
        rules.set_sell_trigger(acct, "ABC", 100, 3)


def test_cancel_set_sell_returns_the_reserved_shares_and_removes_the_setup():
    acct = make_account(holdings={"ABC": 1}, sell_setups=[SellSetup("ABC", 5_000, 4, 1_000, 3)])
    change = rules.cancel_set_sell(acct, "ABC")
    assert change.account.holdings == {"ABC": 5}
    assert change.account.sell_setups == {}
    assert change.moves == ()
    assert dict(change.result) == {"returned_shares": 4}


def test_cancel_set_sell_of_an_unarmed_setup_returns_nothing():
    acct = rules.set_sell_amount(make_account(holdings={"ABC": 3}), "ABC", 1_000).account
    change = rules.cancel_set_sell(acct, "ABC")
    assert change.account.holdings == {"ABC": 3}
    assert change.account.sell_setups == {}


def test_cancel_set_sell_needs_a_sell_setup():
    with pytest.raises(NoSetup):
        rules.cancel_set_sell(make_account(holdings={"ABC": 3}), "ABC")


# --- triggers firing -------------------------------------------------------------------


def armed_buy(reserve=5_000, trigger=1_500, txn=11, cash=0):
    return make_account(cash=cash, buy_setups=[BuySetup("ABC", reserve, trigger, txn)])


def armed_sell(shares=3, trigger=1_500, txn=12, cash=0, held=0):
    setup = SellSetup("ABC", 5_000, shares, trigger, txn)
    return make_account(cash=cash, holdings={"ABC": held} if held else {}, sell_setups=[setup])


@pytest.mark.parametrize("price", [1_500, 1_400])
def test_buy_trigger_fires_at_or_below_the_trigger_price(price):
    change = rules.fire_triggers(armed_buy(cash=100), "ABC", price)
    shares = 5_000 // price
    leftover = 5_000 - shares * price
    assert change.account.holdings == {"ABC": shares}
    assert change.account.cash == 100 + leftover
    assert change.account.buy_setups == {}
    assert change.moves == (CashMove(ADD, leftover, 11),)
    assert change.fired == (TriggerFired("SET_BUY_TRIGGER", "ABC", shares, price, 11),)


def test_buy_trigger_without_leftover_records_no_cash_move():
    change = rules.fire_triggers(armed_buy(reserve=4_500), "ABC", 1_500)
    assert change.account.holdings == {"ABC": 3}
    assert change.moves == ()
    assert len(change.fired) == 1


def test_buy_trigger_does_not_fire_above_the_trigger_price():
    acct = armed_buy()
    change = rules.fire_triggers(acct, "ABC", 1_501)
    assert change.account == acct
    assert change.moves == () and change.fired == ()


def test_buy_trigger_keeps_waiting_when_the_reserve_buys_zero_shares():
    acct = armed_buy(reserve=1_000, trigger=2_000)
    change = rules.fire_triggers(acct, "ABC", 1_500)
    assert change.account == acct
    assert change.moves == () and change.fired == ()


@pytest.mark.parametrize("price", [1_500, 1_600])
def test_sell_trigger_fires_at_or_above_the_trigger_price(price):
    change = rules.fire_triggers(armed_sell(cash=100, held=2), "ABC", price)
    assert change.account.cash == 100 + 3 * price
    assert change.account.holdings == {"ABC": 2}
    assert change.account.sell_setups == {}
    assert change.moves == (CashMove(ADD, 3 * price, 12),)
    assert change.fired == (TriggerFired("SET_SELL_TRIGGER", "ABC", 3, price, 12),)


def test_sell_trigger_does_not_fire_below_the_trigger_price():
    acct = armed_sell()
    change = rules.fire_triggers(acct, "ABC", 1_499)
    assert change.account == acct
    assert change.moves == () and change.fired == ()


@pytest.mark.parametrize("price", [1, 1_000, 1_000_000])
def test_nothing_fires_for_setups_without_a_trigger(price):
    acct = make_account(
        cash=10,
        holdings={"ABC": 1},
        buy_setups=[BuySetup("ABC", 5_000)],
        sell_setups=[SellSetup("ABC", 5_000)],
    )
    change = rules.fire_triggers(acct, "ABC", price)
    assert change.account == acct
    assert change.moves == () and change.fired == ()


def test_triggers_of_other_symbols_do_not_fire():
    acct = armed_buy()
    assert rules.fire_triggers(acct, "DEF", 1).account == acct


def test_buy_and_sell_triggers_of_one_symbol_can_fire_in_one_call():
    acct = make_account(
        cash=100,
        buy_setups=[BuySetup("ABC", 5_000, trigger=2_000, txn=21)],
        sell_setups=[SellSetup("ABC", 3_000, shares=2, trigger=1_000, txn=22)],
    )
    change = rules.fire_triggers(acct, "ABC", 1_500)
    assert change.fired == (
        TriggerFired("SET_BUY_TRIGGER", "ABC", 3, 1_500, 21),
        TriggerFired("SET_SELL_TRIGGER", "ABC", 2, 1_500, 22),
    )
    assert change.moves == (CashMove(ADD, 500, 21), CashMove(ADD, 3_000, 22))
    assert change.account.cash == 100 + 500 + 3_000
    assert change.account.holdings == {"ABC": 3}
    assert change.account.buy_setups == {} and change.account.sell_setups == {}


def test_change_then_keeps_moves_and_fired_of_both_changes_in_order():
    first = rules.add_funds(make_account(), 100)
    second = rules.add_funds(first.account, 200)
    chained = first.then(second)
    assert chained.moves == (CashMove(ADD, 100), CashMove(ADD, 200))
    assert chained.account.cash == 300


# --- summary (presenters.account_summary) -------------------------------------------


def test_account_summary_shows_money_as_dollars_and_newest_pending_first():
    acct = make_account(
        cash=12_345,
        holdings={"XYZ": 1, "ABC": 2},
        pending_buys=[
            Pending("ABC", 1, 1_000, NOW - 50_000, 1),
            Pending("DEF", 2, 250, NOW - 1_500, 2),
        ],
        buy_setups=[BuySetup("GHI", 700)],
        sell_setups=[SellSetup("ABC", 900, 1, 450, 4)],
    )
    summary = account_summary(acct, NOW, TTL)
    assert summary["cash"] == "123.45"
    assert summary["reserved_cash"] == "22.00"
    assert list(summary["holdings"]) == ["ABC", "XYZ"]
    assert [p["symbol"] for p in summary["pending_buys"]] == ["DEF", "ABC"]
    assert summary["pending_buys"][0]["amount"] == "5.00"
    assert summary["pending_buys"][0]["seconds_left"] == 58
    assert summary["pending_buys"][1]["seconds_left"] == 10
    assert summary["buy_setups"] == [{"symbol": "GHI", "reserve": "7.00", "trigger": None}]
    assert summary["sell_setups"] == [
        {"symbol": "ABC", "amount": "9.00", "shares_reserved": 1, "trigger": "4.50"}
    ]


# --- invariants over random sequences ---------------------------------------------------

SYMBOLS = ("ABC", "XY", "Q")


class Tracker:
    """What the rules' outputs say happened, to compare with the account."""

    def __init__(self, start_cash: int):
        self.start_cash = start_cash
        self.ledger = 0  # sum(ADD moves) - sum(REMOVE moves)
        self.deposits = 0
        self.bought = Counter()  # shares that became holdings by COMMIT_BUY or a buy trigger
        self.sold = Counter()  # shares that left for good by COMMIT_SELL or a sell trigger
        self.spent = 0  # cost of shares bought for good
        self.earned = 0  # proceeds of shares sold for good

    def record(self, change):
        self.ledger += cash_delta(change.moves)
        for fired in change.fired:
            if fired.command == "SET_BUY_TRIGGER":
                self.bought[fired.symbol] += fired.shares
                self.spent += fired.shares * fired.price
            else:
                self.sold[fired.symbol] += fired.shares
                self.earned += fired.shares * fired.price


def random_step(rnd: random.Random, acct: Account, now: int, tracker: Tracker, txn: int):
    """Apply one randomly chosen rule; return the new account and the outcome's name.

    COMMIT_*/CANCEL_* first roll back expired trades, as the service does; that roll-back
    stays even when the rule after it fails. A failing rule must leave its input intact.
    """
    symbol = rnd.choice(SYMBOLS)
    price = rnd.randint(50, 3_000)
    amount = rnd.choice((rnd.randint(1, 3_000), rnd.randint(1, 60_000)))
    op = rnd.randrange(15)
    if op in (2, 3, 5, 6):
        expired = rules.expire_pending(acct, now, TTL)
        tracker.record(expired)
        acct = expired.account
    steps = {
        0: lambda a: rules.add_funds(a, amount),
        1: lambda a: rules.buy(a, symbol, amount, price, now, txn),
        2: rules.commit_buy,
        3: rules.cancel_buy,
        4: lambda a: rules.sell(a, symbol, amount, price, now, txn),
        5: rules.commit_sell,
        6: rules.cancel_sell,
        7: lambda a: rules.set_buy_amount(a, symbol, amount),
        8: lambda a: rules.set_buy_trigger(a, symbol, price, txn),
        9: lambda a: rules.cancel_set_buy(a, symbol),
        10: lambda a: rules.set_sell_amount(a, symbol, amount),
        11: lambda a: rules.set_sell_trigger(a, symbol, price, txn),
        12: lambda a: rules.cancel_set_sell(a, symbol),
        13: lambda a: rules.fire_triggers(a, symbol, price),
        14: lambda a: rules.expire_pending(a, now, TTL),
    }
    before = snapshot(acct)
    try:
        change = steps[op](acct)
    except Conflict as exc:
        assert snapshot(acct) == before
        return acct, type(exc).__name__
    tracker.record(change)
    if op == 0:
        tracker.deposits += amount
    elif op == 2:
        tracker.bought[change.result["symbol"]] += change.result["shares"]
        tracker.spent += change.result["amount"]
    elif op == 5:
        tracker.sold[change.result["symbol"]] += change.result["shares"]
        tracker.earned += change.result["amount"]
    return change.account, "ok"


def check_invariants(acct: Account, tracker: Tracker):
    assert acct.cash >= 0
    assert all(shares > 0 for shares in acct.holdings.values())
    assert all(p.shares > 0 and p.price > 0 for p in acct.pending_buys + acct.pending_sells)
    assert all(s.reserve > 0 for s in acct.buy_setups.values())
    assert all(s.shares >= 0 for s in acct.sell_setups.values())
    assert all(s.shares > 0 for s in acct.sell_setups.values() if s.trigger is not None)
    # Cash is what the cash moves say it is.
    assert tracker.start_cash + tracker.ledger == acct.cash
    # Money is conserved: nothing appears or vanishes between cash and reserves.
    assert (
        tracker.start_cash + tracker.deposits + tracker.earned - tracker.spent
        == acct.cash + acct.reserved_cash
    )
    # Shares are conserved: every share bought is held, pending sale or set aside.
    for symbol in SYMBOLS:
        pending = sum(p.shares for p in acct.pending_sells if p.symbol == symbol)
        setup = acct.sell_setups.get(symbol)
        reserved = setup.shares if setup else 0
        assert tracker.bought[symbol] - tracker.sold[symbol] == (
            acct.shares(symbol) + pending + reserved
        )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_rule_sequences_conserve_cash_and_shares(seed):
    rnd = random.Random(seed)
    start_cash = 20_000
    acct = make_account(cash=start_cash)
    tracker = Tracker(start_cash)
    now = NOW
    outcomes = Counter()
    for txn in range(1, 2_001):
        now += rnd.randint(0, 15_000)
        acct, outcome = random_step(rnd, acct, now, tracker, txn)
        outcomes[outcome] += 1
        check_invariants(acct, tracker)
    # The sequence exercised successes and each kind of failure.
    assert outcomes["ok"] > 500
    for error in (InsufficientFunds, InsufficientShares, NothingPending, NoSetup, ZeroShares):
        assert outcomes[error.__name__] > 0, outcomes
    assert tracker.bought and tracker.sold


def test_a_new_setup_needs_room_both_sides_counted_and_a_change_never_does():
    account = rules.Account("u", cash=10_000, holdings=MappingProxyType({"S": 3}))
    account = rules.set_buy_amount(account, "B", 100).account
    account = rules.set_sell_amount(account, "S", 100).account  # 2 setups in all
    for symbol, side in (("C", "buy"), ("C", "sell"), ("S", "buy"), ("B", "sell")):
        with pytest.raises(rules.TooManySetups, match="already has 2"):
            rules.check_room_for_setup(account, symbol, side, max_setups=2)
    rules.check_room_for_setup(account, "B", "buy", max_setups=2)  # changes an existing one
    rules.check_room_for_setup(account, "S", "sell", max_setups=2)
    rules.check_room_for_setup(account, "C", "buy", max_setups=3)
