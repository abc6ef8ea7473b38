"""One pass of the trigger checker."""

from __future__ import annotations

import functools
import logging

from ..common.backend import Backend
from ..common.domain import account as rules
from ..common.domain import stock_stops
from ..common.errors import PlatformError

log = logging.getLogger(__name__)


def check_triggers(backend: Backend) -> int:
    """Quote every symbol with an armed setup or an open stop-loss and fire what the
    price satisfies.

    Only those symbols are quoted, from the cache while valid (so a symbol costs at most
    one quote-server hit per QUOTE_TTL_S, however many setups and stops watch it); a real
    hit is logged with the transaction number of a SET_*_TRIGGER or stop-loss it serves.
    The armed accounts are read once, at the start of the pass; one is locked only when
    that read shows that something fires, and then the rules run again on what the lock
    guards (a setup cancelled or a stop filled since is not fired again). Returns how
    many setups and stops sold or bought.
    """
    fired = 0
    armed = backend.accounts.armed()
    backend.armed_symbols.replace(armed)  # the platform-wide bound counts these
    for symbol, accounts in armed.items():
        first = accounts[0]
        txn = _trigger_txn(first, symbol)
        try:
            quote = backend.quotes.get(symbol, first.user)
        except PlatformError as exc:
            log.warning("no quote for %s this round: %s", symbol, exc.message)
            continue
        if quote.hit:  # every hit is logged, under a number of its own if need be
            backend.ledger.record_quote_hit(quote, txn if txn is not None else backend.txns.next())
        fire = functools.partial(_fire, symbol=symbol, price=quote.price, now_ms=backend.clock_ms())
        for account in accounts:
            if fire(account).account is account:  # nothing due
                continue
            try:
                change = backend.ledger.run_system(account.user, fire)
            except PlatformError as exc:
                log.warning(
                    "trigger for %s on %s not fired this round: %s", account.user, symbol, exc
                )
                continue
            fired += len(change.fired)
    return fired


def _trigger_txn(account: rules.Account, symbol: str) -> int | None:
    for setup in (account.buy_setups.get(symbol), account.sell_setups.get(symbol)):
        if setup is not None and setup.txn is not None:
            return setup.txn
    for stop in stock_stops.open_stops(account):
        if stop.symbol == symbol:
            return int(stop.id)
    return None


def _fire(account: rules.Account, symbol: str, price: int, now_ms: int) -> rules.Change:
    """The DTS triggers on ``symbol``, then its stop-losses, at ``price``."""
    triggered = rules.fire_triggers(account, symbol, price)
    return triggered.then(stock_stops.fire(triggered.account, symbol, price, now_ms))
