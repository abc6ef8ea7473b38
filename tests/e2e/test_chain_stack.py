"""The chain-nodes in the whole stack: node 1 through NGINX under /api/chain/, the others
on their own ports, all on one chain (tests/chain has the network's behaviour)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers import admin_headers

pytestmark = pytest.mark.e2e


def test_node_one_answers_through_nginx_and_every_node_follows_its_blocks(stack):
    http = requests.Session()
    api = f"{stack.nginx_url}/api/chain"
    genesis = http.get(f"{api}/blocks/0", timeout=30).json()
    assert genesis["height"] == 0 and genesis["block"]["transactions"][0]["asset"] == "DUSD"
    forged = http.get(f"{api}/mine", headers=admin_headers(http, stack.nginx_url), timeout=90)
    assert forged.status_code == 200, forged.text
    assert forged.json()["message"] == "New Block Forged"
    tip = http.get(f"{api}/inv", timeout=30).json()
    assert tip["hash"] == forged.json()["hash"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tips = [http.get(f"{url}/inv", timeout=30).json()["hash"] for url in stack.chain_urls]
        if all(h == tip["hash"] for h in tips):
            break
        time.sleep(0.2)
    assert tips == [tip["hash"]] * len(stack.chain_urls)
    # Through NGINX the events gateway serves node 1's topic to a signed-in caller: the
    # next block arrives as a `tip` event with its hash.
    headers = admin_headers(http, stack.nginx_url)
    assert http.get(f"{api}/events", timeout=30).status_code == 401
    with http.get(f"{api}/events", headers=headers, stream=True, timeout=30) as events:
        assert events.headers["Content-Type"].startswith("text/event-stream")
        again = http.get(f"{api}/mine", headers=headers, timeout=90).json()
        lines = events.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("event:")) == "event: tip"
        assert again["hash"] in next(line for line in lines if line.startswith("data:"))
    # Each node's own stream, at its own address, starts with its tip.
    with http.get(f"{stack.chain_urls[1]}/events", stream=True, timeout=30) as events:
        lines = events.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("event:")) == "event: tip"
