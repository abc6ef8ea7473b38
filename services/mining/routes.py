"""HTTP routes of the mining service (under /api/mining).

Every route needs a signed-in caller and acts on the caller's own machines; an admin or
the service role may name another user with ``?user=``. Another user's machine is 404.
"""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, current_app, request
from pydantic import Field, StringConstraints

from ..common.commands import parse_model
from ..common.current import principal
from ..common.domain.mining import MAX_HASHRATE, MIN_HASHRATE
from ..common.errors import InvalidInput
from ..common.openapi import api_doc
from ..common.schemas import Body, UserId
from ..common.web import json_body, ok
from . import service

bp = Blueprint("mining", __name__, url_prefix="/api/mining")

Name = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
PoolId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]


class MachineBody(Body):
    """A machine to register: hashrate in H/s, from 1 to 10^15."""

    name: Name
    model: Name
    hashrate: Annotated[int, Field(ge=MIN_HASHRATE, le=MAX_HASHRATE)]


class StartBody(Body):
    """The pool to dig in."""

    pool: PoolId


def _ctx() -> service.MiningContext:
    return current_app.extensions["mining"]


def _user() -> str:
    """The user acted for: the caller, or ``?user=`` for an admin or the service."""
    caller = principal()
    user = request.args.get("user", caller.name)
    parse_model(_UserQuery, {"user": user})
    caller.require_act_for(user)
    return user


class _UserQuery(Body):
    user: UserId


def _machine_id(machine_id: str) -> str:
    if not 1 <= len(machine_id) <= 64 or not machine_id.isalnum():
        raise InvalidInput("a machine id is 1-64 letters and digits")
    return machine_id


@bp.post("/machines")
@api_doc("Register a machine", body=MachineBody, success=201)
def register_machine():
    """Register an idle machine. 400 bad fields, 409 too many machines."""
    user = _user()
    body = parse_model(MachineBody, json_body())
    return ok(service.register_machine(_ctx(), user, body.name, body.model, body.hashrate), 201)


@bp.get("/machines")
@api_doc("The user's machines")
def list_machines():
    """The caller's machines."""
    return ok(service.list_machines(_ctx(), _user()))


@bp.get("/machines/<machine_id>")
@api_doc("One machine and its dig history")
def get_machine(machine_id: str):
    """One of the caller's machines with its history. 404 unknown or not the caller's."""
    return ok(service.get_machine(_ctx(), _user(), _machine_id(machine_id)))


@bp.post("/machines/<machine_id>/start")
@api_doc("Start digging in a pool", body=StartBody)
def start_machine(machine_id: str):
    """Start digging. 400 bad body, 404 unknown machine or pool, 409 already digging."""
    user = _user()
    body = parse_model(StartBody, json_body())
    return ok(service.start_machine(_ctx(), user, _machine_id(machine_id), body.pool))


@bp.post("/machines/<machine_id>/stop")
@api_doc("Stop digging")
def stop_machine(machine_id: str):
    """Stop digging. 404 unknown machine, 409 not digging."""
    return ok(service.stop_machine(_ctx(), _user(), _machine_id(machine_id)))


@bp.get("/history")
@api_doc("The user's dig history")
def dig_history():
    """Digs, newest first: pool, start, stop, shares, earnings."""
    return ok(service.dig_history(_ctx(), _user()))


@bp.get("/pools")
@api_doc("The pool centre")
def list_pools():
    """Every pool's statistics (refreshed every POOL_STATS_INTERVAL_S)."""
    principal()
    return ok(service.list_pools(_ctx()))


@bp.get("/pools/<pool_id>")
@api_doc("One pool with its recent blocks")
def get_pool(pool_id: str):
    """One pool's statistics and recent blocks. 404 unknown pool."""
    principal()
    return ok(service.get_pool(_ctx(), pool_id))


@bp.get("/earnings")
@api_doc("The user's earnings")
def earnings():
    """Total earned, paid on chain and pending, and the latest payouts."""
    return ok(service.earnings(_ctx(), _user()))
