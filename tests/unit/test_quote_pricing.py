"""Unit tests for the mock quote server's pure logic and config parsing."""

import statistics

import pytest

from quote_server import pricing
from quote_server.config import ConfigError, QuoteServerConfig, load_config
from quote_server.pricing import (
    BadRequest,
    Latency,
    LatencySampler,
    PriceBook,
    format_cents,
    format_na_line,
    make_quote,
    parse_cents,
    parse_request_line,
    step_price,
    validate_request,
)


def walk(seed, symbol, n):
    book = PriceBook(seed)
    return [book.next_price(symbol) for _ in range(n)]


def test_walk_is_deterministic_for_a_seed():
    assert walk(7, "ABC", 200) == walk(7, "ABC", 200)


def test_walk_depends_on_the_seed():
    assert walk(1, "ABC", 50) != walk(2, "ABC", 50)


def test_different_symbols_get_different_walks():
    assert walk(1, "ABC", 50) != walk(1, "XYZ", 50)


def test_walk_of_one_symbol_ignores_requests_for_other_symbols():
    book = PriceBook(3)
    interleaved = []
    for _ in range(30):
        interleaved.append(book.next_price("ABC"))
        book.next_price("QQ")
    assert interleaved == walk(3, "ABC", 30)


def test_start_prices_fall_between_5_and_500_dollars():
    book = PriceBook(11)
    starts = [book.next_price(f"{a}{b}") for a in "ABCDEFGHIJ" for b in "KLMNOPQRST"]
    assert all(500 <= cents <= 50_000 for cents in starts)
    assert len(set(starts)) > 90


def test_each_step_moves_a_few_percent_at_most():
    prices = walk(5, "S", 2_000)
    for before, after in zip(prices, prices[1:], strict=False):
        assert abs(after - before) <= max(1, before * 3 // 100 + 1)
    assert len(set(prices)) > 100


def test_prices_are_integer_cents():
    assert all(isinstance(cents, int) for cents in walk(9, "INT", 100))


@pytest.mark.parametrize("cents", [1, 2, 3, 10, 33])
def test_a_step_down_never_goes_below_one_cent(cents):
    assert step_price(cents, -pricing.MAX_STEP_BP) >= 1
    assert step_price(1, -10_000) == 1


def test_a_long_walk_never_goes_below_one_cent():
    book = PriceBook(1)
    book.next_price("LOW")
    book._walks["LOW"].cents = 1  # start at the floor to exercise it on every step
    assert min(book.next_price("LOW") for _ in range(5_000)) >= 1


def test_fixed_price_applies_to_every_symbol_every_time():
    book = PriceBook(1, fixed_price_cents=1234)
    assert {book.next_price(sym) for sym in ("A", "BB", "CCC") for _ in range(5)} == {1234}


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (1234, "12.34"), (500_000, "5000.00")],
)
def test_prices_format_with_exactly_two_decimals(cents, text):
    assert format_cents(cents) == text
    assert parse_cents(text) == cents


@pytest.mark.parametrize("text", ["", "1", "1.5", "1.234", "-1.00", "1,00", "abc", ".50", "1e2"])
def test_malformed_prices_are_rejected(text):
    with pytest.raises(ValueError):
        parse_cents(text)


def test_a_quote_renders_as_the_legacy_line_and_as_json():
    quote = make_quote(PriceBook(1, fixed_price_cents=705), "ABC", "bob", 1_700_000_000_123)
    price, symbol, user, ts, key = quote.to_line().rstrip("\n").split(",")
    assert (price, symbol, user, ts) == ("7.05", "ABC", "bob", "1700000000123")
    assert len(key) == 44 and key.endswith("=") and "\n" not in key
    assert quote.to_json() == {
        "price": "7.05",
        "symbol": "ABC",
        "user": "bob",
        "timestamp": 1_700_000_000_123,
        "cryptokey": key,
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [("ABC,bob\n", ("ABC", "bob")), ("  S , user 1 \r\n", ("S", "user 1"))],
)
def test_request_lines_are_trimmed(line, expected):
    assert parse_request_line(line) == expected


@pytest.mark.parametrize(
    "line",
    ["", "\n", "ABC", "ABC,bob,extra", "ABCD,bob", "abc,bob", "A1,bob", "ABC,", "ABC,  ", ",bob"],
)
def test_bad_request_lines_are_rejected(line):
    with pytest.raises(BadRequest):
        parse_request_line(line)


def test_users_with_control_characters_are_rejected():
    with pytest.raises(BadRequest):
        validate_request("ABC", "bo\tb")


def test_bad_request_answer_has_na_user_and_truncated_symbol():
    line = format_na_line(1, "TOOLONG,bob\n", 1_700_000_000_000)
    assert line.endswith("\n") and line.count("\n") == 1
    price, symbol, user, ts, key = line.rstrip("\n").split(",")
    assert (price, symbol, user, ts) == ("0.00", "TOO", "NA", "1700000000000")
    assert len(key) == 44


def test_realistic_slow_mean_is_solved_so_the_mixture_mean_is_563_ms():
    assert pricing.realistic_mean_s() == pytest.approx(pricing.TARGET_MEAN_S, abs=1e-9)
    assert 1.7 < pricing.SLOW_MEAN_S < 2.0


def test_realistic_latency_matches_the_measured_server():
    sampler = LatencySampler(Latency("realistic"), seed=1)
    delays = [sampler.sample() for _ in range(20_000)]
    fast = [d for d in delays if d <= pricing.FAST_MAX_S]
    # The slow exponential also lands under 26 ms about 0.5 % of the time.
    assert len(fast) / len(delays) == pytest.approx(0.66, abs=0.02)
    assert statistics.median(fast) == pytest.approx(0.009, abs=0.0015)
    assert min(delays) >= 0.0 and max(delays) <= 4.0
    assert statistics.fmean(delays) == pytest.approx(0.563, rel=0.10)


def test_latency_draws_are_reproducible_for_a_seed():
    def draws(seed):
        sampler = LatencySampler(Latency("realistic"), seed)
        return [sampler.sample() for _ in range(50)]

    assert draws(4) == draws(4)
    assert draws(4) != draws(5)


def test_fixed_and_no_latency():
    assert LatencySampler(Latency("fixed", 250), 1).sample() == 0.25
    assert LatencySampler(Latency("none"), 1).sample() == 0.0


def test_config_defaults():
    assert load_config({}) == QuoteServerConfig(
        host="127.0.0.1",
        tcp_port=4444,
        http_port=4480,
        seed=1,
        fixed_price_cents=None,
        latency=Latency("none"),
    )


def test_config_reads_every_variable():
    config = load_config(
        {
            "QUOTE_HOST": "0.0.0.0",
            "QUOTE_TCP_PORT": "5000",
            "QUOTE_HTTP_PORT": "5001",
            "QUOTE_SEED": "42",
            "QUOTE_FIXED_PRICE": "19.99",
            "QUOTE_LATENCY": "150",
        }
    )
    assert (config.host, config.tcp_port, config.http_port, config.seed) == (
        "0.0.0.0",
        5000,
        5001,
        42,
    )
    assert config.fixed_price_cents == 1999
    assert config.latency == Latency("fixed", 150)
    assert load_config({"QUOTE_LATENCY": "Realistic"}).latency == Latency("realistic")


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        load_config({}).seed = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUOTE_FIXED_PRICE", "12"),
        ("QUOTE_FIXED_PRICE", "12.5"),
        ("QUOTE_FIXED_PRICE", "$12.50"),
        ("QUOTE_FIXED_PRICE", "0.00"),
        ("QUOTE_LATENCY", "fast"),
        ("QUOTE_LATENCY", "-5"),
        ("QUOTE_LATENCY", "1.5"),
        ("QUOTE_SEED", "one"),
        ("QUOTE_TCP_PORT", "70000"),
        ("QUOTE_HTTP_PORT", "http"),
    ],
)
def test_bad_config_is_rejected_with_the_variable_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})
