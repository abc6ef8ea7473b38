"""Mining's pure rules against examples worked out by hand (the arithmetic is in the
comments, so each expected number can be checked without running the code)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from services.common.domain import mining
from services.common.domain.mining import PricedWindow, ShareWindow
from services.common.errors import InvalidInput

DTC = 100_000_000


def test_pplns_splits_the_reward_less_the_fee_over_the_counted_shares():
    # 50 DTC = 5,000,000,000 units; 2 % fee = 100,000,000; 4,900,000,000 to split 1:2.
    # A: 4,900,000,000 / 3 = 1,633,333,333.33 -> 1,633,333,333 (remainder .33)
    # B: 9,800,000,000 / 3 = 3,266,666,666.67 -> 3,266,666,666 (remainder .67)
    # 1 unit left over goes to the larger remainder, B.
    payout = mining.pplns(50 * DTC, 200, {"A": 1, "B": 2})
    assert payout.fee == 100_000_000
    assert payout.parts == {"A": 1_633_333_333, "B": 3_266_666_667}
    assert payout.fee + sum(payout.parts.values()) == 50 * DTC


def test_pplns_counts_only_the_last_n_shares_and_cuts_the_oldest_window():
    windows = [  # newest first
        ShareWindow(3, {"A": 4, "B": 1}),
        ShareWindow(2, {"A": 2, "C": 6}),
        ShareWindow(1, {"B": 10}),
    ]
    # N = 10: window 3 whole (A 4, B 1), 5 still needed; of window 2 (8 shares) 5 are
    # split 2:6 -> A 1.25, C 3.75 -> A 1, C 3, the left-over share to C (.75): A 1, C 4.
    assert mining.last_n_shares(windows, 10) == {"A": 5, "B": 1, "C": 4}
    # N = 5 takes exactly window 3; window 1 is never reached by N = 13.
    assert mining.last_n_shares(windows, 5) == {"A": 4, "B": 1}
    assert mining.last_n_shares(windows, 13) == {"A": 6, "B": 1, "C": 6}


def test_pplns_fee_rounds_down_and_ties_go_to_the_smaller_key():
    # 101 units at 1.5 % -> 1.515 -> fee 1; 100 split 1:1:1 -> 33 each, remainders all
    # .33; the one left over goes to the smallest key, "a".
    payout = mining.pplns(101, 150, {"c": 1, "a": 1, "b": 1})
    assert payout.fee == 1
    assert payout.parts == {"a": 34, "b": 33, "c": 33}


def test_pplns_with_no_shares_leaves_the_whole_reward_to_the_pool():
    payout = mining.pplns(5 * DTC, 100, {})
    assert (payout.fee, dict(payout.parts)) == (5 * DTC, {})


def test_pps_pays_reward_over_expected_shares_per_share():
    # Window 1: network 1,000 H/s, 10 s blocks, 1,000-hash shares -> 10 shares per block,
    # so a share is worth 50 DTC / 10 = 500,000,000 units: A 3 -> 1,500,000,000,
    # B 1 -> 500,000,000.
    # Window 2: network 3,000 H/s -> 30 shares per block, a share 166,666,666.67:
    # A 1 -> 166,666,666.67.  Exact total 2,166,666,666.67 -> 2,166,666,666.
    # Fee 1 %: 21,666,666.66 -> 21,666,666; 2,145,000,000 split A:B = 5e9/3 : 5e8
    # = 10:3 -> A 1,650,000,000, B 495,000,000.
    windows = [
        PricedWindow({"A": 3, "B": 1}, 50 * DTC, 1_000, 10_000, 1_000),
        PricedWindow({"A": 1}, 50 * DTC, 3_000, 10_000, 1_000),
    ]
    payout = mining.pps(windows, 100)
    assert payout.amount == 2_166_666_666
    assert payout.fee == 21_666_666
    assert payout.parts == {"A": 1_650_000_000, "B": 495_000_000}
    assert payout.fee + sum(payout.parts.values()) == payout.amount


def test_pps_below_one_unit_pays_nothing_yet():
    # 1 share of 10**9 expected per block at 50 DTC: 5 units; of 10**10: 0.5 -> 0.
    assert mining.pps([PricedWindow({"A": 1}, 50 * DTC, 10**9, 1000, 1)], 0).parts == {"A": 5}
    assert mining.pps([PricedWindow({"A": 1}, 50 * DTC, 10**10, 1000, 1)], 0).amount == 0


def test_shares_accrue_with_hashrate_times_time_and_carry_the_fraction():
    # 3 H/s for 1.5 s = 4.5 hashes; 2-hash shares -> 2 shares, 0.5 hash (500 hash-ms) left.
    assert mining.accrue(3, 1_500, 0, 2) == (2, 500)
    # 0.5 s more: 1.5 + 0.5 = 2 hashes -> 1 share, nothing left: 3 in all = 6 hashes / 2.
    assert mining.accrue(3, 500, 500, 2) == (1, 0)
    # 10**15 hashes over 2**32: 232,830 x 4,294,967,296 = 999,997,235,527,680, so
    # 2,764,472,320 hashes (x 1000 hash-ms) are carried.
    assert mining.accrue(10**15, 1_000, 0, 2**32) == (232_830, 2_764_472_320_000)


def test_a_dig_overlaps_only_the_part_of_a_window_it_was_digging():
    assert mining.overlap_ms(1_000, None, 0, 5_000) == 4_000
    assert mining.overlap_ms(1_000, 3_000, 2_000, 5_000) == 1_000
    assert mining.overlap_ms(1_000, 2_000, 2_000, 5_000) == 0  # stopped at the start
    assert mining.overlap_ms(6_000, None, 2_000, 5_000) == 0  # not yet started


def test_expected_shares_per_block():
    # 2**32 H/s for 10 s over 2**32-hash shares: 10 shares a block.
    assert mining.expected_shares(2**32, 10_000, 2**32) == 10
    assert mining.expected_shares(1, 1, 3) == Fraction(1, 3000)


def test_split_adds_up_exactly_and_refuses_what_cannot_be_split():
    assert mining.split(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert mining.split(0, {"a": 1}) == {}
    with pytest.raises(ValueError):
        mining.split(5, {})


def test_the_winner_is_drawn_by_hashrate_share_reproducibly():
    rng = random.Random(7)
    draws = [mining.draw_winner(rng, {"big": 3, "small": 1, "idle": 0}) for _ in range(4000)]
    assert "idle" not in draws
    assert 2800 < draws.count("big") < 3200  # 3/4 of 4,000 = 3,000
    again = random.Random(7)
    assert draws[:50] == [mining.draw_winner(again, {"big": 3, "small": 1}) for _ in range(50)]


def test_blocks_arrive_at_the_block_time_on_average():
    rng = random.Random(1)
    waits = [mining.next_block_in_ms(rng, 10_000) for _ in range(20_000)]
    # The mean of 20,000 exponential waits is within 3 % of 10 s (its standard error is
    # 10 s / sqrt(20,000) = 0.07 s); about e^-1 = 36.8 % of them are longer than the mean.
    assert 9_700 < sum(waits) / len(waits) < 10_300
    assert 0.35 < sum(wait > 10_000 for wait in waits) / len(waits) < 0.39


def test_subsidy_halves_every_ten_thousand_blocks():
    assert mining.subsidy(1) == 50 * DTC
    assert mining.subsidy(9_999) == 50 * DTC
    assert mining.subsidy(10_000) == 25 * DTC
    assert mining.subsidy(20_000) == 1_250_000_000


def test_machine_states_start_and_stop():
    machine = mining.Machine("m1", "alice", "rig", "S19", 10**14)
    digging = mining.start_digging(machine, "atlas", "d1", 5_000)
    assert (digging.state, digging.pool, digging.dig, digging.since_ms) == (
        "digging",
        "atlas",
        "d1",
        5_000,
    )
    with pytest.raises(mining.MachineBusy):
        mining.start_digging(digging, "boreal", "d2", 6_000)
    stopped = mining.stop_digging(digging)
    assert (stopped.state, stopped.pool) == ("stopped", None)
    with pytest.raises(mining.MachineNotDigging):
        mining.stop_digging(stopped)
    assert mining.start_digging(stopped, "boreal", "d3", 7_000).state == "digging"


@pytest.mark.parametrize("bad", [0, -5, 10**15 + 1, 1.5, "100", True, None])
def test_hashrate_out_of_bounds_is_refused(bad):
    with pytest.raises(InvalidInput):
        mining.check_hashrate(bad)


def test_pool_definitions_and_keys_parse():
    pools = mining.parse_pools("atlas:PPLNS:1.5, boreal:PPS:2")
    assert pools == [
        mining.PoolConfig("atlas", "PPLNS", 150),
        mining.PoolConfig("boreal", "PPS", 200),
    ]
    for bad in ("x:FPPS:1", "atlas:PPS:101", "Atlas:PPS:1", "a:PPS:1,a:PPS:2", ""):
        with pytest.raises(ValueError):
            mining.parse_pools(bad)
    assert mining.parse_pool_keys("atlas=ab, boreal=cd") == {"atlas": "ab", "boreal": "cd"}


def test_luck_is_expected_over_actual_shares_per_block():
    # 2 blocks found where the shares were worth 2.5 blocks: each block took 1.25 times
    # the expected shares -> luck 80 %.
    assert mining.luck(2, 2.5) == pytest.approx(80.0)
    assert mining.luck(0, 3.0) is None
