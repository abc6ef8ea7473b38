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

from .domain.money import parse_cents, parse_price, parse_units
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


def _price(value: object) -> int:
    try:
        return parse_price(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _stop_price(value: object) -> int:
    try:
        return parse_cents(value, "price")
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _stop_shares(value: object) -> int | str:
    if value == "all" or (type(value) is int and 0 < value <= 1_000_000_000):
        return value
    raise ValueError('shares must be a whole number from 1 to 1000000000, or "all"')


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
# Market prices travel as strings with at most 4 decimals ("1466.6813").
Price = Annotated[
    int,
    BeforeValidator(_price),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,11}(\.[0-9]{1,4})?$"}),
]
# Coin amounts travel as strings with at most 8 decimals ("0.5"); inside, units of 1e-8.
Units = Annotated[
    int,
    BeforeValidator(_coins),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,11}(\.[0-9]{1,8})?$"}),
]


# A stop-loss's price, dollars as ``Cents``; its shares, a count or "all".
StopPrice = Annotated[
    int,
    BeforeValidator(_stop_price),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}),
]
StopShares = Annotated[
    int | str,
    BeforeValidator(_stop_shares),
    WithJsonSchema(
        {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["all"]}]}
    ),
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


class StockStopBody(UserCommandBody):
    """A stop-loss on ``shares`` of ``symbol`` held (or "all" of them), sold at the
    quote once a quote is at or below ``price`` (dollars)."""

    symbol: Symbol
    shares: StopShares
    price: StopPrice


class CoinOrderBody(Body):
    """A market buy or sell of ``amount`` coins for cash."""

    user: UserId
    coin: Coin
    amount: Units
    transactionNum: TxnNum | None = None


class MarginTermsBody(Body):
    """What a margin position would be: coin, side, leverage (2-5) and margin (dollars)."""

    coin: Coin
    side: Literal["long", "short"]
    leverage: Annotated[int, Field(ge=2, le=5)]
    margin: Cents


class MarginOpenBody(MarginTermsBody):
    """Open an isolated margin position for ``user``."""

    user: UserId
    transactionNum: TxnNum | None = None


class MarginCloseBody(Body):
    """Close ``user``'s position in ``coin`` at market."""

    user: UserId
    coin: Coin
    transactionNum: TxnNum | None = None


class StopOrderBody(Body):
    """A stop order: ``price`` for stop-loss and take-profit, ``trail_bp`` for a
    trailing stop; ``amount`` (coins) for a holding, none for a position."""

    user: UserId
    coin: Coin
    kind: Literal["stop_loss", "take_profit", "trailing"]
    target: Literal["holding", "position"] = "holding"
    amount: Units | None = None
    price: Price | None = None
    trail_bp: Annotated[int, Field(ge=10, le=5000)] | None = None
    transactionNum: TxnNum | None = None


class StopCancelBody(Body):
    user: UserId
    id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")]
    transactionNum: TxnNum | None = None


class BacktestBody(Body):
    """A volatility-breakout backtest: the last ``days`` daily candles of ``coin`` with
    ``k`` (a decimal, 0.01-2.00) or "auto" (k = 0.1 ... 0.9, the best return kept)."""

    coin: Coin
    days: Annotated[int, Field(ge=3, le=1000)] = 365
    k: Annotated[str, StringConstraints(pattern=r"^(auto|[0-1](\.[0-9]{1,2})?|2(\.0{1,2})?)$")] = (
        "auto"
    )


class StrategyBody(Body):
    """Run the volatility breakout on ``coin``: ``k`` ("0.5" or "auto"), ``budget``
    (dollars per trade), ``mode`` (live or paper), ``period_s`` (a day by default)."""

    user: UserId
    coin: Coin
    k: Annotated[str, StringConstraints(pattern=r"^(auto|[0-1](\.[0-9]{1,2})?|2(\.0{1,2})?)$")] = (
        "auto"
    )
    budget: Cents
    mode: Literal["live", "paper"] = "paper"
    period_s: Annotated[int, Field(ge=1, le=31_536_000)] = 86_400
    transactionNum: TxnNum | None = None


class StrategyStopBody(Body):
    user: UserId
    coin: Coin
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
