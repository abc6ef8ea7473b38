"""Market feed settings: the only place this component reads the environment.

With ``MARKET_FEED_FROZEN_MS`` the market stands still at that moment, and ``POST
/mock/clock`` moves it to another (tests). ``MARKET_FEED_CLOCK_CONTROL`` lets a live
market be stopped at a moment the same way, and run live again (end-to-end tests).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedSettings(BaseSettings):
    """``MARKET_FEED_HOST``, ``_PORT``, ``_SEED``, ``_TICK_MS``, ``_FROZEN_MS`` and
    ``_CLOCK_CONTROL``."""

    model_config = SettingsConfigDict(
        env_prefix="MARKET_FEED_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=4490, ge=0, le=65535)
    seed: int = 1
    # How often the websocket stream sends each subscribed ticker.
    tick_ms: int = Field(default=1000, ge=50, le=60_000)
    # A fixed "now" (Unix ms): the market stands still there (tests). Unset: the clock.
    frozen_ms: int | None = Field(default=None, ge=1_704_153_600_000)  # from day 2 of the market
    # Tests: ``POST /mock/clock`` also on a live market (it stops there until a
    # ``{"now_ms": null}`` sets it running live again). Never on a real deployment.
    clock_control: bool = False
