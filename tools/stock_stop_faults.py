"""Stop-losses on stock holdings under faults: the quote falls through every stop while the
trigger checker (and the sell service) are SIGKILLed.

    .venv/bin/python -m tools.stock_stop_faults --seeds 5    # make faults STOCK_STOP_SEEDS=5

Each seed takes a symbol of its own. Every user adds $1,000.00 and buys 10 shares at the
quote server's $10.00, then places, through NGINX and the sell service, a stop-loss on a
seeded number of shares (1-5) at a seeded price from $9.40 to $9.80, and one on "all" at
$8.60 or $9.00. The quote server's price for the symbol (``POST /mock/price``) then falls
to $9.30, which fires the first stops, and, once they have filled, to $8.50, which fires
the rest. Quotes are valid for a second (``QUOTE_TTL_S``) and the checker passes every
0.2 s; at seeded moments of each step it is SIGKILLed (supervisord starts it again, as in
production), and the sell service once. So, worked out by hand, each user ends with no
shares and $900.00 + n x $9.30 + (10 - n) x $8.50. Afterwards, from the API and the books:

- misses nothing: each stop is listed filled, at $9.30 and $8.50 with its shares;
- fires nothing twice: the audit log holds each stop's systemEvent (SELL) and cash add
  exactly once, under the stop's number, with the hand-worked proceeds;
- each user's cash and shares are the hand-worked ones, and cash = sum(add) -
  sum(remove) over the audit log; the user's DUMPLOG validates against the schema;
- the checker and the sell service are running again.
"""

from __future__ import annotations

import random
import string
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

from tools.fault_driver import (
    ServiceDriver,
    kill_program,
    run_seeds_command,
    stack_db,
    stack_secrets,
    wait_running,
    write_section,
)
from tools.stack import Ports, Stack

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "logfile.xsd"
USERS = 3
FIRST_FALL, SECOND_FALL = 930, 850  # cents: the quote's two steps down from $10.00
FILL_LIMIT_S = 60.0  # for the due stops to fill after a step, kills included
KILL_WINDOW_S = 1.5  # a kill lands this long after a step at most: mid-pass, often
CHECKER = "trigger-checker"
BEGIN = "<!-- stock stop faults report: begin -->"
END = "<!-- stock stop faults report: end -->"


def stack_env() -> dict[str, str]:
    return {
        **stack_secrets("sfaults_"),
        "RATE_LIMIT_AUTH": "10000/minute",
        "QUOTE_FIXED_PRICE": "10.00",
        "QUOTE_TTL_S": "1",
        "PENDING_TTL_S": "3600",
        "TRIGGER_INTERVAL_S": "0.2",
        "WEB_CONCURRENCY": "1",
    }


def start_stack(base_dir: Path) -> Stack:
    components = {"mongo", "redis", "quote", "market", "services", "nginx", "triggers"}
    stack = Stack(base_dir, Ports.free(1), stack_env(), replicas=1, components=components)
    stack.start(timeout=180)
    return stack


@dataclass
class SeedResult:
    seed: int
    symbol: str = ""
    kills: list[str] = field(default_factory=list)
    fills: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _symbol(seed: int) -> str:
    """Three letters of the seed's own (so seeds on one stack never share a quote)."""
    letters = string.ascii_uppercase
    n = seed % 26**3
    return letters[n // 676] + letters[n // 26 % 26] + letters[n % 26]


def _pin(stack: Stack, symbol: str, cents: int) -> None:
    price = f"{cents // 100}.{cents % 100:02d}"
    url = f"{stack.quote_http_url}/mock/price"
    requests.post(url, json={"symbol": symbol, "price": price}, timeout=10).raise_for_status()


def run_seed(stack: Stack, seed: int) -> SeedResult:
    rng = random.Random(seed)
    result = SeedResult(seed, _symbol(seed))
    began = time.monotonic()
    driver = ServiceDriver(stack)
    symbol = result.symbol
    _pin(stack, symbol, 1000)
    people: dict[str, dict] = {}
    for n in range(USERS):
        user = f"sf{seed}x{n}{uuid.uuid4().hex[:6]}"
        driver.post("/api/users/add", {"user": user, "amount": "1000.00"})
        driver.post("/api/buy/buy", {"user": user, "symbol": symbol, "amount": "100.00"})
        driver.post("/api/buy/commit-buy", {"user": user})
        shares = rng.randint(1, 5)
        stop = {"user": user, "symbol": symbol}
        first_price, rest_price = rng.choice(("9.40", "9.60", "9.80")), rng.choice(("8.60", "9.00"))
        first = driver.post("/api/sell/stops", {**stop, "shares": shares, "price": first_price})
        rest = driver.post("/api/sell/stops", {**stop, "shares": "all", "price": rest_price})
        people[user] = {"first": first["id"], "rest": rest["id"], "shares": shares}
    sell_step = rng.randrange(2)
    for step, cents in enumerate((FIRST_FALL, SECOND_FALL)):
        _pin(stack, symbol, cents)
        time.sleep(rng.uniform(0, KILL_WINDOW_S))
        if kill_program(stack, CHECKER):
            result.kills.append(f"{CHECKER}@{step}")
        if step == sell_step and kill_program(stack, "sell-1"):
            result.kills.append(f"sell-1@{step}")
        time.sleep(rng.uniform(0, KILL_WINDOW_S))
        if kill_program(stack, CHECKER):
            result.kills.append(f"{CHECKER}@{step}")
        due = "first" if cents == FIRST_FALL else "rest"
        result.problems += _wait_filled(driver, people, due)
    result.problems += _check(stack, driver, people)
    result.fills = sum(p.get("filled", 0) for p in people.values())
    result.seconds = time.monotonic() - began
    return result


def _wait_filled(driver: ServiceDriver, people: dict[str, dict], due: str) -> list[str]:
    """Wait until every user's ``due`` stop is listed filled (not past FILL_LIMIT_S)."""
    deadline = time.monotonic() + FILL_LIMIT_S
    for user, made in people.items():
        while True:
            stops = driver.call("GET", f"/api/sell/stops?user={user}")["stops"]
            if any(s["id"] == made[due] and s["status"] != "open" for s in stops):
                break
            if time.monotonic() > deadline:
                return [f"{user}: the {due} stop is not filled: {stops}"]
            time.sleep(0.3)
    return []


def _check(stack: Stack, driver: ServiceDriver, people: dict[str, dict]) -> list[str]:
    problems: list[str] = []
    with stack_db(stack) as db:
        for user, made in people.items():
            problems += _check_user(driver, db, user, made)
    # supervisord starts a killed program again after its start delay: wait for that.
    problems += wait_running(stack, (CHECKER, "sell-1"))
    return problems


def _check_user(driver: ServiceDriver, db, user: str, made: dict) -> list[str]:
    problems = []
    first, rest = made["shares"], 10 - made["shares"]
    # By hand: $900.00 left after buying 10 shares at $10.00, then the two sales.
    proceeds = {made["first"]: first * FIRST_FALL, made["rest"]: rest * SECOND_FALL}
    cash = 90_000 + sum(proceeds.values())
    listed = {s["id"]: s for s in driver.call("GET", f"/api/sell/stops?user={user}")["stops"]}
    for stop_id, sold, price in ((made["first"], first, "9.30"), (made["rest"], rest, "8.50")):
        got = listed.get(stop_id, {})
        if (got.get("status"), got.get("sold"), got.get("price")) != ("filled", sold, price):
            problems.append(f"{user}: stop {stop_id} is {got}, expected {sold} sold at {price}")
    summary = driver.post("/api/users/display-summary", {"user": user})
    if (summary["cash"], summary["holdings"]) != (f"{cash // 100}.{cash % 100:02d}", {}):
        problems.append(f"{user}: cash {summary['cash']}, holdings {summary['holdings']}")
    log_entries = list(db["transactions"].find({"user": user}, {"_id": 0}))
    events = Counter(
        (e["txn"], e["funds"])
        for e in log_entries
        if e["type"] == "systemEvent" and e["command"] == "SELL"
    )
    adds = Counter(
        (e["txn"], e["funds"])
        for e in log_entries
        if e["type"] == "accountTransaction" and e["action"] == "add"
    )
    for stop_id, funds in proceeds.items():
        if events[(int(stop_id), funds)] != 1 or adds[(int(stop_id), funds)] != 1:
            problems.append(
                f"{user}: stop {stop_id} logged {events[(int(stop_id), funds)]} sales and "
                f"{adds[(int(stop_id), funds)]} adds of {funds}"
            )
    made["filled"] = sum(events[(int(i), f)] for i, f in proceeds.items())
    if sum(events.values()) != 2:
        problems.append(f"{user}: {sum(events.values())} stop sales logged, expected 2")
    by_the_log = sum(
        e["funds"] if e["action"] == "add" else -e["funds"]
        for e in log_entries
        if e["type"] == "accountTransaction"
    )
    stored = (db["users"].find_one({"_id": user}) or {}).get("cash")
    if not stored == by_the_log == cash:
        problems.append(f"{user}: cash {stored}, by the log {by_the_log}, by hand {cash}")
    dump = driver.session.post(
        f"{driver.base}/api/users/dumplog",
        json={"filename": "x", "user": user},
        headers=driver.headers,
        timeout=60,
    )
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    if dump.status_code != 200 or not schema.validate(etree.fromstring(dump.content)):
        problems.append(f"{user}: DUMPLOG {dump.status_code} invalid: {schema.error_log}")
    return problems


def write_report(results: list[SeedResult], path: Path, command: str) -> None:
    lines = [
        f"`{command}`: {len(results)} seeds, {sum(r.ok for r in results)} passed; "
        f"{sum(len(r.kills) for r in results)} SIGKILLs; "
        f"{sum(r.fills for r in results)} stock stop-losses filled, each exactly once; "
        f"slowest seed {max(r.seconds for r in results):.1f} s.",
        "",
        "| seed | symbol | kills | fills | seconds | result |",
        "|---:|---|---|---:|---:|---|",
    ]
    for r in results:
        verdict = "ok" if r.ok else "; ".join(r.problems)[:200]
        lines.append(
            f"| {r.seed} | {r.symbol} | {', '.join(r.kills)} | {r.fills} | {r.seconds:.1f} "
            f"| {verdict} |"
        )
    write_section(path, BEGIN, END, lines)


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    return run_seeds_command(
        argv, description, "stock_stop_faults", start_stack, run_seed, write_report
    )


if __name__ == "__main__":
    sys.exit(main())
