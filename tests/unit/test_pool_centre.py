"""The pool centre's statistics from hand-made inputs."""

from __future__ import annotations

import pytest

from services.common import pool_centre
from services.common.domain.mining import PoolConfig

HOUR = 3600 * 1000
NOW = 1_800_000_000_000
POOLS = [PoolConfig("atlas", "PPLNS", 150), PoolConfig("boreal", "PPS", 250)]


def block(hours_ago: float, expected: float, height: int) -> dict:
    return {
        "_id": f"{height:064x}",
        "height": height,
        "found_ms": NOW - int(hours_ago * HOUR),
        "reward": 50 * 100_000_000,
        "round_expected": expected,
        "state": "credited",
    }


def test_each_pools_share_blocks_and_luck():
    week = {
        # newest first: one block an hour ago, one two days ago, one eight days ago.
        "atlas": [block(1, 0.5, 30), block(48, 1.5, 20), block(8 * 24, 1.0, 10)],
    }
    stats = pool_centre.compute_stats(
        POOLS, {"atlas": (2, 3 * 10**12), "boreal": (1, 10**12)}, 10**12, week, NOW
    )
    assert stats["network_hashrate"] == 5 * 10**12
    atlas, boreal = stats["pools"]
    # 3 of 5 TH/s = 60 %; 1 of 5 = 20 %.
    assert (atlas["share_of_network"], boreal["share_of_network"]) == (60.0, 20.0)
    assert (atlas["machines"], atlas["hashrate"], atlas["fee"]) == (2, 3 * 10**12, "1.50")
    # The 8-day-old block is out of the week; 2 blocks where the shares were worth
    # 0.5 + 1.5 = 2 expected blocks: luck 100 %.
    assert (atlas["blocks_24h"], atlas["blocks_7d"]) == (1, 2)
    assert atlas["luck"] == pytest.approx(100.0)
    assert atlas["last_block"]["height"] == 30
    assert atlas["last_block"]["reward"] == "50.00000000"
    assert (boreal["blocks_7d"], boreal["luck"], boreal["last_block"]) == (0, None, None)
    assert (boreal["scheme"], boreal["fee"]) == ("PPS", "2.50")


def test_before_the_first_refresh_every_pool_shows_no_activity():
    stats = pool_centre.empty_stats(POOLS)
    assert [p["id"] for p in stats["pools"]] == ["atlas", "boreal"]
    assert all(p["hashrate"] == 0 and p["share_of_network"] == 0.0 for p in stats["pools"])
