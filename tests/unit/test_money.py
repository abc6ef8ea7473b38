"""Exact money: parsing dollar strings into cents, formatting cents, whole shares."""

from __future__ import annotations

import pytest

from services.common.domain.money import MAX_CENTS, format_cents, parse_cents, shares_for
from services.common.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1", 100),
        ("1.5", 150),
        ("1.50", 150),
        ("0.01", 1),
        ("12.34", 1234),
        ("1000000000.00", 1_000_000_000_00),
        ("1000000000", 1_000_000_000_00),
    ],
)
def test_parse_cents_accepts_dollars_with_at_most_two_decimals(text, cents):
    assert parse_cents(text) == cents


def test_parse_cents_accepts_exactly_the_largest_amount():
    assert parse_cents("1000000000.00") == MAX_CENTS


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0.00",
        "-5",
        "-0.01",
        "+5",
        "1e5",
        "12.345",
        "abc",
        "",
        " ",
        "1,000.00",
        "1.",
        ".5",
        "NaN",
        "inf",
        "0x10",
        "1_000",
        "1000000000.01",
        "9999999999.99",
        "10000000000",
    ],
)
def test_parse_cents_rejects_strings_that_are_not_positive_dollars_up_to_a_billion(text):
    with pytest.raises(InvalidInput):
        parse_cents(text)


@pytest.mark.parametrize("value", [None, 5, 5.5, True, {"$gt": ""}, ["1.00"], b"1.00"])
def test_parse_cents_rejects_anything_that_is_not_a_string(value):
    with pytest.raises(InvalidInput):
        parse_cents(value)


@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11\uff10", "1.\u0665\u0660"])
def test_parse_cents_rejects_digits_outside_ascii(text):
    # The spec allows only plain dollars; Python's \d also matches Arabic-Indic and
    # full-width digits, which int() then happily converts.
    with pytest.raises(InvalidInput):
        parse_cents(text)


def test_parse_cents_names_the_field_in_its_message():
    with pytest.raises(InvalidInput, match="price"):
        parse_cents("abc", "price")


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (5, "0.05"),
        (10, "0.10"),
        (100, "1.00"),
        (1250, "12.50"),
        (1_000_000_000_00, "1000000000.00"),
        (-1, "-0.01"),
        (-5, "-0.05"),
        (-1250, "-12.50"),
    ],
)
def test_format_cents_prints_exactly_two_decimals(cents, text):
    assert format_cents(cents) == text


@pytest.mark.parametrize("text", ["0.01", "1.00", "12.50", "999.99", "1000000000.00"])
def test_format_cents_round_trips_with_parse_cents(text):
    assert format_cents(parse_cents(text)) == text


@pytest.mark.parametrize(
    ("amount", "price", "shares"),
    [
        (5000, 1500, 3),
        (4500, 1500, 3),
        (4499, 1500, 2),
        (1499, 1500, 0),
        (1500, 1500, 1),
        (1, 1, 1),
        (100, 3, 33),
    ],
)
def test_shares_for_floors_amount_over_price(amount, price, shares):
    assert shares_for(amount, price) == shares
