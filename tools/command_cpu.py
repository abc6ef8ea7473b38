"""CPU per single command in one service process, without HTTP: what the Python costs.

    .venv/bin/python -m tools.command_cpu [--store journal|database] [--commands 2000]
                                          [--profile]

Starts FerretDB (or mongod), redis-server and a fixed-price quote server in a temp dir
(tools/stack.py), builds the user-utilities and buy apps in this process and sends them
single commands through Flask's test client, as the replayer would (ADD, BUY,
COMMIT_BUY, DISPLAY_SUMMARY for 20 users, in turn). Prints the process's CPU time per
command (``time.process_time``: the services' Python, pymongo, redis-py, JSON; not NGINX,
gunicorn, Redis or the database) and with ``--profile`` a second run under cProfile,
sorted by own time (docs/benchmarks.md, "One request per command").
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services import buy, user_utilities
from tools.stack import Ports, Stack

USERS = 20
DATABASE = "command_cpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("journal", "database"), default="journal")
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="then a run under cProfile")
    args = parser.parse_args(argv)
    password = secrets.token_urlsafe(12)
    env = {
        "JWT_SECRET": secrets.token_urlsafe(32),
        "ADMIN_PASSWORD": secrets.token_urlsafe(12),
        "SERVICE_PASSWORD": password,
        "QUOTE_FIXED_PRICE": "10.00",
        "LEDGER_STORE": args.store,
    }
    base = Path(tempfile.mkdtemp(prefix="command-cpu-"))
    stack = Stack(base, Ports.free(1), env, replicas=1, components={"mongo", "redis", "quote"})
    stack.start(timeout=180)
    # The journal's runs wait while the persister lags (ledger.JOURNAL_LAG_LIMIT_MS).
    persister = subprocess.Popen(
        [sys.executable, "-m", "services.persister"],
        env={**stack.service_env("persister"), "MONGO_DB": DATABASE},
    )
    try:
        settings = {
            "mongo_uri": stack.mongo_uri,
            "mongo_db": DATABASE,
            "redis_url": stack.redis_url,
            "quote_server_addr": stack.quote_addr,
            "jwt_secret": env["JWT_SECRET"],
            "admin_password": env["ADMIN_PASSWORD"],
            "service_password": password,
            "ledger_store": args.store,
            "server_name": "command-cpu",
        }
        users, trades = (
            app(settings).test_client() for app in (user_utilities.create_app, buy.create_app)
        )
        login = {"username": "replayer", "password": password}
        token = users.post("/api/users/service-login", json=login).get_json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        txn = iter(range(1, 10**9))

        def send(client, path: str, **body) -> None:
            resp = client.post(path, json={**body, "transactionNum": next(txn)}, headers=headers)
            if resp.status_code >= 500:
                raise RuntimeError(f"{path}: {resp.get_json()}")

        def commands(count: int) -> None:
            for i in range(count):
                user = f"cpu{i % USERS}"
                step = i // USERS % 4
                if step == 0:
                    send(users, "/api/users/add", user=user, amount="10.00")
                elif step == 1:
                    send(trades, "/api/buy/buy", user=user, symbol="CPU", amount="10.00")
                elif step == 2:
                    send(trades, "/api/buy/commit-buy", user=user)
                else:
                    send(users, "/api/users/display-summary", user=user)

        commands(USERS * 8)  # warm-up: accounts exist, the quote is cached
        began = time.process_time()
        for _ in range(args.commands):
            users.get("/api/users/ping")
        ping = time.process_time() - began
        sys.stdout.write(f"ping: {ping / args.commands * 1000:.2f} CPU-ms per request\n")
        began = time.process_time()
        commands(args.commands)
        spent = time.process_time() - began
        sys.stdout.write(f"{args.store}: {spent / args.commands * 1000:.2f} CPU-ms per command\n")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            commands(args.commands)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    finally:
        persister.terminate()
        persister.wait(timeout=30)
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
