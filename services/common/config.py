"""All service configuration, read from the environment in this one place.

A `.env` file in the working directory is read too (``make up`` writes one with fresh
secrets); real environment variables win over it. Secrets have no default, so a
missing one stops the process at start-up instead of running insecurely.
"""

from __future__ import annotations

import ipaddress

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
    events_chain_node: str = Field(default="chain-node-1", min_length=1, max_length=64)

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
