"""Unit tests for the synthetic workload generator (commands/generate.py)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from commands.generate import (
    COMMAND_MIX,
    DUMPLOG_LINE,
    MEASURED_COUNTS,
    generate_workload,
    main,
    symbol_pool_size,
)

LINE_RE = re.compile(r"^\[(\d+)\] ([A-Z_]+),(.*)$")
USER_RE = re.compile(r"^[A-Za-z0-9]{10}$")
SYMBOL_RE = re.compile(r"^[A-Z]{1,3}$")
AMOUNT_RE = re.compile(r"^-?\d+\.\d{2}$")

# Argument shapes from the spec (dts-background.md §1): names of the fields after CMD.
SHAPES = {
    "ADD": ("user", "amount"),
    "QUOTE": ("user", "symbol"),
    "BUY": ("user", "symbol", "amount"),
    "SELL": ("user", "symbol", "amount"),
    "COMMIT_BUY": ("user",),
    "CANCEL_BUY": ("user",),
    "COMMIT_SELL": ("user",),
    "CANCEL_SELL": ("user",),
    "DISPLAY_SUMMARY": ("user",),
    "SET_BUY_AMOUNT": ("user", "symbol", "amount"),
    "SET_BUY_TRIGGER": ("user", "symbol", "amount"),
    "SET_SELL_AMOUNT": ("user", "symbol", "amount"),
    "SET_SELL_TRIGGER": ("user", "symbol", "amount"),
    "CANCEL_SET_BUY": ("user", "symbol"),
    "CANCEL_SET_SELL": ("user", "symbol"),
}
FIELD_RE = {"user": USER_RE, "symbol": SYMBOL_RE, "amount": AMOUNT_RE}


def parse(lines: list[str]) -> list[tuple[int, str, list[str]]]:
    """Split lines into (number, command, args); fail on anything off-format."""
    rows = []
    for line in lines:
        m = LINE_RE.match(line)
        assert m, f"bad line: {line!r}"
        rows.append((int(m.group(1)), m.group(2), m.group(3).split(",")))
    return rows


# Module-level caches: the 100k workload is shared by several tests (about 0.3 s to build).
_CACHE: dict[tuple[int, int, int], list[str]] = {}


def workload(users: int, commands: int, seed: int = 7) -> list[str]:
    key = (users, commands, seed)
    if key not in _CACHE:
        _CACHE[key] = list(generate_workload(users, commands, seed))
    return _CACHE[key]


def test_same_seed_same_output() -> None:
    assert list(generate_workload(10, 2000, seed=3)) == list(generate_workload(10, 2000, seed=3))


def test_different_seed_different_output() -> None:
    assert list(generate_workload(10, 2000, seed=3)) != list(generate_workload(10, 2000, seed=4))


@pytest.mark.parametrize(("users", "commands"), [(1, 100), (10, 5000), (45, 10_000)])
def test_line_format_and_argument_shapes(users: int, commands: int) -> None:
    rows = parse(workload(users, commands))
    for _, cmd, args in rows[:-1]:
        assert cmd in SHAPES, cmd
        assert len(args) == len(SHAPES[cmd]), (cmd, args)
        for kind, value in zip(SHAPES[cmd], args, strict=True):
            assert FIELD_RE[kind].match(value), (cmd, kind, value)


@pytest.mark.parametrize(("users", "commands"), [(1, 100), (3, 4), (45, 10_000)])
def test_numbering_and_final_dumplog(users: int, commands: int) -> None:
    lines = workload(users, commands)
    assert len(lines) == commands
    assert [n for n, _, _ in parse(lines)] == list(range(1, commands + 1))
    assert lines[-1] == f"[{commands}] {DUMPLOG_LINE}"
    assert sum("DUMPLOG" in line for line in lines) == 1


@pytest.mark.parametrize(("users", "commands"), [(1, 100), (10, 10_000), (500, 20_000)])
def test_user_count_and_first_command_is_add(users: int, commands: int) -> None:
    first: dict[str, str] = {}
    for _, cmd, args in parse(workload(users, commands))[:-1]:
        first.setdefault(args[0], cmd)
    assert len(first) == users
    assert set(first.values()) == {"ADD"}


def test_every_line_is_add_when_only_room_for_adds() -> None:
    rows = parse(workload(5, 6))
    assert [cmd for _, cmd, _ in rows[:-1]] == ["ADD"] * 5
    assert len({args[0] for _, _, args in rows[:-1]}) == 5


def test_first_add_amounts_are_realistic() -> None:
    seen: set[str] = set()
    for _, cmd, args in parse(workload(45, 10_000))[:-1]:
        if args[0] not in seen:
            seen.add(args[0])
            assert cmd == "ADD"
            assert 40_000 <= float(args[1]) <= 110_000


def test_mix_matches_measured_table() -> None:
    rows = parse(workload(45, 100_000))[:-1]
    counts = Counter(cmd for _, cmd, _ in rows)
    assert set(counts) == set(MEASURED_COUNTS)
    for cmd, share in COMMAND_MIX.items():
        assert abs(counts[cmd] / len(rows) - share) < 0.02, cmd


def test_mix_table_is_normalised() -> None:
    assert sum(COMMAND_MIX.values()) == pytest.approx(1.0)


def test_symbols_bounded_by_pool() -> None:
    rows = parse(workload(45, 100_000))[:-1]
    symbols = {args[1] for _, cmd, args in rows if len(SHAPES[cmd]) > 1 and cmd != "ADD"}
    assert all(SYMBOL_RE.match(s) for s in symbols)
    assert len(symbols) <= symbol_pool_size(45)
    assert symbol_pool_size(1) == 1
    assert symbol_pool_size(10_000) <= 2_000


def test_amounts_have_two_decimals() -> None:
    rows = parse(workload(10, 10_000))[:-1]
    amounts = [args[-1] for _, cmd, args in rows if "amount" in SHAPES[cmd]]
    assert amounts
    assert all(AMOUNT_RE.match(a) for a in amounts)


def test_buy_usually_followed_by_commit_or_cancel() -> None:
    per_user: dict[str, list[str]] = {}
    for _, cmd, args in parse(workload(45, 100_000))[:-1]:
        per_user.setdefault(args[0], []).append(cmd)
    after = Counter()
    for cmds in per_user.values():
        after.update(nxt for cur, nxt in zip(cmds, cmds[1:], strict=False) if cur == "BUY")
    assert (after["COMMIT_BUY"] + after["CANCEL_BUY"]) / after.total() > 0.5


def test_set_amount_usually_followed_by_trigger_on_same_symbol() -> None:
    last: dict[str, tuple[str, list[str]]] = {}
    hits = total = 0
    for _, cmd, args in parse(workload(45, 100_000))[:-1]:
        prev = last.get(args[0])
        if prev and prev[0] == "SET_BUY_AMOUNT":
            total += 1
            hits += cmd == "SET_BUY_TRIGGER" and args[1] == prev[1][1]
        last[args[0]] = (cmd, args)
    assert hits / total > 0.5


@pytest.mark.parametrize(("users", "commands"), [(0, 10), (10_001, 20_000), (10, 10)])
def test_rejects_bad_sizes(users: int, commands: int) -> None:
    with pytest.raises(ValueError):
        generate_workload(users, commands)  # raises before iteration


def test_cli_writes_file(tmp_path) -> None:
    out = tmp_path / "w.txt"
    assert main(["--users", "2", "--commands", "50", "--seed", "9", "-o", str(out)]) == 0
    assert out.read_text(encoding="ascii").splitlines() == workload(2, 50, seed=9)
