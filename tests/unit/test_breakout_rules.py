"""The volatility breakout, live and on paper, over a price path worked out by hand.

Prices in ten-thousandths of a dollar ($100 = 1,000,000); periods of 10 s; k = 0.5;
a $100 budget; fee 0.25 %.
"""

from __future__ import annotations

import pytest

from services.common.domain import breakout
from services.common.domain.account import Account
from services.common.errors import InsufficientFunds, InvalidInput
from services.common.repositories import AccountRepository

T = 1_780_000_000_000  # a multiple of 10 s
PERIOD = 10_000


def walk(paper: bool) -> list:
    account = breakout.start(
        Account("alice", cash=100_000), "42", "ETH", 50, 10_000, paper, PERIOD, 5
    ).account
    seen = []
    for at, price in [
        (T, 1_000_000),  # first period: open $100
        (T + 3_000, 1_100_000),  # high $110
        (T + 6_000, 950_000),  # low $95: the range is $15
        (T + 10_000, 1_000_000),  # next period: open $100, target $100 + 0.5 x $15
        (T + 12_000, 1_080_000),  # $108 >= $107.50: buy
        (T + 20_000, 1_200_000),  # next period: sell at its open, $120
    ]:
        change = breakout.observe(account, "ETH", price, at, 25)
        account = change.account
        seen.append((change, account.strategies["ETH"]))
    return seen


def test_a_live_strategy_buys_at_the_target_and_sells_at_the_next_open():
    seen = walk(paper=False)
    first = seen[0][1]
    assert (first.period_start, first.open, first.target) == (T, 1_000_000, None)
    assert (seen[2][1].high, seen[2][1].low) == (1_100_000, 950_000)
    assert seen[3][1].target == 1_075_000 and seen[3][1].held == 0
    # $100 at $108: 0.92592592 ETH, cost $99.9999993... -> $100.00, fee $0.25.
    bought, strategy = seen[4]
    assert bought.result["reason"] == "breakout_buy"
    assert strategy.held == 92_592_592 and strategy.cost == 10_025
    assert bought.account.cash == 100_000 - 10_025
    assert [(m.action, m.cents, m.txn) for m in bought.moves] == [
        ("remove", 10_000, 42),
        ("remove", 25, 42),
    ]
    # At $120: $111.111... -> $111.11 (down), fee $0.2777... -> $0.28: $110.83 back.
    # The last period's range was $108 - $100: target $120 + $4 = $124.
    sold, strategy = seen[5]
    assert sold.result["reason"] == "breakout_sell"
    assert sold.account.cash == 100_000 - 10_025 + 11_083
    assert (strategy.held, strategy.trades, strategy.pnl) == (0, 1, 11_083 - 10_025)
    assert strategy.target == 1_240_000
    assert sold.account.asset("ETH").available == 0


def test_a_paper_strategy_trades_the_same_without_money():
    seen = walk(paper=True)
    bought, strategy = seen[4]
    assert strategy.held == 92_592_592 and bought.moves == () and bought.movements == ()
    sold, strategy = seen[5]
    assert sold.account.cash == 100_000 and sold.account.assets == {}
    assert (strategy.trades, strategy.pnl) == (1, 1_058)


def test_a_price_that_moves_nothing_changes_nothing():
    seen = walk(paper=True)
    account = seen[-1][0].account
    same = breakout.observe(account, "ETH", 1_200_000, T + 21_000, 25)
    assert same.account is account


def test_bad_terms_a_live_budget_above_the_cash_and_the_bound_are_refused():
    alice = Account("alice", cash=5_000)
    with pytest.raises(InsufficientFunds):
        breakout.start(alice, "1", "ETH", 50, 10_000, False, PERIOD, 5)
    paper = breakout.start(alice, "1", "ETH", 50, 10_000, True, PERIOD, 1).account
    with pytest.raises(breakout.TooManyStrategies):
        breakout.start(paper, "2", "BTC", 50, 100, True, PERIOD, 1)
    for k, period in ((0, PERIOD), (201, PERIOD), (50, 999)):
        with pytest.raises(InvalidInput):
            breakout.start(alice, "3", "ETH", k, 100, True, period, 5)
    decoded = AccountRepository.decode(AccountRepository.encode(paper))
    assert decoded.strategies == paper.strategies and decoded.watched_coins == ("ETH",)
