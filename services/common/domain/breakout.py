"""The volatility breakout, live or on paper (seed 002's auto-trader): pure rules.

Per user and coin, time is cut into periods of ``period_ms`` (a day by default; seconds
in tests), aligned to the Unix epoch; a price's time is the market feed's (the board's
date), so periods follow the market's clock. The coin checker shows the strategy every price it
sees (``observe``):

- the first period only records its range (there is no last range yet);
- each later period opens at the first price seen in it; its target is
  ``open + k x (last period's high - low)``;
- when the price reaches the target, it buys coins with ``budget`` cents at market (a
  live strategy for real, under the user's lock like any order; a paper one only on
  paper), at most once per period;
- at the next period's opening price, it sells what it bought.

High and low are those of the prices the checker saw (every ``MARGIN_CHECK_INTERVAL_S``).
A live buy the cash cannot pay is skipped (the next price tries again); a live sale of
coins the user no longer holds sells what is left. Profit and loss of closed trades are
kept in ``pnl`` (cents, fees included) for both modes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..errors import Conflict, InsufficientAssets, InsufficientFunds, InvalidInput, OrderTooSmall
from . import exchange
from .account import Account, Change
from .money import VALUE_PER_CENT, fee_cents_up, value_cents_down, value_cents_up

DAY_MS = 86_400_000
BOUGHT = "breakout_buy"
SOLD = "breakout_sell"
OBSERVED = "breakout_observed"


class TooManyStrategies(Conflict):
    code = "too_many_strategies"


@dataclass(frozen=True)
class Strategy:
    """One coin's breakout strategy and where it stands."""

    id: str  # the creating command's transaction number
    coin: str
    k_hundredths: int  # k x 100
    budget: int  # cents per trade
    paper: bool
    period_ms: int
    period_start: int = 0  # 0: no price seen yet
    open: int = 0
    high: int = 0
    low: int = 0
    target: int | None = None  # None during the first period
    held: int = 0  # units bought this period, to sell at the next open
    cost: int = 0  # cents the held units cost, fee included
    trades: int = 0
    pnl: int = 0  # cents, over closed trades


def _with(strategies: Mapping, coin: str, strategy: Strategy | None) -> Mapping:
    updated = dict(strategies)
    if strategy is None:
        updated.pop(coin, None)
    else:
        updated[coin] = strategy
    return MappingProxyType(updated)


def start(
    account: Account,
    strategy_id: str,
    coin: str,
    k_hundredths: int,
    budget: int,
    paper: bool,
    period_ms: int,
    max_strategies: int,
) -> Change:
    """Set up ``coin``'s strategy (replacing the one there). InvalidInput, InsufficientFunds
    (a live budget above the cash), TooManyStrategies: nothing changed."""
    if not 1 <= k_hundredths <= 200:
        raise InvalidInput("k must be from 0.01 to 2.00")
    if budget <= 0 or period_ms < 1000:
        raise InvalidInput("budget must be above 0.00 and the period at least 1 s")
    if not paper and budget > account.cash:
        raise InsufficientFunds(f"the budget is above the cash ({account.cash} cents)")
    if coin not in account.strategies and len(account.strategies) >= max_strategies:
        raise TooManyStrategies(f"at most {max_strategies} strategies")
    strategy = Strategy(strategy_id, coin, k_hundredths, budget, paper, period_ms)
    updated = replace(account, strategies=_with(account.strategies, coin, strategy))
    return Change(updated, result={"id": strategy_id, "coin": coin})


def stop(account: Account, coin: str) -> Change:
    """Remove ``coin``'s strategy (coins it bought stay with the user)."""
    if coin not in account.strategies:
        raise InvalidInput(f"no {coin} strategy")
    updated = replace(account, strategies=_with(account.strategies, coin, None))
    return Change(updated, result={"coin": coin, "stopped": True})


def wants(strategy: Strategy, price: int, now_ms: int) -> bool:
    """Whether ``observe`` would change ``strategy`` at ``price``: its first price, a new
    period, a new high or low, or the target reached with nothing held. (A live buy the
    cash cannot pay then changes nothing.)"""
    if strategy.period_start == 0 or now_ms - now_ms % strategy.period_ms > strategy.period_start:
        return True
    if price > strategy.high or price < strategy.low:
        return True
    return strategy.target is not None and not strategy.held and price >= strategy.target


def observe(account: Account, coin: str, price: int, now_ms: int, fee_bp: int) -> Change:
    """The strategy after seeing ``price`` at ``now_ms``: a new period, a new high or low,
    a buy at the target, a sale at the open (unchanged when nothing moves)."""
    strategy = account.strategies.get(coin)
    if strategy is None:
        return Change(account)
    period_start = now_ms - now_ms % strategy.period_ms
    change = Change(account)
    if strategy.period_start == 0:
        strategy = replace(strategy, period_start=period_start, open=price, high=price, low=price)
    elif period_start > strategy.period_start:
        last_range = strategy.high - strategy.low
        if strategy.held:
            change, strategy = _sell(account, strategy, price, fee_bp)
        strategy = replace(
            strategy,
            period_start=period_start,
            open=price,
            high=price,
            low=price,
            target=price + strategy.k_hundredths * last_range // 100,
        )
    else:
        strategy = replace(strategy, high=max(strategy.high, price), low=min(strategy.low, price))
    if strategy.target is not None and not strategy.held and price >= strategy.target:
        change, strategy = _buy(change, strategy, price, fee_bp)
    if strategy == account.strategies[coin]:
        return Change(account)
    updated = replace(change.account, strategies=_with(change.account.strategies, coin, strategy))
    reason = change.result.get("reason", OBSERVED)
    return Change(updated, change.moves, movements=change.movements, result={"reason": reason})


def _txn(change: Change, strategy: Strategy) -> Change:
    txn = int(strategy.id)
    return replace(change, moves=tuple(replace(m, txn=m.txn or txn) for m in change.moves))


def _buy(change: Change, strategy: Strategy, price: int, fee_bp: int) -> tuple[Change, Strategy]:
    units = strategy.budget * VALUE_PER_CENT // price
    if units == 0 or value_cents_down(units, price) == 0:
        return change, strategy
    cost = value_cents_up(units, price) + fee_cents_up(units, price, fee_bp)
    if strategy.paper:
        bought = Change(change.account, result={"reason": BOUGHT})
    else:
        try:
            bought = exchange.buy_coin(
                change.account, strategy.coin, units, price, fee_bp, strategy.id
            )
        except (InsufficientFunds, OrderTooSmall):
            return change, strategy  # the next price tries again
        bought = _txn(replace(bought, result={"reason": BOUGHT}), strategy)
    done = change.then(bought)
    return done, replace(strategy, held=units, cost=cost)


def _sell(account: Account, strategy: Strategy, price: int, fee_bp: int) -> tuple[Change, Strategy]:
    units = strategy.held
    if not strategy.paper:
        units = min(units, account.asset(strategy.coin).available)
    net = value_cents_down(units, price) - fee_cents_up(units, price, fee_bp)
    sold = Change(account, result={"reason": SOLD})
    if not strategy.paper and units:
        try:
            sold = exchange.sell_coin(account, strategy.coin, units, price, fee_bp, strategy.id)
            sold = _txn(replace(sold, result={"reason": SOLD}), strategy)
        except (InsufficientAssets, OrderTooSmall):
            net = 0
    return sold, replace(
        strategy, held=0, cost=0, trades=strategy.trades + 1, pnl=strategy.pnl + net - strategy.cost
    )
