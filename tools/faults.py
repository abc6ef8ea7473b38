"""Fault injection: replay workloads while processes die, restart and stall.

    .venv/bin/python -m tools.faults --seeds 20            # make faults SEEDS=20

Each seed generates a small workload and a schedule of faults from the same seed, so a
failing seed replays exactly (``--first N --seeds 1``). While ``input_script.py`` replays
the workload (retrying with the same Idempotency-Key after a 5xx or a dropped
connection), faults hit the running stack: SIGKILL of a gunicorn worker, of a whole
service instance or of the journal's persister, crash-restarts of redis-server, the
MongoDB-wire server and the quote server, and SIGSTOP/SIGCONT pauses. Afterwards every check
must hold:

- every command was acknowledged, and none was lost or applied twice: each user's cash,
  holdings, pending trades and setups equal a fault-free reference run of the workload;
- for each user, cash = sum(add) - sum(remove) over the log, and no balance is negative;
- the DUMPLOG validates against the schema;
- the whole stack answers its health checks within 30 s of the last fault.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

from commands.generate import generate_workload
from input_script import parse_workload
from services.common.domain.money import format_cents, parse_cents
from tools.fault_driver import child_pids, send_signal, stack_db, stack_secrets, write_section
from tools.faults_mining import check_mining, mining_env, start_miner
from tools.reference import reference_run
from tools.stack import INFRA, Ports, Stack, StackError

log = logging.getLogger("faults")
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "logfile.xsd"
PRICE = "10.00"
RECOVERY_LIMIT_S = 30.0
BEGIN, END = "<!-- faults report: begin -->", "<!-- faults report: end -->"
FAULTS = (
    "kill_worker",
    "kill_instance",
    "restart_redis",
    "restart_mongo",
    "restart_quote",
    "pause",
    "kill_persister",
    "kill_pool_engine",
    "kill_events",
)


def stack_env() -> dict[str, str]:
    """Settings that make a run deterministic: fixed price, no expiry, no triggers."""
    return {
        **stack_secrets("faults_"),
        "REDIS_PASSWORD": uuid.uuid4().hex,
        "QUOTE_FIXED_PRICE": PRICE,
        "TRIGGER_INTERVAL_S": "0",
        "QUOTE_TTL_S": "3600",
        "PENDING_TTL_S": "3600",
    }


def start_stack(base_dir: Path, mining: bool = False) -> Stack:
    """The stack under test; with ``mining``, also a chain-node and the pool engine
    (tools/faults_mining.py)."""
    components = {*INFRA, "services", "events", "nginx"} | ({"chain", "pools"} if mining else set())
    env = {**stack_env(), **(mining_env() if mining else {})}
    stack = Stack(base_dir, Ports.free(2), env, replicas=2, components=components)
    stack.start(timeout=180 if mining else 120)
    return stack


# --------------------------------------------------------------------------- faults


@dataclass
class Injector:
    """Applies a seeded sequence of faults to one stack until told to stop."""

    stack: Stack
    rng: random.Random
    done: list[tuple[float, str, str]] = field(default_factory=list)
    last_fault_at: float = 0.0

    def _running(self, prefixes: tuple[str, ...]) -> list:
        return [
            p
            for p in self.stack.status()
            if p.state == "RUNNING" and p.pid and p.name.startswith(prefixes)
        ]

    def inject(self, fault: str) -> str | None:
        """Apply ``fault`` to a target chosen by the seed; returns what it hit."""
        services = ("buy-", "sell-", "user-utilities-")
        if fault == "kill_worker":
            instances = self._running(services)
            workers = [(p.name, w) for p in instances for w in child_pids(p.pid)]
            if workers:
                name, pid = self.rng.choice(sorted(workers))
                return name if send_signal(pid, signal.SIGKILL) else None
        elif fault == "kill_instance":
            instances = self._running(services)
            if instances:
                target = self.rng.choice(sorted(instances, key=lambda p: p.name))
                return target.name if send_signal(target.pid, signal.SIGKILL) else None
        elif fault == "kill_persister":
            # The journal's writer (LEDGER_STORE=journal), mid-batch or idle: supervisord
            # starts it again and it redoes its last batch (services/persister).
            targets = self._running(("persister",))
            if targets and send_signal(targets[0].pid, signal.SIGKILL):
                return "persister"
        elif fault.startswith("restart_"):
            name = {
                "restart_redis": "redis",
                "restart_mongo": "mongo",
                "restart_quote": "quote-server",
            }[fault]
            targets = self._running((name,))
            # A crash: supervisord starts it again, as it would after a real one.
            if targets and send_signal(targets[0].pid, signal.SIGKILL):
                return name
        elif fault == "kill_events":
            # The events gateway holds only open streams: clients reconnect, nothing of a
            # command depends on it.
            gateways = self._running(("events",))
            if gateways and send_signal(gateways[0].pid, signal.SIGKILL):
                return "events"
        elif fault == "kill_pool_engine":
            # Mid-round, mid-payout: it must pay nothing twice and lose nothing.
            engines = self._running(("pool-engine",))
            if engines and send_signal(engines[0].pid, signal.SIGKILL):
                return "pool-engine"
        elif fault == "pause":
            candidates = self._running(services + ("redis", "mongo"))
            if candidates:
                target = self.rng.choice(sorted(candidates, key=lambda p: p.name))
                if send_signal(target.pid, signal.SIGSTOP):
                    time.sleep(self.rng.uniform(0.2, 1.5))
                    send_signal(target.pid, signal.SIGCONT)
                    return target.name
        return None

    def run(self, stop: threading.Event, started: float, max_faults: int = 15) -> None:
        # Bounded, so that on a slow machine faults cannot outpace recovery for ever:
        # the point is that every fault is survived, not that the replay never ends.
        while len(self.done) < max_faults and not stop.wait(self.rng.uniform(0.4, 1.5)):
            fault = self.rng.choice(FAULTS)
            target = self.inject(fault)
            if target:
                self.last_fault_at = time.monotonic()
                self.done.append((round(time.monotonic() - started, 2), fault, target))


# --------------------------------------------------------------------------- one seed


@dataclass
class SeedResult:
    seed: int
    commands: int
    faults: list[tuple[float, str, str]]
    retried: int
    recovery_s: float | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def wait_recovered(stack: Stack, since: float) -> float | None:
    """Seconds from ``since`` until every health check passes (None: not within limit)."""
    deadline = since + RECOVERY_LIMIT_S
    while time.monotonic() < deadline:
        try:
            stack.wait_healthy(timeout=max(0.5, deadline - time.monotonic()))
            return round(max(0.0, time.monotonic() - since), 2)
        except StackError:
            time.sleep(0.2)
    return None


def run_seed(
    stack: Stack, seed: int, workdir: Path, users: int = 4, commands: int = 150
) -> SeedResult:
    """Replay one seeded workload under seeded faults and check the outcome."""
    workdir.mkdir(parents=True, exist_ok=True)
    workload_path = workdir / "workload.txt"
    workload_path.write_text("\n".join(generate_workload(users, commands, seed=seed)) + "\n")
    workload = parse_workload(workload_path.read_text())
    stats_path = workdir / "stats.json"

    injector = Injector(stack, random.Random(seed))
    stop = threading.Event()
    started = time.monotonic()
    faults = threading.Thread(target=injector.run, args=(stop, started), daemon=True)
    faults.start()
    try:
        replay = subprocess.run(
            [
                sys.executable,
                str(ROOT / "input_script.py"),
                str(workload_path),
                "--url",
                stack.nginx_url,
                "--json",
                str(stats_path),
                "--quiet",
                "--retry-for",
                "60",
                "--concurrency",
                "16",
            ],
            cwd=workdir,
            env={**os.environ, "SERVICE_PASSWORD": stack.env["SERVICE_PASSWORD"]},
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        stop.set()
        faults.join()
    recovery = wait_recovered(stack, injector.last_fault_at or time.monotonic())

    problems: list[str] = []
    if recovery is None:
        problems.append(f"not healthy within {RECOVERY_LIMIT_S:.0f} s of the last fault")
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    if replay.returncode != 0 or stats.get("failed_by_command"):
        problems.append(
            f"unacknowledged commands: {stats.get('failed_by_command')} "
            f"(exit {replay.returncode}): {replay.stderr[-500:]}"
        )
    problems += check_outcome(stack, workload, workdir / "testLOG")
    return SeedResult(
        seed, len(workload.lines), injector.done, stats.get("retried", 0), recovery, problems
    )


def check_outcome(stack: Stack, workload, dump: Path) -> list[str]:
    """Compare every user of ``workload`` with the reference run and with the log."""
    problems: list[str] = []
    expected = reference_run(workload.lines, parse_cents(PRICE)).accounts
    if not dump.exists():
        return problems + ["no DUMPLOG was saved"]
    tree = etree.parse(str(dump))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    if not schema.validate(tree):
        problems.append(f"DUMPLOG invalid: {schema.error_log.last_error}")
    moved: dict[str, int] = defaultdict(int)
    for entry in tree.getroot().iter("accountTransaction"):
        sign = 1 if entry.findtext("action") == "add" else -1
        moved[entry.findtext("username")] += sign * parse_cents(entry.findtext("funds"))

    session = requests.Session()
    token = session.post(
        f"{stack.nginx_url}/api/users/service-login",
        json={"username": "replayer", "password": stack.env["SERVICE_PASSWORD"]},
        timeout=30,
    ).json()["data"]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # The database's own copy of each account: with LEDGER_STORE=journal the persister's,
    # complete once the DUMPLOG (which waits for the persister) was written.
    with stack_db(stack, timeout_ms=30_000) as db:
        stored = {doc["_id"]: doc["cash"] for doc in db["users"].find({}, {"cash": 1})}
    for user, account in expected.items():
        got = session.post(
            f"{stack.nginx_url}/api/users/display-summary",
            json={"user": user},
            headers=headers,
            timeout=30,
        ).json()["data"]
        want = {
            "cash": format_cents(account.cash),
            "holdings": dict(sorted(account.holdings.items())),
            "pending_buys": len(account.pending_buys),
            "pending_sells": len(account.pending_sells),
            "buy_setups": sorted(account.buy_setups),
            "sell_setups": sorted(account.sell_setups),
        }
        have = {
            "cash": got["cash"],
            "holdings": got["holdings"],
            "pending_buys": len(got["pending_buys"]),
            "pending_sells": len(got["pending_sells"]),
            "buy_setups": sorted(s["symbol"] for s in got["buy_setups"]),
            "sell_setups": sorted(s["symbol"] for s in got["sell_setups"]),
        }
        if have != want:
            problems.append(f"{user}: expected {want}, found {have}")
        if stored.get(user) != account.cash:
            problems.append(
                f"{user}: the database stores cash {stored.get(user)}, expected {account.cash}"
            )
        if moved[user] != account.cash:
            problems.append(
                f"{user}: the log moves {format_cents(moved[user])}, cash is "
                f"{format_cents(account.cash)}"
            )
        if got["cash"].startswith("-") or any(n < 0 for n in got["holdings"].values()):
            problems.append(f"{user}: a negative balance: {got['cash']}, {got['holdings']}")
    return problems


# --------------------------------------------------------------------------- report


def write_report(results: list[SeedResult], path: Path, command: str) -> None:
    passed = sum(r.ok for r in results)
    recoveries = [r.recovery_s for r in results if r.recovery_s is not None]
    by_fault: dict[str, int] = defaultdict(int)
    for r in results:
        for _, fault, _ in r.faults:
            by_fault[fault] += 1
    lines = [
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"- seeds: {len(results)}, passed: {passed}, failed: {len(results) - passed}",
        f"- commands replayed: {sum(r.commands for r in results)}, "
        f"retried after a fault: {sum(r.retried for r in results)}",
        f"- faults injected: {sum(by_fault.values())} "
        + "("
        + ", ".join(f"{k} {v}" for k, v in sorted(by_fault.items()))
        + ")",
        f"- recovery after the last fault: max {max(recoveries, default=0):.2f} s "
        f"(limit {RECOVERY_LIMIT_S:.0f} s)",
        "",
        "| seed | commands | faults | retried | recovered in s | result |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = "pass" if r.ok else "FAIL: " + "; ".join(r.problems)[:300]
        lines.append(
            f"| {r.seed} | {r.commands} | {len(r.faults)} | {r.retried} | {r.recovery_s} | "
            f"{verdict} |"
        )
    # The report lives between markers in a hand-written page; the rest is kept.
    write_section(path, BEGIN, END, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=1, help="first seed")
    parser.add_argument("--commands", type=int, default=150)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--dir", default="var/faults", help="stack and work files")
    parser.add_argument("--report", default=None, help="write a Markdown report here")
    parser.add_argument(
        "--mining", action="store_true", help="a miner digs throughout; payouts checked"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    base = Path(args.dir).resolve()
    stack = start_stack(base / "stack", mining=args.mining)
    miner = start_miner(stack) if args.mining else None
    results = []
    mining_problems: list[str] = []
    try:
        for seed in range(args.first, args.first + args.seeds):
            result = run_seed(stack, seed, base / f"seed-{seed}", args.users, args.commands)
            log.info(
                "seed %d: %s, %d faults, recovered in %s s",
                seed,
                "pass" if result.ok else "FAIL",
                len(result.faults),
                result.recovery_s,
            )
            for problem in result.problems:
                log.error("seed %d: %s", seed, problem)
            results.append(result)
        if miner is not None:
            mining_problems = check_mining(stack, miner)
            for problem in mining_problems:
                log.error("mining: %s", problem)
            log.info("mining: %s", "FAIL" if mining_problems else "pass")
    finally:
        stack.stop()
    if args.report:
        write_report(
            results, Path(args.report), "python -m tools.faults " + " ".join(argv or sys.argv[1:])
        )
    return 0 if all(r.ok for r in results) and not mining_problems else 1


if __name__ == "__main__":
    sys.exit(main())
