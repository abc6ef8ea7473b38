"""Entry point: ``python -m market_feed``."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from market_feed.config import FeedSettings
from market_feed.server import run

log = logging.getLogger("market_feed")


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = FeedSettings()
    except ValidationError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    try:
        run(settings)
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
