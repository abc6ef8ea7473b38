"""Rules the wallet service applies to a user's coin balances (deposits, withdrawals).

Each is a pure function ``(account, ...) -> Change`` like the trading rules of
``account.py``: the new account and its ``movements`` (wallet-ledger entries), or a
domain error with nothing changed. Run one under the user's lock with the ledger::

    from services.common.domain import wallet
    change = ledger.run_system(user, lambda a: wallet.credit_deposit(a, "DTC", units, txid))

(``Ledger.run_system`` for what the system does on its own, such as the block analyser
crediting a deposit; ``Ledger.run`` with a ``Command`` for what a user asked, such as a
withdrawal, so an Idempotency-Key makes a retry answer the first result). The account,
its balances and the wallet-ledger entries are stored in one write; the entries then go
to the ``wallet_ledger`` collection (``WalletLedgerRepository``), under ids derived from
the account's version, so a retried flush never duplicates them.

A user's balances are read with ``ledger.current(user).asset("DTC")``
(``AssetBalance``: ``available``, ``locked``, ``total``; units), or all of them with
``ledger.current(user).assets``; the history with ``WalletLedgerRepository.history``.

Withdrawal lifecycle (the spec's states): ``lock_withdrawal`` when it is accepted
(amount + fee leave available), ``unlock_withdrawal`` when it fails or is rejected (they
come back), ``settle_withdrawal`` when it succeeded (the amount goes to ``CHAIN``, the
fee to ``FEES``, both out of locked).
"""

from __future__ import annotations

from dataclasses import replace

from . import assets
from .account import Account, Change


def _with(account: Account, asset: str, balance: assets.AssetBalance) -> Account:
    return replace(account, assets=assets.with_balance(account.assets, asset, balance))


def _withdrawal_step(
    account: Account,
    asset: str,
    balance: assets.AssetBalance,
    movements: tuple[assets.AssetMove, ...],
) -> Change:
    """A step of a withdrawal (lock, unlock, settle): ``asset``'s new ``balance`` and
    what moved, answered with what is locked and available now."""
    return Change(
        _with(account, asset, balance),
        movements=movements,
        result={"asset": asset, "locked": balance.locked, "available": balance.available},
    )


def credit_deposit(
    account: Account, asset: str, units: int, ref: str, source: str = assets.CHAIN
) -> Change:
    """A deposit of ``units`` credited to available (from ``CHAIN`` by default); it adds
    no cost basis. ``ref`` identifies the deposit (e.g. ``txid:address``)."""
    balance, move = assets.credit(
        account.user, account.asset(asset), asset, units, source, assets.DEPOSIT, ref
    )
    return Change(
        _with(account, asset, balance),
        movements=(move,),
        result={"asset": asset, "units": units, "available": balance.available},
    )


def lock_withdrawal(account: Account, asset: str, units: int, fee_units: int, ref: str) -> Change:
    """Lock ``units`` + ``fee_units`` of available for a withdrawal.

    InsufficientAssets (nothing changed) when available is short.
    """
    balance, move = assets.lock(
        account.user,
        account.asset(asset),
        asset,
        units + fee_units,
        assets.WITHDRAWAL_LOCK,
        ref,
    )
    return _withdrawal_step(account, asset, balance, (move,))


def unlock_withdrawal(account: Account, asset: str, units: int, fee_units: int, ref: str) -> Change:
    """A failed or rejected withdrawal: its ``units`` + ``fee_units`` back to available."""
    balance, move = assets.unlock(
        account.user,
        account.asset(asset),
        asset,
        units + fee_units,
        assets.WITHDRAWAL_UNLOCK,
        ref,
    )
    return _withdrawal_step(account, asset, balance, (move,))


def settle_withdrawal(
    account: Account,
    asset: str,
    units: int,
    fee_units: int,
    ref: str,
    target: str = assets.CHAIN,
    fee_target: str = assets.FEES,
) -> Change:
    """A withdrawal that succeeded: ``units`` leave locked for ``target`` (``CHAIN``)
    and ``fee_units`` for ``fee_target`` (``FEES``). InsufficientAssets if locked is short.
    """
    user = account.user
    balance, sent = assets.debit(
        user, account.asset(asset), asset, units, target, assets.WITHDRAWAL_SENT, ref, True
    )
    movements = (sent,)
    if fee_units:
        balance, fee = assets.debit(
            user, balance, asset, fee_units, fee_target, assets.WITHDRAWAL_FEE, ref, True
        )
        movements += (fee,)
    return _withdrawal_step(account, asset, balance, movements)
