"""``python -m services.persister``: write the journal to the database behind commands.

Runs in every deployment: with ``LEDGER_STORE=database`` the journal stays empty (or
drains what a journaled run left) and the persister waits.
"""

from __future__ import annotations

import logging

from ..common.backend import Backend
from ..common.process import start_process
from .service import Persister

log = logging.getLogger("services.persister")


def main() -> None:
    settings, stop = start_process()
    backend = Backend(settings)
    backend.wait_until_ready()
    persister = Persister(backend.redis, backend.db, settings.mongo_db)
    persister.ensure_indexes()
    log.info("persisting journal:%s (ledger store: %s)", settings.mongo_db, settings.ledger_store)
    persister.run(stop)
    backend.close()


if __name__ == "__main__":
    main()
