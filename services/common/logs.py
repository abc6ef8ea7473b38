"""Application logging, configured once: one format, the server name on every line."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str, server: str) -> None:
    """Send log lines to stderr (gunicorn/supervisord collect them)."""
    root = logging.getLogger()
    if getattr(root, "_dts_configured", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {server} %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    root._dts_configured = True
