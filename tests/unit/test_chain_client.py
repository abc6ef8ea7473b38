"""The chain-node HTTP adapter turns every failure into ChainNodeError (a stand-in HTTP
server plays the node; the real node is exercised in tests/chain)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.common.chain.client import ChainNodeClient, ChainNodeError
from services.common.errors import UpstreamUnavailable


class _Node(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: bytes, kind: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/inv":
            self._answer(200, b'{"height": 3, "hash": "ab", "work": 12}')
        elif self.path.startswith("/getblocks"):
            self._answer(200, json.dumps({"path": self.path}).encode())
        elif self.path == "/chain":
            self._answer(200, b"<html>not json</html>", "text/html")
        else:
            self._answer(404, b'{"ok": false, "error": {"code": "not_found"}}')

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self._answer(400, json.dumps({"ok": False, "error": {"echo": body}}).encode())


@pytest.fixture(scope="module")
def node_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_2xx_json_answer_is_returned(node_url):
    client = ChainNodeClient(node_url, timeout=2)
    assert client.inv() == {"height": 3, "hash": "ab", "work": 12}
    assert client.getblocks("ff", limit=7)["path"] == "/getblocks?limit=7&from=ff"


def test_a_refusal_carries_the_status_and_the_nodes_answer(node_url):
    client = ChainNodeClient(node_url, timeout=2)
    with pytest.raises(ChainNodeError) as refused:
        client.submit_transaction({"id": "x"})
    assert refused.value.status == 400 and refused.value.refused
    assert refused.value.payload == {"ok": False, "error": {"echo": {"id": "x"}}}
    with pytest.raises(ChainNodeError) as missing:
        client.get_block(99)
    assert missing.value.status == 404


def test_a_body_that_is_not_json_is_an_error(node_url):
    with pytest.raises(ChainNodeError, match="did not answer JSON"):
        ChainNodeClient(node_url, timeout=2).chain()


def test_an_unreachable_node_is_an_upstream_error_without_status():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamUnavailable) as down:
        ChainNodeClient(f"http://127.0.0.1:{port}", timeout=1).inv()
    assert down.value.status is None and not down.value.refused
