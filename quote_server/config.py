"""Quote server configuration: the only place this component reads ``os.environ``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from quote_server.pricing import MIN_PRICE_CENTS, Latency, format_cents, parse_cents

DEFAULT_HOST = "127.0.0.1"
DEFAULT_TCP_PORT = 4444
DEFAULT_HTTP_PORT = 4480
DEFAULT_SEED = 1
MS_RE = re.compile(r"[0-9]{1,7}")  # ASCII only: str.isdigit() also accepts "²"


class ConfigError(ValueError):
    """A malformed ``QUOTE_*`` variable; the message names the variable and the fix."""


@dataclass(frozen=True)
class QuoteServerConfig:
    """Read-only settings for one quote server process."""

    host: str = DEFAULT_HOST
    tcp_port: int = DEFAULT_TCP_PORT
    http_port: int = DEFAULT_HTTP_PORT
    seed: int = DEFAULT_SEED
    fixed_price_cents: int | None = None
    latency: Latency = Latency()

    def describe(self) -> str:
        """Summarise the settings that change replies, for the startup log line."""
        price = "walk" if self.fixed_price_cents is None else format_cents(self.fixed_price_cents)
        return f"seed={self.seed} price={price} latency={self.latency.describe()}"


def _get(environ: Mapping[str, str], name: str) -> str | None:
    # Treat a set-but-blank variable as unset, as compose files often leave them empty.
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = _get(environ, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    port = _int(environ, name, default)
    # 0 lets the OS pick a free port; the startup log line shows the one it picked.
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be a port number 0-65535, got {port}")
    return port


def _fixed_price(environ: Mapping[str, str]) -> int | None:
    raw = _get(environ, "QUOTE_FIXED_PRICE")
    if raw is None:
        return None
    try:
        cents = parse_cents(raw)
    except ValueError:
        raise ConfigError(
            f"QUOTE_FIXED_PRICE must be dollars with exactly two decimals like 12.34, got {raw!r}"
        ) from None
    if cents < MIN_PRICE_CENTS:
        raise ConfigError(f"QUOTE_FIXED_PRICE must be at least 0.01, got {raw!r}")
    return cents


def _latency(environ: Mapping[str, str]) -> Latency:
    raw = _get(environ, "QUOTE_LATENCY")
    if raw is None:
        return Latency("none")
    value = raw.lower()
    if value in ("none", "realistic"):
        return Latency(value)
    if MS_RE.fullmatch(value):
        return Latency("fixed", int(value))
    raise ConfigError(
        f"QUOTE_LATENCY must be 'none', 'realistic' or a whole number of milliseconds, got {raw!r}"
    )


def load_config(environ: Mapping[str, str] | None = None) -> QuoteServerConfig:
    """Build the config from ``environ`` (default ``os.environ``); raise ConfigError."""
    env = os.environ if environ is None else environ
    return QuoteServerConfig(
        host=_get(env, "QUOTE_HOST") or DEFAULT_HOST,
        tcp_port=_port(env, "QUOTE_TCP_PORT", DEFAULT_TCP_PORT),
        http_port=_port(env, "QUOTE_HTTP_PORT", DEFAULT_HTTP_PORT),
        seed=_int(env, "QUOTE_SEED", DEFAULT_SEED),
        fixed_price_cents=_fixed_price(env),
        latency=_latency(env),
    )
