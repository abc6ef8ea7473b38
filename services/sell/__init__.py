"""The sell service: SELL, COMMIT_SELL, CANCEL_SELL and the automatic-sell commands."""

from __future__ import annotations

from flask import Flask

from ..common.web import create_service_app
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.sell:create_app()``."""
    return create_service_app("sell", bp, overrides)
