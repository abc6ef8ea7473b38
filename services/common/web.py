"""Flask wiring shared by every service: the factory, the envelope, errors, auth, parsing."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace

import pymongo.errors
import redis.exceptions
from flask import Blueprint, Flask, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import timing
from .auth import Principal
from .backend import Backend
from .config import load_settings
from .domain.identifiers import SYMBOL, USER_ID
from .domain.money import parse_cents
from .errors import InvalidInput, PlatformError, UpstreamUnavailable
from .ledger import Command, CommandRunner
from .logs import configure_logging
from .openapi import api_doc, build_spec
from .ratelimit import limiter

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9:._-]{1,128}")


def ok(data=None, status: int = 200):
    """The success envelope."""
    return jsonify({"ok": True, "data": data if data is not None else {}}), status


def error_response(error: PlatformError):
    """The error envelope."""
    return jsonify({"ok": False, "error": error.to_dict()}), error.status_code


def create_service_app(name: str, blueprint: Blueprint, overrides: dict | None = None) -> Flask:
    """Build a service's Flask app: settings, adapters, error handlers, health and routes."""
    settings = load_settings(overrides)
    configure_logging(settings.log_level, settings.server_name)
    app = Flask(name)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_HEADERS_ENABLED=True,
        # If Redis is down the command fails at its lock with a clear 503 anyway.
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    app.json.sort_keys = False
    backend = Backend(settings)
    backend.wait_until_ready()
    backend.ensure_indexes()
    app.extensions["backend"] = backend
    # Exactly one proxy (NGINX) sits in front of every service.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    register_error_handlers(app)

    limiter.init_app(app)

    @app.get("/health")
    @limiter.exempt
    def health():
        """Cheap liveness and dependency check; no auth."""
        try:
            backend.ping()
        except Exception as exc:  # any failing dependency means "not healthy"
            raise UpstreamUnavailable(f"dependency down: {exc}") from exc
        return ok({"service": name, "server": settings.server_name})

    @app.before_request
    def start_timing():
        timing.start()

    @app.after_request
    def served_by(response):
        # Which replica answered: shows how NGINX spreads clients, in tests and debugging.
        response.headers["X-Served-By"] = settings.server_name
        spent = timing.header()
        if spent:
            response.headers["Server-Timing"] = spent
        return response

    app.register_blueprint(blueprint)

    @app.get(f"{blueprint.url_prefix}/openapi.json")
    @limiter.exempt
    def openapi():
        """This service's OpenAPI description (no auth)."""
        if "openapi" not in app.extensions:
            app.extensions["openapi"] = build_spec(app, f"Day Trading System: {name}")
        return app.extensions["openapi"]

    return app


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as the JSON envelope; nothing leaks a traceback."""

    @app.errorhandler(PlatformError)
    def platform_error(error: PlatformError):
        return error_response(error)

    @app.errorhandler(pymongo.errors.ConnectionFailure)
    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    def dependency_down(error: Exception):
        # A database or cache restarting: the client may retry (with its Idempotency-Key).
        log.warning("dependency unavailable on %s %s: %r", request.method, request.path, error)
        return error_response(UpstreamUnavailable("a dependency is unavailable; retry"))

    @app.errorhandler(pymongo.errors.OperationFailure)
    def database_refused(error: pymongo.errors.OperationFailure):
        # FerretDB on SQLite answers "database is locked (SQLITE_BUSY)" when writers
        # queue up: transient, like an outage. Anything else is a bug: a 500.
        if "SQLITE_BUSY" in str(error) or "database is locked" in str(error):
            log.warning("database busy on %s %s", request.method, request.path)
            return error_response(UpstreamUnavailable("the database is busy; retry"))
        return unexpected(error)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        err = PlatformError("request body too large")
        err.status_code, err.code = 413, "too_large"
        return error_response(err)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        err = PlatformError(error.description or error.name)
        err.status_code, err.code = error.code or 500, error.name.lower().replace(" ", "_")
        return error_response(err)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(PlatformError("internal error"))


def backend() -> Backend:
    """The current app's adapters."""
    return current_app.extensions["backend"]


def principal() -> Principal:
    """The authenticated caller (401 without a valid token)."""
    if "principal" not in g:
        g.principal = backend().auth.verify(request.headers.get("Authorization"))
    return g.principal


def request_json():
    """The parsed JSON body, or None when it is not JSON (or nested beyond reason)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def json_body() -> dict:
    """The request's JSON object, or InvalidInput."""
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def parse_model(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate ``data`` against ``model``; InvalidInput names every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "value_error":  # our own validators: their message as written
            problems.append(str(err["ctx"]["error"]))
        else:
            problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def parse_command(name: str, model: type[BaseModel]) -> Command:
    """Authenticate, validate and authorise a command request.

    Bad input is answered 400 and logged as the command with an errorEvent that carries
    only the arguments that were themselves valid.
    """
    caller = principal()
    try:
        raw = request_json()
    except RequestEntityTooLarge:
        error = InvalidInput("request body too large")
        backend().ledger.record_failure(Command(name, backend().txns.next()), error)
        raise
    txn = valid_txn(raw) or backend().txns.next()
    try:
        cmd = command_from(name, model, json_body(), txn, idempotency_key())
    except InvalidInput as error:
        record_invalid(caller, Command(name, txn), raw, error)
        raise
    caller.require_act_for(cmd.user)
    return cmd


def command_from(
    name: str, model: type[BaseModel], data: dict, txn: int, key: str | None = None
) -> Command:
    """The command ``name`` from its validated arguments; InvalidInput names bad ones."""
    body = parse_model(model, data)
    return Command(
        name,
        body.transactionNum or txn,
        user=body.user,
        symbol=getattr(body, "symbol", None),
        funds=getattr(body, "amount", None),
        key=key,
    )


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (1-128 of ``[A-Za-z0-9:._-]``), if any."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 : . _ -")
    return key


def add_command_route(
    bp: Blueprint,
    path: str,
    name: str,
    model: type[BaseModel],
    use_case: Callable[[Backend, Command], dict],
) -> None:
    """Route ``POST <path>`` to ``use_case`` for the trading command ``name``."""

    @api_doc(f"{name}: {(use_case.__doc__ or '').splitlines()[0]}", body=model)
    def view():
        cmd = parse_command(name, model)
        b = backend()
        # Under the user's lock from the first read to the write: the checks made
        # before paying for a quote read the same account the rule then changes.
        with b.ledger.session(cmd.user, (cmd,)) as session:
            return ok(use_case(b.with_ledger(session), cmd))

    view.__doc__ = f"{name}: {use_case.__doc__}"
    bp.add_url_rule(path, endpoint=name.lower(), view_func=view, methods=["POST"])


def valid_txn(raw) -> int | None:
    """The body's transactionNum if it is usable as one, else None."""
    value = raw.get("transactionNum") if isinstance(raw, dict) else None
    if type(value) is int and 0 < value < 2**63:  # what the database can store
        return value
    return None


def record_invalid(
    caller: Principal, cmd: Command, raw, error: InvalidInput, ledger: CommandRunner | None = None
) -> None:
    """Log a rejected request as ``cmd`` with the arguments that were valid on their own.

    Nobody may write into the log of an account they may not act for (403 instead).
    """
    fields = _salvage(raw if isinstance(raw, dict) else {})
    caller.require_act_for(fields.get("user", caller.name))
    (ledger or backend().ledger).record_failure(replace(cmd, **fields), error)


def _salvage(raw: dict) -> dict:
    """The arguments of a rejected request that are valid on their own, for the log."""
    fields = {}
    user, symbol, amount = raw.get("user"), raw.get("symbol"), raw.get("amount")
    filename = raw.get("filename")
    if isinstance(filename, str) and 0 < len(filename) <= 255:
        fields["filename"] = filename
    if isinstance(user, str) and USER_ID.fullmatch(user):
        fields["user"] = user
    if isinstance(symbol, str) and SYMBOL.fullmatch(symbol):
        fields["symbol"] = symbol
    try:
        fields["funds"] = parse_cents(amount)
    except InvalidInput:
        pass
    return fields
