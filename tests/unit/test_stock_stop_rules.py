"""Stop-losses on stock holdings (services/common/domain/stock_stops.py), with figures
worked out by hand: cents inside, a quote at or below the stop sells at that quote."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from services.common.domain import stock_stops
from services.common.domain.account import ADD, Account, CashMove, SellSetup, TriggerFired
from services.common.domain.stock_stops import ALL, FILLED, LAPSED, OPEN, StockStop
from services.common.errors import Conflict, InsufficientShares, InvalidInput, NotFound
from services.common.repositories import AccountRepository

NOW = 1_700_000_000_000


def holder(cash: int = 10_000, **holdings: int) -> Account:
    return Account("ann", cash=cash, holdings=MappingProxyType(holdings))


def placed(account: Account, stop_id: str, shares: int, stop: int, symbol: str = "ABC"):
    """``account`` with a stop placed while ABC quotes $10.00."""
    return stock_stops.place(account, stop_id, symbol, shares, stop, 1000, NOW, 20).account


def test_a_stop_waits_below_the_market_and_leaves_the_holding_where_it_is():
    change = stock_stops.place(holder(ABC=10), "7", "ABC", 4, 950, 1000, NOW, 20)
    assert change.result == {"id": "7"}
    assert change.moves == () and change.fired == ()
    account = change.account
    assert (account.cash, dict(account.holdings)) == (10_000, {"ABC": 10})
    assert account.stock_stops == {"7": StockStop("7", "ABC", 4, 950, NOW)}
    # Its symbol is armed: the trigger checker quotes it.
    assert account.armed_symbols == ("ABC",)


@pytest.mark.parametrize(
    ("shares", "stop", "error", "message"),
    [
        (4, 1000, InvalidInput, "a stop-loss at 10.00 must be below the market price 10.00"),
        (4, 1050, InvalidInput, "a stop-loss at 10.50 must be below the market price 10.00"),
        (11, 950, InsufficientShares, "a stop on 11 shares of ABC, but 10 are held"),
        (0, 0, InvalidInput, "the stop price must be greater than 0"),
        (-1, 950, InvalidInput, "shares must be a whole number greater than 0, or all"),
    ],
)
def test_a_bad_stop_is_refused_and_changes_nothing(shares, stop, error, message):
    account = holder(ABC=10)
    with pytest.raises(error) as caught:
        stock_stops.place(account, "7", "ABC", shares, stop, 1000, NOW, 20)
    assert caught.value.message == message
    assert account.stock_stops == {}


def test_a_stop_needs_shares_of_the_symbol():
    with pytest.raises(InsufficientShares, match="no shares of XYZ to protect"):
        stock_stops.place(holder(ABC=10), "7", "XYZ", ALL, 950, 1000, NOW, 20)


def test_open_stops_are_bounded_per_user_and_closed_ones_do_not_count():
    account = holder(ABC=10)
    for n in range(1, 4):
        account = stock_stops.place(account, str(n), "ABC", 1, 900 + n, 1000, NOW, 3).account
    with pytest.raises(stock_stops.TooManyStockStops, match="at most 3 open"):
        stock_stops.place(account, "4", "ABC", 1, 950, 1000, NOW, 3)
    filled = stock_stops.fire(account, "ABC", 903, NOW + 1).account  # stop "3" fills
    assert stock_stops.place(filled, "4", "ABC", 1, 950, 1000, NOW, 3).result == {"id": "4"}


def test_an_id_in_use_is_refused():
    account = placed(holder(ABC=10), "7", 1, 950)
    with pytest.raises(Conflict, match="a stop-loss 7 exists already"):
        stock_stops.place(account, "7", "ABC", 1, 900, 1000, NOW, 20)


def test_a_quote_above_the_stop_fires_nothing():
    account = placed(holder(ABC=10), "7", 4, 950)
    assert stock_stops.fire(account, "ABC", 951, NOW).account is account
    assert stock_stops.fire(account, "XYZ", 100, NOW).account is account


def test_a_quote_at_the_stop_sells_at_that_quote_once():
    account = placed(holder(ABC=10), "7", 4, 950)

    change = stock_stops.fire(account, "ABC", 950, NOW + 5)

    # 4 shares x $9.50 = $38.00 join the $100.00; 6 shares stay.
    after = change.account
    assert (after.cash, dict(after.holdings)) == (13_800, {"ABC": 6})
    assert change.moves == (CashMove(ADD, 3_800, 7),)
    assert change.fired == (TriggerFired("SELL", "ABC", 4, 950, 7),)
    assert after.stock_stops["7"] == StockStop("7", "ABC", 4, 950, NOW, FILLED, 4, 950, NOW + 5)
    assert after.armed_symbols == ()
    # A second quote, lower still, finds it filled: nothing is sold twice.
    assert stock_stops.fire(after, "ABC", 800, NOW + 6).account is after


def test_a_quote_below_the_stop_sells_at_the_quote_not_at_the_stop():
    account = placed(holder(ABC=10), "7", ALL, 950)
    change = stock_stops.fire(account, "ABC", 873, NOW)
    # All 10 shares x $8.73 = $87.30.
    assert (change.account.cash, dict(change.account.holdings)) == (18_730, {})
    assert change.account.stock_stops["7"].proceeds == 8_730


def test_stops_fire_oldest_first_each_selling_what_is_left():
    account = holder(ABC=10)
    account = stock_stops.place(account, "9", "ABC", 6, 950, 1000, NOW, 20).account
    account = stock_stops.place(account, "8", "ABC", 6, 900, 1000, NOW + 1, 20).account
    account = stock_stops.place(account, "5", "ABC", ALL, 800, 1000, NOW + 2, 20).account

    change = stock_stops.fire(account, "ABC", 800, NOW + 3)

    # "9" sells 6, "8" the 4 left (not 6), "5" finds none and lapses.
    stops = change.account.stock_stops
    assert [(stops[i].status, stops[i].sold) for i in ("9", "8", "5")] == [
        (FILLED, 6),
        (FILLED, 4),
        (LAPSED, 0),
    ]
    assert change.moves == (CashMove(ADD, 4_800, 9), CashMove(ADD, 3_200, 8))
    assert (change.account.cash, dict(change.account.holdings)) == (18_000, {})


def test_shares_set_aside_by_a_sell_trigger_are_not_the_stops_to_sell():
    account = placed(holder(ABC=10), "7", ALL, 950)
    account = Account(
        "ann",
        cash=account.cash,
        holdings=MappingProxyType({"ABC": 3}),  # 7 set aside by SET_SELL_TRIGGER
        sell_setups=MappingProxyType({"ABC": SellSetup("ABC", 10_000, 7, 1500, 3)}),
        stock_stops=account.stock_stops,
    )
    change = stock_stops.fire(account, "ABC", 900, NOW)
    assert dict(change.account.holdings) == {}
    assert change.account.sell_setups["ABC"].shares == 7
    assert change.moves == (CashMove(ADD, 2_700, 7),)  # 3 x $9.00


def test_cancel_removes_an_open_stop_and_refuses_a_closed_one():
    account = placed(placed(holder(ABC=10), "7", 4, 950), "8", 4, 900)
    cancelled = stock_stops.cancel(account, "8")
    assert cancelled.result == {"id": "8", "symbol": "ABC", "status": "cancelled"}
    assert list(cancelled.account.stock_stops) == ["7"]
    with pytest.raises(NotFound, match="no stop-loss 8"):
        stock_stops.cancel(cancelled.account, "8")
    filled = stock_stops.fire(cancelled.account, "ABC", 950, NOW).account
    with pytest.raises(stock_stops.StopNotOpen, match="stop-loss 7 is filled already"):
        stock_stops.cancel(filled, "7")


def test_only_the_newest_closed_stops_are_kept():
    account = holder(ABC=100)
    for n in range(1, stock_stops.KEPT_CLOSED + 3):
        account = stock_stops.place(account, str(n), "ABC", 1, 950, 1000, NOW, 20).account
        account = stock_stops.fire(account, "ABC", 950, NOW + n).account
    kept = account.stock_stops
    assert len(kept) == stock_stops.KEPT_CLOSED
    assert min(int(i) for i in kept) == 3  # the two oldest fills are gone
    assert account.cash == 10_000 + 22 * 950  # every fill was paid, kept or not


def test_stops_survive_the_stored_document():
    account = placed(holder(ABC=10), "7", 4, 950)
    account = stock_stops.fire(placed(account, "8", ALL, 900), "ABC", 950, NOW + 1).account
    decoded = AccountRepository.decode(AccountRepository.encode(account))
    assert decoded.stock_stops == account.stock_stops
    assert decoded.stock_stops["7"].status == FILLED
    assert decoded.stock_stops["8"].status == OPEN
    assert decoded.armed_symbols == ("ABC",)
