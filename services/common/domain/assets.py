"""Per-asset balances of a user, and the double-entry movements that change them.

A user's coins (DTC, DUSD, BTC, ETH and the rest of the market feed's coins) live in
their trading account (``Account.assets``), next to their cash, so a coin order, a
deposit or a withdrawal is changed under the same user lock, by the same unit of work
(``services/common/ledger.py``) and stored in the same single write as a stock command.

Amounts are integer *units*: 1 coin = 10^8 units (``money.UNITS_PER_COIN``).

Every change of a balance is an ``AssetMove``: ``units`` of ``asset`` from one ledger
account to another, with a reason and a reference (an order's transaction number, a
deposit's txid, a withdrawal's id). Ledger accounts are strings:

- ``user:<name>``         the user's available balance;
- ``user:<name>:locked``  the user's locked balance (a withdrawal in progress);
- system accounts (``EXCHANGE``, ``FEES``, ``CHAIN``, ``HOT``, ``COLD``, ...), whose
  balances are the other side of every user's.

A movement always has both sides, so every asset sums to zero over all ledger accounts,
and each user's ``available`` / ``locked`` equals the sum of that ledger account's moves
in minus moves out (the wallet ledger, collection ``wallet_ledger``, is the record;
``WalletLedgerRepository.balances`` re-derives them).

Rules never build moves by hand for a user's account: ``credit``, ``debit``, ``lock`` and
``unlock`` below change the balance and return the matching move together, so the two
can never disagree. Higher-level rules (``domain/wallet.py``, ``domain/exchange.py``)
are built from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ..errors import InsufficientAssets, InvalidInput
from .money import format_units

#: System ledger accounts (the other side of users' balances).
EXCHANGE = "exchange"  # the market: coins bought by users come from here, sold go back
FEES = "fees"  # fees the platform took in coins (e.g. a withdrawal's network fee)
CHAIN = "chain"  # the outside world on chain: deposits come from it, withdrawals go to it
HOT = "hot"  # the platform's hot wallet (the wallet service's sweeps)
COLD = "cold"  # the cold wallet
SYSTEM_ACCOUNTS = frozenset({EXCHANGE, FEES, CHAIN, HOT, COLD})

#: Reasons of the moves the shared rules make.
BUY = "buy"
SELL = "sell"
DEPOSIT = "deposit"
WITHDRAWAL_LOCK = "withdrawal_lock"
WITHDRAWAL_UNLOCK = "withdrawal_unlock"
WITHDRAWAL_SENT = "withdrawal_sent"
WITHDRAWAL_FEE = "withdrawal_fee"

ASSET = re.compile(r"[A-Z0-9]{2,10}")


def check_asset(value: object) -> str:
    """Return ``value`` if it is an asset name (2-10 of ``[A-Z0-9]``), else InvalidInput."""
    if not isinstance(value, str) or not ASSET.fullmatch(value):
        raise InvalidInput("asset must be 2-10 upper-case letters or digits, such as BTC")
    return value


def available_account(user: str) -> str:
    """The ledger account of ``user``'s available balance."""
    return f"user:{user}"


def locked_account(user: str) -> str:
    """The ledger account of ``user``'s locked balance."""
    return f"user:{user}:locked"


@dataclass(frozen=True)
class AssetBalance:
    """A user's holding of one asset.

    ``available`` and ``locked`` are units. ``cost_cents`` is what the units held
    (available + locked) cost in cash, fees included: coins bought add their cost,
    coins that leave take their share of it away (average cost), coins deposited or
    mined add none (they cost no cash, so their whole value is profit).
    ``realised_cents`` is the profit or loss of the coins already sold for cash.
    """

    available: int = 0
    locked: int = 0
    cost_cents: int = 0
    realised_cents: int = 0

    @property
    def total(self) -> int:
        return self.available + self.locked

    @property
    def is_empty(self) -> bool:
        return self == AssetBalance()


@dataclass(frozen=True)
class AssetMove:
    """``units`` of ``asset`` from ledger account ``source`` to ``target``.

    ``ref`` names what caused it (an order's transaction number, a deposit's txid...);
    ``detail`` carries what a history shows beside it (an order's price and cash).
    """

    asset: str
    units: int
    source: str
    target: str
    reason: str
    ref: str
    detail: Mapping = field(default_factory=lambda: MappingProxyType({}), compare=False)


EMPTY = AssetBalance()


def balance_of(assets: Mapping[str, AssetBalance], asset: str) -> AssetBalance:
    """The holding of ``asset`` (an empty one if there is none)."""
    return assets.get(asset, EMPTY)


def with_balance(
    assets: Mapping[str, AssetBalance], asset: str, balance: AssetBalance
) -> Mapping[str, AssetBalance]:
    """``assets`` with ``asset``'s holding replaced (dropped when it is empty)."""
    if balance.available < 0 or balance.locked < 0:
        raise AssertionError(f"balance of {asset} would become negative")
    updated = dict(assets)
    if balance.is_empty:
        updated.pop(asset, None)
    else:
        updated[asset] = balance
    return MappingProxyType(updated)


def _require_positive(units: int) -> None:
    if type(units) is not int or units <= 0:
        raise InvalidInput("an asset amount must be a positive whole number of units")


def credit(
    user: str,
    balance: AssetBalance,
    asset: str,
    units: int,
    source: str,
    reason: str,
    ref: str,
    cost_cents: int = 0,
    detail: Mapping | None = None,
) -> tuple[AssetBalance, AssetMove]:
    """``units`` into ``user``'s available balance from ledger account ``source``;
    ``cost_cents`` is what they cost (0 for a deposit)."""
    _require_positive(units)
    updated = replace(
        balance,
        available=balance.available + units,
        cost_cents=balance.cost_cents + cost_cents,
    )
    move = AssetMove(
        asset,
        units,
        source,
        available_account(user),
        reason,
        ref,
        MappingProxyType(dict(detail or {})),
    )
    return updated, move


def cost_share(balance: AssetBalance, units: int) -> int:
    """The part of ``balance``'s cost that ``units`` of it carry (average cost, rounded
    down, so the last unit to leave takes what is left)."""
    if units >= balance.total:
        return balance.cost_cents
    return balance.cost_cents * units // balance.total


def debit(
    user: str,
    balance: AssetBalance,
    asset: str,
    units: int,
    target: str,
    reason: str,
    ref: str,
    from_locked: bool = False,
    realised_cents: int = 0,
    detail: Mapping | None = None,
) -> tuple[AssetBalance, AssetMove]:
    """``units`` out of ``user``'s available (or locked) balance to ``target``; they take
    their share of the cost with them. InsufficientAssets (nothing changed) if short."""
    _require_positive(units)
    held = balance.locked if from_locked else balance.available
    if held < units:
        which = "locked" if from_locked else "available"
        raise InsufficientAssets(f"insufficient {asset}: {which} {_coins(held)} < {_coins(units)}")
    updated = replace(
        balance,
        cost_cents=balance.cost_cents - cost_share(balance, units),
        realised_cents=balance.realised_cents + realised_cents,
        **({"locked": held - units} if from_locked else {"available": held - units}),
    )
    source = locked_account(user) if from_locked else available_account(user)
    move = AssetMove(
        asset, units, source, target, reason, ref, MappingProxyType(dict(detail or {}))
    )
    return updated, move


def lock(
    user: str, balance: AssetBalance, asset: str, units: int, reason: str, ref: str
) -> tuple[AssetBalance, AssetMove]:
    """``units`` from available to locked. InsufficientAssets if available is short."""
    _require_positive(units)
    if balance.available < units:
        raise InsufficientAssets(
            f"insufficient {asset}: available {_coins(balance.available)} < {_coins(units)}"
        )
    updated = replace(balance, available=balance.available - units, locked=balance.locked + units)
    move = AssetMove(asset, units, available_account(user), locked_account(user), reason, ref)
    return updated, move


def unlock(
    user: str, balance: AssetBalance, asset: str, units: int, reason: str, ref: str
) -> tuple[AssetBalance, AssetMove]:
    """``units`` from locked back to available. InsufficientAssets if locked is short."""
    _require_positive(units)
    if balance.locked < units:
        raise InsufficientAssets(
            f"insufficient locked {asset}: {_coins(balance.locked)} < {_coins(units)}"
        )
    updated = replace(balance, available=balance.available + units, locked=balance.locked - units)
    move = AssetMove(asset, units, locked_account(user), available_account(user), reason, ref)
    return updated, move


def _coins(units: int) -> str:
    return format_units(units)
