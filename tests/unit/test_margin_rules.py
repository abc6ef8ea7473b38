"""Isolated margin positions, with figures worked out by hand.

Prices in ten-thousandths of a dollar ($2,000 = 20,000,000), cash in cents, coins in
units of 10^-8. Interest 10 ppm of the amount borrowed per hour begun; fee 0.25 %.
"""

from __future__ import annotations

import pytest

from services.common.domain import margin
from services.common.domain.account import Account
from services.common.errors import InsufficientFunds, InvalidInput, NotFound

PPM = 10
FEE = 25
HOUR = 3_600_000
T0 = 1_780_000_000_000
USD_2000 = 20_000_000


def opened(side: str, leverage: int = 3, cash: int = 200_000) -> Account:
    change = margin.open_position(
        Account("alice", cash=cash), "BTC", side, leverage, 100_000, USD_2000, FEE, T0, 7, 10, PPM
    )
    return change.account


def test_a_3x_long_borrows_twice_the_margin_and_shows_its_liquidation_price():
    # $1,000 margin at 3x buys $3,000 of BTC at $2,000: 1.5 BTC; borrowed $2,000.
    # Fee 0.25 % of $3,000 = $7.50. First hour's interest: 10 ppm of $2,000 = $0.02.
    # Liquidation when 1.5 x p = 1.1 x $2,000.02: p = $1,466.6813 (rounded down).
    # Margin call when 1.5 x p = 1.3 x $2,000.02: p = $1,733.3506 (rounded down).
    change = margin.open_position(
        Account("alice", cash=200_000), "BTC", "long", 3, 100_000, USD_2000, FEE, T0, 7, 10, PPM
    )
    assert [(m.action, m.cents) for m in change.moves] == [("remove", 100_000), ("remove", 750)]
    assert change.account.cash == 200_000 - 100_750
    result = change.result
    assert (result["units"], result["debt"], result["interest"]) == (150_000_000, 200_000, 2)
    assert result["liquidation_price"] == 14_666_813
    assert result["margin_call_price"] == 17_333_506
    position = change.account.positions["BTC"]
    assert position.level_bp(USD_2000, T0, PPM) == 14_999  # 3,000 / 2,000.02 = 1.49998...
    (move,) = change.movements
    assert (move.source, move.target, move.units) == ("exchange", "margin:alice:BTC", 150_000_000)


def test_interest_accrues_for_every_hour_begun():
    position = opened("long").positions["BTC"]
    assert position.interest(T0, PPM) == 2  # the first hour at once
    assert position.interest(T0 + HOUR, PPM) == 2
    assert position.interest(T0 + HOUR + 1, PPM) == 4
    assert position.interest(T0 + 24 * HOUR, PPM) == 48  # a day: 240 ppm of $2,000


def test_a_long_closed_higher_returns_the_margin_plus_the_gain_less_fee_and_interest():
    # 1.5 BTC sold at $2,200: $3,300.00, fee $8.25; repay $2,000 + $0.04 (2 hours begun).
    # Returned $1,291.71; P&L against the $1,000 margin: +$291.71.
    account = opened("long")
    closed = margin.close_position(account, "BTC", 22_000_000, FEE, T0 + HOUR + 5, PPM)
    assert closed.result["returned"] == 129_171 and closed.result["pnl"] == 29_171
    assert closed.account.cash == 200_000 - 100_750 + 129_171
    assert closed.account.positions == {}
    assert [(m.action, m.cents, m.txn) for m in closed.moves] == [("add", 129_171, 7)]


def test_a_long_below_its_liquidation_price_is_liquidated_and_the_fund_covers_the_rest():
    account = opened("long")
    # At $1,466.6814 (one unit above the liquidation price) the level is above 1.1.
    kept = margin.liquidate_if_due(account, "BTC", 14_666_814, FEE, T0, PPM)
    assert kept.result["reason"] == "margin_call" and kept.account.positions["BTC"].called
    again = margin.liquidate_if_due(kept.account, "BTC", 14_666_814, FEE, T0, PPM)
    assert again.account == kept.account and again.result == {}  # called once only
    # At $1,200: 1.5 BTC = $1,800.00, fee $4.50; owed $2,000.02: short by $204.52.
    gone = margin.liquidate_if_due(kept.account, "BTC", 12_000_000, FEE, T0, PPM)
    assert gone.result["reason"] == "margin_liquidation"
    assert (gone.result["returned"], gone.result["shortfall"]) == (0, 20_452)
    assert gone.account.cash == 200_000 - 100_750 and gone.account.positions == {}
    assert gone.moves == ()
    fund = gone.movements[-1]
    assert (fund.asset, fund.units, fund.source, fund.target) == (
        "USD",
        20_452,
        "insurance",
        "lending",
    )


def test_a_3x_short_borrows_coins_and_is_liquidated_when_the_price_rises():
    # $1,000 at 3x borrows $2,000 of BTC at $2,000: 1 BTC, sold for $2,000.00 (fee $5.00).
    # The position holds $3,000.00 and owes 1 BTC + 0.00001 BTC interest (10 ppm).
    # Liquidation when $3,000 = 1.1 x 1.00001 x p: p = $2,727.24545... -> $2,727.2455
    # (rounded up: at $2,727.2454, 1.100011 x p = $2,999.99994, the level is above 1.1).
    change = margin.open_position(
        Account("bob", cash=200_000), "BTC", "short", 3, 100_000, USD_2000, FEE, T0, 9, 10, PPM
    )
    result = change.result
    assert (result["units"], result["debt"], result["interest"], result["fee"]) == (
        100_000_000,
        100_000_000,
        1_000,
        500,
    )
    assert result["liquidation_price"] == 27_272_455
    account = change.account
    assert account.positions["BTC"].cash == 300_000
    assert [(m.source, m.target) for m in change.movements] == [
        ("lending", "margin:bob:BTC"),
        ("margin:bob:BTC", "exchange"),
    ]
    assert margin.liquidate_if_due(account, "BTC", 27_272_453, FEE, T0, PPM).result == {
        "coin": "BTC",
        "reason": "margin_call",
    }
    # At $2,727.2455: buying back 1.00001 BTC costs $2,727.272772... -> $2,727.28 (up),
    # fee 0.25 % = $6.818... -> $6.82 (up): $3,000.00 - $2,734.10 = $265.90 returned.
    gone = margin.liquidate_if_due(account, "BTC", 27_272_455, FEE, T0, PPM)
    assert gone.result["reason"] == "margin_liquidation"
    assert (gone.result["returned"], gone.result["shortfall"]) == (26_590, 0)


def test_bad_terms_and_short_cash_change_nothing():
    alice = Account("alice", cash=100_000)
    for side, leverage in (("long", 1), ("long", 6), ("sideways", 3)):
        with pytest.raises(InvalidInput):
            margin.open_position(alice, "BTC", side, leverage, 1_000, USD_2000, FEE, T0, 1, 10, PPM)
    with pytest.raises(InsufficientFunds):  # $1,000 margin + $7.50 fee > $1,000.00
        margin.open_position(alice, "BTC", "long", 3, 100_000, USD_2000, FEE, T0, 1, 10, PPM)
    open_once = opened("long")
    with pytest.raises(margin.PositionOpen):
        margin.open_position(open_once, "BTC", "long", 2, 1_000, USD_2000, FEE, T0, 2, 10, PPM)
    with pytest.raises(margin.TooManyPositions):
        margin.open_position(open_once, "ETH", "long", 2, 1_000, USD_2000, FEE, T0, 2, 1, PPM)
    with pytest.raises(NotFound):
        margin.close_position(alice, "BTC", USD_2000, FEE, T0, PPM)


def test_positions_survive_the_stored_encoding():
    from services.common.repositories import AccountRepository

    account = opened("short")
    decoded = AccountRepository.decode(AccountRepository.encode(account))
    assert decoded.positions == account.positions and decoded == account
