"""Stop orders on coin holdings and margin positions: pure rules.

A stop order watches one coin's price and, when it fires, sells coins of a holding at
market (``HOLDING``) or closes the user's margin position in the coin (``POSITION``):

- ``stop_loss``: fires when the price moves against the holder to ``trigger`` or beyond
  (a holding or a long: at or below; a short: at or above);
- ``take_profit``: fires when the price moves in the holder's favour to ``trigger``;
- ``trailing``: follows the best price seen since it was placed (``best``: the highest
  for a holding or long, the lowest for a short) at ``trail_bp`` basis points behind it,
  and fires when the price falls back (or rises back) to that distance.

A stop price on the wrong side of the market is refused when the order is placed. The
order fires once: it leaves the account in the same write as the sale or the close, so
a checker that stops in the middle has either fired it or not. A holding's stop sells
what is still available, up to its amount; with nothing left it is cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..errors import Conflict, InvalidInput, NotFound, OrderTooSmall
from . import exchange, margin
from .account import Account, Change
from .money import format_price

STOP_LOSS = "stop_loss"
TAKE_PROFIT = "take_profit"
TRAILING = "trailing"
KINDS = (STOP_LOSS, TAKE_PROFIT, TRAILING)
HOLDING = "holding"
POSITION = "position"
TARGETS = (HOLDING, POSITION)
MIN_TRAIL_BP, MAX_TRAIL_BP = 10, 5_000
FIRED = "stop_fired"
CANCELLED = "stop_cancelled"
MOVED = "stop_moved"


class TooManyStops(Conflict):
    code = "too_many_stops"


@dataclass(frozen=True)
class StopOrder:
    """One stop order; ``falling`` says which way hurts the holder (all but shorts)."""

    id: str  # the placing command's transaction number
    coin: str
    kind: str
    target: str
    units: int  # a holding's coins to sell; 0 for a position (closed whole)
    trigger: int  # the price it fires at (a trailing stop's moves with ``best``)
    falling: bool
    trail_bp: int = 0
    best: int = 0  # a trailing stop's best price so far
    created_ms: int = 0

    def due(self, price: int) -> bool:
        """Whether ``price`` fires it."""
        against = price <= self.trigger if self.falling else price >= self.trigger
        if self.kind == TAKE_PROFIT:
            return price >= self.trigger if self.falling else price <= self.trigger
        return against

    def followed(self, price: int) -> StopOrder:
        """A trailing stop after seeing ``price`` (itself if the best did not improve)."""
        if self.kind != TRAILING:
            return self
        better = price > self.best if self.falling else price < self.best
        if not better:
            return self
        return replace(self, best=price, trigger=_trail(price, self.trail_bp, self.falling))


def _trail(best: int, trail_bp: int, falling: bool) -> int:
    if falling:  # below the best, rounded down
        return best * (10_000 - trail_bp) // 10_000
    return -(-best * (10_000 + trail_bp) // 10_000)  # above, rounded up


def place_stop(
    account: Account,
    stop_id: str,
    coin: str,
    kind: str,
    target: str,
    units: int,
    trigger: int | None,
    trail_bp: int,
    price: int,
    now_ms: int,
    max_stops: int,
) -> Change:
    """Place a stop order at market ``price``. InvalidInput (wrong side of the market,
    bad terms), NotFound (no position to protect), TooManyStops: nothing changed."""
    if kind not in KINDS or target not in TARGETS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}; target holding or position")
    if len(account.stops) >= max_stops:
        raise TooManyStops(f"at most {max_stops} stop orders")
    if target == POSITION:
        position = account.positions.get(coin)
        if position is None:
            raise NotFound(f"no open {coin} position to protect")
        falling, units = position.side == margin.LONG, 0
    else:
        if type(units) is not int or units <= 0:
            raise InvalidInput("amount must be greater than 0")
        falling = True
    if kind == TRAILING:
        if not MIN_TRAIL_BP <= trail_bp <= MAX_TRAIL_BP:
            raise InvalidInput("trail must be from 0.1 % to 50 % (10-5000 basis points)")
        stop = StopOrder(
            stop_id, coin, kind, target, units, _trail(price, trail_bp, falling), falling,
            trail_bp, price, now_ms,
        )  # fmt: skip
    else:
        if trigger is None or trigger <= 0:
            raise InvalidInput("price must be greater than 0")
        stop = StopOrder(stop_id, coin, kind, target, units, trigger, falling, 0, 0, now_ms)
        if stop.due(price):
            side = "below" if (kind == STOP_LOSS) == falling else "above"
            raise InvalidInput(
                f"a {kind.replace('_', '-')} at {format_price(trigger)} must be {side} "
                f"the market price {format_price(price)}"
            )
    updated = replace(account, stops=_with(account.stops, stop_id, stop))
    return Change(updated, result=_shown(stop))


def cancel_stop(account: Account, stop_id: str) -> Change:
    """Remove a stop order. NotFound if there is none with that id."""
    stop = account.stops.get(stop_id)
    if stop is None:
        raise NotFound(f"no stop order {stop_id}")
    updated = replace(account, stops=_with(account.stops, stop_id, None))
    return Change(updated, result={**_shown(stop), "reason": CANCELLED})


def _with(stops: Mapping, stop_id: str, stop: StopOrder | None) -> Mapping:
    updated = dict(stops)
    if stop is None:
        updated.pop(stop_id, None)
    else:
        updated[stop_id] = stop
    return MappingProxyType(updated)


def _shown(stop: StopOrder) -> dict:
    return {"id": stop.id, "coin": stop.coin, "kind": stop.kind, "target": stop.target}


def fire_if_due(
    account: Account,
    stop_id: str,
    price: int,
    fee_bp: int,
    now_ms: int,
    interest_ppm: int,
) -> Change:
    """The checker's rule, checked again on the account under the lock: a trailing stop
    follows ``price``; a due stop sells (holding) or closes (position) and is removed in
    the same change; a stop with nothing left to act on is cancelled."""
    stop = account.stops.get(stop_id)
    if stop is None:
        return Change(account)
    moved = stop.followed(price)
    if not moved.due(price):
        if moved == stop:
            return Change(account)
        updated = replace(account, stops=_with(account.stops, stop_id, moved))
        return Change(updated, result={**_shown(moved), "reason": MOVED})
    without = replace(account, stops=_with(account.stops, stop_id, None))
    cancelled = Change(without, result={**_shown(stop), "reason": CANCELLED})
    if stop.target == POSITION:
        if stop.coin not in account.positions:
            return cancelled
        done = margin.close_position(
            without, stop.coin, price, fee_bp, now_ms, interest_ppm, margin.CLOSE
        )
    else:
        units = min(stop.units, without.asset(stop.coin).available)
        if units == 0:
            return cancelled
        try:
            done = exchange.sell_coin(without, stop.coin, units, price, fee_bp, stop.id)
        except OrderTooSmall:  # what is left is worth less than a cent
            return cancelled
    txn = int(stop.id)
    return Change(
        done.account,
        tuple(replace(m, txn=m.txn or txn) for m in done.moves),
        movements=done.movements,
        result={**_shown(stop), **done.result, "reason": FIRED, "price": price},
    )
