"""Coin checker fault injection in CI: seeded price paths cross every margin position's
liquidation price and every stop-loss while the coin checker and the market relay are
SIGKILLed (tools/coin_faults.py says what is checked)."""

from __future__ import annotations

import pytest

from tests.helpers import module_stack
from tools.coin_faults import run_seed, start_stack

pytestmark = pytest.mark.faults
SEEDS = range(1, 4)


coin_fault_stack = module_stack("coin_fault_stack", start_stack)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_liquidation_and_stop_fires_exactly_once_through_checker_kills(coin_fault_stack, seed):
    result = run_seed(coin_fault_stack, seed)
    assert any(k.startswith("coin-checker") for k in result.kills), "the checker was not killed"
    assert result.ok, "\n".join(result.problems)
    assert result.liquidations == result.stops == 3  # every user's position and stop
