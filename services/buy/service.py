"""Use cases of the buy service."""

from __future__ import annotations

from ..common.backend import Backend
from ..common.domain import account as rules
from ..common.ledger import Command
from ..common.presenters import money_fields


def buy(b: Backend, cmd: Command) -> dict:
    """BUY: reserve the cost of whole shares at a valid quote, pending for 60 s.

    Errors: NotFound (no account), InsufficientFunds, ZeroShares, UpstreamUnavailable.
    """
    with b.ledger.logging_failures(cmd):
        # Checked before the quote, so a command that must fail costs no quote hit.
        first = b.ledger.precheck(cmd, lambda a: rules.check_buy(a, cmd.funds))
        if first is not None:
            return money_fields(first)
        quote = b.quotes.get(cmd.symbol, cmd.user)
    cmd = cmd.with_quote(quote)
    change = b.ledger.run(
        cmd,
        lambda a: rules.buy(a, cmd.symbol, cmd.funds, quote.price, b.clock_ms(), cmd.txn),
    )
    return money_fields(change.result)


def commit_buy(b: Backend, cmd: Command) -> dict:
    """COMMIT_BUY: the newest live pending buy becomes shares. Errors: NothingPending."""
    return money_fields(b.ledger.run(cmd, rules.commit_buy).result)


def cancel_buy(b: Backend, cmd: Command) -> dict:
    """CANCEL_BUY: the newest live pending buy's cost returns. Errors: NothingPending."""
    return money_fields(b.ledger.run(cmd, rules.cancel_buy).result)


def set_buy_amount(b: Backend, cmd: Command) -> dict:
    """SET_BUY_AMOUNT: reserve cash for an automatic buy. Errors: InsufficientFunds."""
    return money_fields(
        b.ledger.run(cmd, lambda a: rules.set_buy_amount(a, cmd.symbol, cmd.funds)).result
    )


def set_buy_trigger(b: Backend, cmd: Command) -> dict:
    """SET_BUY_TRIGGER: arm the automatic buy at a price. Errors: NoSetup."""
    return money_fields(
        b.ledger.run(cmd, lambda a: rules.set_buy_trigger(a, cmd.symbol, cmd.funds, cmd.txn)).result
    )


def cancel_set_buy(b: Backend, cmd: Command) -> dict:
    """CANCEL_SET_BUY: drop the automatic buy, refunding its reserve. Errors: NoSetup."""
    return money_fields(b.ledger.run(cmd, lambda a: rules.cancel_set_buy(a, cmd.symbol)).result)
