"""The catalogue of stock trading commands, and how a request becomes a ``Command``.

One table names every command: the service whose route takes it, that route's path, its
body model and its use case (``trading``). Each service's routes and BATCH (which runs
any of them for one user) read the same table, so no service imports another's.
Nothing here knows about HTTP: the web layer hands in the parsed body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from pydantic import BaseModel, ValidationError

from . import trading
from .auth import Principal
from .domain.identifiers import SYMBOL, USER_ID
from .domain.money import parse_cents
from .errors import InvalidInput
from .ledger import Command, CommandRunner
from .schemas import (
    AmountCommandBody,
    SymbolCommandBody,
    TradeCommandBody,
    UserCommandBody,
)

UseCase = Callable[[trading.Trading, Command], dict]


@dataclass(frozen=True)
class CommandSpec:
    """One trading command: its name, the service and path of its route, its body
    model and its use case."""

    name: str
    service: str
    path: str
    body: type[BaseModel]
    use_case: UseCase


CATALOGUE: Mapping[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("ADD", "users", "/add", AmountCommandBody, trading.add),
        CommandSpec("QUOTE", "users", "/quote", SymbolCommandBody, trading.quote),
        CommandSpec(
            "DISPLAY_SUMMARY", "users", "/display-summary", UserCommandBody, trading.display_summary
        ),
        CommandSpec("BUY", "buy", "/buy", TradeCommandBody, trading.buy),
        CommandSpec("COMMIT_BUY", "buy", "/commit-buy", UserCommandBody, trading.commit_buy),
        CommandSpec("CANCEL_BUY", "buy", "/cancel-buy", UserCommandBody, trading.cancel_buy),
        CommandSpec(
            "SET_BUY_AMOUNT", "buy", "/set-buy-amount", TradeCommandBody, trading.set_buy_amount
        ),
        # SET_*_TRIGGER's "amount" is the trigger price.
        CommandSpec(
            "SET_BUY_TRIGGER", "buy", "/set-buy-trigger", TradeCommandBody, trading.set_buy_trigger
        ),
        CommandSpec(
            "CANCEL_SET_BUY", "buy", "/cancel-set-buy", SymbolCommandBody, trading.cancel_set_buy
        ),
        CommandSpec("SELL", "sell", "/sell", TradeCommandBody, trading.sell),
        CommandSpec("COMMIT_SELL", "sell", "/commit-sell", UserCommandBody, trading.commit_sell),
        CommandSpec("CANCEL_SELL", "sell", "/cancel-sell", UserCommandBody, trading.cancel_sell),
        CommandSpec(
            "SET_SELL_AMOUNT", "sell", "/set-sell-amount", TradeCommandBody, trading.set_sell_amount
        ),
        CommandSpec(
            "SET_SELL_TRIGGER",
            "sell",
            "/set-sell-trigger",
            TradeCommandBody,
            trading.set_sell_trigger,
        ),
        CommandSpec(
            "CANCEL_SET_SELL",
            "sell",
            "/cancel-set-sell",
            SymbolCommandBody,
            trading.cancel_set_sell,
        ),
    )
}


def of_service(service: str) -> list[CommandSpec]:
    """The commands whose routes ``service`` serves (``buy``, ``sell`` or ``users``)."""
    return [spec for spec in CATALOGUE.values() if spec.service == service]


def parse_model(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate ``data`` against ``model``; InvalidInput names every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "value_error":  # our own validators: their message as written
            problems.append(str(err["ctx"]["error"]))
        else:
            problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def command_from(
    name: str, model: type[BaseModel], data: dict, txn: int, key: str | None = None
) -> Command:
    """The command ``name`` from its validated arguments; InvalidInput names bad ones."""
    body = parse_model(model, data)
    return Command(
        name,
        body.transactionNum or txn,
        user=body.user,
        symbol=getattr(body, "symbol", None),
        funds=getattr(body, "amount", None),
        key=key,
    )


def valid_txn(raw) -> int | None:
    """The body's transactionNum if it is usable as one, else None."""
    value = raw.get("transactionNum") if isinstance(raw, dict) else None
    if type(value) is int and 0 < value < 2**63:  # what the database can store
        return value
    return None


def record_invalid(
    caller: Principal, cmd: Command, raw, error: InvalidInput, ledger: CommandRunner
) -> None:
    """Log a rejected request as ``cmd`` with the arguments that were valid on their own.

    Nobody may write into the log of an account they may not act for (403 instead).
    """
    fields = _salvage(raw if isinstance(raw, dict) else {})
    caller.require_act_for(fields.get("user", caller.name))
    ledger.record_failure(replace(cmd, **fields), error)


def _salvage(raw: dict) -> dict:
    """The arguments of a rejected request that are valid on their own, for the log."""
    fields = {}
    user, symbol, amount = raw.get("user"), raw.get("symbol"), raw.get("amount")
    filename = raw.get("filename")
    if isinstance(filename, str) and 0 < len(filename) <= 255:
        fields["filename"] = filename
    if isinstance(user, str) and USER_ID.fullmatch(user):
        fields["user"] = user
    if isinstance(symbol, str) and SYMBOL.fullmatch(symbol):
        fields["symbol"] = symbol
    try:
        fields["funds"] = parse_cents(amount)
    except InvalidInput:
        pass
    return fields
