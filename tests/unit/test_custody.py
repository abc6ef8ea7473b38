"""The custody rules: deposit and withdrawal state machines, fees, sweep splits, reserves.

Expected values are worked out by hand (1 coin = 100,000,000 units).
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from services.common.domain import custody
from services.common.domain.account import Account
from services.common.domain.assets import AssetBalance
from services.common.errors import InsufficientAssets, InvalidInput

FEE = 10_000  # 0.0001 DTC


def test_deposit_id_is_one_per_txid_address_and_asset():
    assert custody.deposit_id("ab" * 32, "cd" * 20, "DTC") == (
        f"deposit:{'ab' * 32}:{'cd' * 20}:DTC"
    )
    assert custody.deposit_id("t", "a", "DTC") != custody.deposit_id("t", "a", "DUSD")


@pytest.mark.parametrize(
    ("tip", "height", "expected"),
    [(10, 10, 1), (12, 10, 3), (9, 10, 0), (10, None, 0), (100, 1, 100)],
)
def test_confirmations_count_the_block_itself_and_those_on_top(tip, height, expected):
    assert custody.confirmations(tip, height) == expected


def test_deposit_states_follow_the_spec():
    legal = [
        ("submitted", "accepted"),
        ("accepted", "collecting"),
        ("accepted", "skipped"),
        ("skipped", "collecting"),
        ("collecting", "collected"),
        ("collecting", "errored"),
        ("errored", "collecting"),
    ]
    for old, new in legal:
        custody.check_transition(custody.DEPOSIT_TRANSITIONS, old, new)
    for old, new in [
        ("submitted", "collected"),
        ("collected", "accepted"),
        ("accepted", "submitted"),
    ]:
        with pytest.raises(custody.IllegalTransition):
            custody.check_transition(custody.DEPOSIT_TRANSITIONS, old, new)


def test_withdrawal_states_follow_the_spec():
    path = ["prepared", "accepted", "processing", "confirming", "succeeded"]
    for old, new in zip(path, path[1:], strict=False):
        custody.check_transition(custody.WITHDRAWAL_TRANSITIONS, old, new)
    for end in ("rejected", "canceled"):
        custody.check_transition(custody.WITHDRAWAL_TRANSITIONS, "accepted", end)
    custody.check_transition(custody.WITHDRAWAL_TRANSITIONS, "processing", "failed")
    # Once sent, it can no longer be canceled or rejected; a finished one never moves.
    for old, new in [
        ("processing", "canceled"),
        ("confirming", "rejected"),
        ("succeeded", "failed"),
    ]:
        with pytest.raises(custody.IllegalTransition):
            custody.check_transition(custody.WITHDRAWAL_TRANSITIONS, old, new)
    with pytest.raises(custody.IllegalTransition):
        custody.check_cancel("processing")
    custody.check_cancel("accepted")


def test_a_dtc_deposit_pays_two_network_fees_and_a_dusd_deposit_none():
    assert custody.deposit_credit("DTC", 150_000_000, FEE) == (150_000_000, 20_000)
    assert custody.deposit_credit("DUSD", 150_000_000, FEE) == (150_000_000, 0)
    # Dust smaller than the fee is charged only what it is.
    assert custody.deposit_credit("DTC", 5_000, FEE) == (5_000, 5_000)


def test_a_deposit_too_small_to_sweep_is_skipped():
    minimum = 1_000_000  # 0.01
    assert custody.after_credit(1_020_000, 20_000, minimum) == "accepted"
    assert custody.after_credit(1_019_999, 20_000, minimum) == "skipped"


def test_withdrawal_fee_and_approval_limit():
    assert custody.withdrawal_fee("DTC", FEE, 1_000_000) == FEE
    assert custody.withdrawal_fee("DUSD", FEE, 1_000_000) == 1_000_000
    limit = 10 * 100_000_000
    assert not custody.needs_approval(limit, limit)
    assert custody.needs_approval(limit + 1, limit)


def test_withdrawing_to_the_platforms_own_wallets_is_refused():
    with pytest.raises(InvalidInput):
        custody.check_withdrawal_address("a" * 40, ["a" * 40, "b" * 40])
    custody.check_withdrawal_address("c" * 40, ["a" * 40, "b" * 40])


def test_dtc_sweep_fills_the_hot_wallet_then_sends_the_rest_cold_each_paying_its_fee():
    # 5 DTC on the address; hot holds 99 of its 100: 1 DTC tops it up, the rest goes cold.
    plan = custody.plan_sweep("DTC", 500_000_000, FEE, 9_900_000_000, 10_000_000_000, True)
    assert plan == (
        custody.Transfer("hot", 100_000_000, FEE),
        custody.Transfer("cold", 500_000_000 - 100_000_000 - 2 * FEE, FEE),
    )
    assert sum(t.units + t.fee for t in plan) == 500_000_000


def test_dtc_sweep_all_to_hot_when_it_has_room_and_all_cold_when_full():
    assert custody.plan_sweep("DTC", 300_000_000, FEE, 0, 10_000_000_000, True) == (
        custody.Transfer("hot", 300_000_000 - FEE, FEE),
    )
    assert custody.plan_sweep("DTC", 300_000_000, FEE, 10_000_000_000, 10_000_000_000, True) == (
        custody.Transfer("cold", 300_000_000 - FEE, FEE),
    )


def test_without_a_cold_address_everything_goes_hot():
    assert custody.plan_sweep("DTC", 300_000_000, FEE, 10**12, 100, False) == (
        custody.Transfer("hot", 300_000_000 - FEE, FEE),
    )


def test_dust_that_cannot_pay_its_fee_is_not_swept():
    assert custody.plan_sweep("DTC", FEE, FEE, 0, 10**12, True) == ()
    # 1 unit over the hot room: not worth a cold transaction, it stays on the address.
    plan = custody.plan_sweep("DTC", 100_000_000 + FEE + 1, FEE, 0, 100_000_000, True)
    assert plan == (custody.Transfer("hot", 100_000_000, FEE),)


def test_dusd_sweep_splits_the_token_and_needs_a_dtc_fee_per_transaction():
    plan = custody.plan_sweep("DUSD", 5_000_000_000, FEE, 7_000_000_000, 10_000_000_000, True)
    assert plan == (
        custody.Transfer("hot", 3_000_000_000, FEE),
        custody.Transfer("cold", 2_000_000_000, FEE),
    )
    assert custody.gas_needed(plan) == 2 * FEE


def test_the_deposit_fee_moves_from_the_user_to_fees():
    account = Account("alice", assets=MappingProxyType({"DTC": AssetBalance(available=50_000)}))
    change = custody.charge_deposit_fee(account, "DTC", 20_000, "deposit:x")
    assert change.account.asset("DTC").available == 30_000
    (move,) = change.movements
    assert (move.source, move.target, move.units, move.reason) == (
        "user:alice",
        "fees",
        20_000,
        "deposit_fee",
    )
    with pytest.raises(InsufficientAssets):
        custody.charge_deposit_fee(account, "DTC", 50_001, "deposit:x")


def test_reserves_explain_the_difference_to_the_unit():
    # Users are owed 10 DTC; hot 6, cold 3, addresses 1.00019 (a deposit of 0.0002 not yet
    # credited, fees charged 0.0004 less 0.0003 paid, ...): see the lines.
    reserve = custody.Reserve(
        "DTC",
        liabilities=1_000_000_000,
        holdings={"hot": 600_000_000, "cold": 300_000_000, "deposit_addresses": 100_030_000},
        explained={
            "fees_charged": 40_000,
            "network_fees_paid": -30_000,
            "gas_topups_received": 0,
            "deposits_not_yet_credited": 20_000,
            "withdrawals_sent_not_settled": 0,
            "exchange_net": 0,
        },
    )
    assert reserve.held == 1_000_030_000
    assert reserve.surplus == 30_000
    assert reserve.unexplained == 0
    assert reserve.covered


def test_reserves_count_withdrawals_on_their_way_and_coins_from_the_market():
    reserve = custody.Reserve(
        "DTC",
        liabilities=1_000_000_000,  # 10 owed, of which 1 was bought on the exchange
        holdings={"hot": 700_000_000, "cold": 0, "deposit_addresses": 0},
        explained={
            "withdrawals_sent_not_settled": -200_000_000,  # mined, still locked
            "exchange_net": -100_000_000,
        },
    )
    assert reserve.unexplained == 0
    assert reserve.owed_on_chain == 900_000_000
    assert reserve.covered
    short = custody.Reserve("DTC", 1_000_000_000, {"hot": 899_999_999}, {})
    assert not short.covered
    assert short.unexplained == -100_000_001
