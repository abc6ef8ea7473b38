"""Parsing the quote server's reply line (services/common/clients.parse_quote_line)."""

from __future__ import annotations

import pytest

from services.common.clients import RawQuote, parse_quote_line
from services.common.errors import UpstreamUnavailable

TS = 1_700_000_000_123
KEY = "IRrR7UeTO35kSWUgG0QJKmB35sL27FKM7AVhP5qpjCgmWQeXFJs35g=="


def test_a_good_reply_becomes_a_raw_quote_in_cents():
    quote = parse_quote_line(f"15.07,ABC,alice,{TS},{KEY}\n", "ABC")
    assert quote == RawQuote(1_507, "ABC", "alice", TS, KEY)


def test_the_cryptokey_loses_its_trailing_newline_and_whitespace():
    quote = parse_quote_line(f" 9.5 , XY ,bob , {TS} ,{KEY}\r\n", "XY")
    assert quote == RawQuote(950, "XY", "bob", TS, KEY)


def test_an_na_reply_means_the_quote_server_refused():
    with pytest.raises(UpstreamUnavailable, match="refused") as info:
        parse_quote_line(f"0.00,ABC,NA,{TS},{KEY}\n", "ABC")
    assert info.value.status_code == 503


@pytest.mark.parametrize(
    "line",
    [
        "",
        "\n",
        f"15.00,ABC,alice,{TS}\n",
        f"15.00,ABC,alice,{TS},{KEY},extra\n",
        f"15.00;ABC;alice;{TS};{KEY}\n",
        f"15.00,ABC,alice,{TS},key,with,commas\n",
    ],
    ids=["empty", "newline-only", "four-fields", "six-fields", "semicolons", "seven-fields"],
)
def test_a_reply_with_the_wrong_number_of_fields_is_refused(line):
    with pytest.raises(UpstreamUnavailable, match="malformed"):
        parse_quote_line(line, "ABC")


@pytest.mark.parametrize(
    "price", ["abc", "", "-1.00", "0.00", "12.345", "1e3", "$15.00", "1,5", "nan"]
)
def test_a_reply_with_a_bad_price_is_refused(price):
    with pytest.raises(UpstreamUnavailable, match="malformed"):
        parse_quote_line(f"{price},ABC,alice,{TS},{KEY}\n", "ABC")


@pytest.mark.parametrize("timestamp", ["soon", "", "1.7e12", "17000000.5"])
def test_a_reply_with_a_bad_timestamp_is_refused(timestamp):
    with pytest.raises(UpstreamUnavailable, match="malformed"):
        parse_quote_line(f"15.00,ABC,alice,{timestamp},{KEY}\n", "ABC")


@pytest.mark.parametrize(
    ("reply_symbol", "asked"),
    [("XYZ", "ABC"), ("abc", "ABC"), ("AB", "ABC"), ("", "ABC"), ("ABCD", "ABCD")],
)
def test_a_reply_for_another_or_an_invalid_symbol_is_refused(reply_symbol, asked):
    with pytest.raises(UpstreamUnavailable):
        parse_quote_line(f"15.00,{reply_symbol},alice,{TS},{KEY}\n", asked)
