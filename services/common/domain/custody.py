"""Custody of users' coins on chain: deposits, withdrawals, sweeps and reserves.

Pure rules (no clock, database or network): the deposit and withdrawal state machines
of the spec, the fees, how a sweep is split between the hot and the cold wallet, and
how reserves are explained. The wallet service's use cases, block analyser and jobs
apply them; what a user's balance does is ``domain/wallet.py``'s.

Amounts are integer units (1 coin = 10^8 units); every network fee is paid in DTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ..errors import Conflict, InvalidInput
from . import assets
from .account import Account, Change

DTC = "DTC"
DUSD = "DUSD"
CHAIN_ASSETS = (DTC, DUSD)

# --- deposits ------------------------------------------------------------------------

SUBMITTED = "submitted"  # seen in a block, not yet confirmed enough
ACCEPTED = "accepted"  # credited to the user's available balance
COLLECTING = "collecting"  # a sweep that moves it to the platform's wallets is under way
COLLECTED = "collected"  # swept
SKIPPED = "skipped"  # credited, but too small to sweep on its own
ERRORED = "errored"  # its sweep failed; the collection job retries

DEPOSIT_STATES = (SUBMITTED, ACCEPTED, COLLECTING, COLLECTED, SKIPPED, ERRORED)
DEPOSIT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    SUBMITTED: frozenset({ACCEPTED}),
    ACCEPTED: frozenset({COLLECTING, SKIPPED}),
    # A skipped deposit is swept with the next sweep of its address.
    SKIPPED: frozenset({COLLECTING}),
    COLLECTING: frozenset({COLLECTED, ERRORED}),
    ERRORED: frozenset({COLLECTING}),
    COLLECTED: frozenset(),
}
#: States in which a deposit has been credited (a reorg of its block is an alert).
CREDITED_STATES = frozenset({ACCEPTED, COLLECTING, COLLECTED, SKIPPED, ERRORED})


class IllegalTransition(Conflict):
    """A deposit or withdrawal asked to move to a state its state machine forbids."""

    code = "illegal_transition"


def check_transition(transitions: Mapping[str, frozenset[str]], old: str, new: str) -> None:
    """Raise IllegalTransition unless ``old`` -> ``new`` is an edge of ``transitions``."""
    if new not in transitions.get(old, frozenset()):
        raise IllegalTransition(f"cannot go from {old} to {new}")


def deposit_id(txid: str, address: str, asset: str) -> str:
    """A deposit's identity: one per (transaction, address, asset), whatever sees it."""
    return f"deposit:{txid}:{address}:{asset}"


def confirmations(tip_height: int, block_height: int | None) -> int:
    """Blocks on top of (and including) the one at ``block_height``; 0 if not in one."""
    if block_height is None or block_height > tip_height:
        return 0
    return tip_height - block_height + 1


def deposit_fee(asset: str, tx_fee: int) -> int:
    """What a deposit is charged for its collection.

    DTC is swept with the network fee taken from the amount, by at most two
    transactions (hot, then cold), so a DTC deposit pays two fees; a DUSD sweep's fee is
    the gas keeper's DTC, so a DUSD deposit pays nothing. Charging it keeps the
    platform's holdings at or above what it owes its users.
    """
    return 2 * tx_fee if asset == DTC else 0


def deposit_credit(asset: str, units: int, tx_fee: int) -> tuple[int, int]:
    """(credited, fee) for a deposit of ``units``: all of it is credited, then the
    collection fee is charged, up to the whole amount."""
    fee = min(units, deposit_fee(asset, tx_fee))
    return units, fee


DEPOSIT_FEE = "deposit_fee"  # the wallet-ledger reason of a deposit's collection fee


def charge_deposit_fee(account: Account, asset: str, fee: int, ref: str) -> Change:
    """A credited deposit's collection fee: from the user's available to ``FEES``."""
    balance, move = assets.debit(
        account.user, account.asset(asset), asset, fee, assets.FEES, DEPOSIT_FEE, ref
    )
    updated = replace(account, assets=assets.with_balance(account.assets, asset, balance))
    return Change(updated, movements=(move,), result={"asset": asset, "fee": fee})


def after_credit(units: int, fee: int, min_collection: int) -> str:
    """The state a deposit takes once credited: swept, or too small to sweep alone."""
    return SKIPPED if units - fee < min_collection else ACCEPTED


# --- withdrawals -----------------------------------------------------------------------

PREPARED = "prepared"  # recorded; funds not yet locked
W_ACCEPTED = "accepted"  # funds locked; waits for approval (if needed) and the hot wallet
PROCESSING = "processing"  # its transaction is signed and stored, being broadcast
CONFIRMING = "confirming"  # the node took the transaction (txid known)
SUCCEEDED = "succeeded"  # confirmed; the locked funds left
FAILED = "failed"  # the chain refused it; funds unlocked
REJECTED = "rejected"  # an admin refused it; funds unlocked
CANCELED = "canceled"  # its owner canceled it before it was sent; funds unlocked

WITHDRAWAL_STATES = (
    PREPARED,
    W_ACCEPTED,
    PROCESSING,
    CONFIRMING,
    SUCCEEDED,
    FAILED,
    REJECTED,
    CANCELED,
)
WITHDRAWAL_TRANSITIONS: Mapping[str, frozenset[str]] = {
    PREPARED: frozenset({W_ACCEPTED, FAILED}),
    W_ACCEPTED: frozenset({PROCESSING, REJECTED, CANCELED}),
    PROCESSING: frozenset({CONFIRMING, FAILED}),
    # A reorg can drop its block: the same signed bytes are broadcast again.
    CONFIRMING: frozenset({SUCCEEDED, PROCESSING}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    REJECTED: frozenset(),
    CANCELED: frozenset(),
}
#: States whose funds are locked; leaving one of them for FINAL_UNLOCKED unlocks them.
LOCKED_STATES = frozenset({W_ACCEPTED, PROCESSING, CONFIRMING})
UNLOCKED_ENDS = frozenset({FAILED, REJECTED, CANCELED})
OPEN_STATES = frozenset({PREPARED, W_ACCEPTED, PROCESSING, CONFIRMING})


def withdrawal_fee(asset: str, tx_fee: int, dusd_fee: int) -> int:
    """What a withdrawal of ``asset`` costs its user, in ``asset``: the network fee for
    DTC; for DUSD the configured DUSD fee (the DTC network fee is the platform's)."""
    return tx_fee if asset == DTC else dusd_fee


def needs_approval(units: int, approval_limit: int) -> bool:
    """Withdrawals above the limit wait for an admin."""
    return units > approval_limit


def check_cancel(state: str) -> None:
    """A withdrawal can be canceled by its owner only before its transaction exists."""
    if state != W_ACCEPTED:
        raise IllegalTransition(f"a withdrawal that is {state} can no longer be canceled")


def check_withdrawal_address(address: str, own_addresses: Iterable[str]) -> None:
    """Refuse sending to the platform's own wallets (hot, cold, gas keeper)."""
    if address in set(own_addresses):
        raise InvalidInput("address is one of the platform's own wallets")


# --- sweeps ------------------------------------------------------------------------------

HOT = "hot"
COLD = "cold"


@dataclass(frozen=True)
class Transfer:
    """One planned transaction of a sweep: ``units`` of the asset to a wallet."""

    wallet: str  # HOT or COLD
    units: int
    fee: int  # DTC units


def plan_sweep(
    asset: str,
    balance: int,
    tx_fee: int,
    hot_balance: int,
    hot_max: int,
    has_cold: bool,
) -> tuple[Transfer, ...]:
    """The transactions that sweep ``balance`` units of ``asset`` off a deposit address.

    The hot wallet is filled up to ``hot_max``, the rest goes to the cold wallet (to the
    hot wallet too when no cold address is configured). DTC pays each transaction's fee
    out of the amount; a part too small to pay its own fee stays on the address. DUSD
    needs ``tx_fee`` DTC per transaction on the address (the gas keeper's top-up).
    """
    room = max(0, hot_max - hot_balance) if has_cold else balance
    transfers: list[Transfer] = []
    if asset == DTC:
        spendable = balance
        to_hot = min(room, spendable - tx_fee)
        if to_hot > 0:
            transfers.append(Transfer(HOT, to_hot, tx_fee))
            spendable -= to_hot + tx_fee
        if spendable - tx_fee > 0:
            transfers.append(Transfer(COLD if has_cold else HOT, spendable - tx_fee, tx_fee))
        return tuple(transfers)
    to_hot = min(room, balance)
    if to_hot > 0:
        transfers.append(Transfer(HOT, to_hot, tx_fee))
    if balance - to_hot > 0:
        transfers.append(Transfer(COLD if has_cold else HOT, balance - to_hot, tx_fee))
    return tuple(transfers)


def gas_needed(transfers: Iterable[Transfer]) -> int:
    """DTC a token sweep's transactions spend in fees."""
    return sum(t.fee for t in transfers)


# --- reserves ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reserve:
    """One asset's reserves: what users are owed beside what the platform holds.

    ``explained`` lists, with their signs, what makes holdings differ from liabilities;
    ``unexplained`` is what is left (0 when everything is accounted for, to the unit).
    """

    asset: str
    liabilities: int
    holdings: Mapping[str, int]
    explained: Mapping[str, int]

    @property
    def held(self) -> int:
        return sum(self.holdings.values())

    @property
    def surplus(self) -> int:
        return self.held - self.liabilities

    @property
    def unexplained(self) -> int:
        return self.surplus - sum(self.explained.values())

    @property
    def owed_on_chain(self) -> int:
        """Liabilities less the coins users bought from the market (the exchange's
        inventory backs those, not the chain)."""
        return self.liabilities + self.explained.get("exchange_net", 0)

    @property
    def covered(self) -> bool:
        """Holdings, with the withdrawals already on their way, cover what is owed."""
        in_flight = -self.explained.get("withdrawals_sent_not_settled", 0)
        return self.held + in_flight >= self.owed_on_chain
