"""The expected outcome of the course workloads, from outside the code under test
(issue 18, item 10): tests/expected/spec_reading.py reads the spec on its own, its
results for the 1- and 2-user workloads are committed, and a few lines are checked by
hand here. The platform's rules (through tools/reference.py) must agree with them."""

from __future__ import annotations

import json

import pytest

from input_script import parse_workload
from tests.expected import spec_reading
from tools.reference import reference_run

PRICE = spec_reading.PRICE_CENTS


def _workload(name: str) -> str:
    return (spec_reading.WORKLOADS / name).read_text()


def _committed(name: str) -> dict:
    return json.loads((spec_reading.HERE / f"{name}.json").read_text())


def _platform(text: str) -> tuple[list[int], dict[str, int]]:
    """What the platform's own rules say (tools/reference.py runs services' domain)."""
    run = reference_run(parse_workload(text).lines, PRICE)
    return sorted(run.failing), {user: a.cash for user, a in sorted(run.accounts.items())}


@pytest.mark.parametrize("name", spec_reading.COMMITTED)
def test_the_committed_expectations_are_what_the_spec_reading_gives(name):
    assert spec_reading.outcome(_workload(name)) == _committed(name)


@pytest.mark.parametrize("name", spec_reading.COMMITTED)
def test_the_platforms_rules_give_the_committed_outcome(name):
    committed = _committed(name)
    errors, cash = _platform(_workload(name))
    assert errors == committed["errors"]
    assert cash == committed["cash_cents"]


def test_the_platforms_rules_agree_with_the_spec_reading_on_the_10_user_workload():
    expected = spec_reading.outcome(_workload("10User_testWorkLoad"))
    assert _platform(_workload("10User_testWorkLoad")) == (
        expected["errors"],
        expected["cash_cents"],
    )


# Worked out by hand from dts-commands.md at $10.00 a share:
# [1] ADD 63511.53 -> 6,351,153 c; [3] BUY S 276.83 -> 27 shares, cost 27,000 c
# -> 6,324,153; [4] COMMIT_BUY -> 27 S; [5] COMMIT_SELL and [6] CANCEL_SELL: nothing
# pending, fail; [8] ADD 45016.23 -> 10,825,776; [9], [10] COMMIT_BUY: nothing pending,
# fail; [12] ADD 71879.98 -> 18,013,774.
ONE_USER_FIRST_12 = ([5, 6, 9, 10], {"oY01WVirLr": 18_013_774})
# umhaEY4lil's lines of the 10-user workload up to [149]: [1] ADD 91628.00 ->
# 9,162,800; [50] CANCEL_SELL fails; [77] BUY NZO 64.18 -> 6 shares, 6,000 c ->
# 9,156,800; [94] COMMIT_BUY; [110] SET_SELL_AMOUNT GTQ (no GTQ shares), [114]
# SET_SELL_TRIGGER GTQ (no setup), [127] CANCEL_SET_BUY AUJ, [136] SET_BUY_TRIGGER JIK
# and [149] CANCEL_SET_BUY XRS (no setups) fail.
TEN_USER_ONE_USER = ([50, 110, 114, 127, 136, 149], {"umhaEY4lil": 9_156_800})


def _lines(name: str, last: int, user: str | None = None) -> str:
    kept = []
    for raw in _workload(name).splitlines():
        txn = int(raw.split("]")[0].lstrip("["))
        if txn <= last and (user is None or f",{user}," in f"{raw.strip()},"):
            kept.append(raw)
    return "\n".join(kept)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (lambda: _lines("1userWorkLoad", 12), ONE_USER_FIRST_12),
        (lambda: _lines("10User_testWorkLoad", 149, "umhaEY4lil"), TEN_USER_ONE_USER),
    ],
    ids=["1-user-lines-1-12", "10-user-umhaEY4lil-to-149"],
)
def test_hand_checked_lines(text, expected):
    errors, cash = expected
    reading = spec_reading.outcome(text())
    assert (reading["errors"], reading["cash_cents"]) == (errors, cash)
    assert _platform(text()) == (errors, cash)
