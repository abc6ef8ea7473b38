"""A chain-node's worker process: the miner and the peer-sync loop, off the request path.

    python -m services.chain_node.worker

- The miner takes a template from its own node over HTTP (``GET /mining/template``),
  searches the proof of work, and submits the block with ``POST /blocks``, the path any
  miner uses. It abandons a template as soon as the node's tip moves. It mines when
  ``GET /mine`` asks (a Redis queue; the answer goes back the same way) and, when
  ``CHAIN_MINER_INTERVAL_S`` > 0, on its own after that long without a new block: one
  block per interval across the network at most, so it never holds a core for long.
- The sync loop polls every peer's ``/inv`` every ``CHAIN_SYNC_INTERVAL_S`` (dvf peers:
  ``/chain``), fetching what has more work with ``/getblocks``; a ``POST /inv`` from a
  peer wakes it at once. When our tip moves it announces it to every peer (``POST
  /inv``). Failing peers are backed off (service.py).
- The relay loop passes the transactions the node admitted to every peer in batches
  (``POST /transactions/batch``); a peer relays on only what was new to it.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time

from ..common.chain.client import ChainNodeClient, ChainNodeError
from ..common.config import ChainNodeSettings, load_chain_settings
from ..common.logs import configure_logging
from .node import build_node
from .service import ChainNode

log = logging.getLogger("chain_node.worker")

MINE_ATTEMPTS = 5
RELAY_BATCH = 1000
PRUNE_EVERY_S = 60.0


def mine_one(node: ChainNode, client: ChainNodeClient, miner: str | None, stop) -> dict:
    """Mine one block on the node's tip (a new template whenever the tip moves)."""
    last_error = "stopped"
    attempts = 0
    while not stop.is_set() and attempts < MINE_ATTEMPTS:
        template = client.mining_template(miner)
        previous = template["previous_hash"]
        started = time.monotonic()

        def moved(previous: str = previous) -> bool:
            return stop.is_set() or node.signals.tip_hint() not in (None, previous)

        block = node.rules.solve(template, moved)
        if block is None:
            log.info("tip moved; abandoning the template on %s", previous[:16])
            continue
        try:
            outcome = client.submit_block(block)
        except ChainNodeError as exc:
            attempts += 1
            last_error = f"{exc.message}: {exc.payload}"
            log.warning("the node refused our block: %s", last_error)
            continue
        log.info(
            "mined block %s at %s in %.2fs",
            outcome.get("hash", "")[:16],
            outcome.get("height"),
            time.monotonic() - started,
        )
        forged = node.rules.forged(block)
        if node.rules.name == "dvf":
            return forged  # exactly dvf's answer
        return {**forged, "hash": outcome.get("hash"), "height": outcome.get("height")}
    return {"error": last_error}


def miner_loop(node: ChainNode, settings: ChainNodeSettings, stop: threading.Event) -> None:
    client = ChainNodeClient(settings.chain_node_url, timeout=30)
    # Each node waits a little longer than the interval, by a random amount drawn anew
    # after every block, so the nodes rarely start on the same block at once.
    interval = settings.chain_miner_interval_s
    patience = interval * (1 + random.random() / 2)
    last_tip, last_change = node.signals.tip_hint(), time.monotonic()
    while not stop.is_set():
        try:
            since = time.monotonic() - last_change
            wait = 1.0 if interval == 0 else max(0.05, min(1.0, patience - since))
            request = node.signals.next_mine_request(wait)
            tip = node.signals.tip_hint()
            if tip != last_tip:
                last_tip, last_change = tip, time.monotonic()
                patience = interval * (1 + random.random() / 2)
            if request is None and (interval == 0 or time.monotonic() - last_change < patience):
                continue
            answer = mine_one(node, client, (request or {}).get("miner"), stop)
            last_change = time.monotonic()
            if request is not None:
                node.signals.reply_mined(request["id"], answer)
        except Exception:  # the loop must survive a node or Redis restart
            log.exception("miner loop error; retrying in 1s")
            stop.wait(1.0)


def sync_loop(node: ChainNode, settings: ChainNodeSettings, stop: threading.Event) -> None:
    next_prune = time.monotonic() + PRUNE_EVERY_S
    while not stop.is_set():
        try:
            reason = node.signals.next_wake(settings.chain_sync_interval_s)
            if reason == "announce":
                node.announce()
            else:
                node.resolve(respect_backoff=reason is None)
            if time.monotonic() > next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                pruned = node.prune_pool()
                if pruned:
                    log.info("pruned %d mined transactions from the stored mempool", pruned)
        except Exception:  # a bad peer or a restarting dependency must not end the loop
            log.exception("sync loop error; retrying in 1s")
            stop.wait(1.0)


def relay_loop(node: ChainNode, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            txs = node.signals.take_relay(RELAY_BATCH, 1.0)
            if txs:
                node.relay(txs)
        except Exception:  # a restarting Redis must not end the loop
            log.exception("relay loop error; retrying in 1s")
            stop.wait(1.0)


def main() -> None:
    settings = load_chain_settings()
    configure_logging(settings.log_level, f"{settings.server_name}-worker")
    node, adapters = build_node(settings)
    node.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = [
        threading.Thread(target=miner_loop, args=(node, settings, stop), name="miner"),
        threading.Thread(target=sync_loop, args=(node, settings, stop), name="sync"),
        threading.Thread(target=relay_loop, args=(node, stop), name="relay"),
    ]
    for thread in threads:
        thread.start()
    log.info("worker of %s running (%s rules)", settings.chain_node_name, settings.chain_rules)
    while not stop.is_set():
        stop.wait(1.0)
    for thread in threads:
        thread.join(timeout=5)
    adapters.close()


if __name__ == "__main__":
    main()
