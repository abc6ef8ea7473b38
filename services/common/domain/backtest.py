"""Backtest of the volatility breakout (seed 002's auto-trader) over daily candles.

For each period ``i`` after the first: the target is ``open_i + k x (high_(i-1) -
low_(i-1))``. If the period's high reaches the target, the strategy buys at the target
and sells at the next period's open (the last period: at its close); a buy pays the fee
on top, a sale loses it: the period's return is
``next_open x (1 - fee) / (target x (1 + fee))``. Otherwise it holds cash (return 1).

Arithmetic is decimal with 40 significant digits (exact fractions were 100 times
slower: the equity's denominator grows with every trade), far beyond what is shown.
The figures are the ones traders expect: total return, maximum drawdown of the equity
curve, trades, win rate, profit factor (gross gains over gross losses, in equity) and
the market's own change over the span. ``best_k`` tries k = 0.1 ... 0.9 and keeps the
best total return (the smaller k on a tie).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

K_CHOICES = tuple(Decimal(n) / 10 for n in range(1, 10))
PRECISION = Context(prec=40)


@dataclass(frozen=True)
class Candle:
    """One period: its start (ms) and open, high, low, close (integer prices)."""

    time: int
    open: int
    high: int
    low: int
    close: int


@dataclass(frozen=True)
class Result:
    k: Decimal
    equity: tuple[tuple[int, Decimal], ...]  # (period start, equity after it), from 1
    total_return: Decimal
    max_drawdown: Decimal
    trades: int
    wins: int
    profit_factor: Decimal | None  # None when nothing was lost
    market_change: Decimal

    @property
    def win_rate(self) -> Decimal | None:
        with localcontext(PRECISION):
            return Decimal(self.wins) / self.trades if self.trades else None


def run(candles: Sequence[Candle], k: Decimal, fee: Decimal) -> Result:
    """The strategy over ``candles`` (oldest first, at least two) with ``k`` and ``fee``
    (a fraction per side, e.g. 0.0025)."""
    if len(candles) < 2:
        raise ValueError("a backtest needs at least two periods")
    with localcontext(PRECISION):
        return _run(candles, Decimal(k), Decimal(fee))


def _run(candles: Sequence[Candle], k: Decimal, fee: Decimal) -> Result:
    equity = Decimal(1)
    peak = equity
    drawdown = Decimal(0)
    gains = losses = Decimal(0)
    trades = wins = 0
    curve = []
    for index in range(1, len(candles)):
        before, today = candles[index - 1], candles[index]
        target = today.open + k * (before.high - before.low)
        if today.high >= target:
            sell = candles[index + 1].open if index + 1 < len(candles) else today.close
            ratio = (sell * (1 - fee)) / (target * (1 + fee))
            change = equity * (ratio - 1)
            trades += 1
            if change > 0:
                wins += 1
                gains += change
            else:
                losses -= change
            equity += change
        peak = max(peak, equity)
        drawdown = max(drawdown, (peak - equity) / peak)
        curve.append((today.time, equity))
    first, last = candles[0], candles[-1]
    return Result(
        k=k,
        equity=tuple(curve),
        total_return=equity - 1,
        max_drawdown=drawdown,
        trades=trades,
        wins=wins,
        profit_factor=gains / losses if losses else None,
        market_change=Decimal(last.close) / first.open - 1,
    )


def best_k(candles: Sequence[Candle], fee: Decimal) -> tuple[Result, list[Result]]:
    """The run with the best total return over k = 0.1 ... 0.9, and every run tried."""
    tried = [run(candles, k, fee) for k in K_CHOICES]
    best = max(tried, key=lambda r: (r.total_return, -r.k))
    return best, tried
