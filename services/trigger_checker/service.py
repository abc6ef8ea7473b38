"""One pass of the trigger checker."""

from __future__ import annotations

import functools
import logging

from ..common.backend import Backend
from ..common.domain import account as rules
from ..common.errors import PlatformError

log = logging.getLogger(__name__)


def check_triggers(backend: Backend) -> int:
    """Quote every symbol with an armed setup and fire what the price satisfies.

    Only symbols with an armed trigger are quoted, from the cache while valid; a real
    hit is logged with the transaction number of a SET_*_TRIGGER it serves. The armed
    accounts are read once, at the start of the pass; one is locked only when that read
    shows that something fires, and then the rule runs again on what the lock guards
    (a setup cancelled since is not fired). Returns how many setups fired.
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
        fire = functools.partial(_fire, symbol=symbol, price=quote.price)
        for account in accounts:
            if not fire(account).fired:
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
    return None


def _fire(account: rules.Account, symbol: str, price: int) -> rules.Change:
    return rules.fire_triggers(account, symbol, price)
