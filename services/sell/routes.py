"""HTTP routes of the sell service (under /api/sell): one POST per trading command."""

from __future__ import annotations

from flask import Blueprint

from ..common.schemas import SymbolCommandBody, TradeCommandBody, UserCommandBody
from ..common.web import add_command_route
from . import service

bp = Blueprint("sell", __name__, url_prefix="/api/sell")

# (path, command, body, use case); the batch route of user-utilities runs these too.
COMMAND_ROUTES = (
    ("/sell", "SELL", TradeCommandBody, service.sell),
    ("/commit-sell", "COMMIT_SELL", UserCommandBody, service.commit_sell),
    ("/cancel-sell", "CANCEL_SELL", UserCommandBody, service.cancel_sell),
    ("/set-sell-amount", "SET_SELL_AMOUNT", TradeCommandBody, service.set_sell_amount),
    # SET_SELL_TRIGGER's "amount" is the trigger price.
    ("/set-sell-trigger", "SET_SELL_TRIGGER", TradeCommandBody, service.set_sell_trigger),
    ("/cancel-set-sell", "CANCEL_SET_SELL", SymbolCommandBody, service.cancel_set_sell),
)
for path, name, body, use_case in COMMAND_ROUTES:
    add_command_route(bp, path, name, body, use_case)
