"""Generate a synthetic DTS workload in the course format.

Output lines are ``[n] CMD,arg,...`` numbered from 1; the last line is always
``[M] DUMPLOG,./testLOG``, as in the official course workload files. Users, symbols,
amounts and the command mix imitate those files (details next to the constants below).

Usage::

    .venv/bin/python commands/generate.py --users N --commands M [--seed S] [-o FILE]

The checked-in sample files were produced with::

    .venv/bin/python commands/generate.py --users 1 --commands 100 --seed 1 -o commands/user1.txt
    .venv/bin/python commands/generate.py --users 10 --commands 10000 --seed 10 \
        -o commands/user10.txt
"""

from __future__ import annotations

import argparse
import heapq
import logging
import math
import random
import string
import sys
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import TextIO

log = logging.getLogger("generate")

MAX_USERS = 10_000
DUMPLOG_LINE = "DUMPLOG,./testLOG"

# Command counts measured from the official 10User_testWorkLoad and 45User_testWorkLoad
# (19,998 commands together, the final DUMPLOG line excluded). Counted by the first word
# after "[n] " on every line; 2userWorkLoad gives the same mix within ~1 point.
MEASURED_COUNTS: dict[str, int] = {
    "BUY": 2622,  # 13.11 %
    "QUOTE": 2359,  # 11.80 %
    "COMMIT_BUY": 2142,  # 10.71 %
    "COMMIT_SELL": 1667,  # 8.34 %
    "ADD": 1507,  # 7.54 %
    "DISPLAY_SUMMARY": 1481,  # 7.41 %
    "SELL": 1355,  # 6.78 %
    "CANCEL_BUY": 1029,  # 5.15 %
    "CANCEL_SET_SELL": 989,  # 4.95 %
    "SET_SELL_TRIGGER": 987,  # 4.94 %
    "SET_BUY_TRIGGER": 945,  # 4.73 %
    "CANCEL_SELL": 928,  # 4.64 %
    "CANCEL_SET_BUY": 898,  # 4.49 %
    "SET_SELL_AMOUNT": 567,  # 2.84 %
    "SET_BUY_AMOUNT": 522,  # 2.61 %
}
_TOTAL = sum(MEASURED_COUNTS.values())
COMMAND_MIX: dict[str, float] = {cmd: n / _TOTAL for cmd, n in MEASURED_COUNTS.items()}

# Share of a command followed by a same-user follow-up. In the official files ~48 % of BUYs
# are next (for that user) followed by COMMIT_BUY and ~10 % by CANCEL_BUY; SET_*_AMOUNT is
# followed by SET_*_TRIGGER ~70 % of the time. Follow-ups are counted against the mix
# table, so the overall mix is unchanged; the rest of COMMIT_*/CANCEL_*/SET_*_TRIGGER are
# "stray" commands that mostly fail their preconditions, as in the official files.
FOLLOW_UPS: dict[str, tuple[tuple[str, float], ...]] = {
    "BUY": (("COMMIT_BUY", 0.55), ("CANCEL_BUY", 0.12)),
    "SELL": (("COMMIT_SELL", 0.50), ("CANCEL_SELL", 0.10)),
    "SET_BUY_AMOUNT": (("SET_BUY_TRIGGER", 0.75),),
    "SET_SELL_AMOUNT": (("SET_SELL_TRIGGER", 0.75),),
}

# A follow-up arrives within this many lines (fewer when few users are active), so it
# lands well inside the 60 s pending window of a replay.
MAX_FOLLOW_UP_DELAY = 50

# Dollar ranges in cents, read off the official files: first ADDs 40k-110k (centred
# near 70k); BUY/SELL/SET amounts roughly uniform up to $750.
ADD_CENTS = (4_000_000, 11_000_000, 7_000_000)
ORDER_CENTS = (5, 75_000)
# The 10-user file has one negative ADD; keep a rare one as a deliberate bad input.
NEGATIVE_ADD_P = 0.001
# Chance that SELL / SET_SELL_AMOUNT / QUOTE pick a stock the user recently bought, and
# that a stray SET_*_TRIGGER / CANCEL_SET_* targets a symbol that actually has a SET_*.
OWNED_SYMBOL_P = 0.7
QUOTE_OWNED_P = 0.3
RETARGET_SET_P = 0.4
RECENT_HOLDINGS = 8

_ID_CHARS = string.ascii_letters + string.digits
_LETTERS = string.ascii_uppercase
# Official files use 3-letter symbols (and "S" in the 1-user file); mostly 3 letters here.
_SYMBOL_LEN_WEIGHTS = ((1, 0.02), (2, 0.08), (3, 0.90))


def symbol_pool_size(users: int) -> int:
    """Number of distinct symbols for a workload with ``users`` users.

    The official files hold 1 symbol for 1 user, 20 for 2, 50 for 10 and 100 for 45,
    which is close to 15 * sqrt(users); this keeps the pool bounded (1,500 at 10k users).
    """
    if users <= 1:
        return 1
    return round(15 * math.sqrt(users))


def _make_symbols(rng: random.Random, size: int) -> list[str]:
    lengths = [n for n, _ in _SYMBOL_LEN_WEIGHTS]
    weights = [w for _, w in _SYMBOL_LEN_WEIGHTS]
    capacity = {n: len(_LETTERS) ** n for n in lengths}
    used = dict.fromkeys(lengths, 0)
    seen: set[str] = set()
    pool: list[str] = []
    while len(pool) < size:
        n = rng.choices(lengths, weights)[0]
        if used[n] >= capacity[n]:
            continue  # that length is exhausted; 3 letters (17,576) never is in practice
        sym = "".join(rng.choices(_LETTERS, k=n))
        if sym not in seen:
            seen.add(sym)
            used[n] += 1
            pool.append(sym)
    return pool


def _make_user_ids(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    ids: list[str] = []
    while len(ids) < count:
        uid = "".join(rng.choices(_ID_CHARS, k=10))
        if uid not in seen:
            seen.add(uid)
            ids.append(uid)
    return ids


def _dollars(cents: int) -> str:
    # Integer cents avoid float rounding surprises in the two-decimal output.
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def primary_weights(users: int, body_lines: int) -> tuple[list[str], list[float]]:
    """Weights for freely drawn commands so the final mix matches ``COMMAND_MIX``."""
    # Work in expected counts: first ADDs are emitted outside the draw, so take them out
    # of the ADD share before normalising over the freely drawn lines.
    counts = {c: f * body_lines for c, f in COMMAND_MIX.items()}
    counts["ADD"] = max(0.0, counts["ADD"] - users)
    norm = sum(counts.values())
    target = {c: n / norm for c, n in counts.items()}
    weights = dict(target)
    for parent, children in FOLLOW_UPS.items():
        for child, p in children:
            weights[child] -= p * target[parent]
    cmds = list(weights)
    return cmds, [max(0.0, weights[c]) for c in cmds]


class _User:
    __slots__ = ("uid", "holdings", "set_buys", "set_sells")

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.holdings: list[str] = []
        self.set_buys: list[str] = []
        self.set_sells: list[str] = []


def generate_workload(users: int, commands: int, seed: int | None = 0) -> Iterator[str]:
    """Yield ``commands`` workload lines (no newline) for ``users`` users.

    Every user starts with ADD; the last line is the admin DUMPLOG. Same seed, same output.
    Raises ValueError at call time (not on first iteration) for impossible sizes.
    """
    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"users must be between 1 and {MAX_USERS}")
    if commands < users + 1:
        raise ValueError("commands must be at least users + 1 (one ADD each plus DUMPLOG)")
    return _generate(users, commands, seed)


def _generate(users: int, commands: int, seed: int | None) -> Iterator[str]:
    rng = random.Random(seed)
    rand = rng.random
    randint = rng.randint
    body = commands - 1
    pool = _make_symbols(rng, symbol_pool_size(users))
    n_pool = len(pool)
    people = [_User(uid) for uid in _make_user_ids(rng, users)]

    cmds, weights = primary_weights(users, body)
    cum = list(accumulate(weights))
    cum_total = cum[-1]
    follow_ups = {
        parent: list(accumulate(p for _, p in children)) for parent, children in FOLLOW_UPS.items()
    }

    # Users join early but not all at once, like the official files (all 45 users have
    # started within the first 2 % of the 45-user file). User 0 always opens line 1.
    window = min(body, max(2 * users, body // 50))
    joins = [1, *sorted(rng.sample(range(2, window + 1), users - 1))]
    joined = 0

    # Idle users (no follow-up outstanding) in a list with O(1) swap-removal, so a user
    # never starts a new BUY while its previous one still awaits COMMIT/CANCEL.
    idle: list[int] = []
    idle_pos = [-1] * users
    # (due line, tie-break seq, user index, command text) for scheduled follow-ups.
    pending: list[tuple[int, int, int, str]] = []
    seq = 0

    def make_idle(u: int) -> None:
        idle_pos[u] = len(idle)
        idle.append(u)

    def make_busy(u: int) -> None:
        i = idle_pos[u]
        last = idle.pop()
        if last != u:
            idle[i] = last
            idle_pos[last] = i
        idle_pos[u] = -1

    def any_symbol() -> str:
        return pool[int(rand() * n_pool)]

    def pick(options: list[str], p: float) -> str:
        if options and rand() < p:
            return options[int(rand() * len(options))]
        return any_symbol()

    def order_cents() -> int:
        return randint(*ORDER_CENTS)

    def trigger_price(amount_cents: int) -> str:
        # Trigger price at most ~60 % of the dollar amount, so a trigger covers >= 1 share.
        return _dollars(max(1, int(amount_cents * (0.02 + 0.58 * rand()))))

    for n in range(1, body + 1):
        left = body - n + 1
        waiting = users - joined
        due = bool(pending) and pending[0][0] <= n
        if waiting and (waiting >= left or (not due and joins[joined] <= n)):
            u = joined
            joined += 1
            make_idle(u)
            cents = int(rng.triangular(ADD_CENTS[0], ADD_CENTS[1], ADD_CENTS[2]))
            yield f"[{n}] ADD,{people[u].uid},{_dollars(cents)}"
            continue
        if due or (pending and not idle):
            # Due follow-up, or every active user is waiting on one: release the earliest.
            _, _, u, text = heapq.heappop(pending)
            make_idle(u)
            yield f"[{n}] {text}"
            continue

        u = idle[int(rand() * len(idle))]
        p = people[u]
        uid = p.uid
        cmd = cmds[bisect_right(cum, rand() * cum_total)]
        follow: str | None = None
        if cmd == "ADD":
            cents = int(rng.triangular(ADD_CENTS[0], ADD_CENTS[1], ADD_CENTS[2]))
            if rand() < NEGATIVE_ADD_P:
                cents = -cents
            line = f"ADD,{uid},{_dollars(cents)}"
        elif cmd == "QUOTE":
            line = f"QUOTE,{uid},{pick(p.holdings, QUOTE_OWNED_P)}"
        elif cmd == "BUY":
            sym = any_symbol()
            line = f"BUY,{uid},{sym},{_dollars(order_cents())}"
            follow = _choose_follow_up(follow_ups, cmd, rand())
            if follow == "COMMIT_BUY":
                p.holdings.append(sym)
                if len(p.holdings) > RECENT_HOLDINGS:
                    del p.holdings[0]
            if follow:
                follow = f"{follow},{uid}"
        elif cmd == "SELL":
            line = f"SELL,{uid},{pick(p.holdings, OWNED_SYMBOL_P)},{_dollars(order_cents())}"
            follow = _choose_follow_up(follow_ups, cmd, rand())
            if follow:
                follow = f"{follow},{uid}"
        elif cmd in ("SET_BUY_AMOUNT", "SET_SELL_AMOUNT"):
            buy = cmd == "SET_BUY_AMOUNT"
            sym = any_symbol() if buy else pick(p.holdings, OWNED_SYMBOL_P)
            sets = p.set_buys if buy else p.set_sells
            if sym not in sets:
                sets.append(sym)
            cents = order_cents()
            line = f"{cmd},{uid},{sym},{_dollars(cents)}"
            follow = _choose_follow_up(follow_ups, cmd, rand())
            if follow:
                follow = f"{follow},{uid},{sym},{trigger_price(cents)}"
        elif cmd in ("SET_BUY_TRIGGER", "SET_SELL_TRIGGER"):
            sets = p.set_buys if cmd == "SET_BUY_TRIGGER" else p.set_sells
            line = f"{cmd},{uid},{pick(sets, RETARGET_SET_P)},{trigger_price(order_cents())}"
        elif cmd in ("CANCEL_SET_BUY", "CANCEL_SET_SELL"):
            sets = p.set_buys if cmd == "CANCEL_SET_BUY" else p.set_sells
            sym = pick(sets, RETARGET_SET_P)
            if sym in sets:
                sets.remove(sym)
            line = f"{cmd},{uid},{sym}"
        else:  # COMMIT_*/CANCEL_*/DISPLAY_SUMMARY: user id only
            line = f"{cmd},{uid}"

        if follow:
            # Spread follow-ups over more lines when more users are active, like the files.
            delay = 1 + int(rand() * min(len(idle), MAX_FOLLOW_UP_DELAY))
            seq += 1
            heapq.heappush(pending, (n + delay, seq, u, follow))
            make_busy(u)
        yield f"[{n}] {line}"

    yield f"[{commands}] {DUMPLOG_LINE}"


def _choose_follow_up(table: dict[str, list[float]], cmd: str, r: float) -> str | None:
    for (child, _), edge in zip(FOLLOW_UPS[cmd], table[cmd], strict=True):
        if r < edge:
            return child
    return None


def write_workload(lines: Iterator[str], out: TextIO, total: int, chunk: int = 10_000) -> None:
    """Write ``lines`` to ``out`` in chunks, with a progress bar for big workloads."""
    from tqdm import tqdm  # imported lazily so the generator itself has no dependency

    buf: list[str] = []
    with tqdm(total=total, unit="line", file=sys.stderr, disable=total <= 100_000) as bar:
        for line in lines:
            buf.append(line)
            if len(buf) >= chunk:
                out.write("\n".join(buf) + "\n")
                bar.update(len(buf))
                buf.clear()
        if buf:
            out.write("\n".join(buf) + "\n")
            bar.update(len(buf))


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Generate a DTS workload file.")
    parser.add_argument("--users", type=int, required=True, help=f"1 to {MAX_USERS}")
    parser.add_argument("--commands", type=int, required=True, help="total lines incl. DUMPLOG")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="file (default stdout)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    seed = args.seed
    if seed is None:
        # Still reproducible: the chosen seed is logged.
        seed = random.SystemRandom().randrange(2**32)
        log.info("seed: %d", seed)

    try:
        lines = generate_workload(args.users, args.commands, seed)
    except ValueError as exc:
        parser.error(str(exc))
    if args.output is None:
        write_workload(lines, sys.stdout, args.commands)
    else:
        with args.output.open("w", encoding="ascii", newline="\n") as out:
            write_workload(lines, out, args.commands)
    return 0


if __name__ == "__main__":
    sys.exit(main())
