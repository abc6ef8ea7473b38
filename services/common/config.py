"""All service configuration, read from the environment in this one place.

A `.env` file in the working directory is read too (``make up`` writes one with fresh
secrets); real environment variables win over it. Secrets have no default, so a
missing one stops the process at start-up instead of running insecurely.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
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
    events_chain_node: str = Field(default="chain-node-1", min_length=1, max_length=64)
    # The market feed (Bithumb's public API v1 in USD) and how old a price may be.
    market_feed_url: str = "http://127.0.0.1:4490"
    market_timeout_s: float = Field(default=2.0, gt=0)
    market_price_max_age_s: float = Field(default=1.0, gt=0, le=60)
    # The fee of a coin order, in basis points of its value (25 = 0.25 %).
    exchange_fee_bp: int = Field(default=25, ge=0, le=1000)


def load_settings(overrides: dict | None = None) -> Settings:
    """Build the settings from the environment, with ``overrides`` (tests) on top."""
    return Settings(**(overrides or {}))
