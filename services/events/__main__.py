"""``python -m services.events --bind HOST:PORT``: serve the events gateway."""

from __future__ import annotations

import argparse

from aiohttp import web

from . import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.events")
    parser.add_argument("--bind", default="127.0.0.1:8090", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    # A client that goes away cancels its handler at once, freeing its stream slot.
    web.run_app(create_app(), host=host, port=int(port), handler_cancellation=True, print=None)


if __name__ == "__main__":
    main()
