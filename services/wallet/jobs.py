"""The collection worker's jobs (rq, queue ``wallet``), named by path when queued.

Each job looks its work up by id and moves it on by one idempotent step; running one
twice, or after a crash at any point, never sends a transaction twice (see
``service``). An exception makes rq retry the job with backoff (``jobqueue``).
"""

from __future__ import annotations

import logging

from .service import Wallet
from .service import collect as collect_address
from .service import send_withdrawal as send

log = logging.getLogger("services.wallet.jobs")

_wallet: Wallet | None = None


def bind(wallet: Wallet) -> None:
    """The worker process's ``Wallet``, set once at its start."""
    global _wallet
    _wallet = wallet


def _current() -> Wallet:
    if _wallet is None:
        raise RuntimeError("the wallet worker did not bind its Wallet")
    return _wallet


def collect(address: str) -> str:
    """Move the sweep of a deposit address on (plan it first if there is none)."""
    state = collect_address(_current(), address)
    log.info("collect %s: %s", address, state)
    return state


def send_withdrawal(withdrawal_id: str) -> str:
    """Move a withdrawal on: sign once, store, broadcast."""
    state = send(_current(), withdrawal_id)
    log.info("withdrawal %s: %s", withdrawal_id, state)
    return state
