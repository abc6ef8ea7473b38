"""All service configuration, read from the environment in this one place.

A `.env` file in the working directory is read too (``make up`` writes one with fresh
secrets); real environment variables win over it. Secrets have no default, so a
missing one stops the process at start-up instead of running insecurely.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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


def load_settings(overrides: dict | None = None) -> Settings:
    """Build the settings from the environment, with ``overrides`` (tests) on top."""
    return Settings(**(overrides or {}))


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
