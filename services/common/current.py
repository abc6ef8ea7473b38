"""The current request's adapters, caller and JSON body (Flask's app and request context).

Both the web wiring (``web``) and the rate limiter (``ratelimit``) need them; keeping
them here lets ``web`` import the limiter without the limiter importing ``web``.
"""

from __future__ import annotations

from flask import current_app, g, request

from .auth import Principal
from .backend import Backend


def backend() -> Backend:
    """The current app's adapters."""
    return current_app.extensions["backend"]


def principal() -> Principal:
    """The authenticated caller (401 without a valid token)."""
    if "principal" not in g:
        g.principal = backend().auth.verify(request.headers.get("Authorization"))
    return g.principal


def request_json():
    """The parsed JSON body, or None when it is not JSON (or nested beyond reason)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None
