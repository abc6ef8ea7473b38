"""Use cases of the wallet: balances, deposit addresses, deposits, withdrawals, reserves.

Each takes a ``Wallet``: every adapter a use case needs, named for what it is. Nothing
here knows about HTTP (the routes call these), and the block analyser and the
collection worker call the same functions, so a deposit is credited and a withdrawal
sent by one piece of code whoever notices first.

Exactly once, without transactions:

- a user's balance changes only under the user's lock, through the unit of work
  (``Ledger.session``), whose first step stores any wallet-ledger entries a crash kept
  from the collection; then the entry for this very deposit or withdrawal step (its
  ``ref`` and ``reason``) is looked up, and the rule runs only if it is not there. The
  deposit's or withdrawal's own state moves after, so a crash between the two is
  repaired by the next attempt, which finds the entry and only moves the state;
- a transaction is signed once per step, stored (txid unique, and the sender's nonce
  unique) before it is broadcast, and every retry broadcasts those same bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from ..common import events
from ..common.cache import TransactionNumbers
from ..common.chain import keys
from ..common.chain.client import ChainNodeClient, ChainNodeError
from ..common.chain.transactions import build_transaction
from ..common.config import WalletSettings
from ..common.domain import assets, custody
from ..common.domain import wallet as wallet_rules
from ..common.domain.account import Account
from ..common.domain.money import format_units, parse_units
from ..common.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientAssets,
    InvalidInput,
    NotFound,
    UpstreamUnavailable,
)
from ..common.jobqueue import JobQueue, WalletLocks
from ..common.ledger import Command, Ledger
from ..common.repositories import WalletLedgerRepository
from ..common.wallet_keys import (
    GAS_KEEPER,
    HOT_WALLET,
    DepositAddressRepository,
    KeyVault,
    StoredAddress,
    SystemKeyRepository,
)
from ..common.wallet_repositories import (
    AlertRepository,
    AnalyserStateRepository,
    ChainTransactionRepository,
    DepositRepository,
    StateChanged,
    SweepRepository,
    WalletEntryLookup,
    WithdrawalRepository,
)

log = logging.getLogger(__name__)

JOBS = "services.wallet.jobs"
ADDRESS_INFO_TTL_S = 1.0
PAGE_MAX = 100


@dataclass(frozen=True)
class Wallet:
    """What the wallet's use cases work with."""

    settings: WalletSettings
    ledger: Ledger
    entries: WalletLedgerRepository
    entry_lookup: WalletEntryLookup
    txns: TransactionNumbers
    vault: KeyVault
    addresses: DepositAddressRepository
    system_keys: SystemKeyRepository
    deposits: DepositRepository
    withdrawals: WithdrawalRepository
    chain_txs: ChainTransactionRepository
    sweeps: SweepRepository
    analyser_state: AnalyserStateRepository
    alerts: AlertRepository
    node: ChainNodeClient
    locks: WalletLocks
    queue: JobQueue
    redis: redis.Redis
    clock_ms: Callable[[], int]

    # The platform's own wallets, read once per process (they never change).
    own_wallets: dict = field(default_factory=dict, repr=False, compare=False)

    def _own(self, name: str) -> StoredAddress:
        if name not in self.own_wallets:
            self.own_wallets[name] = self.system_keys.get_or_create(name, self.vault)
        return self.own_wallets[name]

    @property
    def hot(self) -> StoredAddress:
        return self._own(HOT_WALLET)

    @property
    def gas_keeper(self) -> StoredAddress:
        return self._own(GAS_KEEPER)

    @property
    def cold_address(self) -> str | None:
        return self.settings.wallet_cold_address or None

    # The node's answers about addresses, kept for ADDRESS_INFO_TTL_S: one collection run
    # asks about the same address several times, and each answer costs the node a scan.
    address_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def address_info(self, address: str) -> dict:
        """The node's ``/addresses/<address>`` (balances in confirmed blocks, nonce), at
        most ADDRESS_INFO_TTL_S old. Safe to reuse briefly: a nonce is also checked
        against every transaction signed here, and balances against the unmined ones."""
        now = time.monotonic()
        cached = self.address_cache.get(address)
        if cached is not None and now - cached[0] < ADDRESS_INFO_TTL_S:
            return cached[1]
        info = self.node.get_address(address)
        if len(self.address_cache) > 10_000:
            self.address_cache.clear()
        self.address_cache[address] = (now, info)
        return info

    def forget_address(self, address: str) -> None:
        """Ask the node afresh next time (after sending from ``address``)."""
        self.address_cache.pop(address, None)

    def tip_height(self) -> int:
        """The height of the last block the analyser processed (0 before the first)."""
        position = self.analyser_state.position()
        return position[-1][0] if position else 0

    def publish(self, user: str, event: str, data: dict) -> None:
        """Tell ``user``'s live views (``wallet:<user>``) that something changed."""
        events.publish(self.redis, events.user_topic(events.WALLET, user), event, data)


# --- balances and the wallet ledger ------------------------------------------------------


def _account(w: Wallet, user: str) -> Account | None:
    try:
        return w.ledger.current(user)
    except NotFound:
        return None


def balances(w: Wallet, user: str) -> dict:
    """``user``'s balance of each asset (DTC and DUSD always), available and locked."""
    account = _account(w, user)
    held = dict(account.assets) if account is not None else {}
    names = sorted(set(custody.CHAIN_ASSETS) | set(held))
    result = []
    for name in names:
        balance = account.asset(name) if account is not None else None
        available = balance.available if balance else 0
        locked = balance.locked if balance else 0
        result.append(
            {
                "asset": name,
                "available": format_units(available),
                "locked": format_units(locked),
                "total": format_units(available + locked),
            }
        )
    return {"user": user, "balances": result}


def history(w: Wallet, user: str, limit: int, before_ms: int | None) -> dict:
    """``user``'s wallet-ledger entries, newest first: every movement has a from and a to."""
    entries = w.entries.history(user, min(limit, PAGE_MAX), before_ms=before_ms)
    return {
        "user": user,
        "entries": [
            {
                "ts": e["ts"],
                "asset": e["asset"],
                "amount": format_units(e["units"]),
                "from": e["from"],
                "to": e["to"],
                "reason": e["reason"],
                "ref": e["ref"],
            }
            for e in entries
        ],
    }


def _apply_once(w: Wallet, user: str, name: str, ref: str, reason: str, rule) -> bool:
    """Apply ``rule`` to ``user``'s account once for (``ref``, ``reason``); False if an
    earlier attempt already did. See the module's docstring for why this is exact."""
    with w.ledger.session(user, ()) as session:
        # The session has stored any entries a crash left in the account's outbox.
        if w.entry_lookup.exists(user, ref, reason):
            return False
        session.run(Command(name, w.txns.next(), user=user), rule, create=True)
    return True


# --- deposit addresses and deposits ---------------------------------------------------------


def deposit_address(w: Wallet, user: str) -> dict:
    """``user``'s deposit address (made on first request); both assets go to it."""
    address = w.addresses.get_or_create(user, w.vault)
    return {"user": user, "address": address, "assets": list(custody.CHAIN_ASSETS)}


def deposit_view(deposit: dict, tip_height: int) -> dict:
    return {
        "id": deposit["id"],
        "txid": deposit["txid"],
        "address": deposit["address"],
        "asset": deposit["asset"],
        "amount": format_units(deposit["units"]),
        "fee": format_units(deposit.get("fee", 0)),
        "state": deposit["state"],
        "height": deposit["height"],
        # A recorded deposit's block has been processed, even if the analyser has not
        # stored its new position yet.
        "confirmations": custody.confirmations(
            max(tip_height, deposit["height"]), deposit["height"]
        ),
        "seen_ms": deposit["seen_ms"],
    }


def list_deposits(w: Wallet, user: str, limit: int, before_ms: int | None) -> dict:
    """``user``'s deposits, newest first, with their state and confirmations."""
    tip = w.tip_height()
    found = w.deposits.of_user(user, min(limit, PAGE_MAX), before_ms)
    return {"user": user, "deposits": [deposit_view(d, tip) for d in found]}


def credit_deposit(w: Wallet, deposit: dict) -> str:
    """Credit one ``submitted`` deposit that has its confirmations; its new state."""
    states = credit_deposits(w, [deposit])
    return states.get(deposit["id"]) or w.deposits.get(deposit["id"])["state"]


def credit_deposits(w: Wallet, deposits: list[dict]) -> dict[str, str]:
    """Credit ``submitted`` deposits that have their confirmations, each exactly once;
    return each one's new state (``accepted``, or ``skipped`` when too small to sweep
    on its own).

    First every one of them is marked ``crediting`` (one write for all). Then a user's
    deposits are credited in one hold of their account (one lock, one write, whatever
    the count), so a block of 500 deposits to 50 users is 50 account writes. A deposit
    that was already marked when read may have been credited by an attempt that died:
    for those only, the wallet ledger is asked (after the session stored any entries
    the crash left in the account's outbox), and those found are not credited again.
    Last, the states move (a few writes for all).
    """
    if not deposits:
        return {}
    with w.locks.hold("crediting", wait_s=30) as keep:
        # Read again under the lock: what another attempt did before is what counts.
        deposits = w.deposits.get_many([d["id"] for d in deposits])
        return _credit(w, [d for d in deposits if d["state"] == custody.SUBMITTED], keep)


def _credit(w: Wallet, deposits: list[dict], keep: Callable[[], None]) -> dict[str, str]:
    if not deposits:
        return {}
    w.deposits.mark_crediting([d["id"] for d in deposits])
    by_user: dict[str, list[dict]] = {}
    for deposit in deposits:
        by_user.setdefault(deposit["user"], []).append(deposit)
    tx_fee, minimum = w.settings.tx_fee_units, w.settings.min_collection_units
    for user, theirs in by_user.items():
        keep()
        with w.ledger.session(user, ()) as session:
            retried = [d["id"] for d in theirs if d.get("crediting")]
            done = w.entry_lookup.existing(user, retried, assets.DEPOSIT) if retried else set()
            due = [d for d in theirs if d["id"] not in done]
            for deposit, txn in zip(due, w.txns.take(len(due)), strict=True):
                session.run(
                    Command("DEPOSIT", txn, user=user), _credit_rule(deposit, tx_fee), create=True
                )
    states: dict[str, str] = {}
    moves: dict[tuple[int, str], list[str]] = {}
    for deposit in deposits:
        units, fee = custody.deposit_credit(deposit["asset"], deposit["units"], tx_fee)
        state = custody.after_credit(units, fee, minimum)
        states[deposit["id"]] = state
        moves.setdefault((fee, state), []).append(deposit["id"])
    now = w.clock_ms()
    # Only deposits still submitted move: a second attempt moves nothing again.
    for (fee, state), ids in moves.items():
        w.deposits.move_many(ids, custody.SUBMITTED, custody.ACCEPTED, now, fee=fee)
        if state == custody.SKIPPED:
            w.deposits.move_many(ids, custody.ACCEPTED, custody.SKIPPED, now)
    for user, theirs in by_user.items():
        w.publish(user, "deposit", {"ids": [d["id"] for d in theirs][:50], "state": "credited"})
    return states


def _credit_rule(deposit: dict, tx_fee: int):
    units, fee = custody.deposit_credit(deposit["asset"], deposit["units"], tx_fee)
    ref, asset = deposit["id"], deposit["asset"]

    def rule(account: Account):
        change = wallet_rules.credit_deposit(account, asset, units, ref)
        if fee:
            change = change.then(custody.charge_deposit_fee(change.account, asset, fee, ref))
        return change

    return rule


# --- withdrawals ---------------------------------------------------------------------------


def withdrawal_view(withdrawal: dict) -> dict:
    return {
        "id": withdrawal["id"],
        "user": withdrawal["user"],
        "asset": withdrawal["asset"],
        "address": withdrawal["address"],
        "amount": format_units(withdrawal["units"]),
        "fee": format_units(withdrawal["fee"]),
        "state": withdrawal["state"],
        "needs_approval": withdrawal["needs_approval"],
        "approved_by": withdrawal.get("approved_by"),
        "txid": withdrawal.get("txid"),
        "error": withdrawal.get("error"),
        "created_ms": withdrawal["created_ms"],
        "updated_ms": withdrawal.get("updated_ms", withdrawal["created_ms"]),
    }


def parse_withdrawal(body: dict) -> tuple[str, str, int]:
    """(asset, address, units) from a request body; InvalidInput names what is wrong."""
    extra = set(body) - {"asset", "address", "amount"}
    if extra:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(map(str, extra)))}")
    asset = body.get("asset")
    if asset not in custody.CHAIN_ASSETS:
        raise InvalidInput(f"asset must be one of {', '.join(custody.CHAIN_ASSETS)}")
    address = body.get("address")
    if not isinstance(address, str) or not keys.ADDRESS.fullmatch(address):
        raise InvalidInput("address must be a chain address: 40 lower-case hex digits")
    units = parse_units(body.get("amount"), "amount")
    return asset, address, units


def create_withdrawal(
    w: Wallet, user: str, asset: str, address: str, units: int, key: str | None
) -> dict:
    """Withdraw ``units`` of ``asset`` to ``address``: recorded, funds locked, then sent
    from the hot wallet by the worker (after an admin's approval above the limit).

    The same Idempotency-Key answers the same withdrawal again. Errors: InvalidInput
    (the platform's own address), Conflict (too many open), InsufficientAssets,
    IdempotencyKeyReused.
    """
    own = [w.hot.address, w.gas_keeper.address, w.cold_address or ""]
    custody.check_withdrawal_address(address, own)
    fingerprint = f"{asset}:{address}:{units}"
    if key is None and w.withdrawals.count_open(user) >= w.settings.wallet_max_open_withdrawals:
        raise Conflict(f"at most {w.settings.wallet_max_open_withdrawals} open withdrawals")
    fee = custody.withdrawal_fee(asset, w.settings.tx_fee_units, w.settings.withdraw_fee_dusd_units)
    now = w.clock_ms()
    withdrawal, new = w.withdrawals.add(
        {
            "user": user,
            "asset": asset,
            "address": address,
            "units": units,
            "fee": fee,
            "fingerprint": fingerprint,
            "state": custody.PREPARED,
            "needs_approval": custody.needs_approval(units, w.settings.withdraw_approval_units),
            "approved_by": None,
            "txid": None,
            "created_ms": now,
            "updated_ms": now,
        },
        key,
    )
    if withdrawal["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key} was already used for another request")
    if new and w.withdrawals.count_open(user) > w.settings.wallet_max_open_withdrawals:
        w.withdrawals.delete_prepared(withdrawal["id"])
        raise Conflict(f"at most {w.settings.wallet_max_open_withdrawals} open withdrawals")
    if withdrawal["state"] == custody.PREPARED:
        withdrawal = accept_withdrawal(w, withdrawal["id"])
    return withdrawal_view(withdrawal)


def accept_withdrawal(w: Wallet, withdrawal_id: str) -> dict:
    """Lock a ``prepared`` withdrawal's funds (once) and make it ``accepted``.

    When the funds are short the withdrawal is dropped (the request changed nothing) and
    InsufficientAssets raised. Safe to call again after a crash.
    """
    with w.locks.hold(f"withdrawal:{withdrawal_id}"):
        withdrawal = w.withdrawals.get(withdrawal_id)
        if withdrawal is None:
            raise NotFound(f"withdrawal {withdrawal_id} does not exist")
        if withdrawal["state"] != custody.PREPARED:
            return withdrawal
        user, asset, units, fee = (
            withdrawal["user"],
            withdrawal["asset"],
            withdrawal["units"],
            withdrawal["fee"],
        )
        try:
            _apply_once(
                w,
                user,
                "WITHDRAW",
                withdrawal_id,
                assets.WITHDRAWAL_LOCK,
                lambda a: wallet_rules.lock_withdrawal(a, asset, units, fee, withdrawal_id),
            )
        except (InsufficientAssets, NotFound):
            w.withdrawals.delete_prepared(withdrawal_id)
            available = _available(w, user, asset)
            raise InsufficientAssets(
                f"insufficient {asset}: available {format_units(available)} < "
                f"{format_units(units + fee)} (amount + fee)"
            ) from None
        withdrawal = w.withdrawals.move(
            withdrawal_id, custody.PREPARED, custody.W_ACCEPTED, w.clock_ms()
        )
    w.publish(user, "withdrawal", {"id": withdrawal_id, "state": withdrawal["state"]})
    if not withdrawal["needs_approval"]:
        schedule_withdrawal(w, withdrawal_id)
    return withdrawal


def _available(w: Wallet, user: str, asset: str) -> int:
    account = _account(w, user)
    return account.asset(asset).available if account is not None else 0


def schedule_withdrawal(w: Wallet, withdrawal_id: str, delay_s: float = 0) -> None:
    w.queue.enqueue(
        f"{JOBS}.send_withdrawal", f"withdrawal-{withdrawal_id}", withdrawal_id, delay_s=delay_s
    )


def get_withdrawal(w: Wallet, withdrawal_id: str, caller_may_see: Callable[[str], bool]) -> dict:
    """One withdrawal. NotFound if there is none; Forbidden if it is another user's."""
    withdrawal = w.withdrawals.get(withdrawal_id)
    if withdrawal is None:
        raise NotFound(f"withdrawal {withdrawal_id} does not exist")
    if not caller_may_see(withdrawal["user"]):
        raise Forbidden("this withdrawal belongs to another user")
    return withdrawal_view(withdrawal)


def list_withdrawals(w: Wallet, user: str, limit: int, before_ms: int | None) -> dict:
    found = w.withdrawals.of_user(user, min(limit, PAGE_MAX), before_ms)
    return {"user": user, "withdrawals": [withdrawal_view(x) for x in found]}


def cancel_withdrawal(w: Wallet, withdrawal_id: str, caller_may_see: Callable[[str], bool]) -> dict:
    """Cancel a withdrawal not yet sent; its funds come back. Errors: NotFound,
    Forbidden, IllegalTransition (409: already being sent, or finished)."""
    get_withdrawal(w, withdrawal_id, caller_may_see)
    return withdrawal_view(_end_unsent(w, withdrawal_id, custody.CANCELED, None))


def decide_withdrawal(w: Wallet, withdrawal_id: str, admin: str, approve: bool) -> dict:
    """An admin approves (it is then sent) or rejects (funds unlocked) a withdrawal that
    waits for approval. Errors: NotFound, IllegalTransition (409)."""
    withdrawal = w.withdrawals.get(withdrawal_id)
    if withdrawal is None:
        raise NotFound(f"withdrawal {withdrawal_id} does not exist")
    if not withdrawal["needs_approval"] or withdrawal["approved_by"]:
        raise custody.IllegalTransition("this withdrawal is not waiting for approval")
    if not approve:
        return withdrawal_view(_end_unsent(w, withdrawal_id, custody.REJECTED, admin))
    with w.locks.hold(f"withdrawal:{withdrawal_id}"):
        current = w.withdrawals.get(withdrawal_id)
        if current["state"] != custody.W_ACCEPTED:
            raise custody.IllegalTransition(
                f"a withdrawal that is {current['state']} cannot be approved"
            )
        w.withdrawals.update(withdrawal_id, custody.W_ACCEPTED, approved_by=admin)
    schedule_withdrawal(w, withdrawal_id)
    return withdrawal_view(w.withdrawals.get(withdrawal_id))


def _end_unsent(w: Wallet, withdrawal_id: str, state: str, admin: str | None) -> dict:
    with w.locks.hold(f"withdrawal:{withdrawal_id}"):
        withdrawal = w.withdrawals.get(withdrawal_id)
        if state == custody.CANCELED:
            custody.check_cancel(withdrawal["state"])
        elif withdrawal["state"] != custody.W_ACCEPTED:
            raise custody.IllegalTransition(
                f"a withdrawal that is {withdrawal['state']} cannot be rejected"
            )
        withdrawal = w.withdrawals.move(
            withdrawal_id, custody.W_ACCEPTED, state, w.clock_ms(), decided_by=admin
        )
    release_withdrawal(w, withdrawal)
    return w.withdrawals.get(withdrawal_id)


def release_withdrawal(w: Wallet, withdrawal: dict) -> None:
    """The funds of a failed, rejected or canceled withdrawal back to available (once)."""
    wid, asset = withdrawal["id"], withdrawal["asset"]
    units, fee = withdrawal["units"], withdrawal["fee"]
    _apply_once(
        w,
        withdrawal["user"],
        "WITHDRAW",
        wid,
        assets.WITHDRAWAL_UNLOCK,
        lambda a: wallet_rules.unlock_withdrawal(a, asset, units, fee, wid),
    )
    w.withdrawals.update(wid, withdrawal["state"], released=True)
    w.publish(withdrawal["user"], "withdrawal", {"id": wid, "state": withdrawal["state"]})


def settle_withdrawal(w: Wallet, withdrawal: dict) -> None:
    """A withdrawal confirmed on chain: its locked funds leave (once), it succeeded."""
    wid, asset = withdrawal["id"], withdrawal["asset"]
    units, fee = withdrawal["units"], withdrawal["fee"]
    with w.locks.hold(f"withdrawal:{wid}"):
        _apply_once(
            w,
            withdrawal["user"],
            "WITHDRAW",
            wid,
            assets.WITHDRAWAL_SENT,
            lambda a: wallet_rules.settle_withdrawal(a, asset, units, fee, wid),
        )
        try:
            w.withdrawals.move(wid, custody.CONFIRMING, custody.SUCCEEDED, w.clock_ms())
        except StateChanged:
            return
    w.publish(withdrawal["user"], "withdrawal", {"id": wid, "state": custody.SUCCEEDED})


# --- signing and sending -------------------------------------------------------------------


def next_nonce(w: Wallet, sender: str, own_only: bool = False) -> int:
    """The sender's next nonce: after the chain's and after every one already signed
    (``own_only``: a deposit address, from which only this platform ever signs)."""
    on_chain = 0 if own_only else int(w.address_info(sender).get("nonce", 0))
    return max(on_chain, w.chain_txs.last_nonce(sender)) + 1


def gas_left(address: str, txs: list[dict]) -> int:
    """The gas keeper's DTC still on a deposit address: its confirmed top-ups less the
    fees of the token transfers signed from it (a user's own DTC is never used as gas).
    ``txs``: the platform's transactions to or from the address."""
    topups = sum(
        tx["units"]
        for tx in txs
        if tx["recipient"] == address and tx["purpose"] == "topup" and tx["height"] is not None
    )
    spent = sum(tx["fee"] for tx in txs if tx["sender"] == address and tx["asset"] != custody.DTC)
    return topups - spent


def swept_balance(address: str, asset: str, deposits: list[dict], txs: list[dict]) -> int:
    """What a deposit address holds of ``asset`` by the platform's own records, and may
    sweep: its credited deposits and confirmed gas top-ups, less everything it has
    signed away (mined or not). Only credited coins are ever swept, and no node is asked.
    ``deposits`` and ``txs``: the address's deposits and the platform's transactions to
    or from it (read once per run: on FerretDB every such query reads the collection).
    """
    credited = sum(
        d["units"]
        for d in deposits
        if d["asset"] == asset and d["state"] in custody.CREDITED_STATES
    )
    topups = sum(
        tx["units"]
        for tx in txs
        if tx["recipient"] == address
        and tx["purpose"] == "topup"
        and tx["asset"] == asset
        and tx["height"] is not None
    )
    sent = sum(
        (tx["units"] if tx["asset"] == asset else 0) + (tx["fee"] if asset == custody.DTC else 0)
        for tx in txs
        if tx["sender"] == address
    )
    return credited + topups - sent


def confirmed_balance(w: Wallet, address: str, asset: str, fresh: bool = False) -> int:
    """``address``'s balance of ``asset`` in confirmed blocks, in units (``fresh``: asked
    now, for the wallets several jobs spend from)."""
    if fresh:
        w.forget_address(address)
    balances = w.address_info(address).get("balances", {})
    return parse_units(balances.get(asset, "0"), asset, allow_zero=True)


def pending_out(w: Wallet, sender: str, asset: str) -> int:
    """What the platform's not-yet-mined transactions from ``sender`` will spend of
    ``asset`` (the fee is DTC)."""
    total = 0
    for tx in w.chain_txs.unmined(sender=sender):
        if tx["asset"] == asset:
            total += tx["units"]
        if asset == custody.DTC:
            total += tx["fee"]
    return total


def sign_and_store(
    w: Wallet,
    key: StoredAddress,
    recipient: str,
    asset: str,
    units: int,
    purpose: str,
    ref: str,
    own_only: bool = False,
) -> dict:
    """Sign a transfer from ``key``'s address with its next nonce and store it before it
    is broadcast. Callers hold the sender's lock, so no two signers race for a nonce;
    the unique (sender, nonce) makes a second one impossible even if they did."""
    nonce = next_nonce(w, key.address, own_only=own_only)
    tx = build_transaction(
        w.vault.open(key.sealed_key).reveal(),
        recipient,
        units,
        asset=asset,
        fee=w.settings.tx_fee_units,
        nonce=nonce,
        timestamp=w.clock_ms(),
    )
    return w.chain_txs.add(tx, purpose, ref, w.clock_ms())


def broadcast(w: Wallet, stored: dict) -> bool:
    """Send a stored transaction's signed bytes to the node. True once the node has it
    (accepted now, or it already had it); False if the node refuses it for good.
    ChainNodeError (retry later) when the node cannot be reached."""
    try:
        w.node.submit_transaction(stored["tx"])
        return True
    except ChainNodeError as exc:
        if not exc.refused:
            raise
        try:  # refused: because it already has it (a retry), or because it is invalid?
            w.node.get_transaction(stored["id"])
            return True
        except ChainNodeError as lookup:
            if lookup.status == 404:
                log.warning("node refused transaction %s: %s", stored["id"], exc.payload)
                return False
            raise


def _known(w: Wallet, tx: dict) -> bool:
    """Whether the node has ``tx`` (in its mempool or a block)."""
    try:
        w.node.get_transaction(tx["id"])
        return True
    except ChainNodeError as exc:
        if exc.status == 404:
            return False
        raise


def send_withdrawal(w: Wallet, withdrawal_id: str) -> str:
    """Move an approved withdrawal on: sign (once), store, broadcast. Returns its state.

    Waits (state unchanged, returns ``accepted``) while the hot wallet is short. Run by
    the worker; safe to run again at any point.
    """
    with w.locks.hold(f"withdrawal:{withdrawal_id}"):
        withdrawal = w.withdrawals.get(withdrawal_id)
        if withdrawal is None:
            return "missing"
        state = withdrawal["state"]
        if state == custody.W_ACCEPTED:
            if withdrawal["needs_approval"] and not withdrawal["approved_by"]:
                return state
            signed = w.chain_txs.for_ref(withdrawal_id)
            if not signed:
                hot = w.hot
                with w.locks.hold(f"sender:{hot.address}"):
                    if not _hot_can_pay(w, hot.address, withdrawal):
                        return state
                    signed = [
                        sign_and_store(
                            w,
                            hot,
                            withdrawal["address"],
                            withdrawal["asset"],
                            withdrawal["units"],
                            "withdrawal",
                            withdrawal_id,
                        )
                    ]
            withdrawal = w.withdrawals.move(
                withdrawal_id, state, custody.PROCESSING, w.clock_ms(), txid=signed[0]["id"]
            )
            state = custody.PROCESSING
        if state == custody.PROCESSING:
            stored = w.chain_txs.get(withdrawal["txid"])
            if broadcast(w, stored):
                w.withdrawals.move(withdrawal_id, state, custody.CONFIRMING, w.clock_ms())
                state = custody.CONFIRMING
            else:
                # Never accepted anywhere: its nonce is free again for the next one.
                w.chain_txs.drop_refused([stored["id"]])
                withdrawal = w.withdrawals.move(
                    withdrawal_id, state, custody.FAILED, w.clock_ms(), error="refused by the chain"
                )
                state = custody.FAILED
    if state == custody.FAILED and not withdrawal.get("released"):
        release_withdrawal(w, withdrawal)
    w.publish(withdrawal["user"], "withdrawal", {"id": withdrawal_id, "state": state})
    return state


def _hot_can_pay(w: Wallet, hot: str, withdrawal: dict) -> bool:
    asset, units = withdrawal["asset"], withdrawal["units"]
    fee = w.settings.tx_fee_units
    if asset == custody.DTC:
        return confirmed_balance(w, hot, asset, True) - pending_out(w, hot, asset) >= units + fee
    dtc = confirmed_balance(w, hot, custody.DTC, True) - pending_out(w, hot, custody.DTC)
    own = confirmed_balance(w, hot, asset) - pending_out(w, hot, asset)
    return own >= units and dtc >= fee


# --- admin ----------------------------------------------------------------------------------


def gas_keeper_state(w: Wallet) -> dict:
    """The gas keeper's address and DTC balance, and whether it is below GAS_KEEPER_MIN
    (then it makes no new top-ups until refilled)."""
    keeper = w.gas_keeper.address
    try:
        balance = confirmed_balance(w, keeper, custody.DTC, True)
        spendable = balance - pending_out(w, keeper, custody.DTC)
    except ChainNodeError as exc:
        raise UpstreamUnavailable("the chain-node is unavailable; retry") from exc
    minimum = w.settings.gas_keeper_min_units
    return {
        "address": keeper,
        "balance": format_units(balance),
        "spendable": format_units(spendable),
        "minimum": format_units(minimum),
        "low": spendable < minimum,
    }


def wallets(w: Wallet) -> dict:
    """The platform's own addresses (never a key)."""
    return {
        "hot": w.hot.address,
        "cold": w.cold_address,
        "gas_keeper": w.gas_keeper.address,
    }


def alerts(w: Wallet) -> dict:
    return {"alerts": w.alerts.recent()}


# --- collection ---------------------------------------------------------------------------

SWEEP_DONE = "done"
SWEEP_REFUSALS = 3
SWEEP_FAILED = "failed"
TO_SWEEP = (custody.ACCEPTED, custody.ERRORED)


def schedule_collection(w: Wallet, address: str) -> None:
    """Queue the collection of a deposit address (one job per address at a time)."""
    w.queue.enqueue(f"{JOBS}.collect", f"collect-{address}", address)


def collect(w: Wallet, address: str) -> str:
    """Sweep a deposit address's credited deposits to the platform's wallets.

    One sweep at a time per address, under the address's lock. A sweep is planned once
    (which deposits, which transfers), then moved on by each run: for DUSD the gas
    keeper's top-up is signed, stored and sent, and the sweep waits until the analyser
    has seen it confirmed; then the transfers are signed (once each), stored and sent;
    once they are confirmed the deposits are ``collected``. Returns the sweep's state
    (``waiting`` ones are moved on by the next run, which the analyser queues).
    """
    with w.locks.hold(f"sender:{address}"):
        sweep = w.sweeps.open_for(address)
        if sweep is None:
            sweep = _plan_sweep(w, address)
            if sweep is None:
                return "nothing"
        return _advance_sweep(w, sweep)


def _plan_sweep(w: Wallet, address: str) -> dict | None:
    deposits = w.deposits.at(address)
    txs = w.chain_txs.involving(address)
    for asset in (custody.DUSD, custody.DTC):
        due = [d for d in deposits if d["asset"] == asset and d["state"] in TO_SWEEP]
        if not due:
            continue
        dust = [d for d in deposits if d["asset"] == asset and d["state"] == custody.SKIPPED]
        balance = swept_balance(address, asset, deposits, txs)
        hot = w.hot.address
        hot_balance = confirmed_balance(w, hot, asset) + _pending_in(w, hot, asset)
        transfers = custody.plan_sweep(
            asset,
            balance,
            w.settings.tx_fee_units,
            hot_balance,
            w.settings.hot_max_units,
            w.cold_address is not None,
        )
        if not transfers:
            if balance <= 0 and _all_sent_confirmed(w, address, txs):
                # The coins already left: a sweep that was given up (its node answered
                # no, then mined it anyway) took them. Its deposits are collected.
                _mark_collected(w, due)
                continue
            log.warning("deposits at %s: %s balance %d too small to sweep", address, asset, balance)
            continue
        now = w.clock_ms()
        covered = due + dust
        sweep = w.sweeps.add(
            {
                "id": f"sweep:{address}:{now}",
                "address": address,
                "user": covered[0]["user"],
                "asset": asset,
                "balance": balance,
                "deposits": [d["id"] for d in covered],
                "transfers": [
                    {"wallet": t.wallet, "units": t.units, "fee": t.fee} for t in transfers
                ],
                "state": "planned",
                "created_ms": now,
                "updated_ms": now,
            }
        )
        by_state: dict[str, list[str]] = {}
        for deposit in covered:
            by_state.setdefault(deposit["state"], []).append(deposit["id"])
        for state, ids in by_state.items():
            w.deposits.move_many(ids, state, custody.COLLECTING, now, sweep=sweep["id"])
        return sweep
    return None


def _all_sent_confirmed(w: Wallet, address: str, txs: list[dict]) -> bool:
    tip, needed = w.tip_height(), w.settings.wallet_confirmations
    sent = [tx for tx in txs if tx["sender"] == address]
    return bool(sent) and all(custody.confirmations(tip, tx["height"]) >= needed for tx in sent)


def _mark_collected(w: Wallet, deposits: list[dict]) -> None:
    now = w.clock_ms()
    by_state: dict[str, list[str]] = {}
    for deposit in deposits:
        by_state.setdefault(deposit["state"], []).append(deposit["id"])
    for state, ids in by_state.items():
        w.deposits.move_many(ids, state, custody.COLLECTING, now)
        w.deposits.move_many(ids, custody.COLLECTING, custody.COLLECTED, now)
    log.warning(
        "deposits %s were swept by an earlier sweep: collected", [d["id"] for d in deposits]
    )


def _pending_in(w: Wallet, address: str, asset: str) -> int:
    return sum(tx["units"] for tx in w.chain_txs.unmined(recipient=address) if tx["asset"] == asset)


def _destination(w: Wallet, wallet_name: str) -> str:
    return w.hot.address if wallet_name == custody.HOT else w.cold_address


def _advance_sweep(w: Wallet, sweep: dict) -> str:
    asset, sweep_id = sweep["asset"], sweep["id"]
    needed = w.settings.wallet_confirmations
    tip = w.tip_height()
    if asset == custody.DUSD and not sweep.get("gas_ready"):
        state = _fund_gas(w, sweep)
        if state != "gas_ready":
            return state
    signed = w.chain_txs.for_ref(sweep_id)
    key = w.addresses.key_of_user(sweep["user"])
    for transfer in sweep["transfers"][len(signed) :]:
        signed.append(
            sign_and_store(
                w,
                key,
                _destination(w, transfer["wallet"]),
                asset,
                transfer["units"],
                "sweep",
                sweep_id,
                own_only=True,
            )
        )
    if sweep["state"] != "sending":
        w.sweeps.update(
            sweep_id, state="sending", txids=[tx["id"] for tx in signed], updated_ms=w.clock_ms()
        )
    for tx in signed:
        if tx["height"] is None and not broadcast(w, tx):
            # A node that has just restarted may refuse what it will take a moment later:
            # a sweep is given up only after three refusals in a row.
            refusals = sweep.get("refusals", 0) + 1
            if refusals < SWEEP_REFUSALS:
                w.sweeps.update(sweep_id, refusals=refusals)
                return "waiting"
            return _fail_sweep(w, sweep, f"the chain refused sweep transaction {tx['id']}")
    if all(custody.confirmations(tip, tx["height"]) >= needed for tx in signed):
        now = w.clock_ms()
        w.deposits.move_many(sweep["deposits"], custody.COLLECTING, custody.COLLECTED, now)
        w.sweeps.close(sweep_id, SWEEP_DONE, now)
        w.publish(sweep["user"], "deposit", {"sweep": sweep_id, "state": custody.COLLECTED})
        return SWEEP_DONE
    return "waiting"


def _fund_gas(w: Wallet, sweep: dict) -> str:
    """A DUSD sweep's gas: the gas keeper's top-up, sent once, confirmed before use."""
    sweep_id, address = sweep["id"], sweep["address"]
    ref = f"topup:{sweep_id}"
    topups = w.chain_txs.for_ref(ref)
    if not topups:
        need = sum(t["fee"] for t in sweep["transfers"])
        have = gas_left(address, w.chain_txs.involving(address))
        if have >= need:
            w.sweeps.update(sweep_id, gas_ready=True)
            return "gas_ready"
        keeper = w.gas_keeper
        with w.locks.hold(f"sender:{keeper.address}"):
            state = gas_keeper_state(w)
            if state["low"] or parse_units(state["spendable"], "gas") < need - have + (
                w.settings.tx_fee_units
            ):
                _gas_alert(w, state)
                return "waiting_for_gas"
            topups = [sign_and_store(w, keeper, address, custody.DTC, need - have, "topup", ref)]
        w.sweeps.update(
            sweep_id, state="topping_up", topup=topups[0]["id"], updated_ms=w.clock_ms()
        )
    topup = topups[0]
    if topup["height"] is None:
        if not broadcast(w, topup):
            return _fail_sweep(w, sweep, "the chain refused the gas top-up")
        return "waiting_for_topup"
    if custody.confirmations(w.tip_height(), topup["height"]) < w.settings.wallet_confirmations:
        return "waiting_for_topup"
    w.sweeps.update(sweep_id, gas_ready=True, updated_ms=w.clock_ms())
    return "gas_ready"


def _gas_alert(w: Wallet, state: dict) -> None:
    message = (
        f"gas keeper {state['address']} holds {state['spendable']} DTC spendable, below "
        f"GAS_KEEPER_MIN {state['minimum']}: token sweeps wait until it is refilled"
    )
    # One alert per hour of running dry, not one per sweep.
    if w.alerts.raise_once(
        f"gas-low:{w.clock_ms() // 3_600_000}", "gas_keeper_low", message, w.clock_ms()
    ):
        log.error("ALERT %s", message)


def _fail_sweep(w: Wallet, sweep: dict, reason: str) -> str:
    now = w.clock_ms()
    # Its transactions the node does not have (refused, or after one that was): their
    # nonces are free again.
    signed = w.chain_txs.for_ref(sweep["id"]) + w.chain_txs.for_ref(f"topup:{sweep['id']}")
    w.chain_txs.drop_refused(
        [tx["id"] for tx in signed if tx["height"] is None and not _known(w, tx)]
    )
    w.deposits.move_many(sweep["deposits"], custody.COLLECTING, custody.ERRORED, now, error=reason)
    w.sweeps.update(sweep["id"], error=reason)
    w.sweeps.close(sweep["id"], SWEEP_FAILED, now)
    log.error("sweep %s failed: %s", sweep["id"], reason)
    return SWEEP_FAILED


# --- recovery -----------------------------------------------------------------------------

STALE_MS = 30_000


def reconcile(w: Wallet) -> None:
    """Queue again whatever a crash, an outage or a full hot wallet left half-done:
    withdrawals to send or release, sweeps to move on, deposits to collect. Each job is
    idempotent, so queuing one that needs nothing done costs a lookup."""
    now = w.clock_ms()
    for withdrawal in w.withdrawals.in_states((custody.PREPARED,)):
        if now - withdrawal["created_ms"] > STALE_MS:  # its request died half-way
            try:
                accept_withdrawal(w, withdrawal["id"])
            except InsufficientAssets:
                pass
    for withdrawal in w.withdrawals.in_states((custody.W_ACCEPTED, custody.PROCESSING)):
        if not withdrawal["needs_approval"] or withdrawal["approved_by"]:
            schedule_withdrawal(w, withdrawal["id"])
    for withdrawal in w.withdrawals.in_states((custody.CONFIRMING,)):
        tx = w.chain_txs.get(withdrawal["txid"])
        if tx is not None and tx["height"] is None:
            try:
                broadcast(w, tx)  # dropped by a reorg or a node restart: the same bytes
            except ChainNodeError:
                pass
    for withdrawal in w.withdrawals.unreleased():
        release_withdrawal(w, withdrawal)
    addresses = {s["address"] for s in w.sweeps.all_open()}
    for state in TO_SWEEP:
        addresses |= {d["address"] for d in w.deposits.in_state(state)}
    for address in sorted(addresses):
        schedule_collection(w, address)


# --- reserves --------------------------------------------------------------------------------


def _addresses_holding(deposits: list[dict], txs: list[dict]) -> list[str]:
    """The deposit addresses the node is asked about: every one with a deposit not yet
    swept, or whose records do not come to zero. An address whose every deposit was
    collected and whose sweeps spent exactly what came in holds nothing by the records;
    asking the node about each of thousands of them made the reserves too slow to
    answer (each answer costs the node a scan)."""
    by_address: dict[str, list[dict]] = {}
    for deposit in deposits:
        by_address.setdefault(deposit["address"], []).append(deposit)
    involving: dict[str, list[dict]] = {}
    for tx in txs:
        involving.setdefault(tx["sender"], []).append(tx)
        involving.setdefault(tx["recipient"], []).append(tx)
    holding = []
    for address, theirs in sorted(by_address.items()):
        if any(d["state"] != custody.COLLECTED for d in theirs) or any(
            swept_balance(address, asset, theirs, involving.get(address, []))
            for asset in custody.CHAIN_ASSETS
        ):
            holding.append(address)
    return holding


def reserves(w: Wallet) -> dict:
    """Per asset: what users are owed beside what the platform holds on chain, and the
    difference explained line by line, to the unit.

    Liabilities are every user's available + locked, re-derived from the wallet ledger.
    Holdings are the confirmed balances of the hot wallet, the cold wallet and every
    deposit address. The difference is: fees users were charged, less network fees the
    platform's transactions paid, plus the gas keeper's top-ups received, plus deposits
    seen on chain but not yet credited, less withdrawals mined but not yet settled, plus
    the exchange's net sales to users (negative: coins owed that came from the market,
    not from the chain). ``unexplained`` is what is left; ``covered`` says holdings (with
    the withdrawals already on their way) are at least what is owed on chain.
    """
    ledger = w.entries.balances()
    hot = w.hot.address
    tip = w.tip_height()
    all_txs = w.chain_txs.all()
    mined = [tx for tx in all_txs if tx["height"] is not None]
    deposit_addresses = _addresses_holding(w.deposits.all(), all_txs)
    result = []
    try:
        held_by = {
            address: w.node.get_address(address).get("balances", {})
            for address in [hot, w.cold_address, *deposit_addresses]
            if address
        }
    except ChainNodeError as exc:
        raise UpstreamUnavailable("the chain-node is unavailable; retry") from exc
    for asset in custody.CHAIN_ASSETS:

        def units_of(address: str, asset: str = asset) -> int:
            return parse_units(held_by[address].get(asset, "0"), asset, allow_zero=True)

        liabilities = sum(
            by_asset.get(asset, 0)
            for account, by_asset in ledger.items()
            if account.startswith("user:")
        )
        holdings = {
            "hot": units_of(hot),
            "cold": units_of(w.cold_address) if w.cold_address else 0,
            "deposit_addresses": sum(units_of(a) for a in deposit_addresses),
        }
        fees_paid = sum(
            tx["fee"] for tx in mined if tx["purpose"] != "topup" and asset == custody.DTC
        )
        topups = sum(
            tx["units"] for tx in mined if tx["purpose"] == "topup" and tx["asset"] == asset
        )
        uncredited = sum(
            d["units"] for d in w.deposits.in_state(custody.SUBMITTED) if d["asset"] == asset
        )
        sent = 0
        for state in (custody.PROCESSING, custody.CONFIRMING):
            for withdrawal in w.withdrawals.in_states((state,)):
                tx = w.chain_txs.get(withdrawal["txid"]) if withdrawal.get("txid") else None
                if withdrawal["asset"] == asset and tx and tx["height"] is not None:
                    sent += withdrawal["units"]
        reserve = custody.Reserve(
            asset,
            liabilities,
            holdings,
            {
                "fees_charged": ledger.get(assets.FEES, {}).get(asset, 0),
                "network_fees_paid": -fees_paid,
                "gas_topups_received": topups,
                "deposits_not_yet_credited": uncredited,
                "withdrawals_sent_not_settled": -sent,
                "exchange_net": ledger.get(assets.EXCHANGE, {}).get(asset, 0),
            },
        )
        result.append(
            {
                "asset": asset,
                "liabilities": format_units(reserve.liabilities),
                "holdings": {k: format_units(v) for k, v in reserve.holdings.items()},
                "held": format_units(reserve.held),
                "surplus": format_units(reserve.surplus),
                "explained": {k: format_units(v) for k, v in reserve.explained.items()},
                "unexplained": format_units(reserve.unexplained),
                "covered": reserve.covered,
            }
        )
    return {"height": tip, "reserves": result}


def withdrawals_in_state(w: Wallet, state: str) -> dict:
    """Withdrawals in ``state`` (admins review those waiting for approval)."""
    if state not in custody.WITHDRAWAL_STATES:
        raise InvalidInput(f"state must be one of {', '.join(custody.WITHDRAWAL_STATES)}")
    found = w.withdrawals.in_states((state,), limit=PAGE_MAX)
    return {"state": state, "withdrawals": [withdrawal_view(x) for x in found]}


def collection_overview(w: Wallet) -> dict:
    """The queue's queued, running and failed jobs, and the newest sweeps."""
    sweeps = [
        {
            "id": s["id"],
            "address": s["address"],
            "asset": s["asset"],
            "state": s["state"],
            "deposits": len(s["deposits"]),
            "transfers": [
                {"wallet": t["wallet"], "amount": format_units(t["units"])} for t in s["transfers"]
            ],
            "txids": s.get("txids", []),
            "topup": s.get("topup"),
            "error": s.get("error"),
        }
        for s in w.sweeps.recent(PAGE_MAX)
    ]
    return {"jobs": w.queue.overview(), "sweeps": sweeps}
