"""Exact money: integer cents inside, dollars with two decimals at the edges."""

from __future__ import annotations

import re

from ..errors import InvalidInput

MAX_CENTS = 1_000_000_000_00
_DOLLARS = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,2}))?")


def parse_cents(text: object, field: str = "amount") -> int:
    """Parse a dollar string such as ``"12.5"`` into cents (1250).

    Raises InvalidInput unless it is a plain decimal with at most two decimals,
    greater than zero and at most 1,000,000,000.00.
    """
    if not isinstance(text, str):
        raise InvalidInput(f'{field} must be a string of dollars such as "12.50"')
    match = _DOLLARS.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f'{field} must be dollars with at most two decimals, such as "12.50"')
    whole, frac = match.groups()
    cents = int(whole) * 100 + int((frac or "").ljust(2, "0"))
    if cents <= 0:
        raise InvalidInput(f"{field} must be greater than 0.00")
    if cents > MAX_CENTS:
        raise InvalidInput(f"{field} must be at most 1000000000.00")
    return cents


def format_cents(cents: int) -> str:
    """Format cents as dollars with exactly two decimals: 1250 -> ``"12.50"``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def shares_for(amount: int, price: int) -> int:
    """Whole shares that ``amount`` cents buys at ``price`` cents each."""
    return amount // price
