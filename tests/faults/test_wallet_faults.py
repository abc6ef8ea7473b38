"""Wallet fault injection in CI: seeded runs of deposits, collections and withdrawals
while the analyser, the worker, a chain-node, a wallet instance, Redis or the database
is killed (tools/wallet_faults.py says what is checked)."""

from __future__ import annotations

import pytest

from tests.helpers import module_stack
from tools.wallet_faults import run_seed, start_stack

pytestmark = pytest.mark.faults
SEEDS = range(1, 2)  # make faults runs more (WALLET_SEEDS)


wallet_fault_stack = module_stack("wallet_fault_stack", start_stack)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("seed", SEEDS)
def test_nothing_is_credited_twice_lost_or_sent_twice_under_faults(wallet_fault_stack, seed):
    result = run_seed(wallet_fault_stack, seed)
    assert result.faults, "no fault was injected"
    assert result.ok, "\n".join(result.problems)
