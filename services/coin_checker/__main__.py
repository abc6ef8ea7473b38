"""``python -m services.coin_checker``: check margin positions and stop orders every
MARGIN_CHECK_INTERVAL_S seconds (0 = off)."""

from __future__ import annotations

import logging

from ..common.backend import Backend
from ..common.errors import UpstreamUnavailable
from ..common.process import start_process
from .service import check_coins

log = logging.getLogger("services.coin_checker")


def main() -> None:
    settings, stop = start_process()
    if settings.margin_check_interval_s == 0:
        log.info("MARGIN_CHECK_INTERVAL_S=0: margin checking is off")
        stop.wait()
        return
    backend = Backend(settings)
    backend.wait_until_ready()
    backend.ensure_indexes()
    trading = backend.coin_trading()
    log.info("checking margin positions every %.1f s", settings.margin_check_interval_s)
    while not stop.wait(settings.margin_check_interval_s):
        try:
            outcomes = check_coins(trading, backend.accounts, backend.coin_watch)
        except UpstreamUnavailable as exc:  # the feed is down: nothing can be valued
            log.warning("margin check skipped: %s", exc)
            continue
        except Exception:  # a bad pass must not end the checker; the next one retries
            log.exception("margin check failed")
            continue
        acted = {k: v for k, v in outcomes.items() if k not in ("ok", "waiting")}
        if acted:
            log.info("margin check: %s", acted)
    backend.close()


if __name__ == "__main__":
    main()
