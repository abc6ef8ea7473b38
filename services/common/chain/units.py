"""Coin amounts: integer units inside (1 DTC = 100,000,000 units), decimal strings outside.

Both chain assets have 8 decimals. Never float: a string such as ``"1.5"`` is parsed
digit by digit, and units are formatted back with exactly 8 decimals.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput

DTC = "DTC"
DUSD = "DUSD"
ASSETS = (DTC, DUSD)
DECIMALS = 8
UNITS_PER_COIN = 10**DECIMALS
#: No amount on the chain can exceed 10 billion coins; anything larger is a mistake.
MAX_UNITS = 10_000_000_000 * UNITS_PER_COIN
_DECIMAL = re.compile(r"(-?)([0-9]{1,11})(?:\.([0-9]{1,8}))?")


def parse_units(
    text: object,
    field: str = "amount",
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """Parse a decimal string with at most 8 decimals into integer units.

    ``"1.5"`` -> 150000000. Refuses (InvalidInput) anything but a plain decimal string:
    numbers (floats or ints), exponents, more than 8 decimals, signs unless
    ``allow_negative``, zero unless ``allow_zero``, and more than ``MAX_UNITS``.
    """
    if not isinstance(text, str):
        raise InvalidInput(f'{field} must be a decimal string such as "1.5"')
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidInput(f'{field} must be a decimal with at most 8 decimals, such as "1.5"')
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
    """Units as a decimal string with exactly 8 decimals: 150000000 -> ``"1.50000000"``."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError("units are an integer")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), UNITS_PER_COIN)
    return f"{sign}{whole}.{fraction:08d}"


def parse_asset(text: object, field: str = "asset") -> str:
    """``"DTC"`` or ``"DUSD"``; InvalidInput otherwise."""
    if text not in ASSETS:
        raise InvalidInput(f"{field} must be one of {', '.join(ASSETS)}")
    return text
