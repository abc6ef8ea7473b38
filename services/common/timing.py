"""Where a request's time goes, for its ``Server-Timing`` response header.

The adapters time their round trips with ``phase("name")``; the web layer starts a
record per request (``start``) and sends it (``header``). Outside a request (the trigger
checker, scripts) ``phase`` records nothing. Browsers show the header in their
developer tools; the replayer collects it for `make bench` (docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# For the request being served in this thread: when it began, and phase -> seconds spent.
_request: ContextVar[tuple[float, dict[str, float]] | None] = ContextVar(
    "server_timing", default=None
)


def start() -> None:
    """Begin recording the current request's phases."""
    _request.set((time.perf_counter(), {}))


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Add the time spent inside to phase ``name`` of the current request, if any."""
    request = _request.get()
    if request is None:
        yield
        return
    spent = request[1]
    began = time.perf_counter()
    try:
        yield
    finally:
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - began


def header() -> str | None:
    """The ``Server-Timing`` value: each phase and ``app`` (the whole request), in ms."""
    request = _request.get()
    if request is None:
        return None
    _request.set(None)
    began, spent = request
    phases = [*spent.items(), ("app", time.perf_counter() - began)]
    return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in phases)
