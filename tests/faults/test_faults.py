"""Fault injection in CI: short seeded runs, each replaying a workload while processes
are killed, restarted and paused (tools/faults.py says what is checked)."""

from __future__ import annotations

import random

import pytest

from tests.helpers import module_stack
from tools.faults import Injector, run_seed, start_stack
from tools.faults_mining import check_mining, start_miner

pytestmark = pytest.mark.faults
SEEDS = range(1, 21)


fault_stack = module_stack("fault_stack", start_stack, mining=True)


@pytest.fixture(scope="module")
def miner(fault_stack):
    """A machine digging in a PPLNS pool through every seed's faults."""
    return start_miner(fault_stack)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", SEEDS)
def test_no_acknowledged_command_is_lost_or_applied_twice_under_faults(
    fault_stack, miner, tmp_path, seed
):
    result = run_seed(fault_stack, seed, tmp_path / f"seed-{seed}", users=4, commands=120)
    assert result.ok, "\n".join(result.problems)


@pytest.mark.timeout(600)
def test_the_pool_engine_paid_every_share_once_through_the_faults(fault_stack, miner):
    # Runs after the seeds (file order), whose faults SIGKILLed the engine at random;
    # once more now, in the middle of a round, for certain.
    assert Injector(fault_stack, random.Random(0)).inject("kill_pool_engine") == "pool-engine"
    problems = check_mining(fault_stack, miner)
    assert not problems, "\n".join(problems)
