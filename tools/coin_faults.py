"""Coin checker fault injection: margin positions and stop orders cross their trigger on a
seeded market path while the coin checker (and the market relay) are SIGKILLed.

    .venv/bin/python -m tools.coin_faults --seeds 5           # make faults COIN_SEEDS=5

Each seed picks, from its own random generator, a coin and a stretch of the market feed's
history in which the price falls more than 16 % within ten days. With the feed frozen at
the start of the stretch (``MARKET_FEED_FROZEN_MS``), each user adds cash, opens a 5x
long (liquidated about 12 % below the opening price) and buys coins that a stop-loss 4-11
% below the price protects. The clock (``POST /mock/clock``) then steps along the path to
the end of the stretch, where the price is below every trigger, while the coin checker is
SIGKILLed at seeded moments (supervisord starts it again, as it would in production) and
the relay once. Afterwards, from the books alone:

- misses nothing: no position and no stop order is left open;
- fires nothing twice: the wallet ledger holds each liquidation's and each stop's coin
  movement exactly once, and the audit log each one's cash add at most once (a stop's
  exactly once);
- for each user, cash = sum(add) - sum(remove) over the audit log;
- the relay and the checker are running again.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from services.common.domain import assets, margin
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

DAY_MS = 86_400_000
MINUTE_MS = 60_000
FIRST_DAY = 19_723  # 2024-01-01, the feed's first candle
#: Coins whose path (feed seed 1, first 400 days) falls 16 % within ten days several
#: times, with an amount worth a few hundred dollars to buy and protect.
AMOUNTS = {"ETH": "0.2", "SOL": "5", "XRP": "1000"}
DROP = Decimal("0.84")  # the stretch ends at or below 84 % of its opening price
STEPS = 12
STEP_PAUSE_S = 0.6  # several checker passes (every 0.2 s) per step
SETTLE_LIMIT_S = 60.0
USERS = 3
BEGIN, END = "<!-- coin faults report: begin -->", "<!-- coin faults report: end -->"


def stack_env() -> dict[str, str]:
    return {
        **stack_secrets("cfaults_"),
        "TRIGGER_INTERVAL_S": "0",
        "RATE_LIMIT_AUTH": "10000/minute",
        "MARKET_FEED_FROZEN_MS": str((FIRST_DAY + 400) * DAY_MS),
        "MARKET_PRICE_MAX_AGE_S": "0.1",
        "MARGIN_CHECK_INTERVAL_S": "0.2",
        "WEB_CONCURRENCY": "1",
    }


def start_stack(base_dir: Path) -> Stack:
    components = {"mongo", "redis", "quote", "market", "services", "nginx", "coins", "relay"}
    stack = Stack(base_dir, Ports.free(1), stack_env(), replicas=1, components=components)
    stack.start(timeout=180)
    return stack


# ------------------------------------------------------------------------ the driver


class Driver(ServiceDriver):
    """Talks to the stack as the replayer's service credential, and to the feed's clock."""

    def __init__(self, stack: Stack):
        super().__init__(stack)
        self.feed = stack.market_feed_url

    def move_clock(self, now_ms: int) -> None:
        resp = self.session.post(f"{self.feed}/mock/clock", json={"now_ms": now_ms}, timeout=10)
        resp.raise_for_status()

    def price(self, coin: str) -> Decimal:
        url = f"{self.feed}/public/ticker/{coin}_USD"
        return Decimal(self.session.get(url, timeout=10).json()["data"]["closing_price"])

    def days(self, coin: str) -> list[list]:
        url = f"{self.feed}/public/candlestick/{coin}_USD/24h"
        return self.session.get(url, timeout=30).json()["data"][:-1]


# ------------------------------------------------------------------------ one seed


@dataclass
class SeedResult:
    seed: int
    coin: str = ""
    kills: list[str] = field(default_factory=list)
    liquidations: int = 0
    stops: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stretch(driver: Driver, rng: random.Random) -> tuple[str, int, int]:
    """A coin, a start (a day's open + 1 minute) and an end (a later day's last
    millisecond) whose price is at most DROP x the start day's open."""
    coin = rng.choice(sorted(AMOUNTS))
    driver.move_clock((FIRST_DAY + 400) * DAY_MS)  # the same history for every seed
    days = driver.days(coin)
    starts = [
        (i, j)
        for i in range(1, len(days) - 10)
        for j in range(i, i + 10)
        if Decimal(days[j][2]) <= Decimal(days[i][1]) * DROP
    ]
    first = {}
    for i, j in starts:
        first.setdefault(i, j)
    i = rng.choice(sorted(first))
    return coin, days[i][0] + MINUTE_MS, days[first[i]][0] + DAY_MS - 1


def run_seed(stack: Stack, seed: int) -> SeedResult:
    rng = random.Random(seed)
    result = SeedResult(seed)
    began = time.monotonic()
    driver = Driver(stack)
    coin, start_ms, end_ms = _stretch(driver, rng)
    result.coin = coin
    driver.move_clock(start_ms)
    time.sleep(1.0)  # past MARKET_PRICE_MAX_AGE_S: no service still prices at the old time
    opening = driver.price(coin)
    people: dict[str, dict] = {}
    for n in range(USERS):
        user = f"cf{seed}x{n}{uuid.uuid4().hex[:6]}"
        driver.post("/api/users/add", {"user": user, "amount": "20000.00"})
        opened = driver.post(
            "/api/exchange/margin/open",
            {"user": user, "coin": coin, "side": "long", "leverage": 5, "margin": "1000.00"},
        )
        amount = AMOUNTS[coin]
        driver.post("/api/exchange/buy", {"user": user, "coin": coin, "amount": amount})
        stop_price = (opening * Decimal(rng.randint(89, 96)) / 100).quantize(Decimal("0.0001"))
        stop = driver.post(
            "/api/exchange/stops",
            {
                "user": user,
                "coin": coin,
                "kind": "stop_loss",
                "target": "holding",
                "amount": amount,
                "price": str(stop_price),
            },
        )
        people[user] = {
            "liquidation": Decimal(opened["liquidation_price"]),
            "stop": str(stop["id"]),
            "stop_price": stop_price,
        }
    # Kill the checker at seeded steps (at a seeded moment inside the step), the relay once.
    # (three steps apart at least, so supervisord has started it again in between)
    kill_steps = {rng.randrange(1, 4), rng.randrange(5, 8), rng.randrange(9, 12)}
    relay_step = rng.randrange(1, STEPS)
    for step in range(1, STEPS + 1):
        driver.move_clock(start_ms + (end_ms - start_ms) * step // STEPS)
        delay = rng.uniform(0, STEP_PAUSE_S)
        time.sleep(delay)
        if step in kill_steps and kill_program(stack, "coin-checker"):
            result.kills.append(f"coin-checker@{step}")
        if step == relay_step and kill_program(stack, "market-relay"):
            result.kills.append(f"market-relay@{step}")
        time.sleep(STEP_PAUSE_S - delay)
    final = driver.price(coin)
    for user, made in people.items():
        if final > min(made["liquidation"], made["stop_price"]):
            result.problems.append(f"seed {seed}: the path ends above {user}'s triggers")
    result.problems += _settle_and_check(stack, driver, people)
    result.liquidations = sum(1 for p in people.values() if p.get("liquidated"))
    result.stops = sum(1 for p in people.values() if p.get("fired"))
    result.seconds = time.monotonic() - began
    return result


def _settle_and_check(stack: Stack, driver: Driver, people: dict[str, dict]) -> list[str]:
    problems: list[str] = []
    deadline = time.monotonic() + SETTLE_LIMIT_S
    for user in people:
        while True:
            positions = driver.call("GET", f"/api/exchange/margin/positions?user={user}")
            stops = driver.call("GET", f"/api/exchange/stops?user={user}")
            if not _listed(positions) and not _listed(stops):
                break
            if time.monotonic() > deadline:
                problems.append(f"{user}: missed: {positions} / {stops} still open")
                break
            time.sleep(0.5)
    with stack_db(stack) as db:
        for user, made in people.items():
            problems += _check_books(db, user, made)
    # supervisord starts a killed program again after its start delay: wait for that.
    problems += wait_running(stack, ("coin-checker", "market-relay"))
    return problems


def _listed(data: object) -> list:
    if isinstance(data, dict):
        for key in ("positions", "stops", "orders"):
            if key in data:
                return data[key]
        return [v for v in data.values() if isinstance(v, list) and v]
    return list(data or [])


def _check_books(db, user: str, made: dict) -> list[str]:
    problems = []
    moves = list(db["wallet_ledger"].find({"user": user}, {"_id": 0, "ts": 0, "server": 0}))
    liquidations = [m for m in moves if m.get("reason") == margin.LIQUIDATION]
    sales = [m for m in moves if m.get("reason") == assets.SELL and m.get("ref") == made["stop"]]
    # A 5x long's liquidation moves its coins to the exchange once (no shortfall on
    # this path) and the stop's sale moves the holding's coins once.
    if len([m for m in liquidations if m.get("from", "").startswith("margin:")]) != 1:
        problems.append(f"{user}: {len(liquidations)} liquidation movements: {liquidations}")
    if len(sales) != 1:
        problems.append(f"{user}: the stop's sale is in the wallet ledger {len(sales)} times")
    made["liquidated"] = bool(liquidations)
    made["fired"] = len(sales) == 1
    log_entries = list(db["transactions"].find({"user": user, "type": "accountTransaction"}))
    adds = Counter(str(e.get("txn")) for e in log_entries if e["action"] == "add")
    if adds.get(made["stop"], 0) != 1:
        problems.append(f"{user}: the stop's proceeds were added {adds.get(made['stop'], 0)} times")
    twice = {txn: n for txn, n in adds.items() if n > 1 and txn != "None"}
    if twice:
        problems.append(f"{user}: cash added more than once for {twice}")
    by_the_log = sum(e["funds"] if e["action"] == "add" else -e["funds"] for e in log_entries)
    account = db["users"].find_one({"_id": user}) or {}
    if account.get("cash") != by_the_log:
        problems.append(
            f"{user}: cash {account.get('cash')} != sum(add) - sum(remove) {by_the_log}"
        )
    if by_the_log < 0:
        problems.append(f"{user}: negative cash {by_the_log}")
    return problems


# ------------------------------------------------------------------------ the report


def write_report(results: list[SeedResult], path: Path, command: str) -> None:
    lines = [
        f"`{command}`: {len(results)} seeds, "
        f"{sum(r.ok for r in results)} passed; "
        f"{sum(len(r.kills) for r in results)} SIGKILLs; "
        f"{sum(r.liquidations for r in results)} liquidations and "
        f"{sum(r.stops for r in results)} stop-losses fired, each exactly once; "
        f"slowest seed {max(r.seconds for r in results):.1f} s.",
        "",
        "| seed | coin | kills | liquidations | stops | seconds | result |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = "ok" if r.ok else "; ".join(r.problems)[:200]
        lines.append(
            f"| {r.seed} | {r.coin} | {', '.join(r.kills)} | {r.liquidations} | {r.stops} "
            f"| {r.seconds:.1f} | {verdict} |"
        )
    write_section(path, BEGIN, END, lines)


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    return run_seeds_command(argv, description, "coin_faults", start_stack, run_seed, write_report)


if __name__ == "__main__":
    sys.exit(main())
