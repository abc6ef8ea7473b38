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


# --- coins: integer units, 1 coin = 10^8 units ------------------------------------

UNITS_PER_COIN = 100_000_000
MAX_UNITS = 21_000_000_000 * UNITS_PER_COIN  # beyond any supply the platform lists
_COINS = re.compile(r"([0-9]{1,11})(?:\.([0-9]{1,8}))?")


def parse_units(text: object, field: str = "amount") -> int:
    """Parse a coin amount such as ``"0.5"`` into units (50,000,000).

    Raises InvalidInput unless it is a plain decimal string with at most eight decimals,
    greater than zero and at most 21,000,000,000 coins. Numbers are refused: a JSON
    number may already have been rounded by a float on its way.
    """
    if not isinstance(text, str):
        raise InvalidInput(f'{field} must be a string of coins such as "0.5"')
    match = _COINS.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f'{field} must be coins with at most eight decimals, such as "0.5"')
    whole, frac = match.groups()
    units = int(whole) * UNITS_PER_COIN + int((frac or "").ljust(8, "0"))
    if units <= 0:
        raise InvalidInput(f"{field} must be greater than 0")
    if units > MAX_UNITS:
        raise InvalidInput(f"{field} must be at most 21000000000 coins")
    return units


def format_units(units: int) -> str:
    """Format units as coins with exactly eight decimals: 50000000 -> ``"0.50000000"``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), UNITS_PER_COIN)
    return f"{sign}{whole}.{frac:08d}"


# --- market prices: integer ten-thousandths of a dollar ----------------------------

PRICE_SCALE = 10_000  # price units per dollar: USD to 1/10,000 of a dollar
# units x price is in 10^-8 coin x 10^-4 dollar = 10^-12 dollar; a cent is 10^-2.
VALUE_PER_CENT = UNITS_PER_COIN * PRICE_SCALE // 100  # 10^10


_PRICE = re.compile(r"([0-9]{1,11})(?:\.([0-9]{1,4}))?")


def parse_price(text: object, field: str = "price") -> int:
    """Parse a price such as ``"1466.68"`` into ten-thousandths of a dollar (14666800).

    Raises InvalidInput unless it is a plain decimal string with at most four decimals,
    greater than zero."""
    if not isinstance(text, str):
        raise InvalidInput(f'{field} must be a string of dollars such as "1466.68"')
    match = _PRICE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{field} must be dollars with at most four decimals")
    whole, frac = match.groups()
    price = int(whole) * PRICE_SCALE + int((frac or "").ljust(4, "0"))
    if price <= 0:
        raise InvalidInput(f"{field} must be greater than 0")
    return price


def format_price(price: int) -> str:
    """Format a price in ten-thousandths of a dollar: 6012345 -> ``"601.2345"``."""
    sign = "-" if price < 0 else ""
    whole, frac = divmod(abs(price), PRICE_SCALE)
    return f"{sign}{whole}.{frac:04d}"


def value_cents_down(units: int, price: int) -> int:
    """What ``units`` are worth at ``price``, in cents rounded down (proceeds)."""
    return units * price // VALUE_PER_CENT


def value_cents_up(units: int, price: int) -> int:
    """What ``units`` cost at ``price``, in cents rounded up (a cost)."""
    return -(-units * price // VALUE_PER_CENT)


def fee_cents_up(units: int, price: int, fee_bp: int) -> int:
    """``fee_bp`` basis points of the exact value of ``units`` at ``price``, in cents
    rounded up (taken from the exact value, not from a rounded cost)."""
    return -(-units * price * fee_bp // (VALUE_PER_CENT * 10_000))
