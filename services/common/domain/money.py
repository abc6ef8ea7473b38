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
# The one parser for coin amounts: the chain primitives (chain/units.py) re-export it.

DECIMALS = 8  # both chain assets and every listed coin have 8 decimals
UNITS_PER_COIN = 10**DECIMALS
#: No amount on the chain or the exchange can exceed 10 billion coins; larger is a mistake.
MAX_UNITS = 10_000_000_000 * UNITS_PER_COIN
_COINS = re.compile(r"(-?)([0-9]{1,11})(?:\.([0-9]{1,8}))?")


def parse_units(
    text: object,
    field: str = "amount",
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """Parse a coin amount such as ``"0.5"`` into integer units (50,000,000).

    Refuses (InvalidInput) anything but a plain decimal string: numbers (a JSON number
    may already have been rounded by a float on its way), exponents, spaces, more than
    8 decimals, signs unless ``allow_negative``, zero unless ``allow_zero``, and more
    than ``MAX_UNITS``.
    """
    if not isinstance(text, str):
        raise InvalidInput(f'{field} must be a string of coins such as "0.5"')
    match = _COINS.fullmatch(text)
    if match is None:
        raise InvalidInput(f'{field} must be coins with at most 8 decimals, such as "0.5"')
    sign, whole, fraction = match.groups()
    units = int(whole) * UNITS_PER_COIN + int((fraction or "").ljust(DECIMALS, "0"))
    if units > MAX_UNITS:
        raise InvalidInput(f"{field} must be at most {format_units(MAX_UNITS)}")
    if sign:
        if not allow_negative:
            raise InvalidInput(f"{field} must not be negative")
        units = -units
    if units == 0 and not allow_zero:
        raise InvalidInput(f"{field} must be greater than 0")
    return units


def format_units(units: int) -> str:
    """Units as coins with exactly 8 decimals: 150000000 -> ``"1.50000000"``."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError("units are an integer")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), UNITS_PER_COIN)
    return f"{sign}{whole}.{fraction:08d}"


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
