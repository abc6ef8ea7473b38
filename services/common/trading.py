"""Use cases of the stock trading commands.

The buy, sell and user-utilities services each route their own commands here, and
BATCH (user-utilities) runs any of them under one hold of an account, so they live in
``common`` rather than in one service. Each takes a ``Trading`` context: the unit of
work that runs the command (the ledger, or a batch's account session), the quote cache
and the clock; nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from . import presenters
from .cache import ArmedSymbols, QuoteCache
from .domain import account as rules
from .domain import stock_stops
from .domain.money import format_cents
from .errors import TooManyArmedSymbols
from .ledger import Command, CommandRunner
from .presenters import money_fields


@dataclass(frozen=True)
class Trading:
    """What a trading use case works with.

    ``ledger`` runs commands against accounts: the ledger itself, or a batch's account
    session (``within``), which answers the same calls for one user's account in memory.
    """

    ledger: CommandRunner
    quotes: QuoteCache
    clock_ms: Callable[[], int]
    quote_ttl_ms: int
    pending_ttl_ms: int
    armed_symbols: ArmedSymbols  # the platform-wide bound on symbols with a trigger
    max_setups: int  # automatic buys and sells per user
    max_stops: int  # open stop-losses on holdings per user (STOP_MAX_ORDERS)

    def within(self, session: CommandRunner) -> Trading:
        """This context with commands run by ``session`` (a batch's account session)."""
        return replace(self, ledger=session)


# --- buy ---------------------------------------------------------------------------


def buy(trading: Trading, cmd: Command) -> dict:
    """BUY: reserve the cost of whole shares at a valid quote, pending for 60 s.

    Errors: NotFound (no account), InsufficientFunds, ZeroShares, UpstreamUnavailable.
    """
    return _at_a_valid_quote(trading, cmd, lambda a: rules.check_buy(a, cmd.funds), rules.buy)


def commit_buy(trading: Trading, cmd: Command) -> dict:
    """COMMIT_BUY: the newest live pending buy becomes shares. Errors: NothingPending."""
    return money_fields(trading.ledger.run(cmd, rules.commit_buy).result)


def cancel_buy(trading: Trading, cmd: Command) -> dict:
    """CANCEL_BUY: the newest live pending buy's cost returns. Errors: NothingPending."""
    return money_fields(trading.ledger.run(cmd, rules.cancel_buy).result)


def set_buy_amount(trading: Trading, cmd: Command) -> dict:
    """SET_BUY_AMOUNT: reserve cash for an automatic buy.

    Errors: InsufficientFunds, TooManySetups (a new one beyond MAX_SETUPS_PER_USER).
    """
    return _set_amount(trading, cmd, "buy", rules.set_buy_amount)


def set_buy_trigger(trading: Trading, cmd: Command) -> dict:
    """SET_BUY_TRIGGER: arm the automatic buy at a price.

    Errors: NoSetup, TooManyArmedSymbols (a new symbol beyond MAX_ARMED_SYMBOLS).
    """
    return _set_trigger(trading, cmd, rules.set_buy_trigger)


def cancel_set_buy(trading: Trading, cmd: Command) -> dict:
    """CANCEL_SET_BUY: drop the automatic buy, refunding its reserve. Errors: NoSetup."""
    return money_fields(
        trading.ledger.run(cmd, lambda a: rules.cancel_set_buy(a, cmd.symbol)).result
    )


# --- sell --------------------------------------------------------------------------


def sell(trading: Trading, cmd: Command) -> dict:
    """SELL: set whole shares aside at a valid quote, pending for 60 s.

    Errors: NotFound, InsufficientShares, ZeroShares, UpstreamUnavailable.
    """
    return _at_a_valid_quote(trading, cmd, lambda a: rules.check_sell(a, cmd.symbol), rules.sell)


def _at_a_valid_quote(trading: Trading, cmd: Command, check, rule) -> dict:
    """BUY or SELL: ``check`` the account, then pay for a quote and apply ``rule``
    (``rules.buy`` or ``rules.sell``) at its price, pending from now."""
    with trading.ledger.logging_failures(cmd):
        # Checked before the quote, so a command that must fail costs no quote hit.
        first = trading.ledger.precheck(cmd, check)
        if first is not None:
            return money_fields(first)
        quote = trading.quotes.get(cmd.symbol, cmd.user)
    cmd = cmd.with_quote(quote)
    change = trading.ledger.run(
        cmd,
        lambda a: rule(a, cmd.symbol, cmd.funds, quote.price, trading.clock_ms(), cmd.txn),
    )
    return money_fields(change.result)


def commit_sell(trading: Trading, cmd: Command) -> dict:
    """COMMIT_SELL: the newest live pending sell's proceeds join cash. Errors: NothingPending."""
    return money_fields(trading.ledger.run(cmd, rules.commit_sell).result)


def cancel_sell(trading: Trading, cmd: Command) -> dict:
    """CANCEL_SELL: the newest live pending sell's shares return. Errors: NothingPending."""
    return money_fields(trading.ledger.run(cmd, rules.cancel_sell).result)


def set_sell_amount(trading: Trading, cmd: Command) -> dict:
    """SET_SELL_AMOUNT: create or change an automatic sell.

    Errors: InsufficientShares, TooManySetups (a new one beyond MAX_SETUPS_PER_USER).
    """
    return _set_amount(trading, cmd, "sell", rules.set_sell_amount)


def set_sell_trigger(trading: Trading, cmd: Command) -> dict:
    """SET_SELL_TRIGGER: set shares aside, arm the automatic sell.

    Errors: NoSetup, ZeroShares, TooManyArmedSymbols (a new symbol beyond the bound).
    """
    return _set_trigger(trading, cmd, rules.set_sell_trigger)


def cancel_set_sell(trading: Trading, cmd: Command) -> dict:
    """CANCEL_SET_SELL: drop the automatic sell; its shares return. Errors: NoSetup."""
    return money_fields(
        trading.ledger.run(cmd, lambda a: rules.cancel_set_sell(a, cmd.symbol)).result
    )


def _admit_symbol(trading: Trading, cmd: Command) -> None:
    """Refuse to arm a symbol nobody has armed once the platform watches as many as it
    may: every armed symbol is a billed quote per QUOTE_TTL_S (logged as the command's
    failure)."""
    with trading.ledger.logging_failures(cmd):
        if not trading.armed_symbols.admit(cmd.symbol):
            raise TooManyArmedSymbols(
                f"the platform watches {trading.armed_symbols.limit} symbols for triggers "
                f"already; {cmd.symbol} cannot be armed now"
            )


# --- automatic buys and sells, either side ------------------------------------------


def _set_amount(
    trading: Trading,
    cmd: Command,
    side: str,
    set_amount: Callable[[rules.Account, str, int], rules.Change],
) -> dict:
    """SET_BUY_AMOUNT or SET_SELL_AMOUNT (``side``): a new setup only while the user has
    room for one, then ``set_amount`` (``rules.set_buy_amount`` or ``set_sell_amount``)."""

    def rule(account: rules.Account) -> rules.Change:
        rules.check_room_for_setup(account, cmd.symbol, side, trading.max_setups)
        return set_amount(account, cmd.symbol, cmd.funds)

    return money_fields(trading.ledger.run(cmd, rule).result)


def _set_trigger(
    trading: Trading,
    cmd: Command,
    set_trigger: Callable[[rules.Account, str, int, int], rules.Change],
) -> dict:
    """SET_BUY_TRIGGER or SET_SELL_TRIGGER: the symbol admitted among the watched ones,
    then ``set_trigger`` (``rules.set_buy_trigger`` or ``set_sell_trigger``) at the
    command's price."""
    _admit_symbol(trading, cmd)
    change = trading.ledger.run(cmd, lambda a: set_trigger(a, cmd.symbol, cmd.funds, cmd.txn))
    return money_fields(change.result)


# --- stop-losses on holdings --------------------------------------------------------

PLACE_STOP = "STOCK_STOP_PLACE"
CANCEL_STOP = "STOCK_STOP_CANCEL"


def show_stop(stop: stock_stops.StockStop) -> dict:
    """A stop-loss as the API shows it (money as dollar strings)."""
    filled = stop.status == stock_stops.FILLED
    return {
        "id": stop.id,
        "symbol": stop.symbol,
        "shares": "all" if stop.shares == stock_stops.ALL else stop.shares,
        "stop": format_cents(stop.stop),
        "status": stop.status,
        "created": stop.created_ms,
        "sold": stop.sold if filled else None,
        "price": format_cents(stop.price) if filled else None,
        "proceeds": format_cents(stop.proceeds) if filled else None,
        "closed": stop.closed_ms or None,
    }


def place_stop(trading: Trading, cmd: Command, shares: int) -> dict:
    """Place a stop-loss on ``shares`` (ALL: the whole holding) of ``cmd.symbol`` at
    ``cmd.funds`` cents, below the valid quote now (paid for only once the holding is
    checked). Its symbol joins the trigger checker's watched symbols.

    Errors: NotFound (no account), InsufficientShares, TooManyStockStops,
    TooManyArmedSymbols, InvalidInput (a stop at or above the market), UpstreamUnavailable.
    """
    with trading.ledger.logging_failures(cmd):
        first = trading.ledger.precheck(
            cmd, lambda a: stock_stops.check_holding(a, cmd.symbol, shares)
        )
        if first is not None:  # a retry: the stop as it is now
            retried = trading.ledger.current(cmd.user).stock_stops.get(first["id"])
            return show_stop(retried) if retried is not None else dict(first)
    _admit_symbol(trading, cmd)
    with trading.ledger.logging_failures(cmd):
        quote = trading.quotes.get(cmd.symbol, cmd.user)
    cmd = cmd.with_quote(quote)
    change = trading.ledger.run(
        cmd,
        lambda a: stock_stops.place(
            a,
            str(cmd.txn),
            cmd.symbol,
            shares,
            cmd.funds,
            quote.price,
            trading.clock_ms(),
            trading.max_stops,
        ),
    )
    placed = change.account.stock_stops.get(change.result["id"])
    shown = show_stop(placed) if placed is not None else dict(change.result)  # a retry
    return {**shown, "quote": format_cents(quote.price)}


def cancel_stop(trading: Trading, cmd: Command, stop_id: str) -> dict:
    """Cancel an open stop-loss. Errors: NotFound, StopNotOpen (filled or lapsed)."""
    change = trading.ledger.run(cmd, lambda a: stock_stops.cancel(a, stop_id))
    return dict(change.result)


def list_stops(trading: Trading, user: str) -> dict:
    """``user``'s stop-losses: the open ones oldest first, then the closed ones (with
    their fills) newest first. Errors: NotFound."""
    account = trading.ledger.current(user)
    closed = sorted(
        (s for s in account.stock_stops.values() if not s.is_open),
        key=lambda s: (s.closed_ms, int(s.id)),
        reverse=True,
    )
    shown = [show_stop(s) for s in stock_stops.open_stops(account) + closed]
    return {"user": user, "stops": shown}


# --- the account ---------------------------------------------------------------------


def add(trading: Trading, cmd: Command) -> dict:
    """ADD: create the account if needed and add cash."""
    change = trading.ledger.run(cmd, lambda a: rules.add_funds(a, cmd.funds), create=True)
    return money_fields(change.result)


def quote(trading: Trading, cmd: Command) -> dict:
    """QUOTE: the symbol's price, from the cache while valid. Errors: NotFound, Upstream."""
    with trading.ledger.logging_failures(cmd):
        trading.ledger.current(cmd.user)  # the account must exist; no quote hit otherwise
        got = trading.quotes.get(cmd.symbol, cmd.user)
    trading.ledger.record(cmd.with_quote(got))
    valid_ms = trading.quote_ttl_ms - (trading.clock_ms() - got.fetched_ms)
    return money_fields(
        {
            "symbol": got.raw.symbol,
            "price": got.price,
            "quoted_at": got.fetched_ms,
            "seconds_valid": max(0, valid_ms // 1000),
            "from_cache": not got.hit,
        }
    )


def display_summary(trading: Trading, cmd: Command) -> dict:
    """DISPLAY_SUMMARY: cash, holdings, pending trades, setups and recent transactions."""
    change = trading.ledger.run(cmd, lambda a: rules.Change(a))
    return _summary(trading, change.account)


def account_view(trading: Trading, user: str) -> dict:
    """The account as DISPLAY_SUMMARY shows it, read without running (or logging) a command.

    Errors: NotFound.
    """
    return _summary(trading, trading.ledger.current(user))


def _summary(trading: Trading, account: rules.Account) -> dict:
    return presenters.account_view(account, trading.clock_ms(), trading.pending_ttl_ms)
