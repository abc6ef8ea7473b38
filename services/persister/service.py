"""The persister: the journal's records into the database, as they come.

The writing itself (in bulk, idempotently, the cursor moved only after a whole batch)
is ``common.journal.JournalWriter``'s, which readers that waited too long for this
process also use; here is the loop that runs it.
"""

from __future__ import annotations

import logging
import threading
import time

from ..common.journal import BATCH, JournalWriter

log = logging.getLogger(__name__)
BLOCK_MS = 1000  # how long a read waits for a record when the journal is drained
# A pass at most this often: FerretDB's cost is mostly per call, so records gathered for
# a few milliseconds cost far less than each written as it comes; readers that wait for
# the persister (DUMPLOG, histories) wait this much longer.
PASS_INTERVAL_S = 0.05


class Persister(JournalWriter):
    """Moves one journal's records into one database until stopped."""

    def persist_once(self, block_ms: int | None = BLOCK_MS, count: int = BATCH) -> int:
        return super().persist_once(block_ms, count)

    def run(self, stop: threading.Event) -> None:
        """Persist until ``stop`` is set; a failed batch is retried (it is idempotent)."""
        while not stop.is_set():
            began = time.monotonic()
            try:
                stored = self.persist_once()
            except Exception:  # a database or Redis outage: wait, then redo the batch
                log.exception("persisting the journal failed; retrying")
                stop.wait(0.5)
                continue
            if 0 < stored < BATCH:  # caught up: let the next batch gather
                stop.wait(PASS_INTERVAL_S - (time.monotonic() - began))
