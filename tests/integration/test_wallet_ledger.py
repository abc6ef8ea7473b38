"""Coin balances go through the same unit of work as the stock commands: one account
write carrying the wallet-ledger entries in its outbox, inserted into ``wallet_ledger``
exactly once, even when the process dies between the two writes."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from services.common.backend import Backend
from services.common.config import load_settings
from services.common.domain import account as rules
from services.common.domain import exchange, wallet
from services.common.domain.assets import AssetBalance
from services.common.errors import InsufficientAssets
from services.common.ledger import Command
from tests.helpers import random_user

pytestmark = pytest.mark.integration
COIN = 100_000_000


class ProcessDied(Exception):
    """Stands for the worker being killed right after the account write."""


def txn() -> int:
    return random.randrange(10**12, 2**53)


def entries(store, user: str) -> list[dict]:
    """The user's wallet-ledger entries as stored (once the persister caught up)."""
    return list(store.db["wallet_ledger"].find({"user": user}).sort([("ts", 1), ("_id", 1)]))


@pytest.fixture
def database_store(settings) -> Iterator[Backend]:
    """The adapters of a deployment with LEDGER_STORE=database (the outbox's repair)."""
    backend = Backend(load_settings({**settings, "ledger_store": "database"}))
    yield backend
    backend.close()


def test_deposit_withdrawal_and_trade_are_stored_double_entry_and_rederive(backend, db, store):
    user = random_user()
    ledger = backend.ledger
    ledger.run(
        Command("ADD", txn(), user=user, funds=10_025),
        lambda a: rules.add_funds(a, 10_025),
        create=True,
    )
    ledger.run_system(user, lambda a: wallet.credit_deposit(a, "DTC", 3 * COIN, "tx9:addr"))
    ledger.run_system(user, lambda a: wallet.lock_withdrawal(a, "DTC", COIN, 1_000, "w1"))
    ledger.run_system(user, lambda a: wallet.settle_withdrawal(a, "DTC", COIN, 1_000, "w1"))
    # 1 ETH at $100.0000: cost $100.00 + fee $0.25, all of the cash.
    buy = Command("COIN_BUY", txn(), user=user, symbol="ETH", units=COIN)
    ledger.run(buy, lambda a: exchange.buy_coin(a, "ETH", COIN, 1_000_000, 25, str(buy.txn)))

    account = ledger.current(user)
    assert account.cash == 0
    assert account.asset("DTC") == AssetBalance(available=2 * COIN - 1_000)
    assert account.asset("ETH") == AssetBalance(available=COIN, cost_cents=10_025)

    stored = entries(store, user)
    assert [(e["reason"], e["asset"], e["units"]) for e in stored] == [
        ("deposit", "DTC", 3 * COIN),
        ("withdrawal_lock", "DTC", COIN + 1_000),
        ("withdrawal_sent", "DTC", COIN),
        ("withdrawal_fee", "DTC", 1_000),
        ("buy", "ETH", COIN),
    ]
    assert stored[-1]["txn"] == buy.txn and stored[-1]["detail"] == {
        "price": 1_000_000,
        "cents": 10_000,
        "fee": 25,
    }
    balances = backend.wallet_ledger.balances(user)
    assert balances[f"user:{user}"] == {"DTC": 2 * COIN - 1_000, "ETH": COIN}
    assert balances[f"user:{user}:locked"] == {"DTC": 0}
    for asset in ("DTC", "ETH"):
        assert sum(b.get(asset, 0) for b in balances.values()) == 0
    history = backend.wallet_ledger.history(user, limit=2)
    assert [e["reason"] for e in history] == ["buy", "withdrawal_fee"]

    # The coin order left no userCommand (the course schema has no such command), and
    # its cash moves are accountTransactions: cash = sum(add) - sum(remove).
    assert [e["command"] for e in store.user_log(user, "userCommand")] == ["ADD"]
    assert store.cash_by_the_log(user) == 0


def test_a_refused_rule_stores_no_entry(backend, store):
    user = random_user()
    backend.ledger.run_system(user, lambda a: rules.Change(a))  # no account: left alone
    backend.ledger.run(
        Command("ADD", txn(), user=user, funds=1), lambda a: rules.add_funds(a, 1), create=True
    )
    with pytest.raises(InsufficientAssets):
        backend.ledger.run_system(user, lambda a: wallet.lock_withdrawal(a, "DTC", 5, 0, "w"))
    assert entries(store, user) == []
    assert backend.ledger.current(user).assets == {}


def test_entries_a_crash_kept_from_the_wallet_ledger_arrive_once(
    database_store, store, monkeypatch
):
    backend = database_store
    user = random_user()
    real_append = backend.ledger.wallet.append
    failures = [1]

    def append(batch):
        if failures:
            failures.pop()
            raise ProcessDied
        return real_append(batch)

    monkeypatch.setattr(backend.ledger.wallet, "append", append)
    backend.ledger.run(
        Command("ADD", txn(), user=user, funds=1), lambda a: rules.add_funds(a, 1), create=True
    )
    with pytest.raises(ProcessDied):
        backend.ledger.run_system(user, lambda a: wallet.credit_deposit(a, "DTC", 42, "tx1"))
    assert backend.ledger.current(user).asset("DTC").available == 42  # saved ...
    assert entries(store, user) == []  # ... but not yet in the wallet ledger

    backend.ledger.flush_pending_outboxes()
    backend.ledger.flush_pending_outboxes()
    backend.ledger.run_system(user, lambda a: wallet.credit_deposit(a, "DTC", 8, "tx2"))
    stored = entries(store, user)
    assert [(e["ref"], e["units"]) for e in stored] == [("tx1", 42), ("tx2", 8)]
    assert backend.wallet_ledger.balances(user)[f"user:{user}"] == {"DTC": 50}
