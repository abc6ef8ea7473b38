"""Stop orders on coin holdings and margin positions, with figures worked out by hand.

Prices in ten-thousandths of a dollar ($100 = 1,000,000), coins in units of 10^-8.
"""

from __future__ import annotations

import pytest

from services.common.domain import margin, stops, wallet
from services.common.domain.account import Account
from services.common.errors import InvalidInput, NotFound
from services.common.repositories import AccountRepository

COIN = 100_000_000
USD_100 = 1_000_000
T0 = 1_780_000_000_000


def holder(units: int = 2 * COIN) -> Account:
    return wallet.credit_deposit(Account("alice", cash=0), "ETH", units, "tx").account


def place(account, kind, trigger=None, trail_bp=0, units=COIN, target="holding", sid="11"):
    return stops.place_stop(
        account, sid, "ETH", kind, target, units, trigger, trail_bp, USD_100, T0, 20
    ).account


def test_a_stop_loss_fires_once_at_its_price_and_sells_at_market():
    account = place(holder(), "stop_loss", trigger=900_000)  # $90
    assert stops.fire_if_due(account, "11", 900_001, 25, T0, 10).account == account
    # At $90.00: 1 ETH sells for $90.00, fee 0.25 % = $0.225 -> $0.23; cash $89.77.
    fired = stops.fire_if_due(account, "11", 900_000, 25, T0, 10)
    assert fired.result["reason"] == "stop_fired"
    assert fired.account.cash == 8_977 and fired.account.stops == {}
    assert fired.account.asset("ETH").available == COIN
    assert [(m.action, m.cents, m.txn) for m in fired.moves] == [
        ("add", 9_000, 11),
        ("remove", 23, 11),
    ]
    again = stops.fire_if_due(fired.account, "11", 800_000, 25, T0, 10)
    assert again.account == fired.account and again.moves == ()


def test_a_take_profit_fires_at_or_above_its_price():
    account = place(holder(), "take_profit", trigger=1_200_000)
    assert not account.stops["11"].due(1_199_999)
    fired = stops.fire_if_due(account, "11", 1_250_000, 25, T0, 10)
    # 1 ETH at $125.00 = $125.00, fee $0.3125 -> $0.32.
    assert fired.account.cash == 12_468


def test_a_trailing_stop_follows_the_best_price_and_fires_when_it_falls_back():
    account = place(holder(), "trailing", trail_bp=500)  # 5 % behind the best
    assert account.stops["11"].trigger == 950_000  # $95.00 behind $100.00
    moved = stops.fire_if_due(account, "11", 1_200_000, 25, T0, 10)  # best $120
    assert moved.result["reason"] == "stop_moved"
    assert moved.account.stops["11"].trigger == 1_140_000  # $114.00
    lower = stops.fire_if_due(moved.account, "11", 1_150_000, 25, T0, 10)
    assert lower.account == moved.account  # $115: neither a new best nor the stop
    fired = stops.fire_if_due(moved.account, "11", 1_140_000, 25, T0, 10)
    assert fired.result["reason"] == "stop_fired" and fired.account.cash == 11_400 - 29


def test_a_stop_price_on_the_wrong_side_of_the_market_is_refused():
    with pytest.raises(InvalidInput, match="must be below the market price 100.0000"):
        place(holder(), "stop_loss", trigger=1_000_000)
    with pytest.raises(InvalidInput, match="must be above"):
        place(holder(), "take_profit", trigger=990_000)


def test_a_short_positions_stop_loss_is_above_the_market_and_closes_it():
    opened = margin.open_position(
        Account("bob", cash=200_000), "ETH", "short", 2, 100_000, USD_100, 25, T0, 5, 10, 10
    ).account
    with pytest.raises(InvalidInput, match="must be above"):
        place(opened, "stop_loss", trigger=990_000, target="position", units=0)
    account = place(opened, "stop_loss", trigger=1_100_000, target="position", units=0)
    assert stops.fire_if_due(account, "11", 1_099_999, 25, T0, 10).account == account
    fired = stops.fire_if_due(account, "11", 1_100_000, 25, T0, 10)
    assert fired.account.positions == {} and fired.account.stops == {}
    assert fired.result["reason"] == "stop_fired"


def test_a_stop_with_nothing_left_to_sell_is_cancelled_and_bounds_hold():
    account = place(holder(units=COIN), "stop_loss", trigger=900_000)
    sold_out = wallet.lock_withdrawal(account, "ETH", COIN, 0, "w").account
    cancelled = stops.fire_if_due(sold_out, "11", 800_000, 25, T0, 10)
    assert cancelled.result["reason"] == "stop_cancelled" and cancelled.account.stops == {}
    assert cancelled.moves == ()
    with pytest.raises(NotFound):
        place(holder(), "stop_loss", trigger=900_000, target="position", units=0)
    full = place(holder(), "stop_loss", trigger=900_000)
    with pytest.raises(stops.TooManyStops):
        stops.place_stop(full, "12", "ETH", "stop_loss", "holding", 1, 900_000, 0, USD_100, T0, 1)
    decoded = AccountRepository.decode(AccountRepository.encode(full))
    assert decoded.stops == full.stops and decoded.watched_coins == ("ETH",)
