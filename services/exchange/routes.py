"""HTTP routes of the exchange service (under /api/exchange).

Coin orders are POSTs like the stock commands (a bearer token, ``user`` in the body,
an optional ``Idempotency-Key``); the board and candles are public GETs; holdings and
trades are the caller's own (admin and service may name any user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, request

from ..common import coin_trading
from ..common.coin_trading import CoinTrading
from ..common.commands import parse_model
from ..common.domain.identifiers import check_user_id
from ..common.errors import InvalidInput
from ..common.ledger import Command
from ..common.openapi import api_doc
from ..common.schemas import (
    BacktestBody,
    CoinHistoryQuery,
    CoinOrderBody,
    MarginCloseBody,
    MarginOpenBody,
    MarginTermsBody,
    StopCancelBody,
    StopOrderBody,
    StrategyBody,
    StrategyStopBody,
)
from ..common.web import answered_once, backend, json_body, ok, platform_command, principal
from . import service

bp = Blueprint("exchange", __name__, url_prefix="/api/exchange")


def _coin_order(name: str, use_case: Callable[[CoinTrading, Command], dict]):
    """Authenticate, validate and authorise a coin order, then run it."""
    body, command = platform_command(name, CoinOrderBody)
    command = replace(command, symbol=body.coin, units=body.amount)
    return answered_once(command, lambda: use_case(backend().coin_trading(), command))


@bp.post("/buy")
@api_doc("Market buy of coins for cash", body=CoinOrderBody)
def buy():
    """Buy {user, coin, amount} at the market price: cost rounded up to the cent plus a
    fee (0.25 % by default) rounded up. 400 unknown coin or bad amount, 409 not enough
    cash, 503 the market feed is down (nothing changed)."""
    return _coin_order(coin_trading.BUY_COIN, coin_trading.buy_coin)


@bp.post("/sell")
@api_doc("Market sell of coins for cash", body=CoinOrderBody)
def sell():
    """Sell {user, coin, amount} at the market price: proceeds rounded down to the cent
    less the fee rounded up. 400 unknown coin or bad amount, 409 not enough coins, 503
    the market feed is down (nothing changed)."""
    return _coin_order(coin_trading.SELL_COIN, coin_trading.sell_coin)


@bp.get("/coin/tickers_20")
@api_doc("The top 20 coins, live", errors=(429, 503), public=True)
def tickers_20():
    """The top 20 coins by traded value over 24 hours, live (seed's /coin/tickers_20)."""
    return ok(service.tickers_20(backend().coin_trading()))


@bp.get("/coin/tickers_db")
@api_doc("The top 20 coins' last complete day", errors=(429, 503), public=True)
def tickers_db():
    """The top 20 coins' last complete daily candle (seed's /coin/tickers_db)."""
    return ok(service.tickers_db(backend().coin_trading()))


@bp.get("/coin/candles/<coin>/<interval>")
@api_doc("A coin's candles", errors=(400, 429, 503), public=True)
def candles(coin: str, interval: str):
    """Candles of a coin: interval 1m, 1h or 24h, oldest first; ``?limit=n`` keeps the
    newest n (a sparkline needs a day, not a month). 400 unknown coin/interval, bad limit."""
    if interval not in service.CANDLE_INTERVALS:
        raise InvalidInput(f"interval must be one of {', '.join(service.CANDLE_INTERVALS)}")
    limit = request.args.get("limit")
    if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= service.CANDLES_MAX):
        raise InvalidInput(f"limit must be an integer from 1 to {service.CANDLES_MAX}")
    newest = int(limit) if limit is not None else None
    return ok(service.candles(backend().coin_trading(), coin, interval, newest))


@bp.get("/coin/clientassets")
@api_doc("Coin holdings valued live", errors=(400, 401, 403, 404, 429, 503))
def client_assets():
    """The caller's coins (or ?user= for admin/service) at the live price, with cost and
    profit or loss (seed's /coin/clientassets). 403 someone else's, 404 no account."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    return ok(service.client_assets(backend().coin_trading(), user))


@bp.get("/trades")
@api_doc("A user's coin trades", query=CoinHistoryQuery, errors=(400, 401, 403, 429, 503))
def trades():
    """The caller's coin buys and sells, newest first: ?user=&limit=&coin=&before=<ms>."""
    query = parse_model(CoinHistoryQuery, request.args.to_dict())
    user = query.user or principal().name
    principal().require_act_for(user)
    return ok(service.trades(backend().coin_trading(), user, query.limit, query.coin, query.before))


# --- margin ------------------------------------------------------------------------


def _terms(body: MarginTermsBody) -> coin_trading.MarginTerms:
    return coin_trading.MarginTerms(body.coin, body.side, body.leverage, body.margin)


@bp.post("/margin/preview")
@api_doc("What a margin position would be, its liquidation price first", body=MarginTermsBody)
def margin_preview():
    """Preview {coin, side, leverage 2-5, margin}: the position, its fee, liquidation and
    margin-call prices at the price now. Changes nothing."""
    principal()
    body = parse_model(MarginTermsBody, json_body())
    return ok(coin_trading.preview_position(backend().coin_trading(), _terms(body)))


@bp.post("/margin/open")
@api_doc("Open an isolated margin position", body=MarginOpenBody)
def margin_open():
    """Open {user, coin, side long|short, leverage 2-5, margin}: margin and fee leave
    cash. 409 when a position in the coin is open, too many are, or cash is short; 503
    when the market feed is down (nothing changed)."""
    body, command = platform_command(coin_trading.OPEN_POSITION, MarginOpenBody)
    command = replace(
        command, symbol=body.coin, funds=body.margin, terms=f"{body.side}:{body.leverage}"
    )
    return answered_once(
        command, lambda: coin_trading.open_position(backend().coin_trading(), command, _terms(body))
    )


@bp.post("/margin/close")
@api_doc("Close a margin position at market", body=MarginCloseBody)
def margin_close():
    """Close {user, coin}: debt and interest repaid, the remainder to cash. 404 when no
    position in the coin is open."""
    body, command = platform_command(coin_trading.CLOSE_POSITION, MarginCloseBody)
    command = replace(command, symbol=body.coin)
    return answered_once(
        command, lambda: coin_trading.close_position(backend().coin_trading(), command)
    )


@bp.get("/margin/positions")
@api_doc("A user's margin positions", errors=(400, 401, 403, 404, 429, 503))
def margin_positions():
    """The caller's open positions (or ?user= for admin/service) with level, interest,
    liquidation and margin-call prices at the live price."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    return ok(coin_trading.positions(backend().coin_trading(), user))


# --- stop orders -------------------------------------------------------------------


@bp.post("/stops")
@api_doc("Place a stop order", body=StopOrderBody)
def place_stop():
    """Place {user, coin, kind stop_loss|take_profit|trailing, target holding|position,
    amount (a holding's coins), price (stop-loss, take-profit) or trail_bp (trailing)}.
    400 for a stop price on the wrong side of the market; 409 beyond the per-user bound."""
    body, command = platform_command(coin_trading.PLACE_STOP, StopOrderBody)
    if body.kind == "trailing" and body.trail_bp is None:
        raise InvalidInput("a trailing stop needs trail_bp (10-5000 basis points)")
    if body.kind != "trailing" and body.price is None:
        raise InvalidInput(f"a {body.kind} needs a price")
    if body.target == "holding" and body.amount is None:
        raise InvalidInput("a stop on a holding needs an amount of coins")
    terms = coin_trading.StopTerms(
        body.coin, body.kind, body.target, body.amount or 0, body.price, body.trail_bp or 0
    )
    command = replace(
        command,
        symbol=body.coin,
        units=body.amount,
        terms=f"{body.kind}:{body.target}:{body.price}:{body.trail_bp}",
    )
    return answered_once(
        command, lambda: coin_trading.place_stop(backend().coin_trading(), command, terms)
    )


@bp.post("/stops/cancel")
@api_doc("Cancel a stop order", body=StopCancelBody)
def cancel_stop():
    """Cancel {user, id}. 404 when the user has no stop order with that id."""
    body, command = platform_command(coin_trading.CANCEL_STOP, StopCancelBody)
    command = replace(command, terms=body.id)
    return answered_once(
        command, lambda: coin_trading.cancel_stop(backend().coin_trading(), command, body.id)
    )


@bp.get("/stops")
@api_doc("A user's stop orders", errors=(400, 401, 403, 404, 429, 503))
def list_stops():
    """The caller's stop orders (or ?user= for admin/service), oldest first."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    return ok(coin_trading.list_stops(backend().coin_trading(), user))


@bp.post("/backtest")
@api_doc("Backtest the volatility breakout", body=BacktestBody, errors=(400, 401, 413, 429, 503))
def backtest():
    """Backtest {coin, days (3-1000, default 365), k ("0.5", or "auto": 0.1 ... 0.9, the
    best kept)} over the coin's daily candles, fees included: total return, max
    drawdown, trades, win rate, profit factor, the market's change and the equity curve."""
    principal()
    body = parse_model(BacktestBody, json_body())
    return ok(service.backtest(backend().coin_trading(), body.coin, body.days, body.k))


# --- volatility breakout -------------------------------------------------------------


@bp.post("/strategies")
@api_doc("Run the volatility breakout on a coin", body=StrategyBody)
def start_strategy():
    """Start {user, coin, k ("0.5" or "auto": chosen by a backtest of the last year),
    budget, mode live|paper, period_s}. 409 for a live budget above the cash or beyond
    the per-user bound."""
    body, command = platform_command(coin_trading.START_STRATEGY, StrategyBody)
    command = replace(
        command, symbol=body.coin, funds=body.budget, terms=f"{body.k}:{body.mode}:{body.period_s}"
    )
    terms = coin_trading.StrategyTerms(
        body.coin, body.k, body.budget, body.mode == "paper", body.period_s
    )
    return answered_once(
        command, lambda: coin_trading.start_strategy(backend().coin_trading(), command, terms)
    )


@bp.post("/strategies/stop")
@api_doc("Stop a strategy", body=StrategyStopBody)
def stop_strategy():
    """Stop {user, coin}'s strategy; coins it bought stay with the user."""
    body, command = platform_command(coin_trading.STOP_STRATEGY, StrategyStopBody)
    command = replace(command, symbol=body.coin)
    return answered_once(
        command, lambda: coin_trading.stop_strategy(backend().coin_trading(), command)
    )


@bp.get("/strategies")
@api_doc("A user's strategies", errors=(400, 401, 403, 404, 429, 503))
def list_strategies():
    """The caller's strategies (or ?user= for admin/service) with where each stands."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    return ok(coin_trading.list_strategies(backend().coin_trading(), user))
