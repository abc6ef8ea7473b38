"""Live account updates (Server-Sent Events) and price history, through NGINX."""

from __future__ import annotations

import json
import queue
import threading

import pytest
import requests

from tests.helpers import random_symbol, random_user, service_headers

pytestmark = pytest.mark.e2e


def read_events(resp: requests.Response, out: queue.Queue) -> None:
    """Parse an SSE stream into (event, data) pairs until it closes."""
    event = None
    try:
        for line in resp.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event:
                out.put((event, json.loads(line[len("data: ") :])))
                event = None
    except (requests.RequestException, AttributeError, OSError):
        pass  # the test closed the stream


def next_event(events: queue.Queue, kind: str) -> dict:
    while True:
        event, data = events.get(timeout=10)
        if event == kind:
            return data


def test_an_account_change_and_a_fresh_quote_reach_an_open_event_stream(stack):
    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    user, symbol = random_user(), random_symbol()
    url = stack.nginx_url
    session.post(f"{url}/api/users/add", json={"user": user, "amount": "5.00"}, headers=headers)

    stream = requests.get(
        f"{url}/api/users/events", params={"user": user}, headers=headers, stream=True, timeout=30
    )
    assert stream.status_code == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    events: queue.Queue = queue.Queue()
    threading.Thread(target=read_events, args=(stream, events), daemon=True).start()
    try:
        assert next_event(events, "account")["cash"] == "5.00"

        session.post(f"{url}/api/users/add", json={"user": user, "amount": "7.25"}, headers=headers)
        assert next_event(events, "account")["cash"] == "12.25"

        session.post(
            f"{url}/api/users/quote", json={"user": user, "symbol": symbol}, headers=headers
        )
        quote = next_event(events, "quote")
        while quote["symbol"] != symbol:  # other tests' quotes share the channel
            quote = next_event(events, "quote")
        assert quote["price"] == "10.00"
    finally:
        stream.close()


def test_the_price_history_of_a_symbol_lists_its_quote_server_prices(stack):
    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    user, symbol = random_user(), random_symbol()
    url = stack.nginx_url
    session.post(f"{url}/api/users/add", json={"user": user, "amount": "5.00"}, headers=headers)
    session.post(f"{url}/api/users/quote", json={"user": user, "symbol": symbol}, headers=headers)

    history = session.get(f"{url}/api/users/quotes/{symbol}/history", headers=headers)
    assert history.status_code == 200
    quotes = history.json()["data"]["quotes"]
    assert [q["price"] for q in quotes] == ["10.00"]

    bad = session.get(f"{url}/api/users/quotes/abcd/history", headers=headers)
    assert bad.status_code == 400


def test_the_transaction_history_pages_and_filters(stack):
    session = requests.Session()
    headers = service_headers(session, stack.nginx_url)
    user, url = random_user(), stack.nginx_url
    for amount in ("1.00", "2.00", "3.00"):
        session.post(f"{url}/api/users/add", json={"user": user, "amount": amount}, headers=headers)

    def page(**params):
        resp = session.get(
            f"{url}/api/users/transactions",
            params={"user": user, "type": "accountTransaction", **params},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]["transactions"]

    first = page(limit=2)
    assert [t["funds"] for t in first] == ["3.00", "2.00"]
    rest = page(limit=2, before=first[-1]["timestamp"])
    assert [t["funds"] for t in rest if t["timestamp"] < first[-1]["timestamp"]] == ["1.00"]

    bad = session.get(
        f"{url}/api/users/transactions", params={"user": user, "type": "nope"}, headers=headers
    )
    assert bad.status_code == 400
