"""The block analyser: follows the chain-node and turns transfers into deposits.

It catches up from its stored position with ``/getblocks``, then waits for the node's
events (the Redis topic ``chain:<node>``, where the node announces every new tip and
reorg; it asks the node anyway every ``WALLET_POLL_S``). For each block it records
every transfer to a user's deposit address as a ``submitted`` deposit (unique by txid,
address and asset), notes which of the platform's own transactions got mined, and
then credits each deposit with ``WALLET_CONFIRMATIONS`` blocks (once: see
``service.credit_deposit``) and settles each withdrawal confirmed as deeply.

A reorg is found when the next block does not build on the last one processed: the
analyser walks back to the last block the node still has, forgets the ``submitted``
deposits above it (a reorg deeper than the confirmations, which would undo a credit,
raises an alert instead) and marks the platform's transactions there unmined; the node
puts them back in its mempool, so they are seen again when mined again.

Run: ``python -m services.wallet.analyser``.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from ..common import events
from ..common.chain.client import ChainNodeError
from ..common.chain.transactions import COINBASE_SENDER
from ..common.domain import custody
from ..common.process import stop_on_signals
from . import service
from .service import Wallet

log = logging.getLogger("services.wallet.analyser")

BATCH = 100  # blocks asked per /getblocks
RECONCILE_EVERY_S = 5.0


def block_hash(block: dict) -> str:
    """A block's id as the node serves it, or computed from its header."""
    if block.get("hash"):
        return block["hash"]
    from ..common.chain.blocks import header_hash

    return header_hash(block)


class BlockAnalyser:
    """One analyser over one node; ``sync`` is one catch-up pass, ``run`` the loop."""

    def __init__(self, wallet: Wallet):
        self.w = wallet
        self._last_reconcile = 0.0

    # --- catching up ----------------------------------------------------------------

    def sync(self) -> int:
        """Process every block the node has beyond the stored position; the count."""
        processed = 0
        position = self.w.analyser_state.position()
        while True:
            last_hash = position[-1][1] if position else None
            try:
                blocks = self.w.node.getblocks(last_hash, limit=BATCH).get("blocks", [])
            except ChainNodeError as exc:
                if not exc.refused or not position:
                    raise
                blocks = None  # the node does not know our last block: a reorg
            if blocks and position and blocks[0].get("previous_hash") != last_hash:
                blocks = None
            if blocks is None:
                position = self._unwind(position)
                continue
            if not blocks:
                break
            for block in blocks:
                self._record(block)
                position.append((block["index"], block_hash(block)))
            self.w.analyser_state.save(position)
            processed += len(blocks)
            if len(blocks) < BATCH:
                break
        if processed:
            self.confirm()
        return processed

    def _record(self, block: dict) -> None:
        height, bhash = block["index"], block_hash(block)
        transfers = [tx for tx in block.get("transactions", []) if tx["sender"] != COINBASE_SENDER]
        ours = self.w.chain_txs.known([tx["id"] for tx in transfers])
        for txid in ours:
            self.w.chain_txs.mark_mined(txid, height, bhash)
        owners = self.w.addresses.owners(sorted({tx["recipient"] for tx in transfers}))
        gas_keeper = self.w.gas_keeper.address
        now = self.w.clock_ms()
        found = [
            {
                "id": custody.deposit_id(tx["id"], tx["recipient"], tx["asset"]),
                "user": owners[tx["recipient"]],
                "txid": tx["id"],
                "address": tx["recipient"],
                "sender": tx["sender"],
                "asset": tx["asset"],
                "units": tx["amount"],
                "height": height,
                "block_hash": bhash,
                "state": custody.SUBMITTED,
                "seen_ms": now,
                "updated_ms": now,
            }
            for tx in transfers
            # A top-up from the gas keeper pays a sweep's fee: it is not a deposit.
            if tx["recipient"] in owners and tx["sender"] != gas_keeper
        ]
        new = self.w.deposits.record_many(found)
        for deposit in new:
            self.w.publish(
                deposit["user"],
                "deposit",
                {"id": deposit["id"], "state": custody.SUBMITTED, "asset": deposit["asset"]},
            )
        if found:
            log.info("block %d: %d deposits (%d new)", height, len(found), len(new))

    def _unwind(self, position: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Back to the last stored block the node still has on its best chain."""
        kept = list(position)
        while kept:
            height, bhash = kept[-1]
            try:
                if block_hash(self.w.node.get_block(height)) == bhash:
                    break
            except ChainNodeError as exc:
                if not exc.refused:
                    raise
            kept.pop()
        fork = kept[-1][0] if kept else -1
        self.handle_reorg(fork)
        self.w.analyser_state.save(kept)
        return kept

    def handle_reorg(self, fork_height: int) -> None:
        """Undo what the blocks above ``fork_height`` recorded."""
        log.warning("reorg: blocks above %d abandoned", fork_height)
        now = self.w.clock_ms()
        for deposit in self.w.deposits.above(fork_height):
            if deposit["state"] == custody.SUBMITTED:
                self.w.deposits.remove(deposit["id"])
                self.w.publish(
                    deposit["user"], "deposit", {"id": deposit["id"], "state": "removed"}
                )
            else:
                message = (
                    f"reorg below height {deposit['height']} removed the block of credited "
                    f"deposit {deposit['id']} (deeper than WALLET_CONFIRMATIONS)"
                )
                if self.w.alerts.raise_once(f"reorg:{deposit['id']}", "deep_reorg", message, now):
                    log.error("ALERT %s", message)
        self.w.chain_txs.unmine_above(fork_height)

    # --- what confirmations allow ---------------------------------------------------

    def confirm(self) -> None:
        """Credit the deposits and settle the withdrawals that have their confirmations."""
        tip = self.w.tip_height()
        needed = self.w.settings.wallet_confirmations
        waiting = self.w.deposits.in_state(custody.SUBMITTED)
        due = [d for d in waiting if custody.confirmations(tip, d["height"]) >= needed]
        # The rest gained a confirmation: their owners' pages show it (x of N) now that
        # this block is counted, one event per user.
        for user in sorted({d["user"] for d in waiting} - {d["user"] for d in due}):
            self.w.publish(user, "confirmations", {"height": tip})
        if due:
            states = service.credit_deposits(self.w, due)
            log.info("credited %d deposits", len(due))
            for address in sorted(
                {d["address"] for d in due if states.get(d["id"]) == custody.ACCEPTED}
            ):
                service.schedule_collection(self.w, address)
        for withdrawal in self.w.withdrawals.in_states((custody.CONFIRMING,)):
            tx = self.w.chain_txs.get(withdrawal["txid"])
            if tx and custody.confirmations(tip, tx["height"]) >= needed:
                service.settle_withdrawal(self.w, withdrawal)

    def reconcile(self) -> None:
        """Every few seconds: start again whatever a crash or an outage left half-done."""
        now = time.monotonic()
        if now - self._last_reconcile < RECONCILE_EVERY_S:
            return
        self._last_reconcile = now
        service.reconcile(self.w)

    # --- the loop --------------------------------------------------------------------

    def _wait_for_block(self, pubsub) -> None:
        """Until the node announces a new tip or a reorg, or WALLET_POLL_S passes.
        Mempool events (``tx``) do not wake it: a burst of transfers is one pass."""
        deadline = time.monotonic() + self.w.settings.wallet_poll_s
        while (remaining := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=remaining)
            if message is not None and _event_of(message) in ("tip", "reorg"):
                while pubsub.get_message(timeout=0):  # many events, one pass
                    pass
                return

    def run(self, stop: threading.Event) -> None:
        topic = events.chain_topic(self.w.settings.wallet_chain_node_name)
        pubsub = None
        log.info("block analyser following %s (topic %s)", self.w.node.base_url, topic)
        first = True
        while not stop.is_set():
            try:
                if pubsub is None:
                    pubsub = self.w.redis.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(topic)
                processed = self.sync()
                if first:
                    self.confirm()  # after a restart: whatever was due when it stopped
                    first = False
                if processed:
                    log.info("processed %d blocks; tip %d", processed, self.w.tip_height())
                self.reconcile()
                self._wait_for_block(pubsub)
            except Exception as exc:  # the node, Redis or the database is away: wait
                log.warning("analyser pass failed: %s", str(exc)[:300])
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001 (closing a broken connection)
                        pass
                    pubsub = None
                stop.wait(min(2.0, self.w.settings.wallet_poll_s))


def _event_of(message: dict) -> str | None:
    try:
        return json.loads(message["data"]).get("event")
    except (ValueError, TypeError, AttributeError):
        return None


def main() -> None:
    from .context import build_wallet

    wallet = build_wallet()
    stop = stop_on_signals()
    BlockAnalyser(wallet).run(stop)


if __name__ == "__main__":
    main()
