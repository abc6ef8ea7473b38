"""A margin position on a seeded price path: a 5x long opened on the feed's ETH, shown
its liquidation price before opening, left alone while the price stays above it, and
liquidated exactly once by the margin checker at the first minute the path crosses it,
with the figures worked out with decimals from the feed's own prices."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest
import requests

from services.coin_checker.service import check_coins
from services.common.backend import Backend
from services.common.cache import CoinWatch
from services.common.config import load_settings
from tests.conftest import SECRETS
from tools.stack import Ports, Stack

pytestmark = pytest.mark.integration
# Some tests here simulate a crash between two writes of the database store
# (LEDGER_STORE=database); with the journal they are one Redis script
# (tests/integration/test_journal.py).
STORE_SETTINGS = {"ledger_store": "database"}

DAY_MS = 86_400_000
MINUTE_MS = 60_000
FIRST_DAY = 19_723  # 2024-01-01, the feed's first candle
CENT = Decimal("0.01")
FEE_RATE = Decimal("0.0025")
PPM = Decimal(10) / 1_000_000  # the default interest per hour begun


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """A market feed of the module's own, frozen, whose clock the test moves."""
    stack = Stack(
        Path(tmp_path_factory.mktemp("feed")),
        Ports.free(1),
        {**SECRETS, "MARKET_FEED_FROZEN_MS": str((FIRST_DAY + 400) * DAY_MS)},
        replicas=1,
        components={"market"},
    )
    stack.start(timeout=120)
    yield stack.market_feed_url
    stack.stop()


def move_clock(feed: str, now_ms: int) -> None:
    response = requests.post(f"{feed}/mock/clock", json={"now_ms": now_ms}, timeout=10)
    assert response.status_code == 200, response.text


def candles(feed: str, interval: str) -> list[list]:
    return requests.get(f"{feed}/public/candlestick/ETH_USD/{interval}", timeout=30).json()["data"]


def price_now(feed: str) -> Decimal:
    ticker = requests.get(f"{feed}/public/ticker/ETH_USD", timeout=10).json()["data"]
    return Decimal(ticker["closing_price"])


@pytest.fixture(scope="module")
def on_feed(settings, feed):
    """The module's settings on its own feed, with prices never older than a millisecond."""
    return {**settings, "market_feed_url": feed, "market_price_max_age_s": 0.001}


def test_a_5x_long_is_liquidated_once_where_the_seeded_path_crosses_its_price(
    platform_with, on_feed, feed, store, db
):
    # A day whose open is at least 13 % above a low within the next ten days.
    days = candles(feed, "24h")[:-1]
    start = next(
        i
        for i in range(1, len(days) - 10)
        if any(Decimal(d[4]) <= Decimal(days[i][1]) * Decimal("0.87") for d in days[i : i + 10])
    )
    opening_ms = days[start][0] + MINUTE_MS
    move_clock(feed, opening_ms)
    price = price_now(feed)
    platform = platform_with(**{k: v for k, v in on_feed.items() if k.startswith("market")})
    user = "margin" + str(opening_ms)[-6:]
    platform.ok("ADD", user=user, amount="5000.00")

    terms = {"coin": "ETH", "side": "long", "leverage": 5, "margin": "1000.00"}
    preview = platform.post("/api/exchange/margin/preview", terms).get_json()["data"]
    # By hand: $5,000 of ETH at the price, units rounded down; the cost rounded up;
    # borrowed = cost - $1,000; the first hour's interest 10 ppm of it, rounded up;
    # liquidation where units x p = 1.1 x (borrowed + interest), rounded down.
    units = (Decimal(5000) / price).quantize(Decimal("0.00000001"), ROUND_FLOOR)
    cost = (units * price).quantize(CENT, ROUND_CEILING)
    borrowed = cost - 1000
    interest = (borrowed * PPM).quantize(CENT, ROUND_CEILING)
    liquidation = (Decimal("1.1") * (borrowed + interest) / units).quantize(
        Decimal("0.0001"), ROUND_FLOOR
    )
    assert preview["amount"] == str(units) and preview["debt"] == str(borrowed)
    assert preview["liquidation_price"] == str(liquidation)
    level = (units * price / (borrowed + interest)).quantize(Decimal("0.0001"), ROUND_FLOOR)
    assert preview["margin_level"] == str(level) and level < Decimal("1.3")  # 5x: ~1.25

    opened = platform.post("/api/exchange/margin/open", {"user": user, **terms}).get_json()
    fee = (units * price * FEE_RATE).quantize(CENT, ROUND_CEILING)
    assert opened["data"]["liquidation_price"] == str(liquidation), opened
    assert opened["data"]["cash"] == str(Decimal("5000.00") - 1000 - fee)

    # Walk the path minute by minute (the feed's 1-minute candles, a day at a time) to
    # the first minute whose price is at or below the liquidation price.
    crossing = None
    for day in days[start : start + 11]:
        move_clock(feed, day[0] + DAY_MS - 1)
        for minute in candles(feed, "1m"):
            if minute[0] > opening_ms and Decimal(minute[1]) <= liquidation:
                crossing = minute[0]
                break
        if crossing:
            break
    assert crossing is not None

    backend = Backend(load_settings(on_feed))
    trading = backend.coin_trading()
    move_clock(feed, crossing - MINUTE_MS)  # a minute before: above the price
    outcome = check_coins(trading, backend.accounts, backend.coin_watch)
    assert outcome["margin_liquidation"] == 0
    assert backend.ledger.current(user).positions  # still open

    move_clock(feed, crossing)
    at = price_now(feed)
    assert at <= liquidation
    assert check_coins(trading, backend.accounts, backend.coin_watch)["margin_liquidation"] == 1
    assert (
        check_coins(trading, backend.accounts, backend.coin_watch)["margin_liquidation"] == 0
    )  # once
    account = backend.ledger.current(user)
    assert account.positions == {}
    # Sold at the crossing price (down), fee (up), debt and interest repaid.
    proceeds = (units * at).quantize(CENT, ROUND_FLOOR)
    sell_fee = (units * at * FEE_RATE).quantize(CENT, ROUND_CEILING)
    remainder = proceeds - sell_fee - borrowed - interest
    returned = max(remainder, Decimal(0))
    assert Decimal(account.cash) / 100 == Decimal("5000.00") - 1000 - fee + returned
    assert store.cash_by_the_log(user) == account.cash
    entries = list(db["wallet_ledger"].find({"user": user}, {"_id": 0}))
    assert [e["reason"] for e in entries][:2] == ["margin_open", "margin_liquidation"]
    net = sum(e["units"] * (1 if e["to"] == f"margin:{user}:ETH" else -1) for e in entries[:2])
    assert net == 0  # the position's coins came and went
    shortfall = [e for e in entries if e["from"] == "insurance"]
    assert [e["units"] for e in shortfall] == ([int(-remainder * 100)] if remainder < 0 else [])
    positions = platform.get(f"/api/exchange/margin/positions?user={user}").get_json()
    assert positions["data"]["positions"] == []
    backend.close()


class CheckerDied(Exception):
    """Stands for the checker being killed right after it stored a change."""


def test_a_stop_loss_fires_once_even_when_the_checker_dies_mid_way(
    platform_with, on_feed, feed, store, db, monkeypatch
):
    days = candles(feed, "24h")[:-1]
    # A day whose open is at least 6 % above a low within the next five days.
    start = next(
        i
        for i in range(1, len(days) - 5)
        if any(Decimal(d[4]) <= Decimal(days[i][1]) * Decimal("0.94") for d in days[i : i + 5])
    )
    opening_ms = days[start][0] + 2 * MINUTE_MS
    move_clock(feed, opening_ms)
    price = price_now(feed)
    platform = platform_with(**{k: v for k, v in on_feed.items() if k.startswith("market")})
    user = "stops" + str(opening_ms)[-6:]
    platform.ok("ADD", user=user, amount="1000.00")
    bought = platform.post("/api/exchange/buy", {"user": user, "coin": "ETH", "amount": "0.2"})
    assert bought.status_code == 200, bought.get_json()
    trigger = (price * Decimal("0.95")).quantize(Decimal("0.0001"), ROUND_FLOOR)
    wrong = {"user": user, "coin": "ETH", "kind": "stop_loss", "amount": "0.2"}
    refused = platform.post("/api/exchange/stops", {**wrong, "price": str(price + 1)})
    assert (
        refused.status_code == 400 and "below the market" in refused.get_json()["error"]["message"]
    )
    placed = platform.post("/api/exchange/stops", {**wrong, "price": str(trigger)})
    assert placed.status_code == 200, placed.get_json()

    crossing = None
    for day in days[start : start + 6]:
        move_clock(feed, day[0] + DAY_MS - 1)
        for minute in candles(feed, "1m"):
            if minute[0] > opening_ms and Decimal(minute[1]) <= trigger:
                crossing = minute[0]
                break
        if crossing:
            break
    assert crossing is not None
    move_clock(feed, crossing)
    at = price_now(feed)

    backend = Backend(load_settings(on_feed))
    trading = backend.coin_trading()
    real_append = backend.ledger.log.append
    deaths = [1]

    def append(entries):
        if deaths and any(e.get("user") == user for e in entries):
            deaths.pop()
            raise CheckerDied
        return real_append(entries)

    monkeypatch.setattr(backend.ledger.log, "append", append)
    cash_before = backend.ledger.current(user).cash
    with pytest.raises(CheckerDied):  # stored, then killed before its log entries
        check_coins(trading, backend.accounts, backend.coin_watch)
    for _ in range(2):  # the restarted checker finds nothing left to fire
        assert check_coins(trading, backend.accounts, backend.coin_watch)["stop_fired"] == 0
    backend.ledger.flush_pending_outboxes()  # what the next DUMPLOG does first

    account = backend.ledger.current(user)
    proceeds = (Decimal("0.2") * at).quantize(CENT, ROUND_FLOOR)
    fee = (Decimal("0.2") * at * FEE_RATE).quantize(CENT, ROUND_CEILING)
    assert account.cash == cash_before + int((proceeds - fee) * 100)
    assert account.stops == {} and account.asset("ETH").available == 0
    assert store.cash_by_the_log(user) == account.cash  # every entry exactly once
    sells = list(db["wallet_ledger"].find({"user": user, "reason": "sell"}))
    assert len(sells) == 1 and sells[0]["ref"] == placed.get_json()["data"]["id"]
    backend.close()


def test_breakout_strategies_trade_live_and_on_paper_along_the_path(
    platform_with, on_feed, feed, store, db
):
    start_ms = (FIRST_DAY + 380) * DAY_MS + 7 * 3_600_000
    move_clock(feed, start_ms)
    platform = platform_with(**{k: v for k, v in on_feed.items() if k.startswith("market")})
    user = "breakout" + str(start_ms)[-6:]
    platform.ok("ADD", user=user, amount="1000.00")
    body = {"user": user, "budget": "100.00", "period_s": 60}
    live = platform.post(
        "/api/exchange/strategies", {**body, "coin": "DOGE", "k": "0.3", "mode": "live"}
    )
    assert live.status_code == 200, live.get_json()
    paper = platform.post("/api/exchange/strategies", {**body, "coin": "ETH", "mode": "paper"})
    assert paper.status_code == 200, paper.get_json()
    backtest = platform.post("/api/exchange/backtest", {"coin": "ETH", "k": "auto"}).get_json()
    assert paper.get_json()["data"]["k"] == backtest["data"]["k"]  # "auto": the best k
    too_big = platform.post(
        "/api/exchange/strategies",
        {**body, "coin": "BTC", "k": "0.5", "mode": "live", "budget": "5000.00"},
    )
    assert (
        too_big.status_code == 409 and too_big.get_json()["error"]["code"] == "insufficient_funds"
    )

    backend = Backend(load_settings(on_feed))
    trading = backend.coin_trading()
    for step in range(90):  # 30 one-minute periods, seen every 20 s
        move_clock(feed, start_ms + step * 20_000)
        check_coins(trading, backend.accounts, backend.coin_watch)
    shown = platform.get(f"/api/exchange/strategies?user={user}").get_json()["data"]
    by_coin = {s["coin"]: s for s in shown["strategies"]}
    assert by_coin["DOGE"]["mode"] == "live" and by_coin["ETH"]["mode"] == "paper"
    live_trades = by_coin["DOGE"]["trades"]
    assert live_trades >= 1 and by_coin["ETH"]["trades"] >= 1
    # The live one's buys and sells are real orders: in the wallet ledger and the log.
    account = backend.ledger.current(user)
    reasons = [e["reason"] for e in db["wallet_ledger"].find({"user": user, "asset": "DOGE"})]
    assert reasons.count("sell") == live_trades and reasons.count("buy") >= live_trades
    assert store.cash_by_the_log(user) == account.cash
    assert not db["wallet_ledger"].count_documents({"user": user, "asset": "ETH"})  # paper
    stopped = platform.post("/api/exchange/strategies/stop", {"user": user, "coin": "ETH"})
    assert stopped.status_code == 200 and "ETH" not in backend.ledger.current(user).strategies
    backend.close()


def test_the_coin_watch_only_moves_forward_and_forgets_what_is_gone(rds):
    watch = CoinWatch(rds, "watch_" + str(FIRST_DAY))
    rds.delete("coin-watch:watch_19723", "coin-watch-ready:watch_19723")
    assert watch.view() is None  # nothing built yet: the checker rebuilds first
    watch.rebuild([("ann", 3, '{"stops":{}}'), ("bob", 5, '{"positions":{}}')])
    assert watch.view() == {"ann": '{"stops":{}}', "bob": '{"positions":{}}'}
    watch.record("ann", 4, None)  # ann's last stop fired in version 4
    watch.record("bob", 4, '{"old":1}')  # a late record of an older version: ignored
    watch.rebuild([("ann", 3, '{"stops":{}}')])  # a scan made before ann's change
    assert watch.view() == {"bob": '{"positions":{}}'}


def test_a_stop_is_cancelled_and_a_position_closed_once(platform_with, on_feed, feed):
    move_clock(feed, candles(feed, "24h")[-2][0] + MINUTE_MS)
    price = price_now(feed)
    platform = platform_with(**{k: v for k, v in on_feed.items() if k.startswith("market")})
    user = "closer" + str(price).replace(".", "")[-6:]
    platform.ok("ADD", user=user, amount="5000.00")
    bought = platform.post("/api/exchange/buy", {"user": user, "coin": "ETH", "amount": "0.1"})
    assert bought.status_code == 200
    below = str((price * Decimal("0.9")).quantize(Decimal("0.0001"), ROUND_FLOOR))
    stop = {"user": user, "coin": "ETH", "kind": "stop_loss", "amount": "0.1", "price": below}
    placed = platform.post("/api/exchange/stops", stop).get_json()["data"]
    cancel = {"user": user, "id": placed["id"]}
    assert platform.post("/api/exchange/stops/cancel", cancel).status_code == 200
    assert platform.get(f"/api/exchange/stops?user={user}").get_json()["data"]["stops"] == []
    assert platform.post("/api/exchange/stops/cancel", cancel).status_code == 404

    terms = {"user": user, "coin": "ETH", "side": "long", "leverage": 2, "margin": "100.00"}
    assert platform.post("/api/exchange/margin/open", terms).status_code == 200
    close = {"user": user, "coin": "ETH"}
    assert platform.post("/api/exchange/margin/close", close).status_code == 200
    shown = platform.get(f"/api/exchange/margin/positions?user={user}").get_json()["data"]
    assert not shown["positions"]
    assert platform.post("/api/exchange/margin/close", close).status_code == 404
