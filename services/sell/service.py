"""Use cases of the sell service."""

from __future__ import annotations

from ..common.backend import Backend
from ..common.domain import account as rules
from ..common.ledger import Command
from ..common.presenters import money_fields


def sell(b: Backend, cmd: Command) -> dict:
    """SELL: set whole shares aside at a valid quote, pending for 60 s.

    Errors: NotFound, InsufficientShares, ZeroShares, UpstreamUnavailable.
    """
    with b.ledger.logging_failures(cmd):
        # Checked before the quote, so a command that must fail costs no quote hit.
        first = b.ledger.precheck(cmd, lambda a: rules.check_sell(a, cmd.symbol))
        if first is not None:
            return money_fields(first)
        quote = b.quotes.get(cmd.symbol, cmd.user)
    cmd = cmd.with_quote(quote)
    change = b.ledger.run(
        cmd,
        lambda a: rules.sell(a, cmd.symbol, cmd.funds, quote.price, b.clock_ms(), cmd.txn),
    )
    return money_fields(change.result)


def commit_sell(b: Backend, cmd: Command) -> dict:
    """COMMIT_SELL: the newest live pending sell's proceeds join cash. Errors: NothingPending."""
    return money_fields(b.ledger.run(cmd, rules.commit_sell).result)


def cancel_sell(b: Backend, cmd: Command) -> dict:
    """CANCEL_SELL: the newest live pending sell's shares return. Errors: NothingPending."""
    return money_fields(b.ledger.run(cmd, rules.cancel_sell).result)


def set_sell_amount(b: Backend, cmd: Command) -> dict:
    """SET_SELL_AMOUNT: create or change an automatic sell. Errors: InsufficientShares."""
    return money_fields(
        b.ledger.run(cmd, lambda a: rules.set_sell_amount(a, cmd.symbol, cmd.funds)).result
    )


def set_sell_trigger(b: Backend, cmd: Command) -> dict:
    """SET_SELL_TRIGGER: set shares aside, arm the automatic sell. Errors: NoSetup, ZeroShares."""
    return money_fields(
        b.ledger.run(
            cmd, lambda a: rules.set_sell_trigger(a, cmd.symbol, cmd.funds, cmd.txn)
        ).result
    )


def cancel_set_sell(b: Backend, cmd: Command) -> dict:
    """CANCEL_SET_SELL: drop the automatic sell; its shares return. Errors: NoSetup."""
    return money_fields(b.ledger.run(cmd, lambda a: rules.cancel_set_sell(a, cmd.symbol)).result)
