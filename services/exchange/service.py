"""Use cases of the exchange service: the board, candles, holdings and trades.

The coin orders themselves are ``common/coin_trading.py``'s (the automatic traders run
them too). Each use case here takes the same ``CoinTrading`` context.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from ..common.coin_trading import CoinTrading
from ..common.domain import backtest as breakout
from ..common.domain import exchange
from ..common.domain.assets import BUY, SELL
from ..common.domain.money import format_cents, format_price, format_units
from ..common.errors import InvalidInput, UpstreamUnavailable
from ..common.market import COIN_NAMES, CURRENCY, Board, Ticker, parse_scaled
from ..common.presenters import coin_fields

TOP = 20
CANDLE_INTERVALS = ("1m", "1h", "24h")
#: The most candles ``?limit=`` may ask for (more than any interval has).
CANDLES_MAX = 100_000


def _board_line(rank: int, ticker: Ticker) -> dict:
    return {
        "rank": rank,
        "ticker": ticker.coin,
        "name": COIN_NAMES.get(ticker.coin, ticker.coin),
        "cur_price": format_price(ticker.close),
        "open": format_price(ticker.open),
        "high": format_price(ticker.high),
        "low": format_price(ticker.low),
        "chgAmt": format_price(ticker.change_24h),
        "chgRate": ticker.change_rate_24h,
        "volume": format_units(ticker.volume_24h),
        "value": format_price(ticker.value_24h),
    }


def tickers_20(coins: CoinTrading) -> dict:
    """The seed's ``/coin/tickers_20``: the top 20 coins by traded value over 24 h, live,
    keyed ``<COIN>_USD`` in rank order. Errors: UpstreamUnavailable."""
    board = coins.market.board()
    lines = {
        f"{ticker.coin}_{CURRENCY}": _board_line(rank, ticker)
        for rank, ticker in enumerate(board.top(TOP), start=1)
    }
    # The fee is on the board so a client can show an order's total before it is placed.
    return {"as_of": board.as_of_ms, "fee_bp": coins.fee_bp, "tickers": lines}


def tickers_db(coins: CoinTrading) -> dict:
    """The seed's ``/coin/tickers_db``: the top 20 coins' last complete day (open, high,
    low, close, volume), from the feed's daily candles. Errors: UpstreamUnavailable."""
    board = coins.market.board()
    rows = []
    for ticker in board.top(TOP):
        candles = coins.market.feed.candles(ticker.coin, "24h")
        if len(candles) < 2:
            raise UpstreamUnavailable(f"the market feed has no complete day of {ticker.coin}")
        start, opening, closing, high, low, volume = candles[-2]
        rows.append(
            {
                "ticker": ticker.coin,
                "name": COIN_NAMES.get(ticker.coin, ticker.coin),
                "datetime": start,
                "open": format_price(parse_scaled(opening, 4)),
                "high": format_price(parse_scaled(high, 4)),
                "low": format_price(parse_scaled(low, 4)),
                "close": format_price(parse_scaled(closing, 4)),
                "volume": format_units(parse_scaled(volume, 8)),
            }
        )
    return {"tickers": rows}


def client_assets(coins: CoinTrading, user: str) -> dict:
    """The seed's ``/coin/clientassets``: each coin the user holds valued at the live
    price, with its cost and profit or loss; cash beside them. When the feed is down the
    balances are still shown, without values (``market_available`` false).

    Errors: NotFound.
    """
    account = coins.ledger.current(user)
    try:
        board: Board | None = coins.market.board()
    except UpstreamUnavailable:
        board = None
    prices = board.prices() if board is not None else {}
    rows = exchange.valuation(account.assets, prices)
    holdings = []
    for row in rows:
        ticker = board.tickers.get(row["coin"]) if board is not None else None
        shown = coin_fields(row)
        shown["ticker"] = row["coin"]
        shown["name"] = COIN_NAMES.get(row["coin"], row["coin"])
        shown["cur_price"] = shown.pop("price")
        shown["chg_rate"] = ticker.change_rate_24h if ticker else None
        shown["accu_price"] = format_price(ticker.value_24h) if ticker else None
        holdings.append(shown)
    valued = [row for row in rows if row["value"] is not None]
    total_value = sum(r["value"] for r in valued)
    total_cost = sum(r["cost"] for r in valued)
    return {
        "user": user,
        "cash": format_cents(account.cash),
        "market_available": board is not None,
        "holdings": holdings,
        "total_value": format_cents(total_value),
        "total_cost": format_cents(total_cost),
        "total_unrealised": format_cents(total_value - total_cost),
    }


def candles(coins: CoinTrading, coin: str, interval: str, newest: int | None = None) -> dict:
    """``coin``'s candles of ``interval`` (1m, 1h, 24h), oldest first, for charts; only
    the ``newest`` ones when given.

    Errors: UnknownCoin, UpstreamUnavailable.
    """
    coins.market.board().ticker(coin)  # UnknownCoin before asking the feed
    rows = coins.market.feed.candles(coin, interval)
    if newest is not None:
        rows = rows[-newest:]
    return {
        "coin": coin,
        "interval": interval,
        "candles": [
            {"time": t, "open": o, "high": h, "low": low, "close": c, "volume": v}
            for t, o, c, h, low, v in rows
        ],
    }


def trades(
    coins: CoinTrading, user: str, limit: int, coin: str | None, before_ms: int | None
) -> dict:
    """``user``'s coin buys and sells from the wallet ledger, newest first."""
    entries = coins.wallet_ledger.history(user, limit, coin, before_ms, reasons=(BUY, SELL))
    shown = []
    for entry in entries:
        detail = entry.get("detail", {})
        shown.append(
            {
                "side": entry["reason"],
                "coin": entry["asset"],
                "amount": format_units(entry["units"]),
                "price": format_price(detail["price"]) if "price" in detail else None,
                "cash": format_cents(detail["cents"]) if "cents" in detail else None,
                "fee": format_cents(detail["fee"]) if "fee" in detail else None,
                "transactionNum": entry.get("txn"),
                "timestamp": entry["ts"],
            }
        )
    return {"user": user, "trades": shown}


def _decimal(value: Decimal | None, places: int = 6) -> str | None:
    """A figure as a decimal string, rounded half to even to ``places`` decimals."""
    if value is None:
        return None
    return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN))


def _figures(result: breakout.Result) -> dict:
    return {
        "k": _decimal(result.k, 2),
        "total_return": _decimal(result.total_return),
        "max_drawdown": _decimal(result.max_drawdown),
        "trades": result.trades,
        "wins": result.wins,
        "win_rate": _decimal(result.win_rate),
        "profit_factor": _decimal(result.profit_factor),
        "market_change": _decimal(result.market_change),
    }


def backtest(coins: CoinTrading, coin: str, days: int, k: str) -> dict:
    """The volatility breakout over ``coin``'s last ``days`` complete daily candles, with
    ``k`` or "auto" (the best of 0.1 ... 0.9), fees included: the figures and the
    equity curve (1 = the starting capital). Errors: UnknownCoin, InvalidInput (fewer
    days of history than asked), UpstreamUnavailable."""
    coins.market.board().ticker(coin)  # UnknownCoin before asking the feed
    rows = coins.market.feed.candles(coin, "24h")[:-1]  # complete days only
    if len(rows) < days:
        raise InvalidInput(f"the market has {len(rows)} complete days of {coin}, not {days}")
    candles = [
        breakout.Candle(
            t, parse_scaled(o, 4), parse_scaled(h, 4), parse_scaled(low, 4), parse_scaled(c, 4)
        )
        for t, o, c, h, low, _ in rows[-days:]
    ]
    fee = Decimal(coins.fee_bp) / 10_000
    if k == "auto":
        result, tried = breakout.best_k(candles, fee)
    else:
        result, tried = breakout.run(candles, Decimal(k), fee), []
    return {
        "coin": coin,
        "days": days,
        "from": candles[0].time,
        "to": candles[-1].time,
        "fee": _decimal(fee, 4),
        "auto": k == "auto",
        **_figures(result),
        "tried": [{"k": _decimal(r.k, 2), "total_return": _decimal(r.total_return)} for r in tried],
        "equity": [{"time": t, "equity": _decimal(e)} for t, e in result.equity],
    }
