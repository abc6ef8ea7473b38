"""Isolated margin positions, one per coin per user: pure rules.

A position is opened with ``margin`` cents of the user's cash at ``leverage`` (2-5):

- **long**: it buys coins worth ``margin x leverage`` (units rounded down, cost rounded
  up to the cent); the cash it borrowed (``debt``, cents) is that cost less the margin.
  Its assets are the coins; what it owes is the debt plus interest (cents).
- **short**: it borrows coins worth ``margin x (leverage - 1)`` (``debt``, units) and
  sells them (proceeds rounded down); its assets are the margin plus the proceeds
  (``cash``, cents); what it owes is the coins plus interest (units).

Interest accrues on the amount borrowed by the hour: each hour begun since the opening
(the first at once) adds ``interest_ppm`` millionths of it, rounded up.

**Margin level** = assets / (debt + interest), both valued at the price now. A level at
or below ``CALL_LEVEL`` (1.3) raises a margin call; at or below ``LIQUIDATION_LEVEL``
(1.1) the position is liquidated: closed at market, the debt and interest repaid, the
remainder returned to the user's cash. When the remainder is negative the platform's
insurance fund covers it (a wallet-ledger entry from ``INSURANCE`` to ``LENDING``), so
no balance ever goes negative.

The user pays the margin and the opening fee from cash (accountTransactions ``remove``)
and gets the remainder back on closing (``add``); the fee of the closing trade is taken
from the position. Coins move in the wallet ledger between ``exchange``, ``lending`` and
the position's own ledger account ``margin:<user>:<coin>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..errors import Conflict, InsufficientFunds, InvalidInput, NotFound, OrderTooSmall
from . import assets
from .account import ADD, REMOVE, Account, CashMove, Change, paid_with_fee
from .money import (
    VALUE_PER_CENT,
    fee_cents_up,
    format_cents,
    value_cents_down,
    value_cents_up,
)

LONG = "long"
SHORT = "short"
SIDES = (LONG, SHORT)
MIN_LEVERAGE, MAX_LEVERAGE = 2, 5
# Levels in tenths: 1.3 and 1.1, compared exactly as integers.
CALL_LEVEL_TENTHS = 13
LIQUIDATION_LEVEL_TENTHS = 11
HOUR_MS = 3_600_000
LENDING = "lending"  # the lender of margin loans (the other side of borrowed coins)
INSURANCE = "insurance"  # the insurance fund: covers what a liquidation leaves unpaid
USD = "USD"  # cash in the wallet ledger's insurance entries: units are cents

OPEN = "margin_open"
CLOSE = "margin_close"
LIQUIDATION = "margin_liquidation"
CALL = "margin_call"


class PositionOpen(Conflict):
    code = "position_open"


class TooManyPositions(Conflict):
    code = "too_many_positions"


def position_account(user: str, coin: str) -> str:
    """The wallet-ledger account of ``user``'s isolated position in ``coin``."""
    return f"margin:{user}:{coin}"


@dataclass(frozen=True)
class MarginPosition:
    """One isolated position (see the module's docstring for long and short)."""

    coin: str
    side: str
    leverage: int
    margin: int  # cents the user put in
    units: int  # long: coins held; short: coins borrowed and sold
    debt: int  # long: cents borrowed; short: units borrowed
    cash: int  # long: 0; short: cents held (margin + proceeds)
    entry_price: int
    opened_ms: int
    txn: int
    called: bool = False  # a margin call was raised

    def interest(self, now_ms: int, interest_ppm: int) -> int:
        """Interest owed at ``now_ms``: cents (long) or units (short), rounded up."""
        hours = max(1, -(-(now_ms - self.opened_ms) // HOUR_MS))
        return -(-self.debt * interest_ppm * hours // 1_000_000)

    def owed(self, now_ms: int, interest_ppm: int) -> int:
        return self.debt + self.interest(now_ms, interest_ppm)

    def _ratio(self, price: int, now_ms: int, interest_ppm: int) -> tuple[int, int]:
        """(assets, owed) in the same unit (10^-12 dollar)."""
        owed = self.owed(now_ms, interest_ppm)
        if self.side == LONG:
            return self.units * price, owed * VALUE_PER_CENT
        return self.cash * VALUE_PER_CENT, owed * price

    def level_at_or_below(self, tenths: int, price: int, now_ms: int, ppm: int) -> bool:
        """Whether the margin level at ``price`` is at or below ``tenths`` / 10."""
        held, owed = self._ratio(price, now_ms, ppm)
        return held * 10 <= tenths * owed

    def level_bp(self, price: int, now_ms: int, interest_ppm: int) -> int:
        """The margin level in ten-thousandths (rounded down), for display."""
        held, owed = self._ratio(price, now_ms, interest_ppm)
        return held * 10_000 // owed

    def price_at_level(self, tenths: int, now_ms: int, interest_ppm: int) -> int:
        """The price at which the level reaches ``tenths`` / 10 (the liquidation price at
        11, the margin-call price at 13), rounded so that it is reached there."""
        owed = self.owed(now_ms, interest_ppm)
        if self.side == LONG:  # units x p = level x owed: falls to it (round down)
            return tenths * owed * VALUE_PER_CENT // (10 * self.units)
        # cash = level x owed x p: rises to it (round up)
        return -(-10 * self.cash * VALUE_PER_CENT // (tenths * owed))


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def _check_terms(side: str, leverage: int, margin: int) -> None:
    if side not in SIDES:
        raise InvalidInput(f"side must be {LONG} or {SHORT}")
    if type(leverage) is not int or not MIN_LEVERAGE <= leverage <= MAX_LEVERAGE:
        raise InvalidInput(f"leverage must be a whole number from {MIN_LEVERAGE} to {MAX_LEVERAGE}")
    if type(margin) is not int or margin <= 0:
        raise InvalidInput("margin must be greater than 0.00")


def plan(
    coin: str,
    side: str,
    leverage: int,
    margin: int,
    price: int,
    fee_bp: int,
    now_ms: int,
    txn: int,
) -> tuple[MarginPosition, int, int]:
    """The position that opening would create, its opening fee and, for a short, the
    sale proceeds (what the preview shows, and what ``open_position`` does)."""
    _check_terms(side, leverage, margin)
    if side == LONG:
        units = margin * leverage * VALUE_PER_CENT // price
        if units == 0 or value_cents_down(units, price) == 0:
            raise OrderTooSmall(f"{format_cents(margin)} at {leverage}x buys no {coin}")
        cost = value_cents_up(units, price)
        position = MarginPosition(
            coin, side, leverage, margin, units, cost - margin, 0, price, now_ms, txn
        )
        return position, fee_cents_up(units, price, fee_bp), 0
    units = margin * (leverage - 1) * VALUE_PER_CENT // price
    proceeds = value_cents_down(units, price)
    if units == 0 or proceeds == 0:
        raise OrderTooSmall(f"{format_cents(margin)} at {leverage}x borrows no {coin}")
    position = MarginPosition(
        coin, side, leverage, margin, units, units, margin + proceeds, price, now_ms, txn
    )
    return position, fee_cents_up(units, price, fee_bp), proceeds


def open_position(
    account: Account,
    coin: str,
    side: str,
    leverage: int,
    margin: int,
    price: int,
    fee_bp: int,
    now_ms: int,
    txn: int,
    max_positions: int,
    interest_ppm: int,
) -> Change:
    """Open an isolated position: margin + fee leave cash. PositionOpen (one per coin),
    TooManyPositions, InsufficientFunds, OrderTooSmall, InvalidInput: nothing changed."""
    if coin in account.positions:
        raise PositionOpen(f"a {coin} position is already open; close it first")
    if len(account.positions) >= max_positions:
        raise TooManyPositions(f"at most {max_positions} open positions")
    position, fee, _ = plan(coin, side, leverage, margin, price, fee_bp, now_ms, txn)
    if account.cash < margin + fee:
        raise InsufficientFunds(
            f"insufficient funds: cash {format_cents(account.cash)} < margin "
            f"{format_cents(margin)} + fee {format_cents(fee)}"
        )
    ref, mine = str(txn), position_account(account.user, coin)
    if side == LONG:
        movements = (assets.AssetMove(coin, position.units, assets.EXCHANGE, mine, OPEN, ref),)
    else:
        movements = (
            assets.AssetMove(coin, position.units, LENDING, mine, OPEN, ref),
            assets.AssetMove(coin, position.units, mine, assets.EXCHANGE, OPEN, ref),
        )
    updated = replace(
        account,
        cash=account.cash - margin - fee,
        positions=_frozen({**account.positions, coin: position}),
    )
    moves = paid_with_fee(CashMove(REMOVE, margin), fee)
    result = {
        "coin": coin,
        "side": side,
        "leverage": leverage,
        "margin": margin,
        "units": position.units,
        "debt": position.debt,
        "interest": position.interest(now_ms, interest_ppm),
        "price": price,
        "fee": fee,
        "liquidation_price": position.price_at_level(
            LIQUIDATION_LEVEL_TENTHS, now_ms, interest_ppm
        ),
        "margin_call_price": position.price_at_level(CALL_LEVEL_TENTHS, now_ms, interest_ppm),
        "cash": updated.cash,
    }
    return Change(updated, moves, movements=movements, result=result)


def close_position(
    account: Account,
    coin: str,
    price: int,
    fee_bp: int,
    now_ms: int,
    interest_ppm: int,
    reason: str = CLOSE,
) -> Change:
    """Close ``coin``'s position at ``price``: repay debt and interest, the remainder to
    cash; a shortfall is the insurance fund's. NotFound when there is none."""
    position = account.positions.get(coin)
    if position is None:
        raise NotFound(f"no open {coin} position")
    interest = position.interest(now_ms, interest_ppm)
    owed = position.debt + interest
    mine, ref = position_account(account.user, coin), str(position.txn)
    if position.side == LONG:
        proceeds = value_cents_down(position.units, price)
        fee = fee_cents_up(position.units, price, fee_bp)
        remainder = proceeds - fee - owed
        movements = (assets.AssetMove(coin, position.units, mine, assets.EXCHANGE, reason, ref),)
    else:
        cost = value_cents_up(owed, price)
        fee = fee_cents_up(owed, price, fee_bp)
        remainder = position.cash - cost - fee
        movements = (
            assets.AssetMove(coin, owed, assets.EXCHANGE, mine, reason, ref),
            assets.AssetMove(coin, owed, mine, LENDING, reason, ref),
        )
    shortfall = max(0, -remainder)
    if shortfall:
        movements += (assets.AssetMove(USD, shortfall, INSURANCE, LENDING, reason, ref),)
    returned = max(0, remainder)
    updated = replace(
        account,
        cash=account.cash + returned,
        positions=_frozen({c: p for c, p in account.positions.items() if c != coin}),
    )
    moves = (CashMove(ADD, returned, position.txn),) if returned else ()
    return Change(
        updated,
        moves,
        movements=movements,
        result={
            "coin": coin,
            "side": position.side,
            "price": price,
            "fee": fee,
            "interest": interest,
            "returned": returned,
            "shortfall": shortfall,
            "pnl": returned - position.margin,
            "reason": reason,
        },
    )


def liquidate_if_due(
    account: Account, coin: str, price: int, fee_bp: int, now_ms: int, interest_ppm: int
) -> Change:
    """The checker's rule: liquidate ``coin``'s position if its level at ``price`` is at
    or below 1.1, else raise the margin call once if at or below 1.3, else nothing.
    Checked again under the lock, so a position closed meanwhile is left alone."""
    position = account.positions.get(coin)
    if position is None:
        return Change(account)
    if position.level_at_or_below(LIQUIDATION_LEVEL_TENTHS, price, now_ms, interest_ppm):
        return close_position(account, coin, price, fee_bp, now_ms, interest_ppm, LIQUIDATION)
    if not position.called and position.level_at_or_below(
        CALL_LEVEL_TENTHS, price, now_ms, interest_ppm
    ):
        called = replace(position, called=True)
        updated = replace(account, positions=_frozen({**account.positions, coin: called}))
        return Change(updated, result={"coin": coin, "reason": CALL})
    return Change(account)
