"""The exchange service: the coin board, coin holdings and coin orders for cash."""

from __future__ import annotations

from flask import Flask

from ..common.web import create_service_app
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.exchange:create_app()``."""
    return create_service_app("exchange", bp, overrides)
