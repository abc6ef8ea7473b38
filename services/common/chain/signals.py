"""Redis coordination of one chain-node's processes (gunicorn workers and its worker).

- ``chain:<node>:lock``: serialises every change of the node's chain (block acceptance,
  reorgs, restarts) across processes;
- ``chain:<node>:tip``: the current tip hash, so a process sees a new block with one GET;
- ``chain:<node>:mine``: ``GET /mine`` requests for the miner; the answer comes back on
  ``chain:<node>:mined:<request id>``;
- ``chain:<node>:relay``: transactions this node admitted, for the worker to relay to
  its peers in batches;
- ``chain:<node>:wake``: wakes the worker's sync loop (``sync``: a peer announced a
  block; ``announce``: our tip moved, tell the peers);
- events go to the public topic ``chain:<node>`` (services/common/events.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import redis
from redis.lock import Lock

from .. import events

log = logging.getLogger(__name__)
RESULT_TTL_S = 120


class NodeSignals:
    def __init__(self, client: redis.Redis, node: str, lock_timeout_s: float = 120.0):
        self.redis = client
        self.node = node
        self.topic = events.chain_topic(node)
        self._prefix = f"chain:{node}"
        self._lock_timeout_s = lock_timeout_s

    def lock(self, wait_s: float | None = None) -> Lock:
        """The node's chain lock (a context manager; raises LockError when not taken)."""
        return self.redis.lock(
            f"{self._prefix}:lock",
            timeout=self._lock_timeout_s,
            blocking_timeout=self._lock_timeout_s if wait_s is None else wait_s,
        )

    def tip_hint(self) -> str | None:
        try:
            value = self.redis.get(f"{self._prefix}:tip")
        except redis.RedisError:
            return None
        return value.decode() if value else None

    def set_tip_hint(self, block_hash: str) -> None:
        try:
            self.redis.set(f"{self._prefix}:tip", block_hash)
        except redis.RedisError as exc:
            log.warning("could not store the tip hint: %r", exc)

    def publish(self, event: str, data: Mapping) -> None:
        events.publish(self.redis, self.topic, event, data)

    def publish_command(self, event: str, data: Mapping) -> tuple:
        """``publish`` as a command to send in another pipeline."""
        return ("publish", self.topic, events.encode(event, data))

    def relay_command(self, raw_transactions: list[str]) -> tuple:
        """``queue_relay`` as a command to send in another pipeline."""
        return ("rpush", f"{self._prefix}:relay", *raw_transactions)

    def wake(self, reason: str) -> None:
        try:
            self.redis.rpush(f"{self._prefix}:wake", reason)
            self.redis.ltrim(f"{self._prefix}:wake", -16, -1)
        except redis.RedisError as exc:
            log.warning("could not wake the sync loop: %r", exc)

    def next_wake(self, timeout_s: float) -> str | None:
        found = self.redis.blpop([f"{self._prefix}:wake"], timeout=max(0.01, timeout_s))
        return found[1].decode() if found else None

    def queue_relay(self, raw_transactions: list[str]) -> None:
        """Queue admitted transactions (JSON text) for the worker to pass to the peers."""
        if not raw_transactions:
            return
        try:
            self.redis.rpush(f"{self._prefix}:relay", *raw_transactions)
        except redis.RedisError as exc:
            log.warning("could not queue %d transactions for relay: %r", len(raw_transactions), exc)

    def take_relay(self, most: int, timeout_s: float) -> list[dict]:
        """Up to ``most`` queued transactions, waiting up to ``timeout_s`` for the first."""
        key = f"{self._prefix}:relay"
        first = self.redis.blpop([key], timeout=max(0.01, timeout_s))
        if not first:
            return []
        rest = self.redis.lpop(key, most - 1) if most > 1 else None
        return [json.loads(item) for item in [first[1], *(rest or [])]]

    def request_mine(self, request: Mapping) -> None:
        self.redis.rpush(f"{self._prefix}:mine", json.dumps(request))

    def next_mine_request(self, timeout_s: float) -> dict | None:
        found = self.redis.blpop([f"{self._prefix}:mine"], timeout=max(0.01, timeout_s))
        return json.loads(found[1]) if found else None

    def reply_mined(self, request_id: str, answer: Mapping) -> None:
        key = f"{self._prefix}:mined:{request_id}"
        self.redis.rpush(key, json.dumps(answer))
        self.redis.expire(key, RESULT_TTL_S)

    def wait_mined(self, request_id: str, timeout_s: float) -> dict | None:
        found = self.redis.blpop([f"{self._prefix}:mined:{request_id}"], timeout=timeout_s)
        return json.loads(found[1]) if found else None
