"""All service configuration, read from the environment in this one place.

A `.env` file in the working directory is read too (``make up`` writes one with fresh
secrets); real environment variables win over it. Secrets have no default, so a
missing one stops the process at start-up instead of running insecurely.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain.money import parse_units


class Settings(BaseSettings):
    """Typed, read-only service settings."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    mongo_uri: str = "mongodb://127.0.0.1:27018/"
    mongo_db: str = "daytrading"
    redis_url: str = "redis://127.0.0.1:16379/0"
    quote_server_addr: str = "127.0.0.1:4444"
    quote_timeout_s: float = Field(default=5.0, gt=0)
    quote_ttl_s: float = Field(default=60.0, gt=0)
    pending_ttl_s: float = Field(default=60.0, gt=0)
    trigger_interval_s: float = Field(default=5.0, ge=0)
    server_name: str = Field(default="dts", min_length=1, max_length=64)
    jwt_secret: SecretStr = Field(min_length=16)
    admin_password: SecretStr = Field(min_length=8)
    service_password: SecretStr = Field(min_length=8)
    token_ttl_s: int = Field(default=3600, gt=0)
    max_body_bytes: int = Field(default=16 * 1024, gt=0)
    user_lock_timeout_s: float = Field(default=10.0, gt=0)
    # Per user (or per address without a token); the service role is exempt.
    rate_limit_default: str = "1200/minute"
    # Sign-in and registration, per address: slows password guessing.
    rate_limit_auth: str = "30/minute"
    log_level: str = "INFO"
    # Where the ledger stores a command (docs/architecture.md, "The journal"): "journal",
    # a record in Redis's fsynced append-only file that the persister writes to the
    # database behind it, or "database", the account and log written there directly.
    ledger_store: Literal["journal", "database"] = "database"
    # Addresses (CIDR, comma-separated) of the proxy in front of the services (NGINX):
    # only its X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    # How long the answer to a request with an Idempotency-Key is kept for its retries.
    idempotency_window_s: int = Field(default=86_400, gt=0)
    # Automatic buys and sells one user may hold (both sides counted), and the distinct
    # symbols armed platform-wide: each armed symbol costs a billed quote per QUOTE_TTL_S.
    max_setups_per_user: int = Field(default=100, gt=0)
    max_armed_symbols: int = Field(default=1000, gt=0)
    # The events gateway (services/events): open streams per user and in all, how long
    # one lasts before the client reconnects, how often an idle one gets a keep-alive,
    # and the chain-node whose topic /api/chain/events follows.
    events_max_streams_per_user: int = Field(default=5, gt=0)
    events_max_streams: int = Field(default=1000, gt=0)
    events_max_stream_s: float = Field(default=300.0, gt=0)
    events_keepalive_s: float = Field(default=15.0, gt=0)
    events_chain_node: str = Field(default="node1", min_length=1, max_length=64)
    # The market feed (Bithumb's public API v1 in USD) and how old a price may be.
    market_feed_url: str = "http://127.0.0.1:4490"
    market_timeout_s: float = Field(default=2.0, gt=0)
    market_price_max_age_s: float = Field(default=1.0, gt=0, le=60)
    # The fee of a coin order, in basis points of its value (25 = 0.25 %).
    exchange_fee_bp: int = Field(default=25, ge=0, le=1000)
    # Mining (docs/architecture.md, "Mining"). Pools are "name:scheme:fee %" entries,
    # their keys "name=<64 hex private key>" entries (generated into .env by `make up`).
    mining_max_machines: int = Field(default=20, ge=1, le=1000)
    mining_history_limit: int = Field(default=50, ge=1, le=1000)
    pool_definitions: str = (
        "atlas:PPLNS:1.5,boreal:PPS:2.5,cobalt:PPLNS:2,delta:PPS:4,ember:PPLNS:1"
    )
    pool_keys: SecretStr = SecretStr("")
    pool_chain_url: str = "http://127.0.0.1:5001"
    pool_chain_timeout_s: float = Field(default=5.0, gt=0)
    pool_block_time_s: float = Field(default=10.0, gt=0)
    pool_rest_hashrate: int = Field(default=10**14, ge=0, le=10**18)
    pool_share_hashes: int = Field(default=2**32, ge=1)
    pool_pplns_factor: float = Field(default=2.0, gt=0, le=100)
    pool_tick_s: float = Field(default=1.0, gt=0)
    pool_window_s: float = Field(default=10.0, gt=0)
    pool_settle_ms: int = Field(default=2000, ge=0)
    pool_seed: int = 13
    pool_stats_interval_s: float = Field(default=5.0, gt=0)
    pool_maturity: int = Field(default=10, ge=0)
    pool_pow_max_s: float = Field(default=60.0, gt=0)
    pool_pps_settle_blocks: int = Field(default=10, ge=1, le=10_000)
    # Isolated margin: interest per hour begun (millionths of the amount borrowed), how
    # often the checker looks for positions to call or liquidate (0 = off), and how many
    # positions a user may hold.
    margin_interest_ppm_hour: int = Field(default=10, ge=0, le=10_000)
    margin_check_interval_s: float = Field(default=2.0, ge=0)
    margin_max_positions: int = Field(default=10, ge=1, le=20)
    # Stop orders (coin holdings and margin positions) a user may have, and, counted
    # apart, open stop-losses on stock holdings.
    stop_max_orders: int = Field(default=20, ge=1, le=100)
    # Volatility-breakout strategies (live or paper) a user may run.
    strategy_max: int = Field(default=5, ge=1, le=20)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip())  # ValueError: a clear start-up failure
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(part.strip()) for part in self.trusted_proxies.split(",") if part
        )


def load_settings(overrides: dict | None = None) -> Settings:
    """Build the settings from the environment, with ``overrides`` (tests) on top."""
    return Settings(**(overrides or {}))


def _units(text: str, field: str, allow_zero: bool = True) -> int:
    return parse_units(text, field, allow_zero=allow_zero)


class WalletSettings(BaseSettings):
    """The wallet's settings (``WALLET_*``, ``GAS_KEEPER_*``): service, block analyser
    and collection worker read the same ones. Coin amounts are decimal strings (8
    decimals at most), read into integer units by the properties below."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # Fernet key sealing every private key the wallet stores; no default.
    wallet_encryption_key: SecretStr = Field(min_length=44, max_length=44)
    wallet_chain_node_url: str = "http://127.0.0.1:5001"
    # The chain-node's name: the analyser follows its Redis topic chain:<name>.
    wallet_chain_node_name: str = Field(default="node1", min_length=1, max_length=64)
    wallet_chain_timeout_s: float = Field(default=5.0, gt=0)
    wallet_confirmations: int = Field(default=3, ge=1, le=1000)
    wallet_min_collection: str = "0.01"
    wallet_hot_max: str = "100"
    # The cold wallet's address; its key is never on the platform. Empty: all to hot.
    wallet_cold_address: str = Field(default="", pattern=r"^([0-9a-f]{40})?$")
    wallet_withdraw_approval: str = "10"
    wallet_tx_fee: str = "0.0001"
    wallet_withdraw_fee_dusd: str = "0.01"
    wallet_max_open_withdrawals: int = Field(default=20, ge=1, le=1000)
    # The analyser waits this long for a chain event before asking the node anyway.
    wallet_poll_s: float = Field(default=2.0, gt=0, le=60)
    wallet_job_retries: int = Field(default=8, ge=0, le=100)
    gas_keeper_min: str = "1"

    @model_validator(mode="after")
    def _amounts_parse(self) -> WalletSettings:
        """Fail at start-up, not at the first deposit, on a malformed amount."""
        for name in ("min_collection", "hot_max", "withdraw_approval", "tx_fee"):
            getattr(self, f"{name}_units")
        self.withdraw_fee_dusd_units, self.gas_keeper_min_units  # noqa: B018
        return self

    @property
    def min_collection_units(self) -> int:
        return _units(self.wallet_min_collection, "WALLET_MIN_COLLECTION")

    @property
    def hot_max_units(self) -> int:
        return _units(self.wallet_hot_max, "WALLET_HOT_MAX")

    @property
    def withdraw_approval_units(self) -> int:
        return _units(self.wallet_withdraw_approval, "WALLET_WITHDRAW_APPROVAL")

    @property
    def tx_fee_units(self) -> int:
        return _units(self.wallet_tx_fee, "WALLET_TX_FEE")

    @property
    def withdraw_fee_dusd_units(self) -> int:
        return _units(self.wallet_withdraw_fee_dusd, "WALLET_WITHDRAW_FEE_DUSD")

    @property
    def gas_keeper_min_units(self) -> int:
        return _units(self.gas_keeper_min, "GAS_KEEPER_MIN")


def load_wallet_settings(overrides: dict | None = None) -> WalletSettings:
    """The wallet's settings from the environment, with ``overrides`` (tests) on top."""
    return WalletSettings(**(overrides or {}))


class ChainNodeSettings(Settings):
    """A chain-node's settings (``CHAIN_*``), on top of the common ones. Every node of one
    network must share the rules, the difficulty settings, the block time and the genesis
    (time, treasury, DUSD supply)."""

    chain_rules: str = Field(default="platform", pattern="^(platform|dvf)$")
    # This node's name (its Redis keys, its event topic ``chain:<name>``) and own URL (to
    # refuse registering itself and to tell peers where it is).
    chain_node_name: str = Field(default="node1", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    chain_node_url: str = "http://127.0.0.1:5001"
    # Peers registered at start-up (comma-separated URLs).
    chain_peers: str = ""
    # A fixed difficulty in leading zero bits (tests); unset: start at the initial
    # difficulty and retarget every 10 blocks toward the block time.
    chain_difficulty_bits: int | None = Field(default=None, ge=1, le=64)
    chain_initial_difficulty_bits: int = Field(default=16, ge=1, le=64)
    chain_block_time_s: float = Field(default=10.0, gt=0)
    chain_genesis_time_ms: int = Field(default=1_767_225_600_000, ge=0)
    # The treasury that the genesis block mints the DUSD supply to. The default is the
    # address of the development key sha256("dtc-dev-treasury") (README): never use it
    # outside a laptop.
    chain_treasury_address: str = Field(
        default="1a52e746bbdcde2604b0057d9daa34f77f2269e4", pattern="^[0-9a-f]{40}$"
    )
    chain_dusd_supply_units: int = Field(default=10**17, gt=0, le=10**18)
    chain_max_block_txs: int = Field(default=4000, ge=1, le=20_000)
    chain_mempool_max: int = Field(default=50_000, ge=1)
    # The miner worker mines a block on its own when no block arrived for this long
    # (0: only when asked by GET /mine).
    chain_miner_interval_s: float = Field(default=10.0, ge=0)
    chain_mine_wait_s: float = Field(default=60.0, gt=0)
    # Peers: every call's timeout, the poll period of the sync loop, the most a peer may
    # send in one answer, the longest back-off of a failing peer.
    chain_peer_timeout_s: float = Field(default=3.0, gt=0)
    chain_sync_interval_s: float = Field(default=2.0, gt=0)
    chain_peer_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    chain_peer_max_backoff_s: float = Field(default=60.0, gt=0)
    chain_max_peers: int = Field(default=32, ge=1)
    # GET /events: concurrent streams per process (429 beyond) and a stream's longest life.
    chain_events_max_streams: int = Field(default=16, ge=1)
    chain_events_max_s: float = Field(default=300.0, gt=0)
    chain_lock_timeout_s: float = Field(default=120.0, gt=0)
    chain_max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    @field_validator("chain_difficulty_bits", mode="before")
    @classmethod
    def _unset_when_empty(cls, value):
        # docker-compose passes an unset variable as "".
        return None if value == "" else value


def load_chain_settings(overrides: dict | None = None) -> ChainNodeSettings:
    """A chain-node's settings from the environment, with ``overrides`` (tests) on top."""
    return ChainNodeSettings(**(overrides or {}))
