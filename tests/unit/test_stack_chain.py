"""The launcher's chain component: CHAIN_NODES nodes, each a gunicorn app and a worker with
its own database, name and URL, every other node as a peer; CHAIN_* settings pass."""

from __future__ import annotations

import dataclasses

import pytest

from tools.stack import ALL, PASSTHROUGH_PREFIXES, Ports, Stack


def chain_programs(tmp_path, env: dict, ports: Ports | None = None):
    stack = Stack(
        tmp_path / "stack",
        ports or Ports.free(),
        env={"MONGO_DB": "db", **env},
        components={"chain"},
    )
    return {p.name: p for p in stack._programs()}


def test_three_nodes_with_their_workers_by_default(tmp_path):
    ports = dataclasses.replace(Ports.free(), chain=(7001, 7002, 7003))
    programs = chain_programs(tmp_path, {"CHAIN_RULES": "dvf"}, ports)
    assert sorted(programs) == [
        "chain-node-1",
        "chain-node-2",
        "chain-node-3",
        "chain-worker-1",
        "chain-worker-2",
        "chain-worker-3",
    ]
    node2 = programs["chain-node-2"]
    assert "services.chain_node:create_app()" in node2.argv
    assert node2.argv[node2.argv.index("-b") + 1] == "127.0.0.1:7002"
    assert node2.env["MONGO_DB"] == "db_chain2"
    assert node2.env["CHAIN_NODE_NAME"] == "node2"
    assert node2.env["CHAIN_NODE_URL"] == "http://127.0.0.1:7002"
    assert node2.env["CHAIN_PEERS"] == "http://127.0.0.1:7001,http://127.0.0.1:7003"
    assert node2.env["CHAIN_RULES"] == "dvf"
    worker2 = programs["chain-worker-2"]
    assert worker2.argv[-2:] == ("-m", "services.chain_node.worker")
    assert worker2.env["MONGO_DB"] == "db_chain2"
    assert worker2.env["CHAIN_NODE_URL"] == "http://127.0.0.1:7002"


def test_chain_nodes_count_and_ports_are_settings(tmp_path):
    programs = chain_programs(tmp_path, {"CHAIN_NODES": "2"})
    assert sorted(programs) == ["chain-node-1", "chain-node-2", "chain-worker-1", "chain-worker-2"]
    with pytest.raises(ValueError, match="CHAIN_NODES"):
        chain_programs(tmp_path, {"CHAIN_NODES": "4"})


def test_make_up_runs_the_chain_and_passes_every_chain_setting():
    assert "chain" in ALL
    assert any("CHAIN_DIFFICULTY_BITS".startswith(p) for p in PASSTHROUGH_PREFIXES)


def test_nginx_sends_api_chain_to_node_one(tmp_path):
    ports = dataclasses.replace(Ports.free(), chain=(7001, 7002, 7003))
    stack = Stack(tmp_path / "stack", ports, env={}, components={"nginx"})
    stack.render()
    conf = stack.nginx_conf.read_text()
    upstream = conf[conf.index("upstream chain_node {") :]
    assert upstream[: upstream.index("}")].count("server 127.0.0.1:") == 1
    assert "server 127.0.0.1:7001 " in upstream[: upstream.index("}")]
