"""Actions the chain tests share: funding a key, mining by hand, following /events."""

from __future__ import annotations

import json
import threading

import requests

from services.common.chain import blocks, keys
from tests.chain.conftest import ChainNet, wait_for


def mine_by_hand(net: ChainNet, node: int, miner: str | None = None) -> dict:
    """Mine one block as an outside miner would: template, proof of work, POST /blocks."""
    params = {"miner": miner} if miner else {}
    template = net.get(node, "/mining/template", params=params).json()
    block = blocks.solve_header(template["block"])
    reply = net.post(node, "/blocks", json=block)
    assert reply.status_code == 201, reply.text
    return block


def funded_key(net: ChainNet) -> keys.KeyPair:
    """A new key that owns 11 coinbases (100 DTC spendable in the next block, 550 held),
    once every node has the blocks."""
    owner = keys.generate_key()
    for _ in range(11):
        net.mine(0, owner.address)
    wait_for(net.same_tip, 60, "every node on the same tip")
    return owner


class EventLog:
    """Reads a node's /events in a thread and keeps every event it sees."""

    def __init__(self, url: str, seconds: float = 120):
        self.events: list[tuple[str, dict]] = []
        self._response = requests.get(url, stream=True, timeout=(5, seconds))
        assert self._response.status_code == 200, self._response.text
        assert self._response.headers["Content-Type"].startswith("text/event-stream")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        event = None
        try:
            for line in self._response.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: ") and event:
                    self.events.append((event, json.loads(line[len("data: ") :])))
                    event = None
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed

    def wait_for(self, name: str, check=lambda data: True, timeout: float = 60) -> dict:
        return wait_for(
            lambda: next((d for e, d in list(self.events) if e == name and check(d)), None),
            timeout,
            f"event {name}",
        )

    def close(self) -> None:
        self._response.close()
