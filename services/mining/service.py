"""Use cases of the mining service: machines, digging, history, pools and earnings.

Each takes what it needs: the mining repositories (``store``), a per-user lock, the
clock, the pool centre's cache and a publisher for live events. A machine's changes are
read-then-write on FerretDB, so each user's are serialised under the user's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ..common import pool_centre
from ..common.domain import mining as rules
from ..common.domain.money import format_units
from ..common.errors import Conflict, NotFound
from ..common.mining_repositories import CANCELLED, CONFIRMED, MiningStore


class TooManyMachines(Conflict):
    code = "too_many_machines"


@dataclass(frozen=True)
class MiningContext:
    """What the use cases stand on, built once per process by the factory."""

    store: MiningStore
    lock: Callable[[str], AbstractContextManager]
    clock_ms: Callable[[], int]
    pools: tuple[rules.PoolConfig, ...]
    max_machines: int
    history_limit: int
    #: ``announce(user, event, data)``: a live event to the user's mining topic, and
    #: the engine told that who digs has changed.
    announce: Callable[[str, str, dict], None]
    stats: pool_centre.StatsCache


def present_machine(machine: rules.Machine) -> dict:
    return {
        "id": machine.id,
        "name": machine.name,
        "model": machine.model,
        "hashrate": machine.hashrate,
        "state": machine.state,
        "pool": machine.pool,
        "since_ms": machine.since_ms,
        "created_ms": machine.created_ms,
    }


def register_machine(ctx: MiningContext, owner: str, name: str, model: str, hashrate: int):
    """A new idle machine for ``owner``.

    Errors: InvalidInput (hashrate out of 1..10^15), TooManyMachines (409, at most
    MINING_MAX_MACHINES per user).
    """
    rules.check_hashrate(hashrate)
    with ctx.lock(owner):
        if ctx.store.machines.count_for(owner) >= ctx.max_machines:
            raise TooManyMachines(f"a user may register at most {ctx.max_machines} machines")
        machine = rules.Machine(
            uuid.uuid4().hex, owner, name, model, hashrate, created_ms=ctx.clock_ms()
        )
        ctx.store.machines.add(machine)
    return present_machine(machine)


def list_machines(ctx: MiningContext, owner: str) -> dict:
    """The user's machines, oldest first, and how many more may be registered."""
    machines = ctx.store.machines.list_for(owner)
    return {
        "machines": [present_machine(machine) for machine in machines],
        "limit": ctx.max_machines,
    }


def _owned(ctx: MiningContext, owner: str, machine_id: str) -> rules.Machine:
    machine = ctx.store.machines.get(machine_id)
    # Another user's machine is answered as if it did not exist.
    if machine is None or machine.owner != owner:
        raise NotFound(f"no machine {machine_id}")
    return machine


def get_machine(ctx: MiningContext, owner: str, machine_id: str) -> dict:
    """One of the user's machines with its dig history. Errors: NotFound."""
    machine = _owned(ctx, owner, machine_id)
    return {**present_machine(machine), "history": _history(ctx, owner, machine_id)}


def start_machine(ctx: MiningContext, owner: str, machine_id: str, pool: str) -> dict:
    """Start digging in ``pool``. Errors: NotFound (machine or pool), MachineBusy (409)."""
    if pool not in {config.id for config in ctx.pools}:
        raise NotFound(f"no pool {pool}")
    with ctx.lock(owner):
        machine = _owned(ctx, owner, machine_id)
        now = ctx.clock_ms()
        digging = rules.start_digging(machine, pool, uuid.uuid4().hex, now)
        # The machine first: a dig without its machine digging would earn for nothing.
        ctx.store.machines.save(digging)
        ctx.store.digs.add(digging.dig, digging, now)
    shown = present_machine(digging)
    ctx.announce(owner, "machine", shown)
    return shown


def stop_machine(ctx: MiningContext, owner: str, machine_id: str) -> dict:
    """Stop digging; the dig's shares end now. Errors: NotFound, MachineNotDigging (409)."""
    with ctx.lock(owner):
        machine = _owned(ctx, owner, machine_id)
        stopped = rules.stop_digging(machine)
        # The dig first: a crash in between leaves a machine that a retried stop stops.
        ctx.store.digs.stop(machine.dig, ctx.clock_ms())
        ctx.store.machines.save(stopped)
    shown = present_machine(stopped)
    ctx.announce(owner, "machine", shown)
    return shown


def dig_history(ctx: MiningContext, owner: str) -> dict:
    """The user's digs, newest first: pool, start, stop, shares and earnings."""
    return {"digs": _history(ctx, owner)}


def _history(ctx: MiningContext, owner: str, machine_id: str | None = None) -> list[dict]:
    digs = ctx.store.digs.history(owner, ctx.history_limit, machine_id)
    earned: dict[str, int] = {}
    for payout in ctx.store.payouts.for_owner(owner):
        if payout["state"] != CANCELLED:
            for dig, units in payout["digs"].items():
                earned[dig] = earned.get(dig, 0) + units
    running = {}
    for pool in {dig["pool"] for dig in digs if dig["shares"] is None}:
        last = ctx.store.windows.last(pool)
        running.update(last["totals"] if last else {})
    return [
        {
            "id": dig["_id"],
            "machine": dig["machine"],
            "pool": dig["pool"],
            "start_ms": dig["start_ms"],
            "stop_ms": dig["stop_ms"],
            "shares": dig["shares"] if dig["shares"] is not None else running.get(dig["_id"], 0),
            "earnings": format_units(earned.get(dig["_id"], 0)),
        }
        for dig in digs
    ]


def list_pools(ctx: MiningContext) -> dict:
    """Every pool's statistics as the last scheduled refresh left them in the cache."""
    return ctx.stats.read() or pool_centre.empty_stats(ctx.pools)


def get_pool(ctx: MiningContext, pool_id: str) -> dict:
    """One pool's statistics and its recent blocks. Errors: NotFound."""
    if pool_id not in {config.id for config in ctx.pools}:
        raise NotFound(f"no pool {pool_id}")
    stats = list_pools(ctx)
    known = {entry["id"]: entry for entry in stats["pools"]}
    # A pool configured since the engine's last refresh shows as idle until the next.
    empty = {entry["id"]: entry for entry in pool_centre.empty_stats(ctx.pools)["pools"]}
    pool = known.get(pool_id, empty[pool_id])
    blocks = ctx.store.blocks.recent(pool_id, limit=20)
    return {
        **pool,
        "updated_ms": stats.get("updated_ms"),
        "recent_blocks": [pool_centre.present_block(block) for block in blocks],
    }


def earnings(ctx: MiningContext, owner: str) -> dict:
    """The user's payouts: total earned, confirmed on chain, pending, and the latest."""
    payouts = [p for p in ctx.store.payouts.for_owner(owner) if p["state"] != CANCELLED]
    total = sum(p["amount"] for p in payouts)
    paid = sum(p["amount"] for p in payouts if p["state"] == CONFIRMED)
    return {
        "user": owner,
        "asset": "DTC",
        "total": format_units(total),
        "paid": format_units(paid),
        "pending": format_units(total - paid),
        "payouts": [
            {
                "id": p["_id"],
                "pool": p["pool"],
                "amount": format_units(p["amount"]),
                "state": p["state"],
                "txid": p.get("txid"),
                "block": p.get("block"),
                "created_ms": p["created_ms"],
            }
            for p in payouts[:50]
        ],
    }
