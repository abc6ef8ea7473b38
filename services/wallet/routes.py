"""HTTP routes of the wallet service (under /api/wallet).

A user sees their own balances, deposit address, deposits, withdrawals and history;
``?user=`` names another user's, which only admins (and the service role) may read
(403 otherwise). Admin routes: reserves, the gas keeper, collection jobs, alerts, the
platform's addresses, and approving or rejecting large withdrawals.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..common.auth import ADMIN
from ..common.errors import InvalidInput
from ..common.openapi import api_doc
from ..common.web import idempotency_key, json_body, ok, principal
from . import service

bp = Blueprint("wallet", __name__, url_prefix="/api/wallet")


def _wallet() -> service.Wallet:
    return current_app.extensions["wallet"]


def _subject() -> str:
    """The user whose data is asked for: the caller, or ``?user=`` if they may."""
    caller = principal()
    user = request.args.get("user", caller.name)
    caller.require_act_for(user)
    return user


def _page() -> tuple[int, int | None]:
    try:
        limit = int(request.args.get("limit", 20))
        before = request.args.get("before")
        before_ms = int(before) if before is not None else None
    except ValueError:
        raise InvalidInput("limit and before must be integers") from None
    if not 1 <= limit <= service.PAGE_MAX:
        raise InvalidInput(f"limit must be 1..{service.PAGE_MAX}")
    return limit, before_ms


def _admin() -> str:
    caller = principal()
    caller.require_role(ADMIN)
    return caller.name


@bp.get("/balances")
@api_doc("Balances per asset: available and locked")
def balances():
    """The caller's (or ``?user=``'s) balances. 403 for another user's."""
    return ok(service.balances(_wallet(), _subject()))


@bp.get("/deposit-address")
@api_doc("The caller's deposit address (DTC and DUSD)")
def deposit_address():
    """The caller's deposit address, made on first request."""
    return ok(service.deposit_address(_wallet(), principal().name))


@bp.get("/deposits")
@api_doc("Deposits, newest first, with state and confirmations")
def deposits():
    """The caller's (or ``?user=``'s) deposits; ``limit``, ``before`` (ms) page."""
    user = _subject()
    return ok(service.list_deposits(_wallet(), user, *_page()))


@bp.get("/history")
@api_doc("The wallet history: double-entry ledger entries, newest first")
def history():
    """The caller's (or ``?user=``'s) wallet-ledger entries."""
    user = _subject()
    return ok(service.history(_wallet(), user, *_page()))


@bp.post("/withdrawals")
@api_doc("Withdraw to a chain address: {asset, address, amount}; Idempotency-Key")
def create_withdrawal():
    """Create a withdrawal. 400 bad asset/address/amount, 409 insufficient or too many
    open, 422 a reused Idempotency-Key."""
    user = principal().name
    key = idempotency_key()
    asset, address, units = service.parse_withdrawal(json_body())
    return ok(service.create_withdrawal(_wallet(), user, asset, address, units, key), 201)


@bp.get("/withdrawals")
@api_doc("Withdrawals, newest first")
def list_withdrawals():
    """The caller's (or ``?user=``'s) withdrawals."""
    user = _subject()
    return ok(service.list_withdrawals(_wallet(), user, *_page()))


@bp.get("/withdrawals/<withdrawal_id>")
@api_doc("One withdrawal")
def get_withdrawal(withdrawal_id: str):
    """One withdrawal. 404 none, 403 another user's."""
    return ok(service.get_withdrawal(_wallet(), withdrawal_id, principal().may_act_for))


@bp.post("/withdrawals/<withdrawal_id>/cancel")
@api_doc("Cancel a withdrawal not yet sent")
def cancel_withdrawal(withdrawal_id: str):
    """Cancel. 404 none, 403 another user's, 409 already sent or finished."""
    return ok(service.cancel_withdrawal(_wallet(), withdrawal_id, principal().may_act_for))


@bp.post("/withdrawals/<withdrawal_id>/approve")
@api_doc("Admin: approve a withdrawal above the approval limit")
def approve_withdrawal(withdrawal_id: str):
    """Approve (admin). 404 none, 409 not waiting for approval."""
    return ok(service.decide_withdrawal(_wallet(), withdrawal_id, _admin(), approve=True))


@bp.post("/withdrawals/<withdrawal_id>/reject")
@api_doc("Admin: reject a withdrawal above the approval limit")
def reject_withdrawal(withdrawal_id: str):
    """Reject (admin): funds unlocked. 404 none, 409 not waiting for approval."""
    return ok(service.decide_withdrawal(_wallet(), withdrawal_id, _admin(), approve=False))


@bp.get("/admin/withdrawals")
@api_doc("Admin: withdrawals in a state (default: waiting for approval)")
def admin_withdrawals():
    """Withdrawals by state (admin)."""
    _admin()
    return ok(service.withdrawals_in_state(_wallet(), request.args.get("state", "accepted")))


@bp.get("/reserves")
@api_doc("Admin: reserves per asset, liabilities vs on-chain holdings, explained")
def reserves():
    """Reserves (admin)."""
    _admin()
    return ok(service.reserves(_wallet()))


@bp.get("/gas-keeper")
@api_doc("Admin: the gas keeper's balance and low-balance alert")
def gas_keeper():
    """The gas keeper (admin)."""
    _admin()
    return ok(service.gas_keeper_state(_wallet()))


@bp.get("/jobs")
@api_doc("Admin: collection jobs queued, running and failed; recent sweeps")
def jobs():
    """Collection jobs and sweeps (admin)."""
    _admin()
    return ok(service.collection_overview(_wallet()))


@bp.get("/alerts")
@api_doc("Admin: wallet alerts (deep reorgs, gas keeper low)")
def alerts():
    """Alerts (admin)."""
    _admin()
    return ok(service.alerts(_wallet()))


@bp.get("/admin/addresses")
@api_doc("Admin: the platform's hot, cold and gas-keeper addresses")
def addresses():
    """The platform's own addresses (admin); never a key."""
    _admin()
    return ok(service.wallets(_wallet()))
