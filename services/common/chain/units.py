"""Coin amounts on the chain: integer units inside (1 DTC = 100,000,000 units), decimal
strings outside.

Both chain assets have 8 decimals. The parser and formatter are the domain's
(``domain/money.py``), re-exported here so the chain code and the domain share one
implementation; this module adds only the chain's asset names.
"""

from __future__ import annotations

from ..domain.money import DECIMALS, MAX_UNITS, UNITS_PER_COIN, format_units, parse_units
from ..errors import InvalidInput

__all__ = [
    "ASSETS",
    "DECIMALS",
    "DTC",
    "DUSD",
    "MAX_UNITS",
    "UNITS_PER_COIN",
    "format_units",
    "parse_asset",
    "parse_units",
]

DTC = "DTC"
DUSD = "DUSD"
ASSETS = (DTC, DUSD)


def parse_asset(text: object, field: str = "asset") -> str:
    """``"DTC"`` or ``"DUSD"``; InvalidInput otherwise."""
    if text not in ASSETS:
        raise InvalidInput(f"{field} must be one of {', '.join(ASSETS)}")
    return text
