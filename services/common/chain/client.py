"""The HTTP adapter for a chain-node, used by the wallet and mining services.

Every call has a timeout. A network failure, a timeout, a non-2xx answer or a body that
is not JSON raises ``ChainNodeError`` (an UpstreamUnavailable, so an unhandled one is a
503 in the caller); ``status`` and ``payload`` say what the node answered, if anything
(a refused transaction is a 4xx with the node's error envelope in ``payload``).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import requests

from ..errors import UpstreamUnavailable


class ChainNodeError(UpstreamUnavailable):
    """A chain-node call that failed: no answer (``status`` None) or a non-2xx one."""

    code = "chain_node_error"

    def __init__(self, message: str, status: int | None = None, payload: object = None):
        super().__init__(message)
        self.status = status
        self.payload = payload

    @property
    def refused(self) -> bool:
        """The node answered and said no (4xx): retrying the same request will not help."""
        return self.status is not None and 400 <= self.status < 500


class ChainNodeClient:
    """One chain-node at ``base_url`` (e.g. ``http://127.0.0.1:5001``)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        token: str | None = None,
        max_bytes: int = 64 * 1024 * 1024,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs):
        url = f"{self.base_url}{path}"
        try:
            with self._session.request(
                method, url, timeout=self.timeout, stream=True, **kwargs
            ) as response:
                body = self._read(response, method, path)
        except requests.RequestException as exc:
            raise ChainNodeError(f"chain-node {self.base_url} unreachable: {exc}") from exc
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = body[:500].decode("utf-8", "replace")
        if not 200 <= response.status_code < 300:
            raise ChainNodeError(
                f"chain-node {method} {path} answered {response.status_code}",
                response.status_code,
                payload,
            )
        if isinstance(payload, str):
            raise ChainNodeError(f"chain-node {method} {path} did not answer JSON")
        return payload

    def _read(self, response: requests.Response, method: str, path: str) -> bytes:
        """The body, refusing one larger than ``max_bytes`` (a peer may be hostile)."""
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise ChainNodeError(
                    f"chain-node {method} {path} sent more than {self.max_bytes} bytes",
                    response.status_code,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    # Transactions and explorer.
    def submit_transaction(self, tx: dict) -> dict:
        """POST /transactions/new; the node's acceptance (4xx ChainNodeError if refused)."""
        return self._call("POST", "/transactions/new", json=tx)

    def submit_transactions(self, txs: list[dict]) -> dict:
        """POST /transactions/batch (relay between nodes): ``{"accepted", "refused"}``."""
        return self._call("POST", "/transactions/batch", json={"transactions": txs})

    def get_transaction(self, tx_id: str) -> dict:
        """GET /transactions/<id>: the transaction, its block and ``confirmations``."""
        return self._call("GET", f"/transactions/{quote(tx_id, safe='')}")

    def get_address(self, address: str) -> dict:
        """GET /addresses/<addr>: ``balances`` (confirmed), ``nonce``, ``transactions``."""
        return self._call("GET", f"/addresses/{quote(address, safe='')}")

    def get_block(self, height_or_hash: int | str) -> dict:
        """GET /blocks/<height or hash>."""
        return self._call("GET", f"/blocks/{quote(str(height_or_hash), safe='')}")

    def pool(self) -> dict:
        """GET /pool: the mempool."""
        return self._call("GET", "/pool")

    def chain(self) -> dict:
        """GET /chain: ``{"chain": [...], "length": n}``."""
        return self._call("GET", "/chain")

    # Synchronisation.
    def inv(self) -> dict:
        """GET /inv: the tip ``{"height", "hash", "work"}``."""
        return self._call("GET", "/inv")

    def announce(self, tip: dict) -> dict:
        """POST /inv: tell a peer about our new tip (it fetches what it lacks)."""
        return self._call("POST", "/inv", json=tip)

    def getblocks(self, from_hash: str | None = None, limit: int = 500) -> dict:
        """GET /getblocks: ``{"blocks": [...], "tip"}`` after ``from_hash`` (or the first
        known hash of a comma-separated locator) on the node's best chain."""
        params: dict = {"limit": limit}
        if from_hash:
            params["from"] = from_hash
        return self._call("GET", "/getblocks", params=params)

    # Mining.
    def mining_template(self, miner: str | None = None) -> dict:
        """GET /mining/template: a block to mine, paying ``miner`` (the node's by default)."""
        return self._call("GET", "/mining/template", params={"miner": miner} if miner else None)

    def submit_block(self, block: dict) -> dict:
        """POST /blocks: a mined block; 4xx ChainNodeError if the node refuses it."""
        return self._call("POST", "/blocks", json=block)

    def resolve(self) -> dict:
        """GET /nodes/resolve: consensus against every peer now."""
        return self._call("GET", "/nodes/resolve")

    def register(self, urls: list[str]) -> dict:
        """POST /nodes/register."""
        return self._call("POST", "/nodes/register", json={"nodes": urls})

    def mine(self, miner: str | None = None) -> dict:
        """GET /mine: the node's worker mines one block now (admin or service token)."""
        return self._call("GET", "/mine", params={"miner": miner} if miner else None)
