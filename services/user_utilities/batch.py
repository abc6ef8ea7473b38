"""BATCH: one user's consecutive commands in one request.

The commands run in order, as if sent one by one, but under one hold of the user's
account: it is read once and written once, with the log entries of every command, so a
batch costs about what one command costs. Each command gets its own answer; one that
fails for good (bad input, not enough cash) does not stop the rest, while one that
fails for a reason that may pass (503: a dependency is down) stops the batch there, so
the client can send the rest again in order. Sent with an Idempotency-Key, a retried
batch gets its first answer and runs nothing again (a DISPLAY_SUMMARY in it shows the
account as it is at the retry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..common.auth import Principal
from ..common.cache import Answers, TransactionNumbers
from ..common.commands import CATALOGUE, UseCase, command_from, record_invalid, valid_txn
from ..common.errors import InvalidInput, PlatformError, UpstreamUnavailable
from ..common.ledger import Command, Ledger
from ..common.trading import Trading, account_view

NOT_BATCHED = "DUMPLOG"  # streams the log; sent on its own
# Answers only read the account, and are large: a retried batch reads them again
# instead of keeping them with the account.
READS: Mapping[str, Callable[[Trading, str], dict]] = {"DISPLAY_SUMMARY": account_view}


@dataclass(frozen=True)
class Item:
    """One command of a batch: parsed, or the error that keeps it from running."""

    raw: dict
    cmd: Command | None  # None: not a command the log can name
    use_case: UseCase | None = None
    error: PlatformError | None = None


def run_batch(
    ledger: Ledger,
    trading: Trading,
    txns: TransactionNumbers,
    answers: Answers,
    caller: Principal,
    user: str,
    raw_items: list[dict],
    key: str | None,
) -> dict:
    """Run ``raw_items`` for ``user`` in order: {"user", "results": [answer per item]}.

    ``ledger`` holds the user's account for the whole batch; each command's use case
    runs with ``trading`` on that hold. With ``key``, the answer is kept (``answers``)
    for the idempotency window, and a retry gets it without running anything.
    """
    brought = [valid_txn(raw) for raw in raw_items]
    fresh = iter(txns.take(brought.count(None)))
    items = [
        _parse(raw, user, txn or next(fresh)) for raw, txn in zip(raw_items, brought, strict=True)
    ]
    fingerprint = hashlib.sha256(json.dumps([user, raw_items]).encode()).hexdigest()[:32]
    with ledger.session(user, [item.cmd for item in items if item.cmd]) as session:
        inside = trading.within(session)
        first = session.first_answer(key, fingerprint)
        if first is None:
            kept_answer = answers.first(user, key, fingerprint)
            first = kept_answer["body"] if kept_answer is not None else None
        if first is not None:
            return {"user": user, "results": [_reread(inside, user, r) for r in first["results"]]}
        results = _run(inside, caller, items)
        kept = [_kept(item, result) for item, result in zip(items, results, strict=True)]
        session.remember(key, fingerprint, {"results": kept})
    answers.keep(user, key, fingerprint, 200, {"results": kept})  # once stored
    return {"user": user, "results": results}


def _run(trading: Trading, caller: Principal, items: list[Item]) -> list[dict]:
    results: list[dict] = []
    for n, item in enumerate(items):
        try:
            if item.error is not None:
                if item.cmd is not None:
                    record_invalid(caller, item.cmd, item.raw, item.error, trading.ledger)
                raise item.error
            results.append({"ok": True, "status": 200, "data": item.use_case(trading, item.cmd)})
        except PlatformError as error:
            results.append(_failed(error))
            if error.status_code >= 500:
                stop = UpstreamUnavailable(f"not run: command {n} failed with {error.code}")
                results += [_failed(stop)] * (len(items) - n - 1)
                break
    return results


def _kept(item: Item, result: dict) -> dict:
    """What a retry needs of ``result``: all of it, or which read to make again."""
    if result["ok"] and item.cmd is not None and item.cmd.name in READS:
        return {"ok": True, "status": result["status"], "reread": item.cmd.name}
    return result


def _reread(trading: Trading, user: str, kept: Mapping) -> dict:
    if "reread" not in kept:
        return dict(kept)
    return {"ok": True, "status": kept["status"], "data": READS[kept["reread"]](trading, user)}


def _failed(error: PlatformError) -> dict:
    return {"ok": False, "status": error.status_code, "error": error.to_dict()}


def _parse(raw, user: str, txn: int) -> Item:
    name = raw.get("command") if isinstance(raw, dict) else None
    if name == NOT_BATCHED:
        error = InvalidInput("DUMPLOG cannot be batched; send it on its own")
        return Item(raw, Command(name, txn, user=user), error=error)
    if name not in CATALOGUE:
        error = InvalidInput(f"command {repr(name)[:40]} is not one that can be batched")
        return Item(raw, None, error=error)
    spec = CATALOGUE[name]
    fields = {k: v for k, v in raw.items() if k != "command"}
    if fields.setdefault("user", user) != user:
        error = InvalidInput("every command of a batch is for the batch's user")
        return Item({**fields, "user": user}, Command(name, txn, user=user), error=error)
    try:
        return Item(raw, command_from(name, spec.body, fields, txn), spec.use_case)
    except InvalidInput as error:
        return Item(fields, Command(name, txn, user=user), error=error)
