"""``python -m services.trigger_checker``: poll every TRIGGER_INTERVAL_S seconds (0 = off)."""

from __future__ import annotations

import logging

from ..common.backend import Backend
from ..common.process import start_process
from .service import check_triggers

log = logging.getLogger("services.trigger_checker")


def main() -> None:
    settings, stop = start_process()
    if settings.trigger_interval_s == 0:
        log.info("TRIGGER_INTERVAL_S=0: trigger checking is off")
        stop.wait()
        return
    backend = Backend(settings)
    backend.wait_until_ready()
    backend.ensure_indexes()
    log.info("checking triggers every %.1f s", settings.trigger_interval_s)
    while not stop.wait(settings.trigger_interval_s):
        try:
            fired = check_triggers(backend)
        except Exception:  # a bad round must not end the checker; the next one retries
            log.exception("trigger check failed")
            continue
        if fired:
            log.info("fired %d setup(s)", fired)
    backend.close()


if __name__ == "__main__":
    main()
