"""The chain-node: one proof-of-work node of the platform's chain (or of a dvf network).

Gunicorn runs ``services.chain_node:create_app()`` for the HTTP routes; the node's miner
and peer-sync loops run in its worker process, ``python -m services.chain_node.worker``.
"""

from __future__ import annotations

import threading

from flask import Flask

from ..common.config import load_chain_settings
from ..common.logs import configure_logging
from ..common.web import register_error_handlers
from .node import build_node
from .routes import bp


def create_app(overrides: dict | None = None) -> Flask:
    """Gunicorn entry point: ``services.chain_node:create_app()``."""
    settings = load_chain_settings(overrides)
    configure_logging(settings.log_level, settings.server_name)
    app = Flask("chain_node")
    app.config.update(MAX_CONTENT_LENGTH=settings.chain_max_body_bytes)
    app.json.sort_keys = False
    node, adapters = build_node(settings)
    node.start()
    app.extensions["chain_node"] = node
    app.extensions["chain_adapters"] = adapters
    # Live streams hold a thread each: a per-process cap keeps threads for the rest.
    app.extensions["chain_streams"] = threading.BoundedSemaphore(settings.chain_events_max_streams)
    register_error_handlers(app)
    app.register_blueprint(bp)
    return app
