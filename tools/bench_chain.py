"""The chain-node benchmark (the ``chain`` scenario of tools/bench.py, or on its own):

    .venv/bin/python -m tools.bench_chain [--txs 20000] [--senders 200] [--blocks 5000]

On a stack of its own (FerretDB, Redis, three chain-nodes, NGINX; proof of work fixed
at CHAIN_DIFFICULTY_BITS=8 and no mining unless asked) it measures the issue's three
targets:

1. signed transactions per second accepted by node 1 through NGINX
   (``POST /api/chain/transactions/new``), from ``--senders`` funded keys, each sending
   its transactions in nonce order on its own keep-alive connection; every one is
   signed before the clock starts;
2. the validation of a 2,000-transaction block: the pure rules (ids, signatures,
   Merkle root, proof of work, then balances and nonces) in this process, with a cold
   signature cache; and the same block submitted to a node (``POST /blocks``), whose
   signature cache has seen its transactions in the mempool;
3. a fresh node catching up a ``--blocks`` chain: node 1 fetches the chain from a
   minimal peer served by this process (``/inv``, ``/getblocks``); then a new node
   (its own database, gunicorn and worker) joins with node 1 as its peer. Both are
   timed from registration until their tip is the chain's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import requests

from services.chain_node.node import chain_params
from services.common.chain import blocks, keys, transactions
from services.common.chain.rules import PlatformRules, subsidy
from services.common.chain.state import ChainState
from services.common.config import load_chain_settings
from tools.stack import Ports, Stack, _free_ports

log = logging.getLogger("tools.bench_chain")

REPO_ROOT = Path(__file__).resolve().parent.parent
BITS = 8
TARGETS = {"tx_per_s": 1000, "validate_ms": 250, "catch_up_s": 60}


def stack_env(password: str) -> dict[str, str]:
    return {
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "ADMIN_PASSWORD": password,
        "SERVICE_PASSWORD": password,
        "MONGO_DB": "benchchain",
        "CHAIN_DIFFICULTY_BITS": str(BITS),
        "CHAIN_MINER_INTERVAL_S": "0",
        "CHAIN_SYNC_INTERVAL_S": "1",
        "LOG_LEVEL": "WARNING",
    }


def _rules() -> PlatformRules:
    """The rules the bench stack's nodes run (the same genesis and difficulty)."""
    settings = load_chain_settings(
        {
            "jwt_secret": "x" * 32,
            "admin_password": "x" * 8,
            "service_password": "x" * 8,
            "chain_difficulty_bits": BITS,
        }
    )
    return PlatformRules(chain_params(settings))


class Miner:
    """Mines on a node over HTTP, as an outside miner: template, proof of work, submit."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()

    def block(self, miner: str | None = None) -> dict:
        params = {"miner": miner} if miner else {}
        template = self.http.get(f"{self.url}/mining/template", params=params, timeout=60)
        template.raise_for_status()
        block = blocks.solve_header(template.json()["block"])
        reply = self.http.post(f"{self.url}/blocks", json=block, timeout=120)
        reply.raise_for_status()
        return block


def tree_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by processes and their children."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def stack_pids(stack: Stack) -> list[int]:
    return [program.pid for program in stack.status() if program.pid]


def cpu_by_program(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each program of the stack (with its children)."""
    return {p.name: tree_cpu_s([p.pid]) for p in stack.status() if p.pid}


def wait_until(check, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if check():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"timed out after {timeout_s}s waiting for {what}")


# ---------------------------------------------------------- 1. transactions/s


def fund_senders(node_url: str, count: int, per_sender: int) -> list[keys.KeyPair]:
    """``count`` keys holding ``per_sender`` units each, confirmed on node 1."""
    miner = Miner(node_url)
    funder = keys.generate_key()
    # 11 coinbases: at height 12 the first two (100 DTC) are spendable.
    for _ in range(11):
        miner.block(funder.address)
    senders = [keys.generate_key() for _ in range(count)]
    funding = [
        transactions.build_transaction(
            funder.private_key, sender.address, per_sender, fee=0, nonce=nonce
        )
        for nonce, sender in enumerate(senders, start=1)
    ]
    for start in range(0, len(funding), 1000):
        reply = miner.http.post(
            f"{node_url}/transactions/batch",
            json={"transactions": funding[start : start + 1000]},
            timeout=120,
        )
        reply.raise_for_status()
        assert not reply.json()["refused"], reply.json()["refused"]
    mined = miner.block()
    assert len(mined["transactions"]) == count + 1, "the funding did not fit one block"
    return senders


async def _send_all(host: str, port: int, path: str, bodies: list[bytes], stats: dict) -> None:
    """One keep-alive connection sending ``bodies`` one after another."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    try:
        for body in bodies:
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = int(status_line.split()[1])
            stats[status] = stats.get(status, 0) + 1
    finally:
        writer.close()


def measure_submissions(stack: Stack, senders: list[keys.KeyPair], per_sender: int) -> dict:
    nginx_url = stack.nginx_url
    recipient = keys.generate_key().address
    log.info("signing %d transactions", len(senders) * per_sender)
    started = time.monotonic()
    bodies = [
        [
            json.dumps(
                transactions.build_transaction(
                    sender.private_key, recipient, 1, fee=1, nonce=nonce
                ),
                separators=(",", ":"),
            ).encode()
            for nonce in range(1, per_sender + 1)
        ]
        for sender in senders
    ]
    signing_s = time.monotonic() - started
    parts = urlsplit(nginx_url)
    stats: dict[int, int] = {}

    async def run() -> None:
        await asyncio.gather(
            *(
                _send_all(parts.hostname, parts.port, "/api/chain/transactions/new", own, stats)
                for own in bodies
            )
        )

    log.info("sending them through NGINX on %d connections", len(senders))
    pids = stack_pids(stack)
    cpu_before, client_before = tree_cpu_s(pids), time.process_time()
    programs_before = cpu_by_program(stack)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - client_before
    # Relaying to the other nodes goes on a little after the last answer.
    time.sleep(3)
    stack_cpu = tree_cpu_s(pids) - cpu_before
    accepted = stats.get(201, 0)
    programs = {
        name: round((cpu - programs_before.get(name, 0.0)) * 1000 / max(1, accepted), 3)
        for name, cpu in cpu_by_program(stack).items()
    }
    return {
        "transactions": len(senders) * per_sender,
        "senders": len(senders),
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(stats.items())},
        "elapsed_s": round(elapsed, 2),
        "tx_per_s": round(accepted / elapsed, 1),
        "signing_per_s": round(len(senders) * per_sender / signing_s, 1),
        "load_average": round(load_before, 1),
        # CPU the whole stack (NGINX, 3 nodes and workers, FerretDB, Redis) spent per
        # transaction, relays included; and what two idle cores could carry at that cost.
        "stack_cpu_ms_per_tx": round(stack_cpu * 1000 / max(1, accepted), 2),
        "client_cpu_ms_per_tx": round(client_cpu * 1000 / max(1, accepted), 2),
        "tx_per_s_on_2_idle_cores": round(2 * max(1, accepted) / max(stack_cpu, 1e-9), 1),
        "cpu_ms_per_tx_by_program": dict(sorted(programs.items(), key=lambda kv: -kv[1])),
    }


# ---------------------------------------------------- 2. a 2,000-tx block


def measure_block_validation(senders: list[keys.KeyPair], count: int) -> dict:
    """The pure rules on a ``count``-transaction block, with a cold signature cache."""
    # Pure: a state where every sender holds 1 DTC, a block of their transfers.
    rules = _rules()
    state = ChainState(height=100, tip="00" * 32)
    per_sender = -(-count // len(senders))
    for sender in senders:
        state.balances[(sender.address, "DTC")] = 10**8
    recipient = keys.generate_key().address
    txs = [
        transactions.build_transaction(s.private_key, recipient, 1000, fee=10, nonce=n)
        for n in range(1, per_sender + 1)
        for s in senders
    ][:count]
    coinbase = transactions.build_coinbase(recipient, subsidy(101) + 10 * count, 101, 1)
    block = {
        "index": 101,
        "timestamp": 1,
        "transactions": [coinbase, *txs],
        "proof": 0,
        "previous_hash": "00" * 32,
        "tx_root": blocks.merkle_root([tx["id"] for tx in [coinbase, *txs]]),
        "difficulty": BITS,
    }
    block = blocks.solve_header(block)
    wire = json.dumps(block)
    started, cpu_started = time.perf_counter(), time.process_time()
    parsed = json.loads(wire)
    rules.check_body(parsed)
    body_s = time.perf_counter() - started
    rules.connect(state, parsed, 101, blocks.header_hash(parsed))
    pure_s = time.perf_counter() - started
    pure_cpu_s = time.process_time() - cpu_started
    # Where the time goes: the signatures alone, verified again (cold, one by one).
    started = time.process_time()
    for tx in txs:
        keys.verify(tx["public_key"], tx["signature"], transactions.canonical_bytes(tx))
    signatures_s = time.process_time() - started

    return {
        "transactions": count,
        "pure_body_ms": round(body_s * 1000, 1),
        "pure_ms": round(pure_s * 1000, 1),
        "pure_cpu_ms": round(pure_cpu_s * 1000, 1),
        "signatures_cpu_ms": round(signatures_s * 1000, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def measure_node_block(node_url: str) -> dict:
    """A block of the node's own mempool submitted back to it (``POST /blocks``)."""
    http = requests.Session()
    template = http.get(f"{node_url}/mining/template", timeout=120).json()["block"]
    mined = blocks.solve_header(template)
    started = time.perf_counter()
    reply = http.post(f"{node_url}/blocks", json=mined, timeout=120)
    elapsed = time.perf_counter() - started
    reply.raise_for_status()
    return {
        "node_transactions": len(mined["transactions"]) - 1,
        "node_submit_ms": round(elapsed * 1000, 1),
    }


# ------------------------------------------------------------ 3. catching up


def build_chain(length: int) -> list[dict]:
    """A valid chain of ``length`` blocks after the genesis (coinbases only)."""
    rules = _rules()
    chain = [rules.genesis()]
    miner = keys.generate_key().address
    for height in range(1, length + 1):
        timestamp = chain[0]["timestamp"] + height * 1000
        coinbase = transactions.build_coinbase(miner, subsidy(height), height, timestamp)
        block = {
            "index": height,
            "timestamp": timestamp,
            "transactions": [coinbase],
            "proof": 0,
            "previous_hash": blocks.header_hash(chain[-1]),
            "tx_root": blocks.merkle_root([coinbase["id"]]),
            "difficulty": BITS,
        }
        chain.append(blocks.solve_header(block))
    return chain


class SeedPeer:
    """A minimal honest peer serving a prepared chain: ``/inv`` and ``/getblocks``."""

    def __init__(self, chain: list[dict]):
        hashes = [blocks.header_hash(block) for block in chain]
        position = {h: i for i, h in enumerate(hashes)}
        texts = [json.dumps(block, separators=(",", ":")) for block in chain]
        tip = {"height": len(chain) - 1, "hash": hashes[-1], "work": (len(chain) - 1) << BITS}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/inv":
                    body = json.dumps(tip)
                elif url.path == "/getblocks":
                    query = parse_qs(url.query)
                    locator = (query.get("from") or [""])[0].split(",")
                    limit = min(500, int((query.get("limit") or ["500"])[0]))
                    found = next((position[h] for h in locator if h in position), -1)
                    body = '{"blocks":[' + ",".join(texts[found + 1 : found + 1 + limit]) + "]}"
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.tip = tip
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def start_fresh_node(stack: Stack, workdir: Path, peer: str) -> list[subprocess.Popen]:
    """A new chain-node (gunicorn + worker, its own database) with ``peer`` its only peer."""
    port = _free_ports(1)[0]
    env = {
        **os.environ,
        **stack.chain_env(1),
        "MONGO_DB": "benchchain_fresh",
        "CHAIN_NODE_NAME": "fresh",
        "CHAIN_NODE_URL": f"http://127.0.0.1:{port}",
        "CHAIN_PEERS": peer,
        "SERVER_NAME": "fresh-node",
    }
    venv = REPO_ROOT / ".venv" / "bin"
    logs = (workdir / "fresh-node.log").open("ab")
    gunicorn = [
        str(venv / "gunicorn"),
        "--config",
        str(REPO_ROOT / "services" / "gunicorn.conf.py"),
        "services.chain_node:create_app()",
        "-b",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
    ]
    worker = [str(venv / "python"), "-m", "services.chain_node.worker"]
    processes = [
        subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdout=logs, stderr=subprocess.STDOUT)
        for argv in (gunicorn, worker)
    ]
    processes.append(port)  # type: ignore[arg-type]
    return processes


def measure_catch_up(stack: Stack, workdir: Path, length: int) -> dict:
    log.info("building a %d-block chain", length)
    started = time.monotonic()
    chain = build_chain(length)
    build_s = time.monotonic() - started
    seed = SeedPeer(chain)
    node2 = stack.chain_urls[min(1, len(stack.chain_urls) - 1)]
    http = requests.Session()
    try:
        # Node 2 (no other node has these blocks yet) catches up from the seed peer.
        http.post(f"{node2}/nodes/register", json={"nodes": [seed.url]}, timeout=30)
        seed_s = wait_until(
            lambda: http.get(f"{node2}/inv", timeout=10).json()["hash"] == seed.tip["hash"],
            600,
            "node 2 to catch up from the seed peer",
        )
        log.info("node 2 caught up %d blocks from the seed peer in %.1fs", length, seed_s)
        # A fresh node joins with node 2 as its peer; timed from its start.
        started = time.monotonic()
        *processes, port = start_fresh_node(stack, workdir, node2)
        pids = [process.pid for process in processes]
        fresh = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: http.get(f"{fresh}/inv", timeout=10).json()["hash"] == seed.tip["hash"],
                600,
                "the fresh node to catch up",
            )
            fresh_s = time.monotonic() - started
            fresh_cpu_s = tree_cpu_s(pids)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    finally:
        seed.close()
    return {
        "blocks": length,
        "build_s": round(build_s, 1),
        "from_seed_peer_s": round(seed_s, 1),
        "fresh_node_s": round(fresh_s, 1),
        "blocks_per_s": round(length / fresh_s, 1),
        "fresh_node_cpu_s": round(fresh_cpu_s, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


# --------------------------------------------------------------------- run


def run(stack: Stack, workdir: Path, args: argparse.Namespace) -> dict:
    """Every measurement on a running stack (chain component with >= 2 nodes, NGINX)."""
    node1 = stack.chain_urls[0]
    per_sender = max(1, args.txs // args.senders)
    senders = fund_senders(node1, args.senders, per_sender * 10 + 10**6)
    submissions = measure_submissions(stack, senders, per_sender)
    log.info("transactions: %s", submissions)
    validation = measure_block_validation(senders, args.block_txs)
    validation |= measure_node_block(node1)
    log.info("validation: %s", validation)
    catch_up = measure_catch_up(stack, workdir, args.blocks)
    log.info("catch-up: %s", catch_up)
    return {
        "submissions": submissions,
        "validation": validation,
        "catch_up": catch_up,
        "targets": TARGETS,
    }


def render(result: dict) -> list[str]:
    """The chain section of docs/benchmarks.md."""
    sub, val, cat = result["submissions"], result["validation"], result["catch_up"]
    met = {True: "met", False: "**not met**"}
    return [
        "## Chain-node",
        "",
        f"Run {result.get('date', '')} (`{result.get('command', 'python -m tools.bench_chain')}`,"
        f" commit {result.get('commit', '?')}); load average when each part started: "
        f"{sub['load_average']}, {val['load_average']}, {cat['load_average']} (2 cores).",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| >= 1,000 signed transactions/s through NGINX | {sub['tx_per_s']:,.0f}/s "
        f"({sub['accepted']:,} of {sub['transactions']:,} from {sub['senders']} senders); "
        f"{sub['stack_cpu_ms_per_tx']} CPU-ms per transaction for the whole stack, relays "
        f"to 2 peers included: {sub['tx_per_s_on_2_idle_cores']:,.0f}/s on 2 idle cores "
        f"| {met[sub['tx_per_s'] >= TARGETS['tx_per_s']]} |",
        f"| a 2,000-transaction block validates in <= 250 ms | {val['pure_ms']:.0f} ms "
        f"({val['pure_cpu_ms']:.0f} CPU-ms; rules with a cold signature cache, of which "
        f"{val['signatures_cpu_ms']:.0f} ms verifying signatures); "
        f"{val['node_submit_ms']:.0f} ms for `POST /blocks` of a "
        f"{val['node_transactions']:,}-transaction block on a node "
        f"| {met[val['pure_ms'] <= TARGETS['validate_ms']]} |",
        f"| a fresh node catches up 5,000 blocks in <= 60 s | {cat['fresh_node_s']:.1f} s "
        f"for {cat['blocks']:,} blocks ({cat['blocks_per_s']:,.0f} blocks/s, "
        f"{cat['fresh_node_cpu_s']} CPU-s in the new node); "
        f"{cat['from_seed_peer_s']:.1f} s from a minimal peer "
        f"| {met[cat['fresh_node_s'] <= TARGETS['catch_up_s']]} |",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_chain", description=__doc__)
    parser.add_argument("--txs", type=int, default=20_000, help="transactions to submit")
    parser.add_argument("--senders", type=int, default=200, help="keys sending them at once")
    parser.add_argument("--block-txs", type=int, default=2000, help="transactions in the block")
    parser.add_argument("--blocks", type=int, default=5000, help="chain length to catch up")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument(
        "--nodes", type=int, default=3, help="chain-nodes in the network (CHAIN_NODES)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="dts-bench-chain-"))
    stack = Stack(
        workdir / "stack",
        Ports.free(1),
        {**stack_env(uuid.uuid4().hex), "CHAIN_NODES": str(args.nodes)},
        replicas=1,
        components={"mongo", "redis", "chain", "nginx"},
    )
    try:
        stack.start(timeout=180)
        result = run(stack, workdir, args)
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log.info("kept %s", workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
