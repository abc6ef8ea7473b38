"""Fault injection for the wallet: deposits, collections and withdrawals while processes die.

    .venv/bin/python -m tools.wallet_faults --seeds 5     # (make faults runs it too)

Each seed makes, from the same seed, a few users, a list of deposits to their addresses
and of withdrawals from them, and a schedule of faults. While an outside key sends the
deposits, blocks are mined and the users ask for their withdrawals (retrying with the
same Idempotency-Key after a 5xx or a dropped connection), faults hit the stack:
SIGKILL of the block analyser, the collection worker, a chain-node (its gunicorn or its
worker), a wallet instance, redis-server or the MongoDB-wire server (supervisord starts
each again, as after a real crash). Then blocks are mined until everything settles, and
every check must hold:

- nothing credited twice and nothing lost: every deposit sent is recorded once and
  credited once (one ``deposit`` entry in the wallet ledger), and each user's balance
  is exactly what the seed's deposits and withdrawals make it, worked out here;
- every deposit address swept (its deposits ``collected``, its balance on chain 0);
- no withdrawal sent twice: each has exactly one signed transaction, it succeeded, and
  its destination holds exactly its amount on chain;
- the reserves reconcile: nothing unexplained, holdings cover what is owed.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

from services.common.chain import keys
from services.common.chain.transactions import build_transaction
from services.common.domain.money import format_units, parse_units
from tools.fault_driver import (
    child_pids,
    request_until_answered,
    send_signal,
    stack_db,
    stack_secrets,
    write_section,
)
from tools.stack import INFRA, Ports, Stack

log = logging.getLogger("wallet_faults")
COIN = 100_000_000
FEE = 10_000
CONFIRMATIONS = 2
#: After the deposits and withdrawals are sent, blocks keep coming (so do the sweeps)
#: for up to this long while the seed's remaining faults land.
FAULT_WINDOW_S = 90
BEGIN, END = "<!-- wallet faults report: begin -->", "<!-- wallet faults report: end -->"
FAULTS = (
    "kill_analyser",
    "kill_worker",
    "kill_chain_node",
    "kill_chain_worker",
    "kill_wallet",
    "restart_redis",
    "restart_mongo",
)
TARGETS = {
    "kill_analyser": ("wallet-analyser",),
    "kill_worker": ("wallet-worker",),
    "kill_chain_node": ("chain-node-",),
    "kill_chain_worker": ("chain-worker-",),
    "kill_wallet": ("wallet-1", "wallet-2"),
    "restart_redis": ("redis",),
    "restart_mongo": ("mongo",),
}


def stack_env() -> dict[str, str]:
    return {
        **stack_secrets("wfaults_"),
        "TRIGGER_INTERVAL_S": "0",
        "RATE_LIMIT_AUTH": "10000/minute",
        "CHAIN_NODES": "2",
        "CHAIN_DIFFICULTY_BITS": "4",
        "CHAIN_MINER_INTERVAL_S": "0",
        "WEB_CONCURRENCY": "1",
        "WALLET_CONFIRMATIONS": str(CONFIRMATIONS),
        "WALLET_HOT_MAX": "3",
        "WALLET_COLD_ADDRESS": keys.generate_key().address,
        "WALLET_WITHDRAW_APPROVAL": "1000",
        "WALLET_POLL_S": "0.5",
    }


def start_stack(base_dir: Path) -> Stack:
    components = {*INFRA, "services", "wallet", "chain", "nginx"}
    stack = Stack(base_dir, Ports.free(2), stack_env(), replicas=2, components=components)
    stack.start(timeout=240)
    return stack


# ------------------------------------------------------------------------ the driver


class Driver:
    """Talks to the stack as users, an outside sender and a miner would."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.base = stack.nginx_url
        self.node = stack.chain_urls[0]
        self.session = requests.Session()
        self.session.trust_env = False
        self.admin = self._login("admin", stack.env["ADMIN_PASSWORD"])

    def _login(self, name: str, password: str) -> dict:
        resp = self._retry(
            "POST", f"{self.base}/api/users/login", json={"username": name, "password": password}
        )
        return {"Authorization": f"Bearer {resp.json()['data']['token']}"}

    def _retry(self, method: str, url: str, ok=(200, 201), limit_s: float = 90, **kwargs):
        """A request retried while the answer is a 5xx or nothing (request_until_answered)."""
        return request_until_answered(self.session, method, url, ok=ok, limit_s=limit_s, **kwargs)

    def new_user(self) -> tuple[str, dict, str]:
        name = "wf" + uuid.uuid4().hex[:10]
        self._retry(
            "POST",
            f"{self.base}/api/users/register",
            json={"username": name, "password": "password-123"},
            ok=(200, 201, 409),
        )
        headers = self._login(name, "password-123")
        address = self._retry(
            "GET", f"{self.base}/api/wallet/deposit-address", headers=headers
        ).json()["data"]["address"]
        return name, headers, address

    def mine(self, miner: str | None = None) -> None:
        miner = miner or keys.generate_key().address
        self._retry(
            "GET", f"{self.node}/mine", params={"miner": miner}, headers=self.admin, limit_s=120
        )

    def node_get(self, path: str) -> dict:
        return self._retry("GET", f"{self.node}{path}").json()

    def balance(self, address: str, asset: str = "DTC") -> int:
        balances = self.node_get(f"/addresses/{address}")["balances"]
        return parse_units(balances[asset], allow_zero=True)

    def submit(self, tx: dict) -> None:
        self._retry("POST", f"{self.node}/transactions/new", json=tx, ok=(201, 409))

    def wallet(self, method: str, path: str, headers: dict, **kwargs) -> dict:
        resp = self._retry(method, f"{self.base}/api/wallet{path}", headers=headers, **kwargs)
        return resp.json()["data"]


# ------------------------------------------------------------------------ the faults


@dataclass
class Injector:
    stack: Stack
    rng: random.Random
    done: list[tuple[float, str, str]] = field(default_factory=list)

    def inject(self, fault: str) -> str | None:
        running = [
            p
            for p in self.stack.status()
            if p.state == "RUNNING" and p.pid and p.name.startswith(TARGETS[fault])
        ]
        if not running:
            return None
        target = self.rng.choice(sorted(running, key=lambda p: p.name))
        children = child_pids(target.pid)  # read first: a dead process has none
        if not send_signal(target.pid, signal.SIGKILL):
            return None
        for child in children:  # a gunicorn master's workers die with it
            send_signal(child, signal.SIGKILL)
        return target.name

    def run(self, stop: threading.Event, started: float, max_faults: int) -> None:
        while len(self.done) < max_faults and not stop.wait(self.rng.uniform(1.5, 5.0)):
            fault = self.rng.choice(FAULTS)
            target = self.inject(fault)
            if target:
                self.done.append((round(time.monotonic() - started, 2), fault, target))


# ------------------------------------------------------------------------ one seed


@dataclass
class SeedResult:
    seed: int
    deposits: int
    withdrawals: int
    faults: list[tuple[float, str, str]]
    settle_s: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_seed(
    stack: Stack,
    seed: int,
    users: int = 4,
    deposits: int = 24,
    withdrawals: int = 6,
    max_faults: int = 6,
) -> SeedResult:
    rng = random.Random(seed)
    driver = Driver(stack)
    outside = keys.generate_key()
    for _ in range(12):  # mature coinbase to send from
        driver.mine(outside.address)
    people = [driver.new_user() for _ in range(users)]
    # Every user gets deposits (round robin, random amounts of 0.05-0.59 DTC).
    plan = [(i % users, rng.randrange(5, 60) * COIN // 100) for i in range(deposits)]
    expected = defaultdict(int)
    for who, units in plan:
        expected[people[who][0]] += units - 2 * FEE  # less the collection fee
    asks = []
    left = dict(expected)
    for _ in range(withdrawals):
        who = rng.randrange(users)
        units = rng.randrange(1, 5) * COIN // 100
        if left[people[who][0]] >= units + FEE:
            left[people[who][0]] -= units + FEE
            asks.append((who, units, keys.generate_key().address))

    injector = Injector(stack, rng)
    stop = threading.Event()
    started = time.monotonic()
    thread = threading.Thread(target=injector.run, args=(stop, started, max_faults), daemon=True)
    thread.start()
    problems: list[str] = []
    txids: list[str] = []
    made: list[tuple[str, str, int, str]] = []
    try:
        _drive(driver, seed, people, plan, asks, outside, txids, made, expected, problems)
        # The sweeps and withdrawals go on while the remaining faults land.
        deadline = time.monotonic() + FAULT_WINDOW_S
        while thread.is_alive() and time.monotonic() < deadline:
            driver.mine()
            time.sleep(1.0)
    except AssertionError as exc:  # a step that never succeeded is a finding, not a crash
        problems.append(str(exc))
    finally:
        stop.set()
        thread.join()
    settle_started = time.monotonic()
    problems += _settle_and_check(driver, stack, people, txids, made, expected)
    return SeedResult(
        seed,
        len(plan),
        len(made),
        injector.done,
        round(time.monotonic() - settle_started, 1),
        problems,
    )


def _drive(driver, seed, people, plan, asks, outside, txids, made, expected, problems) -> None:
    """Send the deposits, mine, and ask for the withdrawals (each twice, one key)."""
    nonce = driver.node_get(f"/addresses/{outside.address}")["next_nonce"]
    for i, (who, units) in enumerate(plan):
        tx = build_transaction(outside.private_key, people[who][2], units, fee=FEE, nonce=nonce + i)
        driver.submit(tx)
        txids.append(tx["id"])
        if i % 6 == 5:
            driver.mine()
    for _ in range(CONFIRMATIONS + 1):
        driver.mine()
    # Withdrawals once the deposits are credited, each retried with its own key.
    for who, units, destination in asks:
        name, headers, _ = people[who]
        _wait(
            lambda n=name, h=headers, u=units: _available(driver, h) >= u + FEE,
            driver,
            f"{name}'s credit",
        )
        key = f"wf-{seed}-{uuid.uuid4().hex[:8]}"
        body = {"asset": "DTC", "address": destination, "amount": format_units(units)}
        first = _withdraw(driver, headers, body, key)
        # The client sends it again anyway: still the one withdrawal.
        again = _withdraw(driver, headers, body, key)
        if again["id"] != first["id"]:
            problems.append(f"{key} made two withdrawals: {first['id']}, {again['id']}")
        made.append((name, first["id"], units, destination))
        expected[name] -= units + FEE


def _withdraw(driver: Driver, headers: dict, body: dict, key: str) -> dict:
    return driver._retry(
        "POST",
        f"{driver.base}/api/wallet/withdrawals",
        ok=(201,),
        json=body,
        headers={**headers, "Idempotency-Key": key},
    ).json()["data"]


def _available(driver: Driver, headers: dict) -> int:
    rows = driver.wallet("GET", "/balances", headers)["balances"]
    return parse_units(next(r for r in rows if r["asset"] == "DTC")["available"], allow_zero=True)


def _wait(check, driver: Driver, what: str, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        driver.mine()
        time.sleep(0.3)


def _settle_and_check(driver, stack, people, txids, made, expected) -> list[str]:
    problems: list[str] = []
    with stack_db(stack, timeout_ms=30_000) as db:
        names = [p[0] for p in people]

        def settled() -> bool:
            open_deposits = db["wallet_deposits"].count_documents(
                {"user": {"$in": names}, "state": {"$nin": ["collected", "skipped"]}}
            )
            recorded = db["wallet_deposits"].count_documents({"txid": {"$in": txids}})
            open_withdrawals = db["wallet_withdrawals"].count_documents(
                {"user": {"$in": names}, "state": {"$ne": "succeeded"}}
            )
            return recorded == len(txids) and open_deposits == 0 and open_withdrawals == 0

        try:
            _wait(settled, driver, "everything to settle", limit_s=600)
        except AssertionError as exc:
            problems.append(str(exc))
        ledger = db["wallet_ledger"]
        for txid in txids:
            records = list(db["wallet_deposits"].find({"txid": txid}))
            if len(records) != 1:
                problems.append(f"deposit {txid[:12]} recorded {len(records)} times")
                continue
            credits = ledger.count_documents({"ref": records[0]["_id"], "reason": "deposit"})
            if credits != 1:
                problems.append(f"deposit {txid[:12]} credited {credits} times")
        for name, headers, address in people:
            have = _available(driver, headers)
            if have != expected[name]:
                problems.append(f"{name}: available {have}, expected {expected[name]}")
            if driver.balance(address) != 0:
                problems.append(f"{name}'s address not swept: {driver.balance(address)}")
        for _name, withdrawal_id, units, destination in made:
            sent = db["wallet_chain_txs"].count_documents({"ref": withdrawal_id})
            if sent != 1:
                problems.append(f"withdrawal {withdrawal_id} has {sent} transactions")
            if driver.balance(destination) != units:
                problems.append(
                    f"withdrawal {withdrawal_id}: {destination} holds "
                    f"{driver.balance(destination)}, not {units}"
                )
        reserves = driver.wallet("GET", "/reserves", driver.admin)["reserves"]
        for reserve in reserves:
            if reserve["unexplained"] != "0.00000000" or not reserve["covered"]:
                problems.append(f"reserves of {reserve['asset']} do not reconcile: {reserve}")
    return problems


# ------------------------------------------------------------------------ report


def write_report(results: list[SeedResult], path: Path, command: str) -> None:
    by_fault: dict[str, int] = defaultdict(int)
    for result in results:
        for _, fault, _ in result.faults:
            by_fault[fault] += 1
    passed = sum(r.ok for r in results)
    lines = [
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"- seeds: {len(results)}, passed: {passed}, failed: {len(results) - passed}",
        f"- deposits: {sum(r.deposits for r in results)}, withdrawals: "
        f"{sum(r.withdrawals for r in results)} (each asked twice with its Idempotency-Key)",
        f"- faults injected: {sum(by_fault.values())} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(by_fault.items()))
        + ")",
        f"- settling after the last fault (mining until every deposit is collected and "
        f"every withdrawal succeeded): max {max((r.settle_s for r in results), default=0)} s",
        "",
        "| seed | deposits | withdrawals | faults | settled in s | result |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = "pass" if r.ok else "FAIL: " + "; ".join(r.problems)[:300]
        faults = ", ".join(f"{name}" for _, name, _ in r.faults) or "-"
        lines.append(
            f"| {r.seed} | {r.deposits} | {r.withdrawals} | {faults} | {r.settle_s} | {verdict} |"
        )
    write_section(path, BEGIN, END, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--dir", default="var/wallet-faults")
    parser.add_argument("--report", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    stack = start_stack(Path(args.dir).resolve() / "stack")
    results = []
    try:
        for seed in range(args.first, args.first + args.seeds):
            result = run_seed(stack, seed)
            log.info(
                "seed %d: %s, faults %s, settled in %s s",
                seed,
                "pass" if result.ok else "FAIL",
                result.faults,
                result.settle_s,
            )
            for problem in result.problems:
                log.error("seed %d: %s", seed, problem)
            results.append(result)
    finally:
        stack.stop()
    if args.report:
        write_report(
            results,
            Path(args.report),
            "python -m tools.wallet_faults " + " ".join(argv or sys.argv[1:]),
        )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
