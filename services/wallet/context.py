"""Builds a process's ``Wallet`` (every adapter the use cases need) from the settings.

The service's workers, the block analyser and the collection worker each build one
after they start (after gunicorn's fork), as PyMongo requires.
"""

from __future__ import annotations

from ..common.backend import Backend
from ..common.chain.client import ChainNodeClient
from ..common.config import WalletSettings, load_settings, load_wallet_settings
from ..common.jobqueue import JobQueue, WalletLocks
from ..common.logs import configure_logging
from ..common.wallet_keys import (
    GAS_KEEPER,
    HOT_WALLET,
    DepositAddressRepository,
    KeyVault,
    SystemKeyRepository,
)
from ..common.wallet_repositories import (
    AlertRepository,
    AnalyserStateRepository,
    ChainTransactionRepository,
    DepositRepository,
    SweepRepository,
    WalletEntryLookup,
    WithdrawalRepository,
)
from .service import Wallet


def wallet_from(backend: Backend, settings: WalletSettings) -> Wallet:
    """The wallet's adapters on top of a process's ``Backend``; indexes ensured and the
    platform's own wallets made on first start."""
    db = backend.db
    wallet = Wallet(
        settings=settings,
        ledger=backend.ledger,
        entries=backend.wallet_ledger,
        entry_lookup=WalletEntryLookup(db),
        txns=backend.txns,
        vault=KeyVault(settings.wallet_encryption_key.get_secret_value()),
        addresses=DepositAddressRepository(db),
        system_keys=SystemKeyRepository(db),
        deposits=DepositRepository(db),
        withdrawals=WithdrawalRepository(db),
        chain_txs=ChainTransactionRepository(db),
        sweeps=SweepRepository(db),
        analyser_state=AnalyserStateRepository(db),
        alerts=AlertRepository(db),
        node=ChainNodeClient(settings.wallet_chain_node_url, settings.wallet_chain_timeout_s),
        locks=WalletLocks(backend.redis),
        queue=JobQueue(backend.redis, settings.wallet_job_retries),
        redis=backend.redis,
        clock_ms=backend.clock_ms,
    )
    for repository in (
        wallet.entry_lookup,
        wallet.addresses,
        wallet.deposits,
        wallet.withdrawals,
        wallet.chain_txs,
        wallet.sweeps,
        wallet.alerts,
    ):
        repository.ensure_indexes()
    for name in (HOT_WALLET, GAS_KEEPER):
        wallet.system_keys.get_or_create(name, wallet.vault)
    return wallet


def build_wallet() -> Wallet:
    """A ``Wallet`` for a process outside gunicorn (analyser, worker)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.server_name)
    backend = Backend(settings)
    backend.wait_until_ready(timeout_s=120)
    backend.ensure_indexes()
    return wallet_from(backend, load_wallet_settings())
