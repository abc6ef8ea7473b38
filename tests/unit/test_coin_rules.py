"""Coin balances, the wallet's rules and coin trading, with figures worked out by hand.

Units: 1 coin = 100,000,000 units; prices in ten-thousandths of a dollar; cash in cents.
"""

from __future__ import annotations

import json

import pytest

from services.common.domain import assets, exchange, wallet
from services.common.domain.account import Account
from services.common.domain.assets import AssetBalance
from services.common.domain.money import format_price, format_units, parse_units
from services.common.errors import (
    InsufficientAssets,
    InsufficientFunds,
    InvalidInput,
    OrderTooSmall,
)
from services.common.repositories import AccountRepository

COIN = 100_000_000


# --- amounts at the edges ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [("0.5", 50_000_000), ("1", COIN), ("0.00000001", 1), ("12.34567891", 1_234_567_891)],
)
def test_coin_amounts_parse_to_units(text, units):
    assert parse_units(text) == units


@pytest.mark.parametrize(
    "bad", ["0", "0.000000000", "-1", "1.123456789", "1e-8", "abc", "", 1, 0.5, None, "1,5"]
)
def test_zero_negative_over_precise_and_non_strings_are_refused(bad):
    with pytest.raises(InvalidInput):
        parse_units(bad)


def test_units_and_prices_format_with_all_their_decimals():
    assert format_units(150_000_000) == "1.50000000"
    assert format_units(1) == "0.00000001"
    assert format_price(20_000_001) == "2000.0001"
    assert format_price(5) == "0.0005"


# --- the wallet's rules ---------------------------------------------------------------


def test_a_deposit_a_withdrawal_lock_and_its_settlement_move_units_double_entry():
    alice = Account("alice")
    deposited = wallet.credit_deposit(alice, "DTC", 150_000_000, "tx1:addr")
    assert deposited.account.asset("DTC") == AssetBalance(available=150_000_000)
    (move,) = deposited.movements
    assert (move.source, move.target, move.units) == ("chain", "user:alice", 150_000_000)
    assert move.reason == "deposit" and move.ref == "tx1:addr"

    # 1 DTC out with a 0.001 DTC fee: 100,100,000 units locked, 49,900,000 left.
    locked = wallet.lock_withdrawal(deposited.account, "DTC", COIN, 100_000, "w1")
    assert locked.account.asset("DTC") == AssetBalance(available=49_900_000, locked=100_100_000)
    assert [(m.source, m.target, m.units) for m in locked.movements] == [
        ("user:alice", "user:alice:locked", 100_100_000)
    ]

    settled = wallet.settle_withdrawal(locked.account, "DTC", COIN, 100_000, "w1")
    assert settled.account.asset("DTC") == AssetBalance(available=49_900_000)
    assert [(m.source, m.target, m.units, m.reason) for m in settled.movements] == [
        ("user:alice:locked", "chain", COIN, "withdrawal_sent"),
        ("user:alice:locked", "fees", 100_000, "withdrawal_fee"),
    ]
    every_move = deposited.movements + locked.movements + settled.movements
    net: dict[str, int] = {}
    for m in every_move:
        net[m.source] = net.get(m.source, 0) - m.units
        net[m.target] = net.get(m.target, 0) + m.units
    assert sum(net.values()) == 0
    assert net == {
        "chain": -150_000_000 + COIN,
        "user:alice": 49_900_000,
        "user:alice:locked": 0,
        "fees": 100_000,
    }


def test_an_unlocked_withdrawal_returns_everything_to_available():
    alice = wallet.credit_deposit(Account("alice"), "DUSD", 500, "tx").account
    locked = wallet.lock_withdrawal(alice, "DUSD", 400, 50, "w2").account
    unlocked = wallet.unlock_withdrawal(locked, "DUSD", 400, 50, "w2")
    assert unlocked.account.asset("DUSD") == AssetBalance(available=500)
    assert unlocked.movements[0].source == "user:alice:locked"


def test_locking_more_than_available_changes_nothing():
    alice = wallet.credit_deposit(Account("alice"), "DTC", 1000, "tx").account
    with pytest.raises(InsufficientAssets, match="available 0.00001000 < 0.00001001"):
        wallet.lock_withdrawal(alice, "DTC", 1000, 1, "w3")
    with pytest.raises(InsufficientAssets):
        wallet.settle_withdrawal(alice, "DTC", 1, 0, "w3")  # nothing locked
    assert alice.asset("DTC") == AssetBalance(available=1000)


def test_zero_or_negative_amounts_are_refused_by_every_balance_rule():
    alice = wallet.credit_deposit(Account("alice"), "DTC", 1000, "tx").account
    for units in (0, -5):
        with pytest.raises(InvalidInput):
            wallet.credit_deposit(alice, "DTC", units, "tx")
        with pytest.raises(InvalidInput):
            wallet.lock_withdrawal(alice, "DTC", units, 0, "w")


# --- buying and selling coins ---------------------------------------------------------


def test_a_buy_rounds_its_cost_up_and_its_fee_up():
    # 0.5 BTC at $2,000.0001 = $1,000.00005: cost $1,000.01 (up);
    # fee 0.25 % of $1,000.00005 = $2.5000000125 -> $2.51 (up); total $1,002.52.
    alice = Account("alice", cash=200_000)
    change = exchange.buy_coin(alice, "BTC", 50_000_000, 20_000_001, 25, "7")
    assert change.result["cost"] == 100_001
    assert change.result["fee"] == 251
    assert change.account.cash == 200_000 - 100_252
    assert [(m.action, m.cents) for m in change.moves] == [("remove", 100_001), ("remove", 251)]
    assert change.account.asset("BTC") == AssetBalance(available=50_000_000, cost_cents=100_252)
    (move,) = change.movements
    assert (move.source, move.target, move.units, move.reason) == (
        "exchange",
        "user:alice",
        50_000_000,
        "buy",
    )
    assert dict(move.detail) == {"price": 20_000_001, "cents": 100_001, "fee": 251}


def test_a_sell_rounds_its_proceeds_down_and_its_fee_up_and_realises_against_cost():
    # Bought as above (cost basis $1,002.52). Selling 0.25 BTC at $2,000.0001 is worth
    # $500.000025: proceeds $500.00 (down), fee 0.25 % = $1.2500000625 -> $1.26 (up),
    # net $498.74. Half the coins carry half the cost, $501.26: realised -$2.52.
    bought = exchange.buy_coin(
        Account("alice", cash=200_000), "BTC", 50_000_000, 20_000_001, 25, "7"
    )
    sold = exchange.sell_coin(bought.account, "BTC", 25_000_000, 20_000_001, 25, "8")
    assert (sold.result["proceeds"], sold.result["fee"], sold.result["net"]) == (
        50_000,
        126,
        49_874,
    )
    assert [(m.action, m.cents) for m in sold.moves] == [("add", 50_000), ("remove", 126)]
    assert sold.account.cash == 200_000 - 100_252 + 49_874
    assert sold.account.asset("BTC") == AssetBalance(
        available=25_000_000, cost_cents=50_126, realised_cents=-252
    )
    assert (sold.movements[0].source, sold.movements[0].target) == ("user:alice", "exchange")


def test_selling_everything_takes_the_whole_cost_basis():
    # 1 coin at exactly $100.00: cost $100.00, fee $0.25; sold at $110.00: $110.00 less
    # $0.275 -> $0.28 fee = $109.72; realised $109.72 - $100.25 = $9.47.
    bought = exchange.buy_coin(Account("bob", cash=10_025), "ETH", COIN, 1_000_000, 25, "1")
    assert bought.account.cash == 0
    sold = exchange.sell_coin(bought.account, "ETH", COIN, 1_100_000, 25, "2")
    assert sold.account.cash == 10_972
    assert "ETH" not in sold.account.assets or sold.account.asset("ETH").total == 0
    assert sold.result["realised"] == 947


def test_an_order_worth_under_a_cent_is_refused_and_one_worth_a_cent_pays_a_cent_fee():
    alice = Account("alice", cash=1_000)
    with pytest.raises(OrderTooSmall):
        exchange.buy_coin(alice, "BTC", 9_999, 1_000_000, 25, "1")  # $0.009999
    one_cent = exchange.buy_coin(alice, "BTC", 10_000, 1_000_000, 25, "1")  # $0.01 exactly
    assert (one_cent.result["cost"], one_cent.result["fee"]) == (1, 1)


def test_a_buy_beyond_the_cash_and_a_sell_beyond_the_coins_change_nothing():
    alice = Account("alice", cash=10_024)  # one cent short of 1 coin at $100 + $0.25
    with pytest.raises(InsufficientFunds):
        exchange.buy_coin(alice, "ETH", COIN, 1_000_000, 25, "1")
    with pytest.raises(InsufficientAssets):
        exchange.sell_coin(alice, "ETH", 100_000, 1_000_000_000, 25, "2")
    assert alice == Account("alice", cash=10_024)


def test_holdings_are_valued_at_the_price_with_their_profit_and_loss():
    holdings = {
        "BTC": AssetBalance(available=25_000_000, locked=0, cost_cents=50_126),
        "DTC": AssetBalance(available=COIN, locked=COIN),  # mined: no cost
    }
    rows = exchange.valuation(holdings, {"BTC": 30_000_000})  # $3,000.0000
    assert rows[0] == {
        "coin": "BTC",
        "available": 25_000_000,
        "locked": 0,
        "price": 30_000_000,
        "value": 75_000,
        "cost": 50_126,
        "unrealised": 24_874,
        "realised": 0,
    }
    assert rows[1]["coin"] == "DTC" and rows[1]["value"] is None


# --- storage --------------------------------------------------------------------------


def test_coin_balances_survive_the_stored_encoding():
    account = Account("alice", cash=5, version=3)
    account = wallet.credit_deposit(account, "DTC", 7, "tx").account
    account = wallet.lock_withdrawal(account, "DTC", 2, 1, "w").account
    decoded = AccountRepository.decode(AccountRepository.encode(account))
    assert decoded.asset("DTC") == AssetBalance(available=4, locked=3)
    assert decoded == account


def test_an_account_stored_before_coins_existed_reads_with_none():
    state = {
        "holdings": {"ABC": 2},
        "pending_buys": [],
        "pending_sells": [],
        "buy_setups": {},
        "sell_setups": {},
        "recent": [],
    }
    doc = {"_id": "old", "v": 4, "cash": 100, "state": json.dumps(state)}
    account = AccountRepository.decode(json.dumps(doc).encode())
    assert account.assets == {} and account.asset("BTC") == AssetBalance()
    assert account.holdings == {"ABC": 2}


def test_asset_names_are_checked():
    assert assets.check_asset("DTC") == "DTC"
    for bad in ("btc", "B", "TOOLONGNAME1", "B-C", 5):
        with pytest.raises(InvalidInput):
            assets.check_asset(bad)


def test_the_chain_and_the_exchange_share_one_coin_amount_parser():
    from services.common.chain import units

    assert units.parse_units is parse_units and units.format_units is format_units
    # The chain's limits hold for exchange amounts too: 10 billion coins at most, no spaces.
    assert parse_units("10000000000") == 10_000_000_000 * COIN
    for bad in ("10000000000.00000001", " 0.5", "+1"):
        with pytest.raises(InvalidInput):
            parse_units(bad)
