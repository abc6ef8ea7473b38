"""HTTP routes of the exchange service (under /api/exchange).

Coin orders are POSTs like the stock commands (a bearer token, ``user`` in the body,
an optional ``Idempotency-Key``); the board and candles are public GETs; holdings and
trades are the caller's own (admin and service may name any user).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request

from ..common import coin_trading
from ..common.coin_trading import CoinTrading
from ..common.commands import parse_model
from ..common.domain.identifiers import check_user_id
from ..common.errors import InvalidInput
from ..common.ledger import Command
from ..common.openapi import api_doc
from ..common.schemas import CoinHistoryQuery, CoinOrderBody
from ..common.web import backend, idempotency_key, json_body, ok, principal
from . import service

bp = Blueprint("exchange", __name__, url_prefix="/api/exchange")


def _coin_order(name: str, use_case: Callable[[CoinTrading, Command], dict]) -> dict:
    """Authenticate, validate and authorise a coin order, then run it.

    Coin orders are not course commands: a refused one leaves no log entry (the course
    schema has no such command); it changes nothing and is answered 4xx.
    """
    caller = principal()
    adapters = backend()
    body = parse_model(CoinOrderBody, json_body())
    caller.require_act_for(body.user)
    command = Command(
        name,
        body.transactionNum or adapters.txns.next(),
        user=body.user,
        symbol=body.coin,
        units=body.amount,
        key=idempotency_key(),
    )
    return use_case(adapters.coin_trading(), command)


@bp.post("/buy")
@api_doc("Market buy of coins for cash", body=CoinOrderBody)
def buy():
    """Buy {user, coin, amount} at the market price: cost rounded up to the cent plus a
    fee (0.25 % by default) rounded up. 400 unknown coin or bad amount, 409 not enough
    cash, 503 the market feed is down (nothing changed)."""
    return ok(_coin_order(coin_trading.BUY_COIN, coin_trading.buy_coin))


@bp.post("/sell")
@api_doc("Market sell of coins for cash", body=CoinOrderBody)
def sell():
    """Sell {user, coin, amount} at the market price: proceeds rounded down to the cent
    less the fee rounded up. 400 unknown coin or bad amount, 409 not enough coins, 503
    the market feed is down (nothing changed)."""
    return ok(_coin_order(coin_trading.SELL_COIN, coin_trading.sell_coin))


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
