"""Fixtures for the chain tests: a real network of chain-nodes (gunicorn + worker per node)
on FerretDB and redis-server, started by the same launcher as ``make up``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
import requests

from tests.conftest import SECRETS
from tools.stack import Ports, Stack

#: Easy proof of work (256 hashes a block on average) and no mining unless asked.
CHAIN_ENV = {
    "CHAIN_DIFFICULTY_BITS": "8",
    "CHAIN_MINER_INTERVAL_S": "0",
    "CHAIN_SYNC_INTERVAL_S": "0.5",
    "CHAIN_PEER_TIMEOUT_S": "2",
    "CHAIN_PEER_MAX_BACKOFF_S": "2",
    "WEB_CONCURRENCY_CHAIN_NODE": "2",
    # Two live streams per gunicorn worker: the fifth on a node is refused.
    "CHAIN_EVENTS_MAX_STREAMS": "2",
}


def token(role: str) -> str:
    """A platform token, as the users service would sign it."""
    claims = {"sub": role, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRETS["JWT_SECRET"], algorithm="HS256")


ADMIN = {"Authorization": f"Bearer {token('admin')}"}


def wait_for(check: Callable[[], object], timeout: float = 60.0, what: str = "condition"):
    """Poll ``check`` until it returns something truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error!r})")


class ChainNet:
    """A running network of chain-nodes."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.urls = stack.chain_urls
        self.http = requests.Session()

    def get(self, node: int, path: str, **kwargs) -> requests.Response:
        return self.http.get(f"{self.urls[node]}{path}", timeout=30, **kwargs)

    def post(self, node: int, path: str, **kwargs) -> requests.Response:
        return self.http.post(f"{self.urls[node]}{path}", timeout=30, **kwargs)

    def inv(self, node: int) -> dict:
        return self.get(node, "/inv").json()

    def mine(self, node: int, miner: str | None = None) -> dict:
        """One block from the node's own worker (GET /mine, admin)."""
        params = {"miner": miner} if miner else {}
        reply = self.get(node, "/mine", params=params, headers=ADMIN)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def same_tip(self, nodes=None) -> dict | None:
        tips = [self.inv(i) for i in (nodes or range(len(self.urls)))]
        return tips[0] if all(tip["hash"] == tips[0]["hash"] for tip in tips) else None

    def program(self, action: str, name: str) -> None:
        rpc = self.stack._rpc().supervisor
        if action == "stop":
            rpc.stopProcess(f"chain:{name}", True)
        else:
            rpc.startProcess(f"chain:{name}", True)
            if name.startswith("chain-node-"):
                url = self.urls[int(name.rsplit("-", 1)[1]) - 1]
                wait_for(lambda: self.http.get(f"{url}/health", timeout=5).ok, 60, name)


def start_network(base_dir: Path, env: dict, components=("mongo", "redis", "chain")) -> Stack:
    full_env = {
        **SECRETS,
        **CHAIN_ENV,
        "MONGO_DB": "chain_" + uuid.uuid4().hex[:10],
        **env,
    }
    stack = Stack(base_dir, Ports.free(1), full_env, replicas=1, components=components)
    stack.start(timeout=120)
    return stack


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """Three platform-rules nodes behind NGINX (node 1 at /api/chain/)."""
    stack = start_network(
        tmp_path_factory.mktemp("chain"), {}, ("mongo", "redis", "chain", "nginx")
    )
    yield ChainNet(stack)
    stack.stop()
