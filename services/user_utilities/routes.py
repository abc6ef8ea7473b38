"""HTTP routes of the user-utilities service (under /api/users)."""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context

from ..common import commands
from ..common.auth import ADMIN, SERVICE
from ..common.commands import parse_model, valid_txn
from ..common.current import backend, principal, request_json
from ..common.domain.identifiers import check_symbol
from ..common.errors import InvalidInput
from ..common.ledger import Command
from ..common.openapi import api_doc
from ..common.ratelimit import address_key, auth_limit, limiter
from ..common.schemas import AccountQuery, BatchBody, CredentialsBody, DumplogBody, HistoryQuery
from ..common.trading import account_view
from ..common.web import add_command_route, idempotency_key, json_body, ok, record_rejected
from . import service
from .batch import run_batch

bp = Blueprint("user_utilities", __name__, url_prefix="/api/users")
# One count per address across register, login and the service sign-in.
SIGN_IN_LIMIT = limiter.shared_limit(auth_limit, scope="sign-in", key_func=address_key)

# ADD, QUOTE and DISPLAY_SUMMARY; BATCH runs every command of the catalogue.
for spec in commands.of_service("users"):
    add_command_route(bp, spec)


@bp.get("/ping")
@limiter.exempt
@api_doc("Does nothing (the request floor)", errors=(), public=True)
def ping():
    """Does nothing: the floor of one request through NGINX and gunicorn (benchmarks)."""
    return ok()


@bp.post("/register")
@SIGN_IN_LIMIT
@api_doc(
    "Create a login",
    body=CredentialsBody,
    errors=(400, 409, 413, 429, 503),
    success=201,
    public=True,
)
def register():
    """Create a login {username, password}. 409 when the name is taken."""
    body = parse_model(CredentialsBody, json_body())
    adapters = backend()
    return ok(service.register(adapters.auth, adapters.accounts, body.username, body.password), 201)


@bp.post("/login")
@SIGN_IN_LIMIT
@api_doc("Get a token", body=CredentialsBody, errors=(400, 401, 413, 429, 503), public=True)
def login():
    """Log in {username, password} -> {token, role, expires_at}. 401 on a mismatch."""
    body = parse_model(CredentialsBody, json_body())
    return ok(service.login(backend().auth, body.username, body.password))


@bp.post("/service-login")
@SIGN_IN_LIMIT
@api_doc(
    "Get a service token (operator network only)",
    body=CredentialsBody,
    errors=(400, 401, 403, 413, 429, 503),
    public=True,
)
def service_login():
    """The service credential (the workload replayer) signs in here, not at /login:
    NGINX answers this path only to loopback (and the configured operator network).
    {username, password} -> {token, role, expires_at}; 401 on a mismatch."""
    body = parse_model(CredentialsBody, json_body())
    return ok(service.service_login(backend().auth, body.username, body.password))


@bp.post("/batch")
@api_doc(
    "BATCH: a user's consecutive commands in one request",
    body=BatchBody,
    errors=(400, 401, 403, 413, 422, 429, 503),
)
def batch():
    """BATCH {user, commands: [{command, ...}]}: run in order, one answer each.

    Every trading command but DUMPLOG, at most 100; each answer is ``{ok, status, data}``
    or ``{ok, status, error}`` as that command's own route would answer. A command that
    fails with a 503 stops the batch: the rest are answered 503 "not run". 400 when the
    batch itself is malformed (nothing runs), 403 for someone else's account.
    """
    caller = principal()
    body = parse_model(BatchBody, json_body())
    caller.require_act_for(body.user)
    adapters = backend()
    answer = run_batch(
        adapters.ledger,
        adapters.trading(),
        adapters.txns,
        adapters.answers,
        caller,
        body.user,
        body.commands,
        idempotency_key(),
    )
    return ok(answer)


@bp.get("/transactions")
@api_doc("Log entries of a user", query=HistoryQuery, errors=(400, 401, 403, 429, 503))
def transactions():
    """A user's log entries, newest first: ?user=&limit=&type=&before=<ms> (paging cursor).

    The caller's own by default; admin and service may name any user. 400 on bad
    parameters, 403 for someone else's account.
    """
    query = parse_model(HistoryQuery, request.args.to_dict())
    user = query.user or principal().name
    principal().require_act_for(user)
    kinds = (query.type,) if query.type else service.RECENT_KINDS
    entries = service.recent_transactions(backend().log, user, query.limit, kinds, query.before)
    return ok({"user": user, "transactions": entries})


@bp.get("/account")
@api_doc("The account, read only", query=AccountQuery, errors=(400, 401, 403, 404, 429, 503))
def account():
    """The account as DISPLAY_SUMMARY shows it (?user=, the caller's by default), read
    without the user's lock and without logging a command: the UI's fallback polling.

    DISPLAY_SUMMARY stays the logged command. 403 for someone else's account, 404 when
    there is none.
    """
    query = parse_model(AccountQuery, request.args.to_dict())
    user = query.user or principal().name
    principal().require_act_for(user)
    return ok(account_view(backend().trading(), user))


@bp.get("/quotes/<symbol>/history")
@api_doc("Recent prices of a symbol", errors=(400, 401, 429, 503))
def quote_history(symbol: str):
    """The symbol's recent prices from the quote server, oldest first. 400 on a bad symbol."""
    principal()
    return ok(service.quote_history(backend().quotes, check_symbol(symbol)))


@bp.post("/dumplog")
@api_doc(
    "DUMPLOG: the log as XML",
    body=DumplogBody,
    errors=(400, 401, 403, 413, 429, 503),
    content="application/xml",
)
def dumplog():
    """DUMPLOG {filename, user?}: the log as XML. The whole log needs admin or service."""
    caller = principal()
    adapters = backend()
    raw = request_json()
    cmd = Command("DUMPLOG", valid_txn(raw) or adapters.txns.next())
    try:
        body = parse_model(DumplogBody, json_body())
    except InvalidInput as error:
        record_rejected(caller, cmd, raw, error)
        raise
    if body.user:
        caller.require_act_for(body.user)
    else:
        caller.require_role(ADMIN, SERVICE)
    cmd = Command("DUMPLOG", body.transactionNum or cmd.txn, user=body.user, filename=body.filename)
    xml = service.dumplog(adapters.ledger, adapters.log, cmd)
    return Response(
        stream_with_context(part.encode("ascii", "xmlcharrefreplace") for part in xml),
        mimetype="application/xml",
    )


@bp.get("/stats")
@api_doc("Log entries by type", errors=(401, 403, 429, 503))
def stats():
    """Counts of log entries by type (admin or service)."""
    principal().require_role(ADMIN, SERVICE)
    return ok(service.log_stats(backend().log))
