"""Builds the adapters one process needs from the settings, once per process.

Gunicorn runs without --preload, so every worker builds its own MongoClient and Redis
client after the fork, as PyMongo requires.
"""

from __future__ import annotations

import time
from functools import cached_property

import pymongo
import redis

from .auth import Authenticator
from .cache import (
    Answers,
    ArmedSymbols,
    CoinWatch,
    OutboxMarks,
    QuoteCache,
    TransactionNumbers,
    UserLocks,
)
from .clients import QuoteServerClient
from .coin_trading import CoinTrading
from .config import Settings
from .journal import (
    Journal,
    JournaledAccounts,
    JournaledLog,
    JournaledWalletLedger,
    JournalWriter,
)
from .ledger import CommandRunner, Ledger
from .market import MarketFeedClient, MarketPrices
from .repositories import (
    AccountRepository,
    CredentialRepository,
    LogRepository,
    WalletLedgerRepository,
)
from .trading import Trading


def now_ms() -> int:
    """Wall-clock Unix time in milliseconds (the log's unit)."""
    return time.time_ns() // 1_000_000


class Backend:
    """Every adapter a service uses, created lazily and shared by the process's threads."""

    def __init__(self, settings: Settings, clock_ms=now_ms):
        self.settings = settings
        self.clock_ms = clock_ms
        self.mongo = pymongo.MongoClient(
            settings.mongo_uri,
            serverSelectionTimeoutMS=5000,
            connectTimeoutMS=2000,
            maxPoolSize=50,
        )
        self.redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        self.db = self.mongo[settings.mongo_db]

    @property
    def journaled(self) -> bool:
        """Whether commands are stored through the journal (LEDGER_STORE=journal)."""
        return self.settings.ledger_store == "journal"

    @cached_property
    def journal(self) -> Journal:
        namespace = self.settings.mongo_db
        return Journal(
            self.redis, namespace, writer=lambda: JournalWriter(self.redis, self.db, namespace)
        )

    @cached_property
    def accounts(self) -> AccountRepository:
        if self.journaled:
            return JournaledAccounts(self.db, self.journal)
        return AccountRepository(self.db)

    @cached_property
    def log(self) -> LogRepository:
        return JournaledLog(self.db, self.journal) if self.journaled else LogRepository(self.db)

    @cached_property
    def wallet_ledger(self) -> WalletLedgerRepository:
        if self.journaled:
            return JournaledWalletLedger(self.db, self.journal)
        return WalletLedgerRepository(self.db)

    @cached_property
    def credentials(self) -> CredentialRepository:
        return CredentialRepository(self.db)

    @cached_property
    def quotes(self) -> QuoteCache:
        client = QuoteServerClient(self.settings.quote_server_addr, self.settings.quote_timeout_s)
        return QuoteCache(
            self.redis,
            client,
            ttl_s=self.settings.quote_ttl_s,
            fetch_timeout_s=self.settings.quote_timeout_s,
            clock_ms=self.clock_ms,
            origin=self.settings.server_name,
        )

    @cached_property
    def market(self) -> MarketPrices:
        feed = MarketFeedClient(self.settings.market_feed_url, self.settings.market_timeout_s)
        return MarketPrices(
            self.redis, feed, self.settings.market_price_max_age_s, clock_ms=self.clock_ms
        )

    @cached_property
    def answers(self) -> Answers:
        return Answers(self.redis, self.settings.idempotency_window_s, self.settings.mongo_db)

    @cached_property
    def armed_symbols(self) -> ArmedSymbols:
        return ArmedSymbols(self.redis, self.settings.max_armed_symbols, self.settings.mongo_db)

    @cached_property
    def txns(self) -> TransactionNumbers:
        return TransactionNumbers(self.redis)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(
            self.accounts,
            self.log,
            UserLocks(
                self.redis,
                self.settings.user_lock_timeout_s,
                self.settings.mongo_db,
                journal=self.journal.stream if self.journaled else None,
            ),
            clock_ms=self.clock_ms,
            server=self.settings.server_name,
            pending_ttl_s=self.settings.pending_ttl_s,
            marks=OutboxMarks(self.redis),
            wallet=self.wallet_ledger,
            watch=self.coin_watch,
            journaled=self.journaled,
            journal_lag_ms=self.journal.lag_ms if self.journaled else None,
        )

    @cached_property
    def coin_watch(self) -> CoinWatch:
        return CoinWatch(self.redis, self.settings.mongo_db)

    def trading(self, ledger: CommandRunner | None = None) -> Trading:
        """What the trading use cases work with: commands run by ``ledger`` (one
        account's session under its lock), or by this process's ledger."""
        return Trading(
            ledger=ledger or self.ledger,
            quotes=self.quotes,
            clock_ms=self.clock_ms,
            quote_ttl_ms=int(self.settings.quote_ttl_s * 1000),
            pending_ttl_ms=int(self.settings.pending_ttl_s * 1000),
            armed_symbols=self.armed_symbols,
            max_setups=self.settings.max_setups_per_user,
            max_stops=self.settings.stop_max_orders,
        )

    def coin_trading(self, ledger: CommandRunner | None = None) -> CoinTrading:
        """What the coin use cases work with: orders run by ``ledger`` (one account's
        session), or by this process's ledger."""
        return CoinTrading(
            ledger=ledger or self.ledger,
            market=self.market,
            wallet_ledger=self.wallet_ledger,
            fee_bp=self.settings.exchange_fee_bp,
            clock_ms=self.clock_ms,
            interest_ppm=self.settings.margin_interest_ppm_hour,
            max_positions=self.settings.margin_max_positions,
            max_stops=self.settings.stop_max_orders,
            max_strategies=self.settings.strategy_max,
        )

    @cached_property
    def auth(self) -> Authenticator:
        return Authenticator(self.settings, self.credentials, self.accounts)

    def ensure_indexes(self) -> None:
        """Create every index the queries rely on (idempotent)."""
        self.accounts.ensure_indexes()
        self.log.ensure_indexes()
        self.wallet_ledger.ensure_indexes()

    def ping(self) -> None:
        """Raise if MongoDB or Redis does not answer."""
        self.db.command("ping")
        self.redis.ping()

    def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Retry the connections at start-up instead of crash-looping."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.ping()
                return
            except (pymongo.errors.PyMongoError, redis.RedisError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        self.mongo.close()
        self.redis.close()
