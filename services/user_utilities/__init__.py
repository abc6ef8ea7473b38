"""The user-utilities service: accounts, ADD, QUOTE, DISPLAY_SUMMARY, history, DUMPLOG."""

from __future__ import annotations

from flask import Flask

from ..common.web import create_service_app
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.user_utilities:create_app()``."""
    return create_service_app("user-utilities", bp, overrides)
