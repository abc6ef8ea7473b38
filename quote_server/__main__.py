"""Entry point: ``python -m quote_server``."""

from __future__ import annotations

import logging
import sys

from quote_server.config import ConfigError, load_config
from quote_server.server import run

log = logging.getLogger("quote_server")


def main() -> int:
    """Configure logging, load the config and serve until SIGINT or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config()
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    try:
        run(config)
    except OSError as exc:
        # Typically a port already in use; say so instead of dumping a traceback.
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
