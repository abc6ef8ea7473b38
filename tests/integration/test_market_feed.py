"""The market feed speaks Bithumb's public API v1 in USD: a client written for Bithumb
(pybithumb) reads every route once its base URL points at the feed, and the websocket
ticker stream follows Bithumb's protocol. The session's feed stands still
(MARKET_FEED_FROZEN_MS), so every read sees the same market."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
import pybithumb
import pytest
import requests

from tests.conftest import MARKET_FROZEN_MS

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000
FIRST_DAY_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the feed's first candle
TOP_20 = {"BTC", "ETH", "DTC", "BNB", "SOL", "XRP", "ADA", "DOGE", "TRX", "DOT"}
TOP_20 |= {"LINK", "MATIC", "LTC", "BCH", "AVAX", "XLM", "ATOM", "ETC", "UNI", "FIL"}


@pytest.fixture(scope="module")
def feed(infra):
    return infra.market_feed_url


@pytest.fixture
def bithumb(feed, monkeypatch):
    """pybithumb, with nothing changed but the base URL of its HTTP client."""
    monkeypatch.setattr(pybithumb.core.BithumbHttp, "base_url", property(lambda self: feed))
    return pybithumb


def raw(feed: str, path: str) -> dict:
    response = requests.get(feed + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_pybithumb_reads_the_board_and_each_ticker(bithumb, feed):
    assert set(bithumb.get_tickers(payment_currency="USD")) == TOP_20
    board = raw(feed, "/public/ticker/ALL_USD")["data"]
    assert board["date"] == str(MARKET_FROZEN_MS)
    btc = board["BTC"]
    # What pybithumb returns is what the feed sent, field for field.
    assert bithumb.get_current_price("BTC", "USD") == float(btc["closing_price"])
    assert bithumb.get_market_detail("BTC", "USD") == tuple(
        float(btc[k])
        for k in ("opening_price", "max_price", "min_price", "closing_price", "units_traded")
    )
    assert bithumb.get_ohlc("ETH", "USD")["ETH"][3] == float(board["ETH"]["closing_price"])
    every = bithumb.get_current_price("ALL", "USD")
    assert set(every) == TOP_20 and every["DTC"] == board["DTC"]
    for fields in (btc, board["DOGE"]):
        assert float(fields["min_price"]) <= float(fields["closing_price"])
        assert float(fields["closing_price"]) <= float(fields["max_price"])
        # The 24-hour change is the rate over the price 24 h ago, to two decimals.
        change, price = Decimal(fields["fluctate_24H"]), Decimal(fields["closing_price"])
        rate = (change / (price - change) * 100).quantize(Decimal("0.01"))
        assert abs(rate - Decimal(fields["fluctate_rate_24H"])) <= Decimal("0.01")
    single = raw(feed, "/public/ticker/BTC_USD")["data"]
    assert {k: v for k, v in single.items() if k != "date"} == btc


def test_pybithumb_reads_a_year_of_daily_candles_and_hourly_and_minute_ones(bithumb, feed):
    days = bithumb.get_candlestick("BTC", "USD", "24h")
    # From 2024-01-01 to the frozen day, 2026-05-28: 878 complete days and today's.
    assert len(days) == 879
    assert list(days.columns) == ["open", "high", "low", "close", "volume"]
    assert (days["high"] >= days[["open", "close"]].max(axis=1)).all()
    assert (days["low"] <= days[["open", "close"]].min(axis=1)).all()
    assert days["open"].iloc[0] == 42000.0  # BTC's seeded start price
    assert (days["open"].iloc[1:].values == days["close"].iloc[:-1].values).all()

    rows = raw(feed, "/public/candlestick/BTC_USD/24h")["data"]
    assert rows[0][0] == FIRST_DAY_MS and rows[-1][0] == MARKET_FROZEN_MS // DAY_MS * DAY_MS
    hours = bithumb.get_candlestick("BTC", "USD", "1h")
    minutes = bithumb.get_candlestick("BTC", "USD", "1m")
    assert len(hours) == 720 and len(minutes) == 1_440
    board = raw(feed, "/public/ticker/BTC_USD")["data"]
    # The open candles end at the price now; today's candle opened at the day's open.
    assert minutes["close"].iloc[-1] == hours["close"].iloc[-1] == float(board["closing_price"])
    assert rows[-1][1] == board["opening_price"] and rows[-1][3] == board["max_price"]
    minute_rows = raw(feed, "/public/candlestick/BTC_USD/1m")["data"]
    assert minute_rows[-1][0] == MARKET_FROZEN_MS // 60_000 * 60_000


def test_pybithumb_reads_the_order_book(bithumb):
    book = bithumb.get_orderbook("BTC", "USD", limit=5)
    assert book["order_currency"] == "BTC" and book["payment_currency"] == "USD"
    assert len(book["bids"]) == len(book["asks"]) == 5
    bids = [level["price"] for level in book["bids"]]
    asks = [level["price"] for level in book["asks"]]
    price = bithumb.get_current_price("BTC", "USD")
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < price < asks[0]


@pytest.mark.parametrize(
    "path",
    [
        "/public/ticker/BTC_KRW",
        "/public/ticker/NOPE_USD",
        "/public/candlestick/BTC_USD/5m",
        "/public/orderbook/BTC_USD?count=31",
        "/public/orderbook/BTC_USD?count=x",
    ],
)
def test_bad_parameters_are_refused_as_bithumb_does(feed, path):
    response = requests.get(feed + path, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"status": "5500", "message": "Invalid Parameter"}


def test_the_websocket_streams_tickers_in_bithumbs_protocol(feed):
    async def session() -> list:
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(feed.replace("http", "ws") + "/pub/ws") as ws:
                greeting = await ws.receive_json(timeout=5)
                await ws.send_str("not json")
                refused = await ws.receive_json(timeout=5)
                await ws.send_json(
                    {"type": "ticker", "symbols": ["BTC_USD", "DTC_USD"], "tickTypes": ["24H"]}
                )
                registered = await ws.receive_json(timeout=5)
                ticks = [await ws.receive_json(timeout=5) for _ in range(4)]
                return [greeting, refused, registered, ticks]

    greeting, refused, registered, ticks = asyncio.run(session())
    assert greeting == {"status": "0000", "resmsg": "Connected Successfully"}
    assert refused["status"] == "5100"
    assert registered == {"status": "0000", "resmsg": "Filter Registered Successfully"}
    assert {t["content"]["symbol"] for t in ticks} == {"BTC_USD", "DTC_USD"}
    board = raw(feed, "/public/ticker/ALL_USD")["data"]
    for tick in ticks:
        content = tick["content"]
        assert tick["type"] == "ticker" and content["tickType"] == "24H"
        coin = content["symbol"].removesuffix("_USD")
        assert content["closePrice"] == board[coin]["closing_price"]
        assert content["chgAmt"] == board[coin]["fluctate_24H"]
        assert content["value"] == board[coin]["acc_trade_value_24H"]
        assert (content["date"], content["time"]) == ("20260528", "202640")
    json.dumps(ticks)  # plain JSON all the way
