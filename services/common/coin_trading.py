"""Use cases of coin orders for cash, and the context they work with.

The exchange service routes them, and the automatic traders (stop orders, the
volatility breakout) run the same ones, so they live in ``common``. Each takes a
``CoinTrading`` context: the unit of work that runs the order (the ledger, or one
account's session), the market's prices and the fee; nothing here knows about HTTP.

An order reads the price first (a feed that is down fails it with a 503 before anything
is touched), then the pure rule of ``domain/exchange.py`` runs under the user's lock in
the ledger's unit of work, which stores the account, the accountTransactions of the
cash and the wallet-ledger entry of the coins in one write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from .domain import backtest, breakout, exchange, margin, stops
from .domain.account import Account, Change
from .domain.money import format_cents, format_price, format_units
from .errors import UpstreamUnavailable
from .ledger import Command, CommandRunner
from .market import MarketPrices, parse_scaled
from .presenters import coin_fields
from .repositories import WalletLedgerRepository

BUY_COIN = "COIN_BUY"
SELL_COIN = "COIN_SELL"
OPEN_POSITION = "MARGIN_OPEN"
CLOSE_POSITION = "MARGIN_CLOSE"


@dataclass(frozen=True)
class CoinTrading:
    """What a coin use case works with: ``ledger`` runs commands against accounts (the
    ledger itself, or one account's session: ``within``); ``market`` gives prices;
    ``wallet_ledger`` the coin movements; ``fee_bp`` the fee of an order."""

    ledger: CommandRunner
    market: MarketPrices
    wallet_ledger: WalletLedgerRepository
    fee_bp: int
    clock_ms: Callable[[], int]
    interest_ppm: int  # margin interest per hour begun, millionths of the amount borrowed
    max_positions: int
    max_stops: int
    max_strategies: int

    def within(self, session: CommandRunner) -> CoinTrading:
        return replace(self, ledger=session)


def buy_coin(trading: CoinTrading, command: Command) -> dict:
    """Market buy of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientFunds
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    return _at_market_price(trading, command, exchange.buy_coin)


def sell_coin(trading: CoinTrading, command: Command) -> dict:
    """Market sell of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientAssets
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    return _at_market_price(trading, command, exchange.sell_coin)


def _at_market_price(
    trading: CoinTrading,
    command: Command,
    trade: Callable[[Account, str, int, int, int, str], Change],
) -> dict:
    """``trade`` (``exchange.buy_coin`` or ``sell_coin``) the command's units of its coin
    at the feed's price now, with the exchange's fee."""
    price = trading.market.price(command.symbol)
    change = trading.ledger.run(
        command,
        lambda account: trade(
            account, command.symbol, command.units, price, trading.fee_bp, str(command.txn)
        ),
    )
    return coin_fields(change.result)


# --- margin ------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginTerms:
    """What a user asks to open: side, leverage and margin (cents) on a coin."""

    coin: str
    side: str
    leverage: int
    margin: int


def show_position(
    position: margin.MarginPosition, price: int | None, now_ms: int, interest_ppm: int
) -> dict:
    """A position as the API shows it: terms, debt and interest, liquidation and
    margin-call prices, and (with a price) its level, value and profit or loss."""
    interest = position.interest(now_ms, interest_ppm)
    coin_debt = position.side == margin.SHORT
    amount = format_units if coin_debt else format_cents
    shown = {
        "coin": position.coin,
        "side": position.side,
        "leverage": position.leverage,
        "margin": format_cents(position.margin),
        "amount": format_units(position.units),
        "entry_price": format_price(position.entry_price),
        "debt": amount(position.debt),
        "interest": amount(interest),
        "debt_asset": position.coin if coin_debt else "USD",
        "liquidation_price": format_price(
            position.price_at_level(margin.LIQUIDATION_LEVEL_TENTHS, now_ms, interest_ppm)
        ),
        "margin_call_price": format_price(
            position.price_at_level(margin.CALL_LEVEL_TENTHS, now_ms, interest_ppm)
        ),
        "margin_call": position.called,
        "opened": position.opened_ms,
        "transactionNum": position.txn,
    }
    if price is not None:
        level = position.level_bp(price, now_ms, interest_ppm)
        shown["price"] = format_price(price)
        shown["margin_level"] = f"{level // 10_000}.{level % 10_000:04d}"
    return shown


def preview_position(trading: CoinTrading, terms: MarginTerms) -> dict:
    """What opening ``terms`` now would give, the liquidation price first; nothing is
    changed. Errors: UnknownCoin, InvalidInput, OrderTooSmall, UpstreamUnavailable."""
    price = trading.market.price(terms.coin)
    now = trading.clock_ms()
    position, fee, _ = margin.plan(
        terms.coin, terms.side, terms.leverage, terms.margin, price, trading.fee_bp, now, 0
    )
    shown = show_position(position, price, now, trading.interest_ppm)
    shown["fee"] = format_cents(fee)
    shown["cash_needed"] = format_cents(terms.margin + fee)
    for key in ("margin_call", "opened", "transactionNum"):
        shown.pop(key)
    return shown


def open_position(trading: CoinTrading, command: Command, terms: MarginTerms) -> dict:
    """Open an isolated position at the feed's price. Errors: UnknownCoin, InvalidInput,
    OrderTooSmall (400), NotFound (404), PositionOpen, TooManyPositions,
    InsufficientFunds (409), UpstreamUnavailable (503, nothing changed)."""
    price = trading.market.price(terms.coin)
    now = trading.clock_ms()
    change = trading.ledger.run(
        command,
        lambda account: margin.open_position(
            account,
            terms.coin,
            terms.side,
            terms.leverage,
            terms.margin,
            price,
            trading.fee_bp,
            now,
            command.txn,
            trading.max_positions,
            trading.interest_ppm,
        ),
    )
    return _opened(change.result)


def _opened(result) -> dict:
    short = result["side"] == margin.SHORT
    debt = format_units if short else format_cents
    return {
        "coin": result["coin"],
        "side": result["side"],
        "leverage": result["leverage"],
        "margin": format_cents(result["margin"]),
        "amount": format_units(result["units"]),
        "debt": debt(result["debt"]),
        "interest": debt(result["interest"]),
        "debt_asset": result["coin"] if short else "USD",
        "price": format_price(result["price"]),
        "fee": format_cents(result["fee"]),
        "liquidation_price": format_price(result["liquidation_price"]),
        "margin_call_price": format_price(result["margin_call_price"]),
        "cash": format_cents(result["cash"]),
    }


def close_position(trading: CoinTrading, command: Command) -> dict:
    """Close the user's position in ``command.symbol`` at the feed's price.

    Errors: UnknownCoin (400), NotFound (404), UpstreamUnavailable (503)."""
    price = trading.market.price(command.symbol)
    now = trading.clock_ms()
    change = trading.ledger.run(
        command,
        lambda account: margin.close_position(
            account, command.symbol, price, trading.fee_bp, now, trading.interest_ppm
        ),
    )
    return _closed(change.result, change.account.cash)


def _closed(result, cash: int) -> dict:
    shown = dict(result)
    if shown.get("side") is None:
        return shown
    coin_interest = shown["side"] == margin.SHORT
    return {
        **shown,
        "price": format_price(shown["price"]),
        "fee": format_cents(shown["fee"]),
        "interest": (format_units if coin_interest else format_cents)(shown["interest"]),
        "returned": format_cents(shown["returned"]),
        "shortfall": format_cents(shown["shortfall"]),
        "pnl": format_cents(shown["pnl"]),
        "cash": format_cents(cash),
    }


def positions(trading: CoinTrading, user: str) -> dict:
    """``user``'s open positions with their level at the live price (without it when the
    feed is down). Errors: NotFound."""
    account = trading.ledger.current(user)
    try:
        prices = trading.market.board().prices()
    except UpstreamUnavailable:
        prices = {}
    now = trading.clock_ms()
    return {
        "user": user,
        "positions": [
            show_position(p, prices.get(coin), now, trading.interest_ppm)
            for coin, p in sorted(account.positions.items())
        ],
    }


# --- stop orders ---------------------------------------------------------------------

PLACE_STOP = "STOP_PLACE"
CANCEL_STOP = "STOP_CANCEL"


@dataclass(frozen=True)
class StopTerms:
    """A stop order as asked: coin, kind, target, amount (a holding's units), trigger
    price (stop-loss, take-profit) or trail (basis points, trailing)."""

    coin: str
    kind: str
    target: str
    units: int
    trigger: int | None
    trail_bp: int


def show_stop(stop: stops.StopOrder) -> dict:
    return {
        "id": stop.id,
        "coin": stop.coin,
        "kind": stop.kind,
        "target": stop.target,
        "amount": format_units(stop.units) if stop.target == stops.HOLDING else None,
        "trigger": format_price(stop.trigger),
        "trail_bp": stop.trail_bp or None,
        "best": format_price(stop.best) if stop.kind == stops.TRAILING else None,
        "created": stop.created_ms,
    }


def place_stop(trading: CoinTrading, command: Command, terms: StopTerms) -> dict:
    """Place a stop order against the price now. Errors: UnknownCoin, InvalidInput (a
    stop price on the wrong side of the market), NotFound (no position), TooManyStops,
    UpstreamUnavailable."""
    price = trading.market.price(terms.coin)
    now = trading.clock_ms()
    change = trading.ledger.run(
        command,
        lambda account: stops.place_stop(
            account,
            str(command.txn),
            terms.coin,
            terms.kind,
            terms.target,
            terms.units,
            terms.trigger,
            terms.trail_bp,
            price,
            now,
            trading.max_stops,
        ),
    )
    placed = change.account.stops.get(change.result["id"])
    shown = show_stop(placed) if placed is not None else dict(change.result)
    return {**shown, "price": format_price(price)}


def cancel_stop(trading: CoinTrading, command: Command, stop_id: str) -> dict:
    """Cancel a stop order. Errors: NotFound."""
    change = trading.ledger.run(command, lambda account: stops.cancel_stop(account, stop_id))
    return dict(change.result)


def list_stops(trading: CoinTrading, user: str) -> dict:
    """``user``'s stop orders, oldest first. Errors: NotFound."""
    account = trading.ledger.current(user)
    ordered = sorted(account.stops.values(), key=lambda s: (s.created_ms, s.id))
    return {"user": user, "stops": [show_stop(s) for s in ordered]}


# --- volatility breakout -------------------------------------------------------------

START_STRATEGY = "STRATEGY_START"
STOP_STRATEGY = "STRATEGY_STOP"
BACKTEST_DAYS = 365  # what "auto" chooses k over


@dataclass(frozen=True)
class StrategyTerms:
    coin: str
    k: str  # "0.5", or "auto": the best k of a backtest over the last year
    budget: int  # cents
    paper: bool
    period_s: int


def choose_k(trading: CoinTrading, coin: str) -> int:
    """The best k (in hundredths) of a backtest over ``coin``'s last year of days."""
    rows = trading.market.feed.candles(coin, "24h")[:-1][-BACKTEST_DAYS:]
    if len(rows) < 3:
        raise UpstreamUnavailable(f"the market feed has too little history of {coin}")
    candles = [
        backtest.Candle(t, *(parse_scaled(v, 4) for v in (o, h, low, c)))
        for t, o, c, h, low, _ in rows
    ]
    best, _ = backtest.best_k(candles, Decimal(trading.fee_bp) / 10_000)
    return int(best.k * 100)


def show_strategy(strategy: breakout.Strategy) -> dict:
    return {
        "id": strategy.id,
        "coin": strategy.coin,
        "k": f"{strategy.k_hundredths // 100}.{strategy.k_hundredths % 100:02d}",
        "budget": format_cents(strategy.budget),
        "mode": "paper" if strategy.paper else "live",
        "period_s": strategy.period_ms // 1000,
        "period_start": strategy.period_start or None,
        "open": format_price(strategy.open) if strategy.period_start else None,
        "high": format_price(strategy.high) if strategy.period_start else None,
        "low": format_price(strategy.low) if strategy.period_start else None,
        "target": format_price(strategy.target) if strategy.target is not None else None,
        "held": format_units(strategy.held),
        "trades": strategy.trades,
        "pnl": format_cents(strategy.pnl),
    }


def start_strategy(trading: CoinTrading, command: Command, terms: StrategyTerms) -> dict:
    """Run the breakout on ``terms.coin`` (replacing the coin's strategy). Errors:
    UnknownCoin, InvalidInput (400), InsufficientFunds (a live budget above the cash),
    TooManyStrategies (409), UpstreamUnavailable (503)."""
    trading.market.price(terms.coin)  # UnknownCoin
    k = choose_k(trading, terms.coin) if terms.k == "auto" else int(Decimal(terms.k) * 100)
    change = trading.ledger.run(
        command,
        lambda account: breakout.start(
            account,
            str(command.txn),
            terms.coin,
            k,
            terms.budget,
            terms.paper,
            terms.period_s * 1000,
            trading.max_strategies,
        ),
    )
    started = change.account.strategies.get(terms.coin)
    return show_strategy(started) if started is not None else dict(change.result)


def stop_strategy(trading: CoinTrading, command: Command) -> dict:
    """Stop ``command.symbol``'s strategy; coins it bought stay. Errors: InvalidInput."""
    return dict(
        trading.ledger.run(command, lambda account: breakout.stop(account, command.symbol)).result
    )


def list_strategies(trading: CoinTrading, user: str) -> dict:
    account = trading.ledger.current(user)
    return {
        "user": user,
        "strategies": [show_strategy(s) for _, s in sorted(account.strategies.items())],
    }
