"""Stop-losses on stock holdings through the sell service (POST/GET /api/sell/stops,
DELETE /api/sell/stops/<id>), fired by passes of the trigger checker (`check_triggers`)
once the quote server's price for the symbol is moved below the stop.

The module's quotes are valid for 1 s (QUOTE_TTL_S), so a moved price is seen soon;
figures are worked out by hand from the $10.00 the test quote server answers.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from lxml import etree

from services.common.backend import Backend
from services.common.config import load_settings
from services.trigger_checker.service import check_triggers
from tests.helpers import random_user
from tests.integration.test_exchange import SCHEMA

pytestmark = pytest.mark.integration
PASSWORD = "a-password-1"


@pytest.fixture(scope="module")
def settings(settings):
    return {**settings, "quote_ttl_s": 1.0}


@pytest.fixture
def move_price(infra, rds):
    """Factory: the quote server answers ``price`` for ``symbol`` from now on, and the
    symbol's cached quote has expired (waited for, never deleted)."""
    pinned = []

    def move(symbol: str, price: str) -> None:
        url = f"{infra.quote_http_url}/mock/price"
        requests.post(url, json={"symbol": symbol, "price": price}, timeout=5).raise_for_status()
        pinned.append(symbol)
        deadline = time.monotonic() + 30
        while rds.exists(f"quote:{symbol}") and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.1)  # and past the in-process copies' validity too

    yield move
    for symbol in pinned:
        requests.post(
            f"{infra.quote_http_url}/mock/price", json={"symbol": symbol, "price": None}, timeout=5
        )


def holder(platform, symbol: str) -> str:
    """A user with $100.00 cash and 10 shares of ``symbol`` bought at $10.00."""
    user = random_user()
    platform.ok("ADD", user=user, amount="200.00")
    platform.ok("BUY", user=user, symbol=symbol, amount="100.00")
    platform.ok("COMMIT_BUY", user=user)
    return user


def place(platform, txn: int | None = None, **body):
    txn = txn or platform.new_txn()
    resp = platform.post("/api/sell/stops", {**body, "transactionNum": txn})
    return resp.status_code, resp.get_json(), txn


def stops_of(platform, user: str) -> list[dict]:
    resp = platform.get(f"/api/sell/stops?user={user}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["stops"]


def delete(platform, path: str):
    resp = platform.client(path).delete(path, headers=platform.headers)
    return resp.status_code, resp.get_json()


def test_a_stop_loss_sells_once_at_the_quote_the_checker_saw(
    platform, store, backend, quote_stats, fresh_symbol, move_price, settings
):
    symbol = fresh_symbol()
    user = holder(platform, symbol)
    status, body, first_txn = place(platform, user=user, symbol=symbol, shares=4, price="9.50")
    assert status == 200, body
    assert body["data"] == {
        "id": str(first_txn),
        "symbol": symbol,
        "shares": 4,
        "stop": "9.50",
        "status": "open",
        "created": body["data"]["created"],
        "sold": None,
        "price": None,
        "proceeds": None,
        "closed": None,
        "quote": "10.00",
    }
    status, body, all_txn = place(platform, user=user, symbol=symbol, shares="all", price="8.00")
    assert status == 200 and body["data"]["shares"] == "all"
    # A DTS sell trigger and another user's stop on the same symbol share its quote.
    other = holder(platform, symbol)
    assert place(platform, user=other, symbol=symbol, shares=10, price="9.30")[0] == 200
    platform.ok("SET_SELL_AMOUNT", user=user, symbol=symbol, amount="20.00")
    armed = platform.run("SET_SELL_TRIGGER", user=user, symbol=symbol, amount="12.00")
    assert armed.data == {"shares": 1, "trigger": "12.00"}  # floor(20.00 / 12.00) aside

    move_price(symbol, "9.20")
    served = quote_stats().get(symbol, 0)
    assert check_triggers(backend) >= 2

    # One quote-server hit for the symbol in the pass, however many watch it.
    assert quote_stats()[symbol] == served + 1
    # The first stop sold 4 of the 9 shares not set aside at $9.20: $36.80.
    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("136.80", {symbol: 5})
    # The other user's stop sold all 10: $92.00.
    assert platform.summary(other)["cash"] == "192.00"
    assert platform.summary(other)["holdings"] == {}
    entries = store.log(first_txn)
    moved = [e for e in entries if e["type"] != "quoteServer"]
    assert [(e["type"], e.get("command"), e.get("action"), e["funds"]) for e in moved] == [
        ("systemEvent", "SELL", None, 3680),
        ("accountTransaction", None, "add", 3680),
    ]
    # The pass's hit is logged once, under the number of a setup or stop it served.
    [hit] = store.db["transactions"].find({"type": "quoteServer", "symbol": symbol, "price": 920})
    assert hit["txn"] in {first_txn, all_txn, armed.txn, int(stops_of(platform, other)[0]["id"])}
    assert store.cash_by_the_log(user) == 13_680

    # Passes after it sell nothing more: the stop is filled, "all" at $8.00 still waits.
    check_triggers(backend)
    check_triggers(backend)
    assert platform.summary(user)["cash"] == "136.80"
    assert len(store.user_log(user, "systemEvent")) == 1
    listed = stops_of(platform, user)
    assert [(s["id"], s["status"], s["sold"], s["price"], s["proceeds"]) for s in listed] == [
        (str(all_txn), "open", None, None, None),
        (str(first_txn), "filled", 4, "9.20", "36.80"),
    ]

    # The filled one cannot be cancelled; the open one can, once.
    assert delete(platform, f"/api/sell/stops/{first_txn}?user={user}") == (
        409,
        {
            "ok": False,
            "error": {
                "code": "stop_not_open",
                "message": f"stop-loss {first_txn} is filled already",
            },
        },
    )
    status, body = delete(platform, f"/api/sell/stops/{all_txn}?user={user}")
    assert (status, body["data"]) == (
        200,
        {"id": str(all_txn), "symbol": symbol, "status": "cancelled"},
    )
    assert delete(platform, f"/api/sell/stops/{all_txn}?user={user}")[0] == 404
    assert [s["id"] for s in stops_of(platform, user)] == [str(first_txn)]

    dump = platform.post("/api/users/dumplog", {"filename": "x", "user": user})
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(etree.fromstring(dump.get_data()))


def test_two_checkers_racing_sell_once(platform, store, settings, fresh_symbol, move_price):
    symbol = fresh_symbol()
    user = holder(platform, symbol)
    status, _, txn = place(platform, user=user, symbol=symbol, shares="all", price="9.90")
    assert status == 200
    move_price(symbol, "9.00")
    checkers = [Backend(load_settings(settings)) for _ in range(2)]
    start = threading.Barrier(2)

    def run(checker):
        start.wait(timeout=10)
        check_triggers(checker)

    threads = [threading.Thread(target=run, args=(c,)) for c in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for checker in checkers:
        checker.close()

    summary = platform.summary(user)
    assert (summary["cash"], summary["holdings"]) == ("190.00", {})  # 100 + 10 x 9.00
    assert [e["funds"] for e in store.log(txn) if e["type"] == "accountTransaction"] == [9000]
    assert store.cash_by_the_log(user) == 19_000


BAD = [
    ({"shares": 4, "price": "10.00"}, 400, "a stop-loss at 10.00 must be below the market price"),
    ({"shares": 4, "price": "10.50"}, 400, "a stop-loss at 10.50 must be below the market price"),
    ({"shares": 11, "price": "9.00"}, 409, "a stop on 11 shares of"),
    ({"shares": 0, "price": "9.00"}, 400, "shares"),
    ({"shares": -1, "price": "9.00"}, 400, "shares"),
    ({"shares": "4", "price": "9.00"}, 400, "shares"),
    ({"shares": 1.5, "price": "9.00"}, 400, "shares"),
    ({"shares": True, "price": "9.00"}, 400, "shares"),
    ({"shares": "some", "price": "9.00"}, 400, "shares"),
    ({"shares": 4, "price": "9.999"}, 400, "price"),
    ({"shares": 4, "price": "-1.00"}, 400, "price"),
    ({"shares": 4, "price": "0.00"}, 400, "price"),
    ({"shares": 4, "price": 9.5}, 400, "price"),
    ({"shares": 4, "price": "abc"}, 400, "price"),
    ({"shares": 4}, 400, "price"),
    ({"price": "9.00"}, 400, "shares"),
    ({"shares": 4, "price": "9.00", "symbol": "abcd"}, 400, "symbol"),
    ({"shares": 4, "price": "9.00", "symbol": "ZZZ"}, 409, "no shares of ZZZ to protect"),
    ({"shares": 4, "price": "9.00", "extra": 1}, 400, "extra"),
]


@pytest.mark.parametrize(("change", "status", "message"), BAD)
def test_a_bad_stop_is_refused_and_changes_nothing(
    platform, store, fresh_symbol, change, status, message
):
    symbol = fresh_symbol()
    user = holder(platform, symbol)
    before = store.account(user)

    got, body, _ = place(platform, **{"user": user, "symbol": symbol, **change})

    assert got == status, body
    assert body["ok"] is False and set(body["error"]) == {"code", "message"}
    assert message in body["error"]["message"], body
    assert stops_of(platform, user) == []
    assert store.account(user)["v"] == before["v"]
    assert store.account(user)["armed"] == []


def test_open_stops_are_bounded_per_user(platform_with, fresh_symbol):
    bounded = platform_with(stop_max_orders=2)
    symbol = fresh_symbol()
    user = holder(bounded, symbol)
    for price in ("9.00", "8.00"):
        assert place(bounded, user=user, symbol=symbol, shares=1, price=price)[0] == 200
    status, body, _ = place(bounded, user=user, symbol=symbol, shares=1, price="7.00")
    assert (status, body["error"]["code"]) == (409, "too_many_stops")
    assert len(stops_of(bounded, user)) == 2


def test_another_users_stops_are_out_of_reach(platform, fresh_symbol):
    symbol = fresh_symbol()
    owner = holder(platform, symbol)
    _, _, txn = place(platform, user=owner, symbol=symbol, shares=1, price="9.00")
    name = random_user()
    registered = platform.post("/api/users/register", {"username": name, "password": PASSWORD})
    assert registered.status_code == 201
    intruder = platform.as_caller(platform.login(name, PASSWORD))
    intruder.ok("ADD", user=name, amount="1.00")

    assert intruder.get(f"/api/sell/stops?user={owner}").status_code == 403
    assert delete(intruder, f"/api/sell/stops/{txn}?user={owner}")[0] == 403
    status, body = delete(intruder, f"/api/sell/stops/{txn}")  # as their own: no such stop
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body, _ = place(intruder, user=owner, symbol=symbol, shares=1, price="8.00")
    assert status == 403
    assert intruder.get("/api/sell/stops").get_json()["data"] == {"user": name, "stops": []}
    assert [s["id"] for s in stops_of(platform, owner)] == [str(txn)]
    assert delete(platform, f"/api/sell/stops/x1?user={owner}")[0] == 400
    assert platform.get("/api/sell/stops?user=nobody-here").status_code == 404
