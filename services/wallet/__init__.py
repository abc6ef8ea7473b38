"""The wallet service: balances, deposit addresses, deposits, withdrawals, reserves.

Its block analyser (``python -m services.wallet.analyser``) and collection worker
(``python -m services.wallet.worker``) run beside it as their own processes.
"""

from __future__ import annotations

from flask import Flask

from ..common.config import load_wallet_settings
from ..common.web import create_service_app
from .context import wallet_from
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.wallet:create_app()``. ``overrides`` may hold
    wallet settings (``wallet_*``, ``gas_keeper_*``) as well as the common ones."""
    overrides = dict(overrides or {})
    wallet_overrides = {
        k: overrides.pop(k) for k in list(overrides) if k.startswith(("wallet_", "gas_keeper_"))
    }
    app = create_service_app("wallet", bp, overrides)
    backend = app.extensions["backend"]
    app.extensions["wallet"] = wallet_from(backend, load_wallet_settings(wallet_overrides))
    return app
