"""Rate limits per client, counted in Redis so they hold across workers and replicas.

A client is the authenticated user when the request carries a valid token, otherwise its
address (the real one: ProxyFix trusts exactly one proxy, NGINX). The service role (the
workload replayer) is exempt; sign-in and registration have a stricter limit per address.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter

from .auth import SERVICE
from .current import principal, request_json
from .errors import PlatformError


def _principal_or_none():
    try:
        return principal()
    except PlatformError:
        return None


def _settings():
    return current_app.extensions["backend"].settings


def client_key() -> str:
    """Who is counted: ``user:<name>`` with a valid token, else ``addr:<address>``.

    Keys carry the deployment's database name, so two deployments (or test sessions)
    sharing one Redis count apart.
    """
    caller = _principal_or_none()
    who = f"user:{caller.name}" if caller else f"addr:{request.remote_addr}"
    return f"{_settings().mongo_db}:{who}"


def address_key() -> str:
    return f"{_settings().mongo_db}:addr:{request.remote_addr}"


def _trusted() -> bool:
    caller = _principal_or_none()
    return caller is not None and caller.role == SERVICE


def auth_limit() -> str:
    return _settings().rate_limit_auth


def default_limit() -> str:
    return _settings().rate_limit_default


# One limit per client across all routes (application limits) and one limiter per
# process; what differs per app is read from the current app's settings at request
# time, so apps with different settings (tests) stay apart.
def request_cost() -> int:
    """A batch counts as many requests as it has commands."""
    body = request_json() if request.path.endswith("/batch") else None
    commands = body.get("commands") if isinstance(body, dict) else None
    return max(1, len(commands)) if isinstance(commands, list) else 1


limiter = Limiter(
    client_key,
    application_limits=[default_limit],
    application_limits_cost=request_cost,
    application_limits_exempt_when=_trusted,
    key_prefix="ratelimit",
)
SIGN_IN_PATHS = (
    "/api/users/login",
    "/api/users/register",
    "/api/users/service-login",
)  # limited per address for all


@limiter.request_filter
def _trusted_elsewhere() -> bool:
    """The service role outside sign-in: exempt before any limit is evaluated, so the
    replayer's requests cost no Redis round trips."""
    return request.path not in SIGN_IN_PATHS and _trusted()
