"""The volatility-breakout backtest against hand-made candle series with known answers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from services.common.domain.backtest import Candle, best_k, run

HALF = Decimal("0.5")
ZERO = Decimal(0)


def same(value: Decimal | None, expected: Fraction | int | None) -> bool:
    """``value`` (40 significant digits) is the exact ``expected`` to 30 decimals."""
    if value is None or expected is None:
        return value is expected
    return abs(Fraction(value) - Fraction(expected)) < Fraction(1, 10**30)


WINNING = [
    Candle(0, 100, 110, 90, 105),
    Candle(1, 105, 120, 100, 115),  # target 105 + 20/2 = 115: buy 115, sell at 118
    Candle(2, 118, 119, 110, 112),  # target 118 + 20/2 = 128 > 119: no trade
    Candle(3, 112, 130, 111, 125),  # target 112 + 9/2 = 116.5: buy, sell at 120
    Candle(4, 120, 121, 100, 101),  # target 120 + 19/2 = 129.5 > 121: no trade
]
MIXED = [
    Candle(0, 100, 110, 90, 100),
    Candle(1, 100, 120, 95, 110),  # target 110: buy, sell at 99: x 9/10
    Candle(2, 99, 130, 98, 125),  # target 99 + 25/2 = 111.5: buy, last: sell at close 125
]


def test_two_winning_trades_compound():
    result = run(WINNING, HALF, ZERO)
    # 118/115 x 120/116.5 = 5664/5359.
    expected = [Fraction(118, 115)] * 2 + [Fraction(5664, 5359)] * 2
    assert all(same(e, x) for (_, e), x in zip(result.equity, expected, strict=True))
    assert same(result.total_return, Fraction(305, 5359))
    assert (result.trades, result.wins, result.win_rate) == (2, 2, 1)
    assert result.profit_factor is None and result.max_drawdown == 0
    assert same(result.market_change, Fraction(1, 100))  # 101 / 100 - 1


def test_a_loss_a_gain_the_drawdown_and_the_profit_factor():
    result = run(MIXED, HALF, ZERO)
    # 1 -> 9/10 (lost 1/10), then x 125/111.5: gained 9/10 x 27/223 = 243/2230.
    assert same(result.equity[-1][1], Fraction(225, 223))
    assert same(result.total_return, Fraction(2, 223))
    assert same(result.max_drawdown, Fraction(1, 10))
    assert same(result.profit_factor, Fraction(243, 223))
    assert (result.trades, result.wins, result.win_rate) == (2, 1, HALF)
    assert same(result.market_change, Fraction(1, 4))


def test_fees_are_paid_on_both_sides():
    result = run(MIXED[:3], HALF, Decimal("0.0025"))
    # 99 x 399/400 over 110 x 401/400 = 39501/44110 after the first trade.
    assert same(result.equity[0][1], Fraction(39501, 44110))


def test_auto_keeps_the_k_with_the_best_return():
    best, tried = best_k(WINNING, ZERO)
    assert [r.k for r in tried] == [Decimal(n) / 10 for n in range(1, 10)]
    # k = 0.1: buy 107 -> 118, buy 112.9 -> 120: 118/107 x 1200/1129 - 1 = 20797/120803.
    assert best.k == Decimal("0.1") and same(best.total_return, Fraction(20797, 120803))
    assert same(tried[-1].total_return, Fraction(1200, 1201) - 1)  # k = 0.9: 120 / 120.1


def test_one_candle_is_not_a_backtest():
    with pytest.raises(ValueError):
        run(WINNING[:1], HALF, ZERO)
