"""HTTP routes of a chain-node, at the root of its own host:port (node 1 is also behind
NGINX under /api/chain/). Answers follow dvf's shapes where dvf has the route; errors
are the platform's envelope (in dvf mode, a transaction without its three values gets
dvf's own 400 text)."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from ..common import events
from ..common.auth import ADMIN, SERVICE
from ..common.errors import InvalidInput, PlatformError, UpstreamUnavailable
from ..common.web import request_json
from .service import ChainNode, UnknownParent, format_outcome

bp = Blueprint("chain_node", __name__)

KEEPALIVE_S = 15.0


class TooManyStreams(PlatformError):
    status_code = 429
    code = "too_many_streams"


@bp.before_app_request
def refuse_oversized_bodies():
    """413 for a body over the limit, whatever its type (JSON parsing alone would skip a
    body that is not declared JSON)."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def node() -> ChainNode:
    return current_app.extensions["chain_node"]


def _json_text(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def _require(*roles: str) -> None:
    caller = current_app.extensions["chain_adapters"].auth.verify(
        request.headers.get("Authorization")
    )
    caller.require_role(*roles)


def _is_dvf() -> bool:
    return node().rules.name == "dvf"


@bp.get("/health")
def health():
    """Cheap liveness and dependency check; no auth."""
    try:
        current_app.extensions["chain_adapters"].ping()
    except Exception as exc:  # any failing dependency means "not healthy"
        raise UpstreamUnavailable(f"dependency down: {exc}") from exc
    settings = node().settings
    return jsonify(
        {
            "ok": True,
            "data": {
                "service": "chain_node",
                "node": settings.chain_node_name,
                "rules": settings.chain_rules,
            },
        }
    )


@bp.get("/chain")
def full_chain():
    """The whole best chain: ``{"chain": [...], "length": n}`` (dvf's shape)."""
    return _json_text(node().chain_json())


@bp.get("/mine")
def mine():
    """Mine one block now with the pool's transactions (platform: admin or service)."""
    if not _is_dvf():
        _require(ADMIN, SERVICE)
    return jsonify(node().mine_now(request.args.get("miner")))


@bp.post("/transactions/new")
def new_transaction():
    """Submit a transaction (platform: signed; dvf: ``{sender, recipient, amount}``)."""
    if _is_dvf():
        # dvf (Flask 3) reads the body with get_json(): a non-JSON body is a 415.
        if not request.is_json:
            return _json_text('{"message": "Content-Type must be application/json"}', 415)
        values = request_json()
        if not isinstance(values, dict) or not {"sender", "recipient", "amount"} <= values.keys():
            return Response("Missing values", status=400, mimetype="text/html")
        return jsonify(node().submit_transaction(values)), 201
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON transaction object")
    return jsonify(node().submit_transaction(body)), 201


@bp.post("/transactions/batch")
def transactions_batch():
    """``{"transactions": [...]}``: up to 1,000 signed transactions at once (how nodes relay
    them); each is admitted or refused on its own: ``{"accepted", "refused"}``."""
    body = request_json()
    txs = body.get("transactions") if isinstance(body, dict) else None
    return jsonify(node().submit_transactions(txs))


@bp.get("/pool")
def pool():
    """The mempool (platform: by fee, each sender's in nonce order)."""
    return jsonify(node().pool())


@bp.post("/nodes/register")
def register_nodes():
    """``{"nodes": [url, ...]}``: http URLs of other nodes (never this one)."""
    body = request_json()
    nodes = body.get("nodes") if isinstance(body, dict) else None
    return jsonify(node().register_peers(nodes)), 201


@bp.get("/nodes/resolve")
def resolve():
    """Consensus now against every peer; never a 5xx because of a peer."""
    report = node().resolve()
    message = "Our chain was replaced" if report["replaced"] else "Our chain is authoritative"
    if _is_dvf():
        key = "new_chain" if report["replaced"] else "chain"
        chain = json.loads(node().chain_json())["chain"]
        return jsonify({"message": message, key: chain})
    tip = node().inv()
    return jsonify({"message": message, **tip, "peers": report["peers"]})


@bp.get("/getblocks")
def getblocks():
    """Blocks after ``from`` (a hash, or a comma-separated locator, newest first) on the
    best chain; from genesis without ``from``. ``limit`` at most 500."""
    locator = [h for h in (request.args.get("from") or "").split(",") if h][:64]
    try:
        limit = int(request.args.get("limit", "500"))
    except ValueError:
        raise InvalidInput("limit must be an integer") from None
    return _json_text(node().getblocks_json(locator, limit))


@bp.get("/inv")
def inv():
    """This node's tip: ``{"height", "hash", "work"}`` (cumulative work)."""
    return jsonify(node().inv())


@bp.post("/inv")
def announced():
    """A peer's new tip (``{"height", "hash", "work"}``): fetch it if it has more work."""
    return jsonify(node().announced(request_json()))


@bp.post("/restart")
def restart():
    """Back to genesis (admin only)."""
    _require(ADMIN)
    return jsonify(node().restart())


@bp.get("/mining/template")
def mining_template():
    """A block to mine on the tip, paying ``?miner=<address>`` (default this node)."""
    return jsonify(node().template(request.args.get("miner")))


@bp.post("/blocks")
def submit_block():
    """A mined block (``POST /blocks``, like submitblock)."""
    body = request_json()
    if body is None:
        raise InvalidInput("the request body must be a JSON block")
    outcome = node().submit_blocks([body])[0]
    if outcome.status == "orphan":
        node().signals.wake("sync")
        raise UnknownParent("the block's parent is unknown here; announce your chain first")
    return jsonify(format_outcome(outcome)), 201 if outcome.status in ("tip", "main") else 200


@bp.get("/blocks/<ref>")
def block(ref: str):
    """A block by height (on the best chain) or hash, with its confirmations."""
    return jsonify(node().block(ref))


@bp.get("/transactions/<tx_id>")
def transaction(tx_id: str):
    """A transaction with its block and confirmations (0 while in the mempool)."""
    return jsonify(node().transaction(tx_id))


@bp.get("/addresses/<address>")
def address(address: str):
    """Balances (confirmed blocks only), nonce and recent transactions of an address."""
    return jsonify(node().address(address))


@bp.get("/events")
def live_events():
    """Server-Sent Events of this node: ``tip``, ``reorg`` and ``tx``. Bounded: a few
    streams per process (429 beyond) and a maximum duration (then reconnect)."""
    streams = current_app.extensions["chain_streams"]
    if not streams.acquire(blocking=False):
        raise TooManyStreams("too many live streams on this node; retry later")
    the_node = node()
    redis_client = current_app.extensions["chain_adapters"].redis
    max_s = the_node.settings.chain_events_max_s
    try:
        pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(the_node.signals.topic)
    except Exception:
        streams.release()
        raise
    tip = the_node.inv()

    def generate():
        deadline = time.monotonic() + max_s
        try:
            yield "retry: 2000\n\n"
            yield events.sse("tip", tip)
            while (remaining := deadline - time.monotonic()) > 0:
                message = pubsub.get_message(timeout=min(KEEPALIVE_S, remaining))
                if message is None:
                    yield ": keep-alive\n\n"
                    continue
                try:
                    payload = json.loads(message["data"])
                    yield events.sse(payload["event"], payload["data"])
                except (ValueError, KeyError, TypeError):
                    continue
        finally:
            pubsub.close()
            streams.release()

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
