"""HTTP routes of the sell service (under /api/sell): one POST per trading command, and
the stop-losses on holdings (place, list, cancel).

The commands and their use cases are in the shared catalogue (common/commands.py),
which BATCH in user-utilities runs too.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, request

from ..common import commands, trading
from ..common.domain import stock_stops
from ..common.domain.identifiers import check_user_id
from ..common.errors import InvalidInput
from ..common.ledger import Command
from ..common.openapi import api_doc
from ..common.schemas import StockStopBody
from ..common.web import (
    add_command_route,
    answered_once,
    backend,
    idempotency_key,
    ok,
    platform_command,
    principal,
)

bp = Blueprint("sell", __name__, url_prefix="/api/sell")

for spec in commands.of_service("sell"):
    add_command_route(bp, spec)


@bp.post("/stops")
@api_doc("Place a stop-loss on shares held", body=StockStopBody)
def place_stop():
    """Place {user, symbol, shares (a number, or "all"), price}: once a quote the trigger
    checker sees is at or below ``price``, the shares are sold at that quote, once. 400
    for a stop at or above the market (or bad input), 409 for shares not held or too
    many open stop-losses."""
    body, command = platform_command(trading.PLACE_STOP, StockStopBody)
    shares = stock_stops.ALL if body.shares == "all" else body.shares
    command = replace(command, symbol=body.symbol, funds=body.price, terms=str(body.shares))
    return answered_once(command, lambda: trading.place_stop(backend().trading(), command, shares))


@bp.get("/stops")
@api_doc("A user's stop-losses", errors=(400, 401, 403, 404, 429, 503))
def list_stops():
    """The caller's stop-losses (or ?user= for admin/service): open ones oldest first,
    then the filled or lapsed ones with their fills, newest first."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    return ok(trading.list_stops(backend().trading(), user))


@bp.delete("/stops/<stop_id>")
@api_doc("Cancel a stop-loss", errors=(400, 401, 403, 404, 409, 422, 429, 503))
def cancel_stop(stop_id: str):
    """Cancel the caller's (or ?user='s, for admin/service) open stop-loss ``stop_id``.
    404 when the user has none with that id; 409 once it has filled or lapsed."""
    user = check_user_id(request.args.get("user") or principal().name)
    principal().require_act_for(user)
    if not stop_id.isascii() or not stop_id.isdigit() or len(stop_id) > 19:
        raise InvalidInput("a stop-loss id is a number of 1-19 digits")
    command = Command(
        trading.CANCEL_STOP,
        backend().txns.next(),
        user=user,
        key=idempotency_key(),
        terms=stop_id,
    )
    return answered_once(
        command, lambda: trading.cancel_stop(backend().trading(), command, stop_id)
    )
