"""Journal records into the database, in bulk and idempotently.

A record is one committed run (``cache.HeldLock.commit``): ``u`` the user, ``a`` the
account as stored (empty when the run changed none), ``e`` its log and wallet-ledger
entries as JSON. Entries that came without an ``_id`` (commands that changed no account)
get one from the record's stream id, so writing a record again stores nothing twice:
log entries, their page and wallet-ledger entries are inserted by ``_id`` (duplicates
skipped), and an account is written only over an older version. The cursor moves past a
batch only once all of it is stored, so a persister killed at any moment redoes at most
its last batch, harmlessly.
"""

from __future__ import annotations

import logging
import threading
import time

import orjson
import redis
from pymongo.database import Database

from ..common.journal import Journal
from ..common.ledger import WALLET_ENTRY
from ..common.repositories import AccountRepository, LogRepository, WalletLedgerRepository

log = logging.getLogger(__name__)
BATCH = 2000  # records per database write
BLOCK_MS = 1000  # how long a read waits for a record when the journal is drained
# A pass at most this often: FerretDB's cost is mostly per call, so records gathered for
# a few milliseconds cost far less than each written as it comes; readers that wait for
# the persister (DUMPLOG, histories) wait this much longer.
PASS_INTERVAL_S = 0.05


class Persister:
    """Moves one journal's records into one database."""

    def __init__(self, client: redis.Redis, db: Database, namespace: str):
        self._redis = client
        self._journal = Journal(client, namespace)
        self.accounts = AccountRepository(db)
        self.log = LogRepository(db)
        self.wallet = WalletLedgerRepository(db)

    def ensure_indexes(self) -> None:
        self.accounts.ensure_indexes()
        self.log.ensure_indexes()
        self.wallet.ensure_indexes()

    def cursor(self) -> str:
        raw = self._redis.get(self._journal.cursor)
        return raw.decode() if raw else "0-0"

    def persist_once(self, block_ms: int = BLOCK_MS, count: int = BATCH) -> int:
        """Store the records after the cursor (waiting up to ``block_ms`` for one),
        then move the cursor past them; how many were stored."""
        cursor = self.cursor()
        answer = self._redis.xread({self._journal.stream: cursor}, count=count, block=block_ms)
        records = answer[0][1] if answer else []
        if not records:
            return 0
        self.store(records)
        last = records[-1][0]
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._journal.cursor, last)
        # What is stored leaves the journal (the last record stays, as the cursor's mark).
        pipe.xtrim(self._journal.stream, minid=last, approximate=False)
        pipe.execute()
        return len(records)

    def store(self, records: list[tuple[bytes, dict]]) -> None:
        """Write ``records`` (in journal order) to the database."""
        accounts: dict[str, dict] = {}
        appends: list[list[dict]] = []
        wallet: list[dict] = []
        for stream_id, fields in records:
            record_id = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
            raw_entries = fields.get(b"e") or b""
            entries = orjson.loads(raw_entries) if raw_entries else []
            for i, entry in enumerate(entries):
                entry.setdefault("_id", f"j:{record_id}:{i:04d}")
            appends.append([e for e in entries if e["type"] != WALLET_ENTRY])
            wallet += [e for e in entries if e["type"] == WALLET_ENTRY]
            raw_account = fields.get(b"a") or b""
            if raw_account:
                doc = orjson.loads(raw_account)
                accounts[doc["_id"]] = doc  # a user's records come in version order
        self.log.append_many(appends)
        self.wallet.append(wallet)
        self.accounts.put_newer(list(accounts.values()))

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

    def lag(self) -> int:
        """Records not yet stored (for tests and monitoring)."""
        newest, persisted = self._journal.lag()
        return 0 if newest <= persisted else int(self._redis.xlen(self._journal.stream))
