"""Use cases of the exchange service: the board, holdings and coin orders.

Coin orders are commands like the stock ones: the price is read from the market feed
first (a feed that is down fails the order with a 503 before anything is touched), then
the pure rule of ``domain/exchange.py`` runs under the user's lock in the ledger's unit
of work, which stores the account, the accountTransactions of the cash and the
wallet-ledger entry of the coins in one write.
"""

from __future__ import annotations

from ..common.backend import Backend
from ..common.domain import exchange
from ..common.domain.assets import BUY, SELL
from ..common.domain.money import format_cents, format_price, format_units
from ..common.errors import UpstreamUnavailable
from ..common.ledger import Command
from ..common.market import COIN_NAMES, CURRENCY, Board, Ticker, parse_scaled
from ..common.presenters import coin_fields

BUY_COIN = "COIN_BUY"
SELL_COIN = "COIN_SELL"
TOP = 20
CANDLE_INTERVALS = ("1m", "1h", "24h")


def buy_coin(backend: Backend, command: Command) -> dict:
    """Market buy of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientFunds
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    price = backend.market.price(command.symbol)
    fee_bp = backend.settings.exchange_fee_bp
    change = backend.ledger.run(
        command,
        lambda account: exchange.buy_coin(
            account, command.symbol, command.units, price, fee_bp, str(command.txn)
        ),
    )
    return coin_fields(change.result)


def sell_coin(backend: Backend, command: Command) -> dict:
    """Market sell of ``command.units`` of ``command.symbol`` for cash, at the feed's price.

    Errors: UnknownCoin (400), OrderTooSmall (400), NotFound (404), InsufficientAssets
    (409), UpstreamUnavailable (503: the feed is down; nothing changed).
    """
    price = backend.market.price(command.symbol)
    fee_bp = backend.settings.exchange_fee_bp
    change = backend.ledger.run(
        command,
        lambda account: exchange.sell_coin(
            account, command.symbol, command.units, price, fee_bp, str(command.txn)
        ),
    )
    return coin_fields(change.result)


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


def tickers_20(backend: Backend) -> dict:
    """The seed's ``/coin/tickers_20``: the top 20 coins by traded value over 24 h, live,
    keyed ``<COIN>_USD`` in rank order. Errors: UpstreamUnavailable."""
    board = backend.market.board()
    lines = {
        f"{ticker.coin}_{CURRENCY}": _board_line(rank, ticker)
        for rank, ticker in enumerate(board.top(TOP), start=1)
    }
    # The fee is on the board so a client can show an order's total before it is placed.
    fee_bp = backend.settings.exchange_fee_bp
    return {"as_of": board.as_of_ms, "fee_bp": fee_bp, "tickers": lines}


def tickers_db(backend: Backend) -> dict:
    """The seed's ``/coin/tickers_db``: the top 20 coins' last complete day (open, high,
    low, close, volume), from the feed's daily candles. Errors: UpstreamUnavailable."""
    board = backend.market.board()
    rows = []
    for ticker in board.top(TOP):
        candles = backend.market.feed.candles(ticker.coin, "24h")
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


def client_assets(backend: Backend, user: str) -> dict:
    """The seed's ``/coin/clientassets``: each coin the user holds valued at the live
    price, with its cost and profit or loss; cash beside them. When the feed is down the
    balances are still shown, without values (``market_available`` false).

    Errors: NotFound.
    """
    account = backend.ledger.current(user)
    try:
        board: Board | None = backend.market.board()
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


def candles(backend: Backend, coin: str, interval: str) -> dict:
    """``coin``'s candles of ``interval`` (1m, 1h, 24h), oldest first, for charts.

    Errors: UnknownCoin, UpstreamUnavailable.
    """
    backend.market.board().ticker(coin)  # UnknownCoin before asking the feed
    rows = backend.market.feed.candles(coin, interval)
    return {
        "coin": coin,
        "interval": interval,
        "candles": [
            {"time": t, "open": o, "high": h, "low": low, "close": c, "volume": v}
            for t, o, c, h, low, v in rows
        ],
    }


def trades(
    backend: Backend, user: str, limit: int, coin: str | None, before_ms: int | None
) -> dict:
    """``user``'s coin buys and sells from the wallet ledger, newest first."""
    entries = backend.wallet_ledger.history(user, limit, coin, before_ms, reasons=(BUY, SELL))
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
