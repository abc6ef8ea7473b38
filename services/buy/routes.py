"""HTTP routes of the buy service (under /api/buy): one POST per trading command."""

from __future__ import annotations

from flask import Blueprint

from ..common.schemas import SymbolCommandBody, TradeCommandBody, UserCommandBody
from ..common.web import add_command_route
from . import service

bp = Blueprint("buy", __name__, url_prefix="/api/buy")

# (path, command, body, use case); the batch route of user-utilities runs these too.
COMMAND_ROUTES = (
    ("/buy", "BUY", TradeCommandBody, service.buy),
    ("/commit-buy", "COMMIT_BUY", UserCommandBody, service.commit_buy),
    ("/cancel-buy", "CANCEL_BUY", UserCommandBody, service.cancel_buy),
    ("/set-buy-amount", "SET_BUY_AMOUNT", TradeCommandBody, service.set_buy_amount),
    # SET_BUY_TRIGGER's "amount" is the trigger price.
    ("/set-buy-trigger", "SET_BUY_TRIGGER", TradeCommandBody, service.set_buy_trigger),
    ("/cancel-set-buy", "CANCEL_SET_BUY", SymbolCommandBody, service.cancel_set_buy),
)
for path, name, body, use_case in COMMAND_ROUTES:
    add_command_route(bp, path, name, body, use_case)
