"""One exception hierarchy for every service; `web.register_error_handlers` turns it into JSON."""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error a client may see."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class InvalidInput(PlatformError):
    status_code = 400
    code = "invalid_input"


class OrderTooSmall(InvalidInput):
    """A coin order worth less than a cent at the market price."""

    code = "order_too_small"


class Unauthorized(PlatformError):
    status_code = 401
    code = "unauthorized"


class Forbidden(PlatformError):
    status_code = 403
    code = "forbidden"


class NotFound(PlatformError):
    status_code = 404
    code = "not_found"


class Conflict(PlatformError):
    """The request is well formed but the state of the account does not allow it."""

    status_code = 409
    code = "conflict"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class InsufficientShares(Conflict):
    code = "insufficient_shares"


class InsufficientAssets(Conflict):
    """Not enough of a coin (available, or locked) for what was asked."""

    code = "insufficient_assets"


class NothingPending(Conflict):
    code = "nothing_pending"


class NoSetup(Conflict):
    code = "no_setup"


class TooManySetups(Conflict):
    """A user already holds as many automatic buys and sells as allowed."""

    code = "too_many_setups"


class TooManyArmedSymbols(Conflict):
    """The platform already watches as many symbols for triggers as allowed."""

    code = "too_many_armed_symbols"


class ZeroShares(Conflict):
    code = "zero_shares"


class IdempotencyKeyReused(PlatformError):
    """An Idempotency-Key sent again with a different request."""

    status_code = 422
    code = "idempotency_key_reused"


class TooManyRequests(PlatformError):
    """A bound on what one client (or everyone) may hold at once was reached."""

    status_code = 429
    code = "too_many_requests"


class UpstreamUnavailable(PlatformError):
    status_code = 503
    code = "upstream_unavailable"
