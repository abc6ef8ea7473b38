"""The start of a long-running background process (the checkers, the persister, the
pool engine, the wallet's analyser): its settings and logging, and the event that
SIGTERM or SIGINT sets so it finishes its pass and stops."""

from __future__ import annotations

import signal
import threading

from .config import Settings, load_settings
from .logs import configure_logging


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (supervisord, docker stop) or SIGINT (Ctrl-C)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def start_process() -> tuple[Settings, threading.Event]:
    """The process's settings (logging configured by them) and its stop event."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.server_name)
    return settings, stop_on_signals()
