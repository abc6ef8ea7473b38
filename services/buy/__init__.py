"""The buy service: BUY, COMMIT_BUY, CANCEL_BUY and the automatic-buy commands."""

from __future__ import annotations

from flask import Flask

from ..common.web import create_service_app
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.buy:create_app()``."""
    return create_service_app("buy", bp, overrides)
