"""A trading account and the rules that change it.

Every rule is a function ``(account, ...) -> Change``: a new account plus the cash
movements it caused, or a domain error raised with nothing changed. Rules never read
clocks or quotes themselves; the service layer passes ``now_ms`` and prices in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..errors import (
    InsufficientFunds,
    InsufficientShares,
    NoSetup,
    NothingPending,
    TooManySetups,
    ZeroShares,
)
from .assets import EMPTY, AssetBalance, AssetMove
from .money import format_cents, shares_for

ADD = "add"
REMOVE = "remove"


@dataclass(frozen=True)
class CashMove:
    """One change of cash, logged as an accountTransaction."""

    action: str  # ADD or REMOVE
    cents: int
    txn: int | None = None  # set when the system, not the current command, moved it


def paid_with_fee(move: CashMove, fee: int) -> tuple[CashMove, ...]:
    """The cash moves of an order: ``move`` (what it costs or pays), then its fee taken
    from cash; a fee of 0 moves nothing, so it is not recorded."""
    return (move,) + ((CashMove(REMOVE, fee),) if fee else ())


@dataclass(frozen=True)
class TriggerFired:
    """A buy or sell setup that executed; logged as a systemEvent."""

    command: str  # SET_BUY_TRIGGER or SET_SELL_TRIGGER
    symbol: str
    shares: int
    price: int
    txn: int


@dataclass(frozen=True)
class Pending:
    """A BUY or SELL waiting for its COMMIT or CANCEL."""

    symbol: str
    shares: int
    price: int
    created_ms: int
    txn: int

    @property
    def cost(self) -> int:
        return self.shares * self.price


@dataclass(frozen=True)
class BuySetup:
    """Cash reserved for an automatic buy, and the price at or below which it fires."""

    symbol: str
    reserve: int
    trigger: int | None = None
    txn: int | None = None


@dataclass(frozen=True)
class SellSetup:
    """Dollars to sell automatically, the shares set aside, and the firing price."""

    symbol: str
    amount: int
    shares: int = 0
    trigger: int | None = None
    txn: int | None = None


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Account:
    """A user's cash (cents), holdings (shares per symbol), pending trades and setups."""

    user: str
    cash: int = 0
    holdings: Mapping[str, int] = field(default_factory=_frozen)
    pending_buys: tuple[Pending, ...] = ()
    pending_sells: tuple[Pending, ...] = ()
    buy_setups: Mapping[str, BuySetup] = field(default_factory=_frozen)
    sell_setups: Mapping[str, SellSetup] = field(default_factory=_frozen)
    # Coins, per asset (BTC, DTC...): units available and locked, and their cost basis.
    # Changed only by the rules of domain/assets.py and the modules built on it
    # (wallet.py, exchange.py), each change with its AssetMoves (the wallet ledger).
    assets: Mapping[str, AssetBalance] = field(default_factory=_frozen)
    # Isolated margin positions by coin (domain/margin.py: MarginPosition).
    positions: Mapping[str, Any] = field(default_factory=_frozen)
    # Stop orders by id (domain/stops.py: StopOrder).
    stops: Mapping[str, Any] = field(default_factory=_frozen)
    # Volatility-breakout strategies by coin (domain/breakout.py: Strategy).
    strategies: Mapping[str, Any] = field(default_factory=_frozen)
    # Stop-loss orders on stock holdings by id, open and recently closed
    # (domain/stock_stops.py: StockStop).
    stock_stops: Mapping[str, Any] = field(default_factory=_frozen)
    # The newest log entries that moved this account's money or shares, newest first;
    # no rule reads them. They make DISPLAY_SUMMARY a one-document read.
    recent: tuple[Mapping, ...] = field(default=(), compare=False)
    # Answers to the newest commands sent with an Idempotency-Key: key -> {fp, result}.
    # Stored with the state they produced, so a retry can never apply a command twice.
    applied: Mapping[str, Mapping] = field(default_factory=_frozen, compare=False)
    # The log entries of the last change, saved in the same write as the change itself,
    # so a crash between that write and the log insert loses nothing (see Ledger).
    outbox: tuple[Mapping, ...] = field(default=(), compare=False)
    version: int = 0

    @property
    def reserved_cash(self) -> int:
        """Cash held by pending buys and buy setups."""
        return sum(p.cost for p in self.pending_buys) + sum(
            s.reserve for s in self.buy_setups.values()
        )

    @property
    def armed_symbols(self) -> tuple[str, ...]:
        """Symbols with a buy or sell setup that has a trigger price, or an open stop-loss:
        what the trigger checker quotes."""
        armed = {s.symbol for s in self.buy_setups.values() if s.trigger is not None}
        armed |= {s.symbol for s in self.sell_setups.values() if s.trigger is not None}
        armed |= {s.symbol for s in self.stock_stops.values() if s.is_open}
        return tuple(sorted(armed))

    def shares(self, symbol: str) -> int:
        return self.holdings.get(symbol, 0)

    @property
    def watched_coins(self) -> tuple[str, ...]:
        """Coins with a margin position, a stop order or a strategy: what the coin checker
        watches."""
        stop_coins = {s.coin for s in self.stops.values()}
        return tuple(sorted({*self.positions, *stop_coins, *self.strategies}))

    def asset(self, name: str) -> AssetBalance:
        """The holding of coin ``name`` (an empty one if there is none)."""
        return self.assets.get(name, EMPTY)


@dataclass(frozen=True)
class Change:
    """The result of a rule: the new account and what moved.

    ``moves`` are cash movements (accountTransactions in the audit log); ``movements``
    are coin movements (entries of the wallet ledger).
    """

    account: Account
    moves: tuple[CashMove, ...] = ()
    fired: tuple[TriggerFired, ...] = ()
    result: Mapping = field(default_factory=_frozen)
    movements: tuple[AssetMove, ...] = ()

    def then(self, other: Change) -> Change:
        """Chain a second change after this one, keeping both sets of moves."""
        return Change(
            other.account,
            self.moves + other.moves,
            self.fired + other.fired,
            other.result,
            self.movements + other.movements,
        )


def _with_holding(holdings: Mapping[str, int], symbol: str, delta: int) -> Mapping[str, int]:
    updated = dict(holdings)
    shares = updated.get(symbol, 0) + delta
    if shares < 0:
        raise AssertionError(f"holding of {symbol} would become negative")
    if shares:
        updated[symbol] = shares
    else:
        updated.pop(symbol, None)
    return _frozen(updated)


def _with_setup(setups: Mapping, symbol: str, setup) -> Mapping:
    updated = dict(setups)
    if setup is None:
        updated.pop(symbol, None)
    else:
        updated[symbol] = setup
    return _frozen(updated)


# --- cash -------------------------------------------------------------------------


def add_funds(account: Account, amount: int) -> Change:
    """ADD: cash += amount."""
    cash = account.cash + amount
    return Change(replace(account, cash=cash), (CashMove(ADD, amount),), result={"cash": cash})


# --- expiry of pending trades ----------------------------------------------------


def expire_pending(account: Account, now_ms: int, ttl_ms: int) -> Change:
    """Roll back pending buys and sells older than ``ttl_ms``.

    An expired buy returns its cost to cash; an expired sell returns its shares.
    """
    live_buys = tuple(p for p in account.pending_buys if now_ms - p.created_ms < ttl_ms)
    live_sells = tuple(p for p in account.pending_sells if now_ms - p.created_ms < ttl_ms)
    if len(live_buys) == len(account.pending_buys) and len(live_sells) == len(
        account.pending_sells
    ):
        return Change(account)
    expired_buys = [p for p in account.pending_buys if p not in live_buys]
    expired_sells = [p for p in account.pending_sells if p not in live_sells]
    holdings = account.holdings
    for sell in expired_sells:
        holdings = _with_holding(holdings, sell.symbol, sell.shares)
    refund = sum(p.cost for p in expired_buys)
    updated = replace(
        account,
        cash=account.cash + refund,
        holdings=holdings,
        pending_buys=live_buys,
        pending_sells=live_sells,
    )
    return Change(updated, tuple(CashMove(ADD, p.cost) for p in expired_buys))


# --- buying and selling now ------------------------------------------------------


def check_buy(account: Account, amount: int) -> None:
    """BUY's precondition, checked before paying for a quote: cash >= amount."""
    if account.cash < amount:
        raise InsufficientFunds(
            f"insufficient funds: cash {format_cents(account.cash)} < {format_cents(amount)}"
        )


def buy(account: Account, symbol: str, amount: int, price: int, now_ms: int, txn: int) -> Change:
    """BUY: reserve the cost of floor(amount / price) shares in a new pending buy."""
    check_buy(account, amount)
    shares = shares_for(amount, price)
    if shares == 0:
        raise ZeroShares(
            f"{format_cents(amount)} buys 0 shares of {symbol} at {format_cents(price)}"
        )
    pending = Pending(symbol, shares, price, now_ms, txn)
    updated = replace(
        account,
        cash=account.cash - pending.cost,
        pending_buys=account.pending_buys + (pending,),
    )
    return Change(
        updated,
        (CashMove(REMOVE, pending.cost),),
        result={"symbol": symbol, "shares": shares, "price": price, "cost": pending.cost},
    )


def commit_buy(account: Account) -> Change:
    """COMMIT_BUY: the newest pending buy's shares join the holdings."""
    newest = _newest_pending(account.pending_buys, "buy")
    updated = replace(
        account,
        holdings=_with_holding(account.holdings, newest.symbol, newest.shares),
        pending_buys=account.pending_buys[:-1],
    )
    return Change(updated, result=_pending_result(newest))


def cancel_buy(account: Account) -> Change:
    """CANCEL_BUY: the newest pending buy's cost returns to cash."""
    newest = _newest_pending(account.pending_buys, "buy")
    updated = replace(
        account, cash=account.cash + newest.cost, pending_buys=account.pending_buys[:-1]
    )
    return Change(updated, (CashMove(ADD, newest.cost),), result=_pending_result(newest))


def check_sell(account: Account, symbol: str) -> None:
    """SELL's precondition, checked before paying for a quote: some shares of symbol."""
    if account.shares(symbol) == 0:
        raise InsufficientShares(f"no shares of {symbol} to sell")


def sell(account: Account, symbol: str, amount: int, price: int, now_ms: int, txn: int) -> Change:
    """SELL: set floor(amount / price) shares aside in a new pending sell."""
    check_sell(account, symbol)
    held = account.shares(symbol)
    if held * price < amount:
        raise InsufficientShares(
            f"insufficient shares: {held} {symbol} at {format_cents(price)} "
            f"are worth less than {format_cents(amount)}"
        )
    shares = shares_for(amount, price)
    if shares == 0:
        raise ZeroShares(
            f"{format_cents(amount)} sells 0 shares of {symbol} at {format_cents(price)}"
        )
    pending = Pending(symbol, shares, price, now_ms, txn)
    updated = replace(
        account,
        holdings=_with_holding(account.holdings, symbol, -shares),
        pending_sells=account.pending_sells + (pending,),
    )
    return Change(
        updated,
        result={"symbol": symbol, "shares": shares, "price": price, "proceeds": pending.cost},
    )


def commit_sell(account: Account) -> Change:
    """COMMIT_SELL: the newest pending sell's proceeds join cash."""
    newest = _newest_pending(account.pending_sells, "sell")
    updated = replace(
        account, cash=account.cash + newest.cost, pending_sells=account.pending_sells[:-1]
    )
    return Change(updated, (CashMove(ADD, newest.cost),), result=_pending_result(newest))


def cancel_sell(account: Account) -> Change:
    """CANCEL_SELL: the newest pending sell's shares return to the holding."""
    newest = _newest_pending(account.pending_sells, "sell")
    updated = replace(
        account,
        holdings=_with_holding(account.holdings, newest.symbol, newest.shares),
        pending_sells=account.pending_sells[:-1],
    )
    return Change(updated, result=_pending_result(newest))


def _newest_pending(pending: tuple[Pending, ...], side: str) -> Pending:
    """The newest of the account's pending buys or sells (``side``): the one COMMIT_* and
    CANCEL_* act on. Raises NothingPending when there is none."""
    if not pending:
        raise NothingPending(f"no pending {side}")
    return pending[-1]


def _pending_result(pending: Pending) -> dict:
    return {
        "symbol": pending.symbol,
        "shares": pending.shares,
        "price": pending.price,
        "amount": pending.cost,
    }


# --- automatic buying ----------------------------------------------------------


def check_room_for_setup(account: Account, symbol: str, side: str, max_setups: int) -> None:
    """A new automatic buy or sell (``side``) on ``symbol`` must leave the account with at
    most ``max_setups`` of them, both sides counted; changing an existing one always may.

    Raises TooManySetups.
    """
    setups = account.buy_setups if side == "buy" else account.sell_setups
    if symbol in setups:
        return
    if len(account.buy_setups) + len(account.sell_setups) >= max_setups:
        raise TooManySetups(
            f"{account.user} already has {max_setups} automatic buys and sells; cancel one first"
        )


def set_buy_amount(account: Account, symbol: str, amount: int) -> Change:
    """SET_BUY_AMOUNT: move ``amount`` into the buy setup's reserve, replacing the old one."""
    existing = account.buy_setups.get(symbol)
    old_reserve = existing.reserve if existing else 0
    if account.cash + old_reserve < amount:
        raise InsufficientFunds(
            f"insufficient funds: cash {format_cents(account.cash + old_reserve)} "
            f"< {format_cents(amount)}"
        )
    moves = (CashMove(ADD, old_reserve),) if old_reserve else ()
    setup = replace(existing, reserve=amount) if existing else BuySetup(symbol, amount)
    updated = replace(
        account,
        cash=account.cash + old_reserve - amount,
        buy_setups=_with_setup(account.buy_setups, symbol, setup),
    )
    return Change(updated, moves + (CashMove(REMOVE, amount),), result={"reserve": amount})


def set_buy_trigger(account: Account, symbol: str, price: int, txn: int) -> Change:
    """SET_BUY_TRIGGER: arm (or re-arm) the buy setup at ``price``."""
    existing = account.buy_setups.get(symbol)
    if existing is None:
        raise NoSetup(f"no buy amount set for {symbol}")
    setup = replace(existing, trigger=price, txn=txn)
    updated = replace(account, buy_setups=_with_setup(account.buy_setups, symbol, setup))
    return Change(updated, result={"reserve": setup.reserve, "trigger": price})


def cancel_set_buy(account: Account, symbol: str) -> Change:
    """CANCEL_SET_BUY: the reserve returns to cash; amount and trigger are gone."""
    existing = account.buy_setups.get(symbol)
    if existing is None:
        raise NoSetup(f"no buy setup for {symbol}")
    updated = replace(
        account,
        cash=account.cash + existing.reserve,
        buy_setups=_with_setup(account.buy_setups, symbol, None),
    )
    return Change(updated, (CashMove(ADD, existing.reserve),), result={"refund": existing.reserve})


# --- automatic selling ---------------------------------------------------------


def set_sell_amount(account: Account, symbol: str, amount: int) -> Change:
    """SET_SELL_AMOUNT: create the sell setup or replace its amount.

    Shares already set aside by a trigger stay set aside until the next SET_SELL_TRIGGER.
    """
    existing = account.sell_setups.get(symbol)
    if account.shares(symbol) + (existing.shares if existing else 0) < 1:
        raise InsufficientShares(f"no shares of {symbol} to sell")
    setup = replace(existing, amount=amount) if existing else SellSetup(symbol, amount)
    updated = replace(account, sell_setups=_with_setup(account.sell_setups, symbol, setup))
    return Change(updated, result={"amount": amount})


def set_sell_trigger(account: Account, symbol: str, price: int, txn: int) -> Change:
    """SET_SELL_TRIGGER: set aside min(floor(amount / price), available) shares at ``price``."""
    existing = account.sell_setups.get(symbol)
    if existing is None:
        raise NoSetup(f"no sell amount set for {symbol}")
    available = account.shares(symbol) + existing.shares
    reserve = min(shares_for(existing.amount, price), available)
    if reserve == 0:
        raise ZeroShares(
            f"{format_cents(existing.amount)} at {format_cents(price)} sets aside 0 shares "
            f"of {symbol}"
        )
    holdings = _with_holding(account.holdings, symbol, existing.shares - reserve)
    setup = replace(existing, shares=reserve, trigger=price, txn=txn)
    updated = replace(
        account, holdings=holdings, sell_setups=_with_setup(account.sell_setups, symbol, setup)
    )
    return Change(updated, result={"shares": reserve, "trigger": price})


def cancel_set_sell(account: Account, symbol: str) -> Change:
    """CANCEL_SET_SELL: shares set aside return to the holding; the setup is gone."""
    existing = account.sell_setups.get(symbol)
    if existing is None:
        raise NoSetup(f"no sell setup for {symbol}")
    updated = replace(
        account,
        holdings=_with_holding(account.holdings, symbol, existing.shares),
        sell_setups=_with_setup(account.sell_setups, symbol, None),
    )
    return Change(updated, result={"returned_shares": existing.shares})


# --- triggers firing -----------------------------------------------------------


def fire_triggers(account: Account, symbol: str, price: int) -> Change:
    """Execute the armed setups for ``symbol`` that ``price`` satisfies."""
    change = Change(account)
    buy_setup = account.buy_setups.get(symbol)
    if buy_setup and buy_setup.trigger is not None and price <= buy_setup.trigger:
        shares = shares_for(buy_setup.reserve, price)
        if shares:  # otherwise the setup keeps waiting for a lower price
            leftover = buy_setup.reserve - shares * price
            acct = change.account
            updated = replace(
                acct,
                cash=acct.cash + leftover,
                holdings=_with_holding(acct.holdings, symbol, shares),
                buy_setups=_with_setup(acct.buy_setups, symbol, None),
            )
            moves = (CashMove(ADD, leftover, buy_setup.txn),) if leftover else ()
            fired = TriggerFired("SET_BUY_TRIGGER", symbol, shares, price, buy_setup.txn)
            change = change.then(Change(updated, moves, (fired,)))
    sell_setup = account.sell_setups.get(symbol)
    if sell_setup and sell_setup.trigger is not None and price >= sell_setup.trigger:
        proceeds = sell_setup.shares * price
        acct = change.account
        updated = replace(
            acct,
            cash=acct.cash + proceeds,
            sell_setups=_with_setup(acct.sell_setups, symbol, None),
        )
        fired = TriggerFired("SET_SELL_TRIGGER", symbol, sell_setup.shares, price, sell_setup.txn)
        moves = (CashMove(ADD, proceeds, sell_setup.txn),)
        change = change.then(Change(updated, moves, (fired,)))
    return change
