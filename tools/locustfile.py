"""Locust scenario for tools/bench.py: many people trading at human speed.

    locust -f tools/locustfile.py --headless -u 5000 -r 100 -t 2m --host http://127.0.0.1:8080

Each simulated user is one trader with an account of its own. It signs in as the
service user `replayer` (SERVICE_PASSWORD from the environment) - one sign-in per source
address, shared by the users there, since sign-in is rate-limited per address - adds
funds, then issues commands in the generator's official mix (commands/generate.py),
including the same follow-ups (a BUY is often committed or cancelled next), thinking
between commands like TPC-W's browsing users: exponential, mean 7 s, at most 70 s.

Users are spread over source addresses 127.0.N.1 (BENCH_SOURCES, default 16) so NGINX's
ip_hash reaches every replica. Only 5xx responses and transport errors count as
failures: the mix includes commands that the rules reject (4xx), as the course files
do. At exit the counts by status are written to BENCH_LOCUST_STATUS, if set, as JSON.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from collections import Counter
from pathlib import Path

from locust import HttpUser, events, task
from locust.clients import LocustHttpAdapter
from urllib3 import PoolManager

from commands.generate import FOLLOW_UPS, primary_weights, symbol_pool_size
from input_script import COMMANDS

THINK_MEAN_S = float(os.environ.get("BENCH_THINK_MEAN_S", "7"))
THINK_MAX_S = 10 * THINK_MEAN_S
SOURCES = int(os.environ.get("BENCH_SOURCES", "16"))
REQUEST_TIMEOUT_S = 120
SYMBOLS_FOR_USERS = 5000  # the pool size the generator would use for 5,000 users

# The replayer's route table is the one source of command -> path.
PATHS = {command: path for command, (path, _) in COMMANDS.items()}


def think_time(rng: random.Random) -> float:
    """Seconds a person looks at the screen before the next command."""
    return min(THINK_MAX_S, rng.expovariate(1 / THINK_MEAN_S))


def dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


_rng = random.Random(int(os.environ.get("BENCH_SEED", "1")))
_SYMBOLS = sorted({"".join(_rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=3)) for _ in range(2000)})[
    : symbol_pool_size(SYMBOLS_FOR_USERS)
]
# Simulated traders draw commands like the generator does (no first-ADD correction:
# each trader's ADD is issued up front).
_NAMES, _WEIGHTS = primary_weights(users=0, body_lines=1)
_next_source = itertools.count()
_pools: dict[str, PoolManager] = {}
_tokens: dict[str, str] = {}
_token_lock = threading.Lock()  # gevent patches it: one sign-in per source at a time
statuses: Counter = Counter()


def _pool(source: str) -> PoolManager:
    # One pool per source address, shared by its users: a few hundred keep-alive
    # connections instead of one per user, which NGINX's worker_connections would not hold.
    if source not in _pools:
        _pools[source] = PoolManager(maxsize=512, block=False, source_address=(source, 0))
    return _pools[source]


class Trader(HttpUser):
    """One person trading: sign-in (shared per address), ADD, then the official mix."""

    def wait_time(self) -> float:
        return think_time(self.rng)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.source = f"127.0.{next(_next_source) % SOURCES + 1}.1"
        self.client.mount("http://", LocustHttpAdapter(pool_manager=_pool(self.source)))
        self.uid = "lc" + uuid.uuid4().hex[:14]
        self.follow_ups: list[tuple[str, dict]] = []
        self.holdings: list[str] = []
        self.headers = {"Authorization": f"Bearer {self._token()}"}
        self.send("ADD", {"amount": dollars(self.rng.randint(4_000_000, 11_000_000))})

    def _token(self) -> str:
        with _token_lock:
            if self.source not in _tokens:
                body = {"username": "replayer", "password": os.environ["SERVICE_PASSWORD"]}
                resp = self.client.post(
                    "/api/users/service-login",
                    json=body,
                    name="login",
                    timeout=REQUEST_TIMEOUT_S,
                )
                resp.raise_for_status()
                _tokens[self.source] = resp.json()["data"]["token"]
            return _tokens[self.source]

    def send(self, command: str, body: dict) -> None:
        body = {"user": self.uid, **body}
        with self.client.post(
            PATHS[command],
            json=body,
            headers=self.headers,
            name=command,
            catch_response=True,
            timeout=REQUEST_TIMEOUT_S,
        ) as resp:
            code = resp.status_code or 0  # 0: no answer (connection error, timeout)
            statuses[str(code)] += 1
            if code == 0 or code >= 500:
                resp.failure(f"HTTP {code}")
            else:
                resp.success()  # 4xx is the rules saying no, as in the course files

    @task
    def act(self) -> None:
        """One command: a due follow-up, else one drawn from the official mix."""
        if self.follow_ups:
            command, body = self.follow_ups.pop(0)
            self.send(command, body)
            return
        command = self.rng.choices(_NAMES, _WEIGHTS)[0]
        symbol = self.rng.choice(_SYMBOLS)
        amount = self.rng.randint(5, 75_000)
        if command in ("SELL", "SET_SELL_AMOUNT", "QUOTE") and self.holdings:
            symbol = self.rng.choice(self.holdings)
        body: dict = {}
        if command in ("QUOTE", "CANCEL_SET_BUY", "CANCEL_SET_SELL"):
            body = {"symbol": symbol}
        elif command not in (
            "COMMIT_BUY",
            "CANCEL_BUY",
            "COMMIT_SELL",
            "CANCEL_SELL",
            "DISPLAY_SUMMARY",
        ):
            body = {"symbol": symbol, "amount": dollars(amount)}
        if command == "ADD":
            body = {"amount": dollars(self.rng.randint(4_000_000, 11_000_000))}
        self.send(command, body)
        self._plan_follow_up(command, symbol, amount)

    def _plan_follow_up(self, command: str, symbol: str, amount: int) -> None:
        r = self.rng.random()
        for child, share in FOLLOW_UPS.get(command, ()):
            if r < share:
                if child == "COMMIT_BUY":
                    self.holdings = [*self.holdings[-4:], symbol]
                body = {}
                if child.endswith("TRIGGER"):
                    price = max(1, int(amount * (0.02 + 0.58 * self.rng.random())))
                    body = {"symbol": symbol, "amount": dollars(price)}
                self.follow_ups.append((child, body))
                return
            r -= share


@events.quitting.add_listener
def _write_statuses(environment, **_kwargs) -> None:
    path = os.environ.get("BENCH_LOCUST_STATUS")
    if path:
        Path(path).write_text(json.dumps(dict(sorted(statuses.items()))) + "\n")
