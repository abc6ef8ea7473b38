"""Fault injection in CI: short seeded runs, each replaying a workload while processes
are killed, restarted and paused (tools/faults.py says what is checked)."""

from __future__ import annotations

import pytest

from tools.faults import run_seed, start_stack

pytestmark = pytest.mark.faults
SEEDS = range(1, 21)


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("faults") / "stack")
    yield stack
    stack.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", SEEDS)
def test_no_acknowledged_command_is_lost_or_applied_twice_under_faults(fault_stack, tmp_path, seed):
    result = run_seed(fault_stack, seed, tmp_path / f"seed-{seed}", users=4, commands=120)
    assert result.ok, "\n".join(result.problems)
