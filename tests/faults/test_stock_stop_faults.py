"""Stock stop-loss fault injection in CI: the quote falls through every user's stop-losses
while the trigger checker (and the sell service) are SIGKILLed (tools/stock_stop_faults.py
says what is checked). Select seeds with ``-k "seed_1 or seed_2"``."""

from __future__ import annotations

import pytest

from tests.helpers import module_stack
from tools.stock_stop_faults import USERS, run_seed, start_stack

pytestmark = pytest.mark.faults
SEEDS = [pytest.param(seed, id=f"seed_{seed}") for seed in (1, 2)]


stock_stop_stack = module_stack("stock_stop_stack", start_stack)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_stock_stop_fills_exactly_once_through_checker_kills(stock_stop_stack, seed):
    result = run_seed(stock_stop_stack, seed)
    assert any(k.startswith("trigger-checker") for k in result.kills), "the checker was not killed"
    assert result.ok, "\n".join(result.problems)
    assert result.fills == 2 * USERS  # every user's two stops, once each
