"""Validation of user ids, stock symbols and transaction numbers."""

from __future__ import annotations

import re

from ..errors import InvalidInput

USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SYMBOL = re.compile(r"[A-Z]{1,3}")


def check_user_id(value: object) -> str:
    """Return ``value`` if it is a valid user id (1-64 of ``[A-Za-z0-9_-]``)."""
    if not isinstance(value, str) or not USER_ID.fullmatch(value):
        raise InvalidInput("user must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
    return value


def check_symbol(value: object) -> str:
    """Return ``value`` if it is a valid stock symbol (1-3 of ``[A-Z]``)."""
    if not isinstance(value, str) or not SYMBOL.fullmatch(value):
        raise InvalidInput("symbol must be 1-3 upper-case letters A-Z")
    return value
