"""Flask wiring shared by every service: the factory, the envelope, errors, auth, parsing."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
import pymongo.errors
import redis.exceptions
from flask import Blueprint, Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import timing
from .auth import Principal
from .backend import Backend
from .commands import CommandSpec, command_from, parse_model, record_invalid, valid_txn
from .config import load_settings
from .current import backend, principal, request_json
from .errors import IdempotencyKeyReused, InvalidInput, PlatformError, UpstreamUnavailable
from .ledger import Command
from .logs import configure_logging
from .openapi import api_doc, build_spec
from .ratelimit import limiter

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9:._-]{1,128}")


class OrjsonProvider(DefaultJSONProvider):
    """Answers encoded by orjson (the same compact JSON, at a fraction of the json
    module's cost); request bodies are still parsed by the json module, whose verdicts
    on odd input (huge numbers, NaN) are the API's."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS

    def dumps(self, obj, **kwargs) -> str:
        try:
            return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
        except TypeError:  # what orjson cannot encode (an integer past 64 bits echoed back)
            return super().dumps(obj, **kwargs)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj) + "\n", mimetype=self.mimetype)


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
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False
    backend = Backend(settings)
    backend.wait_until_ready()
    backend.ensure_indexes()
    app.extensions["backend"] = backend
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, settings.trusted_proxy_networks)
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


class TrustedProxyFix:
    """Exactly one proxy (NGINX) sits in front of every service: the client address and
    scheme it forwards are taken only from a request that comes from it (an address in
    TRUSTED_PROXIES). A client that reaches a service port directly keeps its own
    address, whatever X-Forwarded-For it sends. X-Forwarded-Host is never trusted: NGINX
    passes the client's Host on as it is."""

    def __init__(self, app, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]):
        self._app = app
        self._forwarded = ProxyFix(app, x_for=1, x_proto=1, x_host=0)
        self._trusted = trusted

    def __call__(self, environ, start_response):
        if self._from_proxy(environ.get("REMOTE_ADDR")):
            return self._forwarded(environ, start_response)
        return self._app(environ, start_response)

    def _from_proxy(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


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


def json_body() -> dict:
    """The request's JSON object, or InvalidInput."""
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


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
        record_rejected(caller, Command(name, txn), raw, error)
        raise
    caller.require_act_for(cmd.user)
    return cmd


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (1-128 of ``[A-Za-z0-9:._-]``), if any."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 : . _ -")
    return key


def platform_command(name: str, model: type[BaseModel]) -> tuple[Any, Command]:
    """The body of a platform command (not a course command: coin orders, stop-losses)
    the caller may send for its ``user``, and the command with its transaction number
    and Idempotency-Key (the route adds its own fields).

    Such a command has no place in the course schema: a refused one leaves no log entry;
    it changes nothing and is answered 4xx.
    """
    caller = principal()
    body = parse_model(model, json_body())
    caller.require_act_for(body.user)
    txn = body.transactionNum or backend().txns.next()
    return body, Command(name, txn, user=body.user, key=idempotency_key())


def answered_once(command: Command, run: Callable[[], dict]):
    """Answer a platform ``command`` as the stock commands are answered with an
    Idempotency-Key: a retry within the window gets the first answer (a success or a
    4xx refusal) and runs nothing; a 5xx is not kept, so its retry runs."""
    answers = backend().answers
    kept = answers.first(command.user, command.key, command.fingerprint)
    if kept is not None:
        return jsonify(kept["body"]), kept["status"]
    try:
        result = run()
    except PlatformError as error:
        if error.status_code < 500 and not isinstance(error, IdempotencyKeyReused):
            body = {"ok": False, "error": error.to_dict()}
            answers.keep(command.user, command.key, command.fingerprint, error.status_code, body)
        raise
    answers.keep(command.user, command.key, command.fingerprint, 200, {"ok": True, "data": result})
    return ok(result)


def add_command_route(bp: Blueprint, spec: CommandSpec) -> None:
    """Route ``POST <spec.path>`` to the trading command ``spec`` describes."""
    use_case = spec.use_case

    @api_doc(f"{spec.name}: {(use_case.__doc__ or '').splitlines()[0]}", body=spec.body)
    def view():
        cmd = parse_command(spec.name, spec.body)
        adapters = backend()
        answers = adapters.answers
        kept = None
        try:
            # Under the user's lock from the first read to the write: the checks made
            # before paying for a quote read the same account the rule then changes.
            with adapters.ledger.session(cmd.user, (cmd,)) as session:
                with session.logging_failures(cmd):
                    kept = answers.first(cmd.user, cmd.key, cmd.fingerprint)
                if kept is None:
                    result = use_case(adapters.trading(session), cmd)
        except PlatformError as error:
            # A refusal is an answer too; a 5xx is not (the retry should run).
            if error.status_code < 500 and not isinstance(error, IdempotencyKeyReused):
                body = {"ok": False, "error": error.to_dict()}
                answers.keep(cmd.user, cmd.key, cmd.fingerprint, error.status_code, body)
            raise
        if kept is not None:
            return jsonify(kept["body"]), kept["status"]
        # Kept once the run is stored: a success is never kept for a change not made.
        answers.keep(cmd.user, cmd.key, cmd.fingerprint, 200, {"ok": True, "data": result})
        return ok(result)

    view.__doc__ = f"{spec.name}: {use_case.__doc__}"
    bp.add_url_rule(spec.path, endpoint=spec.name.lower(), view_func=view, methods=["POST"])


def record_rejected(caller: Principal, cmd: Command, raw, error: InvalidInput) -> None:
    """Log a rejected request as ``cmd`` with the arguments that were valid on their own
    (403 for an account the caller may not act for)."""
    record_invalid(caller, cmd, raw, error, backend().ledger)
