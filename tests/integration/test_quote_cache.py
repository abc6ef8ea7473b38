"""The Redis quote cache against the real quote server: one hit per symbol while a quote
is valid, one request in flight per symbol, expiry, and a quote server that is down."""

import threading
import time

import pytest

from services.common.cache import QuoteCache, quote_fetches
from services.common.clients import QuoteServerClient
from services.common.errors import UpstreamUnavailable
from tests.helpers import random_user

pytestmark = pytest.mark.integration

THREADS = 20


@pytest.fixture
def user(platform):
    name = random_user()
    platform.ok("ADD", user=name, amount="100.00")
    return name


def test_the_cache_reports_one_real_hit_and_then_serves_the_cached_quote(
    backend, fresh_symbol, quote_stats
):
    symbol = fresh_symbol()
    first = backend.quotes.get(symbol, "cacheuser")
    second = backend.quotes.get(symbol, "cacheuser")
    assert (first.hit, second.hit) == (True, False)
    assert first.price == second.price == 1000
    assert second.fetched_ms == first.fetched_ms
    assert second.raw == first.raw
    assert quote_stats()[symbol] == 1


def test_every_request_sent_to_the_quote_server_is_counted_by_who_sent_it(
    backend, fresh_symbol, closed_port
):
    origin = backend.settings.server_name
    before = quote_fetches(backend.redis).get(origin, 0)
    symbol = fresh_symbol()
    backend.quotes.get(symbol, "cacheuser")
    backend.quotes.get(symbol, "cacheuser")  # from the cache: not sent, not counted
    assert quote_fetches(backend.redis)[origin] == before + 1

    # A request that gets no answer is counted too: the quote server may have billed it.
    elsewhere = random_user()
    down = QuoteCache(
        backend.redis,
        QuoteServerClient(f"127.0.0.1:{closed_port}", timeout_s=1),
        ttl_s=60,
        fetch_timeout_s=1,
        clock_ms=backend.clock_ms,
        origin=elsewhere,
    )
    with pytest.raises(UpstreamUnavailable):
        down.get(fresh_symbol(), "cacheuser")
    assert quote_fetches(backend.redis)[elsewhere] == 1


def test_quote_is_fetched_once_then_answered_from_the_cache_and_logged_once(
    platform, store, user, fresh_symbol, quote_stats
):
    symbol = fresh_symbol()
    first = platform.run("QUOTE", user=user, symbol=symbol)
    second = platform.run("QUOTE", user=user, symbol=symbol)

    assert first.data["price"] == second.data["price"] == "10.00"
    assert (first.data["from_cache"], second.data["from_cache"]) == (False, True)
    assert first.data["symbol"] == symbol
    assert 0 < second.data["seconds_valid"] <= 60
    assert quote_stats()[symbol] == 1
    assert store.types(first.txn) == ["userCommand", "quoteServer"]
    assert store.types(second.txn) == ["userCommand"]
    [hit] = [e for e in store.log(first.txn) if e["type"] == "quoteServer"]
    assert (hit["symbol"], hit["user"], hit["price"]) == (symbol, user, 1000)
    assert hit["cryptokey"] and hit["qs_time"] > 0


def test_twenty_simultaneous_quotes_for_a_new_symbol_cost_one_quote_server_request(
    platform, store, user, fresh_symbol, quote_stats
):
    symbol = fresh_symbol()
    start = threading.Barrier(THREADS)
    replies, errors = [], []

    def ask():
        try:
            start.wait(timeout=10)
            replies.append(platform.run("QUOTE", user=user, symbol=symbol))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(replies) == THREADS
    assert all(r.data["price"] == "10.00" for r in replies)
    assert sum(not r.data["from_cache"] for r in replies) == 1
    assert quote_stats()[symbol] == 1
    hits = store.db["transactions"].count_documents({"type": "quoteServer", "symbol": symbol})
    assert hits == 1
    commands = [store.types(r.txn).count("userCommand") for r in replies]
    assert commands == [1] * THREADS


def test_a_quote_is_fetched_again_after_its_ttl_expires(
    platform_with, store, fresh_symbol, quote_stats
):
    short = platform_with(quote_ttl_s=1.0)
    user = random_user()
    short.ok("ADD", user=user, amount="10.00")
    symbol = fresh_symbol()

    first = short.run("QUOTE", user=user, symbol=symbol)
    cached = short.run("QUOTE", user=user, symbol=symbol)
    assert cached.data["from_cache"] is True
    time.sleep(1.1)
    again = short.run("QUOTE", user=user, symbol=symbol)

    assert (first.data["from_cache"], again.data["from_cache"]) == (False, False)
    assert quote_stats()[symbol] == 2
    assert store.types(again.txn) == ["userCommand", "quoteServer"]


@pytest.fixture
def offline(platform_with, closed_port):
    """The services with the quote server address pointing at a closed port."""
    return platform_with(quote_server_addr=f"127.0.0.1:{closed_port}", quote_timeout_s=1.0)


def test_quote_answers_503_and_logs_an_error_when_the_quote_server_is_down(
    offline, store, rds, user, fresh_symbol
):
    symbol = fresh_symbol()
    before = store.account(user)

    reply = offline.run("QUOTE", user=user, symbol=symbol)

    assert reply.status == 503
    assert reply.error["code"] == "upstream_unavailable"
    assert "quote server unavailable" in reply.error["message"]
    assert store.types(reply.txn) == ["userCommand", "errorEvent"]
    error = store.log(reply.txn)[1]
    assert (error["command"], error["user"], error["symbol"]) == ("QUOTE", user, symbol)
    assert error["message"] == reply.error["message"]
    assert store.account(user) == before
    assert not rds.exists(f"quote:{symbol}")


def test_buy_answers_503_and_changes_nothing_when_the_quote_server_is_down(
    offline, platform, store, user, fresh_symbol
):
    symbol = fresh_symbol()
    before = store.account(user)

    reply = offline.run("BUY", user=user, symbol=symbol, amount="50.00")

    assert reply.status == 503
    assert reply.error["code"] == "upstream_unavailable"
    assert store.types(reply.txn) == ["userCommand", "errorEvent"]
    assert store.account(user) == before
    assert platform.summary(user)["cash"] == "100.00"
