"""Coin orders through the exchange service, against the session's (frozen) market feed:
rounding as worked out with decimals, cash and coins kept in step with the audit log and
the wallet ledger, bad input refused with nothing changed, and a feed that is down
answered 503 with nothing half-done."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree

from services.common.market import BOARD_KEY
from tests.helpers import random_user

pytestmark = pytest.mark.integration

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "logfile.xsd"
CENT = Decimal("0.01")
FEE_RATE = Decimal("0.0025")  # the default 0.25 %


@pytest.fixture(scope="module")
def prices(infra) -> dict[str, Decimal]:
    """Every coin's price as the feed states it (it stands still for the session)."""
    board = requests.get(f"{infra.market_feed_url}/public/ticker/ALL_USD", timeout=10).json()
    return {
        coin: Decimal(fields["closing_price"])
        for coin, fields in board["data"].items()
        if isinstance(fields, dict)
    }


def order(platform, side: str, headers: dict | None = None, **body):
    resp = platform.post(f"/api/exchange/{side}", body, headers=headers)
    return resp.status_code, resp.get_json()


def wallet_entries(db, user: str) -> list[dict]:
    return list(db["wallet_ledger"].find({"user": user}, {"_id": 0}).sort([("ts", 1), ("_id", 1)]))


def assets_of(platform, user: str) -> dict:
    resp = platform.get(f"/api/exchange/coin/clientassets?user={user}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def test_a_buy_and_a_sell_round_as_worked_out_and_keep_cash_coins_and_log_in_step(
    platform, prices, store, db
):
    user = random_user()
    platform.ok("ADD", user=user, amount="1000.00")
    btc = prices["BTC"]

    # Buy 0.01234567 BTC: its exact value, cost rounded up, fee rounded up.
    amount = Decimal("0.01234567")
    value = btc * amount
    cost = value.quantize(CENT, ROUND_CEILING)
    fee = (value * FEE_RATE).quantize(CENT, ROUND_CEILING)
    status, bought = order(platform, "buy", user=user, coin="BTC", amount="0.01234567")
    assert status == 200, bought
    assert bought["data"] == {
        "side": "buy",
        "coin": "BTC",
        "amount": "0.01234567",
        "price": str(btc),
        "cost": str(cost),
        "fee": str(fee),
        "total": str(cost + fee),
        "cash": str(Decimal("1000.00") - cost - fee),
        "available": "0.01234567",
    }

    # Sell 0.01 BTC: proceeds rounded down, fee rounded up.
    sold_value = btc * Decimal("0.01")
    proceeds = sold_value.quantize(CENT, ROUND_FLOOR)
    sell_fee = (sold_value * FEE_RATE).quantize(CENT, ROUND_CEILING)
    status, sold = order(platform, "sell", user=user, coin="BTC", amount="0.01")
    assert status == 200, sold
    cash = Decimal("1000.00") - cost - fee + proceeds - sell_fee
    assert (sold["data"]["proceeds"], sold["data"]["fee"]) == (str(proceeds), str(sell_fee))
    assert sold["data"]["cash"] == str(cash)
    assert sold["data"]["available"] == "0.00234567"

    # The cash moves are accountTransactions: cash = sum(add) - sum(remove) still holds,
    # and the coin orders left no userCommand the course schema would refuse.
    assert store.cash_by_the_log(user) == int(cash * 100)
    assert [e["command"] for e in store.user_log(user, "userCommand")] == ["ADD"]
    removes = [e["funds"] for e in store.user_log(user, "accountTransaction")][1:]
    assert removes == [int(cost * 100), int(fee * 100), int(proceeds * 100), int(sell_fee * 100)]
    dump = platform.post("/api/users/dumplog", {"filename": "x", "user": user})
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(etree.fromstring(dump.get_data()))

    # The coins: two wallet-ledger entries between the user and the exchange.
    entries = wallet_entries(db, user)
    assert [(e["reason"], e["from"], e["to"], e["units"]) for e in entries] == [
        ("buy", "exchange", f"user:{user}", 1_234_567),
        ("sell", f"user:{user}", "exchange", 1_000_000),
    ]
    held = assets_of(platform, user)
    assert held["cash"] == str(cash)
    (line,) = held["holdings"]
    # What is left carries its share of the cost (fees included), rounded down away.
    paid = (cost + fee) * 100
    kept_cost = paid - (paid * 1_000_000 // 1_234_567)
    assert line["ticker"] == "BTC" and line["available"] == "0.00234567"
    assert line["cost"] == str(Decimal(int(kept_cost)) / 100)
    worth = (btc * Decimal("0.00234567")).quantize(CENT, ROUND_FLOOR)
    assert line["value"] == str(worth) and line["cur_price"] == str(btc)
    assert Decimal(line["unrealised"]) == worth - Decimal(line["cost"])
    trades = platform.get(f"/api/exchange/trades?user={user}").get_json()["data"]["trades"]
    assert [(t["side"], t["amount"], t["cash"]) for t in trades] == [
        ("sell", "0.01000000", str(proceeds)),
        ("buy", "0.01234567", str(cost)),
    ]


def test_a_retry_with_the_same_idempotency_key_is_answered_once_and_charged_once(platform, store):
    user = random_user()
    platform.ok("ADD", user=user, amount="100.00")
    body = {"user": user, "coin": "DOGE", "amount": "10"}
    key = {"Idempotency-Key": "coin-order-1"}
    first = order(platform, "buy", headers=key, **body)
    again = order(platform, "buy", headers=key, **body)
    assert first[0] == again[0] == 200 and first[1] == again[1]
    assert store.cash_by_the_log(user) == int(Decimal(first[1]["data"]["cash"]) * 100)
    assert assets_of(platform, user)["holdings"][0]["available"] == "10.00000000"
    reused = order(platform, "buy", headers=key, **{**body, "amount": "11"})
    assert reused[0] == 422 and reused[1]["error"]["code"] == "idempotency_key_reused"
    # A refusal is an answer too: its retry gets it again, even once the cash is there.
    poor = random_user()
    platform.ok("ADD", user=poor, amount="1.00")
    refusal = {"Idempotency-Key": "coin-order-2"}
    first = order(platform, "buy", headers=refusal, user=poor, coin="ETH", amount="1")
    platform.ok("ADD", user=poor, amount="100000.00")
    again = order(platform, "buy", headers=refusal, user=poor, coin="ETH", amount="1")
    assert first == again and first[0] == 409
    assert assets_of(platform, poor)["holdings"] == []


@pytest.mark.parametrize(
    ("side", "fields", "status", "code"),
    [
        ("buy", {"coin": "NOPE", "amount": "1"}, 400, "unknown_coin"),
        ("buy", {"coin": "btc", "amount": "1"}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": "0"}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": "-0.5"}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": "0.000000001"}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": 0.5}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": "1e-3"}, 400, "invalid_input"),
        ("buy", {"coin": "BTC", "amount": "0.00000001"}, 400, "order_too_small"),
        ("buy", {"coin": "BTC", "amount": "1"}, 409, "insufficient_funds"),
        ("sell", {"coin": "ETH", "amount": "0.5"}, 409, "insufficient_assets"),
        ("sell", {"coin": "DOGE", "amount": "10.00000001"}, 409, "insufficient_assets"),
        ("buy", {"coin": "DOGE", "amount": "1", "extra": "x"}, 400, "invalid_input"),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(platform, db, side, fields, status, code):
    user = random_user()
    platform.ok("ADD", user=user, amount="100.00")
    assert order(platform, "buy", user=user, coin="DOGE", amount="10")[0] == 200
    before = (assets_of(platform, user), wallet_entries(db, user))
    answer = order(platform, side, user=user, **fields)
    assert (answer[0], answer[1]["error"]["code"]) == (status, code), answer
    assert (assets_of(platform, user), wallet_entries(db, user)) == before


def test_an_order_for_someone_elses_account_is_forbidden(platform):
    owner, intruder = random_user(), random_user()
    platform.ok("ADD", user=owner, amount="100.00")
    platform.post("/api/users/register", {"username": intruder, "password": "password1"})
    as_intruder = platform.login(intruder, "password1")
    status, answer = order(
        platform, "buy", headers=as_intruder, user=owner, coin="DOGE", amount="1"
    )
    assert status == 403 and answer["error"]["code"] == "forbidden"
    resp = platform.get(f"/api/exchange/coin/clientassets?user={owner}", headers=as_intruder)
    assert resp.status_code == 403
    assert assets_of(platform, owner)["holdings"] == []


def test_a_feed_that_is_down_answers_503_and_nothing_is_half_done(
    platform_with, closed_port, db, store, rds
):
    down = platform_with(market_feed_url=f"http://127.0.0.1:{closed_port}")
    rds.delete(BOARD_KEY)  # no board another process fetched within the last second
    user = random_user()
    down.ok("ADD", user=user, amount="100.00")
    for side in ("buy", "sell"):
        status, answer = order(down, side, user=user, coin="DOGE", amount="1")
        assert status == 503 and answer["error"]["code"] == "upstream_unavailable"
        assert "market feed" in answer["error"]["message"]
    assert down.get("/api/exchange/coin/tickers_20").status_code == 503
    held = assets_of(down, user)
    assert held["market_available"] is False and held["cash"] == "100.00"
    assert wallet_entries(db, user) == []
    assert store.cash_by_the_log(user) == 10_000


def test_the_board_ranks_the_top_20_by_traded_value_and_lists_their_last_day(
    platform, infra, prices
):
    board = platform.get("/api/exchange/coin/tickers_20").get_json()["data"]
    lines = list(board["tickers"].values())
    assert len(lines) == 20 and [line["rank"] for line in lines] == list(range(1, 21))
    assert list(board["tickers"]) == [f"{line['ticker']}_USD" for line in lines]
    values = [Decimal(line["value"]) for line in lines]
    assert values == sorted(values, reverse=True)
    assert {line["ticker"]: Decimal(line["cur_price"]) for line in lines} == prices

    days = platform.get("/api/exchange/coin/tickers_db").get_json()["data"]["tickers"]
    assert [d["ticker"] for d in days] == [line["ticker"] for line in lines]
    btc_days = requests.get(
        f"{infra.market_feed_url}/public/candlestick/BTC_USD/24h", timeout=10
    ).json()["data"]
    start, opening, closing, high, low, volume = btc_days[-2]  # the last complete day
    btc = next(d for d in days if d["ticker"] == "BTC")
    assert btc == {
        "ticker": "BTC",
        "name": "Bitcoin",
        "datetime": start,
        "open": opening,
        "high": high,
        "low": low,
        "close": closing,
        "volume": volume,
    }
    candles = platform.get("/api/exchange/coin/candles/ETH/1h").get_json()["data"]["candles"]
    assert len(candles) == 720
    # ?limit= keeps the newest (a sparkline's day); the fee is on the board for clients.
    day = platform.get("/api/exchange/coin/candles/ETH/1h?limit=24").get_json()["data"]
    assert day["candles"] == candles[-24:]
    for bad in ("0", "-1", "x", "100001"):
        assert platform.get(f"/api/exchange/coin/candles/ETH/1h?limit={bad}").status_code == 400
    assert board["fee_bp"] == 25
    assert platform.get("/api/exchange/coin/candles/ETH/2h").status_code == 400
    assert platform.get("/api/exchange/coin/candles/NOPE/1h").status_code == 400


def test_a_backtest_chooses_k_and_shows_its_figures(platform, infra):
    rows = requests.get(
        f"{infra.market_feed_url}/public/candlestick/ETH_USD/24h", timeout=10
    ).json()["data"][:-1][-365:]
    auto = platform.post("/api/exchange/backtest", {"coin": "ETH", "days": 365, "k": "auto"})
    data = auto.get_json()["data"]
    assert auto.status_code == 200 and data["auto"] is True
    assert [t["k"] for t in data["tried"]] == [f"0.{n}0" for n in range(1, 10)]
    best = max(data["tried"], key=lambda t: Decimal(t["total_return"]))
    assert (data["k"], data["total_return"]) == (best["k"], best["total_return"])
    assert len(data["equity"]) == 364 and (data["from"], data["to"]) == (rows[0][0], rows[-1][0])
    change = Decimal(rows[-1][2]) / Decimal(rows[0][1]) - 1
    assert data["market_change"] == str(change.quantize(Decimal("0.000001")))
    assert data["equity"][-1]["equity"] == str(Decimal(data["total_return"]) + 1)
    assert 0 <= data["wins"] <= data["trades"] <= 364
    fixed = platform.post("/api/exchange/backtest", {"coin": "ETH", "days": 365, "k": "0.5"})
    same = next(t for t in data["tried"] if t["k"] == "0.50")
    assert fixed.get_json()["data"]["total_return"] == same["total_return"]
    for bad in ({"coin": "NOPE"}, {"coin": "ETH", "k": "3"}, {"coin": "ETH", "days": 2}):
        assert platform.post("/api/exchange/backtest", bad).status_code == 400
