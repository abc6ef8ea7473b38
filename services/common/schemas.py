"""Request bodies: types, ranges and lengths; unknown fields are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from .domain.money import parse_cents, parse_units
from .errors import InvalidInput


def _dollars(value: object) -> int:
    try:
        return parse_cents(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _coins(value: object) -> int:
    try:
        return parse_units(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
# Dollars travel as strings ("12.50") so no float ever touches money; inside, cents.
Cents = Annotated[
    int,
    BeforeValidator(_dollars),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}),
]
TxnNum = Annotated[int, Field(gt=0, lt=2**62)]
Coin = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")]
# Coin amounts travel as strings with at most 8 decimals ("0.5"); inside, units of 1e-8.
Units = Annotated[
    int,
    BeforeValidator(_coins),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,11}(\.[0-9]{1,8})?$"}),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserCommandBody(Body):
    """COMMIT_*, CANCEL_BUY/SELL, DISPLAY_SUMMARY."""

    user: UserId
    transactionNum: TxnNum | None = None


class SymbolCommandBody(UserCommandBody):
    """QUOTE, CANCEL_SET_BUY/SELL."""

    symbol: Symbol


class AmountCommandBody(UserCommandBody):
    """ADD."""

    amount: Cents


class TradeCommandBody(SymbolCommandBody):
    """BUY, SELL, SET_*_AMOUNT, SET_*_TRIGGER (``amount`` is the trigger price there)."""

    amount: Cents


class CoinOrderBody(Body):
    """A market buy or sell of ``amount`` coins for cash."""

    user: UserId
    coin: Coin
    amount: Units
    transactionNum: TxnNum | None = None


class CoinHistoryQuery(BaseModel):
    """Query string of a user's coin trades (strings in, so not strict)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: UserId | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    coin: Coin | None = None
    before: Annotated[int, Field(gt=0, lt=2**63)] | None = None


class DumplogBody(Body):
    """DUMPLOG: the whole log (admin/service) or one user's."""

    filename: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f<>&]{1,255}$")]
    user: UserId | None = None
    transactionNum: TxnNum | None = None


MAX_BATCH = 100  # commands in one batch


class BatchBody(Body):
    """A user's consecutive commands: each ``{"command": NAME, ...its own fields}``."""

    user: UserId
    commands: Annotated[list[dict], Field(min_length=1, max_length=MAX_BATCH)]


class CredentialsBody(Body):
    username: UserId
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]


class HistoryQuery(BaseModel):
    """Query string of the transaction history (strings in, so not strict)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: UserId | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    type: (
        Literal["userCommand", "quoteServer", "accountTransaction", "systemEvent", "errorEvent"]
        | None
    ) = None
    before: Annotated[int, Field(gt=0, lt=2**63)] | None = None


class AccountQuery(BaseModel):
    """Query string of the plain account read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: UserId | None = None
