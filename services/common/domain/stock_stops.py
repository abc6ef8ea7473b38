"""Stop-loss orders on stock holdings, beside the Day Trading triggers: pure rules.

A stop-loss watches one symbol's quote and, when a quote is at or below its stop price,
sells shares of the holding at that quote: ``shares`` of them, or every share held then
(``shares == ALL``), never more than are held. The proceeds (shares x quote, in cents)
join cash as an ``add``; the sale is logged as a ``systemEvent`` (command SELL) under the
transaction number of the command that placed the stop, as a fired SET_SELL_TRIGGER is.

The shares are not set aside while the stop waits: the holding stays the user's to sell
or commit elsewhere, and the stop sells what is left of it when it fires; with nothing
left it lapses. Either way it closes in the same change as the sale, so it fires once:
a checker stopped after the write finds it closed, one stopped before finds it open.

Closed stops (``FILLED``, ``LAPSED``) stay in the account, newest first, so the user sees
each fill, up to ``KEPT_CLOSED`` of them; open ones are bounded by the caller's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..errors import Conflict, InsufficientShares, InvalidInput, NotFound
from .account import ADD, Account, CashMove, Change, TriggerFired
from .money import format_cents

OPEN = "open"
FILLED = "filled"
LAPSED = "lapsed"  # due, but no share of the holding was left to sell
ALL = 0  # ``shares`` of a stop that sells the whole holding
KEPT_CLOSED = 20  # closed stops kept per user to show their fills
SALE = "SELL"  # the course command its systemEvent is logged as


class TooManyStockStops(Conflict):
    code = "too_many_stops"


class StopNotOpen(Conflict):
    code = "stop_not_open"


@dataclass(frozen=True)
class StockStop:
    """One stop-loss; its fill once it closes."""

    id: str  # the placing command's transaction number
    symbol: str
    shares: int  # how many to sell (ALL: the whole holding when it fires)
    stop: int  # cents: a quote at or below this fires it
    created_ms: int
    status: str = OPEN
    sold: int = 0  # shares sold when it filled
    price: int = 0  # the quote it filled at, cents
    closed_ms: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def proceeds(self) -> int:
        return self.sold * self.price

    def due(self, price: int) -> bool:
        return self.is_open and price <= self.stop


def open_stops(account: Account) -> list[StockStop]:
    """The account's open stops, oldest first (the order they fire in)."""
    stops = (s for s in account.stock_stops.values() if s.is_open)
    return sorted(stops, key=lambda s: (s.created_ms, int(s.id)))


def check_holding(account: Account, symbol: str, shares: int) -> None:
    """A stop needs shares of ``symbol`` held, at least ``shares`` (unless ALL).

    Raises InsufficientShares; checked again under the lock by ``place``."""
    held = account.shares(symbol)
    if held == 0:
        raise InsufficientShares(f"no shares of {symbol} to protect")
    if shares > held:
        raise InsufficientShares(f"a stop on {shares} shares of {symbol}, but {held} are held")


def place(
    account: Account,
    stop_id: str,
    symbol: str,
    shares: int,
    stop: int,
    quote: int,
    now_ms: int,
    max_open: int,
) -> Change:
    """Place a stop-loss at ``stop`` cents while the market is at ``quote``.

    Errors, with nothing changed: InvalidInput (bad numbers, a stop at or above the
    market), InsufficientShares, TooManyStockStops, Conflict (the id is taken)."""
    if type(shares) is not int or shares < 0:
        raise InvalidInput("shares must be a whole number greater than 0, or all")
    if type(stop) is not int or stop <= 0:
        raise InvalidInput("the stop price must be greater than 0")
    check_holding(account, symbol, shares)
    if len(open_stops(account)) >= max_open:
        raise TooManyStockStops(f"at most {max_open} open stop-loss orders; cancel one first")
    if stop_id in account.stock_stops:
        raise Conflict(f"a stop-loss {stop_id} exists already")
    if stop >= quote:
        raise InvalidInput(
            f"a stop-loss at {format_cents(stop)} must be below the market price "
            f"{format_cents(quote)}"
        )
    placed = StockStop(stop_id, symbol, shares, stop, now_ms)
    updated = replace(account, stock_stops=_with(account.stock_stops, placed))
    return Change(updated, result={"id": stop_id})


def cancel(account: Account, stop_id: str) -> Change:
    """Cancel an open stop: it is gone. NotFound, or StopNotOpen once it has closed."""
    stop = account.stock_stops.get(stop_id)
    if stop is None:
        raise NotFound(f"no stop-loss {stop_id}")
    if not stop.is_open:
        raise StopNotOpen(f"stop-loss {stop_id} is {stop.status} already")
    kept = {k: v for k, v in account.stock_stops.items() if k != stop_id}
    updated = replace(account, stock_stops=MappingProxyType(kept))
    return Change(updated, result={"id": stop_id, "symbol": stop.symbol, "status": "cancelled"})


def fire(account: Account, symbol: str, price: int, now_ms: int) -> Change:
    """Fill every open stop on ``symbol`` that a quote at ``price`` reaches, oldest first:
    each sells min(its shares, the shares held) at ``price`` and closes (FILLED), or
    closes LAPSED when nothing is held. ``account`` itself when none is due."""
    due = [s for s in open_stops(account) if s.symbol == symbol and s.due(price)]
    if not due:
        return Change(account)
    holdings = dict(account.holdings)
    stops = account.stock_stops
    cash = account.cash
    moves: list[CashMove] = []
    fired: list[TriggerFired] = []
    for stop in due:
        held = holdings.get(symbol, 0)
        sold = held if stop.shares == ALL else min(stop.shares, held)
        if sold == 0:
            closed = replace(stop, status=LAPSED, closed_ms=now_ms)
        else:
            closed = replace(stop, status=FILLED, sold=sold, price=price, closed_ms=now_ms)
            holdings[symbol] = held - sold
            if holdings[symbol] == 0:
                del holdings[symbol]
            cash += closed.proceeds
            moves.append(CashMove(ADD, closed.proceeds, int(stop.id)))
            fired.append(TriggerFired(SALE, symbol, sold, price, int(stop.id)))
        stops = _with(stops, closed)
    updated = replace(
        account,
        cash=cash,
        holdings=MappingProxyType(holdings),
        stock_stops=_pruned(stops),
    )
    return Change(updated, tuple(moves), tuple(fired))


def _with(stops: Mapping[str, StockStop], stop: StockStop) -> Mapping[str, StockStop]:
    return MappingProxyType({**stops, stop.id: stop})


def _pruned(stops: Mapping[str, StockStop]) -> Mapping[str, StockStop]:
    """``stops`` with only the newest KEPT_CLOSED closed ones."""
    closed = sorted(
        (s for s in stops.values() if not s.is_open),
        key=lambda s: (s.closed_ms, int(s.id)),
        reverse=True,
    )
    dropped = {s.id for s in closed[KEPT_CLOSED:]}
    if not dropped:
        return stops
    return MappingProxyType({k: v for k, v in stops.items() if k not in dropped})
